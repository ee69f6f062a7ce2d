"""Encoders: networks that compute latent features (e.g. timbre z) from audio.

An encoder is an `nn.DictLayer` that reads its inputs from the feature dict
and returns {'z': [batch, n_frames, z_dims]}. The base class resamples z to
the frames of a reference feature (`time_key`, 'f0_scaled' by default) so that
the decoder gets all its inputs at the same frame rate.
"""

import functools

import keras
import tensorflow as tf

from ddsp import core
from ddsp import processors
from ddsp import registration
from ddsp import spectral_ops
from ddsp import validation
from ddsp.training import nn

# Spectrogram settings giving z_time_steps frames for 4 s of 16 kHz audio.
_Z_AUDIO_SPECS = {
    63: {'fft_size': 2048, 'overlap': 0.5},
    125: {'fft_size': 1024, 'overlap': 0.5},
    250: {'fft_size': 1024, 'overlap': 0.75},
    500: {'fft_size': 512, 'overlap': 0.75},
    1000: {'fft_size': 256, 'overlap': 0.75},
}


_register = registration.register('ddsp.training.encoders')


def expand_z(z, n_frames):
  """Brings z to `n_frames` frames: tiles a single frame, else resamples.

  Args:
    z: [batch, z_dims] or [batch, n_z_frames, z_dims] float32.
    n_frames: wanted number of frames.

  Returns:
    [batch, n_frames, z_dims] float32 (linear interpolation between frames).
    Differentiable with respect to z.

  Example:
    >>> expand_z(tf.zeros([2, 8]), 5).shape
    TensorShape([2, 5, 8])
  """
  validation.check_rank(z, 'z', (2, 3))
  if z.shape.rank == 2:
    z = z[:, tf.newaxis, :]
  if z.shape[1] == n_frames:
    return z
  if z.shape[1] == 1:
    return tf.tile(z, [1, n_frames, 1])
  return core.resample(z, n_frames)


@_register
class Encoder(nn.DictLayer):
  """Base class: `compute_z(*inputs)` -> {'z': z at the reference frames}.

  Subclasses implement `compute_z`, taking the tensors named by `input_keys`
  (by default the argument names of `compute_z`, as published) and returning
  z [batch, n_z_frames, z_dims] (or [batch, z_dims]); `expand_z` brings it to
  the frames of the optional reference feature `time_key`.

  Args:
    input_keys: features that `compute_z` takes, in order; None for the
      argument names of `compute_z`.
    time_key: feature whose frame count z is resampled to (e.g. 'f0_scaled',
      [batch, n_frames, 1]); None, or a feature absent from the inputs, keeps
      z's own frames.
    **kwargs: passed to `nn.DictLayer`.
  """

  def __init__(self, input_keys=None, time_key='f0_scaled', **kwargs):
    kwargs.pop('output_keys', None)
    keys = (list(core.make_iterable(input_keys)) if input_keys else
            self.get_argument_names('compute_z'))
    self.n_z_inputs = len(keys)
    self.time_key = time_key
    super().__init__(input_keys=keys, output_keys=['z'], **kwargs)
    if time_key:
      self.default_input_keys, self.default_input_values = [time_key], [None]

  def call(self, *inputs):
    z = self.compute_z(*inputs[:self.n_z_inputs])
    reference = inputs[self.n_z_inputs:]
    n_frames = None
    if reference and reference[0] is not None:
      n_frames = validation.check_rank(reference[0], self.time_key,
                                       (2, 3))[1]
    return self.expand_z(z, n_frames)

  def expand_z(self, z, time_steps):
    """z [batch, (n_z_frames,) z_dims] -> [batch, time_steps, z_dims].

    `time_steps` None keeps z's frames (a 2-D z gets one frame).
    """
    if time_steps is None:
      return z if z.shape.rank == 3 else z[:, tf.newaxis, :]
    return expand_z(z, time_steps)

  def compute_z(self, *inputs):
    """Maps the input tensors to z [batch, n_z_frames, z_dims]."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement compute_z().')

  def get_config(self):
    config = super().get_config()
    config.pop('output_keys')
    config['input_keys'] = self.input_keys[:self.n_z_inputs]
    config['time_key'] = self.time_key
    return config


# The published library's name of the base class.
ZEncoder = Encoder


@_register
class MfccTimeDistributedRnnEncoder(Encoder):
  """MFCCs -> instance normalization -> RNN -> dense to z.

  30 MFCCs (20 Hz to 8 kHz, 128 mel bins) are computed with the FFT size and
  overlap that give `z_time_steps` frames for 4 s of 16 kHz audio (1024 and
  75 % for 250 frames, i.e. a hop of 256 samples), each coefficient is
  normalized over time, then a GRU (or LSTM) and a dense layer map each frame
  to `z_dims` values; z is then resampled to the frames of `time_key`.

  Args:
    rnn_channels: RNN units.
    rnn_type: 'gru' or 'lstm'.
    z_dims: channels of z.
    z_time_steps: frames of z per 4 s at 16 kHz: 63, 125, 250, 500 or 1000.
    sample_rate: sample rate of the audio, Hz (>= 16 kHz: the mel filters go
      up to 8 kHz).
    input_keys: the audio feature, [batch, n_samples] float32.
    time_key: see `Encoder`.
    **kwargs: passed to `Encoder`.

  Example:
    >>> encoder = MfccTimeDistributedRnnEncoder(rnn_channels=8, z_dims=4)
    >>> features = {'audio': tf.zeros([2, 16000]),
    ...             'f0_scaled': tf.zeros([2, 250, 1])}
    >>> encoder(features)['z'].shape
    TensorShape([2, 250, 4])
  """

  def __init__(self, rnn_channels=512, rnn_type='gru', z_dims=32,
               z_time_steps=250, sample_rate=16000, input_keys=('audio',),
               time_key='f0_scaled', **kwargs):
    super().__init__(input_keys=input_keys, time_key=time_key, **kwargs)
    validation.check_one_of(z_time_steps, 'z_time_steps',
                            tuple(_Z_AUDIO_SPECS))
    self.rnn_channels = validation.check_positive_int(rnn_channels,
                                                      'rnn_channels')
    self.rnn_type = rnn_type
    self.z_dims = validation.check_positive_int(z_dims, 'z_dims')
    self.z_time_steps = z_time_steps
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    self.fft_size = _Z_AUDIO_SPECS[z_time_steps]['fft_size']
    self.overlap = _Z_AUDIO_SPECS[z_time_steps]['overlap']
    dtype = self.dtype_policy
    self.z_norm = nn.Normalize('instance', name='z_norm', dtype=dtype)
    self.rnn = nn.Rnn(self.rnn_channels, rnn_type, name='rnn', dtype=dtype)
    self.dense_out = keras.layers.Dense(self.z_dims, name='dense_out',
                                        dtype=dtype)

  def compute_z(self, audio):
    """Audio [batch, n_samples] -> z [batch, n_z_frames, z_dims].

    Differentiable with respect to the audio and the weights.
    """
    validation.check_audio(audio)
    mfccs = spectral_ops.compute_mfcc(
        audio, lo_hz=20.0, hi_hz=8000.0, fft_size=self.fft_size,
        mel_bins=128, mfcc_bins=30, overlap=self.overlap, pad_end=True,
        sample_rate=self.sample_rate)
    z = self.z_norm(mfccs)
    z = self.rnn(z)
    return self.dense_out(z)

  def get_config(self):
    config = super().get_config()
    config.update(rnn_channels=self.rnn_channels, rnn_type=self.rnn_type,
                  z_dims=self.z_dims, z_time_steps=self.z_time_steps,
                  sample_rate=self.sample_rate)
    return config


def _compute_mfccs(audio, fft_size, mel_bins, mfcc_bins, sample_rate,
                   overlap=0.75):
  """MFCCs of audio [batch, n_samples], 20 Hz - 8 kHz, as published."""
  validation.check_audio(audio)
  return spectral_ops.compute_mfcc(
      audio, lo_hz=20.0, hi_hz=8000.0, fft_size=fft_size, mel_bins=mel_bins,
      mfcc_bins=mfcc_bins, overlap=overlap, pad_end=True,
      sample_rate=sample_rate)


def _run_net(net, x, owner):
  """`net(x)` ('out' of a dict result); a clear error without a net."""
  if net is None:
    raise ValueError(f'{owner} needs a `net` (a Keras layer such as '
                     'nn.DilatedConvStack). Received: net=None')
  x = net(x)
  return x['out'] if isinstance(x, dict) else x


def _serialize(layer):
  return keras.saving.serialize_keras_object(layer)


@_register
class MfccEncoder(Encoder):
  """Instance-normalized MFCCs of the audio as z (no trainable network).

  For each (fft_size, mel_bins, mfcc_bins) triple, MFCCs (20 Hz - 8 kHz, 75 %
  overlap) are resampled to `time_steps` frames; they are concatenated on
  channels and each coefficient normalized over time (learned scale and
  shift).

  Args:
    fft_sizes: FFT sizes, one per MFCC set.
    mel_bins: mel bands of each set.
    mfcc_bins: coefficients of each set.
    time_steps: frames of z before `expand_z`.
    sample_rate: sample rate of the audio, Hz.
    **kwargs: passed to `Encoder` (input_keys: the audio feature).

  Example:
    >>> encoder = MfccEncoder(mfcc_bins=(13,), time_steps=50)
    >>> encoder({'audio': tf.zeros([2, 16000])})['z'].shape
    TensorShape([2, 50, 13])
  """

  def __init__(self, fft_sizes=(1024,), mel_bins=(128,), mfcc_bins=(30,),
               time_steps=250, sample_rate=16000, **kwargs):
    super().__init__(**kwargs)
    self.fft_sizes = [int(n) for n in core.make_iterable(fft_sizes)]
    self.mel_bins = [int(n) for n in core.make_iterable(mel_bins)]
    self.mfcc_bins = [int(n) for n in core.make_iterable(mfcc_bins)]
    if not len(self.fft_sizes) == len(self.mel_bins) == len(self.mfcc_bins):
      raise ValueError('`fft_sizes`, `mel_bins` and `mfcc_bins` must have the '
                       f'same length. Received: fft_sizes={fft_sizes!r}, '
                       f'mel_bins={mel_bins!r}, mfcc_bins={mfcc_bins!r}')
    self.time_steps = validation.check_positive_int(time_steps, 'time_steps')
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    self.norm_out = nn.Normalize('instance', name='norm_out',
                                 dtype=self.dtype_policy)

  def compute_z(self, audio):
    """Audio [batch, n_samples] -> [batch, time_steps, sum(mfcc_bins)]."""
    mfccs = [core.resample(_compute_mfccs(audio, fft, mel, mfcc,
                                          self.sample_rate), self.time_steps)
             for fft, mel, mfcc in zip(self.fft_sizes, self.mel_bins,
                                       self.mfcc_bins)]
    return self.norm_out(tf.concat(mfccs, axis=-1))

  def get_config(self):
    return dict(super().get_config(), fft_sizes=self.fft_sizes,
                mel_bins=self.mel_bins, mfcc_bins=self.mfcc_bins,
                time_steps=self.time_steps, sample_rate=self.sample_rate)


@_register
class MfccRnnEncoder(Encoder):
  """MFCCs -> instance norm -> RNN -> one z vector per example.

  30 MFCCs (FFT 1024, 128 mel bands, 75 % overlap) run through an RNN; z is
  its last frame's output (or, with `mean_aggregate`, the mean over frames),
  projected to `z_dims`, then tiled over the reference frames.

  Args:
    rnn_channels: RNN units.
    rnn_type: 'gru' or 'lstm'.
    z_dims: channels of z.
    mean_aggregate: average the RNN outputs over time instead of taking the
      last frame's.
    sample_rate: sample rate of the audio, Hz.
    **kwargs: passed to `Encoder`.

  Example:
    >>> encoder = MfccRnnEncoder(rnn_channels=8, z_dims=4)
    >>> encoder({'audio': tf.zeros([2, 4000]),
    ...          'f0_scaled': tf.zeros([2, 10, 1])})['z'].shape
    TensorShape([2, 10, 4])
  """

  def __init__(self, rnn_channels=512, rnn_type='gru', z_dims=512,
               mean_aggregate=False, sample_rate=16000, **kwargs):
    super().__init__(**kwargs)
    self.mean_aggregate = bool(mean_aggregate)
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    dtype = self.dtype_policy
    self.norm_in = nn.Normalize('instance', name='norm_in', dtype=dtype)
    self.rnn = nn.Rnn(rnn_channels, rnn_type, name='rnn', dtype=dtype)
    self.dense_z = keras.layers.Dense(
        validation.check_positive_int(z_dims, 'z_dims'), name='dense_z',
        dtype=dtype)

  def compute_z(self, audio):
    """Audio [batch, n_samples] -> z [batch, 1, z_dims]."""
    z = self.rnn(self.norm_in(_compute_mfccs(audio, 1024, 128, 30,
                                             self.sample_rate)))
    z = (tf.reduce_mean(z, axis=1, keepdims=True) if self.mean_aggregate
         else z[:, -1:, :])
    return self.dense_z(z)

  def get_config(self):
    return dict(super().get_config(), rnn_channels=self.rnn.dims,
                rnn_type=self.rnn.rnn_type, z_dims=self.dense_z.units,
                mean_aggregate=self.mean_aggregate,
                sample_rate=self.sample_rate)


@_register
class OneHotEncoder(Encoder):
  """A learned embedding of an integer id feature (e.g. the instrument).

  Args:
    one_hot_key: the feature holding the ids, int [batch] or [batch, 1].
    vocab_size: number of ids.
    n_dims: channels of z.
    skip_expand: return the embedding as it is ([batch, n_dims] for [batch]
      ids, [batch, 1, n_dims] for [batch, 1]), to broadcast over frames;
      else tile it over the reference frames.
    **kwargs: passed to `Encoder`.

  Example:
    >>> encoder = OneHotEncoder(vocab_size=4, n_dims=3, skip_expand=False)
    >>> encoder({'instrument': tf.constant([[1], [3]]),
    ...          'f0_scaled': tf.zeros([2, 5, 1])})['z'].shape
    TensorShape([2, 5, 3])
  """

  def __init__(self, one_hot_key='instrument', vocab_size=1024, n_dims=256,
               skip_expand=True, **kwargs):
    kwargs.pop('input_keys', None)
    super().__init__(input_keys=[one_hot_key], **kwargs)
    self.one_hot_key = one_hot_key
    self.vocab_size = vocab_size
    self.n_dims = n_dims
    self.skip_expand = bool(skip_expand)
    self.embedding = nn.get_embedding(vocab_size=vocab_size, n_dims=n_dims)

  def compute_z(self, one_hot):
    """int ids [batch(, 1)] -> [batch, (1,) n_dims] float32."""
    return self.embedding(one_hot)

  def expand_z(self, z, time_steps):
    if self.skip_expand:
      return z  # Broadcasts against [batch, n_frames, ...] downstream.
    return super().expand_z(z, time_steps)

  def get_config(self):
    config = super().get_config()
    config.pop('input_keys')
    return dict(config, one_hot_key=self.one_hot_key,
                vocab_size=self.vocab_size, n_dims=self.n_dims,
                skip_expand=self.skip_expand)


@_register
class AggregateFeaturesEncoder(Encoder):
  """The time average of a dense map of f0 and loudness, as z.

  Args:
    ch: channels of z.
    **kwargs: passed to `Encoder` (input_keys default: ('f0_scaled',
      'ld_scaled')).

  Example:
    >>> encoder = AggregateFeaturesEncoder(ch=4)
    >>> encoder({'f0_scaled': tf.zeros([2, 5, 1]),
    ...          'ld_scaled': tf.zeros([2, 5, 1])})['z'].shape
    TensorShape([2, 5, 4])
  """

  def __init__(self, ch=512, **kwargs):
    super().__init__(**kwargs)
    self.fc = keras.layers.Dense(validation.check_positive_int(ch, 'ch'),
                                 name='fc', dtype=self.dtype_policy)

  def compute_z(self, f0_scaled, ld_scaled):
    """[batch, n_frames, 1] each -> [batch, 1, ch] (mean over frames)."""
    z = self.fc(tf.concat([f0_scaled, ld_scaled], axis=-1))
    return tf.reduce_mean(z, axis=1, keepdims=True)

  def get_config(self):
    return dict(super().get_config(), ch=self.fc.units)


@_register
class ExpressionEncoder(Encoder):
  """A latent from features (and MFCCs): net -> layer norm -> dense.

  The features named by `input_keys` are concatenated on channels (with
  'audio' among them, its 60 instance-normalized MFCCs resampled to the
  frames of the first other feature take its place, at the end), run
  through `net`, layer-normalized and projected to `z_dims`; with
  `pool_time` z is averaged over frames (one vector per example).

  Args:
    net: a Keras layer over [batch, n_frames, channels], e.g.
      `nn.DilatedConvStack`.
    z_dims: channels of z.
    input_keys: features to encode, [batch, n_frames, channels] each (and
      optionally 'audio').
    mfcc_bins, fft_size, mel_bins: MFCC settings for 'audio'.
    pool_time: average z over frames.
    sample_rate: sample rate of the audio, Hz.
    **kwargs: passed to `Encoder`.

  Example:
    >>> encoder = ExpressionEncoder(net=nn.FcStack(8, 1), z_dims=4)
    >>> encoder({'f0_scaled': tf.zeros([2, 5, 1]),
    ...          'ld_scaled': tf.zeros([2, 5, 1])})['z'].shape
    TensorShape([2, 5, 4])
  """

  def __init__(self, net=None, z_dims=128, input_keys=('f0_scaled',
                                                       'ld_scaled'),
               mfcc_bins=60, fft_size=1024, mel_bins=128, pool_time=True,
               sample_rate=16000, **kwargs):
    super().__init__(input_keys=input_keys, **kwargs)
    self.compute_mfccs = 'audio' in self.input_keys[:self.n_z_inputs]
    if self.compute_mfccs and self.n_z_inputs < 2:
      raise ValueError('ExpressionEncoder needs a frame-rate feature besides '
                       "'audio' (its frames set the MFCCs'). Received: "
                       f'input_keys={input_keys!r}')
    self.mfcc_bins = mfcc_bins
    self.fft_size = fft_size
    self.mel_bins = mel_bins
    self.pool_time = bool(pool_time)
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    dtype = self.dtype_policy
    self.net = net
    self.norm = nn.Normalize('layer', name='norm', dtype=dtype)
    self.dense_out = keras.layers.Dense(
        validation.check_positive_int(z_dims, 'z_dims'), name='dense_out',
        dtype=dtype)
    if self.compute_mfccs:
      self.norm_mfcc = nn.Normalize('instance', name='norm_mfcc', dtype=dtype)

  def compute_z(self, *inputs):
    """Features [batch, n_frames, c_i] -> z [batch, n_frames or 1, z_dims]."""
    inputs = list(inputs)
    if self.compute_mfccs:
      audio = inputs.pop(self.input_keys.index('audio'))
      mfccs = self.norm_mfcc(_compute_mfccs(
          audio, self.fft_size, self.mel_bins, self.mfcc_bins,
          self.sample_rate))
      inputs.append(core.resample(mfccs, inputs[0].shape[1]))
    z = _run_net(self.net, tf.concat(inputs, axis=-1), 'ExpressionEncoder')
    z = self.dense_out(self.norm(z))
    return tf.reduce_mean(z, axis=1, keepdims=True) if self.pool_time else z

  def get_config(self):
    return dict(super().get_config(), net=_serialize(self.net),
                z_dims=self.dense_out.units, mfcc_bins=self.mfcc_bins,
                fft_size=self.fft_size, mel_bins=self.mel_bins,
                pool_time=self.pool_time, sample_rate=self.sample_rate)

  @classmethod
  def from_config(cls, config):
    return cls(**nn.layers_from_config(config, ['net']))


# ------------------------------------------------------------------------------
# Encoders of synthesizer controls (InverseSynthesis, MidiAutoencoder).
# ------------------------------------------------------------------------------
@_register
class ResnetSinusoidalEncoder(nn.DictLayer):
  """Audio -> spectrogram -> `nn.ResNet` -> raw sinusoidal synth controls.

  EXPERIMENTAL (the sinusoidal encoder of the published InverseSynthesis):
  `spectral_fn(audio)` [batch, n_frames, n_bins] runs through a ResNet (frames
  kept, frequency / 32), its frequency and channel axes are flattened and one
  dense layer per output split maps each frame to raw (unscaled) controls.

  Args:
    output_splits: (name, channels) of the outputs, e.g. 100 sinusoids with
      64 frequency bins each: (('frequencies', 6400), ('amplitudes', 100),
      ('noise_magnitudes', 60)).
    spectral_fn: audio [batch, n_samples] -> [batch, n_frames, n_bins]
      float32 (default `spectral_ops.compute_logmel`, 64 bands).
    size: ResNet size ('tiny', 'small', 'medium', 'large').
    **kwargs: passed to `nn.DictLayer` (input key: 'audio').

  Example:
    >>> encoder = ResnetSinusoidalEncoder(
    ...     output_splits=(('frequencies', 8), ('amplitudes', 2)))
    >>> out = encoder({'audio': tf.zeros([1, 1024])})
    >>> {k: tuple(v.shape) for k, v in out.items()}
    {'frequencies': (1, 2, 8), 'amplitudes': (1, 2, 2)}
  """

  def __init__(self, output_splits=(('frequencies', 100 * 64),
                                    ('amplitudes', 100),
                                    ('noise_magnitudes', 60)),
               spectral_fn=spectral_ops.compute_logmel, size='tiny',
               **kwargs):
    kwargs.pop('output_keys', None)
    self.output_splits = tuple((str(k), validation.check_positive_int(
        n, f'output_splits[{k!r}]')) for k, n in output_splits)
    super().__init__(output_keys=[k for k, _ in self.output_splits],
                     **kwargs)
    self.spectral_fn = validation.check_callable(
        processors.deserialize_fn(spectral_fn), 'spectral_fn',
        allow_none=False)
    self.size = size
    self.resnet = nn.ResNet(size=size, name='resnet', dtype=self.dtype_policy)
    self.dense_outs = nn.track_layers(self, 'dense_out', [
        keras.layers.Dense(n, name=f'dense_{k}', dtype=self.dtype_policy)
        for k, n in self.output_splits])

  def call(self, audio):
    """Audio [batch, n_samples] -> {name: [batch, n_frames, channels]}."""
    mag = self.spectral_fn(audio)[..., tf.newaxis]
    x = self.resnet(mag)  # [batch, n_frames, n_freq / 32, channels]
    shape = tf.shape(x)
    x = tf.reshape(x, [shape[0], shape[1], x.shape[2] * x.shape[3]])
    return {key: layer(x) for key, layer in zip(self.output_keys,
                                                 self.dense_outs)}

  def get_config(self):
    config = super().get_config()
    config.pop('output_keys')
    return dict(config, output_splits=self.output_splits,
                spectral_fn=processors.serialize_fn(self.spectral_fn),
                size=self.size)


def _default_f0_scale_fn(depth):
  """The published f0 scaling: a softmax over `depth` bins, 20 - 1200 Hz."""
  return functools.partial(core.frequencies_softmax, depth=depth,
                           hz_min=20.0, hz_max=1200.0)


@_register
class SinusoidalToHarmonicEncoder(nn.DictLayer):
  """Sinusoidal controls -> harmonic controls (amplitude, distribution, f0).

  EXPERIMENTAL (the harmonic encoder of the published InverseSynthesis).
  Frequencies (scaled to [0, 1] in MIDI between 0 Hz... Nyquist, as
  `core.hz_to_unit`) and amplitudes are concatenated and run through `net`;
  three dense layers give the harmonic amplitude (`amp_scale_fn`), the
  harmonic distribution (`amp_scale_fn`, harmonics at or above Nyquist
  removed, normalized to sum 1) and f0 (`freq_scale_fn` of `f0_depth`
  logits).

  Args:
    net: a Keras layer over [batch, n_frames, 2 * n_sinusoids] (a dict result
      uses its 'out').
    n_harmonics: harmonics of the distribution.
    f0_depth: logits of f0.
    amp_scale_fn: scaling of amplitudes (default `core.exp_sigmoid`).
    freq_scale_fn: logits [batch, n_frames, f0_depth] -> f0 Hz [.., 1];
      None for the published `frequencies_softmax(depth=f0_depth,
      hz_min=20, hz_max=1200)`.
    sample_rate: Hz, sets Nyquist.
    **kwargs: passed to `nn.DictLayer`.

  Example:
    >>> encoder = SinusoidalToHarmonicEncoder(net=nn.FcStack(8, 1),
    ...                                       n_harmonics=10)
    >>> out = encoder({'sin_freqs': tf.fill([1, 5, 4], 440.0),
    ...                'sin_amps': tf.fill([1, 5, 4], 0.1)})
    >>> {k: tuple(v.shape) for k, v in out.items()}
    {'harm_amp': (1, 5, 1), 'harm_dist': (1, 5, 10), 'f0_hz': (1, 5, 1)}
  """

  def __init__(self, net=None, n_harmonics=100, f0_depth=64,
               amp_scale_fn=core.exp_sigmoid, freq_scale_fn=None,
               sample_rate=16000, **kwargs):
    super().__init__(**kwargs)
    self.net = net
    self.n_harmonics = validation.check_positive_int(n_harmonics,
                                                     'n_harmonics')
    self.f0_depth = validation.check_positive_int(f0_depth, 'f0_depth')
    self.amp_scale_fn = validation.check_callable(
        processors.deserialize_fn(amp_scale_fn), 'amp_scale_fn',
        allow_none=False)
    self.freq_scale_fn = validation.check_callable(
        processors.deserialize_fn(freq_scale_fn), 'freq_scale_fn')
    self._f0_scale_fn = self.freq_scale_fn or _default_f0_scale_fn(
        self.f0_depth)
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    dtype = self.dtype_policy
    self.amp_out = keras.layers.Dense(1, name='amp_out', dtype=dtype)
    self.hd_out = keras.layers.Dense(self.n_harmonics, name='hd_out',
                                     dtype=dtype)
    self.f0_out = keras.layers.Dense(self.f0_depth, name='f0_out',
                                     dtype=dtype)

  def call(self, sin_freqs, sin_amps) -> ['harm_amp', 'harm_dist', 'f0_hz']:
    """Converts sinusoids to harmonic controls.

    Args:
      sin_freqs: [batch, n_frames, n_sinusoids] float32, Hz.
      sin_amps: [batch, n_frames, n_sinusoids] float32, linear, >= 0.

    Returns:
      harm_amp: [batch, n_frames, 1] float32 amplitude (> 0).
      harm_dist: [batch, n_frames, n_harmonics] float32, sums to 1 over the
        harmonics below Nyquist.
      f0_hz: [batch, n_frames, 1] float32, Hz.
    """
    nyquist = self.sample_rate / 2.0
    sin_freqs_unit = core.hz_to_unit(sin_freqs, hz_min=0.0, hz_max=nyquist)
    x = _run_net(self.net, tf.concat([sin_freqs_unit, sin_amps], axis=-1),
                 'SinusoidalToHarmonicEncoder')
    harm_amp = self.amp_scale_fn(self.amp_out(x))
    harm_dist = self.amp_scale_fn(self.hd_out(x))
    f0_hz = self._f0_scale_fn(self.f0_out(x))
    harm_freqs = core.get_harmonic_frequencies(f0_hz, self.n_harmonics)
    harm_dist = core.remove_above_nyquist(harm_freqs, harm_dist,
                                          self.sample_rate)
    harm_dist = core.safe_divide(
        harm_dist, tf.reduce_sum(harm_dist, axis=-1, keepdims=True))
    return harm_amp, harm_dist, f0_hz

  def get_config(self):
    return dict(super().get_config(), net=_serialize(self.net),
                n_harmonics=self.n_harmonics, f0_depth=self.f0_depth,
                amp_scale_fn=processors.serialize_fn(self.amp_scale_fn),
                freq_scale_fn=processors.serialize_fn(self.freq_scale_fn),
                sample_rate=self.sample_rate)

  @classmethod
  def from_config(cls, config):
    return cls(**nn.layers_from_config(config, ['net']))


class _MidiEncoderBase(nn.DictLayer):
  """Shared part of the MIDI encoders: net -> layer norm -> dense(2)."""

  def __init__(self, net=None, f0_residual=True, **kwargs):
    super().__init__(**kwargs)
    self.net = net
    self.f0_residual = bool(f0_residual)
    self.dense_out = keras.layers.Dense(2, name='dense_out',
                                        dtype=self.dtype_policy)
    self.norm = nn.Normalize('layer', name='norm', dtype=self.dtype_policy)

  def _encode(self, f0_midi, *features):
    x = tf.concat([f0_midi, *features], axis=-1)
    x = self.dense_out(self.norm(_run_net(self.net, x, type(self).__name__)))
    z_pitch, z_vel = x[..., 0:1], x[..., 1:2]
    if self.f0_residual:
      z_pitch += f0_midi
    return z_pitch, z_vel

  def get_config(self):
    return dict(super().get_config(), net=_serialize(self.net),
                f0_residual=self.f0_residual)

  @classmethod
  def from_config(cls, config):
    return cls(**nn.layers_from_config(config, ['net']))


@_register
class MidiEncoder(_MidiEncoderBase):
  """Encodes f0 and loudness to unquantized MIDI pitch and velocity.

  `concat(f0_midi, loudness)` -> `net` -> layer norm -> dense(2): channel 0
  is the pitch (plus `f0_midi` with `f0_residual`), channel 1 the velocity.

  Args:
    net: a Keras layer over [batch, n_frames, 2].
    f0_residual: predict the pitch as a residual of f0.
    **kwargs: passed to `nn.DictLayer`.

  Example:
    >>> encoder = MidiEncoder(net=nn.FcStack(8, 1))
    >>> out = encoder({'f0_midi': tf.fill([1, 5, 1], 60.0),
    ...                'loudness': tf.fill([1, 5, 1], -30.0)})
    >>> sorted(out), out['z_pitch'].shape
    (['z_pitch', 'z_vel'], TensorShape([1, 5, 1]))
  """

  def call(self, f0_midi, loudness) -> ['z_pitch', 'z_vel']:
    """f0_midi, loudness [batch, n_frames, 1] -> z_pitch, z_vel (same)."""
    return self._encode(f0_midi, loudness)


@_register
class HarmonicToMidiEncoder(_MidiEncoderBase):
  """Encodes harmonic synth controls to unquantized MIDI pitch and velocity.

  As `MidiEncoder` with inputs f0 (MIDI), amplitudes (dB), harmonic
  distribution and noise magnitudes (dB), concatenated on channels.

  Args:
    net: a Keras layer over [batch, n_frames, 2 + n_harmonics + n_noise].
    f0_residual: predict the pitch as a residual of f0.
    **kwargs: passed to `nn.DictLayer`.

  Example:
    >>> encoder = HarmonicToMidiEncoder(net=nn.FcStack(8, 1))
    >>> out = encoder({'f0_midi': tf.fill([1, 5, 1], 60.0),
    ...                'amps': tf.zeros([1, 5, 1]), 'hd': tf.zeros([1, 5, 4]),
    ...                'noise': tf.zeros([1, 5, 3])})
    >>> out['z_vel'].shape
    TensorShape([1, 5, 1])
  """

  def call(self, f0_midi, amps, hd, noise) -> ['z_pitch', 'z_vel']:
    """f0 [b, t, 1], amps [b, t, 1], hd [b, t, h], noise [b, t, n] -> z."""
    return self._encode(f0_midi, amps, hd, noise)
