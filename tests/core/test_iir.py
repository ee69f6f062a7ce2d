"""Tests of ddsp.core.iir: lfilter against scipy, gradients, biquad designs."""

import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from ddsp import core


def _stable_filter(rng, order, max_radius=0.99):
  """Random real b, a of the given order, poles of radius <= max_radius."""
  poles = []
  while len(poles) < order:
    if order - len(poles) >= 2:
      pole = rng.uniform(0.3, max_radius) * np.exp(1j * rng.uniform(0, np.pi))
      poles += [pole, np.conj(pole)]
    else:
      poles.append(rng.uniform(-max_radius, max_radius))
  poles[0] = max_radius * poles[0] / abs(poles[0])  # One at the largest radius.
  if order >= 2 and np.iscomplex(poles[0]):
    poles[1] = np.conj(poles[0])
  a = np.real(np.poly(poles)) * rng.uniform(0.5, 2.0)  # a[0] != 1 too.
  b = rng.normal(size=order + 1)
  return b, a


def _relative_error(actual, expected):
  return np.max(np.abs(np.asarray(actual) - expected)) / np.max(
      np.abs(expected))


@pytest.mark.parametrize('order', range(1, 9))
def test_lfilter_matches_scipy(order):
  rng = np.random.default_rng(order)
  b, a = _stable_filter(rng, order)
  audio = rng.normal(size=(3, 700))
  zi = rng.normal(size=(3, order))
  for state in (None, zi):
    if state is None:
      expected = scipy.signal.lfilter(b, a, audio)
      expected_zf = scipy.signal.lfilter(b, a, audio, zi=np.zeros_like(zi))[1]
    else:
      expected, expected_zf = scipy.signal.lfilter(b, a, audio, zi=state)
    y, zf = core.lfilter(audio.astype(np.float32), b, a, zi=state,
                         return_state=True)
    assert y.dtype == tf.float32 and y.shape == (3, 700)
    assert _relative_error(y, expected) < 1e-4
    assert _relative_error(zf, expected_zf) < 1e-4
    # Time-varying coefficients that happen to be constant: the same filter.
    y_tv, zf_tv = core.lfilter(audio.astype(np.float32),
                               np.tile(b, (3, 700, 1)), np.tile(a, (3, 700, 1)),
                               zi=state, return_state=True)
    assert _relative_error(y_tv, expected) < 1e-4
    assert _relative_error(zf_tv, expected_zf) < 1e-4


def test_lfilter_batched_coefficients_and_shapes():
  rng = np.random.default_rng(10)
  filters = [_stable_filter(rng, 3, 0.95) for _ in range(2)]
  b = np.stack([f[0] for f in filters])
  a = np.stack([f[1] for f in filters])
  audio = rng.normal(size=(1, 300))  # A batch of 1 is broadcast.
  y = core.lfilter(audio, b[:, :2], a)  # len(b) < len(a) is padded.
  for row in range(2):
    expected = scipy.signal.lfilter(b[row, :2], a[row], audio[0])
    np.testing.assert_allclose(y[row], expected, rtol=0,
                               atol=1e-5 * np.abs(expected).max())
  # 1-D audio, FIR only (a = [a0]), and float64 computed in float64.
  y, zf = core.lfilter(audio[0], [1.0, 2.0, 3.0], [2.0], zi=[1.0, -1.0],
                       return_state=True)
  expected, expected_zf = scipy.signal.lfilter([1.0, 2.0, 3.0], [2.0],
                                               audio[0], zi=[1.0, -1.0])
  assert y.dtype == tf.float64 and y.shape == (300,) and zf.shape == (2,)
  np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
  np.testing.assert_allclose(zf, expected_zf, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('n_samples', [1, 3, 5])
def test_lfilter_shorter_than_the_order_keeps_the_state(n_samples):
  rng = np.random.default_rng(n_samples)
  b, a = _stable_filter(rng, 6, 0.9)
  audio = rng.normal(size=(2, n_samples))
  zi = rng.normal(size=(2, 6))
  expected, expected_zf = scipy.signal.lfilter(b, a, audio, zi=zi)
  for coefficients in ((b, a), (np.tile(b, (2, n_samples, 1)),
                                np.tile(a, (2, n_samples, 1)))):
    y, zf = core.lfilter(audio, *coefficients, zi=zi, return_state=True)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(zf, expected_zf, rtol=1e-10, atol=1e-10)


def test_lfilter_block_by_block_equals_whole_clip():
  rng = np.random.default_rng(3)
  b, a = _stable_filter(rng, 4, 0.98)
  audio = rng.normal(size=(2, 1000)).astype(np.float32)
  whole, whole_zf = core.lfilter(audio, b, a, return_state=True)
  state, blocks = None, []
  for start, stop in ((0, 130), (130, 131), (131, 600), (600, 1000)):
    block, state = core.lfilter(audio[:, start:stop], b, a, zi=state,
                                return_state=True)
    blocks.append(block)
  scale = np.abs(whole).max()
  np.testing.assert_allclose(np.concatenate(blocks, axis=1), whole, rtol=0,
                             atol=1e-5 * scale)
  np.testing.assert_allclose(state, whole_zf, rtol=0, atol=1e-5 * scale)


def _time_varying_reference(audio, b, a, zi):
  """The per-sample transposed direct form II in float64 numpy."""
  order = b.shape[-1] - 1
  z = np.array(zi, np.float64)
  y = np.zeros_like(audio)
  for n in range(audio.shape[0]):
    bn, an = b[n] / a[n, 0], a[n] / a[n, 0]
    y[n] = bn[0] * audio[n] + z[0]
    z = np.append(z[1:], 0.0) + bn[1:] * audio[n] - an[1:] * y[n]
  return y, z[:order]


def test_lfilter_time_varying_matches_direct_form():
  rng = np.random.default_rng(4)
  n = 150
  # Coefficients moving between two stable filters, block by block too.
  (b0, a0), (b1, a1) = _stable_filter(rng, 3, 0.95), _stable_filter(rng, 3,
                                                                     0.95)
  t = np.linspace(0, 1, n)[:, None]
  b, a = (1 - t) * b0 + t * b1, (1 - t) * a0 + t * a1
  audio, zi = rng.normal(size=n), rng.normal(size=3)
  expected, expected_zf = _time_varying_reference(audio, b, a, zi)
  y, zf = core.lfilter(audio[None], b[None], a[None], zi=zi[None],
                       return_state=True, chunk_size=16)
  np.testing.assert_allclose(y[0], expected, rtol=1e-10, atol=1e-10)
  np.testing.assert_allclose(zf[0], expected_zf, rtol=1e-10, atol=1e-10)
  first, state = core.lfilter(audio[None, :70], b[None, :70], a[None, :70],
                              zi=zi[None], return_state=True, chunk_size=16)
  second = core.lfilter(audio[None, 70:], b[None, 70:], a[None, 70:],
                        zi=state, chunk_size=16)
  np.testing.assert_allclose(np.concatenate([first, second], axis=1)[0],
                             expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize('varying', [False, True])
def test_lfilter_gradients_match_finite_differences(varying):
  rng = np.random.default_rng(5)
  b, a = _stable_filter(rng, 3, 0.9)
  n = 14  # Four chunks of 4: the scan over chunks is differentiated too.
  if varying:
    b = b + 0.05 * rng.normal(size=(1, n, 4))
    a = a + 0.02 * rng.normal(size=(1, n, 4))
  else:
    b, a = b[None], a[None]
  audio = rng.normal(size=(1, n))
  zi = rng.normal(size=(1, 3))
  weights = tf.constant(rng.normal(size=(1, n)))
  weights_zf = tf.constant(rng.normal(size=(1, 3)))

  @tf.function  # Traced once: the many finite-difference calls run fast.
  def loss(audio, b, a, zi):
    y, zf = core.lfilter(audio, b, a, zi=zi, return_state=True, chunk_size=4)
    return tf.reduce_sum(y * weights) + tf.reduce_sum(zf * weights_zf)

  args = [tf.constant(x, tf.float64) for x in (audio, b, a, zi)]
  theoretical, numerical = tf.test.compute_gradient(loss, args, delta=1e-6)
  for got, expected in zip(theoretical, numerical):
    assert np.any(got != 0)
    np.testing.assert_allclose(got, expected, rtol=1e-5,
                               atol=1e-6 * np.abs(expected).max())


def test_lfilter_graph_equals_eager():
  rng = np.random.default_rng(6)
  b, a = _stable_filter(rng, 2, 0.95)
  audio = tf.constant(rng.normal(size=(2, 300)), tf.float32)
  eager = core.lfilter(audio, b, a)
  graph = tf.function(lambda x: core.lfilter(x, b, a))(audio)
  np.testing.assert_allclose(graph, eager, rtol=0, atol=1e-6)


def test_lfilter_bad_inputs():
  audio = np.zeros([2, 10], np.float32)
  with pytest.raises(ValueError, match='`audio` must have rank 1 or 2'):
    core.lfilter(np.zeros([2, 3, 4]), [1.0], [1.0])
  with pytest.raises(ValueError, match=r'`a\[0\]` must be non-zero'):
    core.lfilter(audio, [1.0], [0.0, 1.0])
  with pytest.raises(ValueError, match='`zi` must have .* = 2 values'):
    core.lfilter(audio, [1.0, 0.0, 0.0], [1.0], zi=[0.0])
  with pytest.raises(ValueError, match='Time-varying `b` must have one set'):
    core.lfilter(audio, np.ones([2, 9, 3]), [1.0])
  with pytest.raises(ValueError, match='batch'):
    core.lfilter(audio, np.ones([3, 2]), [1.0])
  with pytest.raises(ValueError, match='`b` must be finite'):
    core.lfilter(audio, [np.nan], [1.0])
  with pytest.raises(ValueError, match='`a` must not be empty|`a` must have'):
    core.lfilter(audio, [1.0], np.zeros([0]))


# ------------------------------------------------------------------------------
# Biquad designs.
# ------------------------------------------------------------------------------
_SAMPLE_RATE = 16000


def _analog_prototype(filter_type, q, gain_db):
  """The cookbook's analog prototypes H(s), normalized to 1 rad/s."""
  g = 10 ** (gain_db / 40)
  den = [1.0, 1.0 / q, 1.0]
  return {
      'lowpass': ([1.0], den),
      'highpass': ([1.0, 0.0, 0.0], den),
      'bandpass': ([1.0 / q, 0.0], den),
      'notch': ([1.0, 0.0, 1.0], den),
      'peak': ([1.0, g / q, 1.0], [1.0, 1.0 / (g * q), 1.0]),
      'lowshelf': (g * np.array([1.0, np.sqrt(g) / q, g]),
                   [g, np.sqrt(g) / q, 1.0]),
      'highshelf': (g * np.array([g, np.sqrt(g) / q, 1.0]),
                    [1.0, np.sqrt(g) / q, g]),
  }[filter_type]


@pytest.mark.parametrize('filter_type', core.BIQUAD_TYPES)
def test_biquad_matches_scipy_bilinear_designs(filter_type):
  frequencies = np.array([100.0, 1000.0, 5000.0])
  qs = np.array([0.5, 0.7071, 4.0])
  gains = np.array([-12.0, 6.0, 3.0])
  b, a = core.biquad_coefficients(filter_type, frequencies, qs, gains,
                                  _SAMPLE_RATE)
  assert b.shape == (3, 3) and a.shape == (3, 3)
  for i, (f, q, gain_db) in enumerate(zip(frequencies, qs, gains)):
    # Prewarp to the analog frequency, then scipy's bilinear transform.
    analog_b, analog_a = _analog_prototype(filter_type, q, gain_db)
    warped = 2 * _SAMPLE_RATE * np.tan(np.pi * f / _SAMPLE_RATE)
    analog_b, analog_a = scipy.signal.lp2lp(analog_b, analog_a, wo=warped)
    ref_b, ref_a = scipy.signal.bilinear(analog_b, analog_a, fs=_SAMPLE_RATE)
    w, expected = scipy.signal.freqz(ref_b, ref_a, worN=512, fs=_SAMPLE_RATE)
    _, got = scipy.signal.freqz(b[i], a[i], worN=512, fs=_SAMPLE_RATE)
    np.testing.assert_allclose(np.abs(got), np.abs(expected), rtol=1e-3,
                               atol=1e-4)
    assert np.all(np.abs(np.roots(a[i])) < 1.0)  # Stable.
    del w


def test_biquad_analytic_magnitudes():
  f, fs = 2000.0, _SAMPLE_RATE

  def magnitude_db(filter_type, q=0.7071067811865476, gain_db=0.0,
                   at=(0.0, f, fs / 2)):
    b, a = core.biquad_coefficients(filter_type, f, q, gain_db, fs)
    _, h = scipy.signal.freqz(b.numpy(), a.numpy(), worN=np.array(at), fs=fs)
    return 20 * np.log10(np.abs(h) + 1e-12)

  # Butterworth: scipy.signal.butter is the same design for q = 1/sqrt(2).
  for kind in ('lowpass', 'highpass'):
    b, a = core.biquad_coefficients(kind, f, sample_rate=fs)
    ref_b, ref_a = scipy.signal.butter(2, f, btype=kind[:-4], fs=fs)
    np.testing.assert_allclose(b, ref_b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a, ref_a, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(magnitude_db('lowpass')[:2], [0.0, -3.0103],
                             atol=1e-3)
  np.testing.assert_allclose(magnitude_db('lowpass', q=2.0)[1],
                             20 * np.log10(2.0), atol=1e-3)
  np.testing.assert_allclose(magnitude_db('highpass')[1:], [-3.0103, 0.0],
                             atol=1e-3)
  assert magnitude_db('bandpass')[1] == pytest.approx(0.0, abs=1e-3)
  assert magnitude_db('notch')[1] < -80.0
  np.testing.assert_allclose(magnitude_db('peak', gain_db=9.0), [0, 9, 0],
                             atol=1e-3)
  np.testing.assert_allclose(magnitude_db('lowshelf', gain_db=-6.0),
                             [-6.0, -3.0, 0.0], atol=1e-3)
  np.testing.assert_allclose(magnitude_db('highshelf', gain_db=8.0),
                             [0.0, 4.0, 8.0], atol=1e-3)


def test_biquad_broadcasts_and_is_differentiable():
  frequency = tf.constant([[500.0], [3000.0]], tf.float64)
  q = tf.constant([0.5, 1.0, 2.0], tf.float64)
  gain = tf.constant(3.0, tf.float64)

  def first_coefficients(frequency, q, gain):
    b, a = core.biquad_coefficients('peak', frequency, q, gain, 16000)
    return tf.concat([b, a[..., 1:]], axis=-1)

  assert first_coefficients(frequency, q, gain).shape == (2, 3, 5)
  theoretical, numerical = tf.test.compute_gradient(
      first_coefficients, [frequency, q, gain], delta=1e-6)
  for got, expected in zip(theoretical, numerical):
    assert np.any(got != 0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)


def test_biquad_bad_inputs():
  with pytest.raises(ValueError, match='`filter_type` must be one of'):
    core.biquad_coefficients('allpass', 100.0, 1.0, 0.0, 16000)
  with pytest.raises(ValueError, match=r'`frequency_hz` must be in \(0, '):
    core.biquad_coefficients('lowpass', 9000.0, 1.0, 0.0, 16000)
  with pytest.raises(ValueError, match='`q` must be positive'):
    core.biquad_coefficients('lowpass', 100.0, 0.0, 0.0, 16000)
  with pytest.raises(ValueError, match='`sample_rate` must be a positive'):
    core.biquad_coefficients('lowpass', 100.0, 1.0, 0.0, 0)
  with pytest.raises(ValueError, match='must broadcast'):
    core.biquad_coefficients('lowpass', [100.0, 200.0], [1.0, 2.0, 3.0], 0.0,
                             16000)


# ------------------------------------------------------------------------------
# State-variable filter.
# ------------------------------------------------------------------------------
def _svf_reference(audio, frequency_hz, q, sample_rate, state=(0.0, 0.0)):
  """The trapezoidal SVF sample by sample in float64 numpy."""
  s1, s2 = state
  out = np.zeros(audio.shape + (3,))
  for n, x in enumerate(audio):
    g = np.tan(np.pi * frequency_hz[n] / sample_rate)
    damping = 1 / (2 * q[n])
    hp = (x - (2 * damping + g) * s1 - s2) / (1 + 2 * damping * g + g * g)
    bp = g * hp + s1
    lp = g * bp + s2
    s1, s2 = 2 * bp - s1, 2 * lp - s2
    out[n] = lp, bp, hp
  return out, np.array([s1, s2])


def test_state_variable_filter_matches_sample_by_sample_reference():
  rng = np.random.default_rng(7)
  n = 150
  audio = rng.normal(size=(2, n))
  frequency = np.exp(rng.uniform(np.log(30), np.log(7500), size=(2, n)))
  q = rng.uniform(0.2, 10.0, size=(2, n))  # Modulated at every sample.
  state = rng.normal(size=(2, 2))
  out, final = core.state_variable_filter(audio, frequency, q, 16000,
                                          initial_state=state,
                                          return_state=True, chunk_size=16)
  for row in range(2):
    expected, expected_final = _svf_reference(audio[row], frequency[row],
                                              q[row], 16000, state[row])
    np.testing.assert_allclose(out[row], expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(final[row], expected_final, rtol=1e-10,
                               atol=1e-10)
  # float32, default chunks: still close to the float64 reference.
  out32 = core.state_variable_filter(audio.astype(np.float32), frequency, q,
                                     16000)
  expected, _ = _svf_reference(audio[0], frequency[0], q[0], 16000)
  assert _relative_error(out32[0], expected) < 1e-5


def test_state_variable_filter_steady_state_matches_analytic_response():
  sample_rate, cutoff, q = 16000, 1000.0, 3.0
  tones = np.array([100.0, 500.0, 900.0, 1000.0, 1200.0, 3000.0, 7000.0])
  t = np.arange(4000) / sample_rate
  audio = np.sin(2 * np.pi * tones[:, None] * t)
  out = core.state_variable_filter(audio.astype(np.float32), cutoff, q,
                                   sample_rate).numpy().astype(np.float64)
  # Amplitude of each tone in the last 2000 samples (the transient is gone):
  # a least-squares fit of a sine and a cosine.
  tail = slice(2000, None)
  tan_ratio = np.tan(np.pi * tones / sample_rate) / np.tan(
      np.pi * cutoff / sample_rate)
  s = 1j * tan_ratio  # The bilinear map of e^{jw} with prewarping.
  denominator = s**2 + s / q + 1
  analytic = np.abs(np.stack([1 / denominator, s / denominator,
                              s**2 / denominator], axis=-1))
  for i, tone in enumerate(tones):
    basis = np.stack([np.sin(2 * np.pi * tone * t[tail]),
                      np.cos(2 * np.pi * tone * t[tail])], axis=1)
    coefficients, *_ = np.linalg.lstsq(basis, out[i, tail], rcond=None)
    measured = np.sqrt(np.sum(coefficients**2, axis=0))
    np.testing.assert_allclose(measured, analytic[i], rtol=1e-3, atol=1e-5)
  # At the cutoff (s = j) all three outputs have gain q.
  np.testing.assert_allclose(analytic[3], [q, q, q], rtol=1e-6)


def test_state_variable_filter_gradients_match_finite_differences():
  rng = np.random.default_rng(8)
  n = 14
  weights = tf.constant(rng.normal(size=(1, n, 3)))

  @tf.function
  def loss(audio, frequency, q, state):
    out, final = core.state_variable_filter(audio, frequency, q, 16000,
                                            initial_state=state,
                                            return_state=True, chunk_size=4)
    return tf.reduce_sum(out * weights) + tf.reduce_sum(final)

  args = [tf.constant(x) for x in (
      rng.normal(size=(1, n)), rng.uniform(200, 4000, size=(1, n)),
      rng.uniform(0.5, 4.0, size=(1, n)), rng.normal(size=(1, 2)))]
  theoretical, numerical = tf.test.compute_gradient(loss, args, delta=1e-5)
  for got, expected in zip(theoretical, numerical):
    assert np.any(got != 0)
    np.testing.assert_allclose(got, expected, rtol=1e-4,
                               atol=1e-6 * np.abs(expected).max())


def test_state_variable_filter_bad_inputs():
  audio = np.zeros([2, 10])
  with pytest.raises(ValueError, match=r'`frequency_hz` must be in \(0, '):
    core.state_variable_filter(audio, 8000.0, 1.0, 16000)
  with pytest.raises(ValueError, match='`q` must be positive'):
    core.state_variable_filter(audio, 100.0, -1.0, 16000)
  with pytest.raises(ValueError, match='`audio` must have rank 2'):
    core.state_variable_filter(np.zeros(10), 100.0, 1.0, 16000)
  with pytest.raises(ValueError, match='`initial_state` must have shape'):
    core.state_variable_filter(audio, 100.0, 1.0, 16000,
                               initial_state=np.zeros([2, 3]))
  with pytest.raises(ValueError, match='must broadcast'):
    core.state_variable_filter(audio, np.ones([2, 7]) * 100, 1.0, 16000)


def test_lfilter_unknown_batch_in_graph_broadcasts_coefficients():
  rng = np.random.default_rng(9)
  b = tf.constant(np.tile([0.2, 0.3, 0.1], (1, 100, 1)), tf.float32)
  a = tf.constant(np.tile([1.0, -0.5, 0.2], (1, 100, 1)), tf.float32)
  audio = tf.constant(rng.normal(size=(3, 100)), tf.float32)

  def value_and_gradients(audio):
    with tf.GradientTape() as tape:
      tape.watch([audio, b, a])
      y = core.lfilter(audio, b, a)
      loss = tf.reduce_sum(y**2)
    return y, tape.gradient(loss, [audio, b, a])

  graph = tf.function(value_and_gradients, input_signature=[
      tf.TensorSpec([None, 100], tf.float32)])
  y, grads = graph(audio)
  expected = scipy.signal.lfilter([0.2, 0.3, 0.1], [1.0, -0.5, 0.2], audio)
  np.testing.assert_allclose(y, expected, rtol=0, atol=1e-5)
  for got, eager in zip(grads, value_and_gradients(audio)[1]):
    assert got.shape == eager.shape
    np.testing.assert_allclose(got, eager, rtol=1e-4,
                               atol=1e-4 * np.abs(eager).max())


def test_unnormalized_biquads_filter_the_same():
  # The cookbook's raw a[0] = 1 + alpha (or the shelves' sums); lfilter
  # divides by it, so raw time-varying coefficients give the normalized ones'
  # output exactly, and the same gradients up to rounding.
  rng = np.random.default_rng(3)
  n = 256
  frequency = tf.constant(rng.uniform(100.0, 4000.0, [2, n]), tf.float32)
  q = tf.constant(rng.uniform(0.3, 4.0, [2, n]), tf.float32)
  gain = tf.constant(rng.uniform(-12.0, 12.0, [2, n]), tf.float32)
  audio = tf.constant(rng.uniform(-1.0, 1.0, [2, n]), tf.float32)
  for kind in ('lowpass', 'peak', 'highshelf'):
    raw_b, raw_a = core.biquad_coefficients(kind, frequency, q, gain,
                                            _SAMPLE_RATE, normalize=False)
    b, a = core.biquad_coefficients(kind, frequency, q, gain, _SAMPLE_RATE)
    # The raw design: a[0] = 1 + alpha for the lowpass and the peak (with
    # alpha / A), independent of the normalized one.
    if kind != 'highshelf':
      w0 = 2 * np.pi * frequency.numpy() / _SAMPLE_RATE
      alpha = np.sin(w0) / (2 * q.numpy())
      if kind == 'peak':
        alpha /= 10 ** (gain.numpy() / 40)
      np.testing.assert_allclose(raw_a[..., 0], 1 + alpha, rtol=1e-6)
    np.testing.assert_allclose(raw_b / raw_a[..., :1], b, rtol=1e-6)
    np.testing.assert_allclose(raw_a / raw_a[..., :1], a, rtol=1e-6)

    def filtered(normalize):
      with tf.GradientTape() as tape:
        tape.watch(frequency)
        coefficients = core.biquad_coefficients(
            kind, frequency, q, gain, _SAMPLE_RATE, normalize=normalize)
        y = core.lfilter(audio, *coefficients)
        loss = tf.reduce_sum(y * audio)
      return y.numpy(), tape.gradient(loss, frequency).numpy()

    (y_raw, grad_raw), (y, grad) = filtered(False), filtered(True)
    np.testing.assert_array_equal(y_raw, y)
    assert np.abs(grad).max() > 0
    np.testing.assert_allclose(grad_raw, grad, rtol=1e-4,
                               atol=1e-5 * np.abs(grad).max())
