"""Decoders: networks mapping conditioning features to synthesizer controls.

A decoder is an `nn.OutputSplitsLayer`: it reads its inputs from the feature
dict by `input_keys` (e.g. 'ld_scaled', 'f0_scaled', 'z' from the
preprocessor and encoder), and returns a dict of raw (unscaled) controls named
by `output_splits`, e.g. {'amps': [batch, n_frames, 1],
'harmonic_distribution': [batch, n_frames, 60], 'noise_magnitudes':
[batch, n_frames, 65]}, which a ProcessorGroup turns into audio.
"""

import keras
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
    stateless: pass the RNN state in and out explicitly (an `nn.StatelessRnn`),
      for block-by-block inference and export: the input key 'state'
      ([batch, rnn_channels] for a GRU, [batch, 2 * rnn_channels] for an
      LSTM) is added after `input_keys` and the output 'state' (the state
      after the last frame) after the splits.
    input_keys: names of the input features, e.g. ('ld_scaled', 'f0_scaled',
      'z'); each [batch, n_frames, channels] float32, all with the same
      frames.
    output_splits: (name, channels) pairs of the outputs.
    rnn_kwargs: optional dict of extra `nn.Rnn` / `nn.StatelessRnn`
      arguments. The GRU implementation is their `fused`: 'auto' (default)
      runs `ddsp.training.gru.fused_gru` on CPU-only machines and
      `keras.layers.GRU` (cuDNN) where a GPU is visible; {'fused': True} or
      {'fused': False} forces one (in gin also `Rnn.fused = False`).
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
    >>> stateless = RnnFcDecoder(rnn_channels=8, ch=8, layers_per_stack=1,
    ...                          input_keys=('ld_scaled', 'f0_scaled'),
    ...                          stateless=True)
    >>> out = stateless(features, state=tf.zeros([2, 8]))
    >>> list(out), out['state'].shape
    (['amps', 'harmonic_distribution', 'state'], TensorShape([2, 8]))
  """

  def __init__(self, rnn_channels=512, rnn_type='gru', ch=512,
               layers_per_stack=3, stateless=False,
               input_keys=('ld_scaled', 'f0_scaled', 'z'),
               output_splits=(('amps', 1), ('harmonic_distribution', 40)),
               rnn_kwargs=None, **kwargs):
    if not core.make_iterable(input_keys):
      raise ValueError('`input_keys` must name at least one input. '
                       f'Received: input_keys={input_keys!r}')
    self.stateless = bool(stateless)
    # The carried RNN state is always the last input and output.
    super().__init__(input_keys=list(core.make_iterable(input_keys)) + (
        ['state'] if self.stateless else []), output_splits=output_splits,
                     **kwargs)
    if self.stateless:
      self.output_keys = self.output_keys + ['state']
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
        for i in range(len(self.feature_keys))])
    if self.stateless:
      self.rnn = nn.StatelessRnn(self.rnn_channels, self.rnn_type,
                                 name='rnn', dtype=self.dtype_policy,
                                 **self.rnn_kwargs)
    else:
      self.rnn = nn.Rnn(self.rnn_channels, self.rnn_type, name='rnn',
                        dtype=self.dtype_policy, **self.rnn_kwargs)
    self.out_stack = nn.FcStack(self.ch, self.layers_per_stack,
                                name='out_stack', dtype=self.dtype_policy)

  @property
  def feature_keys(self):
    """The input keys of the features (without the carried 'state')."""
    return self.input_keys[:-1] if self.stateless else self.input_keys

  def call(self, *inputs):
    if not self.stateless:
      return super().call(*inputs)
    *features, state = inputs
    x, new_state = self._forward(features, state)
    outputs = nn.split_to_dict(tf.cast(self.dense_out(x), tf.float32),
                               self.output_splits)
    outputs['state'] = new_state
    return outputs

  def compute_output(self, *inputs):
    """[batch, n_frames, c_i] inputs -> [batch, n_frames, ch] features."""
    return self._forward(inputs)[0]

  def _forward(self, features, state=None):
    """Features (and the RNN state) -> (out-stack features, new state)."""
    _check_frames(features, self.feature_keys)
    stacked = [stack(x) for stack, x in zip(self.input_stacks, features)]
    x = tf.concat(stacked, axis=-1)
    new_state = None
    if self.stateless:
      x, new_state = self.rnn(x, state)
    else:
      x = self.rnn(x)
    return self.out_stack(tf.concat(stacked + [x], axis=-1)), new_state

  def get_config(self):
    config = super().get_config()
    config.update(rnn_channels=self.rnn_channels, rnn_type=self.rnn_type,
                  ch=self.ch, layers_per_stack=self.layers_per_stack,
                  stateless=self.stateless, input_keys=self.feature_keys,
                  rnn_kwargs=self.rnn_kwargs)
    return config


@_register
class DilatedConvDecoder(nn.OutputSplitsLayer):
  """A decoder of residual dilated convolutions (no recurrence).

  The inputs are concatenated on channels and run through an
  `nn.DilatedConvStack`; features named by `conditioning_keys` (e.g. a
  latent 'z', at any frame rate) are concatenated, optionally run through a
  `precondition_stack`, and FiLM-condition every layer. With
  `resample_stride` > 1 the stack upsamples the frames (e.g. from a
  note-rate latent). Convolutions parallelize over time, so this trains
  faster than `RnnFcDecoder` on long sequences.

  Args:
    ch: channels of the convolutions.
    kernel_size: convolution width in frames.
    layers_per_stack: residual layers per stack.
    stacks: number of stacks (dilations restart at 1 in each).
    dilation: base of the dilation rates (layer i of a stack: dilation ** i).
    norm_type: None, 'layer', 'instance' or 'group'.
    resample_stride: > 1 upsamples the frames by this factor every
      `stacks_per_resample` stacks (transposed convolutions).
    stacks_per_resample: stacks per upsampling.
    resample_after_convolve: upsample after (True) or before each group of
      stacks.
    input_keys: names of the [batch, n_frames, channels] inputs.
    output_splits: (name, channels) pairs of the outputs.
    conditioning_keys: names of [batch, n_cond_frames, channels] features
      used for FiLM conditioning (a string names one); None for none. The
      published default conditions on 'z'.
    precondition_stack: optional Keras layer applied to the concatenated
      conditioning first (e.g. `nn.FcStackOut`); needs `conditioning_keys`.
    spectral_norm: spectral normalization of every convolution.
    ortho_init: orthogonal initialization of the convolution kernels.
    causal: causal convolutions, for streaming.
    nonlinearity: activation name.
    **kwargs: passed to `nn.OutputSplitsLayer`.

  Raises:
    ValueError: for a `precondition_stack` without `conditioning_keys`.

  Example:
    >>> decoder = DilatedConvDecoder(ch=8, layers_per_stack=2, stacks=1,
    ...                              conditioning_keys=None)
    >>> features = {'ld_scaled': tf.zeros([2, 20, 1]),
    ...             'f0_scaled': tf.zeros([2, 20, 1])}
    >>> decoder(features)['harmonic_distribution'].shape
    TensorShape([2, 20, 60])
  """

  def __init__(self, ch=256, kernel_size=3, layers_per_stack=5, stacks=2,
               dilation=2, norm_type='layer', resample_stride=1,
               stacks_per_resample=1, resample_after_convolve=True,
               input_keys=('ld_scaled', 'f0_scaled'),
               output_splits=(('amps', 1), ('harmonic_distribution', 60)),
               conditioning_keys=('z',), precondition_stack=None,
               spectral_norm=False, ortho_init=False, causal=False,
               nonlinearity='relu', **kwargs):
    self.conditioning_keys = tuple(core.make_iterable(conditioning_keys))
    super().__init__(input_keys=tuple(core.make_iterable(input_keys)) +
                     self.conditioning_keys, output_splits=output_splits,
                     **kwargs)
    self.n_feature_inputs = len(self.input_keys) - len(self.conditioning_keys)
    if not self.n_feature_inputs:
      raise ValueError('`input_keys` must name at least one input. '
                       f'Received: input_keys={input_keys!r}')
    if precondition_stack is not None and not self.conditioning_keys:
      raise ValueError('A `precondition_stack` acts on the conditioning: it '
                       'needs `conditioning_keys`. Received: '
                       f'conditioning_keys={conditioning_keys!r}')
    self.precondition_stack = precondition_stack
    resample_stride = validation.check_positive_int(resample_stride,
                                                    'resample_stride')
    self.stack = nn.DilatedConvStack(
        ch=ch, layers_per_stack=layers_per_stack, stacks=stacks,
        kernel_size=kernel_size, dilation=dilation, norm_type=norm_type,
        resample_type='upsample' if resample_stride > 1 else None,
        resample_stride=resample_stride,
        stacks_per_resample=stacks_per_resample,
        resample_after_convolve=resample_after_convolve,
        spectral_norm=spectral_norm, ortho_init=ortho_init,
        conditional=bool(self.conditioning_keys), causal=causal,
        nonlinearity=nonlinearity, name='dilated_conv_stack',
        dtype=self.dtype_policy)

  @property
  def dilated_conv_stack(self):
    """The stack (the published attribute name)."""
    return self.stack

  def compute_output(self, *inputs):
    """Inputs then conditioning tensors -> [batch, n_frames', ch] features."""
    x, cond = inputs[:self.n_feature_inputs], inputs[self.n_feature_inputs:]
    _check_frames(x, self.input_keys[:self.n_feature_inputs])
    x = tf.concat(x, axis=-1)
    if not cond:
      return self.stack(x)
    _check_frames(cond, self.conditioning_keys)
    z = tf.concat(cond, axis=-1)
    if self.precondition_stack is not None:
      z = self.precondition_stack(z)
    return self.stack(x, z)

  def get_config(self):
    config = super().get_config()
    stack = self.stack
    config.update(
        ch=stack.ch, kernel_size=stack.kernel_size,
        layers_per_stack=stack.layers_per_stack, stacks=stack.stacks,
        dilation=stack.dilation, norm_type=stack.norm_type,
        resample_stride=stack.resample_stride,
        stacks_per_resample=stack.stacks_per_resample,
        resample_after_convolve=stack.resample_after_convolve,
        input_keys=self.input_keys[:self.n_feature_inputs],
        conditioning_keys=self.conditioning_keys or None,
        precondition_stack=keras.saving.serialize_keras_object(
            self.precondition_stack),
        spectral_norm=stack.spectral_norm, ortho_init=stack.ortho_init,
        causal=stack.causal, nonlinearity=stack.nonlinearity)
    return config

  @classmethod
  def from_config(cls, config):
    return cls(**nn.layers_from_config(config, ['precondition_stack']))


# ------------------------------------------------------------------------------
# MIDI decoders (MidiAutoencoder).
# ------------------------------------------------------------------------------
class _MidiDecoderBase(nn.DictLayer):
  """Shared part of the MIDI decoders: net (+ z) -> layer norm -> dense."""

  def __init__(self, net=None, f0_residual=True, norm=True, n_out=2,
               **kwargs):
    super().__init__(**kwargs)
    self.net = net
    self.f0_residual = bool(f0_residual)
    self.dense_out = keras.layers.Dense(n_out, name='dense_out',
                                        dtype=self.dtype_policy)
    self.norm = (nn.Normalize('layer', name='norm', dtype=self.dtype_policy)
                 if norm else None)

  def _decode(self, z_pitch, z):
    """z_pitch [b, t, 1] (and z [b, t, n_z]) -> [b, t, n_out] float32."""
    if self.net is None:
      raise ValueError(f'{type(self).__name__} needs a `net` (a Keras layer '
                       'such as nn.DilatedConvStack). Received: net=None')
    x = self.net(z_pitch) if z is None else self.net([z_pitch, z])
    x = x['out'] if isinstance(x, dict) else x
    if self.norm is not None:
      x = self.norm(x)
    return tf.cast(self.dense_out(x), tf.float32)

  def get_config(self):
    return dict(super().get_config(),
                net=keras.saving.serialize_keras_object(self.net),
                f0_residual=self.f0_residual, norm=self.norm is not None)

  @classmethod
  def from_config(cls, config):
    return cls(**nn.layers_from_config(config, ['net']))


@_register
class MidiDecoder(_MidiDecoderBase):
  """Decodes MIDI pitch (and an optional latent z) to f0 and loudness.

  `net(z_pitch)` (or `net([z_pitch, z])`, e.g. a conditional
  `nn.DilatedConvStack`) -> layer norm -> dense(2): channel 0 is f0 in MIDI
  (plus `z_pitch` with `f0_residual`), channel 1 the loudness (`30 * x - 70`
  dB with `center_loudness`). The velocity is not used (as published).

  Args:
    net: a Keras layer over [batch, n_frames, 1].
    f0_residual: predict f0 as a residual of the pitch.
    center_loudness: map the loudness output to `30 * x - 70` dB.
    norm: layer-normalize the net's output.
    **kwargs: passed to `nn.DictLayer`.

  Example:
    >>> decoder = MidiDecoder(net=nn.FcStack(8, 1))
    >>> out = decoder({'z_pitch': tf.fill([1, 5, 1], 60.0)})
    >>> sorted(out), out['f0_midi'].shape
    (['f0_midi', 'loudness'], TensorShape([1, 5, 1]))
  """

  def __init__(self, net=None, f0_residual=True, center_loudness=True,
               norm=True, **kwargs):
    super().__init__(net=net, f0_residual=f0_residual, norm=norm, n_out=2,
                     **kwargs)
    self.center_loudness = bool(center_loudness)

  def call(self, z_pitch, z_vel=None, z=None) -> ['f0_midi', 'loudness']:
    """Decodes.

    Args:
      z_pitch: [batch, n_frames, 1] float32 pitch, MIDI.
      z_vel: [batch, n_frames, 1] velocity (unused, as published).
      z: optional [batch, n_frames, n_z] latent for the net.

    Returns:
      f0_midi: [batch, n_frames, 1] float32, MIDI.
      loudness: [batch, n_frames, 1] float32 (dB with `center_loudness`).
    """
    del z_vel
    x = self._decode(z_pitch, z)
    f0_midi, loudness = x[..., 0:1], x[..., 1:2]
    if self.f0_residual:
      f0_midi += z_pitch
    if self.center_loudness:
      loudness = loudness * 30.0 - 70.0
    return f0_midi, loudness

  def get_config(self):
    return dict(super().get_config(), center_loudness=self.center_loudness)


@_register
class MidiToHarmonicDecoder(_MidiDecoderBase):
  """Decodes MIDI pitch (and an optional latent z) to harmonic synth controls.

  As `MidiDecoder`, with a dense layer split into `output_splits` (raw
  controls for a ProcessorGroup) and 'f0_hz' = `midi_to_hz(f0_midi)` added.

  Args:
    net: a Keras layer over [batch, n_frames, 1].
    f0_residual: predict 'f0_midi' as a residual of the pitch.
    norm: layer-normalize the net's output.
    output_splits: (name, channels) pairs; must include ('f0_midi', 1).
    midi_zero_silence: f0_hz is 0 Hz where f0_midi is 0 (see
      `core.midi_to_hz`).
    **kwargs: passed to `nn.DictLayer`.

  Example:
    >>> decoder = MidiToHarmonicDecoder(net=nn.FcStack(8, 1))
    >>> out = decoder({'z_pitch': tf.fill([1, 5, 1], 60.0)})
    >>> list(out)
    ['f0_midi', 'amplitudes', 'harmonic_distribution', 'magnitudes', 'f0_hz']
  """

  def __init__(self, net=None, f0_residual=True, norm=True,
               output_splits=(('f0_midi', 1), ('amplitudes', 1),
                              ('harmonic_distribution', 60),
                              ('magnitudes', 65)),
               midi_zero_silence=True, **kwargs):
    kwargs.pop('output_keys', None)
    names, sizes = zip(*((str(k), validation.check_positive_int(
        n, f'output_splits[{k!r}]')) for k, n in output_splits))
    if 'f0_midi' not in names:
      raise ValueError("`output_splits` must include ('f0_midi', 1). "
                       f'Received: output_splits={output_splits!r}')
    self.output_splits = tuple(zip(names, sizes))
    super().__init__(net=net, f0_residual=f0_residual, norm=norm,
                     n_out=sum(sizes), output_keys=list(names) + ['f0_hz'],
                     **kwargs)
    self.midi_zero_silence = bool(midi_zero_silence)

  def call(self, z_pitch, z_vel=None, z=None):
    """z_pitch [batch, n_frames, 1] MIDI (z optional) -> controls dict."""
    del z_vel
    outputs = nn.split_to_dict(self._decode(z_pitch, z), self.output_splits)
    if self.f0_residual:
      outputs['f0_midi'] += z_pitch
    outputs['f0_hz'] = core.midi_to_hz(
        outputs['f0_midi'], midi_zero_silence=self.midi_zero_silence)
    return outputs

  def get_config(self):
    config = super().get_config()
    config.pop('output_keys')
    return dict(config, output_splits=self.output_splits,
                midi_zero_silence=self.midi_zero_silence)
