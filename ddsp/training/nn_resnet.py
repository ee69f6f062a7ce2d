"""Polyphase resampling and the ResNet of the published library.

* `polyphase_resample` / `PolyphaseResample`: lossless resampling by moving
  time steps into channels ('down') or channels into time steps ('up').
* `NormReluConv`, `ResidualLayer`, `ResidualStack`, `ResNet`: a bottleneck
  ResNet over spectrograms [batch, n_frames, n_freq, channels] that keeps the
  frames and downsamples frequency (the encoder of the published
  `ResnetSinusoidalEncoder`), optionally FiLM-conditioned.

Part of `ddsp.training.nn`: import the names from there
(`ddsp.training.nn.ResNet`).
"""

import keras
import tensorflow as tf

from ddsp import registration
from ddsp import validation
from ddsp.training import nn
from ddsp.training import nn_blocks

_register = registration.register('ddsp.training.nn')

# ResNet sizes: (base channels, residual layers of the first three stacks).
# 'tiny' is this library's addition: the published ResnetSinusoidalEncoder
# defaulted to it, but the published ResNet had no such size.
RESNET_SIZES = {
    'tiny': (16, (1, 1, 1)),
    'small': (32, (2, 3, 4)),
    'medium': (32, (3, 4, 6)),
    'large': (64, (3, 4, 6)),
}


# ------------------------------------------------------------------------------
# Polyphase resampling.
# ------------------------------------------------------------------------------
def polyphase_resample(x, stride=2, resample_type='down', trim_or_pad='pad'):
  """Resamples by moving time steps into channels, or channels into time.

  'down': [batch, n_time, ch] -> [batch, n_time / stride, ch * stride], where
  output frame i holds input frames i * stride ... i * stride + stride - 1
  side by side (`out[:, i, j * ch + c] = x[:, i * stride + j, c]`): each
  block of `ch` channels is one polyphase component `x[:, j::stride]`.
  'up' is the inverse: [batch, n_time, ch] -> [batch, n_time * stride,
  ch / stride]. A time (down) or channel (up) count that `stride` does not
  divide is zero-padded at the end ('pad') or cut ('trim'). No filtering: a
  'down' then 'up' round trip returns the input (plus any padding).

  Args:
    x: [batch, n_time, ch] or [batch, n_time, 1, ch] tensor (any dtype).
    stride: positive int resampling factor.
    resample_type: 'down' or 'up'.
    trim_or_pad: 'pad' or 'trim'.

  Returns:
    The resampled tensor, of the rank of `x`.

  Raises:
    ValueError: for a bad `resample_type`, `trim_or_pad`, stride or rank.

  Example:
    >>> x = tf.reshape(tf.range(6), [1, 6, 1])
    >>> polyphase_resample(x, 2, 'down')[0].numpy().tolist()
    [[0, 1], [2, 3], [4, 5]]
  """
  validation.check_one_of(resample_type, 'resample_type', ('down', 'up'))
  validation.check_one_of(trim_or_pad, 'trim_or_pad', ('trim', 'pad'))
  stride = validation.check_positive_int(stride, 'stride')
  shape = validation.check_rank(x, 'x', (3, 4))
  is_4d = len(shape) == 4
  x = tf.convert_to_tensor(x)
  x = x[:, :, 0, :] if is_4d else x
  axis = 1 if resample_type == 'down' else 2
  x = _pad_or_trim(x, axis, stride, trim_or_pad)
  n_time, n_ch = x.shape[1], x.shape[2]
  if resample_type == 'down':
    x = tf.reshape(x, [-1, n_time // stride, n_ch * stride])
  else:
    x = tf.reshape(x, [-1, n_time * stride, n_ch // stride])
  return x[:, :, tf.newaxis, :] if is_4d else x


def _pad_or_trim(x, axis, stride, trim_or_pad):
  """Zero-pads or cuts `axis` of a 3-D tensor to a multiple of `stride`."""
  size = x.shape[axis]
  if trim_or_pad == 'pad':
    pad = (stride - size % stride) % stride
    if pad:
      paddings = [[0, 0], [0, 0], [0, 0]]
      paddings[axis][1] = pad
      x = tf.pad(x, paddings)
    return x
  keep = size - size % stride
  return x[:, :keep] if axis == 1 else x[:, :, :keep]


@_register
class PolyphaseResample(keras.layers.Layer):
  """`polyphase_resample` as a layer (no weights).

  Args:
    stride: resampling factor.
    resample_type: 'down' or 'up'.
    trim_or_pad: 'pad' or 'trim'.
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> PolyphaseResample(4)(tf.zeros([2, 8, 3])).shape
    TensorShape([2, 2, 12])
  """

  def __init__(self, stride=2, resample_type='down', trim_or_pad='pad',
               **kwargs):
    super().__init__(**kwargs)
    self.stride = validation.check_positive_int(stride, 'stride')
    self.resample_type = validation.check_one_of(
        resample_type, 'resample_type', ('down', 'up'))
    self.trim_or_pad = validation.check_one_of(trim_or_pad, 'trim_or_pad',
                                               ('trim', 'pad'))

  def call(self, inputs):
    return polyphase_resample(inputs, self.stride, self.resample_type,
                              self.trim_or_pad)

  def get_config(self):
    return dict(super().get_config(), stride=self.stride,
                resample_type=self.resample_type,
                trim_or_pad=self.trim_or_pad)


# ------------------------------------------------------------------------------
# ResNet.
# ------------------------------------------------------------------------------
@_register
class NormReluConv(keras.layers.Layer):
  """`nn.Normalize` -> ReLU -> Conv2D (k x k, stride s along frequency).

  Args:
    ch: output channels.
    k: kernel size (k x k, 'same' padding).
    s: stride along the frequency axis (frames keep their rate).
    norm_type: 'layer', 'instance' or 'group'.
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> NormReluConv(4, 3, 2, 'layer')(tf.zeros([1, 5, 8, 2])).shape
    TensorShape([1, 5, 4, 4])
  """

  def __init__(self, ch, k, s, norm_type, **kwargs):
    super().__init__(**kwargs)
    self.ch = validation.check_positive_int(ch, 'ch')
    self.k = validation.check_positive_int(k, 'k')
    self.s = validation.check_positive_int(s, 's')
    self.norm_type = norm_type
    dtype = self.dtype_policy
    self.norm = nn.Normalize(norm_type, name='norm', dtype=dtype)
    self.conv = keras.layers.Conv2D(self.ch, (self.k, self.k), (1, self.s),
                                    padding='same', name='conv', dtype=dtype)

  def call(self, inputs):
    """[batch, n_frames, n_freq, channels] -> [.., ceil(n_freq / s), ch]."""
    return self.conv(tf.nn.relu(self.norm(inputs)))

  def get_config(self):
    return dict(super().get_config(), ch=self.ch, k=self.k, s=self.s,
                norm_type=self.norm_type)


@_register
class ResidualLayer(keras.layers.Layer):
  """A bottleneck residual layer (ch -> 4 * ch channels).

  `y = relu(norm(x))` (a `ConditionalNorm` from z when `conditional`), then
  `bottleneck(y) + shortcut`, with bottleneck = 1x1 conv (ch) ->
  `NormReluConv(ch, 3, stride)` -> `NormReluConv(4 * ch, 1, 1)` and shortcut
  = a 1x1 conv of y with stride (when `shortcut`), else x itself.

  Args:
    ch: bottleneck channels (the output has 4 * ch).
    stride: frequency stride.
    shortcut: project the shortcut (needed when channels or stride change).
    norm_type: 'layer', 'instance' or 'group'.
    conditional: take `[x, z]` and normalize with `ConditionalNorm`.
    shift_only: conditional shift only.
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> ResidualLayer(2, 2, True, 'layer', False, False)(
    ...     tf.zeros([1, 5, 8, 3])).shape
    TensorShape([1, 5, 4, 8])
  """

  def __init__(self, ch, stride, shortcut, norm_type, conditional, shift_only,
               **kwargs):
    super().__init__(**kwargs)
    self.ch = validation.check_positive_int(ch, 'ch')
    self.stride = validation.check_positive_int(stride, 'stride')
    self.shortcut = bool(shortcut)
    self.norm_type = norm_type
    self.conditional = bool(conditional)
    self.shift_only = bool(shift_only)
    dtype = self.dtype_policy
    self.norm_input = nn_blocks.get_norm(norm_type, self.conditional,
                                         self.shift_only)
    if self.shortcut:
      self.conv_proj = keras.layers.Conv2D(
          4 * self.ch, (1, 1), (1, self.stride), padding='same',
          name='conv_proj', dtype=dtype)
    self.conv_in = keras.layers.Conv2D(self.ch, (1, 1), padding='same',
                                       name='conv_in', dtype=dtype)
    self.norm_relu_conv_1 = NormReluConv(self.ch, 3, self.stride, norm_type,
                                         name='norm_relu_conv_1', dtype=dtype)
    self.norm_relu_conv_2 = NormReluConv(4 * self.ch, 1, 1, norm_type,
                                         name='norm_relu_conv_2', dtype=dtype)

  def call(self, inputs):
    """x [batch, n_frames, n_freq, c] (or [x, z]) -> [.., n_freq / s, 4ch].

    Differentiable with respect to x, z and the weights.
    """
    x, z = _split_conditioning(inputs, self.conditional)
    residual = x
    x = nn.ensure_4d(x)
    x = self.norm_input([x, nn.ensure_4d(z)]) if self.conditional else (
        self.norm_input(x))
    x = tf.nn.relu(x)
    # The projection follows the first norm and ReLU (a 1x1 convolution).
    residual = self.conv_proj(x) if self.shortcut else residual
    x = self.norm_relu_conv_2(self.norm_relu_conv_1(self.conv_in(x)))
    return x + residual

  def get_config(self):
    return dict(super().get_config(), ch=self.ch, stride=self.stride,
                shortcut=self.shortcut, norm_type=self.norm_type,
                conditional=self.conditional, shift_only=self.shift_only)


def _split_conditioning(inputs, conditional):
  """(x, z) from `[x, z]` when conditional, else (inputs, None)."""
  if not conditional:
    return inputs, None
  if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
    raise ValueError('A conditional layer takes the pair [x, z]. Received: '
                     f'{type(inputs).__name__}')
  return inputs


@_register
class ResidualStack(keras.layers.Layer):
  """Groups of `ResidualLayer`s, then `nn.Normalize` and a nonlinearity.

  For each (ch, n_layers, stride) of (filters, block_sizes, strides): one
  ResidualLayer with a projected shortcut and the stride, then n_layers - 1
  plain ones.

  Args:
    filters: bottleneck channels of each group (outputs have 4x).
    block_sizes: residual layers of each group.
    strides: frequency stride of each group.
    norm_type: 'layer', 'instance' or 'group'.
    conditional: take `[x, z]` (FiLM in every residual layer).
    shift_only: conditional shift only.
    nonlinearity: activation after the final normalization.
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> ResidualStack([2], [2], [2], 'layer')(tf.zeros([1, 5, 8, 3])).shape
    TensorShape([1, 5, 4, 8])
  """

  def __init__(self, filters, block_sizes, strides, norm_type,
               conditional=False, shift_only=False, nonlinearity='relu',
               **kwargs):
    super().__init__(**kwargs)
    self.filters = [int(f) for f in filters]
    self.block_sizes = [int(b) for b in block_sizes]
    self.strides = [int(s) for s in strides]
    if not len(self.filters) == len(self.block_sizes) == len(self.strides):
      raise ValueError('`filters`, `block_sizes` and `strides` must have the '
                       f'same length. Received: filters={filters!r}, '
                       f'block_sizes={block_sizes!r}, strides={strides!r}')
    self.norm_type = norm_type
    self.conditional = bool(conditional)
    self.shift_only = bool(shift_only)
    self.nonlinearity = nonlinearity
    self._activation = nn.get_nonlinearity(nonlinearity)
    residual_layers = []
    for ch, n_layers, stride in zip(self.filters, self.block_sizes,
                                    self.strides):
      # Only the first layer of a group projects the shortcut and strides.
      for i in range(validation.check_positive_int(n_layers, 'block_sizes')):
        residual_layers.append(ResidualLayer(
            ch, stride if i == 0 else 1, i == 0, norm_type, self.conditional,
            self.shift_only, name=f'residual_{len(residual_layers)}',
            dtype=self.dtype_policy))
    self.residual_layers = nn.track_layers(self, 'residual', residual_layers)
    self.norm = nn.Normalize(norm_type, name='norm', dtype=self.dtype_policy)

  def call(self, inputs):
    """x [batch, n_frames, n_freq, c] (or [x, z]) -> [.., 4 * filters[-1]]."""
    x, z = _split_conditioning(inputs, self.conditional)
    for layer in self.residual_layers:
      x = layer([x, z] if self.conditional else x)
    return self._activation(self.norm(x))

  def get_config(self):
    return dict(super().get_config(), filters=self.filters,
                block_sizes=self.block_sizes, strides=self.strides,
                norm_type=self.norm_type, conditional=self.conditional,
                shift_only=self.shift_only, nonlinearity=self.nonlinearity)


@_register
class ResNet(keras.layers.Layer):
  """The published bottleneck ResNet over spectrograms.

  Conv2D(64, 7x7, frequency stride 2) -> max-pool (1x3, stride 2) ->
  `ResidualStack([ch, 2ch, 4ch], blocks, strides [1, 2, 2])` ->
  `ResidualStack([8ch], [3], [2])`, with (ch, blocks) from `RESNET_SIZES`.
  Frames keep their rate; frequency is divided by 32 (rounding up at each
  stride); the output has 32 * ch channels.

  Args:
    size: 'tiny', 'small', 'medium' or 'large'.
    norm_type: 'layer', 'instance' or 'group'.
    conditional: take `[x, z]` (FiLM in every residual layer).
    shift_only: conditional shift only.
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> ResNet('tiny')(tf.zeros([1, 1, 32, 1])).shape
    TensorShape([1, 1, 1, 512])
  """

  def __init__(self, size='large', norm_type='layer', conditional=False,
               shift_only=False, **kwargs):
    super().__init__(**kwargs)
    self.size = validation.check_one_of(size, 'size', tuple(RESNET_SIZES))
    self.norm_type = norm_type
    self.conditional = bool(conditional)
    self.shift_only = bool(shift_only)
    ch, blocks = RESNET_SIZES[size]
    dtype = self.dtype_policy
    self.conv_in = keras.layers.Conv2D(64, (7, 7), (1, 2), padding='same',
                                       name='conv_in', dtype=dtype)
    self.pool = keras.layers.MaxPool2D(pool_size=(1, 3), strides=(1, 2),
                                       padding='same', name='pool',
                                       dtype=dtype)
    self.stack_1 = ResidualStack([ch, 2 * ch, 4 * ch], blocks, [1, 2, 2],
                                 norm_type, self.conditional, self.shift_only,
                                 name='stack_1', dtype=dtype)
    self.stack_2 = ResidualStack([8 * ch], [3], [2], norm_type,
                                 self.conditional, self.shift_only,
                                 name='stack_2', dtype=dtype)

  def call(self, inputs):
    """x [batch, n_frames, n_freq, c] (or [x, z]) -> [.., n_freq/32, 32ch]."""
    x, z = _split_conditioning(inputs, self.conditional)
    validation.check_rank(x, 'x', 4)
    x = self.pool(self.conv_in(x))
    for stack in (self.stack_1, self.stack_2):
      x = stack([x, z] if self.conditional else x)
    return x

  def get_config(self):
    return dict(super().get_config(), size=self.size,
                norm_type=self.norm_type, conditional=self.conditional,
                shift_only=self.shift_only)
