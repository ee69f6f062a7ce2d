"""Likelihood losses over sets of sinusoids (experimental).

Both losses place Gaussian kernels on a log-frequency (MIDI) axis and score
one set of frequencies by its likelihood under the kernels of another, as in
the published DDSP 3.x library (where they came with the ICML 2020
self-supervised pitch model):

* `KDEConsistencyLoss`: two sets of sinusoids (amplitudes and frequencies)
  should explain each other: `-log p(a | b) - log p(b | a)` under Gaussian
  kernel density estimates, plus a term matching their mean amplitudes.
* `TWMLoss`: a differentiable Two-Way Mismatch (Maher and Beauchamp, 1994,
  "Fundamental frequency estimation of musical signals using a two-way
  mismatch procedure"): which f0 candidate's harmonic series best explains a
  set of sinusoids, and is best explained by them. `TWMLoss.predict_f0` picks
  that candidate.

`GaussianMixture` is the small batched mixture both use (the published
library used tensorflow-probability's `MixtureSameFamily`, which no longer
imports with Keras 3).
"""

import math

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import validation
from ddsp.losses.base import check_weight
from ddsp.losses.base import Loss

# Smallest probability taken into a log (keeps gradients finite at 0).
_TINY_PROB = 1e-30
# Amplitude that replaces 0 before normalizing mixture weights, as published.
_ZERO_AMP = 1e-7


class GaussianMixture:
  """A batch of 1-D Gaussian mixtures whose components share one scale.

  `p(x) = sum_k probs[..., k] * Normal(x; loc[..., k], scale)`, a stand-in
  for `tfp.distributions.MixtureSameFamily(Categorical(probs),
  Normal(loc, scale))` with the same `log_prob` broadcasting.

  Args:
    probs: [..., n_components] float32 component weights, >= 0, summing to 1
      over the last axis.
    loc: [..., n_components] float32 component centres (e.g. MIDI notes);
      broadcasts with `probs`.
    scale: positive number, the standard deviation of every component (in the
      units of `loc`).

  Example:
    >>> mixture = GaussianMixture([0.5, 0.5], [0.0, 2.0], scale=1.0)
    >>> round(float(mixture.log_prob(1.0)), 4)  # log N(1; 0, 1).
    -1.4189
  """

  def __init__(self, probs, loc, scale):
    validation.check_positive(scale, 'scale')
    self.probs = core.tf_float32(probs)
    self.loc = core.tf_float32(loc)
    self.scale = float(scale)

  def _log_prob_of(self, x, loc, log_probs):
    z = (x - loc) / self.scale
    log_normal = (-0.5 * tf.square(z) - math.log(self.scale) -
                  0.5 * math.log(2.0 * math.pi))
    return tf.reduce_logsumexp(log_probs + log_normal, axis=-1)

  def log_prob(self, x):
    """Log density at `x`, broadcasting `x` against the batch shape.

    As in tensorflow-probability, `x` has shape `sample_shape + batch_shape`
    (numpy broadcasting against the mixtures' batch shape `probs.shape[:-1]`).

    Args:
      x: float32 tensor of points.

    Returns:
      float32 tensor of log densities, the broadcast shape. Differentiable
      with respect to `x`, `probs` and `loc`.
    """
    x = core.tf_float32(x)[..., tf.newaxis]
    return self._log_prob_of(x, self.loc, self._log_probs())

  def points_log_prob(self, points):
    """Log density of several points under each mixture of the batch.

    Args:
      points: [..., n_points] float32, the batch shape followed by points.

    Returns:
      [..., n_points] float32 log densities. Differentiable.
    """
    points = core.tf_float32(points)[..., tf.newaxis]
    loc = self.loc[..., tf.newaxis, :]
    log_probs = self._log_probs()[..., tf.newaxis, :]
    return self._log_prob_of(points, loc, log_probs)

  def _log_probs(self):
    return tf.math.log(tf.maximum(self.probs, _TINY_PROB))


def _amplitude_kde(amps, freqs_hz, scale):
  """Gaussian KDE in MIDI around each sinusoid, weighted by its amplitude."""
  amps = core.tf_float32(amps)
  amps = tf.where(amps == 0.0, _ZERO_AMP * tf.ones_like(amps), amps)
  probs = core.safe_divide(amps, tf.reduce_sum(amps, axis=-1, keepdims=True))
  return GaussianMixture(probs, core.hz_to_midi(freqs_hz), scale)


def _check_sinusoids(amps, freqs, amps_name, freqs_name):
  """Validates [batch, n_frames, n] amplitudes and frequencies; float32."""
  amps = core.tf_float32(amps)
  freqs = core.tf_float32(freqs)
  validation.check_rank(amps, amps_name, 3)
  validation.check_same_shape({amps_name: amps, freqs_name: freqs})
  return amps, freqs


def _check_frames(tensors):
  """Validates that [batch, n_frames, ...] tensors agree on both axes."""
  validation.check_same_dim(tensors, 0, 'batch')
  validation.check_same_dim(tensors, 1, 'n_frames')


@registration.register('ddsp.losses')
class KDEConsistencyLoss(Loss):
  """Kernel-density consistency of two sets of sinusoids (experimental).

  Each set of sinusoids (amplitudes and frequencies per frame) defines a
  Gaussian kernel density estimate on the MIDI axis, each kernel weighted by
  its sinusoid's normalized amplitude. The loss is

      weight_a * mean(-log p(a | b)) + weight_b * mean(-log p(b | a))
      + weight_mean_amp * mean(|mean(amps_a) - mean(amps_b)|),

  where `-log p(a | b)` is, per frame, the mean over the sinusoids of a of
  their normalized amplitude times their negative log density under b's KDE
  (kernels of width `scale_b`). The two likelihoods (close to Jeffreys'
  divergence) ignore the absolute level of the amplitudes; the third term
  matches it. Adapted, as published, from the differentiable two-way
  mismatch (`TWMLoss`).

  Args:
    weight_a: non-negative weight of the `-log p(a | b)` term.
    weight_b: non-negative weight of the `-log p(b | a)` term.
    weight_mean_amp: non-negative weight of the mean-amplitude term.
    scale_a: positive width (semitones) of the kernels around sinusoids of a.
    scale_b: positive width (semitones) of the kernels around sinusoids of b.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.

  Example:
    >>> amps = np.ones([1, 1, 2], 'float32')
    >>> freqs = np.array([[[220.0, 440.0]]], 'float32')
    >>> loss = KDEConsistencyLoss()
    >>> float(loss(amps, freqs, amps, freqs)) < float(
    ...     loss(amps, freqs, amps, 1.1 * freqs))
    True
  """

  def __init__(self, weight_a=1.0, weight_b=1.0, weight_mean_amp=1.0,
               scale_a=0.1, scale_b=0.1, name='kde_consistency_loss',
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.weight_a = check_weight(weight_a, 'weight_a')
    self.weight_b = check_weight(weight_b, 'weight_b')
    self.weight_mean_amp = check_weight(weight_mean_amp, 'weight_mean_amp')
    self.scale_a = validation.check_positive(scale_a, 'scale_a')
    self.scale_b = validation.check_positive(scale_b, 'scale_b')

  def call(self, amps_a, freqs_a, amps_b, freqs_b):
    """Computes the loss.

    Args:
      amps_a: [batch, n_frames, n_a] float32 linear amplitudes >= 0 of the
        first set of sinusoids.
      freqs_a: [batch, n_frames, n_a] float32 frequencies, Hz (> 0).
      amps_b: [batch, n_frames, n_b] float32 amplitudes of the second set.
      freqs_b: [batch, n_frames, n_b] float32 frequencies, Hz.

    Returns:
      Scalar float32 loss. Differentiable with respect to every input.

    Raises:
      ValueError: for inputs that are not [batch, n_frames, n], amplitudes
        and frequencies of a set that differ in shape, or sets that differ in
        batch or frames.
    """
    amps_a, freqs_a = _check_sinusoids(amps_a, freqs_a, 'amps_a', 'freqs_a')
    amps_b, freqs_b = _check_sinusoids(amps_b, freqs_b, 'amps_b', 'freqs_b')
    _check_frames({'amps_a': amps_a, 'amps_b': amps_b})
    loss = tf.constant(0.0)
    if self.weight_a > 0.0:
      nll_a = self.nll(amps_a, freqs_a, amps_b, freqs_b, self.scale_b)
      loss += self.weight_a * tf.reduce_mean(nll_a)
    if self.weight_b > 0.0:
      nll_b = self.nll(amps_b, freqs_b, amps_a, freqs_a, self.scale_a)
      loss += self.weight_b * tf.reduce_mean(nll_b)
    if self.weight_mean_amp > 0.0:
      mean_amp_a = tf.reduce_mean(amps_a, axis=-1)
      mean_amp_b = tf.reduce_mean(amps_b, axis=-1)
      loss += self.weight_mean_amp * tf.reduce_mean(
          tf.abs(mean_amp_a - mean_amp_b))
    return loss

  def nll(self, amps, freqs, amps_target, freqs_target, scale_target):
    """Negative log-likelihood of source sinusoids given target sinusoids.

    Args:
      amps: [batch, n_frames, n] float32 source amplitudes >= 0.
      freqs: [batch, n_frames, n] float32 source frequencies, Hz.
      amps_target: [batch, n_frames, n_target] float32 target amplitudes.
      freqs_target: [batch, n_frames, n_target] float32 target frequencies.
      scale_target: positive kernel width (semitones) around the targets.

    Returns:
      [batch, n_frames] float32: per frame, the mean over the source
      sinusoids of (normalized amplitude * -log density in MIDI).
    """
    kde = self.kernel_density_estimate(amps_target, freqs_target,
                                       scale_target)
    nll = -kde.points_log_prob(core.hz_to_midi(freqs))
    amps = core.tf_float32(amps)
    amps_norm = core.safe_divide(amps,
                                 tf.reduce_sum(amps, axis=-1, keepdims=True))
    return tf.reduce_mean(nll * amps_norm, axis=-1)

  def kernel_density_estimate(self, amps, freqs, scale):
    """Gaussian KDE on the MIDI axis around sinusoids, weighted by amplitude.

    Args:
      amps: [batch, n_frames, n] float32 amplitudes >= 0 (a zero amplitude
        counts as 1e-7, so a silent frame gives equal weights, not NaN).
      freqs: [batch, n_frames, n] float32 frequencies, Hz.
      scale: positive kernel width in semitones.

    Returns:
      A `GaussianMixture` with batch shape [batch, n_frames] and n
      components.
    """
    return _amplitude_kde(amps, freqs, scale)

  def get_config(self):
    config = super().get_config()
    config.update({
        'weight_a': self.weight_a,
        'weight_b': self.weight_b,
        'weight_mean_amp': self.weight_mean_amp,
        'scale_a': self.scale_a,
        'scale_b': self.scale_b,
    })
    return config


@registration.register('ddsp.losses')
class TWMLoss(Loss):
  """Differentiable Two-Way Mismatch loss over f0 candidates (experimental).

  A smooth, probabilistic version of the Two-Way Mismatch f0 estimator. For
  each f0 candidate of a frame:

  * `-log p(sinusoids | harmonics)`: each sinusoid's frequency divided by the
    candidate is scored under Gaussians of width `harmonics_scale` at the
    harmonic numbers 1..`n_harmonic_gaussians` (equal weights); the scores
    are averaged with the sinusoids' amplitudes as weights. Low candidates
    (sub-harmonics) do well here.
  * `-log p(harmonics | sinusoids)`: the candidate's first
    `n_harmonic_points` harmonics (in MIDI) are scored under an
    amplitude-weighted Gaussian KDE of width `sinusoids_scale` around the
    sinusoids, weighted by a prior falling linearly from 1 to
    1 / n_harmonic_points; harmonics at or above Nyquist are left out (the
    rest reweighted). High candidates do well here.

  Their weighted sum is lowest near the true f0, where both agree. The loss
  is the mean over batch, frames and candidates of each candidate's cost
  times its softmin weight (`softmax(-cost / softmin_temperature)` over the
  candidates), so it concentrates on the best candidates and stays
  differentiable; `predict_f0` picks the lowest-cost candidate instead.

  Args:
    sinusoids_weight: non-negative weight of `-log p(sinusoids | harmonics)`.
    harmonics_weight: non-negative weight of `-log p(harmonics | sinusoids)`.
    sinusoids_scale: positive width (semitones) of the Gaussians around each
      sinusoid.
    harmonics_scale: positive width (in harmonic numbers) of the Gaussians
      around each harmonic.
    n_harmonic_points: positive int, harmonics of each candidate scored in
      `-log p(harmonics | sinusoids)`.
    n_harmonic_gaussians: positive int, Gaussians (harmonic numbers) in
      `-log p(sinusoids | harmonics)`.
    softmin_temperature: positive number; lower values weight the best
      candidate more.
    sample_rate: positive number, Hz; harmonics at or above sample_rate / 2
      are ignored.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.

  Example:
    >>> f0 = 220.0
    >>> freqs = (f0 * np.arange(1, 9))[np.newaxis, np.newaxis].astype('float32')
    >>> amps = (1.0 / np.arange(1, 9))[np.newaxis, np.newaxis].astype('float32')
    >>> candidates = np.array([[[110, 146.7, 220, 330, 440]]], 'float32')
    >>> TWMLoss().predict_f0(candidates, freqs, amps)[0, 0]
    array([220.], dtype=float32)
  """

  def __init__(self, sinusoids_weight=1.0, harmonics_weight=1.0,
               sinusoids_scale=0.5, harmonics_scale=0.2, n_harmonic_points=10,
               n_harmonic_gaussians=30, softmin_temperature=1.0,
               sample_rate=16000, name='twm_loss', **kwargs):
    super().__init__(name=name, **kwargs)
    self.sinusoids_weight = check_weight(sinusoids_weight, 'sinusoids_weight')
    self.harmonics_weight = check_weight(harmonics_weight, 'harmonics_weight')
    self.sinusoids_scale = validation.check_positive(sinusoids_scale,
                                                     'sinusoids_scale')
    self.harmonics_scale = validation.check_positive(harmonics_scale,
                                                     'harmonics_scale')
    self.n_harmonic_points = validation.check_positive_int(
        n_harmonic_points, 'n_harmonic_points')
    self.n_harmonic_gaussians = validation.check_positive_int(
        n_harmonic_gaussians, 'n_harmonic_gaussians')
    self.softmin_temperature = validation.check_positive(
        softmin_temperature, 'softmin_temperature')
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')

  def call(self, f0_candidates, freqs, amps):
    """Computes the loss.

    Args:
      f0_candidates: [batch, n_frames, n_candidates] float32 candidate f0s,
        Hz (> 0).
      freqs: [batch, n_frames, n_sinusoids] float32 sinusoid frequencies, Hz.
      amps: [batch, n_frames, n_sinusoids] float32 sinusoid amplitudes > 0.

    Returns:
      Scalar float32 loss (nats). Differentiable with respect to every input.

    Raises:
      ValueError: for inputs that are not [batch, n_frames, n], `freqs` and
        `amps` of different shapes, or a batch or frame count that differs.
    """
    cost = self._cost(f0_candidates, freqs, amps)
    softmin = tf.nn.softmax(-cost / self.softmin_temperature, axis=-1)
    return tf.reduce_mean(cost * softmin)

  def predict_f0(self, f0_candidates, freqs, amps):
    """The lowest-cost f0 candidate of each frame (eager only).

    Args:
      f0_candidates: [batch, n_frames, n_candidates] float32, Hz.
      freqs: [batch, n_frames, n_sinusoids] float32, Hz.
      amps: [batch, n_frames, n_sinusoids] float32, > 0.

    Returns:
      [batch, n_frames, 1] numpy array, Hz: the candidate of lowest
      `sinusoids_weight * -log p(sinusoids | harmonics) + harmonics_weight *
      -log p(harmonics | sinusoids)` (NaN costs ignored). Not
      differentiable.
    """
    cost = self._cost(f0_candidates, freqs, amps).numpy()
    index = np.nanargmin(cost, axis=-1)[..., np.newaxis]
    return np.take_along_axis(np.asarray(f0_candidates, np.float32), index,
                              axis=-1)

  def _cost(self, f0_candidates, freqs, amps):
    sinusoids_loss, harmonics_loss = self.get_loss_tensors(
        f0_candidates, freqs, amps)
    return (self.sinusoids_weight * sinusoids_loss +
            self.harmonics_weight * harmonics_loss)

  def get_loss_tensors(self, f0_candidates, freqs, amps):
    """Both mismatch terms for every candidate.

    Args:
      f0_candidates: [batch, n_frames, n_candidates] float32, Hz.
      freqs: [batch, n_frames, n_sinusoids] float32, Hz.
      amps: [batch, n_frames, n_sinusoids] float32, > 0.

    Returns:
      sinusoids_loss: [batch, n_frames, n_candidates] float32,
        `-log p(sinusoids | harmonics)`.
      harmonics_loss: [batch, n_frames, n_candidates] float32,
        `-log p(harmonics | sinusoids)`.
    """
    f0_candidates = core.tf_float32(f0_candidates)
    validation.check_rank(f0_candidates, 'f0_candidates', 3)
    amps, freqs = _check_sinusoids(amps, freqs, 'amps', 'freqs')
    _check_frames({'f0_candidates': f0_candidates, 'freqs': freqs})

    # -log p(sinusoids | harmonics): [batch, n_frames, candidate, sinusoid].
    ratios = core.safe_divide(freqs[:, :, tf.newaxis, :],
                              f0_candidates[:, :, :, tf.newaxis])
    nll_sinusoids = -self.get_p_sinusoids_given_harmonics().log_prob(ratios)
    weights = amps[:, :, tf.newaxis, :]
    sinusoids_loss = core.safe_divide(
        tf.reduce_sum(nll_sinusoids * weights, axis=-1),
        tf.reduce_sum(weights, axis=-1))

    # -log p(harmonics | sinusoids): [batch, n_frames, candidate, harmonic].
    harmonics = self.get_candidate_harmonics(f0_candidates, as_midi=True)
    kde = self.get_p_harmonics_given_sinusoids(freqs, amps)
    shape = tf.shape(harmonics)
    flat = tf.reshape(harmonics, tf.concat([shape[:2], [-1]], axis=0))
    nll_harmonics = tf.reshape(-kde.points_log_prob(flat), shape)
    prior = tf.linspace(1.0, 1.0 / self.n_harmonic_points,
                        self.n_harmonic_points)
    harmonics_loss = nll_harmonics * prior
    nyquist_midi = core.hz_to_midi(self.sample_rate / 2.0)
    below_nyquist = tf.cast(harmonics < nyquist_midi, tf.float32)
    harmonics_loss *= core.safe_divide(
        below_nyquist, tf.reduce_mean(below_nyquist, axis=-1, keepdims=True))
    harmonics_loss = tf.reduce_mean(harmonics_loss, axis=-1)
    return sinusoids_loss, harmonics_loss

  def get_p_sinusoids_given_harmonics(self):
    """Gaussians at harmonic numbers 1..n_harmonic_gaussians, equal weights.

    Returns:
      A `GaussianMixture` over frequency ratios (sinusoid / candidate), with
      width `harmonics_scale` and an empty batch shape.
    """
    n = self.n_harmonic_gaussians
    return GaussianMixture(tf.ones([n]) / n,
                           tf.range(1, n + 1, dtype=tf.float32),
                           self.harmonics_scale)

  def get_p_harmonics_given_sinusoids(self, freqs, amps):
    """Amplitude-weighted Gaussian KDE around the sinusoids, in MIDI.

    Args:
      freqs: [batch, n_frames, n_sinusoids] float32, Hz.
      amps: [batch, n_frames, n_sinusoids] float32 (a zero amplitude counts
        as 1e-7).

    Returns:
      A `GaussianMixture` of width `sinusoids_scale` with batch shape
      [batch, n_frames].
    """
    return _amplitude_kde(amps, freqs, self.sinusoids_scale)

  def get_candidate_harmonics(self, f0_candidates, as_midi=True):
    """The harmonic series of each candidate.

    Args:
      f0_candidates: [batch, n_frames, n_candidates] float32, Hz.
      as_midi: return MIDI notes instead of Hz.

    Returns:
      [batch, n_frames, n_candidates, n_harmonic_points] float32: candidate
      times 1..n_harmonic_points (Hz, or MIDI with `as_midi`).
    """
    n = tf.range(1, self.n_harmonic_points + 1, dtype=tf.float32)
    harmonics = core.tf_float32(f0_candidates)[..., tf.newaxis] * n
    return core.hz_to_midi(harmonics) if as_midi else harmonics

  def get_config(self):
    config = super().get_config()
    config.update({
        'sinusoids_weight': self.sinusoids_weight,
        'harmonics_weight': self.harmonics_weight,
        'sinusoids_scale': self.sinusoids_scale,
        'harmonics_scale': self.harmonics_scale,
        'n_harmonic_points': self.n_harmonic_points,
        'n_harmonic_gaussians': self.n_harmonic_gaussians,
        'softmin_temperature': self.softmin_temperature,
        'sample_rate': self.sample_rate,
    })
    return config
