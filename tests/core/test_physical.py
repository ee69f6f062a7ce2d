"""Tests of ddsp.core.physical: plucked string and modal synthesis."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp import core

SR = 16000


def _pitch_estimate(y, sample_rate, low, high):
  """The FFT peak between `low` and `high` Hz, refined by a parabola through
  the log magnitudes (the comb also resonates at 0 Hz: search above it)."""
  n = len(y)
  spectrum = np.abs(np.fft.rfft(y * np.hanning(n), 8 * n))
  lo, hi = (int(f * 8 * n / sample_rate) for f in (low, high))
  k = int(np.argmax(spectrum[lo:hi])) + lo
  a, b, c = np.log(spectrum[k - 1:k + 2])
  return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sample_rate / (8 * n)


def _np_taps(f0, t60, brightness, sample_rate):
  """Loop delay and taps from the documented formulas, in float64."""
  period = sample_rate / f0
  delay = np.floor(period - 1)
  d = period - 1 - delay
  w = 2 * np.pi * f0 / sample_rate
  e = np.sin(w * d) / (np.sin(w * (1 - d)) + np.sin(w * d))
  s = (1 - brightness) / 4
  g = 1000.0**(-period / (sample_rate * t60))
  taps = g * np.convolve([1 - e, e], [s, 1 - 2 * s, s])
  return int(delay), taps


def _np_string(x, f0, t60, brightness, sample_rate):
  """Per-sample float64 recursion y[n] = x[n] + sum_m c_m y[n - D - m]."""
  y = np.zeros(len(x))
  for n in range(len(x)):
    delay, taps = _np_taps(f0[n], t60[n], brightness[n], sample_rate)
    acc = x[n]
    for m, c in enumerate(taps):
      if n - delay - m >= 0:
        acc += c * y[n - delay - m]
    y[n] = acc
  return y


# Graph mode: an eager tf.while_loop runs op by op.
_string = tf.function(core.plucked_string, autograph=False)


def _render(f0, t60, brightness, n):
  x = tf.constant(np.eye(1, n), tf.float32)
  full = lambda v: tf.fill([1, n], float(v))
  return _string(x, full(f0), full(t60), full(brightness), SR).numpy()[0]


@pytest.mark.parametrize('f0, brightness', [(110.0, 1.0), (261.63, 0.3),
                                            (440.0, 0.6), (987.77, 0.0)])
def test_plucked_string_pitch_within_5_cents(f0, brightness):
  y = _render(f0, 2.0, brightness, SR // 2)
  cents = 1200 * np.log2(_pitch_estimate(y, SR, 0.7 * f0, 1.4 * f0) / f0)
  assert abs(cents) < 5.0, cents


@pytest.mark.parametrize('f0, t60, brightness',
                         [(220.0, 0.5, 1.0), (330.0, 1.0, 0.5),
                          (500.0, 0.3, 0.2)])
def test_plucked_string_decay_matches_loop_gain(f0, t60, brightness):
  n = SR
  y = _render(f0, t60, brightness, n)
  # Analytic T60 of the fundamental from the loop's gain at f0.
  delay, taps = _np_taps(f0, t60, brightness, SR)
  w = 2 * np.pi * f0 / SR
  loop = abs(np.sum(taps * np.exp(-1j * w * np.arange(4))))
  period = SR / f0
  expected = -3 * period / (SR * np.log10(loop))
  # Measured: the level of the fundamental in 1024-sample frames.
  frame, hop = 1024, 256
  t = np.arange(frame)
  probe = np.hanning(frame) * np.exp(-1j * w * t)
  starts = np.arange(0, n - frame, hop)
  level = np.array([abs(np.sum(y[s:s + frame] * probe)) for s in starts])
  db = 20 * np.log10(level)
  slope = np.polyfit((starts + frame / 2) / SR, db, 1)[0]
  measured = -60.0 / slope
  assert abs(measured / expected - 1) < 0.1, (measured, expected)


def test_plucked_string_matches_numpy_recursion():
  rng = np.random.default_rng(0)
  n = 600
  x = np.zeros(n)
  x[:30] = rng.uniform(-1, 1, 30)
  f0 = np.linspace(300.0, 700.0, n)  # A glide: the delay changes.
  t60 = np.linspace(0.5, 0.05, n)
  brightness = np.linspace(0.9, 0.1, n)
  expected = _np_string(x, f0, t60, brightness, SR)
  as_tf = lambda v: tf.constant(v[np.newaxis], tf.float32)
  y = core.plucked_string(as_tf(x), as_tf(f0), as_tf(t60), as_tf(brightness),
                          SR).numpy()[0]
  np.testing.assert_allclose(y, expected, atol=1e-5)


def test_plucked_string_block_by_block_equals_whole_clip():
  rng = np.random.default_rng(1)
  n = 1000
  x = tf.constant(rng.uniform(-1, 1, (2, n)) * (np.arange(n) < 50),
                  tf.float32)
  f0 = tf.constant(np.linspace([200.0, 400.0], [600.0, 150.0], n).T,
                   tf.float32)
  t60 = tf.fill([2, n], 0.4)
  brightness = tf.fill([2, n], 0.6)
  whole = core.plucked_string(x, f0, t60, brightness, SR, min_f0_hz=100.0)
  state, blocks = None, []
  for start, stop in ((0, 37), (37, 400), (400, 401), (401, n)):
    y, state = core.plucked_string(
        x[:, start:stop], f0[:, start:stop], t60[:, start:stop],
        brightness[:, start:stop], SR, min_f0_hz=100.0, initial_state=state,
        return_state=True)
    blocks.append(y)
  np.testing.assert_allclose(tf.concat(blocks, 1), whole, atol=1e-6)
  assert state.shape == (2, core.plucked_string_history_size(SR, 100.0))


def test_plucked_string_gradients_match_finite_differences():
  n = 400
  x = tf.constant(np.eye(1, n) + np.eye(1, n, 1), tf.float32)
  weights = tf.constant(np.random.default_rng(2).normal(size=(1, n)),
                        tf.float32)

  def loss(f0, t60, brightness):
    y = core.plucked_string(x, f0 * tf.ones([1, n]), t60 * tf.ones([1, n]),
                            brightness * tf.ones([1, n]), SR)
    return tf.reduce_sum(y * weights)

  params = [tf.constant(330.3), tf.constant(0.3), tf.constant(0.6)]
  with tf.GradientTape() as tape:
    tape.watch(params)
    value = loss(*params)
  grads = tape.gradient(value, params)
  for i, step in enumerate((0.01, 1e-3, 1e-3)):
    up = [p + step if j == i else p for j, p in enumerate(params)]
    down = [p - step if j == i else p for j, p in enumerate(params)]
    numeric = (loss(*up) - loss(*down)) / (2 * step)
    assert np.isfinite(grads[i]) and grads[i] != 0
    np.testing.assert_allclose(grads[i], numeric, rtol=0.05)


def test_plucked_string_rejects_bad_inputs():
  x = tf.zeros([1, 10])
  with pytest.raises(ValueError, match='`f0_hz` must have rank 2 or 3'):
    core.plucked_string(x, tf.zeros([1, 10, 1, 1]), x, x)
  with pytest.raises(ValueError, match='n_samples'):
    core.plucked_string(x, tf.zeros([1, 11]), x, x)
  with pytest.raises(ValueError, match='`initial_state` must have shape'):
    core.plucked_string(x, x, x, x, initial_state=tf.zeros([1, 5]))


def _np_modes(frequencies, t60, gains, n, sample_rate):
  t = np.arange(n)[:, None] / sample_rate
  return np.sum(gains * np.exp(-np.log(1000) * t / t60)
                * np.sin(2 * np.pi * frequencies * t), axis=-1)


def test_modal_synthesis_matches_float64_damped_sines():
  rng = np.random.default_rng(3)
  # float32 values, so that the reference sees the same frequencies.
  f = rng.uniform(100, 7000, (2, 5)).astype(np.float32).astype(np.float64)
  t60 = rng.uniform(0.05, 2.0, (2, 5)).astype(np.float32).astype(np.float64)
  g = rng.normal(size=(2, 5)).astype(np.float32).astype(np.float64)
  n = 3 * SR
  y = core.modal_synthesis(f, t60, g, n, SR).numpy()
  for b in range(2):
    expected = _np_modes(f[b], t60[b], g[b], n, SR)
    np.testing.assert_allclose(y[b], expected,
                               atol=2e-5 * np.abs(expected).max())


def test_modal_synthesis_with_excitation_is_causal_convolution():
  rng = np.random.default_rng(4)
  n = 2000
  f, t60, g = [[440.0, 1250.0]], [[0.05, 0.02]], [[1.0, 0.5]]
  excitation = rng.uniform(-1, 1, (1, n)) * (np.arange(n) < 100)
  y = core.modal_synthesis(f, t60, g, n, SR, excitation=excitation).numpy()
  h = _np_modes(np.array(f[0]), np.array(t60[0]), np.array(g[0]), n, SR)
  expected = np.convolve(excitation[0], h)[:n]
  np.testing.assert_allclose(y[0], expected, atol=1e-4)


def test_modal_synthesis_silences_modes_above_nyquist_and_negative():
  y = core.modal_synthesis([[440.0, 9000.0, -300.0]], [[0.5] * 3],
                           [[1.0] * 3], 500, SR).numpy()[0]
  np.testing.assert_allclose(
      y, _np_modes(np.array([440.0]), 0.5, 1.0, 500, SR), atol=1e-5)


def test_modal_synthesis_rejects_bad_inputs():
  with pytest.raises(ValueError, match='`t60` must have rank 2'):
    core.modal_synthesis([[1.0]], [1.0], [[1.0]], 10)
  with pytest.raises(ValueError, match='n_modes'):
    core.modal_synthesis([[1.0, 2.0]], [[1.0]], [[1.0]], 10)
  with pytest.raises(ValueError, match='`n_samples` must be a positive'):
    core.modal_synthesis([[1.0]], [[1.0]], [[1.0]], 0)
  with pytest.raises(ValueError, match='`excitation` must have shape'):
    core.modal_synthesis([[1.0]], [[1.0]], [[1.0]], 10,
                         excitation=tf.zeros([1, 9]))


def test_plucked_string_gradients_wrt_excitation_and_state():
  # The output is linear in both: directional derivatives are exact.
  rng = np.random.default_rng(5)
  n, history = 300, core.plucked_string_history_size(SR, 100.0)
  f0 = tf.constant(np.linspace(200.0, 900.0, n)[None], tf.float32)
  t60, brightness = tf.fill([1, n], 0.2), tf.fill([1, n], 0.5)
  x = tf.constant(rng.normal(size=(1, n)), tf.float32)
  state = tf.constant(rng.normal(size=(1, history)), tf.float32)
  w_y = tf.constant(rng.normal(size=(1, n)), tf.float32)
  w_s = tf.constant(rng.normal(size=(1, history)), tf.float32)

  def loss(x, state):
    y, final = core.plucked_string(x, f0, t60, brightness, SR,
                                   min_f0_hz=100.0, initial_state=state,
                                   return_state=True)
    return tf.reduce_sum(y * w_y) + tf.reduce_sum(final * w_s)

  with tf.GradientTape() as tape:
    tape.watch([x, state])
    value = loss(x, state)
  grad_x, grad_state = tape.gradient(value, [x, state])
  v_x = tf.constant(rng.normal(size=(1, n)), tf.float32)
  v_s = tf.constant(rng.normal(size=(1, history)), tf.float32)
  numeric_x = (loss(x + v_x, state) - loss(x - v_x, state)) / 2
  numeric_s = (loss(x, state + v_s) - loss(x, state - v_s)) / 2
  np.testing.assert_allclose(tf.reduce_sum(grad_x * v_x), numeric_x,
                             rtol=1e-3)
  np.testing.assert_allclose(tf.reduce_sum(grad_state * v_s), numeric_s,
                             rtol=1e-3)
