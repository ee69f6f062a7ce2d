"""Tests of ddsp.training.train_util: the training loop, resuming, summaries,
files and strategies."""

import logging
import os
import subprocess
import sys
import types

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import data
from ddsp.training import train_util
from ddsp.training import trainers
import training_helpers as helpers  # tests/training/training_helpers.py


@pytest.fixture
def examples(test_data):
  return helpers.violin_examples(test_data, n_examples=6)


def _trainer(seed=0, **kwargs):
  keras.utils.set_random_seed(seed)
  return trainers.Trainer(helpers.tiny_model(), learning_rate=1e-2, **kwargs)


# ------------------------------------------------------------------------------
# Training loop.
# ------------------------------------------------------------------------------
@pytest.mark.slow
def test_stopped_and_resumed_equals_uninterrupted(examples, tmp_path):
  """Same seed: 3 + 3 steps (new model, restored) == 6 steps in one run."""
  # A shuffled provider: the data position must be restored too.
  provider = lambda: data.InMemoryProvider(examples, seed=4)
  kwargs = dict(batch_size=2, steps_per_summary=100, progress_bar=False)

  whole = _trainer(seed=7)
  train_util.train(provider(), whole, num_steps=6, steps_per_save=3,
                   save_dir=tmp_path / 'whole', restore_dir='', **kwargs)

  parts = dict(save_dir=tmp_path / 'parts', restore_dir=tmp_path / 'parts')
  first = _trainer(seed=7)
  train_util.train(provider(), first, num_steps=3, steps_per_save=100,
                   **parts, **kwargs)
  at_3 = helpers.weights(first.model)
  resumed = _trainer(seed=7)
  train_util.train(provider(), resumed, num_steps=6, steps_per_save=100,
                   **parts, **kwargs)
  assert int(resumed.step) == 6
  final = helpers.weights(resumed.model)
  for got, want in zip(final, helpers.weights(whole.model)):
    np.testing.assert_array_equal(got, want)
  # The last 3 steps did change the weights.
  assert max(np.max(np.abs(a - b)) for a, b in zip(final, at_3)) > 1e-3
  # Without the data position the resumed run differs (the test sees it).
  tf.io.gfile.rmtree(str(tmp_path / 'parts' / 'data_iterator'))
  for name in tf.io.gfile.glob(str(tmp_path / 'parts' / 'ckpt-6*')):
    tf.io.gfile.remove(name)
  with open(tmp_path / 'parts' / 'checkpoint', 'w') as f:
    f.write('model_checkpoint_path: "ckpt-3"\n')
  no_position = _trainer(seed=7)
  train_util.train(provider(), no_position, num_steps=6, steps_per_save=100,
                   **parts, **kwargs)
  assert any(not np.array_equal(a, b) for a, b in zip(
      helpers.weights(no_position.model), final))


@pytest.mark.slow
def test_train_writes_checkpoints_config_and_summaries(examples, tmp_path):
  gin.clear_config()
  with gin.unlock_config():
    gin.parse_config('train.steps_per_save = 3')
  save_dir = tmp_path
  trainer = _trainer(lr_decay_steps=2, lr_decay_rate=0.5)
  losses = train_util.train(
      data.InMemoryProvider(examples, seed=0), trainer, batch_size=2,
      num_steps=4, steps_per_summary=2, save_dir=save_dir,
      restore_dir=save_dir, progress_bar=False)
  gin.clear_config()
  assert int(trainer.step) == 4
  assert {'total_loss', 'spectral_loss', 'gradient_norm'} <= set(losses)
  # Checkpoints at the save cadence and at the end; the latest is 4.
  assert tf.train.latest_checkpoint(str(save_dir)).endswith('ckpt-4')
  assert tf.io.gfile.exists(str(save_dir / 'ckpt-3.index'))
  assert tf.io.gfile.exists(str(save_dir / 'data_iterator' /
                                'iterator-4.index'))
  # The operative config holds the gin bindings and defaults that were used.
  config = (save_dir / 'operative_config-0.gin').read_text()
  assert 'train.steps_per_save = 3' in config
  assert 'Trainer.grad_clip_norm = 3.0' in config
  events = helpers.read_events(save_dir / 'summaries' / 'train')
  assert [s for s, _ in events['losses/total_loss']] == [2, 4]
  assert [s for s, _ in events['steps_per_sec']] == [2, 4]
  assert all(v > 0 for _, v in events['steps_per_sec'])
  # Learning rate 1e-2 * 0.5 ** (step / 2) (smooth exponential decay).
  for step, value in events['learning_rate']:
    np.testing.assert_allclose(value, 1e-2 * 0.5**(step / 2), rtol=1e-6)
  assert np.isfinite(events['losses/total_loss'][-1][1])
  assert 'gradient_norm' in events
  assert 'gin/operative_config' in events

  # Resuming a run that reached num_steps does nothing.
  again = _trainer(lr_decay_steps=2, lr_decay_rate=0.5)
  losses = train_util.train(data.InMemoryProvider(examples), again,
                            batch_size=2, num_steps=4, save_dir='',
                            restore_dir=save_dir, progress_bar=False)
  assert losses == {} and int(again.step) == 4
  for got, want in zip(helpers.weights(again.model),
                       helpers.weights(trainer.model)):
    np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_non_finite_loss_stops_and_saves_last_good_state(examples, tmp_path,
                                                         caplog):
  bad = dict(examples)
  bad['audio'] = examples['audio'].copy()
  bad['audio'][4:] = np.inf  # The third batch of 2 (in order).
  trainer = _trainer()
  with caplog.at_level(logging.ERROR):
    with pytest.raises(trainers.NonFiniteLossError,
                       match='Non-finite input at step 2'):
      train_util.train(helpers.OrderedProvider(bad), trainer, batch_size=2,
                       num_steps=10, steps_per_save=100, save_dir=tmp_path,
                       restore_dir='', progress_bar=False)
  assert 'the last good state is saved in' in caplog.text
  assert int(trainer.step) == 2
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-2')
  good = helpers.weights(trainer.model)
  assert all(np.all(np.isfinite(w)) for w in good)
  # The checkpoint holds those weights.
  other = _trainer()
  other.build({k: tf.constant(v[:2]) for k, v in examples.items()})
  other.restore(tmp_path)
  for got, want in zip(helpers.weights(other.model), good):
    np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_early_stop_and_log_lines(examples, tmp_path, caplog):
  trainer = _trainer()
  with caplog.at_level(logging.INFO):
    losses = train_util.train(
        data.InMemoryProvider(examples, seed=0), trainer, batch_size=2,
        num_steps=100, steps_per_summary=1, save_dir=tmp_path,
        restore_dir='', early_stop_loss_value=1e9, progress_bar=False)
  assert int(trainer.step) == 1
  assert losses['total_loss'] <= 1e9
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-1')
  assert 'reached early_stop_loss_value' in caplog.text
  assert 'step 1/100  spectral_loss:' in caplog.text  # The plain log line.


def test_progress_bar_shows_the_loss(examples, capsys):
  train_util.train(data.InMemoryProvider(examples, seed=0), _trainer(),
                   batch_size=2, num_steps=2, save_dir='', restore_dir='',
                   progress_bar=True)
  err = capsys.readouterr().err
  assert '2/2' in err and 'loss=' in err


def test_train_errors(examples):
  provider = data.InMemoryProvider(examples)
  with pytest.raises(ValueError, match='`batch_size` must be a positive'):
    train_util.train(provider, _trainer(), batch_size=0)
  with pytest.raises(ValueError, match='`steps_per_save`'):
    train_util.train(provider, _trainer(), steps_per_save=-1)
  with pytest.raises(TypeError, match='`trainer` must be a ddsp.training'):
    train_util.train(provider, helpers.tiny_model())
  with pytest.raises(ImportError, match='cloudml-hypertune'):
    train_util.train(provider, _trainer(), report_loss_to_hypertune=True)


# ------------------------------------------------------------------------------
# Files and strategies.
# ------------------------------------------------------------------------------
def test_get_latest_file_compares_numbers_not_strings(tmp_path):
  for step in (9, 10, 100, 30):
    (tmp_path / f'operative_config-{step}.gin').write_text('')
  (tmp_path / 'operative_config-x.gin').write_text('')
  (tmp_path / 'other-500.gin').write_text('')
  assert train_util.get_latest_operative_config(tmp_path).endswith(
      'operative_config-100.gin')
  assert train_util.get_latest_file(tmp_path, 'other-').endswith(
      'other-500.gin')
  with pytest.raises(FileNotFoundError, match='No file ckpt-<number>.gin'):
    train_util.get_latest_file(tmp_path, 'ckpt-')
  with pytest.raises(FileNotFoundError, match='No directory'):
    train_util.get_latest_file(tmp_path / 'missing')


def test_get_latest_checkpoint(tmp_path):
  checkpoint = tf.train.Checkpoint(v=tf.Variable(1.0))
  with pytest.raises(FileNotFoundError, match='No checkpoint in the dir'):
    train_util.get_latest_checkpoint(tmp_path)
  for step in (2, 10):
    checkpoint.write(str(tmp_path / f'ckpt-{step}'))
  # Without a 'checkpoint' state file (written by `write`), by number.
  assert train_util.get_latest_checkpoint(tmp_path).endswith('ckpt-10')
  prefix = str(tmp_path / 'ckpt-2')
  assert train_util.get_latest_checkpoint(prefix) == prefix
  with pytest.raises(FileNotFoundError, match='neither a checkpoint dir'):
    train_util.get_latest_checkpoint(str(tmp_path / 'ckpt-3'))


@gin.configurable('train_util_test_fn')
def _configurable_fn(value=1):
  return value


def test_write_gin_config(tmp_path):
  gin.clear_config()
  fn = _configurable_fn
  with gin.unlock_config():
    gin.parse_config('train_util_test_fn.value = 5')
  assert fn() == 5
  writer = tf.summary.create_file_writer(str(tmp_path / 'events'))
  path = train_util.write_gin_config(writer, tmp_path, 42)
  writer.flush()
  assert os.path.basename(path) == 'operative_config-42.gin'
  text = (tmp_path / 'operative_config-42.gin').read_text()
  assert 'train_util_test_fn.value = 5' in text
  events = helpers.read_events(tmp_path / 'events')
  (step, value), = events['gin/operative_config']
  assert step == 42 and b'train_util_test_fn.value = 5' in value.item()
  # The file parses back.
  gin.clear_config()
  gin.parse_config_file(path)
  assert fn() == 5
  gin.clear_config()


def test_get_strategy():
  assert train_util.get_strategy() is tf.distribute.get_strategy()
  with pytest.raises(ValueError, match='`cluster_config` must be a JSON str'):
    train_util.get_strategy(cluster_config='{worker: 1')
  with pytest.raises(ValueError, match='with a "cluster" entry'):
    train_util.get_strategy(cluster_config='{"task": {}}')


def _sine_examples(n=4):
  """Sines at 220-440 Hz with their f0 and a constant loudness."""
  t = np.arange(helpers.N_SAMPLES) / 16000.0
  f0 = np.linspace(220.0, 440.0, n)
  return {'audio': (0.3 * np.sin(2 * np.pi * f0[:, None] * t)).astype(
              np.float32),
          'f0_hz': np.repeat(f0[:, None], helpers.N_FRAMES, 1).astype(
              np.float32),
          'loudness_db': np.full([n, helpers.N_FRAMES], -30.0, np.float32)}


@pytest.mark.slow
def test_without_a_terminal_logs_progress_and_summarizes_audio(tmp_path,
                                                              caplog):
  with caplog.at_level(logging.INFO):
    train_util.train(data.InMemoryProvider(_sine_examples(), seed=0),
                     _trainer(), batch_size=2, num_steps=3,
                     steps_per_summary=3, save_dir=tmp_path,
                     restore_dir=tmp_path, progress_bar=False,
                     log_every_secs=0.0)
  messages = [r.getMessage() for r in caplog.records]
  progress = [m for m in messages if m.startswith('step ')]
  assert [m.split()[1] for m in progress] == ['1/3', '2/3', '3/3']
  assert all('total_loss: ' in m and 'steps/s, ETA ' in m for m in progress)
  assert progress[-1].endswith('ETA 0s)')
  final = [m for m in messages if m.startswith('Training finished')]
  assert len(final) == 1
  assert final[0].startswith('Training finished at step 3: 3 steps in ')
  assert f'Checkpoints in {tmp_path}: the latest is {tmp_path / "ckpt-3"}.' in (
      final[0])
  # The training job itself writes audio and spectrograms of a fixed batch.
  events = helpers.read_events(tmp_path / 'summaries' / 'train',
                               with_plugin=True)
  plugins = {tag: entries[0][1] for tag, entries in events.items()}
  audio_tags = sorted(t for t, p in plugins.items() if p == 'audio')
  assert audio_tags == ['audio_gen', 'audio_original']
  assert [e[0] for e in events['audio_gen']] == [3]
  images = [t for t, p in plugins.items() if p == 'images']
  assert len(images) == 2 and all(t.startswith('spectrogram') for t in images)
  # The original audio is the first examples of the data (a fixed batch).
  wav = events['audio_original'][0][2]
  assert wav.shape[0] == 2


def test_log_lines_follow_wall_time(monkeypatch, caplog):
  clock = iter([0.0, 0.0, 4.0, 11.0, 15.0, 22.0])
  monkeypatch.setattr(train_util, 'time',
                      types.SimpleNamespace(time=lambda: next(clock)))
  # pylint: disable-next=protected-access
  progress = train_util._Progress(0, 100, 10.0, use_bar=False)
  with caplog.at_level(logging.INFO):
    for step in range(1, 6):
      progress.update(step, {'total_loss': 1.0})
  lines = [r.getMessage() for r in caplog.records]
  # Logged at t=0 (first), 11 and 22 s; the rate is steps / elapsed time.
  assert [l.split()[1] for l in lines] == ['1/100', '3/100', '5/100']
  # 3 steps in 11 s; 97 steps left: 355.7 s.
  assert lines[1].endswith('(0.27 steps/s, ETA 5m56s)')


@pytest.mark.slow
def test_corrupt_latest_checkpoint_does_not_end_the_run(tmp_path, caplog):
  kwargs = dict(batch_size=2, steps_per_summary=100, steps_per_save=1,
                save_dir=tmp_path, restore_dir=tmp_path, progress_bar=False,
                summarize_audio=False)
  provider = data.InMemoryProvider(_sine_examples(), seed=0)
  first = _trainer(seed=1)
  train_util.train(provider, first, num_steps=2, **kwargs)
  data_file = tf.io.gfile.glob(str(tmp_path / 'ckpt-2.data-*'))[0]
  with open(data_file, 'r+b') as f:
    f.truncate(os.path.getsize(data_file) // 3)
  resumed = _trainer(seed=2)
  with caplog.at_level(logging.INFO):
    train_util.train(provider, resumed, num_steps=3, **kwargs)
  assert int(resumed.step) == 3
  assert f"The checkpoint '{tmp_path / 'ckpt-2'}' cannot be read" in (
      caplog.text)
  assert 'Restored the model, optimizer and step 1 from' in caplog.text
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('ckpt-3')


_MIRRORED_RESUME_SCRIPT = r'''
import json, pathlib, sys
import numpy as np
import tensorflow as tf
cpu, = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
sys.path.insert(0, sys.argv[1])
import training_helpers as helpers
from ddsp.training import data, train_util, trainers

examples = helpers.violin_examples(pathlib.Path(sys.argv[2]), 6)
save_dir = pathlib.Path(sys.argv[3])
strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])


class Recorder(trainers.Trainer):
  """Records the audio each step gets (replica 0's, then replica 1's);
  applies no update, only advances the step."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    self.seen = []

  def train_step(self, inputs):
    batch = next(inputs)
    self.seen.append(np.concatenate([
        t.numpy() for t in strategy.experimental_local_results(
            batch['audio'])]))
    self.step.assign_add(1)
    return {'total_loss': tf.constant(1.0)}


def run(num_steps, folder, restore=True):
  keras.utils.set_random_seed(0)
  with strategy.scope():
    trainer = Recorder(helpers.tiny_model(noise=False), strategy=strategy)
  train_util.train(data.InMemoryProvider(examples, seed=4), trainer,
                   batch_size=4, num_steps=num_steps, steps_per_summary=100,
                   steps_per_save=100, save_dir=folder,
                   restore_dir=folder if restore else '', progress_bar=False,
                   summarize_audio=False)
  return trainer.seen

whole = run(5, save_dir / 'whole', restore=False)
# The replicas' halves, in order, are the one-device batches of the data.
keras.utils.set_random_seed(0)
plain = [b['audio'].numpy() for b in data.InMemoryProvider(
    examples, seed=4).get_batch(4).take(5)]
np.testing.assert_array_equal(np.stack(whole), np.stack(plain))
assert len({b.tobytes() for b in plain}) == 5   # 5 different batches.

assert len(run(2, save_dir / 'parts')) == 2
position = json.loads((save_dir / 'parts' / 'data_iterator' /
                       'batches-2.json').read_text())
assert position == {'step': 2, 'batches': 2}, position
resumed = run(5, save_dir / 'parts')
# The resumed run sees batches 3 to 5 of the uninterrupted one, not the
# first three again.
np.testing.assert_array_equal(np.stack(resumed), np.stack(whole[2:]))
assert not np.array_equal(resumed[0], whole[0])
assert sorted(p.name for p in (save_dir / 'parts' / 'data_iterator')
              .iterdir()) == ['batches-5.json']
print('MIRRORED RESUME OK')
'''


@pytest.mark.slow
def test_resume_on_two_replicas_continues_the_data_order(test_data,
                                                         tmp_path):
  """MirroredStrategy on 2 CPUs: 2 + 3 steps see the batches of 5 steps."""
  here = os.path.dirname(os.path.abspath(__file__))
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  result = subprocess.run(
      [sys.executable, '-c', _MIRRORED_RESUME_SCRIPT, here, str(test_data),
       str(tmp_path)], capture_output=True, text=True, env=env, timeout=600,
      check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'MIRRORED RESUME OK' in result.stdout
