"""`HmmTranscriber`: a hidden Markov model from pitch and amplitude to MIDI.

The published DDSP 3.x library's transcriber for its MIDI models. Hidden
states are MIDI pitches 0..n_pitches - 1, state 0 meaning "no note". Each
frame observes (pitch in MIDI, amplitude); a note state k emits pitch near k
and a high amplitude, the off state any pitch and an amplitude near 0. Notes
tend to last: a state holds with probability 1 - 1 / avg_length per frame.

* `nll` / calling the layer: the negative log-likelihood per frame (the
  forward algorithm in log space), a differentiable loss that pulls pitch and
  amplitude curves towards note-like ones.
* `predict_midi`: the most likely state sequence (Viterbi), i.e. the
  quantized MIDI note per frame, 0 where no note sounds.

The published class was a `tfp.distributions.HiddenMarkovModel`;
tensorflow-probability no longer imports with Keras 3, so the forward and
Viterbi recursions are written here in TensorFlow. Transitions have the
structure "hold, or jump uniformly to any other state", so each frame costs
O(n_pitches) rather than O(n_pitches**2).
"""

import math
import numbers

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import validation
from ddsp.losses.base import check_weight
from ddsp.losses.base import Loss


@registration.register('ddsp.losses')
class HmmTranscriber(Loss):
  """HMM decoding MIDI notes from pitch and amplitude curves.

  States: 0 (off) and MIDI pitches 1..n_pitches - 1. Initial distribution
  uniform. Transitions: stay with probability `hold = 1 - 1 / avg_length`,
  else move to any other state with probability
  `(1 - hold) / (n_pitches - 1)` each. Observations are independent Gaussians
  on (pitch, amplitude):

  * state k >= 1: pitch ~ N(k, midi_std), amplitude ~ N(amps_on_center,
    amps_on_scale);
  * state 0: pitch ~ N(n_pitches / 2, n_pitches) (any pitch), amplitude ~
    N(amps_off_center, amps_off_scale).

  Calling the layer returns `nll(pitch, amps)`.

  Args:
    avg_length: mean note length in frames (> 1): the prior on how long a
      state holds.
    midi_std: positive standard deviation (semitones) of the pitch around a
      note's MIDI number.
    amps_on_center: mean amplitude of a sounding note.
    amps_on_scale: positive standard deviation of a note's amplitude.
    amps_off_center: mean amplitude of silence.
    amps_off_scale: positive standard deviation of the amplitude of silence.
    n_timesteps: frames per sequence, as the published HMM was unrolled for
      a fixed length (1000 = 4 s at 250 Hz); sequences of another length
      raise a ValueError. None accepts any length.
    n_pitches: int >= 2, number of states (state 0 = off, 1..n_pitches - 1
      = MIDI notes).
    weight: non-negative scale of the loss.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.

  Raises:
    ValueError: for out-of-range arguments.

  Example:
    >>> pitch = np.array([[60.2] * 5 + [0.0] * 3 + [64.1] * 4], 'float32')
    >>> amps = np.array([[1.4] * 5 + [0.0] * 3 + [1.6] * 4], 'float32')
    >>> hmm = HmmTranscriber(avg_length=4, n_timesteps=None)
    >>> hmm.predict_midi(pitch[..., None], amps[..., None])[0, :, 0].numpy()
    array([60., 60., 60., 60., 60.,  0.,  0.,  0., 64., 64., 64., 64.],
          dtype=float32)
  """

  def __init__(self, avg_length=200, midi_std=0.5, amps_on_center=1.5,
               amps_on_scale=0.5, amps_off_center=0.0, amps_off_scale=0.1,
               n_timesteps=1000, n_pitches=128, weight=1.0,
               name='hmm_transcriber', **kwargs):
    super().__init__(name=name, **kwargs)
    if (isinstance(avg_length, bool) or
        not isinstance(avg_length, numbers.Real) or not avg_length > 1):
      raise ValueError('`avg_length` must be a number > 1 (frames). '
                       f'Received: avg_length={avg_length!r}')
    self.avg_length = avg_length
    self.midi_std = validation.check_positive(midi_std, 'midi_std')
    self.amps_on_center = validation.check_in_range(amps_on_center,
                                                    'amps_on_center')
    self.amps_on_scale = validation.check_positive(amps_on_scale,
                                                   'amps_on_scale')
    self.amps_off_center = validation.check_in_range(amps_off_center,
                                                     'amps_off_center')
    self.amps_off_scale = validation.check_positive(amps_off_scale,
                                                    'amps_off_scale')
    self.n_timesteps = validation.check_positive_int(
        n_timesteps, 'n_timesteps', allow_none=True)
    self.n_pitches = validation.check_positive_int(n_pitches, 'n_pitches')
    if self.n_pitches < 2:
      raise ValueError('`n_pitches` must be at least 2 (the off state and one '
                       f'note). Received: n_pitches={n_pitches!r}')
    self.weight = check_weight(weight, 'weight')

    n = self.n_pitches
    hold = 1.0 - 1.0 / avg_length
    other = (1.0 - hold) / (n - 1)
    # Transitions: hold on the diagonal, `other` elsewhere (rows sum to 1).
    self.transition_probs = ((hold - other) * np.eye(n) +
                             other * np.ones([n, n])).astype(np.float32)
    self.initial_probs = np.full([n], 1.0 / n, np.float32)
    self._hold = hold
    self._other = other
    # Observation means and scales per state, [n_pitches, 2] (pitch, amps).
    pitch_loc = np.concatenate([[n / 2.0], np.arange(1, n)])
    pitch_scale = np.concatenate([[float(n)], np.full(n - 1, midi_std)])
    amps_loc = np.concatenate([[amps_off_center],
                               np.full(n - 1, amps_on_center)])
    amps_scale = np.concatenate([[amps_off_scale],
                                 np.full(n - 1, amps_on_scale)])
    self.observation_loc = np.stack([pitch_loc, amps_loc],
                                    axis=-1).astype(np.float32)
    self.observation_scale = np.stack([pitch_scale, amps_scale],
                                      axis=-1).astype(np.float32)

  def build(self, pitch_shape=None, amps_shape=None):
    """Marks the layer built (it has no weights)."""
    del pitch_shape, amps_shape
    self.built = True

  def call(self, pitch, amps):
    """Negative log-likelihood per frame, averaged over the batch.

    Args:
      pitch: [batch, n_frames, 1] float32 pitch in MIDI (e.g. hz_to_midi of
        f0; 0 for unvoiced).
      amps: [batch, n_frames, 1] float32 amplitudes.

    Returns:
      Scalar float32, `weight * mean(-log p(pitch, amps) / n_frames)`.
    """
    return self.nll(pitch, amps)

  @staticmethod
  def straight_through(x, x_quant):
    """`x_quant` forward, the gradient of `x` backward (straight through).

    Args:
      x: float tensor, e.g. continuous pitch [batch, n_frames, 1].
      x_quant: tensor of the same shape, e.g. `predict_midi(...)`.

    Returns:
      `x - stop_gradient(x - x_quant)`: equals `x_quant`, with gradient 1
      with respect to `x`.
    """
    return x - tf.stop_gradient(x - x_quant)

  def nll(self, pitch, amps, per_example_loss=False):
    """Negative log-likelihood per frame of (pitch, amps) sequences.

    Args:
      pitch: [batch, n_frames, 1] float32 pitch in MIDI.
      amps: [batch, n_frames, 1] float32 amplitudes.
      per_example_loss: return one value per example instead of the mean.

    Returns:
      `weight * -log p / n_frames`: scalar float32, or [batch] with
      `per_example_loss`. Differentiable with respect to `pitch` and `amps`.

    Raises:
      ValueError: for inputs that are not [batch, n_frames, 1], or an
        n_frames other than `n_timesteps`.
    """
    log_emission = self._log_emission(pitch, amps)
    n_frames = tf.cast(tf.shape(log_emission)[1], tf.float32)
    avg_nll = -self.log_prob_of_emissions(log_emission) / n_frames
    loss = avg_nll if per_example_loss else tf.reduce_mean(avg_nll)
    return self.weight * loss

  def log_prob(self, pitch, amps):
    """Log-likelihood of each (pitch, amps) sequence, summed over states.

    Args:
      pitch: [batch, n_frames, 1] float32 pitch in MIDI.
      amps: [batch, n_frames, 1] float32 amplitudes.

    Returns:
      [batch] float32 `log p(pitch, amps)` (nats). Differentiable.
    """
    return self.log_prob_of_emissions(self._log_emission(pitch, amps))

  def predict_midi(self, pitch, amps, channel_dim=True, dtype=tf.float32):
    """Viterbi decoding: the most likely state (MIDI note, 0 = off) per frame.

    Args:
      pitch: [batch, n_frames, 1] float32 pitch in MIDI.
      amps: [batch, n_frames, 1] float32 amplitudes.
      channel_dim: keep a trailing axis of size 1.
      dtype: dtype of the result.

    Returns:
      [batch, n_frames, 1] (or [batch, n_frames]) MIDI notes as `dtype`.
      Not differentiable (see `straight_through`).
    """
    path = self._viterbi(self._log_emission(pitch, amps))
    path = tf.cast(path, dtype)
    return path[:, :, tf.newaxis] if channel_dim else path

  def _log_emission(self, pitch, amps):
    """Validated inputs -> [batch, n_frames, n_pitches] log emissions."""
    pitch = core.tf_float32(pitch)
    amps = core.tf_float32(amps)
    validation.check_shape(pitch, 'pitch', [None, None, 1])
    validation.check_same_shape({'pitch': pitch, 'amps': amps})
    n_frames = pitch.shape[1]
    if (self.n_timesteps is not None and n_frames is not None and
        n_frames != self.n_timesteps):
      raise ValueError(
          f'`pitch` and `amps` must have n_timesteps={self.n_timesteps} '
          'frames (construct the transcriber with n_timesteps=None for any '
          f'length). Received: pitch.shape={tuple(pitch.shape)}')
    observations = tf.concat([pitch, amps], axis=-1)[:, :, tf.newaxis, :]
    z = (observations - self.observation_loc) / self.observation_scale
    log_normal = (-0.5 * tf.square(z) - np.log(self.observation_scale) -
                  0.5 * math.log(2.0 * math.pi))
    return tf.reduce_sum(log_normal, axis=-1)

  def log_prob_of_emissions(self, log_emission):
    """Forward algorithm: log p of sequences given per-state log emissions.

    Args:
      log_emission: [batch, n_frames, n_pitches] float32.

    Returns:
      [batch] float32 log-likelihoods.
    """
    log_alpha = log_emission[:, 0] - math.log(self.n_pitches)

    def step(log_alpha, emission):
      # sum_i alpha_i A_ij = other * sum(alpha) + (hold - other) * alpha_j,
      # written as other * (sum - alpha_j) + hold * alpha_j (no cancellation
      # of signs), scaled by the largest alpha.
      peak = tf.stop_gradient(tf.reduce_max(log_alpha, axis=-1,
                                            keepdims=True))
      alpha = tf.exp(log_alpha - peak)
      total = tf.reduce_sum(alpha, axis=-1, keepdims=True)
      mixed = self._other * (total - alpha) + self._hold * alpha
      return peak + tf.math.log(mixed) + emission

    emissions = tf.transpose(log_emission[:, 1:], [1, 0, 2])
    log_alpha = tf.foldl(step, emissions, initializer=log_alpha)
    return tf.reduce_logsumexp(log_alpha, axis=-1)

  def _viterbi(self, log_emission):
    """[batch, n_frames, n_pitches] log emissions -> [batch, n_frames] int32."""
    n = self.n_pitches
    score = log_emission[:, 0] - math.log(n)
    states = tf.range(n)

    def forward(carry, emission):
      score, _ = carry
      # Best previous state other than j: the best one unless it is j.
      top_values, top_index = tf.math.top_k(score, k=2)
      is_best = tf.equal(states, top_index[:, :1])
      other_value = tf.where(is_best, top_values[:, 1:2], top_values[:, :1])
      other_index = tf.where(is_best, top_index[:, 1:2], top_index[:, :1])
      stay = score + math.log(self._hold)
      move = other_value + math.log(self._other)
      pointer = tf.where(stay >= move, states, other_index)
      return tf.maximum(stay, move) + emission, pointer

    emissions = tf.transpose(log_emission[:, 1:], [1, 0, 2])
    initial = (score, tf.zeros_like(score, tf.int32))
    scores, pointers = tf.scan(forward, emissions, initializer=initial)
    last_score = tf.concat([score[tf.newaxis], scores], axis=0)[-1]
    last = tf.argmax(last_score, axis=-1, output_type=tf.int32)

    def backward(state, pointer):
      return tf.gather(pointer, state, batch_dims=1)

    previous = tf.scan(backward, pointers, initializer=last, reverse=True)
    path = tf.concat([previous, last[tf.newaxis]], axis=0)
    return tf.transpose(path, [1, 0])

  def get_config(self):
    config = super().get_config()
    config.update({
        'avg_length': self.avg_length,
        'midi_std': self.midi_std,
        'amps_on_center': self.amps_on_center,
        'amps_on_scale': self.amps_on_scale,
        'amps_off_center': self.amps_off_center,
        'amps_off_scale': self.amps_off_scale,
        'n_timesteps': self.n_timesteps,
        'n_pitches': self.n_pitches,
        'weight': self.weight,
    })
    return config
