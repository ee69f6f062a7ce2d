"""Trainer: optimizer, distributed training step and checkpoints of a model.

A `Trainer` wraps a `ddsp.training.models.Model` (anything that returns
`(outputs, losses)` when called with `return_losses=True`, with
`losses['total_loss']` the scalar to minimize) and owns everything training
adds to it:

* an Adam optimizer whose learning rate decays exponentially with the step,
* a training step under any `tf.distribute` strategy (the default single
  device, `MirroredStrategy`, `MultiWorkerMirroredStrategy`, `TPUStrategy`):
  each replica computes the gradient of its share of the loss, the gradients
  are summed over replicas, clipped by their global norm and applied only
  when the loss and the gradient norm are finite,
* a `tf.train.Checkpoint` of the model, the optimizer (its step and moment
  slots) and the state of the model's noise generators, saved by a
  `tf.train.CheckpointManager`.

`ddsp.training.train_util.train` runs the loop around it (data, summaries,
saving); `ddsp_run --mode=train` builds both from gin.

Gin name: `Trainer` (module `ddsp.training.trainers`), e.g.
`Trainer.learning_rate = 3e-4`.
"""

import logging
import os
import tempfile
import time

import keras
import tensorflow as tf

from ddsp import registration
from ddsp import validation
from ddsp.training import checkpoints

__all__ = ['NonFiniteLossError', 'NonFiniteInputError', 'Trainer',
           'get_trainer_class']


class NonFiniteLossError(FloatingPointError):
  """A training step gave a NaN or infinite loss or gradient norm.

  Attributes:
    losses: dict of the step's losses (floats).
    step: the step at which it happened (no update was applied).
  """

  def __init__(self, losses, step):
    self.losses = {k: float(v) for k, v in losses.items()}
    self.step = step
    values = ', '.join(f'{k}={v:.4g}' for k, v in self.losses.items())
    super().__init__(
        f'Non-finite loss or gradient at step {step} ({values}); the update '
        'was not applied. Common causes: a learning rate too high for the '
        'model (lower Trainer.learning_rate or grad_clip_norm), NaN or '
        'infinite values in the data, or log/divide of zero in a custom '
        'loss.')


class NonFiniteInputError(NonFiniteLossError):
  """A training step's inputs held NaN or infinite values.

  Raised when an in-graph finiteness check of the library
  (`ddsp.validation.check_finite`) fails during the step; a
  `NonFiniteLossError`, so that training stops in the same way.

  Attributes:
    losses: {} (the step computed none).
    step: the step at which it happened (no update was applied).
  """

  def __init__(self, detail, step):  # pylint: disable=super-init-not-called
    self.losses = {}
    self.step = step
    FloatingPointError.__init__(
        self, f'Non-finite input at step {step}: {detail} The update was not '
        'applied. Check the data (NaN or infinite audio or features) or what '
        'computes this argument.')


def _seed_generator_states(model):
  """The state variables of the Keras seed generators inside `model`.

  Layers with a `keras.random.SeedGenerator` (e.g. `keras.layers.Dropout`)
  advance it each training step, and `tf.train.Checkpoint` does not track
  its state through the layer. Checkpointing them explicitly makes a resumed
  run draw the same random numbers as an uninterrupted one. (ddsp's noise
  processors keep theirs in a `ddsp.processors.NoiseState`, which the
  model's checkpoint holds already.) The list order is the order of
  `model.variables`, which depends only on the model's structure.
  """
  return [v for v in model.variables
          if v.path.split('/')[-1] == 'seed_generator_state']


@registration.register('ddsp.training.trainers')
class Trainer:
  """Trains a model: optimizer, distributed step and checkpoints.

  Args:
    model: a `ddsp.training.models.Model` (called as `model(batch,
      training=True, return_losses=True)` -> `(outputs, losses)` with a scalar
      `losses['total_loss']`). Create it under `strategy.scope()` when using a
      distribution strategy, so that its variables are mirrored.
    strategy: a `tf.distribute.Strategy`, or None for the current (default)
      strategy. See `train_util.get_strategy`.
    checkpoints_to_keep: int > 0, how many of the most recent checkpoints
      `save` keeps (100 by default).
    learning_rate: float > 0, Adam's learning rate at step 0 (0.001).
    lr_decay_steps: int > 0, steps over which the learning rate is multiplied
      by `lr_decay_rate` (decayed smoothly, not in stairs): lr(step) =
      learning_rate * lr_decay_rate ** (step / lr_decay_steps). 10000 by
      default.
    lr_decay_rate: float in (0, 1], the decay per `lr_decay_steps` (0.98).
    grad_clip_norm: float > 0, the gradients (summed over replicas) are
      scaled down so that their global L2 norm is at most this (3.0); None
      for no clipping.
    restore_keys: None to restore the whole model, optimizer and step; or a
      list of names of model attributes (e.g. ['encoder', 'decoder']) to
      restore only those sub-modules' weights (warm start from a pretrained
      model; the optimizer and step then start fresh).
    jit_compile: compile the forward and backward pass with XLA. Off by
      default: on a 2-core CPU it took less CPU time but ran on about one
      thread, so steps were slower (benchmarks/bench_train_step.py measures
      it on your hardware).

  Raises:
    ValueError: an argument is out of range.
    TypeError: `model` is not callable, or `restore_keys` is not a list of
      strings.

  Example:
    >>> import ddsp
    >>> from ddsp.training import decoders, models, preprocessing
    >>> model = models.Autoencoder(
    ...     preprocessor=preprocessing.F0LoudnessPreprocessor(
    ...         time_steps=10, compute_loudness=False),
    ...     decoder=decoders.RnnFcDecoder(
    ...         rnn_channels=8, ch=8, layers_per_stack=1,
    ...         input_keys=('ld_scaled', 'f0_scaled'),
    ...         output_splits=(('amps', 1), ('harmonic_distribution', 4))),
    ...     processor_group=ddsp.processors.ProcessorGroup(dag=[
    ...         (ddsp.synths.Harmonic(n_samples=640),
    ...          ['amps', 'harmonic_distribution', 'f0_hz'])]),
    ...     losses=[ddsp.losses.SpectralLoss(fft_sizes=(256, 64))])
    >>> trainer = Trainer(model, learning_rate=1e-3)
    >>> batch = {'audio': tf.sin(tf.range(640.0)[tf.newaxis] * 0.1),
    ...          'f0_hz': 254.6 * tf.ones([1, 10]),
    ...          'loudness_db': -20.0 * tf.ones([1, 10])}
    >>> trainer.build(batch)
    >>> losses = trainer.train_step(batch)
    >>> sorted(losses), int(trainer.step)
    (['gradient_norm', 'spectral_loss', 'total_loss'], 1)
  """

  def __init__(self, model, strategy=None, checkpoints_to_keep=100,
               learning_rate=0.001, lr_decay_steps=10000, lr_decay_rate=0.98,
               grad_clip_norm=3.0, restore_keys=None, jit_compile=False):
    if not callable(model):
      raise TypeError('`model` must be a callable Keras model. Received: '
                      f'model={model!r}')
    self.model = model
    self.strategy = strategy or tf.distribute.get_strategy()
    self.checkpoints_to_keep = validation.check_positive_int(
        checkpoints_to_keep, 'checkpoints_to_keep')
    self.learning_rate = validation.check_positive(learning_rate,
                                                   'learning_rate')
    self.lr_decay_steps = validation.check_positive_int(lr_decay_steps,
                                                        'lr_decay_steps')
    self.lr_decay_rate = validation.check_in_range(
        lr_decay_rate, 'lr_decay_rate', low=0.0, high=1.0)
    if self.lr_decay_rate == 0:
      raise ValueError('`lr_decay_rate` must be in (0, 1]. Received: '
                       f'lr_decay_rate={lr_decay_rate}')
    self.grad_clip_norm = validation.check_positive(
        grad_clip_norm, 'grad_clip_norm', allow_none=True)
    if restore_keys is not None:
      if isinstance(restore_keys, str) or not all(
          isinstance(k, str) for k in restore_keys):
        raise TypeError('`restore_keys` must be None or a list of model '
                        f'attribute names. Received: restore_keys='
                        f'{restore_keys!r}')
      restore_keys = list(restore_keys)
    self.restore_keys = restore_keys
    self.jit_compile = bool(jit_compile)

    with self.strategy.scope():
      self.lr_schedule = keras.optimizers.schedules.ExponentialDecay(
          initial_learning_rate=self.learning_rate,
          decay_steps=self.lr_decay_steps, decay_rate=self.lr_decay_rate)
      self.optimizer = keras.optimizers.Adam(learning_rate=self.lr_schedule)
    self._checkpoint = None
    # Nested in the step's tf.function only where XLA compiles it.
    self._grad_fn = (tf.function(self._loss_and_grads, jit_compile=True)
                     if self.jit_compile else self._loss_and_grads)
    self._train_fn = tf.function(self._distributed_compute)
    self._apply_fn = tf.function(self._distributed_apply)

  # ----------------------------------------------------------------------------
  # Properties and distribution helpers.
  # ----------------------------------------------------------------------------
  @property
  def step(self):
    """The number of updates applied so far: an int64 scalar variable."""
    return self.optimizer.iterations

  @property
  def current_learning_rate(self):
    """The learning rate of the next step (a float)."""
    return float(self.lr_schedule(int(self.step.numpy())))

  @property
  def is_chief(self):
    """Whether this worker writes files (always, except on non-chief workers
    of a multi-worker cluster)."""
    if not self._is_multi_worker():
      return True
    resolver = self.strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    return (task_type == 'chief' or (task_type == 'worker' and task_id == 0
                                     and 'chief' not in
                                     resolver.cluster_spec().as_dict()))

  def run(self, fn, *args, **kwargs):
    """Runs `fn` on every replica (`strategy.run`)."""
    return self.strategy.run(fn, args=args, kwargs=kwargs)

  def psum(self, x, axis=None):
    """Sums per-replica values over replicas (and `axis`, if given)."""
    return self.strategy.reduce(tf.distribute.ReduceOp.SUM, x, axis=axis)

  def pmean(self, x, axis=None):
    """Averages per-replica values over replicas (and `axis`, if given)."""
    return self.strategy.reduce(tf.distribute.ReduceOp.MEAN, x, axis=axis)

  def distribute_dataset(self, dataset):
    """Splits the batches of a tf.data.Dataset over the replicas.

    Every step takes one global batch of `dataset` and gives each replica
    its slice, so a run on several replicas (GPUs or workers of a cluster)
    sees the batches a one-device run sees. On a multi-worker cluster the
    data is sharded by example (`tf.data.experimental.AutoShardPolicy.DATA`):
    every worker reads the same (identically seeded) pipeline and keeps its
    replicas' slices of each batch, rather than reading a share of the
    files.

    Args:
      dataset: tf.data.Dataset of global batches (batch size = examples per
        step over all replicas).

    Returns:
      A distributed dataset (iterable of per-replica batches).
    """
    if self.strategy.num_replicas_in_sync == 1 and not isinstance(
        self.strategy, tf.distribute.TPUStrategy):
      return dataset
    if self._is_multi_worker():
      options = tf.data.Options()
      options.experimental_distribute.auto_shard_policy = (
          tf.data.experimental.AutoShardPolicy.DATA)
      dataset = dataset.with_options(options)
    return self.strategy.experimental_distribute_dataset(dataset)

  def _is_multi_worker(self):
    resolver = getattr(self.strategy, 'cluster_resolver', None)
    return bool(resolver is not None and resolver.cluster_spec().as_dict())

  # ----------------------------------------------------------------------------
  # Building, training step.
  # ----------------------------------------------------------------------------
  def build(self, batch):
    """Creates the model's and optimizer's variables from one batch.

    Runs the model forward once on `batch` (on every replica) and builds the
    optimizer's slots, so that checkpoints can be restored into them.

    Args:
      batch: a (per-replica, if distributed) dict of feature tensors.
    """
    start = time.time()
    with self.strategy.scope():
      # Eagerly: tracing a forward-only function would cost more than it saves.
      self.run(lambda b: self.model(b, training=False), batch)
      self.optimizer.build(self.model.trainable_variables)
    logging.info('Built the model (%d trainable weights) and optimizer in '
                 '%.1f s.', sum(int(tf.size(v)) for v in
                                self.model.trainable_variables),
                 time.time() - start)

  def _loss_and_grads(self, batch):
    """One replica's losses and gradients of its share of the mean loss."""
    n_replicas = tf.distribute.get_strategy().num_replicas_in_sync
    variables = self.model.trainable_variables
    with tf.GradientTape() as tape:
      _, losses = self.model(batch, training=True, return_losses=True)
      # The replicas' gradients are summed: scale so that the sum is the
      # gradient of the mean loss over the global batch.
      scaled_loss = losses['total_loss'] / n_replicas
    grads = tape.gradient(scaled_loss, variables)
    grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
             for g, v in zip(grads, variables)]
    return losses, grads

  def _replica_compute(self, batch):
    """One replica: losses, summed and clipped gradients, a finite flag."""
    losses, grads = self._grad_fn(batch)
    n_replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if n_replicas > 1:
      ctx = tf.distribute.get_replica_context()
      grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
      total = ctx.all_reduce(tf.distribute.ReduceOp.SUM,
                             losses['total_loss'] / n_replicas)
    else:
      total = losses['total_loss']
    norm = tf.linalg.global_norm(grads)
    if self.grad_clip_norm is not None:
      grads, _ = tf.clip_by_global_norm(grads, self.grad_clip_norm,
                                        use_norm=norm)
    finite = tf.logical_and(tf.math.is_finite(total), tf.math.is_finite(norm))
    return dict(losses, gradient_norm=norm), grads, tf.cast(finite, tf.int32)

  def _distributed_compute(self, batch):
    losses, grads, finite = self.run(self._replica_compute, batch)
    n_replicas = self.strategy.num_replicas_in_sync
    losses = {k: self.psum(v) / n_replicas for k, v in losses.items()}
    # Every replica has the same flag (it is computed from summed values).
    finite = self.psum(finite) == n_replicas
    return losses, grads, finite

  def _replica_apply(self, grads):
    n_replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if n_replicas > 1:
      # Keras' optimizer sums the gradients over replicas again: pass each
      # replica's share of the (already summed) gradients.
      grads = [g / n_replicas for g in grads]
    self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))

  def _distributed_apply(self, grads):
    self.run(self._replica_apply, grads)

  def train_step(self, inputs):
    """One training step on every replica.

    Computes the losses and gradients (forward and backward pass), sums the
    gradients over replicas, clips them by global norm and, if the total loss
    and the gradient norm are finite, applies them: the step advances by 1.

    Args:
      inputs: a batch (dict of [batch, ...] feature tensors, e.g. 'audio'
        [batch, n_samples] and 'f0_hz', 'loudness_db' [batch, n_frames];
        per-replica values from `distribute_dataset` under a strategy) or an
        iterator of them, from which the next batch is taken.

    Returns:
      Dict of float32 scalar tensors: every loss of the model averaged over
      replicas ('total_loss' included) and 'gradient_norm' (global L2 norm of
      the summed gradients before clipping).

    Raises:
      NonFiniteLossError: the total loss or the gradient norm is NaN or
        infinite (`NonFiniteInputError`, a subclass, where an input of a
        processor or loss already was). The update is not applied: the
        weights, optimizer state and step are those before this call.
    """
    batch = next(inputs) if hasattr(inputs, '__next__') else inputs
    try:
      losses, grads, finite = self._train_fn(batch)
    except tf.errors.InvalidArgumentError as error:
      detail = validation.finite_check_failure(error)
      if detail is None:
        raise
      raise NonFiniteInputError(detail, int(self.step.numpy())) from None
    if not bool(finite):
      raise NonFiniteLossError(losses, int(self.step.numpy()))
    self._apply_fn(grads)
    return losses

  # ----------------------------------------------------------------------------
  # Checkpoints.
  # ----------------------------------------------------------------------------
  def get_checkpoint(self, model=None):
    """A `tf.train.Checkpoint` of the model, optimizer and noise states."""
    model = self.model if model is None else model
    return tf.train.Checkpoint(
        model=model, optimizer=self.optimizer,
        seed_generator_states=_seed_generator_states(self.model))

  def save(self, save_dir):
    """Saves a checkpoint `<save_dir>/ckpt-<step>` and prunes old ones.

    Written with `checkpoints.save`: a kill during the save leaves the
    previous checkpoints usable.

    Args:
      save_dir: directory of the checkpoints (created if needed).

    On a worker of a multi-worker cluster other than the chief, the
    checkpoint is written to a local temporary folder, which is then removed:
    only the chief writes into `save_dir`.

    Returns:
      The checkpoint path prefix (None on a worker other than the chief).
    """
    start = time.time()
    save_dir = os.path.expanduser(os.fspath(save_dir))
    if self._checkpoint is None:
      self._checkpoint = self.get_checkpoint()
    if not self.is_chief:
      # Every worker of a cluster takes part in saving (as TensorFlow asks
      # of multi-worker runs); the others write to a local scratch folder,
      # removed at once, and nothing into `save_dir`.
      scratch = tempfile.mkdtemp(prefix='ddsp_worker_checkpoint_')
      try:
        checkpoints.save(self._checkpoint, scratch, int(self.step.numpy()),
                         max_to_keep=1)
      finally:
        tf.io.gfile.rmtree(scratch)
      return None
    path = checkpoints.save(self._checkpoint, save_dir,
                            int(self.step.numpy()),
                            max_to_keep=self.checkpoints_to_keep)
    logging.info('Saved checkpoint %s in %.1f s.', path, time.time() - start)
    return path

  def restore(self, checkpoint_path, restore_keys=None):
    """Restores the latest checkpoint of a directory (or a given checkpoint).

    Call `build` first: the variables (optimizer slots included) must exist.
    Every one of them must be in the checkpoint (`checkpoints.restore`);
    a corrupt latest checkpoint of a directory is skipped with a warning for
    the newest readable one.

    Args:
      checkpoint_path: a checkpoint directory (its latest checkpoint is used)
        or a checkpoint prefix such as '.../ckpt-300'.
      restore_keys: overrides the constructor's `restore_keys` (None: use
        those).

    Returns:
      The path of the restored checkpoint.

    Raises:
      FileNotFoundError: no checkpoint at `checkpoint_path`.
      ValueError: a restore key is not an attribute of the model, or the
        checkpoint lacks some of the variables.
    """
    restore_keys = self.restore_keys if restore_keys is None else restore_keys
    checkpoints.get_latest_checkpoint(checkpoint_path)  # FileNotFoundError.
    start = time.time()
    with self.strategy.scope():
      if restore_keys is None:
        latest = checkpoints.restore(
            checkpoint_path, model=self.model, optimizer=self.optimizer,
            seed_generator_states=_seed_generator_states(self.model))
        logging.info('Restored the model, optimizer and step %d from %s.',
                     int(self.step.numpy()), latest)
      else:
        missing = [k for k in restore_keys if not hasattr(self.model, k)]
        if missing:
          raise ValueError(
              f'`restore_keys` names {missing}, which are not attributes of '
              f'{type(self.model).__name__}. Received: restore_keys='
              f'{restore_keys!r}')
        parts = tf.train.Checkpoint(
            **{k: getattr(self.model, k) for k in restore_keys})
        latest = checkpoints.restore(checkpoint_path, model=parts)
        logging.info('Restored %s of the model from %s.', restore_keys,
                     latest)
    logging.info('Restoring took %.1f s.', time.time() - start)
    return latest


# ----------------------------------------------------------------------------
# The trainer class of ddsp_run (published 3.x name).
# ----------------------------------------------------------------------------
@registration.register('ddsp.training.trainers', configurable=True)
def get_trainer_class(trainer_class=Trainer):
  """The trainer class `ddsp_run` builds, set by gin.

  A gin file picks another trainer with
  `get_trainer_class.trainer_class = @trainers.MyTrainer` (a class, not an
  instance); `ddsp_run` then builds `trainer_class(model, strategy=...)`.

  Args:
    trainer_class: a class taking `(model, strategy, ...)` like `Trainer`
      (the default).

  Returns:
    The class.

  Raises:
    TypeError: `trainer_class` is not a class.

  Example:
    >>> get_trainer_class() is Trainer
    True
  """
  if not isinstance(trainer_class, type):
    raise TypeError('`trainer_class` must be a trainer class such as '
                    '`trainers.Trainer` (in gin: @trainers.Trainer, without '
                    f'parentheses). Received: trainer_class={trainer_class!r}')
  return trainer_class
