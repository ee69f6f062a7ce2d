"""Tests for ddsp.training.eval_util and evaluators: events of a tiny model."""

import functools
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

import ddsp
from ddsp.training import data
from ddsp.training import decoders
from ddsp.training import eval_util
from ddsp.training import evaluators
from ddsp.training import models
from ddsp.training import preprocessing
import training_helpers as helpers  # tests/training/training_helpers.py

SR, FRAME_RATE = 16000, 250
N_SAMPLES, N_FRAMES = 3200, 50  # 0.2 s.


def read_events(log_dir):
  return helpers.read_events(log_dir, with_plugin=True)


def _model(seed):
  keras.utils.set_random_seed(seed)
  return models.Autoencoder(
      preprocessor=preprocessing.F0LoudnessPreprocessor(
          time_steps=N_FRAMES, compute_loudness=False),
      decoder=decoders.RnnFcDecoder(
          rnn_channels=8, ch=8, layers_per_stack=1,
          input_keys=('ld_scaled', 'f0_scaled'),
          output_splits=(('amps', 1), ('harmonic_distribution', 4))),
      processor_group=ddsp.processors.ProcessorGroup(dag=[
          (ddsp.synths.Harmonic(n_samples=N_SAMPLES),
           ['amps', 'harmonic_distribution', 'f0_hz'])]),
      losses=[ddsp.losses.SpectralLoss(fft_sizes=(256, 64))])


def _provider(n_examples=4):
  t = np.arange(N_SAMPLES) / SR
  f0 = np.array([220.0, 330.0, 440.0, 550.0])[:n_examples]
  audio = 0.3 * np.sin(2 * np.pi * f0[:, np.newaxis] * t)
  features = {
      'audio': audio.astype(np.float32),
      'f0_hz': np.repeat(f0[:, np.newaxis], N_FRAMES, 1).astype(np.float32),
      'f0_confidence': np.full([n_examples, N_FRAMES], 0.95, np.float32),
      'loudness_db': np.full([n_examples, N_FRAMES], -30.0, np.float32),
  }
  return data.InMemoryProvider(features, SR, FRAME_RATE)


def _save_checkpoint(model, directory, step):
  """A checkpoint as `trainers.Trainer.save` writes it: '<dir>/ckpt-<step>'.

  The model must be built; the optimizer is saved too, as the Trainer does.
  """
  optimizer = keras.optimizers.Adam()
  optimizer.build(model.trainable_variables)
  manager = tf.train.CheckpointManager(
      tf.train.Checkpoint(model=model, optimizer=optimizer), str(directory),
      max_to_keep=5, checkpoint_name='ckpt')
  return manager.save(checkpoint_number=step)


def _first_batch(batch_size=2):
  return next(iter(_provider().get_batch(batch_size, shuffle=False)))


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  """A model saved at step 0 (trained for 0 steps) and its expected losses."""
  ckpt_dir = tmp_path_factory.mktemp('ckpt')
  provider = _provider()
  model = _model(seed=1)
  batches = list(provider.get_batch(2, shuffle=False, repeats=1))
  losses = [float(model(b, return_losses=True, training=False)[1][
      'total_loss']) for b in batches]
  _save_checkpoint(model, ckpt_dir, 0)
  return ckpt_dir, losses


@pytest.mark.slow
def test_evaluate_restores_and_writes_scalars_audio_images(trained, tmp_path):
  ckpt_dir, expected_losses = trained
  # A model with other initial weights: the results must come from the
  # checkpoint.
  results = eval_util.evaluate(
      _provider(), _model(seed=2),
      [functools.partial(evaluators.BasicEvaluator, waveforms=False),
       evaluators.F0LdEvaluator],
      save_dir=tmp_path, restore_dir=ckpt_dir, batch_size=2, num_batches=1,
      run_once=True, evaluate_and_sample=True)
  np.testing.assert_allclose(results['losses/total_loss'], expected_losses[0],
                             rtol=1e-5)
  events = read_events(tmp_path / 'summaries' / 'eval')
  for tag in ('losses/total_loss', 'losses/spectral_loss',
              'metrics/loudness/loudness_db',
              'metrics/f0_crepe/raw_pitch_accuracy',
              'metrics/f0_crepe/raw_chroma_accuracy'):
    ((step, plugin, value),) = events[tag]
    assert (step, plugin) == (0, 'scalars')
    np.testing.assert_allclose(value, results[tag], rtol=1e-6)
  assert 0.0 <= results['metrics/f0_crepe/raw_pitch_accuracy'] <= 1.0
  assert results['metrics/loudness/loudness_db'] > 0.0
  # Audio of the batch and one image per example.
  assert [e[1] for e in events['audio_original']] == ['audio']
  assert [e[1] for e in events['audio_generated']] == ['audio']
  assert events['audio_generated'][0][2].shape == (2, 2)
  assert not [tag for tag in events if tag.startswith('waveform')]
  for tag in ('spectrogram/1', 'spectrogram/2', 'f0_midi/f0_crepe_1',
              'f0_midi/f0_crepe_2'):
    assert events[tag][0][:2] == (0, 'images'), tag
    png = tf.io.decode_png(events[tag][0][2][2])
    assert png.shape[-1] == 3


def test_sample_writes_audio_only_and_restores_generated_audio(trained,
                                                               tmp_path):
  ckpt_dir, _ = trained
  saved = _model(seed=1)
  batch = next(iter(_provider().get_batch(2, shuffle=False)))
  expected = saved(batch, training=False)['audio_synth'].numpy()
  results = eval_util.sample(
      _provider(), _model(seed=3), [evaluators.BasicEvaluator],
      save_dir=tmp_path, restore_dir=ckpt_dir, batch_size=2, run_once=True)
  assert results == {}
  events = read_events(tmp_path / 'summaries' / 'eval')
  assert not [t for t, v in events.items() if v[0][1] == 'scalars']
  ((_, _, value),) = events['audio_generated']
  for i in range(2):
    wav, _ = tf.audio.decode_wav(value[i, 0])
    np.testing.assert_allclose(wav.numpy()[:, 0], np.clip(expected[i], -1, 1),
                               atol=2 / 2**15)
  ((_, _, value),) = events['audio_original']
  wav, _ = tf.audio.decode_wav(value[0, 0])
  np.testing.assert_allclose(wav.numpy()[:, 0], batch['audio'][0],
                             atol=2 / 2**15)


def test_evaluate_waits_for_checkpoints_until_step(trained, tmp_path):
  _, expected_losses = trained
  model = _model(seed=1)
  model(_first_batch())
  _save_checkpoint(model, tmp_path / 'ckpt', 7)
  results = eval_util.evaluate(
      _provider(), _model(seed=4), [evaluators.BasicEvaluator],
      save_dir=tmp_path, batch_size=4, num_batches=1, run_until_step=7,
      restore_dir=tmp_path / 'ckpt')
  assert set(results) == {'losses/total_loss', 'losses/spectral_loss'}
  np.testing.assert_allclose(results['losses/total_loss'],
                             np.mean(expected_losses), rtol=1e-5)
  events = read_events(tmp_path / 'summaries' / 'eval')
  assert events['losses/total_loss'][0][0] == 7


def test_evaluate_whole_dataset_once(trained, tmp_path):
  """num_batches < 1: every batch of one pass (4 examples = 2 batches)."""
  ckpt_dir, expected_losses = trained
  results = eval_util.evaluate(
      _provider(), _model(seed=5), [evaluators.BasicEvaluator],
      save_dir=tmp_path, restore_dir=ckpt_dir, batch_size=2, num_batches=-1,
      run_once=True)
  np.testing.assert_allclose(results['losses/total_loss'],
                             np.mean(expected_losses), rtol=1e-5)


def test_gin_configures_evaluators(trained, tmp_path):
  ckpt_dir, _ = trained
  with gin.unlock_config():
    gin.parse_config("""
        evaluate.evaluator_classes = [@evaluators.F0LdEvaluator]
        F0LdEvaluator.run_f0_crepe = False
        evaluate.batch_size = 2
        evaluate.num_batches = 1
    """)
  try:
    results = eval_util.evaluate(
        _provider(), _model(seed=6), evaluator_classes=gin.REQUIRED,
        save_dir=tmp_path, restore_dir=ckpt_dir, run_once=True)
  finally:
    gin.clear_config()
  assert list(results) == ['metrics/loudness/loudness_db']


def test_eval_util_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match='No checkpoint'):
    eval_util.evaluate(_provider(), _model(seed=1),
                       [evaluators.BasicEvaluator], save_dir=tmp_path,
                       run_once=True)
  with pytest.raises(ValueError, match='evaluator_classes'):
    eval_util.evaluate(_provider(), _model(seed=1), [], save_dir=tmp_path)
  with pytest.raises(TypeError, match='evaluator_classes'):
    eval_util.evaluate(_provider(), _model(seed=1), ['BasicEvaluator'],
                       save_dir=tmp_path)
  with pytest.raises(ValueError, match='mode'):
    eval_util.evaluate_or_sample(_provider(), _model(seed=1),
                                 [evaluators.BasicEvaluator], mode='train')
  with pytest.raises(ValueError, match='batch_size'):
    eval_util.evaluate(_provider(), _model(seed=1),
                       [evaluators.BasicEvaluator], batch_size=0)


def test_evaluate_refuses_checkpoint_without_the_weights(tmp_path):
  # Saved before the model was built: the checkpoint holds no weights.
  _save_checkpoint(_model(seed=1), tmp_path, 0)
  with pytest.raises(ValueError, match='does not hold all the weights'):
    eval_util.evaluate(_provider(), _model(seed=1),
                       [evaluators.BasicEvaluator], save_dir=tmp_path,
                       batch_size=2, run_once=True)


def test_evaluate_with_too_few_examples(trained, tmp_path):
  ckpt_dir, _ = trained
  with pytest.raises(ValueError, match='no batch of 8'):
    eval_util.evaluate(_provider(), _model(seed=1),
                       [evaluators.BasicEvaluator], save_dir=tmp_path,
                       restore_dir=ckpt_dir, batch_size=8, num_batches=-1,
                       run_once=True)


# ------------------------------------------------------------------------------
# Evaluators on their own.
# ------------------------------------------------------------------------------
def test_basic_evaluator_averages_losses(tmp_path, rng):
  ev = evaluators.BasicEvaluator(SR, FRAME_RATE)
  values = rng.uniform(0.0, 5.0, [6, 2])
  for a, b in values:
    ev.evaluate({}, {}, {'total_loss': tf.constant(a), 'x': b})
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default():
    results = ev.flush(3)
  writer.flush()
  np.testing.assert_allclose(results['losses/total_loss'], values[:, 0].mean())
  np.testing.assert_allclose(results['losses/x'], values[:, 1].mean())
  events = read_events(tmp_path)
  np.testing.assert_allclose(events['losses/x'][0][2], values[:, 1].mean(),
                             rtol=1e-6)
  ev.evaluate({}, {}, {'total_loss': 1.0, 'x': 2.0})
  with writer.as_default():
    np.testing.assert_allclose(ev.flush(4)['losses/x'], 2.0)  # Reset.


def test_f0_ld_evaluator_scores_predicted_f0(tmp_path):
  ev = evaluators.F0LdEvaluator(SR, FRAME_RATE, run_f0_crepe=False,
                                f0_pred_key='encoder/f0_hz')
  t = np.arange(N_SAMPLES) / SR
  audio = (0.3 * np.sin(2 * np.pi * 440.0 * t))[np.newaxis].astype(np.float32)
  batch = {'audio': audio, 'f0_hz': np.full([1, N_FRAMES], 440.0),
           'f0_confidence': np.ones([1, N_FRAMES])}
  outputs = {'audio_gen': 0.5 * audio,
             'encoder': {'f0_hz': np.full([1, N_FRAMES, 1],
                                          440.0 * 2**(20 / 1200))}}
  ev.evaluate(batch, outputs, {})
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default():
    ev.sample(batch, outputs, 1)
    results = ev.flush(1)
  writer.flush()
  np.testing.assert_allclose(results['metrics/f0/f0_dist_cents'], 20.0,
                             atol=1e-4)
  np.testing.assert_allclose(results['metrics/f0/raw_pitch_accuracy'], 1.0)
  np.testing.assert_allclose(results['metrics/loudness/loudness_db'],
                             20 * np.log10(2), atol=1e-2)
  assert results['metrics/f0/outlier_ratio'] == 0.0
  assert 'f0_midi/f0_predicted_1' in read_events(tmp_path)
  with pytest.raises(ValueError, match='audio_gen'):
    ev.evaluate(batch, {}, {})


def test_sampling_evaluator_writes_nested_outputs(tmp_path):
  ev = evaluators.SamplingEvaluator(
      SR, FRAME_RATE, audio_keys=('audio_gen', 'harmonic/signal'),
      max_outputs=1)
  audio = np.zeros([2, N_SAMPLES], np.float32)
  outputs = {'audio_gen': audio, 'harmonic': {'signal': audio + 0.1}}
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default():
    ev.evaluate({'audio': audio}, outputs, {})  # Does nothing.
    ev.sample({'audio': audio}, outputs, 2)
    assert ev.flush(2) == {}
  writer.flush()
  events = read_events(tmp_path)
  assert sorted(events) == ['audio_gen', 'audio_gen/1', 'harmonic_signal',
                            'harmonic_signal/1']
  assert events['harmonic_signal'][0][2].shape == (1, 2)
  with pytest.raises(KeyError, match='noise'):
    evaluators.SamplingEvaluator(SR, FRAME_RATE, audio_keys='noise').sample(
        {'audio': audio}, outputs, 0)
  with pytest.raises(ValueError, match='audio_keys'):
    evaluators.SamplingEvaluator(SR, FRAME_RATE, audio_keys=())


def test_evaluator_rates_are_checked():
  with pytest.raises(ValueError, match='frame_rate'):
    evaluators.BasicEvaluator(SR, 0)
  ev = evaluators.BaseEvaluator(SR, FRAME_RATE)
  ev.set_rates(22050, 100)
  assert (ev.sample_rate, ev.frame_rate) == (22050, 100)
