"""Tests of ddsp.training.preprocessing against numpy references."""

import doctest

import numpy as np
import pytest
import tensorflow as tf

from ddsp import spectral_ops
from ddsp.training import preprocessing

import nn_reference as ref  # tests/training/nn_reference.py


def _np_f0_scaled(f0_hz):
  f0_hz = np.asarray(f0_hz, np.float64)
  with np.errstate(divide='ignore'):
    midi = 12.0 * np.log2(f0_hz / 440.0) + 69.0
  return np.where(f0_hz > 0, midi, 0.0) / 127.0


def _np_power_db(audio, frame_size, hop):
  """Mean square of 'same'-padded rectangular frames, in dB, floor -80."""
  n_frames = -(-audio.shape[-1] // hop)
  padded = np.pad(audio, [(0, 0), (0, n_frames * hop + frame_size)])
  frames = np.stack([padded[:, i * hop:i * hop + frame_size]
                     for i in range(n_frames)], axis=1)
  power = np.mean(frames.astype(np.float64)**2, axis=-1)
  return np.maximum(10.0 * np.log10(np.maximum(power, 1e-20)), -80.0)


def _tone(f0_hz, n_samples, sample_rate, amplitude=0.5):
  t = np.arange(n_samples) / sample_rate
  audio = sum(amplitude / k * np.sin(2 * np.pi * k * f0_hz * t)
              for k in range(1, 4))
  return audio.astype(np.float32)[np.newaxis]


def test_scale_functions_match_numpy_and_invert():
  f0_hz = np.array([0.0, 55.0, 440.0, 1000.0], np.float32)
  np.testing.assert_allclose(preprocessing.scale_f0_hz(f0_hz),
                             _np_f0_scaled(f0_hz), rtol=1e-6, atol=1e-7)
  np.testing.assert_allclose(
      preprocessing.inv_scale_f0_hz(preprocessing.scale_f0_hz(f0_hz[1:])),
      f0_hz[1:], rtol=1e-4)
  db = np.array([-80.0, -40.0, 0.0], np.float32)
  np.testing.assert_allclose(preprocessing.scale_db(db), [0.0, 0.5, 1.0])
  np.testing.assert_allclose(
      preprocessing.inv_scale_db(preprocessing.scale_db(db)), db, atol=1e-5)


def test_f0_loudness_scales_given_features(rng):
  f0_hz = rng.uniform(50, 1000, [2, 20]).astype(np.float32)
  f0_hz[:, :3] = 0.0  # Unvoiced.
  loudness_db = rng.uniform(-80, 0, [2, 20]).astype(np.float32)
  pre = preprocessing.F0LoudnessPreprocessor(time_steps=20,
                                             compute_loudness=False)
  out = pre({'f0_hz': f0_hz, 'loudness_db': loudness_db, 'other': f0_hz})
  assert sorted(out) == ['f0_hz', 'f0_scaled', 'ld_scaled', 'loudness_db']
  for v in out.values():
    assert v.shape == (2, 20, 1)
  np.testing.assert_allclose(out['f0_scaled'][..., 0], _np_f0_scaled(f0_hz),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(out['ld_scaled'][..., 0],
                             loudness_db / 80.0 + 1.0, rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(out['f0_hz'][..., 0], f0_hz)


def test_f0_loudness_resamples_to_time_steps(rng):
  f0_hz = rng.uniform(100, 400, [2, 10]).astype(np.float32)
  loudness_db = rng.uniform(-60, -10, [2, 10, 1]).astype(np.float32)
  pre = preprocessing.F0LoudnessPreprocessor(time_steps=40,
                                             compute_loudness=False)
  out = pre({'f0_hz': f0_hz, 'loudness_db': loudness_db})
  f0_expected = ref.linear_resample(f0_hz, 40)
  ld_expected = ref.linear_resample(loudness_db[..., 0], 40)
  np.testing.assert_allclose(out['f0_hz'][..., 0], f0_expected, rtol=1e-5)
  np.testing.assert_allclose(out['loudness_db'][..., 0], ld_expected,
                             rtol=1e-5)
  np.testing.assert_allclose(out['f0_scaled'][..., 0],
                             _np_f0_scaled(f0_expected), rtol=1e-5)
  np.testing.assert_allclose(out['ld_scaled'][..., 0],
                             ld_expected / 80 + 1, rtol=1e-5)


def test_f0_loudness_computes_loudness_from_audio(rng):
  audio = _tone(440.0, 4000, 16000) * np.linspace(0, 1, 4000, dtype=np.float32)
  reference = spectral_ops.compute_loudness(audio, sample_rate=16000,
                                            frame_rate=250, padding='same',
                                            use_tf=False)
  assert reference.shape == (1, 63)
  given = np.full([1, 63], -10.0, np.float32)
  f0_hz = np.full([1, 63], 440.0, np.float32)
  # compute_loudness=True recomputes from audio, ignoring the feature.
  pre = preprocessing.F0LoudnessPreprocessor(time_steps=None)
  out = pre({'audio': audio, 'f0_hz': f0_hz, 'loudness_db': given})
  np.testing.assert_allclose(out['loudness_db'][..., 0], reference, atol=2e-2)
  np.testing.assert_allclose(out['ld_scaled'][..., 0], reference / 80 + 1,
                             atol=3e-4)
  # compute_loudness=False uses the feature, or the audio when it is absent.
  pre = preprocessing.F0LoudnessPreprocessor(time_steps=None,
                                             compute_loudness=False)
  out = pre({'audio': audio, 'f0_hz': f0_hz, 'loudness_db': given})
  np.testing.assert_allclose(out['loudness_db'][..., 0], given)
  out = pre({'audio': audio, 'f0_hz': f0_hz})
  np.testing.assert_allclose(out['loudness_db'][..., 0], reference, atol=2e-2)


def test_f0_loudness_gradient_with_respect_to_audio(rng):
  audio = tf.constant(rng.normal(0, 0.3, [1, 2048]), tf.float32)
  pre = preprocessing.F0LoudnessPreprocessor(time_steps=32)
  with tf.GradientTape() as tape:
    tape.watch(audio)
    out = pre({'audio': audio, 'f0_hz': tf.fill([1, 32], 220.0)})
    loss = tf.reduce_sum(out['ld_scaled'])
  grad = tape.gradient(loss, audio)
  assert np.all(np.isfinite(grad)) and np.any(np.abs(grad) > 0)


def test_f0_loudness_errors_and_config():
  pre = preprocessing.F0LoudnessPreprocessor(time_steps=8, padding='center',
                                             compute_loudness=False)
  with pytest.raises(ValueError, match=r"needs either the 'loudness_db' "
                     r"feature or 'audio'"):
    pre({'f0_hz': tf.zeros([1, 8])})
  with pytest.raises(ValueError, match=r"needs the input key 'f0_hz', which "
                     r"is not among the available keys \['loudness_db'\]"):
    pre({'loudness_db': tf.zeros([1, 8])})
  with pytest.raises(ValueError, match=r'`f0_hz` must be \[batch, n_frames\] '
                     r'or \[batch, n_frames, 1\]. Received: '
                     r'f0_hz.shape=\(1, 8, 2\)'):
    pre({'f0_hz': tf.zeros([1, 8, 2]), 'loudness_db': tf.zeros([1, 8])})
  with pytest.raises(ValueError, match=r'`time_steps` must be a positive'):
    preprocessing.F0LoudnessPreprocessor(time_steps=0)
  with pytest.raises(ValueError, match=r'`padding` must be one of'):
    preprocessing.F0LoudnessPreprocessor(padding='reflect')
  config = pre.get_config()
  clone = preprocessing.F0LoudnessPreprocessor.from_config(config)
  assert clone.get_config() == config
  assert (clone.time_steps, clone.padding, clone.compute_loudness) == (
      8, 'center', False)
  f0_hz, loudness_db = pre.invert_scaling(tf.constant(69 / 127.0),
                                          tf.constant(0.25))
  np.testing.assert_allclose([f0_hz, loudness_db], [440.0, -60.0], rtol=1e-5)


def test_f0_power_preprocessor_matches_numpy_power(rng):
  audio = (rng.normal(0, 0.2, [2, 3200]) *
           np.linspace(0, 1, 3200)).astype(np.float32)
  f0_hz = rng.uniform(100, 300, [2, 50]).astype(np.float32)
  pre = preprocessing.F0PowerPreprocessor(time_steps=50, frame_size=256)
  out = pre({'audio': audio, 'f0_hz': f0_hz})
  power_db = _np_power_db(audio, 256, 64)
  assert power_db.shape == (2, 50)
  # Published output names; power computed from audio when not given.
  assert list(out) == ['f0_hz', 'pw_db', 'f0_scaled', 'pw_scaled']
  np.testing.assert_allclose(out['pw_db'][..., 0], power_db, atol=1e-3)
  np.testing.assert_allclose(out['pw_scaled'][..., 0], power_db / 80 + 1,
                             atol=1e-5)
  np.testing.assert_allclose(out['f0_scaled'][..., 0], _np_f0_scaled(f0_hz),
                             rtol=1e-5)
  # A given power is used (as published), unless compute_power=True.
  given = np.full([2, 50], -33.0, np.float32)
  pre = preprocessing.F0PowerPreprocessor(time_steps=50, frame_size=256)
  out = pre({'audio': audio, 'f0_hz': f0_hz, 'power_db': given})
  np.testing.assert_allclose(out['pw_db'][..., 0], given, rtol=1e-6)
  pre = preprocessing.F0PowerPreprocessor(time_steps=50, frame_size=256,
                                          compute_power=True)
  out = pre({'audio': audio, 'f0_hz': f0_hz, 'power_db': given})
  np.testing.assert_allclose(out['pw_db'][..., 0], power_db, atol=1e-3)
  clone = preprocessing.F0PowerPreprocessor.from_config(pre.get_config())
  assert clone.get_config() == pre.get_config()
  # The published default frame size is 64 samples.
  assert preprocessing.F0PowerPreprocessor().frame_size == 64
  with pytest.raises(ValueError, match=r"needs either the 'power_db' feature "
                     r"or 'audio'"):
    preprocessing.F0PowerPreprocessor(time_steps=50)({'f0_hz': f0_hz})


@pytest.mark.parametrize('sample_rate', [16000, 22050])
def test_online_f0_power_tracks_a_tone_with_crepe_tiny(sample_rate):
  audio = _tone(330.0, sample_rate, sample_rate)  # 1 s.
  pre = preprocessing.OnlineF0PowerPreprocessor(
      frame_rate=50, sample_rate=sample_rate, frame_size=1024)
  out = pre({'audio': audio})
  assert list(out) == ['f0_hz', 'pw_db', 'f0_scaled', 'pw_scaled',
                       'f0_confidence']
  n_frames = 51  # 'center' padding: 1 s * 50 + 1.
  for v in out.values():
    assert v.shape == (1, n_frames, 1)
  f0_hz = out['f0_hz'].numpy()[0, 5:-5, 0]
  cents = 1200 * np.abs(np.log2(f0_hz / 330.0))
  assert np.median(cents) < 20 and np.max(cents) < 50
  assert np.median(out['f0_confidence'][0, 5:-5]) > 0.8
  np.testing.assert_allclose(out['f0_scaled'][..., 0],
                             _np_f0_scaled(out['f0_hz'][..., 0]), rtol=1e-5)
  # Mean square of the tone (three harmonics 0.5, 0.25, 0.167) in dB.
  expected_db = 10 * np.log10(0.5 * (0.5**2 + 0.25**2 + (0.5 / 3)**2))
  np.testing.assert_allclose(out['pw_db'][0, 5:-5], expected_db, atol=0.2)


def test_online_f0_power_without_crepe_uses_features(rng):
  pre = preprocessing.OnlineF0PowerPreprocessor(frame_rate=50,
                                                compute_f0=False)
  assert pre.crepe is None
  f0_hz = rng.uniform(100, 300, [1, 51]).astype(np.float32)
  out = pre({'audio': np.zeros([1, 16000], np.float32), 'f0_hz': f0_hz})
  assert 'f0_confidence' not in out
  np.testing.assert_allclose(out['f0_hz'][..., 0], f0_hz)
  np.testing.assert_allclose(out['pw_db'], -80.0)
  with pytest.raises(ValueError, match=r"needs the 'f0_hz' feature"):
    pre({'audio': np.zeros([1, 16000], np.float32)})
  config = pre.get_config()
  assert preprocessing.OnlineF0PowerPreprocessor.from_config(
      config).get_config() == config


def test_online_f0_power_published_arguments_and_inputs(rng):
  # The published order: frame_rate, frame_size, padding, compute_power, ...
  pre = preprocessing.OnlineF0PowerPreprocessor(50, 512, 'center', True,
                                                False)
  assert (pre.frame_rate, pre.frame_size, pre.compute_f0) == (50, 512, False)
  assert pre.input_keys == ['audio'] and pre.default_input_keys == [
      'f0_hz', 'f0_confidence', 'audio_16k', 'pw_db']
  audio_16k = _tone(200.0, 8000, 16000)
  audio = rng.normal(0, 0.01, [1, 8000]).astype(np.float32)
  f0_hz = np.full([1, 26], 200.0, np.float32)
  # 'audio_16k', when given, is used instead of 'audio'.
  out = pre({'audio': audio, 'audio_16k': audio_16k, 'f0_hz': f0_hz,
             'f0_confidence': np.ones([1, 26], np.float32)})
  expected = spectral_ops.compute_power(audio_16k, sample_rate=16000,
                                        frame_rate=50, frame_size=512,
                                        padding='center')
  np.testing.assert_allclose(out['pw_db'][..., 0], expected, atol=1e-5)
  np.testing.assert_allclose(out['f0_confidence'], 1.0)
  # compute_power=False reads 'pw_db'.
  given = np.full([1, 26], -12.0, np.float32)
  no_power = preprocessing.OnlineF0PowerPreprocessor(
      frame_rate=50, compute_power=False, compute_f0=False)
  out = no_power({'audio': audio, 'f0_hz': f0_hz, 'pw_db': given})
  np.testing.assert_allclose(out['pw_db'][..., 0], given)
  np.testing.assert_allclose(out['pw_scaled'][..., 0], given / 80 + 1,
                             rtol=1e-6)
  assert preprocessing.OnlineF0PowerPreprocessor(
      compute_f0=False).get_config()['crepe_saved_model_path'] == 'tiny'


def test_preprocessor_keys_come_from_call():
  pre = preprocessing.F0LoudnessPreprocessor()
  assert pre.input_keys == ['f0_hz']
  assert pre.default_input_keys == ['loudness_db', 'audio']
  assert pre.output_keys == ['f0_hz', 'loudness_db', 'f0_scaled', 'ld_scaled']
  power = preprocessing.F0PowerPreprocessor()
  assert power.default_input_keys == ['power_db', 'audio']
  # Renamed inputs, as DictLayers allow.
  renamed = preprocessing.F0PowerPreprocessor(
      time_steps=3, input_keys=['f0', 'pw'])
  out = renamed({'f0': tf.fill([1, 3], 440.0), 'pw': tf.fill([1, 3], -40.0)})
  np.testing.assert_allclose(out['pw_scaled'], 0.5)


def test_docstring_examples():
  results = doctest.testmod(preprocessing, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
