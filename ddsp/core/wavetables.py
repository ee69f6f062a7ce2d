"""Wavetables: interpolated table lookup and wavetable synthesis.

A wavetable holds one period of a waveform (n_wavetable samples, phase 0 to
1 cycle). `wavetable_synthesis` reads it at the phase of an oscillator,
interpolating linearly between entries and between the tables of
neighbouring frames; the phase (in cycles) is the exclusive cumulative sum of
f / sample_rate, accumulated without float32 drift like every oscillator in
`ddsp.core.oscillators`.

All functions here are also available as `ddsp.core.<name>` and
`ddsp.core.oscillators.<name>`.
"""

import numpy as np
import tensorflow as tf

from ddsp import validation
from ddsp.core import _phase_kernels as kernels
from ddsp.core.resampling import crossfade_weights
from ddsp.core.resampling import resample
from ddsp.core.utils import broadcast_batch
from ddsp.core.utils import tf_float32

__all__ = [
    'linear_lookup',
    'harmonic_distribution_to_wavetable',
    'wavetable_synthesis',
]


def _neighbours(phase, n_wavetable):
  """Entries around a phase in cycles: (index, next index, fraction).

  The fraction carries the gradient with respect to the phase.
  """
  position = tf.math.floormod(phase, 1.0) * tf.cast(n_wavetable, tf.float32)
  index = tf.minimum(tf.cast(tf.floor(position), tf.int32), n_wavetable - 1)
  frac = position - tf.stop_gradient(tf.cast(index, tf.float32))
  return index, tf.math.floormod(index + 1, n_wavetable), frac


def _lookup_rows(tables, rows, phase, n_wavetable):
  """Reads flat tables [n_rows * n_wavetable] at rows [R, 1], phase [R, hop]."""
  index, index_next, frac = _neighbours(phase, n_wavetable)
  base = rows * n_wavetable
  value = tf.gather(tables, base + index)
  value_next = tf.gather(tables, base + index_next)
  return value + frac * (value_next - value)


def _check_wavetables(wavetables):
  """float32 finite wavetables [batch, (n,) n_wavetable] with >= 1 entry."""
  wavetables = tf_float32(wavetables)
  shape = validation.check_rank(wavetables, 'wavetables', (2, 3))
  validation.check_not_empty(wavetables, 'wavetables', -1, 'entry')
  validation.check_finite(wavetables, 'wavetables')
  return wavetables, shape


def linear_lookup(phase, wavetables):
  """Reads wavetables at a phase, interpolating linearly between entries.

  A wavetable holds one period of a waveform: entry i sits at phase
  i / n_wavetable (in cycles), and the table wraps around, so phases between the
  last entry and 1.0 interpolate towards entry 0. Only the two neighbouring
  entries are read per sample (a gather), so memory is O(batch * n_samples)
  whatever the table size.

  Args:
    phase: [batch, n_samples, 1] or [batch, n_samples] float32, cycles in
      [0, 1] (position within the wavetable period; values outside are wrapped
      periodically).
    wavetables: [batch, n_samples, n_wavetable] (one table per sample),
      [batch, 1, n_wavetable] or [batch, n_wavetable] (one table for all
      samples) float32, any amplitude, at least one entry. A batch of 1 (of
      either argument) is broadcast against the other.

  Returns:
    [batch, n_samples] float32: the interpolated wavetable values.

  Differentiable with respect to `phase` (the slope of the interpolation) and
  `wavetables`.

  Raises:
    ValueError: if ranks or batch / sample counts do not match, the tables
      are empty, or a value is NaN or infinite.

  Example:
    >>> table = tf.constant([[0.0, 1.0, 0.0, -1.0]])   # a coarse sine
    >>> phase = tf.constant([[0.0, 0.125, 0.25, 0.875]])
    >>> linear_lookup(phase, table).numpy()
    array([[ 0. ,  0.5,  1. , -0.5]], dtype=float32)
  """
  phase = tf_float32(phase)
  wavetables, table_shape = _check_wavetables(wavetables)
  phase_shape = validation.check_rank(phase, 'phase', (2, 3))
  if (phase_shape is not None and len(phase_shape) == 3 and
      phase_shape[-1] not in (1, None)):
    raise ValueError('`phase` must have shape [batch, n_samples, 1] or '
                     '[batch, n_samples]. '
                     f'Received: phase.shape={tuple(phase_shape)}')
  validation.check_finite(phase, 'phase')
  tensors = broadcast_batch({'phase': phase, 'wavetables': wavetables})
  phase, wavetables = tensors['phase'], tensors['wavetables']
  if phase.shape.rank == 3:
    phase = phase[..., 0]
  if (table_shape is not None and len(table_shape) == 3 and
      table_shape[1] == 1):
    wavetables = wavetables[:, 0, :]
  if wavetables.shape.rank == 3:
    validation.check_same_dim({'phase': phase, 'wavetables': wavetables}, 1,
                              'n_samples')

  index, index_next, frac = _neighbours(phase, tf.shape(wavetables)[-1])
  # 1: a table per example; 2: a table per sample.
  batch_dims = wavetables.shape.rank - 1
  if batch_dims == 2:
    index, index_next = index[..., tf.newaxis], index_next[..., tf.newaxis]
  value = tf.gather(wavetables, index, batch_dims=batch_dims)
  value_next = tf.gather(wavetables, index_next, batch_dims=batch_dims)
  if batch_dims == 2:
    value, value_next = value[..., 0], value_next[..., 0]
  return value + frac * (value_next - value)


def harmonic_distribution_to_wavetable(harmonic_distribution, n_wavetable=2048):
  """One period of the waveform of a harmonic distribution, per frame.

  wavetable[j] = sum_k a_k cos(2 pi k j / n_wavetable), k = 1 .. n_harmonics
  (cosine phase, no DC), the same table as an inverse real FFT of the
  distribution scaled by n_wavetable / 2. A harmonic exactly at
  n_wavetable / 2 counts half, as in that FFT.

  Args:
    harmonic_distribution: float32 [batch, n_frames, n_harmonics] (or
      [batch, n_harmonics]), amplitude of each harmonic.
    n_wavetable: positive even int >= 2 * n_harmonics, samples per table.

  Returns:
    float32 [batch, n_frames, n_wavetable] (or [batch, n_wavetable]).
    Differentiable with respect to `harmonic_distribution`.

  Raises:
    ValueError: if n_wavetable is too small for the number of harmonics.

  Example:
    >>> harmonic_distribution_to_wavetable([[[1.0]]], 4).numpy().round(6)
    array([[[ 1.,  0., -1., -0.]]], dtype=float32)
  """
  harmonic_distribution = tf_float32(harmonic_distribution)
  validation.check_rank(harmonic_distribution, 'harmonic_distribution', (2, 3))
  n_wavetable = validation.check_positive_int(n_wavetable, 'n_wavetable')
  n_harmonics = harmonic_distribution.shape[-1]
  if n_harmonics is None or 2 * n_harmonics > n_wavetable:
    raise ValueError(
        '`n_wavetable` must be at least twice the (static) number of '
        f'harmonics. Received: n_wavetable={n_wavetable}, '
        f'harmonic_distribution.shape={tuple(harmonic_distribution.shape)}')
  k = np.arange(1, n_harmonics + 1)[:, np.newaxis]
  j = np.arange(n_wavetable)[np.newaxis, :]
  basis = np.cos(2.0 * np.pi * ((k * j) % n_wavetable) / n_wavetable)
  basis[k[:, 0] * 2 == n_wavetable] *= 0.5
  return tf.tensordot(harmonic_distribution,
                      tf.constant(basis, tf.float32), axes=1)


def wavetable_synthesis(frequencies, amplitudes, wavetables, n_samples=64000,
                        sample_rate=16000, initial_phase=None, frame_rate=250):
  """Monophonic wavetable synthesizer.

  Reads the wavetable at the oscillator phase in cycles (exclusive
  cumulative sum of f / sample_rate, drift-free), with linear interpolation
  between table entries and between the tables of neighbouring frames.
  Frequencies are upsampled linearly and amplitudes with Hann windows
  ('window'), the last frame held for one hop. With a whole number of samples
  per frame, tables are never upsampled to audio rate (memory
  O(batch * n_samples)). Frames with a negative f0 are silent (the published
  library read the table backwards there); controls with a batch of 1 are
  broadcast against the others.

  Args:
    frequencies: float32 [batch, n_frames, 1], Hz.
    amplitudes: float32 [batch, n_frames, 1], linear.
    wavetables: float32 [batch, n_wavetable] (one table),
      [batch, 1, n_wavetable] or [batch, n_frames, n_wavetable] (a table per
      frame, crossfaded linearly), one period each.
    n_samples: output length, a multiple of n_frames (64000 = 4 s at
      16 kHz), or None for n_frames * sample_rate / frame_rate.
    sample_rate: Hz.
    initial_phase: None (0) or float32 [batch, 1, 1], radians.
    frame_rate: frames per second, used only when n_samples is None.

  Returns:
    float32 [batch, n_samples]. Differentiable with respect to `amplitudes`,
    `wavetables` and `frequencies`.

  Raises:
    ValueError: for wrong ranks, disagreeing batch counts (other than 1),
      no frames, empty tables, NaN or infinite controls, or n_samples not a
      multiple of n_frames.

  Example:
    >>> table = tf.sin(tf.linspace(0.0, 2 * np.pi, 65)[:-1])[tf.newaxis]
    >>> audio = wavetable_synthesis(tf.fill([1, 10, 1], 440.0),
    ...                             tf.ones([1, 10, 1]), table, n_samples=640)
    >>> audio.shape
    TensorShape([1, 640])
  """
  frequencies = kernels.frames_input(frequencies, 'frequencies', 1)
  amplitudes = kernels.frames_input(amplitudes, 'amplitudes', 1)
  wavetables, table_shape = _check_wavetables(wavetables)
  tensors = broadcast_batch(
      {'frequencies': frequencies, 'amplitudes': amplitudes,
       'wavetables': wavetables})
  frequencies, amplitudes = kernels.mute_negative_frequencies(
      tensors['frequencies'], tensors['amplitudes'])
  wavetables = tensors['wavetables']
  validation.check_positive(sample_rate, 'sample_rate')
  if table_shape is not None and len(table_shape) == 2:
    wavetables = wavetables[:, tf.newaxis, :]
  per_frame = wavetables.shape[1] != 1
  initial_cycles = kernels.initial_phase_arg(initial_phase)
  if initial_cycles is not None:
    initial_cycles = initial_cycles / (2.0 * np.pi)

  n_frames = kernels.n_frames(frequencies)
  hop, n_samples = kernels.samples_per_frame(n_samples, n_frames, sample_rate,
                                      frame_rate)
  same_frames = all(x.shape[1] == frequencies.shape[1] for x in
                    [amplitudes] + ([wavetables] if per_frame else []))
  if hop is not None and same_frames:
    phase, _ = kernels.frame_phase(frequencies, hop, sample_rate,
                                   initial_cycles, exclusive=True, period=1.0)
    phase = phase[..., 0]  # [batch, n_frames, hop]
    envelope = kernels.frame_envelope(amplitudes, hop, 'window')[..., 0]
    n_wavetable = tf.shape(wavetables)[-1]
    shape = tf.shape(phase)
    batch, rows = shape[0], shape[0] * shape[1]
    flat_tables = tf.reshape(wavetables, [-1])
    flat_phase = tf.reshape(phase, [rows, -1])
    if per_frame:
      frame = tf.range(shape[1])
      first = tf.range(batch)[:, tf.newaxis] * shape[1]
      row = tf.reshape(first + frame, [rows, 1])
      row_next = tf.reshape(first + tf.minimum(frame + 1, shape[1] - 1),
                            [rows, 1])
      audio = _lookup_rows(flat_tables, row, flat_phase, n_wavetable)
      audio_next = _lookup_rows(flat_tables, row_next, flat_phase,
                                n_wavetable)
      fade = crossfade_weights(hop, 'linear')
      audio += fade * (audio_next - audio)
    else:
      row = tf.reshape(tf.repeat(tf.range(batch), shape[1]), [rows, 1])
      audio = _lookup_rows(flat_tables, row, flat_phase, n_wavetable)
    audio = tf.reshape(audio, tf.shape(envelope)) * envelope
    return kernels.flatten_hops(audio)

  if hop is None:
    raise ValueError(
        '`n_samples` must be a multiple of the number of frames (amplitudes '
        'are upsampled with one Hann window per frame). '
        f'Received: n_samples={n_samples}, '
        f'frequencies.shape={tuple(frequencies.shape)}')
  # General path (tables with another frame rate): everything at audio rate.
  envelope = resample(amplitudes, n_samples, method='window')[:, :, 0]
  frequency_envelope = resample(frequencies, n_samples)
  if per_frame:
    wavetables = resample(wavetables, n_samples)
  phase, _ = kernels.cumulative_phase(frequency_envelope, sample_rate,
                                      initial_cycles, exclusive=True,
                                      period=1.0, float64=True)
  return linear_lookup(phase, wavetables) * envelope
