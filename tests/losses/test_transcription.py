"""Tests for ddsp.losses.HmmTranscriber against brute-force enumeration of
every state path (scipy Gaussians) and synthetic note sequences."""

import doctest
import itertools

import keras
import numpy as np
import pytest
import scipy.special
import scipy.stats
import tensorflow as tf

from ddsp import losses
from ddsp.losses import transcription

PARAMS = dict(avg_length=3.0, midi_std=0.7, amps_on_center=1.2,
              amps_on_scale=0.4, amps_off_center=0.1, amps_off_scale=0.2,
              n_pitches=3)


def _np_path_log_probs(pitch, amps, avg_length, midi_std, amps_on_center,
                       amps_on_scale, amps_off_center, amps_off_scale,
                       n_pitches):
  """{path: log p(path, observations)} for every state path, float64."""
  n_frames = len(pitch)
  hold = 1.0 - 1.0 / avg_length
  other = (1.0 - hold) / (n_pitches - 1)

  def log_emission(state, t):
    if state == 0:
      return (scipy.stats.norm.logpdf(pitch[t], n_pitches / 2.0, n_pitches) +
              scipy.stats.norm.logpdf(amps[t], amps_off_center,
                                      amps_off_scale))
    return (scipy.stats.norm.logpdf(pitch[t], state, midi_std) +
            scipy.stats.norm.logpdf(amps[t], amps_on_center, amps_on_scale))

  result = {}
  for path in itertools.product(range(n_pitches), repeat=n_frames):
    log_p = -np.log(n_pitches) + log_emission(path[0], 0)
    for t in range(1, n_frames):
      log_p += np.log(hold if path[t] == path[t - 1] else other)
      log_p += log_emission(path[t], t)
    result[path] = log_p
  return result


def _random_observations(rng, batch=2, n_frames=6):
  pitch = rng.uniform(0.0, 3.0, size=(batch, n_frames, 1))
  amps = rng.uniform(0.0, 1.6, size=(batch, n_frames, 1))
  return pitch.astype(np.float32), amps.astype(np.float32)


def test_log_prob_and_viterbi_match_brute_force(rng):
  pitch, amps = _random_observations(rng)
  hmm = losses.HmmTranscriber(n_timesteps=6, **PARAMS)
  log_prob = hmm.log_prob(pitch, amps).numpy()
  path = hmm.predict_midi(pitch, amps, channel_dim=False,
                          dtype=tf.int32).numpy()
  for b in range(2):
    paths = _np_path_log_probs(pitch[b, :, 0].astype(np.float64),
                               amps[b, :, 0].astype(np.float64), **PARAMS)
    expected = scipy.special.logsumexp(list(paths.values()))
    np.testing.assert_allclose(log_prob[b], expected, rtol=1e-5)
    assert tuple(path[b]) == max(paths, key=paths.get)
  # nll: weight * -log p / n_frames, averaged over the batch or per example.
  weighted = losses.HmmTranscriber(n_timesteps=6, weight=2.0, **PARAMS)
  np.testing.assert_allclose(
      weighted.nll(pitch, amps, per_example_loss=True).numpy(),
      -2.0 * log_prob / 6, rtol=1e-5)
  np.testing.assert_allclose(float(weighted(pitch, amps)),
                             np.mean(-2.0 * log_prob / 6), rtol=1e-5)


def _note_sequence(rng, notes=((60, 40), (0, 20), (67, 30), (62, 30))):
  """Noisy pitch (MIDI) and amplitude curves of notes (0 = silence)."""
  midi = np.concatenate([np.full(length, note) for note, length in notes])
  on = midi > 0
  pitch = np.where(on, midi + rng.normal(0.0, 0.2, midi.shape),
                   rng.uniform(0.0, 127.0, midi.shape))
  amps = np.where(on, 1.5, 0.0) + rng.normal(0.0, 0.1, midi.shape)
  return (pitch[None, :, None].astype(np.float32),
          amps[None, :, None].astype(np.float32), midi)


def test_predict_midi_transcribes_a_note_sequence(rng):
  pitch, amps, midi = _note_sequence(rng)
  hmm = losses.HmmTranscriber(avg_length=30, n_timesteps=midi.size)
  notes = hmm.predict_midi(pitch, amps)
  assert notes.shape == (1, midi.size, 1) and notes.dtype == tf.float32
  np.testing.assert_array_equal(notes.numpy()[0, :, 0], midi)
  # A held note is more likely than the same frames with the pitch jumping.
  jumpy = pitch.copy()
  jumpy[0, ::2] += 5.0
  assert float(hmm(pitch, amps)) < float(hmm(jumpy, amps))


def test_nll_gradients_pull_towards_the_note(rng):
  pitch = tf.Variable(np.full([1, 20, 1], 60.3, np.float32))
  amps = tf.Variable(np.full([1, 20, 1], 1.2, np.float32))
  hmm = losses.HmmTranscriber(n_timesteps=None)
  with tf.GradientTape() as tape:
    value = hmm(pitch, amps)
  grad_pitch, grad_amps = tape.gradient(value, [pitch, amps])
  # Descending the loss moves the pitch to 60 and the amplitude to 1.5.
  assert np.all(grad_pitch.numpy() > 0.0) and np.all(grad_amps.numpy() < 0.0)
  np.testing.assert_allclose(float(tf.function(hmm)(pitch, amps)),
                             float(value), rtol=1e-6)


def test_straight_through_and_single_frame():
  x = tf.Variable([[[60.4], [61.7]]])
  with tf.GradientTape() as tape:
    y = losses.HmmTranscriber.straight_through(x, tf.round(x))
    total = tf.reduce_sum(3.0 * y)
  np.testing.assert_array_equal(y.numpy(), [[[60.0], [62.0]]])
  np.testing.assert_array_equal(tape.gradient(total, x).numpy(), 3.0)
  hmm = losses.HmmTranscriber(n_timesteps=None)
  one = hmm.predict_midi([[[64.2]]], [[[1.5]]])
  np.testing.assert_array_equal(one.numpy(), [[[64.0]]])


def test_config_loss_group_and_errors():
  hmm = losses.HmmTranscriber(avg_length=50, n_pitches=90, n_timesteps=8,
                              name='hmm')
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(hmm))
  assert type(restored) is losses.HmmTranscriber
  assert restored.get_config() == hmm.get_config()
  pitch = np.full([2, 8, 1], 60.0, np.float32)
  amps = np.full([2, 8, 1], 1.5, np.float32)
  group = losses.LossGroup([(hmm, ['pitch', 'amps'])])
  result = group({'pitch': pitch, 'amps': amps})
  np.testing.assert_allclose(float(result['hmm']), float(hmm(pitch, amps)),
                             rtol=1e-6)
  with pytest.raises(ValueError, match=r'must have n_timesteps=8 frames.*'
                     r'Received: pitch.shape=\(2, 5, 1\)'):
    hmm(pitch[:, :5], amps[:, :5])
  with pytest.raises(ValueError, match=r'`pitch` must have rank 3. '
                     r'Received: pitch.shape=\(2, 8\)'):
    hmm(pitch[..., 0], amps[..., 0])
  with pytest.raises(ValueError,
                     match=r'`pitch` must have shape \[\?, \?, 1\]'):
    hmm(np.concatenate([pitch, pitch], -1), amps)
  with pytest.raises(ValueError, match=r'`avg_length` must be a number > 1 '
                     r'\(frames\). Received: avg_length=1'):
    losses.HmmTranscriber(avg_length=1)
  with pytest.raises(ValueError, match=r'`n_pitches` must be at least 2'):
    losses.HmmTranscriber(n_pitches=1)
  with pytest.raises(ValueError, match=r'`midi_std` must be a positive number'):
    losses.HmmTranscriber(midi_std=0.0)


def test_docstring_examples():
  result = doctest.testmod(transcription, extraglobs={'np': np, 'tf': tf},
                           optionflags=doctest.ELLIPSIS)
  assert result.attempted >= 2 and result.failed == 0
