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
from ddsp.core.resampling import crossfade_weights
from ddsp.core.utils import tf_float32

TWO_PI = 2.0 * np.pi

# Samples per float32 chunk in `cumulative_phase`.
_PHASE_CHUNK = 64


def next_frame(x):
  """x[:, t + 1] with the last frame held: [batch, n_frames, ...]."""
  return tf.concat([x[:, 1:], x[:, -1:]], axis=1)


def frame_start_phase(frequencies, hop, sample_rate, initial_phase=None,
                      period=TWO_PI):
  """Phase at the start of each frame of linearly interpolated frequencies.

  The frequency at sample j of hop t is f[t] + (f[t+1] - f[t]) * j / hop (the
  last frame held), so a hop advances the phase by
  `period * (hop * f[t] + (f[t+1] - f[t]) * (hop - 1) / 2) / sample_rate`.
  These totals are summed over frames in float64 and wrapped to one period
  before the cast to float32, so the phase never drifts.

  Args:
    frequencies: [batch, n_frames, channels] float32, Hz.
    hop: samples per frame, python int or int32 scalar tensor.
    sample_rate: Hz.
    initial_phase: None or float32 broadcastable to [batch, 1, channels], in
      units of `period`.
    period: 2 pi for radians, 1.0 for cycles.

  Returns:
    starts: [batch, n_frames, channels] float32 in [0, period), the phase
      before the first sample of each hop.
    final: [batch, 1, channels] float32 in [0, period), the phase after the
      last hop (the `initial_phase` that continues the block).
    f64: the frequencies in float64.
    delta64: f[t + 1] - f[t] in float64 (0 for the last frame).
  """
  scale = period / float(sample_rate)
  f64 = tf.cast(frequencies, tf.float64)
  delta64 = next_frame(f64) - f64
  hop64 = tf.cast(hop, tf.float64)
  # Phase advance of each hop (the sum of its samples' steps), per frame.
  totals = (hop64 * f64 + delta64 * ((hop64 - 1.0) / 2.0)) * scale
  starts, final = _wrapped_starts(totals, initial_phase, period)
  return starts, final, f64, delta64


def _wrapped_starts(totals, initial_phase, period, dtype=tf.float32):
  """Exclusive running sum over axis 1 of float64 `totals`, and their total.

  Both are offset by `initial_phase` and wrapped to [0, period) in float64
  before the cast (to `dtype`, and float32 for the total), so they never
  drift.
  """
  starts = tf.cumsum(totals, axis=1, exclusive=True)
  final = tf.reduce_sum(totals, axis=1, keepdims=True)
  if initial_phase is not None:
    initial = tf.cast(initial_phase, tf.float64)
    starts += initial
    final += initial
  starts = tf.cast(tf.math.floormod(starts, period), dtype)
  final = tf.cast(tf.math.floormod(final, period), tf.float32)
  return starts, final


def frame_phase(frequencies, hop, sample_rate, initial_phase=None,
                exclusive=False, period=TWO_PI):
  """Phase of oscillators with frequencies linearly interpolated per hop.

  The frequency at sample j of hop t is f[t] + (f[t+1] - f[t]) * j / hop (the
  last frame held). The phase is the cumulative sum of
  `period * f / sample_rate`, inclusive (phase[n] includes sample n's own
  step) or exclusive; the frame starts come from `frame_start_phase`.

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
  starts, final, _, delta64 = frame_start_phase(frequencies, hop, sample_rate,
                                                initial_phase, period)
  hop64 = tf.cast(hop, tf.float64)
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
  weights = crossfade_weights(hop, method)[:, np.newaxis]
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
  starts, final = _wrapped_starts(totals, initial_phase, period, dtype)
  phase = tf.math.floormod(within + starts[:, :, tf.newaxis, :], period)
  phase = tf.reshape(tf.cast(phase, tf.float32),
                     [batch, n_chunks * chunk_size, channels])
  return phase[:, :n_samples], final


def mute_negative_frequencies(frequencies, amplitudes):
  """Silences frames (or samples) whose frequency is negative.

  Public as `ddsp.core.mute_negative_frequencies` (the streaming renderers
  apply it too, so that they match offline synthesis).

  A negative frequency is not a tone: this library renders it as silence
  (amplitude 0, frequency taken as 0 Hz), where the published library played
  a phase-inverted tone at |f| (its phase ran backwards). Applied to the
  frame-rate controls before synthesis, so a frame with a negative f0 is
  silent and the neighbouring hops fade to and from it like any amplitude
  change.

  Args:
    frequencies: float32 [batch, time, channels or 1], Hz.
    amplitudes: float32 broadcastable against `frequencies`, linear.

  Returns:
    (max(frequencies, 0), amplitudes with 0 where the frequency is < 0),
    shaped like the inputs (amplitudes broadcast). Differentiable with
    respect to the kept values.

  Example:
    >>> from ddsp import core
    >>> f, a = core.mute_negative_frequencies([[[-100.0], [200.0]]],
    ...                                       [[[1.0], [1.0]]])
    >>> f.numpy()[0, :, 0], a.numpy()[0, :, 0]
    (array([  0., 200.], dtype=float32), array([0., 1.], dtype=float32))
  """
  frequencies = tf_float32(frequencies)
  amplitudes = tf_float32(amplitudes)
  negative = frequencies < 0.0
  return (tf.maximum(frequencies, 0.0),
          tf.where(negative, tf.zeros_like(amplitudes), amplitudes))


# ------------------------------------------------------------------------------
# Argument helpers shared by `oscillators` and `wavetables` (these validate).
# ------------------------------------------------------------------------------
def frames_input(x, name, channels=None):
  """float32 [batch, n_frames, channels], finite, with at least one frame."""
  x = tf_float32(x)
  shape = validation.check_rank(x, name, 3)
  if shape is not None and channels is not None and shape[2] not in (
      channels, None):
    raise ValueError(f'`{name}` must have shape [batch, n_frames, {channels}]. '
                     f'Received: {name}.shape={tuple(shape)}')
  validation.check_not_empty(x, name, 1, 'frame')
  return validation.check_finite(x, name)


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
