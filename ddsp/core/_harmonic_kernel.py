"""Private kernel of `ddsp.core.harmonic_synthesis`: harmonics from frames.

audio[t * hop + j] = sum_k [k f(t, j) < Nyquist]
    * ((1 - w[j]) a[t, k] + w[j] a[t + 1, k]) * sin(k phi(t, j))

with the fundamental's frequency f linear within each hop, its phase phi the
exact (inclusive) cumulative sum of 2 pi f / sample_rate, and amplitudes
crossfaded between frames with weights w (Hann, linear or nearest).

Nothing of size [batch, n_samples, n_harmonics] is ever stored, and nothing of
size [batch, n_samples] is computed outside the kernel:

- Per frame, only three numbers describe the phase within the hop: the
  phase at the start of the frame (a float64 running sum over frames, wrapped
  to [0, 2 pi), so it never drifts), the step 2 pi f / sample_rate and its
  change over the hop. The phase of each sample is a quadratic in j.
- Rows (frames) are processed in chunks that stay in cache: per row, the
  [hop, H] matrix sin(k phi) is multiplied by the [H, 2] matrix of this and
  the next frame's amplitudes. The gradient recomputes the sines and cosines
  chunk by chunk (`tf.custom_gradient`), so memory is O(batch * n_samples).
- Harmonic k is silent where k f >= Nyquist. A per-sample mask costs as much
  as the sines, so the kernel masks per frame instead: harmonics below
  Nyquist at every sample of the frame run unmasked, those above it at every
  sample get zero amplitude, and the few that cross Nyquist within the frame
  (at most `CROSSING_SLOTS`, with their own per-sample masks) run as extra
  columns. If any frame has more crossings (f0 jumping by a large ratio
  within one frame), the whole call uses per-sample masks for all harmonics.

Works eagerly, inside `tf.function` (unknown batch and frame counts) and under
XLA (`jit_compile=True`): every shape is static within a call.
"""

import numpy as np
import tensorflow as tf

from ddsp.core import _phase_kernels as phase_kernels

# Elements of one [chunk_rows, hop, n_harmonics] block (4 MiB of float32: a
# few such blocks stay in a core's cache).
_CHUNK_ELEMENTS = 2**20
# Harmonics that may cross Nyquist within one frame without falling back to
# per-sample masks for all harmonics.
CROSSING_SLOTS = 2
_TWO_PI = 2.0 * np.pi


# ------------------------------------------------------------------------------
# One chunk of rows.
# ------------------------------------------------------------------------------
def _samples(start, step, dstep, ramps):
  """Phase [rows, hop] in [0, 2 pi) and step [rows, hop] (rad / sample)."""
  linear, quadratic, fraction = ramps[0], ramps[1], ramps[2]
  start, step, dstep = (x[:, tf.newaxis] for x in (start, step, dstep))
  phase = tf.math.floormod(start + linear * step + quadratic * dstep, _TWO_PI)
  return phase, step + fraction * dstep


def _audible(k, step):
  """k [rows, 1 or hop, n], step [rows, hop] -> k where k step < pi, else 0."""
  return k * tf.cast(k * step[..., tf.newaxis] < np.pi, tf.float32)


def _crossfade(both, weights):
  """[..., hop, 2] values for this and the next frame -> [..., hop]."""
  return both[..., 0] + weights * (both[..., 1] - both[..., 0])


def _columns(coefficients, n_always, n_some):
  """Harmonic numbers and coefficients of the kernel's columns.

  Returns:
    k: [H] harmonic numbers 1 .. H of the main columns.
    keep: [rows, 1, H] 1 for harmonics audible at every sample of the frame
      (all of them in masked mode, where n_always = H), else 0.
    slots: [rows, S] harmonic numbers of the crossing harmonics (0: none).
    slot_coefficients: [rows, 2, S].
    pick: [rows, S, H] one-hot of the slots' harmonics (for the gradient).
  """
  n_harmonics = tf.shape(coefficients)[-1]
  k = tf.cast(tf.range(1, n_harmonics + 1), tf.float32)
  n_always = tf.cast(n_always, tf.float32)[:, tf.newaxis]
  keep = tf.cast(k <= n_always, tf.float32)[:, tf.newaxis]
  slots = n_always + tf.range(1, CROSSING_SLOTS + 1, dtype=tf.float32)
  valid = tf.cast(slots <= tf.cast(n_some, tf.float32)[:, tf.newaxis],
                  tf.float32)
  slots *= valid
  pick = tf.one_hot(tf.cast(slots, tf.int32) - 1, n_harmonics) * valid[
      ..., tf.newaxis]
  slot_coefficients = tf.matmul(coefficients, pick, transpose_b=True)
  return k, keep, slots, slot_coefficients, pick


def _chunk_forward(args, ramps, weights, masked):
  start, step, dstep, coefficients, n_always, n_some = args
  phase, step = _samples(start, step, dstep, ramps)
  k, keep, slots, slot_coefficients, _ = _columns(coefficients, n_always,
                                                  n_some)
  main = coefficients * keep
  harmonics = _audible(k[tf.newaxis, tf.newaxis], step) if masked else k
  sines = tf.sin(phase[..., tf.newaxis] * harmonics)  # [rows, hop, H]
  slot_sines = tf.sin(phase[..., tf.newaxis] *
                      _audible(slots[:, tf.newaxis], step))
  both = (tf.matmul(sines, main, transpose_b=True) +
          tf.matmul(slot_sines, slot_coefficients, transpose_b=True))
  return _crossfade(both, weights)


def _chunk_backward(args, ramps, weights, masked):
  start, step, dstep, coefficients, n_always, n_some, grad = args
  phase, step = _samples(start, step, dstep, ramps)
  k, keep, slots, slot_coefficients, pick = _columns(coefficients, n_always,
                                                     n_some)
  main = coefficients * keep
  harmonics = _audible(k[tf.newaxis, tf.newaxis], step) if masked else k
  angles = phase[..., tf.newaxis] * harmonics
  slot_harmonics = _audible(slots[:, tf.newaxis], step)
  slot_angles = phase[..., tf.newaxis] * slot_harmonics
  # Gradient w.r.t. the two frames' coefficients: [rows, 2, H].
  grad_next = grad * weights
  grad_both = tf.stack([grad - grad_next, grad_next], axis=-1)
  grad_c = tf.matmul(grad_both, tf.sin(angles), transpose_a=True) * keep
  grad_slots = tf.matmul(grad_both, tf.sin(slot_angles), transpose_a=True)
  grad_c += tf.matmul(grad_slots, pick)  # Back to the slots' harmonics.
  # d/dphase sin(k phase) = k cos(k phase); masked harmonics have k = 0.
  if masked:
    slopes = tf.matmul(tf.cos(angles) * harmonics, main, transpose_b=True)
  else:
    slopes = tf.matmul(tf.cos(angles), main * k, transpose_b=True)
  slopes += tf.matmul(tf.cos(slot_angles) * slot_harmonics, slot_coefficients,
                      transpose_b=True)
  grad_phase = grad * _crossfade(slopes, weights)  # [rows, hop]
  # phase = start + linear * step + quadratic * dstep (wrapping: slope 1).
  grad_rows = tf.matmul(grad_phase, ramps[:2], transpose_b=True)
  return (tf.reduce_sum(grad_phase, axis=-1), grad_rows[:, 0], grad_rows[:, 1],
          grad_c)


# ------------------------------------------------------------------------------
# All rows, in chunks.
# ------------------------------------------------------------------------------
_SPECS = (
    tf.TensorSpec([None], tf.float32),           # start [rows], rad
    tf.TensorSpec([None], tf.float32),           # step [rows], rad / sample
    tf.TensorSpec([None], tf.float32),           # dstep [rows]
    tf.TensorSpec([None, 2, None], tf.float32),  # coefficients [rows, 2, H]
    tf.TensorSpec([None], tf.int32),             # n_always [rows]
    tf.TensorSpec([None], tf.int32),             # n_some [rows]
    tf.TensorSpec([3, None], tf.float32),        # ramps [3, hop]
    tf.TensorSpec([None], tf.float32),           # weights [hop]
    tf.TensorSpec([], tf.bool),                  # masked
)


def _chunked(tensors, hop, n_harmonics):
  """Pads and reshapes the row axis into [n_chunks, chunk_rows, ...]."""
  rows = tf.shape(tensors[0])[0]
  chunk_rows = tf.maximum(1, _CHUNK_ELEMENTS // (hop * n_harmonics))
  n_chunks = (rows + chunk_rows - 1) // chunk_rows
  pad = n_chunks * chunk_rows - rows
  out = []
  for x in tensors:
    x = tf.pad(x, [[0, pad]] + [[0, 0]] * (x.shape.rank - 1))
    out.append(tf.reshape(
        x, tf.concat([[n_chunks, chunk_rows], tf.shape(x)[1:]], axis=0)))
  return tuple(out), rows


def _unchunked(x, rows):
  return tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], axis=0))[:rows]


@tf.function(input_signature=_SPECS, autograph=False)
def _forward(start, step, dstep, coefficients, n_always, n_some, ramps,
             weights, masked):
  chunks, rows = _chunked((start, step, dstep, coefficients, n_always, n_some),
                          tf.shape(ramps)[1], tf.shape(coefficients)[2])

  def run(masked_kernel):
    return tf.map_fn(
        lambda args: _chunk_forward(args, ramps, weights, masked_kernel),
        chunks, fn_output_signature=tf.float32, parallel_iterations=2)

  return _unchunked(tf.cond(masked, lambda: run(True), lambda: run(False)),
                    rows)


@tf.function(input_signature=_SPECS + (tf.TensorSpec([None, None],
                                                     tf.float32),),
             autograph=False)
def _backward(start, step, dstep, coefficients, n_always, n_some, ramps,
              weights, masked, grad):
  chunks, rows = _chunked(
      (start, step, dstep, coefficients, n_always, n_some, grad),
      tf.shape(ramps)[1], tf.shape(coefficients)[2])

  def run(masked_kernel):
    return tf.map_fn(
        lambda args: _chunk_backward(args, ramps, weights, masked_kernel),
        chunks, fn_output_signature=(tf.float32,) * 4, parallel_iterations=2)

  grads = tf.cond(masked, lambda: run(True), lambda: run(False))
  return tuple(_unchunked(g, rows) for g in grads)


@tf.custom_gradient
def _rows(start, step, dstep, coefficients, n_always, n_some, ramps, weights,
          masked):
  """[rows, hop] audio; gradients w.r.t. the row parameters and amplitudes."""
  floats = (start, step, dstep, coefficients)
  others = (n_always, n_some, ramps, weights, masked)
  # In eager mode tf.custom_gradient runs this body under the active tape; a
  # tf.function called on watched tensors would keep its intermediates (every
  # chunk's sines) for a gradient that is never used.
  audio = _forward(*[tf.stop_gradient(x) for x in floats], *others)

  def grad(upstream):
    grads = _backward(*floats, *others, upstream)
    return (*grads, None, None, None, None, None)

  return audio, grad


# ------------------------------------------------------------------------------
# Frames -> audio.
# ------------------------------------------------------------------------------
def _ramps(hop):
  """[3, hop]: (j + 1, j (j + 1) / (2 hop), j / hop) for j = 0 .. hop - 1."""
  if isinstance(hop, (int, np.integer)):
    j = np.arange(hop, dtype=np.float64)
    ramps = np.stack([j + 1.0, j * (j + 1.0) / (2.0 * hop), j / hop])
    return tf.constant(ramps, tf.float32)
  j = tf.cast(tf.range(hop), tf.float64)
  hop = tf.cast(hop, tf.float64)
  return tf.cast(tf.stack([j + 1.0, j * (j + 1.0) / (2.0 * hop), j / hop]),
                 tf.float32)


def _count_below_nyquist(step, n_harmonics):
  """#{k in 1..H : k * step < pi} per frame, int32, with the exact predicate."""
  h = tf.cast(n_harmonics, tf.float32)
  safe = tf.where(step > 0.0, step, 1.0)
  estimate = tf.where(step > 0.0,
                      tf.minimum(tf.floor(np.pi / safe), h), h)
  # The division may be off by one next to exact multiples: check k * step.
  up = (estimate + 1.0 <= h) & ((estimate + 1.0) * step < np.pi)
  down = (estimate >= 1.0) & (estimate * step >= np.pi)
  estimate = estimate + tf.cast(up, tf.float32) - tf.cast(down, tf.float32)
  return tf.cast(estimate, tf.int32)


def harmonic_frames(f0_hz, amplitudes, hop, sample_rate, weights,
                    initial_phase=None):
  """Harmonic series from frame-rate controls (see the module docstring).

  Args:
    f0_hz: [batch, n_frames, 1] float32, Hz.
    amplitudes: [batch, n_frames, n_harmonics] float32, per harmonic.
    hop: samples per frame, python int or int32 scalar tensor.
    sample_rate: Hz.
    weights: [hop] float32, crossfade weight of the next frame's amplitudes.
    initial_phase: None or float32 [batch, 1, 1], radians.

  Returns:
    audio: [batch, n_frames * hop] float32.
    final_phase: [batch, 1, 1] float32 in [0, 2 pi).
    Differentiable with respect to `f0_hz` and `amplitudes`.
  """
  scale = _TWO_PI / float(sample_rate)
  shape = tf.shape(amplitudes)
  batch, n_frames, n_harmonics = shape[0], shape[1], shape[2]
  rows = batch * n_frames

  # Phase at the start of each frame: float64 running sum, wrapped.
  starts, final, f64, delta64 = phase_kernels.frame_start_phase(
      f0_hz, hop, sample_rate, initial_phase)
  step = tf.cast(f64 * scale, tf.float32)
  dstep = tf.cast(delta64 * scale, tf.float32)

  # Harmonics below Nyquist (k * step < pi) at every sample of the frame,
  # and at some sample. The step is linear in j: extremes at the hop's ends.
  ramps = _ramps(hop)
  step_last = step + ramps[2, -1] * dstep
  n_always = _count_below_nyquist(tf.maximum(step, step_last), n_harmonics)
  n_some = _count_below_nyquist(tf.minimum(step, step_last), n_harmonics)
  split = tf.reduce_max(n_some - n_always) <= CROSSING_SLOTS
  # Otherwise per-sample masks for all harmonics (and no slots).
  n_always = tf.where(split, n_always, n_harmonics)
  n_some = tf.where(split, n_some, n_harmonics)

  coefficients = tf.stack([amplitudes, phase_kernels.next_frame(amplitudes)],
                          axis=2)
  audio = _rows(
      tf.reshape(starts, [rows]), tf.reshape(step, [rows]),
      tf.reshape(dstep, [rows]),
      tf.reshape(coefficients, [rows, 2, n_harmonics]),
      tf.reshape(n_always, [rows]), tf.reshape(n_some, [rows]),
      ramps, tf.cast(weights, tf.float32), tf.logical_not(split))
  return tf.reshape(audio, [batch, -1]), final
