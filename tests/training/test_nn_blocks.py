"""Tests of the composite nn layers (nn_blocks) against numpy references."""

import doctest

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import nn
from ddsp.training import nn_blocks

import nn_reference as ref  # tests/training/nn_reference.py


def _np(x):
  return np.asarray(x, np.float64)


def _weights(layer):
  return [w.numpy() for w in layer.weights]


def _np_normalize(x, norm_type, eps=1e-5):
  """Layer norm over (time, channels) or instance norm over time, per item."""
  axes = (1, 2) if norm_type == 'layer' else (1,)
  mean = x.mean(axis=axes, keepdims=True)
  var = x.var(axis=axes, keepdims=True)
  return (x - mean) / np.sqrt(var + eps)


# ------------------------------------------------------------------------------
# Conditioning.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('shift_only', [False, True])
def test_conditional_scale_and_shift_matches_numpy(rng, shift_only):
  x = rng.normal(size=[2, 5, 3]).astype(np.float32)
  z = rng.normal(size=[2, 1, 4]).astype(np.float32)  # Broadcast over time.
  layer = nn.ConditionalScaleAndShift(shift_only=shift_only)
  out = layer([x, z])
  kernel, bias = _weights(layer.dense)
  film = ref.dense(_np(z), kernel, bias)
  expected = (_np(x) + film if shift_only else
              _np(x) * film[..., :3] + film[..., 3:])
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('norm_type', ['layer', 'instance'])
def test_conditional_norm_matches_numpy(rng, norm_type):
  x = rng.normal(2.0, 3.0, size=[2, 6, 4]).astype(np.float32)
  z = rng.normal(size=[2, 6, 2]).astype(np.float32)
  layer = nn.ConditionalNorm(norm_type)
  out = layer([x, z])
  kernel, bias = _weights(layer.conditional_scale_and_shift.dense)
  film = ref.dense(_np(z), kernel, bias)
  expected = _np_normalize(_np(x), norm_type) * film[..., :4] + film[..., 4:]
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
  with tf.GradientTape() as tape:
    z_t = tf.constant(z)
    tape.watch(z_t)
    loss = tf.reduce_sum(layer([x, z_t])**2)
  assert np.all(np.isfinite(tape.gradient(loss, z_t)))


def test_get_norm_and_identity():
  assert isinstance(nn.get_norm('layer', True, True), nn.ConditionalNorm)
  assert nn.get_norm('layer', True, True).shift_only
  norm = nn.get_norm('instance', False, False)
  assert isinstance(norm, nn.Normalize) and norm.norm_type == 'instance'
  x = tf.constant([[1.0, -2.0]])
  np.testing.assert_array_equal(nn.Identity()(x), x)


def test_get_embedding_looks_up_rows():
  embedding = nn.get_embedding(vocab_size=5, n_dims=3)
  ids = tf.constant([[4], [0]])
  out = embedding(ids)
  table = embedding.embeddings.numpy()
  np.testing.assert_array_equal(out[:, 0], table[[4, 0]])


# ------------------------------------------------------------------------------
# Recurrent layers.
# ------------------------------------------------------------------------------
def test_stateless_gru_matches_numpy_and_carries_state(rng):
  x = rng.normal(size=[2, 8, 3]).astype(np.float32)
  h0 = rng.normal(size=[2, 4]).astype(np.float32)
  layer = nn.StatelessRnn(4, 'gru')
  y, state = layer(x, h0)
  kernel, recurrent_kernel, bias = _weights(layer.rnn)
  expected, final = ref.gru(x, kernel, recurrent_kernel, bias, h0=h0)
  np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(state, final, rtol=1e-4, atol=1e-5)
  # Two blocks with the carried state equal one pass.
  y1, s1 = layer(x[:, :5], h0)
  y2, s2 = layer(x[:, 5:], s1)
  np.testing.assert_allclose(np.concatenate([y1, y2], 1), y, atol=1e-5)
  np.testing.assert_allclose(s2, state, atol=1e-5)
  # The Keras GRU path agrees.
  keras_path = nn.StatelessRnn(4, 'gru', fused=False)
  keras_path(x, h0)
  keras_path.set_weights(layer.get_weights())
  np.testing.assert_allclose(keras_path(x, h0)[0], y, atol=1e-5)


def test_stateless_lstm_state_holds_h_and_c(rng):
  x = rng.normal(size=[1, 6, 2]).astype(np.float32)
  layer = nn.StatelessRnn(3, 'lstm')
  y, state = layer(x, tf.zeros([1, 6]))
  assert state.shape == (1, 6)
  kernel, recurrent_kernel, bias = _weights(layer.rnn)
  np.testing.assert_allclose(y, ref.lstm(x, kernel, recurrent_kernel, bias),
                             rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(state[:, :3], y[:, -1], atol=1e-6)  # h last.
  y1, s1 = layer(x[:, :2], tf.zeros([1, 6]))
  y2, _ = layer(x[:, 2:], s1)
  np.testing.assert_allclose(np.concatenate([y1, y2], 1), y, atol=1e-5)
  with pytest.raises(ValueError, match=r'`state` must have shape'):
    layer(x, tf.zeros([1, 3]))


def test_rnn_fc_matches_numpy(rng):
  x = rng.normal(size=[2, 5, 3]).astype(np.float32)
  layer = nn.RnnFc(4, 2, rnn_type='gru', nonlinearity='tanh', n_rnn=2)
  out = layer(x)
  h = _np(x)
  for rnn in layer.rnns:
    h, _ = ref.gru(h, *_weights(rnn))
  expected = ref.fc(h, _weights(layer.fc), nonlinearity=np.tanh)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
  # The published defaults: an LSTM and a sigmoid.
  lstm = nn.RnnFc(4, 2)
  out = lstm(x)
  expected = ref.fc(ref.lstm(x, *_weights(lstm.rnns[0])), _weights(lstm.fc),
                    nonlinearity=ref.sigmoid)
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
  assert nn.RnnFc(4, 2, bidir=True)(x).shape == (2, 5, 2)


def test_rnn_sandwich_single_gru_and_fc_stack_out_match_numpy(rng):
  x = rng.normal(size=[2, 5, 3]).astype(np.float32)
  sandwich = nn.RnnSandwich(fc_stack_ch=4, fc_stack_layers=1, rnn_ch=3)
  out = sandwich(x)
  h = ref.fc_stack(_np(x), sandwich.fc_stack_in)
  h, _ = ref.gru(h, *_weights(sandwich.rnn))
  np.testing.assert_allclose(out, ref.fc_stack(h, sandwich.fc_stack_out),
                             rtol=1e-4, atol=1e-5)

  single = nn.SingleGru(gru_dim=4)
  out = single(x)
  h, _ = ref.gru(x, *_weights(single.rnn))
  gamma, beta = _weights(single.norm)
  np.testing.assert_allclose(out, ref.layer_norm(h, gamma, beta), rtol=1e-4,
                             atol=1e-5)

  stack_out = nn.FcStackOut(ch=4, layers=2, n_out=3)
  out = stack_out(x)
  expected = ref.dense(ref.fc_stack(_np(x), stack_out.stack),
                       *_weights(stack_out.dense_out))
  np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_block_configs_round_trip():
  layers = [nn.StatelessRnn(4, 'lstm', fused=False),
            nn.RnnFc(4, 2, rnn_type='gru', bidir=True, n_rnn=2),
            nn.RnnSandwich(8, 1, 4, 'lstm'), nn.SingleGru(5),
            nn.FcStackOut(4, 2, 3), nn.ConditionalNorm('layer', True),
            nn.ConditionalScaleAndShift(True), nn.Identity()]
  for layer in layers:
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer))
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()


# ------------------------------------------------------------------------------
# gin.
# ------------------------------------------------------------------------------
def test_keras_layers_are_nameable_in_gin_and_unchanged():
  gin.clear_config()
  try:
    nn.gin_register_keras_layers()  # Again: harmless.
    gin.parse_config("""
        layer/tf.keras.layers.Dense.units = 5
        layer/tf.keras.layers.Dense.activation = 'relu'
    """)
    with gin.config_scope('layer'):
      dense = gin.get_configurable('tf.keras.layers.Dense')()
    assert isinstance(dense, keras.layers.Dense)
    assert (dense.units, dense.activation.__name__) == (5, 'relu')
    # Keras itself is unchanged; the short ddsp names stay unambiguous.
    assert keras.layers.Dense(2).units == 2
    assert gin.get_configurable('Add').__module__ == 'ddsp.processors'
    assert gin.get_configurable('Identity') is nn.Identity
    assert gin.get_configurable('tf.keras.Sequential') is not None
  finally:
    gin.clear_config()


@pytest.mark.parametrize('module', [nn_blocks])
def test_docstring_examples(module):
  results = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
