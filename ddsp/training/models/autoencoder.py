"""Autoencoder: preprocessor -> encoder -> decoder -> processor group."""

import keras

from ddsp import registration
from ddsp.training.models import model as model_lib


@registration.register('ddsp.training.models')
class Autoencoder(model_lib.Model):
  """The DDSP autoencoder.

  features -> preprocessor (e.g. f0 and loudness, scaled) -> encoder
  (optional latent z) -> decoder (synthesizer controls) -> processor group
  (synthesizers and effects) -> 'audio_synth'. Losses compare
  `features['audio']` with 'audio_synth'.

  Args:
    preprocessor: a DictLayer adding network inputs to the features (e.g.
      `preprocessing.F0LoudnessPreprocessor`), or None.
    encoder: a DictLayer adding 'z' (e.g.
      `encoders.MfccTimeDistributedRnnEncoder`), or None.
    decoder: a DictLayer mapping features to controls (e.g.
      `decoders.RnnFcDecoder`).
    processor_group: a `ddsp.processors.ProcessorGroup` reading the controls
      and features and returning audio.
    losses: loss objects (see `Model`).
    **kwargs: passed to `keras.Model`.

  Calling it returns the outputs dict: the features, everything the
  preprocessor, encoder and decoder added, the processor group's nested
  outputs (e.g. 'harmonic' with 'signal' and 'controls'), and 'audio_synth'
  [batch, n_samples] float32.

  Example:
    >>> import ddsp, tensorflow as tf
    >>> from ddsp.training import decoders, preprocessing
    >>> model = Autoencoder(
    ...     preprocessor=preprocessing.F0LoudnessPreprocessor(
    ...         time_steps=10, compute_loudness=False),
    ...     decoder=decoders.RnnFcDecoder(
    ...         rnn_channels=8, ch=8, layers_per_stack=1,
    ...         input_keys=('ld_scaled', 'f0_scaled'),
    ...         output_splits=(('amps', 1), ('harmonic_distribution', 4))),
    ...     processor_group=ddsp.processors.ProcessorGroup(dag=[
    ...         (ddsp.synths.Harmonic(n_samples=640),
    ...          ['amps', 'harmonic_distribution', 'f0_hz'])]),
    ...     losses=[ddsp.losses.SpectralLoss(fft_sizes=(256, 64))])
    >>> features = {'audio': tf.zeros([1, 640]),
    ...             'f0_hz': 220.0 * tf.ones([1, 10]),
    ...             'loudness_db': -30.0 * tf.ones([1, 10])}
    >>> outputs, losses = model(features, return_losses=True)
    >>> outputs['audio_synth'].shape, sorted(losses)
    (TensorShape([1, 640]), ['spectral_loss', 'total_loss'])
  """

  def __init__(self, preprocessor=None, encoder=None, decoder=None,
               processor_group=None, losses=None, **kwargs):
    super().__init__(losses=losses, **kwargs)
    for name, layer in (('preprocessor', preprocessor), ('encoder', encoder),
                        ('decoder', decoder),
                        ('processor_group', processor_group)):
      if layer is not None and not isinstance(layer, keras.layers.Layer):
        raise TypeError(f'`{name}` must be a Keras layer or None. Received: '
                        f'{name}={layer!r}')
    if decoder is None or processor_group is None:
      raise ValueError('An Autoencoder needs a `decoder` and a '
                       f'`processor_group`. Received: decoder={decoder!r}, '
                       f'processor_group={processor_group!r}')
    self.preprocessor = preprocessor
    self.encoder = encoder
    self.decoder = decoder
    self.processor_group = processor_group

  def encode(self, features, training=False):
    """Features -> features plus the preprocessor's and encoder's outputs."""
    features = dict(features)
    if self.preprocessor is not None:
      features.update(self.preprocessor(features, training=training))
    if self.encoder is not None:
      features.update(self.encoder(features, training=training))
    return features

  def decode(self, features, training=False):
    """Features (with the decoder's inputs) -> audio [batch, n_samples]."""
    controls = self.decoder(features, training=training)
    return self.processor_group(dict(features, **controls))

  def get_outputs(self, features, training=False):
    features = self.encode(features, training=training)
    features.update(self.decoder(features, training=training))
    group_out = self.processor_group(features, return_outputs_dict=True)
    # The group's outputs start from its inputs (the features).
    outputs = dict(group_out['controls'])
    outputs['audio_synth'] = group_out['signal']
    return outputs

  def get_audio_from_outputs(self, outputs):
    return outputs['audio_synth']

  def get_config(self):
    config = super().get_config()
    serialize = keras.saving.serialize_keras_object
    config.update(
        preprocessor=serialize(self.preprocessor),
        encoder=serialize(self.encoder), decoder=serialize(self.decoder),
        processor_group=serialize(self.processor_group),
        losses=[serialize(l) for l in self.loss_objs])
    return config

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    deserialize = keras.saving.deserialize_keras_object
    for key in ('preprocessor', 'encoder', 'decoder', 'processor_group'):
      config[key] = deserialize(config[key])
    config['losses'] = [deserialize(l) for l in config.get('losses') or []]
    return cls(**config)
