"""Private helpers of `ddsp.core.oscillators` and `ddsp.core.wavetables`.

Phase accumulation, exact to float32 rounding and free of long float32 sums
(the harmonic synthesis kernel itself is in `_harmonic_kernel`):

- `frame_phase`: the phase of oscillators whose frequency is linearly
  interpolated between frames (what `resample(..., 'linear')` does), in closed
  form. Within a hop the cumulative sum of a linear ramp is a quadratic in the
  sample index, so only the per-frame totals need a running sum; that sum runs
  over frames in float64 and is wrapped to one period before it is cast to
  float32. Cost and memory are O(batch * n_samples * channels) with no
  sequential scan over samples.
- `cumulative_phase`: the same guarantee for arbitrary audio-rate frequency
  envelopes: float32 cumulative sums inside short chunks, float64 chunk totals.

The kernels do not validate their arguments: the public functions in
`ddsp.core.oscillators` and `ddsp.core.wavetables` do, with the argument
helpers at the end of this module.
"""

import numpy as np
import tensorflow as tf

from ddsp import validation
from ddsp.core.utils import tf_float32

TWO_PI = 2.0 * np.pi

# Samples per float32 chunk in `cumulative_phase`.
_PHASE_CHUNK = 64


def crossfade_weights(hop, method):
  """Weight of the next frame at each sample of a hop, [hop] float32.

  Sample j of the hop that starts at frame t has value
  `(1 - w[j]) * x[t] + w[j] * x[t + 1]`, as `resample` computes it with
  `add_endpoint=True`.

  Args:
    hop: samples per frame, python int or int32 scalar tensor.
    method: 'nearest' (w = 0), 'linear' (w = j / hop) or 'window'
      (w = sin^2(pi j / (2 hop)), the Hann overlap-add crossfade).
  """
  if isinstance(hop, (int, np.integer)):
    ramp = np.arange(hop, dtype=np.float64) / hop
    if method == 'nearest':
      ramp = np.zeros_like(ramp)
    elif method == 'window':
      ramp = np.sin(0.5 * np.pi * ramp)**2
    return tf.constant(ramp, tf.float32)
  ramp = (tf.cast(tf.range(hop), tf.float64) / tf.cast(hop, tf.float64))
  if method == 'nearest':
    ramp = tf.zeros_like(ramp)
  elif method == 'window':
    ramp = tf.sin(0.5 * np.pi * ramp)**2
  return tf.cast(ramp, tf.float32)


def next_frame(x):
  """x[:, t + 1] with the last frame held: [batch, n_frames, ...]."""
  return tf.concat([x[:, 1:], x[:, -1:]], axis=1)


def frame_phase(frequencies, hop, sample_rate, initial_phase=None,
                exclusive=False, period=TWO_PI):
  """Phase of oscillators with frequencies linearly interpolated per hop.

  The frequency at sample j of hop t is f[t] + (f[t+1] - f[t]) * j / hop (the
  last frame held). The phase is the cumulative sum of
  `period * f / sample_rate`, inclusive (phase[n] includes sample n's own
  step) or exclusive.

  Args:
    frequencies: [batch, n_frames, channels] float32, Hz.
    hop: samples per frame, python int or int32 scalar tensor.
    sample_rate: Hz.
    initial_phase: None or float32 broadcastable to [batch, 1, channels], in
      units of `period`.
    exclusive: use the exclusive cumulative sum.
    period: 2 pi for radians, 1.0 for cycles.

  Returns:
    phase: [batch, n_frames, hop, channels] float32 in [0, period).
    final_phase: [batch, 1, channels] float32 in [0, period), the phase after
      all the steps of the block: the `initial_phase` that continues it.
  """
  scale = period / float(sample_rate)
  f64 = tf.cast(frequencies, tf.float64)
  delta64 = next_frame(f64) - f64
  hop64 = tf.cast(hop, tf.float64)
  # Sum of the frequencies of the hop's samples (Hz * samples), per frame.
  totals = hop64 * f64 + delta64 * ((hop64 - 1.0) / 2.0)
  starts = tf.cumsum(totals, axis=1, exclusive=True) * scale
  final = tf.reduce_sum(totals, axis=1, keepdims=True) * scale
  if initial_phase is not None:
    initial = tf.cast(initial_phase, tf.float64)
    starts += initial
    final += initial
  starts = tf.cast(tf.math.floormod(starts, period), tf.float32)
  final = tf.cast(tf.math.floormod(final, period), tf.float32)

  # Within the hop: sum_{i <= j} (f + delta i / hop)
  #   = (j + 1) f + delta j (j + 1) / (2 hop)   (inclusive),
  #   = j f + delta j (j - 1) / (2 hop)          (exclusive).
  j = tf.cast(tf.range(hop), tf.float64)
  if exclusive:
    linear, quadratic = j, j * (j - 1.0) / (2.0 * hop64)
  else:
    linear, quadratic = j + 1.0, j * (j + 1.0) / (2.0 * hop64)
  linear = tf.cast(linear * scale, tf.float32)[:, tf.newaxis]
  quadratic = tf.cast(quadratic * scale, tf.float32)[:, tf.newaxis]
  f = tf.cast(frequencies, tf.float32)[:, :, tf.newaxis, :]
  delta = tf.cast(delta64, tf.float32)[:, :, tf.newaxis, :]
  phase = starts[:, :, tf.newaxis, :] + (linear * f + quadratic * delta)
  return tf.math.floormod(phase, period), final


def frame_envelope(x, hop, method):
  """Frames [batch, n_frames, ch] -> per-hop values [batch, n_frames, hop, ch].

  Same values as `resample(x, n_frames * hop, method)` for the two-frame
  methods, without the final reshape.
  """
  weights = crossfade_weights(hop, method)[:, tf.newaxis]
  x = tf.cast(x, tf.float32)
  if method == 'nearest':
    return x[:, :, tf.newaxis, :] + tf.zeros_like(weights)
  delta = next_frame(x) - x
  return x[:, :, tf.newaxis, :] + weights * delta[:, :, tf.newaxis, :]


def cumulative_phase(frequencies, sample_rate, initial_phase=None,
                     exclusive=False, period=TWO_PI, chunk_size=_PHASE_CHUNK,
                     float64=False):
  """Wrapped cumulative phase of audio-rate frequencies, without drift.

  Sums within chunks of `chunk_size` samples (float32, or float64 with
  `float64`), and the chunk totals in float64, wrapped to one period. The
  float32 error within a chunk is about chunk_size * max step * 6e-8 (at most
  about 1e-5 rad for 64 samples); float64 is exact to the final float32
  rounding, for phases that are multiplied by harmonic numbers later.

  Args:
    frequencies: [batch, n_samples, channels] float32, Hz (or any rate in
      cycles per `sample_rate` samples).
    sample_rate: Hz.
    initial_phase: None or float32 broadcastable to [batch, 1, channels].
    exclusive: exclusive instead of inclusive cumulative sum.
    period: 2 pi for radians, 1.0 for cycles.
    chunk_size: samples per chunk.
    float64: sum within chunks in float64 too (twice the memory).

  Returns:
    phase: [batch, n_samples, channels] float32 in [0, period).
    final_phase: [batch, 1, channels] float32 in [0, period).
  """
  scale = period / float(sample_rate)
  frequencies = tf.cast(frequencies, tf.float32)
  shape = tf.shape(frequencies)
  batch, n_samples, channels = shape[0], shape[1], shape[2]
  n_chunks = (n_samples + chunk_size - 1) // chunk_size
  pad = n_chunks * chunk_size - n_samples
  padded = tf.pad(frequencies, [[0, 0], [0, pad], [0, 0]])
  chunks = tf.reshape(padded, [batch, n_chunks, chunk_size, channels])
  chunks64 = tf.cast(chunks, tf.float64)
  dtype = tf.float64 if float64 else tf.float32
  within = tf.cumsum((chunks64 if float64 else chunks) * scale, axis=2,
                     exclusive=exclusive)
  totals = tf.reduce_sum(chunks64, axis=2) * scale
  starts = tf.cumsum(totals, axis=1, exclusive=True)
  final = tf.reduce_sum(totals, axis=1, keepdims=True)
  if initial_phase is not None:
    initial = tf.cast(initial_phase, tf.float64)
    starts += initial
    final += initial
  starts = tf.cast(tf.math.floormod(starts, period), dtype)
  final = tf.cast(tf.math.floormod(final, period), tf.float32)
  phase = tf.math.floormod(within + starts[:, :, tf.newaxis, :], period)
  phase = tf.reshape(tf.cast(phase, tf.float32),
                     [batch, n_chunks * chunk_size, channels])
  return phase[:, :n_samples], final


# ------------------------------------------------------------------------------
# Argument helpers shared by `oscillators` and `wavetables` (these validate).
# ------------------------------------------------------------------------------
def frames_input(x, name, channels=None):
  """float32 [batch, n_frames, channels] with a clear error otherwise."""
  x = tf_float32(x)
  shape = validation.check_rank(x, name, 3)
  if shape is not None and channels is not None and shape[2] not in (
      channels, None):
    raise ValueError(f'`{name}` must have shape [batch, n_frames, {channels}]. '
                     f'Received: {name}.shape={tuple(shape)}')
  return x


def initial_phase_arg(initial_phase, name='initial_phase'):
  """None, or float32 broadcastable to [batch, 1, channels]."""
  if initial_phase is None:
    return None
  initial_phase = tf_float32(initial_phase)
  shape = validation.check_rank(initial_phase, name, (0, 1, 2, 3))
  if shape is None:
    return initial_phase
  if len(shape) == 3 and shape[1] not in (1, None):
    raise ValueError(f'`{name}` must have shape [batch, 1, 1] or '
                     f'[batch, 1, n_channels]. '
                     f'Received: {name}.shape={tuple(shape)}')
  if len(shape) == 1:  # [batch]
    return initial_phase[:, tf.newaxis, tf.newaxis]
  if len(shape) == 2:  # [batch, 1]
    return initial_phase[:, :, tf.newaxis]
  return initial_phase


def samples_per_frame(n_samples, n_frames, sample_rate, frame_rate):
  """(hop, n_samples); hop is None where frames do not divide n_samples.

  With n_samples=None the hop is sample_rate / frame_rate (must be whole) and
  n_samples is n_frames * hop. `n_frames` may be a static int or a scalar
  tensor; with a given n_samples and dynamic n_frames, the hop is a tensor
  and divisibility is asserted at run time.
  """
  if n_samples is None:
    validation.check_positive(frame_rate, 'frame_rate')
    hop = sample_rate / frame_rate
    if hop != int(hop):
      raise ValueError(
          '`sample_rate / frame_rate` must be a whole number of samples per '
          'frame when n_samples is None (the length is derived as n_frames * '
          f'hop). Received: sample_rate={sample_rate}, frame_rate={frame_rate}')
    hop = int(hop)
    return hop, n_frames * hop
  n_samples = validation.check_positive_int(n_samples, 'n_samples')
  if isinstance(n_frames, int):
    if n_samples % n_frames:
      return None, n_samples
    return n_samples // n_frames, n_samples
  hop = n_samples // n_frames
  with tf.control_dependencies([tf.debugging.assert_equal(
      hop * n_frames, n_samples,
      message=f'n_samples={n_samples} must be a multiple of n_frames')]):
    hop = tf.identity(hop)
  return hop, n_samples


def n_frames(x):
  return x.shape[1] if x.shape[1] is not None else tf.shape(x)[1]


def flatten_hops(x):
  """[batch, n_frames, hop(, ch)] -> [batch, n_frames * hop(, ch)]."""
  shape = tf.shape(x)
  if x.shape.rank == 3:
    return tf.reshape(x, [shape[0], -1])
  return tf.reshape(x, [shape[0], -1, shape[3]])
