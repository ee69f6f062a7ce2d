"""`DictLayer`: Keras layers that read their inputs from feature dicts.

The published DDSP 3.x semantics: input keys from the arguments of `call`
(optional ones from the arguments with defaults), output keys from its return
annotation, both renamable in the constructor. Part of `ddsp.training.nn`
(import it from there: `ddsp.training.nn.DictLayer`).
"""

import inspect

import keras

from ddsp import core
from ddsp import registration

_register = registration.register('ddsp.training.nn')

# Marks an input key that is absent from the inputs.
_ABSENT = object()


class DictLayerInputError(TypeError, ValueError):
  """The inputs of a `DictLayer` do not give one value per input key.

  Both a `TypeError` (as the published DDSP 3.x library raised) and a
  `ValueError` (as this library's validation does), so either can be caught.
  """


# Arguments of `call` that Keras fills from the call context, never inputs.
_CONTEXT_ARGUMENTS = ('training', 'mask')


@_register
class DictLayer(keras.layers.Layer):
  """A layer that reads its inputs from dicts and returns a dict.

  Subclasses implement `call` (or, keeping Keras' `call`, `compute_output`)
  with one argument per input. Calling the layer with dicts (merged, later
  ones win; keys may be nested paths such as 'harmonic/controls/amplitudes')
  looks up `input_keys`, then the optional `default_input_keys`; tensors
  passed positionally fill the first inputs in order, and keyword arguments
  named like input keys count as dict entries. The result is a dict: the one
  `call` returns, or its tensor(s) named by `output_keys`.

  Without `input_keys`, the keys are the argument names of `call` (of
  `compute_output` where `call` takes only `*inputs`): arguments without a
  default are required, those with a default are optional
  (`default_input_keys`, passed in order, their default used when absent).
  Without `output_keys`, they are the return annotation of that method, a
  list of strings (`def call(self, f0_hz, power=None) -> ['amps', 'f0']`).
  Explicit `input_keys` rename the inputs (all required), explicit
  `output_keys` rename the outputs; both round-trip through `get_config`.

  Args:
    input_keys: names of the input tensors, in argument order; None to use
      the argument names.
    output_keys: names of the outputs when the layer does not return a dict;
      None to use the return annotation.
    **kwargs: passed to `keras.layers.Layer` (name, dtype, trainable).

  Raises (when called):
    DictLayerInputError: (a TypeError and ValueError) if the inputs do not
      give exactly one value per required input key (and at most one per
      optional key); the message lists the keys that are available.

  Example:
    >>> import tensorflow as tf
    >>> class Sum(DictLayer):
    ...   def call(self, a, b=None) -> ['sum']:
    ...     return a if b is None else a + b
    >>> layer = Sum()
    >>> layer.input_keys, layer.default_input_keys, layer.output_keys
    (['a'], ['b'], ['sum'])
    >>> float(layer({'a': tf.constant(1.0), 'b': tf.constant(2.0)})['sum'])
    3.0
    >>> float(layer({'a': tf.constant(1.0)})['sum'])
    1.0
    >>> renamed = Sum(input_keys=['x', 'y'], output_keys=['total'])
    >>> float(renamed({'x': tf.constant(1.0), 'y': tf.constant(5.0)})['total'])
    6.0
  """

  def __init__(self, input_keys=None, output_keys=None, **kwargs):
    super().__init__(**kwargs)
    # The constructor arguments, for get_config (None: from the signature).
    self._given_input_keys = (None if not input_keys else
                              list(core.make_iterable(input_keys)))
    self._given_output_keys = (None if not output_keys else
                               list(core.make_iterable(output_keys)))
    method = self._keys_method()
    if self._given_input_keys:
      # Explicit keys rename the inputs; all of them are required.
      self.input_keys = list(self._given_input_keys)
      self.default_input_keys, self.default_input_values = [], []
    else:
      self.input_keys = self.get_argument_names(method)
      self.default_input_keys = self.get_default_argument_names(method)
      self.default_input_values = self.get_default_argument_values(method)
    self.output_keys = (list(self._given_output_keys) if
                        self._given_output_keys else
                        self.get_return_annotations(method))

  @property
  def all_input_keys(self):
    """Required then optional input keys, in argument order."""
    return list(self.input_keys) + list(self.default_input_keys)

  @property
  def n_inputs(self):
    """Number of inputs, counting the optional ones."""
    return len(self.all_input_keys)

  def build(self, *args, **kwargs):
    # Sub-layers build themselves on their first call; a DictLayer has no
    # weights of its own.
    del args, kwargs
    self.built = True

  def __call__(self, *inputs, **kwargs):
    """Looks the inputs up, calls the layer and names its outputs.

    The Keras `__call__` is wrapped (as the published library did) because
    the dict lookup must happen before Keras binds the tensors to `call`.
    """
    args, kwargs = self._gather_inputs(inputs, kwargs)
    return self.outputs_to_dict(super().__call__(*args, **kwargs))

  def call(self, *inputs):
    return self.compute_output(*inputs)

  def compute_output(self, *inputs):
    """Maps the input tensors (in `all_input_keys` order) to the outputs."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement call() or compute_output().')

  def _gather_inputs(self, inputs, kwargs):
    """(positional inputs, kwargs) -> (tensors for `call`, other kwargs).

    Positional tensors fill the first inputs, dict values the following
    required keys, then the optional keys by position: an absent optional
    input before a given one is passed as its default, absent ones at the end
    are left to `call`'s defaults.
    """
    merged = {}
    for x in inputs:
      if isinstance(x, dict):
        merged.update(x)
    for key in self.all_input_keys:
      if key in kwargs:
        merged[key] = kwargs.pop(key)
    args = [x for x in inputs if not isinstance(x, dict)]
    n_positional = len(args)
    found, missing = [], []
    for key in self.input_keys:
      value = self._lookup(key, merged)
      (missing if value is _ABSENT else found).append(key)
      if value is not _ABSENT:
        args.append(value)
    n_required, n_given = len(self.input_keys), len(args)
    pending = []  # Defaults of absent optional inputs, until one is given.
    for slot, (key, default) in enumerate(
        zip(self.default_input_keys, self.default_input_values), n_required):
      value = self._lookup(key, merged)
      if value is _ABSENT:
        if slot >= len(args):
          pending.append(default)
        continue
      found.append(key)
      # A slot already filled positionally gets a second value: an error.
      args.extend(pending + [value] if slot >= len(args) else [value])
      pending = []
    if n_given < n_required or len(args) > self.n_inputs:
      raise DictLayerInputError(self._input_error(
          n_positional, found, missing, merged))
    return args, kwargs

  @staticmethod
  def _lookup(key, merged):
    try:
      return core.nested_lookup(key, merged)
    except KeyError:
      return _ABSENT

  def _input_error(self, n_positional, found, missing, merged):
    head = f'{type(self).__name__} ({self.name})'
    available = sorted(core.nested_keys(merged))
    if missing and not n_positional:
      keys = ', '.join(repr(k) for k in missing)
      return (f'{head} needs the input key {keys}, which is not among the '
              f'available keys {available}. Set its `input_keys` to the keys '
              'your features provide.')
    return (f'{head} takes one value per input key {self.input_keys} (and at '
            f'most one per optional key {self.default_input_keys}). Received '
            f'{n_positional} positional tensors and the keys {found} of the '
            f'available keys {available}.')

  def outputs_to_dict(self, outputs):
    """Names the outputs with `output_keys` (dicts are returned as they are)."""
    return core.to_dict(outputs, self.output_keys)

  # Signature inspection (the published library's public helpers).
  def _keys_method(self):
    """'call', or 'compute_output' where `call` takes only *inputs."""
    parameters = inspect.signature(self.call).parameters.values()
    named = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY,
                                                 p.POSITIONAL_OR_KEYWORD)]
    return 'call' if named else 'compute_output'

  def _input_parameters(self, method):
    parameters = inspect.signature(getattr(self, method)).parameters.values()
    return [p for p in parameters
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.name not in _CONTEXT_ARGUMENTS]

  def get_argument_names(self, method):
    """Names of the arguments of `method` without a default."""
    return [p.name for p in self._input_parameters(method)
            if p.default is p.empty]

  def get_default_argument_names(self, method):
    """Names of the arguments of `method` with a default."""
    return [p.name for p in self._input_parameters(method)
            if p.default is not p.empty]

  def get_default_argument_values(self, method):
    """Default values of the arguments of `method` that have one."""
    return [p.default for p in self._input_parameters(method)
            if p.default is not p.empty]

  def get_return_annotations(self, method):
    """The list of output names annotated on `method` ([] without one)."""
    annotation = inspect.signature(getattr(self, method)).return_annotation
    if annotation is inspect.Signature.empty:
      return []
    return list(core.make_iterable(annotation))

  def get_config(self):
    config = super().get_config()
    config.update(input_keys=self._given_input_keys,
                  output_keys=self._given_output_keys)
    return config



def layers_from_config(config, keys):
  """A copy of a layer config with the sub-layer configs at `keys` rebuilt.

  For `from_config` of layers that take other layers as arguments (a `net`,
  a `precondition_stack`) and store them with
  `keras.saving.serialize_keras_object`; None and layers pass unchanged.

  Example:
    >>> config = {'net': keras.saving.serialize_keras_object(
    ...     keras.layers.Dense(3)), 'z_dims': 2}
    >>> type(layers_from_config(config, ['net'])['net']).__name__
    'Dense'
  """
  config = dict(config)
  for key in keys:
    if isinstance(config.get(key), dict):
      config[key] = keras.saving.deserialize_keras_object(config[key])
  return config
