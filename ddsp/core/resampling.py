"""Resampling between frame rate (controls) and audio rate (samples).

Networks output controls at a frame rate (250 frames/s by default); synths
need them at the audio rate (16 kHz, 64 samples per frame). `resample`
interpolates along the time axis with 'nearest', 'linear', 'cubic' or
'window' (overlapping Hann windows, see `upsample_with_windows`), and
`center_crop` removes the padding added by centred framing.

Where the output sample t sits between frames: with `add_endpoint=True`
(default) output sample t is at frame position `p = t * n_frames /
n_timesteps`, so frame k sits exactly at sample `k * hop` (hop =
n_timesteps / n_frames) and the last frame is held for one extra hop
(positions past the last frame are clamped to it). With
`add_endpoint=False`, `p = t * (n_frames - 1) / (n_timesteps - 1)`: the first
and last samples are the first and last frames.

When n_timesteps is a whole number of hops (the case that runs in every synth
at every training step), each frame's interpolating polynomial is evaluated
over its hop by one small matrix product and a reshape, with no gathers
(elementwise ops instead on GPUs with TensorFloat-32 matmuls, to stay exact).
Other lengths gather the neighbouring frames of every output sample. Both
paths compile with XLA. `benchmarks/bench_resampling.py` compares them with
`tf.image.resize` and `tf.signal.overlap_and_add`.
"""

import functools

import numpy as np
import tensorflow as tf

from ddsp import validation
from ddsp.core.utils import tf_float32

__all__ = [
    'crossfade_weights',
    'resample',
    'upsample_with_windows',
    'center_crop',
]

_METHODS = ('nearest', 'linear', 'cubic', 'window')


# ------------------------------------------------------------------------------
# Interpolation kernels, as polynomials in the fraction r in [0, 1) between
# frame k and frame k + 1. Each kernel turns frame-rate taps into frame-rate
# polynomial coefficients, so that only the evaluation runs at audio rate.
# ------------------------------------------------------------------------------
def _neighbours(x):
  """Edge-clamped frames k - 1, k + 1 and k + 2 of x [batch, n_frames, ch].

  The last frame is held: for k = n_frames - 1 all taps are that frame, so
  interpolation past it is constant.
  """
  n_frames = _dims(x)[1]
  last = x[:, -1:]
  x_next = tf.concat([x[:, 1:], last], axis=1)
  # The slices below keep n_frames frames when n_frames < 3.
  x_next2 = tf.concat([x[:, 2:], last, last], axis=1)[:, :n_frames]
  x_prev = tf.concat([x[:, :1], x[:, :-2], last], axis=1)[:, -n_frames:]
  return x_prev, x_next, x_next2


def _coefficients(x, method):
  """Polynomial coefficients [batch, n_frames, n_coeffs, ch] in r.

  'linear': x_k + r (x_{k+1} - x_k).
  'window': x_k + s(r) (x_{k+1} - x_k) with s(r) = sin^2(pi r / 2); the
    polynomial is in s (see `upsample_with_windows`).
  'cubic': Catmull-Rom spline (Keys' cubic convolution with a = -0.5), the
    cubic Hermite curve with tangents (x_{k+1} - x_{k-1}) / 2, which passes
    through every frame.
  """
  if method == 'nearest':
    return x[:, :, tf.newaxis, :]
  x_prev, x_next, x_next2 = _neighbours(x)
  if method in ('linear', 'window'):
    return tf.stack([x, x_next - x], axis=2)
  # Cubic: x_k + r c1 + r^2 c2 + r^3 c3.
  c1 = 0.5 * (x_next - x_prev)
  c2 = x_prev - 2.5 * x + 2.0 * x_next - 0.5 * x_next2
  c3 = 0.5 * (x_next2 - x_prev) + 1.5 * (x - x_next)
  return tf.stack([x, c1, c2, c3], axis=2)


def crossfade_weights(hop, method='linear', dtype=np.float32):
  """Weight of the next frame at each sample of a hop between two frames.

  Sample j of the hop that starts at frame t has the value
  `(1 - w[j]) * x[t] + w[j] * x[t + 1]`: what `resample(x, n_frames * hop,
  method)` computes with `add_endpoint=True`. The one definition of these
  weights, used by the resampler, the oscillators, the wavetable synth and
  the streaming renderers.

  Args:
    hop: samples per frame, an int > 0 or an int32 scalar tensor.
    method: 'nearest' (w = 0), 'linear' (w = j / hop) or 'window'
      (w = sin^2(pi j / (2 hop)), the crossfade of 50 %-overlapping periodic
      Hann windows).
    dtype: numpy dtype of the result for an int `hop`.

  Returns:
    [hop] weights in [0, 1): a numpy array of `dtype` (computed in float64)
    for an int `hop`, a float32 tensor for a tensor `hop`.

  Example:
    >>> crossfade_weights(4, 'window').round(4)
    array([0.    , 0.1464, 0.5   , 0.8536], dtype=float32)
  """
  validation.check_one_of(method, 'method', ('nearest', 'linear', 'window'))
  if isinstance(hop, (int, np.integer)):
    hop = validation.check_positive_int(int(hop), 'hop')
    ramp = np.arange(hop, dtype=np.float64) / hop
    if method == 'nearest':
      ramp = np.zeros_like(ramp)
    elif method == 'window':
      ramp = np.sin(0.5 * np.pi * ramp)**2
    return ramp.astype(dtype)
  ramp = tf.cast(tf.range(hop), tf.float64) / tf.cast(hop, tf.float64)
  if method == 'nearest':
    ramp = tf.zeros_like(ramp)
  elif method == 'window':
    ramp = tf.sin(0.5 * np.pi * ramp)**2
  return tf.cast(ramp, tf.float32)


def _basis(hop, method):
  """Polynomial basis within one hop, [hop, n_coeffs] float32.

  Row j holds the powers 1, r, r^2, ... of the fraction r = j / hop (of
  s(r) = sin^2(pi r / 2) for 'window'), so that basis @ coefficients
  evaluates the interpolant at every sample of the hop.
  """
  r = crossfade_weights(hop, 'linear' if method == 'cubic' else method,
                        dtype=np.float64)
  n_coeffs = {'nearest': 1, 'linear': 2, 'window': 2, 'cubic': 4}[method]
  return np.stack([r**i for i in range(n_coeffs)], axis=1).astype(np.float32)


# ------------------------------------------------------------------------------
# Two ways to evaluate: per hop (reshape) and at arbitrary positions (gather).
# ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _has_gpu():
  return bool(tf.config.list_physical_devices('GPU'))


def _matmul_is_exact():
  """False where matmuls may round float32 inputs to TensorFloat-32.

  TensorFlow runs float32 matmuls in TF32 (10-bit mantissa) on recent GPUs
  unless `tf.config.experimental.enable_tensor_float_32_execution(False)`;
  that would quantize frequency envelopes by about a cent.
  """
  return not (_has_gpu() and
              tf.config.experimental.tensor_float_32_execution_enabled())


def _upsample_by_hop(x, hop, method):
  """[batch, n_frames, ch] -> [batch, n_frames * hop, ch], last frame held.

  Output sample k * hop + j is the interpolant at frame position k + j / hop.
  """
  batch, n_frames, channels = _dims(x)
  if hop == 1:
    return x
  coeffs = _coefficients(x, method)  # [batch, n_frames, n_coeffs, ch]
  basis = _basis(hop, method)  # [hop, n_coeffs]
  if _matmul_is_exact():
    # One small matrix product per frame, [hop, n_coeffs] @ [n_coeffs, ch]:
    # measured 2.5-3x faster on CPU than broadcasting elementwise ops (one
    # pass over the output instead of two per term).
    out = tf.matmul(tf.constant(basis)[tf.newaxis, tf.newaxis], coeffs)
  elif basis.shape[1] == 1:
    out = tf.broadcast_to(coeffs, [batch, n_frames, hop, channels])
  else:
    # Horner's scheme in the powers of basis[:, 1] (exact float32 ops).
    r = tf.constant(basis[:, 1:2])  # [hop, 1]
    coeffs = coeffs[:, :, tf.newaxis]  # [batch, n_frames, 1, n_coeffs, ch]
    out = coeffs[..., -1, :]
    for i in range(basis.shape[1] - 2, -1, -1):
      out = coeffs[..., i, :] + r * out
  return tf.reshape(out, [batch, n_frames * hop, channels])


def _positions(n_frames, n_timesteps, add_endpoint, method):
  """Frame index [n_timesteps] int64 and fraction [n_timesteps] float32.

  Computed with exact integer arithmetic (works for static or dynamic
  n_frames).
  """
  n_frames = tf.cast(n_frames, tf.int64)
  t = tf.range(n_timesteps, dtype=tf.int64)
  if add_endpoint:
    numerator = t * n_frames
    denominator = tf.constant(n_timesteps, tf.int64)
  else:
    numerator = t * (n_frames - 1)
    denominator = tf.constant(max(n_timesteps - 1, 1), tf.int64)
  if method == 'nearest':
    if add_endpoint:
      index = numerator // denominator
    else:  # Round half up.
      index = (2 * numerator + denominator) // (2 * denominator)
    fraction = tf.zeros([n_timesteps], tf.float32)
  else:
    index = numerator // denominator
    fraction = tf.cast(numerator % denominator, tf.float64)
    fraction = tf.cast(fraction / tf.cast(denominator, tf.float64), tf.float32)
  # Past the last frame (endpoint held): clamp to it.
  past_end = index >= n_frames - 1
  index = tf.where(past_end, n_frames - 1, index)
  fraction = tf.where(past_end, 0.0, fraction)
  return index, fraction


def _tap_weights(fraction, method):
  """Frame offsets and weights [n_timesteps, n_taps] of each output sample.

  The same kernels as `_coefficients`, written as weights of the frames
  k - 1 .. k + 2 around the fraction r (Keys' cubic with a = -0.5).
  """
  r = fraction[:, tf.newaxis]
  if method == 'nearest':
    return [0], tf.ones_like(r)
  if method == 'linear':
    return [0, 1], tf.concat([1.0 - r, r], axis=1)
  r2 = r * r
  r3 = r2 * r
  weights = 0.5 * tf.concat([-r3 + 2.0 * r2 - r,
                             3.0 * r3 - 5.0 * r2 + 2.0,
                             -3.0 * r3 + 4.0 * r2 + r,
                             r3 - r2], axis=1)
  return [-1, 0, 1, 2], weights


def _resample_at_positions(x, n_timesteps, method, add_endpoint):
  """General interpolation: weighted sums of gathered neighbouring frames.

  Each output sample is a weighted sum of 1, 2 or 4 neighbouring frames
  (indices clamped at the edges). Gathering time-major frames (contiguous
  rows) keeps the backward pass (a segment sum over rows) fast; measured
  about as fast as a sparse interpolation-matrix product, which XLA and
  TFLite cannot compile, and 2-3x faster than gathering along axis 1.
  """
  _, n_frames, _ = _dims(x)
  index, fraction = _positions(n_frames, n_timesteps, add_endpoint, method)
  offsets, weights = _tap_weights(fraction, method)
  last = tf.cast(n_frames, tf.int64) - 1
  frames = tf.transpose(x, [1, 0, 2])  # [n_frames, batch, channels].
  if method == 'nearest':
    out = tf.gather(frames, index)
  else:
    out = 0.0
    for i, offset in enumerate(offsets):
      taps = tf.gather(frames, tf.clip_by_value(index + offset, 0, last))
      out += weights[:, i, tf.newaxis, tf.newaxis] * taps
  return tf.transpose(out, [1, 0, 2])  # [batch, n_timesteps, channels].


# ------------------------------------------------------------------------------
# Shapes.
# ------------------------------------------------------------------------------
def _dims(x):
  """Dimensions of a 3-D tensor, static ints where known, else scalars."""
  dynamic = tf.shape(x)
  return [d if d is not None else dynamic[i] for i, d in enumerate(x.shape)]


def _to_3d(inputs, rank):
  """Reshapes rank 1-4 inputs to [batch, n_frames, channels]."""
  if rank == 1:
    return inputs[tf.newaxis, :, tf.newaxis]
  if rank == 2:
    return inputs[:, :, tf.newaxis]
  if rank == 3:
    return inputs
  dims = _dims(inputs)
  channels = (dims[2] * dims[3] if isinstance(dims[2], int) and
              isinstance(dims[3], int) else -1)
  return tf.reshape(inputs, [dims[0], dims[1], channels])


def _from_3d(outputs, inputs, rank):
  """Inverse of `_to_3d` with the time axis now of the output length."""
  if rank == 1:
    return outputs[0, :, 0]
  if rank == 2:
    return outputs[:, :, 0]
  if rank == 3:
    return outputs
  dims = _dims(inputs)
  return tf.reshape(outputs, [dims[0], -1, dims[2], dims[3]])


def _check_inputs(inputs, n_timesteps):
  inputs = tf_float32(inputs)
  shape = validation.check_rank(inputs, 'inputs', (1, 2, 3, 4))
  if shape is None:
    raise ValueError('`inputs` must have a known rank (1 to 4). '
                     f'Received: inputs.shape={inputs.shape}')
  n_timesteps = validation.check_positive_int(n_timesteps, 'n_timesteps')
  validation.check_not_empty(inputs, 'inputs', 0 if len(shape) == 1 else 1,
                             'frame')
  validation.check_finite(inputs, 'inputs')
  return inputs, len(shape), n_timesteps


def _hop(n_frames, n_timesteps, add_endpoint):
  """Samples per frame if n_timesteps is a whole number of hops, else None."""
  if n_frames is None:
    return None
  if add_endpoint:
    return n_timesteps // n_frames if n_timesteps % n_frames == 0 else None
  if n_frames == 1 or (n_timesteps - 1) % (n_frames - 1):
    return None
  return (n_timesteps - 1) // (n_frames - 1)


# ------------------------------------------------------------------------------
# Public functions.
# ------------------------------------------------------------------------------
def resample(inputs, n_timesteps, method='linear', add_endpoint=True):
  """Interpolates frames along the time axis to `n_timesteps` steps.

  Usually upsamples controls from the frame rate to the audio rate, e.g.
  amplitudes [16, 1000, 60] at 250 frames/s -> [16, 64000, 60] at 16 kHz.
  Output sample t is the interpolant at frame position
  `p = min(t * n_frames / n_timesteps, n_frames - 1)` with `add_endpoint`
  (frame k at sample k * hop, the last frame held for one extra hop), else
  `p = t * (n_frames - 1) / (n_timesteps - 1)` (first and last samples are the
  first and last frames). Every method passes through the frame values at
  their sample positions (except the last frame for 'window' without the
  endpoint, see `upsample_with_windows`).

  Args:
    inputs: float32 frames, shape [n_frames], [batch, n_frames],
      [batch, n_frames, channels] or [batch, n_frames, channels_1,
      channels_2]; time is axis 0 for 1-D inputs and axis 1 otherwise.
    n_timesteps: positive int, the number of output steps (samples). Need not
      be a multiple of n_frames for 'nearest', 'linear' and 'cubic'
      (downsampling also works but does not low-pass filter).
    method: 'nearest' (the frame at floor(p), or the closest one without
      the endpoint), 'linear', 'cubic' (Catmull-Rom
      spline, i.e. cubic convolution with a = -0.5, smooth and exact at the
      frames; may overshoot between frames) or 'window' (overlap-added Hann
      windows, see `upsample_with_windows`: smooth envelopes that never
      overshoot; needs a whole number of hops).
    add_endpoint: True holds the last frame for one extra hop, so n_frames
      hops make exactly n_timesteps samples (hop = n_timesteps / n_frames).
      False puts the last frame on the last sample: n_frames - 1 hops
      (hop = (n_timesteps - 1) / (n_frames - 1); for 'window',
      n_timesteps / (n_frames - 1), see `upsample_with_windows`).

  Returns:
    float32 tensor like `inputs` with n_timesteps steps on the time axis.
    Differentiable with respect to `inputs` (every method is linear in it).

  Raises:
    ValueError: if `method` is unknown, `inputs` is not rank 1 to 4 or has no
      frames, `n_timesteps` is not a positive int, or ('window' only) it is
      not a whole number of hops.

  Example:
    >>> resample(tf.constant([0.0, 1.0]), 4).numpy()
    array([0. , 0.5, 1. , 1. ], dtype=float32)
    >>> resample(tf.constant([0.0, 1.0]), 4, add_endpoint=False).numpy()
    array([0.        , 0.33333334, 0.6666667 , 1.        ], dtype=float32)
  """
  validation.check_one_of(method, 'method', _METHODS)
  inputs, rank, n_timesteps = _check_inputs(inputs, n_timesteps)
  if method == 'window':
    x = _upsample_with_windows(_to_3d(inputs, rank), n_timesteps, add_endpoint)
    return _from_3d(x, inputs, rank)

  x = _to_3d(inputs, rank)
  n_frames = x.shape[1]
  hop = _hop(n_frames, n_timesteps, add_endpoint)
  # Without the endpoint, nearest rounds to the closest frame, which is not
  # a per-hop hold.
  if hop is not None and (add_endpoint or method != 'nearest'):
    out = _upsample_by_hop(x, hop, method)
    if not add_endpoint:
      # n_frames - 1 hops plus the last frame.
      out = out[:, :n_timesteps]
  else:
    out = _resample_at_positions(x, n_timesteps, method, add_endpoint)
  return _from_3d(out, inputs, rank)


def upsample_with_windows(inputs, n_timesteps, add_endpoint=True):
  """Upsamples frames by overlap-adding 50 %-overlapping Hann windows.

  Each frame scales a periodic Hann window of 2 * hop samples centred on its
  sample position (k * hop); with 50 % overlap the windows sum to one, so
  between frames k and k + 1 the output crossfades as
  `x_k cos^2(pi j / (2 hop)) + x_{k+1} sin^2(pi j / (2 hop))`, j = 0 .. hop-1.
  The result is smooth, passes through every frame at its sample position,
  stays within the range of neighbouring frames (no overshoot), and a
  constant input gives exactly that constant at every output sample, the
  first and last hops included (no fade in or out: the output starts at the
  peak of the first frame's window, and the last hop crossfades into the
  held last frame, or into the last frame without the endpoint).
  Good for amplitude envelopes.

  Args:
    inputs: float32 frames, shape [batch, n_frames, channels] (3-D only, as
      published; `resample(..., method='window')` takes ranks 1 to 4).
    n_timesteps: positive int, output samples; a multiple of n_frames with
      `add_endpoint` (hop = n_timesteps / n_frames), else a multiple of
      n_frames - 1.
    add_endpoint: True holds the last frame for its own hop (output samples
      k * hop are frames k = 0 .. n_frames - 1). False spreads
      n_frames - 1 hops over n_timesteps: frames k = 0 .. n_frames - 2 are at
      samples k * hop and the last frame would fall one sample after the end
      (the output approaches it over the last hop).

  Returns:
    float32 tensor like `inputs` with n_timesteps steps on the time axis.
    Differentiable with respect to `inputs`.

  Raises:
    ValueError: if n_timesteps is not a whole number of hops as above, or
      `inputs` is not 3-D, has an unknown number of frames, or holds NaN or
      infinite values.

  Example:
    >>> x = tf.constant([[[0.0], [1.0]]])
    >>> upsample_with_windows(x, 8)[0, :, 0].numpy()
    array([0.        , 0.14644662, 0.5       , 0.8535534 , 1.        ,
           1.        , 1.        , 1.        ], dtype=float32)
  """
  validation.check_rank(inputs, 'inputs', 3)
  inputs, _, n_timesteps = _check_inputs(inputs, n_timesteps)
  return _upsample_with_windows(inputs, n_timesteps, add_endpoint)


def _upsample_with_windows(x, n_timesteps, add_endpoint):
  """`upsample_with_windows` of checked [batch, n_frames, channels] frames."""
  n_frames = x.shape[1]
  if n_frames is None:
    raise ValueError('`inputs` must have a known number of frames for '
                     f'window upsampling. Received: inputs.shape={x.shape}')
  n_hops = n_frames if add_endpoint else n_frames - 1
  if n_hops < 1:
    raise ValueError('`inputs` must have at least 2 frames for window '
                     'upsampling with add_endpoint=False. '
                     f'Received: inputs.shape={tuple(x.shape)}')
  if n_timesteps % n_hops:
    what = 'n_frames' if add_endpoint else 'n_frames - 1'
    raise ValueError(
        f'`n_timesteps` must be a multiple of {what} ({n_hops}) for window '
        f'upsampling with add_endpoint={add_endpoint}. '
        f'Received: n_timesteps={n_timesteps}, n_frames={n_frames}')
  hop = n_timesteps // n_hops
  out = _upsample_by_hop(x, hop, 'window')
  if not add_endpoint:
    out = out[:, :n_timesteps]
  return out


def center_crop(audio, frame_size):
  """Removes the padding added by centred framing (`frame_size // 2` a side).

  The inverse of padding audio by `frame_size // 2` samples at each end
  before framing, as librosa's `center=True` does.

  Args:
    audio: tensor [batch, n_samples, ...] (time on axis 1).
    frame_size: positive int, the frame size that padding was for; odd
      sizes remove (frame_size - 1) / 2 a side.

  Returns:
    Tensor [batch, n_samples - 2 * (frame_size // 2), ...].

  Raises:
    ValueError: if `audio` has rank < 2, `frame_size` is not a positive int,
      or audio is too short to crop.

  Example:
    >>> center_crop(tf.ones([1, 1024 + 512]), 512).shape
    TensorShape([1, 1024])
  """
  frame_size = validation.check_positive_int(frame_size, 'frame_size')
  audio = tf.convert_to_tensor(audio)
  shape = validation.static_shape(audio)
  if shape is None or len(shape) < 2:
    raise ValueError('`audio` must have shape [batch, n_samples, ...]. '
                     f'Received: audio.shape={audio.shape}')
  pad = frame_size // 2
  if pad == 0:
    return audio
  if shape[1] is not None and shape[1] <= 2 * pad:
    raise ValueError(
        f'`audio` must be longer than 2 * (frame_size // 2) = {2 * pad} '
        f'samples to crop. Received: audio.shape={tuple(shape)}, '
        f'frame_size={frame_size}')
  return audio[:, pad:-pad]

