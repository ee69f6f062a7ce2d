"""Tests for ddsp.training.postprocessing vs numpy/scikit-learn references."""

import doctest
import pickle

import numpy as np
import pytest
import sklearn.preprocessing

from ddsp.training import data
from ddsp.training import postprocessing as pp


# ------------------------------------------------------------------------------
# smooth / detect_notes.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('size', [1, 3, 5, 40])
def test_smooth_matches_zero_padded_moving_average(rng, size):
  x = rng.normal(size=[2, 100])
  left = (size - 1) // 2
  padded = np.pad(x, [(0, 0), (left, size - 1 - left)])
  expected = np.stack([[row[i:i + size].mean() for i in range(100)]
                       for row in padded])
  np.testing.assert_allclose(pp.smooth(x, size), expected, atol=1e-12)
  np.testing.assert_allclose(pp.smooth(x[0], size), expected[0], atol=1e-12)


def _note_features(n_frames=600, notes=((100, 250), (350, 500)), note_db=-20.0,
                   conf_on=0.95, conf_off=0.1):
  loudness = np.full(n_frames, -80.0)
  confidence = np.full(n_frames, conf_off)
  for start, end in notes:
    loudness[start:end] = note_db
    confidence[start:end] = conf_on
  return loudness, confidence


def test_detect_notes_finds_known_note_regions():
  notes = ((100, 250), (350, 500))
  loudness, confidence = _note_features(notes=notes)
  smoothing = 20
  mask_on, ratio = pp.detect_notes(loudness, confidence, smoothing=smoothing)
  truth = np.zeros(600, bool)
  for start, end in notes:
    truth[start:end] = True
  # Every frame further than half the smoothing from a note edge is right.
  edges = np.zeros(600, bool)
  for start, end in notes:
    for edge in (start, end):
      edges[max(edge - smoothing, 0):edge + smoothing] = True
  np.testing.assert_array_equal(mask_on[~edges], truth[~edges])
  # Note interiors: ratio = conf^2 (ld - min) / ((mean ld - min) 0.7^2).
  mean_db = loudness.mean()
  expected = 0.95**2 * 60.0 / ((mean_db + 80.0) * 0.7**2)
  np.testing.assert_allclose(ratio[150:200], expected, rtol=1e-12)
  np.testing.assert_allclose(ratio[:50], 0.0, atol=1e-12)  # -80 dB floor.


def test_detect_notes_threshold_and_batch():
  loudness, confidence = _note_features()
  batch = np.stack([loudness, loudness])
  mask_b, _ = pp.detect_notes(batch, np.stack([confidence, confidence]))
  mask_1, _ = pp.detect_notes(loudness, confidence)
  np.testing.assert_array_equal(mask_b[0], mask_1)
  # A threshold above the interior ratio turns every note off.
  _, ratio = pp.detect_notes(loudness, confidence)
  mask_high, _ = pp.detect_notes(loudness, confidence,
                                 note_threshold=ratio.max() * 1.01)
  assert not mask_high.any()


def test_detect_notes_errors():
  with pytest.raises(ValueError, match='same shape'):
    pp.detect_notes(np.zeros(10), np.zeros(11))
  with pytest.raises(ValueError, match='f0_confidence_threshold'):
    pp.detect_notes(np.zeros(10), np.zeros(10), f0_confidence_threshold=0.0)
  with pytest.raises(ValueError, match=r'loudness_db.*\[n_frames\]'):
    pp.detect_notes(np.zeros([2, 3, 4]), np.zeros([2, 3, 4]))


# ------------------------------------------------------------------------------
# QuantileTransformer.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('distribution', ['uniform', 'normal'])
def test_quantile_transformer_matches_sklearn(rng, distribution):
  x = np.concatenate([rng.normal(-30, 6, [3000, 1]),
                      np.full([200, 1], -20.0)])  # Repeated values too.
  ours = pp.QuantileTransformer(n_quantiles=100,
                                output_distribution=distribution).fit(x)
  ref = sklearn.preprocessing.QuantileTransformer(
      n_quantiles=100, output_distribution=distribution,
      subsample=10**6).fit(x)
  np.testing.assert_allclose(ours.quantiles_, ref.quantiles_, atol=1e-9)
  test = np.concatenate([rng.normal(-30, 8, [500, 1]), [[-20.0]]])
  np.testing.assert_allclose(ours.transform(test), ref.transform(test),
                             atol=1e-6)
  positions = ref.transform(test)
  np.testing.assert_allclose(ours.inverse_transform(positions),
                             ref.inverse_transform(positions), atol=1e-6)


def test_quantile_transformer_uniform_is_empirical_cdf(rng):
  x = rng.uniform(0.0, 10.0, [20000, 1])
  qt = pp.QuantileTransformer().fit(x)
  grid = np.linspace(0.5, 9.5, 10)[:, np.newaxis]
  np.testing.assert_allclose(qt.transform(grid), grid / 10.0, atol=0.02)
  # Outside the fitted range the positions saturate at 0 and 1.
  np.testing.assert_array_equal(qt.transform([[-5.0], [50.0]]), [[0.0], [1.0]])
  inside = x[:100]
  np.testing.assert_allclose(qt.inverse_transform(qt.transform(inside)),
                             inside, atol=1e-2)


def test_quantile_transformer_subsample_is_seeded(rng):
  x = rng.normal(size=[5000, 1])
  a = pp.QuantileTransformer(subsample=1000, seed=3).fit(x).quantiles_
  b = pp.QuantileTransformer(subsample=1000, seed=3).fit(x).quantiles_
  c = pp.QuantileTransformer(subsample=1000, seed=4).fit(x).quantiles_
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_quantile_transformer_errors():
  with pytest.raises(ValueError, match='n_quantiles'):
    pp.QuantileTransformer(n_quantiles=0)
  with pytest.raises(ValueError, match='output_distribution'):
    pp.QuantileTransformer(output_distribution='gamma')
  with pytest.raises(ValueError, match='not fitted'):
    pp.QuantileTransformer().transform([[1.0]])
  with pytest.raises(ValueError, match=r'n_samples, n_features'):
    pp.QuantileTransformer().fit(np.zeros(10))
  qt = pp.QuantileTransformer().fit(np.zeros([10, 2]))
  with pytest.raises(ValueError, match='2 features'):
    qt.transform(np.zeros([3, 1]))


def test_quantile_transformer_loads_published_pickle(rng):
  """An object with the published attribute set (no `seed`) unpickles."""
  x = rng.normal(size=[300, 1])
  fitted = pp.QuantileTransformer(n_quantiles=50).fit(x)
  old = object.__new__(pp.QuantileTransformer)
  old.__dict__.update(
      n_quantiles=50, output_distribution='uniform', subsample=100000,
      random_state=np.random.RandomState(0), n_quantiles_=50,
      references_=fitted.references_, quantiles_=fitted.quantiles_)
  loaded = pickle.loads(pickle.dumps(old))
  assert loaded.seed == 0
  np.testing.assert_allclose(loaded.transform(x), fitted.transform(x))


# ------------------------------------------------------------------------------
# Quantile loudness matching.
# ------------------------------------------------------------------------------
def test_fit_quantile_transform_matches_target_percentiles(rng):
  target_ld = rng.uniform(-60.0, -20.0, [4, 2000])
  target = pp.fit_quantile_transform(target_ld, np.ones_like(target_ld, bool))
  source = rng.normal(-35.0, 3.0, [2, 3000])
  mask = np.ones_like(source, bool)
  mask[:, :500] = False  # Not notes: left unchanged.
  source[:, :500] = -80.0
  _, matched = pp.fit_quantile_transform(source, mask, inv_quantile=target)
  assert matched.shape == source.shape
  np.testing.assert_array_equal(matched[:, :500], -80.0)
  percentiles = [5, 25, 50, 75, 95]
  np.testing.assert_allclose(np.percentile(matched[mask], percentiles),
                             np.percentile(target_ld, percentiles), atol=0.5)
  # The mapping is monotonic: the order of the frames is kept.
  order = np.argsort(source[mask])
  assert np.all(np.diff(matched[mask][order]) >= -1e-9)


def test_fit_quantile_transform_errors():
  with pytest.raises(ValueError, match='selects no frame'):
    pp.fit_quantile_transform(np.zeros(10), np.zeros(10, bool))
  with pytest.raises(ValueError, match='mask_on'):
    pp.fit_quantile_transform(np.zeros(10), np.ones(9, bool))


# ------------------------------------------------------------------------------
# Pitch and loudness.
# ------------------------------------------------------------------------------
def test_shift_f0_and_ld_copy_and_shift():
  features = {'f0_hz': np.array([110.0, 220.0, 5000.0]),
              'loudness_db': np.array([-30.0, -20.0, -10.0])}
  up = pp.shift_f0(features, 1.0)
  np.testing.assert_allclose(up['f0_hz'][:2], [220.0, 440.0])
  # Clipped at MIDI 110 = 440 * 2 ** (41 / 12) Hz.
  np.testing.assert_allclose(up['f0_hz'][2], 440.0 * 2**(41 / 12), rtol=1e-6)
  semitone = pp.shift_f0(features, 1 / 12)
  np.testing.assert_allclose(semitone['f0_hz'][0], 110.0 * 2**(1 / 12),
                             rtol=1e-6)
  np.testing.assert_array_equal(features['f0_hz'], [110.0, 220.0, 5000.0])
  louder = pp.shift_ld(features, 6.0)
  np.testing.assert_array_equal(louder['loudness_db'], [-24.0, -14.0, -4.0])
  np.testing.assert_array_equal(features['loudness_db'], [-30.0, -20.0, -10.0])


def test_get_pitch_shift():
  f0 = np.full([2, 50], 110.0)  # MIDI 45.
  mask = np.ones_like(f0, bool)
  assert pp.get_pitch_shift(f0, mask, 69.0) == 2.0
  assert pp.get_pitch_shift(f0, mask, 74.0) == 2.0  # 29 semitones -> 2.
  assert pp.get_pitch_shift(f0, mask, 76.0) == 3.0  # 31 semitones -> 3.
  np.testing.assert_allclose(
      pp.get_pitch_shift(f0, mask, 70.0, round_to_octave=False), 25 / 12)
  # Only note frames count.
  f0[:, :25] = 1000.0
  mask[:, :25] = False
  assert pp.get_pitch_shift(f0, mask, 57.0) == 1.0
  assert pp.get_pitch_shift(f0, np.zeros_like(mask), 57.0) == 0.0
  shifted = pp.shift_f0({'f0_hz': f0}, pp.get_pitch_shift(f0, mask, 57.0))
  np.testing.assert_allclose(shifted['f0_hz'][mask], 220.0, rtol=1e-6)


@pytest.mark.parametrize('offset', [-0.3, 0.0, 0.2, 0.45])
def test_get_tuning_factor_recovers_detuning(rng, offset):
  notes = np.repeat(rng.integers(55, 75, 20), 40).astype(float)
  f0_midi = notes + offset + rng.normal(0.0, 0.03, notes.shape)
  conf = np.ones_like(f0_midi)
  mask = np.ones_like(f0_midi, bool)
  factor = pp.get_tuning_factor(f0_midi, conf, mask)
  # Offsets are circular: +0.5 and -0.5 name the same grid.
  error = (factor - offset + 0.5) % 1.0 - 0.5
  assert abs(error) <= 0.02


def test_auto_tune_chromatic_moves_towards_nearest_semitone(rng):
  f0_midi = rng.uniform(50.0, 70.0, 200)
  mask = np.ones_like(f0_midi, bool)
  nearest = np.round(f0_midi)
  snapped = pp.auto_tune(f0_midi, 0.0, mask, amount=1.0, chromatic=True)
  np.testing.assert_allclose(snapped, nearest, atol=1e-9)
  half = pp.auto_tune(f0_midi, 0.0, mask, amount=0.5, chromatic=True)
  np.testing.assert_allclose(half, (f0_midi + nearest) / 2, atol=1e-9)
  assert np.all(np.abs(half - nearest) <= np.abs(f0_midi - nearest) + 1e-12)
  np.testing.assert_array_equal(
      pp.auto_tune(f0_midi, 0.0, mask, amount=0.0, chromatic=True), f0_midi)
  tuned = pp.auto_tune(np.array([60.3]), 0.1, np.ones(1, bool), amount=1.0,
                       chromatic=True)
  np.testing.assert_allclose(tuned, [60.1])


def test_auto_tune_scale_snaps_to_inferred_major_key(rng):
  d_major = np.array([62, 64, 66, 67, 69, 71, 73, 74])
  melody = np.repeat(rng.choice(d_major, 40), 10) + rng.normal(0, 0.1, 400)
  # An off-scale frame (63.2, between D and E) goes to the nearer E (64) in
  # D major, where the chromatic grid would give Eb (63).
  f0_midi = np.concatenate([melody, [63.2]])
  mask = np.ones_like(f0_midi, bool)
  tuned = pp.auto_tune(f0_midi, 0.0, mask, amount=1.0)
  np.testing.assert_allclose(tuned[-1], 64.0)
  np.testing.assert_allclose(tuned[:-1], np.round(melody), atol=1e-9)
  assert set(np.round(tuned).astype(int) % 12) <= set(d_major % 12)


def test_auto_tune_errors():
  with pytest.raises(ValueError, match='amount'):
    pp.auto_tune(np.zeros(3), 0.0, np.ones(3, bool), amount=1.5)


# ------------------------------------------------------------------------------
# Dataset statistics.
# ------------------------------------------------------------------------------
def _provider(n_examples=3, sample_rate=16000, frame_rate=250, secs=1.0):
  n_samples, n_frames = int(secs * sample_rate), int(secs * frame_rate)
  t = np.arange(n_samples) / sample_rate
  audio = np.zeros([n_examples, n_samples], np.float32)
  loudness = np.full([n_examples, n_frames], -80.0, np.float32)
  conf = np.full([n_examples, n_frames], 0.05, np.float32)
  f0 = np.full([n_examples, n_frames], 100.0, np.float32)
  pitches = [60.0, 62.0, 67.0]
  for i in range(n_examples):
    start, end = 50 + 10 * i, 200
    hz = 440.0 * 2**((pitches[i] - 69) / 12)
    on = (t >= start / frame_rate) & (t < end / frame_rate)
    audio[i, on] = 0.5 * np.sin(2 * np.pi * hz * t[on])
    loudness[i, start:end] = -20.0 - 5.0 * i
    conf[i, start:end] = 0.95
    f0[i, start:end] = hz
  features = {'audio': audio, 'f0_hz': f0, 'f0_confidence': conf,
              'loudness_db': loudness}
  return data.InMemoryProvider(features, sample_rate, frame_rate), features


def test_compute_dataset_statistics_on_known_notes():
  provider, features = _provider()
  stats = pp.compute_dataset_statistics(provider, batch_size=2)
  assert stats['n_examples'] == 3
  # Note frames: pitches 60, 62, 67 for 150, 140 and 130 frames.
  counts = np.array([150, 140, 130])
  np.testing.assert_allclose(stats['mean_pitch_note'],
                             np.sum(counts * [60, 62, 67]) / counts.sum(),
                             atol=0.05)
  np.testing.assert_allclose(stats['mean_max_pitch_note'], 63.0, atol=1e-3)
  np.testing.assert_allclose(stats['max_loudness_note'], -20.0)
  np.testing.assert_allclose(stats['min_loudness_note'], -30.0)
  np.testing.assert_allclose(stats['mean_max_loudness'], -25.0)
  # All frames: 230 of 250 frames (20 trimmed) of each example.
  f0_trimmed = features['f0_hz'][:, :230].astype(np.float64)
  pitch = 69 + 12 * np.log2(f0_trimmed / 440.0)
  np.testing.assert_allclose(stats['mean_pitch'], pitch.mean(), rtol=1e-5)
  np.testing.assert_allclose(stats['std_pitch'], pitch.std(), rtol=1e-4)
  # A sine of amplitude 0.5 has power 20 log10(0.5 / sqrt(2)) = -9.03 dB.
  np.testing.assert_allclose(stats['mean_max_power_note'], -9.03, atol=0.1)
  qt = stats['quantile_transform']
  np.testing.assert_allclose(qt.quantiles_[[0, -1], 0], [-30.0, -20.0])


def test_dataset_statistics_save_and_load(tmp_path):
  provider, _ = _provider(n_examples=2)
  for name in ('stats.json', 'stats.pkl'):
    path = tmp_path / name
    stats = pp.save_dataset_statistics(provider, path)
    loaded = pp.load_dataset_statistics(path)
    assert sorted(loaded) == sorted(stats)
    for key, value in stats.items():
      if key == 'quantile_transform':
        np.testing.assert_allclose(loaded[key].quantiles_, value.quantiles_)
        x = np.linspace(-35, -15, 9)[:, np.newaxis]
        np.testing.assert_allclose(loaded[key].transform(x),
                                   value.transform(x))
      else:
        np.testing.assert_allclose(loaded[key], value)
  # A directory: written as JSON, found again.
  pp.save_dataset_statistics(stats, tmp_path)
  assert (tmp_path / pp.DATASET_STATISTICS_JSON).exists()
  assert pp.load_dataset_statistics(tmp_path)['n_examples'] == 2
  empty = tmp_path / 'empty'
  empty.mkdir()
  with pytest.raises(FileNotFoundError, match='dataset_statistics'):
    pp.load_dataset_statistics(empty)


def test_compute_dataset_statistics_errors():
  provider = data.InMemoryProvider({'audio': np.zeros([2, 1600], np.float32)})
  with pytest.raises(ValueError, match='needs the features'):
    pp.compute_dataset_statistics(provider)
  provider, _ = _provider(n_examples=1)
  with pytest.raises(ValueError, match='trim_end_frames'):
    pp.compute_dataset_statistics(provider, trim_end_frames=250)


def test_doctests():
  results = doctest.testmod(pp, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0
  assert results.failed == 0
