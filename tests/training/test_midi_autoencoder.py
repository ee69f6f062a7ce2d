"""Tests of models.MidiAutoencoder: its latent against references, losses,
gradients, gin construction and its evaluator."""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp import losses
from ddsp.training import decoders
from ddsp.training import encoders
from ddsp.training import evaluators
from ddsp.training import gin as ddsp_gin
from ddsp.training import models
from ddsp.training import nn
from ddsp.training import preprocessing
import training_helpers as helpers  # tests/training/training_helpers.py

T, N = 64, 4096  # 0.256 s at 250 frames/s and 16 kHz.
N_HARMONICS, N_NOISE = 10, 9


@pytest.fixture(autouse=True)
def short_synths():
  gin.clear_config()
  with gin.unlock_config():
    gin.parse_config([f'Harmonic.n_samples = {N}',
                      f'FilteredNoise.n_samples = {N}'])
  yield
  gin.clear_config()


def _stack():
  return nn.DilatedConvStack(ch=8, layers_per_stack=2, stacks=1,
                             norm_type='layer', conditional=False)


def _model(midi_encoder=False, reverb=False):
  splits = (('amplitudes', 1), ('harmonic_distribution', N_HARMONICS),
            ('magnitudes', N_NOISE))
  recon = losses.LossGroup(dag=[
      (losses.SpectralLoss(fft_sizes=(256, 64), logmag_weight=1.0,
                           name='spectral_loss_synth'),
       ['audio', 'synth_audio']),
      (losses.ParamLoss(weight=50.0, loss_type='L2', name='f0_reconstruction'),
       ['f0_midi', 'f0_midi_pred', 'f0_loss_weights']),
      (losses.ParamLoss(weight=0.5, name='amplitude_reconstruction'),
       ['amps', 'amps_pred']),
  ])
  return models.MidiAutoencoder(
      synthcoder=decoders.DilatedConvDecoder(
          ch=8, layers_per_stack=2, stacks=1, norm_type='layer',
          input_keys=('ld_scaled', 'f0_scaled'), conditioning_keys=None,
          precondition_stack=None, output_splits=splits),
      midi_encoder=(encoders.HarmonicToMidiEncoder(net=_stack())
                    if midi_encoder else None),
      midi_decoder=decoders.MidiToHarmonicDecoder(
          net=_stack(), output_splits=(('f0_midi', 1),) + splits),
      preprocessor=preprocessing.F0LoudnessPreprocessor(time_steps=T),
      reconstruction_losses=recon, reverb=reverb)


def _features(batch=2):
  roll = np.zeros([batch, T, 128], np.float32)
  roll[:, 5:30, 60] = 1.0
  roll[:, 30:56, 62] = 1.0
  midi = roll.argmax(-1) + 0.3 * (roll.max(-1) > 0)  # 30 cents sharp.
  f0 = np.where(roll.max(-1) > 0, 440 * 2 ** ((midi - 69) / 12), 0.0)
  f0[:, 50:56] = 440 * 2 ** ((65 - 69) / 12)  # 3 semitones off the note.
  rng = np.random.default_rng(0)
  return {'audio': rng.normal(0, 0.1, [batch, N]).astype(np.float32),
          'f0_hz': f0.astype(np.float32),
          'loudness_db': np.full([batch, T], -30.0, np.float32),
          'note_active_velocities': roll}


def test_dataset_notes_latent_and_losses():
  model = _model(reverb=True)
  features = _features()
  with tf.GradientTape() as tape:
    outputs, loss = model(features, training=True, return_losses=True)
  roll = features['note_active_velocities']
  np.testing.assert_array_equal(outputs['q_pitch'][..., 0], roll.argmax(-1))
  # The piano roll of the latent is the dataset's (notes above MIDI 20).
  np.testing.assert_array_equal(outputs['pianoroll'], roll)
  f0_midi = 69 + 12 * np.log2(np.maximum(features['f0_hz'], 1e-3) / 440)
  expected_weights = np.abs(np.where(features['f0_hz'] > 0, f0_midi, 0.0) -
                            roll.argmax(-1)) < 2.0
  np.testing.assert_array_equal(outputs['f0_loss_weights'][..., 0],
                                expected_weights)
  assert not expected_weights[:, 50:56].any()
  np.testing.assert_allclose(outputs['f0_hz_pred'],
                             440 * 2 ** ((outputs['f0_midi_pred'] - 69) / 12),
                             rtol=1e-5)
  for key in ('synth_audio', 'midi_audio'):
    assert outputs[key].shape == (2, N)
  assert outputs['hd_pred'].shape == (2, T, N_HARMONICS)
  assert model.get_audio_from_outputs(outputs) is outputs['synth_audio']
  terms = {k: v for k, v in loss.items() if k != 'total_loss'}
  assert sorted(terms) == ['amplitude_reconstruction', 'f0_reconstruction',
                           'spectral_loss_synth']
  np.testing.assert_allclose(float(loss['total_loss']),
                             sum(float(v) for v in terms.values()), rtol=1e-6)
  grads = tape.gradient(loss['total_loss'], model.trainable_variables)
  assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
  # The reverb is part of the synthcoder's processor group.
  assert any('reverb' in v.path for v in model.trainable_variables)


def test_learned_midi_encoder_is_straight_through():
  model = _model(midi_encoder=True)
  features = _features()
  with tf.GradientTape() as tape:
    outputs, loss = model(features, training=True, return_losses=True)
  np.testing.assert_array_equal(outputs['q_pitch'],
                                np.round(outputs['z_pitch']))
  q = np.asarray(outputs['q_pitch'])[..., 0].astype(int)
  expected = np.zeros([2, T, 128])
  for b, t in zip(*np.nonzero(q > 20)):
    expected[b, t, q[b, t]] = 1.0
  np.testing.assert_array_equal(outputs['pianoroll'], expected)
  encoder_vars = model.midi_encoder.trainable_variables
  grads = tape.gradient(loss['total_loss'], encoder_vars)
  # Gradients reach the encoder through the rounding (straight through).
  assert all(g is not None and np.any(g != 0) for g in grads)
  # The stop gradient keeps the MIDI losses out of the synthcoder's f0 path,
  # but not the spectral loss.
  assert np.all(outputs['f0_loss_weights'] == 1.0)


def test_pianoroll_midi_conversions():
  q_pitch = tf.constant([[[60.0], [20.0], [21.4], [0.0]]])
  roll = models.MidiAutoencoder.midi_to_pianoroll(q_pitch, None)
  assert roll.shape == (1, 4, 128)
  np.testing.assert_array_equal(np.argmax(roll[0], -1), [60, 0, 21, 0])
  # Silence (at or below MIDI 20) has no note.
  np.testing.assert_array_equal(np.asarray(roll).sum(-1), [[1, 0, 1, 0]])
  velocities = np.zeros([1, 3, 128], np.float32)
  velocities[0, 0, 64], velocities[0, 2, 70] = 0.5, 0.9
  notes, vel = models.MidiAutoencoder.pianoroll_to_midi(velocities)
  np.testing.assert_array_equal(notes[0, :, 0], [64, 0, 70])
  np.testing.assert_allclose(vel[0, :, 0], [0.5, 0.0, 0.9])
  with pytest.raises(ValueError, match='note_active_velocities'):
    _model()(dict(_features(), note_active_velocities=None) and
             {k: v for k, v in _features().items()
              if k != 'note_active_velocities'})
  with pytest.raises(ValueError, match='synthcoder'):
    models.MidiAutoencoder(
        preprocessor=preprocessing.F0LoudnessPreprocessor())(_features())


def test_config_round_trip_gives_the_same_outputs():
  model = _model(midi_encoder=True)
  features = _features(1)
  outputs = model(features)
  clone = models.MidiAutoencoder.from_config(model.get_config())
  clone(features)
  clone.set_weights(model.get_weights())
  # (Not the audio: each FilteredNoise draws its own noise.)
  cloned = clone(features)
  for key in ('z_pitch', 'f0_midi_pred', 'amps_pred', 'hd_pred', 'amps'):
    np.testing.assert_allclose(cloned[key], outputs[key], atol=1e-5)
  assert keras.saving.get_registered_name(models.MidiAutoencoder) == (
      'ddsp>MidiAutoencoder')


def test_gin_config_builds():
  with gin.unlock_config():
    gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
    gin.parse_config_files_and_bindings(
        ['models/midiae/midiae.gin', 'models/midiae/mixins/midi_encoder.gin'],
        [f'F0LoudnessPreprocessor.time_steps = {T}',
         'DilatedConvDecoder.ch = 8', 'DilatedConvDecoder.stacks = 1',
         'DilatedConvDecoder.layers_per_stack = 2',
         'dec/DilatedConvStack.ch = 8', 'dec/DilatedConvStack.stacks = 1',
         'enc/DilatedConvStack.ch = 8', 'enc/DilatedConvStack.stacks = 1',
         'SpectralLoss.fft_sizes = (256, 64)'],
        finalize_config=False)
  model = models.get_model()
  assert isinstance(model, models.MidiAutoencoder)
  assert isinstance(model.midi_encoder, encoders.HarmonicToMidiEncoder)
  assert gin.query_parameter('evaluate.evaluator_classes') is not None
  features = _features(1)
  outputs, loss = model(features, return_losses=True)
  assert sorted(loss) == ['amplitude_reconstruction', 'f0_reconstruction',
                          'harmonic_distribution_reconstruction',
                          'noise_reconstruction', 'spectral_loss_synth',
                          'total_loss']


@pytest.mark.slow  # About 10 s: every summary of the evaluator is rendered.
def test_midi_autoencoder_evaluator_on_the_model(tmp_path):
  model = _model(midi_encoder=True)
  features = _features(1)
  outputs, loss = model(features, return_losses=True)
  outputs['audio_gen'] = model.get_audio_from_outputs(outputs)
  evaluator = evaluators.MidiAutoencoderEvaluator(16000, 250)
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default():
    evaluator.evaluate(features, outputs, loss)
    evaluator.sample(features, outputs, 3)
    results = evaluator.flush(3)
  writer.close()
  tags = set(helpers.read_events(tmp_path))
  assert {'audio_original', 'midi_audio', 'synth_audio',
          'pianoroll/pianoroll_1', 'midiae_decoder_pitch/ex_1',
          'midiae_encoder_pitch/ex_1', 'amplitudes/amplitudes_1',
          'f0_midi/f0_hz_rec_1'} <= tags
  assert set(results) <= tags and len(results) == 9


def test_z_midi_autoencoder_latents():
  splits = (('amplitudes', 1), ('harmonic_distribution', N_HARMONICS),
            ('magnitudes', N_NOISE))
  keys = ('f0_scaled', 'amps_scaled', 'hd_scaled', 'noise_scaled')
  model = models.ZMidiAutoencoder(
      synthcoder=decoders.DilatedConvDecoder(
          ch=8, layers_per_stack=2, stacks=1, norm_type='layer',
          input_keys=('ld_scaled', 'f0_scaled'), conditioning_keys=('z',),
          precondition_stack=None, output_splits=splits),
      z_synth_encoders=[encoders.ExpressionEncoder(
          net=nn.FcStack(8, 1), z_dims=3, input_keys=('ld_scaled',),
          pool_time=True)],
      z_global_encoders=[encoders.ExpressionEncoder(
          net=nn.FcStack(8, 1), z_dims=4, input_keys=keys, pool_time=True)],
      z_note_encoder=encoders.ExpressionEncoder(
          net=nn.FcStack(8, 1), z_dims=5, input_keys=keys, pool_time=False),
      z_preconditioning_stack=nn.FcStackOut(ch=8, layers=1, n_out=6),
      midi_decoder=decoders.MidiToHarmonicDecoder(
          net=nn.DilatedConvStack(ch=8, layers_per_stack=2, stacks=1,
                                  norm_type='layer', conditional=True),
          output_splits=(('f0_midi', 1),) + splits),
      preprocessor=preprocessing.F0LoudnessPreprocessor(time_steps=T),
      reverb=False)
  features = _features()
  with tf.GradientTape() as tape:
    outputs = model(features, training=True)
    loss = tf.reduce_mean(tf.abs(outputs['midi_audio']))
  assert outputs['z_global'].shape[-1] == 4
  z_notes = np.asarray(outputs['z_notes'])
  assert z_notes.shape == (2, T, 5)
  # Reference: the note encoder's z averaged over each note of q_pitch
  # (frames 5-29 at 60, 30-55 at 62; silence has no note).
  z = np.asarray(model.z_note_encoder(
      {k: outputs[k] for k in keys})['z'])
  for start, stop in ((5, 30), (30, 56)):
    np.testing.assert_allclose(
        z_notes[:, start:stop],
        np.broadcast_to(z[:, start:stop].mean(1, keepdims=True),
                        (2, stop - start, 5)), atol=1e-5)
  grads = tape.gradient(loss, model.z_note_encoder.trainable_variables +
                        model.z_preconditioning_stack.trainable_variables)
  assert all(g is not None for g in grads)
  clone = models.ZMidiAutoencoder.from_config(model.get_config())
  assert len(clone.z_global_encoders) == 1
  assert isinstance(clone.z_preconditioning_stack, nn.FcStackOut)


def test_z_midiae_gin_builds():
  with gin.unlock_config():
    gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
    gin.parse_config_files_and_bindings(
        ['models/midiae/z_midiae.gin'], [], finalize_config=False)
  model = models.get_model()
  assert isinstance(model, models.ZMidiAutoencoder)
  assert [type(e).__name__ for e in model.z_global_encoders] == [
      'OneHotEncoder', 'ExpressionEncoder']
  assert model.z_note_encoder.pool_time is False
  assert model.midi_decoder.net.conditional
