"""Model: the base class of ddsp models (a Keras 3 model over feature dicts)."""

import logging
import os

import keras
import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp.training import checkpoints
from ddsp.training import nn


@registration.register('ddsp.training.models')
class Model(keras.Model):
  """A model that maps a dict of features to a dict of outputs.

  Subclasses implement `get_outputs(features, training)` and
  `get_audio_from_outputs(outputs)`. Calling the model returns the outputs
  dict, or `(outputs, losses)` with `return_losses=True`, where every loss
  object in `loss_objs` compares the target audio (`features['audio']`) with
  the model's audio, and `losses['total_loss']` is the sum of all the loss
  terms (each already weighted by its loss object, e.g. `SpectralLoss`'s
  `mag_weight`).

  Args:
    losses: a loss object or a list of them: `ddsp.losses.Loss` layers (their
      `get_losses_dict(target_audio, audio)` gives named terms) or any callable
      `(target_audio, audio) -> scalar`.
    **kwargs: passed to `keras.Model` (name, ...).
  """

  def __init__(self, losses=None, **kwargs):
    super().__init__(**kwargs)
    self.loss_objs = list(core.make_iterable(losses))
    for loss_obj in self.loss_objs:
      if not callable(loss_obj):
        raise TypeError('`losses` must be loss objects (ddsp.losses.Loss or '
                        f'callables). Received: {loss_obj!r}')
    # Attributes, so that tf.train.Checkpoint sees the losses' weights.
    nn.track_layers(self, 'loss_obj', [
        l for l in self.loss_objs if isinstance(l, keras.layers.Layer)])

  def build(self, *args, **kwargs):
    # Sub-layers build themselves on their first call.
    del args, kwargs
    self.built = True

  def call(self, features, training=False, return_losses=False):
    """Runs the model.

    Args:
      features: dict of feature tensors (e.g. 'audio' [batch, n_samples],
        'f0_hz' and 'loudness_db' [batch, n_frames]).
      training: training mode, passed to the sub-layers.
      return_losses: also compute the losses (needs features['audio']).

    Returns:
      The outputs dict, or (outputs, losses) with `return_losses`.
    """
    outputs = self.get_outputs(features, training=training)
    if not return_losses:
      return outputs
    return outputs, self.compute_losses(features, outputs)

  def get_outputs(self, features, training=False):
    """Maps features to the outputs dict."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement get_outputs().')

  def get_audio_from_outputs(self, outputs):
    """The model's audio [batch, n_samples] from its outputs dict."""
    raise NotImplementedError(
        f'{type(self).__name__} must implement get_audio_from_outputs().')

  def get_target_audio(self, features):
    """The audio [batch, n_samples] that losses compare the model's with."""
    if 'audio' not in features:
      raise ValueError("Computing the losses needs the target audio "
                       "features['audio']; the features have keys "
                       f'{sorted(features)}.')
    return features['audio']

  def compute_losses(self, features, outputs):
    """Losses of every loss object, plus 'total_loss' (their sum).

    Args:
      features: the input features (with the target 'audio').
      outputs: the outputs dict of the model.

    Returns:
      Dict of scalar float32 losses. Differentiable with respect to the
      model's weights.
    """
    target = self.get_target_audio(features)
    audio = self.get_audio_from_outputs(outputs)
    losses = {}
    for loss_obj in self.loss_objs:
      if hasattr(loss_obj, 'get_losses_dict'):
        terms = loss_obj.get_losses_dict(target, audio)
      else:
        terms = {getattr(loss_obj, 'name', None) or getattr(
            loss_obj, '__name__', type(loss_obj).__name__): loss_obj(
                target, audio)}
      for name, value in terms.items():
        if name in losses:
          raise ValueError(f'Two losses are named {name!r}; give the loss '
                           'objects different names.')
        losses[name] = value
    losses['total_loss'] = (tf.add_n(list(losses.values())) if losses
                            else tf.constant(0.0))
    return losses

  def get_controls(self, features, keys=None, training=False):
    """The outputs dict (or only `keys`, nested paths allowed) of features."""
    outputs = self(features, training=training)
    if keys is None:
      return outputs
    return {k: core.nested_lookup(k, outputs) for k in core.make_iterable(keys)}

  def restore(self, checkpoint_path, verbose=True, restore_keys=None):
    """Restores the model's weights from a checkpoint (file or directory).

    The model must be built (called once) first so that its variables exist.
    Every variable must be in the checkpoint (`checkpoints.restore`);
    optimizer state and other objects in the checkpoint are ignored.

    Args:
      checkpoint_path: a checkpoint prefix ('.../ckpt-300') or a directory,
        in which the newest readable checkpoint is used.
      verbose: log what was restored.
      restore_keys: None for the whole model, or a list of names of its
        attributes (e.g. ['decoder']) to restore only those sub-modules.

    Returns:
      The restored checkpoint prefix.

    Raises:
      FileNotFoundError: if no checkpoint is found.
      ValueError: the model is not built, or the checkpoint lacks some of
        its variables (named in the message).
    """
    if not (self.built and self.variables):
      raise ValueError(
          f'The model {self.name!r} has no variables yet: call it once on '
          'features (or `checkpoints.build_model(model)`) before restoring '
          f'{os.fspath(checkpoint_path)!r}.')
    target = self
    if restore_keys is not None:
      missing = [k for k in restore_keys if not hasattr(self, k)]
      if missing:
        raise ValueError(f'`restore_keys` names {missing}, which are not '
                         f'attributes of {type(self).__name__}. Received: '
                         f'restore_keys={restore_keys!r}')
      target = tf.train.Checkpoint(
          **{k: getattr(self, k) for k in restore_keys})
    path = checkpoints.restore(checkpoint_path, model=target)
    if verbose:
      logging.info('Restored %s from %s', self.name, path)
    return path
