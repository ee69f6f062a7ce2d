"""The evaluation and sampling loops of `ddsp_run --mode=eval|sample`.

`evaluate` (metrics) and `sample` (audio and plots) watch a directory of
training checkpoints. For each checkpoint they restore the model, run it on a
fixed sequence of batches (the data in order, without shuffling, so that every
checkpoint sees the same examples), hand each batch with the model's outputs
and losses to the evaluators (`ddsp.training.evaluators`), and write
TensorBoard events to `<save_dir>/summaries/eval`. Without `run_once` they
then wait for the next checkpoint, so an evaluation job can run beside a
training job.

Both are gin-configurable; a gin file sets the data and the evaluators:

    evaluate.data_provider = @data.TFRecordProvider()
    evaluate.evaluator_classes = [@evaluators.BasicEvaluator,
                                  @evaluators.F0LdEvaluator]
"""

import logging
import os
import time

import tensorflow as tf

from ddsp import registration
from ddsp import validation
from ddsp.training import checkpoints
from ddsp.training import evaluators as evaluators_lib

__all__ = ['evaluate', 'evaluate_or_sample', 'sample']

_MODES = ('eval', 'sample')


def _checkpoints(restore_dir, ckpt_delay_secs, run_once):
  """Yields checkpoint paths: the latest one, then each new one as it lands."""
  if run_once:
    try:
      latest = checkpoints.find_readable_checkpoint(restore_dir)
    except FileNotFoundError:
      raise FileNotFoundError(
          f'No checkpoint found in {restore_dir!r} (`run_once` evaluates the '
          'latest checkpoint; without it the loop waits for one).') from None
    yield latest
    return
  logging.info('Waiting for checkpoints in %s', restore_dir)
  yield from tf.train.checkpoints_iterator(
      restore_dir, min_interval_secs=ckpt_delay_secs)


def _make_evaluators(evaluator_classes, sample_rate, frame_rate):
  evaluator_classes = list(evaluator_classes or [])
  if not evaluator_classes:
    raise ValueError('`evaluator_classes` must list at least one evaluator '
                     'class, e.g. [evaluators.BasicEvaluator]. '
                     f'Received: evaluator_classes={evaluator_classes!r}')
  result = []
  for item in evaluator_classes:
    if isinstance(item, evaluators_lib.BaseEvaluator):
      item.set_rates(sample_rate, frame_rate)
      result.append(item)
    elif callable(item):
      result.append(item(sample_rate, frame_rate))
    else:
      raise TypeError('`evaluator_classes` must hold evaluator classes (or '
                      f'instances). Received: {item!r}')
  return result


def _run_checkpoint(model, predict, dataset, evaluators, checkpoint_path,
                    step, num_batches, do_eval, do_sample):
  """Restores one checkpoint and feeds its batches to the evaluators.

  Returns:
    The number of batches run.
  """
  n_done = 0
  for batch in dataset:
    if n_done == 0:
      if not model.built:
        # Variables must exist before restoring (Keras 3 builds lazily).
        model(batch, training=False)
      # Every weight must come from the checkpoint (ValueError otherwise).
      checkpoints.restore(checkpoint_path, fallback=False, model=model)
    outputs, losses = predict(batch)
    for evaluator in evaluators:
      if do_eval:
        evaluator.evaluate(batch, outputs, losses)
      if do_sample:
        evaluator.sample(batch, outputs, step)
    n_done += 1
    if num_batches is not None and n_done >= num_batches:
      break
  return n_done


def evaluate_or_sample(data_provider, model, evaluator_classes, mode='eval',
                       save_dir='/tmp/ddsp/training', restore_dir='',
                       batch_size=32, num_batches=50, repeats=-1,
                       ckpt_delay_secs=0, run_once=False, run_until_step=0,
                       evaluate_and_sample=False):
  """Runs the evaluation or sampling loop over checkpoints.

  Args:
    data_provider: a `ddsp.training.data.DataProvider`; its sample and frame
      rates are passed to the evaluators.
    model: a `ddsp.training.models.Model` (e.g. `Autoencoder`); it is run with
      `model(batch, return_losses=True, training=False)`, so batches need the
      target 'audio'.
    evaluator_classes: list of `evaluators.BaseEvaluator` subclasses (built
      with `(sample_rate, frame_rate)`), or instances.
    mode: 'eval' (evaluators' `evaluate`, then `flush` per checkpoint) or
      'sample' (evaluators' `sample`).
    save_dir: events are written to `<save_dir>/summaries/eval`.
    restore_dir: directory of the checkpoints; '' means `save_dir`.
    batch_size: examples per batch.
    num_batches: batches per checkpoint; < 1 means the whole dataset once.
    repeats: passes over the data (-1: forever; the same first batches are
      used for every checkpoint either way).
    ckpt_delay_secs: at least this many seconds between two checkpoints
      (waiting for new ones).
    run_once: evaluate only the latest checkpoint (which must exist), then
      return.
    run_until_step: stop after a checkpoint whose step is >= this (if > 0).
    evaluate_and_sample: do both `evaluate` and `sample` on each batch.

  Returns:
    Dict of the last checkpoint's flushed results (summary tag -> float,
    e.g. 'losses/total_loss'); empty in 'sample' mode.

  Raises:
    ValueError: for bad arguments. FileNotFoundError: with `run_once` and no
    checkpoint.
  """
  validation.check_one_of(mode, 'mode', _MODES)
  batch_size = validation.check_positive_int(batch_size, 'batch_size')
  if num_batches is None or num_batches < 1:
    num_batches, repeats = None, 1  # The whole dataset, once.
  else:
    num_batches = validation.check_positive_int(num_batches, 'num_batches')
  ckpt_delay_secs = validation.check_in_range(ckpt_delay_secs,
                                              'ckpt_delay_secs', 0)
  restore_dir = os.fspath(restore_dir or save_dir)
  do_eval = mode == 'eval' or evaluate_and_sample
  do_sample = mode == 'sample' or evaluate_and_sample

  evaluators = _make_evaluators(evaluator_classes, data_provider.sample_rate,
                                data_provider.frame_rate)
  dataset = data_provider.get_batch(batch_size, shuffle=False,
                                    repeats=repeats)
  summary_dir = os.path.join(os.fspath(save_dir), 'summaries', 'eval')
  writer = tf.summary.create_file_writer(summary_dir)

  @tf.function(reduce_retracing=True)
  def predict(batch):
    outputs, losses = model(batch, return_losses=True, training=False)
    outputs = dict(outputs)
    outputs['audio_gen'] = model.get_audio_from_outputs(outputs)
    return outputs, losses

  results = {}
  with writer.as_default():
    for checkpoint_path in _checkpoints(restore_dir, ckpt_delay_secs,
                                        run_once):
      step = checkpoints.checkpoint_step(checkpoint_path)
      start = time.time()
      n_done = _run_checkpoint(model, predict, dataset, evaluators,
                               checkpoint_path, step, num_batches, do_eval,
                               do_sample)
      if n_done == 0:
        raise ValueError(
            f'The data provider {data_provider!r} gave no batch of '
            f'{batch_size} examples (batches smaller than `batch_size` are '
            'dropped); lower `batch_size`.')
      logging.info('Step %d: %d batches of %d in %.1f s', step, n_done,
                   batch_size, time.time() - start)
      if do_eval:
        results = {}
        for evaluator in evaluators:
          results.update(evaluator.flush(step) or {})
      writer.flush()
      if run_once or 0 < run_until_step <= step:
        break
  return results


@registration.register('ddsp.training.eval_util', configurable=True)
def evaluate(data_provider, model, evaluator_classes,
             save_dir='/tmp/ddsp/training', restore_dir='', batch_size=32,
             num_batches=50, repeats=-1, ckpt_delay_secs=0, run_once=False,
             run_until_step=0, evaluate_and_sample=False):
  """Computes metrics of each checkpoint (see `evaluate_or_sample`).

  Args:
    data_provider: a `DataProvider` (gin: `evaluate.data_provider`).
    model: the model to restore and run.
    evaluator_classes: list of evaluator classes (gin:
      `evaluate.evaluator_classes`).
    save_dir: events go to `<save_dir>/summaries/eval`.
    restore_dir: checkpoints directory ('' = `save_dir`).
    batch_size: examples per batch (32).
    num_batches: batches per checkpoint (50; < 1 = the whole dataset).
    repeats: passes over the data (-1 = forever).
    ckpt_delay_secs: minimum seconds between checkpoints.
    run_once: evaluate the latest checkpoint only.
    run_until_step: stop after a checkpoint at or past this step (if > 0).
    evaluate_and_sample: also write samples.

  Returns:
    Dict of the last checkpoint's results (tag -> float).

  Example:
    In Python, with `provider` and `model` built as for training:

      results = evaluate(provider, model, [evaluators.BasicEvaluator],
                         save_dir=model_dir, run_once=True)
      results['losses/total_loss']
  """
  return evaluate_or_sample(
      data_provider, model, evaluator_classes, mode='eval',
      save_dir=save_dir, restore_dir=restore_dir, batch_size=batch_size,
      num_batches=num_batches, repeats=repeats,
      ckpt_delay_secs=ckpt_delay_secs, run_once=run_once,
      run_until_step=run_until_step, evaluate_and_sample=evaluate_and_sample)


@registration.register('ddsp.training.eval_util', configurable=True)
def sample(data_provider, model, evaluator_classes,
           save_dir='/tmp/ddsp/training', restore_dir='', batch_size=16,
           num_batches=1, ckpt_delay_secs=0, run_once=False, run_until_step=0,
           evaluate_and_sample=False):
  """Writes audio and plots of each checkpoint (see `evaluate_or_sample`).

  Same arguments as `evaluate`, with smaller defaults (one batch of 16).

  Returns:
    Dict of results if `evaluate_and_sample`, else an empty dict.
  """
  return evaluate_or_sample(
      data_provider, model, evaluator_classes, mode='sample',
      save_dir=save_dir, restore_dir=restore_dir, batch_size=batch_size,
      num_batches=num_batches, ckpt_delay_secs=ckpt_delay_secs,
      run_once=run_once, run_until_step=run_until_step,
      evaluate_and_sample=evaluate_and_sample)
