"""One conformance test run over every processor of the library.

`REGISTRY` holds, for each processor class, a factory making a small instance
and a function making valid random inputs for a given batch size. The
conformance test checks, for every entry:

* config round trip: `from_config(get_config())` (directly and through Keras'
  generic serialization) gives a layer with the same config and, with the same
  weights, the same output for the same inputs;
* eager equals `tf.function`;
* batch consistency: row i of a batch-3 call equals a batch-1 call on row i;
* gradients with respect to every control input and every trainable variable
  are finite, and non-zero wherever the input influences the output.

`test_registry_covers_every_processor` finds every public Processor subclass
of ddsp.synths, ddsp.effects and ddsp.processors by introspection, so a new
processor cannot be left out.
"""

import dataclasses
import inspect
from typing import Callable, Optional, Sequence

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp import effects
from ddsp import processors
from ddsp import synths

_MODULES = (synths, effects, processors)
_SAMPLE_RATE = 8000
_N_FRAMES = 8
_N_SAMPLES = 256  # 32 samples per frame.


@dataclasses.dataclass(frozen=True)
class Case:
  """How to test one processor.

  Attributes:
    factory: () -> a new processor with small sizes.
    make_inputs: (rng, batch) -> list of positional inputs (arrays, or a dict
      of arrays for a ProcessorGroup).
    no_influence: paths ('0', '1', or '0/amps' inside a dict input) of inputs
      whose gradient may be zero (they do not influence the output).
    atol: absolute tolerance of the equality checks, relative to the largest
      output magnitude.
  """
  factory: Callable[[], processors.Processor]
  make_inputs: Callable[[np.random.Generator, int], Sequence]
  no_influence: Sequence[str] = ()
  atol: float = 1e-5
  cls_name: Optional[str] = None  # Where the entry name is not the class name.
  cls: Optional[type] = None  # Filled in by `_registry`.


def _normal(rng, *shape, scale=1.0):
  return (scale * rng.normal(size=shape)).astype(np.float32)


def _audio(rng, batch, n_samples=_N_SAMPLES):
  return rng.uniform(-1.0, 1.0, size=(batch, n_samples)).astype(np.float32)


def _uniform(rng, low, high, shape):
  return rng.uniform(low, high, size=shape).astype(np.float32)


def _f0_hz(rng, batch, low=100.0, high=600.0):
  return rng.uniform(low, high, size=(batch, _N_FRAMES, 1)).astype(np.float32)


def _harmonic_inputs(rng, batch):
  return [_normal(rng, batch, _N_FRAMES, 1), _normal(rng, batch, _N_FRAMES, 6),
          _f0_hz(rng, batch)]


def _paper_group():
  """The paper's default DAG: harmonic + filtered noise -> add -> reverb."""
  return processors.ProcessorGroup(dag=[
      (synths.Harmonic(n_samples=_N_SAMPLES, sample_rate=_SAMPLE_RATE),
       ['amps', 'harmonic_distribution', 'f0_hz']),
      (synths.FilteredNoise(n_samples=_N_SAMPLES, window_size=33),
       ['noise_magnitudes']),
      (processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
      (effects.Reverb(trainable=True, reverb_length=64), ['add/signal']),
  ])


def _paper_group_inputs(rng, batch):
  amps, harmonic_distribution, f0_hz = _harmonic_inputs(rng, batch)
  return [{'amps': amps, 'harmonic_distribution': harmonic_distribution,
           'f0_hz': f0_hz,
           'noise_magnitudes': _normal(rng, batch, _N_FRAMES, 5)}]


def _registry():
  """Builds the registry; a class missing from its module fails here."""
  cases = {
      # ddsp.processors
      'Add': Case(processors.Add,
                  lambda rng, b: [_audio(rng, b), _audio(rng, b)]),
      'Mix': Case(processors.Mix,
                  lambda rng, b: [_audio(rng, b), _audio(rng, b),
                                  _normal(rng, b, _N_FRAMES, 1)]),
      'Crop': Case(lambda: processors.Crop(frame_size=16,
                                           crop_location='center'),
                   lambda rng, b: [_audio(rng, b)]),
      'ProcessorGroup': Case(_paper_group, _paper_group_inputs),
      # ddsp.synths
      'Harmonic': Case(
          lambda: synths.Harmonic(n_samples=_N_SAMPLES,
                                  sample_rate=_SAMPLE_RATE),
          _harmonic_inputs),
      'FilteredNoise': Case(
          lambda: synths.FilteredNoise(n_samples=_N_SAMPLES, window_size=33),
          lambda rng, b: [_normal(rng, b, _N_FRAMES, 5)]),
      'Wavetable': Case(
          lambda: synths.Wavetable(n_samples=_N_SAMPLES,
                                   sample_rate=_SAMPLE_RATE),
          lambda rng, b: [_normal(rng, b, _N_FRAMES, 1),
                          _normal(rng, b, _N_FRAMES, 32),
                          _f0_hz(rng, b)]),
      'Sinusoidal': Case(
          lambda: synths.Sinusoidal(n_samples=_N_SAMPLES,
                                    sample_rate=_SAMPLE_RATE),
          lambda rng, b: [_normal(rng, b, _N_FRAMES, 4),
                          _normal(rng, b, _N_FRAMES, 4)]),
      'TensorToAudio': Case(
          lambda: synths.TensorToAudio(),
          lambda rng, b: [_normal(rng, b, _N_SAMPLES, 1)]),
      # Physical models, FM and granular synthesis.
      'PluckedString': Case(
          lambda: synths.PluckedString(n_samples=_N_SAMPLES,
                                       sample_rate=_SAMPLE_RATE,
                                       min_f0_hz=50.0, burst_length=16,
                                       seed=0),
          lambda rng, b: [_f0_hz(rng, b),
                          _uniform(rng, 0.05, 0.5, (b, _N_FRAMES, 1)),
                          _uniform(rng, 0.1, 0.9, (b, _N_FRAMES, 1))]),
      'PluckedString(excitation)': Case(
          lambda: synths.PluckedString(n_samples=_N_SAMPLES,
                                       sample_rate=_SAMPLE_RATE,
                                       min_f0_hz=50.0),
          lambda rng, b: [_f0_hz(rng, b),
                          _uniform(rng, 0.05, 0.5, (b, _N_FRAMES, 1)),
                          _uniform(rng, 0.1, 0.9, (b, _N_FRAMES, 1)),
                          _audio(rng, b)], cls_name='PluckedString'),
      'Modal': Case(
          lambda: synths.Modal(n_samples=_N_SAMPLES, sample_rate=_SAMPLE_RATE),
          lambda rng, b: [_uniform(rng, 100.0, 3000.0, (b, 4)),
                          _uniform(rng, 0.005, 0.05, (b, 4)),
                          _normal(rng, b, 4)]),
      'Modal(excitation)': Case(
          lambda: synths.Modal(n_samples=_N_SAMPLES, sample_rate=_SAMPLE_RATE),
          lambda rng, b: [_uniform(rng, 100.0, 3000.0, (b, 1, 4)),
                          _uniform(rng, 0.005, 0.05, (b, 1, 4)),
                          _normal(rng, b, 1, 4), _audio(rng, b)],
          cls_name='Modal'),
      'FrequencyModulation': Case(
          lambda: synths.FrequencyModulation(n_samples=_N_SAMPLES,
                                             sample_rate=_SAMPLE_RATE,
                                             algorithm='dx7_1'),
          lambda rng, b: [_f0_hz(rng, b), _normal(rng, b, _N_FRAMES, 6),
                          _uniform(rng, 0.5, 3.0, (b, _N_FRAMES, 6))]),
      'Granular': Case(
          lambda: synths.Granular(n_samples=_N_SAMPLES,
                                  sample_rate=_SAMPLE_RATE, max_density=800.0,
                                  max_grain_size=0.01, spray=0.05, seed=0),
          lambda rng, b: [_uniform(rng, 0.0, 1.0, (b, _N_FRAMES, 1)),
                          _uniform(rng, 0.003, 0.008, (b, _N_FRAMES, 1)),
                          _uniform(rng, 300.0, 700.0, (b, _N_FRAMES, 1)),
                          _uniform(rng, 0.5, 2.0, (b, _N_FRAMES, 1)),
                          _normal(rng, b, _N_FRAMES, 1),
                          _audio(rng, b, 512)]),
      'Granular(trainable)': Case(
          lambda: synths.Granular(n_samples=_N_SAMPLES,
                                  sample_rate=_SAMPLE_RATE, max_density=800.0,
                                  max_grain_size=0.01, trainable=True,
                                  source_length=512, seed=0),
          lambda rng, b: [_uniform(rng, 0.0, 1.0, (b, _N_FRAMES, 1)),
                          _uniform(rng, 0.003, 0.008, (b, _N_FRAMES, 1)),
                          _uniform(rng, 300.0, 700.0, (b, _N_FRAMES, 1)),
                          _uniform(rng, 0.5, 2.0, (b, _N_FRAMES, 1)),
                          _normal(rng, b, _N_FRAMES, 1)],
          cls_name='Granular'),
      # ddsp.effects
      'Reverb': Case(lambda: effects.Reverb(trainable=False),
                     lambda rng, b: [_audio(rng, b), _normal(rng, b, 64)]),
      'Reverb(trainable)': Case(
          lambda: effects.Reverb(trainable=True, reverb_length=64),
          lambda rng, b: [_audio(rng, b)], cls_name='Reverb'),
      'ExpDecayReverb': Case(
          lambda: effects.ExpDecayReverb(trainable=False, reverb_length=64),
          lambda rng, b: [_audio(rng, b), _normal(rng, b, 1),
                          _normal(rng, b, 1)]),
      'ExpDecayReverb(trainable)': Case(
          lambda: effects.ExpDecayReverb(trainable=True, reverb_length=64),
          lambda rng, b: [_audio(rng, b)], cls_name='ExpDecayReverb'),
      'FilteredNoiseReverb': Case(
          lambda: effects.FilteredNoiseReverb(
              trainable=False, reverb_length=64, window_size=17, n_frames=8,
              n_filter_banks=4),
          lambda rng, b: [_audio(rng, b), _normal(rng, b, 8, 4)]),
      'FilteredNoiseReverb(trainable)': Case(
          lambda: effects.FilteredNoiseReverb(
              trainable=True, reverb_length=64, window_size=17, n_frames=8,
              n_filter_banks=4),
          lambda rng, b: [_audio(rng, b)], cls_name='FilteredNoiseReverb'),
      'FIRFilter': Case(
          lambda: effects.FIRFilter(window_size=33),
          lambda rng, b: [_audio(rng, b), _normal(rng, b, _N_FRAMES, 6)]),
      'ModDelay': Case(
          lambda: effects.ModDelay(sample_rate=_SAMPLE_RATE),
          lambda rng, b: [_audio(rng, b), _normal(rng, b, _N_SAMPLES, 1),
                          _normal(rng, b, _N_SAMPLES, 1)]),
      'BiquadFilter': Case(
          lambda: effects.BiquadFilter(n_biquads=2,
                                       filter_type=['lowpass', 'peak'],
                                       sample_rate=_SAMPLE_RATE),
          lambda rng, b: [_audio(rng, b), _normal(rng, b, _N_FRAMES, 2),
                          _normal(rng, b, _N_FRAMES, 2),
                          _normal(rng, b, _N_FRAMES, 2)]),
      'StateVariableFilter': Case(
          lambda: effects.StateVariableFilter(filter_type='mix',
                                              sample_rate=_SAMPLE_RATE),
          lambda rng, b: [_audio(rng, b), _normal(rng, b, _N_FRAMES, 1),
                          _normal(rng, b, _N_FRAMES, 1),
                          _normal(rng, b, _N_FRAMES, 3)]),
  }
  registry = {}
  for name, case in cases.items():
    cls_name = case.cls_name or name
    registry[name] = dataclasses.replace(
        case, cls=getattr(_module_of(cls_name), cls_name))
  return registry


def _module_of(name):
  for module in _MODULES:
    if name in vars(module):
      return module
  raise AttributeError(f'No module of {[m.__name__ for m in _MODULES]} '
                       f'defines {name}.')


REGISTRY = _registry()


# ------------------------------------------------------------------------------
# Helpers.
# ------------------------------------------------------------------------------
def _call(layer, inputs):
  return layer(*[tf.nest.map_structure(tf.convert_to_tensor, x)
                 for x in inputs])


def _tensors(inputs):
  return [tf.nest.map_structure(tf.convert_to_tensor, x) for x in inputs]


def _rows(inputs, start, stop):
  return [tf.nest.map_structure(lambda a: a[start:stop], x) for x in inputs]


def _assert_close(actual, expected, atol, what):
  actual, expected = np.asarray(actual), np.asarray(expected)
  assert actual.shape == expected.shape, what
  scale = max(1.0, float(np.max(np.abs(expected))))
  np.testing.assert_allclose(actual, expected, rtol=0, atol=atol * scale,
                             err_msg=what)


def _flat_inputs(inputs):
  """{path: tensor} of every float input ('0', '1', '0/amps', ...)."""
  flat = {}
  for index, x in enumerate(inputs):
    if isinstance(x, dict):
      for key, value in x.items():
        flat[f'{index}/{key}'] = tf.constant(value)
    else:
      flat[str(index)] = tf.constant(x)
  return flat


def _unflatten(flat, inputs):
  out = []
  for index, x in enumerate(inputs):
    if isinstance(x, dict):
      out.append({key: flat[f'{index}/{key}'] for key in x})
    else:
      out.append(flat[str(index)])
  return out


# ------------------------------------------------------------------------------
# The conformance test.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('name', sorted(REGISTRY))
def test_conformance(name):
  case = REGISTRY[name]
  rng = np.random.default_rng(0)
  layer = case.factory()
  assert type(layer) is case.cls, name
  # Registered with gin (as <module>.<Class>) and with Keras as 'ddsp>Class'.
  module = case.cls.__module__.split('.')[-1]
  configurable = gin.get_configurable(f'{module}.{case.cls.__name__}')
  assert issubclass(configurable, case.cls), f'{name}: not gin-registered'
  assert (keras.saving.get_registered_name(case.cls)
          == f'ddsp>{case.cls.__name__}'), f'{name}: not Keras-registered'
  inputs = case.make_inputs(rng, 3)
  output = _call(layer, inputs)
  assert output.dtype == tf.float32
  assert np.all(np.isfinite(output)), f'{name}: non-finite output'

  # Config round trip, directly and through Keras serialization.
  config = layer.get_config()
  for clone in (type(layer).from_config(config),
                keras.saving.deserialize_keras_object(
                    keras.saving.serialize_keras_object(layer))):
    assert type(clone) is type(layer)
    assert clone.get_config() == config, f'{name}: config changed'
    _call(clone, inputs)
    clone.set_weights(layer.get_weights())
    _assert_close(_call(clone, inputs), output, case.atol,
                  f'{name}: clone gives another output')

  # Eager equals tf.function.
  graph = tf.function(lambda *x: _call(layer, x))(*_tensors(inputs))
  _assert_close(graph, output, case.atol,
                f'{name}: tf.function differs from eager')

  # Row i of a batch-3 call equals a batch-1 call on row i.
  for row in range(3):
    _assert_close(_call(layer, _rows(inputs, row, row + 1)),
                  output[row:row + 1], case.atol,
                  f'{name}: batch row {row} differs from a batch-1 call')

  # Gradients w.r.t. every input and trainable variable.
  flat = _flat_inputs(inputs)
  weights = tf.constant(_normal(rng, *output.shape))
  with tf.GradientTape() as tape:
    tape.watch(list(flat.values()))
    out = layer(*_unflatten(flat, inputs))
    loss = tf.reduce_sum(out * weights)
  variables = layer.trainable_variables
  grads = tape.gradient(loss, [list(flat.values()), variables])
  for path, grad in zip(flat, grads[0]):
    assert grad is not None, f'{name}: no gradient for input {path}'
    grad = tf.convert_to_tensor(grad).numpy()
    assert np.all(np.isfinite(grad)), f'{name}: non-finite grad for {path}'
    if path not in case.no_influence:
      assert np.any(grad != 0), f'{name}: zero gradient for input {path}'
  for variable, grad in zip(variables, grads[1]):
    assert grad is not None, f'{name}: no gradient for {variable.path}'
    grad = tf.convert_to_tensor(grad).numpy()
    assert np.all(np.isfinite(grad)) and np.any(grad != 0), (
        f'{name}: bad gradient for {variable.path}')


def _public_processor_classes():
  found = set()
  for module in _MODULES:
    for attr, value in vars(module).items():
      if (inspect.isclass(value) and issubclass(value, processors.Processor)
          and value is not processors.Processor
          and value.__module__ == module.__name__
          and not attr.startswith('_')):
        found.add(value)
  return found


def test_registry_covers_every_processor():
  covered = {case.cls for case in REGISTRY.values()}
  missing = sorted(cls.__qualname__ for cls in
                   _public_processor_classes() - covered)
  assert not missing, (f'Processors missing from the conformance REGISTRY in '
                       f'tests/test_conformance.py: {missing}')


def _map_inputs(inputs, fn):
  """Applies `fn` to every array input (inside a group's dict too)."""
  return [{k: fn(v) for k, v in x.items()} if isinstance(x, dict) else fn(x)
          for x in inputs]


@pytest.mark.parametrize('name', sorted(REGISTRY))
def test_accepts_variables_arrays_and_lists(name):
  case = REGISTRY[name]
  rng = np.random.default_rng(0)
  layer = case.factory()
  inputs = case.make_inputs(rng, 2)
  expected = _call(layer, inputs).numpy()
  for kind, convert in (('float64 array', lambda a: a.astype(np.float64)),
                        ('nested list', lambda a: a.tolist()),
                        ('tf.Variable', tf.Variable)):
    got = layer(*_map_inputs(inputs, convert))
    _assert_close(got, expected, case.atol, f'{name}: {kind} input')
  # Controls fitted directly by gradient descent: gradients reach the
  # variables, and a small enough step against the gradient lowers the loss
  # (the target, half the output, keeps the loss on the output's scale).
  variables = _map_inputs(inputs, tf.Variable)
  flat = tf.nest.flatten(variables)
  target = tf.constant(0.5 * expected)

  def loss_fn():
    return tf.reduce_mean(tf.square(layer(*variables) - target))

  with tf.GradientTape() as tape:
    loss = loss_fn()
  grads = tape.gradient(loss, flat)
  influential = 0
  for index, (variable, grad) in enumerate(zip(flat, grads)):
    assert grad is not None, f'{name}: no gradient for variable {index}'
    assert np.all(np.isfinite(grad)), f'{name}: non-finite gradient {index}'
    influential += int(np.any(grad.numpy() != 0))
  assert influential >= 1, f'{name}: no variable gets a gradient'
  scale = max(float(tf.reduce_max(tf.abs(g))) for g in grads)
  start = [v.numpy() for v in flat]
  losses = []
  for step in (1e-2, 1e-3, 1e-4):
    for variable, value, grad in zip(flat, start, grads):
      variable.assign(value - step * grad / scale)
    losses.append(float(loss_fn()))
  assert min(losses) < float(loss), f'{name}: descent did not help: {losses}'


def test_no_processor_overrides_call_to_forward_training():
  # Processor.call takes Keras' training flag (see Processor.draw_noise); a
  # subclass implements get_controls / get_signal only. ProcessorGroup runs a
  # DAG instead.
  overriding = sorted(cls.__name__ for cls in _public_processor_classes()
                      if 'call' in vars(cls)
                      and cls is not processors.ProcessorGroup)
  assert not overriding, f'Processors overriding call: {overriding}'
