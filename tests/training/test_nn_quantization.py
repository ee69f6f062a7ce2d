"""Tests of the straight-through estimators and VectorQuantization."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import nn
from ddsp.training import nn_quantization


def _np_softmax(x):
  e = np.exp(x - x.max(axis=-1, keepdims=True))
  return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------------------
# Straight-through estimators.
# ------------------------------------------------------------------------------
def test_int_quantization_rounds_with_identity_gradient():
  x = tf.constant([-1.5, -0.6, -0.5, 0.4, 0.5, 1.5, 2.5, 3.2])
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = nn.straight_through_int_quantization(x)
    loss = tf.reduce_sum(y * tf.range(8, dtype=tf.float32))
  np.testing.assert_array_equal(y, np.round(x.numpy()))  # Halves to even.
  np.testing.assert_array_equal(tape.gradient(loss, x), np.arange(8))


def test_straight_through_softmax_samples_and_gradient(rng):
  logits = tf.constant(rng.normal(size=[6, 4]).astype(np.float32))
  weights = rng.normal(size=[6, 4]).astype(np.float32)
  with tf.GradientTape() as tape:
    tape.watch(logits)
    sample, probs = nn.straight_through_softmax(logits, seed=3)
    loss = tf.reduce_sum(sample * weights)
  sample = sample.numpy()
  p = _np_softmax(logits.numpy().astype(np.float64))
  np.testing.assert_allclose(probs, p, rtol=1e-5)
  assert np.all(sample.sum(axis=-1) == 1.0) and set(np.unique(sample)) <= {
      0.0, 1.0}
  # The gradient is that of w_k * p_k, k the sampled category:
  # d/dlogits = w_k * p_k * (onehot_k - p).
  k = sample.argmax(axis=-1)
  rows = np.arange(6)
  expected = (weights[rows, k] * p[rows, k])[:, None] * (sample - p)
  np.testing.assert_allclose(tape.gradient(loss, logits), expected,
                             rtol=1e-4, atol=1e-6)
  # Seeded samples repeat.
  again, _ = nn.straight_through_softmax(logits, seed=3)
  np.testing.assert_array_equal(again, sample)


def test_straight_through_softmax_samples_follow_the_probabilities():
  logits = tf.tile(tf.math.log([[0.1, 0.2, 0.7]]), [4000, 1])
  sample, _ = nn.straight_through_softmax(logits, seed=0)
  frequencies = sample.numpy().mean(axis=0)
  np.testing.assert_allclose(frequencies, [0.1, 0.2, 0.7], atol=0.025)


def test_straight_through_choice_picks_the_sampled_value(rng):
  logits = tf.constant(rng.normal(size=[5, 3]).astype(np.float32))
  values = tf.constant(rng.normal(size=[5, 3]).astype(np.float32))
  with tf.GradientTape() as tape:
    tape.watch(values)
    choice = nn.straight_through_choice(logits, values, seed=7)
  sample, _ = nn.straight_through_softmax(logits, seed=7)
  k = sample.numpy().argmax(axis=-1)
  np.testing.assert_allclose(choice[:, 0], values.numpy()[np.arange(5), k])
  np.testing.assert_allclose(tape.gradient(choice, values), sample)


# ------------------------------------------------------------------------------
# Vector quantization.
# ------------------------------------------------------------------------------
def _np_nearest(x, codebook):
  distances = ((x[:, None, :] - codebook[None, :, :])**2).sum(axis=-1)
  return distances.argmin(axis=1)


def _set_codebook(vq, codebook, counts=2.0):
  vq.counts.assign(np.full([vq.k], counts, np.float32))
  vq.sums.assign((codebook * counts).astype(np.float32))


def test_vq_quantizes_to_the_nearest_code_with_straight_through_gradient(rng):
  codebook = rng.normal(size=[5, 3]).astype(np.float32)
  x = tf.constant(rng.normal(size=[2, 7, 3]).astype(np.float32))
  vq = nn.VectorQuantization(k=5)
  vq.build(x.shape)
  _set_codebook(vq, codebook)
  weights = rng.normal(size=[2, 7, 3]).astype(np.float32)
  with tf.GradientTape() as tape:
    tape.watch(x)
    z, codes = vq(x)
    loss = tf.reduce_sum(z * weights)
  nearest = _np_nearest(x.numpy().reshape(-1, 3), codebook)
  assert codes.shape == (2, 7, 1) and codes.dtype == tf.int64
  np.testing.assert_array_equal(codes.numpy().reshape(-1), nearest)
  np.testing.assert_allclose(z.numpy().reshape(-1, 3), codebook[nearest],
                             rtol=1e-6)
  np.testing.assert_allclose(tape.gradient(loss, x), weights)
  np.testing.assert_allclose(vq.unquantize(codes), z, rtol=1e-6)
  # Without training the codebook is unchanged.
  np.testing.assert_allclose(vq.codebook(), codebook, rtol=1e-6)


def test_vq_heads_quantize_each_segment(rng):
  codebook = rng.normal(size=[4, 2]).astype(np.float32)
  x = rng.normal(size=[3, 4]).astype(np.float32)
  vq = nn.VectorQuantization(k=4, num_heads=2)
  vq.build(x.shape)
  _set_codebook(vq, codebook)
  z, codes = vq(x)
  assert codes.shape == (3, 2)
  for head in range(2):
    segment = x[:, 2 * head:2 * head + 2]
    nearest = _np_nearest(segment, codebook)
    np.testing.assert_array_equal(codes[:, head], nearest)
    np.testing.assert_allclose(z[:, 2 * head:2 * head + 2], codebook[nearest],
                               rtol=1e-6)
  np.testing.assert_allclose(vq.unquantize(codes), z, rtol=1e-6)


def test_vq_training_updates_the_moving_averages(rng):
  codebook = rng.normal(size=[4, 3]).astype(np.float32)
  x = rng.normal(size=[10, 3]).astype(np.float32)
  vq = nn.VectorQuantization(k=4, gamma=0.9, restart_threshold=0.0)
  vq.build(x.shape)
  _set_codebook(vq, codebook, counts=3.0)
  _, codes = vq(x, training=True)
  one_hot = np.eye(4)[_np_nearest(x, codebook)]
  np.testing.assert_array_equal(codes[:, 0], _np_nearest(x, codebook))
  counts = 3.0 - 0.1 * (3.0 - one_hot.sum(axis=0))
  sums = 3.0 * codebook - 0.1 * (3.0 * codebook - one_hot.T @ x)
  np.testing.assert_allclose(vq.counts, counts, rtol=1e-5)
  np.testing.assert_allclose(vq.sums, sums, rtol=1e-5, atol=1e-6)


def test_vq_restarts_unused_codes_from_the_batch(rng):
  x = rng.normal(size=[6, 3]).astype(np.float32)
  vq = nn.VectorQuantization(k=4, gamma=0.5, seed=1)
  # Before any training every code is restarted at a batch vector, so each
  # quantized vector is one of the inputs.
  z, codes = vq(x, training=True)
  distances = ((z.numpy()[:, None] - x[None])**2).sum(axis=-1)
  assert np.all(distances.min(axis=1) < 1e-10)
  np.testing.assert_allclose(vq.counts.numpy().sum(), 0.5 * 6, rtol=1e-6)
  # Restarts are reproducible with the seed.
  _, codes_again = nn.VectorQuantization(k=4, gamma=0.5, seed=1)(
      x, training=True)
  np.testing.assert_array_equal(codes, codes_again)


def test_vq_commitment_loss_config_and_errors(rng):
  z = tf.constant(rng.normal(size=[2, 5, 4]).astype(np.float32))
  z_q = tf.constant(rng.normal(size=[2, 5, 4]).astype(np.float32))
  vq = nn.VectorQuantization(k=3, commitment_loss_weight=0.5, name='vq')
  expected = 0.5 * np.mean((z.numpy() - z_q.numpy())**2)
  np.testing.assert_allclose(vq.committment_loss(z, z_q), expected, rtol=1e-5)
  assert list(vq.get_losses_dict(z, z_q)) == ['vq_commitment_loss']
  config = vq.get_config()
  clone = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(vq))
  assert clone.get_config() == config and clone.k == 3
  with pytest.raises(ValueError, match=r'multiple of `num_heads` \(2\). '
                     r'Received: inputs.shape=\(2, 3\)'):
    nn.VectorQuantization(k=3, num_heads=2)(tf.zeros([2, 3]))
  with pytest.raises(ValueError, match=r'`k` must be a positive integer'):
    nn.VectorQuantization(k=0)


def test_docstring_examples():
  results = doctest.testmod(nn_quantization, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
