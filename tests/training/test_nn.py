"""Tests of ddsp.training.nn and the fused GRU against numpy references."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import gru
from ddsp.training import nn
from ddsp.training import nn_dict

import nn_reference as ref  # tests/training/nn_reference.py


def _np(x):
  return np.asarray(x, np.float64)


def _gru_weights(rng, channels, units, scale=0.5):
  return (rng.normal(0, scale, [channels, 3 * units]).astype(np.float32),
          rng.normal(0, scale, [units, 3 * units]).astype(np.float32),
          rng.normal(0, scale, [2, 3 * units]).astype(np.float32))


# ------------------------------------------------------------------------------
# Helpers.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('name, expected', [
    ('relu', [0.0, 0.0, 2.0]),
    ('leaky_relu', [-0.2, 0.0, 2.0]),
    ('tanh', np.tanh([-1.0, 0.0, 2.0])),
    ('sigmoid', ref.sigmoid(np.array([-1.0, 0.0, 2.0]))),
    ('softsign', [-0.5, 0.0, 2.0 / 3.0]),  # Keras and tf.nn both have it.
    ('log_sigmoid', np.log(ref.sigmoid(np.array([-1.0, 0.0, 2.0])))),
])
def test_get_nonlinearity_by_name(name, expected):
  fn = nn.get_nonlinearity(name)
  np.testing.assert_allclose(fn(tf.constant([-1.0, 0.0, 2.0])), expected,
                             rtol=1e-6, atol=1e-7)


def test_get_nonlinearity_passes_callables_and_rejects_unknown():
  assert nn.get_nonlinearity(tf.sin) is tf.sin
  with pytest.raises(ValueError, match=r'`nonlinearity` must be .*'
                     r"Received: nonlinearity='not_an_activation'"):
    nn.get_nonlinearity('not_an_activation')


def test_split_to_dict_splits_exactly(rng):
  x = rng.normal(size=[2, 5, 6]).astype(np.float32)
  parts = nn.split_to_dict(tf.constant(x), (('a', 1), ('b', 3), ('c', 2)))
  assert list(parts) == ['a', 'b', 'c']
  np.testing.assert_array_equal(parts['a'], x[..., :1])
  np.testing.assert_array_equal(parts['b'], x[..., 1:4])
  np.testing.assert_array_equal(parts['c'], x[..., 4:])


def test_split_to_dict_errors():
  with pytest.raises(ValueError, match=r'must add up to the last dimension '
                     r'of `tensor` \(6\)'):
    nn.split_to_dict(tf.zeros([2, 6]), (('a', 1), ('b', 2)))
  with pytest.raises(ValueError, match='pairs'):
    nn.split_to_dict(tf.zeros([2, 6]), (('a', 0), ('b', 6)))
  with pytest.raises(ValueError, match='each once'):
    nn.split_to_dict(tf.zeros([2, 6]), (('a', 3), ('a', 3)))


@pytest.mark.parametrize('norm_type, groups', [
    ('layer', 1), ('instance', 4), ('group', 2)])
def test_normalize_op_matches_numpy(rng, norm_type, groups):
  x = rng.normal(2.0, 3.0, size=[2, 7, 4]).astype(np.float32)
  y = nn.normalize_op(tf.constant(x), norm_type, groups=2)
  g = _np(x).reshape([2, 7, groups, 4 // groups])
  mean = g.mean(axis=(1, 3), keepdims=True)
  var = g.var(axis=(1, 3), keepdims=True)
  expected = ((g - mean) / np.sqrt(var + 1e-5)).reshape(x.shape)
  np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


def test_normalize_layer_applies_scale_and_shift(rng):
  x = rng.normal(size=[2, 5, 3]).astype(np.float32)
  layer = nn.Normalize('instance')
  layer.build(x.shape)
  layer.scale.assign([1.0, 2.0, 3.0])
  layer.shift.assign([0.5, 0.0, -1.0])
  expected = nn.normalize_op(x, 'instance') * np.array([1.0, 2.0, 3.0]) + (
      np.array([0.5, 0.0, -1.0]))
  np.testing.assert_allclose(layer(x), expected, rtol=1e-6, atol=1e-6)


def test_normalize_errors():
  with pytest.raises(ValueError, match=r'`norm_type` must be one of'):
    nn.normalize_op(tf.zeros([2, 3, 4]), 'batch')
  with pytest.raises(ValueError, match=r'divisible by the number of groups '
                     r'\(32\)'):
    nn.normalize_op(tf.zeros([2, 3, 4]), 'group')
  with pytest.raises(ValueError, match=r'`x` must have rank 2 or 3 or 4'):
    nn.normalize_op(tf.zeros([2]), 'layer')


# ------------------------------------------------------------------------------
# Dict layers.
# ------------------------------------------------------------------------------
class _Weighted(nn.DictLayer):

  def call(self, a, b, bias=None) -> ['y', 'neg']:
    out = a * 2.0 + b
    return (out, -out) if bias is None else (out + bias, -out - bias)


def test_dict_layer_keys_from_the_call_signature():
  layer = _Weighted()
  assert layer.input_keys == ['a', 'b']
  assert layer.default_input_keys == ['bias']
  assert layer.default_input_values == [None]
  assert layer.all_input_keys == ['a', 'b', 'bias'] and layer.n_inputs == 3
  assert layer.output_keys == ['y', 'neg']
  # Explicit keys rename the inputs (all required) and the outputs.
  renamed = _Weighted(input_keys=('x', 'nested/z'), output_keys=('u', 'v'))
  assert (renamed.input_keys, renamed.default_input_keys) == (['x',
                                                               'nested/z'], [])
  out = renamed({'x': tf.constant([1.0]), 'nested': {'z': tf.constant([3.0])}})
  assert list(out) == ['u', 'v']
  np.testing.assert_allclose(out['u'], [5.0])
  # The constructor arguments round-trip (None: from the signature).
  assert _Weighted().get_config()['input_keys'] is None
  clone = _Weighted.from_config(renamed.get_config())
  assert (clone.input_keys, clone.output_keys) == (['x', 'nested/z'],
                                                   ['u', 'v'])


def test_dict_layer_reads_dicts_nested_keys_tensors_and_kwargs():
  layer = _Weighted(input_keys=('a', 'nested/b'), output_keys=('y', 'neg'))
  out = layer({'a': tf.constant([1.0])}, {'nested': {'b': tf.constant([3.0])}})
  assert list(out) == ['y', 'neg']
  np.testing.assert_allclose(out['y'], [5.0])
  np.testing.assert_allclose(out['neg'], [-5.0])
  # Later dicts win on merge; keys absent from input_keys are ignored.
  layer = _Weighted()
  out = layer({'a': tf.constant([1.0]), 'bias': tf.constant([9.0])},
              {'a': tf.constant([2.0]), 'b': tf.constant([0.0]), 'c': 0})
  np.testing.assert_allclose(out['y'], [13.0])
  # Positional tensors fill the first inputs; kwargs count as dict entries.
  np.testing.assert_allclose(layer(tf.constant([1.0]), tf.constant([1.0]))[
      'y'], [3.0])
  np.testing.assert_allclose(layer(tf.constant([1.0]), {'b': tf.constant(
      [1.0])}, bias=tf.constant([1.0]))['y'], [4.0])


class _Optionals(nn.DictLayer):

  def call(self, x1, x2=None, x3=None) -> ['y']:
    y = x1
    if x2 is not None:
      y += 2.0 * x2
    if x3 is not None:
      y += 3.0 * x3
    return y


def test_dict_layer_optional_inputs_keep_their_positions():
  layer = _Optionals()
  one = tf.constant([1.0])
  for keys, expected in ((('x1',), 1.0), (('x1', 'x2'), 3.0),
                         (('x1', 'x3'), 4.0), (('x1', 'x2', 'x3'), 6.0)):
    np.testing.assert_allclose(layer({k: one for k in keys})['y'], [expected])
  # A positional x2 and a looked-up x3.
  np.testing.assert_allclose(layer(one, one, {'x3': one})['y'], [6.0])


def test_dict_layer_errors_list_available_keys():
  layer = _Weighted(name='weighted')
  with pytest.raises(nn.DictLayerInputError,
                     match=r"_Weighted \(weighted\) needs the input key 'b', "
                     r"which is not among the available keys \['a', 'c'\]"):
    layer({'a': tf.constant([1.0]), 'c': tf.constant([1.0])})
  # Both a TypeError (as published) and a ValueError.
  assert issubclass(nn.DictLayerInputError, TypeError)
  assert issubclass(nn.DictLayerInputError, ValueError)
  with pytest.raises(ValueError, match=r"takes one value per input key "
                     r"\['a', 'b'\] \(and at most one per optional key "
                     r"\['bias'\]\). Received 1 positional tensors"):
    layer(tf.constant([1.0]))
  # Duplicated inputs: two positional tensors and both keys (4 > 3 inputs).
  with pytest.raises(TypeError, match=r'Received 2 positional tensors and '
                     r"the keys \['a', 'b'\]"):
    layer(tf.constant([1.0]), tf.constant([1.0]),
          {'a': tf.constant([1.0]), 'b': tf.constant([1.0])})
  bad = _Weighted(output_keys=('y',))
  with pytest.raises(ValueError, match=r"one name per value of `x`. "
                     r"Received: keys=\['y'\] \(1 names\) for 2 values"):
    bad({'a': tf.constant([1.0]), 'b': tf.constant([1.0])})


class _Identity(nn.OutputSplitsLayer):

  def compute_output(self, x):
    return x


def test_output_splits_layer_projects_and_splits(rng):
  layer = _Identity(input_keys=('x',), output_splits=(('amps', 1),
                                                      ('hd', 3)))
  x = rng.normal(size=[2, 4, 5]).astype(np.float32)
  out = layer({'x': tf.constant(x)})
  kernel, bias = (w.numpy() for w in layer.dense_out.weights)
  expected = ref.dense(_np(x), kernel, bias)
  assert list(out) == ['amps', 'hd']
  np.testing.assert_allclose(out['amps'], expected[..., :1], rtol=1e-5,
                             atol=1e-6)
  np.testing.assert_allclose(out['hd'], expected[..., 1:], rtol=1e-5,
                             atol=1e-6)
  config = layer.get_config()
  assert config['output_splits'] == (('amps', 1), ('hd', 3))
  assert 'output_keys' not in config


# ------------------------------------------------------------------------------
# Dense blocks.
# ------------------------------------------------------------------------------
def test_fc_stack_matches_numpy_forward(rng):
  layer = nn.FcStack(ch=6, layers=3)
  x = rng.normal(size=[2, 5, 4]).astype(np.float32)
  layer(x)
  # Non-trivial LayerNorm parameters.
  for fc_layer in layer.fc_layers:
    fc_layer.norm.gamma.assign(rng.uniform(0.5, 2.0, 6))
    fc_layer.norm.beta.assign(rng.normal(size=6))
  np.testing.assert_allclose(layer(x), ref.fc_stack(_np(x), layer),
                             rtol=1e-4, atol=1e-5)
  assert len(layer.trainable_variables) == 3 * 4


def test_fc_stack_gradients_and_config(rng):
  layer = nn.FcStack(ch=4, layers=2, nonlinearity='tanh')
  x = tf.constant(rng.normal(size=[2, 3, 5]).astype(np.float32))
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(tf.sin(layer(x)))
  grads = tape.gradient(loss, layer.trainable_variables)
  for g in grads:
    assert np.all(np.isfinite(g)) and np.any(np.abs(g) > 0)
  clone = nn.FcStack.from_config(layer.get_config())
  assert (clone.ch, clone.n_layers, clone.nonlinearity) == (4, 2, 'tanh')


def test_fc_stack_weights_are_in_tf_checkpoints(tmp_path):
  layer = nn.FcStack(ch=3, layers=2)
  layer(tf.zeros([1, 2]))
  path = tf.train.Checkpoint(layer=layer).save(str(tmp_path / 'ckpt'))
  saved = [n for n, _ in tf.train.list_variables(path) if 'layer/' in n]
  assert len(saved) == len(layer.weights) == 8


def test_fc_errors():
  with pytest.raises(ValueError, match=r'`ch` must be a positive integer. '
                     r'Received: ch=0'):
    nn.FcStack(ch=0)
  with pytest.raises(ValueError, match=r'`layers` must be a positive'):
    nn.FcStack(layers=-1)
  with pytest.raises(ValueError, match=r'`nonlinearity`'):
    nn.Fc(4, nonlinearity='nope')


# ------------------------------------------------------------------------------
# Fused GRU and Rnn.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('jit_compile, go_backwards', [
    (True, False), (False, False), (True, True)])
def test_fused_gru_matches_numpy_gru(rng, jit_compile, go_backwards):
  x = rng.normal(size=[3, 9, 5]).astype(np.float32)
  kernel, rec, bias = _gru_weights(rng, 5, 4)
  h0 = rng.normal(size=[3, 4]).astype(np.float32)
  out, state = gru.fused_gru(x, kernel, rec, bias, initial_state=h0,
                             go_backwards=go_backwards,
                             jit_compile=jit_compile)
  expected, expected_state = ref.gru(x, kernel, rec, bias, h0=h0,
                                     go_backwards=go_backwards)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(state, expected_state, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('jit_compile', [True, False])
def test_fused_gru_gradients_match_autodiff_of_keras_gru(rng, jit_compile):
  """The hand-written gradient equals TensorFlow's autodiff of keras GRU."""
  x = tf.constant(rng.normal(size=[2, 7, 3]).astype(np.float32))
  h0 = tf.constant(rng.normal(size=[2, 4]).astype(np.float32))
  weights = [tf.Variable(w) for w in _gru_weights(rng, 3, 4)]
  keras_gru = keras.layers.GRU(4, return_sequences=True)
  keras_gru.build(x.shape)
  for v, w in zip(keras_gru.weights, weights):
    v.assign(w)
  probe = tf.constant(rng.normal(size=[2, 7, 4]).astype(np.float32))

  with tf.GradientTape(persistent=True) as tape:
    tape.watch([x, h0])
    fused, _ = gru.fused_gru(x, *weights, initial_state=h0,
                             jit_compile=jit_compile)
    loss = tf.reduce_sum(tf.sin(fused) * probe)
    reference = keras_gru(x, initial_state=h0)
    ref_loss = tf.reduce_sum(tf.sin(reference) * probe)
  grads = tape.gradient(loss, [x, h0] + weights)
  ref_grads = tape.gradient(ref_loss, [x, h0] + keras_gru.weights)
  for g, r in zip(grads, ref_grads):
    assert np.all(np.isfinite(g)) and np.any(np.abs(g) > 1e-4)
    np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)


def test_fused_gru_with_unknown_shapes_in_tf_function(rng):
  x = rng.normal(size=[2, 6, 3]).astype(np.float32)
  kernel, rec, bias = _gru_weights(rng, 3, 4)
  spec = tf.TensorSpec([None, None, 3], tf.float32)

  @tf.function(input_signature=[spec])
  def forward_backward(x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      out, _ = gru.fused_gru(x, kernel, rec, bias)
      loss = tf.reduce_sum(out)
    return out, tape.gradient(loss, x)

  out, grad = forward_backward(x)
  np.testing.assert_allclose(out, ref.gru(x, kernel, rec, bias)[0],
                             rtol=1e-5, atol=1e-5)
  assert grad.shape == x.shape and np.all(np.isfinite(grad))


def test_fused_gru_errors():
  with pytest.raises(ValueError, match=r'`inputs` must have rank 3'):
    gru.fused_gru(tf.zeros([2, 3]), tf.zeros([3, 6]), tf.zeros([2, 6]),
                  tf.zeros([2, 6]))
  with pytest.raises(ValueError, match=r'`inputs` must have 3 channels'):
    gru.fused_gru(tf.zeros([2, 4, 5]), tf.zeros([3, 6]), tf.zeros([2, 6]),
                  tf.zeros([2, 6]))


@pytest.mark.parametrize('bidir, return_sequences', [
    (False, True), (True, True), (True, False)])
def test_rnn_gru_matches_numpy(rng, bidir, return_sequences):
  x = rng.normal(size=[2, 8, 3]).astype(np.float32)
  layer = nn.Rnn(4, bidir=bidir, return_sequences=return_sequences)
  layer.build(x.shape)
  for w in layer.weights:  # Non-zero biases too.
    w.assign(rng.normal(0, 0.5, w.shape))
  out = layer(x)
  cells = ([layer.rnn.forward_layer.cell, layer.rnn.backward_layer.cell]
           if bidir else [layer.rnn.cell])
  expected = []
  for cell, backwards in zip(cells, (False, True)):
    seq, last = ref.gru(x, cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                        cell.bias.numpy(), go_backwards=backwards)
    expected.append((seq[:, ::-1] if backwards else seq) if return_sequences
                    else last)
  expected = np.concatenate(expected, axis=-1)
  assert out.shape == expected.shape
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
  # The Keras layer on the same weights agrees.
  np.testing.assert_allclose(out, layer.rnn(x), rtol=1e-5, atol=1e-5)


def test_rnn_under_mixed_bfloat16_policy(rng):
  """The input projection runs in bfloat16, the recurrence in float32."""
  x = rng.normal(size=[2, 8, 3]).astype(np.float32)
  layer = nn.Rnn(4, dtype='mixed_bfloat16')
  layer.build(x.shape)
  cell = layer.rnn.cell
  out = layer(x)
  assert out.dtype == tf.bfloat16
  expected, _ = ref.gru(x, cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                        cell.bias.numpy())
  np.testing.assert_allclose(tf.cast(out, tf.float32), expected, atol=3e-2)


def test_use_fused_gru_chooses_by_the_visible_devices():
  cpu = tf.config.LogicalDevice('/device:CPU:0', 'CPU')
  gpu = tf.config.LogicalDevice('/device:GPU:0', 'GPU')
  assert gru.use_fused_gru('auto', devices=[cpu]) is True
  assert gru.use_fused_gru('auto', devices=[cpu, gpu]) is False
  assert gru.use_fused_gru('auto', devices=['CPU', 'GPU']) is False
  assert gru.use_fused_gru(True, devices=[cpu, gpu]) is True
  assert gru.use_fused_gru(False, devices=[cpu]) is False
  # This machine: fused exactly when TensorFlow sees no GPU.
  assert gru.use_fused_gru() == (not tf.config.list_logical_devices('GPU'))
  for bad in ('yes', None, 2, 'cudnn'):
    with pytest.raises(ValueError, match=r"`fused` must be True .* or "
                       r"'auto'.*Received: fused="):
      gru.use_fused_gru(bad)
    with pytest.raises(ValueError, match=r'Received: fused='):
      nn.Rnn(4, fused=bad)


def _devices_with_a_gpu(monkeypatch):
  """Makes `tf.config.list_logical_devices()` (all types) list a GPU.

  Calls for one device type (Keras asks for 'GPU' to decide on cuDNN) still
  get the real answer, so the Keras GRU runs its CPU implementation.
  """
  real = tf.config.list_logical_devices
  gpu = tf.config.LogicalDevice('/device:GPU:0', 'GPU')

  def fake(device_type=None):
    return real(device_type) if device_type else real() + [gpu]

  monkeypatch.setattr(tf.config, 'list_logical_devices', fake)


@pytest.mark.parametrize('layer_fn', [
    lambda fused: nn.Rnn(4, fused=fused),
    lambda fused: nn.StatelessRnn(4, 'gru', fused=fused)])
def test_rnn_auto_runs_keras_gru_on_a_gpu_and_fused_gru_on_cpu(
    rng, monkeypatch, layer_fn):
  """'auto' picks the implementation per machine; True/False override it;
  both give the numpy reference's numbers."""
  x = rng.normal(size=[2, 6, 3]).astype(np.float32)
  calls = []
  real_fused_gru = gru.fused_gru

  def spy(*args, **kwargs):
    calls.append(1)
    return real_fused_gru(*args, **kwargs)

  monkeypatch.setattr(gru, 'fused_gru', spy)

  def run(fused):
    layer = layer_fn(fused)
    args = (x,) if isinstance(layer, nn.Rnn) else (x, np.zeros([2, 4],
                                                               np.float32))
    out = layer(*args)
    out = out[0] if isinstance(out, tuple) else out
    cell = layer.rnn.cell
    expected, _ = ref.gru(x, cell.kernel.numpy(),
                          cell.recurrent_kernel.numpy(), cell.bias.numpy())
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    n_calls = len(calls)
    calls.clear()
    return n_calls

  # 'auto' on this machine: fused unless TensorFlow sees a GPU.
  assert run('auto') == int(not tf.config.list_logical_devices('GPU'))
  assert run(False) == 0
  _devices_with_a_gpu(monkeypatch)
  assert run('auto') == 0  # "GPU": keras.layers.GRU (cuDNN there).
  assert run(True) == 1


def test_rnn_lstm_matches_numpy(rng):
  x = rng.normal(size=[2, 6, 3]).astype(np.float32)
  layer = nn.Rnn(4, rnn_type='lstm')
  layer.build(x.shape)
  layer.rnn.cell.bias.assign(rng.normal(0, 0.5, [16]))
  cell = layer.rnn.cell
  expected = ref.lstm(x, cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                      cell.bias.numpy())
  np.testing.assert_allclose(layer(x), expected, rtol=1e-5, atol=1e-5)


def test_rnn_config_round_trip_checkpoint_and_errors(tmp_path):
  layer = nn.Rnn(5, rnn_type='gru', bidir=True, jit_compile=False)
  clone = nn.Rnn.from_config(layer.get_config())
  assert (clone.dims, clone.rnn_type, clone.bidir, clone.fused,
          clone.jit_compile) == (5, 'gru', True, 'auto', False)
  assert nn.Rnn.from_config(nn.Rnn(3, fused=False).get_config()).fused is False
  layer(tf.zeros([1, 3, 2]))
  path = tf.train.Checkpoint(layer=layer).save(str(tmp_path / 'ckpt'))
  saved = [n for n, _ in tf.train.list_variables(path) if 'layer/' in n]
  assert len(saved) == len(layer.weights) == 6
  with pytest.raises(ValueError, match=r"`rnn_type` must be one of \['gru', "
                     r"'lstm'\]. Received: rnn_type='rnn'"):
    nn.Rnn(4, rnn_type='rnn')
  with pytest.raises(ValueError, match=r'`dims` must be a positive integer'):
    nn.Rnn(0)
  with pytest.raises(ValueError, match=r'`inputs` must have rank 3'):
    nn.Rnn(4)(tf.zeros([2, 3]))


# ------------------------------------------------------------------------------
# Dilated convolutions.
# ------------------------------------------------------------------------------
def test_dilated_conv_stack_causal_receptive_field(rng):
  """Causal: output frame t depends only on frames <= t, reaching back
  sum over layers of dilation**i * (kernel_size - 1) frames."""
  keras.utils.set_random_seed(2)  # Random weights can silence a path.
  layer = nn.DilatedConvStack(ch=4, layers_per_stack=3, stacks=1,
                              kernel_size=2, dilation=2, causal=True)
  x = rng.normal(size=[1, 20, 2]).astype(np.float32)
  base = layer(x).numpy()
  x2 = x.copy()
  x2[:, 12] += 1.0
  diff = np.abs(layer(x2).numpy() - base).max(axis=-1)[0]
  assert np.all(diff[:12] == 0.0)
  # Receptive field 1 + 1 + 2 + 4 = 8 frames: frames 12..19 change.
  assert np.all(diff[12:20] > 0.0)


def test_dilated_conv_stack_resampling_and_conditioning(rng):
  x = tf.constant(rng.normal(size=[2, 16, 3]).astype(np.float32))
  z = tf.constant(rng.normal(size=[2, 4, 5]).astype(np.float32))
  down = nn.DilatedConvStack(ch=6, layers_per_stack=2, stacks=2,
                             resample_type='downsample', resample_stride=2,
                             norm_type='layer', conditional=True)
  assert down(x, z).shape == (2, 4, 6)
  up = nn.DilatedConvStack(ch=6, layers_per_stack=1, stacks=2,
                           resample_type='upsample', resample_stride=2)
  assert up(x).shape == (2, 64, 6)
  # Conditioning changes the output.
  z2 = z + 1.0
  assert np.abs(down(x, z2) - down(x, z)).max() > 1e-3
  with tf.GradientTape() as tape:
    tape.watch(z)
    loss = tf.reduce_sum(down(x, z) ** 2)
  for g in tape.gradient(loss, [z] + down.trainable_variables):
    assert np.all(np.isfinite(g)) and np.any(np.abs(g) > 0)


def test_dilated_conv_stack_config_and_errors():
  layer = nn.DilatedConvStack(ch=4, layers_per_stack=2, stacks=1,
                              norm_type='instance', causal=True)
  clone = nn.DilatedConvStack.from_config(layer.get_config())
  assert (clone.ch, clone.norm_type, clone.causal) == (4, 'instance', True)
  with pytest.raises(ValueError, match=r'needs the `conditioning` input'):
    nn.DilatedConvStack(ch=4, stacks=1, conditional=True)(tf.zeros([1, 5, 2]))
  with pytest.raises(ValueError, match=r'`resample_type` must be one of'):
    nn.DilatedConvStack(resample_type='up')
  with pytest.raises(ValueError, match=r'`norm_type` must be one of'):
    nn.DilatedConvStack(norm_type='batch')


@pytest.mark.parametrize('after, expected_frames', [
    (True, [16, 16, 8, 8]),  # Resample after stacks 2 and 4.
    (False, [8, 8, 4, 4]),  # Before stacks 1 and 3.
])
def test_dilated_conv_stack_resampling_schedule(rng, after, expected_frames):
  x = tf.constant(rng.normal(size=[1, 16, 2]).astype(np.float32))
  layer = nn.DilatedConvStack(ch=3, layers_per_stack=1, stacks=4,
                              resample_type='downsample', resample_stride=2,
                              stacks_per_resample=2,
                              resample_after_convolve=after)
  assert len(layer.resamplers) == 2
  layer(x)  # Build first (Keras traces the call once symbolically).
  frames = []
  # Frames seen by each stack's convolution, from a hook on the layer.
  for conv in layer.convs:
    original = conv.call
    conv.call = (lambda inputs, _call=original:
                 frames.append(inputs.shape[1]) or _call(inputs))
  out = layer(x)
  assert frames == expected_frames
  assert out.shape == (1, 4, 3)
  with pytest.raises(ValueError, match=r'`stacks` must be a multiple of '
                     r'`stacks_per_resample` \(3\)'):
    nn.DilatedConvStack(stacks=4, resample_type='upsample',
                        stacks_per_resample=3)


def test_dilated_conv_stack_dilations_init_and_pair_input(rng):
  up = nn.DilatedConvStack(ch=4, layers_per_stack=3, stacks=1, dilation=2)
  down = nn.DilatedConvStack(ch=4, layers_per_stack=3, stacks=1, dilation=-2)
  assert [c.dilation_rate[0] for c in up.convs] == [1, 2, 4]
  assert [c.dilation_rate[0] for c in down.convs] == [4, 2, 1]
  with pytest.raises(ValueError, match=r'`dilation` must be a non-zero '
                     r'integer. Received: dilation=0'):
    nn.DilatedConvStack(dilation=0)
  # Orthogonal kernels: the columns of each reshaped kernel are orthonormal.
  ortho = nn.DilatedConvStack(ch=4, layers_per_stack=2, stacks=1,
                              kernel_size=3, ortho_init=True)
  x = rng.normal(size=[2, 6, 5]).astype(np.float32)
  ortho(x)
  for conv in ortho.convs:
    kernel = conv.kernel.numpy().reshape(-1, 4)  # [3 * 4, 4].
    np.testing.assert_allclose(kernel.T @ kernel, np.eye(4), atol=1e-5)
  # The published call with the pair [x, z] equals call(x, z).
  cond = nn.DilatedConvStack(ch=4, layers_per_stack=1, stacks=1,
                             conditional=True)
  z = rng.normal(size=[2, 3, 2]).astype(np.float32)
  np.testing.assert_allclose(cond([x, z]), cond(x, z), rtol=1e-6)
  config = ortho.get_config()
  assert nn.DilatedConvStack.from_config(config).get_config() == config


def test_spectral_normalization_matches_numpy_power_iteration(rng):
  layer = nn.SpectralNormalization(keras.layers.Dense(4), power_iterations=1)
  x = rng.normal(size=[3, 5]).astype(np.float32)
  layer(x)  # Builds: kernel [5, 4], u [1, 4].
  kernel = _np(layer.layer.kernel.numpy())
  u = _np(layer.vector_u.numpy())
  y = layer(x, training=True).numpy()
  # One power iteration (Miyato et al.), then the kernel divided by sigma.
  v = u @ kernel.T
  v /= np.linalg.norm(v)
  u_new = v @ kernel
  u_new /= np.linalg.norm(u_new)
  sigma = (v @ kernel @ u_new.T)[0, 0]
  np.testing.assert_allclose(layer.layer.kernel, kernel / sigma, rtol=1e-5)
  np.testing.assert_allclose(layer.vector_u, u_new, rtol=1e-5, atol=1e-7)
  bias = layer.layer.bias.numpy()
  np.testing.assert_allclose(y, x @ (kernel / sigma) + bias, rtol=1e-4,
                             atol=1e-5)
  # Repeated training calls drive the largest singular value to 1 (SVD).
  for _ in range(30):
    layer(x, training=True)
  top = np.linalg.svd(layer.layer.kernel.numpy(), compute_uv=False)[0]
  np.testing.assert_allclose(top, 1.0, atol=1e-3)
  # Inference leaves the kernel alone.
  before = layer.layer.kernel.numpy()
  layer(x)
  np.testing.assert_array_equal(layer.layer.kernel, before)
  with pytest.raises(ValueError, match=r'`power_iterations` must be a '
                     r'positive integer'):
    nn.SpectralNormalization(keras.layers.Dense(2), power_iterations=0)


def test_spectral_norm_dilated_conv_stack_bounds_its_kernels(rng):
  layer = nn.DilatedConvStack(ch=4, layers_per_stack=2, stacks=1,
                              spectral_norm=True)
  x = tf.constant(rng.normal(size=[1, 8, 3]).astype(np.float32))
  for _ in range(20):
    layer(x, training=True)
  for conv in layer.convs:
    kernel = conv.layer.kernel.numpy().reshape(-1, 4)
    top = np.linalg.svd(kernel, compute_uv=False)[0]
    np.testing.assert_allclose(top, 1.0, atol=1e-2)


@pytest.mark.parametrize('module', [nn, gru, nn_dict])
def test_docstring_examples(module):
  results = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
