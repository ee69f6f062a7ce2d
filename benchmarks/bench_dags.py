"""Overhead of routing processors through a ProcessorGroup (ddsp.dags).

Runs the paper's default DAG (Harmonic + FilteredNoise -> Add -> trainable
Reverb) at the default operating point (4 s at 16 kHz, 1000 frames) two ways:
as a `ProcessorGroup` called on a dict of inputs, and by calling the same
processor instances by hand. Prints median times (forward, and forward +
backward) eagerly and inside `tf.function`, and the ratio group / by hand
(1.00 means the DAG adds nothing measurable).

Usage:
  python benchmarks/bench_dags.py [--batch 2 --harmonics 60 --repeats 7]

Timings on a shared machine are noisy: compare the ratios within one run.
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from ddsp import effects
from ddsp import processors
from ddsp import synths


def _median_time(fn, repeats):
  fn()  # Warm up (and trace, for tf.function).
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return float(np.median(times))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch', type=int, default=2)
  parser.add_argument('--frames', type=int, default=1000)
  parser.add_argument('--samples', type=int, default=64000)
  parser.add_argument('--harmonics', type=int, default=60)
  parser.add_argument('--bands', type=int, default=65)
  parser.add_argument('--repeats', type=int, default=7)
  args = parser.parse_args()

  harmonic = synths.Harmonic(n_samples=args.samples)
  noise = synths.FilteredNoise(n_samples=args.samples, seed=0)
  add = processors.Add()
  reverb = effects.Reverb(trainable=True, seed=0)
  group = processors.ProcessorGroup(dag=[
      (harmonic, ['amps', 'harmonic_distribution', 'f0_hz']),
      (noise, ['noise_magnitudes']),
      (add, ['filtered_noise/signal', 'harmonic/signal']),
      (reverb, ['add/signal']),
  ])

  rng = np.random.default_rng(0)
  shape = (args.batch, args.frames)
  inputs = {
      'amps': tf.constant(rng.normal(size=shape + (1,)), tf.float32),
      'harmonic_distribution': tf.constant(
          rng.normal(size=shape + (args.harmonics,)), tf.float32),
      'f0_hz': tf.constant(rng.uniform(100, 500, size=shape + (1,)),
                           tf.float32),
      'noise_magnitudes': tf.constant(rng.normal(size=shape + (args.bands,)),
                                      tf.float32),
  }

  def by_hand(x):
    return reverb(add(noise(x['noise_magnitudes']),
                      harmonic(x['amps'], x['harmonic_distribution'],
                               x['f0_hz'])))

  def forward_backward(fn):
    def run(x):
      with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_mean(tf.abs(fn(x)))
      return tape.gradient(loss, [x, group.trainable_variables])
    return run

  variants = {'group': group, 'by hand': by_hand}
  rows = []
  for mode in ('eager', 'tf.function'):
    for direction in ('forward', 'forward+backward'):
      times = {}
      for label, fn in variants.items():
        run = forward_backward(fn) if direction != 'forward' else fn
        if mode == 'tf.function':
          run = tf.function(run)
        times[label] = _median_time(lambda r=run: r(inputs), args.repeats)
      rows.append((mode, direction, times['group'], times['by hand']))

  print(f'Paper DAG, batch {args.batch}, {args.samples} samples, '
        f'{args.frames} frames, {args.harmonics} harmonics, '
        f'{args.bands} noise bands; medians of {args.repeats} runs')
  print(f'{"mode":<12} {"pass":<17} {"group (s)":>10} {"by hand (s)":>12} '
        f'{"ratio":>6}')
  for mode, direction, t_group, t_hand in rows:
    print(f'{mode:<12} {direction:<17} {t_group:>10.4f} {t_hand:>12.4f} '
          f'{t_group / t_hand:>6.2f}')


if __name__ == '__main__':
  main()
