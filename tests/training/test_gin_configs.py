"""Tests of the packaged gin configs (ddsp/training/gin): each parses, each
model builds and returns audio of its input's shape, and the configs hold the
published settings."""

import gin
import numpy as np
import pytest
import tensorflow as tf

import ddsp
from ddsp.training import ddsp_run  # pylint: disable=unused-import
from ddsp.training import data
from ddsp.training import decoders
from ddsp.training import evaluators
from ddsp.training import gin as ddsp_gin
from ddsp.training import models
from ddsp.training import preprocessing
from ddsp.training import trainers
import training_helpers as helpers  # tests/training/training_helpers.py

MODEL_CONFIGS = ['models/ae.gin', 'models/solo_instrument.gin',
                 'papers/iclr2020/nsynth_ae.gin',
                 'papers/iclr2020/solo_instrument.gin',
                 'papers/iclr2020/tiny_instrument.gin']
# A 0.256 s example: 4096 samples, 64 frames.
SHORT = [f'Harmonic.n_samples = {helpers.N_SAMPLES}',
         f'FilteredNoise.n_samples = {helpers.N_SAMPLES}',
         f'F0LoudnessPreprocessor.time_steps = {helpers.N_FRAMES}']


@pytest.fixture(autouse=True)
def clean_gin():
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  yield
  gin.clear_config()


def _parse(files, bindings=()):
  with gin.unlock_config():
    gin.parse_config_files_and_bindings(files, list(bindings),
                                        finalize_config=False)


def test_every_packaged_config_parses():
  configs = ddsp_gin.list_configs()
  assert set(MODEL_CONFIGS) <= set(configs)
  assert len(configs) >= 11
  for config in configs:
    gin.clear_config()
    _parse([config])  # Unknown names or references would raise.


@pytest.mark.parametrize('config', MODEL_CONFIGS)
def test_model_config_builds_and_returns_audio_of_input_shape(
    config, shared_data):
  _parse([config], SHORT)
  model = models.get_model()
  assert isinstance(model, models.Autoencoder)
  examples = helpers.violin_examples(shared_data, n_examples=2)
  batch = {k: tf.constant(v) for k, v in examples.items()}
  outputs, losses = model(batch, return_losses=True)
  audio = outputs['audio_synth'].numpy()
  assert audio.shape == examples['audio'].shape
  assert np.all(np.isfinite(audio)) and np.std(audio) > 0
  assert np.isfinite(float(losses['total_loss']))


def test_solo_instrument_settings():
  _parse(['papers/iclr2020/solo_instrument.gin'])
  model = models.get_model()
  assert model.encoder is None
  assert isinstance(model.preprocessor, preprocessing.F0LoudnessPreprocessor)
  assert model.preprocessor.time_steps == 1000
  decoder = model.decoder
  assert isinstance(decoder, decoders.RnnFcDecoder)
  assert (decoder.rnn_channels, decoder.rnn_type, decoder.ch,
          decoder.layers_per_stack) == (512, 'gru', 512, 3)
  assert tuple(decoder.input_keys) == ('ld_scaled', 'f0_scaled')
  assert dict(decoder.output_splits) == {
      'amps': 1, 'harmonic_distribution': 60, 'noise_magnitudes': 65}
  processors = {type(m).__name__: m for m in _dag_modules(
      model.processor_group)}
  assert list(processors) == ['Harmonic', 'FilteredNoise', 'Add', 'Reverb']
  assert processors['Harmonic'].n_samples == 64000
  assert processors['Harmonic'].sample_rate == 16000
  assert processors['FilteredNoise'].n_samples == 64000
  reverb = processors['Reverb']
  assert reverb.trainable and reverb.reverb_length == 48000
  loss, = model.loss_objs
  assert isinstance(loss, ddsp.losses.SpectralLoss)
  assert (loss.loss_type, loss.mag_weight, loss.logmag_weight) == (
      'L1', 1.0, 1.0)
  # The dataset: TFRecords for training, evaluation and sampling.
  for fn in ('train', 'evaluate', 'sample'):
    assert gin.query_parameter(f'{fn}.data_provider').selector == (
        'data.TFRecordProvider')


def _dag_modules(group):
  return [node[0] for node in group.dag]


def test_ae_has_a_z_encoder_and_no_reverb():
  _parse(['models/ae.gin'])
  model = models.get_model()
  assert model.encoder is not None and model.encoder.z_dims == 16
  assert 'z' in model.decoder.input_keys
  names = [type(m).__name__ for m in _dag_modules(model.processor_group)]
  assert names == ['Harmonic', 'FilteredNoise', 'Add']


def test_tiny_instrument_is_smaller():
  _parse(['papers/iclr2020/tiny_instrument.gin'])
  decoder = models.get_model().decoder
  assert (decoder.rnn_channels, decoder.layers_per_stack) == (256, 1)


def test_optimization_and_eval_defaults():
  _parse(['optimization/base.gin', 'eval/basic.gin', 'datasets/tfrecord.gin'],
         ['TFRecordProvider.file_pattern = "/nowhere/*.tfrecord"'])
  assert gin.query_parameter('train.batch_size') is not None
  assert gin.query_parameter('%batch_size') == 32
  assert gin.query_parameter('%learning_rate') == 3e-4
  trainer = trainers.Trainer(models.Model())
  assert (trainer.learning_rate, trainer.lr_decay_steps, trainer.lr_decay_rate,
          trainer.grad_clip_norm, trainer.checkpoints_to_keep) == (
              3e-4, 10000, 0.98, 3.0, 100)
  assert gin.query_parameter('evaluate.batch_size') == 32
  assert gin.query_parameter('sample.ckpt_delay_secs') == 300
  classes = gin.query_parameter('%evaluators')
  assert [c.selector for c in classes] == ['evaluators.BasicEvaluator']
  provider = gin.query_parameter('train.data_provider').scoped_configurable_fn()
  assert isinstance(provider, data.TFRecordProvider)
  # The batch size macro is what --gin_param="batch_size=16" changes.
  _parse([], ['batch_size = 16'])
  assert gin.query_parameter('%batch_size') == 16


def test_basic_f0_ld_lists_both_evaluators():
  _parse(['eval/basic_f0_ld.gin'])
  classes = [c.configurable.wrapped for c in
             gin.query_parameter('%evaluators')]
  assert classes == [evaluators.BasicEvaluator, evaluators.F0LdEvaluator]


def test_mixed_bfloat16_option(shared_data):
  _parse(['models/ae.gin', 'optimization/mixed_bfloat16.gin'], SHORT)
  model = models.get_model()
  assert model.decoder.dtype_policy.name == 'mixed_bfloat16'
  examples = helpers.violin_examples(shared_data, n_examples=1)
  outputs = model({k: tf.constant(v) for k, v in examples.items()})
  assert outputs['amps'].dtype == tf.float32  # Controls leave in float32.
  assert outputs['audio_synth'].shape == examples['audio'].shape


def test_nsynth_splits_by_scope():
  _parse(['datasets/nsynth.gin'])
  for fn, scope, split in (('train', 'train_data', 'train'),
                           ('evaluate', 'eval_data', 'valid'),
                           ('sample', 'sample_data', 'test')):
    ref = gin.query_parameter(f'{fn}.data_provider')
    assert ref.selector == 'data.NSynthTfds' and ref.scopes == [scope]
    assert gin.query_parameter(f'{scope}/NSynthTfds.split') == split
