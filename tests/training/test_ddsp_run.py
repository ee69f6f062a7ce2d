"""Tests of the ddsp_run command line: train, resume, eval and sample on a tiny
TFRecord of real violin audio, each in its own process as a user runs it."""

import os
import subprocess
import sys

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import ddsp_run
from ddsp.training import gin as ddsp_gin
from ddsp.training import models
from ddsp.training import train_util
import training_helpers as helpers  # tests/training/training_helpers.py

SEED = 3


def _ddsp_run(*args):
  """Runs `python -m ddsp.training.ddsp_run args`; returns the process."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run(
      [sys.executable, '-m', 'ddsp.training.ddsp_run', *args],
      capture_output=True, text=True, env=env, timeout=600, check=False)


def _small_model_params(record_path):
  """Gin bindings: the solo-instrument model shrunk to 0.256 s examples."""
  n, frames = helpers.N_SAMPLES, helpers.N_FRAMES
  params = [
      f"TFRecordProvider.file_pattern = '{record_path}'",
      f'TFRecordProvider.example_secs = {helpers.EXAMPLE_SECS}',
      'TFRecordProvider.seed = 1',
      f'Harmonic.n_samples = {n}', f'FilteredNoise.n_samples = {n}',
      f'F0LoudnessPreprocessor.time_steps = {frames}',
      'RnnFcDecoder.rnn_channels = 16', 'RnnFcDecoder.ch = 16',
      'RnnFcDecoder.layers_per_stack = 1', 'Reverb.reverb_length = 800',
      'SpectralLoss.fft_sizes = (512, 128)', 'batch_size = 2',
      'train.steps_per_summary = 1', 'train.steps_per_save = 2',
  ]
  return [f'--gin_param={p}' for p in params]


# Evaluation settings are not in the training run's operative config (it
# holds only what training used): give them at evaluation time.
EVAL_PARAMS = ['--gin_param=evaluate.batch_size = 2',
               '--gin_param=evaluate.num_batches = 1',
               '--gin_param=sample.batch_size = 2']


@pytest.mark.slow
def test_train_resume_eval_and_sample_from_the_command_line(test_data,
                                                            tmp_path):
  record = tmp_path / 'violin.tfrecord'
  examples = helpers.violin_examples(test_data, n_examples=6)
  helpers.write_tfrecord(record, examples)
  save_dir = tmp_path / 'model'
  params = _small_model_params(record)

  # Train 3 steps.
  result = _ddsp_run('--mode=train', f'--save_dir={save_dir}', f'--seed={SEED}',
                     '--gin_file=papers/iclr2020/solo_instrument.gin',
                     '--gin_param=train.num_steps = 3', *params)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Training finished at step 3' in result.stderr
  assert 'Path not found' not in result.stderr  # gin's lookup noise.
  for name in ('ckpt-2.index', 'ckpt-3.index', 'operative_config-0.gin',
               'data_iterator/iterator-3.index'):
    assert (save_dir / name).exists(), name
  config = (save_dir / 'operative_config-0.gin').read_text()
  assert 'Reverb.reverb_length = 800' in config
  assert 'Trainer.learning_rate = %learning_rate' in config
  train_events = helpers.read_events(save_dir / 'summaries' / 'train')
  assert [s for s, _ in train_events['losses/total_loss']] == [1, 2, 3]

  # Resume to step 4: the operative config brings the model back, so only
  # the data and the new step count are given.
  result = _ddsp_run('--mode=train', f'--save_dir={save_dir}', f'--seed={SEED}',
                     '--gin_file=datasets/tfrecord.gin',
                     '--gin_param=train.num_steps = 4')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Restored the model, optimizer and step 3' in result.stderr
  assert 'Restored the data position of step 3' in result.stderr
  assert (save_dir / 'ckpt-4.index').exists()
  assert (save_dir / 'operative_config-3.gin').exists()

  # Evaluate the latest checkpoint once.
  result = _ddsp_run('--mode=eval', f'--save_dir={save_dir}', '--run_once',
                     f'--seed={SEED}', '--gin_file=datasets/tfrecord.gin',
                     *EVAL_PARAMS)
  assert result.returncode == 0, result.stderr[-3000:]
  eval_events = helpers.read_events(save_dir / 'summaries' / 'eval')
  (step, eval_loss), = eval_events['losses/total_loss']
  assert step == 4

  # The same loss in this process: the operative config's model with the
  # weights of ckpt-4 on the first 2 examples (evaluation does not shuffle).
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  with gin.unlock_config():
    gin.parse_config_file(
        train_util.get_latest_operative_config(save_dir), skip_unknown=True)
  keras.utils.set_random_seed(SEED)  # The noise seeds ddsp_run drew.
  model = models.get_model()
  gin.clear_config()
  batch = {k: tf.constant(v[:2]) for k, v in examples.items()}
  untrained = float(model(batch, return_losses=True)[1]['total_loss'])
  model.restore(save_dir / 'ckpt-4')
  _, losses = model(batch, return_losses=True)
  np.testing.assert_allclose(eval_loss, float(losses['total_loss']),
                             rtol=1e-4)
  assert abs(untrained - float(losses['total_loss'])) > 1e-3

  # Sample: audio of the latest checkpoint.
  result = _ddsp_run('--mode=sample', f'--save_dir={save_dir}', '--run_once',
                     '--gin_file=datasets/tfrecord.gin', *EVAL_PARAMS)
  assert result.returncode == 0, result.stderr[-3000:]
  events = helpers.read_events(save_dir / 'summaries' / 'eval')
  audio_tags = [t for t in events if 'audio' in t]
  assert audio_tags and all(events[t][0][0] == 4 for t in audio_tags)


def test_missing_gin_file_message(tmp_path):
  with pytest.raises(FileNotFoundError,
                     match=r"--gin_file='models/nope.gin' is neither a file "
                           r'nor in the gin search path.*Packaged configs: .*'
                           r'models/solo_instrument.gin'):
    ddsp_run.resolve_gin_file('models/nope.gin',
                              [ddsp_gin.GIN_PATH, str(tmp_path)])
  (tmp_path / 'mine.gin').write_text('')
  assert ddsp_run.resolve_gin_file('mine.gin', [str(tmp_path)]) == str(
      tmp_path / 'mine.gin')
  packaged = ddsp_run.resolve_gin_file('models/ae.gin')
  assert packaged == os.path.join(ddsp_gin.GIN_PATH, 'models', 'ae.gin')

