"""Tests for ddsp.losses.sinusoidal (TWMLoss, KDEConsistencyLoss) against
float64 numpy / scipy references written from the definitions."""

import doctest

import keras
import numpy as np
import pytest
import scipy.special
import scipy.stats
import tensorflow as tf

from ddsp import losses
from ddsp.losses import sinusoidal


def _midi(f_hz):
  return 12.0 * np.log2(np.asarray(f_hz, np.float64) / 440.0) + 69.0


def _np_mixture_log_prob(x, probs, loc, scale):
  """log sum_k probs_k N(x; loc_k, scale), x [..., n] vs loc [..., k]."""
  log_normal = scipy.stats.norm.logpdf(x[..., :, None], loc[..., None, :],
                                       scale)
  return scipy.special.logsumexp(log_normal + np.log(probs)[..., None, :],
                                 axis=-1)


def _harmonic_spectrum(f0_hz, n_harmonics=8, n_frames=1):
  """[1, n_frames, n_harmonics] frequencies f0 * k and amplitudes 1 / k."""
  k = np.arange(1, n_harmonics + 1, dtype=np.float64)
  freqs = np.tile(f0_hz * k, [1, n_frames, 1])
  amps = np.tile(1.0 / k, [1, n_frames, 1])
  return freqs.astype(np.float32), amps.astype(np.float32)


# ------------------------------------------------------------------------------
# GaussianMixture.
# ------------------------------------------------------------------------------
def test_gaussian_mixture_matches_scipy(rng):
  probs = rng.dirichlet(np.ones(4), size=(2, 3))
  loc = rng.normal(60.0, 5.0, size=(2, 3, 4))
  mixture = sinusoidal.GaussianMixture(probs, loc, scale=0.7)
  points = rng.normal(60.0, 5.0, size=(2, 3, 5))
  np.testing.assert_allclose(
      mixture.points_log_prob(points).numpy(),
      _np_mixture_log_prob(points, probs, loc, 0.7), rtol=1e-5, atol=1e-4)
  # log_prob broadcasts a sample axis in front of the batch, as in tfp.
  samples = rng.normal(60.0, 5.0, size=(7, 2, 3))
  expected = _np_mixture_log_prob(np.moveaxis(samples, 0, -1), probs, loc, 0.7)
  np.testing.assert_allclose(mixture.log_prob(samples).numpy(),
                             np.moveaxis(expected, -1, 0), rtol=1e-5,
                             atol=1e-4)
  with pytest.raises(ValueError, match=r'`scale` must be a positive number. '
                     r'Received: scale=0.0'):
    sinusoidal.GaussianMixture(probs, loc, scale=0.0)


# ------------------------------------------------------------------------------
# KDEConsistencyLoss.
# ------------------------------------------------------------------------------
def _np_kde_nll(amps, freqs, amps_target, freqs_target, scale):
  amps_target = np.where(amps_target == 0.0, 1e-7, amps_target)
  probs = amps_target / amps_target.sum(-1, keepdims=True)
  log_p = _np_mixture_log_prob(_midi(freqs), probs, _midi(freqs_target), scale)
  amps_norm = amps / amps.sum(-1, keepdims=True)
  return np.mean(-log_p * amps_norm, axis=-1)


def _np_kde_loss(amps_a, freqs_a, amps_b, freqs_b, weight_a=1.0, weight_b=1.0,
                 weight_mean_amp=1.0, scale_a=0.1, scale_b=0.1):
  args = [np.asarray(x, np.float64) for x in (amps_a, freqs_a, amps_b,
                                               freqs_b)]
  amps_a, freqs_a, amps_b, freqs_b = args
  return (weight_a * np.mean(_np_kde_nll(amps_a, freqs_a, amps_b, freqs_b,
                                         scale_b)) +
          weight_b * np.mean(_np_kde_nll(amps_b, freqs_b, amps_a, freqs_a,
                                         scale_a)) +
          weight_mean_amp * np.mean(np.abs(amps_a.mean(-1) - amps_b.mean(-1))))


def _two_sets(rng, batch=2, n_frames=3, n_a=4, n_b=5):
  amps_a = rng.uniform(0.1, 1.0, size=(batch, n_frames, n_a))
  freqs_a = rng.uniform(100.0, 2000.0, size=(batch, n_frames, n_a))
  amps_b = rng.uniform(0.1, 1.0, size=(batch, n_frames, n_b))
  # b: a's sinusoids detuned by up to a semitone, plus one more.
  detune = 2.0 ** (rng.uniform(-1.0, 1.0, size=(batch, n_frames, n_a)) / 12)
  extra = rng.uniform(100.0, 2000.0, size=(batch, n_frames, n_b - n_a))
  freqs_b = np.concatenate([freqs_a * detune, extra], axis=-1)
  return [x.astype(np.float32) for x in (amps_a, freqs_a, amps_b, freqs_b)]


def test_kde_consistency_loss_matches_numpy(rng):
  sets = _two_sets(rng)
  loss = losses.KDEConsistencyLoss(weight_a=0.5, weight_b=2.0,
                                   weight_mean_amp=3.0, scale_a=0.3,
                                   scale_b=0.6)
  expected = _np_kde_loss(*sets, weight_a=0.5, weight_b=2.0,
                          weight_mean_amp=3.0, scale_a=0.3, scale_b=0.6)
  np.testing.assert_allclose(float(loss(*sets)), expected, rtol=1e-5)
  # Each term on its own, and per-frame nll values.
  np.testing.assert_allclose(
      loss.nll(sets[0], sets[1], sets[2], sets[3], 0.6).numpy(),
      _np_kde_nll(*[np.float64(x) for x in sets], 0.6), rtol=1e-5)
  only_b = losses.KDEConsistencyLoss(weight_a=0.0, weight_mean_amp=0.0)
  np.testing.assert_allclose(
      float(only_b(*sets)),
      _np_kde_loss(*sets, weight_a=0.0, weight_mean_amp=0.0), rtol=1e-5)
  silent = losses.KDEConsistencyLoss(weight_a=0.0, weight_b=0.0,
                                     weight_mean_amp=0.0)
  assert float(silent(*sets)) == 0.0


def test_kde_matches_scipy_gaussian_kde(rng):
  amps = rng.uniform(0.1, 1.0, size=(1, 1, 6))
  freqs = rng.uniform(100.0, 2000.0, size=(1, 1, 6))
  scale = 0.4
  kde = losses.KDEConsistencyLoss().kernel_density_estimate(amps, freqs, scale)
  data = _midi(freqs[0, 0])
  weights = amps[0, 0]
  # gaussian_kde's kernel width is factor * (weighted std of the data).
  factor = scale / np.sqrt(np.cov(data, aweights=weights))
  reference = scipy.stats.gaussian_kde(data, bw_method=factor,
                                       weights=weights)
  points = np.linspace(data.min() - 1.0, data.max() + 1.0, 50)
  np.testing.assert_allclose(kde.points_log_prob(points[None, None]).numpy()[0,
                                                                          0],
                             reference.logpdf(points), rtol=1e-4, atol=1e-3)


def test_kde_consistency_likelihood_terms_ignore_amplitude_scale(rng):
  amps_a, freqs_a, amps_b, freqs_b = _two_sets(rng)
  loss = losses.KDEConsistencyLoss()
  likelihoods = losses.KDEConsistencyLoss(weight_mean_amp=0.0)
  # Doubling b's amplitudes leaves the normalized KDE terms unchanged ...
  np.testing.assert_allclose(float(likelihoods(amps_a, freqs_a, 2 * amps_b,
                                               freqs_b)),
                             float(likelihoods(amps_a, freqs_a, amps_b,
                                               freqs_b)), rtol=1e-5)
  # ... so only the mean-amplitude term sees it.
  difference = (float(loss(amps_a, freqs_a, 2 * amps_b, freqs_b)) -
                float(likelihoods(amps_a, freqs_a, 2 * amps_b, freqs_b)))
  np.testing.assert_allclose(
      difference, np.mean(np.abs(amps_a.mean(-1) - 2 * amps_b.mean(-1))),
      rtol=1e-4)
  # Identical sets score better than detuned ones.
  assert float(likelihoods(amps_a, freqs_a, amps_a, freqs_a)) < float(
      likelihoods(amps_a, freqs_a, amps_a, freqs_a * 2.0 ** (1 / 12)))


def test_kde_consistency_loss_gradients_and_silence(rng):
  amps_a, freqs_a, amps_b, freqs_b = [tf.Variable(x) for x in _two_sets(rng)]
  loss = losses.KDEConsistencyLoss(scale_a=0.5, scale_b=0.5)
  with tf.GradientTape() as tape:
    value = loss(amps_a, freqs_a, amps_b, freqs_b)
  grads = tape.gradient(value, [amps_a, freqs_a, amps_b, freqs_b])
  for grad in grads:
    assert np.all(np.isfinite(grad.numpy())) and np.any(grad.numpy() != 0.0)
  # Silent frames (all amplitudes 0) give finite values, as published.
  zeros = tf.zeros_like(amps_b)
  assert np.isfinite(float(loss(amps_a, freqs_a, zeros, freqs_b)))


def test_kde_consistency_loss_config_errors_and_graph(rng):
  sets = _two_sets(rng)
  loss = losses.KDEConsistencyLoss(weight_b=0.5, scale_a=0.2, name='kde')
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(loss))
  assert type(restored) is losses.KDEConsistencyLoss
  assert restored.get_config() == loss.get_config()
  np.testing.assert_allclose(float(tf.function(loss)(*sets)),
                             float(loss(*sets)), rtol=1e-6)
  with pytest.raises(ValueError, match=r'`scale_b` must be a positive number'):
    losses.KDEConsistencyLoss(scale_b=0.0)
  with pytest.raises(ValueError, match=r'`weight_a` must be a number in '
                     r'\[0.0, inf\]'):
    losses.KDEConsistencyLoss(weight_a=-1.0)
  with pytest.raises(ValueError, match=r"Arguments \['amps_b', 'freqs_b'\] "
                     'must have the same shape'):
    loss(sets[0], sets[1], sets[2], sets[1])
  with pytest.raises(ValueError, match='agree on the n_frames axis'):
    loss(sets[0], sets[1], sets[2][:, :2], sets[3][:, :2])


# ------------------------------------------------------------------------------
# TWMLoss.
# ------------------------------------------------------------------------------
def _np_twm_terms(f0, freqs, amps, sinusoids_scale=0.5, harmonics_scale=0.2,
                  n_harmonic_points=10, n_harmonic_gaussians=30,
                  sample_rate=16000):
  """Both mismatch terms [batch, n_frames, n_candidates], float64."""
  f0, freqs, amps = [np.asarray(x, np.float64) for x in (f0, freqs, amps)]
  # -log p(sinusoids | harmonics): ratios under Gaussians at 1..G.
  ratios = freqs[:, :, None, :] / f0[:, :, :, None]
  locs = np.arange(1, n_harmonic_gaussians + 1, dtype=np.float64)
  log_p = scipy.special.logsumexp(
      scipy.stats.norm.logpdf(ratios[..., None], locs, harmonics_scale),
      axis=-1) - np.log(n_harmonic_gaussians)
  weights = amps[:, :, None, :]
  sinusoids_loss = np.sum(-log_p * weights, -1) / np.sum(weights, -1)
  # -log p(harmonics | sinusoids): harmonics under the sinusoids' KDE.
  numbers = np.arange(1, n_harmonic_points + 1)
  harmonics = _midi(f0[..., None] * numbers)
  probs = amps / amps.sum(-1, keepdims=True)
  log_q = scipy.special.logsumexp(
      scipy.stats.norm.logpdf(harmonics[..., None],
                              _midi(freqs)[:, :, None, None, :],
                              sinusoids_scale) +
      np.log(probs)[:, :, None, None, :], axis=-1)
  prior = np.linspace(1.0, 1.0 / n_harmonic_points, n_harmonic_points)
  mask = (harmonics < _midi(sample_rate / 2.0)).astype(np.float64)
  harmonics_loss = np.mean(-log_q * prior * mask /
                           mask.mean(-1, keepdims=True), axis=-1)
  return sinusoids_loss, harmonics_loss


def _semitone_candidates(f0_hz, n_frames=1):
  """[1, n_frames, 25] candidates from an octave below to an octave above."""
  candidates = f0_hz * 2.0 ** (np.arange(-12, 13) / 12.0)
  return np.tile(candidates, [1, n_frames, 1]).astype(np.float32)


@pytest.mark.parametrize('f0_hz', [110.0, 196.0, 330.0])
def test_twm_scores_the_true_f0_lowest(f0_hz):
  freqs, amps = _harmonic_spectrum(f0_hz)
  candidates = _semitone_candidates(f0_hz)
  twm = losses.TWMLoss()
  sinusoids_loss, harmonics_loss = twm.get_loss_tensors(candidates, freqs,
                                                        amps)
  np_sinusoids, np_harmonics = _np_twm_terms(candidates, freqs, amps)
  np.testing.assert_allclose(sinusoids_loss.numpy(), np_sinusoids, rtol=1e-4,
                             atol=1e-4)
  np.testing.assert_allclose(harmonics_loss.numpy(), np_harmonics, rtol=1e-4,
                             atol=1e-4)
  cost = np_sinusoids + np_harmonics
  # The true f0 (index 12) beats its octaves, fifth and every other semitone.
  assert np.argmin(cost[0, 0]) == 12
  np.testing.assert_allclose(twm.predict_f0(candidates, freqs, amps),
                             [[[f0_hz]]], rtol=1e-6)
  # The loss: mean of cost * softmin(cost) over batch, frames, candidates.
  softmin = scipy.special.softmax(-cost, axis=-1)
  np.testing.assert_allclose(float(twm(candidates, freqs, amps)),
                             np.mean(cost * softmin), rtol=1e-4)


def test_twm_terms_with_weights_nyquist_and_batches(rng):
  # Low sample rate: the upper harmonics of high candidates are masked.
  f0 = rng.uniform(150.0, 400.0, size=(2, 3, 1))
  candidates = (f0 * np.array([0.5, 1.0, 1.5, 2.0])).astype(np.float32)
  k = np.arange(1, 7)
  freqs = (f0 * k * rng.uniform(0.98, 1.02, size=(2, 3, 6))).astype(np.float32)
  amps = rng.uniform(0.1, 1.0, size=(2, 3, 6)).astype(np.float32)
  params = dict(sinusoids_scale=0.3, harmonics_scale=0.1, n_harmonic_points=7,
                n_harmonic_gaussians=12, sample_rate=3000)
  twm = losses.TWMLoss(sinusoids_weight=0.7, harmonics_weight=1.3,
                       softmin_temperature=0.5, **params)
  np_sinusoids, np_harmonics = _np_twm_terms(candidates, freqs, amps, **params)
  cost = 0.7 * np_sinusoids + 1.3 * np_harmonics
  expected = np.mean(cost * scipy.special.softmax(-cost / 0.5, axis=-1))
  np.testing.assert_allclose(float(twm(candidates, freqs, amps)), expected,
                             rtol=1e-4)
  np.testing.assert_allclose(
      twm.predict_f0(candidates, freqs, amps)[..., 0],
      np.take_along_axis(candidates, np.argmin(cost, -1)[..., None],
                         -1)[..., 0])
  np.testing.assert_allclose(
      float(tf.function(twm)(candidates, freqs, amps)), expected, rtol=1e-4)


def test_twm_gradient_pulls_a_candidate_towards_the_f0():
  f0_hz = 220.0
  freqs, amps = _harmonic_spectrum(f0_hz)
  twm = losses.TWMLoss()
  for ratio, sign in ((1.02, 1.0), (0.98, -1.0)):
    candidate = tf.Variable([[[f0_hz * ratio]]], dtype=tf.float32)
    with tf.GradientTape() as tape:
      value = twm(candidate, freqs, amps)
    grad = float(tape.gradient(value, candidate)[0, 0, 0])
    assert np.isfinite(grad) and sign * grad > 0.0, (ratio, grad)
  freqs_var, amps_var = tf.Variable(freqs), tf.Variable(amps)
  with tf.GradientTape() as tape:
    value = twm(_semitone_candidates(f0_hz), freqs_var, amps_var)
  for grad in tape.gradient(value, [freqs_var, amps_var]):
    assert np.all(np.isfinite(grad.numpy())) and np.any(grad.numpy() != 0.0)


def test_twm_config_and_errors():
  twm = losses.TWMLoss(sinusoids_scale=0.3, n_harmonic_points=5,
                       sample_rate=48000, name='twm')
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(twm))
  assert type(restored) is losses.TWMLoss
  assert restored.get_config() == twm.get_config()
  with pytest.raises(ValueError, match=r'`n_harmonic_points` must be a '
                     r'positive integer. Received: n_harmonic_points=0'):
    losses.TWMLoss(n_harmonic_points=0)
  with pytest.raises(ValueError, match=r'`softmin_temperature` must be a '
                     'positive number'):
    losses.TWMLoss(softmin_temperature=0.0)
  freqs, amps = _harmonic_spectrum(220.0)
  with pytest.raises(ValueError, match=r'`f0_candidates` must have rank 3. '
                     r'Received: f0_candidates.shape=\(25,\)'):
    twm(_semitone_candidates(220.0)[0, 0], freqs, amps)
  with pytest.raises(ValueError, match=r"Arguments \['amps', 'freqs'\] must "
                     'have the same shape'):
    twm(_semitone_candidates(220.0), freqs, amps[..., :4])


def test_docstring_examples():
  result = doctest.testmod(sinusoidal, extraglobs={'np': np, 'tf': tf},
                           optionflags=doctest.ELLIPSIS)
  assert result.attempted >= 4 and result.failed == 0
