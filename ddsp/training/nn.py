"""Neural network building blocks for ddsp models (Keras 3 layers).

* Dict plumbing: `DictLayer` reads its input tensors from feature dicts by key
  and returns a dict (keys from the arguments of `call`, as published);
  `OutputSplitsLayer` ends in one dense projection split into named outputs
  (`split_to_dict`).
* Dense blocks: `Fc` (Dense -> LayerNorm -> nonlinearity) and `FcStack`.
* Recurrent: `Rnn` (GRU or LSTM over time). Its GRU runs a fused loop
  (`fused_gru`): the input projection of every frame is one large matmul, the
  loop only carries the small recurrent matmul, the gradient is written by
  hand (one matmul per step backwards, the weight gradient as one large matmul
  after the loop) and both loops are compiled with XLA. On a 2-core CPU the
  forward + backward pass of the solo-instrument RnnFcDecoder takes about half
  the CPU time it takes with `keras.layers.GRU` (benchmarks/bench_decoder.py).
* Convolutional: `DilatedConvStack` (residual dilated 1-D convolutions with
  optional normalization, FiLM conditioning, resampling, spectral
  normalization (`SpectralNormalization`) and orthogonal initialization).
* Normalization: `normalize_op` and the `Normalize` layer (layer, instance or
  group normalization with a learned scale and shift).

The rest of the published `nn` lives in topic modules, and every name is
also `ddsp.training.nn.<name>`:

* `nn_dict`: `DictLayer`, `DictLayerInputError`, `layers_from_config`.
* `nn_notes`: note regions and pooling (`get_note_mask`,
  `get_note_mask_from_onset`, `get_note_lengths`, `get_note_moments`,
  `pool_over_notes`, `get_short_note_loss_mask`).
* `nn_quantization`: straight-through estimators and `VectorQuantization`.
* `nn_blocks`: `StatelessRnn`, `RnnFc`, `RnnSandwich`, `SingleGru`,
  `FcStackOut`, `ConditionalScaleAndShift`, `ConditionalNorm`, `get_norm`,
  `Identity`, `get_embedding`, `gin_register_keras_layers`.
* `nn_resnet`: `polyphase_resample`, `PolyphaseResample`, `NormReluConv`,
  `ResidualLayer`, `ResidualStack`, `ResNet`.

`nn_blocks` and `nn_resnet` build on the layers of this module, so they
import it; their names are looked up here on first access (a module
`__getattr__`), which keeps the imports acyclic.

Every layer is registered with gin (module `ddsp.training.nn`) and Keras
serialization (package 'ddsp') by `ddsp.registration.register`.
"""

import importlib

import keras
import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import validation
from ddsp.training import gru
# pylint: disable=unused-import
from ddsp.training.nn_dict import DictLayer
from ddsp.training.nn_dict import DictLayerInputError
from ddsp.training.nn_dict import layers_from_config
from ddsp.training.nn_notes import get_note_lengths
from ddsp.training.nn_notes import get_note_mask
from ddsp.training.nn_notes import get_note_mask_from_onset
from ddsp.training.nn_notes import get_note_moments
from ddsp.training.nn_notes import get_short_note_loss_mask
from ddsp.training.nn_notes import pool_over_notes
from ddsp.training.nn_quantization import straight_through_choice
from ddsp.training.nn_quantization import straight_through_int_quantization
from ddsp.training.nn_quantization import straight_through_softmax
from ddsp.training.nn_quantization import VectorQuantization
# pylint: enable=unused-import

# Names of the modules that import this one, resolved by `__getattr__`.
_LAZY_NAMES = {
    **dict.fromkeys((
        'ConditionalNorm', 'ConditionalScaleAndShift', 'FcStackOut',
        'Identity', 'RnnFc', 'RnnSandwich', 'SingleGru', 'StatelessRnn',
        'get_embedding', 'get_norm', 'gin_register_keras_layers'),
                    'ddsp.training.nn_blocks'),
    **dict.fromkeys((
        'NormReluConv', 'PolyphaseResample', 'RESNET_SIZES', 'ResNet',
        'ResidualLayer', 'ResidualStack', 'polyphase_resample'),
                    'ddsp.training.nn_resnet'),
}


def __getattr__(name):
  """`nn.<name>` for the names of `nn_blocks` and `nn_resnet`."""
  module = _LAZY_NAMES.get(name)
  if module is None:
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
  return getattr(importlib.import_module(module), name)


def __dir__():
  return sorted(set(globals()) | set(_LAZY_NAMES))


_RNN_TYPES = ('gru', 'lstm')
_NORM_TYPES = ('layer', 'instance', 'group')


_register = registration.register('ddsp.training.nn')


# ------------------------------------------------------------------------------
# Helpers.
# ------------------------------------------------------------------------------
@_register
def get_nonlinearity(nonlinearity):
  """Returns an activation function from its name (or the callable itself).

  Args:
    nonlinearity: a Keras activation name ('relu', 'leaky_relu' (slope 0.2 for
      x < 0), 'gelu', 'tanh', 'sigmoid', 'swish', 'elu', 'softplus', 'linear',
      ...), the name of a `tf.nn` function, or a callable.

  Returns:
    A callable mapping a tensor to a tensor of the same shape.

  Raises:
    ValueError: if no activation has that name.

  Example:
    >>> get_nonlinearity('leaky_relu')(tf.constant([-1.0, 2.0])).numpy()
    array([-0.2,  2. ], dtype=float32)
  """
  if callable(nonlinearity):
    return nonlinearity
  if isinstance(nonlinearity, str):
    try:
      return keras.activations.get(nonlinearity)
    except (ValueError, TypeError):
      fn = getattr(tf.nn, nonlinearity, None)
      if callable(fn):
        return fn
  raise ValueError('`nonlinearity` must be a Keras activation name, a tf.nn '
                   'function name or a callable. Received: '
                   f'nonlinearity={nonlinearity!r}')


def split_to_dict(tensor, tensor_splits):
  """Splits the last axis of a tensor into named parts.

  Args:
    tensor: [..., n_channels] tensor, with n_channels = sum of the sizes.
    tensor_splits: sequence of (name, size) pairs, e.g.
      (('amps', 1), ('harmonic_distribution', 40)).

  Returns:
    Dict mapping each name to a [..., size] slice, in order.

  Raises:
    ValueError: if the sizes do not add up to the last dimension.

  Example:
    >>> parts = split_to_dict(tf.zeros([2, 5, 3]), (('a', 1), ('b', 2)))
    >>> parts['a'].shape, parts['b'].shape
    (TensorShape([2, 5, 1]), TensorShape([2, 5, 2]))
  """
  names, sizes = _check_splits(tensor_splits)
  n_channels = tensor.shape[-1]
  if n_channels is not None and n_channels != sum(sizes):
    raise ValueError('The sizes in `tensor_splits` must add up to the last '
                     f'dimension of `tensor` ({n_channels}). Received: '
                     f'tensor_splits={tuple(tensor_splits)!r}')
  return dict(zip(names, tf.split(tensor, sizes, axis=-1)))


def _check_splits(splits, name='tensor_splits'):
  """Validates (name, size) pairs; returns (names, sizes)."""
  try:
    names = [str(n) for n, _ in splits]
    sizes = [validation.check_positive_int(s, f'{name}[{n!r}]')
             for n, s in splits]
  except (TypeError, ValueError) as e:
    raise ValueError(f'`{name}` must be a sequence of (name, positive size) '
                     f'pairs. Received: {name}={splits!r} ({e})') from None
  if not names or len(set(names)) != len(names):
    raise ValueError(f'`{name}` must name at least one output, each once. '
                     f'Received: {name}={splits!r}')
  return names, sizes


def track_layers(parent, prefix, layers):
  """Makes layers held in a list checkpoint dependencies of `parent`.

  Keras 3 tracks layers in a list attribute as sub-layers (weights, Keras
  saving) but `tf.train.Checkpoint` does not see them; setting each one as
  the attribute `<prefix>_<i>` fixes that.

  Args:
    parent: the owning layer.
    prefix: attribute name prefix.
    layers: sequence of layers.

  Returns:
    `layers` as a list.
  """
  layers = list(layers)
  for i, layer in enumerate(layers):
    setattr(parent, f'{prefix}_{i}', layer)
  return layers


def ensure_4d(x):
  """Adds axes so that `x` is [batch, time, freq, channels] (rank 2 to 4)."""
  if x.shape.rank == 2:
    return x[:, tf.newaxis, tf.newaxis, :]
  if x.shape.rank == 3:
    return x[:, :, tf.newaxis, :]
  return x


def inv_ensure_4d(x, n_dims):
  """Removes the axes added by `ensure_4d` to get back to rank `n_dims`."""
  if n_dims == 2:
    return x[:, 0, 0, :]
  if n_dims == 3:
    return x[:, :, 0, :]
  return x


def normalize_op(x, norm_type='layer', eps=1e-5, groups=32):
  """Normalizes `x` to zero mean and unit variance (no learned parameters).

  The statistics are taken per example over time (and frequency) and over
  the channels of a group: 'layer' uses one group of all channels (so it
  also normalizes over time, as in image models), 'instance' one group per
  channel (each channel normalized over time), 'group' `groups` groups.

  Args:
    x: [batch, channels], [batch, time, channels] or [batch, time, freq,
      channels] float32.
    norm_type: 'layer', 'instance' or 'group'.
    eps: added to the variance, for stability.
    groups: number of channel groups for 'group'; must divide channels.

  Returns:
    Tensor shaped like `x`. Differentiable with respect to `x`.

  Raises:
    ValueError: for an unknown `norm_type`, a bad rank or indivisible groups.

  Example:
    >>> y = normalize_op(tf.random.normal([2, 10, 4]) * 3.0 + 1.0)
    >>> bool(abs(float(tf.reduce_mean(y))) < 1e-5)
    True
  """
  validation.check_one_of(norm_type, 'norm_type', _NORM_TYPES)
  n_dims = len(validation.check_rank(x, 'x', (2, 3, 4)))
  x = ensure_4d(core.tf_float32(x))
  ch = x.shape[-1]
  n_groups = {'layer': 1, 'instance': ch, 'group': groups}[norm_type]
  if ch is None or ch % n_groups:
    raise ValueError('The channels of `x` must be known and divisible by the '
                     f'number of groups ({n_groups}). Received: '
                     f'x.shape={tuple(x.shape)}')
  shape = tf.shape(x)
  grouped = tf.reshape(
      x, tf.concat([shape[:3], [n_groups, ch // n_groups]], axis=0))
  mean, var = tf.nn.moments(grouped, axes=[1, 2, 4], keepdims=True)
  grouped = (grouped - mean) * tf.math.rsqrt(var + eps)
  return inv_ensure_4d(tf.reshape(grouped, shape), n_dims)


# ------------------------------------------------------------------------------
# Dict layers.
# ------------------------------------------------------------------------------
@_register
class OutputSplitsLayer(DictLayer):
  """A DictLayer ending in a dense projection split into named outputs.

  Subclasses implement `compute_output(*tensors)` returning a
  [batch, n_frames, channels] tensor; a Dense layer maps it to
  `sum(sizes)` channels, split into a dict by `output_splits`.

  Args:
    input_keys: names of the input tensors.
    output_splits: sequence of (name, size) pairs naming the output channels,
      e.g. (('amps', 1), ('harmonic_distribution', 40)).
    **kwargs: passed to `DictLayer`.
  """

  def __init__(self, input_keys=None,
               output_splits=(('amps', 1), ('harmonic_distribution', 40)),
               **kwargs):
    kwargs.pop('output_keys', None)
    names, sizes = _check_splits(output_splits, 'output_splits')
    super().__init__(input_keys=input_keys, output_keys=names, **kwargs)
    self.output_splits = tuple(zip(names, sizes))
    self.n_out = sum(sizes)
    self.dense_out = keras.layers.Dense(self.n_out, name='dense_out',
                                        dtype=self.dtype_policy)

  def call(self, *inputs):
    x = self.compute_output(*inputs)
    # Controls leave in float32 whatever the dtype policy of the network.
    return split_to_dict(tf.cast(self.dense_out(x), tf.float32),
                         self.output_splits)

  def get_config(self):
    config = super().get_config()
    config.pop('output_keys')
    config['output_splits'] = self.output_splits
    return config


# ------------------------------------------------------------------------------
# Dense blocks.
# ------------------------------------------------------------------------------
@_register
class Fc(keras.layers.Layer):
  """Dense -> LayerNormalization -> nonlinearity, over the last axis.

  Args:
    ch: output channels.
    nonlinearity: activation name (see `get_nonlinearity`).
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> Fc(8)(tf.zeros([2, 5, 3])).shape
    TensorShape([2, 5, 8])
  """

  def __init__(self, ch=256, nonlinearity='leaky_relu', **kwargs):
    super().__init__(**kwargs)
    self.ch = validation.check_positive_int(ch, 'ch')
    self.nonlinearity = nonlinearity
    self._activation = get_nonlinearity(nonlinearity)
    self.dense = keras.layers.Dense(self.ch, name='dense',
                                    dtype=self.dtype_policy)
    self.norm = keras.layers.LayerNormalization(name='norm',
                                                dtype=self.dtype_policy)

  def build(self, inputs_shape):
    self.dense.build(inputs_shape)
    self.norm.build(tuple(inputs_shape[:-1]) + (self.ch,))

  def call(self, inputs):
    """[..., channels_in] float32 -> [..., ch]; differentiable in both."""
    return self._activation(self.norm(self.dense(inputs)))

  def get_config(self):
    config = super().get_config()
    config.update(ch=self.ch, nonlinearity=self.nonlinearity)
    return config


@_register
class FcStack(keras.layers.Layer):
  """`layers` Fc blocks in sequence (Dense -> LayerNorm -> leaky ReLU, ...).

  Args:
    ch: channels of every block.
    layers: number of blocks.
    nonlinearity: activation name (see `get_nonlinearity`).
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> FcStack(16, layers=2)(tf.zeros([2, 5, 1])).shape
    TensorShape([2, 5, 16])
  """

  def __init__(self, ch=256, layers=2, nonlinearity='leaky_relu', **kwargs):
    super().__init__(**kwargs)
    self.ch = validation.check_positive_int(ch, 'ch')
    self.n_layers = validation.check_positive_int(layers, 'layers')
    self.nonlinearity = nonlinearity
    self.fc_layers = track_layers(
        self, 'fc', [Fc(self.ch, nonlinearity, name=f'fc_{i}',
                        dtype=self.dtype_policy)
                     for i in range(self.n_layers)])

  def build(self, inputs_shape):
    shape = tuple(inputs_shape)
    for layer in self.fc_layers:
      layer.build(shape)
      shape = shape[:-1] + (self.ch,)

  def call(self, inputs):
    """[..., channels_in] float32 -> [..., ch]; differentiable in both."""
    x = inputs
    for layer in self.fc_layers:
      x = layer(x)
    return x

  def get_config(self):
    config = super().get_config()
    config.update(ch=self.ch, layers=self.n_layers,
                  nonlinearity=self.nonlinearity)
    return config


# ------------------------------------------------------------------------------
# Recurrent layers.
# ------------------------------------------------------------------------------
@_register
class Rnn(keras.layers.Layer):
  """A GRU or LSTM over the frames of a sequence, optionally bidirectional.

  The weights are those of `keras.layers.GRU` / `keras.layers.LSTM` (default
  initializers, `reset_after=True`), held in `self.rnn`. A fused GRU runs
  `fused_gru` on those weights (same numbers, about 3x less CPU time for
  forward + backward; see benchmarks/bench_decoder.py); LSTMs, and unfused
  GRUs, call the Keras layer, which runs cuDNN on a GPU. `fused='auto'` (the
  default) fuses unless a GPU is visible (`gru.use_fused_gru`).

  Args:
    dims: number of units (output channels per direction).
    rnn_type: 'gru' or 'lstm'.
    return_sequences: return every frame's state ([batch, n_frames, dims]) or
      only the last one ([batch, dims]).
    bidir: also run the sequence backwards and concatenate (2 * dims
      channels).
    fused: True: GRUs run `fused_gru`; False: `keras.layers.GRU` (cuDNN on a
      GPU); 'auto': `fused_gru` unless a GPU is visible when the layer is
      called. Ignored for LSTMs.
    jit_compile: compile the fused GRU's loops with XLA.
    **kwargs: passed to `keras.layers.Layer`.

  Raises:
    ValueError: for a `fused` other than True, False or 'auto'.

  Example:
    >>> Rnn(8)(tf.zeros([2, 10, 3])).shape
    TensorShape([2, 10, 8])
  """

  def __init__(self, dims, rnn_type='gru', return_sequences=True, bidir=False,
               fused='auto', jit_compile=True, **kwargs):
    super().__init__(**kwargs)
    self.dims = validation.check_positive_int(dims, 'dims')
    self.rnn_type = validation.check_one_of(rnn_type, 'rnn_type', _RNN_TYPES)
    self.return_sequences = bool(return_sequences)
    self.bidir = bool(bidir)
    self.fused = gru.check_fused(fused)
    self.jit_compile = bool(jit_compile)
    rnn_class = {'gru': keras.layers.GRU, 'lstm': keras.layers.LSTM}[rnn_type]
    rnn = rnn_class(self.dims, return_sequences=self.return_sequences,
                    name=rnn_type, dtype=self.dtype_policy)
    self.rnn = keras.layers.Bidirectional(
        rnn, name='bidir', dtype=self.dtype_policy) if bidir else rnn

  def build(self, inputs_shape):
    self.rnn.build(tuple(inputs_shape))

  def call(self, inputs):
    """Runs the RNN.

    Args:
      inputs: [batch, n_frames, channels] float32.

    Returns:
      [batch, n_frames, dims * (1 + bidir)] float32 (or [batch, dims * (1 +
      bidir)] without `return_sequences`). Differentiable with respect to the
      inputs and weights.
    """
    validation.check_rank(inputs, 'inputs', 3)
    if self.rnn_type != 'gru' or not gru.use_fused_gru(self.fused):
      return self.rnn(inputs)
    if self.bidir:
      cells = [(self.rnn.forward_layer.cell, False),
               (self.rnn.backward_layer.cell, True)]
    else:
      cells = [(self.rnn.cell, False)]
    outputs = []
    for cell, backwards in cells:
      sequence, final_state = gru.fused_gru(
          inputs, cell.kernel, cell.recurrent_kernel, cell.bias,
          go_backwards=backwards, jit_compile=self.jit_compile)
      if not self.return_sequences:
        outputs.append(final_state)
      else:
        outputs.append(tf.reverse(sequence, [1]) if backwards else sequence)
    outputs = outputs[0] if len(outputs) == 1 else tf.concat(outputs, axis=-1)
    return tf.cast(outputs, self.compute_dtype)

  def get_config(self):
    config = super().get_config()
    config.update(dims=self.dims, rnn_type=self.rnn_type,
                  return_sequences=self.return_sequences, bidir=self.bidir,
                  fused=self.fused, jit_compile=self.jit_compile)
    return config


# ------------------------------------------------------------------------------
# Normalization and convolutions.
# ------------------------------------------------------------------------------
@_register
class Normalize(keras.layers.Layer):
  """`normalize_op` followed by a learned per-channel scale and shift.

  Args:
    norm_type: 'layer', 'instance' or 'group' (see `normalize_op`).
    groups: channel groups for 'group'.
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> Normalize('instance')(tf.random.normal([2, 10, 4])).shape
    TensorShape([2, 10, 4])
  """

  def __init__(self, norm_type='layer', groups=32, **kwargs):
    super().__init__(**kwargs)
    self.norm_type = validation.check_one_of(norm_type, 'norm_type',
                                             _NORM_TYPES)
    self.groups = validation.check_positive_int(groups, 'groups')

  def build(self, inputs_shape):
    ch = inputs_shape[-1]
    self.scale = self.add_weight(shape=(ch,), initializer='ones', name='scale')
    self.shift = self.add_weight(shape=(ch,), initializer='zeros',
                                 name='shift')

  def call(self, inputs):
    """[batch, (time, (freq,)) channels] float32 -> same shape."""
    x = normalize_op(inputs, self.norm_type, groups=self.groups)
    return x * self.scale + self.shift

  def get_config(self):
    config = super().get_config()
    config.update(norm_type=self.norm_type, groups=self.groups)
    return config


@_register
class SpectralNormalization(keras.layers.SpectralNormalization):
  """Spectral normalization of a wrapped layer's kernel (Miyato et al. 2018).

  Keras' `SpectralNormalization`, under the published DDSP name: each call
  with `training=True` runs `power_iterations` steps of power iteration for
  the largest singular value sigma of the kernel (reshaped to
  [-1, out_channels]) and divides the kernel by it in place, which bounds the
  layer's Lipschitz constant (stabilizes GAN-style training).

  Args:
    layer: a Keras layer with a `kernel` (Dense, Conv1D, ...) or `embeddings`.
    power_iterations: positive int, power iterations per training call.
    **kwargs: passed to the Keras wrapper.

  Example:
    >>> dense = SpectralNormalization(keras.layers.Dense(4))
    >>> dense(tf.ones([2, 3]), training=True).shape
    TensorShape([2, 4])
  """

  def __init__(self, layer, power_iterations=1, **kwargs):
    super().__init__(layer, power_iterations=validation.check_positive_int(
        power_iterations, 'power_iterations'), **kwargs)


@_register
class DilatedConvStack(keras.layers.Layer):
  """Residual stacks of dilated 1-D convolutions over frames.

  A 1x1 convolution maps the input to `ch` channels; then each of `stacks`
  stacks has `layers_per_stack` residual layers
  `x += conv_dilated(nonlinearity(norm(x)))` with dilation `dilation ** i` for
  layer i (receptive field grows exponentially; a negative `dilation` counts
  down, `(-dilation) ** (layers_per_stack - 1 - i)`), optionally
  FiLM-conditioned (`y * (1 + scale) + shift`, from a dense map of a
  conditioning sequence resampled to the layer's frames). Every
  `stacks_per_resample` stacks (after them, or before with
  `resample_after_convolve=False`) the frame rate is divided ('downsample',
  strided convolution) or multiplied ('upsample', transposed convolution) by
  `resample_stride`.

  Args:
    ch: channels of every convolution.
    layers_per_stack: residual layers per stack.
    stacks: number of stacks.
    kernel_size: convolution width in frames.
    dilation: non-zero int, base of the dilation rates (negative: decreasing
      with depth).
    norm_type: None, 'layer', 'instance' or 'group' normalization before each
      convolution.
    resample_type: None, 'downsample' or 'upsample'.
    resample_stride: resampling factor (frames) per resampling.
    stacks_per_resample: stacks per resampling layer (must divide `stacks`
      when resampling).
    resample_after_convolve: resample after each group of stacks (True) or
      before it (False).
    spectral_norm: wrap every convolution in `SpectralNormalization`.
    ortho_init: initialize the convolution kernels orthogonally (else Glorot
      uniform).
    shift_only: condition with a shift only (no scale).
    conditional: take a conditioning input for FiLM.
    causal: causal convolutions (frame t sees only frames <= t), else 'same'.
    nonlinearity: activation name (see `get_nonlinearity`).
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> DilatedConvStack(8, layers_per_stack=2, stacks=1)(
    ...     tf.zeros([2, 10, 3])).shape
    TensorShape([2, 10, 8])
    >>> up = DilatedConvStack(8, layers_per_stack=1, stacks=2,
    ...                       resample_type='upsample', resample_stride=2,
    ...                       stacks_per_resample=2)
    >>> up(tf.zeros([2, 10, 3])).shape
    TensorShape([2, 20, 8])
  """

  def __init__(self, ch=256, layers_per_stack=5, stacks=2, kernel_size=3,
               dilation=2, norm_type=None, resample_type=None,
               resample_stride=1, stacks_per_resample=1,
               resample_after_convolve=True, spectral_norm=False,
               ortho_init=False, shift_only=False, conditional=False,
               causal=False, nonlinearity='relu', **kwargs):
    super().__init__(**kwargs)
    self.ch = validation.check_positive_int(ch, 'ch')
    self.layers_per_stack = validation.check_positive_int(
        layers_per_stack, 'layers_per_stack')
    self.stacks = validation.check_positive_int(stacks, 'stacks')
    self.kernel_size = validation.check_positive_int(kernel_size,
                                                     'kernel_size')
    if isinstance(dilation, bool) or not isinstance(dilation, int) or (
        dilation == 0):
      raise ValueError('`dilation` must be a non-zero integer. Received: '
                       f'dilation={dilation!r}')
    self.dilation = dilation
    if norm_type is not None:
      validation.check_one_of(norm_type, 'norm_type', _NORM_TYPES)
    self.norm_type = norm_type
    validation.check_one_of(resample_type, 'resample_type',
                            (None, 'downsample', 'upsample'))
    self.resample_type = resample_type
    self.resample_stride = validation.check_positive_int(resample_stride,
                                                         'resample_stride')
    self.stacks_per_resample = validation.check_positive_int(
        stacks_per_resample, 'stacks_per_resample')
    if resample_type and self.stacks % self.stacks_per_resample:
      validation.check_divisible(self.stacks, self.stacks_per_resample,
                                 'stacks', 'stacks_per_resample')
    self.resample_after_convolve = bool(resample_after_convolve)
    self.spectral_norm = bool(spectral_norm)
    self.ortho_init = bool(ortho_init)
    self.causal = bool(causal)
    self.conditional = bool(conditional)
    self.shift_only = bool(shift_only)
    self.nonlinearity = nonlinearity
    self._activation = get_nonlinearity(nonlinearity)

    padding = 'causal' if self.causal else 'same'
    dtype = self.dtype_policy
    self.conv_in = self._conv(keras.layers.Conv1D, 1, name='conv_in')
    self.convs, self.norms, self.films, self.resamplers = [], [], [], []
    for s in range(self.stacks):
      for i in range(self.layers_per_stack):
        self.convs.append(self._conv(
            keras.layers.Conv1D, self.kernel_size,
            dilation_rate=self._dilation_rate(i), padding=padding,
            name=f'conv_{s}_{i}'))
        if norm_type is not None:
          self.norms.append(Normalize(norm_type, name=f'norm_{s}_{i}',
                                      dtype=dtype))
        if self.conditional:
          n_film = self.ch if self.shift_only else 2 * self.ch
          self.films.append(keras.layers.Dense(n_film, name=f'film_{s}_{i}',
                                               dtype=dtype))
      if resample_type and s % self.stacks_per_resample == 0:
        self.resamplers.append(self._resampler(len(self.resamplers), padding))
    for prefix in ('convs', 'norms', 'films', 'resamplers'):
      track_layers(self, prefix, getattr(self, prefix))

  def _conv(self, layer_class, kernel_size, **kwargs):
    """A convolution with the stack's initializer (and spectral norm)."""
    conv = layer_class(
        self.ch, kernel_size, dtype=self.dtype_policy,
        kernel_initializer='orthogonal' if self.ortho_init else
        'glorot_uniform', **kwargs)
    if self.spectral_norm:
      return SpectralNormalization(conv, name=f'{conv.name}_sn',
                                   dtype=self.dtype_policy)
    return conv

  def _dilation_rate(self, i):
    if self.dilation > 0:
      return self.dilation**i
    return (-self.dilation)**(self.layers_per_stack - 1 - i)

  def _resampler(self, index, padding):
    stride = self.resample_stride
    if self.resample_type == 'downsample':
      return self._conv(keras.layers.Conv1D, 2 * stride, strides=stride,
                        padding=padding, name=f'downsample_{index}')
    return self._conv(keras.layers.Conv1DTranspose, 2 * stride,
                      strides=stride, padding='same',
                      name=f'upsample_{index}')

  def call(self, inputs, conditioning=None):
    """Runs the stacks.

    Args:
      inputs: [batch, n_frames, channels] float32, or the pair
        `[inputs, conditioning]` (as the published library took it).
      conditioning: [batch, n_cond_frames, cond_channels] float32, required
        when `conditional`; linearly resampled to the frames of each layer.

    Returns:
      [batch, n_frames * stride ** n_resamplers (or divided by it), ch]
      float32. Differentiable with respect to the inputs, conditioning and
      weights.
    """
    if isinstance(inputs, (list, tuple)):
      inputs, conditioning = inputs
    validation.check_rank(inputs, 'inputs', 3)
    if self.conditional:
      if conditioning is None:
        raise ValueError('A conditional DilatedConvStack needs the '
                         '`conditioning` input. Received: conditioning=None')
      validation.check_rank(conditioning, 'conditioning', 3)
    x = self.conv_in(inputs)
    spr = self.stacks_per_resample
    for s in range(self.stacks):
      if self.resamplers and not self.resample_after_convolve and (
          s % spr == 0):
        x = self.resamplers[s // spr](x)
      for i in range(self.layers_per_stack):
        k = s * self.layers_per_stack + i
        y = self.norms[k](x) if self.norms else x
        y = self.convs[k](self._activation(y))
        if self.conditional:
          y = self._film(y, conditioning, self.films[k])
        x = x + y
      if self.resamplers and self.resample_after_convolve and (
          (s + 1) % spr == 0):
        x = self.resamplers[s // spr](x)
    return x

  def _film(self, y, conditioning, dense):
    n_frames = y.shape[1]
    if conditioning.shape[1] != n_frames:
      conditioning = core.resample(conditioning, n_frames)
    film = dense(conditioning)
    if self.shift_only:
      return y + film
    scale, shift = tf.split(film, 2, axis=-1)
    return y * (1.0 + scale) + shift

  def get_config(self):
    config = super().get_config()
    config.update(
        ch=self.ch, layers_per_stack=self.layers_per_stack,
        stacks=self.stacks, kernel_size=self.kernel_size,
        dilation=self.dilation, norm_type=self.norm_type,
        resample_type=self.resample_type,
        resample_stride=self.resample_stride,
        stacks_per_resample=self.stacks_per_resample,
        resample_after_convolve=self.resample_after_convolve,
        spectral_norm=self.spectral_norm, ortho_init=self.ortho_init,
        shift_only=self.shift_only, conditional=self.conditional,
        causal=self.causal, nonlinearity=self.nonlinearity)
    return config
