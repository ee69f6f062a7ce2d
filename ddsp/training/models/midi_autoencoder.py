"""MidiAutoencoder: an autoencoder with a note-level (MIDI) bottleneck.

Two stacked autoencoders (the published research model, experimental):

    audio -> (f0, loudness) -> synthcoder -> synth params -> DDSP synth
                                   |                        -> 'synth_audio'
                                   v  (stop gradient)
              synth params -> MIDI encoder -> pitch -> integer quantization
                                                        -> 'q_pitch'
              'q_pitch' -> MIDI decoder -> synth params -> DDSP synth
                                                        -> 'midi_audio'

* The synthcoder branch is the DDSP autoencoder of the ICLR 2020 paper: a
  decoder network maps f0 and loudness to harmonic amplitudes, harmonic
  distribution and noise magnitudes for a Harmonic + FilteredNoise (+
  trainable FilteredNoiseReverb) synthesizer.
* The MIDI branch encodes those synth params (amplitudes and noise in dB)
  with the f0 (MIDI) into an unquantized pitch 'z_pitch', rounds it with a
  straight-through estimator to 'q_pitch' (the note-level latent; its
  one-hot is 'pianoroll'), and decodes it back to synth params. Without a
  MIDI encoder the dataset's notes ('note_active_velocities') are the
  latent.
* Losses (`reconstruction_losses`, a LossGroup over the outputs) compare
  the synthcoder's audio with the input and the MIDI branch's synth params
  and f0 with the synthcoder's; optional closeness and slowness losses
  shape the pitch latent (`nn.get_short_note_loss_mask` for notes shorter
  than 40 frames).

`ZMidiAutoencoder` adds latents beside the pitch (instrument, expression,
per-note). Gin: `models/midiae/midiae.gin`, `models/midiae/z_midiae.gin`
(+ `models/midiae/mixins/midi_encoder.gin` for a learned MIDI encoder);
evaluation `eval/midi_ae.gin`.
"""

import keras
import tensorflow as tf

from ddsp import core
from ddsp import effects
from ddsp import processors
from ddsp import registration
from ddsp import synths
from ddsp.training import nn
from ddsp.training import preprocessing
from ddsp.training.models import model as model_lib

_SERIALIZED = ('synthcoder', 'midi_encoder', 'midi_decoder', 'preprocessor',
               'reconstruction_losses', 'qpitch_f0rec_loss',
               'pitch_f0rec_loss', 'pitch_qpitch_loss', 'midi_slowness_loss')


@registration.register('ddsp.training.models')
class MidiAutoencoder(model_lib.Model):
  """Autoencoder with a quantized MIDI pitch at its bottleneck.

  Args:
    synthcoder: a DictLayer mapping the preprocessed features ('f0_scaled',
      'ld_scaled', ...) to 'amplitudes' [b, t, 1], 'harmonic_distribution'
      [b, t, n_harmonics] and 'magnitudes' [b, t, n_noise] (raw), e.g.
      `decoders.DilatedConvDecoder`.
    midi_encoder: a layer `(f0_midi, amps_db, hd, noise_db) -> {'z_pitch',
      'z_vel'}` ([b, t, 1] each), e.g. `encoders.HarmonicToMidiEncoder`; None
      uses the dataset's notes ('note_active_velocities' [b, t, 128]).
    midi_decoder: a layer `(q_pitch, q_vel[, z]) -> {'f0_midi', 'f0_hz',
      'amplitudes', 'harmonic_distribution', 'magnitudes'}`, e.g.
      `decoders.MidiToHarmonicDecoder`; None skips the MIDI branch.
    sg_before_midiae: stop the gradient of the synth params into the MIDI
      encoder.
    reverb: add a trainable `FilteredNoiseReverb` (24000 samples = 1.5 s at
      16 kHz, 500 frames, 32 bands) after the synths.
    preprocessor: e.g. `preprocessing.F0LoudnessPreprocessor`
      (`F0PowerPreprocessor` makes the loudness key 'power_db').
    reconstruction_losses: a `losses.LossGroup` over the outputs dict (see
      `models/midiae/mixins/recon_lossgroup.gin`).
    qpitch_f0rec_loss: loss object on |f0_midi_pred - q_pitch|, or None.
    pitch_f0rec_loss: loss object on |z_pitch - f0_midi_pred|, or None.
    pitch_qpitch_loss: loss object `(z_pitch, q_pitch)`, or None.
    midi_slowness_loss: loss object `(z_pitch, mask)` on short notes, or
      None.
    mask_f0_loss: with dataset notes, weight the f0 loss 0 where the f0 is
      2 semitones or more from the note ('f0_loss_weights').
    **kwargs: passed to `keras.Model` (name, ...).

  Calling it returns the outputs dict: the features (preprocessed, plus
  'f0_midi' and 'db'), the synthcoder's processor-group outputs
  ('harmonic', 'filtered_noise', ...), 'synth_audio' and 'midi_audio'
  [b, n_samples], 'synth_params' and 'midi_synth_params' (nested dicts),
  'q_pitch', 'q_vel', 'z_pitch' [b, t, 1], 'pianoroll' [b, t, 128],
  'f0_midi_pred' and 'f0_hz_pred' [b, t, 1], 'amps', 'hd', 'noise' and
  their '_pred' (MIDI branch) versions, 'f0_loss_weights' and
  '<db_key>_pred'. With `return_losses=True` also the losses dict (each
  term, 'total_loss' their sum).
  """

  def __init__(self, synthcoder=None, midi_encoder=None, midi_decoder=None,
               sg_before_midiae=True, reverb=True, preprocessor=None,
               reconstruction_losses=None, qpitch_f0rec_loss=None,
               pitch_f0rec_loss=None, pitch_qpitch_loss=None,
               midi_slowness_loss=None, mask_f0_loss=True, **kwargs):
    super().__init__(**kwargs)
    self.synthcoder = synthcoder
    self.midi_encoder = midi_encoder
    self.midi_decoder = midi_decoder
    self.reconstruction_losses = reconstruction_losses
    self.mask_f0_loss = bool(mask_f0_loss)
    self.qpitch_f0rec_loss = qpitch_f0rec_loss
    self.pitch_f0rec_loss = pitch_f0rec_loss
    self.pitch_qpitch_loss = pitch_qpitch_loss
    self.slowness_loss = midi_slowness_loss
    self.sg_before_midiae = bool(sg_before_midiae)
    self.reverb = bool(reverb)
    self.preprocessor = preprocessor
    self.db_key = ('power_db' if isinstance(
        preprocessor, preprocessing.F0PowerPreprocessor) else 'loudness_db')
    dag = [
        (synths.Harmonic(), ['amplitudes', 'harmonic_distribution', 'f0_hz']),
        (synths.FilteredNoise(), ['magnitudes']),
        (processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
    ]
    if reverb:
      dag.append((effects.FilteredNoiseReverb(
          trainable=True, reverb_length=24000, n_frames=500,
          n_filter_banks=32, name='reverb'), ['add/signal']))
    self.processor_group = processors.ProcessorGroup(dag=dag)
    self._losses_dict = {}

  # ----------------------------------------------------------------------------
  # Losses.
  # ----------------------------------------------------------------------------
  def _update_losses_dict(self, loss_objs, *args, **kwargs):
    """Adds the `get_losses_dict(*args)` terms of each loss object."""
    for loss_obj in core.make_iterable(loss_objs):
      if loss_obj is None:
        continue
      if hasattr(loss_obj, 'get_losses_dict'):
        terms = loss_obj.get_losses_dict(*args, **kwargs)
      else:
        terms = {getattr(loss_obj, 'name', type(loss_obj).__name__):
                 loss_obj(*args, **kwargs)}
      self._losses_dict.update(terms)

  def add_closeness_loss(self, loss_obj, f0, pitch, tag=''):
    """Applies `loss_obj` to |f0 - pitch| (both MIDI)."""
    del tag
    if loss_obj is not None:
      self._update_losses_dict(loss_obj, tf.abs(pitch - f0))

  def add_slowness_loss(self, loss_obj, z_pitch, q_pitch, tag=''):
    """Applies `loss_obj(z_pitch, mask)` on notes shorter than 40 frames."""
    if loss_obj is None:
      return
    note_mask = nn.get_note_mask(q_pitch, note_on_only=False)
    note_lengths = nn.get_note_lengths(note_mask)
    note_pitches = nn.get_note_moments(q_pitch, note_mask, return_std=False)
    loss_mask = nn.get_short_note_loss_mask(
        note_mask, note_lengths[..., 0], note_pitches[..., 0], min_length=40)
    name = getattr(loss_obj, 'name', 'slowness_loss')
    self._losses_dict[f'{name}{tag}'] = loss_obj(z_pitch, loss_mask)

  def add_zpitch_losses(self, z_pitch, q_pitch, f0_midi_pred):
    """The pitch encoder's losses (when there is an encoder)."""
    if z_pitch is not None:
      self.add_slowness_loss(self.slowness_loss, z_pitch, q_pitch)
      self._update_losses_dict(self.pitch_qpitch_loss, z_pitch, q_pitch)
      self.add_closeness_loss(self.pitch_f0rec_loss, f0_midi_pred, z_pitch)

  # ----------------------------------------------------------------------------
  # Pieces.
  # ----------------------------------------------------------------------------
  def encode_to_midi(self, *args):
    """(f0_midi, amps, hd, noise) -> z_pitch, q_pitch, z_vel, q_vel.

    The velocity is not used yet (zeros), as published.
    """
    if self.sg_before_midiae:
      args = [tf.stop_gradient(arg) for arg in args]
    encoded = self.midi_encoder(*args)
    z_pitch, z_vel = (encoded['z_pitch'], encoded['z_vel'])
    q_pitch = nn.straight_through_int_quantization(z_pitch)
    z_vel = z_vel * 0.0
    return z_pitch, q_pitch, z_vel, z_vel

  def synthesize_audio(self, f0_hz, db, z=None, training=False,
                       return_params=False):
    """Runs the preprocessor, synthcoder and processor group on f0 and dB."""
    features = {'f0_hz': f0_hz, self.db_key: db}
    if z is not None:
      features['z'] = z
    features.update(self.preprocessor(features, training=training))
    features.update(self.synthcoder(features, training=training))
    synth_params = self.processor_group.get_controls(features)
    audio = self.processor_group.get_signal(synth_params)
    return (audio, synth_params) if return_params else audio

  @staticmethod
  def extract_harm_controls(synth_params, log_scale=True, stop_gradient=False):
    """(amps, hd, noise) of the processor group's outputs (amps, noise in dB
    with `log_scale`)."""
    amps = synth_params['harmonic']['controls']['amplitudes']
    hd = synth_params['harmonic']['controls']['harmonic_distribution']
    noise = synth_params['filtered_noise']['controls']['magnitudes']
    if log_scale:
      amps = core.amplitude_to_db(amps, use_tf=True)
      noise = core.amplitude_to_db(noise, use_tf=True)
    if stop_gradient:
      amps, hd, noise = (tf.stop_gradient(x) for x in (amps, hd, noise))
    return amps, hd, noise

  @staticmethod
  def pianoroll_to_midi(pianoroll):
    """Monophonic piano roll [b, t, 128] -> (pitch, velocity) [b, t, 1]."""
    notes = tf.cast(tf.argmax(pianoroll, axis=-1), tf.float32)[..., tf.newaxis]
    velocities = tf.reduce_max(pianoroll, axis=-1)[..., tf.newaxis]
    return notes, tf.cast(velocities, tf.float32)

  @staticmethod
  def midi_to_pianoroll(q_pitch, q_vel, piano_keys=128, thresh=20.0):
    """Quantized pitch [b, t, 1] -> one-hot piano roll [b, t, piano_keys].

    Frames whose pitch is at or below `thresh` (MIDI) are silent: all zeros
    (the published code marked them as notes of pitch 0). The velocity is
    ignored (single-note melodies), as published.
    """
    del q_vel
    midi = tf.round(tf.convert_to_tensor(q_pitch)[..., 0])
    index = tf.cast(midi, tf.int32)
    index = tf.where(midi > max(thresh, 0.0), index, -1)  # -1: all zeros.
    return tf.one_hot(index, piano_keys)

  def midi_to_audio(self, q_pitch, q_vel, z=None, return_synth_params=False):
    """Decodes MIDI to audio with the MIDI decoder and the processor group."""
    pg_in = self.midi_decoder(q_pitch, q_vel, z)
    midi_synth_params = self.processor_group.get_controls(pg_in)
    midi_audio = self.processor_group.get_signal(midi_synth_params)
    return ((midi_audio, midi_synth_params) if return_synth_params
            else midi_audio)

  def get_audio_from_outputs(self, outputs):
    """The synthcoder's audio (the MIDI branch's without a MIDI decoder)."""
    return (outputs['midi_audio'] if self.midi_decoder is None else
            outputs['synth_audio'])

  def preprocess(self, features, training=False):
    """Runs the preprocessor; adds 'f0_midi' and 'db' to `features`."""
    features = dict(features)
    features.update(self.preprocessor(features, training=training))
    features['f0_midi'] = core.hz_to_midi(features['f0_hz'])
    features['db'] = features[self.db_key]
    return features

  def synthcoder_branch(self, features, training=True, z=None):
    """(synth_audio, synth_params) of the synthcoder branch."""
    return self.synthesize_audio(features['f0_hz'], features['db'], z=z,
                                 training=training, return_params=True)

  def get_gt_midi(self, features):
    """The dataset's notes as (q_pitch, q_vel, f0_loss_weights)."""
    if 'note_active_velocities' not in features:
      raise ValueError(
          "Without a midi_encoder the MidiAutoencoder reads the notes from "
          "features['note_active_velocities'] ([batch, n_frames, 128]); the "
          f'features have keys {sorted(features)}.')
    q_pitch, q_vel = self.pianoroll_to_midi(
        features['note_active_velocities'])
    q_vel *= 0.0  # Velocities are not used yet, as published.
    f0_loss_weights = None
    if self.mask_f0_loss:
      f0_loss_weights = tf.cast(
          tf.abs(features['f0_midi'] - q_pitch) < 2.0, tf.float32)
    return q_pitch, q_vel, f0_loss_weights

  # ----------------------------------------------------------------------------
  # Forward pass.
  # ----------------------------------------------------------------------------
  def call(self, features, training=False, return_losses=False):
    """Runs both branches.

    Args:
      features: dict with 'audio' [b, n_samples], 'f0_hz' and 'loudness_db'
        (or 'power_db') [b, n_frames(, 1)], and 'note_active_velocities'
        [b, n_frames, 128] without a MIDI encoder.
      training: training mode of the sub-layers.
      return_losses: also return the losses dict.

    Returns:
      The outputs dict (see the class doc), or (outputs, losses).
    """
    self._losses_dict = {}
    outputs = self.get_outputs(features, training=training)
    if not return_losses:
      return outputs
    if self.reconstruction_losses is not None:
      self._losses_dict.update(self.reconstruction_losses(outputs))
    losses = dict(self._losses_dict)
    losses['total_loss'] = (tf.add_n(list(losses.values())) if losses
                            else tf.constant(0.0))
    return outputs, losses

  def get_outputs(self, features, training=False):
    if self.synthcoder is None or self.preprocessor is None:
      raise ValueError(
          'A MidiAutoencoder needs a `synthcoder` and a `preprocessor`. '
          f'Received: synthcoder={self.synthcoder!r}, '
          f'preprocessor={self.preprocessor!r}')
    features = self.preprocess(features, training=training)
    synth_audio, synth_params = self.synthcoder_branch(
        features, training, z=self.z_synth_encode(features, training))
    amps, hd, noise = self.extract_harm_controls(synth_params)
    self.add_synth_params_features(features, amps, hd, noise)
    outputs = self._midi_branch(features, synth_params, amps, hd, noise,
                                training)
    outputs.update(synth_audio=synth_audio, synth_params=synth_params,
                   amps=amps, hd=hd, noise=noise)
    outputs[f'{self.db_key}_pred'] = features['db']
    outputs = {k: v for k, v in outputs.items() if v is not None}
    outputs.update({k: v for k, v in features.items() if k not in outputs})
    # The processors' outputs at the top level ('harmonic', 'reverb', ...);
    # the DAG's own 'inputs' and 'out' stay in 'synth_params' (a DAG over the
    # outputs, such as the loss group, reserves those keys).
    outputs.update({k: v for k, v in synth_params.items()
                    if k not in ('inputs', 'out')})
    return outputs

  # Hooks for the latents of ZMidiAutoencoder (none here).
  def z_synth_encode(self, features, training=False):
    """Latent 'z' of the synthcoder, or None."""
    del features, training
    return None

  def add_synth_params_features(self, features, amps, hd, noise):
    """Adds synth params to the features the latent encoders read."""
    del features, amps, hd, noise

  def midi_decoder_z(self, features, q_pitch, training=False):
    """(z for the MIDI decoder or None, dict of latents for the outputs)."""
    del features, q_pitch, training
    return None, {}

  def _midi_branch(self, features, synth_params, amps, hd, noise,
                   training=False):
    """MIDI encoding and decoding; the losses of the pitch latent."""
    z_pitch = None
    if self.midi_encoder is not None:
      f0_loss_weights = tf.ones_like(features['f0_midi'])
      z_pitch, q_pitch, _, q_vel = self.encode_to_midi(
          features['f0_midi'], amps, hd, noise)
    else:
      q_pitch, q_vel, f0_loss_weights = self.get_gt_midi(features)
    outputs = {'q_pitch': q_pitch, 'q_vel': q_vel, 'z_pitch': z_pitch,
               'pianoroll': self.midi_to_pianoroll(q_pitch, q_vel),
               'f0_loss_weights': f0_loss_weights}
    if self.midi_decoder is None:
      outputs.update(f0_midi_pred=q_pitch, midi_synth_params=synth_params,
                     midi_audio=self.processor_group.get_signal(synth_params))
    else:
      z, latents = self.midi_decoder_z(features, q_pitch, training)
      outputs.update(latents)
      pg_in = self.midi_decoder(q_pitch, q_vel, z)
      midi_synth_params = self.processor_group.get_controls(pg_in)
      amps_pred, hd_pred, noise_pred = self.extract_harm_controls(
          midi_synth_params)
      outputs.update(
          f0_midi_pred=pg_in['f0_midi'], midi_synth_params=midi_synth_params,
          midi_audio=self.processor_group.get_signal(midi_synth_params),
          amps_pred=amps_pred, hd_pred=hd_pred, noise_pred=noise_pred)
      self.add_zpitch_losses(z_pitch, q_pitch, outputs['f0_midi_pred'])
      self.add_closeness_loss(self.qpitch_f0rec_loss, outputs['f0_midi_pred'],
                              q_pitch)
    outputs['f0_hz_pred'] = core.midi_to_hz(outputs['f0_midi_pred'])
    return outputs

  # ----------------------------------------------------------------------------
  # Serialization.
  # ----------------------------------------------------------------------------
  def get_config(self):
    config = super().get_config()
    serialize = keras.saving.serialize_keras_object
    values = dict(zip(_SERIALIZED, (
        self.synthcoder, self.midi_encoder, self.midi_decoder,
        self.preprocessor, self.reconstruction_losses, self.qpitch_f0rec_loss,
        self.pitch_f0rec_loss, self.pitch_qpitch_loss, self.slowness_loss)))
    config.update({k: serialize(v) for k, v in values.items()})
    config.update(sg_before_midiae=self.sg_before_midiae, reverb=self.reverb,
                  mask_f0_loss=self.mask_f0_loss)
    return config

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    for key in _SERIALIZED:
      config[key] = keras.saving.deserialize_keras_object(config.get(key))
    return cls(**config)


_Z_SERIALIZED = ('z_synth_encoders', 'z_global_encoders', 'z_note_encoder',
                 'z_preconditioning_stack', 'z_global_prior', 'z_note_prior')


@registration.register('ddsp.training.models')
class ZMidiAutoencoder(MidiAutoencoder):
  """A MidiAutoencoder with latents beside the MIDI pitch.

  As `MidiAutoencoder`, plus:

  * `z_synth_encoders`: encoders (e.g. `encoders.OneHotEncoder`,
    `encoders.MfccTimeDistributedRnnEncoder`) whose 'z' outputs, concatenated,
    condition the synthcoder (its 'z' input).
  * `z_global_encoders`: encoders of the features (e.g. an instrument
    one-hot, an `ExpressionEncoder` pooled over time) whose 'z' outputs,
    concatenated, condition the MIDI decoder ('z_global').
  * `z_note_encoder`: an encoder whose 'z' is averaged over each note of the
    pitch latent (`nn.pool_over_notes`), a per-note latent ('z_notes')
    concatenated to the global one.
  * `z_preconditioning_stack`: a layer applied to that concatenation.
  * `z_global_prior`, `z_note_prior`: loss layers on the latents that also
    return the sampled latent (`layer.get_losses_dict(z)`, then `layer(z)`).

  The synthcoder's synth params are added to the features the encoders read
  as 'amps_scaled', 'hd_scaled', 'noise_scaled'.

  Args:
    z_synth_encoders, z_global_encoders: lists of encoder layers, or None.
    z_note_encoder, z_preconditioning_stack: layers, or None.
    z_global_prior, z_note_prior: loss layers, or None.
    Other arguments: see `MidiAutoencoder`.
  """

  def __init__(self, synthcoder=None, midi_encoder=None, midi_decoder=None,
               sg_before_midiae=True, reverb=True, preprocessor=None,
               reconstruction_losses=None, qpitch_f0rec_loss=None,
               pitch_f0rec_loss=None, pitch_qpitch_loss=None,
               midi_slowness_loss=None, mask_f0_loss=True,
               z_synth_encoders=None, z_global_encoders=None,
               z_note_encoder=None, z_preconditioning_stack=None,
               z_global_prior=None, z_note_prior=None, **kwargs):
    super().__init__(
        synthcoder=synthcoder, midi_encoder=midi_encoder,
        midi_decoder=midi_decoder, sg_before_midiae=sg_before_midiae,
        reverb=reverb, preprocessor=preprocessor,
        reconstruction_losses=reconstruction_losses,
        qpitch_f0rec_loss=qpitch_f0rec_loss,
        pitch_f0rec_loss=pitch_f0rec_loss,
        pitch_qpitch_loss=pitch_qpitch_loss,
        midi_slowness_loss=midi_slowness_loss, mask_f0_loss=mask_f0_loss,
        **kwargs)
    self.z_synth_encoders = (None if z_synth_encoders is None
                             else list(z_synth_encoders))
    self.z_global_encoders = (None if z_global_encoders is None
                              else list(z_global_encoders))
    self.z_note_encoder = z_note_encoder
    self.z_preconditioning_stack = z_preconditioning_stack
    self.z_global_prior = z_global_prior
    self.z_note_prior = z_note_prior

  @staticmethod
  def _encode_all(encoders_list, features, training):
    if not encoders_list:
      return None
    return tf.concat([encoder(features, training=training)['z']
                      for encoder in encoders_list], axis=-1)

  def z_synth_encode(self, features, training=False):
    return self._encode_all(self.z_synth_encoders, features, training)

  def z_global_encode(self, features, training=False):
    """Concatenated 'z' of the global encoders, or None."""
    return self._encode_all(self.z_global_encoders, features, training)

  def z_note_encode(self, features, q_pitch, training=False):
    """The note encoder's 'z' averaged over each note of `q_pitch`."""
    if self.z_note_encoder is None:
      return None
    z_notes = self.z_note_encoder(features, training=training)['z']
    note_mask = nn.get_note_mask(q_pitch)
    return nn.pool_over_notes(z_notes, note_mask, return_std=False)

  def add_synth_params_features(self, features, amps, hd, noise):
    features.update(amps_scaled=amps, hd_scaled=hd, noise_scaled=noise)

  def midi_decoder_z(self, features, q_pitch, training=False):
    z_global = self.z_global_encode(features, training)
    z_notes = self.z_note_encode(features, q_pitch, training)
    if self.z_global_prior is not None and z_global is not None:
      self._update_losses_dict(self.z_global_prior, z_global)
      z_global = self.z_global_prior(z_global)
    if self.z_note_prior is not None and z_notes is not None:
      self._update_losses_dict(self.z_note_prior, z_notes)
      z_notes = self.z_note_prior(z_notes)
    parts = [z for z in (z_global, z_notes) if z is not None]
    z = tf.concat(parts, axis=-1) if parts else None
    if self.z_preconditioning_stack is not None and z is not None:
      z = self.z_preconditioning_stack(z)
    return z, {'z_global': z_global, 'z_notes': z_notes}

  def get_config(self):
    config = super().get_config()
    serialize = keras.saving.serialize_keras_object
    for key in _Z_SERIALIZED:
      value = getattr(self, key)
      if isinstance(value, list):
        config[key] = [serialize(v) for v in value]
      else:
        config[key] = serialize(value)
    return config

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    deserialize = keras.saving.deserialize_keras_object
    for key in _Z_SERIALIZED:
      value = config.get(key)
      config[key] = ([deserialize(v) for v in value]
                     if isinstance(value, list) else deserialize(value))
    return super().from_config(config)
