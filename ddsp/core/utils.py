"""Utilities and safe math shared by the whole library.

Three groups of small functions:

* Conversions and nested-dict helpers: `tf_float32`, `make_iterable`,
  `to_dict`, `nested_keys`, `nested_lookup`, `leaf_key`, `map_shape`.
* Tensor helpers: `pad_axis`, `diff`, `broadcast_batch`.
* Safe math that keeps values and gradients finite: `nan_to_num`,
  `safe_divide`, `safe_log`, `logb`, `log10`, `log_scale`, `soft_limit`,
  `gradient_reversal`; and the seeded noise sources `uniform_noise` and
  `counter_uniform_noise` (a hash of the sample index, for streaming).

Everything here is a pure function of its arguments (no layers, no gin, no
global state).
"""

import collections.abc
import copy
import numbers

import keras
import numpy as np
import tensorflow as tf

from ddsp import validation

__all__ = [
    'tf_float32',
    'to_numpy',
    'numpy_audio_batch',
    'make_iterable',
    'to_dict',
    'nested_keys',
    'nested_lookup',
    'leaf_key',
    'map_shape',
    'pad_axis',
    'diff',
    'broadcast_batch',
    'nan_to_num',
    'safe_divide',
    'safe_log',
    'logb',
    'log10',
    'log_scale',
    'soft_limit',
    'gradient_reversal',
    'uniform_noise',
    'counter_uniform_noise',
    'copy_if_tf_function',
]


# ------------------------------------------------------------------------------
# Conversions and nested dictionaries.
# ------------------------------------------------------------------------------
def tf_float32(x):
  """Converts an array, number or tensor to a float32 `tf.Tensor`.

  Tensors of another dtype are cast (a no-op for float32 tensors, so gradients
  flow through unchanged); everything else goes through
  `tf.convert_to_tensor`.

  Args:
    x: number, nested list, numpy array, `tf.Tensor` or `tf.Variable`.

  Returns:
    A float32 `tf.Tensor` with the shape of `x`.

  Example:
    >>> tf_float32(np.arange(3)).dtype
    tf.float32
  """
  if isinstance(x, tf.Variable):
    x = tf.convert_to_tensor(x)  # A read (cast returns a float32 variable).
  if isinstance(x, tf.Tensor):
    return tf.cast(x, tf.float32)
  if isinstance(x, np.ndarray) and x.dtype != np.float32:
    x = x.astype(np.float32)
  return tf.convert_to_tensor(x, dtype=tf.float32)


def to_numpy(x):
  """The numpy value of an eager tensor, a variable or an array-like.

  Args:
    x: an eager `tf.Tensor` or `tf.Variable`, a numpy array, a number or a
      nested list.

  Returns:
    A numpy array (the tensor's value, or `np.asarray(x)`).

  Example:
    >>> to_numpy(tf.constant([1.0, 2.0]))
    array([1., 2.], dtype=float32)
  """
  return x.numpy() if isinstance(x, (tf.Tensor, tf.Variable)) else np.asarray(x)


def numpy_audio_batch(audio, name='audio'):
  """Mono audio as a float32 numpy batch [batch, n_samples].

  Args:
    audio: [n_samples], [batch, n_samples] or [batch, n_samples, 1] mono
      audio (tensor or array), finite.
    name: the argument's name in error messages.

  Returns:
    float32 numpy array [batch, n_samples] ([n_samples] becomes a batch of
    one).

  Raises:
    ValueError: for multichannel audio, a bad rank or non-finite samples
      (`validation.check_audio`).

  Example:
    >>> numpy_audio_batch(tf.zeros([2, 8, 1])).shape
    (2, 8)
    >>> numpy_audio_batch(np.zeros(8)).shape
    (1, 8)
  """
  audio = to_numpy(audio).astype(np.float32)
  validation.check_audio(audio, name)
  if audio.ndim == 3:
    audio = audio[..., 0]
  return audio[np.newaxis] if audio.ndim == 1 else audio


def _is_single_value(x):
  """True for things that must not be iterated over: strings and tensors."""
  return isinstance(x, (str, bytes, np.ndarray, tf.Tensor, tf.Variable)) or (
      keras.ops.is_tensor(x))


def make_iterable(x):
  """Wraps a single value in a list; None becomes an empty list.

  Tensors, arrays and strings count as single values (wrapping them avoids
  iterating over the batch axis or over characters); any other iterable
  (list, tuple, dict, ...) is returned unchanged.

  Args:
    x: anything.

  Returns:
    `[]` for None, `[x]` for a single value, else `x`.

  Example:
    >>> make_iterable('audio'), make_iterable(None), make_iterable((1, 2))
    (['audio'], [], (1, 2))
  """
  if x is None:
    return []
  if _is_single_value(x):
    return [x]
  return x if isinstance(x, collections.abc.Iterable) else [x]


def to_dict(x, keys):
  """Names a value or a sequence of values with `keys`.

  Args:
    x: a dict (returned unchanged), a single value (tensor, array, ...) or a
      list/tuple of values.
    keys: sequence of names, one per value of `x`.

  Returns:
    `x` itself if it is a dict, else `dict(zip(keys, make_iterable(x)))`.

  Raises:
    ValueError: if the number of keys and values differ.

  Example:
    >>> to_dict([1, 2], ['a', 'b'])
    {'a': 1, 'b': 2}
  """
  if isinstance(x, dict):
    return x
  values = list(make_iterable(x))
  keys = list(make_iterable(keys))
  if len(keys) != len(values):
    raise ValueError(f'`keys` must have one name per value of `x`. Received: '
                     f'keys={keys} ({len(keys)} names) for {len(values)} '
                     'values.')
  return dict(zip(keys, values))


def nested_keys(nested_dict, delimiter='/', prefix=''):
  """Lists the paths to all leaves of a nested dict.

  Args:
    nested_dict: dict whose values may be dicts.
    delimiter: string joining the keys of each level.
    prefix: path prepended to every key (used in the recursion).

  Returns:
    List of strings like `'harmonic/controls/amplitudes'`, in insertion order.

  Example:
    >>> nested_keys({'a': {'b': 1, 'c': 2}, 'd': 3})
    ['a/b', 'a/c', 'd']
  """
  keys = []
  for k, v in nested_dict.items():
    key = f'{prefix}{delimiter}{k}' if prefix else str(k)
    if isinstance(v, dict):
      keys.extend(nested_keys(v, delimiter=delimiter, prefix=key))
    else:
      keys.append(key)
  return keys


def nested_lookup(nested_key, nested_dict, delimiter='/'):
  """Returns the value of a nested dict at a path like `'synth/controls/amps'`.

  Args:
    nested_key: path string; keys of successive levels joined by `delimiter`.
    nested_dict: dict whose values may be dicts.
    delimiter: string separating the keys in `nested_key`.

  Returns:
    The value (a leaf or a sub-dict) at that path.

  Raises:
    KeyError: if a key of the path is missing; the message lists the available
      keys.

  Example:
    >>> nested_lookup('a/b', {'a': {'b': 1}})
    1
  """
  value = nested_dict
  for key in nested_key.split(delimiter):
    if not isinstance(value, dict) or key not in value:
      available = (nested_keys(nested_dict, delimiter=delimiter)
                   if isinstance(nested_dict, dict) else [])
      raise KeyError(f'Key {key!r} of nested_key={nested_key!r} not found '
                     f'in the nested dict. Available keys: {available}')
    value = value[key]
  return value


def leaf_key(nested_key, delimiter='/'):
  """Returns the last key of a nested path: `'a/b/c'` -> `'c'`.

  Example:
    >>> leaf_key('harmonic/controls/amplitudes')
    'amplitudes'
  """
  return nested_key.split(delimiter)[-1]


def map_shape(x):
  """Replaces every tensor of a nested structure by its shape as a list.

  Static shapes are used where known (so it works inside `tf.function`, with
  None for unknown dimensions); eagerly every dimension is known.

  Args:
    x: nested structure (dicts, lists, tuples) of tensors or arrays.

  Returns:
    The same structure with lists of ints (or None) as leaves.

  Example:
    >>> map_shape({'audio': tf.zeros([2, 16000])})
    {'audio': [2, 16000]}
  """
  def _shape(t):
    shape = validation.static_shape(t)
    return [None if d is None else int(d) for d in shape]
  return tf.nest.map_structure(_shape, x)


# ------------------------------------------------------------------------------
# Tensor helpers.
# ------------------------------------------------------------------------------
def _normalize_axis(axis, rank, name='axis'):
  """Checks `axis` against a tensor of rank `rank`; returns it in [0, rank)."""
  if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
    raise ValueError(f'`{name}` must be an integer. Received: {name}={axis!r}')
  if rank is None or rank == 0:
    raise ValueError(f'`{name}` needs a tensor of known rank >= 1. '
                     f'Received: rank={rank}')
  validation.check_in_range(axis, name, -rank, rank - 1)
  return int(axis) % rank


def pad_axis(x, padding=(0, 0), axis=0, **pad_kwargs):
  """Pads one axis of a tensor.

  Args:
    x: tensor of any rank >= 1.
    padding: pair `(before, after)` of non-negative ints, elements to add.
    axis: the axis to pad (negative counts from the end).
    **pad_kwargs: passed to `tf.pad` (`mode='CONSTANT'|'REFLECT'|'SYMMETRIC'`,
      `constant_values`).

  Returns:
    `x` with `before + after` more elements along `axis`. Differentiable with
    respect to `x`.

  Raises:
    ValueError: if `axis` is out of range or `padding` is not two
      non-negative ints.

  Example:
    >>> pad_axis(tf.ones([2, 3]), padding=(1, 0), axis=1).shape
    TensorShape([2, 4])
  """
  x = tf.convert_to_tensor(x)
  rank = x.shape.rank
  axis = _normalize_axis(axis, rank)
  if len(padding) != 2:
    raise ValueError('`padding` must be a pair (before, after). '
                     f'Received: padding={padding!r}')
  before = validation.check_non_negative_int(padding[0], 'padding[0]')
  after = validation.check_non_negative_int(padding[1], 'padding[1]')
  paddings = [[0, 0]] * rank
  paddings[axis] = [before, after]
  return tf.pad(x, paddings, **pad_kwargs)


def diff(x, axis=-1):
  """Finite difference `x[i + 1] - x[i]` along one axis.

  Args:
    x: tensor of any rank >= 1.
    axis: axis of the difference (negative counts from the end).

  Returns:
    Tensor one element shorter than `x` along `axis` (like `np.diff`).
    Differentiable with respect to `x`.

  Raises:
    ValueError: if `axis` is out of range for `x`.

  Example:
    >>> diff(tf.constant([1.0, 4.0, 9.0])).numpy()
    array([3., 5.], dtype=float32)
  """
  x = tf.convert_to_tensor(x)
  axis = _normalize_axis(axis, x.shape.rank)
  front = [slice(None)] * axis + [slice(1, None)]
  back = [slice(None)] * axis + [slice(None, -1)]
  return x[tuple(front)] - x[tuple(back)]


def broadcast_batch(tensors):
  """Broadcasts tensors with a batch of 1 to the batch of the others.

  Core functions that read their inputs row by row (gathers, reshapes) call
  this so that, as in the published library (where elementwise ops
  broadcast), controls with a batch of 1 combine with a batch of B. Works
  with unknown static batch sizes (then broadcast at run time).

  Args:
    tensors: dict name -> [batch, ...] tensor (None values are kept).

  Returns:
    dict of the same tensors, all with the same batch size.

  Raises:
    ValueError: if two batch sizes differ and neither is 1.

  Example:
    >>> out = broadcast_batch({'a': tf.ones([1, 3]), 'b': tf.ones([2, 3])})
    >>> out['a'].shape
    TensorShape([2, 3])
  """
  present = {k: v for k, v in tensors.items() if v is not None}
  batch = validation.check_broadcastable_dim(present, 0, 'batch')
  if batch is not None and all(v.shape[0] == batch for v in present.values()):
    return tensors
  if batch is None:
    batch = tf.reduce_max(tf.stack([tf.shape(v)[0] for v in present.values()]))
  static_batch = batch if isinstance(batch, int) else None
  out = dict(tensors)
  for name, x in present.items():
    if static_batch is not None and x.shape[0] == static_batch:
      continue
    y = tf.broadcast_to(x, tf.concat([[batch], tf.shape(x)[1:]], axis=0))
    out[name] = tf.ensure_shape(y, [static_batch] + x.shape[1:].as_list())
  return out


# ------------------------------------------------------------------------------
# Safe math.
# ------------------------------------------------------------------------------
def nan_to_num(x, value=0.0):
  """Replaces NaNs with `value` (infinities are kept).

  Args:
    x: float tensor of any shape.
    value: number used in place of NaN.

  Returns:
    Tensor like `x`. The gradient is zero at the replaced entries and passes
    through elsewhere.

  Example:
    >>> nan_to_num(tf.constant([1.0, np.nan])).numpy()
    array([1., 0.], dtype=float32)
  """
  x = tf.convert_to_tensor(x)
  return tf.where(tf.math.is_nan(x), tf.cast(value, x.dtype), x)


def safe_divide(numerator, denominator, eps=1e-7):
  """Divides, using `eps` in place of denominators equal to zero.

  Args:
    numerator: float tensor.
    denominator: float tensor, broadcastable with `numerator`.
    eps: value that replaces zeros of the denominator.

  Returns:
    `numerator / denominator` with finite values where the denominator is 0.
    Differentiable with respect to both; the gradient is finite everywhere.

  Example:
    >>> safe_divide(1.0, tf.constant([2.0, 0.0]), eps=0.5).numpy()
    array([0.5, 2. ], dtype=float32)
  """
  numerator = tf_float32(numerator)
  denominator = tf_float32(denominator)
  safe_denominator = tf.where(tf.equal(denominator, 0.0), eps, denominator)
  return numerator / safe_denominator


def safe_log(x, eps=1e-5):
  """Natural logarithm that returns `log(eps)` for inputs <= 0.

  Args:
    x: float tensor of any shape.
    eps: value used in place of non-positive inputs.

  Returns:
    `log(x)` where x > 0, else `log(eps)`. Differentiable with respect to `x`
    (gradient 1/x where x > 0, zero elsewhere; never NaN).

  Example:
    >>> float(safe_log(0.0, eps=1.0))
    0.0
  """
  x = tf_float32(x)
  safe_x = tf.where(x <= 0.0, eps, x)
  return tf.math.log(safe_x)


def logb(x, base=2.0, eps=1e-5):
  """Logarithm of `x` in base `base`, safe for inputs <= 0 (see `safe_log`).

  Args:
    x: float tensor of any shape.
    base: positive number (or tensor) other than 1.
    eps: value used in place of non-positive inputs.

  Returns:
    `log(x) / log(base)`. Differentiable with respect to `x`.

  Example:
    >>> float(logb(8.0, base=2.0))
    3.0
  """
  return safe_divide(safe_log(x, eps), safe_log(base, eps), eps)


def log10(x, eps=1e-5):
  """Base-10 logarithm, safe for inputs <= 0 (see `safe_log`).

  Example:
    >>> float(log10(100.0))
    2.0
  """
  return logb(x, base=10.0, eps=eps)


def log_scale(x, min_x, max_x):
  """Maps [-1, 1] to [min_x, max_x] on a logarithmic scale.

  -1 maps to `min_x`, 1 to `max_x`, 0 to the geometric mean
  `sqrt(min_x * max_x)`.

  Args:
    x: float tensor, nominally in [-1, 1] (not clipped).
    min_x: positive number, the output for x = -1.
    max_x: positive number, the output for x = 1.

  Returns:
    Tensor like `x`, `min_x * (max_x / min_x) ** ((x + 1) / 2)`.
    Differentiable with respect to `x`.

  Example:
    >>> float(log_scale(0.0, 1.0, 100.0))
    10.0
  """
  x = tf_float32(x)
  unit = (x + 1.0) / 2.0
  log_min = tf.math.log(tf_float32(min_x))
  log_max = tf.math.log(tf_float32(max_x))
  return tf.exp((1.0 - unit) * log_min + unit * log_max)


def soft_limit(x, x_min=0.0, x_max=1.0):
  """Smoothly limits values to the range [x_min, x_max].

  `softplus(x) + x_min - softplus(x - (x_max - x_min))`: tends to `x_min`
  for x -> -inf and to `x_max` for x -> +inf, and is smooth everywhere.

  Args:
    x: float tensor of any shape.
    x_min: lower limit.
    x_max: upper limit (> x_min).

  Returns:
    Tensor like `x` with values in (x_min, x_max). Differentiable with respect
    to `x` (gradient in (0, 1)).

  Example:
    >>> round(float(soft_limit(100.0)), 6)
    1.0
  """
  x = tf_float32(x)
  return tf.nn.softplus(x) + x_min - tf.nn.softplus(x - (x_max - x_min))


@tf.custom_gradient
def _reverse_gradient(x):
  return tf.identity(x), lambda dy: -dy


def gradient_reversal(x):
  """Identity in the forward pass; negates the gradient in the backward pass.

  Used for adversarial training (e.g. making a latent code uninformative
  about a label).

  Args:
    x: float tensor of any shape.

  Returns:
    `x` unchanged; d(output)/d(x) = -1.

  Example:
    >>> float(gradient_reversal(3.0))
    3.0
  """
  return _reverse_gradient(tf_float32(x))


# ------------------------------------------------------------------------------
# Noise.
# ------------------------------------------------------------------------------
def uniform_noise(shape, minval=-1.0, maxval=1.0, seed=None):
  """Uniform white noise with a reproducible seed.

  Built on `keras.random.uniform`:

  * `seed=<int>`: stateless; every call with the same int returns the same
    noise.
  * `seed=keras.random.SeedGenerator(s)`: each call draws the next seed of the
    generator, so successive calls differ, and a generator built from the same
    `s` reproduces the same sequence. Layers that make noise build one
    `SeedGenerator` from their `seed` argument (in `__init__`) and pass it
    here, so training steps get fresh noise but runs are reproducible.
  * `seed=None`: Keras' global seed generator (set it with
    `keras.utils.set_random_seed` for reproducibility).
  * `seed=<int tensor of shape [2]>`: a stateless seed pair, as taken by
    `tf.random.stateless_uniform` (e.g. from
    `tf.random.experimental.stateless_fold_in`); the same pair gives the same
    noise.

  Args:
    shape: output shape, a list of ints (or a 1-D int tensor).
    minval: lower bound (inclusive).
    maxval: upper bound (exclusive), > minval.
    seed: None, an int, a `keras.random.SeedGenerator`, or an int32/int64
      tensor of shape [2].

  Returns:
    float32 tensor of `shape` with values uniform in [minval, maxval).

  Raises:
    ValueError: if `seed` is of another type.

  Example:
    >>> a = uniform_noise([2, 8], seed=1)
    >>> b = uniform_noise([2, 8], seed=1)
    >>> bool(tf.reduce_all(a == b))
    True
  """
  if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
    seed = int(seed)
  elif tf.is_tensor(seed):
    if seed.dtype not in (tf.int32, tf.int64) or seed.shape != [2]:
      raise ValueError('A tensor `seed` must be a stateless seed pair: int32 '
                       'or int64 of shape [2]. Received: a tensor of dtype '
                       f'{seed.dtype.name} and shape {seed.shape}')
    return tf.random.stateless_uniform(shape, seed=seed, minval=minval,
                                       maxval=maxval, dtype=tf.float32)
  elif seed is not None and not isinstance(seed, keras.random.SeedGenerator):
    raise ValueError('`seed` must be None, an int, a '
                     'keras.random.SeedGenerator or an int tensor of shape '
                     f'[2]. Received: seed={seed!r}')
  return keras.random.uniform(shape, minval=minval, maxval=maxval,
                              dtype='float32', seed=seed)


# A 32-bit integer hash with good avalanche ("lowbias32", C. Wellons), in
# uint32 arithmetic, which wraps modulo 2**32 in TensorFlow and in TFLite.
_HASH_SHIFTS_AND_MULTIPLIERS = ((16, 0x7feb352d), (15, 0x846ca68b))
_GOLDEN_RATIO_32 = 0x9e3779b9


def _hash_uint32(x):
  for shift, multiplier in _HASH_SHIFTS_AND_MULTIPLIERS:
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(
        x, tf.constant(shift, tf.uint32)))
    x = x * tf.constant(multiplier, tf.uint32)
  return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(
      x, tf.constant(16, tf.uint32)))


def counter_uniform_noise(n_samples, seed=0, offset=0, batch_size=1,
                          minval=-1.0, maxval=1.0):
  """Uniform white noise that is a pure function of the sample index.

  Sample `t` of row `b` is a hash of `(seed, b, offset + t)`, so any stretch
  of the noise can be made on its own: blocks made with `offset = 0, n, 2n,
  ...` and concatenated equal the noise made in one call. Streaming inference
  relies on this to reproduce offline synthesis block by block. The values
  take 2**24 evenly spaced levels in [minval, maxval); the sequence repeats
  after 2**32 samples (about 75 hours at 16 kHz). Only integer and float32
  ops (no random-number kernels), so it also runs in TFLite.

  Args:
    n_samples: int > 0, samples per row.
    seed: int >= 0 (taken modulo 2**32).
    offset: int >= 0 or an int32 / uint32 scalar tensor, the index of the
      first sample (taken modulo 2**32).
    batch_size: int > 0, rows; each row is a different noise signal.
    minval: lower bound (inclusive).
    maxval: upper bound (exclusive), > minval.

  Returns:
    [batch_size, n_samples] float32.

  Raises:
    ValueError: on a non-positive size, a negative seed or offset, or
      `maxval <= minval`.

  Example:
    >>> whole = counter_uniform_noise(8, seed=3)
    >>> blocks = [counter_uniform_noise(4, seed=3, offset=i) for i in (0, 4)]
    >>> bool(tf.reduce_all(tf.concat(blocks, axis=1) == whole))
    True
  """
  n_samples = validation.check_positive_int(n_samples, 'n_samples')
  batch_size = validation.check_positive_int(batch_size, 'batch_size')
  seed = validation.check_non_negative_int(seed, 'seed') % 2**32
  if maxval <= minval:
    raise ValueError('`maxval` must be greater than `minval`. '
                     f'Received: minval={minval!r}, maxval={maxval!r}')
  if isinstance(offset, numbers.Integral):
    offset = tf.constant(validation.check_non_negative_int(offset, 'offset')
                         % 2**32, tf.uint32)
  else:
    offset = tf.cast(offset, tf.uint32)  # Bit-preserving for int32.
  rows = tf.cast(tf.range(batch_size), tf.uint32)[:, tf.newaxis]
  keys = _hash_uint32(tf.constant(seed, tf.uint32) + _hash_uint32(
      rows * tf.constant(_GOLDEN_RATIO_32, tf.uint32) +
      tf.constant(1, tf.uint32)))
  index = offset + tf.cast(tf.range(n_samples), tf.uint32)[tf.newaxis, :]
  bits = _hash_uint32(_hash_uint32(tf.bitwise.bitwise_xor(index, keys)) +
                      keys)
  unit = tf.cast(tf.bitwise.right_shift(bits, tf.constant(8, tf.uint32)),
                 tf.float32) * (2.0**-24)
  return minval + (maxval - minval) * unit


# ------------------------------------------------------------------------------
# Inputs of tf.function.
# ------------------------------------------------------------------------------
def copy_if_tf_function(x):
  """A shallow copy of `x` while tracing a `tf.function`; `x` itself eagerly.

  A helper that changes a container it was given (e.g. adds keys to a
  features dict) changes the caller's object too. Inside a `tf.function`
  that is an error when the container is an argument of the function
  (TensorFlow raises "should not modify its Python input arguments") and a
  trace-time side effect otherwise; working on a copy there avoids both.
  Eagerly no copy is made (nothing is spent on copying, and the change is
  visible as with any Python call), as in the published library.

  Args:
    x: any Python object, typically a dict or list of tensors.

  Returns:
    `copy.copy(x)` inside a `tf.function` (a new container holding the same
    tensors), else `x`. Not a tensor op: gradients are unaffected.

  Example:
    >>> def add_double(d):
    ...   d = copy_if_tf_function(d)
    ...   d['double'] = 2.0 * d['x']
    ...   return d
    >>> @tf.function
    ... def n_keys_after_helper(d):
    ...   _ = add_double(d)
    ...   return len(d)
    >>> int(n_keys_after_helper({'x': tf.ones([2])}))  # Copied: 'x' only.
    1
    >>> features = {'x': tf.ones([2])}
    >>> sorted(add_double(features)) == sorted(features)  # Eager: no copy.
    True
  """
  return x if tf.executing_eagerly() else copy.copy(x)
