"""Tests of ddsp.training.checkpoints: one restore policy for every loader,
corrupt checkpoints, interrupted saves and lenient operative configs."""

import logging
import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import checkpoints
from ddsp.training import ddsp_export
from ddsp.training import ddsp_run
from ddsp.training import eval_util
from ddsp.training import evaluators
from ddsp.training import inference
from ddsp.training import models
from ddsp.training import timbre_transfer
from ddsp.training import trainers

import training_helpers as helpers  # tests/training/training_helpers.py

N_FRAMES = 50
HOP = 64

CONFIG = helpers.TINY_AUTOENCODER_GIN


def _batch(n=2):
  t = np.arange(N_FRAMES * HOP) / 16000.0
  return {'audio': np.tile(0.3 * np.sin(2 * np.pi * 220.0 * t),
                           (n, 1)).astype(np.float32),
          'f0_hz': np.full([n, N_FRAMES], 220.0, np.float32),
          'loudness_db': np.full([n, N_FRAMES], -30.0, np.float32)}


@pytest.fixture(name='clean_gin')
def fixture_clean_gin():
  with gin.unlock_config():
    gin.clear_config()
  yield
  with gin.unlock_config():
    gin.clear_config()


def _training_dir(path, steps=(1,), config=CONFIG):
  """A training folder as ddsp_run writes it: config and Trainer checkpoints
  (model and optimizer) at the given steps. Returns the trainer."""
  path.mkdir(exist_ok=True)
  (path / 'operative_config-0.gin').write_text(config)
  with gin.unlock_config():
    gin.parse_config(config)
  trainer = trainers.Trainer(models.get_model())
  trainer.build(_batch())
  with gin.unlock_config():
    gin.clear_config()
  for step in steps:
    for v in trainer.model.trainable_variables:  # "Training".
      v.assign(v + 0.01 * step)
    trainer.step.assign(step)
    trainer.save(path)
  return trainer


def _values(model):
  return [v.numpy() for v in model.trainable_variables]


def _assert_same(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------------------
# Loading under one policy.
# ------------------------------------------------------------------------------
def test_load_model_restores_every_weight_with_one_summary_line(
    tmp_path, clean_gin, caplog):
  trainer = _training_dir(tmp_path / 'run')
  with caplog.at_level(logging.INFO):
    model = inference.load_model(str(tmp_path / 'run'))
  _assert_same(_values(model), _values(trainer.model))
  messages = [r.getMessage() for r in caplog.records]
  assert not [m for m in messages if 'could not be found' in m]
  summary = [m for m in messages if 'other values of the checkpoint' in m]
  n_model = len(model.variables) - 1  # All but the loss' seed state.
  # Unused: the optimizer's step and two moments per trainable weight, and
  # the Trainer's copy of the noise generator state.
  n_unused = 1 + 2 * len(model.trainable_variables) + 1
  assert summary == [
      f'Restored {n_model} variables of [\'model\'] from '
      f'{tmp_path / "run" / "ckpt-1"} ({n_unused} other values of the '
      'checkpoint not used: optimizer state or other objects).']


@pytest.fixture(name='changed_dir')
def fixture_changed_dir(tmp_path, clean_gin):
  """A training folder whose config no longer matches its checkpoint."""
  run = tmp_path / 'run'
  _training_dir(run)
  (run / 'operative_config-0.gin').write_text(CONFIG.replace(
      'RnnFcDecoder.layers_per_stack = 1', 'RnnFcDecoder.layers_per_stack = 2'))
  return run


_MISMATCH = (r"The checkpoint '.*ckpt-1' does not hold all the weights of "
             r"\['model'\]: 12 of the 29 variables are not in it: "
             r"\['model/decoder/input_stack_0/fc_1/dense/_kernel'")


def test_changed_config_fails_in_every_loader(changed_dir, tmp_path):
  with pytest.raises(ValueError, match=_MISMATCH):
    inference.load_model(str(changed_dir))
  with pytest.raises(ValueError, match=_MISMATCH):
    inference.AutoencoderInference(str(changed_dir))
  with pytest.raises(ValueError, match=_MISMATCH):
    ddsp_export.export(str(changed_dir), str(tmp_path / 'export'),
                       tflite=False)
  loaded = timbre_transfer.load_model(str(changed_dir), n_frames=20)
  loaded['model']({'f0_hz': tf.fill([1, 20], 220.0),
                   'loudness_db': tf.fill([1, 20], -30.0)})
  with pytest.raises(ValueError, match=_MISMATCH):
    loaded['restore']()
  with gin.unlock_config():
    checkpoints.parse_operative_config(str(changed_dir))
  provider = _Provider()
  with pytest.raises(ValueError, match=_MISMATCH):
    eval_util.evaluate(provider, models.get_model(),
                       [evaluators.BasicEvaluator], save_dir=tmp_path / 'ev',
                       restore_dir=changed_dir, batch_size=2, run_once=True)


class _Provider:
  sample_rate, frame_rate = 16000, 250

  def get_batch(self, batch_size, shuffle=False, repeats=-1):
    del shuffle, repeats
    return tf.data.Dataset.from_tensors(_batch(batch_size))


def test_model_restore_needs_a_built_model(tmp_path, clean_gin):
  _training_dir(tmp_path / 'run')
  with gin.unlock_config():
    gin.parse_config(CONFIG)
  model = models.get_model()
  with pytest.raises(ValueError, match=r'has no variables yet: call it once'):
    model.restore(str(tmp_path / 'run'))
  checkpoints.build_model(model)
  assert model.restore(str(tmp_path / 'run')).endswith('ckpt-1')


def test_restore_accepts_extra_values_and_names_shape_changes(tmp_path):
  big = tf.keras.layers.Dense(3)
  big.build((None, 2))
  extra = tf.Variable(1.0)
  prefix = tf.train.Checkpoint(model=big, extra=extra).write(
      str(tmp_path / 'ckpt-5'))
  same = tf.keras.layers.Dense(3)
  same.build((None, 2))
  assert checkpoints.restore(prefix, model=same) == prefix
  np.testing.assert_array_equal(same.kernel.numpy(), big.kernel.numpy())
  other = tf.keras.layers.Dense(4)
  other.build((None, 2))
  before = other.kernel.numpy()
  with pytest.raises(ValueError, match=(
      r"2 have another shape: \['model/_kernel \(2, 3\) in the checkpoint, "
      r"\(2, 4\) here', 'model/bias \(3,\) in the checkpoint, \(4,\) here")):
    checkpoints.restore(prefix, model=other)
  np.testing.assert_array_equal(other.kernel.numpy(), before)  # Untouched.


def test_get_model_at_a_length(clean_gin):
  with gin.unlock_config():
    gin.parse_config(CONFIG)
  model = checkpoints.get_model(n_frames=30, extra_frames=1)
  assert model.preprocessor.time_steps == 31
  assert model.processor_group.harmonic.n_samples == 30 * HOP
  assert checkpoints.model_rates(model) == (16000, 250)


# ------------------------------------------------------------------------------
# Corrupt checkpoints and interrupted saves.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('damage', ['truncate', 'empty'])
def test_corrupt_latest_checkpoint_falls_back(tmp_path, clean_gin, caplog,
                                              damage):
  trainer = _training_dir(tmp_path, steps=(1, 2))
  data = tf.io.gfile.glob(str(tmp_path / 'ckpt-2.data-*'))[0]
  size = os.path.getsize(data)
  with open(data, 'r+b') as f:
    f.truncate(size // 2 if damage == 'truncate' else 0)
  fresh = trainers.Trainer(_fresh_model())
  fresh.build(_batch())
  with caplog.at_level(logging.WARNING):
    restored = fresh.restore(tmp_path)
  assert restored == str(tmp_path / 'ckpt-1')
  assert int(fresh.step) == 1
  warnings = [r.getMessage() for r in caplog.records
              if r.levelno == logging.WARNING]
  assert len(warnings) == 1
  assert f"The checkpoint '{tmp_path / 'ckpt-2'}' cannot be read" in (
      warnings[0])
  assert 'Falling back to the previous checkpoint' in warnings[0]
  # Weights of step 1: the step-2 ones minus the 0.02 "training" step.
  for got, want in zip(_values(fresh.model), _values(trainer.model)):
    np.testing.assert_allclose(got, want - 0.02, atol=1e-6)
  # A prefix named explicitly is not replaced by another.
  with pytest.raises(ValueError, match='ckpt-2.*cannot be read'):
    checkpoints.restore(str(tmp_path / 'ckpt-2'), model=fresh.model)


def _fresh_model():
  with gin.unlock_config():
    gin.parse_config(CONFIG)
  model = models.get_model()
  with gin.unlock_config():
    gin.clear_config()
  return model


@pytest.mark.parametrize('fail_at', ['write', 'index'])
def test_interrupted_save_leaves_the_previous_checkpoint(tmp_path, clean_gin,
                                                         monkeypatch,
                                                         fail_at):
  trainer = _training_dir(tmp_path, steps=(1,))
  saved = _values(trainer.model)
  trainer.step.assign(2)
  for v in trainer.model.trainable_variables:
    v.assign(v + 1.0)

  class Killed(Exception):
    pass

  if fail_at == 'write':  # Killed while the data is being written.
    original = tf.train.Checkpoint.write

    def write(self, prefix, *args, **kwargs):
      original(self, prefix, *args, **kwargs)
      raise Killed()
    monkeypatch.setattr(tf.train.Checkpoint, 'write', write)
  else:  # Killed between moving the data and the index into place.
    original = tf.io.gfile.rename

    def rename(source, target, overwrite=False):
      if source.endswith('.index'):
        raise Killed()
      return original(source, target, overwrite=overwrite)
    monkeypatch.setattr(tf.io.gfile, 'rename', rename)
  with pytest.raises(Killed):
    trainer.save(tmp_path)
  monkeypatch.undo()

  assert checkpoints.list_checkpoints(tmp_path) == [str(tmp_path / 'ckpt-1')]
  assert checkpoints.get_latest_checkpoint(tmp_path) == str(
      tmp_path / 'ckpt-1')
  fresh = trainers.Trainer(_fresh_model())
  fresh.build(_batch())
  assert fresh.restore(tmp_path) == str(tmp_path / 'ckpt-1')
  _assert_same(_values(fresh.model), saved)
  # The next save of that step replaces what the interrupted one left.
  assert trainer.save(tmp_path) == str(tmp_path / 'ckpt-2')
  assert checkpoints.find_readable_checkpoint(tmp_path) == str(
      tmp_path / 'ckpt-2')
  assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]


def test_save_keeps_the_newest(tmp_path):
  variable = tf.Variable(0.0)
  checkpoint = tf.train.Checkpoint(v=variable)
  for step in (1, 2, 3):
    variable.assign(float(step))
    checkpoints.save(checkpoint, tmp_path, step, max_to_keep=2)
  assert checkpoints.list_checkpoints(tmp_path) == [
      str(tmp_path / 'ckpt-3'), str(tmp_path / 'ckpt-2')]
  state = tf.train.get_checkpoint_state(str(tmp_path))
  assert list(state.all_model_checkpoint_paths) == [
      str(tmp_path / 'ckpt-2'), str(tmp_path / 'ckpt-3')]
  assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / 'ckpt-3')
  assert not tf.io.gfile.glob(str(tmp_path / 'ckpt-1.*'))


# ------------------------------------------------------------------------------
# Gin.
# ------------------------------------------------------------------------------
def test_operative_config_skips_unknown_names_with_one_warning(
    tmp_path, clean_gin, caplog):
  (tmp_path / 'operative_config-7.gin').write_text(
      CONFIG + '\nimport ddsp.not_a_module\nOldDecoder.width = 3\n'
      'get_model.old_parameter = 4\n')
  with caplog.at_level(logging.WARNING):
    path, skipped = checkpoints.parse_operative_config(str(tmp_path))
  assert path == str(tmp_path / 'operative_config-7.gin')
  assert skipped == ['import ddsp.not_a_module', 'OldDecoder.width',
                     'get_model.old_parameter']
  warnings = [r.getMessage() for r in caplog.records
              if r.levelno == logging.WARNING]
  assert warnings == [
      f'The operative config {path} names 3 things this version of ddsp '
      'does not know; they were skipped: import ddsp.not_a_module, '
      'OldDecoder.width, get_model.old_parameter']
  assert gin.query_parameter('RnnFcDecoder.ch') == 8
  assert gin.query_parameter('Harmonic.n_samples') == 3200


@pytest.fixture(name='flags')
def fixture_flags(clean_gin):
  del clean_gin
  yield ddsp_run.FLAGS
  ddsp_run.FLAGS.unparse_flags()


@pytest.mark.parametrize('binding, message', [
    ('trian.num_steps = 2',
     r"(?s)No configurable matching 'trian'.*\n Did you mean train\?"),
    ('RnnFcDecodr.ch = 999',
     r"(?s)No configurable matching 'RnnFcDecodr'.*Did you mean RnnFcDecoder"),
    ('train.num_stepz = 2',
     r"(?s)Configurable 'train' doesn't have a parameter named 'num_stepz'"
     r'.*Did you mean train.num_steps\?'),
])
def test_ddsp_run_gin_typos_are_errors(flags, tmp_path, binding, message):
  flags(['ddsp_run', f'--gin_param={binding}'])
  with pytest.raises(ValueError, match=message):
    ddsp_run.parse_gin(str(tmp_path))


def test_ddsp_run_gin_file_typos_are_errors(flags, tmp_path):
  (tmp_path / 'mine.gin').write_text('train.num_stepz = 2\n')
  flags(['ddsp_run', f'--gin_file={tmp_path / "mine.gin"}'])
  with pytest.raises(ValueError, match="doesn't have a parameter named "
                                       "'num_stepz'"):
    ddsp_run.parse_gin(str(tmp_path / 'nothing'))


def test_ddsp_run_restores_an_old_operative_config(flags, tmp_path, caplog):
  (tmp_path / 'operative_config-3.gin').write_text(
      CONFIG + '\nOldDecoder.width = 3\n')
  flags(['ddsp_run', '--gin_param=train.num_steps = 2'])
  with caplog.at_level(logging.WARNING):
    ddsp_run.parse_gin(str(tmp_path))
  assert gin.query_parameter('train.num_steps') == 2
  assert gin.query_parameter('RnnFcDecoder.ch') == 8
  assert [r.getMessage() for r in caplog.records
          if 'OldDecoder.width' in r.getMessage()]


_KILLED_SAVE_SCRIPT = """
import sys, time
import tensorflow as tf
from ddsp.training import checkpoints
directory = sys.argv[1]
variable = tf.Variable([1.0, 2.0])
checkpoint = tf.train.Checkpoint(v=variable)
checkpoints.save(checkpoint, directory, 1)
variable.assign([5.0, 6.0])
rename = tf.io.gfile.rename
def slow_rename(source, target, overwrite=False):
  if source.endswith('.index'):
    print('SAVING', flush=True)
    time.sleep(120)  # Killed here, inside the save.
  rename(source, target, overwrite=overwrite)
tf.io.gfile.rename = slow_rename
checkpoints.save(checkpoint, directory, 2)
"""


@pytest.mark.slow
def test_a_process_killed_inside_a_save_leaves_the_previous_checkpoint(
    tmp_path):
  import signal  # pylint: disable=g-import-not-at-top
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  process = subprocess.Popen(
      [sys.executable, '-c', _KILLED_SAVE_SCRIPT, str(tmp_path)],
      stdout=subprocess.PIPE, text=True, env=env)
  try:
    assert process.stdout.readline().strip() == 'SAVING'
    assert tf.io.gfile.glob(str(tmp_path / 'ckpt-2.data-*'))  # Half saved.
  finally:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
  assert checkpoints.get_latest_checkpoint(tmp_path) == str(
      tmp_path / 'ckpt-1')
  variable = tf.Variable([0.0, 0.0])
  assert checkpoints.restore(tmp_path, v=variable) == str(tmp_path / 'ckpt-1')
  np.testing.assert_array_equal(variable.numpy(), [1.0, 2.0])
