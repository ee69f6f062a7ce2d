"""Tests for ddsp.training.summaries and plotting: events read back."""

import doctest

import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import plotting
from ddsp.training import summaries
import training_helpers as helpers  # tests/training/training_helpers.py

SR = 16000


def read_events(log_dir):
  return helpers.read_events(log_dir, with_plugin=True)


def _write(log_dir, fn):
  writer = tf.summary.create_file_writer(str(log_dir))
  with writer.as_default():
    out = fn()
  writer.flush()
  writer.close()
  return out, read_events(log_dir)


def _sines(freqs, n=8000):
  t = np.arange(n) / SR
  return np.stack([0.5 * np.sin(2 * np.pi * f * t) for f in freqs]).astype(
      np.float32)


def test_audio_summary_round_trips_wav(tmp_path):
  audio = _sines([220.0, 440.0, 880.0])
  audio[0, :10] = 2.0  # Clipped to 1.
  _, events = _write(tmp_path, lambda: summaries.audio_summary(
      audio, 3, SR, name='audio_original', max_outputs=2))
  ((step, plugin, value),) = events['audio_original']
  assert (step, plugin) == (3, 'audio')
  assert value.shape == (2, 2)  # Two clips of (wav bytes, label).
  for i in range(2):
    decoded, rate = tf.audio.decode_wav(value[i, 0])
    assert int(rate) == SR
    expected = np.clip(audio[i], -1.0, 1.0)
    np.testing.assert_allclose(decoded.numpy()[:, 0], expected, atol=1 / 2**14)


def test_audio_summary_without_writer_writes_nothing():
  assert not summaries.audio_summary(_sines([440.0]), 0, SR)


def test_spectrogram_summary_images(tmp_path):
  audio = _sines([300.0, 500.0])
  n, events = _write(tmp_path, lambda: summaries.spectrogram_summary(
      audio, audio[::-1], 5, name='x'))
  assert n == 2
  assert sorted(events) == ['spectrogram/x_1', 'spectrogram/x_2']
  step, plugin, value = events['spectrogram/x_1'][0]
  assert (step, plugin) == (5, 'images')
  width, height = int(value[0]), int(value[1])
  image = tf.io.decode_png(value[2]).numpy()
  assert image.shape == (height, width, 3) == (600, 800, 3)
  assert image[..., :3].std() > 10  # Not a blank image.


def test_spectrogram_image_puts_frequency_up():
  """A bright bin k lands at height (k + 0.5) / n_bins of its axis."""
  n_frames, n_bins, k = 20, 50, 35
  spec = np.full([n_frames, n_bins], -5.0)
  spec[:, k] = 1.0
  fig = plotting.plot_spectrograms([spec], ['one'], figsize=(4.0, 3.0))
  image = plotting.figure_to_image(fig).astype(float)
  ax = fig.axes[0]
  box = ax.get_window_extent()
  height = image.shape[0]
  column = image[:, int((box.x0 + box.x1) / 2), :3].sum(axis=-1)
  rows = np.arange(height)
  inside = (rows > height - box.y1 + 1) & (rows < height - box.y0 - 1)
  brightest = rows[inside][np.argmax(column[inside])]
  expected = height - (box.y0 + (k + 0.5) / n_bins * box.height)
  assert abs(brightest - expected) <= box.height / n_bins


def test_waveform_and_f0_summaries(tmp_path):
  audio = _sines([220.0, 440.0])
  f0 = np.full([2, 50, 1], 440.0)
  f0_pred = np.full([2, 25], 466.16)

  def write():
    return (summaries.waveform_summary(audio, audio, 1, name='w'),
            summaries.f0_summary(f0, f0_pred, 1, max_outputs=1))

  (n_wave, n_f0), events = _write(tmp_path, write)
  assert (n_wave, n_f0) == (2, 1)
  assert sorted(events) == ['f0_midi/f0_midi_1', 'waveform/w_full_1',
                            'waveform/w_full_2', 'waveform/w_zoom_1',
                            'waveform/w_zoom_2']
  assert all(v[0][1] == 'images' for v in events.values())


def test_fig_summary_closes_pyplot_figures(tmp_path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig = plt.figure(figsize=(2, 1), dpi=50)
  fig.add_subplot(111).plot([0, 1])
  n_open = len(plt.get_fignums())
  _, events = _write(tmp_path, lambda: summaries.fig_summary('fig', fig, 2))
  assert len(plt.get_fignums()) == n_open - 1
  image = tf.io.decode_png(events['fig'][0][2][2]).numpy()
  assert image.shape == (50, 100, 3)


def test_image_summary_reads_like_tf_summary_image(tmp_path, rng):
  image = rng.integers(0, 256, [30, 40, 3]).astype(np.uint8)

  def write():
    summaries.image_summary('ours', image, 4)
    tf.summary.image('reference', image[np.newaxis], step=4)

  _, events = _write(tmp_path, write)
  (ours,), (reference,) = events['ours'], events['reference']
  assert ours[:2] == reference[:2] == (4, 'images')
  assert list(ours[2][:2]) == list(reference[2][:2]) == [b'40', b'30']
  np.testing.assert_array_equal(tf.io.decode_png(ours[2][2]).numpy(), image)
  with pytest.raises(ValueError, match='image'):
    summaries.image_summary('bad', image[..., :2], 0)


def test_summary_errors():
  with pytest.raises(ValueError, match='max_outputs'):
    summaries.audio_summary(_sines([440.0]), 0, SR, max_outputs=0)
  with pytest.raises(ValueError, match='batch axis'):
    summaries.spectrogram_summary(_sines([440.0, 220.0]), _sines([440.0]), 0)
  with pytest.raises(ValueError, match='audio'):
    summaries.audio_summary(np.zeros([2, 100, 2]), 0, SR)


def test_get_spectrogram_peak_at_tone_frequency():
  size = 1024
  spec = summaries.get_spectrogram(_sines([1000.0]), size=size)
  assert spec.shape[-1] == size // 2 + 1
  peak_bin = np.argmax(spec[0].mean(axis=0))
  assert peak_bin == round(1000.0 * size / SR)
  rotated = summaries.get_spectrogram(_sines([1000.0]), rotate=True, size=size)
  np.testing.assert_array_equal(rotated[0], np.rot90(spec[0]))


def test_transfer_function_of_delta_is_flat():
  ir = np.zeros([1, 1, 100])
  ir[..., 0] = 1.0
  freqs, mags = plotting.transfer_function(ir, SR)
  assert freqs[0] == 0.0 and freqs[-1] == SR / 2
  np.testing.assert_allclose(mags, 1.0)


def test_doctests():
  for module in (plotting, summaries):
    results = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert results.failed == 0
