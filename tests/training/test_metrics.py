"""Tests for ddsp.training.metrics: numpy references, tones of known pitch."""

import doctest
import math

import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import metrics

SR = 16000
FRAME_RATE = 50


def _sine(hz, secs=1.0, amp=0.5, sample_rate=SR):
  t = np.arange(int(secs * sample_rate)) / sample_rate
  return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _read_scalars(log_dir):
  scalars = {}
  for path in tf.io.gfile.glob(str(log_dir / 'events*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        scalars[value.tag] = (event.step, float(tf.make_ndarray(value.tensor)))
  return scalars


# ------------------------------------------------------------------------------
# Per-example functions.
# ------------------------------------------------------------------------------
def test_cents_distance_and_accuracies_vs_numpy(rng):
  ref = rng.uniform(80.0, 1000.0, 200)
  cents = rng.uniform(-300.0, 300.0, 200)
  est = ref * 2.0**(cents / 1200.0)
  np.testing.assert_allclose(metrics.cents_distance(ref, est), cents,
                             atol=1e-9)
  voiced = rng.uniform(size=200) > 0.3
  np.testing.assert_allclose(
      metrics.raw_pitch_accuracy(ref, est, voiced),
      np.mean(np.abs(cents[voiced]) <= 50.0))
  np.testing.assert_allclose(
      metrics.raw_pitch_accuracy(ref, est, voiced, cent_tolerance=150.0),
      np.mean(np.abs(cents[voiced]) <= 150.0))
  # Octave errors: wrong pitch, right chroma.
  octave = est * 2.0**rng.integers(-2, 3, 200)
  folded = np.abs(cents[voiced])
  np.testing.assert_allclose(
      metrics.raw_chroma_accuracy(ref, octave, voiced),
      np.mean(folded <= 50.0))
  assert math.isnan(metrics.raw_pitch_accuracy(ref, est, np.zeros(200, bool)))
  # Unvoiced (0 Hz) estimates count as MIDI 0: far from any note.
  assert metrics.raw_pitch_accuracy([440.0], [0.0], [True]) == 0.0


def test_f0_example_metrics_definitions():
  n = 100
  ref = np.full(n, 220.0)
  conf = np.where(np.arange(n) < 80, 0.9, 0.1)
  cents = np.where(np.arange(n) < 40, 20.0, 80.0)
  est = ref * 2.0**(cents / 1200.0)
  est[80:] = 3000.0  # Only the confident frames count.
  out = metrics.f0_example_metrics(ref, conf, est)
  np.testing.assert_allclose(out['f0_dist_cents'], 50.0)
  np.testing.assert_allclose(out['raw_pitch_accuracy'], 0.5)
  assert not out['is_outlier']
  np.testing.assert_allclose(
      metrics.f0_dist_conf_thresh(ref, est, conf), 0.5)  # Semitones.
  far = metrics.f0_example_metrics(ref, conf, ref * 2.0**1.01)
  assert far['is_outlier']
  assert metrics.f0_example_metrics(ref, np.full(n, 0.5), est) is None
  assert metrics.f0_dist_conf_thresh(ref, est, np.full(n, 0.5)) is None
  assert metrics.is_outlier(np.full(n, 0.5))
  assert not metrics.is_outlier(conf)
  with pytest.raises(ValueError, match='same number of frames'):
    metrics.f0_example_metrics(ref, conf, est[:50])


def test_l1_distance_cuts_to_shorter():
  np.testing.assert_array_equal(
      metrics.l1_distance([[1.0, 2.0, 3.0]], [1.5, 1.0]), [0.5, 1.0])


def test_mean_matches_weighted_average(rng):
  values = rng.normal(size=10)
  weights = rng.uniform(0.1, 2.0, size=10)
  mean = metrics.Mean()
  assert math.isnan(mean.result())
  for v, w in zip(values, weights):
    mean.update_state(v, sample_weight=w)
  np.testing.assert_allclose(mean.result(), np.average(values, weights=weights))
  mean.update_state(values)  # Arrays add each element with weight 1.
  np.testing.assert_allclose(
      mean.result(), (np.sum(values * weights) + values.sum()) /
      (weights.sum() + 10))
  mean.reset_state()
  assert math.isnan(mean.result()) and mean.count == 0


# ------------------------------------------------------------------------------
# Loudness.
# ------------------------------------------------------------------------------
def test_loudness_l1_of_gain_changes():
  audio = np.stack([_sine(440.0, 0.5)] * 3)
  gains = np.array([1.0, 0.5, 0.25])
  m = metrics.LoudnessMetrics(SR, 250)
  dist = m.update_state({'audio': audio}, audio * gains[:, np.newaxis])
  # Power in dB: a gain g changes every frame by -20 log10(g).
  expected = -20.0 * np.log10(gains)
  np.testing.assert_allclose(dist, expected, atol=1e-3)
  np.testing.assert_allclose(m.result()['loudness_db'], expected.mean(),
                             atol=1e-3)
  assert dist[0] == 0.0
  # Accumulates over batches: a second batch of exact copies halves it.
  m.update_state({'audio': audio}, tf.constant(audio))
  np.testing.assert_allclose(m.result()['loudness_db'], expected.mean() / 2,
                             atol=1e-3)


def test_loudness_l1_differs_per_frame(rng):
  audio = rng.uniform(-0.5, 0.5, [2, 4000]).astype(np.float32)
  gen = audio.copy()
  gen[:, 2000:] *= 0.1  # Second half 20 dB quieter.
  m = metrics.LoudnessMetrics(SR, 250)
  dist = m.update_state({'audio': audio}, gen)
  # 'center' frames (n_fft 512, hop 64): frames 0..62; those whose window
  # lies after sample 2000 (centre >= 2256) lose 20 dB.
  frames = np.arange(4000 // 64 + 1)
  all_after = frames * 64 - 256 >= 2000
  all_before = frames * 64 + 256 <= 2000
  assert 20.0 * all_after.mean() < dist[0] < 20.0 * (1 - all_before.mean())


def test_loudness_metrics_errors():
  m = metrics.LoudnessMetrics(SR, 250)
  with pytest.raises(ValueError, match='same shape'):
    m.update_state({'audio': np.zeros([2, 1000])}, np.zeros([2, 900]))
  with pytest.raises(ValueError, match='audio_gen'):
    m.update_state({'audio': np.zeros([2, 1000])}, np.zeros([2, 1000, 2]))
  with pytest.raises(ValueError, match='sample_rate'):
    metrics.LoudnessMetrics(0, 250)


# ------------------------------------------------------------------------------
# f0 with CREPE.
# ------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def crepe_batch():
  """Reference at 440 Hz; generated: same, +100 cents, -2 octaves, (skip)."""
  audio = np.stack([_sine(440.0)] * 4)
  gen = np.stack([_sine(440.0), _sine(440.0 * 2**(1 / 12)), _sine(110.0),
                  _sine(440.0)])
  conf = np.ones([4, FRAME_RATE])
  conf[3] = 0.5  # Never confident: skipped.
  batch = {'audio': audio, 'f0_hz': np.full([4, FRAME_RATE], 440.0),
           'f0_confidence': conf}
  m = metrics.F0CrepeMetrics(SR, FRAME_RATE)
  per_example = m.update_state(batch, gen)
  return m, per_example


def test_f0_crepe_metrics_on_tones_of_known_pitch(crepe_batch):
  m, per_example = crepe_batch
  same, up, down, skipped = per_example
  assert same['f0_dist_cents'] < 15.0
  assert same['raw_pitch_accuracy'] == 1.0
  assert abs(up['f0_dist_cents'] - 100.0) < 15.0
  assert up['raw_pitch_accuracy'] == 0.0 and not up['is_outlier']
  assert abs(down['f0_dist_cents'] - 2400.0) < 30.0
  assert down['is_outlier'] and down['raw_chroma_accuracy'] == 1.0
  assert skipped is None
  result = m.result()
  np.testing.assert_allclose(
      result['f0_dist_cents'],
      (same['f0_dist_cents'] + up['f0_dist_cents']) / 2)
  np.testing.assert_allclose(result['outlier_ratio'], 1 / 3)
  np.testing.assert_allclose(result['raw_pitch_accuracy'], 1 / 3)
  np.testing.assert_allclose(result['raw_chroma_accuracy'], 2 / 3)


def test_f0_crepe_metrics_flush_writes_scalars(crepe_batch, tmp_path):
  m, _ = crepe_batch
  expected = m.result()
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default():
    results = m.flush(step=7)
  writer.flush()
  scalars = _read_scalars(tmp_path)
  for key, value in expected.items():
    tag = f'metrics/f0_crepe/{key}'
    assert results[tag] == value
    assert scalars[tag][0] == 7
    np.testing.assert_allclose(scalars[tag][1], value, rtol=1e-6)
  assert all(math.isnan(v) for v in m.result().values())  # Reset.


def test_f0_crepe_frames_follow_reference_padding():
  audio = _sine(330.0, 0.5)[np.newaxis]
  m = metrics.F0CrepeMetrics(SR, FRAME_RATE)
  # 'center' padding: 0.5 s * 50 + 1 = 26 frames.
  batch = {'f0_hz': np.full([1, 26], 330.0), 'f0_confidence': np.ones([1, 26])}
  (out,) = m.update_state(batch, audio)
  assert out['f0_dist_cents'] < 15.0
  # Without reference f0 it is computed from the input audio.
  (out,) = m.update_state({'audio': audio}, audio)
  assert out['f0_dist_cents'] < 1e-6
  with pytest.raises(ValueError, match=r'24 frames.*25 frames'):
    m.update_state({'f0_hz': np.full([1, 24], 330.0),
                    'f0_confidence': np.ones([1, 24])}, audio)


def test_f0_metrics_of_predicted_f0_resampled():
  ref = np.full([2, 40], 220.0)
  conf = np.ones([2, 40])
  m = metrics.F0Metrics(SR, FRAME_RATE)
  pred = np.stack([np.full(20, 220.0 * 2**(30 / 1200)),
                   np.full(20, 220.0 * 2**(70 / 1200))])[..., np.newaxis]
  per_example = m.update_state({'f0_hz': ref, 'f0_confidence': conf}, pred)
  np.testing.assert_allclose([o['f0_dist_cents'] for o in per_example],
                             [30.0, 70.0], atol=1e-6)
  np.testing.assert_allclose(m.result()['raw_pitch_accuracy'], 0.5)
  with pytest.raises(ValueError, match=r"batch\['f0_confidence'\]"):
    m.update_state({'f0_hz': ref}, pred)
  with pytest.raises(ValueError, match='f0_hz_predict'):
    m.update_state({'f0_hz': ref, 'f0_confidence': conf}, pred[:1])


def test_flush_skips_nan(tmp_path):
  m = metrics.F0Metrics(SR, FRAME_RATE)
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default():
    results = m.flush(step=1)
  writer.flush()
  assert all(math.isnan(v) for v in results.values())
  assert not _read_scalars(tmp_path)


def test_doctests():
  results = doctest.testmod(metrics, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0
  assert results.failed == 0


def test_published_f0_dist_key_and_per_example_crepe_calls(monkeypatch):
  """'f0_dist' in semitones, with the published outlier handling; CREPE is
  called once per example (the published tests mock it that way)."""
  n = 20
  ref = {'f0_hz': np.full([2, n], 440.0), 'f0_confidence': np.ones([2, n])}
  f0_metrics = metrics.F0Metrics(SR, FRAME_RATE)
  # 100 cents, and 1900 cents (an outlier).
  f0_metrics.update_state(ref, np.stack([np.full(n, 440.0 * 2**(1 / 12)),
                                         np.full(n, 440.0 * 3.0)]))
  result = f0_metrics.result()
  assert result['f0_dist_cents'] == pytest.approx(100.0)
  # The published F0Metrics averages over outliers too.
  assert result['f0_dist'] == pytest.approx((1.0 + 19.0196) / 2, abs=1e-3)
  calls = []

  def fake_compute_f0(audio, frame_rate, **kwargs):
    del frame_rate, kwargs
    calls.append(np.shape(audio))
    scale = [2**(2 / 12), 3.0][len(calls) - 1]
    return np.full(n, 440.0 * scale), np.ones(n)

  monkeypatch.setattr(metrics.spectral_ops, 'compute_f0', fake_compute_f0)
  crepe = metrics.F0CrepeMetrics(SR, FRAME_RATE)
  audio = np.zeros([2, (n - 1) * SR // FRAME_RATE], np.float32)
  crepe.update_state(ref, audio)
  assert calls == [audio.shape[1:]] * 2
  result = crepe.result()
  # The outlier is left out of both distances, counted in the ratio.
  assert result['f0_dist'] == pytest.approx(2.0)
  assert result['f0_dist_cents'] == pytest.approx(200.0)
  assert result['outlier_ratio'] == pytest.approx(0.5)
