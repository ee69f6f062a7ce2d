"""DAGLayer: a Keras layer that runs a list of modules over a dict of tensors.

A DAG (directed acyclic graph) is written as a list of nodes, run in list order:

    dag = [
        (module, ['input_key', ...]),                       # or
        (module, ['input_key', ...], ['output_key', ...]),
        ...
    ]

The layer keeps one dict, `outputs`, that starts as the inputs (each input is
reachable both as `'key'` and as `'inputs/key'`). For each node it looks up the
input keys in `outputs`, calls the module with those values as positional
arguments, and stores the result under the node's key: the module's name, or,
for a node that names its module by a keyword of the layer (`('encoder',
[...])` with `DAGLayer(dag, encoder=...)`), that keyword, as published. Keys
may be nested paths such as `'harmonic/signal'` or
`'harmonic/controls/amplitudes'`. The last node's result is also stored as
`'out'`. `'inputs'` and `'out'` are therefore reserved and cannot key a node.

How a node is called:

* A module that implements the `DAGModule` protocol (every
  `ddsp.processors.Processor` does) is called through its `dag_call` method;
  a processor returns `{'signal': ..., 'controls': {...}}` so that later nodes
  can route either.
* Any other Keras layer is called directly. If the node lists output keys, a
  tuple (or list) result is stored as a dict under those keys, a single tensor
  under the only key, and a dict result must contain every listed key. Without
  output keys the result is stored as it is.

Subclasses (e.g. a group of losses) can change how nodes are called by
overriding `DAGLayer.call_module`.

Modules are tracked sublayers of the DAGLayer: `layer.trainable_variables`,
`tf.train.Checkpoint` and Keras saving all see their variables.
"""

import keras

from ddsp import core
from ddsp import registration

# Keyword arguments of `DAGLayer` that configure the layer itself; every other
# keyword argument must be a module.
_LAYER_KWARGS = ('name', 'trainable', 'dtype', 'autocast')
# Keys of the outputs dict that no module may use as its name.
RESERVED_KEYS = ('inputs', 'out')
# The most keys listed in a "key not found" message.
_MAX_LISTED_KEYS = 60


class DAGModule:
  """Protocol for modules that say how a DAG node calls them.

  A class that inherits from `DAGModule` implements `dag_call(*inputs)`, which
  `DAGLayer` uses instead of `module(*inputs)`. It must return a dict (stored
  under the module's name) or a tensor.
  """

  def dag_call(self, *inputs):
    """Calls the module on the node's inputs (in input-key order)."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement dag_call().')


class DAGKeyError(KeyError, ValueError):
  """An input key of a DAG node that is not in the outputs dict.

  Subclasses both `KeyError` (what a dict lookup raises) and `ValueError` (the
  library's error for bad arguments), so either can be caught.
  """

  def __str__(self):
    # KeyError would quote the whole message; show it as written.
    return str(self.args[0]) if self.args else ''


def _lookup(key, outputs, index, node_key):
  """Looks up the input `key` of DAG node `index` in the outputs dict."""
  try:
    return core.nested_lookup(key, outputs)
  except KeyError:
    available = [k for k in core.nested_keys(outputs)
                 if not k.startswith('inputs/')]
    shown = available[:_MAX_LISTED_KEYS]
    more = (f' (and {len(available) - len(shown)} more)'
            if len(available) > len(shown) else '')
    raise DAGKeyError(
        f"DAG node {index} (module '{node_key}'): input key '{key}' not "
        f'found. Available keys (inputs also as inputs/<key>): '
        f'{shown}{more}') from None


def _check_keys(keys, what, index, node):
  """Validates a list of input or output keys of a node; returns a tuple."""
  if isinstance(keys, str) or not isinstance(keys, (list, tuple)):
    raise ValueError(
        f'The {what} keys of DAG node {index} must be a list of strings, e.g. '
        f"['amps', 'f0_hz']. Received: {keys!r} in node {node!r}")
  for key in keys:
    if not isinstance(key, str) or not key:
      raise ValueError(
          f'The {what} keys of DAG node {index} must be non-empty strings. '
          f'Received: {key!r} in node {node!r}')
  return tuple(keys)


def _is_node(node):
  return isinstance(node, (list, tuple)) and len(node) in (2, 3)


@registration.register('ddsp.dags')
class DAGLayer(keras.layers.Layer):
  """Runs a list of modules in order over a dict of tensors.

  Args:
    dag: list of nodes `(module, [input keys])` or
      `(module, [input keys], [output keys])`, run in list order. A module is a
      `keras.layers.Layer` or the name of one given in `kwarg_modules`. Input
      keys are paths into the outputs dict (`'f0_hz'`, `'inputs/f0_hz'`,
      `'harmonic/signal'`); each node's result is stored under its key: the
      keyword for a module named by keyword, else the module's `name`. Keys
      must be unique in the DAG and not `'inputs'` or `'out'`.
    **kwarg_modules: modules that string nodes refer to by keyword (and that
      become attributes of the layer), plus the Keras layer arguments `name`,
      `trainable`, `dtype`, `autocast`.

  Raises:
    ValueError: for a malformed node, a module name not given as a keyword
      argument, or two nodes with the same key.
    TypeError: where a module is not a Keras layer.

  Example:
    >>> import keras, numpy as np
    >>> dag = [(keras.layers.Dense(3, name='dense'), ['x']),
    ...        ('act', ['dense'])]
    >>> layer = DAGLayer(dag, act=keras.layers.Activation('relu', name='relu'))
    >>> outputs = layer({'x': np.ones([2, 4], 'float32')})
    >>> sorted(outputs)  # 'act' is keyed by its keyword, as published.
    ['act', 'dense', 'inputs', 'out', 'x']
    >>> tuple(outputs['out'].shape)
    (2, 3)
  """

  def __init__(self, dag, **kwarg_modules):
    layer_kwargs = {k: kwarg_modules.pop(k)
                    for k in _LAYER_KWARGS if k in kwarg_modules}
    for key, module in kwarg_modules.items():
      if not isinstance(module, keras.layers.Layer):
        raise TypeError(
            f'Keyword arguments of {type(self).__name__} other than '
            f'{list(_LAYER_KWARGS)} must be modules (keras.layers.Layer) that '
            f'DAG nodes can name. Received: {key}={module!r}')
    super().__init__(**layer_kwargs)

    if not isinstance(dag, (list, tuple)):
      raise TypeError('`dag` must be a list of nodes (module, [input keys]) or '
                      '(module, [input keys], [output keys]). '
                      f'Received: dag={dag!r}')
    nodes = []
    refs = []
    for index, node in enumerate(dag):
      module, input_keys, output_keys = self._parse_node(
          node, index, kwarg_modules)
      nodes.append((module, input_keys, output_keys))
      refs.append(node[0] if isinstance(node[0], str) else None)
    node_keys = [ref if ref is not None else module.name
                 for ref, (module, _, _) in zip(refs, nodes)]
    self._check_names(nodes, node_keys)

    # Each module is set as an attribute: Keras then tracks it as a sublayer
    # (`trainable_variables`, saving), and TensorFlow as a checkpoint
    # dependency. Layers held only in a list or dict attribute are Keras
    # sublayers but NOT checkpoint dependencies in Keras 3, so `self.dag` alone
    # would leave their variables out of `tf.train.Checkpoint`.
    # Checkpoint keys follow the module names (set first), however a module
    # was given.
    for module, _, _ in nodes:
      attribute = module.name
      if not self._attribute_is_free(attribute, module):
        attribute = f'dag_module_{module.name}'
      setattr(self, attribute, module)
    self._kwarg_module_keys = tuple(kwarg_modules)
    for key, module in kwarg_modules.items():
      if not self._attribute_is_free(key, module):
        raise ValueError(
            f"Module keyword '{key}' clashes with an attribute of "
            f'{type(self).__name__}; give the module another keyword. '
            f'Received: {key}={module!r}')
      setattr(self, key, module)
    self._node_refs = tuple(refs)
    self._node_keys = tuple(node_keys)
    self.dag = nodes

  def _attribute_is_free(self, attribute, module):
    """Whether `module` can be stored as `self.<attribute>`."""
    if hasattr(type(self), attribute):
      return False
    return self.__dict__.get(attribute, module) is module

  @staticmethod
  def _parse_node(node, index, kwarg_modules):
    """Returns (module, input_keys, output_keys or None) for a DAG node."""
    if not _is_node(node):
      raise ValueError(
          f'DAG node {index} must be a tuple (module, [input keys]) or '
          f'(module, [input keys], [output keys]). Received: {node!r}')
    module = node[0]
    if isinstance(module, str):
      if module not in kwarg_modules:
        raise ValueError(
            f"DAG node {index} names the module '{module}', which was not "
            'given as a keyword argument. Modules given by keyword: '
            f'{sorted(kwarg_modules)}')
      module = kwarg_modules[module]
    if not isinstance(module, keras.layers.Layer):
      raise TypeError(
          f'The module of DAG node {index} must be a keras.layers.Layer or '
          'the name of one given as a keyword argument. '
          f'Received: {module!r} of type {type(module).__name__}')
    input_keys = _check_keys(node[1], 'input', index, node)
    output_keys = None
    if len(node) == 3:
      output_keys = _check_keys(node[2], 'output', index, node)
      if not output_keys:
        raise ValueError(f'DAG node {index} lists no output keys; leave the '
                         f'list out instead. Received: {node!r}')
      for key in output_keys:
        if '/' in key:
          raise ValueError(f"Output key '{key}' of DAG node {index} must not "
                           f"contain '/'. Received: {node!r}")
      if len(set(output_keys)) != len(output_keys):
        raise ValueError(f'DAG node {index} repeats an output key. '
                         f'Received: {node!r}')
    return module, input_keys, output_keys

  @staticmethod
  def _check_names(nodes, node_keys):
    seen = {}
    for index, ((module, _, _), name) in enumerate(zip(nodes, node_keys)):
      if name in RESERVED_KEYS:
        raise ValueError(
            f"The module of DAG node {index} is named '{name}', which is "
            f'reserved ({list(RESERVED_KEYS)}); give it another name.')
      if name in seen:
        first = seen[name]
        same = ('the same module' if nodes[first][0] is module
                else 'two different modules')
        raise ValueError(
            f"DAG nodes {first} and {index} hold {same} under the key "
            f"'{name}'. Each node's result is stored under its key (the "
            "module's keyword or name), so keys must be unique: pass a "
            'distinct `name=` (or keyword) to each module.')
      seen[name] = index

  @property
  def module_names(self):
    """Keys of the DAG's nodes, in node order: where each result is stored.

    The keyword for a module named by keyword, else the module's name.
    """
    return list(self._node_keys)

  @property
  def modules(self):
    """The modules of the DAG, in node order (published getter)."""
    return [module for module, _, _ in self.dag]

  def build(self, inputs_shape=None):
    """Marks the layer built; each module builds on its first call."""
    del inputs_shape
    self.built = True

  def call(self, inputs, training=None):
    """Runs the DAG.

    Args:
      inputs: dict of input tensors (possibly nested), e.g.
        `{'f0_hz': [batch, n_frames, 1] float32 Hz, 'amps': ...}`.
      training: passed on by Keras to modules whose `call` takes it.

    Returns:
      The outputs dict: the inputs (also under `'inputs'`), each module's
      result under its node key, and the last node's result under `'out'`.

    Raises:
      ValueError: where an input key clashes with a module name or a reserved
        key, and (as `DAGKeyError`) where a node's input key is not found.
    """
    del training  # Keras propagates it to the modules through the call context.
    return self.run_dag(inputs)

  def run_dag(self, inputs):
    """Runs the nodes over `inputs`; returns the outputs dict (see `call`)."""
    if not isinstance(inputs, dict):
      raise TypeError(f'{type(self).__name__} takes a dict of input tensors. '
                      f'Received: inputs of type {type(inputs).__name__}')
    taken = set(RESERVED_KEYS) | set(self.module_names)
    clashes = sorted(set(inputs) & taken)
    if clashes:
      raise ValueError(
          f'Input keys {clashes} clash with module names or reserved keys of '
          f'the DAG ({sorted(taken)}); '
          'rename the inputs or the modules.')
    outputs = dict(inputs)
    outputs['inputs'] = inputs
    result = None
    for index, ((module, input_keys, output_keys), node_key) in enumerate(
        zip(self.dag, self._node_keys)):
      args = [_lookup(key, outputs, index, node_key) for key in input_keys]
      result = self.call_module(module, args)
      if output_keys is not None:
        result = _to_dict(result, output_keys, node_key)
      outputs[node_key] = result
    outputs['out'] = result
    return outputs

  def call_module(self, module, inputs):
    """Calls one node's module on its inputs; subclasses may override.

    Args:
      module: the node's `keras.layers.Layer`.
      inputs: list of the values of the node's input keys, in order.

    Returns:
      The module's result: a dict, a tensor or a tuple of tensors.
    """
    if isinstance(module, DAGModule):
      return module.dag_call(*inputs)
    return module(*inputs)

  def get_config(self):
    config = super().get_config()
    kwarg_modules = {key: getattr(self, key) for key in self._kwarg_module_keys}
    by_id = {id(module): key for key, module in kwarg_modules.items()}
    dag = []
    for (module, input_keys, output_keys), ref in zip(self.dag,
                                                      self._node_refs):
      if ref is None:
        ref = by_id.get(id(module))
      entry = ref if ref is not None else (
          keras.saving.serialize_keras_object(module))
      node = [entry, list(input_keys)]
      if output_keys is not None:
        node.append(list(output_keys))
      dag.append(node)
    config['dag'] = dag
    config['kwarg_modules'] = {
        key: keras.saving.serialize_keras_object(module)
        for key, module in kwarg_modules.items()}
    return config

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    kwarg_modules = {key: keras.saving.deserialize_keras_object(module)
                     for key, module in config.pop('kwarg_modules', {}).items()}
    dag = []
    for node in config.pop('dag'):
      module = node[0]
      if not isinstance(module, str):
        module = keras.saving.deserialize_keras_object(module)
      dag.append((module,) + tuple(node[1:]))
    return cls(dag, **config, **kwarg_modules)


def _to_dict(result, output_keys, name):
  """Stores a module result under the node's output keys."""
  if isinstance(result, dict):
    missing = [key for key in output_keys if key not in result]
    if missing:
      raise ValueError(
          f"Module '{name}' returned a dict without the output keys "
          f'{missing} listed in its DAG node. Its keys: {sorted(result)}')
    return result
  values = (list(result) if isinstance(result, (list, tuple))
            else [result])
  if len(values) != len(output_keys):
    raise ValueError(
        f"Module '{name}' returned {len(values)} value(s) but its DAG node "
        f'lists {len(output_keys)} output keys {list(output_keys)}.')
  return dict(zip(output_keys, values))


# Keyword arguments that `split_keras_kwargs` separates, as published.
_SPLIT_KERAS_KWARGS = ('training', 'mask', 'name')


def split_keras_kwargs(kwargs):
  """Separates the Keras keyword arguments from a module's other ones.

  The published library's helper for constructors and calls that take
  `**kwargs` meant partly for Keras: `training`, `mask` and `name` go to
  Keras, everything else stays. An argument whose value is None stays in
  `kwargs` (as published: None means "not given").

  Args:
    kwargs: dict of keyword arguments. It is changed in place: the Keras
      arguments are removed from it.

  Returns:
    (keras_kwargs, kwargs): a new dict with the `training`, `mask` and `name`
    entries that are not None, and `kwargs` without them (the same dict
    object that was passed).

  Raises:
    TypeError: if `kwargs` is not a dict.

  Example:
    >>> kwargs = {'name': 'dag', 'training': True, 'mask': None, 'units': 3}
    >>> keras_kwargs, other = split_keras_kwargs(kwargs)
    >>> keras_kwargs, other
    ({'training': True, 'name': 'dag'}, {'mask': None, 'units': 3})
  """
  if not isinstance(kwargs, dict):
    raise TypeError('`kwargs` must be a dict of keyword arguments. '
                    f'Received: kwargs of type {type(kwargs).__name__}')
  keras_kwargs = {}
  for key in _SPLIT_KERAS_KWARGS:
    if kwargs.get(key) is not None:
      keras_kwargs[key] = kwargs.pop(key)
  return keras_kwargs, kwargs
