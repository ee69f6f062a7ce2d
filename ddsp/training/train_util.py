"""The training loop, distribution strategies and checkpoint/config files.

`train(data_provider, trainer, ...)` is what `ddsp_run --mode=train` runs:

* it resumes from the latest checkpoint in `restore_dir` (model, optimizer,
  step, noise generator states and the position in the data, on one replica
  or several), so a run stopped and restarted with the same seed ends with
  the same weights as an uninterrupted one,
* it writes the operative gin config beside the checkpoints
  (`operative_config-<step>.gin`, also shown in TensorBoard),
* it logs the losses (averaged over `steps_per_summary` steps), the gradient
  norm, the learning rate and steps/s to TensorBoard
  (`<save_dir>/summaries/train`), and shows a progress bar with the current
  loss in a terminal (a periodic log line otherwise),
* it stops with `trainers.NonFiniteLossError` at the first NaN/infinite loss
  or gradient (the update of that step is not applied, the last good state is
  saved).

Gin names: `train` (module `ddsp.training.train_util`), e.g.
`train.batch_size = 16`, `train.num_steps = 30000`.
"""

import json
import logging
import os
import sys
import time

import gin
import numpy as np
import tensorflow as tf

from ddsp import registration
from ddsp import validation
from ddsp.training import checkpoints
from ddsp.training import summaries
from ddsp.training import trainers

__all__ = [
    'expand_path',
    'get_latest_checkpoint',
    'get_latest_file',
    'get_latest_operative_config',
    'get_strategy',
    'train',
    'write_gin_config',
]

_DATA_DIR = 'data_iterator'  # Sub-directory of the data position checkpoints.


# ------------------------------------------------------------------------------
# Distribution strategies.
# ------------------------------------------------------------------------------
def get_strategy(tpu='', cluster_config=''):
  """A `tf.distribute.Strategy` for the hardware at hand.

  Args:
    tpu: address of a TPU (e.g. 'grpc://10.0.0.2:8470' or a Cloud TPU name);
      '' for none. Gives a `TPUStrategy`.
    cluster_config: JSON string of the multi-worker cluster, in the format of
      the `TF_CONFIG` environment variable, e.g. '{"cluster": {"worker":
      ["host1:2222", "host2:2222"]}, "task": {"type": "worker", "index":
      0}}'; '' for a single machine. Gives a `MultiWorkerMirroredStrategy`.

  Returns:
    `TPUStrategy` with `tpu`, else `MultiWorkerMirroredStrategy` with
    `cluster_config`, else `MirroredStrategy` over all local GPUs when there
    are several, else the default strategy (one device: the GPU or the CPU).

  Raises:
    ValueError: `cluster_config` is not a JSON object.
  """
  if tpu:
    logging.info('Using a TPU at %s.', tpu)
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  if cluster_config:
    try:
      config = json.loads(cluster_config)
    except json.JSONDecodeError as e:
      raise ValueError(
          '`cluster_config` must be a JSON string in the TF_CONFIG format, '
          'e.g. \'{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
          '"task": {"type": "worker", "index": 0}}\'. Received: '
          f'cluster_config={cluster_config!r} ({e})') from e
    if not isinstance(config, dict) or 'cluster' not in config:
      raise ValueError(
          '`cluster_config` must be a JSON object with a "cluster" entry (the '
          f'TF_CONFIG format). Received: cluster_config={cluster_config!r}')
    os.environ['TF_CONFIG'] = cluster_config
    logging.info('Using a multi-worker cluster: %s', cluster_config)
    return tf.distribute.MultiWorkerMirroredStrategy()
  gpus = tf.config.list_logical_devices('GPU')
  if len(gpus) > 1:
    logging.info('Using MirroredStrategy over %d GPUs.', len(gpus))
    return tf.distribute.MirroredStrategy()
  return tf.distribute.get_strategy()


# ------------------------------------------------------------------------------
# Files.
# ------------------------------------------------------------------------------
# One home for these (model loading): `ddsp.training.checkpoints`.
expand_path = checkpoints.expand_path
get_latest_file = checkpoints.get_latest_file
get_latest_checkpoint = checkpoints.get_latest_checkpoint
get_latest_operative_config = checkpoints.get_latest_operative_config


def write_gin_config(summary_writer, save_dir, step):
  """Writes the operative gin config to a file and to TensorBoard.

  The operative config lists every gin parameter used so far (defaults
  included), so call this after the model, trainer and data are built.

  Args:
    summary_writer: a `tf.summary` writer, or None for the file only.
    save_dir: directory of `operative_config-<step>.gin`.
    step: int, the training step (in the file name).

  Returns:
    The path of the written file.
  """
  config_str = gin.operative_config_str()
  save_dir = expand_path(save_dir)
  tf.io.gfile.makedirs(save_dir)
  path = os.path.join(save_dir, f'operative_config-{int(step)}.gin')
  with tf.io.gfile.GFile(path, 'w') as f:
    f.write(config_str)
  if summary_writer is not None:
    # Markdown: indent every line so that TensorBoard shows it as code.
    text = '\n'.join('    ' + line for line in config_str.splitlines())
    with summary_writer.as_default():
      tf.summary.text('gin/operative_config', text, step=int(step))
  logging.info('Wrote the operative gin config to %s.', path)
  return path


# ------------------------------------------------------------------------------
# Data position.
# ------------------------------------------------------------------------------
class _DataPosition:
  """Saves and restores the position of the training data with the step.

  A resumed run reads the batches an uninterrupted run would have read:

  * on one replica the iterator's state (shuffle buffer and random state
    included) is checkpointed beside the model's checkpoints
    (`data_iterator/iterator-<step>`);
  * on several replicas (a `MirroredStrategy`, a multi-worker cluster) a
    distributed iterator cannot be checkpointed, so the number of global
    batches consumed is saved instead (`data_iterator/batches-<step>.json`)
    and a resumed run skips that many batches of a fresh, identically
    seeded pipeline before distributing it. Skipping reads the skipped
    batches (a few seconds per thousand steps, depending on the data).

  The position is written before the model's checkpoint, so that a kill
  between the two leaves one for whichever checkpoint is the latest; older
  positions are removed once the checkpoint is written. Only the chief
  writes it. The
  training iterator is always the first pass over a dataset of its own, so
  that the skipped batches are the ones a run from the start consumed; with
  an unseeded shuffle the order is random anyway.

  Args:
    trainer: the `trainers.Trainer`.
    make_batches: callable returning a fresh `tf.data.Dataset` of global
      batches.
  """

  def __init__(self, trainer, make_batches):
    self._trainer = trainer
    self._make_batches = make_batches
    self._checkpoint = None
    self._manager = None
    self._counter = None
    self.enabled = True

  def iterator(self, restore_dir=None, step=0):
    """The training iterator, at the position saved at `step` if any.

    Args:
      restore_dir: directory of the restored checkpoint, or None to start
        the data from its beginning.
      step: the restored step.

    Returns:
      An iterator of (per-replica) batches.
    """
    batches = self._make_batches()
    dataset = self._trainer.distribute_dataset(batches)
    if isinstance(dataset, tf.data.Dataset):  # One replica: a local iterator.
      iterator = iter(dataset)
      self._checkpoint = tf.train.Checkpoint(iterator=iterator)
      if restore_dir:
        self._restore_iterator(restore_dir, step)
      return iterator
    consumed = self._read_count(restore_dir, step) if restore_dir else 0
    if consumed:
      logging.info('Skipping the %d batches consumed before step %d (a '
                   'distributed iterator cannot be checkpointed).', consumed,
                   step)
      dataset = self._trainer.distribute_dataset(
          self._make_batches().skip(consumed))
    self._counter = _CountingIterator(iter(dataset), consumed)
    return self._counter

  def save(self, save_dir, step):
    """Saves the position at `step` (the chief only)."""
    if not self.enabled or not self._trainer.is_chief:
      return
    folder = os.path.join(save_dir, _DATA_DIR)
    if self._counter is not None:
      self._write_count(folder, step)
      return
    if self._manager is None:
      self._manager = tf.train.CheckpointManager(
          self._checkpoint, folder, max_to_keep=2, checkpoint_name='iterator')
    try:
      self._manager.save(checkpoint_number=step)
    except (tf.errors.OpError, ValueError, TypeError) as e:
      self.enabled = False
      logging.warning('The data iterator cannot be saved (%s); a resumed run '
                      'will start the data from its beginning.',
                      ' '.join(str(e).split())[:200])

  def prune(self, save_dir, step):
    """Removes the saved positions of steps other than `step`."""
    if self._counter is None or not self._trainer.is_chief:
      return  # The iterator's CheckpointManager prunes its own.
    keep = os.path.join(save_dir, _DATA_DIR, f'batches-{step}.json')
    for path in tf.io.gfile.glob(os.path.join(save_dir, _DATA_DIR,
                                              'batches-*.json')):
      if path != keep:
        tf.io.gfile.remove(path)

  def _write_count(self, folder, step):
    tf.io.gfile.makedirs(folder)
    path = os.path.join(folder, f'batches-{step}.json')
    with tf.io.gfile.GFile(path + '.tmp', 'w') as f:
      json.dump({'step': int(step), 'batches': self._counter.count}, f)
    tf.io.gfile.rename(path + '.tmp', path, overwrite=True)

  def _read_count(self, restore_dir, step):
    path = os.path.join(restore_dir, _DATA_DIR, f'batches-{step}.json')
    if not tf.io.gfile.exists(path):
      logging.info('No saved data position for step %d in %s: the data '
                   'starts from its beginning.', step, restore_dir)
      return 0
    try:
      with tf.io.gfile.GFile(path) as f:
        count = json.load(f)['batches']
      count = validation.check_in_range(count, 'batches', 0)
    except (ValueError, TypeError, KeyError) as e:
      logging.warning('The saved data position %s cannot be read (%s): the '
                      'data starts from its beginning.', path, e)
      return 0
    logging.info('Restored the data position of step %d: %d batches.', step,
                 count)
    return int(count)

  def _restore_iterator(self, restore_dir, step):
    path = os.path.join(restore_dir, _DATA_DIR, f'iterator-{step}')
    if not tf.io.gfile.exists(path + '.index'):
      logging.info('No saved data position for step %d in %s: the data '
                   'starts from its beginning.', step, restore_dir)
      return False
    try:
      self._checkpoint.restore(path).assert_consumed()
    except (tf.errors.OpError, IndexError, ValueError, AssertionError) as e:
      logging.warning('The saved data position %s cannot be read (%s): the '
                      'data starts from its beginning.', path,
                      ' '.join(str(e).split())[:200])
      return False
    logging.info('Restored the data position of step %d.', step)
    return True


class _CountingIterator:
  """An iterator that counts the batches taken from it."""

  def __init__(self, iterator, count=0):
    self._iterator = iterator
    self.count = count

  def __iter__(self):
    return self

  def __next__(self):
    batch = next(self._iterator)
    self.count += 1
    return batch


# ------------------------------------------------------------------------------
# Progress.
# ------------------------------------------------------------------------------
class _Progress:
  """A tqdm bar in a terminal, else a log line every `log_every_secs`.

  Without a terminal (nohup, notebooks' `!ddsp_run`, batch schedulers) the
  line says the step, the losses, steps/s and the time left, at the first
  step and then whenever `log_every_secs` of wall time have passed.
  """

  def __init__(self, start, total, log_every_secs, use_bar):
    self._bar = None
    self._total = total
    self._log_every_secs = log_every_secs
    self._start_time, self._start_step = time.time(), start
    self._last_log = None
    if use_bar:
      import tqdm  # pylint: disable=g-import-not-at-top
      self._bar = tqdm.tqdm(initial=start, total=total, unit='step',
                            dynamic_ncols=True, desc='train')

  def update(self, step, losses):
    loss = losses['total_loss']
    if self._bar is not None:
      self._bar.update(step - self._bar.n)
      self._bar.set_postfix(loss=f'{loss:.4g}')
      return
    now = time.time()
    if (self._last_log is not None and
        now - self._last_log < self._log_every_secs):
      return
    self._last_log = now
    rate = (step - self._start_step) / max(now - self._start_time, 1e-9)
    eta = (self._total - step) / rate if rate > 0 else float('inf')
    terms = '  '.join(f'{k}: {v:.4g}' for k, v in losses.items())
    logging.info('step %d/%d  %s  (%.2f steps/s, ETA %s)', step, self._total,
                 terms, rate, _format_seconds(eta))

  def close(self):
    if self._bar is not None:
      self._bar.close()


def _format_seconds(seconds):
  """'1h02m', '3m05s' or '42s'."""
  if seconds == float('inf'):
    return '?'
  seconds = int(round(seconds))
  if seconds >= 3600:
    return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'
  if seconds >= 60:
    return f'{seconds // 60}m{seconds % 60:02d}s'
  return f'{seconds}s'


class _Averages:
  """Running means of scalars between summaries."""

  def __init__(self):
    self.sums, self.count = {}, 0

  def add(self, values):
    for k, v in values.items():
      self.sums[k] = self.sums.get(k, 0.0) + v
    self.count += 1

  def pop(self):
    means = {k: v / max(self.count, 1) for k, v in self.sums.items()}
    self.sums, self.count = {}, 0
    return means


def _hypertune_reporter(enabled):
  if not enabled:
    return None
  try:
    import hypertune  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(
        '`report_loss_to_hypertune=True` needs the `cloudml-hypertune` '
        'package (pip install cloudml-hypertune).') from e
  return hypertune.HyperTune()


class _Saver:
  """Saves the trainer's checkpoint and the data position, once per step."""

  def __init__(self, trainer, data_position, save_dir, summary_writer):
    self._trainer = trainer
    self._data_position = data_position
    self._save_dir = save_dir
    self._writer = summary_writer
    self.last_saved = int(trainer.step.numpy())
    self.last_path = None

  def save(self):
    step = int(self._trainer.step.numpy())
    if self._save_dir and step != self.last_saved:
      # The position first: a kill between the two leaves a position for
      # whichever checkpoint is the latest.
      self._data_position.save(self._save_dir, step)
      self.last_path = self._trainer.save(self._save_dir)
      self._data_position.prune(self._save_dir, step)
      self._writer.flush()
      self.last_saved = step


class _Summaries:
  """TensorBoard summaries of training: scalars, and the audio and
  spectrograms of a fixed batch (the model's output against the target)."""

  def __init__(self, trainer, fixed_batch, sample_rate, max_outputs=2):
    self._trainer = trainer
    self._batch = None
    if fixed_batch is not None and 'audio' in fixed_batch:
      self._batch = {k: v[:max_outputs] for k, v in fixed_batch.items()}
    self._sample_rate = sample_rate
    self._tick = time.time()
    self._tick_step = int(trainer.step.numpy())

  def write(self, step, averages, hypertune, losses):
    now = time.time()
    tf.summary.scalar('steps_per_sec',
                      (step - self._tick_step) / max(now - self._tick, 1e-9),
                      step=step)
    self._tick, self._tick_step = now, step
    tf.summary.scalar('learning_rate', self._trainer.current_learning_rate,
                      step=step)
    for k, v in averages.items():
      name = k if k == 'gradient_norm' else f'losses/{k}'
      tf.summary.scalar(name, v, step=step)
    if hypertune is not None:
      hypertune.report_hyperparameter_tuning_metric(
          hyperparameter_metric_tag='total_loss',
          metric_value=losses['total_loss'], global_step=step)
    self._write_audio(step)

  def _write_audio(self, step):
    if self._batch is None:
      return
    model = self._trainer.model
    try:
      outputs = model(self._batch, training=False)
      audio_gen = np.asarray(model.get_audio_from_outputs(outputs))
    except (ValueError, TypeError, RuntimeError, tf.errors.OpError) as e:
      logging.warning('No audio summaries: running the model on a fixed '
                      'batch failed (%s).', ' '.join(str(e).split())[:200])
      self._batch = None
      return
    audio = np.asarray(self._batch['audio'])
    summaries.audio_summary(audio_gen, step, self._sample_rate,
                            name='audio_gen')
    summaries.audio_summary(audio, step, self._sample_rate,
                            name='audio_original')
    summaries.spectrogram_summary(audio, audio_gen, step,
                                  sample_rate=self._sample_rate)


def _restore_run(trainer, restore_dir):
  """Resumes from the latest checkpoint of `restore_dir`, if any.

  Returns:
    The folder of the restored checkpoint when the data position should be
    restored from it (a full restore), else None.
  """
  if not restore_dir:
    return None
  try:
    path = trainer.restore(restore_dir)
  except FileNotFoundError:
    logging.info('No checkpoint in %s: training from scratch.', restore_dir)
    return None
  return os.path.dirname(path) if trainer.restore_keys is None else None


def _report(start_step, step, start_time, losses, saver, save_dir):
  """Logs the summary of a finished run."""
  seconds = time.time() - start_time
  loss = losses.get('total_loss')
  latest = saver.last_path
  if save_dir and latest is None:
    try:
      latest = checkpoints.get_latest_checkpoint(save_dir)
    except FileNotFoundError:
      pass
  where = f'the latest is {latest}' if latest else 'none saved'
  logging.info(
      'Training finished at step %d: %d steps in %s (%.2f steps/s), final '
      'total loss %s. Checkpoints in %s: %s.', step, step - start_step,
      _format_seconds(seconds), (step - start_step) / max(seconds, 1e-9),
      'n/a' if loss is None else f'{loss:.4g}', save_dir or '-', where)


# ------------------------------------------------------------------------------
# Training loop.
# ------------------------------------------------------------------------------
@registration.register('ddsp.training.train_util', configurable=True)
def train(data_provider, trainer, batch_size=32, num_steps=1000000,
          steps_per_summary=300, steps_per_save=300, save_dir='/tmp/ddsp',
          restore_dir='/tmp/ddsp', early_stop_loss_value=None,
          report_loss_to_hypertune=False, progress_bar=None,
          log_every_secs=10.0, summarize_audio=True):
  """Trains a model until its step reaches `num_steps`.

  Resumes from the latest checkpoint in `restore_dir` (if any), so calling it
  again after an interruption continues where it stopped. Reproducible: with
  `keras.utils.set_random_seed(seed)` called before the model is created and
  a data provider with a seed (or no shuffling), a run stopped at any saved
  step and restarted gives the same weights as an uninterrupted run (the
  data position is saved too; on several replicas, as the number of batches
  consumed, which a resumed run skips).

  Args:
    data_provider: a `ddsp.training.data.DataProvider`; batches come from
      `data_provider.get_batch(batch_size, shuffle=True, repeats=-1)`.
    trainer: a `ddsp.training.trainers.Trainer` holding the model.
    batch_size: int > 0, examples per step over all replicas (32).
    num_steps: int > 0, the step at which training ends (a resumed run does
      `num_steps - step` more steps; 1000000 by default).
    steps_per_summary: int > 0, steps between TensorBoard summaries: the
      losses averaged over these steps, and (with `summarize_audio`) the
      audio and spectrograms of a fixed batch (300).
    steps_per_save: int > 0, steps between checkpoints (300); a checkpoint is
      also written at the end.
    save_dir: directory of checkpoints, the operative config and summaries
      ('/tmp/ddsp'); '' or None to save nothing.
    restore_dir: directory (or checkpoint prefix) to resume from
      ('/tmp/ddsp'); '' or None for the same as `save_dir`.
    early_stop_loss_value: float or None; stop (and save) once the total
      loss of a step is at or below this.
    report_loss_to_hypertune: report the total loss at every summary to a
      Google Cloud hyperparameter tuning job (needs `cloudml-hypertune`).
    progress_bar: True for a tqdm progress bar, False for log lines, None
      (default) for a bar only when stderr is a terminal.
    log_every_secs: float >= 0, seconds of wall time between log lines
      (step, losses, steps/s, time left) without a progress bar (10).
    summarize_audio: write the model's audio and spectrograms of the first
      batch (its first 2 examples) with the summaries.

  Returns:
    Dict of the last step's losses (floats).

  Raises:
    trainers.NonFiniteLossError: a step had a NaN or infinite loss or
      gradient. Its update was not applied and the state before it is saved
      (when `save_dir` is set), so `restore_dir` holds the last good weights.
    ValueError: an argument is out of range.
  """
  batch_size = validation.check_positive_int(batch_size, 'batch_size')
  num_steps = validation.check_positive_int(num_steps, 'num_steps')
  steps_per_summary = validation.check_positive_int(steps_per_summary,
                                                    'steps_per_summary')
  steps_per_save = validation.check_positive_int(steps_per_save,
                                                 'steps_per_save')
  log_every_secs = validation.check_in_range(log_every_secs,
                                             'log_every_secs', 0.0)
  if not isinstance(trainer, trainers.Trainer):
    raise TypeError('`trainer` must be a ddsp.training.trainers.Trainer. '
                    f'Received: trainer={trainer!r}')
  hypertune = _hypertune_reporter(report_loss_to_hypertune)
  save_dir = expand_path(save_dir) if save_dir else ''
  restore_dir = expand_path(restore_dir) if restore_dir else save_dir

  make_batches = lambda: data_provider.get_batch(batch_size, shuffle=True,
                                                 repeats=-1)
  batches = make_batches()
  # Build from a dataset of its own so that the training iterator is the
  # first pass over its dataset (and a resumed run's data position exact).
  trainer.build(next(iter(trainer.distribute_dataset(batches))))
  position_dir = _restore_run(trainer, restore_dir)
  step = int(trainer.step.numpy())
  data_position = _DataPosition(trainer, make_batches)
  iterator = data_position.iterator(position_dir, step)

  if save_dir and trainer.is_chief:
    summary_writer = tf.summary.create_file_writer(
        os.path.join(save_dir, 'summaries', 'train'))
    write_gin_config(summary_writer, save_dir, step)
  else:  # Other workers of a cluster write no summaries.
    summary_writer = tf.summary.create_noop_writer()
  if step >= num_steps:
    logging.info('The model is already at step %d >= num_steps=%d.', step,
                 num_steps)
    return {}

  use_bar = sys.stderr.isatty() if progress_bar is None else progress_bar
  progress = _Progress(step, num_steps, log_every_secs, use_bar)
  fixed_batch = (next(iter(batches)) if summarize_audio and save_dir
                 and trainer.is_chief else None)
  summaries_ = _Summaries(trainer, fixed_batch,
                          getattr(data_provider, 'sample_rate', 16000))
  saver = _Saver(trainer, data_position, save_dir, summary_writer)
  logging.info('Training from step %d to %d, batch size %d.', step, num_steps,
               batch_size)
  start_step, start_time = step, time.time()
  try:
    with summary_writer.as_default():
      losses = _train_loop(trainer, iterator, num_steps, steps_per_summary,
                           steps_per_save, early_stop_loss_value, progress,
                           summaries_, saver, hypertune, save_dir)
      saver.save()
  finally:
    progress.close()
    summary_writer.flush()
  step = int(trainer.step.numpy())
  _report(start_step, step, start_time, losses, saver, save_dir)
  return losses


def _train_loop(trainer, iterator, num_steps, steps_per_summary,
                steps_per_save, early_stop_loss_value, progress, summaries_,
                saver, hypertune, save_dir):
  """Steps until `num_steps` (or the early stop); returns the last losses."""
  averages = _Averages()
  losses = {}
  step = int(trainer.step.numpy())
  while step < num_steps:
    try:
      losses = trainer.train_step(iterator)
    except trainers.NonFiniteLossError as e:
      logging.error('%s Stopping; the last good state is saved in %s.',
                    e, save_dir or '(nowhere: no save_dir)')
      saver.save()
      raise
    step = int(trainer.step.numpy())
    losses = {k: float(v) for k, v in losses.items()}
    averages.add(losses)
    progress.update(step, losses)
    if step % steps_per_summary == 0:
      summaries_.write(step, averages.pop(), hypertune, losses)
    if (early_stop_loss_value is not None and
        losses['total_loss'] <= early_stop_loss_value):
      logging.info('The total loss %.4g reached early_stop_loss_value=%s '
                   'at step %d: stopping.', losses['total_loss'],
                   early_stop_loss_value, step)
      break
    if step % steps_per_save == 0:
      saver.save()
  return losses
