"""Spectral features and framing: STFT, magnitudes, mel, MFCC, loudness, f0.

Everything here works on mono audio shaped `[n_samples]`, `[batch, n_samples]`
or `[batch, n_samples, 1]` and keeps the leading axes: a feature of 1-D audio
has no batch axis. Multichannel audio (e.g. the [n_samples, 2] array of
`soundfile.read`) and NaN or infinite samples are refused with a `ValueError`
naming the argument (`ddsp.validation.check_audio`; inside a `tf.function`
the finiteness check runs in the graph), `compute_f0` included.

Framing. Control-rate features (loudness, power, f0) are computed on frames
spaced by `hop = sample_rate / frame_rate` samples, which need not be an
integer (176.4 samples at 44.1 kHz and 250 frames/s): frame `i` starts at
sample `round(i * hop)` of the padded audio. The number of frames is
`get_framed_lengths(n_samples, frame_size, hop, padding)` for padding 'valid'
(only frames that fit), 'same' (`ceil(n / hop)` frames) or 'center'
(`n // hop + 1` frames, frame `i` centred on sample `i * hop`). The framing
functions live in `ddsp.core.framing`; `get_framed_lengths` and `pad` are
also available here, under their published names.

Spectrograms (`stft`, `compute_mag`, ...) keep the published interface: a
frame size and an overlap, frames starting at 0 and (with `pad_end`) zeros
appended to make `ceil(n / hop)` frames, a periodic Hann window and an FFT of
`frame_size` points (`frame_size // 2 + 1` bins from 0 Hz to Nyquist).

Pitch tracking with CREPE lives in `ddsp.crepe`; `compute_f0`,
`PretrainedCREPE`, `CREPE_SAMPLE_RATE` and `CREPE_FRAME_SIZE` are re-exported
here.
"""

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import validation
from ddsp.core import framing

F0_RANGE = 127.0  # MIDI.
DB_RANGE = 80.0  # dB.

_LOG_EPS = 1e-5  # Floor of magnitudes before a log (log(1e-5) = -11.5).


# ------------------------------------------------------------------------------
# Framing (the published names; implemented in `ddsp.core.framing`).
# ------------------------------------------------------------------------------
get_framed_lengths = framing.get_framed_lengths
pad = framing.pad


# ------------------------------------------------------------------------------
# Spectrograms.
# ------------------------------------------------------------------------------
def _stft_hop(frame_size, overlap):
  frame_size = validation.check_positive_int(frame_size, 'frame_size')
  validation.check_in_range(overlap, 'overlap', 0.0, 1.0)
  hop = int(round(frame_size * (1.0 - overlap)))
  if hop < 1:
    raise ValueError('`overlap` must leave a hop of at least one sample '
                     '(hop = round(frame_size * (1 - overlap))). Received: '
                     f'overlap={overlap}, frame_size={frame_size}')
  return frame_size, hop


def stft(audio, frame_size=2048, overlap=0.75, pad_end=True):
  """Short-time Fourier transform with a periodic Hann window (TensorFlow).

  Args:
    audio: [batch, n_samples], [batch, n_samples, 1] or [n_samples] float32,
      amplitude in [-1, 1].
    frame_size: samples per frame and FFT size; 2048 samples = 128 ms at
      16 kHz.
    overlap: fraction of a frame shared by neighbouring frames, in [0, 1);
      the hop is `round(frame_size * (1 - overlap))` samples (512 by default).
    pad_end: if True, append zeros so that there are `ceil(n_samples / hop)`
      frames (the last frames see the end of the audio); if False, only frames
      that fit: `(n_samples - frame_size) // hop + 1`.

  Returns:
    [batch, n_frames, frame_size // 2 + 1] complex64 (no batch axis for 1-D
    audio). Bin k is at `k * sample_rate / frame_size` Hz. Differentiable with
    respect to `audio`.

  Raises:
    ValueError: for audio that is not mono, or bad sizes.

  Example:
    >>> stft(tf.zeros([2, 16000]), frame_size=1024, overlap=0.75).shape
    TensorShape([2, 63, 513])
  """
  frame_size, hop = _stft_hop(frame_size, overlap)
  audio = framing.mono_audio(audio)
  if not pad_end:
    n = framing.signal_length(audio)
    framing.check_n_frames(
        get_framed_lengths(n, frame_size, hop, 'valid')[0], n, frame_size,
        'valid')
  return tf.signal.stft(audio, frame_length=frame_size, frame_step=hop,
                        fft_length=frame_size, pad_end=pad_end)


def stft_np(audio, frame_size=2048, overlap=0.75, pad_end=True):
  """The numpy twin of `stft` (same window, padding, shape; not differentiable).

  Args:
    audio: [batch, n_samples], [batch, n_samples, 1] or [n_samples] array.
    frame_size: samples per frame and FFT size.
    overlap: fraction of a frame shared by neighbouring frames.
    pad_end: append zeros for `ceil(n_samples / hop)` frames.

  Returns:
    [batch, n_frames, frame_size // 2 + 1] complex64 numpy array.

  Example:
    >>> stft_np(np.zeros(16000), frame_size=1024).shape
    (63, 513)
  """
  frame_size, hop = _stft_hop(frame_size, overlap)
  audio = framing.mono_audio(audio, use_tf=False)
  padding = 'same' if pad_end else 'valid'
  framing.check_n_frames(get_framed_lengths(audio.shape[-1], frame_size, hop,
                                            padding)[0],
                         audio.shape[-1], frame_size, padding)
  frames = framing.frame_np(audio, frame_size, hop, padding)
  spectrum = np.fft.rfft(frames * core.periodic_hann(frame_size), axis=-1)
  return spectrum.astype(np.complex64)


@registration.register('ddsp.spectral_ops')
def compute_mag(audio, size=2048, overlap=0.75, pad_end=True):
  """Magnitude spectrogram `|stft(audio)|`.

  Args:
    audio: [batch, n_samples] (or [n_samples], [batch, n_samples, 1]) float32.
    size: frame and FFT size in samples.
    overlap: fraction of overlap between frames (hop = size * (1 - overlap)).
    pad_end: pad the end for `ceil(n_samples / hop)` frames.

  Returns:
    [batch, n_frames, size // 2 + 1] float32, linear magnitude (a full-scale
    sine in the middle of a bin peaks at `size / 4`). Differentiable with
    respect to `audio` (the gradient of |z| at z = 0 is taken as 0).

  Raises:
    ValueError: for multichannel audio (make it mono, e.g.
      `audio.mean(axis=-1)`), NaN or infinite samples, or bad sizes.

  Example:
    >>> compute_mag(tf.zeros([1, 4096]), size=512).shape
    TensorShape([1, 32, 257])
  """
  return tf.abs(stft(audio, frame_size=size, overlap=overlap, pad_end=pad_end))


@registration.register('ddsp.spectral_ops')
def compute_logmag(audio, size=2048, overlap=0.75, pad_end=True):
  """Natural log of the magnitude spectrogram, floored: `log(max(mag, 1e-5))`.

  The floor (log 1e-5 = -11.5) keeps values and gradients finite on silence
  (the gradient is zero below it), as in the published library.

  Args:
    audio: [batch, n_samples] float32.
    size: frame and FFT size in samples.
    overlap: fraction of overlap between frames.
    pad_end: pad the end for `ceil(n_samples / hop)` frames.

  Returns:
    [batch, n_frames, size // 2 + 1] float32, log magnitude (nepers).
    Differentiable with respect to `audio`.

  Example:
    >>> round(float(tf.reduce_max(compute_logmag(tf.zeros([1, 1024]), 256))), 3)
    -11.513
  """
  mag = compute_mag(audio, size, overlap, pad_end)
  return core.safe_log(tf.maximum(mag, _LOG_EPS))


def _check_band(lo_hz, hi_hz, sample_rate):
  validation.check_positive(sample_rate, 'sample_rate')
  nyquist = sample_rate / 2.0
  validation.check_in_range(lo_hz, 'lo_hz', 0.0, nyquist)
  validation.check_in_range(hi_hz, 'hi_hz', 0.0, nyquist)
  if not lo_hz < hi_hz:
    raise ValueError('`lo_hz` must be below `hi_hz`. Received: '
                     f'lo_hz={lo_hz}, hi_hz={hi_hz}')


@registration.register('ddsp.spectral_ops')
def compute_mel(audio, lo_hz=0.0, hi_hz=8000.0, bins=64, fft_size=2048,
                overlap=0.75, pad_end=True, sample_rate=16000):
  """Mel-scaled magnitude spectrogram (HTK mel scale).

  The magnitude spectrogram is multiplied by `bins` triangular filters
  (`tf.signal.linear_to_mel_weight_matrix`): triangles equally spaced and
  linear on the HTK mel scale `2595 * log10(1 + f / 700)` from `lo_hz` to
  `hi_hz`, peak weight 1, no area normalisation, 0 Hz bin excluded. This is
  the filterbank of the published library; its weights are within 0.01 of
  `librosa.filters.mel(htk=True, norm=None)` (whose triangles are linear in
  Hz), so mel spectrograms agree to about 1 % of their maximum.

  Args:
    audio: [batch, n_samples] float32 audio at `sample_rate`.
    lo_hz: lower edge of the lowest filter, Hz, >= 0.
    hi_hz: upper edge of the highest filter, Hz, <= sample_rate / 2.
    bins: number of mel filters.
    fft_size: frame and FFT size in samples.
    overlap: fraction of overlap between frames.
    pad_end: pad the end for `ceil(n_samples / hop)` frames.
    sample_rate: audio sample rate in Hz.

  Returns:
    [batch, n_frames, bins] float32, linear (not log) magnitude per mel band.
    Differentiable with respect to `audio`.

  Raises:
    ValueError: if the band is empty or reaches above Nyquist.

  Example:
    >>> compute_mel(tf.zeros([1, 16000]), bins=32).shape
    TensorShape([1, 32, 32])
  """
  _check_band(lo_hz, hi_hz, sample_rate)
  bins = validation.check_positive_int(bins, 'bins')
  mag = compute_mag(audio, fft_size, overlap, pad_end)
  matrix = tf.signal.linear_to_mel_weight_matrix(
      num_mel_bins=bins, num_spectrogram_bins=fft_size // 2 + 1,
      sample_rate=float(sample_rate), lower_edge_hertz=float(lo_hz),
      upper_edge_hertz=float(hi_hz))
  return tf.tensordot(mag, matrix, axes=1)


@registration.register('ddsp.spectral_ops', serializable=True)
def compute_logmel(audio, lo_hz=80.0, hi_hz=7600.0, bins=64, fft_size=2048,
                   overlap=0.75, pad_end=True, sample_rate=16000):
  """Natural log of `compute_mel`, values floored at 1e-5 (finite on silence).

  Args are those of `compute_mel` (note the defaults: 80 Hz to 7.6 kHz).

  Returns:
    [batch, n_frames, bins] float32 log mel magnitudes. Differentiable with
    respect to `audio`.

  Example:
    >>> compute_logmel(tf.zeros([1, 16000])).shape
    TensorShape([1, 32, 64])
  """
  mel = compute_mel(audio, lo_hz, hi_hz, bins, fft_size, overlap, pad_end,
                    sample_rate)
  return core.safe_log(tf.maximum(mel, _LOG_EPS))


@registration.register('ddsp.spectral_ops')
def compute_mfcc(audio, lo_hz=20.0, hi_hz=8000.0, fft_size=1024, mel_bins=128,
                 mfcc_bins=13, overlap=0.75, pad_end=True, sample_rate=16000):
  """Mel-frequency cepstral coefficients.

  The unnormalised DCT-II of `compute_logmel`
  (`y_k = 2 sum_n x_n cos(pi k (2n + 1) / (2 M))`) scaled by
  `1 / sqrt(2 * mel_bins)` (`tf.signal.mfccs_from_log_mel_spectrograms`, the
  HTK convention); the first `mfcc_bins` coefficients are kept.

  Args:
    audio: [batch, n_samples] float32 audio at `sample_rate`.
    lo_hz: lowest mel filter edge, Hz.
    hi_hz: highest mel filter edge, Hz, <= sample_rate / 2.
    fft_size: frame and FFT size in samples (1024 = 64 ms at 16 kHz).
    mel_bins: number of mel filters.
    mfcc_bins: number of coefficients kept, <= mel_bins.
    overlap: fraction of overlap between frames.
    pad_end: pad the end for `ceil(n_samples / hop)` frames.
    sample_rate: audio sample rate in Hz.

  Returns:
    [batch, n_frames, mfcc_bins] float32. Coefficient 0 is the mean log mel
    magnitude times `sqrt(2 * mel_bins)`. Differentiable with respect to
    `audio`.

  Example:
    >>> compute_mfcc(tf.zeros([1, 16000])).shape
    TensorShape([1, 63, 13])
  """
  mel_bins = validation.check_positive_int(mel_bins, 'mel_bins')
  mfcc_bins = validation.check_positive_int(mfcc_bins, 'mfcc_bins')
  if mfcc_bins > mel_bins:
    raise ValueError('`mfcc_bins` must not exceed `mel_bins`. Received: '
                     f'mfcc_bins={mfcc_bins}, mel_bins={mel_bins}')
  logmel = compute_logmel(audio, lo_hz=lo_hz, hi_hz=hi_hz, bins=mel_bins,
                          fft_size=fft_size, overlap=overlap, pad_end=pad_end,
                          sample_rate=sample_rate)
  return tf.signal.mfccs_from_log_mel_spectrograms(logmel)[..., :mfcc_bins]


# ------------------------------------------------------------------------------
# Frame-rate energy features.
# ------------------------------------------------------------------------------
def _framed_audio(audio, sample_rate, frame_rate, frame_size, padding,
                  use_tf=True):
  """Validated audio -> [..., n_frames, frame_size] frames at `frame_rate`."""
  frame_size = validation.check_positive_int(frame_size, 'frame_size')
  validation.check_one_of(padding, 'padding', framing.PADDINGS)
  hop = framing.hop_from_rates(sample_rate, frame_rate)
  audio = framing.mono_audio(audio, use_tf=use_tf)
  n = framing.signal_length(audio) if use_tf else audio.shape[-1]
  framing.check_n_frames(get_framed_lengths(n, frame_size, hop, padding)[0],
                         n, frame_size, padding)
  if use_tf:
    return framing.frame(audio, frame_size, hop, padding)
  return framing.frame_np(audio, frame_size, hop, padding)


def _mean_square(audio, sample_rate, frame_rate, frame_size, padding):
  frames = _framed_audio(audio, sample_rate, frame_rate, frame_size, padding)
  return tf.reduce_mean(tf.square(frames), axis=-1)


def compute_rms_energy(audio, sample_rate=16000, frame_rate=250,
                       frame_size=512, padding='center'):
  """Root-mean-square amplitude of each frame (rectangular window).

  Args:
    audio: [batch, n_samples] (or [n_samples], [batch, n_samples, 1]) float32
      at `sample_rate`.
    sample_rate: audio sample rate in Hz (16 to 48 kHz and beyond).
    frame_rate: frames per second; 250 = one frame every 4 ms. Need not divide
      `sample_rate` (see the module doc on fractional hops).
    frame_size: samples per frame (512 = 32 ms at 16 kHz).
    padding: 'center', 'same' or 'valid'; frame counts follow
      `get_framed_lengths(n_samples, frame_size, sample_rate / frame_rate,
      padding)`.

  Returns:
    [batch, n_frames] float32, linear RMS amplitude (a full-scale sine gives
    1/sqrt(2)). Differentiable with respect to `audio`, with a zero (finite)
    gradient on all-zero frames.

  Example:
    >>> compute_rms_energy(tf.ones([1, 16000])).shape
    TensorShape([1, 251])
  """
  mean_square = _mean_square(audio, sample_rate, frame_rate, frame_size,
                             padding)
  # sqrt has an infinite slope at 0: keep silent frames out of it.
  positive = mean_square > 0.0
  safe = tf.where(positive, mean_square, tf.ones_like(mean_square))
  return tf.where(positive, tf.sqrt(safe), tf.zeros_like(mean_square))


def compute_power(audio, sample_rate=16000, frame_rate=250, frame_size=512,
                  ref_db=0.0, range_db=DB_RANGE, padding='center'):
  """Frame power in dB: `20 * log10(rms) - ref_db`, floored at `-range_db`.

  Args:
    audio: [batch, n_samples] float32 at `sample_rate`.
    sample_rate: audio sample rate in Hz.
    frame_rate: frames per second (need not divide `sample_rate`).
    frame_size: samples per frame.
    ref_db: level in dB that maps to 0 (0 dB = RMS amplitude 1).
    range_db: dynamic range; results are floored at `-range_db`.
    padding: 'center', 'same' or 'valid' (see `get_framed_lengths`).

  Returns:
    [batch, n_frames] float32, dB. A full-scale sine gives about -3 dB.
    Differentiable with respect to `audio`; gradients stay finite on silence.

  Example:
    >>> float(compute_power(tf.ones([16000]))[100])
    0.0
  """
  mean_square = _mean_square(audio, sample_rate, frame_rate, frame_size,
                             padding)
  return core.power_to_db(mean_square, ref_db=ref_db, range_db=range_db,
                          use_tf=True)


def a_weighting(frequencies, min_db=-80.0):
  """A-weighting gain in dB (IEC 61672-1), as `librosa.A_weighting`.

  `20 log10(R_A(f)) + 2.0` with
  `R_A(f) = 12194^2 f^4 / ((f^2 + 20.6^2) sqrt((f^2 + 107.7^2)
  (f^2 + 737.9^2)) (f^2 + 12194^2))`, about 0 dB at 1 kHz.

  Args:
    frequencies: array of frequencies in Hz, >= 0.
    min_db: floor of the result in dB (0 Hz would be -inf); None for no floor.

  Returns:
    float64 numpy array of gains in dB, the shape of `frequencies`.

  Example:
    >>> [round(float(g), 1) for g in a_weighting([100.0, 1000.0, 4000.0])]
    [-19.1, 0.0, 1.0]
  """
  f_sq = np.square(np.asarray(frequencies, dtype=np.float64))
  c = np.square([12194.217, 20.598997, 107.65265, 737.86223])
  r_a = c[0] * f_sq**2 / ((f_sq + c[1]) * (f_sq + c[0])
                          * np.sqrt((f_sq + c[2]) * (f_sq + c[3])))
  with np.errstate(divide='ignore'):
    gain = 20.0 * np.log10(r_a) + 2.0
  return gain if min_db is None else np.maximum(gain, min_db)


@registration.register('ddsp.spectral_ops')
def compute_loudness(audio, sample_rate=16000, frame_rate=250, n_fft=512,
                     range_db=DB_RANGE, ref_db=0.0, use_tf=True,
                     padding='center'):
  """Perceptual loudness: A-weighted spectral power in dB.

  Each frame of `n_fft` samples is Hann-windowed; its power spectrum
  `|X_k|^2` is weighted by the A-weighting curve (`a_weighting`, in linear
  power) and averaged over the `n_fft // 2 + 1` bins; the result is converted
  with `power_to_db(., ref_db, range_db)`. With the default `n_fft=512` a
  full-scale 1 kHz sine reads about +19.8 dB and every factor of 10 in
  amplitude is 20 dB. `n_fft` is not scaled with `sample_rate`, so the same
  tone reads the same loudness at 16 and 48 kHz.

  Args:
    audio: [batch, n_samples] (or [n_samples], [batch, n_samples, 1]) float32
      audio at `sample_rate`, amplitude in [-1, 1].
    sample_rate: audio sample rate in Hz; any rate from 16 to 48 kHz.
    frame_rate: loudness frames per second (250 = one every 4 ms). It need not
      divide `sample_rate`: at 44.1 kHz the hop is 176.4 samples and frame `i`
      starts at `round(i * 176.4)` (see the module doc).
    n_fft: samples per frame and FFT size (512 = 32 ms at 16 kHz).
    range_db: dynamic range: results are floored at `-range_db` dB.
    ref_db: level that maps to 0 dB.
    use_tf: compute with TensorFlow (differentiable) or numpy (returns a numpy
      array; agrees with the TensorFlow path to about 1e-3 dB).
    padding: 'center' (default, frame i centred at time i / frame_rate),
      'same' or 'valid'; frame counts follow
      `get_framed_lengths(n_samples, n_fft, sample_rate / frame_rate, padding)`.

  Returns:
    [batch, n_frames] float32 loudness in dB ([n_frames] for 1-D audio): a
    tensor (use_tf=True, differentiable with respect to `audio`, finite
    gradients on silence) or a numpy array.

  Raises:
    ValueError: for non-mono audio (e.g. [n_samples, 2] stereo: make it mono
      with `audio.mean(axis=-1)`), NaN or infinite samples,
      `frame_rate > sample_rate`, bad sizes, or audio shorter than one frame
      with padding='valid'.

  Example:
    >>> t = np.arange(16000) / 16000
    >>> loud = compute_loudness(np.sin(2 * np.pi * 1000 * t), use_tf=False)
    >>> loud.shape, round(float(loud[100]), 1)
    ((251,), 19.8)
  """
  n_fft = validation.check_positive_int(n_fft, 'n_fft')
  frames = _framed_audio(audio, sample_rate, frame_rate, n_fft, padding,
                         use_tf=use_tf)
  weights = 10.0**(a_weighting(np.arange(n_fft // 2 + 1) *
                               (float(sample_rate) / n_fft)) / 10.0)
  if use_tf:
    window = tf.constant(core.periodic_hann(n_fft), tf.float32)
    spectrum = tf.signal.rfft(frames * window, fft_length=[n_fft])
    # |X|^2 as re^2 + im^2: smooth (finite gradient) where X = 0.
    power = tf.square(tf.math.real(spectrum)) + tf.square(
        tf.math.imag(spectrum))
    mean_power = tf.reduce_mean(power * tf.constant(weights, tf.float32),
                                axis=-1)
    return core.power_to_db(mean_power, ref_db=ref_db, range_db=range_db,
                            use_tf=True)
  spectrum = np.fft.rfft(frames * core.periodic_hann(n_fft), axis=-1)
  mean_power = np.mean(np.abs(spectrum)**2 * weights, axis=-1)
  loudness = core.power_to_db(mean_power, ref_db=ref_db, range_db=range_db,
                              use_tf=False)
  return np.asarray(loudness, dtype=np.float32)


def pad_or_trim_to_expected_length(vector, expected_len, pad_value=0,
                                   len_tolerance=20, use_tf=False):
  """Pads (with `pad_value`) or trims the last axis to `expected_len`.

  Feature extractors can produce a frame or two more or less than a data
  pipeline expects; this fixes the length and refuses larger differences,
  which indicate a wrong frame rate or sample rate.

  Args:
    vector: [n] or [batch, n] array (or tensor with use_tf=True).
    expected_len: wanted length of the last axis, a non-negative int.
    pad_value: value appended when `vector` is too short.
    len_tolerance: largest accepted |n - expected_len|.
    use_tf: operate on tensors (differentiable) instead of numpy arrays.

  Returns:
    `vector` with last axis of length `expected_len`.

  Raises:
    ValueError: if |n - expected_len| > len_tolerance, or `vector` is not rank
      1 or 2.

  Example:
    >>> pad_or_trim_to_expected_length(np.ones(998), 1000).shape
    (1000,)
  """
  expected_len = validation.check_non_negative_int(expected_len,
                                                   'expected_len')
  len_tolerance = validation.check_non_negative_int(len_tolerance,
                                                    'len_tolerance')
  validation.check_rank(vector, 'vector', (1, 2))
  vector_len = int(vector.shape[-1])
  if abs(vector_len - expected_len) > len_tolerance:
    raise ValueError(
        f'`vector` has length {vector_len}, which differs from expected_len='
        f'{expected_len} by more than len_tolerance={len_tolerance}. Check the '
        'sample rate and frame rate used to compute it.')
  lib = tf if use_tf else np
  if vector_len < expected_len:
    pads = [[0, 0]] * (len(vector.shape) - 1) + [[0, expected_len -
                                                  vector_len]]
    return lib.pad(vector, pads, mode='constant', constant_values=pad_value)
  return vector[..., :expected_len]


# CREPE pitch tracking (defined in ddsp.crepe, part of this module's API).
# pylint: disable=g-import-not-at-top,wrong-import-position
from ddsp.crepe import CREPE_FRAME_SIZE
from ddsp.crepe import CREPE_SAMPLE_RATE
from ddsp.crepe import PretrainedCREPE
from ddsp.crepe import compute_f0
from ddsp.crepe import reset_crepe
