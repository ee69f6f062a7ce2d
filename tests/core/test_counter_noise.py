"""Tests for core.counter_uniform_noise and FilteredNoise(counter_noise)."""

import doctest

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from ddsp import core
from ddsp import synths


def _hash(x):
  """numpy reference of the 32-bit hash (lowbias32), uint32 wrapping."""
  x = np.asarray(x, np.uint64) & 0xFFFFFFFF
  for shift, multiplier in ((16, 0x7feb352d), (15, 0x846ca68b)):
    x ^= x >> np.uint64(shift)
    x = (x * np.uint64(multiplier)) & 0xFFFFFFFF
  return x ^ (x >> np.uint64(16))


def _reference(n_samples, seed, offset, batch_size, minval=-1.0, maxval=1.0):
  rows = np.arange(batch_size, dtype=np.uint64)[:, np.newaxis]
  keys = _hash(seed + _hash(rows * 0x9e3779b9 + 1))
  index = (offset + np.arange(n_samples, dtype=np.uint64)) & 0xFFFFFFFF
  bits = _hash(_hash(index ^ keys) + keys)
  unit = (bits >> np.uint64(8)).astype(np.float64) * 2.0**-24
  return (minval + (maxval - minval) * unit).astype(np.float32)


class TestCounterUniformNoise:

  @pytest.mark.parametrize('seed, offset, batch_size', [
      (0, 0, 1), (12345, 1000, 3), (2**31 - 2, 2**32 - 5, 2)])
  def test_matches_numpy_reference(self, seed, offset, batch_size):
    noise = core.counter_uniform_noise(257, seed=seed, offset=offset,
                                       batch_size=batch_size)
    assert noise.shape == (batch_size, 257) and noise.dtype == tf.float32
    np.testing.assert_array_equal(
        noise.numpy(), _reference(257, seed, offset, batch_size))

  def test_blocks_equal_whole(self):
    whole = core.counter_uniform_noise(1000, seed=9, batch_size=2)
    blocks = [core.counter_uniform_noise(100, seed=9, batch_size=2,
                                         offset=tf.constant(s, tf.int32))
              for s in range(0, 1000, 100)]
    np.testing.assert_array_equal(tf.concat(blocks, axis=1).numpy(),
                                  whole.numpy())

  def test_offset_wraps_at_two_to_the_32(self):
    across = core.counter_uniform_noise(8, seed=1, offset=2**32 - 4)
    start = core.counter_uniform_noise(4, seed=1, offset=0)
    np.testing.assert_array_equal(across.numpy()[:, 4:], start.numpy())
    # A negative int32 offset is the same index modulo 2**32.
    negative = core.counter_uniform_noise(8, seed=1,
                                          offset=tf.constant(-4, tf.int32))
    np.testing.assert_array_equal(negative.numpy(), across.numpy())

  def test_uniform_white_and_independent(self):
    noise = core.counter_uniform_noise(2**16, seed=4, batch_size=2,
                                       minval=-2.0, maxval=3.0).numpy()
    assert noise.min() >= -2.0 and noise.max() < 3.0
    # Kolmogorov-Smirnov against U(-2, 3).
    ks = scipy.stats.kstest(noise[0], 'uniform', args=(-2.0, 5.0))
    assert ks.pvalue > 1e-3
    assert abs(noise.mean() - 0.5) < 0.02
    assert abs(noise.var() - 25.0 / 12.0) < 0.03
    for lag in (1, 2, 64):  # White.
      assert abs(np.corrcoef(noise[0, :-lag], noise[0, lag:])[0, 1]) < 0.02
    # Rows, and seeds, are uncorrelated.
    assert abs(np.corrcoef(noise[0], noise[1])[0, 1]) < 0.02
    other = core.counter_uniform_noise(2**16, seed=5).numpy()[0]
    assert abs(np.corrcoef(noise[0], other)[0, 1]) < 0.02

  @pytest.mark.parametrize('kwargs, match', [
      ({'n_samples': 0}, 'n_samples'),
      ({'n_samples': 4, 'seed': -1}, 'seed'),
      ({'n_samples': 4, 'offset': -2}, 'offset'),
      ({'n_samples': 4, 'batch_size': 0}, 'batch_size'),
      ({'n_samples': 4, 'minval': 1.0, 'maxval': 1.0}, 'maxval'),
  ])
  def test_errors(self, kwargs, match):
    with pytest.raises(ValueError, match=match):
      core.counter_uniform_noise(**kwargs)


class TestFilteredNoiseCounterNoise:

  def test_inference_noise_is_counter_noise(self, rng):
    raw = rng.normal(size=[2, 20, 33]).astype(np.float32)
    layer = synths.FilteredNoise(n_samples=1280, window_size=0, seed=11,
                                 counter_noise=True)
    expected = core.frequency_filter(
        core.counter_uniform_noise(1280, seed=11),
        core.exp_sigmoid(raw - 5.0), window_size=0)
    np.testing.assert_allclose(layer(raw).numpy(), expected.numpy(),
                               atol=1e-6)
    # Training noise is fresh on every call.
    first = layer(raw, training=True).numpy()
    second = layer(raw, training=True).numpy()
    assert np.abs(first - second).max() > 1e-3

  def test_config_round_trip(self):
    layer = synths.FilteredNoise(n_samples=640, seed=3, counter_noise=True)
    copy = synths.FilteredNoise.from_config(layer.get_config())
    assert copy.counter_noise
    magnitudes = np.zeros([1, 10, 17], np.float32)
    np.testing.assert_array_equal(copy(magnitudes).numpy(),
                                  layer(magnitudes).numpy())
    assert not synths.FilteredNoise(n_samples=640).counter_noise


def test_docstring_example():
  finder = doctest.DocTestFinder()
  runner = doctest.DocTestRunner()
  globs = {'tf': tf, 'counter_uniform_noise': core.counter_uniform_noise}
  for test in finder.find(core.counter_uniform_noise, globs=globs):
    runner.run(test)
  assert runner.failures == 0 and runner.tries > 0
