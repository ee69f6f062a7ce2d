"""Tests of ddsp.core.granular."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp import core

SR = 8000


def _frames(value, n_frames=10):
  return tf.fill([1, n_frames, 1], float(value))


def _np_grain(source, onset, position, size, ratio, amp, n):
  """One Hann grain starting at fractional sample `onset` (float64)."""
  out = np.zeros(n)
  length = len(source)
  tau = np.arange(n) - onset
  x = tau / size
  window = np.where((x > 0) & (x < 1), np.sin(np.pi * x)**2, 0.0)
  read = np.mod(position * length + ratio * tau, length)
  i0 = np.floor(read).astype(int) % length
  frac = read - np.floor(read)
  value = source[i0] + frac * (source[(i0 + 1) % length] - source[i0])
  out += amp * window * value
  return out


@pytest.mark.parametrize('ratio', [1.0, 2.0, 0.75, -1.0])
def test_one_grain_is_the_windowed_source(ratio):
  rng = np.random.default_rng(0)
  source = rng.uniform(-1, 1, 3000).astype(np.float32)
  # Exact float32 values: 500 samples from sample 750.
  n, size, position, amp = 800, 0.0625, 0.25, 0.75
  # 5 grains/s over 0.1 s: only grain 0 (at sample 0) starts.
  audio = core.granular_synthesis(
      source[None], _frames(position), _frames(size), _frames(5.0),
      _frames(ratio), _frames(amp), n_samples=n, sample_rate=SR).numpy()[0]
  length = size * SR
  expected = np.zeros(n)
  j = np.arange(int(length))
  start = int(position * len(source))
  read = np.mod(start + ratio * j, len(source))
  i0 = np.floor(read).astype(int)
  frac = read - i0
  windowed = np.sin(np.pi * j / length)**2 * (
      source[i0] + frac * (source[(i0 + 1) % len(source)] - source[i0]))
  expected[:int(length)] = amp * windowed
  np.testing.assert_allclose(audio, expected, atol=1e-5)
  if ratio == 1.0:  # Plainly: the Hann-windowed source.
    np.testing.assert_allclose(
        audio[:500], amp * np.hanning(501)[:500] * source[start:start + 500],
        atol=1e-5)


def test_grains_start_at_the_density_onsets():
  rng = np.random.default_rng(1)
  source = rng.uniform(-1, 1, 2000).astype(np.float32)
  n, density, size = 1000, 70.0, 0.02  # A grain every 114.29 samples.
  audio = core.granular_synthesis(
      source[None], _frames(0.1), _frames(size), _frames(density),
      _frames(1.0), _frames(1.0), n_samples=n, sample_rate=SR).numpy()[0]
  expected = np.zeros(n)
  for i in range(int(n * density / SR) + 1):
    expected += _np_grain(source.astype(np.float64), i * SR / density, 0.1,
                          size * SR, 1.0, 1.0, n)
  np.testing.assert_allclose(audio, expected, atol=1e-4)


def test_position_offsets_shift_each_grain():
  rng = np.random.default_rng(2)
  source = rng.uniform(-1, 1, 2000).astype(np.float32)
  n, density = 800, 40.0
  n_grains = core.max_grains(n, SR, 100.0)
  offsets = rng.uniform(-0.1, 0.1, (1, n_grains)).astype(np.float32)
  audio = core.granular_synthesis(
      source[None], _frames(0.5), _frames(0.03), _frames(density),
      _frames(1.0), _frames(1.0), n_samples=n, sample_rate=SR,
      position_offsets=offsets).numpy()[0]
  expected = sum(_np_grain(source.astype(np.float64), i * SR / density,
                           0.5 + offsets[0, i], 240.0, 1.0, 1.0, n)
                 for i in range(5))
  np.testing.assert_allclose(audio, expected, atol=1e-4)


def test_gradients_reach_every_control_and_the_source():
  rng = np.random.default_rng(3)
  source = tf.constant(rng.uniform(-1, 1, (1, 500)), tf.float32)
  controls = [_frames(0.2), _frames(0.01), _frames(300.0), _frames(1.3),
              _frames(0.8)]
  weights = tf.constant(rng.normal(size=(1, 400)), tf.float32)
  with tf.GradientTape() as tape:
    tape.watch([source] + controls)
    audio = core.granular_synthesis(source, *controls, n_samples=400,
                                    sample_rate=SR, max_density=400.0,
                                    max_grain_size=0.02)
    loss = tf.reduce_sum(audio * weights)
  grads = tape.gradient(loss, [source] + controls)
  for grad in grads:
    assert np.all(np.isfinite(grad)) and np.any(grad.numpy() != 0)


def test_granular_maps_out_of_range_controls():
  rng = np.random.default_rng(4)
  source = rng.uniform(-1, 1, (1, 1000)).astype(np.float32)
  render = lambda pos, size, dens: core.granular_synthesis(
      source, _frames(pos), _frames(size), _frames(dens), _frames(1.0),
      _frames(1.0), n_samples=400, sample_rate=SR, max_density=50.0,
      max_grain_size=0.02).numpy()
  np.testing.assert_allclose(render(1.25, 0.01, 20.0),
                             render(0.25, 0.01, 20.0), atol=1e-5)  # Wraps.
  np.testing.assert_allclose(render(0.2, 1.0, 20.0),
                             render(0.2, 0.02, 20.0), atol=1e-6)
  np.testing.assert_allclose(render(0.2, 0.01, 500.0),
                             render(0.2, 0.01, 50.0), atol=1e-6)


def test_granular_rejects_bad_inputs():
  good = [_frames(0.1)] * 5
  with pytest.raises(ValueError, match='`source` must have rank 2'):
    core.granular_synthesis(tf.zeros([10]), *good, n_samples=80)
  with pytest.raises(ValueError, match='`densities` must have shape'):
    core.granular_synthesis(tf.zeros([1, 10]), *good[:2],
                            tf.zeros([1, 10, 2]), *good[3:], n_samples=80)
  with pytest.raises(ValueError, match='n_frames'):
    core.granular_synthesis(tf.zeros([1, 10]), *good[:4], _frames(1.0, 3),
                            n_samples=80)
  with pytest.raises(ValueError, match='`position_offsets` must have shape'):
    core.granular_synthesis(tf.zeros([1, 10]), *good, n_samples=80,
                            position_offsets=tf.zeros([1, 3]))
