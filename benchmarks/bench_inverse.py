"""Inverse problems: recover a processor's parameters by gradient descent.

For each case a target sound is rendered with known parameters; the same
processor starts from random parameters (10 seeds, each within the stated
range around the truth) and Adam minimizes a multi-scale spectral loss
(`ddsp.losses.SpectralLoss`, L1 on magnitudes, FFT sizes 2048 ... 128) between its output and the target. The seeds run as one batch
(each example has its own parameters and its own loss term; Adam is per
coordinate, so they do not interact). Parameters are optimized as logs
(frequencies in semitones), with a learning rate decayed exponentially to 5 %
of its start.

Cases (what is recovered; the rest is known):
* `string`: `PluckedString` f0 and t60 (damping) from a pluck (196 Hz,
  brightness 0.3). Start: f0 within +-10 cents, t60 within x/2.
* `modal`: `Modal` frequencies and t60 of 3 modes from a struck sound
  (impulse). Start: frequencies within +-30 cents, t60 within x/2.
* `fm`: `FrequencyModulation` ('pair') modulator ratio (1.5) and index
  from a 220 Hz tone. Start: ratio within +-20 cents, index within x/1.6.
* `granular`: `Granular` pitch ratio and amplitude of a grain cloud over a
  harmonic source. Start: ratio within +-30 cents, amplitude within x/2.
* `biquad`: `ddsp.effects.BiquadFilter` (one resonant lowpass) cutoff and
  Q from filtered white noise. Start: cutoff within +-600 cents, Q within
  x/2.

No log-magnitude term: on tones it makes the loss rugged in frequency (the
window's sidelobes and nulls sweep past every bin as a frequency moves, and
their logs dominate), so that descent stalls a few cents off; on magnitudes
alone a mode converges to a fraction of a cent. Pitch-like parameters of
harmonic-rich tones still start within a few tens of cents (the upper
harmonics move by whole bins); a filter's cutoff, shaping broadband noise,
converges from +-600 cents.

A parameter counts as recovered when within 5 % of the truth (frequencies,
f0 and frequency ratios: within 10 cents). The table prints the truth, the
median recovered value over the seeds, the median error and how many of the
seeds were within tolerance.

Usage:
  nice python benchmarks/bench_inverse.py [--seconds 0.4 --steps 150
      --seeds 10 --cases string,modal,fm,granular,biquad]
"""

import argparse
import dataclasses
import time
from typing import Callable, Dict

import numpy as np
import tensorflow as tf

import ddsp

SAMPLE_RATE = 16000
FRAME_RATE = 250


@dataclasses.dataclass
class Problem:
  """One inverse problem.

  Attributes:
    render: (params dict of [batch] tensors) -> [batch, n_samples] audio.
    truth: name -> true value.
    start_range: name -> (kind, spread): 'cents' for +-spread cents,
      'ratio' for a log-uniform factor in [1 / spread, spread].
    is_frequency: names judged in cents.
    semitones: optimize the frequencies in semitones (else natural logs,
      as the other parameters), i.e. steps about 17 times smaller.
  """
  render: Callable[[Dict[str, tf.Tensor]], tf.Tensor]
  truth: Dict[str, np.ndarray]
  start_range: Dict[str, tuple]
  is_frequency: tuple
  semitones: bool = True


def _frames(x, n_frames):
  """[batch] or [batch, k] -> [batch, n_frames, k]."""
  x = tf.reshape(x, [tf.shape(x)[0], 1, -1])
  return tf.tile(x, [1, n_frames, 1])


def string_problem(n_samples):
  n_frames = n_samples * FRAME_RATE // SAMPLE_RATE
  layer = ddsp.synths.PluckedString(n_samples=n_samples,
                                    sample_rate=SAMPLE_RATE, min_f0_hz=50.0)
  rng = np.random.default_rng(0)
  burst = np.zeros([1, n_samples], np.float32)
  burst[0, :80] = rng.uniform(-1, 1, 80)
  burst = tf.constant(burst)

  def render(p):
    batch = tf.shape(p['f0_hz'])[0]
    return layer(_frames(p['f0_hz'], n_frames), _frames(p['t60'], n_frames),
                 0.3 * tf.ones([batch, n_frames, 1]),
                 tf.tile(burst, [batch, 1]))

  return Problem(render, {'f0_hz': np.array(196.0), 't60': np.array(0.5)},
                 {'f0_hz': ('cents', 10.0), 't60': ('ratio', 2.0)},
                 ('f0_hz',))


def modal_problem(n_samples):
  layer = ddsp.synths.Modal(n_samples=n_samples, sample_rate=SAMPLE_RATE)
  gains = tf.constant([[1.0, 0.6, 0.4]])

  def render(p):
    batch = tf.shape(p['frequencies'])[0]
    return layer(p['frequencies'], p['t60'], tf.tile(gains, [batch, 1]))

  return Problem(render, {'frequencies': np.array([440.0, 1172.0, 2305.0]),
                          't60': np.array([0.4, 0.25, 0.15])},
                 {'frequencies': ('cents', 30.0), 't60': ('ratio', 2.0)},
                 ('frequencies',))


def fm_problem(n_samples):
  n_frames = n_samples * FRAME_RATE // SAMPLE_RATE
  layer = ddsp.synths.FrequencyModulation(
      n_samples=n_samples, sample_rate=SAMPLE_RATE, algorithm='pair')

  def render(p):
    batch = tf.shape(p['ratio'])[0]
    ones = tf.ones([batch, 1])
    amps = tf.concat([ones, p['index'][:, tf.newaxis]], axis=1)
    ratios = tf.concat([ones, p['ratio'][:, tf.newaxis]], axis=1)
    return layer(220.0 * tf.ones([batch, n_frames, 1]),
                 _frames(amps, n_frames), _frames(ratios, n_frames))

  # Ratio 1.5: no sideband folds (through 0 Hz) onto another one, whose
  # beating would make the magnitudes depend on the phases.
  return Problem(render, {'ratio': np.array(1.5), 'index': np.array(1.5)},
                 {'ratio': ('cents', 20.0), 'index': ('ratio', 1.6)},
                 ('ratio',))


def granular_problem(n_samples):
  n_frames = n_samples * FRAME_RATE // SAMPLE_RATE
  layer = ddsp.synths.Granular(n_samples=n_samples, sample_rate=SAMPLE_RATE,
                               max_density=50.0, max_grain_size=0.06, seed=0)
  t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
  source = sum(np.sin(2 * np.pi * 200.0 * k * t) / k for k in range(1, 9))
  source = tf.constant(source[np.newaxis], tf.float32)

  def render(p):
    batch = tf.shape(p['pitch_ratio'])[0]
    const = lambda v: v * tf.ones([batch, n_frames, 1])
    return layer(const(0.3), const(0.05), const(40.0),
                 _frames(p['pitch_ratio'], n_frames),
                 _frames(p['amplitude'], n_frames), source)

  return Problem(render, {'pitch_ratio': np.array(1.25),
                          'amplitude': np.array(0.8)},
                 {'pitch_ratio': ('cents', 30.0), 'amplitude': ('ratio', 2.0)},
                 ('pitch_ratio',))


def biquad_problem(n_samples):
  layer = ddsp.effects.BiquadFilter(n_biquads=1, filter_type='lowpass',
                                    sample_rate=SAMPLE_RATE, max_q=10.0,
                                    scale_controls=False)
  noise = tf.random.stateless_uniform([1, n_samples], [1, 0], -1.0, 1.0)

  def render(p):
    batch = tf.shape(p['cutoff_hz'])[0]
    return layer(tf.tile(noise, [batch, 1]), _frames(p['cutoff_hz'], 1),
                 _frames(p['q'], 1))

  return Problem(render, {'cutoff_hz': np.array(1000.0), 'q': np.array(3.0)},
                 {'cutoff_hz': ('cents', 600.0), 'q': ('ratio', 2.0)},
                 ('cutoff_hz',), semitones=False)


PROBLEMS = {'string': string_problem, 'modal': modal_problem,
            'fm': fm_problem, 'granular': granular_problem,
            'biquad': biquad_problem}


def _starts(problem, n_seeds):
  """name -> [n_seeds, ...] random starts within the stated ranges."""
  starts = {}
  for index, (name, true) in enumerate(problem.truth.items()):
    kind, spread = problem.start_range[name]
    shape = (n_seeds,) + np.shape(true)
    rng = np.random.default_rng(index)
    if kind == 'cents':
      factor = 2.0**(rng.uniform(-spread, spread, shape) / 1200.0)
    else:
      factor = np.exp(rng.uniform(-np.log(spread), np.log(spread), shape))
    starts[name] = true * factor
  return starts


def solve(problem, n_seeds, steps, learning_rate):
  """Returns name -> recovered [n_seeds, ...] values and the start values."""
  loss_fn = ddsp.losses.SpectralLoss(
      fft_sizes=(2048, 1024, 512, 256, 128), loss_type='L1', mag_weight=1.0,
      logmag_weight=0.0)
  truth = {k: tf.constant(np.broadcast_to(v, (n_seeds,) + np.shape(v)),
                          tf.float32) for k, v in problem.truth.items()}
  target = tf.stop_gradient(problem.render(truth))
  starts = _starts(problem, n_seeds)
  # Variables: frequencies of tones in semitones (log2 * 12), the others as
  # natural logs, so one Adam step moves a tone's frequency by about lr * 100
  # cents and the others by about lr * 100 %.
  scale = {k: 12.0 / np.log(2.0)
           if k in problem.is_frequency and problem.semitones else 1.0
           for k in starts}
  logs = {k: tf.Variable(scale[k] * np.log(v), dtype=tf.float32)
          for k, v in starts.items()}
  schedule = tf.keras.optimizers.schedules.ExponentialDecay(
      learning_rate, decay_steps=steps, decay_rate=0.05)
  optimizer = tf.keras.optimizers.Adam(schedule)
  variables = list(logs.values())

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      audio = problem.render({k: tf.exp(v / scale[k])
                              for k, v in logs.items()})
      # Sum of per-seed losses: each seed only sees its own gradient.
      loss = tf.add_n([loss_fn(target[i:i + 1], audio[i:i + 1])
                       for i in range(n_seeds)])
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  for _ in range(steps):
    step()
  return {k: np.exp(v.numpy() / scale[k]) for k, v in logs.items()}, starts


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--seconds', type=float, default=0.4)
  parser.add_argument('--steps', type=int, default=150)
  parser.add_argument('--seeds', type=int, default=10)
  parser.add_argument('--learning-rate', type=float, default=0.02)
  parser.add_argument('--cases', default=','.join(PROBLEMS))
  args = parser.parse_args()
  n_samples = int(args.seconds * SAMPLE_RATE)
  n_samples -= n_samples % (SAMPLE_RATE // FRAME_RATE)
  print(f'{args.seeds} seeds, {args.steps} Adam steps (lr '
        f'{args.learning_rate}, decayed to 5 %), {n_samples} samples at '
        f'{SAMPLE_RATE} Hz; within: 5 % (frequencies: 10 cents).\n')
  header = (f'{"case":<9} {"parameter":<12} {"true":>9} {"start range":>13} '
            f'{"median found":>13} {"median err":>11} {"within":>7}')
  print(header)
  print('-' * len(header))
  for case in [c.strip() for c in args.cases.split(',') if c.strip()]:
    problem = PROBLEMS[case](n_samples)
    start = time.perf_counter()
    found, _ = solve(problem, args.seeds, args.steps, args.learning_rate)
    elapsed = time.perf_counter() - start
    all_ok = np.ones(args.seeds, bool)
    for name, true in problem.truth.items():
      kind, spread = problem.start_range[name]
      stated = (f'+-{spread:g} cents' if kind == 'cents' else
                f'x/{spread:g}')
      values = found[name].reshape(args.seeds, -1)
      true = np.broadcast_to(true, values.shape[1:])
      for j in range(values.shape[1]):
        if name in problem.is_frequency:
          error = np.abs(1200 * np.log2(values[:, j] / true[j]))
          ok, unit = error <= 10.0, 'cents'
        else:
          error = np.abs(values[:, j] / true[j] - 1) * 100
          ok, unit = error <= 5.0, '%'
        all_ok &= ok
        label = name if values.shape[1] == 1 else f'{name}[{j}]'
        print(f'{case:<9} {label:<12} {true[j]:9.4g} {stated:>13} '
              f'{np.median(values[:, j]):13.5g} '
              f'{np.median(error):7.2f} {unit:<3} '
              f'{int(ok.sum()):3d}/{args.seeds}')
    print(f'{case:<9} {"(all)":<12} {"":>9} {"":>13} {"":>13} {"":>11} '
          f'{int(all_ok.sum()):3d}/{args.seeds}   ({elapsed:.0f} s)')


if __name__ == '__main__':
  main()
