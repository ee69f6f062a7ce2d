"""Cost of evaluation: metrics and TensorBoard summaries per example.

Prints one table of median times for one 4 s example at 16 kHz (features at
250 frames/s):

* LoudnessMetrics.update_state (loudness of input and output, numpy);
* F0CrepeMetrics.update_state with CREPE-tiny and Viterbi (the dominant cost
  of `F0LdEvaluator`);
* a spectrogram image summary (logmag, matplotlib, PNG): as written here
  (PNG at zlib effort 1, RGB) against `tf.summary.image` (default effort,
  RGBA) on the same rendered figure;
* a waveform figure of the whole clip: min-max envelope (as written here)
  against plotting every sample.

Cases are timed in interleaved rounds (one call of each per round) so that
load from other processes affects them alike; compare ratios within a run.

Usage:
  python benchmarks/bench_eval.py [--rounds 5] [--seconds 4]
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

from ddsp.training import metrics  # pylint: disable=g-import-not-at-top
from ddsp.training import plotting  # pylint: disable=g-import-not-at-top
from ddsp.training import summaries  # pylint: disable=g-import-not-at-top

SR, FRAME_RATE = 16000, 250


def _audio(seconds, seed):
  rng = np.random.default_rng(seed)
  t = np.arange(int(seconds * SR)) / SR
  f0 = 330.0 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
  audio = 0.4 * np.sin(2 * np.pi * np.cumsum(f0) / SR)
  return (audio + 0.01 * rng.normal(size=t.shape)).astype(np.float32)[None]


def _all_samples_figure(audio):
  fig = plotting.new_figure((5.0, 3.0))
  axes = fig.subplots(2, 1, sharex=True)
  for ax in axes:
    ax.plot(audio[0], linewidth=0.5)
  fig.tight_layout()
  return fig


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--seconds', type=float, default=4.0)
  args = parser.parse_args()

  audio, audio_gen = _audio(args.seconds, 0), _audio(args.seconds, 1)
  n_frames = int(args.seconds * FRAME_RATE)
  batch = {'audio': audio, 'f0_hz': np.full([1, n_frames], 330.0),
           'f0_confidence': np.ones([1, n_frames])}
  loudness = metrics.LoudnessMetrics(SR, FRAME_RATE)
  f0_crepe = metrics.F0CrepeMetrics(SR, FRAME_RATE)
  spec = summaries.get_spectrogram(audio, size=768)[0]
  writer = tf.summary.create_file_writer(tempfile.mkdtemp())

  def spectrogram_here():
    summaries.fig_summary('a', plotting.plot_spectrograms(
        [spec, spec], figsize=(8.0, 6.0)), 0)

  def spectrogram_tf_image():
    fig = plotting.plot_spectrograms([spec, spec], figsize=(8.0, 6.0))
    tf.summary.image('b', plotting.figure_to_image(fig)[None], step=0)

  cases = {
      'LoudnessMetrics.update_state': lambda: loudness.update_state(
          batch, audio_gen),
      'F0CrepeMetrics.update_state (tiny)': lambda: f0_crepe.update_state(
          batch, audio_gen),
      'spectrogram image: fig_summary': spectrogram_here,
      'spectrogram image: tf.summary.image': spectrogram_tf_image,
      'waveform figure: envelope': lambda: plotting.figure_to_image(
          plotting.plot_waveforms([audio[0], audio_gen[0]])),
      'waveform figure: every sample': lambda: plotting.figure_to_image(
          _all_samples_figure(audio)),
  }
  times = {name: [] for name in cases}
  with writer.as_default():
    for fn in cases.values():  # Warm up (CREPE weights, tracing).
      fn()
    for _ in range(args.rounds):
      for name, fn in cases.items():
        start = time.perf_counter()
        fn()
        times[name].append(time.perf_counter() - start)

  print(f'One {args.seconds:g} s example at {SR} Hz, {FRAME_RATE} frames/s; '
        f'medians of {args.rounds} rounds.')
  print(f'{"case":40s} {"median s":>9s}')
  for name, values in times.items():
    print(f'{name:40s} {np.median(values):9.3f}')
  pairs = (('spectrogram image: tf.summary.image',
            'spectrogram image: fig_summary'),
           ('waveform figure: every sample', 'waveform figure: envelope'))
  for slow, fast in pairs:
    print(f'ratio {slow} / {fast}: '
          f'{np.median(times[slow]) / np.median(times[fast]):.2f}')


if __name__ == '__main__':
  main()
