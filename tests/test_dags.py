"""Tests for ddsp.dags.DAGLayer: routing, output keys, errors, tracking."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp import dags
from ddsp import processors


# ------------------------------------------------------------------------------
# Small modules used as DAG nodes.
# ------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package='ddsp_test_dags')
class Scale(processors.Processor):
  """Multiplies its input by a constant; controls hold the scaled input."""

  def __init__(self, factor=2.0, name='scale', **kwargs):
    super().__init__(name=name, **kwargs)
    self.factor = factor

  def get_controls(self, x):
    return {'scaled': self.factor * x}

  def get_signal(self, scaled):
    return scaled

  def get_config(self):
    return {**super().get_config(), 'factor': self.factor}


@keras.saving.register_keras_serializable(package='ddsp_test_dags')
class Gain(processors.Processor):
  """Multiplies its input by a trainable scalar gain (initialized to 3)."""

  def __init__(self, name='gain', **kwargs):
    super().__init__(name=name, trainable=True, **kwargs)

  def build(self, *args, **kwargs):
    self.gain = self.add_weight(
        name='gain', shape=(), initializer=keras.initializers.Constant(3.0))

  def get_controls(self, x):
    return {'x': x}

  def get_signal(self, x):
    return self.gain * x

  def get_config(self):
    config = super().get_config()
    config.pop('trainable')
    return config


class SplitHalves(keras.layers.Layer):
  """A plain layer returning a tuple: the two halves of the last axis."""

  def call(self, x):
    half = x.shape[-1] // 2
    return x[..., :half], x[..., half:]


class ToDict(keras.layers.Layer):
  """A plain layer returning a dict."""

  def call(self, x):
    return {'double': 2.0 * x, 'negative': -x}


def _x(rng, shape=(2, 4)):
  return rng.normal(size=shape).astype(np.float32)


# ------------------------------------------------------------------------------
# Routing.
# ------------------------------------------------------------------------------
def test_nodes_run_in_order_over_inputs_and_outputs(rng):
  x, y = _x(rng), _x(rng)
  dag = [
      (Scale(2.0, name='double'), ['x']),
      (Scale(-1.0, name='negate'), ['inputs/y']),
      (processors.Add(), ['double/signal', 'negate/controls/scaled']),
      (Scale(0.5, name='half'), ['add/signal']),
  ]
  outputs = dags.DAGLayer(dag)({'x': x, 'y': y})
  np.testing.assert_allclose(outputs['double']['signal'], 2 * x, rtol=1e-6)
  np.testing.assert_allclose(outputs['negate']['controls']['scaled'], -y,
                             rtol=1e-6)
  expected = 0.5 * (2 * x - y)
  np.testing.assert_allclose(outputs['half']['signal'], expected, rtol=1e-6)
  # The last node is also 'out'; inputs stay reachable both ways.
  assert outputs['out'] is outputs['half']
  np.testing.assert_array_equal(outputs['x'], x)
  np.testing.assert_array_equal(outputs['inputs']['y'], y)
  assert set(outputs) == {'x', 'y', 'inputs', 'double', 'negate', 'add',
                          'half', 'out'}


def test_string_nodes_name_keyword_modules(rng):
  x = _x(rng)
  doubler = Scale(2.0, name='doubler')
  layer = dags.DAGLayer([('first', ['x']), ('second', ['first/signal'])],
                        first=doubler, second=keras.layers.ReLU(name='relu'))
  outputs = layer({'x': x})
  # As published, results are stored under the keyword, not the module name.
  np.testing.assert_allclose(outputs['second'], np.maximum(2 * x, 0),
                             rtol=1e-6)
  np.testing.assert_allclose(outputs['first']['signal'], 2 * x, rtol=1e-6)
  assert 'relu' not in outputs and 'doubler' not in outputs
  assert layer.first is doubler
  assert layer.module_names == ['first', 'second']
  assert layer.modules == [doubler, layer.second]
  # A module given both ways is stored under each node's own key.
  mixed = dags.DAGLayer([(doubler, ['x']), ('again', ['doubler/signal'])],
                        again=Scale(3.0, name='tripler'))
  np.testing.assert_allclose(mixed({'x': x})['again']['signal'], 6 * x,
                             rtol=1e-6)
  with pytest.raises(ValueError, match="under the key 'first'"):
    dags.DAGLayer([('first', ['x']), (Scale(1.0, name='first'), ['x'])],
                  first=doubler)


def test_plain_layer_without_output_keys_stores_its_result(rng):
  x = _x(rng)
  outputs = dags.DAGLayer([(keras.layers.ReLU(name='relu'), ['x'])])({'x': x})
  np.testing.assert_allclose(outputs['relu'], np.maximum(x, 0))


def test_output_keys_name_tuple_and_tensor_results(rng):
  x = _x(rng)
  dag = [
      (SplitHalves(name='split'), ['x'], ['low', 'high']),
      (keras.layers.ReLU(name='relu'), ['split/high'], ['rectified']),
      (ToDict(name='to_dict'), ['split/low'], ['double']),
  ]
  outputs = dags.DAGLayer(dag)({'x': x})
  np.testing.assert_array_equal(outputs['split']['low'], x[:, :2])
  np.testing.assert_array_equal(outputs['split']['high'], x[:, 2:])
  np.testing.assert_allclose(outputs['relu']['rectified'],
                             np.maximum(x[:, 2:], 0))
  # A dict result is stored whole once the listed keys are checked.
  np.testing.assert_allclose(outputs['to_dict']['double'], 2 * x[:, :2])
  np.testing.assert_allclose(outputs['to_dict']['negative'], -x[:, :2])


def test_output_key_count_must_match_result(rng):
  layer = dags.DAGLayer([(SplitHalves(name='split'), ['x'], ['only_one'])])
  with pytest.raises(ValueError, match=r"'split' returned 2 value\(s\) but its "
                     r"DAG node lists 1 output keys \['only_one'\]"):
    layer({'x': _x(rng)})


def test_dict_result_must_hold_listed_output_keys(rng):
  layer = dags.DAGLayer([(ToDict(name='to_dict'), ['x'], ['double', 'half'])])
  with pytest.raises(ValueError, match=r"without the output keys \['half'\]"):
    layer({'x': _x(rng)})


def test_training_flag_reaches_modules(rng):
  x = np.ones([4, 100], np.float32)
  layer = dags.DAGLayer([(keras.layers.Dropout(0.5, seed=1, name='drop'),
                          ['x'])])
  np.testing.assert_array_equal(layer({'x': x}, training=False)['out'], x)
  dropped = layer({'x': x}, training=True)['out'].numpy()
  assert 0.2 < np.mean(dropped == 0.0) < 0.8
  np.testing.assert_allclose(dropped[dropped != 0], 2.0)


def test_eager_equals_tf_function_and_gradients(rng):
  x = tf.constant(_x(rng))
  layer = dags.DAGLayer([(Gain(), ['x']), (Scale(-2.0), ['gain/signal'])])
  eager = layer({'x': x})['out']['signal']
  graph = tf.function(lambda inputs: layer(inputs)['out']['signal'])({'x': x})
  np.testing.assert_allclose(eager, graph, rtol=1e-6)
  np.testing.assert_allclose(eager, -6.0 * x.numpy(), rtol=1e-6)
  with tf.GradientTape() as tape:
    tape.watch(x)
    loss = tf.reduce_sum(layer({'x': x})['out']['signal'])
  grad_x, grad_gain = tape.gradient(loss, [x, layer.trainable_variables[0]])
  np.testing.assert_allclose(grad_x, -6.0 * np.ones_like(x), rtol=1e-6)
  np.testing.assert_allclose(grad_gain, -2.0 * np.sum(x), rtol=1e-5)


# ------------------------------------------------------------------------------
# Errors.
# ------------------------------------------------------------------------------
def test_unknown_key_lists_available_keys(rng):
  layer = dags.DAGLayer([(Scale(), ['x']), (Scale(name='s2'), ['scale/sig'])])
  with pytest.raises(KeyError, match=r"DAG node 1 \(module 's2'\): input key "
                     r"'scale/sig' not found. Available keys .*'x', "
                     r"'scale/signal', 'scale/controls/scaled'"):
    layer({'x': _x(rng)})
  # It is also a ValueError, the library's error for bad arguments.
  with pytest.raises(ValueError, match="input key 'scale/sig' not found"):
    layer({'x': _x(rng)})


def test_missing_keyword_module():
  with pytest.raises(ValueError, match=r"names the module 'decoder', which was "
                     r"not given as a keyword argument. Modules given by "
                     r"keyword: \['encoder'\]"):
    dags.DAGLayer([('decoder', ['x'])], encoder=Scale())


@pytest.mark.parametrize('node, message', [
    ('not a node', r'DAG node 0 must be a tuple \(module, \[input keys\]\)'),
    ((Scale(),), r'DAG node 0 must be a tuple'),
    ((Scale(), ['x'], ['y'], ['z']), r'DAG node 0 must be a tuple'),
    ((Scale(), 'x'), r'input keys of DAG node 0 must be a list of strings'),
    ((Scale(), [3]), r'input keys of DAG node 0 must be non-empty strings'),
    ((Scale(), ['x'], 'y'), r'output keys of DAG node 0 must be a list'),
    ((Scale(), ['x'], []), r'DAG node 0 lists no output keys'),
    ((Scale(), ['x'], ['a/b']), r"Output key 'a/b' of DAG node 0 must not"),
    ((Scale(), ['x'], ['a', 'a']), r'DAG node 0 repeats an output key'),
])
def test_malformed_nodes(node, message):
  with pytest.raises(ValueError, match=message):
    dags.DAGLayer([node])


def test_module_must_be_a_layer():
  with pytest.raises(TypeError, match=r'module of DAG node 0 must be a '
                     r'keras.layers.Layer .* Received: .* of type function'):
    dags.DAGLayer([(tf.nn.relu, ['x'])])
  with pytest.raises(TypeError, match=r'must be modules \(keras.layers.Layer\)'
                     r'.* Received: relu='):
    dags.DAGLayer([('relu', ['x'])], relu=tf.nn.relu)
  with pytest.raises(TypeError, match='`dag` must be a list of nodes'):
    dags.DAGLayer({'scale': ['x']})


def test_duplicate_and_reserved_module_names():
  with pytest.raises(ValueError, match=r"DAG nodes 0 and 1 hold two different "
                     r"modules under the key 'scale'.*distinct `name=`"):
    dags.DAGLayer([(Scale(), ['x']), (Scale(), ['scale/signal'])])
  scale = Scale()
  with pytest.raises(ValueError, match="hold the same module under the key 'scale'"):
    dags.DAGLayer([(scale, ['x']), (scale, ['scale/signal'])])
  with pytest.raises(ValueError, match=r"named 'out', which is reserved"):
    dags.DAGLayer([(Scale(name='out'), ['x'])])


def test_inputs_must_not_clash_with_module_names(rng):
  layer = dags.DAGLayer([(Scale(), ['x'])])
  with pytest.raises(ValueError, match=r"Input keys \['scale'\] clash"):
    layer({'x': _x(rng), 'scale': _x(rng)})
  with pytest.raises(TypeError, match='takes a dict of input tensors'):
    layer(tf.constant(_x(rng)))


# ------------------------------------------------------------------------------
# Tracking, checkpoints and config.
# ------------------------------------------------------------------------------
def _two_gain_dag():
  return dags.DAGLayer([
      (Gain(name='gain_a'), ['x']),
      ('second', ['gain_a/signal']),
      (keras.layers.Dense(3, name='dense'), ['second/signal']),
  ], second=Gain(name='gain_b'), name='chain')


def test_variables_of_modules_are_tracked(rng):
  layer = _two_gain_dag()
  layer({'x': _x(rng)})
  paths = sorted(v.path for v in layer.trainable_variables)
  assert paths == ['chain/dense/bias', 'chain/dense/kernel',
                   'chain/gain_a/gain', 'chain/gain_b/gain']


def test_checkpoint_saves_and_restores_module_variables(rng, tmp_path):
  x = _x(rng)
  layer = _two_gain_dag()
  expected = layer({'x': x})['out'].numpy()
  path = tf.train.Checkpoint(layer=layer).save(str(tmp_path / 'ckpt'))
  saved = [name for name, _ in tf.train.list_variables(path)]
  for module in ('gain_a', 'gain_b', 'dense'):
    assert any(f'layer/{module}/' in name for name in saved), saved

  restored = _two_gain_dag()
  restored({'x': x})  # Build, then overwrite every variable.
  for variable in restored.weights:
    variable.assign(tf.zeros_like(variable) + 7.0)
  status = tf.train.Checkpoint(layer=restored).restore(path)
  status.assert_existing_objects_matched()
  np.testing.assert_allclose(restored({'x': x})['out'], expected, rtol=1e-6)


def test_config_round_trip(rng):
  x = _x(rng)
  layer = _two_gain_dag()
  expected = layer({'x': x})['out'].numpy()
  config = layer.get_config()
  # String nodes stay names of keyword modules.
  assert config['dag'][1][0] == 'second'
  assert sorted(config['kwarg_modules']) == ['second']
  clone = dags.DAGLayer.from_config(config)
  assert clone.get_config() == config
  clone({'x': x})
  clone.set_weights(layer.get_weights())
  np.testing.assert_allclose(clone({'x': x})['out'], expected, rtol=1e-6)
  # Through Keras' generic (de)serialization too.
  again = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(layer))
  assert isinstance(again, dags.DAGLayer)
  assert again.module_names == ['gain_a', 'second', 'dense']


def test_module_named_like_a_layer_attribute_is_still_tracked(rng, tmp_path):
  # 'output' is a property of Keras layers: the module is stored under another
  # attribute but still routed by its name and saved in checkpoints.
  layer = dags.DAGLayer([(Gain(name='output'), ['x'])])
  x = _x(rng)
  np.testing.assert_allclose(layer({'x': x})['output']['signal'], 3 * x,
                             rtol=1e-6)
  path = tf.train.Checkpoint(layer=layer).save(str(tmp_path / 'ckpt'))
  assert any('gain' in name for name, _ in tf.train.list_variables(path))


def test_docstring_examples():
  results = doctest.testmod(dags, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0


def test_split_keras_kwargs_as_published():
  kwargs = {'name': 'group', 'training': False, 'mask': None, 'units': 3,
            'harmonic': 'module'}
  keras_kwargs, other = dags.split_keras_kwargs(kwargs)
  # 'training' is False, not None, so it is split off; a None 'mask' stays.
  assert keras_kwargs == {'name': 'group', 'training': False}
  assert other == {'mask': None, 'units': 3, 'harmonic': 'module'}
  assert other is kwargs  # Changed in place, as published.
  assert dags.split_keras_kwargs({}) == ({}, {})
  with pytest.raises(TypeError, match=r'`kwargs` must be a dict of keyword '
                     r'arguments. Received: kwargs of type list'):
    dags.split_keras_kwargs([('name', 'x')])
