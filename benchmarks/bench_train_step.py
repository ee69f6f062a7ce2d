"""Speed and memory of one training step of the solo-instrument model.

The model is `papers/iclr2020/solo_instrument.gin` as packaged (512-unit GRU
decoder, 60 harmonics, 65 noise bands, trainable 3 s reverb, spectral loss on
magnitudes and log magnitudes) on 4 s examples at 16 kHz (64000 samples, 1000
frames). One step = forward, backward and Adam update (`Trainer.train_step`).

Each (batch size, configuration) runs in its own process, so that its peak
resident memory (`ru_maxrss`) is its own. Configurations:

* default: `Trainer(jit_compile=False)` (the decoder's GRU loops are still
  XLA-compiled, see benchmarks/bench_decoder.py).
* xla:     `Trainer(jit_compile=True)`: the whole forward and backward pass
  compiled with XLA.
* bf16:    the decoder under the 'mixed_bfloat16' policy (gin:
  `RnnFcDecoder.dtype = 'mixed_bfloat16'`): its matmuls in bfloat16 (float32
  weights, GRU state and outputs); less CPU time on CPUs with AMX.
* bf16+xla: both.

With --profile, the step is split into its parts, each timed forward +
backward on the same inputs in its own tf.function: preprocessor + decoder,
harmonic synthesizer, filtered noise, reverb, spectral loss, and the optimizer
update alone.

With --finite_checks (instead of the table above), one process per batch
size measures the cost of the library's finiteness checks (`ddsp.validation.set_finite_checks`): two
trainers on the same model, one traced with the in-graph checks and one
without, and the eager forward pass (`model(batch, training=True)`, where
the checks run eagerly) with the switch on and off. On and off alternate
round by round (the order flips every round); the table gives the medians and
the cost of the checks in percent of the unchecked time (goal: under 2 %).
Measured here (batch 8, 11 rounds, load average about 13 on 2 cores):

  what                            on s   off s  cost %  cpu on  cpu off  cpu %
  train step (in-graph checks)   8.218   8.990    -8.6   3.750    3.779   -0.8
  eager forward (eager checks)   5.002   4.787    +4.5   1.532    1.438   +6.5

At that load single rounds vary by more than the checks cost; timed
directly, the 18 in-graph checks of the step (6.2 M values at batch 8) take
7.7 ms (0.2 % of the 3.8 s of CPU time of a step), and the 16 eager checks
of the forward pass 46 ms of its 5.7 s (0.8 %).

Measured here (2 cores, load average about 2.7 from other jobs; medians):

  batch  config   step s  cpu s  peak GB
      8  default    2.03   3.73     1.95
      8  bf16       2.70   2.79     1.84
      8  xla        3.47   3.46     2.20
     16  default    3.69   6.81     2.91
     16  bf16       5.19   5.97     2.65

bf16 and xla need less CPU time but run on about one thread, so with free
cores the default (float32, no whole-step XLA) is fastest; the decoder is
about 80 % of the step (the 512-unit GRU and 512-wide dense stacks over 1000
frames), synthesizers, reverb, loss and the Adam update the rest.

The published library measured about 9.6 s per step at batch 8 on a quiet
2-core machine of this class (measured in the project's notes on the stack; about twice
that on a busy one). The table gives this library's medians and the ratio to
that figure. Compare rows measured in one run: other processes on the machine
change absolute times.

Usage:
  python benchmarks/bench_train_step.py [--batch_sizes 8 16] [--steps 5]
      [--configs default xla] [--profile] [--finite_checks]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

PUBLISHED_STEP_S_BATCH_8 = 9.6  # Published DDSP 3.x, quiet 2-core machine.
# name: (Trainer(jit_compile=...), extra gin bindings)
CONFIGS = {
    'default': (False, []),
    'xla': (True, []),
    'bf16': (False, ["RnnFcDecoder.dtype = 'mixed_bfloat16'"]),
    'bf16+xla': (True, ["RnnFcDecoder.dtype = 'mixed_bfloat16'"]),
}
N_SAMPLES, N_FRAMES = 64000, 1000


def make_batch(batch_size):
  """4 s excerpts of the violin recording (random audio if it is absent)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import bench_data  # pylint: disable=g-import-not-at-top
  from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
  wav = bench_data.find('violin_train.wav')
  rng = np.random.default_rng(0)
  if wav is not None:
    import soundfile  # pylint: disable=g-import-not-at-top
    audio, _ = soundfile.read(wav, dtype='float32')
    f0 = np.load(wav.with_name('violin_train.f0_250hz.npy')).astype(
        np.float32)
    starts = [(i * 3 * 16000) % (len(audio) - N_SAMPLES) // 64 * 64
              for i in range(batch_size)]
    audio = np.stack([audio[s:s + N_SAMPLES] for s in starts])
    f0 = np.stack([np.resize(f0[s // 64:s // 64 + N_FRAMES], N_FRAMES)
                   for s in starts])
  else:
    print(bench_data.missing_message('violin_train.wav') +
          ': timing on random audio instead.', flush=True)
    audio = rng.uniform(-0.5, 0.5, [batch_size, N_SAMPLES]).astype(np.float32)
    f0 = rng.uniform(200, 800, [batch_size, N_FRAMES]).astype(np.float32)
  loudness = spectral_ops.compute_loudness(audio, use_tf=False,
                                           padding='same')[:, :N_FRAMES]
  return {'audio': tf.constant(audio), 'f0_hz': tf.constant(f0),
          'f0_confidence': tf.ones([batch_size, N_FRAMES]),
          'loudness_db': tf.constant(loudness.astype(np.float32))}


def _timed(fn, *args):
  """(wall seconds, CPU seconds of all threads of this process) of fn(*args)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  start, cpu_start = time.perf_counter(), time.process_time()
  result = fn(*args)
  for value in tf.nest.flatten(result):
    if hasattr(value, 'numpy'):
      value.numpy()
  return time.perf_counter() - start, time.process_time() - cpu_start


def _median(values):
  values = sorted(values)
  n = len(values)
  return 0.5 * (values[(n - 1) // 2] + values[n // 2])


def profile_parts(trainer, batch, steps):
  """Median forward + backward seconds of each part of the model."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  model = trainer.model
  outputs = model(batch, training=True)
  modules = {type(node[0]).__name__: node[0]
             for node in model.processor_group.dag}
  harmonic, noise, reverb = (modules['Harmonic'], modules['FilteredNoise'],
                             modules['Reverb'])
  loss_obj, = model.loss_objs

  def grads(fn, watched, variables=()):
    @tf.function
    def run(*watched_values):
      with tf.GradientTape() as tape:
        tape.watch(watched_values)
        out = fn(*watched_values)
        total = tf.reduce_sum(out * tf.stop_gradient(out))
      return tape.gradient(total, list(watched_values) + list(variables))
    return lambda: run(*watched)

  def decode(features):
    out = model.decoder(model.preprocessor(features, training=True),
                        training=True)
    return tf.concat([out['amps'], out['harmonic_distribution'],
                      out['noise_magnitudes']], axis=-1)

  audio_in = outputs['add']['signal']
  parts = {
      'preprocessor + decoder': lambda: _decoder_grads(model, batch, decode),
      'harmonic synth': grads(
          lambda a, d: harmonic(a, d, outputs['f0_hz']),
          [outputs['amps'], outputs['harmonic_distribution']]),
      'filtered noise': grads(lambda m: noise(m, training=True),
                              [outputs['noise_magnitudes']]),
      'reverb (3 s, trainable)': grads(reverb, [audio_in],
                                       reverb.trainable_variables),
      'spectral loss': grads(
          lambda a: loss_obj(batch['audio'], a)[tf.newaxis],
          [outputs['audio_synth']]),
  }
  # pylint: disable=protected-access
  _, grads_step, _ = trainer._train_fn(batch)
  parts['optimizer update'] = lambda: trainer._apply_fn(grads_step)
  # pylint: enable=protected-access
  times = {}
  for name, fn in parts.items():
    fn()  # Trace.
    runs = [_timed(fn) for _ in range(steps)]
    times[name] = [_median([w for w, _ in runs]), _median([c for _, c in runs])]
  return times


_DECODER_FN = {}


def _decoder_grads(model, batch, decode):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if 'fn' not in _DECODER_FN:
    @tf.function
    def fn(features):
      with tf.GradientTape() as tape:
        out = decode(features)
        total = tf.reduce_sum(out * tf.stop_gradient(out))
      return tape.gradient(total, model.decoder.trainable_variables)
    _DECODER_FN['fn'] = fn
  return _DECODER_FN['fn'](batch)


def worker(batch_size, config, steps, profile):
  """Runs in a subprocess: prints one JSON line of results."""
  import gin  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  # pylint: disable=g-import-not-at-top,unused-import
  from ddsp.training import ddsp_run  # Registers the gin configurables.
  from ddsp.training import gin as ddsp_gin
  from ddsp.training import models  # pylint: disable=g-import-not-at-top
  from ddsp.training import trainers  # pylint: disable=g-import-not-at-top

  keras.utils.set_random_seed(0)
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  jit_compile, bindings = CONFIGS[config]
  gin.parse_config_files_and_bindings(['models/solo_instrument.gin'],
                                      bindings)
  trainer = trainers.Trainer(models.get_model(), jit_compile=jit_compile)
  batch = make_batch(batch_size)
  start = time.perf_counter()
  trainer.build(batch)
  trainer.train_step(batch)
  first = time.perf_counter() - start
  runs = [_timed(trainer.train_step, batch) for _ in range(steps)]
  wall, cpu = [w for w, _ in runs], [c for _, c in runs]
  result = {
      'batch': batch_size, 'config': config, 'first_s': first,
      'step_s': _median(wall), 'cpu_s': _median(cpu),
      'min_s': min(wall), 'max_s': max(wall),
      'weights': sum(int(v.shape.num_elements())
                     for v in trainer.model.trainable_variables),
  }
  if profile:
    result['parts'] = profile_parts(trainer, batch, steps)
  result['peak_rss_gb'] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                           / 2**20)
  print('RESULT ' + json.dumps(result), flush=True)


def _alternating(run_on, run_off, rounds):
  """Medians [wall s, cpu s] of `rounds` calls of each, alternating.

  The order of the two calls flips every round, so that a drift of the
  machine's load affects both alike.
  """
  on, off = [], []
  for i in range(rounds):
    pair = ((run_on, on), (run_off, off))
    for fn, times in (pair if i % 2 == 0 else pair[::-1]):
      times.append(_timed(fn))
  return ([_median([t[k] for t in on]) for k in (0, 1)],
          [_median([t[k] for t in off]) for k in (0, 1)])


def worker_finite_checks(batch_size, steps):
  """Runs in a subprocess: checks on vs off, in graph and eagerly."""
  import gin  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  # pylint: disable=g-import-not-at-top,unused-import
  from ddsp import validation
  from ddsp.training import ddsp_run  # Registers the gin configurables.
  from ddsp.training import gin as ddsp_gin
  from ddsp.training import models
  from ddsp.training import trainers
  # pylint: enable=g-import-not-at-top,unused-import

  keras.utils.set_random_seed(0)
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  gin.parse_config_files_and_bindings(['models/solo_instrument.gin'], [])
  model = models.get_model()
  batch = make_batch(batch_size)
  trainer = {}
  for enabled in (True, False):  # The switch is read when tracing.
    validation.set_finite_checks(enabled)
    trainer[enabled] = trainers.Trainer(model)
    trainer[enabled].build(batch)
    trainer[enabled].train_step(batch)
  validation.set_finite_checks(True)
  graph_on, graph_off = _alternating(lambda: trainer[True].train_step(batch),
                                     lambda: trainer[False].train_step(batch),
                                     steps)

  def eager(enabled):
    validation.set_finite_checks(enabled)
    try:
      return model(batch, training=True)['audio_synth']
    finally:
      validation.set_finite_checks(True)

  eager(True)
  eager_on, eager_off = _alternating(lambda: eager(True), lambda: eager(False),
                                     steps)
  result = {'batch': batch_size, 'graph': [graph_on, graph_off],
            'eager': [eager_on, eager_off]}
  print('RESULT ' + json.dumps(result), flush=True)


def _run_worker(worker_args):
  """Runs this script with `worker_args`: (result dict or None, stderr)."""
  cmd = [sys.executable, __file__] + worker_args
  proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
  lines = [l for l in proc.stdout.splitlines() if l.startswith('RESULT ')]
  if proc.returncode or not lines:
    return None, proc.stderr[-2000:]
  return json.loads(lines[-1][len('RESULT '):]), ''


def run_finite_checks(batch_sizes, steps):
  """Prints the table of --finite_checks (one process per batch size)."""
  print(f'\nFiniteness checks on vs off (ddsp.validation.set_finite_checks), '
        f'{steps} alternating rounds each, medians:')
  print(f'{"batch":>5} {"what":<30} {"on s":>7} {"off s":>7} {"cost %":>7} '
        f'{"cpu on":>7} {"cpu off":>7} {"cpu %":>6}')
  for batch in batch_sizes:
    r, error = _run_worker(['--finite_checks_worker', str(batch), '--steps',
                            str(steps)])
    if r is None:
      print(f'{batch:>5} failed: {error}')
      continue
    for key, what in (('graph', 'train step (in-graph checks)'),
                      ('eager', 'eager forward (eager checks)')):
      (on, cpu_on), (off, cpu_off) = r[key]
      print(f'{batch:>5} {what:<30} {on:>7.3f} {off:>7.3f} '
            f'{100 * (on - off) / off:>+7.1f} {cpu_on:>7.3f} {cpu_off:>7.3f} '
            f'{100 * (cpu_on - cpu_off) / cpu_off:>+6.1f}', flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch_sizes', type=int, nargs='+', default=[8, 16])
  parser.add_argument('--steps', type=int, default=5,
                      help='timed steps per configuration (after 1 warm-up)')
  parser.add_argument('--configs', nargs='+', default=['default'],
                      choices=list(CONFIGS))
  parser.add_argument('--profile', action='store_true',
                      help='also time each part of the model')
  parser.add_argument('--finite_checks', action='store_true',
                      help='measure the cost of the finiteness checks instead')
  parser.add_argument('--worker', nargs=2, metavar=('BATCH', 'CONFIG'),
                      help=argparse.SUPPRESS)
  parser.add_argument('--finite_checks_worker', type=int,
                      help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    worker(int(args.worker[0]), args.worker[1], args.steps, args.profile)
    return
  if args.finite_checks_worker:
    worker_finite_checks(args.finite_checks_worker, args.steps)
    return
  if args.finite_checks:
    print(f'Solo-instrument model, 4 s at 16 kHz; {os.cpu_count()} CPUs, load '
          f'average {os.getloadavg()[0]:.1f} at start.')
    run_finite_checks(args.batch_sizes, args.steps)
    print(f'\nLoad average at the end: {os.getloadavg()[0]:.1f}')
    return

  print(f'Solo-instrument model, 4 s at 16 kHz, one training step (forward, '
        f'backward, Adam); medians of {args.steps} steps; {os.cpu_count()} '
        f'CPUs, load average {os.getloadavg()[0]:.1f} at start; one process '
        'per row. cpu s: CPU time of all threads (less sensitive to other '
        'processes than wall time).')
  print(f'{"batch":>5} {"config":<8} {"first s":>8} {"step s":>7} '
        f'{"cpu s":>7} {"min-max s":>11} {"s/example":>9} {"peak GB":>8} '
        f'{"vs published b8":>15}')
  rows = []
  for batch in args.batch_sizes:
    for config in args.configs:
      r, error = _run_worker(
          ['--worker', str(batch), config, '--steps', str(args.steps)] +
          (['--profile'] if args.profile else []))
      if r is None:
        print(f'{batch:>5} {config:<8} failed: {error}')
        continue
      rows.append(r)
      ratio = (f'{PUBLISHED_STEP_S_BATCH_8 / r["step_s"]:.1f}x faster'
               if batch == 8 else '')
      print(f'{batch:>5} {config:<8} {r["first_s"]:>8.1f} {r["step_s"]:>7.2f} '
            f'{r["cpu_s"]:>7.2f} {r["min_s"]:>5.2f}-{r["max_s"]:<5.2f} '
            f'{r["step_s"] / batch:>9.3f} {r["peak_rss_gb"]:>8.2f} '
            f'{ratio:>15}', flush=True)
  if args.profile:
    for r in rows:
      print(f'\nWhere the time goes: batch {r["batch"]}, {r["config"]} '
            f'(forward + backward of each part alone, medians)')
      print(f'  {"part":<26} {"wall s":>7} {"cpu s":>7} {"cpu %":>6}')
      wall = sum(w for w, _ in r['parts'].values())
      cpu = sum(c for _, c in r['parts'].values())
      for name, (w, c) in r['parts'].items():
        print(f'  {name:<26} {w:>7.3f} {c:>7.3f} {100 * c / cpu:>6.1f}')
      print(f'  {"sum of parts":<26} {wall:>7.3f} {cpu:>7.3f}   (whole '
            f'step: {r["step_s"]:.3f} s wall, {r["cpu_s"]:.3f} s cpu)')
  print(f'\nLoad average at the end: {os.getloadavg()[0]:.1f}')


if __name__ == '__main__':
  main()
