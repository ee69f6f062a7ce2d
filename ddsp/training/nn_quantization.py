"""Quantization with straight-through gradients, and vector quantization.

* Straight-through estimators: the forward pass quantizes (rounds, or samples
  a one-hot category), the backward pass lets the gradient through as if it
  had not: `x + stop_gradient(quantize(x) - x)`.
* `VectorQuantization`: a VQ-VAE bottleneck (van den Oord et al. 2017) whose
  codebook is the exponential moving average of the vectors assigned to each
  code (no codebook gradient), with restarts of unused codes and several
  heads.

Part of `ddsp.training.nn` (import the names from there).
"""

import keras
import tensorflow as tf

from ddsp import core
from ddsp import losses
from ddsp import registration
from ddsp import validation

_register = registration.register('ddsp.training.nn')


def straight_through_softmax(logits, seed=None):
  """Samples a one-hot category; the gradient is that of its probability.

  Forward: a one-hot sample from `softmax(logits)`. Backward: the gradient of
  `probs * sample` (the sampled category's probability), the straight-through
  estimator of the published library.

  Args:
    logits: [..., n_categories] float32.
    seed: optional int, for a reproducible (stateless) sample.

  Returns:
    sample: [..., n_categories] float32 one-hot.
    probs: [..., n_categories] float32 `softmax(logits)`.

  Example:
    >>> sample, probs = straight_through_softmax(
    ...     tf.constant([[0.0, 30.0, 0.0]]), seed=1)
    >>> sample.numpy().tolist()
    [[0.0, 1.0, 0.0]]
  """
  logits = core.tf_float32(logits)
  probs = tf.nn.softmax(logits)
  flat_logits = tf.reshape(logits, [-1, tf.shape(logits)[-1]])
  if seed is None:
    index = tf.random.categorical(flat_logits, 1)
  else:
    index = tf.random.stateless_categorical(
        flat_logits, 1, seed=[validation.check_seed(seed), 0])
  sample = tf.reshape(tf.one_hot(index[:, 0], tf.shape(logits)[-1]),
                      tf.shape(logits))
  p_sample = probs * sample
  return tf.stop_gradient(sample - p_sample) + p_sample, probs


def straight_through_choice(logits, values, seed=None):
  """Chooses one of `values` by a straight-through one-hot sample.

  Args:
    logits: [..., n_choices] float32.
    values: [..., n_choices] float32 (broadcastable to `logits`).
    seed: optional int, for a reproducible sample.

  Returns:
    [..., 1] float32, the chosen value; differentiable (straight-through)
    with respect to `logits` and `values`.

  Example:
    >>> straight_through_choice(tf.constant([[0.0, 30.0]]),
    ...                         tf.constant([[1.0, 5.0]]), seed=0).numpy()
    array([[5.]], dtype=float32)
  """
  choice, _ = straight_through_softmax(logits, seed=seed)
  return tf.reduce_sum(choice * values, axis=-1, keepdims=True)


def straight_through_int_quantization(x):
  """Rounds to the nearest integer, with the gradient of the identity.

  Args:
    x: float32 tensor; not rescaled (values in [-1, 1] round to -1, 0 or 1).
      Halves round to even, as `tf.math.round` and `numpy.round`.

  Returns:
    `round(x)` forwards; d output / d x = 1 backwards.

  Example:
    >>> straight_through_int_quantization(tf.constant([0.4, 1.6])).numpy()
    array([0., 2.], dtype=float32)
  """
  x = core.tf_float32(x)
  return x + tf.stop_gradient(tf.math.round(x) - x)


@_register
class VectorQuantization(keras.layers.Layer):
  """Vector quantization with an exponential-moving-average codebook.

  Each input vector (split into `num_heads` segments, each quantized
  separately) is replaced by the nearest of `k` codes (Euclidean distance),
  with a straight-through gradient (`x + stop_gradient(code - x)`). Codes are
  `sums / counts`, the EMAs (decay `gamma`) of the vectors assigned to them
  and of their number, updated on each call with `training=True`; a code
  whose count is at most `restart_threshold` of its share (`counts * k <=
  restart_threshold * n_vectors`) is restarted at a random vector of the
  batch (uniform noise in [0, 1) if there are fewer vectors than restarts).
  Before any training call every code is restarted so.

  Args:
    k: number of codes.
    gamma: EMA decay, in [0, 1).
    restart_threshold: restart codes used at most this fraction of the
      uniform share.
    num_heads: segments per vector (must divide its depth).
    commitment_loss_weight: weight of `committment_loss`.
    seed: optional int seed of the restarts.
    **kwargs: passed to `keras.layers.Layer`.

  Example:
    >>> vq = VectorQuantization(k=4, seed=0)
    >>> z, codes = vq(tf.random.normal([2, 5, 8]), training=True)
    >>> z.shape, codes.shape
    (TensorShape([2, 5, 8]), TensorShape([2, 5, 1]))
  """

  def __init__(self, k, gamma=0.99, restart_threshold=0.0, num_heads=1,
               commitment_loss_weight=0.2, seed=None, **kwargs):
    super().__init__(**kwargs)
    self.k = validation.check_positive_int(k, 'k')
    self.gamma = validation.check_in_range(gamma, 'gamma', 0.0, 1.0)
    self.restart_threshold = float(restart_threshold)
    self.num_heads = validation.check_positive_int(num_heads, 'num_heads')
    self.commitment_loss_weight = float(commitment_loss_weight)
    self.seed = validation.check_seed(seed)
    self._seed_generator = keras.random.SeedGenerator(self.seed)

  def build(self, inputs_shape):
    self.depth = inputs_shape[-1]
    if self.depth is None or self.depth % self.num_heads:
      raise ValueError('The depth of the inputs (last axis) must be a '
                       f'multiple of `num_heads` ({self.num_heads}). '
                       f'Received: inputs.shape={tuple(inputs_shape)}')
    # Number and sum of the input vectors assigned to each code (EMAs).
    self.counts = self.add_weight(shape=(self.k,), initializer='zeros',
                                  trainable=False, name='counts',
                                  aggregation='mean')
    self.sums = self.add_weight(shape=(self.k, self.depth // self.num_heads),
                                initializer='zeros', trainable=False,
                                name='sums', aggregation='mean')

  def call(self, inputs, training=False):
    """Quantizes the inputs.

    Args:
      inputs: [..., depth] float32.
      training: update the codebook (and restart unused codes).

    Returns:
      z: [..., depth] float32, the quantized inputs (straight-through
        gradient with respect to `inputs`).
      codes: [..., num_heads] int64, the code index of each head.
    """
    x = core.tf_float32(inputs)
    x_flat = self._split_heads(tf.reshape(x, [-1, self.depth]))
    codebook = self.codebook()
    if training:
      codebook = self._restart(codebook, x_flat)
    distances = (tf.reduce_sum(x_flat**2, axis=1, keepdims=True) -
                 2.0 * tf.matmul(x_flat, codebook, transpose_b=True) +
                 tf.reduce_sum(codebook**2, axis=1)[tf.newaxis])
    codes = tf.argmin(distances, axis=1)
    z = tf.reshape(self._merge_heads(tf.gather(codebook, codes)), tf.shape(x))
    z = x + tf.stop_gradient(z - x)
    if training:
      one_hot = tf.one_hot(codes, self.k)
      decay = 1.0 - self.gamma
      self.counts.assign_sub(decay * (self.counts -
                                      tf.reduce_sum(one_hot, axis=0)))
      self.sums.assign_sub(decay * (self.sums - tf.matmul(
          one_hot, x_flat, transpose_a=True)))
    codes = tf.stack(tf.split(codes, self.num_heads, axis=0), axis=1)
    codes = tf.reshape(codes, tf.concat([tf.shape(x)[:-1], [self.num_heads]],
                                        axis=0))
    return z, codes

  def codebook(self):
    """The codes, [k, depth // num_heads] float32 (`sums / counts`)."""
    return tf.math.divide_no_nan(self.sums, self.counts[:, tf.newaxis])

  def _split_heads(self, x_flat):
    """[n, depth] -> [n * num_heads, depth // num_heads], head-major."""
    return tf.concat(tf.split(x_flat, self.num_heads, axis=1), axis=0)

  def _merge_heads(self, z_flat):
    return tf.concat(tf.split(z_flat, self.num_heads, axis=0), axis=1)

  def _restart(self, codebook, x_flat):
    """Replaces rarely used codes by random input vectors."""
    n = tf.cast(tf.shape(x_flat)[0], tf.float32)
    keep = self.counts * self.k > self.restart_threshold * n
    restart_index = tf.where(tf.logical_not(keep))[:, 0]
    n_replace = tf.minimum(tf.shape(restart_index)[0], tf.shape(x_flat)[0])
    shuffled = keras.random.shuffle(x_flat, seed=self._seed_generator)
    noise = keras.random.uniform(tf.shape(codebook),
                                 seed=self._seed_generator)
    restarted = tf.tensor_scatter_nd_update(
        noise, restart_index[:n_replace, tf.newaxis], shuffled[:n_replace])
    return tf.where(keep[:, tf.newaxis], codebook, restarted)

  def unquantize(self, codes):
    """Code indices [..., num_heads] -> vectors [..., depth] float32."""
    z = tf.gather(self.codebook(), codes)  # [..., num_heads, depth / heads]
    return tf.reshape(z, tf.concat([tf.shape(codes)[:-1], [self.depth]],
                                   axis=0))

  def committment_loss(self, z, z_q):
    """Weighted mean squared distance of `z` to its (constant) codes.

    Encourages an encoder to output vectors close to the current codes. (The
    published name, spelling included.)
    """
    loss = losses.mean_difference(z, tf.stop_gradient(z_q), loss_type='L2')
    return self.commitment_loss_weight * loss

  def get_losses_dict(self, z, z_q):
    """{'<name>_commitment_loss': committment_loss(z, z_q)}."""
    return {self.name + '_commitment_loss': self.committment_loss(z, z_q)}

  def get_config(self):
    config = super().get_config()
    config.update(k=self.k, gamma=self.gamma,
                  restart_threshold=self.restart_threshold,
                  num_heads=self.num_heads,
                  commitment_loss_weight=self.commitment_loss_weight,
                  seed=self.seed)
    return config
