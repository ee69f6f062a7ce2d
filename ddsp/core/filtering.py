"""FFT convolution, time-varying FIR filters, sinc filters and delay lines.

Impulse-response conventions used throughout this module:

* Zero-phase form: tap 0 is time 0, negative times are wrapped to the end
  (what `tf.signal.irfft` returns for real magnitudes).
* Causal form: the taps in time order, with time 0 at index
  `(ir_size - 1) // 2` for the linear-phase filters made here. This is the
  constant group delay that `fft_convolve(..., delay_compensation=-1)` removes,
  and it equals the centring of `scipy.signal.fftconvolve(mode='same')`.

Time-varying filtering (an impulse response per frame) uses windowed
overlap-add by default: the audio is cut into Hann-windowed frames with 50 %
overlap whose windows sum to one, each frame is convolved with its own
impulse response and the results are added back. A filter whose response
changes from frame to frame therefore cross-fades smoothly instead of switching
abruptly at frame edges, and a filter that is the same in every frame equals
plain convolution. The block method of the published DDSP library
(non-overlapping rectangular frames) stays available as `method='block'`.
"""

import functools
import math

import numpy as np
import scipy.fft
import scipy.signal
import tensorflow as tf

from ddsp import validation
from ddsp.core.utils import broadcast_batch
from ddsp.core.utils import tf_float32

__all__ = [
    'periodic_hann',
    'get_fft_size',
    'crop_and_compensate_delay',
    'fft_convolve',
    'apply_window_to_impulse_response',
    'frequency_impulse_response',
    'frequency_impulse_response_size',
    'filter_design_matrices',
    'frequency_filter',
    'sinc',
    'sinc_impulse_response',
    'sinc_filter',
    'variable_length_delay',
]

_PADDINGS = ('same', 'valid')
_METHODS = ('overlap_add', 'block')


def _static_dim(x, axis, name, axis_name):
  """A statically known dimension of `x`, or a ValueError saying it must be."""
  dim = x.shape[axis]
  if dim is None:
    raise ValueError(f'The {axis_name} axis of `{name}` must be statically '
                     f'known. Received: {name}.shape={tuple(x.shape)}')
  return int(dim)


# ------------------------------------------------------------------------------
# FFT convolution.
# ------------------------------------------------------------------------------
def get_fft_size(frame_size, ir_size, power_of_2=True):
  """FFT size large enough to convolve a frame with an IR without aliasing.

  Linear convolution of `frame_size` samples with `ir_size` taps has
  `frame_size + ir_size - 1` samples; the FFT must be at least that long.

  Args:
    frame_size: int > 0, samples per audio frame.
    ir_size: int > 0, taps of the impulse response.
    power_of_2: if True, round up to the next power of 2; otherwise to the next
      product of 2, 3 and 5 (often smaller, and as fast per point).

  Returns:
    int, the FFT size.

  Raises:
    ValueError: if a size is not a positive integer.

  Example:
    >>> get_fft_size(64, 257)
    512
    >>> get_fft_size(64, 257, power_of_2=False)
    320
  """
  frame_size = validation.check_positive_int(frame_size, 'frame_size')
  ir_size = validation.check_positive_int(ir_size, 'ir_size')
  convolved_size = frame_size + ir_size - 1
  if power_of_2:
    return int(2**math.ceil(math.log2(convolved_size)))
  return int(scipy.fft.next_fast_len(convolved_size, real=True))


def crop_and_compensate_delay(audio, audio_size, ir_size, padding,
                              delay_compensation):
  """Crops the output of a convolution to the requested length.

  `audio` holds a full linear convolution (sample k is the output at time k;
  samples past its end, if any, are zeros). The result is
  `audio[:, start:start + crop_size]`, zero-padded at the end where `audio` is
  shorter, with `start` the delay removed and `crop_size` set by `padding`.

  Args:
    audio: [batch, n_samples_full] float32, the full convolution (at least
      `audio_size + ir_size - 1` samples long, or shorter and implicitly
      zero-padded).
    audio_size: int > 0, samples of the audio before convolution.
    ir_size: int > 0, taps of the impulse response.
    padding: 'same' (keep `audio_size` samples) or 'valid' (keep
      `audio_size + ir_size - 1` samples, i.e. include the IR tail).
    delay_compensation: int, samples to drop from the front. A negative value
      removes the group delay of the linear-phase filters of this module,
      `(ir_size - 1) // 2` samples (the centring of
      `scipy.signal.fftconvolve(mode='same')`); 0 keeps the filter causal
      (e.g. a reverb).

  Returns:
    [batch, crop_size] float32.

  Raises:
    ValueError: on an unknown `padding` or invalid sizes.

  Example:
    >>> full = tf.range(10.0)[tf.newaxis, :]   # audio 8 samples, IR 3 taps
    >>> crop_and_compensate_delay(full, 8, 3, 'same', -1).numpy()
    array([[1., 2., 3., 4., 5., 6., 7., 8.]], dtype=float32)
  """
  validation.check_one_of(padding, 'padding', _PADDINGS)
  audio_size = validation.check_positive_int(audio_size, 'audio_size')
  ir_size = validation.check_positive_int(ir_size, 'ir_size')
  if isinstance(delay_compensation, bool) or not isinstance(
      delay_compensation, (int, np.integer)):
    raise ValueError('`delay_compensation` must be an integer (negative for '
                     'automatic). '
                     f'Received: delay_compensation={delay_compensation!r}')
  crop_size = audio_size if padding == 'same' else audio_size + ir_size - 1
  start = (ir_size - 1) // 2 if delay_compensation < 0 else int(
      delay_compensation)
  total_size = _static_dim(audio, -1, 'audio', 'time')
  missing = start + crop_size - total_size
  if missing > 0:
    audio = tf.pad(audio, [[0, 0]] * (audio.shape.rank - 1) + [[0, missing]])
  return audio[..., start:start + crop_size]


def periodic_hann(size):
  """Periodic Hann window, `0.5 - 0.5 cos(2 pi n / size)`, n = 0 .. size - 1.

  As `scipy.signal.windows.hann(size, sym=False)`, and for even sizes the
  window of `tf.signal.stft` (`tf.signal.hann_window`): copies at a hop of
  size / 2 sum to one. The one definition of this window for the numpy code
  of the library (STFTs, loudness, overlap-add filtering, streaming).

  Args:
    size: int > 0, samples.

  Returns:
    [size] float64 numpy array.

  Example:
    >>> periodic_hann(4)
    array([0. , 0.5, 1. , 0.5])
  """
  size = validation.check_positive_int(size, 'size')
  return scipy.signal.windows.hann(size, sym=False)


@functools.lru_cache(maxsize=64)
def _ola_windows(n_frames, hop_size):
  """[n_frames, 2 * hop_size] Hann windows that sum to one across the audio.

  Periodic Hann windows of length 2 * hop at hop spacing sum to exactly one;
  the outer halves of the first and last windows are flat so that the edges of
  the audio are covered with unit gain as well.
  """
  window = periodic_hann(2 * hop_size)
  windows = np.tile(window, (n_frames, 1))
  windows[0, :hop_size] = 1.0
  windows[-1, hop_size:] = 1.0
  windows = windows.astype(np.float32)
  windows.flags.writeable = False
  return windows


def _standardize_filter_shape(x, name, audio, broadcast_audio=True):
  """Checks an IR (or magnitudes) and returns it as [batch, (n_frames,) size].

  A filter batch of 1 is shared by the audio batch; with `broadcast_audio`
  an audio batch of 1 is also filtered by each filter of the batch.
  """
  shape = validation.check_rank(x, name, (1, 2, 3))
  if x.shape.rank == 1:
    x = x[tf.newaxis, :]
  batch_sizes = {audio.shape[0], x.shape[0]} - {None}
  if broadcast_audio or x.shape[0] == 1:
    batch_sizes -= {1}
  if len(batch_sizes) > 1:
    either = 'one of them 1' if broadcast_audio else f'`{name}` a batch of 1'
    raise ValueError(
        f'`audio` and `{name}` must have the same batch size, or {either}. '
        f'Received: audio.shape={tuple(audio.shape)}, '
        f'{name}.shape={tuple(shape)}')
  _static_dim(x, -1, name, 'last')
  validation.check_not_empty(x, name, -1,
                             'band' if name == 'magnitudes' else 'tap')
  validation.check_finite(x, name)
  if x.shape.rank == 3:
    _static_dim(x, 1, name, 'n_frames')
    if x.shape[1] == 1:
      x = x[:, 0, :]
  return x


def fft_convolve(audio, impulse_response, padding='same', delay_compensation=-1,
                 method='overlap_add'):
  """Convolves audio with a fixed or time-varying impulse response via FFT.

  With an IR of rank 1 or 2 this is plain linear convolution (the same
  numbers as `scipy.signal.fftconvolve` up to the crop). With an IR of rank 3
  (a frames axis) the filter varies over time: frame m of the IR applies to
  the audio around samples `[m * hop, (m + 1) * hop)` with
  `hop = ceil(n_samples / n_frames)`.

  * `method='overlap_add'` (default): the audio is cut into frames of
    `2 * hop` samples at hop `hop`, each centred on its block and multiplied by
    a Hann window (the windows sum to one, also at the edges). Each windowed
    frame is convolved with its IR and the results are overlap-added, so the
    response cross-fades smoothly between neighbouring frames and a filter
    that is identical in every frame reproduces plain convolution exactly.
  * `method='block'`: the published DDSP method. The audio is cut into
    non-overlapping blocks of `hop` samples, each convolved with its IR, and
    the tails overlap-added. Changing the IR between frames makes the output
    jump at block edges.

  Both methods cost one FFT per frame, of `get_fft_size(frame, ir_size,
  power_of_2=False)` points (a product of 2, 3 and 5): at the default
  operating point (hop 64, 128 taps) 256 points for both.

  Args:
    audio: [batch, n_samples] float32, the signal (any units).
    impulse_response: the filter taps in causal form, float32; one of
      [ir_size] (the same IR for the whole batch), [batch, ir_size] (one IR per
      example) or [batch, n_frames, ir_size] (time-varying). An IR batch of
      1 is shared by every example; otherwise the batch sizes must be equal
      (as published; `frequency_filter` also broadcasts audio). `n_frames` must
      satisfy `ceil(n_samples / ceil(n_samples / n_frames)) == n_frames`
      (e.g. any divisor of `n_samples`).
    padding: 'same' returns `n_samples` samples; 'valid' returns
      `n_samples + ir_size - 1` samples, i.e. the IR tail is kept (with
      `delay_compensation=0` this is `scipy.signal.fftconvolve(mode='full')`).
    delay_compensation: samples to drop from the front of the full
      convolution. Negative (default) removes `(ir_size - 1) // 2` samples, the
      group delay of the linear-phase filters of this module (then 'same'
      matches `scipy.signal.fftconvolve(mode='same')`); 0 keeps the output
      causal, as a reverb needs.
    method: 'overlap_add' (default) or 'block', how a time-varying IR is
      applied (see above; ignored for a time-invariant IR).

  Returns:
    [batch, n_samples] float32 for 'same', [batch, n_samples + ir_size - 1]
    for 'valid' (batch: the larger of the two batch sizes).

  Differentiable with respect to `audio` and `impulse_response`.

  Raises:
    ValueError: on bad ranks, a batch mismatch, unknown static sizes, an
      invalid `padding`/`method`, or a frame count that does not fit the audio.

  Example:
    >>> audio = tf.constant([[1.0, 0.0, 0.0, 2.0]])
    >>> fft_convolve(audio, [1.0, 0.5], padding='valid',
    ...              delay_compensation=0).numpy().round(4)
    array([[1. , 0.5, 0. , 2. , 1. ]], dtype=float32)
  """
  validation.check_one_of(padding, 'padding', _PADDINGS)
  validation.check_one_of(method, 'method', _METHODS)
  audio = _check_filter_audio(audio)
  impulse_response = _standardize_filter_shape(
      tf_float32(impulse_response), 'impulse_response', audio,
      broadcast_audio=False)

  def spectrum(fft_size):
    return tf.signal.rfft(impulse_response, fft_length=[fft_size])

  ir_shape = impulse_response.shape.as_list()
  full = _convolve(audio, ir_shape, spectrum, method, 'impulse_response')
  return crop_and_compensate_delay(full, int(audio.shape[1]), ir_shape[-1],
                                   padding, delay_compensation)


def _check_filter_audio(audio):
  """float32 finite mono [batch, n_samples] with known n_samples >= 1."""
  audio = tf_float32(audio)
  validation.check_audio(audio, 'audio')
  validation.check_rank(audio, 'audio', 2)
  _static_dim(audio, 1, 'audio', 'n_samples')
  validation.check_not_empty(audio, 'audio', 1, 'sample')
  return audio


def _convolve(audio, ir_shape, spectrum, method, name):
  """Full linear convolution of audio with a fixed or time-varying filter.

  Args:
    audio: [batch, n_samples] float32.
    ir_shape: static shape of the filter taps, [batch, ir_size] or
      [batch, n_frames, ir_size].
    spectrum: fft_size -> the filter's rfft at that size ([..., fft_size // 2
      + 1] complex64), so callers can compute it without the taps.
    method: 'overlap_add' or 'block'.
    name: argument name of the filter, for error messages.

  Returns:
    [batch, n_full] float32 with the full convolution in its first
    `n_samples + ir_size - 1` samples (zeros after).
  """
  n_samples = int(audio.shape[1])
  ir_size = ir_shape[-1]
  if len(ir_shape) == 2:
    fft_size = get_fft_size(n_samples, ir_size, power_of_2=False)
    audio_fft = tf.signal.rfft(audio, fft_length=[fft_size])
    return tf.signal.irfft(audio_fft * spectrum(fft_size),
                           fft_length=[fft_size])

  n_frames = ir_shape[1]
  hop_size = -(-n_samples // n_frames)
  if -(-n_samples // hop_size) != n_frames:
    raise ValueError(
        f'The number of frames of `{name}` must fit the audio: with '
        f'n_samples={n_samples} and n_frames={n_frames} the hop would be '
        f'{hop_size} samples, which makes {-(-n_samples // hop_size)} frames. '
        'Use a number of frames that divides n_samples. Received: '
        f'audio.shape={tuple(audio.shape)}, {name}.shape={tuple(ir_shape)}')
  if method == 'overlap_add':
    # Window m covers padded samples [m * hop, (m + 2) * hop); its centre
    # falls on the middle of block m of the audio.
    offset = hop_size // 2
    padded_size = (n_frames + 1) * hop_size
    audio = tf.pad(audio, [[0, 0], [offset, padded_size - offset - n_samples]])
    frames = tf.signal.frame(audio, 2 * hop_size, hop_size)
    frames *= _ola_windows(n_frames, hop_size)
  else:
    offset = 0
    audio = tf.pad(audio, [[0, 0], [0, n_frames * hop_size - n_samples]])
    frames = tf.reshape(audio, [-1, n_frames, hop_size])
  fft_size = get_fft_size(int(frames.shape[-1]), ir_size, power_of_2=False)
  frames_fft = tf.signal.rfft(frames, fft_length=[fft_size])
  # Each convolved frame is exact: its samples past frame + ir_size - 1 are 0.
  convolved = tf.signal.irfft(frames_fft * spectrum(fft_size),
                              fft_length=[fft_size])
  full = tf.signal.overlap_and_add(convolved, hop_size)
  return full[:, offset:]


# ------------------------------------------------------------------------------
# FIR filters designed in the frequency domain.
# ------------------------------------------------------------------------------
def _check_window_size(window_size):
  """A non-negative int (0: the whole IR), as `FIRFilter` requires.

  The published library took any value below 1 as 0; a negative size is a
  mistake, so it is refused here.
  """
  if (isinstance(window_size, bool) or
      not isinstance(window_size, (int, np.integer)) or window_size < 0):
    raise ValueError('`window_size` must be a non-negative integer (0 for the '
                     f'IR size). Received: window_size={window_size!r}')


@functools.lru_cache(maxsize=64)
def _symmetric_hann(n_taps):
  """Hann window of `n_taps` (odd) non-zero taps, symmetric about its centre."""
  window = scipy.signal.windows.hann(n_taps + 2, sym=True)[1:-1]
  window = window.astype(np.float32)
  window.flags.writeable = False
  return window


def apply_window_to_impulse_response(impulse_response, window_size=0,
                                     causal=False):
  """Windows a zero-phase impulse response and returns it in causal form.

  The window is a Hann window with `2 * k + 1` non-zero taps,
  `k = (window_size - 1) // 2`, centred on time 0. It trades frequency
  resolution for fewer taps and suppresses the ripple of truncation. The
  result has time 0 at index `k`, symmetric (linear phase) when the input
  is. Sizes as published: `window_size` taps for an odd `window_size`,
  `window_size - 1` for an even one (both `2 * k + 1`); 0 or a window of at
  least `ir_size` taps keeps all `ir_size` taps (an even `ir_size` ends with
  one zero tap).

  Args:
    impulse_response: [..., ir_size] float32 taps, in zero-phase form (time 0
      at index 0, negative times wrapped to the end) unless `causal`.
    window_size: int >= 0, the window's size (see above). 0 or anything
      from `ir_size` on uses `ir_size`.
    causal: if True, `impulse_response` is in causal form with time 0 at index
      `(ir_size - 1) // 2` (the form this function returns).

  Returns:
    [..., n_taps] float32, the windowed IR in causal form, n_taps as above.

  Differentiable with respect to `impulse_response`.

  Raises:
    ValueError: if `impulse_response` is a scalar or its last axis is unknown,
      or `window_size` is not a non-negative integer.

  Example:
    >>> ir = tf.constant([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # delta, zero phase
    >>> apply_window_to_impulse_response(ir, window_size=5).numpy()
    array([0., 0., 1., 0., 0.], dtype=float32)
  """
  impulse_response = tf_float32(impulse_response)
  validation.check_rank(impulse_response, 'impulse_response',
                        tuple(range(1, 9)))
  _check_window_size(window_size)
  ir_size = _static_dim(impulse_response, -1, 'impulse_response', 'ir_size')
  if causal:
    impulse_response = tf.roll(impulse_response, -((ir_size - 1) // 2),
                               axis=-1)
  if window_size <= 0 or window_size > ir_size:
    window_size = ir_size
  half = (window_size - 1) // 2
  # Taps at times -half .. half, read from the circular zero-phase form.
  taps = [impulse_response[..., ir_size - half:]] if half else []
  taps.append(impulse_response[..., :half + 1])
  impulse_response = tf.concat(taps, axis=-1) * _symmetric_hann(2 * half + 1)
  if window_size == ir_size and window_size % 2 == 0:
    impulse_response = tf.pad(impulse_response,
                              [[0, 0]] * (impulse_response.shape.rank - 1) +
                              [[0, 1]])
  return impulse_response


def frequency_impulse_response(magnitudes, window_size=0):
  """Linear-phase FIR filter from a sampled magnitude response.

  The magnitudes are taken as a zero-phase frequency response (its inverse
  real FFT is a symmetric impulse response), which is then Hann-windowed to
  `window_size` taps and shifted to causal form by
  `apply_window_to_impulse_response`. A flat response gives a delta at index
  `(window_size - 1) // 2`.

  Args:
    magnitudes: [batch, n_frames, n_bands], [batch, n_bands] or [n_bands]
      float32, linear amplitude >= 0 (not dB). Band i is at frequency
      `i / (n_bands - 1) * sample_rate / 2`: from 0 Hz to Nyquist, linearly
      spaced. n_bands = 1 is a broadband gain.
    window_size: int >= 0, the window's size; 0 or anything from
      `2 * (n_bands - 1)` on uses `2 * (n_bands - 1)` taps (e.g. 65 bands ->
      128 taps).

  Returns:
    [..., ir_size] float32 impulse responses in causal form, with ir_size =
    `frequency_impulse_response_size(n_bands, window_size)`: `window_size`
    for an odd window smaller than `2 * (n_bands - 1)`, `window_size - 1` for
    an even one (as published), else `2 * (n_bands - 1)`.

  Differentiable with respect to `magnitudes`.

  Raises:
    ValueError: if `magnitudes` is a scalar, has no bands or an unknown band
      axis, holds NaN or infinite values, or `window_size` is negative.

  Example:
    >>> ir = frequency_impulse_response(tf.ones([1, 10, 65]), window_size=33)
    >>> ir.shape
    TensorShape([1, 10, 33])
  """
  magnitudes = tf_float32(magnitudes)
  validation.check_rank(magnitudes, 'magnitudes', tuple(range(1, 9)))
  _check_window_size(window_size)
  n_bands = _static_dim(magnitudes, -1, 'magnitudes', 'n_bands')
  validation.check_not_empty(magnitudes, 'magnitudes', -1, 'band')
  validation.check_finite(magnitudes, 'magnitudes')
  fft_size = max(1, 2 * (n_bands - 1))
  spectrum = tf.complex(magnitudes, tf.zeros_like(magnitudes))
  impulse_response = tf.signal.irfft(spectrum, fft_length=[fft_size])
  return apply_window_to_impulse_response(impulse_response, window_size)


def frequency_filter(audio, magnitudes, window_size=0, padding='same',
                     method='overlap_add'):
  """Filters audio with a (time-varying) linear-phase FIR filter.

  Equal to `fft_convolve(audio, frequency_impulse_response(magnitudes,
  window_size), padding, method=method)`: the filter's group delay is
  compensated, so a flat response returns the input unchanged. For up to 129
  bands the filter spectra are computed directly from the magnitudes by one
  small matrix product (the design is linear in the magnitudes), which is
  faster than going through the taps, forward and backward.

  Args:
    audio: [batch, n_samples] float32.
    magnitudes: [batch, n_frames, n_bands] (time-varying), [batch, n_bands] or
      [n_bands] float32 linear amplitudes >= 0, bands linearly spaced from 0 Hz
      to Nyquist. `n_frames` must fit `n_samples` (see `fft_convolve`).
    window_size: int, filter taps (see `frequency_impulse_response`); 0 uses
      `2 * (n_bands - 1)`.
    padding: 'same' (output `n_samples`) or 'valid' (keep the filter tail).
    method: 'overlap_add' (default, smooth between frames) or 'block'.

  Returns:
    [batch, n_samples] float32 ('same') or [batch, n_samples + ir_size - 1]
    ('valid').

  Differentiable with respect to `audio` and `magnitudes`.

  Raises:
    ValueError: on bad ranks or sizes (see `fft_convolve`).

  Example:
    >>> audio = tf.random.stateless_uniform([2, 1600], seed=[0, 0])
    >>> flat = tf.ones([2, 100, 33])
    >>> out = frequency_filter(audio, flat)
    >>> float(tf.reduce_max(tf.abs(out - audio))) < 1e-5
    True
  """
  validation.check_one_of(padding, 'padding', _PADDINGS)
  validation.check_one_of(method, 'method', _METHODS)
  _check_window_size(window_size)
  audio = _check_filter_audio(audio)
  magnitudes = _standardize_filter_shape(tf_float32(magnitudes), 'magnitudes',
                                         audio)
  n_bands = int(magnitudes.shape[-1])
  ir_size = frequency_impulse_response_size(n_bands, window_size)

  def spectrum(fft_size):
    if n_bands * (fft_size + 2) <= _MAX_DESIGN_MATRIX_SIZE:
      # The filter's spectrum is linear in the magnitudes: one small matmul
      # replaces irfft -> window -> rfft (faster, also in the backward pass).
      real, imag = filter_design_matrices(n_bands, window_size, fft_size)
      return tf.complex(tf.tensordot(magnitudes, real, 1),
                        tf.tensordot(magnitudes, imag, 1))
    impulse_response = frequency_impulse_response(magnitudes, window_size)
    return tf.signal.rfft(impulse_response, fft_length=[fft_size])

  ir_shape = magnitudes.shape.as_list()[:-1] + [ir_size]
  full = _convolve(audio, ir_shape, spectrum, method, 'magnitudes')
  return crop_and_compensate_delay(full, int(audio.shape[1]), ir_size, padding,
                                   -1)


# Largest n_bands * (fft_size + 2) for which `frequency_filter` computes the
# filter spectra by a matmul (65 bands at 256 or 512 points, 129 at 512).
_MAX_DESIGN_MATRIX_SIZE = 2**17


def frequency_impulse_response_size(n_bands, window_size=0):
  """Taps of `frequency_impulse_response` for `n_bands` magnitudes.

  Args:
    n_bands: int > 0, magnitudes per frame (0 Hz to Nyquist).
    window_size: int >= 0, as `frequency_impulse_response`.

  Returns:
    int: `2 * (n_bands - 1)` (at least 1) for a window of 0 or at least that
    many taps, else `window_size` rounded down to an odd number.

  Example:
    >>> [frequency_impulse_response_size(65, w) for w in (0, 33, 22, 257)]
    [128, 33, 21, 128]
  """
  n_bands = validation.check_positive_int(n_bands, 'n_bands')
  _check_window_size(window_size)
  ir_size = max(1, 2 * (n_bands - 1))
  if window_size == 0 or window_size >= ir_size:
    return ir_size
  return 2 * ((window_size - 1) // 2) + 1


@functools.lru_cache(maxsize=32)
def filter_design_matrices(n_bands, window_size, fft_size):
  """The linear map from magnitudes to the spectrum of their FIR filter.

  `frequency_impulse_response` is linear in the magnitudes, so the rfft at
  `fft_size` points of its taps is `magnitudes @ (real + 1j * imag)`. The one
  filter design from magnitudes of the library: `frequency_filter` and the
  streaming noise renderer (`ddsp.training.streaming`) both use it.

  Args:
    n_bands: int > 0, magnitudes per frame.
    window_size: int >= 0, as `frequency_impulse_response`.
    fft_size: int >= the number of taps, points of the spectrum.

  Returns:
    (real, imag): [n_bands, fft_size // 2 + 1] float32 numpy arrays
    (read-only), computed in float64.

  Example:
    >>> real, imag = filter_design_matrices(3, 0, 8)
    >>> taps = frequency_impulse_response(np.eye(3, dtype=np.float32))
    >>> np.allclose(real + 1j * imag, np.fft.rfft(taps, 8), atol=1e-6)
    True
  """
  n_bands = validation.check_positive_int(n_bands, 'n_bands')
  fft_size = validation.check_positive_int(fft_size, 'fft_size')
  n_taps = frequency_impulse_response_size(n_bands, window_size)
  if fft_size < n_taps:
    raise ValueError(f'`fft_size` must be at least the number of taps '
                     f'({n_taps}). Received: fft_size={fft_size}')
  with tf.init_scope():  # Eager, also while a tf.function is being traced.
    taps = frequency_impulse_response(np.eye(n_bands, dtype=np.float32),
                                      window_size).numpy().astype(np.float64)
  spectrum = np.fft.rfft(taps, n=fft_size, axis=-1)
  real = spectrum.real.astype(np.float32)
  imag = spectrum.imag.astype(np.float32)
  real.flags.writeable = imag.flags.writeable = False
  return real, imag


# ------------------------------------------------------------------------------
# Sinc filters.
# ------------------------------------------------------------------------------
def sinc(x, threshold=1e-20):
  """Normalized sinc, `sin(pi * x) / (pi * x)`, with `sinc(0) = 1`.

  Near zero it uses its Taylor series, so the value and the gradient stay
  accurate (and finite) there.

  Args:
    x: float32 tensor of any shape, dimensionless.
    threshold: as published, values with `|x| < threshold` are evaluated at
      `threshold` (the published way around 0 / 0; with the default 1e-20
      that is `sinc(0) = 1`, and the gradient there is 0).

  Returns:
    float32 tensor of the same shape.

  Differentiable with respect to `x`.

  Example:
    >>> sinc([0.0, 0.5, 2.5]).numpy().round(4)
    array([1.    , 0.6366, 0.1273], dtype=float32)
  """
  x = tf_float32(x)
  validation.check_in_range(threshold, 'threshold', low=0.0)
  x = tf.where(tf.abs(x) < threshold, threshold * tf.ones_like(x), x)
  u = np.pi * x
  small = tf.abs(u) < 0.1
  u_safe = tf.where(small, tf.ones_like(u), u)
  direct = tf.sin(u_safe) / u_safe
  u2 = tf.square(u)
  taylor = 1.0 - u2 / 6.0 * (1.0 - u2 / 20.0 * (1.0 - u2 / 42.0))
  return tf.where(small, taylor, direct)


@functools.lru_cache(maxsize=64)
def _symmetric_hamming(n_taps):
  window = scipy.signal.windows.hamming(n_taps, sym=True).astype(np.float32)
  window.flags.writeable = False
  return window


def sinc_impulse_response(cutoff_frequency, window_size=512, sample_rate=None,
                          high_pass=False):
  """Windowed-sinc low-pass (or high-pass) FIR filters.

  Each IR is `sinc(c * n)` for n in `[-half, half]`, `half = window_size // 2`,
  times a symmetric Hamming window, normalized to unity gain at 0 Hz; c is the
  cutoff as a fraction of Nyquist. The high-pass is its spectral inversion
  (a centred delta minus the low-pass): unity gain at Nyquist, zero at 0 Hz.
  Cutoffs below about `2 / window_size` of Nyquist cannot be resolved by the
  window and give the window's own averaging filter.

  Args:
    cutoff_frequency: cutoff as a float32 tensor, [batch, n_frames, 1]
      (time-varying), [batch, 1] or a scalar. In Hz in (0, sample_rate / 2] if
      `sample_rate` is given, else as a fraction of Nyquist in (0, 1].
    window_size: int > 0, filter length; the IR has `2 * (window_size // 2) + 1`
      taps (512 -> 513 taps, 32 ms at 16 kHz) with its centre at index
      `window_size // 2`.
    sample_rate: samples per second, or None for a normalized cutoff.
    high_pass: if True, return the complementary high-pass filter.

  Returns:
    float32 IRs in causal form: the shape of `cutoff_frequency` with its
    trailing axis of size 1 (or a scalar's nothing) replaced by the taps, e.g.
    [batch, n_frames, 2 * (window_size // 2) + 1].

  Differentiable with respect to `cutoff_frequency`.

  Raises:
    ValueError: if `window_size` or `sample_rate` is invalid, or a constant
      cutoff is out of range.

  Example:
    >>> ir = sinc_impulse_response([[0.5]], window_size=8)
    >>> ir.shape, round(float(tf.reduce_sum(ir)), 4)
    (TensorShape([1, 9]), 1.0)
  """
  window_size = validation.check_positive_int(window_size, 'window_size')
  validation.check_positive(sample_rate, 'sample_rate', allow_none=True)
  if isinstance(cutoff_frequency, (int, float, np.ndarray, list, tuple)):
    values = np.asarray(cutoff_frequency, dtype=np.float64)
    high = 1.0 if sample_rate is None else sample_rate / 2.0
    if values.size and (values.min() < 0 or values.max() > high):
      unit = 'of Nyquist' if sample_rate is None else 'Hz'
      raise ValueError(f'`cutoff_frequency` must be in [0, {high}] ({unit}). '
                       f'Received: cutoff_frequency={cutoff_frequency!r}')
  cutoff = tf_float32(cutoff_frequency)
  if sample_rate is not None:
    cutoff = cutoff * (2.0 / float(sample_rate))
  if cutoff.shape.rank and cutoff.shape[-1] == 1:
    cutoff = cutoff[..., 0]

  half = window_size // 2
  n_taps = 2 * half + 1
  time = np.arange(-half, half + 1, dtype=np.float32)
  impulse_response = sinc(cutoff[..., tf.newaxis] * time)
  impulse_response *= _symmetric_hamming(n_taps)
  impulse_response /= tf.reduce_sum(impulse_response, axis=-1, keepdims=True)
  if high_pass:
    delta = np.zeros(n_taps, np.float32)
    delta[half] = 1.0
    impulse_response = delta - impulse_response
  return impulse_response


def sinc_filter(audio, cutoff_frequency, window_size=512, sample_rate=None,
                padding='same', high_pass=False, method='overlap_add'):
  """Filters audio with a (time-varying) windowed-sinc low- or high-pass.

  Args:
    audio: [batch, n_samples] float32.
    cutoff_frequency: [batch, n_frames, 1] (time-varying), [batch, 1] or a
      scalar float32 cutoff; Hz if `sample_rate` is given, else a fraction of
      Nyquist in (0, 1]. `n_frames` must fit `n_samples` (see `fft_convolve`).
    window_size: int, filter length (`2 * (window_size // 2) + 1` taps).
    sample_rate: samples per second, or None for a normalized cutoff.
    padding: 'same' or 'valid' (see `fft_convolve`); the filter's group delay
      is compensated.
    high_pass: if True, pass frequencies above the cutoff instead.
    method: 'overlap_add' (default) or 'block', for a time-varying cutoff.

  Returns:
    [batch, n_samples] float32 ('same') or [batch, n_samples + taps - 1]
    ('valid').

  Differentiable with respect to `audio` and `cutoff_frequency`.

  Raises:
    ValueError: on bad ranks, sizes or a constant cutoff out of range.

  Example:
    >>> noise = tf.random.stateless_uniform([1, 16000], [1, 2], -1.0, 1.0)
    >>> low = sinc_filter(noise, 1000.0, sample_rate=16000)
    >>> low.shape
    TensorShape([1, 16000])
  """
  impulse_response = sinc_impulse_response(
      cutoff_frequency, window_size=window_size, sample_rate=sample_rate,
      high_pass=high_pass)
  return fft_convolve(audio, impulse_response, padding=padding,
                      delay_compensation=-1, method=method)


# ------------------------------------------------------------------------------
# Delay lines.
# ------------------------------------------------------------------------------
def variable_length_delay(phase, audio, max_length=512):
  """Reads audio through a delay line whose length changes every sample.

  Output sample t is the input at the fractional time `t - phase[t] *
  max_length`, linearly interpolated between its two neighbouring samples
  (zero before the start of the audio). This is the same linear lookup as
  `linear_lookup` on the delay line `[audio[t], audio[t-1], ...,
  audio[t-max_length]]`, but it reads only the two samples it needs, so memory
  is O(batch * n_samples) rather than O(batch * n_samples * max_length).

  Args:
    phase: [batch, n_samples, 1] or [batch, n_samples] float32 in [0, 1], the
      delay as a fraction of `max_length` (0: no delay, 1: `max_length`
      samples); values outside are clipped.
    audio: [batch, n_samples] float32, the signal to delay. A batch of 1 (of
      either argument) is broadcast against the other.
    max_length: int > 0, the longest delay in samples (512 = 32 ms at 16 kHz).

  Returns:
    [batch, n_samples] float32, the delayed audio.

  Differentiable with respect to `audio` and `phase` (piecewise linear in the
  delay).

  Raises:
    ValueError: on bad ranks, mismatched batch or sample counts, NaN or
      infinite values, or an invalid `max_length`.

  Example:
    >>> audio = tf.constant([[1.0, 2.0, 3.0, 4.0]])
    >>> phase = tf.constant([[0.25, 0.25, 0.375, 0.5]])  # delays 1, 1, 1.5, 2
    >>> variable_length_delay(phase, audio, max_length=4).numpy()
    array([[0. , 1. , 1.5, 2. ]], dtype=float32)
  """
  max_length = validation.check_positive_int(max_length, 'max_length')
  phase = tf_float32(phase)
  audio = tf_float32(audio)
  phase_shape = validation.check_rank(phase, 'phase', (2, 3))
  validation.check_rank(audio, 'audio', 2)
  if phase_shape is not None and len(phase_shape) == 3:
    if phase_shape[-1] not in (1, None):
      raise ValueError('`phase` must have shape [batch, n_samples, 1] or '
                       '[batch, n_samples]. '
                       f'Received: phase.shape={tuple(phase_shape)}')
    phase = phase[..., 0]
  validation.check_audio(audio, 'audio')
  validation.check_finite(phase, 'phase')
  validation.check_same_dim({'phase': phase, 'audio': audio}, 1, 'n_samples')
  tensors = broadcast_batch({'phase': phase, 'audio': audio})
  phase, audio = tensors['phase'], tensors['audio']
  delay = tf.clip_by_value(phase, 0.0, 1.0) * float(max_length)
  return fractional_delay(audio, delay, max_length)


def fractional_delay(audio, delay, max_length):
  """Delays audio by `delay[b, t]` samples (linear interpolation).

  The engine of `variable_length_delay`, taking the delay in samples; no
  argument checks.

  Args:
    audio: [batch, n_samples] float32.
    delay: [batch, n_samples] float32 in [0, max_length] samples.
    max_length: int > 0, the longest delay.

  Returns:
    [batch, n_samples] float32.
  """
  n_samples = tf.shape(audio)[1]
  # The delay line: max_length zeros, then the audio.
  padded = tf.pad(audio, [[0, 0], [max_length, 0]])
  whole = tf.minimum(tf.floor(delay), float(max_length - 1))
  frac = delay - tf.stop_gradient(whole)
  time = tf.range(n_samples)[tf.newaxis, :] + max_length
  # Read position t - delay = (t - whole - 1) + (1 - frac).
  index = time - tf.cast(whole, tf.int32)
  newer = tf.gather(padded, index, batch_dims=1)
  older = tf.gather(padded, index - 1, batch_dims=1)
  return newer + frac * (older - newer)
