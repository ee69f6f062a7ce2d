"""Small composite layers of the published library, built on `nn`'s blocks.

* Recurrent: `StatelessRnn` (state passed in and out, for streaming),
  `RnnFc`, `RnnSandwich`, `SingleGru`.
* Dense: `FcStackOut` (an `FcStack` then a dense projection).
* Conditioning: `ConditionalScaleAndShift`, `ConditionalNorm` (normalize, then
  scale and shift computed from a conditioning tensor), `get_norm`.
* Utilities: `Identity`, `get_embedding`, `gin_register_keras_layers`.

Part of `ddsp.training.nn`: import the names from there
(`ddsp.training.nn.RnnSandwich`).
"""

import inspect

import gin
import keras
import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import validation
from ddsp.training import nn
from ddsp.training import gru

_register = registration.register('ddsp.training.nn')


# ------------------------------------------------------------------------------
# Utilities.
# ------------------------------------------------------------------------------
def gin_register_keras_layers():
  """Makes every Keras layer, and `Sequential`, nameable in gin files.

  Registers `keras.Sequential` as 'tf.keras.Sequential' and each layer class
  of `keras.layers` as 'tf.keras.layers.<Name>', as the published library did
  on import (it is called when `ddsp.training` is imported). The Keras
  classes are not modified (see `ddsp.registration.register_external`).
  Keras layers named like a class gin already knows (`Add`, `Identity`,
  `SpectralNormalization` of ddsp) are left out, so that short gin selectors
  such as `Add.name = 'add'` keep naming the ddsp class. (The published
  library also named Dense 'ddsp.training.nn.Dense'; here gin files name it
  `@tf.keras.layers.Dense()`, as every ddsp name is the class itself.)

  Example:
    >>> import gin
    >>> gin_register_keras_layers()
    >>> dense = gin.get_configurable('tf.keras.layers.Dense')(3)
    >>> isinstance(dense, keras.layers.Dense), dense.units
    (True, 3)
  """
  if not _has_gin_name('Sequential'):
    registration.register_external(keras.Sequential, 'tf.keras.Sequential')
  for name, value in inspect.getmembers(keras.layers, inspect.isclass):
    if issubclass(value, keras.layers.Layer) and not _has_gin_name(name):
      registration.register_external(value, f'tf.keras.layers.{name}')


def _has_gin_name(name):
  """Whether a gin selector `name` already names something (or several)."""
  try:
    gin.get_configurable(name)
  except (KeyError, ValueError):
    return False
  return True


@_register
class Identity(keras.layers.Layer):
  """Returns its input unchanged.

  Example:
    >>> Identity()(tf.constant([1.0, 2.0])).numpy()
    array([1., 2.], dtype=float32)
  """

  def call(self, inputs):
    return inputs


def get_embedding(vocab_size=1024, n_dims=256):
  """A trainable embedding of integer ids.

  Args:
    vocab_size: number of ids (ids in [0, vocab_size)).
    n_dims: dimensions of each embedding vector.

  Returns:
    A `keras.layers.Embedding` mapping int [...] ids to [..., n_dims] float32.

  Example:
    >>> get_embedding(10, 4)(tf.constant([[3]])).shape
    TensorShape([1, 1, 4])
  """
  return keras.layers.Embedding(
      validation.check_positive_int(vocab_size, 'vocab_size'),
      validation.check_positive_int(n_dims, 'n_dims'))


# ------------------------------------------------------------------------------
# Conditional normalization.
# ------------------------------------------------------------------------------
@_register
class ConditionalScaleAndShift(keras.layers.Layer):
  """`x * scale + shift` (or `x + shift`), both a dense map of `z`.

  Args:
    shift_only: apply only the shift.
    **kwargs: passed to `keras.layers.Layer`.

  Call:
    inputs: `[x, z]`: x [..., ch] float32 and z [..., z_ch] float32 whose
      leading axes broadcast against x's (e.g. x [batch, n_frames, 1, ch],
      z [batch, n_frames, 1, z_ch] or [batch, 1, 1, z_ch]). A Dense layer maps
      z to 2 * ch channels, split into scale (first ch) and shift.

  Example:
    >>> layer = ConditionalScaleAndShift()
    >>> layer([tf.ones([2, 5, 3]), tf.ones([2, 1, 4])]).shape
    TensorShape([2, 5, 3])
  """

  def __init__(self, shift_only=False, **kwargs):
    super().__init__(**kwargs)
    self.shift_only = bool(shift_only)

  def build(self, inputs_shape):
    x_shape, z_shape = inputs_shape
    self.x_ch = x_shape[-1]
    n_out = self.x_ch if self.shift_only else 2 * self.x_ch
    self.dense = keras.layers.Dense(n_out, name='dense',
                                    dtype=self.dtype_policy)
    self.dense.build(z_shape)

  def call(self, inputs):
    """[x, z] -> x scaled and shifted; differentiable in x, z and weights."""
    x, z = inputs
    if self.shift_only:
      return x + self.dense(z)
    scale, shift = tf.split(self.dense(z), 2, axis=-1)
    return x * scale + shift

  def get_config(self):
    return dict(super().get_config(), shift_only=self.shift_only)


@_register
class ConditionalNorm(keras.layers.Layer):
  """`nn.normalize_op(x)` then a `ConditionalScaleAndShift` from `z` (FiLM).

  Args:
    norm_type: 'layer', 'instance' or 'group' (see `nn.normalize_op`).
    shift_only: condition with a shift only.
    **kwargs: passed to `keras.layers.Layer`.

  Call:
    inputs: `[x, z]`: x [batch, (time, (freq,)) ch] float32, z a
      conditioning tensor whose leading axes broadcast against x's.

  Example:
    >>> norm = ConditionalNorm('layer')
    >>> norm([tf.random.normal([2, 5, 3]), tf.ones([2, 1, 4])]).shape
    TensorShape([2, 5, 3])
  """

  def __init__(self, norm_type='instance', shift_only=False, **kwargs):
    super().__init__(**kwargs)
    self.norm_type = validation.check_one_of(norm_type, 'norm_type',
                                             ('layer', 'instance', 'group'))
    self.shift_only = bool(shift_only)
    self.conditional_scale_and_shift = ConditionalScaleAndShift(
        shift_only=self.shift_only, name='conditional_scale_and_shift',
        dtype=self.dtype_policy)

  def build(self, inputs_shape):
    self.conditional_scale_and_shift.build(inputs_shape)

  def call(self, inputs):
    """[x, z] -> normalized x, scaled and shifted by z."""
    x, z = inputs
    x = nn.normalize_op(x, norm_type=self.norm_type)
    return self.conditional_scale_and_shift([x, z])

  def get_config(self):
    return dict(super().get_config(), norm_type=self.norm_type,
                shift_only=self.shift_only)


def get_norm(norm_type, conditional, shift_only):
  """`ConditionalNorm(norm_type, shift_only)` if conditional, else Normalize.

  Example:
    >>> type(get_norm('layer', conditional=True, shift_only=False)).__name__
    'ConditionalNorm'
  """
  if conditional:
    return ConditionalNorm(norm_type=norm_type, shift_only=shift_only)
  return nn.Normalize(norm_type)


# ------------------------------------------------------------------------------
# Recurrent layers.
# ------------------------------------------------------------------------------
@_register
class StatelessRnn(keras.layers.Layer):
  """A unidirectional GRU or LSTM whose state is passed in and out.

  For streaming (block by block) inference and export: `call(x, state)`
  returns the outputs and the state after the last frame, to feed the next
  block. The weights are those of `keras.layers.GRU` / `LSTM` (in
  `self.rnn`); GRUs run `fused_gru` or the Keras layer as `nn.Rnn` does
  (`fused`). An LSTM's state is its hidden and cell state concatenated,
  [batch, 2 * dims].

  Args:
    dims: units.
    rnn_type: 'gru' or 'lstm'.
    fused: True: GRUs run `fused_gru`; False: `keras.layers.GRU` (cuDNN on a
      GPU); 'auto': `fused_gru` unless a GPU is visible when called.
    jit_compile: compile the fused GRU's loops with XLA.
    **kwargs: passed to `keras.layers.Layer`.

  Raises:
    ValueError: for a `fused` other than True, False or 'auto'.

  Example:
    >>> rnn = StatelessRnn(4, 'gru')
    >>> y, state = rnn(tf.zeros([2, 6, 3]), tf.zeros([2, 4]))
    >>> y.shape, state.shape
    (TensorShape([2, 6, 4]), TensorShape([2, 4]))
  """

  def __init__(self, dims, rnn_type, fused='auto', jit_compile=True,
               **kwargs):
    super().__init__(**kwargs)
    self.dims = validation.check_positive_int(dims, 'dims')
    self.rnn_type = validation.check_one_of(rnn_type, 'rnn_type',
                                            ('gru', 'lstm'))
    self.fused = gru.check_fused(fused)
    self.jit_compile = bool(jit_compile)
    rnn_class = {'gru': keras.layers.GRU, 'lstm': keras.layers.LSTM}[rnn_type]
    self.rnn = rnn_class(self.dims, return_sequences=True, return_state=True,
                         name=rnn_type, dtype=self.dtype_policy)

  def build(self, x_shape, state_shape=None):
    del state_shape
    self.rnn.build(tuple(x_shape))

  def call(self, x, state):
    """Runs the RNN from `state`.

    Args:
      x: [batch, n_frames, channels] float32.
      state: [batch, dims] (GRU) or [batch, 2 * dims] (LSTM: h then c)
        float32, the state before the first frame.

    Returns:
      y: [batch, n_frames, dims] float32 outputs.
      new_state: the state after the last frame, shaped like `state`.
      Differentiable with respect to x, state and the weights.
    """
    validation.check_rank(x, 'x', 3)
    n_state = self.dims * (2 if self.rnn_type == 'lstm' else 1)
    validation.check_shape(state, 'state', (None, n_state))
    state = core.tf_float32(state)
    if self.rnn_type == 'gru' and gru.use_fused_gru(self.fused):
      cell = self.rnn.cell
      y, new_state = gru.fused_gru(x, cell.kernel, cell.recurrent_kernel,
                                   cell.bias, initial_state=state,
                                   jit_compile=self.jit_compile)
      return tf.cast(y, self.compute_dtype), new_state
    if self.rnn_type == 'gru':
      return tuple(self.rnn(x, initial_state=state))
    h, c = tf.split(state, 2, axis=-1)
    y, h, c = self.rnn(x, initial_state=[h, c])
    return y, tf.concat([h, c], axis=-1)

  def get_config(self):
    return dict(super().get_config(), dims=self.dims, rnn_type=self.rnn_type,
                fused=self.fused, jit_compile=self.jit_compile)


@_register
class RnnFc(keras.layers.Layer):
  """`n_rnn` RNN layers then an `nn.Fc` (Dense -> LayerNorm -> nonlinearity).

  Args:
    rnn_feat: RNN units (per direction).
    out_feat: output channels.
    rnn_type: 'gru' or 'lstm'.
    nonlinearity: activation of the Fc layer.
    bidir: bidirectional RNNs.
    n_rnn: number of RNN layers in sequence.
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> RnnFc(4, 3)(tf.zeros([2, 6, 5])).shape
    TensorShape([2, 6, 3])
  """

  def __init__(self, rnn_feat, out_feat, rnn_type='lstm',
               nonlinearity='sigmoid', bidir=False, n_rnn=1, **kwargs):
    super().__init__(**kwargs)
    self.rnn_feat = validation.check_positive_int(rnn_feat, 'rnn_feat')
    self.out_feat = validation.check_positive_int(out_feat, 'out_feat')
    self.rnn_type = rnn_type
    self.nonlinearity = nonlinearity
    self.bidir = bool(bidir)
    self.n_rnn = validation.check_positive_int(n_rnn, 'n_rnn')
    self.rnns = nn.track_layers(self, 'rnn', [
        nn.Rnn(self.rnn_feat, rnn_type, bidir=self.bidir, name=f'rnn_{i}',
               dtype=self.dtype_policy) for i in range(self.n_rnn)])
    self.fc = nn.Fc(self.out_feat, nonlinearity, name='fc',
                    dtype=self.dtype_policy)

  def build(self, inputs_shape):
    shape = tuple(inputs_shape)
    for rnn in self.rnns:
      rnn.build(shape)
      shape = shape[:-1] + (self.rnn_feat * (2 if self.bidir else 1),)
    self.fc.build(shape)

  def call(self, inputs):
    """[batch, n_frames, channels] -> [batch, n_frames, out_feat]."""
    x = inputs
    for rnn in self.rnns:
      x = rnn(x)
    return self.fc(x)

  def get_config(self):
    return dict(super().get_config(), rnn_feat=self.rnn_feat,
                out_feat=self.out_feat, rnn_type=self.rnn_type,
                nonlinearity=self.nonlinearity, bidir=self.bidir,
                n_rnn=self.n_rnn)


@_register
class RnnSandwich(keras.layers.Layer):
  """An `nn.FcStack`, an `nn.Rnn`, and another `nn.FcStack`.

  Args:
    fc_stack_ch: channels of the dense layers.
    fc_stack_layers: dense layers per stack.
    rnn_ch: RNN units.
    rnn_type: 'gru' or 'lstm'.
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> RnnSandwich(8, 1, 4)(tf.zeros([2, 6, 3])).shape
    TensorShape([2, 6, 8])
  """

  def __init__(self, fc_stack_ch=256, fc_stack_layers=2, rnn_ch=512,
               rnn_type='gru', **kwargs):
    super().__init__(**kwargs)
    dtype = self.dtype_policy
    self.fc_stack_in = nn.FcStack(fc_stack_ch, fc_stack_layers,
                                  name='fc_stack_in', dtype=dtype)
    self.rnn = nn.Rnn(rnn_ch, rnn_type, name='rnn', dtype=dtype)
    self.fc_stack_out = nn.FcStack(fc_stack_ch, fc_stack_layers,
                                   name='fc_stack_out', dtype=dtype)

  def build(self, inputs_shape):
    shape = tuple(inputs_shape)
    self.fc_stack_in.build(shape)
    self.rnn.build(shape[:-1] + (self.fc_stack_in.ch,))
    self.fc_stack_out.build(shape[:-1] + (self.rnn.dims,))

  def call(self, inputs):
    """[batch, n_frames, channels] -> [batch, n_frames, fc_stack_ch]."""
    return self.fc_stack_out(self.rnn(self.fc_stack_in(inputs)))

  def get_config(self):
    return dict(super().get_config(), fc_stack_ch=self.fc_stack_in.ch,
                fc_stack_layers=self.fc_stack_in.n_layers,
                rnn_ch=self.rnn.dims, rnn_type=self.rnn.rnn_type)


@_register
class SingleGru(keras.layers.Layer):
  """A GRU (sequences out) followed by layer normalization.

  Args:
    gru_dim: GRU units.
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> SingleGru(4)(tf.zeros([2, 6, 3])).shape
    TensorShape([2, 6, 4])
  """

  def __init__(self, gru_dim=128, **kwargs):
    super().__init__(**kwargs)
    self.rnn = nn.Rnn(gru_dim, 'gru', name='gru', dtype=self.dtype_policy)
    self.norm = keras.layers.LayerNormalization(name='norm',
                                                dtype=self.dtype_policy)

  def build(self, inputs_shape):
    shape = tuple(inputs_shape)
    self.rnn.build(shape)
    self.norm.build(shape[:-1] + (self.rnn.dims,))

  def call(self, inputs):
    """[batch, n_frames, channels] -> [batch, n_frames, gru_dim]."""
    return self.norm(self.rnn(inputs))

  def get_config(self):
    return dict(super().get_config(), gru_dim=self.rnn.dims)


@_register
class FcStackOut(keras.layers.Layer):
  """An `nn.FcStack` of `layers` x `ch` channels, then a Dense to `n_out`.

  Args:
    ch: channels of the stack.
    layers: Fc blocks of the stack.
    n_out: output channels (linear).
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> FcStackOut(8, 2, 3)(tf.zeros([2, 6, 5])).shape
    TensorShape([2, 6, 3])
  """

  def __init__(self, ch, layers, n_out, **kwargs):
    super().__init__(**kwargs)
    self.stack = nn.FcStack(ch, layers, name='stack', dtype=self.dtype_policy)
    self.n_out = validation.check_positive_int(n_out, 'n_out')
    self.dense_out = keras.layers.Dense(self.n_out, name='dense_out',
                                        dtype=self.dtype_policy)

  def build(self, inputs_shape):
    shape = tuple(inputs_shape)
    self.stack.build(shape)
    self.dense_out.build(shape[:-1] + (self.stack.ch,))

  def call(self, inputs):
    """[..., channels] -> [..., n_out]; differentiable."""
    return self.dense_out(self.stack(inputs))

  def get_config(self):
    return dict(super().get_config(), ch=self.stack.ch,
                layers=self.stack.n_layers, n_out=self.n_out)


gin_register_keras_layers()
