"""Tests for ddsp.processors: Processor, ProcessorGroup, Add, Mix, Crop, gin."""

import doctest
import inspect
import os
import subprocess
import sys

import gin
import keras
import numpy as np
import pytest
import scipy.special
import tensorflow as tf

from ddsp import core
from ddsp import effects
from ddsp import processors
from ddsp import synths
from ddsp import validation


@keras.saving.register_keras_serializable(package='ddsp_test_processors')
class Scale(processors.Processor):
  """Multiplies its input by a constant."""

  def __init__(self, factor=2.0, name='scale', **kwargs):
    super().__init__(name=name, **kwargs)
    self.factor = factor

  def get_controls(self, x):
    return {'x': self.factor * x}

  def get_signal(self, x):
    return x

  def get_config(self):
    return {**super().get_config(), 'factor': self.factor}


@keras.saving.register_keras_serializable(package='ddsp_test_processors')
class Bias(processors.Processor):
  """Adds a trainable bias (initialized to 0.5) to its input."""

  def __init__(self, name='bias', **kwargs):
    kwargs.setdefault('trainable', True)
    super().__init__(name=name, **kwargs)

  def build(self, *args, **kwargs):
    self.bias = self.add_weight(
        name='bias', shape=(), initializer=keras.initializers.Constant(0.5))

  def get_controls(self, x):
    return {'x': x}

  def get_signal(self, x):
    return x + self.bias


def _audio(rng, shape=(2, 64)):
  return rng.uniform(-1, 1, size=shape).astype(np.float32)


def _gradients(fn, *inputs):
  inputs = [tf.constant(x) for x in inputs]
  with tf.GradientTape() as tape:
    tape.watch(inputs)
    out = fn(*inputs)
    loss = tf.reduce_sum(out**2)
  return tape.gradient(loss, inputs)


# ------------------------------------------------------------------------------
# Processor base class.
# ------------------------------------------------------------------------------
def test_processor_returns_signal_or_outputs_dict(rng):
  x = _audio(rng)
  scale = Scale(3.0)
  np.testing.assert_allclose(scale(x), 3 * x, rtol=1e-6)
  outputs = scale(x, return_outputs_dict=True)
  assert sorted(outputs) == ['controls', 'signal']
  np.testing.assert_allclose(outputs['controls']['x'], 3 * x, rtol=1e-6)


def test_processor_must_implement_controls_and_signal():
  with pytest.raises(NotImplementedError, match='must implement get_controls'):
    processors.Processor()(tf.zeros([1, 2]))


def test_processor_computes_in_float32_under_mixed_precision(rng):
  try:
    keras.mixed_precision.set_global_policy('mixed_float16')
    add = processors.Add()
    out = add(tf.constant(_audio(rng), tf.float16),
              tf.constant(_audio(rng), tf.float16))
  finally:
    keras.mixed_precision.set_global_policy('float32')
  assert add.compute_dtype == 'float32'
  assert out.dtype == tf.float32


# ------------------------------------------------------------------------------
# Add, Mix, Crop.
# ------------------------------------------------------------------------------
def test_add_sums_and_has_unit_gradients(rng):
  a, b = _audio(rng), _audio(rng)
  np.testing.assert_allclose(processors.Add()(a, b), a + b, rtol=1e-6)
  grad_a, grad_b = _gradients(processors.Add(), a, b)
  np.testing.assert_allclose(grad_a, 2 * (a + b), rtol=1e-5)
  np.testing.assert_allclose(grad_b, 2 * (a + b), rtol=1e-5)


def test_add_rejects_different_shapes(rng):
  with pytest.raises(ValueError, match=r"\['signal_one', 'signal_two'\] must "
                     r'have the same shape. Received: signal_one.shape=\(2, '
                     r'64\), signal_two.shape=\(2, 64, 1\)'):
    processors.Add()(_audio(rng), _audio(rng)[..., np.newaxis])


def _mix_reference(one, two, level_frames):
  """numpy: sigmoid, then linear interpolation with the last frame held."""
  n_frames, n_samples = level_frames.shape[1], one.shape[1]
  positions = np.arange(n_samples) * n_frames / n_samples
  mix = np.stack([np.interp(positions, np.arange(n_frames),
                            scipy.special.expit(row[:, 0]))
                  for row in level_frames])
  return np.sqrt(mix) * one + np.sqrt(1 - mix) * two


def test_mix_matches_numpy_reference(rng):
  one, two = _audio(rng), _audio(rng)
  level = rng.normal(scale=3.0, size=(2, 8, 1)).astype(np.float32)
  out = processors.Mix()(one, two, level)
  np.testing.assert_allclose(out, _mix_reference(one, two, level), atol=1e-5)


def test_mix_extremes_choose_one_signal(rng):
  one, two = _audio(rng), _audio(rng)
  level = np.full([2, 4, 1], 30.0, np.float32)
  np.testing.assert_allclose(processors.Mix()(one, two, level), one, atol=1e-5)
  np.testing.assert_allclose(processors.Mix()(one, two, -level), two,
                             atol=1e-5)


def test_mix_is_constant_power(rng):
  # Two independent noises of equal power: the mix keeps that power at every
  # level (the published formula 1 - sqrt(|m - 1|) lost it: silence at m=0).
  one = rng.normal(size=(1, 200000)).astype(np.float32)
  two = rng.normal(size=(1, 200000)).astype(np.float32)
  for m in (0.0, 0.1, 0.5, 0.9, 1.0):
    level = np.full([1, 4, 1], m, np.float32)
    out = processors.Mix(scale_fn=None)(one, two, level).numpy()
    np.testing.assert_allclose(np.mean(out**2), 1.0, rtol=0.02)
    np.testing.assert_allclose(
        out, np.sqrt(m) * one + np.sqrt(1 - m) * two, atol=1e-5)


def test_mix_published_argument_name(rng):
  one, two = _audio(rng), _audio(rng)
  level = rng.normal(size=(2, 8, 1)).astype(np.float32)
  out = processors.Mix()(signal_one=one, signal_two=two,
                         nn_out_mix_level=level)
  np.testing.assert_allclose(out, _mix_reference(one, two, level), atol=1e-5)


def test_mix_keeps_three_d_signals_and_custom_scale_fn(rng):
  one, two = _audio(rng, (2, 64, 1)), _audio(rng, (2, 64, 1))
  level = rng.uniform(size=(2, 8, 1)).astype(np.float32)
  out = processors.Mix(scale_fn=None)(one, two, level)
  assert out.shape == (2, 64, 1)
  positions = np.arange(64) * 8 / 64
  mix = np.stack([np.interp(positions, np.arange(8), r[:, 0]) for r in level])
  np.testing.assert_allclose(out[..., 0], np.sqrt(mix) * one[..., 0]
                             + np.sqrt(1 - mix) * two[..., 0], atol=1e-5)


def test_mix_gradients_reach_all_inputs(rng):
  one, two = _audio(rng), _audio(rng)
  level = rng.normal(size=(2, 8, 1)).astype(np.float32)
  grads = _gradients(processors.Mix(), one, two, level)
  for grad in grads:
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)


def test_mix_errors(rng):
  one, two = _audio(rng), _audio(rng)
  with pytest.raises(ValueError, match=r'`nn_out_mix_level` must have shape '
                     r'\[\?, \?, 1\]. Received: nn_out_mix_level.shape='
                     r'\(2, 8, 2\)'):
    processors.Mix()(one, two, np.zeros([2, 8, 2], np.float32))
  with pytest.raises(ValueError, match=r'agree on the batch axis. Received: '
                     r'signal_one.shape\[0\]=2, '
                     r'nn_out_mix_level.shape\[0\]=3'):
    processors.Mix()(one, two, np.zeros([3, 8, 1], np.float32))
  with pytest.raises(ValueError, match='must have the same shape'):
    processors.Mix()(one, two[:, :32], np.zeros([2, 8, 1], np.float32))
  with pytest.raises(TypeError, match='`scale_fn` must be a callable or None'):
    processors.Mix(scale_fn=3.0)


@pytest.mark.parametrize('location, expected', [
    ('front', np.s_[:, 3:]),
    ('back', np.s_[:, :-3]),
    ('center', np.s_[:, 1:-1]),
])
def test_crop_removes_samples(rng, location, expected):
  x = _audio(rng, (2, 16, 3))
  out = processors.Crop(frame_size=3, crop_location=location)(x)
  np.testing.assert_array_equal(out, x[expected])
  np.testing.assert_array_equal(
      processors.Crop(3, location)(x[..., 0]), x[..., 0][expected])


def test_crop_center_undoes_centered_padding(rng):
  x = _audio(rng, (1, 40))
  padded = np.pad(x, [(0, 0), (8, 8)])
  np.testing.assert_array_equal(processors.Crop(16, 'center')(padded), x)


def test_crop_errors(rng):
  with pytest.raises(ValueError, match=r'`frame_size` must be a positive '
                     r'integer. Received: frame_size=0'):
    processors.Crop(frame_size=0)
  with pytest.raises(ValueError, match=r"`crop_location` must be one of "
                     r"\['front', 'center', 'back'\]. Received: "
                     r"crop_location='middle'"):
    processors.Crop(frame_size=2, crop_location='middle')
  with pytest.raises(ValueError, match=r'`signal` must have more than 8 samples'
                     r'.*Received: signal.shape=\(1, 8\)'):
    processors.Crop(frame_size=8)(np.zeros([1, 8], np.float32))
  with pytest.raises(ValueError, match=r'`signal` must have rank 2 or 3'):
    processors.Crop(frame_size=2)(np.zeros([8], np.float32))


@pytest.mark.parametrize('layer', [
    processors.Add(name='plus'),
    processors.Mix(scale_fn=core.exp_sigmoid),
    processors.Mix(),
    processors.Crop(frame_size=5, crop_location='center'),
])
def test_routing_config_round_trip(layer):
  config = layer.get_config()
  clone = type(layer).from_config(config)
  assert clone.get_config() == config
  again = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(layer))
  assert type(again) is type(layer) and again.get_config() == config


# ------------------------------------------------------------------------------
# ProcessorGroup.
# ------------------------------------------------------------------------------
def _group():
  return processors.ProcessorGroup(dag=[
      (Scale(2.0, name='double'), ['one']),
      (Bias(), ['two']),
      (processors.Mix(), ['double/signal', 'bias/signal', 'level']),
      (processors.Crop(frame_size=4), ['mix/signal']),
  ])


def _group_inputs(rng):
  return {'one': _audio(rng), 'two': _audio(rng),
          'level': rng.normal(size=(2, 8, 1)).astype(np.float32)}


def test_group_equals_processors_called_by_hand(rng):
  inputs = _group_inputs(rng)
  group = _group()
  audio = group(inputs)
  by_hand = processors.Crop(frame_size=4)(processors.Mix()(
      Scale(2.0)(inputs['one']), Bias()(inputs['two']), inputs['level']))
  np.testing.assert_allclose(audio, by_hand, atol=1e-6)
  reference = _mix_reference(2 * inputs['one'], inputs['two'] + 0.5,
                             inputs['level'])[:, :-4]
  np.testing.assert_allclose(audio, reference, atol=1e-5)


def test_group_controls_are_the_dag_outputs(rng):
  inputs = _group_inputs(rng)
  group = _group()
  outputs = group(inputs, return_outputs_dict=True)
  controls = outputs['controls']
  assert set(controls) == {'one', 'two', 'level', 'inputs', 'double', 'bias',
                           'mix', 'crop', 'out'}
  np.testing.assert_array_equal(outputs['signal'], controls['out']['signal'])
  np.testing.assert_allclose(controls['mix']['controls']['signal_one'],
                             2 * inputs['one'], rtol=1e-6)
  assert set(group.get_controls(inputs)) == set(controls)


def test_group_variables_gradients_and_tf_function(rng):
  inputs = _group_inputs(rng)
  group = _group()
  eager = group(inputs)
  graph = tf.function(group)(inputs)
  np.testing.assert_allclose(eager, graph, atol=1e-6)
  assert [v.path for v in group.trainable_variables] == [
      'processor_group/bias/bias']
  tensors = {k: tf.constant(v) for k, v in inputs.items()}
  with tf.GradientTape() as tape:
    tape.watch(tensors)
    loss = tf.reduce_sum(group(tensors) ** 2)
  grads = tape.gradient(loss, [tensors, group.trainable_variables])
  for grad in list(grads[0].values()) + grads[1]:
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)


def test_nested_group_is_a_processor(rng):
  inputs = _group_inputs(rng)
  outer = processors.ProcessorGroup(dag=[
      (_group(), ['inputs']),
      (Scale(-1.0, name='negate'), ['processor_group/signal']),
  ], name='outer')
  np.testing.assert_allclose(outer(inputs), -_group()(inputs), atol=1e-6)


def test_group_config_round_trip(rng):
  inputs = _group_inputs(rng)
  group = _group()
  expected = group(inputs)
  clone = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(group))
  assert isinstance(clone, processors.ProcessorGroup)
  assert clone.get_config() == group.get_config()
  clone(inputs)
  clone.set_weights(group.get_weights())
  np.testing.assert_allclose(clone(inputs), expected, atol=1e-6)


def test_group_errors():
  with pytest.raises(TypeError, match=r"must hold a ddsp Processor; use "
                     r"ddsp.dags.DAGLayer for other layers. Received: node 1 "
                     r"holds 'relu' of type ReLU"):
    processors.ProcessorGroup([(Scale(), ['x']),
                               (keras.layers.ReLU(name='relu'), ['x'])])
  with pytest.raises(ValueError, match='needs at least one node'):
    processors.ProcessorGroup([])


# ------------------------------------------------------------------------------
# Gin.
# ------------------------------------------------------------------------------
@pytest.fixture
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def test_group_from_gin_equals_python(rng, clean_gin):
  inputs = _group_inputs(rng)
  gin.parse_config("""
      ProcessorGroup.dag = [
        (@processors.Mix(), ['one', 'two', 'level']),
        (@processors.Crop(), ['mix/signal']),
      ]
      Mix.scale_fn = @core.exp_sigmoid
      Crop.frame_size = 4
      Crop.crop_location = 'front'
  """)
  group = gin.get_configurable('processors.ProcessorGroup')()
  assert isinstance(group, processors.ProcessorGroup)
  python = processors.ProcessorGroup([
      (processors.Mix(scale_fn=core.exp_sigmoid),
       ['one', 'two', 'level']),
      (processors.Crop(frame_size=4, crop_location='front'), ['mix/signal']),
  ])
  assert group.get_config() == python.get_config()
  np.testing.assert_allclose(group(inputs), python(inputs), atol=1e-6)


def test_gin_scopes_give_two_processors_of_one_class(clean_gin):
  gin.parse_config("""
      ProcessorGroup.dag = [
        (@front/processors.Crop(), ['x']),
        (@back/processors.Crop(), ['x']),
        (@processors.Add(), ['front/signal', 'back/signal']),
      ]
      Crop.frame_size = 2
      front/Crop.name = 'front'
      front/Crop.crop_location = 'front'
      back/Crop.name = 'back'
  """)
  group = gin.get_configurable('processors.ProcessorGroup')()
  assert type(group) is processors.ProcessorGroup
  assert group.module_names == ['front', 'back', 'add']
  x = np.arange(6, dtype=np.float32)[np.newaxis]
  np.testing.assert_array_equal(group({'x': x}), x[:, 2:] + x[:, :-2])
  # Gin builds new processors for each group.
  other = gin.get_configurable('processors.ProcessorGroup')()
  assert other.dag[0][0] is not group.dag[0][0]


@pytest.mark.parametrize('name', [
    'exp_sigmoid', 'sym_exp_sigmoid', 'frequencies_softmax',
    'frequencies_sigmoid', 'frequencies_critical_bands'])
def test_core_scale_functions_are_registered(name, clean_gin):
  fn = getattr(core, name)
  assert gin.get_configurable(f'core.{name}') is not None
  gin.parse_config(f'Mix.scale_fn = @core.{name}')
  mix = gin.get_configurable('processors.Mix')()
  # Gin passes a wrapper (so that bindings of the function apply); the
  # config names the function itself.
  assert inspect.unwrap(mix.scale_fn) is fn
  assert mix.get_config()['scale_fn']['config'] == f'ddsp>{name}'
  clone = processors.Mix.from_config(mix.get_config())
  assert clone.scale_fn is fn
  assert processors.deserialize_fn(processors.serialize_fn(fn)) is fn


# ------------------------------------------------------------------------------
# The paper's default processor group, with the library's synths and effects.
# ------------------------------------------------------------------------------
_PAPER_GIN = """
    ProcessorGroup.dag = [
      (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
      (@synths.FilteredNoise(), ['noise_magnitudes']),
      (@processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
      (@effects.Reverb(), ['add/signal']),
    ]
    Harmonic.n_samples = 512
    Harmonic.sample_rate = 8000
    FilteredNoise.n_samples = 512
    FilteredNoise.window_size = 33
    FilteredNoise.seed = 3
    Reverb.trainable = True
    Reverb.reverb_length = 128
    Reverb.seed = 4
"""


def _paper_processors():
  return (synths.Harmonic(n_samples=512, sample_rate=8000),
          synths.FilteredNoise(n_samples=512, window_size=33, seed=3),
          processors.Add(),
          effects.Reverb(trainable=True, reverb_length=128, seed=4))


def _paper_group():
  harmonic, noise, add, reverb = _paper_processors()
  return processors.ProcessorGroup(dag=[
      (harmonic, ['amps', 'harmonic_distribution', 'f0_hz']),
      (noise, ['noise_magnitudes']),
      (add, ['filtered_noise/signal', 'harmonic/signal']),
      (reverb, ['add/signal']),
  ])


def _paper_inputs(rng, batch=2, n_frames=16):
  return {
      'amps': rng.normal(size=(batch, n_frames, 1)).astype(np.float32),
      'harmonic_distribution': rng.normal(
          size=(batch, n_frames, 8)).astype(np.float32),
      'f0_hz': rng.uniform(100, 800, size=(batch, n_frames, 1)).astype(
          np.float32),
      'noise_magnitudes': rng.normal(size=(batch, n_frames, 9)).astype(
          np.float32),
  }


def test_paper_group_equals_processors_called_by_hand(rng):
  inputs = _paper_inputs(rng)
  group = _paper_group()
  outputs = group(inputs, return_outputs_dict=True)
  harmonic, noise, add, reverb = _paper_processors()
  by_hand = reverb(add(noise(inputs['noise_magnitudes']),
                       harmonic(inputs['amps'],
                                inputs['harmonic_distribution'],
                                inputs['f0_hz'])))
  np.testing.assert_allclose(outputs['signal'], by_hand, atol=1e-6)
  controls = outputs['controls']
  np.testing.assert_allclose(
      controls['add']['signal'],
      controls['harmonic']['signal'] + controls['filtered_noise']['signal'],
      atol=1e-6)
  # The controls of every processor are reachable by nested keys.
  assert 'f0_hz' in controls['harmonic']['controls']
  assert [v.path for v in group.trainable_variables] == [
      'processor_group/reverb/ir']


def test_paper_group_from_gin_equals_python(rng, clean_gin):
  inputs = _paper_inputs(rng)
  gin.parse_config(_PAPER_GIN)
  from_gin = gin.get_configurable('processors.ProcessorGroup')()
  python = _paper_group()
  assert [type(m) for m, _, _ in from_gin.dag] == [
      synths.Harmonic, synths.FilteredNoise, processors.Add, effects.Reverb]
  assert from_gin.get_config() == python.get_config()
  np.testing.assert_allclose(from_gin(inputs), python(inputs), atol=1e-6)


def test_docstring_examples():
  results = doctest.testmod(processors, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0


def test_training_flag_reaches_processors_in_a_group(rng):
  # FilteredNoise draws fresh noise only when training (see ddsp.synths).
  inputs = _paper_inputs(rng)
  group = _paper_group()
  fixed = [group(inputs, training=False) for _ in range(2)]
  np.testing.assert_array_equal(fixed[0], fixed[1])
  fresh = [group(inputs, training=True) for _ in range(2)]
  assert np.max(np.abs(fresh[0] - fresh[1])) > 1e-3


# ------------------------------------------------------------------------------
# Noise: one place draws it (Processor.draw_noise); its state is checkpointed
# but is not a layer variable.
# ------------------------------------------------------------------------------
def _noise_layers(trainable):
  return {
      'FilteredNoise': (synths.FilteredNoise(n_samples=256, window_size=17,
                                             seed=3),
                        lambda rng: [rng.normal(size=[2, 8, 9])]),
      'ExpDecayReverb': (
          effects.ExpDecayReverb(trainable=trainable, reverb_length=64,
                                 seed=4),
          lambda rng: [rng.normal(size=[2, 256])] + (
              [] if trainable else [rng.normal(size=[2, 1]),
                                    rng.normal(size=[2, 1])])),
      'FilteredNoiseReverb': (
          effects.FilteredNoiseReverb(trainable=trainable, reverb_length=64,
                                      window_size=9, n_frames=8,
                                      n_filter_banks=5, seed=5),
          lambda rng: [rng.normal(size=[2, 256])] + (
              [] if trainable else [rng.normal(size=[2, 8, 5])])),
  }


def _f32(arrays):
  return [tf.constant(a, tf.float32) for a in arrays]


@pytest.mark.parametrize('trainable', [False, True])
def test_noise_layers_expose_the_published_variables(rng, trainable):
  published = {  # Variable names of the published layers.
      'FilteredNoise': [],
      'ExpDecayReverb': ['gain', 'decay'] if trainable else [],
      'FilteredNoiseReverb': ['magnitudes'] if trainable else [],
  }
  for name, (layer, make_inputs) in _noise_layers(trainable).items():
    layer(*_f32(make_inputs(rng)), training=True)
    assert [v.name for v in layer.variables] == published[name], name
    assert [v.name for v in layer.weights] == published[name], name


def _noise_states(layer):
  return [s for s in tf.train.TrackableView(layer).descendants()
          if isinstance(s, processors.NoiseState)]


@pytest.mark.parametrize('name', ['FilteredNoise', 'ExpDecayReverb',
                                  'FilteredNoiseReverb'])
def test_noise_state_is_checkpointed_and_reproducible(rng, name, tmp_path):
  layer, make_inputs = _noise_layers(trainable=False)[name]
  inputs = _f32(make_inputs(rng))
  fixed = layer(*inputs).numpy()
  layer(*inputs, training=True)  # Advances the noise state.
  state, = _noise_states(layer)
  assert state.seed == layer.seed and int(state.state.numpy()[1]) > 0
  path = tf.train.Checkpoint(layer=layer).write(str(tmp_path / 'ckpt'))
  next_fresh = layer(*inputs, training=True).numpy()

  clone, _ = _noise_layers(trainable=False)[name]
  clone(*inputs)
  tf.train.Checkpoint(layer=clone).read(path).assert_consumed()
  # The restored state draws the noise the original drew after the save.
  np.testing.assert_array_equal(clone(*inputs, training=True), next_fresh)
  # Outside training calls the noise is fixed: a function of the seed only.
  np.testing.assert_array_equal(clone(*inputs), fixed)
  np.testing.assert_array_equal(layer(*inputs), fixed)
  assert not np.allclose(next_fresh, fixed)


def test_draw_noise_fixed_or_fresh():
  noise = synths.FilteredNoise(n_samples=64, seed=9)
  state = processors.NoiseState(9)
  # Outside a call, as when get_signal is called directly: fixed noise.
  fixed = noise.draw_noise(state, 64, batch_size=3)
  assert fixed.shape == (1, 64)
  np.testing.assert_array_equal(fixed,
                                core.uniform_noise([1, 64], seed=9))
  counter = noise.draw_noise(state, 64, batch_size=3, counter=True)
  np.testing.assert_array_equal(counter,
                                core.counter_uniform_noise(64, seed=9))
  values = fixed.numpy()
  assert values.min() >= -1.0 and values.max() < 1.0
  # get_controls / get_signal called directly use the fixed noise too.
  raw = tf.ones([1, 4, 33])
  np.testing.assert_array_equal(
      noise.get_signal(**noise.get_controls(raw)), noise(raw, training=False))


def test_noise_layers_take_the_training_flag_from_the_model(rng):
  layer, make_inputs = _noise_layers(trainable=False)['ExpDecayReverb']
  inputs = _f32(make_inputs(rng))

  class Model(keras.Model):

    def __init__(self):
      super().__init__()
      self.reverb = layer

    def call(self, x, training=False):
      return self.reverb(*x)

  model = Model()
  fixed = [model(inputs, training=False).numpy() for _ in range(2)]
  np.testing.assert_array_equal(fixed[0], fixed[1])
  fresh = [model(inputs, training=True).numpy() for _ in range(2)]
  assert not np.allclose(fresh[0], fresh[1])
  assert not np.allclose(fresh[0], fixed[0])


# ------------------------------------------------------------------------------
# Function arguments.
# ------------------------------------------------------------------------------
def test_check_scale_fn():
  assert validation.check_scale_fn(None) is None
  assert validation.check_scale_fn(core.exp_sigmoid) is core.exp_sigmoid
  config = processors.serialize_fn(core.exp_sigmoid)
  assert validation.check_scale_fn(config) is core.exp_sigmoid
  sigmoid = validation.check_scale_fn('sigmoid')
  np.testing.assert_allclose(sigmoid(tf.constant([0.0, 2.0])),
                             scipy.special.expit([0.0, 2.0]), rtol=1e-6)
  with pytest.raises(TypeError, match=r'`amp_scale_fn` must be a callable '
                     r'or None. Received: amp_scale_fn=3'):
    validation.check_scale_fn(3, 'amp_scale_fn')
  with pytest.raises(TypeError, match=r"`scale_fn` must be a callable, None "
                     r"or the Keras config of a registered function. "
                     r"Received: scale_fn='no_such_function'"):
    validation.check_scale_fn('no_such_function')
  with pytest.raises(TypeError, match=r'`scale_fn` must be a callable or '
                     r'None. Received: scale_fn=2.0'):
    synths.Harmonic(scale_fn=2.0)


def test_group_processor_names_and_processors_as_published(rng):
  # Published ProcessorGroup attributes: the node keys and the processors.
  double = Scale(2.0, name='double')
  group = processors.ProcessorGroup(
      dag=[(double, ['one']), ('plus', ['double/signal', 'two'])],
      plus=processors.Add(name='add'))
  assert group.processor_names == ['double', 'plus']
  assert group.processors == [double, group.plus]
  inputs = {'one': _audio(rng), 'two': _audio(rng)}
  outputs = group.get_controls(inputs)
  # The keyword node's outputs are stored under its keyword, as published.
  np.testing.assert_allclose(outputs['plus']['signal'],
                             2 * inputs['one'] + inputs['two'], rtol=1e-6)
  np.testing.assert_allclose(group(inputs), outputs['plus']['signal'])


_REPLICA_NOISE_SCRIPT = r'''
import numpy as np
import tensorflow as tf
cpu, = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from ddsp import processors, synths


class RawNoise(processors.Processor):
  """The noise of a training call itself, [batch, 4096]."""

  def __init__(self, seed):
    super().__init__()
    self.state = processors.NoiseState(seed)

  def get_controls(self, x):
    return {'x': x}

  def get_signal(self, x):
    return self.draw_noise(self.state, 4096, tf.shape(x)[0])


def run(make_layer, inputs, n_steps=2):
  strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
  with strategy.scope():
    layer = make_layer()
  step = tf.function(lambda: strategy.run(
      lambda: layer(inputs, training=True)))
  return [np.stack([t.numpy() for t in strategy.experimental_local_results(
      step())]) for _ in range(n_steps)]   # [n_replicas, batch, ...] per step


for make_layer, inputs in [
    (lambda: RawNoise(seed=5), tf.zeros([2, 1])),
    (lambda: synths.FilteredNoise(n_samples=512, seed=5),
     tf.zeros([2, 8, 17]))]:
  first, rerun = run(make_layer, inputs), run(make_layer, inputs)
  for step, again in zip(first, rerun):
    np.testing.assert_array_equal(step, again)   # Reproducible.
    assert not np.allclose(step[0], step[1])     # Replicas differ.
  assert not np.allclose(first[0], first[1])     # Steps differ.
raw = np.concatenate(run(lambda: RawNoise(seed=5), tf.zeros([2, 1])), axis=1)
assert raw.min() >= -1.0 and raw.max() < 1.0
# 8 noise signals of 4096 samples (2 replicas x 2 steps x batch 2), all
# uncorrelated: |r| under 5 / sqrt(4096) ~ 0.08.
flat = raw.reshape(-1, 4096)
r = np.corrcoef(flat) - np.eye(len(flat))
assert np.abs(r).max() < 0.08, np.abs(r).max()
assert abs(flat.mean()) < 0.02 and abs(flat.var() - 1 / 3) < 0.01
# One replica: the noise of the shared seed generator, as before.
layer = RawNoise(seed=5)
single = layer(tf.zeros([2, 1]), training=True).numpy()
expected = tf.random.stateless_uniform([2, 4096], seed=[5, 0], minval=-1.0,
                                       maxval=1.0).numpy()
np.testing.assert_array_equal(single, expected)
print('REPLICA NOISE OK')
'''


@pytest.mark.slow
def test_each_replica_draws_its_own_noise_reproducibly(tmp_path):
  # Two logical CPU devices must be set before TensorFlow starts: a fresh
  # process. Under MirroredStrategy the replicas share one seed state, so
  # each folds in its replica id; a rerun with the same seed repeats it.
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  result = subprocess.run([sys.executable, '-c', _REPLICA_NOISE_SCRIPT],
                          capture_output=True, text=True, env=env,
                          timeout=300, check=False, cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'REPLICA NOISE OK' in result.stdout

