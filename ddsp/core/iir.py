"""Recursive (IIR) filters: `lfilter` and audio-EQ-cookbook biquad designs.

`lfilter(audio, b, a)` computes the same difference equation as
`scipy.signal.lfilter` (`a[0] y[n] = sum_k b[k] x[n-k] - sum_{k>=1} a[k]
y[n-k]`, with the same initial and final state `zi` / `zf` of the
transposed direct form II), for a batch and any order, without a loop over
samples. The method:

1. The FIR part `v[n] = sum_k b[k] x[n-k]` is a sum of shifted copies of
   the audio; the initial state `zi` adds to its first `order` samples (the
   zero-input response of the state `zi` equals the all-pole filter's
   response to the sequence `zi`).
2. The all-pole part `y[n] = v[n] - sum_k a[k] y[n-k]` runs as a chunked
   recursion in state-space form. The state `g` (the `order` pending
   feedback sums) evolves as `g <- M g - a v`, `y = g[0] + v`, with `M` the
   companion matrix. Within a chunk of `L` samples (64 by default) the
   output is a matrix product: the chunk's inputs times the `L x L` Toeplitz
   matrix of the impulse response, plus the free response of the chunk's
   start state. The state at the end of each chunk is `M^L` times that at
   its start plus the chunk's own contribution; this linear recursion over
   chunks runs as a parallel (Hillis-Steele) associative scan of
   `log2(n_chunks)` steps. All powers of `M` come from repeated squaring.

Time-varying coefficients (one set per sample, `[batch, n_samples,
order + 1]`) use the same chunks and scan, with each chunk's responses built
by an `L`-step recursion vectorized over every chunk and the state basis at
once (`L` = 32), so the Python loop runs over the samples of one chunk, not
the clip. The difference equation is then the transposed-direct-form-II one
whose coefficients are applied when a sample enters the filter:
`y[n] = sum_k b_k[n-k] x[n-k] - sum_{k>=1} a_k[n-k] y[n-k]` (each sample's
coefficients divided by its own `a_0`). Its state is `zi` / `zf` exactly as
for constant coefficients, so block-by-block filtering with `zi` equals
filtering the whole clip.

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
      ends = ends + tf.einsum('bcij,bcj->bci', transfer, earlier)
      identity = tf.eye(order, batch_shape=[1, step], dtype=transfer.dtype)
      identity = tf.broadcast_to(
          identity, [tf.shape(transfer)[0], step, order, order])
      earlier_transfer = tf.concat([identity, transfer[:, :-step]], axis=1)
      transfer = tf.matmul(transfer, earlier_transfer)
    step *= 2
  return ends


def _to_chunks(v, chunk):
  """[batch, n] -> [batch, n_chunks, chunk] zero-padded at the end."""
  n = v.shape[1]
  n_chunks = -(-n // chunk)
  v = tf.pad(v, [[0, 0], [0, n_chunks * chunk - n]])
  return tf.reshape(v, [-1, n_chunks, chunk]), n_chunks


def _all_pole_constant(v, a, chunk):
  """y[n] = v[n] - sum_k a_k y[n-k] from a zero state.

  Args:
    v: [batch, n] input.
    a: [batch or 1, N] float64 feedback coefficients a_1 ... a_N.
    chunk: samples per chunk.

  The powers of the companion matrix, the impulse response and the scan over
  chunks are computed in float64 (they are small; high-order companion
  matrices are ill-conditioned), the products with the audio in its dtype.
  """
  n = v.shape[1]
  order = a.shape[-1]
  chunk = min(chunk, max(n, 1))
  powers = _companion_powers(a, chunk)  # [Bc, L + 1, N, N]
  # u_k = M^k (-a): the state k samples after a unit input.
  u = tf.linalg.matvec(powers, -a[:, tf.newaxis, :])  # [Bc, L + 1, N]
  ones = tf.ones_like(a[:, :1])
  impulse = tf.concat([ones, u[:, :chunk - 1, 0]], axis=1)  # [Bc, L]
  lags = np.subtract.outer(np.arange(chunk), np.arange(chunk))
  mask = tf.constant(lags >= 0, tf.float64)
  toeplitz = tf.gather(impulse, np.maximum(lags, 0), axis=1) * mask
  free = powers[:, :chunk, 0, :]  # [Bc, L, N]: output from a start state.
  to_state = tf.reverse(u[:, :chunk], axis=[1])  # [Bc, L, N]
  transfer = powers[:, chunk]  # [Bc, N, N] = M^L.
  toeplitz, free, to_state = [tf.cast(x, v.dtype)
                              for x in (toeplitz, free, to_state)]

  chunks, n_chunks = _to_chunks(v, chunk)
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
  ends = _chunk_scan(tf.cast(contributions, tf.float64), transfer,
                     constant=True)
  starts = tf.pad(ends[:, :-1], [[0, 0], [1, 0], [0, 0]])
  y += tf.matmul(tf.cast(starts, v.dtype), free, transpose_b=True)
  return tf.reshape(y, [batch, n_chunks * chunk])[:, :n]


def _all_pole_varying(v, a, chunk):
  """y[n] = v[n] - sum_k a_k[n-k] y[n-k] from a zero state.

  Args:
    v: [batch, n] input.
    a: [batch, n, N] per-sample feedback coefficients a_1 ... a_N.
    chunk: samples per chunk.
  """
  n = v.shape[1]
  order = a.shape[-1]
  chunk = min(chunk, max(n, 1))
  chunks, n_chunks = _to_chunks(v, chunk)
  n_pad = n_chunks * chunk - n
  a = tf.pad(a, [[0, 0], [0, n_pad], [0, 0]])
  a = tf.reshape(a, [-1, n_chunks, chunk, order])
  batch = tf.shape(chunks)[0]
  # Channel 0: the chunk's input from a zero state; channel j >= 1: no input,
  # start state e_{j-1}. g[i]: [batch, n_chunks, 1 + order].
  basis = np.eye(order, 1 + order, k=1)
  g = [tf.broadcast_to(tf.constant(basis[i], v.dtype),
                       [batch, n_chunks, 1 + order]) for i in range(order)]
  input_channel = tf.constant(np.eye(1, 1 + order)[0], v.dtype)
  outputs = []
  for m in range(chunk):
    y_m = g[0] + chunks[:, :, m, tf.newaxis] * input_channel
    outputs.append(y_m)
    coefficients = a[:, :, m, :, tf.newaxis]  # [batch, n_chunks, N, 1]
    g = [g[i + 1] - coefficients[:, :, i] * y_m for i in range(order - 1)] + [
        -coefficients[:, :, order - 1] * y_m]
  outputs = tf.stack(outputs, axis=2)  # [batch, n_chunks, L, 1 + N]
  ends = tf.cast(tf.stack(g, axis=2), tf.float64)  # [batch, n_chunks, N, 1+N]
  ends = _chunk_scan(ends[..., 0], ends[..., 1:], constant=False)
  starts = tf.cast(tf.pad(ends[:, :-1], [[0, 0], [1, 0], [0, 0]]), v.dtype)
  y = outputs[..., 0] + tf.einsum('bcln,bcn->bcl', outputs[..., 1:], starts)
  return tf.reshape(y, [batch, n_chunks * chunk])[:, :n]


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
  b = _coefficients(b, 'b', dtype)
  # The feedback coefficients stay in float64 (as given, when given in
  # float64): poles near the unit circle are sensitive to their rounding.
  a = _coefficients(a, 'a', tf.float64)
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
  a0 = a[..., :1]
  if tf.executing_eagerly() and np.any(a0.numpy() == 0):
    raise ValueError('`a[0]` must be non-zero (the coefficients are divided '
                     f'by it). Received: a[..., 0]={a0.numpy()[..., 0]}')
  b, a = b / tf.cast(a0, dtype), a / a0
  if batch not in (None, 1) and audio.shape[0] == 1:
    audio = tf.repeat(audio, batch, axis=0)
  if batch not in (None, 1) and varying:
    b, a = [tf.repeat(x, batch, axis=0) if x.shape[0] == 1 else x
            for x in (b, a)]

  # FIR part, and the initial state.
  if varying:
    v = tf.add_n([_shift(b[..., k] * audio, k) for k in range(order + 1)])
  else:
    v = tf.add_n([b[:, k:k + 1] * _shift(audio, k) for k in range(order + 1)])
  if zi is not None and order:
    lead = min(order, n)
    v += tf.pad(zi[:, :lead], [[0, 0], [0, n - lead]])

  # All-pole part.
  if order == 0:
    y = v
  elif varying:
    y = _all_pole_varying(v, tf.cast(a[..., 1:], dtype),
                          chunk_size or _TV_CHUNK)
  else:
    y = _all_pole_constant(v, a[:, 1:], chunk_size or _CHUNK)
  if not return_state:
    return y[0] if vector else y

  # Final state: zf_i = sum_{j <= N-1-i} (b_{i+1+j} x[n-1-j] - a_{i+1+j}
  # y[n-1-j]) + zi_{i+n} (samples before 0 are zero).
  if order == 0:
    zf = tf.zeros_like(y[:, :0])
  else:
    def last(x):  # The last `order` samples (zeros before the first).
      return tf.pad(x, [[0, 0], [order, 0]] + [[0, 0]] * (len(x.shape) - 2)
                    )[:, -order:]
    if varying:
      b_last, a_last = last(b), last(a)
    else:
      b_last, a_last = b[:, tf.newaxis], a[:, tf.newaxis]
    a_last = tf.cast(a_last, dtype)
    products = (last(audio)[..., tf.newaxis] * b_last
                - last(y)[..., tf.newaxis] * a_last)
    products = tf.reshape(products, [-1, order * (order + 1)])
    zf = tf.matmul(products, tf.constant(_state_selection(order), dtype))
    if zi is not None and n < order:
      zf += tf.pad(zi[:, n:], [[0, 0], [0, n]])
  if vector:
    return y[0], zf[0]
  return y, zf


# ------------------------------------------------------------------------------
# Biquad designs.
# ------------------------------------------------------------------------------
def biquad_coefficients(filter_type, frequency_hz, q=0.7071067811865476,
                        gain_db=0.0, sample_rate=16000):
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

  Returns:
    (b, a): float32 tensors of the broadcast shape of the inputs plus a last
    axis of 3, normalized so that a[..., 0] = 1; pass them to `lfilter`.

  Raises:
    ValueError: for an unknown `filter_type`, a non-positive `sample_rate`,
      shapes that do not broadcast, non-finite values, or (eagerly) a
      frequency outside (0, sample_rate / 2) or q <= 0.

  Example:
    >>> b, a = biquad_coefficients('lowpass', 1000.0, 0.7071, 0.0, 16000)
    >>> b.shape, a.shape
    (TensorShape([3]), TensorShape([3]))
  """
  validation.check_one_of(filter_type, 'filter_type', BIQUAD_TYPES)
  validation.check_positive(sample_rate, 'sample_rate')
  dtype = _dtype_of(frequency_hz)
  frequency_hz = _cast(frequency_hz, 'frequency_hz', dtype)
  q = _cast(q, 'q', dtype)
  gain_db = _cast(gain_db, 'gain_db', dtype)
  validation.check_broadcastable_shapes(
      {'frequency_hz': frequency_hz, 'q': q, 'gain_db': gain_db})
  if tf.executing_eagerly():
    f = frequency_hz.numpy()
    if np.any(f <= 0) or np.any(f >= sample_rate / 2):
      raise ValueError(
          '`frequency_hz` must be in (0, sample_rate / 2) = (0, '
          f'{sample_rate / 2:g}) Hz. Received: frequency_hz with values in '
          f'[{f.min():g}, {f.max():g}]')
    if np.any(q.numpy() <= 0):
      raise ValueError('`q` must be positive. Received: q with minimum '
                       f'{q.numpy().min():g}')
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
  batch = tf.shape(inputs)[0]
  # Channel 0: from a zero state with the inputs; channel j: from e_{j-1}.
  state = tf.broadcast_to(tf.constant(np.eye(order, 1 + order, k=1),
                                      inputs.dtype),
                          [batch, n_chunks, order, 1 + order])
  input_channel = tf.constant(np.eye(1, 1 + order)[0], inputs.dtype)
  states = []
  for m in range(chunk):
    states.append(state)
    state = (tf.reduce_sum(transitions[:, :, m, :, :, tf.newaxis]
                           * state[:, :, tf.newaxis], axis=3)
             + inputs[:, :, m, :, tf.newaxis] * input_channel)
  states = tf.stack(states, axis=2)  # [batch, n_chunks, L, N, 1 + N]
  state = tf.cast(state, tf.float64)
  contributions, transfer = state[..., 0], state[..., 1:]
  initial = tf.cast(initial, tf.float64)
  first = contributions[:, :1] + tf.linalg.matvec(transfer[:, :1],
                                                  initial[:, tf.newaxis])
  contributions = tf.concat([first, contributions[:, 1:]], axis=1)
  ends = _chunk_scan(contributions, transfer, constant=False)
  starts = tf.concat([initial[:, tf.newaxis], ends[:, :-1]], axis=1)
  starts = tf.cast(starts, inputs.dtype)
  states = states[..., 0] + tf.einsum('bclij,bcj->bcli', states[..., 1:],
                                      starts)
  states = tf.reshape(states, [batch, n_chunks * chunk, order])[:, :n]
  return states, tf.cast(ends[:, -1], inputs.dtype)


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
  if tf.executing_eagerly():
    f = frequency_hz.numpy()
    if np.any(f <= 0) or np.any(f >= sample_rate / 2):
      raise ValueError(
          '`frequency_hz` must be in (0, sample_rate / 2) = (0, '
          f'{sample_rate / 2:g}) Hz. Received: frequency_hz with values in '
          f'[{f.min():g}, {f.max():g}]')
    if np.any(q.numpy() <= 0):
      raise ValueError('`q` must be positive. Received: q with minimum '
                       f'{q.numpy().min():g}')
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
