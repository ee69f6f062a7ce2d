"""Granular synthesis: windowed grains of a source buffer, overlap-added.

Grain onsets follow the density like the zero crossings of an oscillator:
with `c[n] = sum_{m < n} density[m] / sample_rate` (grains so far), grain `i`
starts where `c` reaches `i`, at a fractional sample time found by linear
interpolation between the two samples around the crossing (grain 0 starts at
sample 0). Onset times therefore move continuously with the density, which
gets gradients. A grain takes the controls at its onset sample and renders

  out[n] += amplitude * w((n - t_i) / L) * source(p * S + r * (n - t_i)),

with `w` a Hann window over the grain's length `L` samples, `p` its position
(a fraction of the source length `S`, wrapped), `r` the pitch ratio (2.0 an
octave up, negative values play backwards) and the source read circularly
with linear interpolation. Everything is vectorized over grains:
`[batch, max_grains, max_grain_length]` tensors, overlap-added with a
segment sum.
"""

import numpy as np
import tensorflow as tf

from ddsp import validation
from ddsp.core.resampling import resample
from ddsp.core.utils import broadcast_batch
from ddsp.core.utils import tf_float32

__all__ = ['granular_synthesis', 'max_grains']


def max_grains(n_samples, sample_rate, max_density):
  """The most grains a clip can hold: `floor(n_samples * max_density / sr) + 1`.

  Example:
    >>> max_grains(16000, 16000, 50.0)
    51
  """
  return int(np.floor(n_samples * max_density / sample_rate)) + 1


def _frames(x, name):
  """float32 [batch, n_frames] from [batch, n_frames(, 1)], finite."""
  x = tf_float32(x)
  shape = validation.check_rank(x, name, (2, 3))
  if len(shape) == 3:
    if shape[2] not in (1, None):
      raise ValueError(f'`{name}` must have shape [batch, n_frames, 1]. '
                       f'Received: {name}.shape={tuple(shape)}')
    x = x[..., 0]
  validation.check_not_empty(x, name, 1, 'frame')
  return validation.check_finite(x, name)


def granular_synthesis(source, positions, grain_sizes, densities,
                       pitch_ratios, amplitudes, n_samples, sample_rate=16000,
                       max_density=100.0, max_grain_size=0.1,
                       position_offsets=None):
  """Renders grains of `source` (see the module docstring).

  Controls are per frame, upsampled linearly to audio rate. Out-of-range
  values are mapped as follows: positions wrap modulo 1, grain sizes are
  clipped to [2 samples, max_grain_size], densities to [0, max_density].

  Args:
    source: float32 [batch or 1, source_length], the buffer grains read.
    positions: float32 [batch, n_frames(, 1)], where grains start reading,
      as a fraction of the source length (0.5 = the middle).
    grain_sizes: float32 [batch, n_frames(, 1)], seconds.
    densities: float32 [batch, n_frames(, 1)], grains per second.
    pitch_ratios: float32 [batch, n_frames(, 1)], playback speed of a grain
      (1 = as recorded).
    amplitudes: float32 [batch, n_frames(, 1)], linear gain of a grain.
    n_samples: int > 0, output length.
    sample_rate: Hz.
    max_density: grains per second, the highest density (sets the number of
      grain slots, `max_grains`).
    max_grain_size: seconds, the longest grain.
    position_offsets: None or float32 [batch or 1, max_grains], added to
      the position of each grain (e.g. seeded noise scaled by a spray).

  Returns:
    float32 [batch, n_samples]. Differentiable with respect to the source
    and every control (densities through the onset times).

  Raises:
    ValueError: for wrong ranks or shapes, disagreeing frame counts or
      batch sizes, NaN or infinite values.

  Example:
    >>> source = tf.sin(tf.range(1000.0) * 0.1)[tf.newaxis]
    >>> one = tf.ones([1, 4, 1])
    >>> audio = granular_synthesis(source, 0.0 * one, 0.01 * one, 100 * one,
    ...                            one, one, n_samples=1600)
    >>> audio.shape
    TensorShape([1, 1600])
  """
  n_samples = validation.check_positive_int(n_samples, 'n_samples')
  validation.check_positive(sample_rate, 'sample_rate')
  validation.check_positive(max_density, 'max_density')
  validation.check_positive(max_grain_size, 'max_grain_size')
  source = tf_float32(source)
  validation.check_rank(source, 'source', 2)
  validation.check_not_empty(source, 'source', 1, 'sample')
  source = validation.check_finite(source, 'source')
  controls = {name: _frames(x, name) for name, x in (
      ('positions', positions), ('grain_sizes', grain_sizes),
      ('densities', densities), ('pitch_ratios', pitch_ratios),
      ('amplitudes', amplitudes))}
  validation.check_same_dim(controls, 1, 'n_frames')
  n_grains = max_grains(n_samples, sample_rate, max_density)
  length = int(np.ceil(max_grain_size * sample_rate)) + 2
  tensors = dict(controls, source=source)
  if position_offsets is not None:
    position_offsets = tf_float32(position_offsets)
    validation.check_shape(position_offsets, 'position_offsets',
                           [None, n_grains])
    tensors['position_offsets'] = position_offsets
  tensors = broadcast_batch(tensors)
  source = tensors['source']
  source_length = tf.shape(source)[1]
  batch = tf.shape(source)[0]
  at_audio_rate = {
      name: resample(tensors[name][..., tf.newaxis], n_samples)[..., 0]
      for name in controls}

  # Onsets: where the running grain count crosses 0, 1, 2, ...
  density = tf.clip_by_value(at_audio_rate['densities'], 0.0,
                             float(max_density))
  count = tf.cumsum(tf.cast(density, tf.float64) / sample_rate, axis=1,
                    exclusive=True)
  targets = tf.range(n_grains, dtype=tf.float64)[tf.newaxis, :]
  targets = tf.broadcast_to(targets, [batch, n_grains])
  index = tf.searchsorted(count, targets, side='left')  # [batch, n_grains]
  active = index < n_samples
  index = tf.minimum(index, n_samples - 1)
  after = tf.gather(count, index, batch_dims=1)
  before = tf.gather(count, tf.maximum(index - 1, 0), batch_dims=1)
  step = after - before
  safe_step = tf.where(step > 0.0, step, tf.ones_like(step))
  onset = tf.cast(index, tf.float64) - tf.where(
      step > 0.0, (after - targets) / safe_step, tf.zeros_like(step))
  onset = tf.cast(onset, tf.float32)  # [batch, n_grains], samples.

  def at_onset(name):
    return tf.gather(at_audio_rate[name], index, batch_dims=1)

  position = at_onset('positions')
  if position_offsets is not None:
    position += tensors['position_offsets']
  size = tf.clip_by_value(at_onset('grain_sizes') * sample_rate, 2.0,
                          float(length - 2))
  ratio = at_onset('pitch_ratios')
  gain = at_onset('amplitudes') * tf.cast(active, tf.float32)

  # Output samples touched by each grain: floor(onset) + j.
  start = tf.floor(onset)
  j = tf.range(length, dtype=tf.float32)
  sample = start[..., tf.newaxis] + j  # [batch, n_grains, length]
  tau = sample - onset[..., tf.newaxis]  # Time into the grain, samples.
  x = tau / size[..., tf.newaxis]
  inside = tf.logical_and(x > 0.0, x < 1.0)
  window = tf.where(inside, tf.square(tf.sin(np.pi * x)), tf.zeros_like(x))
  length_f = tf.cast(source_length, tf.float32)
  read = (tf.math.floormod(position, 1.0)[..., tf.newaxis] * length_f
          + ratio[..., tf.newaxis] * tau)
  read = tf.math.floormod(read, length_f)
  read_floor = tf.floor(read)
  frac = read - read_floor
  i0 = tf.cast(read_floor, tf.int32) % source_length
  i1 = (i0 + 1) % source_length
  def flat(i):
    return tf.reshape(i, [batch, -1])
  v0 = tf.reshape(tf.gather(source, flat(i0), batch_dims=1), tf.shape(i0))
  v1 = tf.reshape(tf.gather(source, flat(i1), batch_dims=1), tf.shape(i1))
  grains = gain[..., tf.newaxis] * window * (v0 + frac * (v1 - v0))

  sample = tf.cast(sample, tf.int32)
  valid = tf.logical_and(sample >= 0, sample < n_samples)
  rows = tf.range(batch)[:, tf.newaxis, tf.newaxis] * n_samples
  segment = tf.where(valid, rows + sample, -tf.ones_like(sample))
  audio = tf.math.unsorted_segment_sum(
      tf.reshape(grains, [-1]), tf.reshape(segment, [-1]),
      batch * n_samples)
  audio = tf.reshape(audio, [batch, n_samples])
  return tf.ensure_shape(audio, [source.shape[0], n_samples])
