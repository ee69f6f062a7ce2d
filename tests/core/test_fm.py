"""Tests of ddsp.core.fm: operator FM synthesis."""

import numpy as np
import pytest
import scipy.special
import tensorflow as tf

from ddsp import core

SR = 16000


def _constant(values, n_frames):
  """[1, n_frames, len(values)], the values in every frame."""
  return tf.constant(np.tile(np.asarray(values, np.float32)[None, None],
                             (1, n_frames, 1)))


@pytest.mark.parametrize('index', [0.5, 1.0, 2.4])
def test_two_operator_sidebands_are_bessel_functions(index):
  # Carrier 2000 Hz, modulator 250 Hz: sidebands at 2000 + k 250 Hz with
  # amplitudes |J_k(index)|. One second at 16 kHz: every sideband is a bin.
  n_frames, n = 100, SR
  f0 = _constant([2000.0], n_frames)
  audio = core.fm_synthesis(f0, _constant([1.0, index], n_frames),
                            _constant([1.0, 0.125], n_frames),
                            algorithm='pair', n_samples=n, sample_rate=SR)
  spectrum = 2 * np.abs(np.fft.rfft(audio.numpy()[0])) / n
  k = np.arange(-7, 8)
  measured = spectrum[2000 + 250 * k]
  np.testing.assert_allclose(measured, np.abs(scipy.special.jv(k, index)),
                             atol=2e-4)


def _np_fm(f0, amps, ratios, connections, carriers, hop, sample_rate):
  """float64 per-sample reference: linear frequency, linear levels."""
  def upsample(x):  # [n_frames, ch] -> [n_frames * hop, ch], last held.
    nxt = np.concatenate([x[1:], x[-1:]], 0)
    r = np.arange(hop)[None, :, None] / hop
    return (x[:, None] + r * (nxt - x)[:, None]).reshape(-1, x.shape[-1])
  freq = upsample(f0 * ratios)
  levels = upsample(amps)
  levels = np.where(freq >= sample_rate / 2, 0.0, levels)
  phase = np.cumsum(2 * np.pi * freq / sample_rate, axis=0)
  out = {}
  for i in reversed(range(amps.shape[-1])):
    offset = sum(out[m] for m, t in connections if t == i)
    out[i] = levels[:, i] * np.sin(phase[:, i] + offset)
  return sum(out[c] for c in carriers)


@pytest.mark.parametrize('algorithm', ['dx7_1', 'dx7_5', 'stack'])
def test_fm_matches_float64_reference(algorithm):
  rng = np.random.default_rng(0)
  n_frames, hop = 20, 64
  f0 = rng.uniform(100, 400, (n_frames, 1)).astype(np.float32)
  amps = rng.uniform(0, 2, (n_frames, 6)).astype(np.float32)
  ratios = np.tile(rng.uniform(0.5, 4, (1, 6)), (n_frames, 1)).astype(
      np.float32)
  connections, carriers, _ = core.fm_algorithm(algorithm)
  audio = core.fm_synthesis(f0[None], amps[None], ratios[None], algorithm,
                            n_samples=n_frames * hop, sample_rate=SR)
  expected = _np_fm(f0.astype(np.float64), amps, ratios, connections,
                    carriers, hop, SR)
  np.testing.assert_allclose(audio.numpy()[0], expected, atol=2e-4)


def test_fm_phase_does_not_drift_over_a_minute():
  sr, seconds, n_frames = 48000, 60, 600
  f0 = _constant([441.3], n_frames)
  audio = core.fm_synthesis(f0, _constant([1.0, 0.0], n_frames),
                            _constant([1.0, 2.0], n_frames),
                            algorithm='pair', n_samples=sr * seconds,
                            sample_rate=sr).numpy()[0]
  n = np.arange(sr * seconds - 1000, sr * seconds)
  exact = np.sin(2 * np.pi * np.mod(np.float32(441.3) * (n + 1.0) / sr, 1.0))
  np.testing.assert_allclose(audio[-1000:], exact, atol=1e-4)


def test_fm_gradients_are_finite_and_match_finite_differences():
  n_frames, n = 8, 512
  weights = tf.constant(np.random.default_rng(1).normal(size=(1, n)),
                        tf.float32)

  def loss(index, ratio):
    amps = tf.concat([tf.ones([1, n_frames, 1]),
                      index * tf.ones([1, n_frames, 1])], -1)
    ratios = tf.concat([tf.ones([1, n_frames, 1]),
                        ratio * tf.ones([1, n_frames, 1])], -1)
    audio = core.fm_synthesis(tf.fill([1, n_frames, 1], 300.0), amps, ratios,
                              'pair', n_samples=n, sample_rate=SR)
    return tf.reduce_sum(audio * weights)

  params = [tf.constant(1.3), tf.constant(1.7)]
  with tf.GradientTape() as tape:
    tape.watch(params)
    value = loss(*params)
  grads = tape.gradient(value, params)
  for i in range(2):
    step = 1e-3
    up = [p + step if j == i else p for j, p in enumerate(params)]
    down = [p - step if j == i else p for j, p in enumerate(params)]
    numeric = (loss(*up) - loss(*down)) / (2 * step)
    np.testing.assert_allclose(grads[i], numeric, rtol=0.02)


def test_fm_algorithm_validation():
  assert core.fm_algorithm('dx7_5') == (((1, 0), (3, 2), (5, 4)), (0, 2, 4),
                                        6)
  assert core.fm_algorithm([[[2, 0]], [0, 1]]) == (((2, 0),), (0, 1), 3)
  with pytest.raises(ValueError, match='`algorithm` must be one of'):
    core.fm_algorithm('dx7_99')
  with pytest.raises(ValueError, match='modulator > target'):
    core.fm_algorithm([[(0, 1)], [0]])
  with pytest.raises(ValueError, match='at least one carrier'):
    core.fm_algorithm([[(1, 0)], []])
  with pytest.raises(ValueError, match='algorithm'):
    core.fm_algorithm(3)
  f0 = tf.ones([1, 4, 1])
  with pytest.raises(ValueError, match='uses 6'):
    core.fm_synthesis(f0, tf.ones([1, 4, 2]), tf.ones([1, 4, 2]), 'dx7_1',
                      n_samples=64)
  with pytest.raises(ValueError, match='n_operators'):
    core.fm_synthesis(f0, tf.ones([1, 4, 2]), tf.ones([1, 4, 3]), 'pair',
                      n_samples=64)
  with pytest.raises(ValueError, match='multiple of the number of frames'):
    core.fm_synthesis(f0, tf.ones([1, 4, 2]), tf.ones([1, 4, 2]), 'pair',
                      n_samples=65)
