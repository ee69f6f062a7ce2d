"""Private kernel of `ddsp.core.harmonic_synthesis`: harmonics from frames.

audio[t * hop + j] = sum_k [k f(t, j) < Nyquist]
    * ((1 - w[j]) a[t, k] + w[j] a[t + 1, k]) * sin(k phi(t, j))

with the fundamental's frequency f linear within each hop, its phase phi the
exact (inclusive) cumulative sum of 2 pi f / sample_rate, and amplitudes
crossfaded between frames with weights w (Hann, linear or nearest).

Nothing of size [batch, n_samples, n_harmonics] is ever stored:

- Per frame, three numbers describe the phase within the hop: the phase at
  the start of the frame (a float64 running sum over frames, wrapped to
  [0, 2 pi), so it never drifts), the step 2 pi f / sample_rate and its
  change over the hop. The phase of each sample is a quadratic in j; it is
  computed once per call as a [rows, hop] tensor (rows = batch * n_frames)
  and differentiated by TensorFlow.
- Split harmonics: with k = m a + b + 1 (m = ceil(sqrt(H)), 0 <= b < m),

    sin(k phi) = sin(m a phi) cos((b + 1) phi) + cos(m a phi) sin((b + 1) phi)
    cos(k phi) = cos(m a phi) cos((b + 1) phi) - sin(m a phi) sin((b + 1) phi)

  so per sample only the sines and cosines of the m "low" angles
  (b + 1) phi and of the H / m "high" angles m a phi are evaluated: 32
  instead of 60 sines for H = 60, and 32 instead of 120 sines and cosines in
  the backward pass. Per row (frame) the [m, hop] low matrices are
  multiplied by the frame's [2 n_high, m] amplitudes (this and the next
  frame), and the products are weighted by the high sines and cosines and
  summed over a. The identity is exact; the float32 rounding is that of the
  direct sines (both evaluate angles up to about H phi).
- Rows are processed in chunks that stay in cache, with harmonics along the
  middle axis ([rows, n, hop]) so that elementwise ops run along the hop.
  The gradient recomputes the sines and cosines chunk by chunk
  (`tf.custom_gradient`), so memory is O(batch * n_samples).
- Harmonic k is silent where k f >= Nyquist. A per-sample mask costs as much
  as the sines, so the kernel masks per frame instead: harmonics below
  Nyquist at every sample of the frame run unmasked, those above it at every
  sample get zero amplitude, and the few that cross Nyquist within the frame
  (at most `CROSSING_SLOTS`, with their own per-sample masks) run as extra
  columns with direct sines. If any frame has
  more crossings (f0 jumping by a large ratio within one frame), the whole
  call uses direct sines with per-sample masks for all harmonics.

Works eagerly, inside `tf.function` (unknown batch and frame counts) and under
XLA (`jit_compile=True`): every shape is static within a call.
"""

import numpy as np
import tensorflow as tf

from ddsp.core import _phase_kernels as phase_kernels

# Rows per chunk: _CHUNK_ELEMENTS // (hop * n_harmonics) (273 rows of 64
# samples at 60 harmonics; the per-chunk temporaries of the backward pass
# are a few such [rows, hop, n] blocks, which bounds its transient memory).
_CHUNK_ELEMENTS = 2**20
# The same budget for split harmonics, whose per-chunk temporaries are about
# 4 sqrt(H) / H as large (1092 rows at 60 harmonics: measured 15-25 % faster
# than 273 rows, and as fast as 2184).
_SPLIT_CHUNK_ELEMENTS = 2**22
# Harmonics that may cross Nyquist within one frame without falling back to
# per-sample masks for all harmonics.
CROSSING_SLOTS = 2
_TWO_PI = 2.0 * np.pi


# ------------------------------------------------------------------------------
# One chunk of rows: per row (frame) the phase at its start, the step
# (rad / sample) and its change over the hop, and coefficients
# [rows, 2, n_high, m]: this and the next frame's amplitude of harmonic
# m a + b + 1 at [:, :, a, b] (zero beyond n_harmonics).
# ------------------------------------------------------------------------------
def _wrap(phase):
  """phase - 2 pi floor(phase / 2 pi): [0, 2 pi) up to rounding.

  (`tf.math.floormod` is exact but about 30x slower on CPU; the sines do not
  need the exact range.)
  """
  return phase - _TWO_PI * tf.floor(phase * (1.0 / _TWO_PI))


def _samples(start, step, dstep, ramps):
  """Phase [rows, hop] in [0, 2 pi) and step [rows, hop] (rad / sample)."""
  linear, quadratic, fraction = ramps[0], ramps[1], ramps[2]
  start, step, dstep = (x[:, tf.newaxis] for x in (start, step, dstep))
  phase = _wrap(start + linear * step + quadratic * dstep)
  return phase, step + fraction * dstep


def _audible(k, step):
  """k [rows or 1, n, 1], step [rows, hop] -> [rows, n, hop]: k where
  k step < pi, else 0."""
  return k * tf.cast(k * step[:, tf.newaxis] < np.pi, tf.float32)


def _angles(multipliers, phase):
  """[n] or [rows, n, hop] times phase [rows, hop] -> [rows, n, hop].

  Harmonics run along the middle axis, so that every elementwise op has the
  hop as its contiguous inner axis (a broadcast along a short inner axis is
  several times slower).
  """
  if multipliers.shape.rank == 1:
    multipliers = multipliers[:, tf.newaxis]
  return multipliers * phase[:, tf.newaxis]


def _crossfade(both, weights):
  """[rows, 2, hop] values (or a pair of [rows, hop]) for this and the next
  frame -> [rows, hop]."""
  this, following = (both[:, 0], both[:, 1]) if not isinstance(
      both, tuple) else both
  return this + weights * (following - this)


def _sizes(coefficients):
  """rows (tensor), n_high and m (python ints where static)."""
  shape = tf.shape(coefficients)
  n_high, m = coefficients.shape[2], coefficients.shape[3]
  return (shape[0], shape[2] if n_high is None else n_high,
          shape[3] if m is None else m)


def _multiples(phase, multipliers):
  """phase [rows, hop] times each multiplier -> [rows, n, hop].

  With python multipliers, one scalar product per multiplier (stacked):
  several times faster than a broadcast product on CPU.
  """
  if isinstance(multipliers, list):
    return tf.stack([phase * v for v in multipliers], axis=1)
  return _angles(multipliers, phase)


def _split_trig(phase, n_high, m):
  """(cos, sin) of (b + 1) phase [rows, m, hop] and (sin, cos) of m a phase
  [rows, n_high, hop]."""
  if isinstance(n_high, int) and isinstance(m, int):
    low = [float(b + 1) for b in range(m)]
    high = [float(m * a) for a in range(n_high)]
  else:
    low = tf.cast(tf.range(1, m + 1), tf.float32)
    high = tf.cast(m * tf.range(n_high), tf.float32)
  low, high = _multiples(phase, low), _multiples(phase, high)
  return (tf.cos(low), tf.sin(low)), (tf.sin(high), tf.cos(high))


def _split_sum(low, high, coefficients, cosine=False):
  """sum_k coefficients[:, frame, k] trig(k phase): a pair of [rows, hop].

  trig is sin for `high` = (sin, cos) of the high angles, or cos for
  `high` = (cos, sin) and `cosine`.
  """
  sums = []
  for frame in range(2):
    c = coefficients[:, frame]  # [rows, n_high, m]
    products = [tf.matmul(c, low_part) * high_part
                for low_part, high_part in zip(low, high)]
    total = products[0] - products[1] if cosine else products[0] + products[1]
    sums.append(tf.reduce_sum(total, axis=1))
  return tuple(sums)


def _split_gradient(low, high, grad_both, coefficients):
  """sum_j grad_both[:, frame, j] sin(k phase_j), shaped like coefficients."""
  grads = []
  for frame in range(2):
    g = grad_both[:, frame, tf.newaxis]  # [rows, 1, hop]
    grads.append(sum(tf.matmul(g * high_part, low_part, transpose_b=True)
                     for low_part, high_part in zip(low, high)))
  return tf.stack(grads, axis=1)


def _direct(coefficients, step, phase):
  """Per-sample masked harmonics: coefficients [rows, 2, H], harmonic numbers
  [rows, H, hop] (0 where silent) and angles [rows, H, hop]."""
  rows, n_high, m = _sizes(coefficients)
  k = tf.cast(tf.range(1, n_high * m + 1), tf.float32)
  harmonics = _audible(k[tf.newaxis, :, tf.newaxis], step)
  flat = tf.reshape(coefficients, [rows, 2, n_high * m])
  return flat, harmonics, _angles(harmonics, phase)


def _slot_angles(slots, step, phase):
  """Harmonic numbers [rows, S, hop] (0 where silent) and their angles."""
  harmonics = _audible(slots[..., tf.newaxis], step)
  return harmonics, _angles(harmonics, phase)


def _chunk_forward(args, ramps, weights, masked):
  start, step, dstep, coefficients, slots, slot_coefficients = args
  phase, step = _samples(start, step, dstep, ramps)
  _, slot_angles = _slot_angles(slots, step, phase)
  both = tf.reduce_sum(slot_coefficients[..., tf.newaxis] *
                       tf.sin(slot_angles)[:, tf.newaxis], axis=2)
  if masked:
    flat, _, angles = _direct(coefficients, step, phase)
    both += tf.matmul(flat, tf.sin(angles))
  else:
    _, n_high, m = _sizes(coefficients)
    low, high = _split_trig(phase, n_high, m)
    split = _split_sum(low, high, coefficients)
    both = (both[:, 0] + split[0], both[:, 1] + split[1])
  return _crossfade(both, weights)


def _chunk_backward(args, ramps, weights, masked):
  start, step, dstep, coefficients, slots, slot_coefficients, grad = args
  phase, step = _samples(start, step, dstep, ramps)
  grad_next = grad * weights
  grad_both = tf.stack([grad - grad_next, grad_next], axis=1)  # [rows, 2, hop]
  slot_harmonics, slot_angles = _slot_angles(slots, step, phase)
  grad_slots = tf.reduce_sum(grad_both[:, :, tf.newaxis] *
                             tf.sin(slot_angles)[:, tf.newaxis], axis=-1)
  # d/dphase sin(k phase) = k cos(k phase); masked harmonics have k = 0.
  slopes = tf.reduce_sum(
      slot_coefficients[..., tf.newaxis] *
      (tf.cos(slot_angles) * slot_harmonics)[:, tf.newaxis], axis=2)
  if masked:
    flat, harmonics, angles = _direct(coefficients, step, phase)
    grad_c = tf.reshape(
        tf.matmul(grad_both, tf.sin(angles), transpose_b=True),
        tf.shape(coefficients))
    slopes += tf.matmul(flat, tf.cos(angles) * harmonics)
  else:
    _, n_high, m = _sizes(coefficients)
    low, (sin_high, cos_high) = _split_trig(phase, n_high, m)
    grad_c = _split_gradient(low, (sin_high, cos_high), grad_both,
                             coefficients)
    k = tf.reshape(tf.cast(tf.range(1, n_high * m + 1), tf.float32),
                   [1, 1, n_high, m])
    split = _split_sum(low, (cos_high, sin_high), coefficients * k,
                       cosine=True)
    slopes = (slopes[:, 0] + split[0], slopes[:, 1] + split[1])
  grad_phase = grad * _crossfade(slopes, weights)  # [rows, hop]
  # phase = start + linear * step + quadratic * dstep (wrapping: slope 1).
  grad_rows = tf.matmul(grad_phase, ramps[:2], transpose_b=True)
  return (tf.reduce_sum(grad_phase, axis=-1), grad_rows[:, 0], grad_rows[:, 1],
          grad_c, grad_slots)


# ------------------------------------------------------------------------------
# All rows, in chunks.
# ------------------------------------------------------------------------------
def _specs(n_high, m):
  return (
      tf.TensorSpec([None], tf.float32),                   # start [rows], rad
      tf.TensorSpec([None], tf.float32),                   # step [rows]
      tf.TensorSpec([None], tf.float32),                   # dstep [rows]
      tf.TensorSpec([None, 2, n_high, m], tf.float32),     # coefficients
      tf.TensorSpec([None, None], tf.float32),             # slots [rows, S]
      tf.TensorSpec([None, 2, None], tf.float32),          # slot coefficients
      tf.TensorSpec([3, None], tf.float32),                # ramps [3, hop]
      tf.TensorSpec([None], tf.float32),                   # weights [hop]
      tf.TensorSpec([], tf.bool),                          # masked
  )


def _chunked(tensors, hop, elements):
  """Pads and reshapes the row axis into [n_chunks, chunk_rows, ...]."""
  rows = tf.shape(tensors[0])[0]
  n_harmonics = tf.shape(tensors[3])[2] * tf.shape(tensors[3])[3]
  chunk_rows = tf.maximum(1, elements // (hop * n_harmonics))
  n_chunks = (rows + chunk_rows - 1) // chunk_rows
  pad = n_chunks * chunk_rows - rows
  out = []
  for x in tensors:
    x = tf.pad(x, [[0, pad]] + [[0, 0]] * (x.shape.rank - 1))
    x = tf.reshape(
        x, tf.concat([[n_chunks, chunk_rows], tf.shape(x)[1:]], axis=0))
    out.append(tf.ensure_shape(x, [None, None] + tensors[len(out)].shape[1:]))
  return tuple(out), rows


def _unchunked(x, rows):
  return tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], axis=0))[:rows]


def _map_chunks(fn, tensors, hop, masked, n_outputs):
  """fn over chunks of rows (direct sines if `masked`, else split)."""
  def run(masked_kernel):
    chunks, rows = _chunked(
        tensors, hop,
        _CHUNK_ELEMENTS if masked_kernel else _SPLIT_CHUNK_ELEMENTS)
    outputs = tf.map_fn(lambda args: fn(args, masked_kernel), chunks,
                        fn_output_signature=(tf.float32,) * n_outputs,
                        parallel_iterations=2)
    return tuple(_unchunked(x, rows) for x in outputs)
  return tf.cond(masked, lambda: run(True), lambda: run(False))


def _forward(start, step, dstep, coefficients, slots, slot_coefficients,
             ramps, weights, masked):
  audio, = _map_chunks(
      lambda args, m: (_chunk_forward(args, ramps, weights, m),),
      (start, step, dstep, coefficients, slots, slot_coefficients),
      tf.shape(ramps)[1], masked, 1)
  return audio


def _backward(start, step, dstep, coefficients, slots, slot_coefficients,
              ramps, weights, masked, grad):
  return _map_chunks(
      lambda args, m: _chunk_backward(args, ramps, weights, m),
      (start, step, dstep, coefficients, slots, slot_coefficients, grad),
      tf.shape(ramps)[1], masked, 5)


# (n_high, m) -> (forward, backward) tf.functions, traced once per shape of
# the split (python loops over the static sizes; None: dynamic sizes).
_KERNELS = {}


def _kernels(n_high, m):
  if (n_high, m) not in _KERNELS:
    specs = _specs(n_high, m)
    _KERNELS[(n_high, m)] = (
        tf.function(_forward, input_signature=specs, autograph=False),
        tf.function(_backward, autograph=False, input_signature=specs + (
            tf.TensorSpec([None, None], tf.float32),)))
  return _KERNELS[(n_high, m)]


@tf.custom_gradient
def _rows(start, step, dstep, coefficients, slots, slot_coefficients, ramps,
          weights, masked):
  """[rows, hop] audio; gradients w.r.t. the row parameters, coefficients and
  slot coefficients."""
  inputs = (start, step, dstep, coefficients, slots, slot_coefficients)
  others = (ramps, weights, masked)
  forward, backward = _kernels(*coefficients.shape[2:])
  # In eager mode tf.custom_gradient runs this body under the active tape; a
  # tf.function called on watched tensors would keep its intermediates (every
  # chunk's sines) for a gradient that is never used.
  audio = forward(*[tf.stop_gradient(x) for x in inputs], *others)

  def grad(upstream):
    grads = backward(*inputs, *others, upstream)
    return (*grads[:4], None, grads[4], None, None, None)

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


def _split_shape(n_harmonics):
  """(n_high, m) with m = ceil(sqrt(H)), n_high = ceil(H / m)."""
  if isinstance(n_harmonics, (int, np.integer)):
    m = int(np.ceil(np.sqrt(n_harmonics)))
    return -(-int(n_harmonics) // m), m
  m = tf.cast(tf.math.ceil(tf.sqrt(tf.cast(n_harmonics, tf.float32))),
              tf.int32)
  return (n_harmonics + m - 1) // m, m


def _crossing_slots(coefficients, n_always, n_some):
  """Harmonic numbers [rows, S] (0: none) and coefficients [rows, 2, S] of
  the harmonics that cross Nyquist within a frame: slot s of row r holds
  harmonic n_always[r] + s + 1 if that is at most n_some[r]."""
  index = n_always[:, tf.newaxis] + tf.range(1, CROSSING_SLOTS + 1)
  valid = index <= n_some[:, tf.newaxis]
  n_harmonics = tf.shape(coefficients)[-1]
  slot_coefficients = tf.gather(
      coefficients, tf.minimum(index, n_harmonics) - 1, axis=2, batch_dims=1)
  slot_coefficients *= tf.cast(valid, tf.float32)[:, tf.newaxis]
  return tf.cast(tf.where(valid, index, 0), tf.float32), slot_coefficients


def harmonic_frames(f0_hz, amplitudes, hop, sample_rate, weights,
                    initial_phase=None, split_harmonics=True):
  """Harmonic series from frame-rate controls (see the module docstring).

  Args:
    f0_hz: [batch, n_frames, 1] float32, Hz.
    amplitudes: [batch, n_frames, n_harmonics] float32, per harmonic.
    hop: samples per frame, python int or int32 scalar tensor.
    sample_rate: Hz.
    weights: [hop] float32, crossfade weight of the next frame's amplitudes.
    initial_phase: None or float32 [batch, 1, 1], radians.
    split_harmonics: evaluate split harmonics (see the module docstring);
      False evaluates a sine per harmonic (the method before the split, kept
      to check and benchmark against).

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
  # Otherwise per-sample masks for all harmonics (and no crossing slots).
  n_always = tf.reshape(tf.where(split, n_always, n_harmonics), [rows])
  n_some = tf.reshape(tf.where(split, n_some, n_harmonics), [rows])

  weights = tf.cast(weights, tf.float32)

  coefficients = tf.reshape(
      tf.stack([amplitudes, phase_kernels.next_frame(amplitudes)], axis=2),
      [rows, 2, n_harmonics])
  slots, slot_coefficients = _crossing_slots(coefficients, n_always, n_some)
  # The kernel's harmonics: those audible at every sample of the frame (all
  # of them with per-sample masks).
  k = tf.range(1, n_harmonics + 1)
  coefficients *= tf.cast(k <= n_always[:, tf.newaxis], tf.float32)[
      :, tf.newaxis]
  if split_harmonics:
    n_high, m = _split_shape(amplitudes.shape[-1] or n_harmonics)
  else:
    n_high, m = amplitudes.shape[-1] or n_harmonics, 1
  coefficients = tf.reshape(
      tf.pad(coefficients, [[0, 0], [0, 0], [0, n_high * m - n_harmonics]]),
      [rows, 2, n_high, m])
  direct = tf.logical_not(split) | (not split_harmonics)
  audio = _rows(
      tf.reshape(starts, [rows]), tf.reshape(step, [rows]),
      tf.reshape(dstep, [rows]), coefficients, slots, slot_coefficients,
      ramps, weights, direct)
  return tf.reshape(audio, [batch, -1]), final
