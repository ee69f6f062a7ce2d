"""Tests of polyphase resampling and the ResNet layers (nn_resnet)."""

import doctest

import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from ddsp.training import nn
from ddsp.training import nn_resnet

_IMPULSE = np.array([1.0])  # resample_poly with a one-tap filter: no filtering.


def _np(x):
  return np.asarray(x, np.float64)


# ------------------------------------------------------------------------------
# Polyphase resampling.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('n_time, stride', [(12, 3), (10, 4), (5, 5), (4, 1)])
def test_polyphase_down_holds_the_polyphase_components(rng, n_time, stride):
  x = rng.normal(size=[2, n_time, 3])
  out = nn.polyphase_resample(tf.constant(x), stride, 'down').numpy()
  n_out = -(-n_time // stride)
  assert out.shape == (2, n_out, 3 * stride)
  for j in range(stride):
    # Component j is x[j::stride] (scipy, without filtering), zero-padded.
    phase = scipy.signal.resample_poly(x[:, j:], 1, stride, axis=1,
                                       window=_IMPULSE)
    expected = np.zeros([2, n_out, 3])
    expected[:, :phase.shape[1]] = phase
    np.testing.assert_allclose(out[..., 3 * j:3 * j + 3], expected, atol=1e-12)


def test_polyphase_up_interleaves_the_channel_groups(rng):
  x = rng.normal(size=[2, 5, 6])
  stride = 3
  out = nn.polyphase_resample(tf.constant(x), stride, 'up').numpy()
  assert out.shape == (2, 15, 2)
  # Sum of the groups, each upsampled by zero insertion (scipy) and delayed.
  expected = np.zeros([2, 15, 2])
  for j in range(stride):
    stuffed = scipy.signal.resample_poly(x[..., 2 * j:2 * j + 2], stride, 1,
                                         axis=1, window=_IMPULSE) / stride
    expected[:, j:] += stuffed[:, :15 - j]
  np.testing.assert_allclose(out, expected, atol=1e-12)


def test_polyphase_round_trip_trim_4d_and_layer(rng):
  x = rng.normal(size=[2, 7, 3]).astype(np.float32)
  down = nn.polyphase_resample(x, 2, 'down', trim_or_pad='pad')
  np.testing.assert_array_equal(
      nn.polyphase_resample(down, 2, 'up')[:, :7], x)
  trimmed = nn.polyphase_resample(x, 2, 'down', trim_or_pad='trim')
  np.testing.assert_array_equal(trimmed, down[:, :3])
  up_trim = nn.polyphase_resample(x, 2, 'up', trim_or_pad='trim')
  np.testing.assert_array_equal(up_trim[:, ::2, 0], x[..., 0])
  assert up_trim.shape == (2, 14, 1)
  four_d = nn.polyphase_resample(x[:, :, None, :], 2, 'down')
  np.testing.assert_array_equal(four_d[:, :, 0], down)
  layer = nn.PolyphaseResample(2, 'down')
  np.testing.assert_array_equal(layer(x), down)
  assert nn.PolyphaseResample.from_config(layer.get_config()).stride == 2
  with pytest.raises(ValueError, match=r'`resample_type` must be one of'):
    nn.polyphase_resample(x, 2, 'sideways')
  with pytest.raises(ValueError, match=r'`trim_or_pad` must be one of'):
    nn.PolyphaseResample(2, 'down', 'crop')


# ------------------------------------------------------------------------------
# ResNet.
# ------------------------------------------------------------------------------
def _np_conv2d_same(x, kernel, bias, stride_f):
  """Conv2D, stride (1, stride_f), Keras/TF 'same' padding, by loops."""
  batch, n_t, n_f, _ = x.shape
  k_t, k_f, _, c_out = kernel.shape
  out_f = -(-n_f // stride_f)
  pad_t = max(k_t - 1, 0)
  pad_f = max((out_f - 1) * stride_f + k_f - n_f, 0)
  padded = np.pad(x, [(0, 0), (pad_t // 2, pad_t - pad_t // 2),
                      (pad_f // 2, pad_f - pad_f // 2), (0, 0)])
  out = np.zeros([batch, n_t, out_f, c_out])
  for t in range(n_t):
    for f in range(out_f):
      patch = padded[:, t:t + k_t, f * stride_f:f * stride_f + k_f, :]
      out[:, t, f] = np.einsum('btfc,tfco->bo', patch, kernel) + bias
  return out


def _np_layer_norm_4d(x, eps=1e-5):
  mean = x.mean(axis=(1, 2, 3), keepdims=True)
  var = x.var(axis=(1, 2, 3), keepdims=True)
  return (x - mean) / np.sqrt(var + eps)


def test_norm_relu_conv_matches_numpy(rng):
  x = rng.normal(1.0, 2.0, size=[2, 4, 9, 3]).astype(np.float32)
  layer = nn.NormReluConv(5, 3, 2, 'layer')
  out = layer(x)
  layer.norm.scale.assign(rng.uniform(0.5, 1.5, 3))
  layer.norm.shift.assign(rng.normal(size=3))
  out = layer(x)
  scale, shift = layer.norm.scale.numpy(), layer.norm.shift.numpy()
  y = np.maximum(_np_layer_norm_4d(_np(x)) * scale + shift, 0.0)
  kernel, bias = (w.numpy() for w in layer.conv.weights)
  expected = _np_conv2d_same(y, kernel, bias, 2)
  assert out.shape == (2, 4, 5, 5)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def _zero_last_conv(layer):
  for w in layer.norm_relu_conv_2.conv.weights:
    w.assign(tf.zeros_like(w))


def test_residual_layer_adds_its_shortcut(rng):
  x = rng.normal(size=[1, 3, 8, 8]).astype(np.float32)
  # Without projection the shortcut is the input itself.
  plain = nn.ResidualLayer(2, 1, False, 'layer', False, False)
  plain(x)
  _zero_last_conv(plain)
  np.testing.assert_allclose(plain(x), x, atol=1e-6)
  # With projection: a strided 1x1 convolution of relu(norm(x)).
  proj = nn.ResidualLayer(2, 2, True, 'layer', False, False)
  out = proj(x)
  assert out.shape == (1, 3, 4, 8)
  _zero_last_conv(proj)
  y = np.maximum(_np_layer_norm_4d(_np(x)), 0.0)
  kernel, bias = (w.numpy() for w in proj.conv_proj.weights)
  np.testing.assert_allclose(proj(x), _np_conv2d_same(y, kernel, bias, 2),
                             rtol=1e-4, atol=1e-5)


def test_residual_stack_ends_normalized(rng):
  x = rng.normal(size=[2, 3, 8, 4]).astype(np.float32)
  stack = nn.ResidualStack([2, 3], [2, 1], [1, 2], 'layer',
                           nonlinearity='linear')
  out = stack(x).numpy()
  assert out.shape == (2, 3, 4, 12)
  assert len(stack.residual_layers) == 3
  # Layer norm (scale 1, shift 0) over each example's frames, bins, channels.
  np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0.0, atol=1e-5)
  np.testing.assert_allclose(out.var(axis=(1, 2, 3)), 1.0, rtol=1e-3)
  with pytest.raises(ValueError, match=r'same length'):
    nn.ResidualStack([2], [1, 2], [1], 'layer')


@pytest.mark.slow
def test_resnet_shapes_conditioning_and_gradients(rng):
  x = tf.constant(rng.normal(size=[1, 2, 40, 1]).astype(np.float32))
  resnet = nn.ResNet('tiny')
  # 40 bins / 2 (conv) / 2 (pool) / 1 / 2 / 2 / 2, rounding up: 2 bins;
  # 32 * 16 channels.
  assert resnet(x).shape == (1, 2, 2, 512)
  z = tf.constant(rng.normal(size=[1, 2, 1, 3]).astype(np.float32))
  conditional = nn.ResNet('tiny', conditional=True, shift_only=True)
  with tf.GradientTape() as tape:
    tape.watch(z)
    out = conditional([x, z])
    loss = tf.reduce_sum(out**2)
  grads = tape.gradient(loss, [z] + conditional.trainable_variables)
  assert all(np.all(np.isfinite(g)) for g in grads)
  assert np.abs(conditional([x, z + 1.0]) - out).max() > 1e-4
  clone = nn.ResNet.from_config(conditional.get_config())
  assert clone.get_config() == conditional.get_config()
  with pytest.raises(ValueError, match=r'`size` must be one of'):
    nn.ResNet('huge')
  with pytest.raises(ValueError, match=r'takes the pair \[x, z\]'):
    conditional(x)


def test_docstring_examples():
  results = doctest.testmod(nn_resnet, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
