"""InverseSynthesis: self-supervised pitch by inverting a synthesizer.

EXPERIMENTAL, as published (the DDSP-inv model of "Self-supervised Pitch
Detection by Inverse Audio Synthesis", ICML 2020 SAS workshop). A hierarchy of
encoders inverts audio into synth controls:

    audio -> sinusoidal encoder -> free sinusoids + filtered noise -> audio
          -> harmonic encoder  -> f0, amplitude, harmonic distribution
                               -> harmonic sinusoids + noise -> audio

Trained on synthetic notes (`data.SyntheticNotes`, whose controls are known),
the consistency losses between the predicted and the true controls teach the
encoders; on real audio (fine-tuning, `data.ZippedProvider` of synthetic and
real data) the audio reconstruction and sinusoidal/harmonic consistency
losses keep them consistent. The pitch prediction is `outputs['f0_hz']`.
"""

import functools

import keras
import tensorflow as tf

from ddsp import core
from ddsp import effects
from ddsp import processors
from ddsp import registration
from ddsp import synths
from ddsp.training import nn
from ddsp.training.models import model as model_lib

# Keys of the synthetic-notes features (data.SyntheticNotes).
_SYNTHETIC_KEYS = ('sin_amps', 'sin_freqs', 'noise_magnitudes', 'harm_amp',
                   'harm_dist', 'f0_hz')


def _is_synthetic(features):
  return isinstance(features, dict) and 'sin_amps' in features


@registration.register('ddsp.training.models')
class InverseSynthesis(model_lib.Model):
  """Inverse synthesis model (DDSP-inv), EXPERIMENTAL.

  The processor group is built here: a `synths.Sinusoidal` and a
  `synths.FilteredNoise` (both taking scaled controls) added, then optionally
  a trainable `effects.FilteredNoiseReverb` (2 s).

  Calling it on a feature dict returns the outputs dict:

  - 'audio': [batch, n_samples] the input audio (rendered from the controls
    for synthetic notes).
  - 'sin_amps', 'sin_freqs': [batch, n_frames, n_sinusoids] the predicted
    sinusoids (linear; Hz); 'noise_magnitudes' [batch, n_frames, n_bands];
    'sin_audio' [batch, n_samples] their audio.
  - with a harmonic encoder: 'f0_hz', 'harm_amp' [batch, n_frames, 1],
    'harm_dist' [batch, n_frames, n_harmonics], 'harm_freqs', 'harm_amps'
    (the harmonics as sinusoids) and 'harm_audio'.

  Features are either audio ({'audio': [batch, n_samples], ...}), synthetic
  notes (the dict of `data.SyntheticNotes`, frames equal to the encoder's),
  or a pair of both (from `data.ZippedProvider`, either order): the batches
  are concatenated for one pass, the outputs returned are those of the audio.

  Losses (`return_losses=True`), each named after its loss object:
  'sin_<loss>' and 'harm_<loss>' (audio losses against the input audio),
  the sinusoidal consistency losses between sinusoids and harmonics, the TWM
  loss and the harmonic distribution prior, and for synthetic notes the
  self-supervised 'ss_<loss>' against the true controls; 'total_loss' sums
  them.

  Args:
    sinusoidal_encoder: a DictLayer, audio features -> raw 'frequencies'
      (n_sinusoids * depth logits), 'amplitudes', 'noise_magnitudes' (e.g.
      `encoders.ResnetSinusoidalEncoder`).
    harmonic_encoder: a DictLayer, ('sin_freqs', 'sin_amps') -> 'harm_amp',
      'harm_dist', 'f0_hz' (e.g. `encoders.SinusoidalToHarmonicEncoder`), or
      None for a sinusoidal model only.
    losses: audio losses (e.g. `losses.SpectralLoss`).
    sinusoidal_consistency_losses: losses of (amps, freqs, amps_target,
      freqs_target), e.g. `losses.KDEConsistencyLoss`.
    harmonic_consistency_losses: `losses.HarmonicConsistencyLoss` (or losses
      of (amp, f0, amp_target, f0_target)).
    filtered_noise_consistency_loss: e.g.
      `losses.FilteredNoiseConsistencyLoss`, or None.
    twm_loss: a `losses.TWMLoss` between f0 (or the sinusoids) and the
      sinusoids, or None.
    harmonic_distribution_prior: a loss of 'harm_dist', or None.
    freq_scale_fn: raw frequencies -> Hz; None: `core.frequencies_softmax`
      with depth 64 (20 Hz to 8 kHz).
    reverb: bool, add a trainable FilteredNoiseReverb.
    n_samples: int, samples of the synthesized audio (64000 = 4 s).
    sample_rate: int, Hz.
    stop_gradient: bool, the harmonic encoder and the consistency losses do
      not propagate into the sinusoidal encoder.
    **kwargs: passed to `keras.Model` (name, ...).

  Example:
    >>> from ddsp.training import encoders, nn
    >>> from ddsp.training.data_preparation import synthetic_data
    >>> import ddsp
    >>> logmel = functools.partial(ddsp.spectral_ops.compute_logmel,
    ...                            bins=32, fft_size=512, overlap=0.5)
    >>> model = InverseSynthesis(
    ...     sinusoidal_encoder=encoders.ResnetSinusoidalEncoder(
    ...         output_splits=(('frequencies', 4 * 64), ('amplitudes', 4),
    ...                        ('noise_magnitudes', 5)), spectral_fn=logmel),
    ...     harmonic_encoder=encoders.SinusoidalToHarmonicEncoder(
    ...         net=nn.FcStack(8, 1), n_harmonics=4),
    ...     harmonic_consistency_losses=ddsp.losses.HarmonicConsistencyLoss(),
    ...     reverb=False, n_samples=2048)
    >>> notes = synthetic_data.generate_notes_v2(
    ...     n_batch=1, n_timesteps=8, n_harmonics=4, n_mags=5, seed=0)
    >>> outputs, losses = model(notes, return_losses=True)
    >>> outputs['f0_hz'].shape, sorted(losses)
    (TensorShape([1, 8, 1]), ['ss_harmonic_consistency_loss', 'total_loss'])
  """

  def __init__(self,
               sinusoidal_encoder=None,
               harmonic_encoder=None,
               losses=None,
               sinusoidal_consistency_losses=None,
               harmonic_consistency_losses=None,
               filtered_noise_consistency_loss=None,
               twm_loss=None,
               harmonic_distribution_prior=None,
               freq_scale_fn=None,
               reverb=True,
               n_samples=64000,
               sample_rate=16000,
               stop_gradient=True,
               **kwargs):
    super().__init__(losses=losses, **kwargs)
    for name, layer in (('sinusoidal_encoder', sinusoidal_encoder),
                        ('harmonic_encoder', harmonic_encoder)):
      if layer is not None and not isinstance(layer, keras.layers.Layer):
        raise TypeError(f'`{name}` must be a Keras layer or None. Received: '
                        f'{name}={layer!r}')
    self.sinusoidal_encoder = sinusoidal_encoder
    self.harmonic_encoder = harmonic_encoder
    self.sinusoidal_consistency_losses = nn.track_layers(
        self, 'sinusoidal_consistency_loss',
        core.make_iterable(sinusoidal_consistency_losses))
    self.harmonic_consistency_losses = nn.track_layers(
        self, 'harmonic_consistency_loss',
        core.make_iterable(harmonic_consistency_losses))
    self.filtered_noise_consistency_loss = filtered_noise_consistency_loss
    self.twm_loss = twm_loss
    self.harmonic_distribution_prior = harmonic_distribution_prior
    self.stop_gradient = bool(stop_gradient)
    self._use_reverb = bool(reverb)
    self.n_samples = n_samples
    self.sample_rate = sample_rate
    self._freq_scale_fn_arg = processors.deserialize_fn(freq_scale_fn)
    self.freq_scale_fn = self._freq_scale_fn_arg or functools.partial(
        core.frequencies_softmax, depth=64)
    self.amps_scale_fn = core.exp_sigmoid

    # The processor group takes controls already scaled.
    self.sinusoidal_synth = synths.Sinusoidal(
        n_samples=n_samples, sample_rate=sample_rate, amp_scale_fn=None,
        freq_scale_fn=None, name='sinusoidal')
    self.filtered_noise_synth = synths.FilteredNoise(
        n_samples=n_samples, window_size=0, scale_fn=None, initial_bias=0.0,
        sample_rate=sample_rate, name='filtered_noise')
    dag = [(self.sinusoidal_synth, ['amplitudes', 'frequencies']),
           (self.filtered_noise_synth, ['noise_magnitudes']),
           (processors.Add(), ['filtered_noise/signal', 'sinusoidal/signal'])]
    # As published, `reverb` is the reverb layer (None without one).
    self.reverb = None
    if self._use_reverb:
      self.reverb = effects.FilteredNoiseReverb(
          reverb_length=int(sample_rate * 2), window_size=257, n_frames=500,
          n_filter_banks=16, trainable=True, name='reverb')
      dag.append((self.reverb, ['add/signal']))
    self.processor_group = processors.ProcessorGroup(dag=dag)

  @property
  def audio_loss_objs(self):
    """The audio losses (the published attribute name of `loss_objs`)."""
    return self.loss_objs

  # --------------------------------------------------------------------------
  # Forward pass.
  # --------------------------------------------------------------------------
  def generate_synthetic_audio(self, features):
    """Renders synthetic notes' controls ('sin_amps', 'sin_freqs', ...)."""
    return self.processor_group({
        'amplitudes': features['sin_amps'],
        'frequencies': features['sin_freqs'],
        'noise_magnitudes': features['noise_magnitudes']})

  def parse_zipped_features(self, features):
    """(audio features, synthetic features) from a pair in either order."""
    if len(features) != 2:
      raise ValueError('Zipped features must be a pair (audio features, '
                       f'synthetic notes). Received {len(features)} dicts.')
    synthetic = int(_is_synthetic(features[1]))
    if _is_synthetic(features[1 - synthetic]) or not _is_synthetic(
        features[synthetic]):
      raise ValueError('Zipped features must hold one dict of synthetic '
                       "notes (with 'sin_amps') and one of audio features.")
    return features[1 - synthetic], features[synthetic]

  def get_audio_from_outputs(self, outputs):
    return (outputs['sin_audio'] if self.harmonic_encoder is None else
            outputs['harm_audio'])

  def _check_encoder(self):
    if self.sinusoidal_encoder is None:
      raise ValueError('InverseSynthesis needs a `sinusoidal_encoder` (e.g. '
                       'encoders.ResnetSinusoidalEncoder). Received: '
                       'sinusoidal_encoder=None')

  def forward(self, features, training=False):
    """Audio features -> outputs dict (no losses)."""
    self._check_encoder()
    audio = features['audio']
    raw = self.sinusoidal_encoder(features, training=training)
    sin_freqs = self.freq_scale_fn(raw['frequencies'])
    sin_amps = self.amps_scale_fn(raw['amplitudes'])
    noise_magnitudes = self.amps_scale_fn(raw['noise_magnitudes'])
    controls = {'amplitudes': sin_amps, 'frequencies': sin_freqs,
                'noise_magnitudes': noise_magnitudes}
    outputs = {'audio': audio, 'noise_magnitudes': noise_magnitudes,
               'sin_amps': sin_amps, 'sin_freqs': sin_freqs,
               'sin_audio': self.processor_group(controls)}
    if self.harmonic_encoder is None:
      return outputs

    if self.stop_gradient:
      sin_freqs = tf.stop_gradient(sin_freqs)
      sin_amps = tf.stop_gradient(sin_amps)
      noise_magnitudes = tf.stop_gradient(noise_magnitudes)
    harmonic = self.harmonic_encoder(
        {'sin_freqs': sin_freqs, 'sin_amps': sin_amps}, training=training)
    harm_amp, harm_dist, f0_hz = (harmonic[k] for k in
                                  ('harm_amp', 'harm_dist', 'f0_hz'))
    harm_freqs = core.get_harmonic_frequencies(f0_hz, int(harm_dist.shape[-1]))
    harm_amps = harm_amp * harm_dist
    outputs.update({
        'harm_audio': self.processor_group({
            'amplitudes': harm_amps, 'frequencies': harm_freqs,
            'noise_magnitudes': noise_magnitudes}),
        'harm_amp': harm_amp, 'harm_dist': harm_dist, 'f0_hz': f0_hz,
        'harm_freqs': harm_freqs, 'harm_amps': harm_amps})
    return outputs

  def _with_audio(self, synthetic):
    synthetic = dict(synthetic)
    missing = [k for k in ('sin_amps', 'sin_freqs', 'noise_magnitudes')
               if k not in synthetic]
    if missing:
      raise ValueError(f'Synthetic notes lack {missing}; they have '
                       f'{sorted(synthetic)} (data.SyntheticNotes gives '
                       f'{list(_SYNTHETIC_KEYS)}).')
    synthetic['audio'] = tf.stop_gradient(
        self.generate_synthetic_audio(synthetic))
    return synthetic

  def _run(self, features, training, with_losses):
    """(outputs, losses or None) for any of the three kinds of features."""
    losses = {} if with_losses else None
    if isinstance(features, (list, tuple)):
      audio_features, synthetic = self.parse_zipped_features(features)
      synthetic = self._with_audio(synthetic)
      batch_size = int(audio_features['audio'].shape[0])
      both = self.forward({'audio': tf.concat(
          [audio_features['audio'], synthetic['audio']], axis=0)}, training)
      outputs = {k: v[:batch_size] for k, v in both.items()}
      ss_outputs = {k: v[batch_size:] for k, v in both.items()}
      if with_losses:
        self._add_losses(losses, outputs)
        self._add_losses(losses, ss_outputs, synthetic)
    elif _is_synthetic(features):
      synthetic = self._with_audio(features)
      outputs = self.forward(synthetic, training)
      if with_losses:
        self._add_losses(losses, outputs)
        self._add_losses(losses, outputs, synthetic)
    else:
      outputs = self.forward(features, training)
      if with_losses:
        self._add_losses(losses, outputs)
    return outputs, losses

  def get_outputs(self, features, training=False):
    return self._run(features, training, with_losses=False)[0]

  def call(self, features, training=False, return_losses=False):
    """Runs the model (see the class docstring).

    Args:
      features: a dict of audio features, a dict of synthetic notes, or a
        pair of both.
      training: training mode of the sub-layers.
      return_losses: also return the losses dict (with 'total_loss').

    Returns:
      The outputs dict, or (outputs, losses).
    """
    outputs, losses = self._run(features, training, return_losses)
    if not return_losses:
      return outputs
    losses['total_loss'] = (tf.add_n(list(losses.values())) if losses
                            else tf.constant(0.0))
    return outputs, losses

  # --------------------------------------------------------------------------
  # Losses.
  # --------------------------------------------------------------------------
  @staticmethod
  def _put(losses, name, value):
    if name in losses:
      raise ValueError(f'Two losses are named {name!r}; give the loss '
                       'objects different names.')
    losses[name] = value

  def _add_losses(self, losses, o, f=None):
    """Adds the losses of outputs `o` (and true synthetic controls `f`)."""
    if f is None:
      for loss_obj in self.loss_objs:
        self._put(losses, f'sin_{loss_obj.name}',
                  loss_obj(o['audio'], o['sin_audio']))
      if self.harmonic_encoder is not None:
        if self.harmonic_distribution_prior is not None:
          prior = self.harmonic_distribution_prior
          self._put(losses, prior.name, prior(o['harm_dist']))
        for loss_obj in self.loss_objs:
          self._put(losses, f'harm_{loss_obj.name}',
                    loss_obj(o['audio'], o['harm_audio']))
        sin_amps, sin_freqs = o['sin_amps'], o['sin_freqs']
        if self.stop_gradient:
          # Harmonic errors do not reach the sinusoidal predictions.
          sin_amps = tf.stop_gradient(sin_amps)
          sin_freqs = tf.stop_gradient(sin_freqs)
        for loss_obj in self.sinusoidal_consistency_losses:
          self._put(losses, loss_obj.name, loss_obj(
              sin_amps, sin_freqs, o['harm_amps'], o['harm_freqs']))
      if self.twm_loss is not None:
        f0 = o['sin_freqs'] if self.harmonic_encoder is None else o['f0_hz']
        self._put(losses, self.twm_loss.name,
                  self.twm_loss(f0, o['sin_freqs'], o['sin_amps']))
      return

    # Self-supervision by the true controls of synthetic notes.
    _check_frames(o['sin_amps'], f['sin_amps'])
    for loss_obj in self.sinusoidal_consistency_losses:
      self._put(losses, f'ss_{loss_obj.name}', loss_obj(
          o['sin_amps'], o['sin_freqs'], f['sin_amps'], f['sin_freqs']))
    noise_loss = self.filtered_noise_consistency_loss
    if noise_loss is not None:
      self._put(losses, f'ss_{noise_loss.name}',
                noise_loss(o['noise_magnitudes'], f['noise_magnitudes']))
    if self.harmonic_encoder is None:
      return
    # Local import: the losses package imports nothing from training.
    from ddsp import losses as ddsp_losses  # pylint: disable=g-import-not-at-top
    for loss_obj in self.harmonic_consistency_losses:
      if isinstance(loss_obj, ddsp_losses.HarmonicConsistencyLoss):
        value = loss_obj(o['harm_amp'], f['harm_amp'], o['harm_dist'],
                         f['harm_dist'], o['f0_hz'], f['f0_hz'])
        self._put(losses, f'ss_{loss_obj.name}', value)
      else:
        self._put(losses, f'ss_harm_{loss_obj.name}', loss_obj(
            o['harm_amp'], o['f0_hz'], f['harm_amp'], f['f0_hz']))

  # --------------------------------------------------------------------------
  # Config.
  # --------------------------------------------------------------------------
  def get_config(self):
    config = super().get_config()
    ser = keras.saving.serialize_keras_object
    config.update(
        sinusoidal_encoder=ser(self.sinusoidal_encoder),
        harmonic_encoder=ser(self.harmonic_encoder),
        losses=[ser(l) for l in self.loss_objs],
        sinusoidal_consistency_losses=[
            ser(l) for l in self.sinusoidal_consistency_losses],
        harmonic_consistency_losses=[
            ser(l) for l in self.harmonic_consistency_losses],
        filtered_noise_consistency_loss=ser(
            self.filtered_noise_consistency_loss),
        twm_loss=ser(self.twm_loss),
        harmonic_distribution_prior=ser(self.harmonic_distribution_prior),
        freq_scale_fn=processors.serialize_fn(self._freq_scale_fn_arg),
        reverb=self._use_reverb, n_samples=self.n_samples,
        sample_rate=self.sample_rate, stop_gradient=self.stop_gradient)
    return config

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    de = keras.saving.deserialize_keras_object
    for key in ('sinusoidal_encoder', 'harmonic_encoder',
                'filtered_noise_consistency_loss', 'twm_loss',
                'harmonic_distribution_prior'):
      config[key] = de(config.get(key))
    for key in ('losses', 'sinusoidal_consistency_losses',
                'harmonic_consistency_losses'):
      config[key] = [de(l) for l in config.get(key) or []]
    return cls(**config)


def _check_frames(predicted, target):
  """Raises unless predicted and true controls have the same frames."""
  n_pred, n_true = predicted.shape[1], target.shape[1]
  if n_pred is not None and n_true is not None and n_pred != n_true:
    raise ValueError(
        f'The encoder predicts {n_pred} frames but the synthetic notes have '
        f'{n_true} (n_timesteps): make SyntheticNotes.n_timesteps equal to '
        'the frames of the sinusoidal encoder (e.g. 125 for 4 s with a hop '
        'of 512 samples).')
