"""Recursive (IIR) filters: `lfilter` and audio-EQ-cookbook biquad designs.

`lfilter(audio, b, a)` computes the same difference equation as
`scipy.signal.lfilter` (`a[0] y[n] = sum_k b[k] x[n-k] - sum_{k>=1} a[k]
y[n-k]`, with the same initial and final state `zi` / `zf` of the
transposed direct form II), for a batch and any order, without a loop over
samples. The method, a chunked recursion in state-space form:

* Constant coefficients: the transposed-direct-form-II state `z` (the
  `order` values of scipy's `zi`) evolves as `z <- M z + d x`, `y = z[0] +
  b[0] x`, with `M` the companion matrix of `a` and `d = b[1:] - a[1:]
  b[0]`. Within a chunk of `L` samples (64 by default) the output is a
  matrix product, the chunk's samples times the `L x L` Toeplitz matrix of
  the impulse response, plus the free response of the chunk's start state.
  The state at the end of each chunk is `M^L` times that at its start plus
  the chunk's own contribution; this linear recursion over chunks runs as a
  parallel (Hillis-Steele) associative scan of `log2(n_chunks)` steps, from
  `zi`. All powers of `M` come from repeated squaring.
* Time-varying coefficients (one set per sample, `[batch, n_samples,
  order + 1]`): the FIR part `v[n] = sum_k b_k[n-k] x[n-k]` is a sum of
  shifted products (`zi` adds to its first `order` samples: the free
  response of a state equals the all-pole filter's response to it), and
  the all-pole part uses the same chunks and scan, each chunk's responses
  built by an `L`-step recursion vectorized over every chunk and the state
  basis at once (`L` = 32), so the Python loop runs over the samples of one
  chunk, not the clip.

For time-varying coefficients the difference equation is the transposed-
direct-form-II one whose coefficients apply when a sample enters the filter:
`y[n] = sum_k b_k[n-k] x[n-k] - sum_{k>=1} a_k[n-k] y[n-k]` (each sample's
coefficients divided by its own `a_0`). Its state is `zi` / `zf` exactly as
for constant coefficients, so block-by-block filtering with `zi` equals
filtering the whole clip. Its gradient is the adjoint recursion, run by the
same method backwards in time (a custom gradient: cheaper than
differentiating through the chunks).

`state_variable_filter` is the topology-preserving-transform (trapezoidal)
state-variable filter, a linear time-varying state-space system with two
states that stays stable under fast modulation of its cutoff and resonance;
it runs on the same chunks and scan (a general 2 x 2 transition per sample).

Everything is made of differentiable TensorFlow ops: gradients flow to the
audio, the coefficients and `zi`.
"""

import numpy as np
import tensorflow as tf

from ddsp import validation

__all__ = [
    'lfilter',
    'biquad_coefficients',
    'BIQUAD_TYPES',
    'state_variable_filter',
]

_CHUNK = 64  # Samples per chunk, constant coefficients.
_TV_CHUNK = 32  # Samples per chunk, time-varying coefficients.

BIQUAD_TYPES = ('lowpass', 'highpass', 'bandpass', 'notch', 'peak',
                'lowshelf', 'highshelf')


# ------------------------------------------------------------------------------
# Helpers.
# ------------------------------------------------------------------------------
def _shift(x, k):
  """x delayed by k samples along axis 1 (zeros shifted in)."""
  if k == 0:
    return x
  n = x.shape[1]
  if k >= n:
    return tf.zeros_like(x)
  paddings = [[0, 0], [k, 0]] + [[0, 0]] * (len(x.shape) - 2)
  return tf.pad(x[:, :n - k], paddings)


def _companion_powers(a, length):
  """M^0 ... M^length of the companion matrix of `a` (a[1:], normalized).

  Args:
    a: [batch, order] feedback coefficients a_1 ... a_order.
    length: int >= 1.

  Returns:
    [batch, length + 1, order, order], M^k at index k, where
    `M = [-a | shifted identity]` (column 0 is -a, ones above the diagonal).
  """
  order = a.shape[-1]
  shift = tf.constant(np.eye(order, order - 1), a.dtype)
  m = tf.concat([-a[:, :, tf.newaxis],
                 tf.broadcast_to(shift, [tf.shape(a)[0], order, order - 1])],
                axis=-1)
  powers = tf.eye(order, batch_shape=[1, 1], dtype=a.dtype)
  powers = tf.broadcast_to(powers, [tf.shape(a)[0], 1, order, order])
  m_power = m  # M^count, count = number of powers held.
  count = 1
  while count < length + 1:
    powers = tf.concat([powers, tf.matmul(powers, m_power[:, tf.newaxis])],
                       axis=1)
    m_power = tf.matmul(m_power, m_power)
    count *= 2
  return powers[:, :length + 1]


def _small_matmul(x, y):
  """x @ y for stacks of small matrices, elementwise (TensorFlow's batched
  matmul is slow for many tiny matrices)."""
  return tf.reduce_sum(x[..., :, :, tf.newaxis] * y[..., tf.newaxis, :, :],
                       axis=-2)


def _small_matvec(x, v):
  """x @ v for stacks of small matrices and vectors, elementwise."""
  return tf.reduce_sum(x * v[..., tf.newaxis, :], axis=-1)


def _chunk_scan(contributions, transfer, constant):
  """End states of every chunk: E_c = A_c E_{c-1} + W_c, E_{-1} = 0.

  A Hillis-Steele scan over chunks: log2(n_chunks) steps.

  Args:
    contributions: [batch, n_chunks, order] W_c, each chunk's end state from
      a zero start.
    transfer: A_c: [batch or 1, order, order] if `constant`, else
      [batch, n_chunks, order, order].
    constant: whether A_c is the same for every chunk.

  Returns:
    [batch, n_chunks, order] end states.
  """
  ends = contributions
  n_chunks = ends.shape[1]
  order = ends.shape[-1]
  step = 1
  while step < n_chunks:
    earlier = tf.pad(ends[:, :-step], [[0, 0], [step, 0], [0, 0]])
    if constant:
      ends = ends + tf.matmul(earlier, transfer, transpose_b=True)
      transfer = tf.matmul(transfer, transfer)
    else:
      ends = ends + _small_matvec(transfer, earlier)
      identity = tf.eye(order, batch_shape=[1, step], dtype=transfer.dtype)
      identity = tf.broadcast_to(
          identity, [tf.shape(transfer)[0], step, order, order])
      earlier_transfer = tf.concat([identity, transfer[:, :-step]], axis=1)
      transfer = _small_matmul(transfer, earlier_transfer)
    step *= 2
  return ends


def _to_chunks(v, chunk):
  """[batch, n] -> [batch, n_chunks, chunk] zero-padded at the end."""
  n = v.shape[1]
  n_chunks = -(-n // chunk)
  v = tf.pad(v, [[0, 0], [0, n_chunks * chunk - n]])
  return tf.reshape(v, [-1, n_chunks, chunk]), n_chunks


def _constant_filter(x, b, a, zi, chunk):
  """The whole filter, constant coefficients, transposed direct form II.

  In state-space form `z[n+1] = M z[n] + d x[n]`, `y[n] = z[n][0] + b_0
  x[n]` with `d = b[1:] - a[1:] b_0` and `M` the companion matrix of `a`;
  `zi` is the start state `z[0]` (scipy's convention). Per chunk: the
  Toeplitz matrix of the impulse response times the chunk's samples, plus
  the free response of the chunk's start state; the start states come from
  a scan over chunks. The powers of `M`, the impulse response and the scan
  are float64 (they are small; high-order companion matrices are
  ill-conditioned), the products with the audio in the audio's dtype.

  Args:
    x: [batch, n] input.
    b, a: [batch or 1, N + 1] float64 coefficients, a[:, 0] = 1, N >= 1.
    zi: None or [batch or 1, N] start state.
    chunk: samples per chunk.
  """
  n = x.shape[1]
  order = a.shape[-1] - 1
  chunk = min(chunk, max(n, 1))
  powers = _companion_powers(a[:, 1:], chunk)  # [Bc, L + 1, N, N]
  # u_k = M^k d: the state k + 1 samples after a unit input.
  d = b[:, 1:] - a[:, 1:] * b[:, :1]
  u = tf.linalg.matvec(powers, d[:, tf.newaxis, :])  # [Bc, L + 1, N]
  impulse = tf.concat([b[:, :1], u[:, :chunk - 1, 0]], axis=1)  # [Bc, L]
  lags = np.subtract.outer(np.arange(chunk), np.arange(chunk))
  mask = tf.constant(lags >= 0, tf.float64)
  toeplitz = tf.gather(impulse, np.maximum(lags, 0), axis=1) * mask
  free = powers[:, :chunk, 0, :]  # [Bc, L, N]: output from a start state.
  to_state = tf.reverse(u[:, :chunk], axis=[1])  # [Bc, L, N]
  transfer = powers[:, chunk]  # [Bc, N, N] = M^L.
  toeplitz, free, to_state = [tf.cast(t, x.dtype)
                              for t in (toeplitz, free, to_state)]

  chunks, n_chunks = _to_chunks(x, chunk)
  batch = tf.shape(chunks)[0]
  if a.shape[0] == 1:
    flat = tf.reshape(chunks, [-1, chunk])
    y = tf.reshape(tf.matmul(flat, toeplitz[0], transpose_b=True),
                   [batch, n_chunks, chunk])
    contributions = tf.reshape(tf.matmul(flat, to_state[0]),
                               [batch, n_chunks, order])
  else:
    y = tf.matmul(chunks, toeplitz, transpose_b=True)
    contributions = tf.matmul(chunks, to_state)
  contributions = tf.cast(contributions, tf.float64)
  if zi is None:
    start = tf.zeros_like(contributions[:, :1])
  else:
    start = tf.cast(zi, tf.float64)[:, tf.newaxis] + tf.zeros_like(
        contributions[:, :1])
    first = contributions[:, :1] + tf.matmul(start, transfer,
                                             transpose_b=True)
    contributions = tf.concat([first, contributions[:, 1:]], axis=1)
  ends = _chunk_scan(contributions, transfer, constant=True)
  starts = tf.concat([start, ends[:, :-1]], axis=1)
  y += tf.matmul(tf.cast(starts, x.dtype), free, transpose_b=True)
  return tf.reshape(y, [batch, n_chunks * chunk])[:, :n]


def _shift_left(x, k):
  """x advanced by k samples along axis 1 (zeros shifted in at the end)."""
  return tf.concat([x[:, k:], tf.zeros_like(x[:, :k])], axis=1)


def _all_pole_varying(v, a, chunk):
  """y[n] = v[n] - sum_k a_k[n-k] y[n-k] from a zero state.

  Its gradient is the adjoint recursion run backwards in time: with
  `lam = dL/dv`, `lam[m] = dy[m] - sum_k a_k[m] lam[m+k]` (the same kind of
  recursion on the reversed signals, coefficients shifted by k) and
  `dL/da_k[m] = -lam[m+k] y[m]`; cheaper than differentiating the chunks.

  Args:
    v: [batch, n] input.
    a: list of the N per-sample feedback coefficients a_1 ... a_N, each
      [batch, n] (taps rather than one [batch, n, N] tensor: no slicing and
      stacking of it in the recursion or its gradient).
    chunk: samples per chunk.
  """
  order = len(a)

  @tf.custom_gradient
  def run(v, *a):
    y = _all_pole_varying_forward(v, a, chunk)

    def grad(dy):
      adjoint_a = [_shift_left(tf.reverse(a[k - 1], axis=[1]), k)
                   for k in range(1, order + 1)]
      lam = tf.reverse(_all_pole_varying_forward(
          tf.reverse(dy, axis=[1]), adjoint_a, chunk), axis=[1])
      da = [-_shift_left(lam, k) * y for k in range(1, order + 1)]
      # Coefficients broadcast against the batch.
      da = [tf.reduce_sum(d, axis=0, keepdims=True) if tap.shape[0] == 1
            else d for d, tap in zip(da, a)]
      return (lam, *da)

    return y, grad

  return run(v, *a)


def _all_pole_varying_forward(v, a, chunk):
  """`_all_pole_varying` without its custom gradient (`a`: list of taps)."""
  n = v.shape[1]
  order = len(a)
  chunk = min(chunk, max(n, 1))
  chunks, n_chunks = _to_chunks(v, chunk)
  # Per chunk, the response to its inputs from a zero state (`zero`, each
  # [batch, n_chunks]) and the free responses from the basis start states
  # (`free`, each [N, batch, n_chunks]: row j starts from e_j). The samples
  # of a chunk are unstacked along a leading axis (contiguous slices, whose
  # gradient is one stack rather than a padded copy per sample).
  inputs = tf.unstack(tf.transpose(chunks, [2, 0, 1]), axis=0)
  # feedback[m][i]: coefficient a_{i+1} at sample m of every chunk.
  feedback = list(zip(*[
      tf.unstack(tf.transpose(_to_chunks(tap, chunk)[0], [2, 0, 1]), axis=0)
      for tap in a]))
  zero = [tf.zeros_like(inputs[0])] * order
  basis = np.eye(order)
  free = [tf.constant(basis[i], v.dtype)[:, tf.newaxis, tf.newaxis]
          + tf.zeros_like(inputs[0]) for i in range(order)]
  zero_outputs, free_outputs = [], []
  for m in range(chunk):
    y_zero, y_free = zero[0] + inputs[m], free[0]
    zero_outputs.append(y_zero)
    free_outputs.append(y_free)
    c = feedback[m]
    zero = [zero[i + 1] - c[i] * y_zero for i in range(order - 1)] + [
        -c[order - 1] * y_zero]
    free = [free[i + 1] - c[i] * y_free for i in range(order - 1)] + [
        -c[order - 1] * y_free]
  contributions = tf.cast(tf.stack(zero, axis=-1), tf.float64)  # [B, C, N]
  transfer = tf.transpose(tf.cast(tf.stack(free), tf.float64), [2, 3, 0, 1])
  ends = _chunk_scan(contributions, transfer, constant=False)
  starts = tf.cast(tf.pad(ends[:, :-1], [[0, 0], [1, 0], [0, 0]]), v.dtype)
  y = tf.stack(zero_outputs, axis=-1)  # [batch, n_chunks, L]
  free_outputs = tf.stack(free_outputs, axis=-1)  # [N, batch, n_chunks, L]
  y += tf.add_n([free_outputs[j] * starts[..., j, tf.newaxis]
                 for j in range(order)])
  return tf.reshape(y, [-1, n_chunks * chunk])[:, :n]


def _state_selection(order):
  """[N * (N + 1), N] 0/1 matrix: zf_i = sum over (t, k) of p[t, k].

  p[t, k] = coefficient k times the signal at sample n - N + t (the last N
  samples), and zf_i sums the pairs with t >= i and k = i + N - t.
  """
  selection = np.zeros([order, order + 1, order])
  for i in range(order):
    for t in range(i, order):
      selection[t, i + order - t, i] = 1.0
  return selection.reshape(order * (order + 1), order)


def _dtype_of(x):
  """float64 for float64 input, else float32."""
  dtype = getattr(x, 'dtype', None)
  if dtype is not None and tf.as_dtype(dtype) == tf.float64:
    return tf.float64
  return tf.float32


def _cast(x, name, dtype):
  """`x` as a finite tensor of `dtype` (variables are read)."""
  if isinstance(x, tf.Variable):
    x = x.read_value()
  x = tf.cast(tf.convert_to_tensor(x), dtype)
  validation.check_finite(x, name)
  return x


def _coefficients(x, name, dtype):
  """A rank-1 to rank-3 tensor whose last axis is not empty."""
  x = _cast(x, name, dtype)
  shape = validation.check_rank(x, name, (1, 2, 3))
  validation.check_not_empty(x, name, len(shape) - 1, 'coefficient')
  return x


# ------------------------------------------------------------------------------
# lfilter.
# ------------------------------------------------------------------------------
def lfilter(audio, b, a, zi=None, return_state=False, *, chunk_size=None):
  """Linear recursive filter, as `scipy.signal.lfilter`, batched, no loop.

  Computes `a[0] y[n] = sum_{k=0}^{M} b[k] x[n-k] - sum_{k=1}^{N} a[k]
  y[n-k]` along the last axis of `audio`, with scipy's initial state `zi`
  and final state `zf` (transposed direct form II, `order = max(len(a),
  len(b)) - 1` values). Coefficients may be shared by the batch, one set per
  example, or one set per sample (time-varying; see the module docstring
  for the difference equation then). The method is a chunked recursion in
  state-space form with a parallel associative scan over chunks (module
  docstring): no per-sample Python loop or `tf.scan`.

  Differentiable with respect to `audio`, `b`, `a` and `zi`. The audio is
  filtered in float64 if `audio` is float64, else in float32; the feedback
  coefficients, the impulse responses made from them and the scan over
  chunks are float64 in every case (poles near the unit circle are
  sensitive to rounding), which keeps float32 results within about 1e-5 of
  float64 scipy, relative to the peak, for stable filters of orders 1-8
  with poles up to radius 0.99 (closer than scipy's own float32 path).
  Time-varying feedback coefficients stay float64 (and the recursion runs
  in float64) when given in float64; float32 ones (as from a network) run
  in the audio's dtype, with the rounding of float32 coefficients (about
  1e-4 relative error for order 8 at radius 0.99, 1e-6 for biquads).

  Args:
    audio: [batch, n_samples] or [n_samples] float, the input signal;
      n_samples statically known.
    b: numerator (feed-forward) coefficients: [n_b] (shared), [batch, n_b]
      (one set per example) or [batch, n_samples, n_b] (time-varying, one
      set per sample). A batch of 1 is broadcast.
    a: denominator (feedback) coefficients, shapes as for `b` with [n_a]
      last; `a[..., 0]` must be non-zero (the coefficients are divided by it).
      A stable filter has its poles (roots of `a`) inside the unit circle; an
      unstable one grows without bound, as in scipy.
    zi: None (zero state, scipy's default) or the initial state, [order] or
      [batch, order], in scipy's convention (`scipy.signal.lfilter_zi`,
      `lfiltic`), e.g. the `zf` of the previous block.
    return_state: if True, also return the final state `zf`.
    chunk_size: samples per chunk of the recursion (default 64 for constant
      and 32 for time-varying coefficients); only speed depends on it.

  Returns:
    y: the filtered signal, shaped like `audio` (batch broadcast against the
      coefficients' batch). With `return_state`, `(y, zf)`, zf [batch, order]
      (or [order] for 1-D `audio`).

  Raises:
    ValueError: if a rank is wrong, a coefficient axis is empty, batch sizes
      or the time axis of time-varying coefficients disagree with `audio`,
      `zi` has the wrong length, values are not finite, or (eagerly) an
      `a[0]` is zero.

  Example:
    >>> y = lfilter([1.0, 2.0, 3.0, 4.0], [1.0], [1.0, -0.5])
    >>> [round(float(v), 4) for v in y]
    [1.0, 2.5, 4.25, 6.125]
  """
  return _lfilter(audio, b, a, zi, return_state, chunk_size)


# Not converted by autograph (no tensor-dependent Python control flow):
# tracing stays fast inside tf.function.
@tf.autograph.experimental.do_not_convert
def _lfilter(audio, b, a, zi, return_state, chunk_size):
  """Implementation of `lfilter`."""
  dtype = _dtype_of(audio)
  audio = _cast(audio, 'audio', dtype)
  shape = validation.check_rank(audio, 'audio', (1, 2))
  vector = len(shape) == 1
  if vector:
    audio = audio[tf.newaxis]
  n = audio.shape[1]
  if n is None:
    raise ValueError('The number of samples of `audio` must be statically '
                     f'known. Received: audio.shape={tuple(audio.shape)}')
  # Constant coefficients stay in float64 (as given, when given in float64):
  # poles near the unit circle are sensitive to their rounding. Time-varying
  # ones too when `a` is given in float64, else the recursion runs in the
  # audio's dtype (at every sample, float64 would double its cost).
  ranks = [len(validation.static_shape(x) or ()) for x in (b, a)]
  coefficient_dtype = tf.float64
  if 3 in ranks and _dtype_of(a) != tf.float64:
    coefficient_dtype = dtype
  b = _coefficients(b, 'b', coefficient_dtype)
  a = _coefficients(a, 'a', coefficient_dtype)
  order = max(b.shape[-1], a.shape[-1]) - 1
  varying = len(b.shape) == 3 or len(a.shape) == 3
  for name, x in (('b', b), ('a', a)):
    if len(x.shape) == 3 and x.shape[1] != n:
      raise ValueError(f'Time-varying `{name}` must have one set of '
                       f'coefficients per sample, [batch, n_samples={n}, '
                       f'n_{name}]. Received: {name}.shape={tuple(x.shape)}')

  def as_batch(x):  # -> [batch or 1, n_samples, order + 1] or [.., order + 1]
    x = tf.pad(x, [[0, 0]] * (len(x.shape) - 1)
               + [[0, order + 1 - x.shape[-1]]])
    if len(x.shape) == 1:
      x = x[tf.newaxis]
    if varying and len(x.shape) == 2:
      x = tf.repeat(x[:, tf.newaxis], n, axis=1)
    return x

  b, a = as_batch(b), as_batch(a)
  if zi is not None:
    zi = _cast(zi, 'zi', dtype)
    zi_shape = validation.check_rank(zi, 'zi', (1, 2))
    if zi_shape[-1] != order:
      raise ValueError(f'`zi` must have max(len(a), len(b)) - 1 = {order} '
                       f'values per example. Received: zi.shape='
                       f'{tuple(zi_shape)}')
    if len(zi_shape) == 1:
      zi = zi[tf.newaxis]
  batch = validation.check_broadcastable_dim(
      {'audio': audio, 'b': b, 'a': a, 'zi': zi}, 0, 'batch')
  if tf.executing_eagerly() and np.any(a.numpy()[..., 0] == 0):
    raise ValueError('`a[0]` must be non-zero (the coefficients are divided '
                     f'by it). Received: a[..., 0]={a.numpy()[..., 0]}')
  if batch not in (None, 1) and audio.shape[0] == 1:
    audio = tf.repeat(audio, batch, axis=0)
  if varying:
    # Time-varying coefficients as a list of taps [batch, n_samples]: slices
    # of the [batch, n_samples, order + 1] tensors would each get a gradient
    # of that full size, summed; the gradient of `unstack` is one stack (the
    # values are the same).
    b_taps, a_taps = tf.unstack(b, axis=-1), tf.unstack(a, axis=-1)
    a0 = a_taps[0]
    b_taps = [tap / a0 for tap in b_taps]
    a_taps = [tap / a0 for tap in a_taps]
    if batch not in (None, 1):
      b_taps, a_taps = [[tf.repeat(t, batch, axis=0) if t.shape[0] == 1 else t
                         for t in taps] for taps in (b_taps, a_taps)]
  else:
    a0 = a[..., :1]
    b, a = b / a0, a / a0

  if order == 0:
    y = tf.cast(b_taps[0] if varying else b[..., 0], dtype) * audio
  elif varying:
    # FIR part (the initial state adds to its first samples), then the
    # all-pole recursion.
    x = tf.cast(audio, coefficient_dtype)
    v = tf.add_n([_shift(b_taps[k] * x, k) for k in range(order + 1)])
    if zi is not None:
      lead = min(order, n)
      v += tf.pad(tf.cast(zi[:, :lead], v.dtype), [[0, 0], [0, n - lead]])
    y = tf.cast(_all_pole_varying(v, a_taps[1:], chunk_size or _TV_CHUNK),
                dtype)
  else:
    y = _constant_filter(audio, b, a, zi, chunk_size or _CHUNK)
  if not return_state:
    return y[0] if vector else y

  # Final state: zf_i = sum_{j <= N-1-i} (b_{i+1+j} x[n-1-j] - a_{i+1+j}
  # y[n-1-j]) + zi_{i+n} (samples before 0 are zero).
  if order == 0:
    zf = tf.zeros_like(y[:, :0])
  else:
    def last(x):  # The last `order` samples (zeros before the first).
      lead = max(order - n, 0)
      return tf.pad(x[:, -order:],
                    [[0, 0], [lead, 0]] + [[0, 0]] * (len(x.shape) - 2))
    if varying:
      b_last, a_last = [tf.stack([last(t) for t in taps], axis=-1)
                        for taps in (b_taps, a_taps)]
    else:
      b_last, a_last = b[:, tf.newaxis], a[:, tf.newaxis]
    products = (
        tf.cast(last(audio), coefficient_dtype)[..., tf.newaxis] * b_last
        - tf.cast(last(y), coefficient_dtype)[..., tf.newaxis] * a_last)
    products = tf.reshape(products, [-1, order * (order + 1)])
    zf = tf.matmul(products,
                   tf.constant(_state_selection(order), coefficient_dtype))
    zf = tf.cast(zf, dtype)
    if zi is not None and n < order:
      zf += tf.pad(zi[:, n:], [[0, 0], [0, n]])
  if vector:
    return y[0], zf[0]
  return y, zf


# ------------------------------------------------------------------------------
# Biquad designs.
# ------------------------------------------------------------------------------
def _check_frequency_and_q(frequency_hz, q, sample_rate):
  """Eagerly: frequencies inside (0, Nyquist) and positive q, else ValueError."""
  if not tf.executing_eagerly():
    return
  f = frequency_hz.numpy()
  if np.any(f <= 0) or np.any(f >= sample_rate / 2):
    raise ValueError(
        '`frequency_hz` must be in (0, sample_rate / 2) = (0, '
        f'{sample_rate / 2:g}) Hz. Received: frequency_hz with values in '
        f'[{f.min():g}, {f.max():g}]')
  if np.any(q.numpy() <= 0):
    raise ValueError('`q` must be positive. Received: q with minimum '
                     f'{q.numpy().min():g}')


def biquad_coefficients(filter_type, frequency_hz, q=0.7071067811865476,
                        gain_db=0.0, sample_rate=16000, normalize=True):
  """Biquad coefficients of the audio EQ cookbook (R. Bristow-Johnson).

  Each design is the bilinear transform, prewarped at `frequency_hz`, of an
  analog second-order prototype (`w0 = 2 pi f / sample_rate`, `alpha =
  sin(w0) / (2 q)`, `A = 10 ** (gain_db / 40)`):

  * 'lowpass', 'highpass': `1 / (s^2 + s/q + 1)`, `s^2 / (...)`; the
    magnitude at `frequency_hz` is `q` (-3 dB for q = 1/sqrt(2), the
    Butterworth filter);
  * 'bandpass': `(s/q) / (...)`, 0 dB at `frequency_hz`;
  * 'notch': `(s^2 + 1) / (...)`, zero at `frequency_hz`;
  * 'peak': `(s^2 + s A/q + 1) / (s^2 + s/(A q) + 1)`, `gain_db` at
    `frequency_hz`, 0 dB far from it;
  * 'lowshelf', 'highshelf': `gain_db` below / above `frequency_hz`, 0 dB
    on the other side, `gain_db / 2` at `frequency_hz`.

  `gain_db` matters only to 'peak' and the shelves. For 0 < frequency_hz <
  sample_rate / 2 and q > 0 every design is stable (poles inside the unit
  circle). Differentiable with respect to `frequency_hz`, `q` and `gain_db`.

  Args:
    filter_type: one of 'lowpass', 'highpass', 'bandpass', 'notch', 'peak',
      'lowshelf', 'highshelf'.
    frequency_hz: float tensor of any shape, cutoff or centre frequency in
      Hz, in (0, sample_rate / 2).
    q: float tensor broadcastable against `frequency_hz`, quality factor > 0.
    gain_db: float tensor broadcastable against `frequency_hz`, in dB.
    sample_rate: samples per second, > 0.
    normalize: whether to divide the coefficients by `a[..., 0]`. `lfilter`
      divides by it too, so time-varying coefficients given to it are
      cheaper unnormalized (False): the division and its gradient run once.

  Returns:
    (b, a): float32 tensors of the broadcast shape of the inputs plus a last
    axis of 3, normalized so that a[..., 0] = 1 (unless not `normalize`);
    pass them to `lfilter`.

  Raises:
    ValueError: for an unknown `filter_type`, a non-positive `sample_rate`,
      shapes that do not broadcast, non-finite values, or (eagerly) a
      frequency outside (0, sample_rate / 2) or q <= 0.

  Example:
    >>> b, a = biquad_coefficients('lowpass', 1000.0, 0.7071, 0.0, 16000)
    >>> b.shape, a.shape
    (TensorShape([3]), TensorShape([3]))
  """
  return _biquad_coefficients(filter_type, frequency_hz, q, gain_db,
                              sample_rate, normalize)


# Not converted by autograph (no tensor-dependent Python control flow):
# tracing stays fast inside tf.function.
@tf.autograph.experimental.do_not_convert
def _biquad_coefficients(filter_type, frequency_hz, q, gain_db, sample_rate,
                         normalize):
  """Implementation of `biquad_coefficients`."""
  validation.check_one_of(filter_type, 'filter_type', BIQUAD_TYPES)
  validation.check_positive(sample_rate, 'sample_rate')
  dtype = _dtype_of(frequency_hz)
  frequency_hz = _cast(frequency_hz, 'frequency_hz', dtype)
  q = _cast(q, 'q', dtype)
  gain_db = _cast(gain_db, 'gain_db', dtype)
  validation.check_broadcastable_shapes(
      {'frequency_hz': frequency_hz, 'q': q, 'gain_db': gain_db})
  _check_frequency_and_q(frequency_hz, q, sample_rate)
  w0 = 2.0 * np.pi * frequency_hz / sample_rate
  cos, sin = tf.cos(w0), tf.sin(w0)
  alpha = sin / (2.0 * q)
  gain = 10.0 ** (gain_db / 40.0)
  one = tf.ones_like(cos)
  if filter_type == 'lowpass':
    b = [(1 - cos) / 2, 1 - cos, (1 - cos) / 2]
    a = [1 + alpha, -2 * cos, 1 - alpha]
  elif filter_type == 'highpass':
    b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    a = [1 + alpha, -2 * cos, 1 - alpha]
  elif filter_type == 'bandpass':
    b = [alpha, 0 * alpha, -alpha]
    a = [1 + alpha, -2 * cos, 1 - alpha]
  elif filter_type == 'notch':
    b = [one, -2 * cos, one]
    a = [1 + alpha, -2 * cos, 1 - alpha]
  elif filter_type == 'peak':
    b = [1 + alpha * gain, -2 * cos, 1 - alpha * gain]
    a = [1 + alpha / gain, -2 * cos, 1 - alpha / gain]
  else:
    root = 2.0 * tf.sqrt(gain) * alpha
    plus, minus = gain + 1.0, gain - 1.0
    sign = 1.0 if filter_type == 'lowshelf' else -1.0
    b = [gain * (plus - sign * minus * cos + root),
         sign * 2.0 * gain * (minus - sign * plus * cos),
         gain * (plus - sign * minus * cos - root)]
    a = [plus + sign * minus * cos + root,
         -sign * 2.0 * (minus + sign * plus * cos),
         plus + sign * minus * cos - root]
  zero = tf.zeros_like(frequency_hz + q + gain_db)  # The broadcast shape.
  b = tf.stack([x + zero for x in b], axis=-1)
  a = tf.stack([x + zero for x in a], axis=-1)
  if not normalize:
    return b, a
  return b / a[..., :1], a / a[..., :1]


# ------------------------------------------------------------------------------
# State-variable filter.
# ------------------------------------------------------------------------------
def _linear_recurrence(transitions, inputs, initial, chunk):
  """States of s[n+1] = A[n] s[n] + u[n], by chunks and a scan over chunks.

  Args:
    transitions: [batch, n, N, N] A[n].
    inputs: [batch, n, N] u[n].
    initial: [batch, N] s[0].
    chunk: samples per chunk.

  Returns:
    states: [batch, n, N], s[n] (the state before sample n is processed);
    final: [batch, N], s[n_samples].
  """
  n, order = inputs.shape[1], inputs.shape[-1]
  chunk = min(chunk, n)
  n_chunks = -(-n // chunk)
  n_pad = n_chunks * chunk - n
  # Padded samples keep the state (identity, no input): `final` is exact.
  eye = tf.eye(order, batch_shape=[1, n_pad], dtype=transitions.dtype)
  transitions = tf.concat(
      [transitions, tf.broadcast_to(eye, [tf.shape(transitions)[0], n_pad,
                                          order, order])], axis=1)
  inputs = tf.pad(inputs, [[0, 0], [0, n_pad], [0, 0]])
  transitions = tf.reshape(transitions, [-1, n_chunks, chunk, order, order])
  inputs = tf.reshape(inputs, [-1, n_chunks, chunk, order])
  dtype = inputs.dtype
  # Per chunk, the states from a zero start with the inputs (`zero`, each
  # [batch, n_chunks]) and from the basis start states without inputs
  # (`free`, each [N, batch, n_chunks]); samples unstacked along a leading
  # axis (see `_all_pole_varying`).
  transitions = tf.unstack(tf.transpose(transitions, [2, 3, 4, 0, 1]), axis=0)
  inputs = tf.unstack(tf.transpose(inputs, [2, 3, 0, 1]), axis=0)
  like = inputs[0][0]
  zero = [tf.zeros_like(like)] * order
  basis = np.eye(order)
  free = [tf.constant(basis[i], dtype)[:, tf.newaxis, tf.newaxis]
          + tf.zeros_like(like) for i in range(order)]
  zero_states, free_states = [], []
  for m in range(chunk):
    zero_states.append(zero)
    free_states.append(free)
    rows = tf.unstack(transitions[m])
    rows = [tf.unstack(row) for row in rows]
    inputs_m = tf.unstack(inputs[m])
    zero = [tf.add_n([rows[i][j] * zero[j] for j in range(order)])
            + inputs_m[i] for i in range(order)]
    free = [tf.add_n([rows[i][j] * free[j] for j in range(order)])
            for i in range(order)]
  contributions = tf.cast(tf.stack(zero, axis=-1), tf.float64)  # [B, C, N]
  transfer = tf.transpose(tf.cast(tf.stack(free), tf.float64), [2, 3, 0, 1])
  initial = tf.cast(initial, tf.float64)
  first = contributions[:, :1] + _small_matvec(transfer[:, :1],
                                               initial[:, tf.newaxis])
  contributions = tf.concat([first, contributions[:, 1:]], axis=1)
  ends = _chunk_scan(contributions, transfer, constant=False)
  starts = tf.concat([initial[:, tf.newaxis], ends[:, :-1]], axis=1)
  starts = tf.cast(starts, dtype)
  states = []
  for i in range(order):  # State i at every sample: [batch, n_chunks, L].
    zero_i = tf.stack([zero_states[m][i] for m in range(chunk)], axis=-1)
    free_i = tf.stack([free_states[m][i] for m in range(chunk)], axis=-1)
    states.append(zero_i + tf.add_n([free_i[j] * starts[..., j, tf.newaxis]
                                     for j in range(order)]))
  states = tf.reshape(tf.stack(states, axis=-1), [-1, n_chunks * chunk, order])
  states = states[:, :n]
  return states, tf.cast(ends[:, -1], dtype)


def state_variable_filter(audio, frequency_hz, q, sample_rate=16000,
                          initial_state=None, return_state=False, *,
                          chunk_size=None):
  """Time-varying state-variable filter: lowpass, bandpass, highpass outputs.

  The topology-preserving-transform (trapezoidal integrator) SVF of
  V. Zavalishin, "The Art of VA Filter Design": with `g = tan(pi f /
  sample_rate)` and damping `R = 1 / (2 q)`, per sample

      hp = (x - (2 R + g) s1 - s2) / (1 + 2 R g + g^2)
      bp = g hp + s1;  lp = g bp + s2;  s1 <- 2 bp - s1;  s2 <- 2 lp - s2.

  For a constant cutoff and q its responses are the bilinear transforms,
  prewarped at `frequency_hz`, of `1 / (s^2 + s/q + 1)` (lowpass),
  `s / (...)` (bandpass, gain `q` at the cutoff) and `s^2 / (...)`
  (highpass). Unlike a direct-form biquad it stays stable and smooth under
  per-sample modulation of both controls (any g > 0, q > 0). Implemented as
  a linear time-varying state-space recursion by chunks with a parallel scan
  over chunks (see the module docstring); no per-sample loop.

  Differentiable with respect to `audio`, `frequency_hz`, `q` and
  `initial_state`.

  Args:
    audio: [batch, n_samples] float input, n_samples statically known.
    frequency_hz: cutoff in Hz, in (0, sample_rate / 2): [batch, n_samples]
      per sample, or [batch, 1] / scalar for a constant cutoff (broadcast).
    q: resonance (quality factor) > 0, shapes as `frequency_hz`; 0.5 is
      critically damped, 1/sqrt(2) Butterworth, large values ring.
    sample_rate: samples per second, > 0.
    initial_state: None (zeros) or [batch, 2], the integrator states (s1,
      s2), e.g. the final state of the previous block.
    return_state: if True, also return the final state [batch, 2].
    chunk_size: samples per chunk of the recursion (default 32).

  Returns:
    [batch, n_samples, 3]: the lowpass, bandpass and highpass outputs (in
    that order on the last axis); with `return_state`, `(outputs, state)`.

  Raises:
    ValueError: on bad ranks or shapes, non-finite values, or (eagerly) a
      frequency outside (0, sample_rate / 2) or q <= 0.

  Example:
    >>> out = state_variable_filter(tf.ones([1, 100]), 1000.0, 0.7071)
    >>> out.shape
    TensorShape([1, 100, 3])
  """
  return _state_variable_filter(audio, frequency_hz, q, sample_rate,
                                initial_state, return_state, chunk_size)


# Not converted by autograph (no tensor-dependent Python control flow):
# tracing stays fast inside tf.function.
@tf.autograph.experimental.do_not_convert
def _state_variable_filter(audio, frequency_hz, q, sample_rate, initial_state,
                           return_state, chunk_size):
  """Implementation of `state_variable_filter`."""
  validation.check_positive(sample_rate, 'sample_rate')
  dtype = _dtype_of(audio)
  audio = _cast(audio, 'audio', dtype)
  validation.check_rank(audio, 'audio', 2)
  n = audio.shape[1]
  if n is None or n == 0:
    raise ValueError('`audio` must have a statically known, non-zero number '
                     f'of samples. Received: audio.shape={tuple(audio.shape)}')
  frequency_hz = _cast(frequency_hz, 'frequency_hz', dtype)
  q = _cast(q, 'q', dtype)
  for name, x in (('frequency_hz', frequency_hz), ('q', q)):
    validation.check_rank(x, name, (0, 1, 2))
  validation.check_broadcastable_shapes(
      {'audio': audio, 'frequency_hz': frequency_hz, 'q': q})
  _check_frequency_and_q(frequency_hz, q, sample_rate)
  zero = tf.zeros_like(audio)
  g = tf.tan(np.pi * frequency_hz / sample_rate) + zero
  damping = 1.0 / (2.0 * q) + zero
  h = 1.0 / (1.0 + 2.0 * damping * g + g * g)
  c = 1.0 - g * h * (2.0 * damping + g)  # bp's weight of s1.
  # s[n+1] = A s[n] + u x[n]; [hp, bp, lp] = C s[n] + d x[n].
  transitions = tf.stack([tf.stack([2.0 * c - 1.0, -2.0 * g * h], -1),
                          tf.stack([2.0 * g * c, 1.0 - 2.0 * g * g * h], -1)],
                         axis=-2)
  inputs = tf.stack([2.0 * g * h, 2.0 * g * g * h], axis=-1) * audio[
      ..., tf.newaxis]
  batch = validation.check_broadcastable_dim(
      {'audio': audio, 'initial_state': initial_state}, 0, 'batch')
  if initial_state is None:
    initial_state = tf.zeros_like(inputs[:, 0])
  else:
    initial_state = _cast(initial_state, 'initial_state', dtype)
    validation.check_shape(initial_state, 'initial_state', [None, 2])
    initial_state = initial_state + tf.zeros_like(inputs[:, 0])
    if batch not in (None, 1) and transitions.shape[0] == 1:
      transitions = tf.repeat(transitions, batch, axis=0)
      inputs = tf.repeat(inputs, batch, axis=0)
      audio = tf.repeat(audio, batch, axis=0)
      g, h, c, damping = [tf.repeat(x, batch, axis=0)
                          for x in (g, h, c, damping)]
  states, final = _linear_recurrence(transitions, inputs, initial_state,
                                     chunk_size or _TV_CHUNK)
  s1, s2 = states[..., 0], states[..., 1]
  hp = h * (audio - (2.0 * damping + g) * s1 - s2)
  bp = g * hp + s1
  lp = g * bp + s2
  outputs = tf.stack([lp, bp, hp], axis=-1)
  if return_state:
    return outputs, final
  return outputs
