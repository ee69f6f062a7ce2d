"""Argument checks shared by the whole library.

Every check raises a `ValueError` or `TypeError` whose message names the argument,
says what was expected and what was received, e.g.
"`n_samples` must be a positive integer. Received: n_samples=-3".
Checks on tensors use static shapes only, so they run before any TensorFlow op and
also inside `tf.function` (unknown dimensions are not checked).
"""

import numbers

import keras
import numpy as np
import tensorflow as tf


def _received(name, value):
  return f'Received: {name}={value!r}'


def check_positive_int(value, name, allow_none=False):
  """Raises unless `value` is an int > 0 (or None where `allow_none`)."""
  if value is None and allow_none:
    return value
  if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
      or value <= 0):
    raise ValueError(f'`{name}` must be a positive integer. '
                     f'{_received(name, value)}')
  return int(value)


def check_non_negative_int(value, name):
  """Raises unless `value` is an int >= 0."""
  if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
      or value < 0):
    raise ValueError(f'`{name}` must be a non-negative integer. '
                     f'{_received(name, value)}')
  return int(value)


def check_positive(value, name, allow_none=False):
  """Raises unless `value` is a real number > 0."""
  if value is None and allow_none:
    return value
  if (isinstance(value, bool) or not isinstance(value, numbers.Real)
      or not value > 0):
    raise ValueError(f'`{name}` must be a positive number. '
                     f'{_received(name, value)}')
  return value


def check_in_range(value, name, low=None, high=None):
  """Raises unless low <= value <= high (either bound may be None)."""
  if (isinstance(value, bool) or not isinstance(value, numbers.Real)
      or (low is not None and value < low)
      or (high is not None and value > high)):
    bounds = f'[{low if low is not None else "-inf"}, '
    bounds += f'{high if high is not None else "inf"}]'
    raise ValueError(f'`{name}` must be a number in {bounds}. '
                     f'{_received(name, value)}')
  return value


def check_one_of(value, name, options):
  """Raises unless `value` is one of `options` (strings compared as given)."""
  if value not in options:
    raise ValueError(f'`{name}` must be one of {list(options)}. '
                     f'{_received(name, value)}')
  return value


def check_divisible(value, divisor, name, divisor_name):
  """Raises unless `value` is a multiple of `divisor`."""
  if value % divisor:
    raise ValueError(f'`{name}` must be a multiple of `{divisor_name}` '
                     f'({divisor}). {_received(name, value)}')
  return value


def static_shape(x):
  """Static shape of a tensor-like as a list (None for unknown dims)."""
  if isinstance(x, (tf.Tensor, tf.Variable)) or hasattr(x, 'shape'):
    shape = x.shape
    if isinstance(shape, tf.TensorShape):
      return shape.as_list() if shape.rank is not None else None
    return list(shape)
  return list(np.shape(x))


def check_rank(x, name, ranks):
  """Raises unless the static rank of `x` is in `ranks` (an int or a tuple).

  Returns:
    The static shape of `x` as a list (None entries where unknown).
  """
  ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
  shape = static_shape(x)
  if shape is None:
    return shape
  if len(shape) not in ranks:
    expected = ' or '.join(str(r) for r in ranks)
    raise ValueError(f'`{name}` must have rank {expected}. '
                     f'Received: {name}.shape={tuple(shape)}')
  return shape


def check_shape(x, name, expected):
  """Raises unless `x` has the static shape `expected` (None matches anything).

  Args:
    x: tensor-like.
    name: argument name used in the message.
    expected: sequence of ints or None (any size), one per axis; the message
      shows it with `?` for None, e.g. `[?, ?, 1]` for `[None, None, 1]`.

  Returns:
    The static shape of `x` as a list (None entries where unknown), or None
    where its rank is unknown.

  Raises:
    ValueError: if the rank differs or a known size differs from `expected`.

  Example:
    >>> check_shape(np.zeros([2, 5, 1]), 'f0_hz', [None, None, 1])
    [2, 5, 1]
    >>> check_shape(np.zeros([2, 5, 3]), 'f0_hz', [None, None, 1])
    Traceback (most recent call last):
    ...
    ValueError: `f0_hz` must have shape [?, ?, 1]. Received: f0_hz.shape=(2, 5, 3)
  """
  shape = check_rank(x, name, len(expected))
  if shape is None:
    return shape
  for actual, want in zip(shape, expected):
    if want is not None and actual is not None and actual != want:
      raise ValueError(f'`{name}` must have shape {_fmt(expected)}. '
                       f'Received: {name}.shape={tuple(shape)}')
  return shape


def check_same_dim(tensors, axis, axis_name):
  """Raises unless all tensors agree on `axis` (static, known dims only).

  Args:
    tensors: dict mapping argument names to tensors.
    axis: axis index to compare.
    axis_name: what the axis means, e.g. 'batch' or 'n_frames'.
  """
  known = {}
  for name, x in tensors.items():
    shape = static_shape(x)
    if shape is None or len(shape) <= (axis if axis >= 0 else -axis - 1):
      continue
    if shape[axis] is not None:
      known[name] = shape[axis]
  if len(set(known.values())) > 1:
    detail = ', '.join(f'{n}.shape[{axis}]={d}' for n, d in known.items())
    raise ValueError(f'Arguments must agree on the {axis_name} axis. '
                     f'Received: {detail}')


def check_audio(audio, name='audio'):
  """Raises unless `audio` is [n_samples] or [batch, n_samples] (or [b, n, 1])."""
  shape = check_rank(audio, name, (1, 2, 3))
  if shape is not None and len(shape) == 3 and shape[-1] not in (1, None):
    raise ValueError(f'`{name}` must be [batch, n_samples] or '
                     f'[batch, n_samples, 1] mono audio. '
                     f'Received: {name}.shape={tuple(shape)}')
  return shape


def _fmt(expected):
  return '[' + ', '.join('?' if d is None else str(d) for d in expected) + ']'


def check_same_shape(tensors):
  """Raises unless all tensors have the same static shape.

  Unknown dimensions (None) match anything; tensors of unknown rank are not
  checked.

  Args:
    tensors: dict mapping argument names to tensors, e.g.
      `{'target': target, 'value': value}`.

  Returns:
    The static shape of the first tensor whose rank is known, as a list (None
    if no rank is known).
  """
  known = {name: shape for name, shape in
           ((name, static_shape(x)) for name, x in tensors.items())
           if shape is not None}
  shapes = list(known.values())
  mismatch = len({len(shape) for shape in shapes}) > 1
  if not mismatch:
    for dims in zip(*shapes):
      if len({d for d in dims if d is not None}) > 1:
        mismatch = True
  if mismatch:
    detail = ', '.join(f'{n}.shape={tuple(s)}' for n, s in known.items())
    raise ValueError(f'Arguments {list(tensors)} must have the same shape. '
                     f'Received: {detail}')
  return shapes[0] if shapes else None


def check_broadcastable(x, name, shape, shape_name):
  """Raises unless `x` broadcasts to `shape` without enlarging it.

  `x` may have fewer axes than `shape` (aligned from the end, as in numpy) and
  size 1 wherever it is to be broadcast. Unknown dimensions match anything.

  Args:
    x: tensor-like to check, e.g. loss weights.
    name: argument name of `x` used in the message.
    shape: list of ints or None, the shape `x` must broadcast to.
    shape_name: what `shape` is the shape of, used in the message.
  """
  x_shape = static_shape(x)
  if x_shape is None or shape is None:
    return x_shape
  ok = len(x_shape) <= len(shape)
  if ok:
    for dim, want in zip(reversed(x_shape), reversed(shape)):
      if dim is not None and want is not None and dim not in (1, want):
        ok = False
  if not ok:
    raise ValueError(f'`{name}` must broadcast to the shape of `{shape_name}`, '
                     f'{_fmt(shape)}, without enlarging it. '
                     f'Received: {name}.shape={tuple(x_shape)}')
  return x_shape


def check_seed(seed, name='seed'):
  """Checks a random seed; None draws one now.

  Layers that make noise record the returned int in their config, so that a
  copy made from the config (or a reloaded model) makes the same noise.
  `keras.utils.set_random_seed` makes the drawn seeds reproducible too.

  Args:
    seed: None or an int >= 0.
    name: argument name used in the message.

  Returns:
    An int in [0, 2**31 - 1).
  """
  if seed is None:
    return int(np.random.randint(0, 2**31 - 1))
  return check_non_negative_int(seed, name)


def check_callable(value, name, allow_none=True):
  """Raises a TypeError unless `value` is callable (or None where allowed).

  For function arguments such as a processor's `scale_fn`.

  Args:
    value: the argument.
    name: argument name used in the message.
    allow_none: whether None (meaning "no function") is accepted.

  Returns:
    `value`.
  """
  if (value is None and allow_none) or callable(value):
    return value
  expected = 'a callable or None' if allow_none else 'a callable'
  raise TypeError(f'`{name}` must be {expected}. {_received(name, value)}')


def check_scale_fn(scale_fn, name='scale_fn'):
  """Checks a function argument such as a processor's `scale_fn`.

  Accepts what a processor's constructor receives: a callable (including
  gin's wrapper of a registered function), None ("no function"), or the
  Keras config of a registered function as `get_config` stores it (from
  `ddsp.processors.serialize_fn`, e.g. `{'class_name': 'function', 'config':
  'ddsp>exp_sigmoid', ...}`), which is deserialized so that `from_config`
  works, or the name of a Keras activation ('sigmoid', 'softplus', ...).

  Args:
    scale_fn: the argument.
    name: argument name used in the message.

  Returns:
    The callable, or None.

  Raises:
    TypeError: if `scale_fn` is neither None, a callable nor the config of a
      registered function.

  Example:
    >>> check_scale_fn('sigmoid').__name__
    'sigmoid'
    >>> check_scale_fn(3)
    Traceback (most recent call last):
    ...
    TypeError: `scale_fn` must be a callable or None. Received: scale_fn=3
  """
  if isinstance(scale_fn, (dict, str)):
    try:
      scale_fn = (keras.activations.get(scale_fn) if isinstance(scale_fn, str)
                  else keras.saving.deserialize_keras_object(scale_fn))
    except (ValueError, TypeError) as error:
      raise TypeError(
          f'`{name}` must be a callable, None or the Keras config of a '
          f'registered function. Received: {name}={scale_fn!r} ({error})'
      ) from None
  return check_callable(scale_fn, name)
