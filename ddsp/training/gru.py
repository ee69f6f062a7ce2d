"""A fast GRU for CPUs: fused input projections, hand-written gradient, XLA.

`keras.layers.GRU` computes each frame's input projection inside its time
loop and lets TensorFlow differentiate the loop step by step. `fused_gru`
computes the same recurrence (same weights, same numbers) in a way that
suits CPUs:

* the input projections of all frames are one large matmul before the loop;
* the loop only does the [batch, units] x [units, 3 * units] recurrent matmul
  and the gates, and keeps the gate values for the backward pass;
* the gradient is written by hand: one matmul per frame backwards, and the
  recurrent kernel's gradient as one large matmul over all frames afterwards
  (TensorFlow's automatic gradient adds a rank-`batch` update per frame);
* both loops are compiled with XLA, which fuses the elementwise gate math.

On a GPU, Keras' own GRU runs NVIDIA's cuDNN kernel, which is faster there;
`use_fused_gru` picks one of the two ('auto': `fused_gru` unless a GPU is
visible), for `ddsp.training.nn.Rnn` and `nn.StatelessRnn`.
"""

import tensorflow as tf

from ddsp import validation

__all__ = ['gru_step', 'fused_gru', 'use_fused_gru']


def check_fused(fused):
  """`fused` as True, False or 'auto'; raises for anything else."""
  if isinstance(fused, str) and fused == 'auto':
    return fused
  if isinstance(fused, (bool, int)) and fused in (0, 1):
    return bool(fused)
  raise ValueError("`fused` must be True (fused_gru), False (keras.layers.GRU, "
                   "cuDNN on a GPU) or 'auto' (fused_gru unless a GPU is "
                   f"visible). Received: fused={fused!r}")


def use_fused_gru(fused='auto', devices=None):
  """Whether a GRU layer runs `fused_gru` (True) or `keras.layers.GRU`.

  `fused_gru` is the fast choice on CPUs; on a GPU, `keras.layers.GRU` runs
  cuDNN's fused kernel. 'auto' takes `fused_gru` unless a GPU is among the
  visible devices. The choice is made when a layer is called (traced), so a
  saved config with 'auto' adapts to the machine that loads it.

  Args:
    fused: True, False or 'auto'.
    devices: the visible devices for 'auto': `tf.config.LogicalDevice`s or
      device type strings ('CPU', 'GPU'); default
      `tf.config.list_logical_devices()`. Passing a list lets tests decide
      for a machine they do not run on.

  Returns:
    bool: True for `fused_gru`, False for `keras.layers.GRU`.

  Raises:
    ValueError: for a `fused` other than True, False or 'auto'.

  Example:
    >>> use_fused_gru('auto', devices=['CPU'])
    True
    >>> use_fused_gru('auto', devices=['CPU', 'GPU'])
    False
    >>> use_fused_gru(False, devices=['CPU'])
    False
  """
  fused = check_fused(fused)
  if fused != 'auto':
    return fused
  if devices is None:
    devices = tf.config.list_logical_devices()
  types = {getattr(d, 'device_type', d) for d in devices}
  return 'GPU' not in types


def gru_step(projected, state, recurrent_kernel, recurrent_bias):
  """One step of the GRU recurrence (Keras `reset_after`, gates z, r, n).

  `z, r = sigmoid(x W_zr + b_zr + h U_zr + c_zr)`,
  `n = tanh(x W_n + b_n + r * (h U_n + c_n))`, `h' = n + z * (h - n)`, with
  the input projection `x W + b` given. The one definition of the cell, used
  by `fused_gru` and by the streaming renderer
  (`ddsp.training.streaming.gru_block`); only matmul, sigmoid and tanh, so it
  converts to TFLite builtin ops.

  Args:
    projected: [batch, 3 * units] float32, the input projection x W + b.
    state: [batch, units] float32, h.
    recurrent_kernel: [units, 3 * units] float32, U.
    recurrent_bias: [3 * units] float32, c.

  Returns:
    new_state: [batch, units]; and, for the backward pass of `fused_gru`,
    zr: [batch, 2 * units] gate values, n: [batch, units] candidate,
    hh: [batch, units] recurrent part of the candidate (h U_n + c_n).

  Example:
    >>> h, _, _, _ = gru_step(tf.zeros([2, 12]), tf.ones([2, 4]),
    ...                       tf.zeros([4, 12]), tf.zeros([12]))
    >>> h.numpy()[0]  # z = 0.5, n = 0: half of the state is kept.
    array([0.5, 0.5, 0.5, 0.5], dtype=float32)
  """
  units = recurrent_kernel.shape[0]
  hp = tf.matmul(state, recurrent_kernel) + recurrent_bias
  zr = tf.sigmoid(projected[:, :2 * units] + hp[:, :2 * units])
  hh = hp[:, 2 * units:]
  n = tf.tanh(projected[:, 2 * units:] + zr[:, units:] * hh)
  return n + zr[:, :units] * (state - n), zr, n, hh


def _gru_forward_loop(xp, recurrent_kernel, recurrent_bias, h0):
  """Runs the GRU recurrence over precomputed input projections.

  Args:
    xp: [n_steps, batch, 3 * units] input projections (x @ kernel + bias[0]),
      gates in Keras order (update z, reset r, candidate).
    recurrent_kernel: [units, 3 * units].
    recurrent_bias: [3 * units].
    h0: [batch, units] initial state.

  Returns:
    hs: [n_steps, batch, units] states; zr: [n_steps, batch, 2 * units] gate
    values; n: [n_steps, batch, units] candidates; hh: [n_steps, batch, units]
    recurrent part of the candidate (before the reset gate). The last three
    are kept for the backward pass.
  """
  n_steps = xp.shape[0] if xp.shape[0] is not None else tf.shape(xp)[0]
  arrays = [tf.TensorArray(tf.float32, size=n_steps) for _ in range(4)]

  def body(t, h, *arrays):
    values = gru_step(xp[t], h, recurrent_kernel, recurrent_bias)
    return (t + 1, values[0]) + tuple(
        a.write(t, v) for a, v in zip(arrays, values))

  outputs = tf.while_loop(lambda t, *_: t < n_steps, body,
                          (0, h0) + tuple(arrays), maximum_iterations=n_steps)
  return tuple(a.stack() for a in outputs[2:])


def _gru_backward_loop(d_hs, h_prev, zr, n, hh, recurrent_kernel):
  """Backpropagates through `_gru_forward_loop`, one small matmul per step.

  Returns:
    d_h0: [batch, units]; d_hp: [n_steps, batch, 3 * units] gradients of the
    recurrent pre-activations; d_xp: [n_steps, batch, 3 * units] gradients
    of the input projections.
  """
  n_steps = d_hs.shape[0] if d_hs.shape[0] is not None else tf.shape(d_hs)[0]
  units = recurrent_kernel.shape[0]
  kernel_t = tf.transpose(recurrent_kernel)
  d_hp_array = tf.TensorArray(tf.float32, size=n_steps)
  d_xp_array = tf.TensorArray(tf.float32, size=n_steps)

  def body(i, d_h_next, d_hp_array, d_xp_array):
    t = n_steps - 1 - i
    d_h = d_hs[t] + d_h_next
    zr_t, n_t = zr[t], n[t]
    z = zr_t[:, :units]
    d_n = d_h * (1.0 - z) * (1.0 - n_t * n_t)  # Through tanh.
    d_z = d_h * (h_prev[t] - n_t)
    d_r = d_n * hh[t]
    d_zr = tf.concat([d_z, d_r], axis=-1) * zr_t * (1.0 - zr_t)
    d_hp = tf.concat([d_zr, d_n * zr_t[:, units:]], axis=-1)
    d_xp = tf.concat([d_zr, d_n], axis=-1)
    d_h_prev = d_h * z + tf.matmul(d_hp, kernel_t)
    return (i + 1, d_h_prev, d_hp_array.write(t, d_hp),
            d_xp_array.write(t, d_xp))

  _, d_h0, d_hp_array, d_xp_array = tf.while_loop(
      lambda i, *_: i < n_steps, body,
      (0, tf.zeros_like(d_hs[0]), d_hp_array, d_xp_array),
      maximum_iterations=n_steps)
  return d_h0, d_hp_array.stack(), d_xp_array.stack()


def _make_gru_recurrence(jit_compile):
  """The GRU recurrence with a hand-written gradient, loops optionally XLA."""
  forward_loop = tf.function(_gru_forward_loop, jit_compile=True,
                             autograph=False) if jit_compile else (
                                 _gru_forward_loop)
  backward_loop = tf.function(_gru_backward_loop, jit_compile=True,
                              autograph=False) if jit_compile else (
                                  _gru_backward_loop)

  @tf.custom_gradient
  def recurrence(xp, recurrent_kernel, recurrent_bias, h0):
    # stop_gradient keeps tapes from tracing the loops for autodiff (the
    # gradient is `grad` below; XLA loops cannot export their TensorLists).
    hs, zr, n, hh = forward_loop(*[tf.stop_gradient(v) for v in (
        xp, recurrent_kernel, recurrent_bias, h0)])

    def grad(d_hs):
      h_prev = tf.concat([h0[tf.newaxis], hs[:-1]], axis=0)
      d_h0, d_hp, d_xp = backward_loop(*[tf.stop_gradient(v) for v in (
          d_hs, h_prev, zr, n, hh, recurrent_kernel)])
      units = recurrent_kernel.shape[0]
      # All steps' weight gradients as one large matmul.
      d_kernel = tf.matmul(tf.reshape(h_prev, [-1, units]),
                           tf.reshape(d_hp, [-1, 3 * units]), transpose_a=True)
      d_bias = tf.reduce_sum(d_hp, axis=[0, 1])
      return d_xp, d_kernel, d_bias, d_h0

    return hs, grad

  return recurrence


_GRU_RECURRENCE = {True: _make_gru_recurrence(True),
                   False: _make_gru_recurrence(False)}


def fused_gru(inputs, kernel, recurrent_kernel, bias, initial_state=None,
              go_backwards=False, jit_compile=True):
  """A GRU over time, numerically equal to `keras.layers.GRU` (reset_after).

  With gates in Keras order, for each frame t (* is elementwise):
  `z, r = sigmoid(x_t W_zr + b_zr + h U_zr + c_zr)`,
  `n = tanh(x_t W_n + b_n + r * (h U_n + c_n))`, `h = z * h + (1 - z) * n`,
  where W = kernel, U = recurrent_kernel, b = bias[0], c = bias[1].

  The input projections of all frames are computed as one matmul before the
  loop; the loop does one [batch, units] x [units, 3 * units] matmul per frame.
  The gradient is hand-written: one matmul per frame backwards, and the
  recurrent kernel's gradient as one large matmul afterwards.

  Args:
    inputs: [batch, n_frames, channels] float32.
    kernel: [channels, 3 * units] float32.
    recurrent_kernel: [units, 3 * units] float32.
    bias: [2, 3 * units] float32 (input bias, recurrent bias).
    initial_state: optional [batch, units] float32; zeros by default.
    go_backwards: process the frames last to first (outputs are returned in
      processing order, as Keras does).
    jit_compile: compile the two loops with XLA (fuses the gate math; the
      loops run about 2x faster on CPU).

  Returns:
    outputs: [batch, n_frames, units] float32 states after each frame.
    final_state: [batch, units] float32.
    (The input projection runs in the dtype of `inputs`, e.g. bfloat16 under
    a mixed precision policy; the recurrence always in float32.)
    Differentiable with respect to every argument except `go_backwards`.

  Example:
    >>> x = tf.zeros([2, 7, 3])
    >>> out, state = fused_gru(x, tf.zeros([3, 12]), tf.zeros([4, 12]),
    ...                        tf.zeros([2, 12]))
    >>> out.shape, state.shape
    (TensorShape([2, 7, 4]), TensorShape([2, 4]))
  """
  shape = validation.check_rank(inputs, 'inputs', 3)
  units = recurrent_kernel.shape[0]
  if shape[-1] is not None and shape[-1] != kernel.shape[0]:
    raise ValueError(f'`inputs` must have {kernel.shape[0]} channels (the '
                     'rows of `kernel`). Received: '
                     f'inputs.shape={tuple(shape)}')
  inputs = tf.convert_to_tensor(inputs)
  if go_backwards:
    inputs = tf.reverse(inputs, axis=[1])
  # The input projection runs in the inputs' dtype (e.g. bfloat16 under a
  # mixed precision policy), the recurrence in float32.
  time_major = tf.transpose(inputs, [1, 0, 2])
  xp = tf.tensordot(time_major, tf.cast(kernel, inputs.dtype), axes=1)
  xp = tf.cast(xp + tf.cast(bias[0], inputs.dtype), tf.float32)
  xp.set_shape(time_major.shape[:2].concatenate([3 * units]))
  if initial_state is None:
    batch = shape[0] if shape[0] is not None else tf.shape(inputs)[0]
    initial_state = tf.zeros([batch, units])
  hs = _GRU_RECURRENCE[bool(jit_compile)](
      xp, tf.cast(recurrent_kernel, tf.float32), tf.cast(bias[1], tf.float32),
      tf.cast(initial_state, tf.float32))
  return tf.transpose(hs, [1, 0, 2]), hs[-1]
