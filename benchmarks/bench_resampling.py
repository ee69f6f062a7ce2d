"""Speed of ddsp.core.resample against the formulations it replaces.

Upsamples controls [batch, n_frames, channels] to audio rate (the default
operating point of every synth: [16, 1000, 60] -> [16, 64000, 60]) and prints
median times (forward, and forward + backward) for each method, next to:

* `tf.compat.v1.image.resize` (bilinear / bicubic with align_corners=False,
  the formulation of the published library; same positions for 'linear'),
* `tf.signal.overlap_and_add` of Hann windows (the published 'window'),
* `tf.repeat` (a pure copy to the output size: a floor for any method).

Usage:
  python benchmarks/bench_resampling.py [--batch 16 --frames 1000
      --channels 60 --hop 64 --repeats 7]

Timings on a shared machine are noisy: cases are timed round-robin so that
their ratios within one run are comparable; absolute times are not.
"""

import argparse
import time

import numpy as np
import tensorflow as tf

from ddsp.core import resampling


def _v1_resize(method):
  def fn(x, n_timesteps):
    y = tf.compat.v1.image.resize(x[:, :, tf.newaxis, :], [n_timesteps, 1],
                                  method=method, align_corners=False)
    return y[:, :, 0, :]
  return fn


def _ola_window(x, n_timesteps):
  n_frames = x.shape[1]
  hop = n_timesteps // n_frames
  x = tf.concat([x, x[:, -1:]], axis=1)
  window = tf.signal.hann_window(2 * hop)
  y = tf.transpose(x, [0, 2, 1])[..., tf.newaxis] * window
  y = tf.signal.overlap_and_add(y, hop)
  return tf.transpose(y, [0, 2, 1])[:, hop:-hop]


def _repeat(x, n_timesteps):
  return tf.repeat(x, n_timesteps // x.shape[1], axis=1)


def _interleaved_medians(fns, repeats):
  """Median seconds of each function, timed round-robin.

  Interleaving spreads the load of a shared machine evenly over the cases,
  so their ratios stay meaningful even when absolute times drift.
  """
  for fn in fns:
    fn()  # Warm up.
  times = [[] for _ in fns]
  for _ in range(repeats):
    for i, fn in enumerate(fns):
      start = time.perf_counter()
      fn()
      times[i].append(time.perf_counter() - start)
  return [float(np.median(t)) for t in times]


def _forward(fn, x, n_timesteps):
  return lambda: fn(x, n_timesteps).numpy()


def _forward_backward(fn, x, n_timesteps):
  def run():
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = fn(x, n_timesteps)
      loss = tf.reduce_sum(y * y)
    return tape.gradient(loss, x).numpy()
  return run


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch', type=int, default=16)
  parser.add_argument('--frames', type=int, default=1000)
  parser.add_argument('--channels', type=int, default=60)
  parser.add_argument('--hop', type=int, default=64)
  parser.add_argument('--repeats', type=int, default=7)
  args = parser.parse_args()

  x = tf.random.stateless_normal([args.batch, args.frames, args.channels],
                                 seed=[0, 0])
  n_timesteps = args.frames * args.hop

  def ddsp_method(method, extra=0):
    return lambda x, n: resampling.resample(x, n + extra, method=method)

  cases = [
      ('copy floor: tf.repeat', _repeat),
      ('ddsp nearest', ddsp_method('nearest')),
      ('ddsp linear', ddsp_method('linear')),
      ('v1 image.resize bilinear', _v1_resize('bilinear')),
      ('ddsp linear, n_timesteps - 1 (positions)', ddsp_method('linear', -1)),
      ('ddsp cubic, n_timesteps - 1 (positions)', ddsp_method('cubic', -1)),
      ('ddsp cubic', ddsp_method('cubic')),
      ('v1 image.resize bicubic', _v1_resize('bicubic')),
      ('ddsp window', ddsp_method('window')),
      ('overlap_and_add Hann windows', _ola_window),
  ]
  # Same numbers as the references it replaces (where positions agree).
  checks = [('linear', _v1_resize('bilinear')), ('window', _ola_window)]
  for method, ref in checks:
    err = tf.reduce_max(tf.abs(
        resampling.resample(x, n_timesteps, method=method) -
        ref(x, n_timesteps)))
    print(f'max |ddsp {method} - reference| = {float(err):.2e}')

  print(f'\nresample [{args.batch}, {args.frames}, {args.channels}] -> '
        f'[{args.batch}, {n_timesteps}, {args.channels}], medians of '
        f'{args.repeats} runs')
  print(f'{"case":42s} {"forward ms":>11s} {"fwd+bwd ms":>11s} '
        f'{"fwd / copy":>11s}')
  forward = _interleaved_medians(
      [_forward(fn, x, n_timesteps) for _, fn in cases], args.repeats)
  backward = _interleaved_medians(
      [_forward_backward(fn, x, n_timesteps) for _, fn in cases],
      args.repeats)
  for (name, _), fwd, bwd in zip(cases, forward, backward):
    print(f'{name:42s} {fwd * 1e3:11.1f} {bwd * 1e3:11.1f} '
          f'{fwd / forward[0]:11.2f}')


if __name__ == '__main__':
  main()
