"""Loss base classes and `mean_difference`, the distance every loss uses.

A loss is a `Loss` layer: calling it returns a scalar float32 tensor, and
`get_losses_dict(...)` returns `{loss.name: loss_value}` so that a model can
collect several named losses. `LossGroup` runs a DAG of losses over a model's
outputs dict (see `ddsp.dags`).
"""

import keras
import tensorflow as tf

from ddsp import core
from ddsp import dags
from ddsp import registration
from ddsp import validation

LOSS_TYPES = ('L1', 'L2', 'COSINE')


def check_loss_type(loss_type, name='loss_type'):
  """Returns the upper-cased loss type, or raises for an unknown one."""
  if isinstance(loss_type, str):
    loss_type = loss_type.upper()
  return validation.check_one_of(loss_type, name, LOSS_TYPES)


def check_weight(value, name):
  """Returns `value` if it is a number >= 0, else raises a ValueError."""
  return validation.check_in_range(value, name, low=0.0)


@registration.register('ddsp.losses')
def mean_difference(target, value, loss_type='L1', weights=None):
  """Mean (optionally weighted) difference between two tensors.

  * 'L1': `mean(|target - value| * weights)`.
  * 'L2': `mean((target - value)**2 * weights)` (mean squared error).
  * 'COSINE': cosine distance along the last axis,
    `mean((1 - cos(target, value)) * weights)`, where `cos` is the cosine of
    the angle between the two vectors `target[..., :]` and `value[..., :]`
    (each is L2-normalized first, so their scale does not matter; a vector of
    zero norm counts as orthogonal to every vector). 0 for parallel vectors,
    1 for orthogonal ones, 2 for opposite ones.

  The mean runs over every element (over every vector for 'COSINE'), weights
  included in the numerator only: weights of 0 lower the mean rather than
  excluding elements from it.

  Args:
    target: float tensor of any shape, e.g. a spectrogram
      [batch, n_frames, n_bins] float32.
    value: float tensor of the same shape as `target`.
    loss_type: 'L1', 'L2' or 'COSINE' (case-insensitive).
    weights: optional non-negative float tensor that broadcasts to the shape
      of `target` (to `target.shape[:-1] + [1]` for 'COSINE'), e.g. a scalar
      or per-example weights [batch, 1, 1]. None means all ones.

  Returns:
    Scalar float32 tensor. Differentiable with respect to `target`, `value`
    and `weights` (for 'L1' the gradient at equal elements is 0).

  Raises:
    ValueError: for an unknown `loss_type`, shapes of `target` and `value`
      that differ, or `weights` that do not broadcast to them.

  Example:
    >>> float(mean_difference([1.0, 2.0], [0.0, 0.0], 'L1'))
    1.5
    >>> float(mean_difference([1.0, 2.0], [0.0, 0.0], 'L2'))
    2.5
    >>> float(mean_difference([[1.0, 0.0]], [[0.0, 3.0]], 'COSINE'))
    1.0
  """
  loss_type = check_loss_type(loss_type)
  target = core.tf_float32(target)
  value = core.tf_float32(value)
  shape = validation.check_same_shape({'target': target, 'value': value})
  if loss_type == 'COSINE':
    if shape is not None and not shape:
      raise ValueError('`target` and `value` must have at least one axis for '
                       "loss_type='COSINE' (vectors along the last axis). "
                       f'Received: target.shape={tuple(shape)}')
    target_unit = tf.math.l2_normalize(target, axis=-1)
    value_unit = tf.math.l2_normalize(value, axis=-1)
    loss = 1.0 - tf.reduce_sum(target_unit * value_unit, axis=-1,
                               keepdims=True)
    weights_shape = None if shape is None else shape[:-1] + [1]
  elif loss_type == 'L1':
    loss = tf.abs(target - value)
    weights_shape = shape
  else:
    loss = tf.square(target - value)
    weights_shape = shape
  if weights is not None:
    weights = core.tf_float32(weights)
    validation.check_broadcastable(weights, 'weights', weights_shape,
                                   'target' if loss_type != 'COSINE' else
                                   'target (one weight per vector)')
    loss = loss * weights
  return tf.reduce_mean(loss)


def prepare_audio(audio, name):
  """Validates mono audio; returns float32 [batch, n_samples]."""
  shape = validation.check_audio(audio, name)
  audio = core.tf_float32(audio)
  if shape is not None and len(shape) == 3:
    audio = audio[..., 0]
  elif shape is not None and len(shape) == 1:
    audio = audio[tf.newaxis, :]
  if audio.shape[-1] == 0:
    raise ValueError(f'`{name}` must have at least one sample. '
                     f'Received: {name}.shape={tuple(shape)}')
  return audio


# ------------------------------------------------------------------------------
# Base classes.
# ------------------------------------------------------------------------------
@registration.register('ddsp.losses')
class Loss(keras.layers.Layer):
  """Base class of losses: a layer whose call returns a scalar loss.

  Subclasses implement `call(...)` returning a scalar float32 tensor.
  `get_losses_dict(...)` calls the layer and names the result after it, which
  is how models collect their losses.

  Args:
    name: name of the loss, the key of `get_losses_dict`.
    trainable: whether the loss's own weights (e.g. of a pretrained embedding
      network) are trained; False by default.
    **kwargs: other `keras.layers.Layer` arguments.
  """

  def __init__(self, name=None, trainable=False, **kwargs):
    super().__init__(name=name, trainable=trainable, **kwargs)

  def get_losses_dict(self, *args, **kwargs):
    """Calls the loss and returns `{self.name: loss}`.

    Args:
      *args: positional arguments of `call`.
      **kwargs: keyword arguments of `call`.

    Returns:
      Dict mapping the loss's name to its scalar float32 value.
    """
    return {self.name: self(*args, **kwargs)}


@registration.register('ddsp.losses')
class LossGroup(dags.DAGLayer):
  """A DAG of losses computed from a model's outputs dict.

  Each node names a loss and the keys of its inputs in the outputs dict (see
  `ddsp.dags.DAGLayer` for the node format and nested keys such as
  `'harmonic/controls/f0_hz'`). Calling the group runs every loss and returns
  only the losses, keyed by the losses' names.

  Args:
    dag: list of nodes `(loss, [input keys])`, where `loss` is a `Loss` (or any
      layer returning a scalar) or the name of one given in `kwarg_losses`.
    **kwarg_losses: losses that nodes refer to by keyword, plus the Keras
      layer arguments `name`, `trainable`, `dtype`, `autocast`.

  Example:
    >>> import numpy as np
    >>> from ddsp import losses
    >>> group = losses.LossGroup([
    ...     (losses.SpectralLoss(fft_sizes=(256, 64)), ['audio', 'audio_synth']),
    ...     (losses.ParamLoss(name='f0_loss'), ['f0_hz', 'f0_hz_pred'])])
    >>> rng = np.random.default_rng(0)
    >>> outputs = {'audio': rng.normal(size=(2, 1024)).astype('float32'),
    ...            'audio_synth': np.zeros((2, 1024), 'float32'),
    ...            'f0_hz': np.full((2, 8, 1), 440.0, 'float32'),
    ...            'f0_hz_pred': np.full((2, 8, 1), 430.0, 'float32')}
    >>> values = group(outputs)
    >>> sorted(values), float(values['f0_loss'])
    (['f0_loss', 'spectral_loss'], 10.0)
  """

  def __init__(self, dag, **kwarg_losses):
    super().__init__(dag, **kwarg_losses)

  @property
  def loss_names(self):
    """Keys of the DAG's loss nodes, in node order (published name).

    A loss named in the DAG by a keyword is listed by that keyword, as
    published; the values the group returns are keyed by each loss's own
    `name` (or the terms of its `get_losses_dict`).
    """
    return list(self.module_names)

  def call_module(self, module, inputs):
    """Calls a node's loss through `get_losses_dict`, as published.

    Modules with a `get_losses_dict` method (every `Loss`, and other layers
    following the published protocol) return a dict of named losses, which
    the group merges into its result; other layers are called directly.

    Args:
      module: the node's `keras.layers.Layer`.
      inputs: list of the values of the node's input keys, in order.

    Returns:
      The module's dict of losses, or its result.
    """
    get_losses_dict = getattr(module, 'get_losses_dict', None)
    if callable(get_losses_dict):
      return get_losses_dict(*inputs)
    return super().call_module(module, inputs)

  def call(self, outputs, training=None):
    """Computes every loss of the DAG.

    Args:
      outputs: dict of tensors (possibly nested), e.g. a model's outputs with
        'audio' and 'audio_synth' [batch, n_samples].
      training: passed on by Keras to losses whose `call` takes it.

    Returns:
      Dict mapping each loss's name to its scalar float32 value: the union
      of the losses' `get_losses_dict` results (a loss named in the DAG that
      returns several named terms contributes each of them).

    Raises:
      ValueError: where two losses return the same key.
    """
    del training
    loss_outputs = self.run_dag(outputs)
    losses = {}
    for name in self.module_names:
      result = loss_outputs[name]
      result = result if isinstance(result, dict) else {name: result}
      repeated = sorted(set(result) & set(losses))
      if repeated:
        raise ValueError(
            f'Losses of the LossGroup return the same keys {repeated}; give '
            'each loss a distinct `name=`.')
      losses.update(result)
    return losses

  def get_losses_dict(self, outputs, **kwargs):
    """Same as calling the group: `{loss name: scalar loss}`."""
    return self(outputs, **kwargs)
