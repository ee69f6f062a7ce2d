"""Tests of ddsp.training.trainers: the step against a numpy Adam reference,
non-finite losses, checkpoints, restore_keys and a two-replica strategy."""

import doctest
import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import ddsp
from ddsp import validation
from ddsp.training import trainers
import training_helpers as helpers  # tests/training/training_helpers.py


@pytest.fixture
def batch(test_data):
  examples = helpers.violin_examples(test_data, n_examples=2)
  return {k: tf.constant(v) for k, v in examples.items()}


def _reference_grads(model, batch):
  """Loss and gradients, in a tf.function as the trainer computes them.

  (Eager and graph execution differ by float32 round-off, which the
  log-magnitude loss amplifies for the reverb's gradient.)
  """
  @tf.function
  def grads_fn(batch):
    with tf.GradientTape() as tape:
      _, losses = model(batch, training=True, return_losses=True)
    return (tape.gradient(losses['total_loss'], model.trainable_variables),
            losses['total_loss'])
  grads, loss = grads_fn(batch)
  return [g.numpy() for g in grads], float(loss)


def _adam(w, g, state, step, lr, b1=0.9, b2=0.999, eps=1e-7):
  """Keras' Adam update in numpy (`step` counts from 1)."""
  m, v = state
  m = m + (g - m) * (1 - b1)
  v = v + (g * g - v) * (1 - b2)
  alpha = lr * np.sqrt(1 - b2**step) / (1 - b1**step)
  return w - alpha * m / (np.sqrt(v) + eps), (m, v)


def _clip(grads, clip_norm):
  norm = np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads))
  scale = min(1.0, clip_norm / norm)
  return [g * scale for g in grads], norm


@pytest.mark.slow
def test_two_steps_match_numpy_adam_with_clipping_and_decay(batch):
  keras.utils.set_random_seed(0)
  model = helpers.tiny_model(noise=False)  # Deterministic losses.
  lr, clip = 0.01, 0.05
  trainer = trainers.Trainer(model, learning_rate=lr, lr_decay_steps=1,
                             lr_decay_rate=0.5, grad_clip_norm=clip)
  trainer.build(batch)
  w = helpers.weights(model)
  state = [(np.zeros_like(x), np.zeros_like(x)) for x in w]
  raw_state = list(state)  # Adam on the unclipped gradients.
  for step in (1, 2):
    grads, loss = _reference_grads(model, batch)
    clipped, norm = _clip(grads, clip)
    assert norm > 2 * clip  # Clipping is active.
    step_lr = lr * 0.5**(step - 1)  # Decay by 0.5 per step.
    raw = [_adam(x, g, s, step, step_lr) for x, g, s in zip(w, grads,
                                                             raw_state)]
    new = [_adam(x, g, s, step, step_lr) for x, g, s in zip(w, clipped,
                                                             state)]
    w, state = [n[0] for n in new], [n[1] for n in new]
    raw_w, raw_state = [n[0] for n in raw], [n[1] for n in raw]
    losses = trainer.train_step(batch)
    assert int(trainer.step) == step
    np.testing.assert_allclose(float(losses['total_loss']), loss, rtol=1e-5)
    np.testing.assert_allclose(float(losses['gradient_norm']), norm,
                               rtol=1e-4)
    got = helpers.weights(model)
    for g, want in zip(got, w):
      np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-6)
  # Adam's first step ignores the gradient scale, the second does not: the
  # unclipped reference differs, so the test sees the clipping.
  assert max(np.max(np.abs(g - r)) for g, r in zip(got, raw_w)) > 1e-4
  # The learning rate of the next step (step 2 -> 0.25 lr).
  assert trainer.current_learning_rate == pytest.approx(lr * 0.25)


def test_non_finite_loss_raises_without_applying_the_update(batch):
  keras.utils.set_random_seed(0)
  model = helpers.tiny_model(noise=False)
  trainer = trainers.Trainer(model, learning_rate=1e-3)
  trainer.build(batch)
  trainer.train_step(batch)
  before = helpers.weights(model)
  slots = [v.numpy() for v in trainer.optimizer.variables]
  bad = dict(batch, audio=batch['audio'] * np.float32(np.nan))
  # The in-graph input check of the loss names the argument.
  with pytest.raises(trainers.NonFiniteLossError,
                     match=r'Non-finite input at step 1: `target_audio` must '
                           r'be finite.*update was not applied'):
    trainer.train_step(bad)
  assert int(trainer.step) == 1
  for got, want in zip(helpers.weights(model), before):
    np.testing.assert_array_equal(got, want)
  for got, want in zip([v.numpy() for v in trainer.optimizer.variables],
                       slots):
    np.testing.assert_array_equal(got, want)
  # Training goes on from the same state with good data.
  trainer.train_step(batch)
  assert int(trainer.step) == 2


def test_non_finite_loss_without_input_checks(batch):
  """With the finiteness checks off, NaN data reaches the loss (as before)."""
  previous = validation.set_finite_checks(False)
  try:
    keras.utils.set_random_seed(0)
    trainer = trainers.Trainer(helpers.tiny_model(noise=False))
    trainer.build(batch)
    bad = dict(batch, audio=batch['audio'] * np.float32(np.nan))
    with pytest.raises(trainers.NonFiniteLossError,
                       match=r'Non-finite loss or gradient at step 0 .*'
                             r'total_loss=nan.*update was not applied'):
      trainer.train_step(bad)
  finally:
    validation.set_finite_checks(previous)


@pytest.mark.slow
def test_save_restore_round_trip_with_optimizer_and_noise_state(
    batch, tmp_path):
  keras.utils.set_random_seed(1)
  trainer = trainers.Trainer(helpers.tiny_model(), checkpoints_to_keep=2)
  trainer.build(batch)
  paths = []
  for _ in range(3):
    trainer.train_step(batch)
    paths.append(trainer.save(tmp_path))
  assert [os.path.basename(p) for p in paths] == ['ckpt-1', 'ckpt-2',
                                                  'ckpt-3']
  # Only the last two are kept.
  assert not tf.io.gfile.exists(paths[0] + '.index')
  saved = helpers.weights(trainer.model)
  states = [s.state.numpy() for s in
            tf.train.TrackableView(trainer.model).descendants()
            if isinstance(s, ddsp.processors.NoiseState)]
  assert any(s[1] > 0 for s in states)  # FilteredNoise drew noise.
  next_losses = trainer.train_step(batch)

  keras.utils.set_random_seed(1)  # Same noise seeds drawn at construction.
  other = trainers.Trainer(helpers.tiny_model(), checkpoints_to_keep=2)
  other.build(batch)
  assert other.restore(tmp_path) == paths[-1]
  assert int(other.step) == 3
  for got, want in zip(helpers.weights(other.model), saved):
    np.testing.assert_array_equal(got, want)
  # Same optimizer state and noise state: the next step is the same.
  other_losses = other.train_step(batch)
  np.testing.assert_allclose(float(other_losses['total_loss']),
                             float(next_losses['total_loss']), rtol=1e-6)
  for got, want in zip(helpers.weights(other.model),
                       helpers.weights(trainer.model)):
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.slow
def test_restore_keys_restores_only_those_modules(batch, tmp_path):
  keras.utils.set_random_seed(2)
  trainer = trainers.Trainer(helpers.tiny_model(noise=False))
  trainer.build(batch)
  trainer.train_step(batch)
  trainer.save(tmp_path)
  keras.utils.set_random_seed(3)
  other = trainers.Trainer(helpers.tiny_model(noise=False),
                           restore_keys=['decoder'])
  other.build(batch)
  reverb_before = other.model.processor_group.variables[0].numpy()
  other.restore(tmp_path)
  assert int(other.step) == 0  # The optimizer starts fresh.
  for got, want in zip(other.model.decoder.trainable_variables,
                       trainer.model.decoder.trainable_variables):
    np.testing.assert_array_equal(got.numpy(), want.numpy())
  np.testing.assert_array_equal(
      other.model.processor_group.variables[0].numpy(), reverb_before)
  assert not np.array_equal(
      reverb_before, trainer.model.processor_group.variables[0].numpy())


def test_errors(batch, tmp_path):
  model = helpers.tiny_model(noise=False)
  with pytest.raises(ValueError, match='`learning_rate`.*Received: '
                                       'learning_rate=-1'):
    trainers.Trainer(model, learning_rate=-1)
  with pytest.raises(ValueError, match='`lr_decay_rate` must be in'):
    trainers.Trainer(model, lr_decay_rate=0.0)
  with pytest.raises(ValueError, match='`checkpoints_to_keep`'):
    trainers.Trainer(model, checkpoints_to_keep=0)
  with pytest.raises(TypeError, match='`restore_keys` must be None or a list'):
    trainers.Trainer(model, restore_keys='decoder')
  with pytest.raises(TypeError, match='`model` must be a callable'):
    trainers.Trainer('model')
  trainer = trainers.Trainer(model, restore_keys=['decodr'])
  trainer.build(batch)
  with pytest.raises(FileNotFoundError, match='No checkpoint in the dir'):
    trainer.restore(tmp_path)
  trainer.save(tmp_path)
  with pytest.raises(ValueError, match=r"names \['decodr'\], which are not"):
    trainer.restore(tmp_path)


def test_doctests():
  results = doctest.testmod(trainers, extraglobs={'tf': tf})
  assert results.attempted > 0 and results.failed == 0


_MIRRORED_SCRIPT = textwrap.dedent('''
    import os, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import pathlib
    sys.path.insert(0, sys.argv[1])
    import training_helpers as helpers
    from ddsp.training import trainers, train_util

    examples = helpers.violin_examples(pathlib.Path(sys.argv[2]), 4)
    provider = helpers.OrderedProvider(examples)

    def run(strategy, noise):
      keras.utils.set_random_seed(0)
      with strategy.scope():
        trainer = trainers.Trainer(helpers.tiny_model(noise=noise,
                                                      logmag=noise),
                                   strategy=strategy, learning_rate=1e-3)
      losses = train_util.train(provider, trainer, batch_size=4, num_steps=2,
                                save_dir='', restore_dir='',
                                progress_bar=False)
      return trainer, losses

    single, single_losses = run(tf.distribute.get_strategy(), noise=False)
    assert int(single.step.numpy()) == 2
    mirrored = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
    assert mirrored.num_replicas_in_sync == 2
    double, double_losses = run(mirrored, noise=False)
    for k in ('total_loss', 'gradient_norm'):
      # A wrong gradient scale (e.g. a sum over replicas where the mean is
      # meant) would change the norm by 2x.
      np.testing.assert_allclose(double_losses[k], single_losses[k],
                                 rtol=1e-4)
    # Replicas applying their own half-batch gradients would move weights by
    # up to 2 * learning_rate = 2e-3 apart.
    for a, b in zip(helpers.weights(single.model),
                    helpers.weights(double.model)):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # With noise (seed generators updated on both replicas) and a save.
    keras.utils.set_random_seed(1)
    with mirrored.scope():
      trainer = trainers.Trainer(helpers.tiny_model(), strategy=mirrored)
    losses = train_util.train(provider, trainer, batch_size=4, num_steps=2,
                              save_dir=sys.argv[3], restore_dir='',
                              progress_bar=False)
    assert int(trainer.step.numpy()) == 2 and np.isfinite(losses['total_loss'])
    assert tf.train.latest_checkpoint(sys.argv[3]).endswith('ckpt-2')
    print('MIRRORED OK', single_losses['total_loss'])
''')


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpus_matches_one_device(test_data,
                                                          tmp_path):
  """Two replicas with half batches give the one-device weights."""
  here = pathlib.Path(__file__).parent
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  result = subprocess.run(
      [sys.executable, '-c', _MIRRORED_SCRIPT, str(here), str(test_data),
       str(tmp_path / 'mirrored')], capture_output=True, text=True, env=env,
      timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'MIRRORED OK' in result.stdout


class _ClusterStrategy:
  """The default strategy, seen as one task of a multi-worker cluster."""

  def __init__(self, cluster, task_type, task_id):
    resolvers = tf.distribute.cluster_resolver
    self.cluster_resolver = resolvers.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)
    self._default = tf.distribute.get_strategy()

  def scope(self):
    return self._default.scope()


@pytest.mark.parametrize('cluster, task_type, task_id, chief', [
    ({'worker': ['a:1', 'b:1']}, 'worker', 0, True),
    ({'worker': ['a:1', 'b:1']}, 'worker', 1, False),
    ({'chief': ['c:1'], 'worker': ['a:1']}, 'chief', 0, True),
    ({'chief': ['c:1'], 'worker': ['a:1']}, 'worker', 0, False),
])
def test_only_the_chief_writes(cluster, task_type, task_id, chief):
  strategy = _ClusterStrategy(cluster, task_type, task_id)
  trainer = trainers.Trainer(helpers.tiny_model(noise=False),
                             strategy=strategy)
  assert trainer.is_chief == chief
  assert trainers.Trainer(helpers.tiny_model(noise=False)).is_chief
