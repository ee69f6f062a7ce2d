"""Tests for ddsp.core.filtering against scipy/numpy references and properties."""

import numpy as np
import pytest
import scipy.fft
import scipy.signal
import tensorflow as tf

from ddsp.core import filtering
from ddsp.core import oscillators


def _np_same(audio, ir):
  return np.stack([scipy.signal.fftconvolve(a, h, mode='same')
                   for a, h in zip(audio, ir)])


def _np_full(audio, ir):
  return np.stack([scipy.signal.fftconvolve(a, h, mode='full')
                   for a, h in zip(audio, ir)])


def _np_time_varying(audio, irs, method):
  """Definition of time-varying filtering, written out frame by frame.

  overlap_add: frame m is the audio times a Hann window of 2 * hop samples
  starting hop // 2 samples before block m (flat outer halves at the ends);
  block: frame m is block m of the audio. Each frame is convolved (scipy) with
  its own IR and the results are summed at their positions.
  """
  n_samples = audio.shape[-1]
  n_frames, ir_size = irs.shape[-2:]
  hop = -(-n_samples // n_frames)
  out = np.zeros([audio.shape[0], n_samples + ir_size - 1 + 4 * hop])
  for b in range(audio.shape[0]):
    for m in range(n_frames):
      if method == 'block':
        start, window = m * hop, np.ones(hop)
      else:
        start = m * hop - hop // 2
        window = scipy.signal.windows.hann(2 * hop, sym=False)
        if m == 0:
          window[:hop] = 1.0
        if m == n_frames - 1:
          window[hop:] = 1.0
      frame = np.zeros(len(window))
      for i in range(len(window)):
        if 0 <= start + i < n_samples:
          frame[i] = audio[b, start + i] * window[i]
      piece = np.convolve(frame, irs[b, m])
      lo = start + 2 * hop  # out[k + 2 * hop] holds time k.
      out[b, lo:lo + len(piece)] += piece
  return out[:, 2 * hop:2 * hop + n_samples + ir_size - 1]


def _gradients_ok(grads):
  for grad in grads:
    grad = np.asarray(grad)
    assert np.all(np.isfinite(grad))
    assert np.any(grad != 0.0)


class TestGetFftSize:

  @pytest.mark.parametrize('frame_size, ir_size', [(1, 1), (64, 257),
                                                   (100, 29), (1000, 1025)])
  def test_power_of_2_and_fast(self, frame_size, ir_size):
    n = frame_size + ir_size - 1
    expected_pow2 = 1 << (n - 1).bit_length()
    assert filtering.get_fft_size(frame_size, ir_size) == expected_pow2
    fast = filtering.get_fft_size(frame_size, ir_size, power_of_2=False)
    assert fast == scipy.fft.next_fast_len(n, real=True)
    factors = fast
    for prime in (2, 3, 5):
      while factors % prime == 0:
        factors //= prime
    assert factors == 1
    assert fast >= n and expected_pow2 >= n

  def test_rejects_non_positive(self):
    with pytest.raises(ValueError, match='`ir_size` must be a positive'):
      filtering.get_fft_size(64, 0)


class TestCropAndCompensateDelay:

  def test_same_valid_and_explicit_delay(self):
    full = tf.range(1.0, 13.0)[tf.newaxis, :]  # audio 8 samples, IR 5 taps.
    same = filtering.crop_and_compensate_delay(full, 8, 5, 'same', -1)
    np.testing.assert_array_equal(same.numpy()[0], np.arange(3.0, 11.0))
    causal = filtering.crop_and_compensate_delay(full, 8, 5, 'same', 0)
    np.testing.assert_array_equal(causal.numpy()[0], np.arange(1.0, 9.0))
    valid = filtering.crop_and_compensate_delay(full, 8, 5, 'valid', 0)
    np.testing.assert_array_equal(valid.numpy()[0], np.arange(1.0, 13.0))
    # Shifting a 'valid' output leaves zeros at its end.
    shifted = filtering.crop_and_compensate_delay(full, 8, 5, 'valid', 3)
    np.testing.assert_array_equal(shifted.numpy()[0],
                                  np.r_[np.arange(4.0, 13.0), 0, 0, 0])

  def test_errors(self):
    full = tf.zeros([1, 10])
    with pytest.raises(ValueError, match="`padding` must be one of"):
      filtering.crop_and_compensate_delay(full, 8, 3, 'full', -1)
    with pytest.raises(ValueError, match='`delay_compensation` must be an'):
      filtering.crop_and_compensate_delay(full, 8, 3, 'same', 1.5)


class TestFftConvolve:

  @pytest.mark.parametrize('ir_size', [1, 4, 63, 64, 257, 1200])
  def test_matches_scipy(self, rng, ir_size):
    audio = rng.normal(size=[2, 1000]).astype(np.float32)
    ir = rng.normal(size=[2, ir_size]).astype(np.float32)
    scale = np.sqrt(ir_size)
    same = filtering.fft_convolve(audio, ir).numpy()
    np.testing.assert_allclose(same, _np_same(audio, ir), atol=2e-6 * scale)
    full = filtering.fft_convolve(audio, ir, padding='valid',
                                  delay_compensation=0).numpy()
    np.testing.assert_allclose(full, _np_full(audio, ir), atol=2e-6 * scale)
    # 'valid' with the default compensation: full output moved forward by the
    # group delay (ir_size - 1) // 2, zero-padded at the end.
    delay = (ir_size - 1) // 2
    valid = filtering.fft_convolve(audio, ir, padding='valid').numpy()
    expected = np.pad(_np_full(audio, ir)[:, delay:], [[0, 0], [0, delay]])
    np.testing.assert_allclose(valid, expected, atol=2e-6 * scale)

  def test_explicit_delay_compensation(self, rng):
    audio = rng.normal(size=[1, 300]).astype(np.float32)
    ir = rng.normal(size=[1, 50]).astype(np.float32)
    out = filtering.fft_convolve(audio, ir, delay_compensation=10).numpy()
    np.testing.assert_allclose(out, _np_full(audio, ir)[:, 10:310], atol=1e-5)

  def test_ir_broadcasts_over_batch(self, rng):
    audio = rng.normal(size=[3, 200]).astype(np.float32)
    ir = rng.normal(size=[9]).astype(np.float32)
    expected = _np_same(audio, np.tile(ir, [3, 1]))
    for ir_in in (ir, ir[np.newaxis], ir[np.newaxis, np.newaxis]):
      out = filtering.fft_convolve(audio, ir_in).numpy()
      np.testing.assert_allclose(out, expected, atol=1e-5)

  @pytest.mark.parametrize('method', ['overlap_add', 'block'])
  def test_audio_broadcasts_over_batch_in_frequency_filter(self, rng,
                                                           method):
    # fft_convolve refuses a batch of 1 audio against batched IRs, as
    # published; frequency_filter (the noise synth's shared noise) takes it.
    audio = rng.normal(size=[1, 200]).astype(np.float32)
    mags = rng.uniform(size=[3, 4, 9]).astype(np.float32)
    with pytest.raises(ValueError, match=r'`audio` and `impulse_response` '
                       r'must have the same batch size, or `impulse_response` '
                       r'a batch of 1. Received: audio.shape=\(1, 200\)'):
      filtering.fft_convolve(audio, mags, method=method)
    out = filtering.frequency_filter(audio, mags, method=method).numpy()
    assert out.shape == (3, 200)
    for b in range(3):
      single = filtering.fft_convolve(
          audio, filtering.frequency_impulse_response(mags[b:b + 1]),
          method=method)
      np.testing.assert_allclose(out[b:b + 1], single.numpy(), atol=1e-6)

  @pytest.mark.parametrize('method', ['overlap_add', 'block'])
  @pytest.mark.parametrize('n_samples, n_frames', [(1000, 10), (1000, 16),
                                                   (1024, 1024), (999, 3)])
  def test_identical_frames_equal_time_invariant(self, rng, method, n_samples,
                                                 n_frames):
    audio = rng.normal(size=[2, n_samples]).astype(np.float32)
    ir = rng.normal(size=[2, 33]).astype(np.float32)
    irs = np.repeat(ir[:, np.newaxis], n_frames, axis=1)
    for padding, expected in (('same', _np_same(audio, ir)),
                              ('valid', _np_full(audio, ir))):
      out = filtering.fft_convolve(audio, irs, padding=padding,
                                   delay_compensation=0 if padding == 'valid'
                                   else -1, method=method).numpy()
      np.testing.assert_allclose(out, expected, atol=1e-5)

  @pytest.mark.parametrize('method', ['overlap_add', 'block'])
  def test_time_varying_matches_frame_by_frame_definition(self, rng, method):
    audio = rng.normal(size=[2, 300]).astype(np.float32)
    irs = rng.normal(size=[2, 6, 21]).astype(np.float32)
    out = filtering.fft_convolve(audio, irs, padding='valid',
                                 delay_compensation=0, method=method).numpy()
    expected = _np_time_varying(audio, irs, method)
    np.testing.assert_allclose(out, expected, atol=1e-5)

  def test_eager_equals_tf_function(self, rng):
    audio = rng.normal(size=[2, 640]).astype(np.float32)
    irs = rng.normal(size=[2, 10, 65]).astype(np.float32)
    eager = filtering.fft_convolve(audio, irs)
    graph = tf.function(filtering.fft_convolve)(audio, irs)
    np.testing.assert_allclose(eager.numpy(), graph.numpy(), atol=1e-6)

  @pytest.mark.parametrize('method', ['overlap_add', 'block'])
  def test_gradients(self, rng, method):
    audio = tf.constant(rng.normal(size=[2, 640]).astype(np.float32))
    irs = tf.constant(rng.normal(size=[2, 10, 65]).astype(np.float32))
    with tf.GradientTape() as tape:
      tape.watch([audio, irs])
      loss = tf.reduce_sum(filtering.fft_convolve(audio, irs, method=method)**2)
    _gradients_ok(tape.gradient(loss, [audio, irs]))

  def test_errors(self):
    audio = tf.zeros([2, 100])
    with pytest.raises(ValueError, match=r'`audio` must have rank 2'):
      filtering.fft_convolve(tf.zeros([100]), tf.zeros([5]))
    with pytest.raises(ValueError, match=r'`impulse_response` must have rank'):
      filtering.fft_convolve(audio, tf.zeros([2, 2, 2, 5]))
    with pytest.raises(ValueError, match=r'the same batch size, or '
                       r'`impulse_response` a batch of 1.*\(2, 100\).*'
                       r'\(3, 5\)'):
      filtering.fft_convolve(audio, tf.zeros([3, 5]))
    with pytest.raises(ValueError, match=r'n_samples=100 and n_frames=30 .* '
                       r'makes 25 frames'):
      filtering.fft_convolve(audio, tf.zeros([2, 30, 5]))
    with pytest.raises(ValueError, match="`padding` must be one of"):
      filtering.fft_convolve(audio, tf.zeros([5]), padding='full')
    with pytest.raises(ValueError, match="`method` must be one of"):
      filtering.fft_convolve(audio, tf.zeros([2, 4, 5]), method='ola')


class TestFrequencyFilter:

  def test_impulse_response_is_linear_phase_and_matches_magnitudes(self):
    n_bands = 65
    freqs = np.linspace(0.0, 1.0, n_bands)
    mags = (0.5 + 0.5 * np.cos(np.pi * freqs))[np.newaxis].astype(np.float32)
    ir = filtering.frequency_impulse_response(mags, window_size=127).numpy()[0]
    assert ir.shape == (127,)
    np.testing.assert_allclose(ir, ir[::-1], atol=1e-7)  # Symmetric taps.
    # Undo the group delay of 63 samples: the response is then real, and its
    # samples at the band frequencies follow the smooth magnitudes.
    response = np.fft.rfft(np.roll(np.pad(ir, [0, 1]), -63))
    assert np.max(np.abs(response.imag)) < 1e-5
    np.testing.assert_allclose(response.real, mags[0], atol=5e-3)

  @pytest.mark.parametrize('window_size', [0, 1, 20, 33, 64, 257])
  def test_flat_magnitudes_return_input(self, rng, window_size):
    audio = rng.normal(size=[2, 640]).astype(np.float32)
    for mags in (np.ones([2, 10, 33]), 0.5 * np.ones([33])):
      out = filtering.frequency_filter(audio, mags.astype(np.float32),
                                       window_size=window_size).numpy()
      np.testing.assert_allclose(out, audio * mags.flat[0], atol=1e-5)

  @pytest.mark.parametrize('n_bands, window_size', [(65, 257), (17, 0),
                                                    (513, 65)])
  @pytest.mark.parametrize('method', ['overlap_add', 'block'])
  def test_equals_fft_convolve_of_designed_filter(self, rng, n_bands,
                                                  window_size, method):
    # Small filters get their spectra from a design matrix, large ones (513
    # bands) from the taps: both must equal convolving with the taps.
    audio = rng.normal(size=[2, 1280]).astype(np.float32)
    mags = rng.uniform(size=[2, 10, n_bands]).astype(np.float32)
    taps = filtering.frequency_impulse_response(mags, window_size)
    expected = filtering.fft_convolve(audio, taps, method=method).numpy()
    out = filtering.frequency_filter(audio, mags, window_size,
                                     method=method).numpy()
    np.testing.assert_allclose(out, expected, atol=2e-6)
    graph = tf.function(filtering.frequency_filter)(audio, mags, window_size,
                                                    method=method)
    np.testing.assert_allclose(graph.numpy(), expected, atol=2e-6)

  def test_shapes(self):
    ir = filtering.frequency_impulse_response(tf.ones([2, 10, 65]))
    assert ir.shape == (2, 10, 128)
    ir = filtering.frequency_impulse_response(tf.ones([2, 10, 65]), 257)
    assert ir.shape == (2, 10, 128)  # Limited by 2 * (n_bands - 1).
    # As published: an even window smaller than the IR gives one tap less.
    ir = filtering.frequency_impulse_response(tf.ones([65]), 20)
    assert ir.shape == (19,)
    out = filtering.frequency_filter(tf.zeros([2, 640]), tf.ones([2, 10, 65]),
                                     padding='valid')
    assert out.shape == (2, 640 + 127)

  def test_low_pass_attenuates_above_and_passes_below(self):
    sample_rate, n_samples = 16000, 8000
    time = np.arange(n_samples) / sample_rate
    low = np.sin(2 * np.pi * 1000 * time)
    high = np.sin(2 * np.pi * 6000 * time)
    audio = np.stack([low, high]).astype(np.float32)
    freqs = np.linspace(0, sample_rate / 2, 129)
    mags = (freqs < 3000).astype(np.float32)
    mags = np.broadcast_to(mags, [2, 100, 129])
    out = filtering.frequency_filter(audio, mags, window_size=257).numpy()
    inner = slice(500, -500)
    rms = np.sqrt(np.mean(out[:, inner]**2, axis=-1))
    rms_in = np.sqrt(np.mean(audio[:, inner]**2, axis=-1))
    gain_db = 20 * np.log10(rms / rms_in)
    assert abs(gain_db[0]) < 0.1
    assert gain_db[1] < -40.0

  def test_no_steps_at_frame_edges(self):
    """A gain that changes per frame cross-fades instead of jumping.

    A constant signal is filtered with flat magnitudes whose level rises by
    1 / 64 from each frame to the next. The measure is the largest
    sample-to-sample change of the output, away from the ends. The block
    method jumps by the full step at every frame edge; overlap-add spreads it
    over a Hann cross-fade, at most step * pi / (2 * hop) per sample.
    """
    hop, n_frames = 64, 64
    n_samples = hop * n_frames
    audio = np.ones([1, n_samples], np.float32)
    step = 1.0 / n_frames
    level = 0.5 + step * np.arange(n_frames)
    mags = np.repeat(level[np.newaxis, :, np.newaxis], 33, axis=-1)
    inner = slice(4 * hop, -4 * hop)
    jumps = {}
    for method in ('overlap_add', 'block'):
      out = filtering.frequency_filter(audio, mags.astype(np.float32),
                                       method=method).numpy()[0]
      jumps[method] = np.max(np.abs(np.diff(out))[inner])
      # Both follow the level: the output mid-frame is close to it.
      centres = np.arange(4, n_frames - 4) * hop + hop // 2
      np.testing.assert_allclose(out[centres], level[4:-4], atol=step)
    assert jumps['block'] > 0.9 * step
    assert jumps['overlap_add'] < 1.05 * step * np.pi / (2 * hop)
    assert jumps['overlap_add'] < 0.05 * jumps['block']

  def test_gradients(self, rng):
    audio = tf.constant(rng.normal(size=[2, 640]).astype(np.float32))
    mags = tf.constant(rng.uniform(size=[2, 10, 33]).astype(np.float32))
    with tf.GradientTape() as tape:
      tape.watch([audio, mags])
      loss = tf.reduce_sum(filtering.frequency_filter(audio, mags)**2)
    _gradients_ok(tape.gradient(loss, [audio, mags]))

  def test_errors(self):
    with pytest.raises(ValueError, match='`magnitudes` must have rank'):
      filtering.frequency_impulse_response(tf.constant(1.0))
    with pytest.raises(ValueError, match='`window_size` must be a '
                       'non-negative integer'):
      filtering.frequency_impulse_response(tf.ones([5]), window_size=2.5)
    with pytest.raises(ValueError, match=r'`audio` and `magnitudes` must have '
                       r'the same batch size'):
      filtering.frequency_filter(tf.zeros([2, 640]), tf.ones([3, 10, 5]))
    with pytest.raises(ValueError, match=r'number of frames of `magnitudes` '
                       r'must fit the audio'):
      filtering.frequency_filter(tf.zeros([2, 640]), tf.ones([2, 300, 5]))
    with pytest.raises(ValueError, match=r'`magnitudes` must have rank'):
      filtering.frequency_filter(tf.zeros([2, 640]), tf.ones([2, 1, 10, 5]))


class TestSinc:

  def test_matches_numpy_and_derivative(self):
    x = np.array([0.0, 1e-8, -1e-4, 0.01, 0.03, 0.2, 0.5, 1.0, -2.5, 7.3])
    x_tf = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
      tape.watch(x_tf)
      y = filtering.sinc(x_tf)
    np.testing.assert_allclose(y.numpy(), np.sinc(x), atol=1e-6)
    u = np.pi * x
    with np.errstate(divide='ignore', invalid='ignore'):
      slope = np.where(x == 0, 0.0, (np.cos(u) * u - np.sin(u)) / (u * x))
    slope[np.abs(u) < 1e-3] = -np.pi**2 * x[np.abs(u) < 1e-3] / 3
    np.testing.assert_allclose(tape.gradient(y, x_tf).numpy(), slope,
                               atol=2e-5, rtol=1e-4)


class TestSincFilter:

  def _response_db(self, ir, n_fft=8192):
    return 20 * np.log10(np.abs(np.fft.rfft(ir, n_fft)) + 1e-12)

  def test_impulse_response_shape_and_spectrum(self):
    ir = filtering.sinc_impulse_response([[0.25]], window_size=256).numpy()[0]
    assert ir.shape == (257,)
    np.testing.assert_allclose(ir, ir[::-1], atol=1e-7)
    assert abs(ir.sum() - 1.0) < 1e-5
    freqs = np.linspace(0.0, 1.0, 4097)  # Fraction of Nyquist.
    db = self._response_db(ir)
    assert np.max(np.abs(db[freqs < 0.2])) < 0.1  # Passband within 0.1 dB.
    assert np.max(db[freqs > 0.3]) < -50.0  # Hamming stopband.
    hp = filtering.sinc_impulse_response([[0.25]], 256,
                                         high_pass=True).numpy()[0]
    db_hp = self._response_db(hp)
    assert np.max(db_hp[freqs < 0.2]) < -50.0
    assert np.max(np.abs(db_hp[freqs > 0.3])) < 0.1

  def test_hz_equals_normalized_cutoff(self):
    in_hz = filtering.sinc_impulse_response(4000.0, 64, sample_rate=16000)
    normalized = filtering.sinc_impulse_response(0.5, 64)
    np.testing.assert_allclose(in_hz.numpy(), normalized.numpy(), atol=1e-7)
    assert in_hz.shape == (65,)

  def test_filters_white_noise(self, rng):
    sample_rate = 16000
    noise = rng.uniform(-1, 1, size=[1, 32000]).astype(np.float32)
    freqs, psd_in = scipy.signal.welch(noise[0], sample_rate, nperseg=1024)
    for high_pass in (False, True):
      out = filtering.sinc_filter(noise, 2000.0, sample_rate=sample_rate,
                                  high_pass=high_pass).numpy()
      _, psd = scipy.signal.welch(out[0], sample_rate, nperseg=1024)
      gain_db = 10 * np.log10(psd / psd_in)
      # Welch removes the mean of each segment: skip the bins next to 0 Hz.
      low, high = (freqs > 100) & (freqs < 1700), freqs > 2300
      passband, stopband = (high, low) if high_pass else (low, high)
      assert np.max(np.abs(gain_db[passband])) < 0.5
      assert np.max(gain_db[stopband]) < -40.0

  def test_time_varying_cutoff_and_gradient(self, rng):
    audio = tf.constant(rng.normal(size=[2, 1600]).astype(np.float32))
    cutoff = tf.constant(np.linspace(0.2, 0.8, 20)[np.newaxis, :, np.newaxis]
                         * np.ones([2, 1, 1]), tf.float32)
    with tf.GradientTape() as tape:
      tape.watch([audio, cutoff])
      out = filtering.sinc_filter(audio, cutoff, window_size=64)
      loss = tf.reduce_sum(out**2)
    assert out.shape == (2, 1600)
    _gradients_ok(tape.gradient(loss, [audio, cutoff]))
    # A lower cutoff passes less energy of white-ish noise: the first half
    # (cutoff 0.2 - 0.5) is quieter than the second (0.5 - 0.8).
    energy = np.sum(out.numpy()**2, axis=0)
    assert energy[100:750].sum() < energy[850:1500].sum()

  def test_errors(self):
    with pytest.raises(ValueError, match=r'`cutoff_frequency` must be in '
                       r'\[0, 8000.0\] \(Hz\)'):
      filtering.sinc_impulse_response(9000.0, sample_rate=16000)
    with pytest.raises(ValueError, match=r'`window_size` must be a positive'):
      filtering.sinc_impulse_response(0.5, window_size=0)


class TestVariableLengthDelay:

  def _np_delay(self, audio, delay):
    # Silence before the start: a zero at time -1 to interpolate towards.
    time = np.arange(audio.shape[-1])
    return np.stack([np.interp(time - d, np.r_[-1, time], np.r_[0.0, a],
                               left=0.0) for a, d in zip(audio, delay)])

  def test_matches_numpy_fractional_delay(self, rng):
    n_samples, max_length = 2000, 100
    time = np.arange(n_samples) / 1000
    audio = np.stack([np.sin(2 * np.pi * 13 * time),
                      rng.normal(size=n_samples)]).astype(np.float32)
    phase = 0.5 + 0.45 * np.sin(2 * np.pi * np.array([[1.3], [2.1]]) * time)
    phase = phase.astype(np.float32)
    out = filtering.variable_length_delay(phase[..., np.newaxis], audio,
                                          max_length=max_length).numpy()
    expected = self._np_delay(audio, phase.astype(np.float64) * max_length)
    np.testing.assert_allclose(out, expected, atol=2e-4)

  def test_integer_delays_and_extremes(self, rng):
    audio = rng.normal(size=[1, 50]).astype(np.float32)
    for delay in (0, 1, 7, 8):
      out = filtering.variable_length_delay(
          np.full([1, 50], delay / 8.0, np.float32), audio, max_length=8)
      expected = np.pad(audio, [[0, 0], [delay, 0]])[:, :50]
      np.testing.assert_allclose(out.numpy(), expected, atol=1e-6)

  def test_equals_linear_lookup_on_delay_line(self, rng):
    n_samples, max_length = 40, 6
    audio = rng.normal(size=[1, n_samples]).astype(np.float32)
    phase = rng.uniform(0, 1, size=[1, n_samples]).astype(np.float32)
    # The delay line at each sample, newest first, as a wavetable of
    # max_length + 1 entries (+1 padding entry so the lookup never wraps).
    padded = np.pad(audio[0], [max_length, 0])
    lines = np.stack([padded[t:t + max_length + 1][::-1]
                      for t in range(n_samples)])
    tables = np.pad(lines, [[0, 0], [0, 1]])[np.newaxis].astype(np.float32)
    lookup = oscillators.linear_lookup(
        phase * max_length / (max_length + 2), tables)
    out = filtering.variable_length_delay(phase, audio, max_length)
    np.testing.assert_allclose(out.numpy(), lookup.numpy(), atol=1e-5)

  def test_gradients(self, rng):
    audio = tf.constant(rng.normal(size=[2, 300]).astype(np.float32))
    phase = tf.constant(rng.uniform(0.1, 0.9, size=[2, 300, 1]), tf.float32)
    with tf.GradientTape() as tape:
      tape.watch([audio, phase])
      loss = tf.reduce_sum(
          filtering.variable_length_delay(phase, audio, max_length=32)**2)
    _gradients_ok(tape.gradient(loss, [audio, phase]))

  def test_errors(self):
    with pytest.raises(ValueError, match=r'Arguments must agree on the '
                       r'n_samples axis'):
      filtering.variable_length_delay(tf.zeros([1, 10]), tf.zeros([1, 12]))
    with pytest.raises(ValueError, match=r'`phase` must have shape \[batch, '
                       r'n_samples, 1\]'):
      filtering.variable_length_delay(tf.zeros([1, 10, 2]), tf.zeros([1, 10]))
    with pytest.raises(ValueError, match='`max_length` must be a positive'):
      filtering.variable_length_delay(tf.zeros([1, 10]), tf.zeros([1, 10]), 0)


# ------------------------------------------------------------------------------
# Bad inputs, published sizes and the shared filter design.
# ------------------------------------------------------------------------------
class TestCheckedInputs:

  def test_non_finite_inputs_raise_naming_the_argument(self):
    audio = np.zeros([2, 640], np.float32)
    bad = audio.copy()
    bad[1, 7] = np.nan
    with pytest.raises(ValueError, match=r'`audio` must be finite.*first at '
                       r'index \(1, 7\)'):
      filtering.frequency_filter(bad, np.ones([2, 10, 33], np.float32))
    with pytest.raises(ValueError, match='`magnitudes` must be finite'):
      filtering.frequency_filter(audio, np.full([2, 10, 33], np.inf))
    with pytest.raises(ValueError, match='`impulse_response` must be finite'):
      filtering.fft_convolve(audio, np.full([2, 9], np.nan))
    with pytest.raises(ValueError, match='`audio` must be finite'):
      filtering.fft_convolve(bad, np.ones([2, 9], np.float32))
    # Today a NaN delay crashed with a raw GatherV2 error.
    with pytest.raises(ValueError, match='`phase` must be finite'):
      filtering.variable_length_delay(np.full([1, 10], np.nan),
                                      np.zeros([1, 10]), 4)

  @pytest.mark.parametrize('fn, audio_shape, filter_shape, match', [
      (filtering.frequency_filter, [1, 0], [1, 1, 33],
       r'`audio` must have at least one sample. Received: '
       r'audio.shape=\(1, 0\)'),
      (filtering.fft_convolve, [1, 0], [1, 9],
       '`audio` must have at least one sample'),
      (filtering.frequency_filter, [1, 64], [1, 4, 0],
       '`magnitudes` must have at least one band'),
      (filtering.fft_convolve, [1, 64], [1, 0],
       '`impulse_response` must have at least one tap'),
  ])
  def test_empty_inputs_raise_naming_the_argument(self, fn, audio_shape,
                                                  filter_shape, match):
    # Today: ZeroDivisionError, or a complaint about an unpassed frame_size.
    with pytest.raises(ValueError, match=match):
      fn(np.zeros(audio_shape, np.float32), np.ones(filter_shape, np.float32))

  def test_negative_window_size_is_refused(self):
    # The published library took it as 0; FIRFilter refused it.
    for fn, args in ((filtering.frequency_filter,
                      (np.zeros([1, 64]), np.ones([1, 33]))),
                     (filtering.frequency_impulse_response, (np.ones([33]),)),
                     (filtering.apply_window_to_impulse_response,
                      (np.ones([8]),))):
      with pytest.raises(ValueError, match=r'`window_size` must be a '
                         r'non-negative integer.*Received: window_size=-1'):
        fn(*args, window_size=-1)

  def test_multichannel_audio_is_refused(self):
    with pytest.raises(ValueError, match=r'Make it mono first'):
      filtering.fft_convolve(np.zeros([16000, 2], np.float32),
                             np.ones([9], np.float32))

  def test_delay_broadcasts_a_batch_of_one(self, rng):
    audio = rng.normal(size=[1, 60]).astype(np.float32)
    phase = rng.uniform(size=[3, 60]).astype(np.float32)
    out = filtering.variable_length_delay(phase, audio, 8).numpy()
    for b in range(3):
      np.testing.assert_allclose(
          out[b], filtering.variable_length_delay(phase[b:b + 1], audio,
                                                  8).numpy()[0], atol=1e-7)


@pytest.mark.parametrize('fft_size, window_size', [
    (2048, 0), (2048, 257), (1024, 22), (1024, 2048), (1024, 1024),
    (256, 1), (256, 2), (256, 3)])
def test_frequency_impulse_response_sizes_as_published(rng, fft_size,
                                                       window_size):
  """The published rule: fft_size taps, or window_size rounded down to odd."""
  magnitudes = rng.uniform(size=(1, fft_size // 2 + 1)).astype(np.float32)
  ir = filtering.frequency_impulse_response(magnitudes, window_size)
  expected = fft_size
  if fft_size > window_size >= 1:
    expected = window_size - int(window_size % 2 == 0)
  assert ir.shape[-1] == expected
  assert filtering.frequency_impulse_response_size(
      fft_size // 2 + 1, window_size) == expected
  # Centred on the delay that fft_convolve compensates: flat is a delta.
  flat = filtering.frequency_impulse_response(
      np.ones([fft_size // 2 + 1], np.float32), window_size).numpy()
  delta = np.zeros(expected)
  delta[(expected - 1) // 2] = 1.0
  np.testing.assert_allclose(flat, delta, atol=1e-6)


def test_sinc_threshold_as_published():
  x = np.array([0.0, 1e-3, -0.05, 0.2, 0.5, 2.5], np.float32)
  for threshold in (1e-20, 0.1, 0.3):
    out = filtering.sinc(x, threshold=threshold).numpy()
    reference = np.sinc(np.where(np.abs(x) < threshold, threshold, x))
    np.testing.assert_allclose(out, reference, atol=1e-6)
  with pytest.raises(ValueError, match='`threshold` must be a number in'):
    filtering.sinc(x, threshold=-1.0)


def test_filter_design_matrices_equal_the_spectra_of_the_taps(rng):
  for n_bands, window_size, fft_size in ((65, 0, 256), (17, 9, 40),
                                         (5, 4, 7)):
    real, imag = filtering.filter_design_matrices(n_bands, window_size,
                                                  fft_size)
    mags = rng.uniform(size=[3, n_bands]).astype(np.float32)
    taps = filtering.frequency_impulse_response(mags, window_size).numpy()
    expected = np.fft.rfft(taps.astype(np.float64), fft_size, axis=-1)
    np.testing.assert_allclose(mags @ real, expected.real, atol=1e-5)
    np.testing.assert_allclose(mags @ imag, expected.imag, atol=1e-5)
  with pytest.raises(ValueError, match=r'`fft_size` must be at least the '
                     r'number of taps \(128\)'):
    filtering.filter_design_matrices(65, 0, 100)


@pytest.mark.parametrize('size', [1, 4, 7, 64])
def test_periodic_hann_is_the_stft_window(size):
  window = filtering.periodic_hann(size)
  n = np.arange(size)
  if size > 1:  # A window of one sample is [1] (as scipy and TF make it).
    np.testing.assert_allclose(
        window, 0.5 - 0.5 * np.cos(2 * np.pi * n / size), atol=1e-15)
  if size % 2 == 0:  # TensorFlow's is symmetric for odd sizes; float32.
    np.testing.assert_allclose(window, tf.signal.hann_window(size).numpy(),
                               atol=3e-7)
