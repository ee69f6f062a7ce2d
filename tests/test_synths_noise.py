"""Tests for ddsp.synths.FilteredNoise: seeding, spectrum, shapes, errors."""

import keras
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from ddsp import synths


def _exp_sigmoid(x):
  return 2.0 * (1.0 / (1.0 + np.exp(-x)))**np.log(10.0) + 1e-7


class TestFilteredNoise:

  def test_controls_and_shape(self, rng):
    raw = rng.normal(size=[2, 10, 17]).astype(np.float32)
    noise = synths.FilteredNoise(n_samples=640, window_size=33, seed=0)
    outputs = noise(raw, return_outputs_dict=True)
    assert outputs['signal'].shape == (2, 640)
    np.testing.assert_allclose(outputs['controls']['magnitudes'].numpy(),
                               _exp_sigmoid(raw - 5.0), rtol=1e-5)

  def test_flat_filter_gives_uniform_white_noise(self):
    noise = synths.FilteredNoise(n_samples=64000, scale_fn=None,
                                 initial_bias=0.0, seed=1)
    out = noise(np.ones([1, 1000, 65], np.float32)).numpy()[0]
    assert -1.0 <= out.min() and out.max() < 1.0
    assert abs(out.mean()) < 0.01
    assert abs(out.var() - 1.0 / 3.0) < 0.01
    # White: neighbouring samples uncorrelated.
    assert abs(np.corrcoef(out[:-1], out[1:])[0, 1]) < 0.02

  def test_spectrum_follows_magnitudes(self):
    sample_rate, n_bands = 16000, 65
    bands = np.linspace(0.0, 1.0, n_bands)
    mags = (0.5 + 0.5 * np.cos(np.pi * bands)).astype(np.float32)
    noise = synths.FilteredNoise(n_samples=64000, scale_fn=None,
                                 initial_bias=0.0, seed=2)
    out = noise(np.broadcast_to(mags, [1, 1000, n_bands])).numpy()[0]
    freqs, psd = scipy.signal.welch(out, sample_rate, nperseg=256)
    # Uniform noise in [-1, 1) has variance 1/3, spread over 0..Nyquist.
    expected = np.interp(freqs / (sample_rate / 2), bands, mags)**2
    expected *= (1.0 / 3.0) / (sample_rate / 2)
    keep = (freqs > 100) & (freqs < 7000)  # Welch detrends; -inf dB at Nyquist.
    error_db = 10 * np.log10(psd[keep] / expected[keep])
    assert np.max(np.abs(error_db)) < 1.0

  def test_same_seed_same_audio_different_seed_differs(self, rng):
    raw = tf.constant(rng.normal(size=[2, 10, 17]).astype(np.float32))

    def make(seed):
      return synths.FilteredNoise(n_samples=640, window_size=33, seed=seed)

    first = make(7)(raw).numpy()
    layer = make(7)
    np.testing.assert_array_equal(layer(raw).numpy(), first)
    np.testing.assert_array_equal(layer(raw).numpy(), first)  # Every call.
    assert not np.allclose(make(8)(raw).numpy(), first)
    # Configs record the seed drawn for seed=None: a copy makes the same audio.
    anonymous = make(None)
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(anonymous))
    np.testing.assert_array_equal(clone(raw).numpy(), anonymous(raw).numpy())

  def test_training_draws_fresh_reproducible_noise(self, rng):
    raw = tf.constant(rng.normal(size=[2, 10, 17]).astype(np.float32))
    one = synths.FilteredNoise(n_samples=640, window_size=33, seed=3)
    two = synths.FilteredNoise(n_samples=640, window_size=33, seed=3)
    calls = [one(raw, training=True).numpy() for _ in range(2)]
    assert not np.allclose(calls[0], calls[1])
    assert not np.allclose(calls[0][0], calls[0][1])  # Per example.
    step = tf.function(lambda x: two(x, training=True))
    for expected in calls:
      np.testing.assert_array_equal(step(raw).numpy(), expected)

  def test_unknown_batch_in_tf_function(self, rng):
    noise = synths.FilteredNoise(n_samples=640, window_size=33, seed=3)
    raw = rng.normal(size=[3, 10, 17]).astype(np.float32)
    spec = tf.TensorSpec([None, 10, 17], tf.float32)
    for training in (False, True):
      fn = tf.function(lambda x, t=training: noise(x, training=t),
                       input_signature=[spec])
      assert fn(raw).shape == (3, 640)

  def test_variable_length(self, rng):
    noise = synths.FilteredNoise(n_samples=None, sample_rate=8000,
                                 frame_rate=250, window_size=33, seed=0)
    for n_frames in (10, 25):
      raw = rng.normal(size=[1, n_frames, 17]).astype(np.float32)
      assert noise(raw).shape == (1, n_frames * 32)

  @pytest.mark.parametrize('method', ['overlap_add', 'block'])
  def test_gradients(self, rng, method):
    raw = tf.constant(rng.normal(size=[2, 10, 17]).astype(np.float32))
    noise = synths.FilteredNoise(n_samples=640, window_size=33, method=method,
                                 seed=0)
    with tf.GradientTape() as tape:
      tape.watch(raw)
      loss = tf.reduce_sum(noise(raw)**2)
    grad = tape.gradient(loss, raw).numpy()
    assert np.all(np.isfinite(grad)) and np.any(grad != 0.0)

  def test_errors(self):
    noise = synths.FilteredNoise(n_samples=640)
    with pytest.raises(ValueError, match=r'`magnitudes` must have rank 3'):
      noise(tf.zeros([2, 17]))
    with pytest.raises(ValueError, match=r'n_samples=640 and n_frames=300'):
      noise(tf.zeros([2, 300, 17]))
    with pytest.raises(ValueError, match=r'`seed` must be a non-negative'):
      synths.FilteredNoise(seed=-1)
    with pytest.raises(ValueError, match=r'`n_samples` must be a positive'):
      synths.FilteredNoise(n_samples=0)

  def test_bad_magnitudes_raise_naming_the_argument(self):
    noise = synths.FilteredNoise(n_samples=640)
    # Today: 0 frames raised ZeroDivisionError, 0 bands returned zeros and
    # NaN magnitudes gave NaN audio.
    with pytest.raises(ValueError, match=r'`magnitudes` must have at least '
                       r'one frame. Received: magnitudes.shape=\(2, 0, 17\)'):
      noise(np.zeros([2, 0, 17], np.float32))
    with pytest.raises(ValueError, match=r'`magnitudes` must have at least '
                       r'one band. Received: magnitudes.shape=\(2, 10, 0\)'):
      noise(np.zeros([2, 10, 0], np.float32))
    bad = np.zeros([2, 10, 17], np.float32)
    bad[1, 9, 16] = np.nan
    with pytest.raises(ValueError, match=r'`magnitudes` must be finite.*first '
                       r'at index \(1, 9, 16\)'):
      noise(bad)
    with pytest.raises(ValueError, match='at least one frame'):
      synths.FilteredNoise(n_samples=None)(np.zeros([1, 0, 17], np.float32))


def test_initial_bias_only_applies_with_a_scale_fn():
  # As published: the bias shifts the input of scale_fn; with scale_fn=None
  # the magnitudes are used exactly as given.
  magnitudes = np.random.default_rng(3).uniform(0.1, 1.0, [1, 4, 5])
  raw = synths.FilteredNoise(n_samples=64, scale_fn=None, seed=0)
  np.testing.assert_allclose(
      raw.get_controls(magnitudes)['magnitudes'], magnitudes, rtol=1e-6)
  scaled = synths.FilteredNoise(n_samples=64, seed=0)
  np.testing.assert_allclose(
      scaled.get_controls(magnitudes)['magnitudes'],
      2.0 / (1.0 + np.exp(-(magnitudes - 5.0))) ** np.log(10.0) + 1e-7,
      rtol=1e-5)
