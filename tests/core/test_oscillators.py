"""Tests for ddsp.core.oscillators and ddsp.core.wavetables.

References are float64 numpy: upsampling by frame positions, cumulative sums
of phase, sums of sines, np.interp for table lookup, np.fft for wavetables.
"""

import numpy as np
import pytest
import tensorflow as tf

from ddsp.core import _harmonic_kernel as harmonic_kernel
from ddsp.core import oscillators
from ddsp.core import wavetables
from ddsp.core.resampling import crossfade_weights

SR = 16000


# ------------------------------------------------------------------------------
# float64 numpy references.
# ------------------------------------------------------------------------------
def _np_upsample(x, n_samples, method):
  """[B, T, C] frames -> [B, n_samples, C], frame t at sample t * N / T.

  The last frame is held; 'window' crossfades with sin^2(pi r / 2).
  """
  x = np.asarray(x, np.float64)
  n_frames = x.shape[1]
  position = np.arange(n_samples) * n_frames / n_samples
  index = np.floor(position).astype(int)
  r = position - index
  index_next = np.minimum(index + 1, n_frames - 1)
  if method == 'nearest':
    r = 0.0 * r
  elif method == 'window':
    r = np.sin(0.5 * np.pi * r)**2
  r = r[None, :, None]
  return x[:, index] + r * (x[:, index_next] - x[:, index])


def _np_phase(frequency_envelopes, initial_phase=0.0, sample_rate=SR):
  """Inclusive cumulative phase, [B, N, C] float64 (not wrapped)."""
  omega = np.asarray(frequency_envelopes, np.float64) * 2.0 * np.pi
  omega /= sample_rate
  return np.cumsum(omega, axis=1) + initial_phase


def _np_oscillators(frequency_envelopes, amplitude_envelopes, initial_phase=0.0,
                    sample_rate=SR):
  """Sum of sines of float64 envelopes [B, N, C], silent at/above Nyquist."""
  phase = _np_phase(frequency_envelopes, initial_phase, sample_rate)
  amps = np.where(np.asarray(frequency_envelopes) >= sample_rate / 2, 0.0,
                  amplitude_envelopes)
  return np.sum(amps * np.sin(phase), axis=-1)


def _np_harmonic(f0, amplitudes, distribution, n_samples, method='window',
                 initial_phase=0.0, shifts=None, sample_rate=SR):
  n_harmonics = distribution.shape[-1]
  ratios = np.arange(1, n_harmonics + 1)
  freqs = np.asarray(f0, np.float64) * ratios
  if shifts is not None:
    freqs = freqs * (1.0 + shifts)
  freq_env = _np_upsample(freqs, n_samples, 'linear')
  amp_env = _np_upsample(amplitudes * distribution, n_samples, method)
  return _np_oscillators(freq_env, amp_env, initial_phase * ratios,
                         sample_rate)


def _controls(rng, batch=2, n_frames=20, n_harmonics=8, f0_range=(150, 900)):
  f0 = rng.uniform(*f0_range, size=[batch, n_frames, 1]).astype(np.float32)
  amps = rng.uniform(0.1, 1.0, size=[batch, n_frames, 1]).astype(np.float32)
  dist = rng.uniform(0.0, 1.0, size=[batch, n_frames, n_harmonics])
  return f0, amps, dist.astype(np.float32)


def _gradients(fn, *inputs):
  inputs = [tf.constant(x) for x in inputs]
  with tf.GradientTape() as tape:
    tape.watch(inputs)
    loss = tf.reduce_sum(fn(*inputs)**2)
  return [g.numpy() for g in tape.gradient(loss, inputs)]


# ------------------------------------------------------------------------------
# Helpers.
# ------------------------------------------------------------------------------
def test_remove_above_nyquist_and_harmonic_frequencies():
  freqs = oscillators.get_harmonic_frequencies(np.full([1, 2, 1], 3000.0), 4)
  np.testing.assert_allclose(freqs[0, 0], [3000, 6000, 9000, 12000])
  # 9 kHz Nyquist: 9 kHz (at Nyquist) and 12 kHz are silenced.
  amps = oscillators.remove_above_nyquist(freqs, tf.ones([1, 2, 4]), 18000)
  np.testing.assert_array_equal(amps[0, 0], [1, 1, 0, 0])


def test_normalize_harmonics_matches_numpy(rng):
  dist = rng.uniform(0, 1, size=[2, 5, 6]).astype(np.float32)
  f0 = rng.uniform(500, 3000, size=[2, 5, 1]).astype(np.float32)
  out = oscillators.normalize_harmonics(dist, f0, SR).numpy()
  kept = np.where(f0 * np.arange(1, 7) < SR / 2, dist, 0.0)
  total = kept.sum(-1, keepdims=True)
  expected = np.where(total > 0, kept / np.where(total > 0, total, 1), 0.0)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(
      oscillators.normalize_harmonics(dist).numpy().sum(-1), 1.0, rtol=1e-5)


def test_angular_cumsum_matches_wrapped_float64_cumsum(rng):
  omega = rng.uniform(0, np.pi, size=[2, 3000, 3]).astype(np.float32)
  out = oscillators.angular_cumsum(omega, chunk_size=100).numpy()
  expected = np.cumsum(omega.astype(np.float64), axis=1)
  error = np.angle(np.exp(1j * (out - expected)))
  assert np.max(np.abs(error)) < 1e-4
  assert out.min() >= 0.0 and out.max() < 2 * np.pi


# ------------------------------------------------------------------------------
# Oscillator banks.
# ------------------------------------------------------------------------------
def test_oscillator_bank_matches_numpy(rng):
  freqs = rng.uniform(20, 7000, size=[2, 4000, 5]).astype(np.float32)
  amps = rng.uniform(0, 1, size=[2, 4000, 5]).astype(np.float32)
  initial = rng.uniform(0, 6, size=[2, 1, 5]).astype(np.float32)
  expected = _np_oscillators(freqs, amps, initial)
  for angular in (False, True):
    out = oscillators.oscillator_bank(freqs, amps, use_angular_cumsum=angular,
                                      initial_phase=initial).numpy()
    np.testing.assert_allclose(out, expected, atol=5e-3 if angular else 2e-4)
  each = oscillators.oscillator_bank(freqs, amps, sum_sinusoids=False).numpy()
  assert each.shape == (2, 4000, 5)
  np.testing.assert_allclose(each.sum(-1), _np_oscillators(freqs, amps),
                             atol=2e-4)


def test_oscillator_bank_silent_at_and_above_nyquist():
  freqs = np.array([8000.0, 9000.0, 15000.0], np.float32) * np.ones([1, 64, 3])
  out = oscillators.oscillator_bank(freqs, np.ones([1, 64, 3]), SR)
  np.testing.assert_array_equal(out.numpy(), 0.0)


def test_harmonic_oscillator_bank_matches_numpy_and_streams(rng):
  f0 = np.repeat(rng.uniform(100, 2000, size=[2, 6, 1]), 500, axis=1)
  amps = rng.uniform(0, 1, size=[2, 3000, 6])
  ratios = np.arange(1, 7)
  expected = _np_oscillators(f0 * ratios, amps)
  whole, final = oscillators.harmonic_oscillator_bank(
      f0.astype(np.float32), amps.astype(np.float32))
  np.testing.assert_allclose(whole.numpy(), expected, atol=3e-4)
  # Block by block, carrying the phase, equals the whole.
  phase, blocks = None, []
  for start in range(0, 3000, 1000):
    block, phase = oscillators.harmonic_oscillator_bank(
        f0[:, start:start + 1000].astype(np.float32),
        amps[:, start:start + 1000].astype(np.float32), initial_phase=phase)
    blocks.append(block.numpy())
  np.testing.assert_allclose(np.concatenate(blocks, 1), whole.numpy(),
                             atol=1e-4)
  exact = np.mod(_np_phase(f0)[:, -1:, :], 2 * np.pi)
  np.testing.assert_allclose(np.angle(np.exp(1j * (final.numpy() - exact))),
                             0.0, atol=1e-4)
  np.testing.assert_allclose(phase.numpy(), final.numpy(), atol=1e-5)


# ------------------------------------------------------------------------------
# Harmonic synthesis from frames.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('method', ['window', 'linear', 'nearest', 'cubic'])
def test_harmonic_synthesis_matches_numpy(rng, method):
  f0, amps, dist = _controls(rng)
  n_samples = 20 * 32
  out = oscillators.harmonic_synthesis(
      f0, amps, harmonic_distribution=dist, n_samples=n_samples,
      amp_resample_method=method).numpy()
  if method == 'cubic':  # Reference with ddsp's own cubic envelopes.
    from ddsp.core import resample  # pylint: disable=g-import-not-at-top
    amp_env = resample(amps * dist, n_samples, method='cubic').numpy()
    freq_env = _np_upsample(f0 * np.arange(1, 9), n_samples, 'linear')
    expected = _np_oscillators(freq_env, amp_env)
  else:
    expected = _np_harmonic(f0, amps, dist, n_samples, method)
  np.testing.assert_allclose(out, expected, atol=1e-4)


def test_harmonic_synthesis_frames_not_dividing_samples(rng):
  f0, amps, dist = _controls(rng, n_frames=13)
  out = oscillators.harmonic_synthesis(
      f0, amps, harmonic_distribution=dist, n_samples=500,
      amp_resample_method='linear').numpy()
  expected = _np_harmonic(f0, amps, dist, 500, 'linear')
  np.testing.assert_allclose(out, expected, atol=1e-4)


def test_harmonic_synthesis_with_shifts_and_initial_phase(rng):
  f0, amps, dist = _controls(rng)
  shifts = rng.uniform(-0.05, 0.05, size=dist.shape).astype(np.float32)
  initial = np.array([[[0.3]], [[2.0]]], np.float32)
  out = oscillators.harmonic_synthesis(
      f0, amps, harmonic_shifts=shifts, harmonic_distribution=dist,
      n_samples=640, initial_phase=initial).numpy()
  expected = _np_harmonic(f0, amps, dist, 640, shifts=shifts,
                          initial_phase=initial)
  np.testing.assert_allclose(out, expected, atol=1e-4)
  # Without shifts the fast path honours the initial phase the same way.
  out = oscillators.harmonic_synthesis(
      f0, amps, harmonic_distribution=dist, n_samples=640,
      initial_phase=initial).numpy()
  expected = _np_harmonic(f0, amps, dist, 640, initial_phase=initial)
  np.testing.assert_allclose(out, expected, atol=1e-4)


def test_harmonic_synthesis_silent_above_nyquist(rng):
  # f0 = 3 kHz: harmonics 3+ (9 kHz+) are above the 8 kHz Nyquist frequency.
  f0 = np.full([1, 10, 1], 3000.0, np.float32)
  dist = np.ones([1, 10, 6], np.float32)
  out = oscillators.harmonic_synthesis(f0, np.ones([1, 10, 1]),
                                       harmonic_distribution=dist,
                                       n_samples=640).numpy()
  below = oscillators.harmonic_synthesis(f0, np.ones([1, 10, 1]),
                                         harmonic_distribution=dist[..., :2],
                                         n_samples=640).numpy()
  np.testing.assert_allclose(out, below, atol=1e-5)
  # A glide across Nyquist: per-sample masking, as the numpy reference.
  f0 = np.linspace(2000, 4500, 10, dtype=np.float32)[None, :, None]
  out = oscillators.harmonic_synthesis(f0, np.ones([1, 10, 1]),
                                       harmonic_distribution=dist,
                                       n_samples=640).numpy()
  expected = _np_harmonic(f0, np.ones([1, 10, 1]), dist, 640)
  np.testing.assert_allclose(out, expected, atol=1e-4)
  # Over the last two frames f0 >= 4222 Hz: only the fundamental sounds.
  spectrum = np.abs(np.fft.rfft(out[0, -128:] * np.hanning(128)))
  high = np.fft.rfftfreq(128, 1 / SR) > 6500
  assert spectrum[high].max() < 1e-2 * spectrum.max()


def _tf_reference(f0, amps, dist, hop):
  """Autodiff-able float64 TF version of the straightforward method."""
  f0, amps, dist = (tf.cast(x, tf.float64) for x in (f0, amps, dist))
  batch, n_frames, n_harmonics = dist.shape
  ramp = tf.constant(np.arange(hop) / hop)[:, tf.newaxis]
  window = tf.sin(0.5 * np.pi * ramp)**2

  def upsample(x, w):
    x_next = tf.concat([x[:, 1:], x[:, -1:]], axis=1)
    y = x[:, :, tf.newaxis] + w * (x_next - x)[:, :, tf.newaxis]
    return tf.reshape(y, [batch, n_frames * hop, -1])

  freqs = upsample(f0, ramp) * np.arange(1, n_harmonics + 1)
  amp_env = upsample(amps * dist, window)
  amp_env = tf.where(freqs >= SR / 2, tf.zeros_like(amp_env), amp_env)
  phase = tf.cumsum(2 * np.pi * freqs / SR, axis=1)
  return tf.cast(tf.reduce_sum(amp_env * tf.sin(phase), -1), tf.float32)


def _max_crossings(f0, hop, n_harmonics):
  """Most harmonics crossing Nyquist within one frame (f0 linear per hop)."""
  f = f0[..., 0].astype(np.float64)
  f_last = f + (np.concatenate([f[:, 1:], f[:, -1:]], 1) - f) * (hop - 1) / hop
  k = np.arange(1, n_harmonics + 1)
  top = np.maximum(f, f_last)[..., None] * k
  bottom = np.minimum(f, f_last)[..., None] * k
  return ((top >= SR / 2) & (bottom < SR / 2)).sum(-1).max()


def test_harmonic_synthesis_gradients_match_autodiff_reference(rng):
  f0, amps, dist = _controls(rng, batch=1, n_frames=6, n_harmonics=5,
                             f0_range=(800, 2000))

  def ours(f0, amps, dist):
    return oscillators.harmonic_synthesis(f0, amps, harmonic_distribution=dist,
                                          n_samples=6 * 16)

  reference = lambda *x: _tf_reference(*x, hop=16)
  got = _gradients(ours, f0, amps, dist)
  want = _gradients(reference, f0, amps, dist)
  for g, w in zip(got, want):
    assert np.all(np.isfinite(g)) and np.any(g != 0.0)
    np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-3 * np.abs(w).max())


@pytest.mark.parametrize('jumps', [False, True])
def test_harmonics_crossing_nyquist_within_frames(rng, jumps):
  """Few crossings per frame (masked apart) and many (all masked per sample)."""
  n_frames, hop, n_harmonics = 16, 32, 12
  if jumps:  # f0 jumps 700 <-> 2600 Hz: many harmonics cross in one frame.
    f0 = np.tile([700.0, 2600.0], n_frames // 2)
  else:  # A glide: at most two harmonics cross Nyquist in any frame.
    f0 = np.linspace(1300.0, 2300.0, n_frames)
  # Jitter keeps samples off exact ties k * f0 == Nyquist (float rounding).
  f0 = np.stack([f0, f0[::-1]]) + rng.uniform(-3, 3, size=[2, n_frames])
  f0 = f0[..., None].astype(np.float32)
  amps = rng.uniform(0.5, 1.0, size=[2, n_frames, 1]).astype(np.float32)
  dist = rng.uniform(0.1, 1.0, size=[2, n_frames, n_harmonics])
  dist = dist.astype(np.float32)
  crossings = _max_crossings(f0, hop, n_harmonics)
  assert (crossings > 2) if jumps else (1 <= crossings <= 2)

  def ours(f0, amps, dist):
    return oscillators.harmonic_synthesis(f0, amps, harmonic_distribution=dist,
                                          n_samples=n_frames * hop)

  np.testing.assert_allclose(
      ours(f0, amps, dist),
      _np_harmonic(f0, amps, dist, n_frames * hop), atol=1e-4)
  got = _gradients(ours, f0, amps, dist)
  want = _gradients(lambda *x: _tf_reference(*x, hop=hop), f0, amps, dist)
  for g, w in zip(got, want):
    np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-3 * np.abs(w).max())


def _kernel(f0, amps, dist, hop, split_harmonics=True, method='window'):
  """The private kernel of harmonic_synthesis, split or with direct sines."""
  return harmonic_kernel.harmonic_frames(
      f0, amps * dist, hop, SR, crossfade_weights(hop, method),
      split_harmonics=split_harmonics)[0]


@pytest.mark.parametrize('n_harmonics', [1, 2, 7, 13, 60])
def test_split_harmonics_match_direct_sines_and_numpy(rng, n_harmonics):
  """Split angles (k = m a + b + 1) equal one sine per harmonic, forward and
  backward, including harmonics crossing Nyquist within frames."""
  n_frames, hop = 24, 32
  # A glide of 7 % per frame: at most two harmonics cross Nyquist per frame.
  f0 = 300.0 * 1.07**np.arange(n_frames) * np.array([[1.0], [0.9]])
  f0 = f0[..., None].astype(np.float32)
  amps = rng.uniform(0.5, 1.0, size=[2, n_frames, 1]).astype(np.float32)
  dist = rng.uniform(0.1, 1.0, size=[2, n_frames, n_harmonics])
  dist = (dist / n_harmonics).astype(np.float32)
  crossings = _max_crossings(f0, hop, n_harmonics)
  assert (1 <= crossings <= 2) if n_harmonics >= 7 else crossings <= 2
  split = _kernel(f0, amps, dist, hop).numpy()
  direct = _kernel(f0, amps, dist, hop, split_harmonics=False).numpy()
  expected = _np_harmonic(f0, amps, dist, n_frames * hop)
  np.testing.assert_allclose(split, expected, atol=2e-5)
  np.testing.assert_allclose(direct, expected, atol=2e-5)
  got = _gradients(lambda *x: _kernel(*x, hop), f0, amps, dist)
  want = _gradients(lambda *x: _kernel(*x, hop, split_harmonics=False), f0,
                    amps, dist)
  for g, w in zip(got, want):
    assert np.any(g != 0.0)
    np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4 * np.abs(w).max())


def test_split_harmonics_gradients_match_float64_finite_differences(rng):
  """d loss / d controls against central differences of the float64 numpy
  synthesis (a loss linear in the audio, so only f0 has curvature)."""
  n_frames, hop, n_harmonics = 5, 16, 6
  f0 = np.array([[[900.0], [1100.0], [1250.0], [1400.0], [1500.0]]],
                np.float32)  # Harmonics 6, then 5 cross Nyquist.
  amps = rng.uniform(0.5, 1.0, size=[1, n_frames, 1]).astype(np.float32)
  dist = rng.uniform(0.1, 1.0, size=[1, n_frames, n_harmonics])
  dist = dist.astype(np.float32)
  probe = rng.normal(size=n_frames * hop)

  def loss64(f0, amps, dist):
    return np.sum(probe * _np_harmonic(f0, amps, dist, n_frames * hop)[0])

  def numeric(x, index, h):
    args = [np.asarray(v, np.float64) for v in (f0, amps, dist)]
    plus = [a.copy() for a in args]
    minus = [a.copy() for a in args]
    plus[x][index] += h
    minus[x][index] -= h
    return (loss64(*plus) - loss64(*minus)) / (2 * h)

  inputs = [tf.constant(x) for x in (f0, amps, dist)]
  with tf.GradientTape() as tape:
    tape.watch(inputs)
    loss = tf.reduce_sum(tf.constant(probe, tf.float32) *
                         _kernel(*inputs, hop)[0])
  grads = [g.numpy() for g in tape.gradient(loss, inputs)]
  for x, h in ((0, 1e-3), (1, 1e-4), (2, 1e-4)):
    want = np.array([numeric(x, i, h) for i in np.ndindex(grads[x].shape)])
    np.testing.assert_allclose(grads[x].ravel(), want, rtol=1e-3,
                               atol=1e-4 * np.abs(want).max())


def test_harmonic_synthesis_memory_does_not_scale_with_harmonics(rng):
  """Forward + backward memory grows like n_samples, not n_samples * H."""
  batch, n_harmonics, hop = 2, 100, 64

  def peak_bytes(n_frames):
    f0, amps, dist = _controls(rng, batch, n_frames, n_harmonics, (100, 300))
    inputs = [tf.constant(x) for x in (f0, amps, dist)]

    def forward_backward():
      with tf.GradientTape() as tape:
        tape.watch(inputs)
        audio = oscillators.harmonic_synthesis(
            *inputs[:2], harmonic_distribution=inputs[2],
            n_samples=n_frames * hop)
        loss = tf.reduce_sum(audio**2)
      return tape.gradient(loss, inputs)

    forward_backward()  # Traces the kernels.
    tf.config.experimental.reset_memory_stats('CPU:0')
    before = tf.config.experimental.get_memory_info('CPU:0')['current']
    forward_backward()
    return tf.config.experimental.get_memory_info('CPU:0')['peak'] - before

  growth = peak_bytes(1000) - peak_bytes(250)
  # One [batch, n_samples, n_harmonics] float32 tensor grows by 38 MB; frame-
  # rate tensors ([batch, n_frames, n_harmonics]) and audio add about 10 MB.
  one_tensor_growth = batch * 750 * hop * n_harmonics * 4
  assert growth < 0.5 * one_tensor_growth


def test_streaming_blocks_equal_whole(rng):
  # Controls vary within blocks and are continuous across block edges.
  n_blocks, frames = 3, 10
  f0 = rng.uniform(200, 600, size=[2, n_blocks * frames, 1])
  amps = rng.uniform(0.2, 1.0, size=[2, n_blocks * frames, 1])
  dist = rng.uniform(0, 1, size=[2, n_blocks * frames, 5])
  for x in (f0, amps, dist):
    for b in range(1, n_blocks):
      x[:, b * frames - 1] = x[:, b * frames]
  f0, amps, dist = (x.astype(np.float32) for x in (f0, amps, dist))
  whole, whole_phase = oscillators.streaming_harmonic_synthesis(
      f0, amps, dist, n_samples=n_blocks * frames * 64)
  phase, blocks = None, []
  for b in range(n_blocks):
    s = slice(b * frames, (b + 1) * frames)
    block, phase = oscillators.streaming_harmonic_synthesis(
        f0[:, s], amps[:, s], dist[:, s], initial_phase=phase,
        n_samples=frames * 64)
    blocks.append(block.numpy())
  np.testing.assert_allclose(np.concatenate(blocks, 1), whole.numpy(),
                             atol=1e-4)
  np.testing.assert_allclose(phase.numpy(), whole_phase.numpy(), atol=1e-4)
  # The whole equals a float64 reference with the distribution normalized.
  total = dist.sum(-1, keepdims=True)
  expected = _np_harmonic(f0, amps, dist / total, n_blocks * frames * 64,
                          'linear')
  np.testing.assert_allclose(whole.numpy(), expected, atol=1e-4)


@pytest.mark.slow
def test_phase_accuracy_60_seconds_at_48khz():
  """The phase stays within 1e-3 rad of float64 at every sample of 60 s."""
  sample_rate, frame_rate, seconds = 48000, 250, 60
  n_frames = seconds * frame_rate
  t = np.arange(n_frames) / frame_rate
  f0 = 440.0 * 2**((np.sin(2 * np.pi * 0.2 * t) * 12 + 30 * np.sin(
      2 * np.pi * 5.5 * t) / 100) / 12)  # 220-880 Hz with vibrato.
  f0 = f0.astype(np.float32)[None, :, None]
  amps = np.ones([1, n_frames, 1], np.float32)
  n_samples = n_frames * sample_rate // frame_rate
  # Exact phase of the fundamental from the same float32 frame values.
  f_env = _np_upsample(f0, n_samples, 'linear')[0, :, 0]
  exact = np.cumsum(2 * np.pi * f_env / sample_rate)

  def synth(initial):
    return oscillators.streaming_harmonic_synthesis(
        f0, amps, initial_phase=np.full([1, 1, 1], initial, np.float32),
        n_samples=None, sample_rate=sample_rate, frame_rate=frame_rate)

  sine, final = synth(0.0)
  cosine, _ = synth(np.pi / 2)
  phase = np.arctan2(sine.numpy()[0], cosine.numpy()[0])
  error = np.angle(np.exp(1j * (phase - exact)))
  assert np.max(np.abs(error)) < 1e-3
  final_error = np.angle(np.exp(1j * (final.numpy()[0, 0, 0] - exact[-1])))
  assert abs(final_error) < 1e-3
  # The plain float32 cumulative sum drifts far beyond that (the test bites).
  naive = tf.cumsum(2 * np.pi * tf.constant(f_env, tf.float32) / sample_rate)
  naive_error = np.angle(np.exp(1j * (naive.numpy() - exact)))
  assert np.max(np.abs(naive_error)) > 1e-1

  # Harmonics: the audio of 12 harmonics stays within 1e-3 of float64.
  weights = np.linspace(1.0, 0.1, 12)
  weights /= weights.sum()
  dist = np.broadcast_to(weights.astype(np.float32), [1, n_frames, 12])
  audio = oscillators.harmonic_synthesis(
      f0, amps, harmonic_distribution=dist, n_samples=None,
      sample_rate=sample_rate, frame_rate=frame_rate).numpy()[0]
  expected = np.zeros(n_samples)
  for k, weight in enumerate(weights, start=1):  # All below Nyquist here.
    expected += weight * np.sin(np.mod(k * exact, 2 * np.pi))
  assert np.max(np.abs(audio - expected)) < 1e-3


def test_sinusoidal_synthesis_matches_numpy(rng):
  freqs = rng.uniform(50, 9000, size=[2, 12, 4]).astype(np.float32)
  amps = rng.uniform(0, 1, size=[2, 12, 4]).astype(np.float32)
  for n_samples, method in ((12 * 40, 'window'), (500, 'linear')):
    out = oscillators.sinusoidal_synthesis(freqs, amps, n_samples,
                                           amp_resample_method=method).numpy()
    expected = _np_oscillators(_np_upsample(freqs, n_samples, 'linear'),
                               _np_upsample(amps, n_samples, method))
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_sinusoidal_harmonic_round_trip(rng):
  f0 = rng.uniform(100, 400, size=[2, 5, 1]).astype(np.float32)
  amp = rng.uniform(0.5, 1, size=[2, 5, 1]).astype(np.float32)
  dist = rng.uniform(0.1, 1, size=[2, 5, 10]).astype(np.float32)
  dist /= dist.sum(-1, keepdims=True)
  sin_amps, sin_freqs = oscillators.harmonic_to_sinusoidal(amp, dist, f0)
  np.testing.assert_allclose(sin_freqs, f0 * np.arange(1, 11), rtol=1e-6)
  np.testing.assert_allclose(sin_amps, amp * dist, rtol=1e-5)
  amp2, dist2 = oscillators.sinusoidal_to_harmonic(sin_amps, sin_freqs, f0,
                                                   n_harmonics=10)
  np.testing.assert_allclose(amp2, amp, rtol=1e-4)
  np.testing.assert_allclose(dist2, dist, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------------
# Wavetables.
# ------------------------------------------------------------------------------
def _np_linear_lookup(phase, table):
  """Periodic linear interpolation of one table with numpy (phase in cycles)."""
  n = len(table)
  grid = np.arange(n + 1) / n
  return np.interp(np.mod(phase, 1.0), grid, np.append(table, table[0]))


class TestLinearLookup:

  def test_matches_numpy_single_table(self, rng):
    table = rng.normal(size=[2, 37]).astype(np.float32)
    phase = rng.uniform(0.0, 1.0, size=[2, 500]).astype(np.float32)
    phase[:, 0], phase[:, 1] = 0.0, 1.0
    out = oscillators.linear_lookup(phase[..., np.newaxis], table).numpy()
    expected = np.stack(
        [_np_linear_lookup(p, t) for p, t in zip(phase, table)])
    np.testing.assert_allclose(out, expected, atol=1e-5)

  def test_matches_numpy_table_per_sample(self, rng):
    tables = rng.normal(size=[2, 50, 16]).astype(np.float32)
    phase = rng.uniform(0.0, 1.0, size=[2, 50]).astype(np.float32)
    out = oscillators.linear_lookup(phase, tables).numpy()
    expected = np.array([[_np_linear_lookup(phase[b, n], tables[b, n])
                          for n in range(50)] for b in range(2)])
    np.testing.assert_allclose(out, expected, atol=1e-5)

  def test_wraps_phase_periodically(self, rng):
    table = rng.normal(size=[1, 8]).astype(np.float32)
    phase = rng.uniform(0.0, 1.0, size=[1, 20]).astype(np.float32)
    out = oscillators.linear_lookup(phase, table).numpy()
    shifted = oscillators.linear_lookup(phase + 2.0, table).numpy()
    np.testing.assert_allclose(out, shifted, atol=1e-5)

  def test_gradients(self, rng):
    table = tf.constant(rng.normal(size=[1, 8]).astype(np.float32))
    phase = rng.uniform(0.05, 0.95, size=[1, 30]).astype(np.float32)
    phase = tf.constant(phase)
    with tf.GradientTape(persistent=True) as tape:
      tape.watch([table, phase])
      out = oscillators.linear_lookup(phase, table)
      loss = tf.reduce_sum(out ** 2)
    for grad in tape.gradient(loss, [table, phase]):
      assert np.all(np.isfinite(grad.numpy()))
      assert np.any(grad.numpy() != 0.0)
    # d out / d phase is the slope of the table segment times its length.
    d_phase = tape.gradient(out, phase).numpy()[0]
    t = table.numpy()[0]
    pos = phase.numpy()[0] * 8
    i = np.floor(pos).astype(int)
    slope = (t[(i + 1) % 8] - t[i]) * 8
    np.testing.assert_allclose(d_phase, slope, rtol=1e-4, atol=1e-4)

  def test_errors(self):
    with pytest.raises(ValueError, match='`phase` must have rank 2 or 3'):
      oscillators.linear_lookup(tf.zeros([10]), tf.zeros([1, 8]))
    with pytest.raises(ValueError, match='batch axis'):
      oscillators.linear_lookup(tf.zeros([2, 10]), tf.zeros([3, 8]))
    with pytest.raises(ValueError, match='n_samples axis'):
      oscillators.linear_lookup(tf.zeros([2, 10]), tf.zeros([2, 9, 8]))


def test_harmonic_distribution_to_wavetable_matches_irfft(rng):
  dist = rng.uniform(0, 1, size=[2, 3, 8]).astype(np.float32)
  out = wavetables.harmonic_distribution_to_wavetable(dist, 32).numpy()
  spectrum = np.zeros([2, 3, 17])
  spectrum[..., 1:9] = dist
  np.testing.assert_allclose(out, np.fft.irfft(spectrum) * 16, atol=1e-5)
  with pytest.raises(ValueError, match='at least twice'):
    wavetables.harmonic_distribution_to_wavetable(dist, 15)


def _np_wavetable(f0, amps, tables, n_samples, sample_rate=SR):
  """float64 wavetable synthesis of example-wise controls [B, T, ...]."""
  f_env = _np_upsample(f0, n_samples, 'linear')[..., 0]
  a_env = _np_upsample(amps, n_samples, 'window')[..., 0]
  table_env = _np_upsample(tables, n_samples, 'linear')  # [B, N, W]
  cycles = np.cumsum(f_env / sample_rate, axis=1) - f_env / sample_rate
  out = np.array([[_np_linear_lookup(cycles[b, n], table_env[b, n])
                   for n in range(n_samples)] for b in range(len(f0))])
  return a_env * out


@pytest.mark.parametrize('n_tables', [10, 1, 5])  # 5: the audio-rate path.
def test_wavetable_synthesis_matches_numpy(rng, n_tables):
  n_samples = 10 * 24
  f0 = rng.uniform(100, 2000, size=[2, 10, 1]).astype(np.float32)
  amps = rng.uniform(0, 1, size=[2, 10, 1]).astype(np.float32)
  tables = rng.normal(size=[2, n_tables, 16]).astype(np.float32)
  out = wavetables.wavetable_synthesis(f0, amps, tables, n_samples).numpy()
  expected = _np_wavetable(f0, amps, tables, n_samples)
  np.testing.assert_allclose(out, expected, atol=1e-4)
  if n_tables == 1:  # A [batch, n_wavetable] table gives the same.
    out2 = wavetables.wavetable_synthesis(f0, amps, tables[:, 0], n_samples)
    np.testing.assert_allclose(out2.numpy(), out, atol=1e-6)


def test_wavetable_synthesis_gradients(rng):
  f0 = rng.uniform(100, 2000, size=[1, 5, 1]).astype(np.float32)
  amps = rng.uniform(0.2, 1, size=[1, 5, 1]).astype(np.float32)
  tables = rng.normal(size=[1, 5, 16]).astype(np.float32)
  grads = _gradients(
      lambda f, a, t: wavetables.wavetable_synthesis(f, a, t, 5 * 32),
      f0, amps, tables)
  for g in grads:
    assert np.all(np.isfinite(g)) and np.any(g != 0.0)


# ------------------------------------------------------------------------------
# Errors.
# ------------------------------------------------------------------------------
def test_errors_name_the_argument():
  f0, amps, dist = tf.ones([2, 10, 1]), tf.ones([2, 10, 1]), tf.ones([2, 10, 4])
  with pytest.raises(ValueError, match=r'`frequencies` must have rank 3'):
    oscillators.harmonic_synthesis(tf.ones([2, 10]), amps)
  with pytest.raises(ValueError, match=r'`amplitudes` must have shape '
                     r'\[batch, n_frames, 1\]'):
    oscillators.harmonic_synthesis(f0, dist)
  with pytest.raises(ValueError, match=r'batch axis.*harmonic_distribution'):
    oscillators.harmonic_synthesis(f0, amps,
                                   harmonic_distribution=tf.ones([3, 10, 4]))
  with pytest.raises(ValueError, match=r'n_frames axis'):
    oscillators.harmonic_synthesis(f0, amps,
                                   harmonic_distribution=dist[:, :5])
  with pytest.raises(ValueError, match='`amp_resample_method` must be one of'):
    oscillators.harmonic_synthesis(f0, amps, amp_resample_method='spline')
  with pytest.raises(ValueError, match='`n_samples` must be a positive'):
    oscillators.harmonic_synthesis(f0, amps, n_samples=-3)
  with pytest.raises(ValueError, match='whole number of samples per frame'):
    oscillators.harmonic_synthesis(f0, amps, n_samples=None,
                                   sample_rate=44100, frame_rate=250)
  with pytest.raises(ValueError, match='`initial_phase` must have shape'):
    oscillators.harmonic_synthesis(f0, amps, initial_phase=tf.zeros([2, 3, 1]))
  with pytest.raises(ValueError, match='n_samples axis'):
    oscillators.oscillator_bank(tf.ones([1, 10, 2]), tf.ones([1, 9, 2]))
  with pytest.raises(ValueError, match=r'`wavetables` must have rank 2 or 3'):
    wavetables.wavetable_synthesis(f0, amps, tf.ones([8]))
  with pytest.raises(ValueError, match='`n_samples` must be a multiple of'):
    wavetables.wavetable_synthesis(f0, amps, tf.ones([2, 8]), n_samples=233)


def test_harmonic_synthesis_has_a_static_length_inside_tf_function():
  """Layers after a synth (e.g. an FFT reverb) need the length statically."""
  f0 = 300.0 * tf.ones([2, 64, 1])
  amps = tf.ones([2, 64, 1])
  dist = tf.ones([2, 64, 8])

  @tf.function
  def synth(f0, amps, dist):
    return oscillators.harmonic_synthesis(
        f0, amps, harmonic_distribution=dist, n_samples=4096)

  graph_audio = synth.get_concrete_function(f0, amps, dist).structured_outputs
  assert graph_audio.shape.as_list() == [2, 4096]
  eager_audio = oscillators.harmonic_synthesis(
      f0, amps, harmonic_distribution=dist, n_samples=4096)
  np.testing.assert_allclose(synth(f0, amps, dist), eager_audio, atol=1e-6)


# ------------------------------------------------------------------------------
# Non-finite, empty and negative-frequency inputs; published shapes.
# ------------------------------------------------------------------------------
def test_non_finite_controls_raise_naming_the_argument(rng):
  f0, amps, dist = _controls(rng, n_frames=10)
  bad = f0.copy()
  bad[1, 3, 0] = np.nan
  with pytest.raises(ValueError, match=r'`frequencies` must be finite.*'
                     r'first at index \(1, 3, 0\)'):
    oscillators.harmonic_synthesis(bad, amps, harmonic_distribution=dist,
                                   n_samples=640)
  dist[0, 0, 2] = np.inf
  with pytest.raises(ValueError, match='`harmonic_distribution` must be '
                     'finite'):
    oscillators.harmonic_synthesis(f0, amps, harmonic_distribution=dist,
                                   n_samples=640)
  with pytest.raises(ValueError, match='`amplitude_envelopes` must be finite'):
    oscillators.oscillator_bank(np.ones([1, 8, 2]), np.full([1, 8, 2], np.nan))
  with pytest.raises(ValueError, match='`frequencies` must be finite'):
    oscillators.sinusoidal_synthesis(bad, amps, 640)
  with pytest.raises(ValueError, match='`phase` must be finite'):
    oscillators.linear_lookup(np.full([1, 8], np.nan), np.ones([1, 4]))
  with pytest.raises(ValueError, match='`wavetables` must be finite'):
    wavetables.wavetable_synthesis(f0, amps, np.full([2, 8], np.nan), 640)


def test_non_finite_controls_raise_inside_tf_function(rng):
  f0, amps, dist = _controls(rng, n_frames=10)
  spec = tf.TensorSpec([None, None, None], tf.float32)

  @tf.function(input_signature=[spec, spec, spec])
  def synth(f0, amps, dist):
    return oscillators.harmonic_synthesis(f0, amps, harmonic_distribution=dist,
                                          n_samples=640)

  np.testing.assert_allclose(
      synth(f0, amps, dist), oscillators.harmonic_synthesis(
          f0, amps, harmonic_distribution=dist, n_samples=640), atol=1e-5)
  f0[0, 0, 0] = np.nan
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='`frequencies` must be finite'):
    synth(f0, amps, dist)


def test_empty_and_mismatched_inputs_raise():
  with pytest.raises(ValueError, match=r'`frequencies` must have at least one '
                     r'frame. Received: frequencies.shape=\(1, 0, 1\)'):
    oscillators.harmonic_synthesis(np.zeros([1, 0, 1]), np.zeros([1, 0, 1]))
  with pytest.raises(ValueError, match=r'agree on the n_sinusoids axis.*'
                     r'frequency_envelopes.shape\[2\]=3, '
                     r'amplitude_envelopes.shape\[2\]=2'):
    oscillators.oscillator_bank(np.ones([1, 8, 3]), np.ones([1, 8, 2]))
  with pytest.raises(ValueError, match=r'`wavetables` must have at least one '
                     r'entry'):
    wavetables.wavetable_synthesis(np.ones([1, 4, 1]), np.ones([1, 4, 1]),
                                   np.zeros([1, 0]), 64)
  with pytest.raises(ValueError, match='`wavetables` must have at least one'):
    oscillators.linear_lookup(np.zeros([1, 8]), np.zeros([1, 8, 0]))


def test_negative_f0_is_silent(rng):
  """Published: a phase-inverted tone at |f0|; here frames with f0 < 0 are
  silent (amplitude 0 and 0 Hz), fading to them like any amplitude change."""
  f0, amps, dist = _controls(rng, batch=1, n_frames=12)
  f0[:, 4:8] *= -1.0
  hop = 32
  for method in ('window', 'linear', 'cubic'):
    out = oscillators.harmonic_synthesis(
        f0, amps, harmonic_distribution=dist, n_samples=12 * hop,
        amp_resample_method=method).numpy()
    # The hops of frames 4..6 interpolate between two negative frames (the
    # cubic spline also reads the frames either side of the hop).
    silent = slice(5 * hop, 6 * hop) if method == 'cubic' else slice(
        4 * hop, 7 * hop)
    np.testing.assert_array_equal(out[:, silent], 0.0)
    if method == 'cubic':
      continue  # No numpy reference for the cubic spline here.
    expected = _np_harmonic(np.maximum(f0, 0.0), np.where(f0 < 0, 0.0, amps),
                            dist, 12 * hop, method)
    np.testing.assert_allclose(out, expected, atol=1e-4)
  # All negative: silence, not -sin (what the published library played).
  out = oscillators.harmonic_synthesis(-np.abs(f0), amps, n_samples=12 * hop)
  np.testing.assert_array_equal(out.numpy(), 0.0)
  envelopes = np.full([1, 64, 2], -440.0, np.float32)
  np.testing.assert_array_equal(
      oscillators.oscillator_bank(envelopes, np.ones([1, 64, 2])).numpy(), 0.0)
  np.testing.assert_array_equal(
      oscillators.sinusoidal_synthesis(envelopes, np.ones([1, 64, 2]),
                                       64 * 8).numpy(), 0.0)
  table = np.sin(np.linspace(0, 2 * np.pi, 33)[:-1])[np.newaxis]
  np.testing.assert_array_equal(
      wavetables.wavetable_synthesis(-np.abs(f0), amps, table,
                                     12 * hop).numpy(), 0.0)


def test_controls_with_a_batch_of_one_broadcast(rng):
  """As published: harmonic_distribution of batch 1 with f0 of batch 2."""
  f0, amps, dist = _controls(rng, batch=2, n_frames=10)
  n_samples = 10 * 32
  out = oscillators.harmonic_synthesis(f0, amps,
                                       harmonic_distribution=dist[:1],
                                       n_samples=n_samples).numpy()
  expected = _np_harmonic(f0, amps, np.repeat(dist[:1], 2, axis=0), n_samples)
  np.testing.assert_allclose(out, expected, atol=1e-4)
  # Every control of batch 1 but one, inside a graph with unknown batch too.
  spec = tf.TensorSpec([None, None, None], tf.float32)
  graph = tf.function(
      lambda f, a, d: oscillators.harmonic_synthesis(
          f, a, harmonic_distribution=d, n_samples=n_samples),
      input_signature=[spec] * 3)
  expected = _np_harmonic(np.repeat(f0[:1], 2, 0), np.repeat(amps[:1], 2, 0),
                          dist, n_samples)
  for fn in (oscillators.harmonic_synthesis, graph):
    out = (fn(f0[:1], amps[:1], dist) if fn is graph else
           fn(f0[:1], amps[:1], harmonic_distribution=dist,
              n_samples=n_samples))
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-4)
  # Oscillator bank: amplitude envelopes broadcast over batch and sinusoids.
  freqs = rng.uniform(100, 4000, size=[2, 500, 3]).astype(np.float32)
  env = rng.uniform(0, 1, size=[1, 500, 1]).astype(np.float32)
  np.testing.assert_allclose(
      oscillators.oscillator_bank(freqs, env).numpy(),
      _np_oscillators(freqs, np.broadcast_to(env, freqs.shape)), atol=2e-4)
  # Wavetables and table lookup.
  table = rng.normal(size=[1, 16]).astype(np.float32)
  phase = rng.uniform(size=[3, 40]).astype(np.float32)
  np.testing.assert_allclose(
      oscillators.linear_lookup(phase, table).numpy(),
      np.stack([_np_linear_lookup(p, table[0]) for p in phase]), atol=1e-5)
  np.testing.assert_allclose(
      wavetables.wavetable_synthesis(f0, amps, table, n_samples),
      wavetables.wavetable_synthesis(f0, amps, np.repeat(table, 2, 0),
                                     n_samples), atol=1e-6)


def test_harmonic_to_sinusoidal_takes_the_published_shapes(rng):
  f0 = rng.uniform(100, 3000, size=[2, 5, 1]).astype(np.float32)
  dist = rng.uniform(0.1, 1, size=[1, 5, 8]).astype(np.float32)
  ratios = np.arange(1, 9)
  kept = np.where(f0 * ratios < SR / 2, dist, 0.0)
  normalized = kept / kept.sum(-1, keepdims=True)
  for amp in (0.5, np.full([2, 5, 1], 0.5, np.float32)):  # Scalar amplitude.
    amps, freqs = oscillators.harmonic_to_sinusoidal(amp, dist, f0)
    np.testing.assert_allclose(freqs, f0 * ratios, rtol=1e-6)
    np.testing.assert_allclose(amps, 0.5 * normalized, rtol=1e-5)
  # f0 without a batch axis, [n_frames, 1], gives [1, n_frames, n_harmonics]
  # frequencies, as published.
  _, freqs = oscillators.harmonic_to_sinusoidal(1.0, dist, f0[0])
  assert freqs.shape == (1, 5, 8)
  assert oscillators.get_harmonic_frequencies(f0[0], 3).shape == (1, 5, 3)
  with pytest.raises(ValueError, match="must broadcast against each other"):
    oscillators.harmonic_to_sinusoidal(np.ones([3, 5, 1]), dist[[0, 0]], f0)


def test_sinusoidal_to_harmonic_normalize_as_published(rng):
  """normalize=True: a harmonic's Gaussian weights over the sinusoids are
  divided by their sum where it exceeds 1 (published semantics)."""
  f0 = np.full([1, 1, 1], 200.0, np.float32)
  # Two sinusoids on harmonic 1 (weights ~1 each), one on harmonic 2.
  sin_freqs = np.array([[[200.0, 201.0, 400.0]]], np.float32)
  sin_amps = np.array([[[0.5, 0.3, 0.2]]], np.float32)
  for normalize in (False, True):
    amp, dist = oscillators.sinusoidal_to_harmonic(
        sin_amps, sin_freqs, f0, n_harmonics=3, normalize=normalize)
    ratio = (sin_freqs[0, 0][None] - 200.0 * np.arange(1, 4)[:, None]) / 200.0
    weights = np.exp(-(ratio / 0.1)**2)
    if normalize:
      total = weights.sum(-1, keepdims=True)
      weights = np.where(total > 1.0, weights / total, weights)
    harm = weights @ sin_amps[0, 0]
    np.testing.assert_allclose(amp[0, 0, 0], harm.sum(), rtol=1e-5)
    np.testing.assert_allclose(dist[0, 0], harm / harm.sum(), rtol=1e-5,
                               atol=1e-7)
  assert float(amp[0, 0, 0]) < 0.5 + 0.3  # The pair is not counted twice.
