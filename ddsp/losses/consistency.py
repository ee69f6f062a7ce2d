"""Consistency losses (experimental): compare synthesis parameters.

For example parameters that a network infers from audio with those used to
synthesize it, or two estimates of the same sinusoids.
"""

import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import validation
from ddsp.losses.base import check_loss_type
from ddsp.losses.base import check_weight
from ddsp.losses.base import Loss
from ddsp.losses.base import mean_difference


def wasserstein_distance(u_values, v_values, u_weights=None, v_weights=None,
                         p=1.0):
  """Differentiable 1-D Wasserstein (p=1) or CDF (p) distance.

  The distance between two weighted sets of points on a line,
  `(integral |U(x) - V(x)|**p dx) ** (1 / p)` where U and V are the cumulative
  distribution functions of the (normalized) weights. With p=1 this is the
  earth mover's distance, `scipy.stats.wasserstein_distance`; with p=2 it is
  `scipy.stats.energy_distance / sqrt(2)`. Batched over leading axes.

  Args:
    u_values: [..., n_u] float32, positions of the points of distribution u
      (any units, e.g. MIDI).
    v_values: [..., n_v] float32, positions of the points of distribution v;
      leading axes as `u_values`.
    u_weights: optional [..., n_u] float32, non-negative masses of the points
      of u (normalized to sum 1 per distribution). None: equal masses. A
      distribution of zero total mass has a CDF of 0 everywhere.
    v_weights: optional [..., n_v] float32, masses of the points of v.
    p: positive number, the order of the distance (1 = Wasserstein).

  Returns:
    [...] float32 distances (in the units of the values). Differentiable with
    respect to the values and the weights.

  Raises:
    ValueError: where the leading axes or the weights' shapes do not match.

  Example:
    >>> float(wasserstein_distance([[0.0, 1.0]], [[2.0, 3.0]])[0])
    2.0
  """
  validation.check_positive(p, 'p')
  u_values = core.tf_float32(u_values)
  v_values = core.tf_float32(v_values)
  validation.check_rank(u_values, 'u_values', tuple(range(1, 8)))
  validation.check_rank(v_values, 'v_values', tuple(range(1, 8)))
  if u_values.shape.rank != v_values.shape.rank:
    raise ValueError('`u_values` and `v_values` must have the same rank. '
                     f'Received: u_values.shape={tuple(u_values.shape)}, '
                     f'v_values.shape={tuple(v_values.shape)}')
  validation.check_same_shape({'u_values': u_values[..., :1],
                               'v_values': v_values[..., :1]})
  if u_weights is not None:
    u_weights = core.tf_float32(u_weights)
    validation.check_same_shape({'u_weights': u_weights, 'u_values': u_values})
  if v_weights is not None:
    v_weights = core.tf_float32(v_weights)
    validation.check_same_shape({'v_weights': v_weights, 'v_values': v_values})

  # Flatten the leading axes: searchsorted works on [rows, n].
  batch_shape = tf.shape(u_values)[:-1]
  n_u, n_v = tf.shape(u_values)[-1], tf.shape(v_values)[-1]
  u_values = tf.reshape(u_values, [-1, n_u])
  v_values = tf.reshape(v_values, [-1, n_v])

  all_values = tf.sort(tf.concat([u_values, v_values], axis=-1), axis=-1)
  deltas = all_values[:, 1:] - all_values[:, :-1]
  edges = all_values[:, :-1]

  def cdf(values, weights):
    order = tf.argsort(values, axis=-1)
    sorted_values = tf.gather(values, order, axis=-1, batch_dims=1)
    # Number of points <= each edge (right-continuous CDF).
    index = tf.searchsorted(sorted_values, edges, side='right')
    if weights is None:
      return tf.cast(index, tf.float32) / tf.cast(tf.shape(values)[-1],
                                                  tf.float32)
    weights = tf.reshape(weights, tf.shape(values))
    cumulative = tf.cumsum(tf.gather(weights, order, axis=-1, batch_dims=1),
                           axis=-1)
    cumulative = tf.pad(cumulative, [[0, 0], [1, 0]])
    return core.safe_divide(tf.gather(cumulative, index, axis=-1, batch_dims=1),
                            cumulative[:, -1:])

  difference = tf.abs(cdf(u_values, u_weights) - cdf(v_values, v_weights))
  if p == 1:
    distance = tf.reduce_sum(difference * deltas, axis=-1)
  else:
    integral = tf.reduce_sum(tf.pow(difference, p) * deltas, axis=-1)
    # The p-th root with a zero (not infinite) gradient where the integral is 0.
    positive = integral > 0.0
    root = tf.pow(tf.where(positive, integral, 1.0), 1.0 / p)
    distance = tf.where(positive, root, 0.0)
  return tf.reshape(distance, batch_shape)


@registration.register('ddsp.losses')
class ParamLoss(Loss):
  """Mean difference between two sets of parameters (experimental).

  `weight * mean_difference(param_a, param_b, loss_type, weights)`, e.g. to
  supervise predicted f0 or amplitudes with known ones.

  Args:
    weight: non-negative scale of the loss.
    loss_type: 'L1', 'L2' or 'COSINE' (see `mean_difference`).
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.

  Example:
    >>> import numpy as np
    >>> loss = ParamLoss(weight=2.0)
    >>> float(loss(np.array([1.0, 2.0]), np.array([1.0, 3.0])))
    1.0
  """

  def __init__(self, weight=1.0, loss_type='L1', name='param_loss', **kwargs):
    super().__init__(name=name, **kwargs)
    self.weight = check_weight(weight, 'weight')
    self.loss_type = check_loss_type(loss_type)

  def call(self, param_a, param_b, weights=None):
    """Computes the loss.

    Args:
      param_a: float32 tensor of any shape, e.g. f0_hz [batch, n_frames, 1].
      param_b: float32 tensor of the same shape.
      weights: optional non-negative weights that broadcast to the shape.

    Returns:
      Scalar float32 loss. Differentiable with respect to both parameters.
    """
    return self.weight * mean_difference(param_a, param_b, self.loss_type,
                                         weights)

  def get_config(self):
    config = super().get_config()
    config.update({'weight': self.weight, 'loss_type': self.loss_type})
    return config


@registration.register('ddsp.losses')
class FilteredNoiseConsistencyLoss(Loss):
  """L1 difference of filtered-noise magnitudes (experimental).

  `weight * mean(|encoded - decoded|)` for the band magnitudes of a
  `FilteredNoise` synth inferred two ways.

  Args:
    weight: non-negative scale of the loss.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.
  """

  def __init__(self, weight=1.0, name='filtered_noise_consistency_loss',
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.weight = check_weight(weight, 'weight')

  def call(self, noise_magnitudes_encoded, noise_magnitudes_decoded):
    """Computes the loss.

    Args:
      noise_magnitudes_encoded: [batch, n_frames, n_bands] float32 linear
        magnitudes (bands from 0 Hz to Nyquist).
      noise_magnitudes_decoded: the same shape.

    Returns:
      Scalar float32 loss. Differentiable with respect to both.
    """
    return self.weight * mean_difference(noise_magnitudes_encoded,
                                         noise_magnitudes_decoded, 'L1')

  def get_config(self):
    config = super().get_config()
    config.update({'weight': self.weight})
    return config


@registration.register('ddsp.losses')
class HarmonicConsistencyLoss(Loss):
  """L1 differences of harmonic-synth parameters (experimental).

  `amp_weight * L1(amplitudes) + dist_weight * L1(harmonic distributions) +
  f0_weight * L1(f0 in MIDI)`. The distribution and f0 terms count only frames
  where the target amplitude is >= `amp_threshold` (elsewhere the target note
  is silent and its pitch and timbre are meaningless); the mask weights the
  mean (masked frames count as 0). As published, the mask comes from the
  target (`harm_amp_target`), not from the prediction: a prediction cannot
  switch its own f0 and distribution terms off, and silent target frames
  (e.g. the synthetic notes' rests, f0 MIDI 0) do not pull the f0 down.

  Args:
    amp_weight: non-negative weight of the amplitude term (published: 1.0).
    dist_weight: non-negative weight of the harmonic distribution term.
    f0_weight: non-negative weight of the f0 term (in semitones).
    amp_threshold: target amplitude below which a frame is masked, >= 0.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.

  Example:
    >>> import numpy as np
    >>> loss = HarmonicConsistencyLoss()
    >>> amp, dist = np.ones([1, 2, 1], 'float32'), np.ones([1, 2, 1], 'float32')
    >>> f0 = np.array([[[440.0], [440.0]]], 'float32')
    >>> round(float(loss(amp, amp, dist, dist, f0, 2.0 * f0)), 4)  # 12 st.
    12.0
  """

  def __init__(self, amp_weight=1.0, dist_weight=1.0, f0_weight=1.0,
               amp_threshold=1e-4, name='harmonic_consistency_loss',
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.amp_weight = check_weight(amp_weight, 'amp_weight')
    self.dist_weight = check_weight(dist_weight, 'dist_weight')
    self.f0_weight = check_weight(f0_weight, 'f0_weight')
    self.amp_threshold = check_weight(amp_threshold, 'amp_threshold')

  def call(self, harm_amp, harm_amp_target, harm_dist, harm_dist_target,
           f0_hz, f0_hz_target):
    """Computes the loss.

    Args:
      harm_amp: [batch, n_frames, 1] float32 linear amplitudes (predicted).
      harm_amp_target: [batch, n_frames, 1] float32 target amplitudes; they
        set the mask.
      harm_dist: [batch, n_frames, n_harmonics] float32 harmonic
        distribution (normalized to sum 1 over harmonics).
      harm_dist_target: [batch, n_frames, n_harmonics] float32.
      f0_hz: [batch, n_frames, 1] float32, Hz.
      f0_hz_target: [batch, n_frames, 1] float32, Hz.

    Returns:
      Scalar float32 loss. Differentiable with respect to every input except
      through the mask.

    Raises:
      ValueError: where paired inputs differ in shape or the amplitudes are
        not [batch, n_frames, 1].
    """
    harm_amp = core.tf_float32(harm_amp)
    harm_amp_target = core.tf_float32(harm_amp_target)
    validation.check_shape(harm_amp, 'harm_amp', [None, None, 1])
    validation.check_shape(harm_amp_target, 'harm_amp_target',
                           [None, None, 1])
    mask = tf.stop_gradient(
        tf.cast(harm_amp_target >= self.amp_threshold, tf.float32))
    amp_loss = mean_difference(harm_amp, harm_amp_target, 'L1')
    dist_loss = mean_difference(harm_dist, harm_dist_target, 'L1',
                                weights=mask)
    f0_loss = mean_difference(core.hz_to_midi(f0_hz),
                              core.hz_to_midi(f0_hz_target), 'L1',
                              weights=mask)
    return (self.amp_weight * amp_loss + self.dist_weight * dist_loss +
            self.f0_weight * f0_loss)

  def get_config(self):
    config = super().get_config()
    config.update({
        'amp_weight': self.amp_weight,
        'dist_weight': self.dist_weight,
        'f0_weight': self.f0_weight,
        'amp_threshold': self.amp_threshold,
    })
    return config


@registration.register('ddsp.losses')
class WassersteinConsistencyLoss(Loss):
  """Wasserstein distance between two sets of sinusoids (experimental).

  In each frame, each set of sinusoids is read as a distribution of
  amplitude (mass) over frequency; the loss is `weight` times the mean over
  batch and frames of the 1-D Wasserstein (earth mover's) distance between
  the two distributions (`wasserstein_distance`, p=1), in semitones when
  `midi` is True (else Hz). Unlike a per-sinusoid difference it does not
  depend on the order of the sinusoids, and it has useful gradients for
  frequencies that are far apart.

  Args:
    weight: non-negative scale of the loss (0 skips the computation).
    midi: compare frequencies as MIDI notes (log scale) rather than in Hz.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.

  Example:
    >>> import numpy as np
    >>> amps = np.ones([1, 1, 2], 'float32')
    >>> loss = WassersteinConsistencyLoss(midi=False)
    >>> freqs_a = np.array([[[100.0, 200.0]]], 'float32')
    >>> float(loss(amps, freqs_a, amps, freqs_a + 10.0))
    10.0
  """

  def __init__(self, weight=1.0, midi=True,
               name='wasserstein_consistency_loss', **kwargs):
    super().__init__(name=name, **kwargs)
    self.weight = check_weight(weight, 'weight')
    self.midi = bool(midi)

  def call(self, amps_a, freqs_a, amps_b, freqs_b):
    """Computes the loss.

    Args:
      amps_a: [batch, n_frames, n_sinusoids_a] float32 non-negative linear
        amplitudes of the first set.
      freqs_a: [batch, n_frames, n_sinusoids_a] float32 frequencies, Hz.
      amps_b: [batch, n_frames, n_sinusoids_b] float32 amplitudes of the
        second set.
      freqs_b: [batch, n_frames, n_sinusoids_b] float32 frequencies, Hz.

    Returns:
      Scalar float32 loss (semitones, or Hz with midi=False).
      Differentiable with respect to amplitudes and frequencies.
    """
    if self.weight == 0:
      return tf.constant(0.0)
    freqs_a = core.tf_float32(freqs_a)
    freqs_b = core.tf_float32(freqs_b)
    if self.midi:
      freqs_a = core.hz_to_midi(freqs_a)
      freqs_b = core.hz_to_midi(freqs_b)
    distance = wasserstein_distance(freqs_a, freqs_b, amps_a, amps_b, p=1.0)
    return self.weight * tf.reduce_mean(distance)

  def get_config(self):
    config = super().get_config()
    config.update({'weight': self.weight, 'midi': self.midi})
    return config


@registration.register('ddsp.losses')
def amp_loss(amp, amp_target, loss_type='L1', weights=None, log=False,
             amin=1e-5):
  """Mean difference of two amplitudes, optionally on a log scale.

  `mean_difference(a, a_target, loss_type, weights)` with
  `a = log10(max(amin, amp))` when `log` is True (a psychophysically fairer
  scale for audio: 10x louder counts the same at any level), else the linear
  amplitudes.

  Args:
    amp: float32 tensor of linear amplitudes >= 0, e.g. harmonic amplitudes
      [batch, n_frames, n_harmonics].
    amp_target: float32 tensor of the same shape.
    loss_type: 'L1', 'L2' or 'COSINE' (see `mean_difference`).
    weights: optional non-negative weights broadcasting to the shape.
    log: compare `log10(max(amin, amplitude))` instead of the amplitudes.
    amin: positive floor of the amplitudes before the log (1e-5 = -100 dB).

  Returns:
    Scalar float32 loss (in decades of amplitude with `log`). Differentiable
    with respect to both amplitudes (zero gradient below `amin` with `log`).

  Raises:
    ValueError: for an unknown `loss_type`, shapes that differ, or a
      non-positive `amin`.

  Example:
    >>> float(amp_loss([1.0, 0.1], [10.0, 0.1], log=True))
    0.5
    >>> float(amp_loss([1.0, 0.1], [10.0, 0.1]))
    4.5
  """
  validation.check_positive(amin, 'amin')
  amp = core.tf_float32(amp)
  amp_target = core.tf_float32(amp_target)
  if log:
    amp = core.log10(tf.maximum(amin, amp))
    amp_target = core.log10(tf.maximum(amin, amp_target))
  return mean_difference(amp, amp_target, loss_type, weights)


@registration.register('ddsp.losses')
def freq_loss(f_hz, f_hz_target, loss_type='L1', weights=None):
  """Mean difference of two frequencies in semitones (MIDI).

  `mean_difference(hz_to_midi(f_hz), hz_to_midi(f_hz_target), loss_type,
  weights)`: a semitone error counts the same at any pitch.

  Args:
    f_hz: float32 tensor of frequencies in Hz, e.g. f0_hz
      [batch, n_frames, 1]; 0 Hz (unvoiced) maps to MIDI 0.
    f_hz_target: float32 tensor of the same shape, Hz.
    loss_type: 'L1', 'L2' or 'COSINE' (see `mean_difference`).
    weights: optional non-negative weights broadcasting to the shape, e.g. a
      voicing mask.

  Returns:
    Scalar float32 loss (semitones for 'L1'). Differentiable with respect to
    both frequencies where they are > 0.

  Raises:
    ValueError: for an unknown `loss_type` or shapes that differ.

  Example:
    >>> float(freq_loss([440.0, 220.0], [880.0, 220.0]))
    6.0
  """
  return mean_difference(core.hz_to_midi(f_hz), core.hz_to_midi(f_hz_target),
                         loss_type, weights)
