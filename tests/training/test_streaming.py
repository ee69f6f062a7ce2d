"""Tests for ddsp.training.streaming: block renderers vs references."""

import doctest

import keras
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from ddsp import core
from ddsp.training import gru as gru_lib
from ddsp.training import streaming
import nn_reference  # tests/training/nn_reference.py


class TestDft:

  @pytest.mark.parametrize('n_in, fft_size', [(6, 8), (128, 255), (7, 7)])
  def test_forward_matches_numpy(self, rng, n_in, fft_size):
    x = rng.normal(size=(3, n_in))
    spectrum = np.fft.rfft(x, fft_size)
    np.testing.assert_allclose(
        x @ streaming.rdft_matrix(n_in, fft_size),
        np.concatenate([spectrum.real, spectrum.imag], axis=-1), atol=1e-4)

  @pytest.mark.parametrize('fft_size, start, stop', [(8, 0, 8), (255, 10, 200),
                                                     (128, 64, 128)])
  def test_inverse_matches_numpy(self, rng, fft_size, start, stop):
    spectrum = np.fft.rfft(rng.normal(size=(2, fft_size)))
    # Imaginary parts at 0 Hz and Nyquist are ignored, as by np.fft.irfft.
    spectrum[:, 0] += 3j
    expected = np.fft.irfft(spectrum, fft_size)[:, start:stop]
    halves = np.concatenate([spectrum.real, spectrum.imag], axis=-1)
    np.testing.assert_allclose(
        halves @ streaming.irdft_matrix(fft_size, start, stop), expected,
        atol=1e-5)

  def test_errors(self):
    with pytest.raises(ValueError, match='n_in'):
      streaming.rdft_matrix(9, 8)
    with pytest.raises(ValueError, match='start'):
      streaming.irdft_matrix(8, 5, 3)


def _harmonic_reference(f0, amplitudes, hop, sample_rate, method):
  """float64 numpy harmonic synthesis of whole-clip controls [n_frames, .]."""
  n_frames, n_harmonics = amplitudes.shape
  f0_next = np.append(f0[1:], f0[-1])
  amps_next = np.concatenate([amplitudes[1:], amplitudes[-1:]])
  j = np.arange(hop) / hop
  weights = {'linear': j, 'window': np.sin(0.5 * np.pi * j)**2,
             'nearest': 0 * j}[method]
  f0_env = (f0[:, None] + j * (f0_next - f0)[:, None]).ravel()
  amps_env = (amplitudes[:, None] + weights[None, :, None] *
              (amps_next - amplitudes)[:, None]).reshape(-1, n_harmonics)
  phase = 2 * np.pi * np.cumsum(f0_env) / sample_rate
  k = np.arange(1, n_harmonics + 1)
  audible = k * f0_env[:, None] < sample_rate / 2
  return np.sum(amps_env * audible * np.sin(phase[:, None] * k), axis=-1)


def _stream_harmonic(block, f0, amplitudes, frames_per_block):
  """Hops of `block` over whole controls, frames_per_block at a time."""
  f0 = tf.constant(f0[None, :, None], tf.float32)
  amplitudes = tf.constant(amplitudes[None], tf.float32)
  phase = tf.zeros([1, 1], tf.int64)
  outputs = []
  n_frames = f0.shape[1]
  for start in range(0, n_frames - 1, frames_per_block):
    stop = min(start + frames_per_block, n_frames - 1)
    audio, phase = block(f0[:, start:stop], f0[:, start + 1:stop + 1],
                         amplitudes[:, start:stop],
                         amplitudes[:, start + 1:stop + 1], phase)
    outputs.append(audio.numpy()[0])
  return np.concatenate(outputs)


class TestHarmonicBlock:

  @pytest.mark.parametrize('method', ['window', 'linear', 'nearest'])
  def test_matches_float64_reference(self, rng, method):
    hop, sample_rate, n_frames = 64, 16000, 101
    f0 = 200.0 + 900.0 * rng.uniform(size=n_frames)
    f0[40:50] = 0.0  # Unvoiced.
    f0 = f0.astype(np.float32)  # The block sees float32 frequencies.
    amplitudes = rng.uniform(size=(n_frames, 30)).astype(np.float32) / 30
    block = streaming.HarmonicBlock(hop, sample_rate, method)
    audio = _stream_harmonic(block, f0, amplitudes, frames_per_block=7)
    expected = _harmonic_reference(f0.astype(np.float64),
                                   amplitudes.astype(np.float64), hop,
                                   sample_rate, method)[:audio.size]
    assert np.abs(expected).max() > 0.3
    np.testing.assert_allclose(audio, expected, atol=2e-5)

  def test_nyquist_masks_flip_where_offline_does(self):
    # Harmonic 7 hovers within a few float32 ulps of Nyquist: it must be
    # silenced at exactly the samples where core.harmonic_synthesis does.
    hop, sample_rate, n_frames, k = 64, 16000, 2000, 7
    rng = np.random.default_rng(0)
    f0 = sample_rate / 2 / k * (1 + 3e-7 * rng.standard_normal(n_frames))
    f0 = f0.astype(np.float32)
    amplitudes = np.zeros((n_frames, 10), np.float32)
    amplitudes[:, k - 1] = 1.0
    expected = core.harmonic_synthesis(
        f0[None, :, None], np.ones([1, n_frames, 1], np.float32),
        harmonic_distribution=amplitudes[None], n_samples=None,
        sample_rate=sample_rate, frame_rate=sample_rate // hop,
        amp_resample_method='linear').numpy()[0]
    audible = np.abs(expected) > 1e-3
    assert 0.1 < audible.mean() < 0.9  # Many flips either way.
    block = streaming.HarmonicBlock(hop, sample_rate, 'linear')
    audio = _stream_harmonic(block, f0, amplitudes, frames_per_block=16)
    np.testing.assert_allclose(audio, expected[:audio.size], atol=1e-4)

  def test_negative_f0_is_silent_as_offline(self, rng):
    # Offline, frames with f0 < 0 are silent (core.mute_negative_frequencies);
    # the block renders the same samples.
    hop, sample_rate, n_frames = 64, 16000, 41
    f0 = (200.0 + 600.0 * rng.uniform(size=n_frames)).astype(np.float32)
    f0[10:20] *= -1.0
    amplitudes = rng.uniform(size=(n_frames, 8)).astype(np.float32) / 8
    expected = core.harmonic_synthesis(
        f0[None, :, None], np.ones([1, n_frames, 1], np.float32),
        harmonic_distribution=amplitudes[None], n_samples=None,
        sample_rate=sample_rate, frame_rate=sample_rate // hop,
        amp_resample_method='window').numpy()[0]
    block = streaming.HarmonicBlock(hop, sample_rate, 'window')
    audio = _stream_harmonic(block, f0, amplitudes, frames_per_block=6)
    np.testing.assert_array_equal(audio[10 * hop:19 * hop], 0.0)
    np.testing.assert_allclose(audio, expected[:audio.size], atol=2e-5)

  def test_no_phase_drift_over_a_minute(self):
    # 60 s of a 48 kHz stream in 10 blocks: the carried phase stays exact.
    hop, sample_rate, n_blocks, frames = 192, 48000, 10, 1500
    block = streaming.HarmonicBlock(hop, sample_rate, 'linear')
    f0 = np.float32(997.3)
    steady = tf.fill([1, frames, 1], f0)
    ones = tf.ones([1, frames, 1])
    phase = tf.zeros([1, 1], tf.int64)
    for _ in range(n_blocks):
      audio, phase = block(steady, steady, ones, ones, phase)
    # The last block, against the exact phase (inclusive of each sample).
    time = (n_blocks - 1) * frames * hop + np.arange(1, frames * hop + 1)
    expected = np.sin(2 * np.pi * np.mod(float(f0) * time / sample_rate, 1.0))
    np.testing.assert_allclose(audio.numpy()[0], expected, atol=1e-5)

  def test_phase_before_starts_frame_at_zero(self):
    block = streaming.HarmonicBlock(64, 16000)
    f0 = tf.constant([[[440.0]], [[31.7]]])
    phase = block.phase_before(f0)
    _, advanced = block(f0, f0, tf.ones([2, 1, 1]), tf.ones([2, 1, 1]), phase)
    np.testing.assert_array_equal(advanced.numpy(), [[0], [0]])


class TestFilteredNoiseBlock:

  @pytest.mark.parametrize('method, window_size, n_bands', [
      ('overlap_add', 0, 65), ('overlap_add', 33, 65), ('block', 0, 17),
      ('overlap_add', 257, 129)])
  def test_blocks_sum_to_offline_filter(self, rng, method, window_size,
                                        n_bands):
    hop, n_frames, seed = 64, 24, 5
    magnitudes = rng.uniform(size=(2, n_frames, n_bands)).astype(np.float32)
    offline = core.frequency_filter(
        core.counter_uniform_noise(n_frames * hop, seed=seed), magnitudes,
        window_size=window_size, method=method).numpy()
    block = streaming.FilteredNoiseBlock(hop, n_bands, window_size, method,
                                         seed)
    # Overlap-add the contributions of blocks of 5 frames on a timeline
    # starting `lookahead` samples before sample 0.
    total = np.zeros((2, n_frames * hop + 2000))
    for start in range(0, n_frames, 5):
      stop = min(start + 5, n_frames)
      chunk = block(magnitudes[:, start:stop],
                    tf.constant(start, tf.int32)).numpy()
      total[:, start * hop:start * hop + chunk.shape[1]] += chunk
    streamed = total[:, block.lookahead:block.lookahead + n_frames * hop]
    # The offline filter's last frame sees the end of the clip; compare up
    # to where the stream's frames are complete.
    valid = n_frames * hop - block.lookahead
    assert np.abs(offline[:, :valid]).max() > 0.05
    np.testing.assert_allclose(streamed[:, :valid], offline[:, :valid],
                               atol=2e-6)


class TestReverbBlock:

  @pytest.mark.parametrize('ir_size, block_size, max_partition', [
      (1000, 64, 256), (300, 512, 256), (50, 192, 64), (1, 64, 256),
      (20000, 384, None)])
  def test_matches_scipy_convolution(self, rng, ir_size, block_size,
                                     max_partition):
    ir = rng.normal(size=ir_size) * np.exp(-np.arange(ir_size) / 100.0)
    audio = rng.normal(size=(2, 8 * block_size)).astype(np.float32)
    reverb = streaming.ReverbBlock(ir, block_size, add_dry=True,
                                   max_partition=max_partition)
    assert block_size % reverb.partition_size == 0
    assert reverb.partition_size <= (max_partition or block_size)
    shapes = reverb.state_shapes(2)
    previous = tf.zeros(shapes['input'])
    spectra = tf.zeros(shapes['spectra'])
    outputs = []
    for start in range(0, audio.shape[1], block_size):
      out, previous, spectra = reverb(audio[:, start:start + block_size],
                                      previous, spectra)
      outputs.append(out.numpy())
    expected = audio + scipy.signal.fftconvolve(
        audio, ir[np.newaxis], axes=-1)[:, :audio.shape[1]]
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), expected,
                               atol=2e-4 * np.abs(expected).max())

  def test_errors(self):
    with pytest.raises(ValueError, match='impulse_response'):
      streaming.ReverbBlock([], 64)
    with pytest.raises(ValueError, match='block_size'):
      streaming.ReverbBlock([1.0], 0)


def test_gru_block_matches_keras_gru(rng):
  gru = keras.layers.GRU(8, return_sequences=True, return_state=True)
  x = rng.normal(size=(2, 10, 3)).astype(np.float32)
  h0 = rng.normal(size=(2, 8)).astype(np.float32)
  expected, expected_state = gru(x, initial_state=h0)
  # Two blocks of 4 and 6 frames, carrying the state.
  first, state = streaming.gru_block(x[:, :4], gru.cell.kernel,
                                     gru.cell.recurrent_kernel, gru.cell.bias,
                                     tf.constant(h0))
  second, state = streaming.gru_block(x[:, 4:], gru.cell.kernel,
                                      gru.cell.recurrent_kernel,
                                      gru.cell.bias, state)
  np.testing.assert_allclose(tf.concat([first, second], 1).numpy(),
                             expected.numpy(), atol=1e-5)
  np.testing.assert_allclose(state.numpy(), expected_state.numpy(), atol=1e-5)


def test_gru_step_matches_float64_reference(rng):
  units, channels = 5, 3
  kernel = rng.normal(size=(channels, 3 * units))
  recurrent_kernel = rng.normal(size=(units, 3 * units))
  bias = rng.normal(size=(2, 3 * units))
  x = rng.normal(size=(2, 1, channels))
  h0 = rng.normal(size=(2, units))
  expected = nn_reference.gru(x, kernel, recurrent_kernel, bias, h0)[1]
  projected = x[:, 0] @ kernel + bias[0]
  f32 = lambda v: tf.constant(v, tf.float32)
  state, _, _, _ = gru_lib.gru_step(f32(projected), f32(h0),
                                    f32(recurrent_kernel), f32(bias[1]))
  np.testing.assert_allclose(state.numpy(), expected, atol=1e-5)


def test_docstring_examples():
  results = doctest.testmod(streaming, extraglobs={'np': np, 'tf': tf})
  assert results.failed == 0 and results.attempted > 0
