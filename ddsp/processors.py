"""Processor, the base class of every synth and effect; routing processors.

A processor turns raw network outputs into audio in two steps:

1. `get_controls(*inputs)` maps unconstrained network outputs to valid synthesis
   controls (scaling with `exp_sigmoid`, masking harmonics above Nyquist,
   normalizing distributions, ...) and returns them as a dict.
2. `get_signal(**controls)` renders the signal from those controls.

Calling the processor does both. With `return_outputs_dict=True` it returns
`{'signal': signal, 'controls': controls}` so that a DAG can route either.

This module also holds `ProcessorGroup` (a DAG of processors that is itself a
processor) and the routing processors `Add`, `Mix` and `Crop`.

The paper's default processor group, in Python:

    group = ProcessorGroup(dag=[
        (synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
        (synths.FilteredNoise(), ['noise_magnitudes']),
        (Add(), ['filtered_noise/signal', 'harmonic/signal']),
        (effects.Reverb(), ['add/signal']),
    ])
    audio = group({'amps': ..., 'harmonic_distribution': ...,
                   'f0_hz': ..., 'noise_magnitudes': ...})

and in gin:

    ProcessorGroup.dag = [
      (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
      (@synths.FilteredNoise(), ['noise_magnitudes']),
      (@processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
      (@effects.Reverb(), ['add/signal']),
    ]
    Harmonic.n_samples = 64000
    Autoencoder.processor_group = @processors.ProcessorGroup()

Gin (see `ddsp.registration`): every processor class is registered with
`registration.register`, so gin bindings (`ProcessorGroup.dag = ...`,
`Harmonic.n_samples = ...`) apply however a processor is built: through a
reference such as `@processors.ProcessorGroup()` in a gin file, or directly in
Python (`ProcessorGroup()` after the DAG was bound), as the published
tutorials do. Arguments passed explicitly win over bindings. The class itself
is unchanged (`type(group) is ProcessorGroup`), so Keras serialization,
`isinstance` and checkpoints work as usual. Also:

* Tuples and lists in a binding may hold `@...()` references; gin evaluates
  them each time the group is built, so each group gets new processors.
* Two processors of one class need distinct names: use gin scopes,
  `(@h1/synths.Harmonic(), [...])` with `h1/Harmonic.name = 'h1'`.
* A function reference without `()` (`Mix.scale_fn = @core.exp_sigmoid`)
  arrives as gin's wrapper of the function (so bindings of the function
  apply); `serialize_fn` unwraps it for `get_config`.
"""

import inspect
import numbers

import keras
import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import dags
from ddsp import registration
from ddsp import validation


# Keyword arguments of a processor call that are flags, not inputs.
_CALL_FLAGS = ('return_outputs_dict', 'training', 'mask')


def _as_tensor(x):
  """An input as a tensor: variables read, arrays and nested lists converted.

  Tensors (and Keras' symbolic tensors), None and booleans pass unchanged;
  dicts (a ProcessorGroup's inputs) are converted value by value.
  """
  if isinstance(x, dict):
    return {key: _as_tensor(value) for key, value in x.items()}
  if isinstance(x, (tf.Variable, keras.Variable)):
    return tf.convert_to_tensor(x)  # A read: gradients reach the variable.
  if isinstance(x, bool) or x is None:
    return x
  if isinstance(x, (np.ndarray, np.generic, list, tuple, numbers.Number)):
    return tf.convert_to_tensor(x, dtype_hint=tf.float32)
  return x


class NoiseState(tf.Module):
  """The random state of a processor that draws noise (see `draw_noise`).

  A `tf.Module`, not a Keras variable of the layer: it is saved and restored
  with the layer by `tf.train.Checkpoint` (so a resumed training run draws
  the noise an uninterrupted one would), but it is not in `layer.variables`
  or `layer.weights`, which hold only what the published layers hold.

  Args:
    seed: int >= 0, the processor's seed.

  Attributes:
    seed: the seed.
    state: the counter variable of the seed generator (int64 [2]).
  """

  def __init__(self, seed):
    super().__init__(name='noise_state')
    self.seed = validation.check_seed(seed)
    self.generator = keras.random.SeedGenerator(self.seed)
    self.state = self.generator.state  # Tracked by tf.Module: checkpointed.


@registration.register('ddsp.processors')
class Processor(keras.layers.Layer, dags.DAGModule):
  """Abstract base class for signal processors (synths, effects, routing).

  Subclasses implement `get_controls` and `get_signal`. Processors hold no
  weights unless they are built `trainable` (e.g. a learned reverb impulse
  response), so `trainable` defaults to False. They compute in float32 even
  under a mixed-precision global policy (`dtype='float32'`): float16 inputs
  from a network are cast to float32 on entry.

  Inputs may be tensors, `tf.Variable`s (e.g. controls fitted directly by
  gradient descent: gradients reach the variable), numpy arrays or nested
  Python lists.

  In a DAG (`ddsp.dags.DAGLayer`, `ProcessorGroup`) a processor is called with
  `return_outputs_dict=True`, so later nodes can use `'<name>/signal'` and
  `'<name>/controls/<control>'`.

  Noise: processors that make noise (`FilteredNoise`, `ExpDecayReverb`,
  `FilteredNoiseReverb`) build a `NoiseState` from their seed in `__init__`
  and draw every noise signal with `draw_noise`: fresh noise for each
  example in a training call (`training=True`, which Keras passes down from
  the enclosing model), otherwise the same noise signal on every call.

  Example:
    >>> import ddsp, tensorflow as tf
    >>> harmonic = ddsp.synths.Harmonic(n_samples=16000)
    >>> amps = tf.zeros([1, 250, 1])
    >>> hd = tf.zeros([1, 250, 10])
    >>> f0_hz = 440.0 * tf.ones([1, 250, 1])
    >>> outputs = harmonic(amps, hd, f0_hz, return_outputs_dict=True)
    >>> sorted(outputs)
    ['controls', 'signal']
  """

  def __init__(self, name=None, trainable=False, dtype='float32', **kwargs):
    super().__init__(name=name, trainable=trainable, dtype=dtype, **kwargs)
    self._training_call = False

  def __call__(self, *args, **kwargs):
    """Converts the inputs to tensors, then calls the layer as Keras does.

    Keras accepts only tensors and arrays as inputs; a processor also takes
    `tf.Variable`s (read here, so gradients reach them) and nested Python
    lists, also as values of a ProcessorGroup's inputs dict.
    """
    args = [_as_tensor(x) for x in args]
    kwargs = {key: x if key in _CALL_FLAGS else _as_tensor(x)
              for key, x in kwargs.items()}
    return super().__call__(*args, **kwargs)

  def call(self, *args, return_outputs_dict=False, training=None, **kwargs):
    """Computes controls from the inputs, then the signal from the controls.

    Args:
      *args: raw inputs, passed to `get_controls`.
      return_outputs_dict: if True, return `{'signal': ..., 'controls': ...}`
        instead of the signal alone.
      training: Keras' training flag (from the enclosing model when not
        given). It only matters to processors that draw noise: see
        `draw_noise`.
      **kwargs: raw inputs by name, passed to `get_controls`.

    Returns:
      The signal tensor, or the outputs dict.
    """
    outer, self._training_call = self._training_call, bool(training)
    try:
      controls = self.get_controls(*args, **kwargs)
      signal = self.get_signal(**controls)
    finally:
      self._training_call = outer
    if return_outputs_dict:
      return {'signal': signal, 'controls': controls}
    return signal

  def get_controls(self, *args, **kwargs):
    """Converts raw network outputs into a dict of valid controls."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement get_controls().')

  def get_signal(self, *args, **kwargs):
    """Renders the signal from the controls returned by `get_controls`."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement get_signal().')

  def dag_call(self, *inputs):
    """How a DAG calls a processor: returns `{'signal', 'controls'}`."""
    return self(*inputs, return_outputs_dict=True)

  def draw_noise(self, noise_state, n_samples, batch_size, counter=False):
    """Uniform white noise in [-1, 1): the one place processors draw noise.

    * In a training call (the processor called with `training=True`, as in a
      training step): fresh noise for every example, from `noise_state`'s
      seed generator, whose state advances, so training runs with the same
      seed are reproducible (and resume exactly from a checkpoint). Under a
      `tf.distribute` strategy with several replicas, each replica folds its
      replica id into the generator's seed (`stateless_fold_in`), so the
      replicas draw different noise, the same on every rerun.
    * Otherwise (inference, evaluation, or `get_controls` / `get_signal`
      called directly): the same noise on every call, a function of the seed
      and `n_samples` only, [1, n_samples], shared by the batch. With
      `counter=True` it is `core.counter_uniform_noise` (any block of it can
      be made on its own, as streaming inference needs), else
      `core.uniform_noise`.

    Args:
      noise_state: the processor's `NoiseState`.
      n_samples: int, samples of noise.
      batch_size: batch size of the call (an int or a scalar tensor), used
        in a training call.
      counter: use counter-based noise outside training calls.

    Returns:
      float32 [batch_size, n_samples] in a training call, else
      [1, n_samples].
    """
    if self._training_call:
      return core.uniform_noise(tf.stack([batch_size, n_samples]), -1.0, 1.0,
                                seed=_replica_seed(noise_state.generator))
    if counter:
      return core.counter_uniform_noise(n_samples, seed=noise_state.seed)
    return core.uniform_noise([1, n_samples], -1.0, 1.0, seed=noise_state.seed)


def _replica_seed(generator):
  """The seed of a training call's noise: one of its own per replica.

  With one replica (no strategy, or one device) this is `generator` itself,
  as before. With several, it is the generator's next seed with the replica
  id (`replica_id_in_sync_group`, global over the workers of a cluster)
  folded in: the replicas read the same shared state, so without the fold
  they would all draw the same noise.
  """
  context = tf.distribute.get_replica_context()
  if context is None or context.num_replicas_in_sync == 1:
    return generator
  seed = generator.next()
  replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
  return tf.random.experimental.stateless_fold_in(seed, replica)


def serialize_fn(fn):
  """Config entry for a function argument such as a `scale_fn`.

  Use in `get_config` of processors taking functions. Gin passes a wrapper of
  a registered function (so that its gin bindings apply); the wrapper is
  unwrapped here so the config names the function itself, e.g.
  `'ddsp>exp_sigmoid'` for `core.exp_sigmoid` (gin bindings of the function
  are not part of the config). Functions must be Keras-serializable: Keras
  activations (e.g. `tf.nn.sigmoid`, saved as 'sigmoid'), the core scale
  functions registered below, or functions decorated with
  `keras.saving.register_keras_serializable`.

  Args:
    fn: a callable, or None.

  Returns:
    A Keras config (dict), or None.

  Example:
    >>> serialize_fn(core.exp_sigmoid)['config']
    'ddsp>exp_sigmoid'
  """
  if fn is None:
    return None
  return keras.saving.serialize_keras_object(inspect.unwrap(fn))


def deserialize_fn(config):
  """Inverse of `serialize_fn`; a callable or None is returned as it is.

  Processors' constructors take either, through `validation.check_scale_fn`,
  so that Keras' `from_config` (which passes the config entry) works.

  Example:
    >>> deserialize_fn(serialize_fn(core.exp_sigmoid)) is core.exp_sigmoid
    True
  """
  return validation.check_scale_fn(config, 'config')


# ------------------------------------------------------------------------------
# Processor group.
# ------------------------------------------------------------------------------
@registration.register('ddsp.processors')
class ProcessorGroup(dags.DAGLayer, Processor):
  """A DAG of processors that is itself a processor.

  Calling the group on a dict of inputs runs the DAG (see `ddsp.dags`) and
  returns the signal of the last node, `outputs['out']['signal']`. Every node
  holds a `Processor` and is called with `return_outputs_dict=True`, so a node
  can read another's signal (`'harmonic/signal'`) or controls
  (`'harmonic/controls/f0_hz'`).

  Args:
    dag: list of nodes `(processor, [input keys])` or
      `(processor, [input keys], [output keys])`, run in list order; a
      processor may be given as the name of a keyword argument.
    name: name of the group, also the prefix of its variables.
    trainable: whether variables of the processors (e.g. a trainable reverb's
      impulse response) are trainable. True, so that each processor's own
      `trainable` decides.
    **kwarg_processors: processors that string nodes refer to by keyword.

  Raises:
    ValueError, TypeError: for a malformed DAG (see `ddsp.dags.DAGLayer`) or a
      node whose module is not a `Processor`.

  Example:
    >>> import ddsp, tensorflow as tf
    >>> group = ProcessorGroup(dag=[
    ...     (ddsp.processors.Add(), ['one', 'two']),
    ...     (ddsp.processors.Crop(frame_size=2), ['add/signal'])])
    >>> audio = group({'one': tf.ones([1, 8]), 'two': tf.ones([1, 8])})
    >>> audio.numpy().tolist()
    [[2.0, 2.0, 2.0, 2.0, 2.0, 2.0]]
  """

  def __init__(self, dag, name='processor_group', trainable=True,
               **kwarg_processors):
    super().__init__(dag, name=name, trainable=trainable, **kwarg_processors)
    for index, (module, _, _) in enumerate(self.dag):
      if not isinstance(module, Processor):
        raise TypeError(
            f'Every node of a ProcessorGroup must hold a ddsp Processor; use '
            f'ddsp.dags.DAGLayer for other layers. Received: node {index} '
            f"holds '{module.name}' of type {type(module).__name__}")
    if not self.dag:
      raise ValueError('A ProcessorGroup needs at least one node. '
                       f'Received: dag={dag!r}')

  @property
  def processor_names(self):
    """Keys of the group's nodes, in node order (published name).

    Where each processor's outputs are stored: its keyword for a processor
    named by keyword, else its name.
    """
    return self.module_names

  @property
  def processors(self):
    """The processors of the group, in node order (published getter)."""
    return self.modules

  def call(self, inputs, return_outputs_dict=False, training=None):
    """Runs the DAG of processors.

    Args:
      inputs: dict of input tensors named by the DAG's input keys, e.g.
        `{'amps': [batch, n_frames, 1], 'f0_hz': [batch, n_frames, 1], ...}`.
      return_outputs_dict: if True, return `{'signal': signal, 'controls':
        outputs}` with `outputs` the whole DAG outputs dict.
      training: passed on by Keras to processors whose `call` takes it.

    Returns:
      The last node's signal, e.g. [batch, n_samples] float32 audio, or the
      outputs dict.
    """
    del training  # Keras propagates it through the call context.
    outputs = self.get_controls(inputs)
    signal = self.get_signal(outputs)
    if return_outputs_dict:
      return {'signal': signal, 'controls': outputs}
    return signal

  def get_controls(self, inputs):
    """Runs the DAG; returns the whole nested outputs dict."""
    return self.run_dag(inputs)

  def get_signal(self, outputs):
    """The signal of the last node: `outputs['out']['signal']`."""
    return outputs['out']['signal']


# ------------------------------------------------------------------------------
# Routing processors.
# ------------------------------------------------------------------------------
@registration.register('ddsp.processors')
class Add(Processor):
  """Sums two signals of the same shape.

  Args:
    name: name of the layer (and of its node's outputs in a DAG).

  Example:
    >>> import tensorflow as tf
    >>> Add()(tf.ones([1, 3]), 2.0 * tf.ones([1, 3])).numpy().tolist()
    [[3.0, 3.0, 3.0]]
  """

  def __init__(self, name='add', **kwargs):
    super().__init__(name=name, **kwargs)

  def get_controls(self, signal_one, signal_two):
    """Checks the signals.

    Args:
      signal_one: [batch, n_samples] or [batch, n_samples, n_channels]
        float32 signal.
      signal_two: float32 signal of the same shape as `signal_one`.

    Returns:
      `{'signal_one': ..., 'signal_two': ...}`.

    Raises:
      ValueError: if the shapes differ (no broadcasting: adding [b, n] to
        [b, n, 1] would silently give [b, n, n]).
    """
    validation.check_same_shape({'signal_one': signal_one,
                                 'signal_two': signal_two})
    return {'signal_one': signal_one, 'signal_two': signal_two}

  def get_signal(self, signal_one, signal_two):
    """`signal_one + signal_two`; differentiable with respect to both."""
    return signal_one + signal_two

  def get_config(self):
    return super().get_config()


# Smallest squared gain of a Mix (a gain of 1e-6, -120 dB).
_MIN_MIX_POWER = 1e-12


@registration.register('ddsp.processors')
class Mix(Processor):
  """Constant-power crossfade of two signals by a time-varying control.

  `out = sqrt(mix) * signal_one + sqrt(1 - mix) * signal_two`, with
  `mix = scale_fn(nn_out_mix_level)` linearly resampled from frames to
  samples (`core.resample`, holding the last frame for one hop) and clipped
  to [0, 1]. The gains' squares sum to 1, so two uncorrelated signals of
  equal power keep that power at every mix level. (The published layer's
  docstring promised this crossfade, but its second gain was
  `1 - sqrt(|mix - 1|)`, which silenced both signals at mix 0 and summed them
  at mix 1; see docs/differences.md.)

  Args:
    scale_fn: maps the raw control to the mix level in [0, 1]; a sigmoid by
      default (0 gives an equal mix, large positive values favour
      `signal_one`). None uses the control as given.
    name: name of the layer (and of its node's outputs in a DAG).

  Example:
    >>> import tensorflow as tf
    >>> mix = Mix()
    >>> out = mix(tf.ones([1, 4]), tf.zeros([1, 4]), tf.zeros([1, 2, 1]))
    >>> [round(x, 4) for x in out.numpy()[0].tolist()]
    [0.7071, 0.7071, 0.7071, 0.7071]
  """

  def __init__(self, scale_fn=tf.nn.sigmoid, name='mix', **kwargs):
    super().__init__(name=name, **kwargs)
    self.scale_fn = validation.check_scale_fn(scale_fn)

  def get_controls(self, signal_one, signal_two, nn_out_mix_level):
    """Scales the mix level and resamples it to audio rate.

    Args:
      signal_one: [batch, n_samples] or [batch, n_samples, n_channels]
        float32 signal, chosen where the mix level is 1.
      signal_two: float32 signal of the same shape, chosen where it is 0.
      nn_out_mix_level: [batch, n_frames, 1] float32, the raw mix level
        (passed through `scale_fn`; published name).

    Returns:
      `{'signal_one', 'signal_two', 'mix_level'}`, the mix level at audio rate
      in [0, 1] with the signals' rank ([batch, n_samples] or
      [batch, n_samples, 1]).

    Raises:
      ValueError: if the signals' shapes differ, the mix level is not
        [batch, n_frames, 1], the batch sizes differ, or the number of samples
        is not known statically.
    """
    validation.check_same_shape({'signal_one': signal_one,
                                 'signal_two': signal_two})
    shape = validation.check_rank(signal_one, 'signal_one', (2, 3))
    validation.check_shape(nn_out_mix_level, 'nn_out_mix_level',
                           [None, None, 1])
    validation.check_same_dim({'signal_one': signal_one,
                               'nn_out_mix_level': nn_out_mix_level},
                              0, 'batch')
    n_samples = shape[1] if shape is not None else None
    if n_samples is None:
      raise ValueError('Mix needs a static number of samples to resample the '
                       'mix level to. Received: signal_one.shape='
                       f'{signal_one.shape}')
    mix_level = core.tf_float32(nn_out_mix_level)
    if self.scale_fn is not None:
      mix_level = self.scale_fn(mix_level)
    mix_level = tf.clip_by_value(core.resample(mix_level, n_samples), 0.0, 1.0)
    if len(shape) == 2:
      mix_level = mix_level[:, :, 0]
    return {'signal_one': signal_one, 'signal_two': signal_two,
            'mix_level': mix_level}

  def get_signal(self, signal_one, signal_two, mix_level):
    """`sqrt(mix_level) * signal_one + sqrt(1 - mix_level) * signal_two`.

    Differentiable with respect to both signals and the mix level (each gain
    is floored at 1e-6, -120 dB, so that its gradient stays finite where the
    mix level is exactly 0 or 1).
    """
    gain_one = tf.sqrt(tf.maximum(mix_level, _MIN_MIX_POWER))
    gain_two = tf.sqrt(tf.maximum(1.0 - mix_level, _MIN_MIX_POWER))
    return gain_one * signal_one + gain_two * signal_two

  def get_config(self):
    config = super().get_config()
    config['scale_fn'] = serialize_fn(self.scale_fn)
    return config


@registration.register('ddsp.processors')
class Crop(Processor):
  """Removes samples from the front, back or both ends of a signal.

  Args:
    frame_size: positive int, number of samples to remove. With
      `crop_location='center'`, `frame_size // 2` samples are removed from
      each end: the padding that centered framing adds (as librosa does).
    crop_location: 'front', 'center' or 'back'.
    name: name of the layer (and of its node's outputs in a DAG).

  Raises:
    ValueError: for a non-positive `frame_size` or an unknown location.

  Example:
    >>> import tensorflow as tf
    >>> x = tf.range(6.0)[tf.newaxis]
    >>> Crop(frame_size=2, crop_location='front')(x).numpy().tolist()
    [[2.0, 3.0, 4.0, 5.0]]
    >>> Crop(frame_size=2, crop_location='center')(x).numpy().tolist()
    [[1.0, 2.0, 3.0, 4.0]]
  """

  def __init__(self, frame_size, crop_location='back', name='crop', **kwargs):
    super().__init__(name=name, **kwargs)
    self.frame_size = validation.check_positive_int(frame_size, 'frame_size')
    self.crop_location = validation.check_one_of(
        crop_location, 'crop_location', ('front', 'center', 'back'))

  def _crop_amounts(self):
    """(samples removed from the front, samples removed from the back)."""
    if self.crop_location == 'front':
      return self.frame_size, 0
    if self.crop_location == 'back':
      return 0, self.frame_size
    half = self.frame_size // 2
    return half, half

  def get_controls(self, signal):
    """Checks the signal.

    Args:
      signal: [batch, n_samples] or [batch, n_samples, n_channels] float32.

    Returns:
      `{'signal': signal}`.

    Raises:
      ValueError: if `signal` is not rank 2 or 3, or is not longer than what
        is cropped.
    """
    shape = validation.check_rank(signal, 'signal', (2, 3))
    front, back = self._crop_amounts()
    if shape is not None and shape[1] is not None and shape[1] <= front + back:
      raise ValueError(
          f'`signal` must have more than {front + back} samples to crop '
          f'{front} from the front and {back} from the back '
          f'(frame_size={self.frame_size}, '
          f"crop_location='{self.crop_location}'). "
          f'Received: signal.shape={tuple(shape)}')
    return {'signal': signal}

  def get_signal(self, signal):
    """The cropped signal, [batch, n_samples - cropped(, n_channels)].

    Differentiable with respect to `signal` (zero gradient for the cropped
    samples).
    """
    front, back = self._crop_amounts()
    n_samples = tf.shape(signal)[1]
    return signal[:, front:n_samples - back]

  def get_config(self):
    config = super().get_config()
    config.update({'frame_size': self.frame_size,
                   'crop_location': self.crop_location})
    return config
