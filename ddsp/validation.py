"""Argument checks shared by the whole library.

Every check raises a `ValueError` or `TypeError` whose message names the argument,
says what was expected and what was received, e.g.
"`n_samples` must be a positive integer. Received: n_samples=-3".
Checks on tensors use static shapes only, so they run before any TensorFlow op and
also inside `tf.function` (unknown dimensions are not checked).

Two checks look at values, not shapes:

* `check_finite`: NaN or infinite controls and audio never become silent NaN
  audio. Eagerly (and for numpy input) a `ValueError` names the argument;
  inside a `tf.function` a `tf.debugging.Assert` raises
  `tf.errors.InvalidArgumentError` with the same message when the graph runs.
  `set_finite_checks(False)` is the one switch that turns them off (read when
  a function is traced). The published library had no such checks.
* `check_audio`: mono audio only; a channels-last array such as the
  [n_samples, 2] that `soundfile.read` returns is refused with a message
  saying how to make it mono, instead of being read as a batch of clips.
"""

import numbers
import re

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


# Audio whose last axis has at most this many entries is taken for
# channels-last multichannel audio (e.g. [n_samples, 2] from soundfile.read).
MAX_CHANNELS = 8


def _make_mono_hint(name):
  return (f'Make it mono first, e.g. `{name}.mean(axis=-1)` (the average of '
          f'the channels) or `{name}[..., 0]` (the first channel)')


def check_audio(audio, name='audio', finite=True):
  """Raises unless `audio` is mono: [n_samples], [batch, n_samples] or [b, n, 1].

  Multichannel audio is rejected, not guessed at: a rank-3 array with more
  than one channel, and a rank-2 array whose last axis has 1 to
  `MAX_CHANNELS` (8) entries and is shorter than its first axis, which is
  what `soundfile.read` returns for a stereo file ([n_samples, 2]) and would
  otherwise be read as a batch of n_samples clips of two samples. The message
  says how to make such audio mono. Short clips in a batch ([batch, n] with
  n <= 8) pass when the batch is not larger than n.

  Args:
    audio: tensor-like audio.
    name: argument name used in the message.
    finite: also check that every sample is finite (`check_finite`).

  Returns:
    The static shape of `audio` as a list (None entries where unknown).

  Raises:
    ValueError: for multichannel audio, a bad rank, or (with `finite`)
      NaN or infinite samples.

  Example:
    >>> check_audio(np.zeros([2, 16000]))
    [2, 16000]
    >>> check_audio(np.zeros([16000, 2]))
    Traceback (most recent call last):
      ...
    ValueError: `audio` must be [batch, n_samples] or [batch, n_samples, 1] ...
  """
  shape = check_rank(audio, name, (1, 2, 3))
  if shape is not None:
    channels = shape[-1]
    multichannel = len(shape) == 3 and channels not in (1, None)
    if (len(shape) == 2 and channels is not None and
        1 <= channels <= MAX_CHANNELS and
        (shape[0] is None or shape[0] > channels)):
      multichannel = True
    if multichannel:
      raise ValueError(
          f'`{name}` must be [batch, n_samples] or [batch, n_samples, 1] mono '
          f'audio (or [n_samples]); a last axis of {channels} looks like the '
          'channels of multichannel audio ([n_samples, n_channels], as '
          f'soundfile.read returns). {_make_mono_hint(name)}. '
          f'Received: {name}.shape={tuple(shape)}')
  if finite:
    check_finite(audio, name)
  return shape


def check_not_empty(x, name, axis, axis_name):
  """Raises if the static size of `x` along `axis` is 0.

  Args:
    x: tensor-like.
    name: argument name used in the message.
    axis: axis index (negative counts from the end).
    axis_name: what the axis holds, e.g. 'frame' or 'sample'.

  Returns:
    The static shape of `x` as a list (None if the rank is unknown).
  """
  shape = static_shape(x)
  if shape is not None and -len(shape) <= axis < len(shape) and (
      shape[axis] == 0):
    raise ValueError(f'`{name}` must have at least one {axis_name}. '
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


def check_broadcastable_dim(tensors, axis, axis_name):
  """Raises unless the tensors agree on `axis` or have size 1 there.

  A size of 1 broadcasts against any other size, as in numpy and the
  published library (e.g. controls with a batch of 1 against a batch of B).
  Unknown sizes match anything; tensors without that axis are skipped.

  Args:
    tensors: dict mapping argument names to tensors.
    axis: axis index (negative counts from the end).
    axis_name: what the axis means, e.g. 'batch' or 'n_sinusoids'.

  Returns:
    The size the axis broadcasts to if every size is known (1 where all are
    1), else the largest known size other than 1, else None.
  """
  known, unknown = {}, False
  for name, x in tensors.items():
    shape = static_shape(x)
    if shape is None or not -len(shape) <= axis < len(shape):
      continue
    if shape[axis] is None:
      unknown = True
    else:
      known[name] = shape[axis]
  sizes = set(known.values()) - {1}
  if len(sizes) > 1:
    detail = ', '.join(f'{n}.shape[{axis}]={d}' for n, d in known.items())
    raise ValueError(f'Arguments must agree on the {axis_name} axis (or have '
                     f'size 1 there, which is broadcast). Received: {detail}')
  if sizes:
    return sizes.pop()
  return None if unknown or not known else 1


def check_broadcastable_shapes(tensors, ignore_last_axis=False):
  """Raises unless the tensors broadcast against each other (numpy rules).

  Unknown dimensions match anything; tensors of unknown rank are skipped.

  Args:
    tensors: dict mapping argument names to tensors.
    ignore_last_axis: compare all axes but the last (e.g. frames of f0
      [..., 1] against harmonic amplitudes [..., n_harmonics]).

  Returns:
    The broadcast static shape as a list (None where unknown; without the
    last axis with `ignore_last_axis`), or None if a rank is unknown.
  """
  shapes = {name: static_shape(x) for name, x in tensors.items()}
  if any(shape is None for shape in shapes.values()):
    return None
  compared = {name: shape[:-1] if ignore_last_axis else shape
              for name, shape in shapes.items()}
  rank = max((len(shape) for shape in compared.values()), default=0)
  result = []
  for axis in range(-rank, 0):
    dims = {shape[axis] for shape in compared.values() if len(shape) >= -axis}
    sizes = dims - {1, None}
    if len(sizes) > 1:
      detail = ', '.join(f'{n}.shape={tuple(s)}' for n, s in shapes.items())
      raise ValueError(f'Arguments {list(tensors)} must broadcast against '
                       f'each other. Received: {detail}')
    result.append(sizes.pop() if sizes else (None if None in dims else 1))
  return result


# ------------------------------------------------------------------------------
# Finite values.
# ------------------------------------------------------------------------------
_FINITE_CHECKS = {'enabled': True}


def set_finite_checks(enabled):
  """Switches the finiteness checks of `check_finite` on or off.

  The one switch of the library's checks for NaN and infinite inputs (on by
  default). With the checks on, a public function or processor given a
  non-finite control or audio sample raises a `ValueError` naming the
  argument when it runs eagerly, and an `InvalidArgumentError` with the same
  message when it runs inside a `tf.function`. Inside a graph, the switch is
  read when the function is traced: set it before the first call (a traced
  function keeps the checks it was traced with). Under XLA
  (`jit_compile=True`) the in-graph checks are compiled out. The checks cost
  well under 2 % of a training step (`benchmarks/bench_train_step.py
  --finite_checks`).

  Args:
    enabled: bool.

  Returns:
    The previous setting, so that it can be restored.

  Example:
    >>> previous = set_finite_checks(False)
    >>> check_finite(np.array([np.nan]), 'x')  # Not checked.
    array([nan])
    >>> _ = set_finite_checks(previous)
  """
  previous = _FINITE_CHECKS['enabled']
  _FINITE_CHECKS['enabled'] = bool(enabled)
  return previous


def finite_checks_enabled():
  """Whether `check_finite` checks (see `set_finite_checks`)."""
  return _FINITE_CHECKS['enabled']


def _describe_non_finite(values):
  """'3 NaN and 1 infinite values of 20, the first at index (0, 4)'."""
  finite = np.isfinite(values)
  first = tuple(int(i) for i in np.argwhere(~finite)[0])
  n_nan = int(np.isnan(values).sum())
  n_inf = int(np.isinf(values).sum())
  return (f'{n_nan} NaN and {n_inf} infinite values of {values.size}, the '
          f'first at index {first}')


def _all_finite(x):
  """Scalar bool tensor: every value of the float or complex tensor is finite."""
  if x.dtype.is_complex:
    return tf.logical_and(_all_finite(tf.math.real(x)),
                          _all_finite(tf.math.imag(x)))
  return tf.reduce_all(tf.math.is_finite(x))


def check_finite(x, name):
  """Raises unless every value of `x` is finite (no NaN, no +-inf).

  Eagerly (or for numpy input) this raises a `ValueError`; inside a
  `tf.function` it adds a `tf.debugging.Assert` that raises
  `tf.errors.InvalidArgumentError` with the same message when the function
  runs (the check works with unknown static shapes and does not touch the
  gradient: `x` is returned unchanged). Integer and boolean inputs are
  always finite. `set_finite_checks(False)` switches the checks off.

  Args:
    x: tensor-like (tensor, variable, numpy array, list).
    name: argument name used in the message.

  Returns:
    `x`, unchanged.

  Raises:
    ValueError: eagerly, if a value is NaN or infinite.

  Example:
    >>> check_finite(np.array([1.0, np.nan]), 'f0_hz')
    Traceback (most recent call last):
      ...
    ValueError: `f0_hz` must be finite ...
  """
  if not _FINITE_CHECKS['enabled'] or x is None:
    return x
  message = (f'`{name}` must be finite (no NaN or infinite values); NaN '
             'inputs would give NaN audio.')
  if not (tf.is_tensor(x) or isinstance(x, tf.Variable)):
    values = np.asarray(x)
    if values.dtype.kind in 'fc' and not np.all(np.isfinite(values)):
      raise ValueError(f'{message} Received: {name} with '
                       f'{_describe_non_finite(values)}')
    return x
  if not (x.dtype.is_floating or x.dtype.is_complex):
    return x
  if tf.executing_eagerly():
    if not bool(_all_finite(x)):
      raise ValueError(f'{message} Received: {name} with '
                       f'{_describe_non_finite(np.asarray(x))}')
    return x
  tf.debugging.Assert(
      _all_finite(x),
      [message + ' (In-graph check; ddsp.validation.set_finite_checks(False) '
       'switches it off.)'], name='check_finite')
  return x


_FINITE_FAILURE = re.compile(r'`[^`]+` must be finite[^\]]*\)')


def finite_check_failure(error):
  """The message of a failed in-graph `check_finite`, or None.

  For callers that run a `tf.function` and want to turn the
  `tf.errors.InvalidArgumentError` of a failed finiteness check into their
  own error (e.g. the trainer's `NonFiniteInputError`).

  Args:
    error: an exception.

  Returns:
    '`name` must be finite (...)' if `error` is a failed in-graph
    `check_finite`, else None.
  """
  if not isinstance(error, tf.errors.InvalidArgumentError):
    return None
  match = _FINITE_FAILURE.search(str(error))
  return match.group(0) if match else None
