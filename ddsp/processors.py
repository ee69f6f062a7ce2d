"""Processor: the base class of every synthesizer and effect, and routing processors.

A processor turns raw network outputs into audio in two steps:

1. `get_controls(*inputs)` maps unconstrained network outputs to valid synthesis
   controls (scaling with `exp_sigmoid`, masking harmonics above Nyquist,
   normalizing distributions, ...) and returns them as a dict.
2. `get_signal(**controls)` renders the signal from those controls.

Calling the processor does both. With `return_outputs_dict=True` it returns
`{'signal': signal, 'controls': controls}` so that a DAG can route either.
"""

import gin
import keras


class Processor(keras.layers.Layer):
  """Abstract base class for signal processors (synths, effects, routing).

  Subclasses implement `get_controls` and `get_signal`. Processors hold no
  weights unless they are built `trainable` (e.g. a learned reverb impulse
  response), so `trainable` defaults to False.

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

  def __init__(self, name=None, trainable=False, **kwargs):
    super().__init__(name=name, trainable=trainable, **kwargs)

  def call(self, *args, return_outputs_dict=False, **kwargs):
    """Computes controls from the inputs, then the signal from the controls.

    Args:
      *args: raw inputs, passed to `get_controls`.
      return_outputs_dict: if True, return `{'signal': ..., 'controls': ...}`
        instead of the signal alone.
      **kwargs: raw inputs by name, passed to `get_controls`.

    Returns:
      The signal tensor, or the outputs dict.
    """
    controls = self.get_controls(*args, **kwargs)
    signal = self.get_signal(**controls)
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


gin.register(Processor, module='ddsp.processors')
