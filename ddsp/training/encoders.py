"""Encoders: networks that compute latent features (e.g. timbre z) from audio.

An encoder is an `nn.DictLayer` that reads its inputs from the feature dict
and returns {'z': [batch, n_frames, z_dims]}. The base class resamples z to
the frames of a reference feature (`time_key`, 'f0_scaled' by default) so that
the decoder gets all its inputs at the same frame rate.
"""

import keras
import tensorflow as tf

from ddsp import core
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
  and returning z [batch, n_z_frames, z_dims] (or [batch, z_dims]).

  Args:
    input_keys: features that `compute_z` takes, in order.
    time_key: feature whose frame count z is resampled to (e.g. 'f0_scaled',
      [batch, n_frames, 1]); None, or a feature absent from the inputs, keeps
      z's own frames.
    **kwargs: passed to `nn.DictLayer`.
  """

  def __init__(self, input_keys=('audio',), time_key='f0_scaled', **kwargs):
    kwargs.pop('output_keys', None)
    self.n_z_inputs = len(core.make_iterable(input_keys))
    self.time_key = time_key
    keys = tuple(core.make_iterable(input_keys))
    super().__init__(input_keys=keys + ((time_key,) if time_key else ()),
                     output_keys=('z',), **kwargs)
    self.optional_input_keys = (time_key,) if time_key else ()

  def compute_output(self, *inputs):
    z = self.compute_z(*inputs[:self.n_z_inputs])
    reference = inputs[self.n_z_inputs:]
    if reference and reference[0] is not None:
      n_frames = validation.check_rank(reference[0], self.time_key, (2, 3))[1]
      if n_frames is not None:
        return expand_z(z, n_frames)
    return z if z.shape.rank == 3 else z[:, tf.newaxis, :]

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
