"""Tests of ddsp.registration: one way to register with gin and Keras.

Over every object of the package that gin knows:

* classes are gin-configurable in place (the registered configurable is the
  class itself) and keep their constructor signature for Keras 3;
* Keras classes are registered as 'ddsp>Name' and their `get_config` holds
  every constructor argument (Keras' automatic config would miss values gin
  injected);
* functions stay plain functions unless registered `configurable`;
* no module of the package registers in another way (an `ast` scan).

Gin construction of the library's own classes is tested in
tests/training/test_gin_configs.py.
"""

import ast
import inspect
import pathlib
import textwrap

import gin
from gin import config as gin_config
import keras
import pytest
import tensorflow as tf

import ddsp
from ddsp import registration
from ddsp.training import decoders
from ddsp.training import ddsp_run  # pylint: disable=unused-import
from ddsp.training import nn

PACKAGE_DIR = pathlib.Path(ddsp.__file__).parent
# Functions whose gin bindings apply to every call (entry points of ddsp_run).
CONFIGURABLE_FUNCTIONS = {'ddsp.training.eval_util.evaluate',
                          'ddsp.training.eval_util.sample',
                          'ddsp.training.heuristics.segment_notes_batch',
                          'ddsp.training.models.get_model',
                          'ddsp.training.train_util.train'}
# Entry points of the published research pieces (data-providers branch).
CONFIGURABLE_FUNCTIONS |= {
    'ddsp.training.data_preparation.synthetic_data.generate_examples',
    'ddsp.training.trainers.get_trainer_class'}


def _ddsp_configurables():
  """{selector: Configurable} of everything gin knows from the package."""
  # Gin keeps no public list of its registry; read it only here, in a test.
  registry = gin_config._REGISTRY  # pylint: disable=protected-access
  found = {}
  for _, configurable in registry.items():
    if configurable.module.startswith('ddsp'):
      found[f'{configurable.module}.{configurable.name}'] = configurable
  return found


CONFIGURABLES = _ddsp_configurables()
CLASSES = {k: c.wrapped for k, c in CONFIGURABLES.items()
           if inspect.isclass(c.wrapped)}
FUNCTIONS = {k: c for k, c in CONFIGURABLES.items()
             if not inspect.isclass(c.wrapped)}


def test_the_package_registers_its_public_classes():
  # A sample of the published gin names, one or more per module.
  for selector in ('ddsp.core.exp_sigmoid', 'ddsp.dags.DAGLayer',
                   'ddsp.processors.ProcessorGroup', 'ddsp.synths.Harmonic',
                   'ddsp.effects.Reverb', 'ddsp.losses.SpectralLoss',
                   'ddsp.spectral_ops.compute_loudness',
                   'ddsp.training.models.Autoencoder',
                   'ddsp.training.decoders.RnnFcDecoder',
                   'ddsp.training.preprocessing.F0LoudnessPreprocessor',
                   'ddsp.training.trainers.Trainer'):
    assert selector in CONFIGURABLES, selector


@pytest.mark.parametrize('selector', sorted(CLASSES))
def test_classes_are_configurable_in_place(selector):
  cls = CLASSES[selector]
  module, name = selector.rsplit('.', 1)
  public = getattr(__import__(module, fromlist=[name]), name)
  # The configurable gin builds is the public class itself.
  assert public is cls
  assert gin.get_configurable(selector) is cls
  # Keras 3 reads the constructor's signature without following wrappers.
  spec = inspect.getfullargspec(cls.__init__)
  assert spec.args and spec.args[0] == 'self', spec
  assert inspect.signature(cls.__init__) == inspect.signature(
      inspect.unwrap(cls.__init__))
  if hasattr(cls, 'get_config'):
    assert keras.saving.get_registered_name(cls) == f'ddsp>{name}'
    assert keras.saving.get_registered_object(f'ddsp>{name}') is cls


@pytest.mark.parametrize('selector', sorted(FUNCTIONS))
def test_functions_stay_plain_unless_configurable(selector):
  configurable = FUNCTIONS[selector]
  module, name = selector.rsplit('.', 1)
  public = getattr(__import__(module, fromlist=[name]), name)
  if selector in CONFIGURABLE_FUNCTIONS:
    assert public is not configurable.wrapped  # gin's wrapper.
    assert inspect.unwrap(public) is configurable.wrapped
  else:
    assert public is configurable.wrapped
    assert not hasattr(public, '__wrapped__')


def test_scale_functions_are_keras_serializable():
  for name in ('exp_sigmoid', 'sym_exp_sigmoid', 'frequencies_softmax',
               'frequencies_sigmoid', 'frequencies_critical_bands'):
    fn = getattr(ddsp.core, name)
    assert keras.saving.get_registered_name(fn) == f'ddsp>{name}'


# Constructor arguments for the classes that have required ones.
def _group():
  return ddsp.processors.ProcessorGroup(
      dag=[(ddsp.processors.Add(), ['a', 'b'])])


_FACTORIES = {
    'DAGLayer': lambda cls: cls(dag=[(ddsp.processors.Add(), ['a', 'b'])]),
    'ProcessorGroup': lambda cls: _group(),
    'LossGroup': lambda cls: cls(
        dag=[(ddsp.losses.SpectralLoss(), ['a', 'b'])]),
    'Crop': lambda cls: cls(frame_size=4),
    'Rnn': lambda cls: cls(dims=4),
    'EmbeddingLoss': lambda cls: cls(
        pretrained_model=keras.layers.Dense(3, name='embed')),
    'Autoencoder': lambda cls: cls(
        decoder=decoders.RnnFcDecoder(rnn_channels=4, ch=4,
                                      layers_per_stack=1),
        processor_group=_group()),
    # The published nn layers with required arguments.
    'FcStackOut': lambda cls: cls(ch=4, layers=1, n_out=2),
    'NormReluConv': lambda cls: cls(ch=4, k=3, s=1, norm_type='layer'),
    'ResidualLayer': lambda cls: cls(ch=2, stride=1, shortcut=True,
                                     norm_type='layer', conditional=False,
                                     shift_only=False),
    'ResidualStack': lambda cls: cls(filters=[2], block_sizes=[1],
                                     strides=[1], norm_type='layer'),
    'RnnFc': lambda cls: cls(rnn_feat=4, out_feat=2),
    'SpectralNormalization': lambda cls: cls(keras.layers.Dense(3)),
    'StatelessRnn': lambda cls: cls(dims=4, rnn_type='gru'),
    'VectorQuantization': lambda cls: cls(k=4),
}
KERAS_CLASSES = {k: c for k, c in CLASSES.items() if hasattr(c, 'get_config')}


@pytest.mark.parametrize('selector', sorted(KERAS_CLASSES))
def test_get_config_holds_every_constructor_argument(selector):
  cls = KERAS_CLASSES[selector]
  layer = _FACTORIES.get(cls.__name__, lambda c: c())(cls)
  config = layer.get_config()
  parameters = inspect.signature(cls.__init__).parameters.values()
  missing = [p.name for p in parameters
             if p.name != 'self' and p.kind not in (p.VAR_POSITIONAL,
                                                    p.VAR_KEYWORD)
             and p.name not in config]
  assert not missing, f'{selector}.get_config() lacks {missing}'


@pytest.fixture
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def test_bound_values_reach_the_config(clean_gin):
  # Keras' automatic config would record only explicit arguments; the
  # library's get_config records the values gin injected too.
  gin.parse_config("""
      Fc.ch = 7
      Fc.nonlinearity = 'gelu'
  """)
  layer = nn.Fc()
  assert (layer.ch, layer.nonlinearity) == (7, 'gelu')
  config = layer.get_config()
  assert (config['ch'], config['nonlinearity']) == (7, 'gelu')
  gin.clear_config()
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(layer))
  assert type(restored) is nn.Fc
  assert restored.get_config() == config


def test_register_class_and_function(clean_gin):

  @registration.register('tests.registration')
  class ScaleForRegistrationTest(keras.layers.Layer):
    """A layer only this test registers."""

    def __init__(self, factor=1.0, name='scale_for_registration_test',
                 **kwargs):
      super().__init__(name=name, **kwargs)
      self.factor = factor

    def call(self, x):
      return self.factor * x

    def get_config(self):
      return dict(super().get_config(), factor=self.factor)

  @registration.register('tests.registration')
  def double_for_registration_test(x, factor=2.0):
    return factor * x

  gin.parse_config("""
      ScaleForRegistrationTest.factor = 3.0
      double_for_registration_test.factor = 5.0
  """)
  assert (ScaleForRegistrationTest().factor,
          ScaleForRegistrationTest(factor=4.0).factor) == (3.0, 4.0)
  assert float(ScaleForRegistrationTest()(tf.constant(2.0))) == 6.0
  # A function is only configured where gin passes it.
  assert double_for_registration_test(1.0) == 2.0
  passed = gin.get_configurable('tests.registration.'
                                'double_for_registration_test')
  assert passed(1.0) == 5.0


def test_register_errors():
  with pytest.raises(TypeError, match=r"`module` must be the gin module "
                     r"name, e.g. 'ddsp.synths'. Received: module=None"):
    registration.register(None)
  with pytest.raises(TypeError, match=r'`configurable` applies to functions '
                     r'only; .* Received: configurable=True for Thing'):

    @registration.register('tests.registration', configurable=True)
    class Thing:  # pylint: disable=unused-variable
      pass

  with pytest.raises(TypeError, match=r'decorates classes and functions. '
                     r'Received: 3'):
    registration.register('tests.registration')(3)


# Calls that register with gin or Keras; only ddsp/registration.py makes them.
_REGISTERING = {('gin', 'register'), ('gin', 'configurable'),
                ('gin', 'external_configurable'),
                ('saving', 'register_keras_serializable')}


def _registering_calls(tree):
  for node in ast.walk(tree):
    if isinstance(node, ast.Attribute) and isinstance(
        node.value, (ast.Name, ast.Attribute)):
      owner = (node.value.id if isinstance(node.value, ast.Name)
               else node.value.attr)
      if (owner, node.attr) in _REGISTERING:
        yield node.lineno, f'{owner}.{node.attr}'


def test_only_the_registration_module_registers():
  offenders = []
  for path in sorted(PACKAGE_DIR.rglob('*.py')):
    if path.name == 'registration.py' and path.parent == PACKAGE_DIR:
      continue
    tree = ast.parse(path.read_text(), filename=str(path))
    for line, call in _registering_calls(tree):
      offenders.append(f'{path.relative_to(PACKAGE_DIR)}:{line} {call}')
  assert not offenders, ('Register with ddsp.registration.register, not: '
                         f'{offenders}')


# gin accepts any name for a `**kwargs` constructor; the library checks the
# bindings where the `**kwargs` only forward to the base classes.


def test_a_misspelled_binding_fails_at_construction_naming_it(clean_gin):
  gin.parse_config('RnnFcDecoder.chh = 5')
  # Raised by the library before Keras sees the argument, with the binding,
  # the class and the names that are valid.
  with pytest.raises(
      ValueError,
      match=r"gin binding 'RnnFcDecoder.chh' names no parameter of "
      r'ddsp.training.decoders.RnnFcDecoder \(its \*\*kwargs take only the '
      r'arguments of its base classes\). Valid parameters: '
      r'activity_regularizer, autocast, ch, dtype, .*, layers_per_stack, '
      r'name, output_keys, output_splits, rnn_channels, .*trainable. '
      r'Received: chh=5. Did you mean RnnFcDecoder.ch\?$'):
    decoders.RnnFcDecoder()


def test_a_misspelled_binding_of_a_base_class_names_the_base(clean_gin):
  gin.parse_config("""
      RnnFcDecoder.ch = 8
      OutputSplitsLayer.output_split = 3
  """)
  with pytest.raises(ValueError, match=r"gin binding "
                     r"'OutputSplitsLayer.output_split' names no parameter "
                     r'of ddsp.training.nn.OutputSplitsLayer .* Valid '
                     r'parameters: .*output_splits.* Received: '
                     r'output_split=3. Did you mean '
                     r"OutputSplitsLayer.output_splits\?\n  In call to "
                     r"configurable 'RnnFcDecoder'"):
    decoders.RnnFcDecoder()


def test_a_misspelled_reference_is_rejected_without_being_built(clean_gin):
  built = []

  @registration.register('tests.registration')
  class CountedForRegistrationTest(keras.layers.Layer):

    def __init__(self, **kwargs):
      super().__init__(**kwargs)
      built.append(self)

    def get_config(self):
      return super().get_config()

  gin.parse_config("""
      Harmonic.n_samples = 8
      Harmonic.scale_fn = None
      Harmonic.amp_resample_methd = @CountedForRegistrationTest()
  """)
  with pytest.raises(ValueError, match=r"'Harmonic.amp_resample_methd' names "
                     r'no parameter of ddsp.synths.Harmonic .*'
                     r'amp_resample_method.* Received: '
                     r'amp_resample_methd=@CountedForRegistrationTest\(\)\. '
                     r'Did you mean Harmonic.amp_resample_method\?'):
    ddsp.synths.Harmonic()
  assert not built
  gin.parse_config('Harmonic.amp_resample_methd = None')
  gin.clear_config()
  layer = CountedForRegistrationTest()
  assert built == [layer]


def test_a_scoped_misspelled_binding_fails_only_in_its_scope(clean_gin):
  gin.parse_config('train/Harmonic.n_sampls = 8')
  assert ddsp.synths.Harmonic().n_samples == 64000
  with gin.config_scope('train'):
    with pytest.raises(ValueError, match=r"gin binding 'Harmonic.n_sampls' "
                       r"\(in gin scope 'train'\) names no parameter of "
                       r'ddsp.synths.Harmonic .* Received: n_sampls=8. '
                       r'Did you mean Harmonic.n_samples\?$'):
      ddsp.synths.Harmonic()


def test_keras_layer_arguments_stay_valid_bindings(clean_gin):
  gin.parse_config("""
      Harmonic.name = 'bound_harmonic'
      Harmonic.trainable = False
      Harmonic.dtype = 'float64'
      Harmonic.autocast = False
      RnnFcDecoder.name = 'bound_decoder'
      Autoencoder.name = 'bound_autoencoder'
      ProcessorGroup.name = 'bound_group'
  """)
  harmonic = ddsp.synths.Harmonic()
  assert (harmonic.name, harmonic.trainable, harmonic.dtype,
          harmonic.autocast) == ('bound_harmonic', False, 'float64', False)
  assert decoders.RnnFcDecoder().name == 'bound_decoder'
  model = _FACTORIES['Autoencoder'](ddsp.training.models.Autoencoder)
  assert model.name == 'bound_autoencoder'
  assert model.processor_group.name == 'bound_group'


def test_dag_keyword_modules_stay_open_ended(clean_gin):
  # `DAGLayer(dag, **kwarg_modules)`: any keyword names a module.
  gin.parse_config("""
      ProcessorGroup.dag = [('summed', ['a', 'b'])]
      ProcessorGroup.summed = @processors.Add()
  """)
  group = ddsp.processors.ProcessorGroup()
  signal = group({'a': tf.ones([1, 4]), 'b': tf.ones([1, 4])})
  assert signal.numpy().tolist() == [[2.0] * 4]


def _kwargs_uses(init):
  """Uses of `kwargs` in a constructor other than forwarding or reading it."""
  tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
  allowed = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Call):
      func = node.func
      if (isinstance(func, ast.Attribute) and func.attr == '__init__' and
          isinstance(func.value, ast.Call) and
          getattr(func.value.func, 'id', None) == 'super'):
        allowed.update(id(k.value) for k in node.keywords if k.arg is None)
      if (isinstance(func, ast.Attribute) and func.attr in ('get', 'pop') and
          isinstance(func.value, ast.Name)):
        allowed.add(id(func.value))
  return [ast.unparse(node) for node in ast.walk(tree)
          if isinstance(node, ast.Name) and node.id == 'kwargs' and
          id(node) not in allowed and not isinstance(node.ctx, ast.Store)]


def test_kwargs_of_the_package_only_forward_to_the_base():
  # The bindings check relies on it: a constructor's `**kwargs` (so named)
  # go to `super().__init__`, where they are checked again, and nowhere else.
  offenders = {}
  for cls in CLASSES.values():
    for base in cls.__mro__:
      init = base.__dict__.get('__init__')
      if init is None:
        continue
      init = inspect.unwrap(init)
      if not getattr(init, '__module__', '').startswith('ddsp'):
        continue
      parameters = inspect.signature(init).parameters.values()
      if any(p.kind == p.VAR_KEYWORD and p.name == 'kwargs'
             for p in parameters):
        uses = _kwargs_uses(init)
        if uses:
          offenders[base.__qualname__] = uses
  assert not offenders, offenders
