"""Decoders: networks mapping conditioning features to synthesizer controls.

A decoder is an `nn.OutputSplitsLayer`: it reads its inputs from the feature
dict by `input_keys` (e.g. 'ld_scaled', 'f0_scaled', 'z' from the
preprocessor and encoder), and returns a dict of raw (unscaled) controls named
by `output_splits`, e.g. {'amps': [batch, n_frames, 1],
'harmonic_distribution': [batch, n_frames, 60], 'noise_magnitudes':
[batch, n_frames, 65]}, which a ProcessorGroup turns into audio.
"""

import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import validation
from ddsp.training import nn

_register = registration.register('ddsp.training.decoders')


def _check_frames(tensors, keys):
  """Raises unless all [batch, n_frames, channels] inputs agree on frames."""
  named = dict(zip(keys, tensors))
  for key, x in named.items():
    validation.check_rank(x, key, 3)
  validation.check_same_dim(named, 0, 'batch')
  validation.check_same_dim(named, 1, 'n_frames')


@_register
class RnnFcDecoder(nn.OutputSplitsLayer):
  """The DDSP decoder: an MLP per input, a GRU, an MLP, a dense split.

  Each input [batch, n_frames, channels] goes through its own `FcStack`
  (ch channels, `layers_per_stack` Dense -> LayerNorm -> leaky ReLU blocks);
  the results are concatenated and run through an `Rnn`; the RNN output,
  concatenated with the stacks' outputs (a skip connection), goes through a
  final `FcStack` and a dense layer split into `output_splits`.

  Args:
    rnn_channels: GRU/LSTM units.
    rnn_type: 'gru' or 'lstm'.
    ch: channels of every dense layer.
    layers_per_stack: Fc blocks per stack.
    input_keys: names of the input features, e.g. ('ld_scaled', 'f0_scaled',
      'z'); each [batch, n_frames, channels] float32, all with the same
      frames.
    output_splits: (name, channels) pairs of the outputs.
    rnn_kwargs: optional dict of extra `nn.Rnn` arguments (e.g.
      {'fused': False}).
    **kwargs: passed to `nn.OutputSplitsLayer`: name, and dtype, a Keras dtype
      policy for the whole network, e.g. 'mixed_bfloat16' (about 30 % less
      CPU time on CPUs with bfloat16 matmuls; the GRU recurrence stays
      float32 and the outputs are float32).

  Example:
    >>> decoder = RnnFcDecoder(rnn_channels=8, ch=8, layers_per_stack=1,
    ...                        input_keys=('ld_scaled', 'f0_scaled'))
    >>> features = {'ld_scaled': tf.zeros([2, 20, 1]),
    ...             'f0_scaled': tf.zeros([2, 20, 1])}
    >>> {k: tuple(v.shape) for k, v in decoder(features).items()}
    {'amps': (2, 20, 1), 'harmonic_distribution': (2, 20, 40)}
  """

  def __init__(self, rnn_channels=512, rnn_type='gru', ch=512,
               layers_per_stack=3, input_keys=('ld_scaled', 'f0_scaled', 'z'),
               output_splits=(('amps', 1), ('harmonic_distribution', 40)),
               rnn_kwargs=None, **kwargs):
    super().__init__(input_keys=input_keys, output_splits=output_splits,
                     **kwargs)
    if not self.input_keys:
      raise ValueError('`input_keys` must name at least one input. '
                       f'Received: input_keys={input_keys!r}')
    self.rnn_channels = validation.check_positive_int(rnn_channels,
                                                      'rnn_channels')
    self.rnn_type = validation.check_one_of(rnn_type, 'rnn_type',
                                            ('gru', 'lstm'))
    self.ch = validation.check_positive_int(ch, 'ch')
    self.layers_per_stack = validation.check_positive_int(
        layers_per_stack, 'layers_per_stack')
    self.rnn_kwargs = dict(rnn_kwargs or {})
    self.input_stacks = nn.track_layers(self, 'input_stack', [
        nn.FcStack(self.ch, self.layers_per_stack, name=f'input_stack_{i}',
                   dtype=self.dtype_policy)
        for i in range(len(self.input_keys))])
    self.rnn = nn.Rnn(self.rnn_channels, self.rnn_type, name='rnn',
                      dtype=self.dtype_policy, **self.rnn_kwargs)
    self.out_stack = nn.FcStack(self.ch, self.layers_per_stack,
                                name='out_stack', dtype=self.dtype_policy)

  def compute_output(self, *inputs):
    """[batch, n_frames, c_i] inputs -> [batch, n_frames, ch] features."""
    _check_frames(inputs, self.input_keys)
    stacked = [stack(x) for stack, x in zip(self.input_stacks, inputs)]
    x = self.rnn(tf.concat(stacked, axis=-1))
    return self.out_stack(tf.concat(stacked + [x], axis=-1))

  def get_config(self):
    config = super().get_config()
    config.update(rnn_channels=self.rnn_channels, rnn_type=self.rnn_type,
                  ch=self.ch, layers_per_stack=self.layers_per_stack,
                  rnn_kwargs=self.rnn_kwargs)
    return config


@_register
class DilatedConvDecoder(nn.OutputSplitsLayer):
  """A decoder of residual dilated convolutions (no recurrence).

  The inputs are concatenated on channels and run through an
  `nn.DilatedConvStack`; features named by `conditioning_keys` (e.g. a
  latent 'z', at any frame rate) FiLM-condition every layer. Convolutions
  parallelize over time, so this trains faster than `RnnFcDecoder` on long
  sequences.

  Args:
    ch: channels of the convolutions.
    kernel_size: convolution width in frames.
    layers_per_stack: residual layers per stack.
    stacks: number of stacks (dilations restart at 1 in each).
    dilation: base of the dilation rates (layer i of a stack: dilation ** i).
    norm_type: None, 'layer', 'instance' or 'group'.
    causal: causal convolutions, for streaming.
    nonlinearity: activation name.
    input_keys: names of the [batch, n_frames, channels] inputs.
    output_splits: (name, channels) pairs of the outputs.
    conditioning_keys: names of [batch, n_cond_frames, channels] features
      used for FiLM conditioning; None for none.
    **kwargs: passed to `nn.OutputSplitsLayer`.

  Example:
    >>> decoder = DilatedConvDecoder(ch=8, layers_per_stack=2, stacks=1)
    >>> features = {'ld_scaled': tf.zeros([2, 20, 1]),
    ...             'f0_scaled': tf.zeros([2, 20, 1])}
    >>> decoder(features)['harmonic_distribution'].shape
    TensorShape([2, 20, 60])
  """

  def __init__(self, ch=256, kernel_size=3, layers_per_stack=5, stacks=2,
               dilation=2, norm_type='layer', causal=False,
               nonlinearity='relu', input_keys=('ld_scaled', 'f0_scaled'),
               output_splits=(('amps', 1), ('harmonic_distribution', 60)),
               conditioning_keys=None, **kwargs):
    self.conditioning_keys = tuple(core.make_iterable(conditioning_keys))
    super().__init__(input_keys=tuple(core.make_iterable(input_keys)) +
                     self.conditioning_keys, output_splits=output_splits,
                     **kwargs)
    self.n_inputs = len(self.input_keys) - len(self.conditioning_keys)
    if not self.n_inputs:
      raise ValueError('`input_keys` must name at least one input. '
                       f'Received: input_keys={input_keys!r}')
    self.stack = nn.DilatedConvStack(
        ch=ch, layers_per_stack=layers_per_stack, stacks=stacks,
        kernel_size=kernel_size, dilation=dilation, norm_type=norm_type,
        causal=causal, conditional=bool(self.conditioning_keys),
        nonlinearity=nonlinearity, name='dilated_conv_stack',
        dtype=self.dtype_policy)

  def compute_output(self, *inputs):
    """Inputs then conditioning tensors -> [batch, n_frames, ch] features."""
    x, cond = inputs[:self.n_inputs], inputs[self.n_inputs:]
    _check_frames(x, self.input_keys[:self.n_inputs])
    x = tf.concat(x, axis=-1)
    if cond:
      _check_frames(cond, self.conditioning_keys)
      return self.stack(x, tf.concat(cond, axis=-1))
    return self.stack(x)

  def get_config(self):
    config = super().get_config()
    stack = self.stack
    config.update(
        ch=stack.ch, kernel_size=stack.kernel_size,
        layers_per_stack=stack.layers_per_stack, stacks=stack.stacks,
        dilation=stack.dilation, norm_type=stack.norm_type,
        causal=stack.causal, nonlinearity=stack.nonlinearity,
        input_keys=self.input_keys[:self.n_inputs],
        conditioning_keys=self.conditioning_keys or None)
    return config
