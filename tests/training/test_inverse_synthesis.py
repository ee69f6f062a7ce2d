"""Tests of models.InverseSynthesis (the ICML 2020 DDSP-inv model) and of the
published `ddsp_run --gin_file=papers/icml2020/pretrain_*.gin` training, at a
tiny size: 2048-sample examples, 8 frames (logmel hop 256), 6 sinusoids."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import ddsp
from ddsp.training import data
from ddsp.training import encoders
from ddsp.training import models
from ddsp.training import nn
from ddsp.training.data_preparation import prepare_tfrecord_lib
from ddsp.training.data_preparation import synthetic_data

N_SAMPLES, N_FRAMES, N_SIN, N_HARM, N_MAGS = 2048, 8, 6, 5, 7


@keras.saving.register_keras_serializable('ddsp_tests')
class _FrameEncoder(nn.DictLayer):
  """A light sinusoidal encoder for the tests: frames -> dense outputs."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.dense = {k: keras.layers.Dense(n, name=k) for k, n in (
        ('frequencies', N_SIN * 64), ('amplitudes', N_SIN),
        ('noise_magnitudes', N_MAGS))}

  def call(self, audio):
    frames = tf.signal.frame(audio, 512, 256, pad_end=True)[:, :N_FRAMES]
    return {k: layer(frames) for k, layer in self.dense.items()}


def _model(harmonic=True, **kwargs):
  keras.utils.set_random_seed(0)
  args = dict(
      sinusoidal_encoder=_FrameEncoder(),
      harmonic_encoder=encoders.SinusoidalToHarmonicEncoder(
          net=nn.FcStack(8, 1), n_harmonics=N_HARM) if harmonic else None,
      losses=[ddsp.losses.SpectralLoss(fft_sizes=(256, 64))],
      sinusoidal_consistency_losses=[ddsp.losses.KDEConsistencyLoss()],
      harmonic_consistency_losses=[ddsp.losses.HarmonicConsistencyLoss()],
      filtered_noise_consistency_loss=(
          ddsp.losses.FilteredNoiseConsistencyLoss(weight=3.0)),
      reverb=False, n_samples=N_SAMPLES)
  args.update(kwargs)
  return models.InverseSynthesis(**args)


def _notes(batch=2, seed=0):
  return synthetic_data.generate_notes_v2(
      n_batch=batch, n_timesteps=N_FRAMES, n_harmonics=N_HARM, n_mags=N_MAGS,
      seed=seed)


def _audio(batch=2):
  t = np.arange(N_SAMPLES) / 16000.0
  audio = 0.5 * np.sin(2 * np.pi * 330.0 * t)[np.newaxis].repeat(batch, 0)
  return {'audio': tf.constant(audio, tf.float32)}


def _l1(a, b, weights=None):
  diff = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
  if weights is None:
    return diff.mean()
  weights = np.broadcast_to(weights, diff.shape)
  return (diff * weights).sum() / weights.sum()


def test_pretraining_outputs_and_self_supervised_losses():
  model = _model()
  notes = synthetic_data.generate_notes_v2(
      n_batch=2, n_timesteps=N_FRAMES, n_harmonics=N_HARM, n_mags=N_MAGS,
      min_note_length=2, max_note_length=4, p_silent=0.5, seed=3)
  outputs, losses = model(notes, training=True, return_losses=True)
  o = {k: v.numpy() for k, v in outputs.items()}
  assert o['audio'].shape == (2, N_SAMPLES)
  assert o['sin_amps'].shape == o['sin_freqs'].shape == (2, N_FRAMES, N_SIN)
  assert o['f0_hz'].shape == (2, N_FRAMES, 1)
  # Harmonics as sinusoids: f0 * k, amplitude * distribution.
  np.testing.assert_allclose(o['harm_freqs'],
                             o['f0_hz'] * np.arange(1, N_HARM + 1), rtol=1e-6)
  np.testing.assert_allclose(o['harm_amps'], o['harm_amp'] * o['harm_dist'],
                             rtol=1e-6)
  assert 20.0 <= o['f0_hz'].min() and o['f0_hz'].max() <= 1200.0
  # The input audio is rendered from the true controls: a louder note gives
  # louder audio (the sinusoidal part is deterministic).
  f = {k: v.numpy() for k, v in notes.items()}
  assert np.all(np.isfinite(o['audio'])) and np.abs(o['audio']).max() > 0
  # Self-supervised losses, recomputed in numpy from their definitions.
  np.testing.assert_allclose(
      losses['ss_filtered_noise_consistency_loss'],
      3.0 * _l1(o['noise_magnitudes'], f['noise_magnitudes']), rtol=1e-5)
  # The harmonic terms are masked where the TRUE note is silent (as
  # published): the rests of the synthetic notes (f0 MIDI 0) do not count.
  mask = (f['harm_amp'] >= 1e-4).astype(np.float64)
  assert 0 < mask.sum() < mask.size and (o['harm_amp'] >= 1e-4).all()
  midi = lambda hz: 12 * np.log2(np.asarray(hz, np.float64) / 440.0) + 69
  masked_mean = lambda a, b: (np.abs(a - b) * mask).mean()
  expected = (_l1(o['harm_amp'], f['harm_amp'])
              + masked_mean(o['harm_dist'], f['harm_dist'])
              + masked_mean(midi(o['f0_hz']), midi(f['f0_hz'])))
  np.testing.assert_allclose(losses['ss_harmonic_consistency_loss'],
                             expected, rtol=1e-4)
  expected_names = {'sin_spectral_loss', 'harm_spectral_loss',
                    'kde_consistency_loss', 'ss_kde_consistency_loss',
                    'ss_filtered_noise_consistency_loss',
                    'ss_harmonic_consistency_loss', 'total_loss'}
  assert set(losses) == expected_names
  np.testing.assert_allclose(
      losses['total_loss'],
      sum(float(v) for k, v in losses.items() if k != 'total_loss'),
      rtol=1e-5)


def test_stop_gradient_keeps_harmonic_errors_out_of_the_sinusoids():
  model = _model()
  notes = _notes(batch=1)
  model(notes)  # Build.
  sin_vars = model.sinusoidal_encoder.trainable_variables
  harm_vars = model.harmonic_encoder.trainable_variables
  with tf.GradientTape(persistent=True) as tape:
    _, losses = model(notes, training=True, return_losses=True)
  # Sinusoid <-> harmonic consistency: only the harmonic encoder learns.
  sin_grads = tape.gradient(losses['kde_consistency_loss'], sin_vars)
  assert all(g is None or float(tf.reduce_max(tf.abs(g))) == 0.0
             for g in sin_grads)
  harm_grads = tape.gradient(losses['kde_consistency_loss'], harm_vars)
  assert any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0
             for g in harm_grads)
  # The self-supervised sinusoid loss teaches the sinusoidal encoder.
  ss_grads = tape.gradient(losses['ss_kde_consistency_loss'], sin_vars)
  norms = [float(tf.norm(g)) for g in ss_grads if g is not None]
  assert norms and all(np.isfinite(norms)) and max(norms) > 0


def test_zipped_features_in_either_order_and_audio_only():
  model = _model()
  notes, audio = _notes(batch=2), _audio(batch=1)
  out_a, losses_a = model((audio, notes), return_losses=True)
  out_b, losses_b = model((notes, audio), return_losses=True)
  assert out_a['audio'].shape == (1, N_SAMPLES)  # The real audio's part.
  np.testing.assert_array_equal(out_a['audio'], audio['audio'])
  assert sorted(losses_a) == sorted(losses_b)
  assert 'ss_harmonic_consistency_loss' in losses_a
  for key in ('sin_spectral_loss', 'harm_spectral_loss'):
    np.testing.assert_allclose(losses_a[key], losses_b[key], rtol=1e-5)
  # Real audio only: the unsupervised losses, and no 'ss_' ones.
  outputs, losses = model(audio, return_losses=True)
  assert not [k for k in losses if k.startswith('ss_')]
  spectral = ddsp.losses.SpectralLoss(fft_sizes=(256, 64))
  np.testing.assert_allclose(
      losses['harm_spectral_loss'],
      spectral(audio['audio'], outputs['harm_audio']), rtol=1e-5)
  assert model.get_audio_from_outputs(outputs) is outputs['harm_audio']
  sinusoidal_only = _model(harmonic=False)
  out = sinusoidal_only(audio)
  assert 'f0_hz' not in out
  assert sinusoidal_only.get_audio_from_outputs(out) is out['sin_audio']


def test_config_round_trip_and_errors():
  model = _model(reverb=True)
  assert isinstance(model.processor_group.dag[-1][0],
                    ddsp.effects.FilteredNoiseReverb)
  assert model.reverb is model.processor_group.dag[-1][0]
  assert _model().reverb is None
  assert model.audio_loss_objs == model.loss_objs
  config = model.get_config()
  copy = models.InverseSynthesis.from_config(config)
  assert copy.get_config() == config
  assert isinstance(copy.harmonic_encoder,
                    encoders.SinusoidalToHarmonicEncoder)
  with pytest.raises(ValueError, match=r'needs a `sinusoidal_encoder`'):
    models.InverseSynthesis()(_audio())
  notes = synthetic_data.generate_notes_v2(
      n_batch=1, n_timesteps=2 * N_FRAMES, n_harmonics=N_HARM, n_mags=N_MAGS,
      seed=0)
  with pytest.raises(ValueError, match=r'predicts 8 frames but the '
                     r'synthetic notes have 16'):
    _model()(notes, return_losses=True)
  with pytest.raises(ValueError, match=r'one dict of synthetic notes'):
    _model()((_audio(), _audio()))
  with pytest.raises(TypeError, match=r'`harmonic_encoder` must be a Keras'):
    models.InverseSynthesis(harmonic_encoder='rnn')


def _write_notes(path, n_examples, n_timesteps, n_harmonics, n_mags):
  with tf.io.TFRecordWriter(str(path)) as writer:
    for i in range(n_examples):
      controls = synthetic_data.generate_notes_v2(
          n_batch=1, n_timesteps=n_timesteps, n_harmonics=n_harmonics,
          n_mags=n_mags, seed=i)
      example = prepare_tfrecord_lib.float_dict_to_tfexample(
          {k: v[0] for k, v in controls.items()})
      writer.write(example.SerializeToString())


@pytest.mark.slow
def test_ddsp_run_pretrains_with_the_published_icml2020_configs(tmp_path):
  """The published command, shrunk with --gin_param only."""
  notes = tmp_path / 'notes.tfrecord-00000-of-00001'
  _write_notes(notes, 4, N_FRAMES, N_HARM, 65)
  assert len(list(data.SyntheticNotes(
      N_FRAMES, N_HARM, 65, file_pattern=str(notes)).get_dataset())) == 4
  params = [
      f"SyntheticNotes.file_pattern = '{tmp_path}/notes.tfrecord*'",
      f'SyntheticNotes.n_timesteps = {N_FRAMES}',
      f'SyntheticNotes.n_harmonics = {N_HARM}',
      f'InverseSynthesis.n_samples = {N_SAMPLES}',
      "ResnetSinusoidalEncoder.size = 'tiny'",
      "ResnetSinusoidalEncoder.output_splits = (('frequencies', 384), "
      "('amplitudes', 6), ('noise_magnitudes', 65))",
      'f0_spectral/compute_logmel.bins = 32',
      'f0_spectral/compute_logmel.fft_size = 512',
      'f0_spectral/compute_logmel.overlap = 0.5',
      f'SinusoidalToHarmonicEncoder.n_harmonics = {N_HARM}',
      'RnnSandwich.fc_stack_ch = 8', 'RnnSandwich.rnn_ch = 8',
      'SpectralLoss.fft_sizes = (256, 64)',
      'batch_size = 2', 'train.num_steps = 2', 'train.steps_per_summary = 1',
      'train.steps_per_save = 2',
  ]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  save_dir = tmp_path / 'pretrain'
  result = subprocess.run(
      [sys.executable, '-m', 'ddsp.training.ddsp_run', '--mode=train',
       f'--save_dir={save_dir}',
       '--gin_file=papers/icml2020/pretrain_model.gin',
       '--gin_file=papers/icml2020/pretrain_dataset.gin',
       *[f'--gin_param={p}' for p in params]],
      capture_output=True, text=True, env=env, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Training finished at step 2' in result.stderr
  for loss in ('ss_kde_consistency_loss', 'ss_harmonic_consistency_loss',
               'ss_filtered_noise_consistency_loss', 'kde_consistency_loss'):
    assert loss in result.stderr, loss
  assert (save_dir / 'ckpt-2.index').exists()
  config = (save_dir / 'operative_config-0.gin').read_text()
  assert 'get_model.model = @models.InverseSynthesis()' in config
  assert 'KDEConsistencyLoss.weight_a = 1.0' in config


def _write_audio_records(path, n_examples):
  t = np.arange(N_SAMPLES) / 16000.0
  with tf.io.TFRecordWriter(str(path)) as writer:
    for i in range(n_examples):
      example = prepare_tfrecord_lib.float_dict_to_tfexample({
          'audio': 0.3 * np.sin(2 * np.pi * (200.0 + 50 * i) * t),
          'f0_hz': np.full(32, 200.0 + 50 * i),
          'f0_confidence': np.ones(32), 'loudness_db': np.full(32, -20.0)})
      writer.write(example.SerializeToString())


@pytest.mark.slow
def test_finetune_configs_zip_synthetic_notes_with_audio(tmp_path):
  import gin  # pylint: disable=g-import-not-at-top
  from ddsp.training import gin as ddsp_gin  # pylint: disable=g-import-not-at-top
  _write_notes(tmp_path / 'notes.tfrecord', 4, N_FRAMES, N_HARM, 65)
  _write_audio_records(tmp_path / 'train.tfrecord', 4)
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  try:
    gin.parse_config_files_and_bindings(
        ['papers/icml2020/finetune_model.gin',
         'papers/icml2020/finetune_dataset.gin'],
        [f"SyntheticNotes.file_pattern = '{tmp_path}/notes.tfrecord*'",
         f'SyntheticNotes.n_timesteps = {N_FRAMES}',
         f'SyntheticNotes.n_harmonics = {N_HARM}',
         f"train_data/TFRecordProvider.file_pattern = "
         f"'{tmp_path}/train.tfrecord*'",
         f'TFRecordProvider.example_secs = {N_SAMPLES / 16000}',
         f'InverseSynthesis.n_samples = {N_SAMPLES}',
         "ResnetSinusoidalEncoder.size = 'tiny'",
         "ResnetSinusoidalEncoder.output_splits = (('frequencies', 384), "
         "('amplitudes', 6), ('noise_magnitudes', 65))",
         'f0_spectral/compute_logmel.bins = 32',
         'f0_spectral/compute_logmel.fft_size = 512',
         'f0_spectral/compute_logmel.overlap = 0.5',
         f'SinusoidalToHarmonicEncoder.n_harmonics = {N_HARM}',
         'RnnSandwich.fc_stack_ch = 8', 'RnnSandwich.rnn_ch = 8',
         'SpectralLoss.fft_sizes = (256, 64)'])
    with gin.config_scope('train_data'):
      provider = data.ZippedProvider()
    model = models.get_model()
    batch = next(iter(provider.get_batch(4)))
    # (The spectral_fn's scoped bindings apply when it is called.)
    outputs, losses = model(batch, training=True, return_losses=True)
  finally:
    gin.clear_config()
  assert [type(p) for p in provider.data_providers] == [
      data.SyntheticNotes, data.TFRecordProvider]
  # The fine-tuning weights of finetune_model.gin over pretrain_model.gin.
  assert model.loss_objs[0].mag_weight == 1.0
  assert model.harmonic_consistency_losses[0].dist_weight == 100.0
  assert model.filtered_noise_consistency_loss.weight == 100.0
  # Each provider gives a whole batch, as published: 4 real clips.
  assert outputs['audio'].shape == (4, N_SAMPLES)
  assert float(losses['sin_spectral_loss']) > 0.0  # mag_weight = 1.
  assert {'ss_kde_consistency_loss', 'ss_harmonic_consistency_loss',
          'harm_spectral_loss', 'kde_consistency_loss'} <= set(losses)
  assert np.isfinite(float(losses['total_loss']))
