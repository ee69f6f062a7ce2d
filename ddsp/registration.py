"""One way to register ddsp classes and functions with gin and Keras.

Every module of the package registers what gin files may name, and what Keras
configs may hold, with the `register` decorator of this module, and nothing
else (no `gin.register`, `gin.configurable` or
`keras.saving.register_keras_serializable` elsewhere):

    from ddsp import registration

    @registration.register('ddsp.synths')
    class Harmonic(processors.Processor):
      ...

    @registration.register('ddsp.core', serializable=True)
    def exp_sigmoid(x, exponent=10.0, max_value=2.0, threshold=1e-7):
      ...

The gin module is the public module users import the name from
(`ddsp.losses`, not `ddsp.losses.spectral`), so gin files write
`@synths.Harmonic()`, `@losses.SpectralLoss()` or `@core.exp_sigmoid`, as for
the published DDSP 3.x library.

What `register` does with a class:

* gin bindings apply however the class is constructed: from gin
  (`@synths.Harmonic()`, `Autoencoder.processor_group =
  @processors.ProcessorGroup()`) and directly in Python, so after
  `gin.parse_config('ProcessorGroup.dag = [...]')` a plain
  `ddsp.processors.ProcessorGroup()` is built from the bound DAG, as the
  published tutorials do. Arguments passed explicitly win over bindings.
* The class object itself is kept (gin wraps its `__init__` in place, with
  the original signature restored for Keras 3), so `isinstance`, `type(x) is
  Harmonic`, Keras serialization and `tf.train.Checkpoint` are unchanged.
* gin accepts any parameter name for a constructor that takes `**kwargs`, so a
  misspelled binding (`RnnFcDecoder.chh = 5`) would reach Keras as an unknown
  keyword argument. Where a class's `**kwargs` only forward to its base
  classes, up to `keras.layers.Layer` (whose own arguments `name`,
  `trainable`, `dtype`, ... stay valid), constructing it checks the gin
  bindings that apply against those parameters first, and raises a
  `ValueError` naming the binding, the class and its valid parameters. A
  variadic keyword parameter of another name (`DAGLayer(dag,
  **kwarg_modules)`) takes open-ended arguments and is not checked.
* A class with `get_config` (layers, models, losses) is registered with Keras
  as `'ddsp>ClassName'`. Such a class must implement `get_config` with every
  constructor argument: Keras' automatic config records only the arguments
  passed explicitly, not those gin injected, so it would miss bound values
  (`tests/test_registration.py` checks every registered class).

What `register` does with a function:

* It is registered with gin and returned unchanged: gin files pass it
  (`scale_fn = @core.exp_sigmoid`) and its bindings apply where gin passes
  it; a Python call of the function is not affected by gin.
* `configurable=True` (entry points such as `train_util.train`) makes gin
  bindings apply to every call, also from Python; the decorated function is
  then gin's wrapper.
* `serializable=True` also registers it with Keras (`'ddsp>exp_sigmoid'`),
  for functions that layers take as arguments and store in their configs.

Classes of other libraries (Keras layers) are never registered with
`register`: wrapping their `__init__` in place would change them for every
user of that library. `register_external` registers them the way gin leaves
them unchanged (gin's configurable is a subclass, or a wrapper of a function),
for gin files that name them (`@tf.keras.layers.Dense()`).
"""

import difflib
import functools
import inspect

import gin
import keras

# Keras package of every registered object: configs name them 'ddsp>Name'.
KERAS_PACKAGE = 'ddsp'
# Keyword arguments `keras.layers.Layer.__init__` takes through its `**kwargs`.
_KERAS_LAYER_EXTRA_KWARGS = ('input_dim', 'input_shape')


def register(module, *, configurable=None, serializable=None):
  """Decorator registering a class or function with gin (and Keras).

  See the module docstring for the convention.

  Args:
    module: gin module, the public module the object is imported from, e.g.
      'ddsp.synths', 'ddsp.losses', 'ddsp.training.decoders'.
    configurable: for functions only: if True, gin bindings apply to every
      call (gin's wrapper is returned); by default they apply only where gin
      passes the function. Classes are always configurable.
    serializable: whether to register with Keras serialization as
      'ddsp>Name'. By default True for classes with `get_config`, False for
      functions.

  Returns:
    A decorator returning the class itself, or the function (gin's wrapper of
    it where `configurable`).

  Raises:
    TypeError: for a `module` that is not a string, `configurable` given for a
      class, or an object that is neither a class nor a function.

  Example:
    >>> import gin, keras
    >>> @register('my_project.layers')
    ... class ExampleGain(keras.layers.Layer):
    ...   def __init__(self, gain=1.0, **kwargs):
    ...     super().__init__(**kwargs)
    ...     self.gain = gain
    ...   def call(self, x):
    ...     return self.gain * x
    ...   def get_config(self):
    ...     return dict(super().get_config(), gain=self.gain)
    >>> gin.bind_parameter('ExampleGain.gain', 3.0)
    >>> ExampleGain().gain, ExampleGain(gain=2.0).gain  # Arguments win.
    (3.0, 2.0)
    >>> keras.saving.get_registered_name(ExampleGain)
    'ddsp>ExampleGain'
    >>> gin.clear_config()
  """
  if not isinstance(module, str) or not module:
    raise TypeError('`module` must be the gin module name, e.g. '
                    f"'ddsp.synths'. Received: module={module!r}")

  def decorator(obj):
    if inspect.isclass(obj):
      if configurable is not None:
        raise TypeError('`configurable` applies to functions only; gin '
                        'bindings always apply to registered classes. '
                        f'Received: configurable={configurable!r} for '
                        f'{obj.__name__}')
      return _register_class(obj, module, serializable)
    if inspect.isfunction(obj):
      return _register_function(obj, module, bool(configurable),
                                bool(serializable))
    raise TypeError('`register` decorates classes and functions. '
                    f'Received: {obj!r}')

  return decorator


def _register_class(cls, module, serializable):
  """gin-configurable in place (keeping the signature); Keras if it applies."""
  if serializable is None:
    serializable = hasattr(cls, 'get_config')
  if serializable:
    keras.saving.register_keras_serializable(package=KERAS_PACKAGE)(cls)
  signature = inspect.signature(cls.__init__)
  parameters = _keyword_parameters(cls)
  gin.configurable(cls, module=module)
  if parameters is not None and _has_var_keyword(signature):
    cls.__init__ = _checking_bindings(cls.__init__, cls, module, parameters)
  # gin's wrapper takes (*args, **kwargs); Keras 3 reads the constructor's
  # signature (getfullargspec, which does not follow __wrapped__) to record
  # its arguments, and fails on the bare wrapper.
  cls.__init__.__signature__ = signature
  return cls


def _has_var_keyword(signature):
  return any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())


def _keyword_parameters(cls):
  """The keyword arguments a class's constructor accepts, through `**kwargs`.

  Follows `**kwargs` (a variadic keyword parameter named `kwargs`) up the
  method resolution order while each constructor forwards them to its base,
  and stops at the first constructor without one, or at
  `keras.layers.Layer`, which takes `input_dim` and `input_shape` besides its
  named arguments. Bases that are not Keras layers are skipped for a Keras
  layer (`keras.Model` forwards its arguments to `keras.layers.Layer`, not to
  its trainer base).

  Args:
    cls: a class.

  Returns:
    A sorted tuple of parameter names, or None where the accepted names are
    open-ended: a variadic keyword parameter of another name
    (`**kwarg_modules`), or `**kwargs` reaching a base that is not known to
    take a fixed set.
  """
  is_layer = issubclass(cls, keras.layers.Layer)
  names = set()
  for base in inspect.getmro(cls):
    if '__init__' not in base.__dict__:
      continue
    if is_layer and not issubclass(base, keras.layers.Layer):
      continue
    var_keyword = None
    for parameter in inspect.signature(base.__init__).parameters.values():
      if parameter.kind == parameter.VAR_KEYWORD:
        var_keyword = parameter.name
      elif parameter.kind != parameter.VAR_POSITIONAL:
        names.add(parameter.name)
    if var_keyword is None:
      break
    if base is keras.layers.Layer:
      names.update(_KERAS_LAYER_EXTRA_KWARGS)
      break
    if var_keyword != 'kwargs' or base is object:
      return None
  else:
    return None
  names.discard('self')
  return tuple(sorted(names))


def _checking_bindings(init, cls, module, parameters):
  """Wraps gin's `__init__` wrapper to check bindings before it applies them."""

  @functools.wraps(init)
  def __init__(self, *args, **kwargs):
    # Bindings are read unresolved: a reference (`@synths.Harmonic()`) is not
    # built just to be rejected.
    bound = gin.get_bindings(cls, resolve_references=False)
    unknown = sorted(set(bound) - set(parameters))
    if unknown:
      scope = gin.current_scope_str()
      where = f" (in gin scope '{scope}')" if scope else ''
      bindings = ', '.join(f"'{cls.__name__}.{name}'" for name in unknown)
      close = [f'{cls.__name__}.{match}' for name in unknown
               for match in difflib.get_close_matches(name, parameters, n=1)]
      hint = f' Did you mean {" or ".join(close)}?' if close else ''
      raise ValueError(
          f'gin binding {bindings}{where} names no parameter of '
          f'{module}.{cls.__name__} (its **kwargs take only the arguments of '
          f'its base classes). Valid parameters: {", ".join(parameters)}. '
          f'Received: {", ".join(f"{n}={bound[n]!r}" for n in unknown)}.'
          f'{hint}')
    init(self, *args, **kwargs)

  return __init__


def _register_function(fn, module, configurable, serializable):
  if serializable:
    keras.saving.register_keras_serializable(package=KERAS_PACKAGE)(fn)
  if configurable:
    return gin.configurable(fn, module=module)
  gin.register(fn, module=module)
  return fn


def register_external(obj, selector):
  """Registers another library's class or function with gin, unchanged.

  gin's configurable is a subclass of the class (or a wrapper of the
  function); `obj` itself is not modified, so other users of the library see
  no difference. Registering a selector again replaces the earlier entry.

  Args:
    obj: a class or function, e.g. `keras.layers.Dense`.
    selector: its full gin name, 'module.Name', e.g. 'tf.keras.layers.Dense'.

  Returns:
    `obj`, unchanged.

  Raises:
    TypeError: for a `selector` without a module, or an `obj` that is not
      callable.

  Example:
    >>> import gin, keras
    >>> register_external(keras.layers.Dense, 'tests.keras.Dense') is (
    ...     keras.layers.Dense)
    True
    >>> gin.get_configurable('tests.keras.Dense') is keras.layers.Dense
    False
  """
  if not isinstance(selector, str) or '.' not in selector.strip('.'):
    raise TypeError("`selector` must be a full gin name, 'module.Name'. "
                    f'Received: selector={selector!r}')
  if not callable(obj):
    raise TypeError(f'`obj` must be a class or function. Received: {obj!r}')
  module, name = selector.rsplit('.', 1)
  gin.external_configurable(obj, name=name, module=module)
  return obj
