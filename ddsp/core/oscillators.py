"""Oscillators: sinusoid banks and harmonic synthesis.

(The wavetable functions live in `ddsp.core.wavetables` and are re-exported
here, where the published library had them.)

Phase convention (the same everywhere in this module): the phase of a
sinusoid at sample n is the inclusive cumulative sum of its angular frequency,

  phase[n] = initial_phase + sum_{m <= n} 2 * pi * f[m] / sample_rate,

so the very first sample already advanced by one step (wavetables, as in the
published library, use the exclusive sum, m < n). A function that returns a
final phase returns `initial_phase + sum_{all m}`, wrapped to [0, 2 * pi);
passing it as `initial_phase` of the next block continues the waveform without
a seam.

Phase accuracy: phases are never accumulated by long float32 sums. Running
sums over frames (or 64-sample chunks) are float64 and wrapped to one period
before they are cast, so a 60 s tone at 48 kHz stays within about 1e-5 rad of
the exact phase (measured 4e-6; the plain float32 cumulative sum drifts by
up to pi).

Speed and memory: `harmonic_synthesis` with the two-frame resampling methods
('window', 'linear', 'nearest') never builds [batch, n_samples, n_harmonics]
tensors: harmonic k has phase k times the fundamental's; with k = m a + b + 1
(m = ceil(sqrt(n_harmonics))), sin(k phase) comes from the sines and cosines
of (b + 1) phase and m a phase by angle addition (about 4 sqrt(n_harmonics)
sines per sample instead of n_harmonics), multiplied per frame by the two
frames' amplitudes, chunk by chunk, forward and backward (see
`_harmonic_kernel`).
"""

import numpy as np
import tensorflow as tf

from ddsp import registration
from ddsp import validation
from ddsp.core import _harmonic_kernel as harmonic_kernel
from ddsp.core import _phase_kernels as kernels
from ddsp.core._phase_kernels import mute_negative_frequencies
from ddsp.core.resampling import crossfade_weights
from ddsp.core.resampling import resample
from ddsp.core.utils import broadcast_batch
from ddsp.core.utils import safe_divide
from ddsp.core.utils import tf_float32

# Wavetables live in their own module; re-exported here (published layout).
from ddsp.core.wavetables import harmonic_distribution_to_wavetable
from ddsp.core.wavetables import linear_lookup
from ddsp.core.wavetables import wavetable_synthesis

__all__ = [
    'remove_above_nyquist',
    'mute_negative_frequencies',
    'normalize_harmonics',
    'get_harmonic_frequencies',
    'angular_cumsum',
    'oscillator_bank',
    'harmonic_oscillator_bank',
    'harmonic_synthesis',
    'streaming_harmonic_synthesis',
    'sinusoidal_synthesis',
    'sinusoidal_to_harmonic',
    'harmonic_to_sinusoidal',
    'linear_lookup',
    'harmonic_distribution_to_wavetable',
    'wavetable_synthesis',
]

_TWO_FRAME_METHODS = ('nearest', 'linear', 'window')
_RESAMPLE_METHODS = ('nearest', 'linear', 'cubic', 'window')


# ------------------------------------------------------------------------------
# Harmonic helpers.
# ------------------------------------------------------------------------------
def _n_channels(x):
  """Size of the last axis: a static int, else a scalar tensor."""
  return x.shape[-1] if x.shape[-1] is not None else tf.shape(x)[-1]


def remove_above_nyquist(frequency_envelopes, amplitude_envelopes,
                         sample_rate=16000):
  """Silences sinusoids at or above the Nyquist frequency.

  Args:
    frequency_envelopes: float32 [batch, time, n_sinusoids], Hz (time may be
      frames or samples).
    amplitude_envelopes: float32, same shape (or broadcastable), linear.
    sample_rate: Hz; sinusoids with frequency >= sample_rate / 2 get
      amplitude 0.

  Returns:
    Amplitudes like `amplitude_envelopes`, zero where the frequency is at or
    above Nyquist. Differentiable with respect to the kept amplitudes.

  Example:
    >>> remove_above_nyquist([[[1000.0, 8000.0]]], [[[1.0, 1.0]]]).numpy()
    array([[[1., 0.]]], dtype=float32)
  """
  frequency_envelopes = tf_float32(frequency_envelopes)
  amplitude_envelopes = tf_float32(amplitude_envelopes)
  validation.check_positive(sample_rate, 'sample_rate')
  return tf.where(frequency_envelopes >= sample_rate / 2.0,
                  tf.zeros_like(amplitude_envelopes), amplitude_envelopes)


def _audible(frequency_envelopes, amplitude_envelopes, sample_rate):
  """Amplitudes, zero at or above Nyquist and at negative frequencies."""
  inaudible = tf.logical_or(frequency_envelopes >= sample_rate / 2.0,
                            frequency_envelopes < 0.0)
  return tf.where(inaudible, tf.zeros_like(amplitude_envelopes),
                  amplitude_envelopes)


def get_harmonic_frequencies(frequencies, n_harmonics):
  """Integer multiples of a fundamental: f0 * [1, 2, ..., n_harmonics].

  Args:
    frequencies: float32 [batch, time, 1], Hz.
    n_harmonics: positive int.

  Returns:
    float32 [batch, time, n_harmonics], Hz. Differentiable with respect to
    `frequencies`.

  Example:
    >>> get_harmonic_frequencies([[[100.0]]], 3).numpy()
    array([[[100., 200., 300.]]], dtype=float32)
  """
  frequencies = tf_float32(frequencies)
  if not tf.is_tensor(n_harmonics):  # A scalar tensor for dynamic sizes.
    n_harmonics = validation.check_positive_int(n_harmonics, 'n_harmonics')
  ratios = tf.cast(tf.range(1, n_harmonics + 1), tf.float32)
  # [1, 1, n_harmonics], as published: lower-rank inputs give rank 3.
  return frequencies * ratios[tf.newaxis, tf.newaxis, :]


def normalize_harmonics(harmonic_distribution, f0_hz=None, sample_rate=None):
  """Makes a harmonic distribution sum to one, optionally below Nyquist.

  Args:
    harmonic_distribution: float32 [batch, n_frames, n_harmonics], >= 0
      (any shape [..., n_harmonics]).
    f0_hz: float32 [batch, n_frames, 1], Hz (any shape [..., 1] that
      broadcasts against the distribution, e.g. a batch of 1). With
      `sample_rate`, harmonics at or above Nyquist are zeroed before
      normalizing.
    sample_rate: Hz, or None to keep every harmonic.

  Returns:
    float32 [batch, n_frames, n_harmonics] summing to 1 along the last axis
    (all zeros where every harmonic is removed), broadcast against `f0_hz`.
    Differentiable with respect to `harmonic_distribution`.

  Raises:
    ValueError: for shapes that do not broadcast, a last axis of `f0_hz`
      other than 1, or NaN or infinite values.

  Example:
    >>> hd = tf.ones([1, 1, 4])
    >>> normalize_harmonics(hd, [[[3000.0]]], 16000).numpy()
    array([[[0.5, 0.5, 0. , 0. ]]], dtype=float32)
  """
  harmonic_distribution = tf_float32(harmonic_distribution)
  validation.check_rank(harmonic_distribution, 'harmonic_distribution',
                        tuple(range(1, 9)))
  validation.check_finite(harmonic_distribution, 'harmonic_distribution')
  if sample_rate is not None and f0_hz is not None:
    f0_hz = _f0_input(f0_hz, harmonic_distribution, 'harmonic_distribution')
    harmonic_frequencies = get_harmonic_frequencies(
        f0_hz, _n_channels(harmonic_distribution))
    harmonic_distribution = remove_above_nyquist(
        harmonic_frequencies, harmonic_distribution, sample_rate)
  total = tf.reduce_sum(harmonic_distribution, axis=-1, keepdims=True)
  return safe_divide(harmonic_distribution, total)


def _f0_input(f0_hz, harmonic_values, harmonic_name):
  """float32 finite f0 [..., 1] broadcasting against harmonic values."""
  f0_hz = tf_float32(f0_hz)
  shape = validation.static_shape(f0_hz)
  if shape and shape[-1] not in (1, None):
    raise ValueError('`f0_hz` must have a last axis of 1, e.g. '
                     f'[batch, n_frames, 1]. Received: f0_hz.shape={tuple(shape)}')
  validation.check_broadcastable_shapes(
      {'f0_hz': f0_hz if shape else f0_hz[tf.newaxis],
       harmonic_name: harmonic_values}, ignore_last_axis=True)
  return validation.check_finite(f0_hz, 'f0_hz')


# ------------------------------------------------------------------------------
# Oscillator banks at audio rate.
# ------------------------------------------------------------------------------
@registration.register('ddsp.core')
def angular_cumsum(angular_frequency, chunk_size=1000):
  """Wrapped cumulative sum of angular frequency, without float32 drift.

  Sums float32 values within chunks of `chunk_size` samples and the chunk
  totals in float64 (wrapped to [0, 2 pi)), so the error does not grow with
  the length of the signal.

  Args:
    angular_frequency: float32 [batch, n_samples, ...], radians per sample.
    chunk_size: samples per float32 chunk; the error within a chunk is about
      chunk_size * max|angular_frequency| * 6e-8 rad.

  Returns:
    float32 like the input: the inclusive cumulative sum along axis 1,
    wrapped to [0, 2 pi). Differentiable with respect to
    `angular_frequency`.

  Example:
    >>> omega = tf.fill([1, 4, 1], np.pi / 2)
    >>> angular_cumsum(omega)[0, :, 0].numpy()
    array([1.5707964, 3.1415927, 4.712389 , 0.       ], dtype=float32)
  """
  angular_frequency = tf_float32(angular_frequency)
  shape = validation.check_rank(angular_frequency, 'angular_frequency',
                                tuple(range(2, 8)))
  chunk_size = validation.check_positive_int(chunk_size, 'chunk_size')
  dims = tf.shape(angular_frequency)
  flat = tf.reshape(angular_frequency, [dims[0], dims[1], -1])
  # Treating radians/sample as Hz at a sample rate of 2 pi scales by 1.
  phase, _ = kernels.cumulative_phase(flat, kernels.TWO_PI,
                                      chunk_size=chunk_size)
  phase = tf.reshape(phase, dims)
  if shape is not None:
    phase.set_shape(shape)
  return phase


def _check_envelopes(frequency_envelopes, amplitude_envelopes,
                     frequency_name='frequency_envelopes'):
  """Float32, finite, rank-3 envelopes that broadcast against each other."""
  frequency_envelopes = tf_float32(frequency_envelopes)
  amplitude_envelopes = tf_float32(amplitude_envelopes)
  validation.check_rank(frequency_envelopes, frequency_name, 3)
  validation.check_rank(amplitude_envelopes, 'amplitude_envelopes', 3)
  tensors = {frequency_name: frequency_envelopes,
             'amplitude_envelopes': amplitude_envelopes}
  for axis, axis_name in enumerate(('batch', 'n_samples', 'n_sinusoids')):
    if axis == 2 and frequency_name == 'frequency':
      continue  # [batch, n_samples, 1] against n_harmonics.
    validation.check_broadcastable_dim(tensors, axis, axis_name)
  validation.check_not_empty(frequency_envelopes, frequency_name, 1, 'sample')
  for name, x in tensors.items():
    validation.check_finite(x, name)
  return frequency_envelopes, amplitude_envelopes


@registration.register('ddsp.core')
def oscillator_bank(frequency_envelopes, amplitude_envelopes,
                    sample_rate=16000, sum_sinusoids=True,
                    use_angular_cumsum=False, initial_phase=None):
  """Sinusoids with audio-rate frequency and amplitude envelopes.

  Each sinusoid is `a[n] sin(phase[n])` with `phase` the inclusive
  cumulative sum of 2 pi f / sample_rate plus `initial_phase`, accumulated
  in float32 chunks of 64 samples whose totals are summed in float64 (no
  drift). Sinusoids at or above Nyquist, and at negative frequencies (a
  deviation from the published library, which played them phase-inverted),
  are silent at those samples.

  Args:
    frequency_envelopes: float32 [batch, n_samples, n_sinusoids], Hz.
    amplitude_envelopes: float32 [batch, n_samples, n_sinusoids], linear.
      Either envelope may have size 1 on an axis, broadcast against the
      other (as in the published library).
    sample_rate: Hz.
    sum_sinusoids: if True return the mix [batch, n_samples], else each
      sinusoid [batch, n_samples, n_sinusoids].
    use_angular_cumsum: accumulate with `angular_cumsum` (1000-sample
      chunks, as the published library's option) instead of 64-sample chunks.
      Both are drift-free; kept for compatibility.
    initial_phase: None (0) or float32 broadcastable to
      [batch, 1, n_sinusoids], radians.

  Returns:
    float32 [batch, n_samples] or [batch, n_samples, n_sinusoids].
    Differentiable with respect to both envelopes.

  Raises:
    ValueError: if the envelopes are not rank 3, have no samples, hold NaN or
      infinite values, or disagree on an axis where neither has size 1.

  Example:
    >>> f = tf.fill([1, 4, 1], 4000.0)  # a quarter turn per sample at 16 kHz
    >>> np.abs(oscillator_bank(f, tf.ones([1, 4, 1])).numpy()).round(6)
    array([[1., 0., 1., 0.]], dtype=float32)
  """
  frequency_envelopes, amplitude_envelopes = _check_envelopes(
      frequency_envelopes, amplitude_envelopes)
  validation.check_positive(sample_rate, 'sample_rate')
  initial_phase = kernels.initial_phase_arg(initial_phase)
  amplitude_envelopes = _audible(frequency_envelopes, amplitude_envelopes,
                                 sample_rate)
  if use_angular_cumsum:
    omegas = frequency_envelopes * (2.0 * np.pi / sample_rate)
    phases = angular_cumsum(omegas)
    if initial_phase is not None:
      phases = tf.math.floormod(phases + initial_phase, 2.0 * np.pi)
  else:
    phases, _ = kernels.cumulative_phase(frequency_envelopes, sample_rate,
                                         initial_phase)
  audio = amplitude_envelopes * tf.sin(phases)
  if sum_sinusoids:
    audio = tf.reduce_sum(audio, axis=-1)
  return audio


@registration.register('ddsp.core')
def harmonic_oscillator_bank(frequency, amplitude_envelopes, initial_phase=None,
                             sample_rate=16000, use_angular_cumsum=True):
  """Harmonic series with audio-rate envelopes; returns the final phase.

  Harmonic k (k = 1 .. n_harmonics) has phase k * phase[n], with phase the
  drift-free cumulative phase of the fundamental (see `oscillator_bank`)
  starting from `initial_phase`. Harmonics at or above Nyquist, and samples
  with a negative frequency, are silent.

  Args:
    frequency: float32 [batch, n_samples, 1], fundamental frequency, Hz.
    amplitude_envelopes: float32 [batch, n_samples, n_harmonics], linear.
    initial_phase: None (0) or float32 [batch, 1, 1], radians, the phase of
      the fundamental before the first sample.
    sample_rate: Hz.
    use_angular_cumsum: kept for compatibility; the phase is drift-free
      either way.

  Returns:
    audio: float32 [batch, n_samples].
    final_phase: float32 [batch, 1, 1] in [0, 2 pi), the `initial_phase` of
      the next block.
    Differentiable with respect to `frequency` and `amplitude_envelopes`.

  Example:
    >>> f = tf.fill([1, 4, 1], 2000.0)  # an eighth of a turn per sample
    >>> audio, phase = harmonic_oscillator_bank(f, tf.ones([1, 4, 1]))
    >>> round(float(phase[0, 0, 0]) / np.pi, 6)
    1.0
  """
  del use_angular_cumsum
  frequency, amplitude_envelopes = _check_envelopes(frequency,
                                                    amplitude_envelopes,
                                                    'frequency')
  validation.check_shape(frequency, 'frequency', [None, None, 1])
  validation.check_positive(sample_rate, 'sample_rate')
  initial_phase = kernels.initial_phase_arg(initial_phase)
  phase, final_phase = kernels.cumulative_phase(frequency, sample_rate,
                                                initial_phase, float64=True)
  n_harmonics = tf.shape(amplitude_envelopes)[-1]
  ratios = tf.cast(tf.range(1, n_harmonics + 1), tf.float32)
  amplitude_envelopes = _audible(frequency * ratios, amplitude_envelopes,
                                 sample_rate)
  audio = tf.reduce_sum(amplitude_envelopes * tf.sin(phase * ratios), axis=-1)
  return audio, final_phase


# ------------------------------------------------------------------------------
# Harmonic synthesis from frame-rate controls.
# ------------------------------------------------------------------------------
def _harmonic_frames(f0_hz, harmonic_amplitudes, hop, sample_rate, method,
                     initial_phase):
  """Fast path: exact phase, no [batch, n_samples, n_harmonics] tensors."""
  return harmonic_kernel.harmonic_frames(
      f0_hz, harmonic_amplitudes, hop, sample_rate,
      crossfade_weights(hop, method), initial_phase)


def _sinusoid_frames(frequencies, amplitudes, hop, sample_rate, method,
                     initial_phase, sum_sinusoids=True):
  """Free sinusoids from frame-rate controls: exact phase, O(B N C) memory."""
  phase, final_phase = kernels.frame_phase(frequencies, hop, sample_rate,
                                           initial_phase)
  frequency_env = kernels.frame_envelope(frequencies, hop, 'linear')
  amplitude_env = kernels.frame_envelope(amplitudes, hop, method)
  amplitude_env = _audible(frequency_env, amplitude_env, sample_rate)
  audio = amplitude_env * tf.sin(phase)
  if sum_sinusoids:
    audio = tf.reduce_sum(audio, axis=-1)
  return kernels.flatten_hops(audio), final_phase


def _harmonic_controls(frequencies, amplitudes, harmonic_shifts,
                       harmonic_distribution):
  frequencies = kernels.frames_input(frequencies, 'frequencies', 1)
  amplitudes = kernels.frames_input(amplitudes, 'amplitudes', 1)
  tensors = {'frequencies': frequencies, 'amplitudes': amplitudes}
  if harmonic_distribution is not None:
    harmonic_distribution = kernels.frames_input(harmonic_distribution,
                                                 'harmonic_distribution')
    tensors['harmonic_distribution'] = harmonic_distribution
  if harmonic_shifts is not None:
    harmonic_shifts = kernels.frames_input(harmonic_shifts, 'harmonic_shifts')
    tensors['harmonic_shifts'] = harmonic_shifts
  if harmonic_distribution is not None:
    validation.check_same_dim(
        {'amplitudes': amplitudes,
         'harmonic_distribution': harmonic_distribution}, 1, 'n_frames')
  tensors = broadcast_batch(tensors)
  return (tensors['frequencies'], tensors['amplitudes'],
          tensors.get('harmonic_shifts'), tensors.get('harmonic_distribution'))


def harmonic_synthesis(frequencies, amplitudes, harmonic_shifts=None,
                       harmonic_distribution=None, n_samples=64000,
                       sample_rate=16000, amp_resample_method='window',
                       use_angular_cumsum=False, initial_phase=None,
                       frame_rate=250):
  """Monophonic harmonic synthesizer from frame-rate controls.

  Harmonic k has frequency k * f0 * (1 + harmonic_shifts[k]) and amplitude
  amplitudes * harmonic_distribution[k]. Frequencies are upsampled linearly
  and amplitudes with `amp_resample_method` (as `resample` does with
  `add_endpoint=True`: the last frame is held for one hop). Harmonics at or
  above Nyquist are silent at those samples, and frames with a negative f0
  are silent (`mute_negative_frequencies`; the published library played a
  phase-inverted tone there). Controls with a batch of 1 are broadcast
  against the others' batch, as in the published library.

  Without shifts, with a resampling method that interpolates between two
  frames ('window', 'linear', 'nearest') and a whole number of samples per
  frame, a fast exact path runs: memory O(batch * n_samples), no phase drift.
  Otherwise controls are resampled to audio rate and `oscillator_bank` runs.

  Args:
    frequencies: float32 [batch, n_frames, 1], fundamental frequency, Hz.
    amplitudes: float32 [batch, n_frames, 1], linear overall amplitude.
    harmonic_shifts: None or float32 [batch, n_frames, n_harmonics],
      relative detuning of each harmonic (0 = exactly harmonic).
    harmonic_distribution: None or float32 [batch, n_frames, n_harmonics],
      relative amplitude of each harmonic (not normalized here; see
      `normalize_harmonics`). With neither, a single sinusoid.
    n_samples: output length in samples (64000 = 4 s at 16 kHz), or None for
      n_frames * sample_rate / frame_rate.
    sample_rate: Hz.
    amp_resample_method: 'window' (Hann crossfade, smooth), 'linear',
      'nearest' or 'cubic'.
    use_angular_cumsum: kept for compatibility with the published API; every
      path here is drift-free.
    initial_phase: None (0) or float32 [batch, 1, 1], radians, the phase of
      the fundamental before the first sample (harmonic k starts at k times
      it).
    frame_rate: frames per second, used only when n_samples is None (250
      frames/s = a hop of 64 samples at 16 kHz, 192 at 48 kHz).

  Returns:
    float32 [batch, n_samples] audio. Differentiable with respect to
    `frequencies`, `amplitudes`, `harmonic_distribution` and
    `harmonic_shifts`.

  Raises:
    ValueError: for wrong ranks, a last axis of `frequencies` or
      `amplitudes` other than 1, batch sizes that differ (other than 1), no
      frames, NaN or infinite controls (eagerly; inside `tf.function` an
      in-graph check raises, see `ddsp.validation.set_finite_checks`), or bad
      sizes.

  Example:
    >>> f0 = tf.fill([1, 250, 1], 440.0)
    >>> audio = harmonic_synthesis(f0, tf.ones([1, 250, 1]),
    ...                            harmonic_distribution=tf.ones([1, 250, 3]),
    ...                            n_samples=16000)
    >>> audio.shape
    TensorShape([1, 16000])
  """
  del use_angular_cumsum
  frequencies, amplitudes, harmonic_shifts, harmonic_distribution = (
      _harmonic_controls(frequencies, amplitudes, harmonic_shifts,
                         harmonic_distribution))
  validation.check_positive(sample_rate, 'sample_rate')
  validation.check_one_of(amp_resample_method, 'amp_resample_method',
                          _RESAMPLE_METHODS)
  initial_phase = kernels.initial_phase_arg(initial_phase)
  audio, _ = _harmonic_synthesis(
      frequencies, amplitudes, harmonic_shifts, harmonic_distribution,
      n_samples, sample_rate, amp_resample_method, initial_phase, frame_rate)
  return audio


def _harmonic_synthesis(frequencies, amplitudes, harmonic_shifts,
                        harmonic_distribution, n_samples, sample_rate,
                        method, initial_phase, frame_rate):
  """Validated controls -> (audio, final phase of the fundamental)."""
  frequencies, amplitudes = mute_negative_frequencies(frequencies, amplitudes)
  if harmonic_distribution is not None:
    harmonic_amplitudes = amplitudes * harmonic_distribution
    n_harmonics = harmonic_distribution.shape[-1]
  else:
    harmonic_amplitudes = amplitudes
    n_harmonics = (harmonic_shifts.shape[-1] if harmonic_shifts is not None
                   else 1)
  same_frames = (frequencies.shape[1] == amplitudes.shape[1]
                 or frequencies.shape[1] is None or amplitudes.shape[1] is None)
  hop, n_samples = kernels.samples_per_frame(
      n_samples, kernels.n_frames(frequencies), sample_rate, frame_rate)
  fast = hop is not None and same_frames and method in _TWO_FRAME_METHODS
  if fast and harmonic_shifts is None:
    audio, final_phase = _harmonic_frames(frequencies, harmonic_amplitudes,
                                          hop, sample_rate, method,
                                          initial_phase)
    return _with_static_length(audio, n_samples), final_phase

  if n_harmonics is None:
    n_harmonics = _n_channels(harmonic_shifts if harmonic_distribution is None
                              else harmonic_distribution)
  harmonic_frequencies = get_harmonic_frequencies(frequencies, n_harmonics)
  if harmonic_shifts is not None:
    harmonic_frequencies *= 1.0 + harmonic_shifts
  harmonic_amplitudes += tf.zeros_like(harmonic_frequencies[:, :1])
  ratios = tf.cast(tf.range(1, n_harmonics + 1), tf.float32)
  harmonic_phase = None if initial_phase is None else initial_phase * ratios
  if fast:
    audio, _ = _sinusoid_frames(harmonic_frequencies, harmonic_amplitudes, hop,
                                sample_rate, method, harmonic_phase)
  else:
    frequency_envelopes = resample(harmonic_frequencies, n_samples)
    amplitude_envelopes = resample(harmonic_amplitudes, n_samples,
                                   method=method)
    audio = oscillator_bank(frequency_envelopes, amplitude_envelopes,
                            sample_rate=sample_rate,
                            initial_phase=harmonic_phase)
  # Final phase of the fundamental.
  if hop is not None:
    _, final_phase = kernels.frame_phase(frequencies, hop, sample_rate,
                                         initial_phase)
  else:
    _, final_phase = kernels.cumulative_phase(
        resample(frequencies, n_samples), sample_rate, initial_phase,
        float64=True)
  return _with_static_length(audio, n_samples), final_phase


def _with_static_length(audio, n_samples):
  """Gives [batch, n_samples] audio its length as a static shape where known.

  The chunked kernels reshape through dynamic sizes, so without this a graph
  would see [batch, None] and layers needing a static length (e.g. FFT
  convolution in a reverb) could not follow.
  """
  if isinstance(n_samples, int):
    audio = tf.ensure_shape(audio, [audio.shape[0], n_samples])
  return audio


def streaming_harmonic_synthesis(frequencies, amplitudes,
                                 harmonic_distribution=None,
                                 initial_phase=None, n_samples=64000,
                                 sample_rate=16000,
                                 amp_resample_method='linear',
                                 frame_rate=250):
  """Harmonic synthesis of one block of a stream; returns the final phase.

  Like `harmonic_synthesis`, but the distribution is normalized and cleared
  above Nyquist (as `normalize_harmonics`), and the fundamental's phase is
  carried between blocks: pass each block's `final_phase` as the next block's
  `initial_phase`. Within a block the last frame is held for one hop, so
  blocks join seamlessly when the controls are continuous across blocks.

  Args:
    frequencies: float32 [batch, n_frames, 1], fundamental frequency, Hz.
    amplitudes: float32 [batch, n_frames, 1], linear overall amplitude.
    harmonic_distribution: None or float32 [batch, n_frames, n_harmonics].
    initial_phase: None (0) or float32 [batch, 1, 1], radians.
    n_samples: samples in the block, or None for
      n_frames * sample_rate / frame_rate.
    sample_rate: Hz.
    amp_resample_method: 'linear' (default), 'window', 'nearest' or 'cubic'.
    frame_rate: frames per second, used only when n_samples is None.

  Returns:
    audio: float32 [batch, n_samples].
    final_phase: float32 [batch, 1, 1] in [0, 2 pi).
    Differentiable with respect to the controls.

  Example:
    >>> f0, amps = tf.fill([1, 10, 1], 440.0), tf.ones([1, 10, 1])
    >>> a1, phase = streaming_harmonic_synthesis(f0, amps, n_samples=640)
    >>> a2, phase = streaming_harmonic_synthesis(f0, amps, initial_phase=phase,
    ...                                          n_samples=640)
    >>> a2.shape
    TensorShape([1, 640])
  """
  frequencies, amplitudes, _, harmonic_distribution = _harmonic_controls(
      frequencies, amplitudes, None, harmonic_distribution)
  validation.check_positive(sample_rate, 'sample_rate')
  validation.check_one_of(amp_resample_method, 'amp_resample_method',
                          _RESAMPLE_METHODS)
  if harmonic_distribution is not None:
    harmonic_distribution = normalize_harmonics(harmonic_distribution,
                                                frequencies, sample_rate)
  return _harmonic_synthesis(frequencies, amplitudes, None,
                             harmonic_distribution, n_samples, sample_rate,
                             amp_resample_method,
                             kernels.initial_phase_arg(initial_phase),
                             frame_rate)


def sinusoidal_synthesis(frequencies, amplitudes, n_samples=64000,
                         sample_rate=16000, amp_resample_method='window',
                         initial_phase=None, frame_rate=250):
  """Bank of free sinusoids from frame-rate controls.

  Frequencies are upsampled linearly and amplitudes with
  `amp_resample_method` (the last frame held for one hop); sinusoids at or
  above Nyquist are silent at those samples, and a sinusoid is silent at the
  frames where its frequency is negative (`mute_negative_frequencies`). With
  a two-frame method and a whole number of samples per frame, the phase of
  each sinusoid is computed in closed form per frame (exact, no drift);
  otherwise the controls are resampled and `oscillator_bank` runs.

  Args:
    frequencies: float32 [batch, n_frames, n_sinusoids], Hz.
    amplitudes: float32 [batch, n_frames, n_sinusoids], linear. A batch (or
      sinusoid axis) of 1 in either is broadcast against the other.
    n_samples: output length (64000 = 4 s at 16 kHz), or None for
      n_frames * sample_rate / frame_rate.
    sample_rate: Hz.
    amp_resample_method: 'window', 'linear', 'nearest' or 'cubic'.
    initial_phase: None (0) or float32 broadcastable to
      [batch, 1, n_sinusoids], radians.
    frame_rate: frames per second, used only when n_samples is None.

  Returns:
    float32 [batch, n_samples]. Differentiable with respect to
    `frequencies` and `amplitudes`.

  Raises:
    ValueError: for wrong ranks, disagreeing batch, frame or sinusoid
      counts, no frames, or NaN or infinite controls.

  Example:
    >>> freqs = tf.constant([220.0, 330.0]) * tf.ones([1, 250, 2])
    >>> sinusoidal_synthesis(freqs, tf.ones([1, 250, 2]), 16000).shape
    TensorShape([1, 16000])
  """
  frequencies = kernels.frames_input(frequencies, 'frequencies')
  amplitudes = kernels.frames_input(amplitudes, 'amplitudes')
  tensors = {'frequencies': frequencies, 'amplitudes': amplitudes}
  validation.check_same_dim(tensors, 1, 'n_frames')
  validation.check_broadcastable_dim(tensors, 2, 'n_sinusoids')
  tensors = broadcast_batch(tensors)
  frequencies, amplitudes = mute_negative_frequencies(tensors['frequencies'],
                                                      tensors['amplitudes'])
  validation.check_positive(sample_rate, 'sample_rate')
  validation.check_one_of(amp_resample_method, 'amp_resample_method',
                          _RESAMPLE_METHODS)
  initial_phase = kernels.initial_phase_arg(initial_phase)
  hop, n_samples = kernels.samples_per_frame(
      n_samples, kernels.n_frames(frequencies), sample_rate, frame_rate)
  if hop is not None and amp_resample_method in _TWO_FRAME_METHODS:
    audio, _ = _sinusoid_frames(frequencies, amplitudes, hop, sample_rate,
                                amp_resample_method, initial_phase)
    return audio
  return oscillator_bank(
      resample(frequencies, n_samples),
      resample(amplitudes, n_samples, method=amp_resample_method),
      sample_rate=sample_rate, initial_phase=initial_phase)


# ------------------------------------------------------------------------------
# Conversions between sinusoidal and harmonic controls.
# ------------------------------------------------------------------------------
def sinusoidal_to_harmonic(sin_amps, sin_freqs, f0_hz, harmonic_width=0.1,
                           n_harmonics=100, sample_rate=16000, normalize=False):
  """Gathers free sinusoids onto the harmonics of a fundamental.

  Each harmonic collects the amplitudes of the sinusoids near it, weighted by
  a Gaussian of the frequency difference in units of f0:
  exp(-((f_sin - k f0) / (f0 * harmonic_width))^2).

  Args:
    sin_amps: float32 [batch, n_frames, n_sinusoids], linear amplitudes.
    sin_freqs: float32 [batch, n_frames, n_sinusoids], Hz.
    f0_hz: float32 [batch, n_frames, 1], Hz.
    harmonic_width: width of the Gaussian as a fraction of f0.
    n_harmonics: number of harmonics to output.
    sample_rate: Hz; harmonics at or above Nyquist get 0.
    normalize: as published, each harmonic gives a total weight of at most
      1 to the sinusoids (where its Gaussian weights sum to more than 1 they
      are divided by their sum), so a harmonic never collects more than the
      largest amplitude of the sinusoids near it.

  Returns:
    harm_amp: float32 [batch, n_frames, 1], total harmonic amplitude.
    harm_dist: float32 [batch, n_frames, n_harmonics], sums to 1.
    Differentiable with respect to every input.

  Example:
    >>> amp, dist = sinusoidal_to_harmonic([[[0.5, 0.25]]], [[[200., 400.]]],
    ...                                    [[[200.0]]], n_harmonics=3)
    >>> dist.numpy().round(3)
    array([[[0.667, 0.333, 0.   ]]], dtype=float32)
  """
  sin_amps = kernels.frames_input(sin_amps, 'sin_amps')
  sin_freqs = kernels.frames_input(sin_freqs, 'sin_freqs')
  f0_hz = kernels.frames_input(f0_hz, 'f0_hz', 1)
  validation.check_broadcastable_shapes({'sin_amps': sin_amps,
                                         'sin_freqs': sin_freqs})
  validation.check_broadcastable_shapes(
      {'sin_freqs': sin_freqs, 'f0_hz': f0_hz}, ignore_last_axis=True)
  harm_freqs = get_harmonic_frequencies(f0_hz, n_harmonics)
  # [batch, n_frames, n_harmonics, n_sinusoids].
  difference = sin_freqs[:, :, tf.newaxis, :] - harm_freqs[..., tf.newaxis]
  ratio = safe_divide(difference, f0_hz[..., tf.newaxis])
  weights = tf.exp(-(ratio / harmonic_width)**2)
  if normalize:
    total = tf.reduce_sum(weights, axis=-1, keepdims=True)
    weights = tf.where(total > 1.0, safe_divide(weights, total), weights)
  harm_amps = tf.reduce_sum(weights * sin_amps[:, :, tf.newaxis, :], axis=-1)
  harm_amps = remove_above_nyquist(harm_freqs, harm_amps, sample_rate)
  harm_amp = tf.reduce_sum(harm_amps, axis=-1, keepdims=True)
  harm_dist = safe_divide(harm_amps, harm_amp)
  return harm_amp, harm_dist


def harmonic_to_sinusoidal(harm_amp, harm_dist, f0_hz, sample_rate=16000):
  """Harmonic controls -> sinusoid amplitudes and frequencies.

  The inputs broadcast against each other as in the published library: any
  of them may have a batch or frame axis of 1, and `harm_amp` may be a
  scalar.

  Args:
    harm_amp: float32 [batch, n_frames, 1] (or a scalar, or any shape that
      broadcasts against `harm_dist`), overall amplitude.
    harm_dist: float32 [batch, n_frames, n_harmonics], relative amplitudes
      (renormalized here after removing harmonics at or above Nyquist).
    f0_hz: float32 [batch, n_frames, 1] (or [..., 1] broadcasting against
      `harm_dist`, or a scalar), Hz.
    sample_rate: Hz.

  Returns:
    amps: float32 [batch, n_frames, n_harmonics], linear.
    freqs: float32 [batch, n_frames, n_harmonics] (at least rank 3, the
      shape of `f0_hz` with its last axis of n_harmonics), Hz.
    Differentiable with respect to every input.

  Raises:
    ValueError: for shapes that do not broadcast or NaN or infinite values.

  Example:
    >>> amps, freqs = harmonic_to_sinusoidal([[[1.0]]], [[[1.0, 1.0]]],
    ...                                      [[[100.0]]])
    >>> amps.numpy()
    array([[[0.5, 0.5]]], dtype=float32)
    >>> freqs.numpy()
    array([[[100., 200.]]], dtype=float32)
  """
  harm_amp = validation.check_finite(tf_float32(harm_amp), 'harm_amp')
  harm_dist = tf_float32(harm_dist)
  validation.check_broadcastable_shapes({'harm_amp': harm_amp,
                                         'harm_dist': harm_dist})
  harm_dist = normalize_harmonics(harm_dist, f0_hz, sample_rate)
  freqs = get_harmonic_frequencies(f0_hz, _n_channels(harm_dist))
  return harm_amp * harm_dist, freqs
