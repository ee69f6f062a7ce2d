"""Model loading has one home: checkpoints, operative configs, restoring.

A training folder written by `ddsp_run --mode=train` (or `train_util.train`)
holds checkpoints `ckpt-<step>.{index,data-*}`, a `checkpoint` state file
naming the latest, and the operative gin config of each start,
`operative_config-<step>.gin`. This module is what every loader calls
(`inference.load_model`, timbre transfer, evaluation, export, streaming,
`Model.restore`, `Trainer.restore`):

* finding files: `get_latest_checkpoint`, `get_latest_operative_config`,
  `list_checkpoints`, `find_readable_checkpoint` (the newest checkpoint that
  reads back: a truncated or empty latest one is skipped with a warning);
* gin: `GIN_MODULES`, the one list of modules that register what configs
  name, and `parse_operative_config`, which reads an older run's config,
  skipping (with one warning listing them) names this version does not know;
* building: `build_model` creates a model's variables at a given length,
  `get_model` builds the gin-configured model with its lengths set to a
  number of frames;
* restoring under one policy, `restore`: every variable of what is restored
  must come from the checkpoint, or a `ValueError` names the missing ones and
  the checkpoint and nothing is assigned. Values of the checkpoint that are
  not needed (optimizer state when loading a model) are fine; one log line
  says how many there were.
* writing: `save` writes a checkpoint so that a kill during the save leaves
  the previous ones usable (files written to a temporary folder, moved into
  place, the state file updated last).

Loaders parse the operative config on top of the current gin config (they
never clear it): the operative config binds every parameter the model used,
so the model is rebuilt as it was trained.
"""

import collections
import importlib
import logging
import os
import re

import gin
from gin import config_parser
import keras
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from ddsp.training import rates

__all__ = [
    'GIN_MODULES',
    'LENGTH_PARAMS',
    'build_model',
    'checkpoint_step',
    'expand_path',
    'find_readable_checkpoint',
    'get_latest_checkpoint',
    'get_latest_file',
    'get_latest_operative_config',
    'get_model',
    'import_gin_modules',
    'list_checkpoints',
    'load_model',
    'model_hop',
    'model_n_samples',
    'model_layers',
    'model_rates',
    'parse_operative_config',
    'restore',
    'save',
]

# Modules that register the gin names configs hold (models, layers, data,
# training and evaluation loops). Imported by name (not at the top of this
# module), so that the modules that load models can import this one.
GIN_MODULES = (
    'ddsp',
    'ddsp.losses',
    'ddsp.training.data',
    'ddsp.training.decoders',
    'ddsp.training.encoders',
    'ddsp.training.eval_util',
    'ddsp.training.evaluators',
    'ddsp.training.models',
    'ddsp.training.nn_blocks',
    'ddsp.training.nn_resnet',
    'ddsp.training.preprocessing',
    'ddsp.training.rates',
    'ddsp.training.train_util',
    'ddsp.training.trainers',
)
# Layer parameters that fix a model's length (synths: samples; preprocessors:
# frames), set by `get_model(n_frames=...)`.
LENGTH_PARAMS = ('n_samples', 'time_steps')
_STATE_FILE = 'checkpoint'
_OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH'


def import_gin_modules():
  """Imports every module of `GIN_MODULES`, so that gin knows their names."""
  for name in GIN_MODULES:
    importlib.import_module(name)


# ------------------------------------------------------------------------------
# Files.
# ------------------------------------------------------------------------------
def expand_path(file_path):
  """Expands '~' and environment variables of a local or remote path."""
  return os.path.expandvars(os.path.expanduser(os.fspath(file_path)))


def checkpoint_step(checkpoint_path):
  """The step in a checkpoint name ('.../ckpt-300' -> 300; 0 if none).

  Example:
    >>> checkpoint_step('/tmp/run/ckpt-300')
    300
  """
  match = re.search(r'-(\d+)$', os.fspath(checkpoint_path))
  return int(match.group(1)) if match else 0


def get_latest_file(dir_path, prefix='operative_config-', suffix='.gin'):
  """The file `<prefix><number><suffix>` of a directory with the largest number.

  Args:
    dir_path: directory to search.
    prefix: start of the file names.
    suffix: end of the file names.

  Returns:
    The path of the file.

  Raises:
    FileNotFoundError: the directory does not exist or holds no such file.

  Example:
    >>> import pathlib, tempfile
    >>> save_dir = pathlib.Path(tempfile.mkdtemp())
    >>> for step in (300, 3000, 600):
    ...   (save_dir / f'operative_config-{step}.gin').touch()
    >>> pathlib.Path(get_latest_file(save_dir)).name
    'operative_config-3000.gin'
  """
  dir_path = expand_path(dir_path)
  if not tf.io.gfile.isdir(dir_path):
    raise FileNotFoundError(f'No directory {dir_path!r}.')
  pattern = re.compile(re.escape(prefix) + r'(\d+)' + re.escape(suffix) + '$')
  numbered = []
  for name in tf.io.gfile.listdir(dir_path):
    match = pattern.match(name)
    if match:
      numbered.append((int(match.group(1)), name))
  if not numbered:
    raise FileNotFoundError(
        f'No file {prefix}<number>{suffix} in {dir_path!r}.')
  return os.path.join(dir_path, max(numbered)[1])


def get_latest_operative_config(restore_dir):
  """The latest `operative_config-<step>.gin` of a training directory.

  Args:
    restore_dir: the training directory, or a checkpoint prefix in it.

  Raises:
    FileNotFoundError: there is none.
  """
  path = expand_path(restore_dir)
  if not tf.io.gfile.isdir(path) and tf.io.gfile.exists(path + '.index'):
    path = os.path.dirname(path)
  return get_latest_file(path, prefix='operative_config-', suffix='.gin')


def list_checkpoints(directory):
  """The checkpoint prefixes of a directory, newest (highest step) first.

  A checkpoint counts when its `.index` file exists (`save` moves it into
  place last).
  """
  directory = expand_path(directory)
  prefixes = [p[:-len('.index')] for p in
              tf.io.gfile.glob(os.path.join(directory, '*-*.index'))]
  prefixes = [p for p in prefixes if re.search(r'-\d+$', p)]
  return sorted(prefixes, key=checkpoint_step, reverse=True)


def _state_latest(directory):
  """The latest checkpoint named by the `checkpoint` state file, or None."""
  try:
    latest = tf.train.latest_checkpoint(directory)
  except (tf.errors.OpError, ValueError):  # An unreadable state file.
    return None
  if latest is not None and tf.io.gfile.exists(latest + '.index'):
    return latest
  return None


def get_latest_checkpoint(checkpoint_path):
  """The latest checkpoint of a directory, or a given checkpoint's prefix.

  Args:
    checkpoint_path: a directory of checkpoints (as written by
      `Trainer.save`) or a checkpoint prefix such as '.../ckpt-300'.

  Returns:
    The checkpoint prefix (without '.index'): the one the directory's state
    file names, else the highest-numbered one.

  Raises:
    FileNotFoundError: no checkpoint there.
  """
  path = expand_path(checkpoint_path)
  if tf.io.gfile.isdir(path):
    latest = _state_latest(path)
    if latest is None:
      found = list_checkpoints(path)
      latest = found[0] if found else None
    if latest is None:
      raise FileNotFoundError(f'No checkpoint in the directory {path!r}.')
    return latest
  if tf.io.gfile.exists(path + '.index'):
    return path
  raise FileNotFoundError(f'No checkpoint found at {path!r} (neither a '
                          'checkpoint directory nor a checkpoint prefix).')


def _check_readable(prefix):
  """Reads every value of a checkpoint; raises ValueError naming it if not."""
  try:
    reader = tf.train.load_checkpoint(prefix)
    for key in reader.get_variable_to_shape_map():
      reader.get_tensor(key)
  except (tf.errors.OpError, IndexError, ValueError, RuntimeError,
          OSError) as e:
    files = sorted(os.path.basename(f) for f in tf.io.gfile.glob(prefix + '.*'))
    detail = ' '.join(str(e).split())[:200]
    raise ValueError(f'The checkpoint {prefix!r} cannot be read (files '
                     f'{files}): {type(e).__name__}: {detail}') from None


def find_readable_checkpoint(checkpoint_path):
  """The newest checkpoint that reads back, skipping corrupt ones.

  Every value of a candidate is read (the index and data files), so a
  truncated or empty `ckpt-<step>.data-*` file is found before anything is
  restored from it.

  Args:
    checkpoint_path: a directory of checkpoints, or a checkpoint prefix (used
      as it is: it must be readable).

  Returns:
    The checkpoint prefix.

  Raises:
    FileNotFoundError: no checkpoint there.
    ValueError: a given prefix, or every checkpoint of the directory, cannot
      be read (the message names the files).
  """
  path = expand_path(checkpoint_path)
  if not tf.io.gfile.isdir(path):
    prefix = get_latest_checkpoint(path)
    _check_readable(prefix)
    return prefix
  candidates = list_checkpoints(path)
  latest = _state_latest(path)
  if latest is not None:
    candidates = [latest] + [c for c in candidates if c != latest]
  if not candidates:
    raise FileNotFoundError(f'No checkpoint in the directory {path!r}.')
  errors = []
  for prefix in candidates:
    try:
      _check_readable(prefix)
    except ValueError as e:
      logging.warning('%s Falling back to the previous checkpoint.', e)
      errors.append(str(e))
      continue
    return prefix
  raise ValueError(f'No checkpoint of {path!r} can be read: '
                   + ' | '.join(errors))


# ------------------------------------------------------------------------------
# Writing.
# ------------------------------------------------------------------------------
def save(checkpoint, directory, step, max_to_keep=None, name='ckpt'):
  """Writes `<directory>/<name>-<step>` so that a kill cannot corrupt the run.

  The files are written into a temporary folder of `directory`, then moved
  into place (the `.index` last), then the `checkpoint` state file is
  updated (atomically) and checkpoints beyond the `max_to_keep` newest are
  removed. Until the state file names the new checkpoint, loaders use the
  previous one; an interrupted save leaves at most files without an index,
  which nothing reads and the next save of that step replaces.

  Args:
    checkpoint: a `tf.train.Checkpoint`.
    directory: the checkpoint directory (created if needed).
    step: int, the step in the file name.
    max_to_keep: keep this many newest checkpoints (None: all).
    name: the file name before '-<step>'.

  Returns:
    The checkpoint prefix.
  """
  directory = expand_path(directory)
  step = int(step)
  tf.io.gfile.makedirs(directory)
  prefix = os.path.join(directory, f'{name}-{step}')
  temp_dir = os.path.join(directory, f'.{name}-{step}.tmp')
  if tf.io.gfile.exists(temp_dir):
    tf.io.gfile.rmtree(temp_dir)
  written = checkpoint.write(os.path.join(temp_dir, f'{name}-{step}'))
  files = sorted(tf.io.gfile.glob(written + '.*'),
                 key=lambda f: f.endswith('.index'))
  for source in files:
    tf.io.gfile.rename(source, os.path.join(directory,
                                            os.path.basename(source)),
                       overwrite=True)
  tf.io.gfile.rmtree(temp_dir)
  kept = [prefix] + [p for p in list_checkpoints(directory) if p != prefix]
  if max_to_keep is not None:
    for old in kept[max_to_keep:]:
      for f in tf.io.gfile.glob(old + '.*'):
        tf.io.gfile.remove(f)
    kept = kept[:max_to_keep]
  tf.compat.v1.train.update_checkpoint_state(
      directory, prefix, all_model_checkpoint_paths=list(reversed(kept)))
  return prefix


# ------------------------------------------------------------------------------
# Restoring.
# ------------------------------------------------------------------------------
def _is_variable(obj):
  return isinstance(obj, (tf.Variable, keras.Variable))


def _python_variables(root):
  """{path: variable} of every variable reachable from `root` (breadth
  first, each once, named by its first path of attribute names)."""
  view = tf.train.TrackableView(root)
  paths = {id(root): ''}
  queue = collections.deque([root])
  found = {}
  while queue:
    node = queue.popleft()
    for child_name, child in view.children(node).items():
      if id(child) in paths:
        continue
      path = f'{paths[id(node)]}/{child_name}'.lstrip('/')
      paths[id(child)] = path
      if _is_variable(child):
        found[path] = child
      else:
        queue.append(child)
  return found


def _matched_keys(root, prefix):
  """{id(variable): checkpoint key} of the variables the checkpoint holds.

  Walks the checkpoint's object graph beside the Python one, edge name by
  edge name from the root, as restoring matches objects.
  """
  reader = tf.train.load_checkpoint(prefix)
  graph = trackable_object_graph_pb2.TrackableObjectGraph()
  graph.ParseFromString(reader.get_tensor(_OBJECT_GRAPH_KEY))
  view = tf.train.TrackableView(root)
  seen, keys = set(), {}
  queue = collections.deque([(root, 0)])
  while queue:
    obj, node_id = queue.popleft()
    if id(obj) in seen:
      continue
    seen.add(id(obj))
    node = graph.nodes[node_id]
    if _is_variable(obj):
      for attribute in node.attributes:
        if attribute.name == 'VARIABLE_VALUE':
          keys[id(obj)] = attribute.checkpoint_key
      continue
    stored_children = {c.local_name: c.node_id for c in node.children}
    for child_name, child in view.children(obj).items():
      if child_name in stored_children:
        queue.append((child, stored_children[child_name]))
  return keys


def restore(checkpoint_path, fallback=True, **objects):
  """Restores objects from a checkpoint: every one of their variables.

  The one restore policy of the library. Before anything is assigned, the
  variables reachable from `objects` (under their names, as
  `tf.train.Checkpoint(**objects)` saves them) are compared with the
  checkpoint: if any is missing or has another shape, nothing is restored and
  a `ValueError` names them. Values of the checkpoint that no object needs
  (optimizer state when restoring only a model, other objects) are ignored;
  one log line counts them.

  Args:
    checkpoint_path: a checkpoint prefix ('.../ckpt-300') or a directory.
    fallback: for a directory, use the newest checkpoint that can be read,
      with a warning naming each unreadable newer one (see
      `find_readable_checkpoint`); False: the latest, which must be readable.
    **objects: the trackables to restore, by the names they were saved
      under, e.g. `model=model` (a built model) or `model=model,
      optimizer=optimizer`.

  Returns:
    The restored checkpoint prefix.

  Raises:
    FileNotFoundError: no checkpoint.
    ValueError: an object has no variables yet (build the model first), a
      variable is missing from the checkpoint or has another shape there, or
      the checkpoint cannot be read.

  Example:
    >>> import tempfile
    >>> layer = keras.layers.Dense(2)
    >>> layer.build((None, 3))
    >>> prefix = tf.train.Checkpoint(model=layer).write(
    ...     tempfile.mkdtemp() + '/ckpt-1')
    >>> other = keras.layers.Dense(2)
    >>> other.build((None, 3))
    >>> restore(prefix, model=other) == prefix
    True
    >>> bool(tf.reduce_all(other.kernel == layer.kernel))
    True
  """
  if not objects:
    raise ValueError('`restore` needs the objects to restore, e.g. '
                     'restore(path, model=model).')
  for name, obj in objects.items():
    if isinstance(obj, keras.layers.Layer) and not (obj.built and
                                                    obj.variables):
      raise ValueError(
          f'The {name} {obj.name!r} has no variables yet: build it (call it '
          'once on features, e.g. checkpoints.build_model) before restoring '
          f'{os.fspath(checkpoint_path)!r}.')
  path = expand_path(checkpoint_path)
  if fallback:
    prefix = find_readable_checkpoint(path)
  else:
    prefix = get_latest_checkpoint(path)
    _check_readable(prefix)
  root = tf.train.Checkpoint(**objects)
  needed = _python_variables(root)
  stored = dict(tf.train.list_variables(prefix))
  matched = _matched_keys(root, prefix)
  missing = sorted(p for p, v in needed.items() if id(v) not in matched)
  mismatched = sorted(
      f'{p} {tuple(stored[matched[id(v)]])} in the checkpoint, '
      f'{tuple(v.shape)} here' for p, v in needed.items()
      if id(v) in matched and tuple(stored[matched[id(v)]]) != tuple(v.shape))
  if missing or mismatched:
    shown = missing[:20]
    more = f' (and {len(missing) - 20} more)' if len(missing) > 20 else ''
    parts = []
    if missing:
      parts.append(f'{len(missing)} of the {len(needed)} variables are not '
                   f'in it: {shown}{more}')
    if mismatched:
      parts.append(f'{len(mismatched)} have another shape: {mismatched[:10]}')
    raise ValueError(
        f'The checkpoint {prefix!r} does not hold all the weights of '
        f'{sorted(objects)}: {"; ".join(parts)}. It was written by another '
        'model, or the gin config changed since (e.g. a layer size); nothing '
        'was restored.')
  status = root.restore(prefix)
  status.expect_partial()
  used = set(matched.values())
  unused = len([k for k in stored if k != _OBJECT_GRAPH_KEY
                and k not in used])
  logging.info('Restored %d variables of %s from %s (%d other values of the '
               'checkpoint not used: optimizer state or other objects).',
               len(needed), sorted(objects), prefix, unused)
  return prefix


# ------------------------------------------------------------------------------
# Gin.
# ------------------------------------------------------------------------------
def _bind_leniently(text, location, skipped):
  """Binds the statements of a gin config, recording the unknown ones."""
  parser = config_parser.ConfigParser(
      text, gin.config.ParserDelegate(skip_unknown=True))
  for statement in parser:
    if isinstance(statement, config_parser.BindingStatement):
      scope, selector, arg_name, value, _ = statement
      if not arg_name:  # A macro.
        name = f'{scope}/{selector}' if scope else selector
        gin.bind_parameter((name, 'gin.macro', 'value'), value)
        continue
      try:
        gin.bind_parameter((scope, selector, arg_name), value)
      except ValueError:
        skipped.append(f'{selector}.{arg_name}')
    elif isinstance(statement, config_parser.ImportStatement):
      try:
        importlib.import_module(statement.module)
      except ImportError:
        skipped.append(f'import {statement.module}')
    elif isinstance(statement, config_parser.IncludeStatement):
      with tf.io.gfile.GFile(statement.filename) as f:
        _bind_leniently(f.read(), statement.filename, skipped)
    # Block declarations (`Name:` headers) bind nothing.
  del location


def parse_operative_config(path, bindings=()):
  """Parses the latest operative config of a training run into gin.

  The config is parsed on top of the current gin config (which is not
  cleared). An older run's config may name configurables or parameters this
  version does not have: those bindings (and unknown imports) are skipped,
  with one warning listing them. `bindings` (e.g. lengths) are parsed after
  it, strictly.

  Args:
    path: the training directory, a checkpoint prefix in it, or a `.gin`
      file.
    bindings: gin binding strings parsed after the config.

  Returns:
    (config_path, skipped): the parsed file and the list of skipped names
    (e.g. ['OldDecoder.width', 'import old.module']).

  Raises:
    FileNotFoundError: no operative config.
  """
  import_gin_modules()
  path = expand_path(path)
  config_path = (path if path.endswith('.gin') and not tf.io.gfile.isdir(path)
                 else get_latest_operative_config(path))
  with tf.io.gfile.GFile(config_path) as f:
    text = f.read()
  skipped = []
  with gin.unlock_config():
    _bind_leniently(text, config_path, skipped)
    if bindings:
      gin.parse_config(list(bindings))
  if skipped:
    logging.warning('The operative config %s names %d things this version '
                    'of ddsp does not know; they were skipped: %s',
                    config_path, len(skipped), ', '.join(skipped))
  logging.info('Parsed the operative config %s.', config_path)
  return config_path, skipped


# ------------------------------------------------------------------------------
# Building.
# ------------------------------------------------------------------------------
def model_layers(model):
  """Every Keras layer inside `model` (not the model itself), each once."""
  view = tf.train.TrackableView(model)
  seen = {id(model)}
  queue = collections.deque([model])
  layers = []
  while queue:
    node = queue.popleft()
    for child in view.children(node).values():
      if id(child) in seen or isinstance(child, (tf.Variable,
                                                 keras.Variable)):
        continue
      seen.add(id(child))
      if isinstance(child, keras.layers.Layer):
        layers.append(child)
      queue.append(child)
  return layers


def model_rates(model):
  """(sample_rate, frame_rate) of a model, from its synths and preprocessor.

  Layers with a length (`n_samples`: synthesizers; `time_steps`:
  preprocessors) decide; other layers (losses, ...) only where none has one.

  Raises:
    ValueError: the layers disagree or say nothing.
  """
  layers = model_layers(model)
  sized = [l for l in layers
           if any(hasattr(l, p) for p in LENGTH_PARAMS)] or layers
  sample_rates, frame_rates = set(), set()
  for layer in sized:
    for attr, found in (('sample_rate', sample_rates),
                        ('frame_rate', frame_rates)):
      value = getattr(layer, attr, None)
      if isinstance(value, (int, float)) and not isinstance(value, bool):
        found.add(value)
  if len(sample_rates) != 1 or len(frame_rates) != 1:
    raise ValueError(
        'Cannot tell the model\'s sample rate and frame rate from its layers: '
        f'found sample rates {sorted(sample_rates)} and frame rates '
        f'{sorted(frame_rates)}.')
  return sample_rates.pop(), frame_rates.pop()


def model_hop(model, whole=True):
  """Samples per frame of a model, `sample_rate / frame_rate` (`model_rates`).

  Args:
    model: a built or unbuilt model.
    whole: bool; True requires a whole number of samples (an int), False
      returns a fractional hop as a float (176.4 at 44.1 kHz and 250 Hz).

  Raises:
    ValueError: `whole` and the hop is not a whole number of samples.
  """
  sample_rate, frame_rate = model_rates(model)
  hop = sample_rate / frame_rate
  if abs(hop - round(hop)) <= 1e-9:
    return int(round(hop))
  if whole:
    raise ValueError(f'The model\'s hop, sample_rate / frame_rate = '
                     f'{sample_rate} / {frame_rate}, is not a whole number of '
                     'samples.')
  return hop


def model_n_samples(model, n_frames):
  """Samples of `n_frames` frames of a model, `n_frames * sample_rate /
  frame_rate`, which must be whole.

  Raises:
    ValueError: it is not (at 44.1 kHz and 250 Hz `n_frames` must be a
      multiple of 5: 882 samples); the message names the multiple.
  """
  sample_rate, frame_rate = model_rates(model)
  return rates.frames_to_samples(n_frames, sample_rate, frame_rate)


def get_model(n_frames=None, extra_frames=0):
  """The gin-configured model (`models.get_model()`), at a length.

  Args:
    n_frames: frames of the features the model will get, or None for the
      configured length. Every layer with an `n_samples` (synths) is set to
      `n_frames * hop` and every one with a `time_steps` (preprocessors) to
      `n_frames + extra_frames`, by binding `<ClassName>.<param>` in gin.
    extra_frames: frames the data has beyond `n_frames` (1 for centred
      features).

  Returns:
    The model (unbuilt).

  Raises:
    ValueError: a length could not be set through gin.
  """
  import_gin_modules()
  models = importlib.import_module('ddsp.training.models')
  model = models.get_model()
  if n_frames is None:
    return model
  n_frames = int(n_frames)
  values = {'n_samples': model_n_samples(model, n_frames),
            'time_steps': n_frames + int(extra_frames)}
  bindings = sorted({
      f'{type(layer).__name__}.{param} = {values[param]}'
      for layer in model_layers(model) for param in LENGTH_PARAMS
      if getattr(layer, param, None) is not None})
  with gin.unlock_config():
    gin.parse_config(bindings)
  model = models.get_model()
  for layer in model_layers(model):
    for param in LENGTH_PARAMS:
      current = getattr(layer, param, None)
      if current is not None and current != values[param]:
        raise ValueError(
            f'Could not set {type(layer).__name__}.{param} to '
            f'{values[param]} through gin (it is {current}).')
  return model


def _model_frames(model):
  """Frames the model's layers fix (None: any length)."""
  for layer in model_layers(model):
    if getattr(layer, 'time_steps', None):
      return int(layer.time_steps)
  for layer in model_layers(model):
    if getattr(layer, 'n_samples', None):
      sample_rate, frame_rate = model_rates(model)
      return int(round(int(layer.n_samples) * frame_rate / sample_rate))
  return None


def build_model(model, n_frames=None, inputs=None):
  """Creates a model's variables by running it once.

  Args:
    model: a `ddsp.training.models.Model` (e.g. an `Autoencoder`).
    n_frames: frames of the silent features to run it on; None: the model's
      own length, else 250.
    inputs: the features dict to run it on instead (e.g. with 'audio' for a
      model with an encoder).

  Returns:
    The model.
  """
  if inputs is None:
    n_frames = n_frames or _model_frames(model) or 250
    try:
      n_samples = model_n_samples(model, n_frames)
    except ValueError:
      n_samples = n_frames * 64
    inputs = {'f0_hz': tf.fill([1, n_frames], 220.0),
              'f0_confidence': tf.ones([1, n_frames]),
              'loudness_db': tf.fill([1, n_frames], -60.0),
              'power_db': tf.fill([1, n_frames], -60.0),
              'audio': tf.zeros([1, n_samples])}
  model(inputs, training=False)
  return model


def load_model(path, n_frames=None, checkpoint=None, inputs=None,
               extra_frames=0, bindings=()):
  """A trained model from its training directory: config, build, restore.

  Args:
    path: a training directory, or a checkpoint prefix in one.
    n_frames: build the model for this many frames (None: as trained).
    checkpoint: a checkpoint prefix to restore instead of the newest
      readable one of the directory.
    inputs: features to build the model with (see `build_model`).
    extra_frames: see `get_model`.
    bindings: gin binding strings parsed after the operative config (e.g.
      `ddsp_export --gin_param`).

  Returns:
    (model, checkpoint_prefix, config_path).

  Raises:
    FileNotFoundError: no operative config or checkpoint.
    ValueError: the checkpoint does not hold every weight of the model built
      from the config, or cannot be read.
  """
  path = expand_path(path)
  if checkpoint is None:
    checkpoint = path
  elif not tf.io.gfile.isdir(path):
    path = os.path.dirname(path)
  get_latest_checkpoint(checkpoint)  # FileNotFoundError before parsing.
  config_path, _ = parse_operative_config(path, bindings=bindings)
  model = get_model(n_frames, extra_frames=extra_frames)
  build_model(model, n_frames, inputs)
  prefix = restore(checkpoint, model=model)
  logging.info('Loaded %s from %s and %s.', type(model).__name__,
               config_path, prefix)
  return model, prefix, config_path

