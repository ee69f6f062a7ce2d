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

The floor (measured in the same process, medians): what the step cannot
avoid doing, timed alone on random tensors of the step's sizes:

* dense: the decoder's matrix products at [batch x frames] rows, forward
  and backward (per Dense layer and the GRU's input projection: x W, dy W^T,
  x^T dy; the recurrent kernel's gradient h^T dhp as one product), in one
  tf.function;
* chain: the recurrent product chain over the frames, [batch, 512] x
  [512, 1536] per frame forward and [batch, 1536] x [1536, 512] per frame
  backward, in one XLA loop (nothing else in the loop but a slice);
* sin: the synthesizer's floor, one sin + sum over [batch, samples,
  harmonics] (as benchmarks/bench_synths.py's `sin + sum floor`).

`x floor` is the step's median wall time over the sum of the three. Peak GB
is the process's peak resident memory after the timed steps (before the
floor and profile runs); the slope lines fit it against the batch size and
(with --seconds_list) the clip length.

With --profile, the step is split into its parts, each timed forward +
backward on the same inputs in its own tf.function: preprocessor + decoder,
the fused GRU alone (its input projection and recurrence on the decoder's
[batch, frames, 1024] input), harmonic synthesizer, filtered noise, reverb,
spectral loss (its 12 STFT magnitudes and their hand-written gradients),
and the optimizer update alone.

With --gpu, where TensorFlow sees a GPU, it times instead: the step and the
peak GPU memory (`tf.config.experimental.get_memory_info`) at batch 8, 32
and 128, the synthesis throughput of Harmonic + FilteredNoise + Reverb
(forward) at batch 128 as a multiple of real time, and the streaming step
(benchmarks/bench_streaming.py without TFLite). It has not been run on a GPU
yet (no GPU machine in the session that wrote it).

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

Measured here in one run (`--batch_sizes 8 16 32 --seconds_list 2 4 --steps 3
--configs default bf16 --profile`; 2 cores at a load average of 11 to 15
from other jobs, so wall times are inflated by up to 5x and only the CPU-time
columns compare; medians):

  batch clip  config  cpu s  floor cpu  x cpu  peak GB  first-step loss
      8  4 s  default  2.98     1.88    1.58     1.97   16.404
     16  4 s  default  5.79     3.47    1.67     2.93   15.782
     32  4 s  default 11.61     6.54    1.77     4.68   15.691
      8  4 s  bf16     3.91     1.77    2.21     1.83   15.906 (-3.0 %)
     32  4 s  bf16    15.69     6.39    2.45     4.17   15.217 (-3.0 %)
      8  2 s  default  1.58     0.99    1.59     1.48
     32  2 s  default  5.73     3.15    1.82     2.95

Peak memory: 1.10 GB + 112 MB per example at 4 s (least squares over batch
8, 16, 32), about 30 MB per example per second of clip (27 to 31 MB/s at
batch 8, 16, 32 between 2 s and 4 s): linear in both. A [batch, samples,
harmonics] float32 tensor would be 15.4 MB per example at 4 s; none is kept
for the backward pass (tests/training/test_step_graph.py inspects the traced
step). CPU time per step of the parts at batch 32 (profile): decoder 9.19 s
(of which the fused GRU 3.81 s), harmonic synth 1.11 s, spectral loss 0.97 s,
filtered noise 0.28 s, reverb 0.11 s, Adam 0.02 s; the decoder and the synth
are 79 % and 10 % of the CPU time at every batch size. bfloat16 matmuls
(this CPU has AVX512_BF16 but no AMX) took 1.3x the CPU time of float32
and changed the first-step loss by 3 %: not a gain here.
Other options measured: framing and transforming target and generated audio
together in the spectral loss (one STFT per size instead of two) took 0.41
instead of 0.21 CPU s forward + backward at batch 8 (the backward then runs
over both halves); not kept. The reverb's FFT is already minimal (112500
points, the smallest 2-3-5-smooth size >= 64000 + 48000 - 1). The fused GRU
already projects the inputs of all frames in one matmul and runs each
recurrence loop in one XLA kernel.

The published library measured about 9.6 s per step at batch 8 on a quiet
2-core machine of this class (measured in the project's notes on the stack; about twice
that on a busy one). The table gives this library's medians and the ratio to
that figure. Compare rows measured in one run: other processes on the machine
change absolute times.

Usage:
  python benchmarks/bench_train_step.py [--batch_sizes 8 16 32] [--steps 5]
      [--configs default bf16] [--seconds_list 2 4] [--profile]
      [--finite_checks] [--gpu]
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
SAMPLE_RATE, HOP = 16000, 64
N_SAMPLES, N_FRAMES = 64000, 1000


def clip_samples(seconds):
  """Samples of a clip of `seconds`, a whole number of 64-sample hops."""
  return int(round(seconds * SAMPLE_RATE)) // HOP * HOP


def length_bindings(seconds):
  """Gin bindings for the solo-instrument model on clips of `seconds`."""
  n_samples = clip_samples(seconds)
  n_frames = n_samples // HOP
  return [f'Harmonic.n_samples = {n_samples}',
          f'FilteredNoise.n_samples = {n_samples}',
          f'F0LoudnessPreprocessor.time_steps = {n_frames}']


def make_batch(batch_size, n_samples=N_SAMPLES):
  """Excerpts of the violin recording (random audio if it is absent)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import bench_data  # pylint: disable=g-import-not-at-top
  from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
  n_frames = n_samples // HOP
  wav = bench_data.find('violin_train.wav')
  rng = np.random.default_rng(0)
  if wav is not None:
    import soundfile  # pylint: disable=g-import-not-at-top
    audio, _ = soundfile.read(wav, dtype='float32')
    f0 = np.load(wav.with_name('violin_train.f0_250hz.npy')).astype(
        np.float32)
    starts = [(i * 3 * 16000) % (len(audio) - n_samples) // 64 * 64
              for i in range(batch_size)]
    audio = np.stack([audio[s:s + n_samples] for s in starts])
    f0 = np.stack([np.resize(f0[s // 64:s // 64 + n_frames], n_frames)
                   for s in starts])
  else:
    print(bench_data.missing_message('violin_train.wav') +
          ': timing on random audio instead.', flush=True)
    audio = rng.uniform(-0.5, 0.5, [batch_size, n_samples]).astype(np.float32)
    f0 = rng.uniform(200, 800, [batch_size, n_frames]).astype(np.float32)
  loudness = spectral_ops.compute_loudness(audio, use_tf=False,
                                           padding='same')[:, :n_frames]
  return {'audio': tf.constant(audio), 'f0_hz': tf.constant(f0),
          'f0_confidence': tf.ones([batch_size, n_frames]),
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


def _median_time(fn, steps):
  """fn() once (trace), then medians [wall s, cpu s] of `steps` calls."""
  fn()
  runs = [_timed(fn) for _ in range(steps)]
  return [_median([w for w, _ in runs]), _median([c for _, c in runs])]


def time_floor(model, batch_size, n_frames, n_samples, steps):
  """Medians [wall s, cpu s] of the step's floor: dense, chain and sin.

  The matrix shapes come from the decoder's own 2-D kernels: every Dense
  kernel and the GRU's input kernel [k, n] cost x W, dy W^T and x^T dy at
  batch * n_frames rows; the GRU's recurrent kernel [u, 3u] costs h^T dhp at
  those rows ('dense') and the per-frame chain ('chain'). 'sin' is one sin +
  sum over [batch, n_samples, n_harmonics].
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  rows = batch_size * n_frames
  kernels = [v for v in model.decoder.trainable_variables
             if len(v.shape) == 2]
  recurrent = [tuple(v.shape) for v in kernels if 'recurrent' in v.path]
  dense = [tuple(v.shape) for v in kernels if 'recurrent' not in v.path]

  def normal(shape, seed):
    return tf.random.stateless_normal(shape, [seed, 0])

  dense_args = [(normal([rows, k], i), normal([k, n], i + 100),
                 normal([rows, n], i + 200)) for i, (k, n) in enumerate(dense)]
  recurrent_args = [(normal([rows, u], 300 + i), normal([rows, n], 400 + i))
                    for i, (u, n) in enumerate(recurrent)]

  @tf.function
  def dense_fn():
    products = []
    for x, w, dy in dense_args:
      products += [tf.matmul(x, w), tf.matmul(dy, w, transpose_b=True),
                   tf.matmul(x, dy, transpose_a=True)]
    for h, dhp in recurrent_args:
      products.append(tf.matmul(h, dhp, transpose_a=True))
    return tf.add_n([tf.reduce_sum(p) for p in products])

  chain_args = [(normal([u, n], 500 + i), normal([batch_size, u], 600 + i))
                for i, (u, n) in enumerate(recurrent)]

  @tf.function(jit_compile=True)
  def chain_fn():
    total = 0.0
    for kernel, h0 in chain_args:
      units = kernel.shape[0]

      def forward(t, h, kernel=kernel, units=units):
        hp = tf.matmul(h, kernel)
        return t + 1, tf.tanh(hp[:, :units] + hp[:, units:2 * units] +
                              hp[:, 2 * units:])

      def backward(t, d, kernel=kernel):
        dhp = tf.concat([d, -d, 0.5 * d], axis=-1)
        return t + 1, tf.tanh(tf.matmul(dhp, kernel, transpose_b=True))

      _, h = tf.while_loop(lambda t, _: t < n_frames, forward, (0, h0))
      _, d = tf.while_loop(lambda t, _: t < n_frames, backward, (0, h))
      total += tf.reduce_sum(d)
    return total

  n_harmonics = _n_harmonics(model)
  phases = tf.random.stateless_uniform([batch_size, n_samples, n_harmonics],
                                       seed=[3, 0], maxval=2.0 * np.pi)

  @tf.function
  def sin_fn():
    return tf.reduce_sum(tf.sin(phases), axis=-1)

  return {'dense': _median_time(dense_fn, steps),
          'chain': _median_time(chain_fn, steps),
          'sin': _median_time(sin_fn, steps)}


def _n_harmonics(model):
  for node in model.processor_group.dag:
    if type(node[0]).__name__ == 'Harmonic':
      return dict(model.decoder.output_splits)['harmonic_distribution']
  raise ValueError('The model has no Harmonic synthesizer.')


def profile_parts(trainer, batch, steps):
  """Median forward + backward seconds of each part of the model."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from ddsp.training import gru  # pylint: disable=g-import-not-at-top
  model = trainer.model
  outputs = model(batch, training=True)
  modules = {type(node[0]).__name__: node[0]
             for node in model.processor_group.dag}
  harmonic, noise, reverb = (modules['Harmonic'], modules['FilteredNoise'],
                             modules['Reverb'])
  loss_obj, = model.loss_objs

  def grads(fn, watched, variables=()):
    @tf.function(autograph=False)
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
  cell = model.decoder.rnn.rnn.cell
  gru_inputs = tf.random.stateless_normal(
      [batch['audio'].shape[0], outputs['amps'].shape[1], cell.kernel.shape[0]],
      [7, 0])
  parts = {
      'preprocessor + decoder': lambda: _decoder_grads(model, batch, decode),
      '  of which fused GRU': grads(
          lambda x: gru.fused_gru(x, cell.kernel, cell.recurrent_kernel,
                                  cell.bias)[0],
          [gru_inputs], [cell.kernel, cell.recurrent_kernel, cell.bias]),
      'harmonic synth': grads(
          lambda a, d: harmonic(a, d, outputs['f0_hz']),
          [outputs['amps'], outputs['harmonic_distribution']]),
      'filtered noise': grads(lambda m: noise(m, training=True),
                              [outputs['noise_magnitudes']]),
      'reverb (3 s, trainable)': grads(reverb, [audio_in],
                                       reverb.trainable_variables),
      'spectral loss (12 STFTs)': grads(
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


def worker(batch_size, config, steps, profile, seconds):
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
  bindings = bindings + length_bindings(seconds)
  n_samples = clip_samples(seconds)
  gin.parse_config_files_and_bindings(['models/solo_instrument.gin'],
                                      bindings)
  trainer = trainers.Trainer(models.get_model(), jit_compile=jit_compile)
  batch = make_batch(batch_size, n_samples)
  start = time.perf_counter()
  trainer.build(batch)
  # The first step's loss: the same weights and batch in every config.
  first_loss = float(trainer.train_step(batch)['total_loss'])
  first = time.perf_counter() - start
  runs = [_timed(trainer.train_step, batch) for _ in range(steps)]
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
  wall, cpu = [w for w, _ in runs], [c for _, c in runs]
  result = {
      'batch': batch_size, 'config': config, 'seconds': seconds,
      'first_s': first, 'step_s': _median(wall), 'cpu_s': _median(cpu),
      'min_s': min(wall), 'max_s': max(wall), 'loss': first_loss,
      'peak_rss_gb': peak,
      'weights': sum(int(v.shape.num_elements())
                     for v in trainer.model.trainable_variables),
  }
  result['floor'] = time_floor(trainer.model, batch_size, n_samples // HOP,
                               n_samples, steps)
  if profile:
    result['parts'] = profile_parts(trainer, batch, steps)
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


def _slope(points):
  """Least-squares slope and intercept of [(x, y)] (None for < 2 x values)."""
  xs = sorted({x for x, _ in points})
  if len(xs) < 2:
    return None
  n = len(points)
  mx = sum(x for x, _ in points) / n
  my = sum(y for _, y in points) / n
  sxx = sum((x - mx)**2 for x, _ in points)
  slope = sum((x - mx) * (y - my) for x, y in points) / sxx
  return slope, my - slope * mx


def print_floor_table(rows):
  """The step against its floor, memory, and the slopes."""
  print(f'\n{"batch":>5} {"clip s":>6} {"config":<8} {"first s":>7} '
        f'{"step s":>7} {"min-max s":>11} {"dense s":>7} {"chain s":>7} '
        f'{"sin s":>6} {"floor s":>7} {"x floor":>7} {"cpu s":>6} '
        f'{"floor cpu":>9} {"x cpu":>5} {"peak GB":>7} {"loss":>8}')
  for r in rows:
    f = r['floor']
    floor = sum(w for w, _ in f.values())
    floor_cpu = sum(c for _, c in f.values())
    r['floor_s'] = floor
    print(f'{r["batch"]:>5} {r["seconds"]:>6g} {r["config"]:<8} '
          f'{r["first_s"]:>7.1f} {r["step_s"]:>7.2f} '
          f'{r["min_s"]:>5.2f}-{r["max_s"]:<5.2f} {f["dense"][0]:>7.3f} '
          f'{f["chain"][0]:>7.3f} {f["sin"][0]:>6.3f} {floor:>7.3f} '
          f'{r["step_s"] / floor:>7.2f} {r["cpu_s"]:>6.2f} '
          f'{floor_cpu:>9.3f} {r["cpu_s"] / floor_cpu:>5.2f} '
          f'{r["peak_rss_gb"]:>7.2f} {r["loss"]:>8.4f}', flush=True)
  groups = {}
  for r in rows:
    groups.setdefault((r['config'], r['seconds']), []).append(r)
  for (config, seconds), group in groups.items():
    fit = _slope([(r['batch'], r['peak_rss_gb']) for r in group])
    time_fit = _slope([(r['batch'], r['step_s']) for r in group])
    if fit:
      print(f'{config}, {seconds:g} s clips: peak memory {fit[1]:.2f} GB + '
            f'{1000 * fit[0]:.1f} MB per example; step {time_fit[1]:.3f} s + '
            f'{1000 * time_fit[0]:.1f} ms per example (least squares over '
            f'batch {", ".join(str(r["batch"]) for r in group)})')
  by_batch = {}
  for r in rows:
    by_batch.setdefault((r['config'], r['batch']), []).append(r)
  for (config, batch), group in by_batch.items():
    fit = _slope([(r['seconds'], r['peak_rss_gb']) for r in group])
    clips = ', '.join(f'{r["seconds"]:g}' for r in group)
    if fit:
      print(f'{config}, batch {batch}: peak memory {fit[1]:.2f} GB + '
            f'{1000 * fit[0]:.1f} MB per second of clip (per example '
            f'{1000 * fit[0] / batch:.1f} MB/s; clips '
            f'{clips} s)')
  reference = {(r['batch'], r['seconds']): r for r in rows
               if r['config'] == 'default'}
  for r in rows:
    ref = reference.get((r['batch'], r['seconds']))
    if ref is not None and r is not ref:
      print(f'{r["config"]} vs default, batch {r["batch"]}, '
            f'{r["seconds"]:g} s: step {r["step_s"] / ref["step_s"]:.2f}x, '
            f'cpu {r["cpu_s"] / ref["cpu_s"]:.2f}x, first-step loss '
            f'{r["loss"]:.5f} vs {ref["loss"]:.5f} (relative difference '
            f'{(r["loss"] - ref["loss"]) / ref["loss"]:+.2e})')


def print_profile(rows):
  """Where the time goes, and what exceeds the floor part by part."""
  for r in rows:
    if 'parts' not in r:
      continue
    print(f'\nWhere the time goes: batch {r["batch"]}, {r["seconds"]:g} s, '
          f'{r["config"]} (forward + backward of each part alone, medians; '
          'the GRU is part of the decoder)')
    print(f'  {"part":<28} {"wall s":>7} {"cpu s":>7} {"cpu %":>6} '
          f'{"floor s":>7}')
    parts = r['parts']
    top = {k: v for k, v in parts.items() if not k.startswith(' ')}
    wall = sum(w for w, _ in top.values())
    cpu = sum(c for _, c in top.values())
    f = r['floor']
    floors = {'preprocessor + decoder': f['dense'][0] + f['chain'][0],
              'harmonic synth': f['sin'][0]}
    for name, (w, c) in parts.items():
      floor = f'{floors[name]:>7.3f}' if name in floors else ''
      print(f'  {name:<28} {w:>7.3f} {c:>7.3f} {100 * c / cpu:>6.1f} {floor}')
    print(f'  {"sum of parts":<28} {wall:>7.3f} {cpu:>7.3f}   (whole step: '
          f'{r["step_s"]:.3f} s wall, {r["cpu_s"]:.3f} s cpu; floor '
          f'{r["floor_s"]:.3f} s)')


def gpu_benchmark(steps):
  """Step time and peak GPU memory, synthesis throughput, streaming step."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  gpus = tf.config.list_logical_devices('GPU')
  if not gpus:
    print('--gpu: TensorFlow sees no GPU here; nothing measured.')
    return
  print(f'GPU: {gpus[0].name}; solo-instrument step (the decoder on cuDNN, '
        f'see RnnFcDecoder), 4 s at 16 kHz, medians of {steps} steps.')
  print(f'{"batch":>5} {"step s":>7} {"peak GPU GB":>11}')
  for batch in (8, 32, 128):
    r, error = _run_worker(['--gpu_worker', str(batch), '--steps', str(steps)])
    if r is None:
      print(f'{batch:>5} failed: {error}')
      continue
    print(f'{batch:>5} {r["step_s"]:>7.3f} {r["peak_gpu_gb"]:>11.2f}',
          flush=True)
    if 'synth_s' in r:
      audio_s = batch * N_SAMPLES / SAMPLE_RATE
      print(f'      Harmonic + FilteredNoise + Reverb forward at batch '
            f'{batch}: {r["synth_s"]:.4f} s = {audio_s / r["synth_s"]:.0f}x '
            f'real time; Harmonic + FilteredNoise: {r["dry_s"]:.4f} s = '
            f'{audio_s / r["dry_s"]:.0f}x real time')
  print('\nStreaming step (benchmarks/bench_streaming.py --no-tflite):',
        flush=True)
  subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__),
                                               'bench_streaming.py'),
                  '--block_sizes', '64,256,1024', '--no-tflite'], check=False)


def gpu_worker(batch_size, steps, synth=None):
  """Runs in a subprocess: the step and the synths on the GPU.

  Without a GPU (to check this code on a CPU) the memory is not measured.
  `synth`: also time the synthesizers (default: at batch 128).
  """
  import gin  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  # pylint: disable=g-import-not-at-top,unused-import
  from ddsp.training import ddsp_run  # Registers the gin configurables.
  from ddsp.training import gin as ddsp_gin
  from ddsp.training import models
  from ddsp.training import trainers
  # pylint: enable=g-import-not-at-top,unused-import

  keras.utils.set_random_seed(0)
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  gin.parse_config_files_and_bindings(['models/solo_instrument.gin'], [])
  trainer = trainers.Trainer(models.get_model())
  batch = make_batch(batch_size)
  trainer.build(batch)
  trainer.train_step(batch)
  gpu = bool(tf.config.list_logical_devices('GPU'))
  if gpu:
    tf.config.experimental.reset_memory_stats('GPU:0')
  wall = [_timed(trainer.train_step, batch)[0] for _ in range(steps)]
  result = {'step_s': _median(wall), 'peak_gpu_gb': tf.config.experimental
            .get_memory_info('GPU:0')['peak'] / 2**30 if gpu else float('nan')}
  if batch_size == 128 if synth is None else synth:
    model = trainer.model
    controls = model(batch, training=False)
    modules = {type(node[0]).__name__: node[0]
               for node in model.processor_group.dag}

    @tf.function
    def dry():
      return (modules['Harmonic'](controls['amps'],
                                  controls['harmonic_distribution'],
                                  controls['f0_hz']) +
              modules['FilteredNoise'](controls['noise_magnitudes']))

    @tf.function
    def wet():
      return modules['Reverb'](dry())

    result['dry_s'] = _median_time(dry, steps)[0]
    result['synth_s'] = _median_time(wet, steps)[0]
  print('RESULT ' + json.dumps(result), flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch_sizes', type=int, nargs='+',
                      default=[8, 16, 32])
  parser.add_argument('--seconds_list', type=float, nargs='+', default=[4.0],
                      help='clip lengths in seconds (4 s as published)')
  parser.add_argument('--steps', type=int, default=5,
                      help='timed steps per configuration (after 1 warm-up)')
  parser.add_argument('--configs', nargs='+', default=['default'],
                      choices=list(CONFIGS),
                      help='configs after the first run only at the last '
                      'clip length')
  parser.add_argument('--profile', action='store_true',
                      help='also time each part of the model (first config, '
                      'last clip length)')
  parser.add_argument('--finite_checks', action='store_true',
                      help='measure the cost of the finiteness checks instead')
  parser.add_argument('--gpu', action='store_true',
                      help='the GPU measurements instead (needs a GPU)')
  parser.add_argument('--worker', nargs=3,
                      metavar=('BATCH', 'CONFIG', 'SECONDS'),
                      help=argparse.SUPPRESS)
  parser.add_argument('--finite_checks_worker', type=int,
                      help=argparse.SUPPRESS)
  parser.add_argument('--gpu_worker', type=int, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    worker(int(args.worker[0]), args.worker[1], args.steps, args.profile,
           float(args.worker[2]))
    return
  if args.finite_checks_worker:
    worker_finite_checks(args.finite_checks_worker, args.steps)
    return
  if args.gpu_worker:
    gpu_worker(args.gpu_worker, args.steps)
    return
  if args.gpu:
    gpu_benchmark(args.steps)
    return
  if args.finite_checks:
    print(f'Solo-instrument model, 4 s at 16 kHz; {os.cpu_count()} CPUs, load '
          f'average {os.getloadavg()[0]:.1f} at start.')
    run_finite_checks(args.batch_sizes, args.steps)
    print(f'\nLoad average at the end: {os.getloadavg()[0]:.1f}')
    return

  print(f'Solo-instrument model at 16 kHz, one training step (forward, '
        f'backward, Adam); medians of {args.steps} steps; {os.cpu_count()} '
        f'CPUs, load average {os.getloadavg()[0]:.1f} at start; one process '
        'per row. cpu s: CPU time of all threads. floor = dense + chain + sin '
        '(see the docstring); x floor = step s / floor s (wall), x cpu = the '
        'same in CPU time (less sensitive to other processes). peak GB: peak '
        'resident memory of the process. loss: the first step\'s loss (same '
        'weights and batch in every config).')
  rows = []
  for seconds in args.seconds_list:
    last = seconds == args.seconds_list[-1]
    for batch in args.batch_sizes:
      for i, config in enumerate(args.configs):
        if i and not last:
          continue  # Other configs only at the last clip length.
        profile = args.profile and last and not i
        r, error = _run_worker(
            ['--worker', str(batch), config, str(seconds), '--steps',
             str(args.steps)] + (['--profile'] if profile else []))
        if r is None:
          print(f'{batch:>5} {seconds:>6g} {config:<8} failed: {error}')
          continue
        rows.append(r)
        print(f'  done: batch {batch}, {seconds:g} s, {config}: step '
              f'{r["step_s"]:.2f} s', flush=True)
  print_floor_table(rows)
  for r in rows:
    if r['batch'] == 8 and r['seconds'] == 4.0:
      speedup = PUBLISHED_STEP_S_BATCH_8 / r['step_s']
      print(f'batch 8, {r["config"]}: {speedup:.1f}x '
            f'faster than the published library\'s {PUBLISHED_STEP_S_BATCH_8} '
            's (measured on another run: indicative only)')
  print_profile(rows)
  print(f'\nLoad average at the end: {os.getloadavg()[0]:.1f}')


if __name__ == '__main__':
  main()
