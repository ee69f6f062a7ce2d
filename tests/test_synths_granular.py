"""Tests of the Granular synth."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp import core
from ddsp import synths

SR = 8000


def _controls(batch=1, n_frames=10):
  frames = lambda v: tf.fill([batch, n_frames, 1], float(v))
  return [frames(0.4), frames(0.02), frames(200.0), frames(1.0), frames(1.0)]


def _source(batch=1):
  rng = np.random.default_rng(0)
  return tf.constant(rng.uniform(-1, 1, (batch, 1000)), tf.float32)


def test_granular_layer_equals_the_core():
  layer = synths.Granular(n_samples=800, sample_rate=SR, max_density=400.0,
                          max_grain_size=0.05)
  expected = core.granular_synthesis(_source(), *_controls(), n_samples=800,
                                     sample_rate=SR, max_density=400.0,
                                     max_grain_size=0.05)
  np.testing.assert_allclose(layer(*_controls(), _source()), expected,
                             atol=1e-6)


def test_granular_spray_is_deterministic_given_the_seed():
  render = lambda seed, batch=1, **kw: synths.Granular(
      n_samples=800, sample_rate=SR, spray=0.2, seed=seed)(
          *_controls(batch), _source(batch), **kw).numpy()
  np.testing.assert_array_equal(render(5), render(5))
  assert not np.allclose(render(5), render(6))
  no_spray = synths.Granular(n_samples=800, sample_rate=SR)(
      *_controls(), _source()).numpy()
  assert not np.allclose(render(5), no_spray)
  training = render(5, batch=2, training=True)
  assert not np.allclose(training[0], training[1])  # Fresh per example.


def test_trainable_granular_learns_its_source():
  target = synths.Granular(n_samples=800, sample_rate=SR)(*_controls(),
                                                           _source())
  layer = synths.Granular(n_samples=800, sample_rate=SR, trainable=True,
                          source_length=1000, seed=0)
  optimizer = tf.keras.optimizers.Adam(0.05)
  losses = []
  for _ in range(30):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.square(layer(*_controls()) - target))
    optimizer.apply_gradients(zip(tape.gradient(
        loss, layer.trainable_variables), layer.trainable_variables))
    losses.append(float(loss))
  assert losses[-1] < 0.1 * losses[0]


def test_granular_rejects_bad_arguments():
  with pytest.raises(ValueError, match='`spray` must be a number in'):
    synths.Granular(spray=-0.1)
  with pytest.raises(ValueError, match='`max_density` must be a positive'):
    synths.Granular(max_density=0.0)
  with pytest.raises(ValueError, match='needs the source audio'):
    synths.Granular(n_samples=800)(*_controls())
  with pytest.raises(ValueError, match='learns its source'):
    synths.Granular(n_samples=800, trainable=True)(*_controls(), _source())
  with pytest.raises(ValueError, match='`densities` must have shape'):
    controls = _controls()
    controls[2] = tf.ones([1, 10, 2])
    synths.Granular(n_samples=800)(*controls, _source())
