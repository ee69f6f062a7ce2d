"""Tests for ddsp.core.utils: conversions, nested dicts, safe math, noise."""

import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from ddsp.core import utils


def _grad(fn, x):
  x = tf.constant(x, tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = tf.reduce_sum(fn(x))
  return tape.gradient(y, x).numpy()


# ------------------------------------------------------------------------------
# Conversions and nested dicts.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('value', [
    np.arange(4),
    np.arange(4, dtype=np.float64) / 3,
    [0.5, 1.5],
    3,
    tf.constant([1, 2], tf.int32),
    tf.constant([0.1, 0.2], tf.float64),
])
def test_tf_float32_converts_and_keeps_values(value):
  out = utils.tf_float32(value)
  assert isinstance(out, tf.Tensor)
  assert out.dtype == tf.float32
  expected = np.asarray(value.numpy() if isinstance(value, tf.Tensor)
                        else value, dtype=np.float32)
  np.testing.assert_array_equal(out.numpy(), expected)


def test_tf_float32_passes_gradient_of_variable():
  v = tf.Variable([1.0, 2.0])
  with tf.GradientTape() as tape:
    y = tf.reduce_sum(utils.tf_float32(v) * 3.0)
  np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [3.0, 3.0])


def test_make_iterable():
  t = tf.zeros([2, 3])
  assert utils.make_iterable(None) == []
  assert utils.make_iterable('audio') == ['audio']
  assert utils.make_iterable(3) == [3]
  wrapped = utils.make_iterable(t)
  assert len(wrapped) == 1 and wrapped[0] is t
  arr = np.zeros(5)
  assert utils.make_iterable(arr)[0] is arr
  keys = ['a', 'b']
  assert utils.make_iterable(keys) is keys
  assert utils.make_iterable(('a',)) == ('a',)


def test_to_dict():
  d = {'x': 1}
  assert utils.to_dict(d, ['ignored']) is d
  assert utils.to_dict([1, 2], ['a', 'b']) == {'a': 1, 'b': 2}
  t = tf.zeros([4, 2])
  assert utils.to_dict(t, ['audio'])['audio'] is t
  assert utils.to_dict(t, 'audio')['audio'] is t


def test_to_dict_length_mismatch_raises():
  with pytest.raises(ValueError, match=r'`keys` must have one name per value'
                     r'.*3 values'):
    utils.to_dict([1, 2, 3], ['a', 'b'])


NESTED = {'harmonic': {'signal': 1, 'controls': {'amplitudes': 2, 'f0': 3}},
          'out': 4}


def test_nested_keys():
  assert utils.nested_keys(NESTED) == [
      'harmonic/signal', 'harmonic/controls/amplitudes',
      'harmonic/controls/f0', 'out']
  assert utils.nested_keys(NESTED, delimiter='.')[1] == (
      'harmonic.controls.amplitudes')
  assert utils.nested_keys({}) == []


def test_nested_lookup():
  assert utils.nested_lookup('harmonic/controls/f0', NESTED) == 3
  assert utils.nested_lookup('out', NESTED) == 4
  assert utils.nested_lookup('harmonic/controls', NESTED) == {
      'amplitudes': 2, 'f0': 3}
  assert utils.nested_lookup('harmonic.signal', NESTED, delimiter='.') == 1


def test_nested_lookup_missing_key_lists_available_keys():
  with pytest.raises(KeyError, match=r"'amps' of nested_key="
                     r"'harmonic/controls/amps'.*harmonic/controls/f0"):
    utils.nested_lookup('harmonic/controls/amps', NESTED)
  # Going below a leaf is also a missing key.
  with pytest.raises(KeyError, match=r"Available keys: \['harmonic/signal'"):
    utils.nested_lookup('out/signal', NESTED)


def test_leaf_key():
  assert utils.leaf_key('harmonic/controls/amplitudes') == 'amplitudes'
  assert utils.leaf_key('audio') == 'audio'
  assert utils.leaf_key('a.b', delimiter='.') == 'b'


def test_map_shape_eager_and_in_tf_function():
  structure = {'audio': tf.zeros([2, 100]), 'f0': [np.zeros([2, 5, 1])]}
  assert utils.map_shape(structure) == {'audio': [2, 100], 'f0': [[2, 5, 1]]}

  shapes = []

  @tf.function(input_signature=[tf.TensorSpec([None, 7])])
  def fn(x):
    shapes.append(utils.map_shape({'x': x}))
    return x

  fn(tf.zeros([3, 7]))
  assert shapes == [{'x': [None, 7]}]


# ------------------------------------------------------------------------------
# Tensor helpers.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('axis', [0, 1, 2, -1, -3])
def test_pad_axis_matches_numpy(axis, rng):
  x = rng.normal(size=(2, 3, 4)).astype(np.float32)
  out = utils.pad_axis(x, (2, 1), axis=axis).numpy()
  widths = [(0, 0)] * 3
  widths[axis] = (2, 1)
  np.testing.assert_array_equal(out, np.pad(x, widths))


def test_pad_axis_passes_kwargs(rng):
  x = rng.normal(size=(2, 5)).astype(np.float32)
  out = utils.pad_axis(x, (2, 2), axis=1, mode='REFLECT').numpy()
  np.testing.assert_array_equal(out, np.pad(x, [(0, 0), (2, 2)],
                                            mode='reflect'))
  out = utils.pad_axis(x, (0, 1), axis=0, constant_values=7.0).numpy()
  np.testing.assert_array_equal(out[-1], np.full(5, 7.0))


def test_pad_axis_bad_arguments_raise():
  with pytest.raises(ValueError, match=r'`axis` must be a number in '
                     r'\[-2, 1\]. Received: axis=2'):
    utils.pad_axis(tf.zeros([2, 3]), (1, 1), axis=2)
  with pytest.raises(ValueError, match=r'`padding\[0\]` must be a '
                     r'non-negative integer. Received: padding\[0\]=-1'):
    utils.pad_axis(tf.zeros([2, 3]), (-1, 1), axis=1)
  with pytest.raises(ValueError, match=r'`padding` must be a pair'):
    utils.pad_axis(tf.zeros([2, 3]), (1, 1, 1), axis=1)


@pytest.mark.parametrize('axis', [0, 1, 2, -1, -2])
def test_diff_matches_numpy(axis, rng):
  x = rng.normal(size=(3, 4, 5)).astype(np.float32)
  np.testing.assert_allclose(utils.diff(x, axis=axis).numpy(),
                             np.diff(x, axis=axis), rtol=1e-6, atol=1e-6)


def test_diff_gradient():
  # d/dx_i sum(x_{i+1} - x_i) = -1 for the first, +1 for the last, else 0.
  np.testing.assert_array_equal(_grad(utils.diff, [1.0, 2.0, 4.0, 8.0]),
                                [-1.0, 0.0, 0.0, 1.0])


def test_diff_bad_axis_raises():
  with pytest.raises(ValueError, match=r'`axis` must be a number in '
                     r'\[-2, 1\]. Received: axis=3'):
    utils.diff(tf.zeros([2, 3]), axis=3)
  with pytest.raises(ValueError, match=r'`axis` must be an integer'):
    utils.diff(tf.zeros([2, 3]), axis=1.0)


# ------------------------------------------------------------------------------
# Safe math.
# ------------------------------------------------------------------------------
def test_nan_to_num():
  x = np.array([1.0, np.nan, -np.inf, 2.0], np.float32)
  np.testing.assert_array_equal(utils.nan_to_num(x).numpy(),
                                [1.0, 0.0, -np.inf, 2.0])
  np.testing.assert_array_equal(utils.nan_to_num(x, value=-1.0).numpy(),
                                [1.0, -1.0, -np.inf, 2.0])


def test_safe_divide_values_and_gradient():
  n = np.array([1.0, 2.0, 3.0], np.float32)
  d = np.array([4.0, 0.0, -2.0], np.float32)
  out = utils.safe_divide(n, d, eps=1e-3).numpy()
  np.testing.assert_allclose(out, [0.25, 2.0 / 1e-3, -1.5], rtol=1e-6)
  grad = _grad(lambda d: utils.safe_divide(n, d), d)
  assert np.all(np.isfinite(grad))
  np.testing.assert_allclose(grad[[0, 2]], -n[[0, 2]] / d[[0, 2]]**2,
                             rtol=1e-6)


def test_safe_log_values_and_gradient():
  x = np.array([2.0, 0.5, 0.0, -3.0], np.float32)
  out = utils.safe_log(x).numpy()
  np.testing.assert_allclose(out, np.log([2.0, 0.5, 1e-5, 1e-5]), rtol=1e-6)
  np.testing.assert_allclose(utils.safe_log(0.0, eps=1e-3).numpy(),
                             np.log(1e-3), rtol=1e-6)
  grad = _grad(utils.safe_log, x)
  np.testing.assert_allclose(grad, [0.5, 2.0, 0.0, 0.0], rtol=1e-6)


@pytest.mark.parametrize('base', [2.0, 10.0, np.e, 0.5])
def test_logb_matches_numpy(base, rng):
  x = rng.uniform(0.01, 100.0, size=20).astype(np.float32)
  np.testing.assert_allclose(utils.logb(x, base=base).numpy(),
                             np.log(x) / np.log(base), rtol=1e-5, atol=1e-6)


def test_log10_matches_numpy(rng):
  x = rng.uniform(1e-3, 1e3, size=20).astype(np.float32)
  np.testing.assert_allclose(utils.log10(x).numpy(), np.log10(x), rtol=1e-5,
                             atol=1e-6)
  assert np.isfinite(utils.log10(0.0).numpy())


def test_log_scale():
  x = np.linspace(-1.0, 1.0, 9).astype(np.float32)
  out = utils.log_scale(x, 20.0, 8000.0).numpy()
  np.testing.assert_allclose(out, np.geomspace(20.0, 8000.0, 9), rtol=1e-5)
  np.testing.assert_allclose(out[4], np.sqrt(20.0 * 8000.0), rtol=1e-5)


def test_soft_limit(rng):
  x = rng.normal(scale=5.0, size=100).astype(np.float32)
  out = utils.soft_limit(x, -1.0, 3.0).numpy()
  # softplus(x) = log(1 + e^x) = logaddexp(0, x).
  expected = np.logaddexp(0, x) - 1.0 - np.logaddexp(0, x - 4.0)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
  assert np.all(out > -1.0) and np.all(out < 3.0)
  np.testing.assert_allclose(utils.soft_limit([-100.0, 100.0]).numpy(),
                             [0.0, 1.0], atol=1e-6)
  grad = _grad(lambda v: utils.soft_limit(v, -1.0, 3.0), x)
  assert np.all(grad > 0.0) and np.all(grad < 1.0)


def test_gradient_reversal():
  x = np.array([1.0, -2.0, 3.0], np.float32)
  np.testing.assert_array_equal(utils.gradient_reversal(x).numpy(), x)
  np.testing.assert_array_equal(_grad(utils.gradient_reversal, x), -np.ones(3))
  # The chain rule still applies around it: d/dx (reverse(x^2)) = -2x.
  np.testing.assert_allclose(
      _grad(lambda v: utils.gradient_reversal(v**2), x), -2.0 * x)


# ------------------------------------------------------------------------------
# Noise.
# ------------------------------------------------------------------------------
def test_uniform_noise_int_seed_is_reproducible():
  a = utils.uniform_noise([3, 100], seed=7).numpy()
  b = utils.uniform_noise([3, 100], seed=np.int64(7)).numpy()
  c = utils.uniform_noise([3, 100], seed=8).numpy()
  np.testing.assert_array_equal(a, b)
  assert not np.allclose(a, c)


def test_uniform_noise_seed_generator_sequence_is_reproducible():
  gen = keras.random.SeedGenerator(3)
  first = [utils.uniform_noise([50], seed=gen).numpy() for _ in range(3)]
  assert not np.allclose(first[0], first[1])
  gen = keras.random.SeedGenerator(3)
  again = [utils.uniform_noise([50], seed=gen).numpy() for _ in range(3)]
  np.testing.assert_array_equal(np.stack(first), np.stack(again))


def test_uniform_noise_in_tf_function_advances_generator():
  gen = keras.random.SeedGenerator(11)

  @tf.function
  def draw():
    return utils.uniform_noise([20], seed=gen)

  a, b = draw().numpy(), draw().numpy()
  assert not np.allclose(a, b)
  gen_eager = keras.random.SeedGenerator(11)
  np.testing.assert_array_equal(a, utils.uniform_noise([20], seed=gen_eager))


def test_uniform_noise_distribution():
  noise = utils.uniform_noise([20000], minval=-0.5, maxval=2.0, seed=1).numpy()
  assert noise.dtype == np.float32
  assert noise.min() >= -0.5 and noise.max() < 2.0
  # Kolmogorov-Smirnov test against U(-0.5, 2.0).
  result = scipy.stats.kstest(noise, 'uniform', args=(-0.5, 2.5))
  assert result.pvalue > 1e-3


def test_uniform_noise_bad_seed_raises():
  with pytest.raises(ValueError, match=r'`seed` must be None, an int, a '
                     r'keras.random.SeedGenerator or an int tensor of shape '
                     r"\[2\]. Received: seed='abc'"):
    utils.uniform_noise([3], seed='abc')


def test_uniform_noise_takes_a_stateless_seed_pair():
  seed = tf.constant([7, 3], tf.int64)
  np.testing.assert_array_equal(
      utils.uniform_noise([2, 16], seed=seed),
      tf.random.stateless_uniform([2, 16], seed=[7, 3], minval=-1.0,
                                  maxval=1.0))
  assert not np.array_equal(utils.uniform_noise([2, 16], seed=seed),
                            utils.uniform_noise([2, 16], seed=seed + [0, 1]))
  with pytest.raises(ValueError, match=r'int32 or int64 of shape \[2\]. '
                     r'Received: a tensor of dtype float32 and shape \(2,\)'):
    utils.uniform_noise([4], seed=tf.constant([1.0, 2.0]))


def test_copy_if_tf_function_copies_only_while_tracing():
  features = {'x': tf.ones([2])}
  assert utils.copy_if_tf_function(features) is features  # Eager: no copy.

  def add_double(d):
    d = utils.copy_if_tf_function(d)
    d['double'] = 2.0 * d['x']
    return d

  @tf.function
  def run(d):
    out = add_double(d)
    return out['double'], len(d)

  double, n_keys = run({'x': tf.constant([1.0, 3.0])})
  np.testing.assert_array_equal(double.numpy(), [2.0, 6.0])
  assert int(n_keys) == 1  # The traced function's own input is untouched.

  # Without the copy TensorFlow rejects the mutation of the argument.
  @tf.function
  def mutate(d):
    d['double'] = 2.0 * d['x']
    return d['double']

  with pytest.raises(ValueError, match='should not modify its Python input'):
    mutate({'x': tf.constant([1.0])})
  # A shallow copy: same tensors, new container.
  values = [tf.ones([1])]

  @tf.function
  def same_tensor(v):
    copied = utils.copy_if_tf_function(v)
    return copied is not v and copied[0] is v[0]

  assert same_tensor(values)


def test_copy_if_tf_function_docstring_example():
  import doctest  # pylint: disable=g-import-not-at-top
  finder = doctest.DocTestFinder()
  runner = doctest.DocTestRunner()
  for test in finder.find(utils.copy_if_tf_function, 'copy_if_tf_function',
                          globs={'tf': tf, 'copy_if_tf_function':
                                 utils.copy_if_tf_function}):
    runner.run(test)
  assert runner.tries >= 4 and runner.failures == 0
