"""Tests of ddsp.training.models: the Autoencoder end to end on real audio."""

import doctest

import gin
import numpy as np
import pytest
import soundfile
import tensorflow as tf

import ddsp
from ddsp.training import decoders
from ddsp.training import encoders
from ddsp.training import models
from ddsp.training import preprocessing
from ddsp.training.models import autoencoder

N_SAMPLES = 4096  # 0.256 s at 16 kHz.
N_FRAMES = 64  # 250 frames/s.


@pytest.fixture
def features(test_data):
  """Two 0.256 s excerpts of the violin clip with its ground-truth f0."""
  audio, sample_rate = soundfile.read(test_data / 'violin_6s.flac',
                                      dtype='float32', frames=64000)
  assert sample_rate == 16000
  f0_hz = np.load(test_data / 'violin_6s.f0_250hz.npy')[:1000]
  starts = [16000, 40000]  # Seconds 1 and 2.5.
  return {
      'audio': tf.constant(np.stack([audio[s:s + N_SAMPLES] for s in starts])),
      'f0_hz': tf.constant(np.stack([f0_hz[s // 64:s // 64 + N_FRAMES]
                                     for s in starts])),
  }


def _model(encoder=True, rnn_type='gru'):
  n_harmonics, n_bands = 8, 9
  return models.Autoencoder(
      preprocessor=preprocessing.F0LoudnessPreprocessor(time_steps=N_FRAMES),
      encoder=encoders.MfccTimeDistributedRnnEncoder(
          rnn_channels=8, z_dims=4, z_time_steps=250) if encoder else None,
      decoder=decoders.RnnFcDecoder(
          rnn_channels=16, rnn_type=rnn_type, ch=16, layers_per_stack=1,
          input_keys=('ld_scaled', 'f0_scaled') + (('z',) if encoder else ()),
          output_splits=(('amps', 1), ('harmonic_distribution', n_harmonics),
                         ('noise_magnitudes', n_bands))),
      processor_group=ddsp.processors.ProcessorGroup(dag=[
          (ddsp.synths.Harmonic(n_samples=N_SAMPLES),
           ['amps', 'harmonic_distribution', 'f0_hz']),
          (ddsp.synths.FilteredNoise(n_samples=N_SAMPLES, window_size=0,
                                     seed=1),
           ['noise_magnitudes']),
          (ddsp.processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
          (ddsp.effects.Reverb(trainable=True, reverb_length=800, seed=2),
           ['add/signal']),
      ]),
      losses=[ddsp.losses.SpectralLoss(fft_sizes=(512, 128), mag_weight=1.0,
                                       logmag_weight=1.0)])


@pytest.mark.slow
def test_autoencoder_end_to_end(features):
  model = _model()
  outputs, losses = model(features, training=True, return_losses=True)
  audio_synth = outputs['audio_synth']
  assert audio_synth.shape == (2, N_SAMPLES)
  assert np.all(np.isfinite(audio_synth)) and np.std(audio_synth) > 0
  # Every stage's outputs are in the outputs dict.
  for key in ('audio', 'f0_hz', 'loudness_db', 'f0_scaled', 'ld_scaled', 'z',
              'amps', 'harmonic_distribution', 'noise_magnitudes', 'harmonic',
              'filtered_noise', 'add', 'reverb'):
    assert key in outputs, key
  assert outputs['z'].shape == (2, N_FRAMES, 4)
  np.testing.assert_allclose(outputs['audio_synth'],
                             outputs['reverb']['signal'])
  np.testing.assert_allclose(
      outputs['f0_scaled'][..., 0],
      preprocessing.scale_f0_hz(features['f0_hz']), rtol=1e-6)
  # Loudness computed from the audio, as the numpy path of spectral_ops.
  np.testing.assert_allclose(
      outputs['loudness_db'][..., 0],
      ddsp.spectral_ops.compute_loudness(features['audio'].numpy(),
                                         padding='same', use_tf=False),
      atol=0.05)
  # The losses: the spectral loss between the input and output audio.
  assert sorted(losses) == ['spectral_loss', 'total_loss']
  expected = ddsp.losses.SpectralLoss(fft_sizes=(512, 128), logmag_weight=1.0)(
      features['audio'], audio_synth)
  np.testing.assert_allclose(losses['spectral_loss'], expected, rtol=1e-5)
  np.testing.assert_allclose(losses['total_loss'], expected, rtol=1e-5)
  assert np.isfinite(losses['total_loss']) and losses['total_loss'] > 0


@pytest.mark.slow
def test_autoencoder_gradients_reach_every_variable(features):
  model = _model()
  model(features)
  with tf.GradientTape() as tape:
    _, losses = model(features, training=True, return_losses=True)
  variables = model.trainable_variables
  # Encoder 7, decoder 4 stacks x 4 + GRU 3 + dense 2, reverb 1.
  assert len(variables) == 7 + 21 + 1
  grads = tape.gradient(losses['total_loss'], variables)
  for g, v in zip(grads, variables):
    assert g is not None, v.path
    g = tf.convert_to_tensor(g)
    assert np.all(np.isfinite(g)), v.path
    assert np.any(np.abs(g) > 0), v.path


def test_autoencoder_eager_equals_tf_function(features):
  model = _model(encoder=False)
  eager = model(features)['audio_synth']
  compiled = tf.function(lambda f: model(f)['audio_synth'])(features)
  np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=1e-5)


def test_autoencoder_config_round_trip_and_restore(features, tmp_path):
  model = _model(rnn_type='lstm')
  outputs = model(features)
  path = tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))
  saved = [n for n, _ in tf.train.list_variables(path) if n.startswith(
      'model/')]
  # Every weight, and the noise state of the FilteredNoise (not a weight).
  noise_states = [n for n in saved if n.endswith(
      'noise_state/state/.ATTRIBUTES/VARIABLE_VALUE')]
  assert len(noise_states) == 1
  assert len(saved) == len(model.weights) + 1

  clone = models.Autoencoder.from_config(model.get_config())
  assert isinstance(clone.decoder, decoders.RnnFcDecoder)
  assert clone.decoder.rnn_type == 'lstm'
  assert [type(l).__name__ for l in clone.loss_objs] == ['SpectralLoss']
  clone(features)
  clone.restore(tmp_path)
  np.testing.assert_allclose(clone(features)['audio_synth'],
                             outputs['audio_synth'], rtol=1e-5, atol=1e-6)


def test_autoencoder_from_published_gin_names(features):
  config = """
      get_model.model = @models.Autoencoder()
      Autoencoder.preprocessor = @preprocessing.F0LoudnessPreprocessor()
      F0LoudnessPreprocessor.time_steps = 64
      Autoencoder.decoder = @decoders.RnnFcDecoder()
      RnnFcDecoder.rnn_channels = 8
      RnnFcDecoder.rnn_type = 'gru'
      RnnFcDecoder.ch = 8
      RnnFcDecoder.layers_per_stack = 1
      RnnFcDecoder.input_keys = ('ld_scaled', 'f0_scaled')
      RnnFcDecoder.output_splits = (('amps', 1), ('harmonic_distribution', 4))
      Autoencoder.losses = [@losses.SpectralLoss()]
      SpectralLoss.fft_sizes = (256, 64)
      Autoencoder.processor_group = @processors.ProcessorGroup()
      ProcessorGroup.dag = [
          (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz'])]
      Harmonic.n_samples = 4096
  """
  with gin.unlock_config():
    gin.clear_config()
    gin.parse_config(config)
    try:
      model = models.get_model()
    finally:
      gin.clear_config()
  assert isinstance(model, models.Autoencoder)
  assert model.decoder.rnn_channels == 8
  outputs, losses = model(features, return_losses=True)
  assert outputs['audio_synth'].shape == (2, N_SAMPLES)
  assert np.isfinite(losses['total_loss'])


def test_model_errors(features):
  model = _model(encoder=False)
  with pytest.raises(ValueError, match=r"needs the target audio "
                     r"features\['audio'\]; the features have keys "
                     r"\['f0_hz', 'loudness_db'\]"):
    model({'f0_hz': features['f0_hz'],
           'loudness_db': tf.zeros([2, N_FRAMES])}, return_losses=True)
  with pytest.raises(ValueError, match=r'needs a `decoder` and a '
                     r'`processor_group`'):
    models.Autoencoder(decoder=decoders.RnnFcDecoder())
  with pytest.raises(TypeError, match=r'`encoder` must be a Keras layer'):
    models.Autoencoder(encoder='mfcc', decoder=decoders.RnnFcDecoder(),
                       processor_group=ddsp.processors.Add())
  with pytest.raises(TypeError, match=r'`losses` must be loss objects'):
    models.Model(losses=[3])
  with pytest.raises(FileNotFoundError, match='No checkpoint found at'):
    model.restore('/nonexistent-dir-for-ddsp-test/')


def test_model_with_callable_loss_and_get_controls(features):
  model = models.Autoencoder(
      preprocessor=preprocessing.F0LoudnessPreprocessor(
          time_steps=N_FRAMES),
      decoder=decoders.RnnFcDecoder(
          rnn_channels=4, ch=4, layers_per_stack=1,
          input_keys=('ld_scaled', 'f0_scaled'),
          output_splits=(('amps', 1), ('harmonic_distribution', 3))),
      processor_group=ddsp.processors.ProcessorGroup(dag=[
          (ddsp.synths.Harmonic(n_samples=N_SAMPLES),
           ['amps', 'harmonic_distribution', 'f0_hz'])]),
      losses=[lambda target, audio: tf.reduce_mean(tf.abs(target - audio)),
              ddsp.losses.SpectralLoss(fft_sizes=(256,), name='spec')])
  outputs, losses = model(features, return_losses=True)
  assert sorted(losses) == ['<lambda>', 'spec', 'total_loss']
  l1 = np.mean(np.abs(features['audio'] - outputs['audio_synth']))
  np.testing.assert_allclose(losses['<lambda>'], l1, rtol=1e-5)
  np.testing.assert_allclose(losses['total_loss'],
                             losses['<lambda>'] + losses['spec'], rtol=1e-6)
  controls = model.get_controls(features, keys=['harmonic/controls/f0_hz',
                                                'amps'])
  assert sorted(controls) == ['amps', 'harmonic/controls/f0_hz']
  assert controls['amps'].shape == (2, N_FRAMES, 1)


def test_docstring_examples():
  results = doctest.testmod(autoencoder, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
