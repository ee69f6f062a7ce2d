"""The training loop, distribution strategies and checkpoint/config files.

`train(data_provider, trainer, ...)` is what `ddsp_run --mode=train` runs:

* it resumes from the latest checkpoint in `restore_dir` (model, optimizer,
  step, noise generator states and, on a single replica, the position in the
  data), so a run stopped and restarted with the same seed ends with the same
  weights as an uninterrupted one,
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
import tensorflow as tf

from ddsp import registration
from ddsp import validation
from ddsp.training import checkpoints
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
  """Saves and restores the position of a dataset iterator with the step.

  The iterator's state (shuffle buffer and random state included) is saved
  beside the model's checkpoints, keeping only the latest, so that a resumed
  run reads the batches an uninterrupted run would have read. Distributed
  iterators (several replicas) cannot be saved: their runs restart the data
  order (a warning says so).
  """

  def __init__(self, iterator):
    self.enabled = isinstance(iterator, tf.__internal__.tracking.Trackable)
    if not self.enabled:
      logging.warning(
          'The data iterator of a distributed dataset cannot be saved: a '
          'resumed run starts the data from its beginning (shuffled with '
          "the provider's seed) rather than where it stopped.")
      return
    self._checkpoint = tf.train.Checkpoint(iterator=iterator)
    self._manager = None

  def save(self, save_dir, step):
    if not self.enabled:
      return
    if self._manager is None:
      self._manager = tf.train.CheckpointManager(
          self._checkpoint, os.path.join(save_dir, _DATA_DIR), max_to_keep=1,
          checkpoint_name='iterator')
    try:
      self._manager.save(checkpoint_number=step)
    except (tf.errors.OpError, ValueError, TypeError) as e:
      self.enabled = False
      logging.warning('The data iterator cannot be saved (%s); a resumed run '
                      'will start the data from its beginning.',
                      ' '.join(str(e).split())[:200])

  def restore(self, restore_dir, step):
    """Restores the position saved at `step` in `restore_dir`, if any."""
    if not self.enabled:
      return False
    path = os.path.join(restore_dir, _DATA_DIR, f'iterator-{step}')
    if not tf.io.gfile.exists(path + '.index'):
      logging.info('No saved data position for step %d in %s: the data '
                   'starts from its beginning.', step, restore_dir)
      return False
    self._checkpoint.restore(path).assert_consumed()
    logging.info('Restored the data position of step %d.', step)
    return True


# ------------------------------------------------------------------------------
# Progress.
# ------------------------------------------------------------------------------
class _Progress:
  """A tqdm bar in a terminal, else a log line every `log_every` steps."""

  def __init__(self, start, total, log_every, use_bar):
    self._bar = None
    self._log_every = log_every
    self._last_time, self._last_step = time.time(), start
    if use_bar:
      import tqdm  # pylint: disable=g-import-not-at-top
      self._bar = tqdm.tqdm(initial=start, total=total, unit='step',
                            dynamic_ncols=True, desc='train')

  def update(self, step, losses):
    loss = losses['total_loss']
    if self._bar is not None:
      self._bar.update(step - self._bar.n)
      self._bar.set_postfix(loss=f'{loss:.4g}')
    elif step % self._log_every == 0:
      now = time.time()
      rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
      self._last_time, self._last_step = now, step
      terms = '  '.join(f'{k}: {v:.4g}' for k, v in losses.items())
      logging.info('step %d  %s  (%.2f steps/s)', step, terms, rate)

  def close(self):
    if self._bar is not None:
      self._bar.close()


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


# ------------------------------------------------------------------------------
# Training loop.
# ------------------------------------------------------------------------------
@registration.register('ddsp.training.train_util', configurable=True)
def train(data_provider, trainer, batch_size=32, num_steps=1000000,
          steps_per_summary=300, steps_per_save=300, save_dir='/tmp/ddsp',
          restore_dir='/tmp/ddsp', early_stop_loss_value=None,
          report_loss_to_hypertune=False, progress_bar=None):
  """Trains a model until its step reaches `num_steps`.

  Resumes from the latest checkpoint in `restore_dir` (if any), so calling it
  again after an interruption continues where it stopped. Reproducible: with
  `keras.utils.set_random_seed(seed)` called before the model is created and
  a data provider with a seed (or no shuffling), a run stopped at any saved
  step and restarted gives the same weights as an uninterrupted run (on one
  replica: the data position is saved too).

  Args:
    data_provider: a `ddsp.training.data.DataProvider`; batches come from
      `data_provider.get_batch(batch_size, shuffle=True, repeats=-1)`.
    trainer: a `ddsp.training.trainers.Trainer` holding the model.
    batch_size: int > 0, examples per step over all replicas (32).
    num_steps: int > 0, the step at which training ends (a resumed run does
      `num_steps - step` more steps; 1000000 by default).
    steps_per_summary: int > 0, steps between TensorBoard summaries and
      (without a progress bar) log lines; summaries hold the losses averaged
      over these steps (300).
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
  if not isinstance(trainer, trainers.Trainer):
    raise TypeError('`trainer` must be a ddsp.training.trainers.Trainer. '
                    f'Received: trainer={trainer!r}')
  hypertune = _hypertune_reporter(report_loss_to_hypertune)
  save_dir = expand_path(save_dir) if save_dir else ''
  restore_dir = expand_path(restore_dir) if restore_dir else save_dir

  dataset = data_provider.get_batch(batch_size, shuffle=True, repeats=-1)
  dataset = trainer.distribute_dataset(dataset)
  # Build from a separate pass so that the training iterator starts at the
  # first batch (and a resumed run's data position is exact).
  trainer.build(next(iter(dataset)))
  iterator = iter(dataset)
  data_position = _DataPosition(iterator)

  if restore_dir:
    try:
      trainer.restore(restore_dir)
      if trainer.restore_keys is None:
        data_position.restore(os.path.dirname(get_latest_checkpoint(
            restore_dir)), int(trainer.step.numpy()))
    except FileNotFoundError:
      logging.info('No checkpoint in %s: training from scratch.', restore_dir)

  step = int(trainer.step.numpy())
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
  progress = _Progress(step, num_steps, steps_per_summary, use_bar)
  averages = _Averages()
  last_saved = step
  losses = {}

  def save():
    nonlocal last_saved
    if save_dir and step != last_saved:
      trainer.save(save_dir)
      data_position.save(save_dir, step)
      summary_writer.flush()
      last_saved = step

  logging.info('Training from step %d to %d, batch size %d.', step, num_steps,
               batch_size)
  tick, tick_step = time.time(), step
  try:
    with summary_writer.as_default():
      while step < num_steps:
        try:
          losses = trainer.train_step(iterator)
        except trainers.NonFiniteLossError as e:
          logging.error('%s Stopping; the last good state is saved in %s.',
                        e, save_dir or '(nowhere: no save_dir)')
          save()
          raise
        step = int(trainer.step.numpy())
        losses = {k: float(v) for k, v in losses.items()}
        averages.add(losses)
        progress.update(step, losses)

        if step % steps_per_summary == 0:
          now = time.time()
          tf.summary.scalar('steps_per_sec',
                            (step - tick_step) / max(now - tick, 1e-9),
                            step=step)
          tick, tick_step = now, step
          tf.summary.scalar('learning_rate', trainer.current_learning_rate,
                            step=step)
          for k, v in averages.pop().items():
            name = k if k == 'gradient_norm' else f'losses/{k}'
            tf.summary.scalar(name, v, step=step)
          if hypertune is not None:
            hypertune.report_hyperparameter_tuning_metric(
                hyperparameter_metric_tag='total_loss',
                metric_value=losses['total_loss'], global_step=step)

        if (early_stop_loss_value is not None and
            losses['total_loss'] <= early_stop_loss_value):
          logging.info('The total loss %.4g reached early_stop_loss_value=%s '
                       'at step %d: stopping.', losses['total_loss'],
                       early_stop_loss_value, step)
          break
        if step % steps_per_save == 0:
          save()
      save()
  finally:
    progress.close()
    summary_writer.flush()
  logging.info('Training finished at step %d.', step)
  return losses
