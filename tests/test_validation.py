"""Tests for ddsp.validation: finiteness, audio layout, sizes, broadcasting."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp import validation


@pytest.fixture
def finite_checks_on():
  previous = validation.set_finite_checks(True)
  yield
  validation.set_finite_checks(previous)


# ------------------------------------------------------------------------------
# check_finite.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('make', [np.asarray, tf.constant, tf.Variable, list])
def test_check_finite_raises_eagerly_naming_the_argument(finite_checks_on,
                                                         make):
  values = make([[1.0, np.nan, 2.0], [np.inf, 0.0, -np.inf]])
  with pytest.raises(ValueError, match=r'`f0_hz` must be finite \(no NaN or '
                     r'infinite values\).*Received: f0_hz with 1 NaN and 2 '
                     r'infinite values of 6, the first at index \(0, 1\)'):
    validation.check_finite(values, 'f0_hz')


def test_check_finite_passes_finite_and_integer_values(finite_checks_on):
  x = tf.constant([1.0, -2.0])
  assert validation.check_finite(x, 'x') is x
  validation.check_finite(np.arange(3), 'n')
  validation.check_finite(tf.constant([1, 2]), 'n')
  with pytest.raises(ValueError, match='`z` must be finite'):
    validation.check_finite(tf.constant([1.0 + 1j, complex(0, np.nan)]), 'z')


def test_check_finite_in_graph_raises_when_run(finite_checks_on):
  @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
  def double(x):
    validation.check_finite(x, 'amplitudes')
    return 2.0 * x

  np.testing.assert_array_equal(double(tf.ones([2, 3])), 2.0 * np.ones([2, 3]))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'`amplitudes` must be finite.*set_finite_checks'):
    double(tf.constant([[1.0, np.nan]]))


def test_check_finite_leaves_the_gradient_alone(finite_checks_on):
  @tf.function
  def grad(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = tf.reduce_sum(validation.check_finite(x, 'x')**3)
    return tape.gradient(y, x)

  x = tf.constant([1.0, -2.0, 0.5])
  np.testing.assert_allclose(grad(x), 3.0 * x.numpy()**2, rtol=1e-6)


def test_switch_turns_eager_and_graph_checks_off(finite_checks_on):
  assert validation.finite_checks_enabled()
  assert validation.set_finite_checks(False) is True
  try:
    assert not validation.finite_checks_enabled()
    validation.check_finite(np.array([np.nan]), 'x')  # No error.

    @tf.function
    def identity(x):
      validation.check_finite(x, 'x')
      return x

    assert np.isnan(identity(tf.constant([np.nan])).numpy()[0])
  finally:
    validation.set_finite_checks(True)
  with pytest.raises(ValueError, match='`x` must be finite'):
    validation.check_finite(np.array([np.nan]), 'x')


# ------------------------------------------------------------------------------
# check_audio.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('shape', [(16000, 2), (16000, 1), (4000, 8),
                                   (2, 16000, 2)])
def test_check_audio_refuses_multichannel_layouts(shape):
  channels = shape[-1]
  with pytest.raises(ValueError, match=(
      r'`audio` must be \[batch, n_samples\] or \[batch, n_samples, 1\] mono '
      rf'audio .*a last axis of {channels} looks like the channels of '
      r'multichannel audio.*soundfile.read.*Make it mono first, e\.g\. '
      r'`audio.mean\(axis=-1\)`.*Received: audio.shape=')):
    validation.check_audio(np.zeros(shape, np.float32))


@pytest.mark.parametrize('shape', [(16000,), (2, 16000), (2, 16000, 1),
                                   (1, 4), (3, 8), (2, 9), (None, 64000)])
def test_check_audio_accepts_mono_layouts(shape):
  if None in shape:
    spec = tf.TensorSpec(shape, tf.float32)
    fn = tf.function(validation.check_audio, input_signature=[spec])
    assert fn.get_concrete_function() is not None
  else:
    assert validation.check_audio(np.zeros(shape)) == list(shape)


def test_check_audio_checks_finiteness(finite_checks_on):
  audio = np.zeros([2, 100], np.float32)
  audio[1, 50] = np.nan
  with pytest.raises(ValueError, match=r'`target_audio` must be finite.*'
                     r'first at index \(1, 50\)'):
    validation.check_audio(audio, 'target_audio')
  validation.check_audio(audio, 'target_audio', finite=False)


# ------------------------------------------------------------------------------
# Sizes and broadcasting.
# ------------------------------------------------------------------------------
def test_check_not_empty():
  validation.check_not_empty(np.zeros([2, 3]), 'x', 1, 'frame')
  with pytest.raises(ValueError, match=r'`f0_hz` must have at least one '
                     r'frame. Received: f0_hz.shape=\(1, 0, 1\)'):
    validation.check_not_empty(np.zeros([1, 0, 1]), 'f0_hz', 1, 'frame')
  with pytest.raises(ValueError, match='at least one band'):
    validation.check_not_empty(tf.zeros([2, 4, 0]), 'magnitudes', -1, 'band')


def test_check_broadcastable_dim():
  tensors = {'a': np.zeros([1, 5]), 'b': np.zeros([4, 5])}
  assert validation.check_broadcastable_dim(tensors, 0, 'batch') == 4
  assert validation.check_broadcastable_dim({'a': np.zeros([1])}, 0, 'b') == 1
  with pytest.raises(ValueError, match=r'agree on the n_sinusoids axis \(or '
                     r'have size 1 there.*a.shape\[2\]=3, b.shape\[2\]=2'):
    validation.check_broadcastable_dim(
        {'a': np.zeros([1, 5, 3]), 'b': np.zeros([1, 5, 2])}, 2,
        'n_sinusoids')


def test_check_broadcastable_shapes():
  shapes = {'amp': np.zeros([]), 'dist': np.zeros([2, 5, 8]),
            'f0': np.zeros([1, 5, 1])}
  assert validation.check_broadcastable_shapes(shapes) == [2, 5, 8]
  assert validation.check_broadcastable_shapes(
      {'f0': np.zeros([2, 5, 1]), 'dist': np.zeros([1, 5, 8])},
      ignore_last_axis=True) == [2, 5]
  with pytest.raises(ValueError, match=r"Arguments \['a', 'b'\] must "
                     r'broadcast against each other.*\(2, 5\).*\(3, 5\)'):
    validation.check_broadcastable_shapes({'a': np.zeros([2, 5]),
                                           'b': np.zeros([3, 5])})
