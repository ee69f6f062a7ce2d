"""Oscillators: sinusoid banks, harmonic synthesis, wavetables.

Phase convention (the same everywhere in this module): the phase of a
sinusoid at sample n is the inclusive cumulative sum of its angular frequency,

  phase[n] = initial_phase + sum_{m <= n} 2 * pi * f[m] / sample_rate,

so the very first sample already advanced by one step. A function that returns
a final phase returns phase[n_samples - 1] wrapped to [0, 2 * pi); passing it as
`initial_phase` of the next block continues the waveform without a seam.
"""

import numpy as np
import tensorflow as tf

from ddsp import validation

__all__ = [
    'linear_lookup',
]


def _float32(x):
  return tf.cast(tf.convert_to_tensor(x), tf.float32)


# ------------------------------------------------------------------ Wavetables.
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
      samples) float32, any amplitude.

  Returns:
    [batch, n_samples] float32: the interpolated wavetable values.

  Differentiable with respect to `phase` (the slope of the interpolation) and
  `wavetables`.

  Raises:
    ValueError: if ranks or batch / sample counts do not match.

  Example:
    >>> table = tf.constant([[0.0, 1.0, 0.0, -1.0]])   # a coarse sine
    >>> phase = tf.constant([[0.0, 0.125, 0.25, 0.875]])
    >>> linear_lookup(phase, table).numpy()
    array([[ 0. ,  0.5,  1. , -0.5]], dtype=float32)
  """
  phase = _float32(phase)
  wavetables = _float32(wavetables)
  phase_shape = validation.check_rank(phase, 'phase', (2, 3))
  table_shape = validation.check_rank(wavetables, 'wavetables', (2, 3))
  if phase_shape is not None and len(phase_shape) == 3 and phase_shape[-1] not in (
      1, None):
    raise ValueError('`phase` must have shape [batch, n_samples, 1] or '
                     '[batch, n_samples]. '
                     f'Received: phase.shape={tuple(phase_shape)}')
  validation.check_same_dim({'phase': phase, 'wavetables': wavetables}, 0,
                            'batch')
  if phase.shape.rank == 3:
    phase = phase[..., 0]
  if (table_shape is not None and len(table_shape) == 3 and
      table_shape[1] == 1):
    wavetables = wavetables[:, 0, :]
  if wavetables.shape.rank == 3:
    validation.check_same_dim({'phase': phase, 'wavetables': wavetables}, 1,
                              'n_samples')

  n_wavetable = tf.shape(wavetables)[-1]
  size = tf.cast(n_wavetable, tf.float32)
  position = tf.math.floormod(phase, 1.0) * size
  index = tf.minimum(tf.cast(tf.floor(position), tf.int32), n_wavetable - 1)
  frac = position - tf.stop_gradient(tf.cast(index, tf.float32))
  index_next = tf.math.floormod(index + 1, n_wavetable)
  batch_dims = wavetables.shape.rank - 1  # 1: a table per example; 2: per sample.
  if batch_dims == 2:
    index, index_next = index[..., tf.newaxis], index_next[..., tf.newaxis]
  value = tf.gather(wavetables, index, batch_dims=batch_dims)
  value_next = tf.gather(wavetables, index_next, batch_dims=batch_dims)
  if batch_dims == 2:
    value, value_next = value[..., 0], value_next[..., 0]
  return value + frac * (value_next - value)
