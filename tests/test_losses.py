"""Tests for ddsp.losses against independent numpy / scipy / librosa references."""

import doctest

import gin
import keras
import numpy as np
import pytest
import scipy.signal
import scipy.spatial.distance
import scipy.stats
import tensorflow as tf

from ddsp import losses
from ddsp.losses import base as losses_base
from ddsp.losses import consistency as losses_consistency
from ddsp.losses import embedding as losses_embedding
from ddsp.losses import spectral as losses_spectral


# ------------------------------------------------------------------------------
# Independent references.
# ------------------------------------------------------------------------------
def _np_mag(audio, size):
  """|STFT| by explicit framing: periodic Hann, hop size / 4, end padding."""
  window = scipy.signal.get_window('hann', size, fftbins=True)
  hop = int(round(size / 4))
  n = audio.shape[-1]
  n_frames = -(-n // hop)
  padded = np.pad(audio, [(0, 0), (0, (n_frames - 1) * hop + size - n)])
  frames = np.stack([padded[:, i * hop:i * hop + size]
                     for i in range(n_frames)], axis=1)
  return np.abs(np.fft.rfft(frames * window, n=size, axis=-1))


def _np_loudness(audio, sample_rate, n_fft=2048, frame_rate=250):
  """A-weighted mean power in dB, frames centred every sample_rate/frame_rate."""
  import librosa  # pylint: disable=g-import-not-at-top
  hop = sample_rate // frame_rate
  n = audio.shape[-1]
  padded = np.pad(audio, [(0, 0), (n_fft // 2, n_fft - n_fft // 2)])
  n_frames = n // hop + 1
  frames = np.stack([padded[:, i * hop:i * hop + n_fft]
                     for i in range(n_frames)], axis=1)
  window = scipy.signal.get_window('hann', n_fft, fftbins=True)
  power = np.abs(np.fft.rfft(frames * window, axis=-1))**2
  freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
  with np.errstate(divide='ignore'):  # 0 Hz: -inf dB before the floor.
    weighting = 10.0**(librosa.A_weighting(freqs, min_db=-80.0) / 10.0)
  mean_power = np.mean(power * weighting, axis=-1)
  return np.maximum(10.0 * np.log10(np.maximum(mean_power, 1e-30)), -80.0)


def _np_diff(target, value, loss_type):
  if loss_type == 'L1':
    return np.mean(np.abs(target - value))
  return np.mean((target - value)**2)


def _np_spectral_loss(target, value, fft_sizes, loss_type='L1', mag=0.0,
                      delta_time=0.0, delta_freq=0.0, cumsum=0.0, logmag=0.0,
                      loudness=0.0, sample_rate=16000):
  target = np.asarray(target, np.float64)
  value = np.asarray(value, np.float64)
  total = 0.0
  terms = {
      'mag': (mag, lambda m: m),
      'delta_time': (delta_time, lambda m: np.diff(m, axis=1)),
      'delta_freq': (delta_freq, lambda m: np.diff(m, axis=2)),
      'cumsum': (cumsum, lambda m: np.cumsum(m, axis=2)),
      'logmag': (logmag, lambda m: np.log(m + 1e-5)),
  }
  for size in fft_sizes:
    t_mag, v_mag = _np_mag(target, size), _np_mag(value, size)
    for weight, feature in terms.values():
      t_feature, v_feature = feature(t_mag), feature(v_mag)
      if weight and t_feature.size:
        total += weight * _np_diff(t_feature, v_feature, loss_type)
  if loudness:
    total += loudness * _np_diff(_np_loudness(target, sample_rate),
                                 _np_loudness(value, sample_rate), loss_type)
  return total


def _signals(rng, batch=2, n=3000):
  t = np.arange(n) / 16000.0
  tone = 0.5 * np.sin(2 * np.pi * 440.0 * t)
  target = tone + 0.05 * rng.normal(size=(batch, n))
  value = 0.8 * tone + 0.1 * rng.normal(size=(batch, n))
  return target.astype(np.float32), value.astype(np.float32)


# ------------------------------------------------------------------------------
# mean_difference.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('loss_type', ['L1', 'L2', 'COSINE', 'l1', 'cosine'])
def test_mean_difference_matches_numpy(rng, loss_type):
  target = rng.normal(size=(3, 5, 7)).astype(np.float32)
  value = rng.normal(size=(3, 5, 7)).astype(np.float32)
  result = float(losses.mean_difference(target, value, loss_type))
  kind = loss_type.upper()
  if kind == 'COSINE':
    rows_t, rows_v = target.reshape(-1, 7), value.reshape(-1, 7)
    expected = np.mean([scipy.spatial.distance.cosine(a, b)
                        for a, b in zip(rows_t, rows_v)])
  else:
    expected = _np_diff(target.astype(np.float64), value, kind)
  np.testing.assert_allclose(result, expected, rtol=1e-5)


@pytest.mark.parametrize('loss_type', ['L1', 'L2', 'COSINE'])
def test_mean_difference_weights_broadcast(rng, loss_type):
  target = rng.normal(size=(3, 4, 6)).astype(np.float32)
  value = rng.normal(size=(3, 4, 6)).astype(np.float32)
  per_example = np.array([1.0, 0.0, 2.0], np.float32)[:, None, None]
  weighted = float(losses.mean_difference(target, value, loss_type,
                                          weights=per_example))
  # Weights per example: the mean of the per-example losses, weighted.
  singles = [float(losses.mean_difference(target[i], value[i], loss_type))
             for i in range(3)]
  np.testing.assert_allclose(weighted, np.mean(np.array(singles) *
                                               per_example[:, 0, 0]),
                             rtol=1e-5)
  # Scalar weight scales the loss.
  scaled = float(losses.mean_difference(target, value, loss_type, weights=3.0))
  np.testing.assert_allclose(scaled, 3.0 * np.mean(singles), rtol=1e-5)


def test_mean_difference_full_shape_weights_l1(rng):
  target = rng.normal(size=(2, 5)).astype(np.float32)
  value = rng.normal(size=(2, 5)).astype(np.float32)
  weights = rng.uniform(size=(2, 5)).astype(np.float32)
  result = float(losses.mean_difference(target, value, 'L1', weights))
  np.testing.assert_allclose(result, np.mean(np.abs(target - value) * weights),
                             rtol=1e-5)


def test_mean_difference_cosine_is_scale_invariant_and_bounded():
  a = np.array([[1.0, 2.0, 3.0]], np.float32)
  assert float(losses.mean_difference(a, 5.0 * a, 'COSINE')) == pytest.approx(
      0.0, abs=1e-6)
  assert float(losses.mean_difference(a, -a, 'COSINE')) == pytest.approx(2.0)


@pytest.mark.parametrize('loss_type', ['L1', 'L2', 'COSINE'])
def test_mean_difference_gradients(rng, loss_type):
  target = tf.constant(rng.normal(size=(2, 6)), tf.float32)
  value = tf.Variable(rng.normal(size=(2, 6)), dtype=tf.float32)
  with tf.GradientTape() as tape:
    loss = losses.mean_difference(target, value, loss_type)
  grad = tape.gradient(loss, value).numpy()
  assert np.all(np.isfinite(grad)) and np.any(grad != 0.0)


def test_mean_difference_errors():
  with pytest.raises(ValueError, match=r'`loss_type` must be one of .*L1.*'
                     r"Received: loss_type='L3'"):
    losses.mean_difference(np.zeros(3), np.zeros(3), 'L3')
  with pytest.raises(ValueError, match=r'must have the same shape.*'
                     r'target.shape=\(2, 3\), value.shape=\(2, 4\)'):
    losses.mean_difference(np.zeros([2, 3]), np.zeros([2, 4]))
  with pytest.raises(ValueError, match=r'`weights` must broadcast.*'
                     r'weights.shape=\(3,\)'):
    losses.mean_difference(np.zeros([2, 4]), np.zeros([2, 4]),
                           weights=np.ones(3))
  with pytest.raises(ValueError, match=r'`weights` must broadcast'):
    losses.mean_difference(np.zeros([2, 4]), np.zeros([2, 4]), 'COSINE',
                           weights=np.ones([2, 4]))


# ------------------------------------------------------------------------------
# SpectralLoss.
# ------------------------------------------------------------------------------
_ALL_TERMS = dict(mag_weight=1.0, delta_time_weight=0.5, delta_freq_weight=0.7,
                  cumsum_freq_weight=0.2, logmag_weight=1.3)


@pytest.mark.parametrize('loss_type', ['L1', 'L2'])
def test_spectral_loss_matches_numpy(rng, loss_type):
  target, value = _signals(rng)
  sizes = (512, 128, 63)  # 63: odd size, no Nyquist bin.
  loss = losses.SpectralLoss(fft_sizes=sizes, loss_type=loss_type,
                             **_ALL_TERMS)
  expected = _np_spectral_loss(target, value, sizes, loss_type, mag=1.0,
                               delta_time=0.5, delta_freq=0.7, cumsum=0.2,
                               logmag=1.3)
  np.testing.assert_allclose(float(loss(target, value)), expected, rtol=1e-4)


@pytest.mark.parametrize('term', sorted(_ALL_TERMS))
def test_spectral_loss_each_term_matches_numpy(rng, term):
  target, value = _signals(rng, n=2000)
  weights = {key: 0.0 for key in _ALL_TERMS}
  weights[term] = 1.0
  sizes = (256, 64)
  loss = losses.SpectralLoss(fft_sizes=sizes, **weights)
  reference_kwargs = {'mag_weight': 'mag', 'delta_time_weight': 'delta_time',
                      'delta_freq_weight': 'delta_freq',
                      'cumsum_freq_weight': 'cumsum',
                      'logmag_weight': 'logmag'}
  expected = _np_spectral_loss(target, value, sizes,
                               **{reference_kwargs[term]: 1.0})
  assert expected > 0.0
  np.testing.assert_allclose(float(loss(target, value)), expected, rtol=1e-4)


@pytest.mark.parametrize('sample_rate', [16000, 48000])
def test_spectral_loss_loudness_term_matches_numpy(rng, sample_rate):
  target, value = _signals(rng, n=4000)
  loss = losses.SpectralLoss(fft_sizes=(256,), mag_weight=0.0,
                             loudness_weight=1.0, sample_rate=sample_rate)
  expected = _np_spectral_loss(target, value, (256,), loudness=1.0,
                               sample_rate=sample_rate)
  assert expected > 0.5  # dB
  np.testing.assert_allclose(float(loss(target, value)), expected, rtol=1e-3)


def test_spectral_loss_zero_for_identical_audio(rng):
  target, _ = _signals(rng)
  loss = losses.SpectralLoss(loudness_weight=1.0, **_ALL_TERMS)
  assert float(loss(target, target)) == 0.0


def test_spectral_loss_grows_with_noise(rng):
  target, _ = _signals(rng, n=4000)
  noise = rng.normal(size=target.shape).astype(np.float32)
  loss = losses.SpectralLoss(fft_sizes=(1024, 256, 64), logmag_weight=1.0)
  values = [float(loss(target, target + level * noise))
            for level in (0.001, 0.01, 0.1, 1.0)]
  assert values[0] > 0.0
  assert np.all(np.diff(values) > 0.0), values


def test_spectral_loss_logmag_of_gain_is_log_gain(rng):
  # log(g |X| + eps) - log(|X| + eps) = log(g) wherever |X| >> eps.
  target = rng.uniform(-0.5, 0.5, size=(2, 4096)).astype(np.float32)
  sizes = (1024, 256, 64)
  loss = losses.SpectralLoss(fft_sizes=sizes, mag_weight=0.0,
                             logmag_weight=1.0)
  gain = 0.5
  np.testing.assert_allclose(float(loss(target, gain * target)),
                             len(sizes) * abs(np.log(gain)), rtol=1e-3)


def test_spectral_loss_mag_of_gain_is_proportional(rng):
  target = rng.normal(size=(2, 2048)).astype(np.float32)
  loss = losses.SpectralLoss(fft_sizes=(512,))
  base = float(loss(target, 0.0 * target))  # = mean |X|
  np.testing.assert_allclose(float(loss(target, 0.75 * target)), 0.25 * base,
                             rtol=1e-5)


@pytest.mark.parametrize('name', ['silence', 'full_scale_noise'])
def test_spectral_loss_finite_gradients(rng, name):
  shape = (2, 4000)
  if name == 'silence':
    target = np.zeros(shape, np.float32)
    start = np.zeros(shape, np.float32)
  else:
    target = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    start = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
  audio = tf.Variable(start)
  loss = losses.SpectralLoss(loudness_weight=1.0, **_ALL_TERMS)
  with tf.GradientTape() as tape:
    value = loss(target, audio)
  grad = tape.gradient(value, audio).numpy()
  assert np.isfinite(float(value))
  assert np.all(np.isfinite(grad))
  if name == 'full_scale_noise':
    assert np.any(grad != 0.0)


def test_spectral_loss_gradient_from_silence_towards_target(rng):
  # Generated audio is silent, target is noise: the gradient is finite and,
  # for the log-magnitude term, non-zero nearly everywhere.
  target = rng.uniform(-1.0, 1.0, size=(1, 2000)).astype(np.float32)
  audio = tf.Variable(1e-3 * rng.normal(size=(1, 2000)).astype(np.float32))
  loss = losses.SpectralLoss(fft_sizes=(256, 64), logmag_weight=1.0)
  with tf.GradientTape() as tape:
    value = loss(target, audio)
  grad = tape.gradient(value, audio).numpy()
  assert np.all(np.isfinite(grad)) and np.mean(grad != 0.0) > 0.99


@pytest.mark.parametrize('size', [64, 63, 8, 3])
def test_stft_magnitude_gradient_matches_autodiff(rng, size):
  """The hand-written gradient equals TensorFlow's gradient of the same op."""
  audio = tf.Variable(rng.normal(size=(2, 301)).astype(np.float32))
  # pylint: disable=protected-access
  params = losses.SpectralLoss._make_stft_params(size)
  _, hop, window, _ = params
  with tf.GradientTape(persistent=True) as tape:
    mags = losses_spectral._stft_magnitudes(audio, *params)
    frames = tf.signal.frame(audio, size, hop, pad_end=True)
    reference = tf.abs(tf.signal.rfft(frames * window, fft_length=[size]))
    upstream = tf.constant(rng.normal(size=mags.shape), tf.float32)
    value = tf.reduce_sum(mags * upstream)
    reference_value = tf.reduce_sum(reference * upstream)
  np.testing.assert_allclose(mags.numpy(), reference.numpy(), atol=1e-5)
  np.testing.assert_allclose(tape.gradient(value, audio).numpy(),
                             tape.gradient(reference_value, audio).numpy(),
                             atol=1e-4)


def test_spectral_loss_same_as_spectral_ops_compute_mag(rng):
  from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
  target, value = _signals(rng)
  loss = losses.SpectralLoss(fft_sizes=(1024, 64))
  expected = sum(float(losses.mean_difference(
      spectral_ops.compute_mag(target, size), spectral_ops.compute_mag(
          value, size))) for size in (1024, 64))
  np.testing.assert_allclose(float(loss(target, value)), expected, rtol=1e-5)


@pytest.mark.parametrize('n_samples', [1, 16, 100, 2049])
def test_spectral_loss_any_length(rng, n_samples):
  # A batch of 2 one-sample clips, [2, 1], would read as mono [n_samples, 1]
  # audio with a channel axis, which is refused: use one clip there.
  batch = 1 if n_samples == 1 else 2
  target = rng.normal(size=(batch, n_samples)).astype(np.float32)
  value = rng.normal(size=(batch, n_samples)).astype(np.float32)
  loss = losses.SpectralLoss(logmag_weight=1.0, delta_time_weight=1.0)
  expected = _np_spectral_loss(target, value, loss.fft_sizes, mag=1.0,
                               logmag=1.0, delta_time=1.0)
  np.testing.assert_allclose(float(loss(target, value)), expected, rtol=1e-4)


def test_spectral_loss_audio_layouts_agree(rng):
  target, value = _signals(rng, batch=1)
  loss = losses.SpectralLoss(fft_sizes=(256, 64))
  batched = float(loss(target, value))
  assert float(loss(target[0], value[0])) == pytest.approx(batched, rel=1e-6)
  assert float(loss(target[..., None], value[..., None])) == pytest.approx(
      batched, rel=1e-6)


def test_spectral_loss_tf_function_with_unknown_length(rng):
  target, value = _signals(rng)
  loss = losses.SpectralLoss(fft_sizes=(256, 64), logmag_weight=1.0,
                             delta_time_weight=1.0)
  spec = tf.TensorSpec([None, None], tf.float32)

  @tf.function(input_signature=[spec, spec])
  def graph_loss(a, b):
    with tf.GradientTape() as tape:
      tape.watch(b)
      value = loss(a, b)
    return value, tape.gradient(value, b)

  graph_value, graph_grad = graph_loss(target, value)
  audio = tf.constant(value)
  with tf.GradientTape() as tape:
    tape.watch(audio)
    eager_value = loss(target, audio)
  np.testing.assert_allclose(graph_value.numpy(), eager_value.numpy(),
                             rtol=1e-6)
  eager_grad = tape.gradient(eager_value, audio).numpy()
  # Float32 sums may be reordered between graph and eager kernels: compare
  # to a tolerance relative to the gradient's scale, not to 1e-9 absolute.
  np.testing.assert_allclose(graph_grad.numpy(), eager_grad, rtol=1e-5,
                             atol=1e-6 * np.max(np.abs(eager_grad)))


def test_spectral_loss_per_example_weights(rng):
  target, value = _signals(rng)
  loss = losses.SpectralLoss(fft_sizes=(256, 64), logmag_weight=1.0)
  first_only = float(loss(target[:1], value[:1]))
  for weights in ([1.0, 0.0], np.array([[[1.0]], [[0.0]]])):
    np.testing.assert_allclose(float(loss(target, value, weights=weights)),
                               0.5 * first_only, rtol=1e-5)
  np.testing.assert_allclose(float(loss(target, value, weights=2.0)),
                             2.0 * float(loss(target, value)), rtol=1e-5)
  with pytest.raises(ValueError, match=r'`weights` of SpectralLoss must be a '
                     r'scalar or one weight per example.*batch=2.*'
                     r'weights.shape=\(2, 5\)'):
    loss(target, value, weights=np.ones([2, 5], np.float32))


def test_spectral_loss_cosine_runs(rng):
  target, value = _signals(rng)
  loss = losses.SpectralLoss(fft_sizes=(256,), loss_type='cosine')
  assert float(loss(target, target)) == pytest.approx(0.0, abs=1e-6)
  assert float(loss(target, value)) > 0.0


def test_spectral_loss_errors(rng):
  with pytest.raises(ValueError, match=r'`loss_type` must be one of'):
    losses.SpectralLoss(loss_type='L0')
  with pytest.raises(ValueError, match=r'`logmag_weight` must be a number in '
                     r'\[0.0, inf\]. Received: logmag_weight=-1.0'):
    losses.SpectralLoss(logmag_weight=-1.0)
  with pytest.raises(ValueError, match=r'`fft_sizes\[i\]` must be a positive '
                     r'integer. Received: fft_sizes\[i\]=0'):
    losses.SpectralLoss(fft_sizes=(512, 0))
  with pytest.raises(ValueError, match=r'>= 3 samples'):
    losses.SpectralLoss(fft_sizes=(2,))
  with pytest.raises(ValueError, match=r'at least one FFT size'):
    losses.SpectralLoss(fft_sizes=())
  loss = losses.SpectralLoss(fft_sizes=(64,))
  with pytest.raises(ValueError, match=r"\['target_audio', 'audio'\] must have "
                     r'the same shape.*target_audio.shape=\(2, 100\), '
                     r'audio.shape=\(2, 120\)'):
    loss(np.zeros([2, 100], np.float32), np.zeros([2, 120], np.float32))
  with pytest.raises(ValueError, match=r'`audio` must be \[batch, n_samples\] '
                     r'or \[batch, n_samples, 1\] mono audio'):
    loss(np.zeros([2, 100, 1], np.float32), np.zeros([2, 100, 2], np.float32))


def test_spectral_loss_config_round_trip_and_gin(rng):
  loss = losses.SpectralLoss(fft_sizes=(256, 64), loss_type='L2',
                             logmag_weight=2.0, loudness_weight=0.5,
                             sample_rate=22050, name='ms')
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(loss))
  assert isinstance(restored, losses.SpectralLoss)
  assert restored.get_config() == loss.get_config()
  target, value = _signals(rng, n=2000)
  assert float(restored(target, value)) == float(loss(target, value))

  @gin.configurable
  def make_loss(loss=None):
    return loss

  gin.clear_config()
  try:
    gin.parse_config("""
        make_loss.loss = @SpectralLoss()
        SpectralLoss.fft_sizes = (128,)
        SpectralLoss.logmag_weight = 3.0
    """)
    configured = make_loss()
  finally:
    gin.clear_config()
  assert configured.fft_sizes == (128,) and configured.logmag_weight == 3.0


# ------------------------------------------------------------------------------
# Loss, LossGroup.
# ------------------------------------------------------------------------------
def test_get_losses_dict(rng):
  target, value = _signals(rng)
  loss = losses.SpectralLoss(fft_sizes=(64,), name='tiny_spectral')
  result = loss.get_losses_dict(target, value)
  assert list(result) == ['tiny_spectral']
  assert float(result['tiny_spectral']) == float(loss(target, value))


def test_loss_group_over_outputs_dict(rng):
  target, value = _signals(rng)
  f0 = np.full([2, 10, 1], 440.0, np.float32)
  f0_pred = f0 + rng.normal(size=f0.shape).astype(np.float32)
  outputs = {'audio': target, 'audio_synth': value,
             'harmonic': {'controls': {'f0_hz': f0_pred}}, 'f0_hz': f0}
  spectral = losses.SpectralLoss(fft_sizes=(256, 64))
  group = losses.LossGroup(
      [(spectral, ['audio', 'audio_synth']),
       ('f0', ['f0_hz', 'harmonic/controls/f0_hz'])],
      f0=losses.ParamLoss(weight=0.5, name='f0_loss'))
  result = group(outputs)
  assert sorted(result) == ['f0_loss', 'spectral_loss']
  np.testing.assert_allclose(float(result['spectral_loss']),
                             _np_spectral_loss(target, value, (256, 64),
                                               mag=1.0), rtol=1e-4)
  np.testing.assert_allclose(float(result['f0_loss']),
                             0.5 * np.mean(np.abs(f0 - f0_pred)), rtol=1e-5)
  assert group.get_losses_dict(outputs).keys() == result.keys()

  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(group))
  restored_result = restored(outputs)
  for key, val in result.items():
    assert float(restored_result[key]) == pytest.approx(float(val), rel=1e-6)


def test_loss_group_missing_key_names_it(rng):
  target, value = _signals(rng)
  group = losses.LossGroup([(losses.SpectralLoss(fft_sizes=(64,)),
                             ['audio', 'audio_generated'])])
  with pytest.raises(ValueError, match=r"'audio_generated' not found"):
    group({'audio': target, 'audio_synth': value})


# ------------------------------------------------------------------------------
# Embedding losses.
# ------------------------------------------------------------------------------
def _tone(f0_hz, n=4096, sample_rate=16000):
  t = np.arange(n) / sample_rate
  return (0.5 * np.sin(2 * np.pi * f0_hz * t))[np.newaxis].astype(np.float32)


@pytest.fixture(scope='module')
def crepe_loss():
  return losses.PretrainedCREPEEmbeddingLoss(model_size='tiny')


def test_crepe_embedding_loss_identical_and_different(crepe_loss):
  a4 = _tone(440.0)
  assert float(crepe_loss(a4, a4)) == 0.0
  # An octave apart and a semitone apart both differ; the octave more.
  octave = float(crepe_loss(a4, _tone(880.0)))
  assert octave > 0.005
  assert float(crepe_loss(a4, _tone(466.16))) > 0.001


def test_crepe_embedding_loss_matches_activations(crepe_loss):
  a4, c5 = _tone(440.0), _tone(523.25)
  model = crepe_loss.pretrained_model
  expected = np.mean(np.abs(model(a4).numpy() - model(c5).numpy()))
  # The published scaling: weight * 20 * 130 for the classifier.
  np.testing.assert_allclose(float(crepe_loss(a4, c5)), 2600.0 * expected,
                             rtol=1e-5)
  # Centred frames, as published: 4096 // 1024 + 1, the first on sample 0.
  assert model(a4).shape == (1, 5, 360)
  frames = model.frame_audio(a4).numpy()
  padded = np.pad(a4[0], 512)
  np.testing.assert_array_equal(frames[0, 0], padded[:1024])
  np.testing.assert_array_equal(frames[0, 4], padded[4096:5120])


def test_crepe_embedding_loss_published_layer_scales():
  a4, c5 = _tone(440.0), _tone(523.25)
  for layer, factor in (('conv5-maxpool', 20 * 1.7), ('conv6-BN', 20 * 30.0),
                        ('conv3', 20.0)):
    loss = losses.PretrainedCREPEEmbeddingLoss(activation_layer=layer,
                                               weight=0.5)
    model = loss.pretrained_model
    expected = np.mean(np.abs(model(a4).numpy() - model(c5).numpy()))
    np.testing.assert_allclose(float(loss(a4, c5)), 0.5 * factor * expected,
                               rtol=1e-4)


def test_crepe_embedding_loss_gradient(crepe_loss):
  target = _tone(440.0)
  audio = tf.Variable(_tone(494.0))
  with tf.GradientTape() as tape:
    value = crepe_loss(target, audio)
  grad = tape.gradient(value, audio).numpy()
  assert np.all(np.isfinite(grad)) and np.any(grad != 0.0)
  assert not crepe_loss.trainable_weights
  trainable = losses.PretrainedCREPEEmbeddingLoss(trainable=True)
  # Kernel and bias of 6 convs and the classifier, gamma and beta of 6 BNs.
  assert len(trainable.trainable_weights) == 26


def test_crepe_embedding_loss_config_and_other_rate(crepe_loss):
  config = crepe_loss.get_config()
  restored = losses.PretrainedCREPEEmbeddingLoss.from_config(config)
  assert restored.get_config() == config
  at_48k = losses.PretrainedCREPEEmbeddingLoss(sample_rate=48000,
                                               activation_layer='conv6')
  a4_48k = _tone(440.0, n=3 * 4096, sample_rate=48000)
  b4_48k = _tone(494.0, n=3 * 4096, sample_rate=48000)
  assert float(at_48k(a4_48k, a4_48k)) == 0.0
  assert float(at_48k(a4_48k, b4_48k)) > 0.0


def test_fourier_resample_matches_scipy(rng):
  audio = rng.normal(size=(2, 3000)).astype(np.float32)
  for n_out in (1000, 999, 4500, 4501):
    # pylint: disable=protected-access
    resampled = losses_embedding._fourier_resample(tf.constant(audio), 3000, n_out)
    np.testing.assert_allclose(
        resampled.numpy(), scipy.signal.resample(audio, n_out, axis=-1),
        atol=2e-5)


def test_embedding_loss_with_any_layer(rng):
  embed = keras.layers.Dense(4, name='embed', kernel_initializer='ones')
  loss = losses.EmbeddingLoss(weight=2.0, loss_type='L2',
                              pretrained_model=embed)
  a = rng.normal(size=(2, 8)).astype(np.float32)
  b = rng.normal(size=(2, 8)).astype(np.float32)
  expected = 2.0 * np.mean((a.sum(-1) - b.sum(-1))**2)
  np.testing.assert_allclose(float(loss(a, b)), expected, rtol=1e-5)
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(loss))
  assert restored.weight == 2.0 and restored.loss_type == 'L2'
  with pytest.raises(TypeError, match=r'`pretrained_model` must be a '
                     r'keras.layers.Layer.*Received: pretrained_model=None'):
    losses.EmbeddingLoss()


# ------------------------------------------------------------------------------
# Wasserstein distance and consistency losses.
# ------------------------------------------------------------------------------
def test_wasserstein_distance_matches_scipy(rng):
  u = rng.normal(size=(3, 7))
  v = rng.normal(loc=0.5, size=(3, 5))
  u_w = rng.uniform(size=(3, 7))
  v_w = rng.uniform(size=(3, 5))
  w1 = losses.wasserstein_distance(u, v, u_w, v_w).numpy()
  w1_plain = losses.wasserstein_distance(u, v).numpy()
  w2 = losses.wasserstein_distance(u, v, u_w, v_w, p=2).numpy()
  for i in range(3):
    assert w1[i] == pytest.approx(
        scipy.stats.wasserstein_distance(u[i], v[i], u_w[i], v_w[i]), rel=1e-4)
    assert w1_plain[i] == pytest.approx(
        scipy.stats.wasserstein_distance(u[i], v[i]), rel=1e-4)
    # scipy's energy distance is sqrt(2) times the p=2 CDF distance.
    assert np.sqrt(2.0) * w2[i] == pytest.approx(
        scipy.stats.energy_distance(u[i], v[i], u_w[i], v_w[i]), rel=1e-4)


def test_wasserstein_distance_gradients_and_zero(rng):
  u = tf.Variable(rng.normal(size=(2, 4)).astype(np.float32))
  w = tf.Variable(rng.uniform(0.1, 1.0, size=(2, 4)).astype(np.float32))
  v = rng.normal(size=(2, 6)).astype(np.float32)
  with tf.GradientTape() as tape:
    distance = tf.reduce_sum(losses.wasserstein_distance(u, v, w, None, p=2))
  grads = tape.gradient(distance, [u, w])
  for grad in grads:
    assert np.all(np.isfinite(grad.numpy())) and np.any(grad.numpy() != 0.0)
  same = tf.Variable(v)
  with tf.GradientTape() as tape:
    zero = tf.reduce_sum(losses.wasserstein_distance(same, v, p=2))
  assert float(zero) == 0.0
  assert np.all(np.isfinite(tape.gradient(zero, same).numpy()))


def test_wasserstein_consistency_loss(rng):
  amps_a = rng.uniform(0.1, 1.0, size=(2, 3, 4)).astype(np.float32)
  freqs_a = rng.uniform(100.0, 2000.0, size=(2, 3, 4)).astype(np.float32)
  amps_b = rng.uniform(0.1, 1.0, size=(2, 3, 5)).astype(np.float32)
  freqs_b = rng.uniform(100.0, 2000.0, size=(2, 3, 5)).astype(np.float32)
  loss = losses.WassersteinConsistencyLoss(weight=2.0)
  midi = lambda f: 12.0 * np.log2(f / 440.0) + 69.0
  expected = 2.0 * np.mean([
      scipy.stats.wasserstein_distance(midi(freqs_a[b, t]), midi(freqs_b[b, t]),
                                       amps_a[b, t], amps_b[b, t])
      for b in range(2) for t in range(3)])
  np.testing.assert_allclose(float(loss(amps_a, freqs_a, amps_b, freqs_b)),
                             expected, rtol=1e-4)
  # The order of the sinusoids does not matter.
  order = rng.permutation(4)
  assert float(loss(amps_a[..., order], freqs_a[..., order], amps_a,
                    freqs_a)) == pytest.approx(0.0, abs=1e-5)
  hz_loss = losses.WassersteinConsistencyLoss(midi=False)
  assert float(hz_loss(amps_a, freqs_a, amps_a, freqs_a * 1.0 + 50.0)
               ) == pytest.approx(50.0, rel=1e-4)


def test_param_and_filtered_noise_consistency_losses(rng):
  a = rng.normal(size=(2, 5, 3)).astype(np.float32)
  b = rng.normal(size=(2, 5, 3)).astype(np.float32)
  assert float(losses.ParamLoss(weight=3.0, loss_type='L2')(a, b)
               ) == pytest.approx(3.0 * np.mean((a - b)**2), rel=1e-5)
  assert float(losses.FilteredNoiseConsistencyLoss(weight=0.5)(a, b)
               ) == pytest.approx(0.5 * np.mean(np.abs(a - b)), rel=1e-5)
  assert float(losses.ParamLoss()(a, a)) == 0.0


def test_harmonic_consistency_loss_matches_numpy(rng):
  amp_p = rng.uniform(0.0, 2e-4, size=(2, 6, 1)).astype(np.float32)
  amp_t = rng.uniform(0.0, 2e-4, size=(2, 6, 1)).astype(np.float32)
  dist_p = rng.dirichlet(np.ones(5), size=(2, 6)).astype(np.float32)
  dist_t = rng.dirichlet(np.ones(5), size=(2, 6)).astype(np.float32)
  f0_p = rng.uniform(100.0, 800.0, size=(2, 6, 1)).astype(np.float32)
  f0_t = rng.uniform(100.0, 800.0, size=(2, 6, 1)).astype(np.float32)
  loss = losses.HarmonicConsistencyLoss(amp_weight=10.0, dist_weight=2.0,
                                        f0_weight=0.5, amp_threshold=1e-4)
  # As published, the target amplitude (second argument) sets the mask.
  mask = (amp_t >= 1e-4).astype(np.float64)
  assert 0 < mask.sum() < mask.size
  assert not np.array_equal(mask, amp_p >= 1e-4)
  midi = lambda f: 12.0 * np.log2(f / 440.0) + 69.0
  expected = (10.0 * np.mean(np.abs(amp_p - amp_t)) +
              2.0 * np.mean(np.abs(dist_p - dist_t) * mask) +
              0.5 * np.mean(np.abs(midi(f0_p) - midi(f0_t)) * mask))
  result = loss(amp_p, amp_t, dist_p, dist_t, f0_p, f0_t)
  np.testing.assert_allclose(float(result), expected, rtol=1e-4)
  # The published keyword names.
  result = loss(harm_amp=amp_p, harm_amp_target=amp_t, harm_dist=dist_p,
                harm_dist_target=dist_t, f0_hz=f0_p, f0_hz_target=f0_t)
  np.testing.assert_allclose(float(result), expected, rtol=1e-4)
  assert float(loss(amp_p, amp_p, dist_p, dist_p, f0_p, f0_p)) == 0.0
  with pytest.raises(ValueError, match=r'`harm_amp` must have shape '
                     r'\[\?, \?, 1\]'):
    loss(dist_p, amp_t, dist_p, dist_t, f0_p, f0_t)
  with pytest.raises(ValueError, match=r'`harm_amp_target` must have shape'):
    loss(amp_p, dist_t, dist_p, dist_t, f0_p, f0_t)


def test_harmonic_consistency_loss_silent_target_frames_do_not_pull_f0():
  # A silent target frame (synthetic notes' rests: amplitude ~1e-7, f0 8.2 Hz)
  # adds nothing to the f0 term, however loud the prediction is there.
  amp_p = np.full([1, 2, 1], 0.5, np.float32)
  amp_t = np.array([[[0.5], [1e-7]]], np.float32)
  dist = np.ones([1, 2, 1], np.float32)
  f0_p = np.full([1, 2, 1], 440.0, np.float32)
  f0_t = np.array([[[220.0], [8.18]]], np.float32)
  loss = losses.HarmonicConsistencyLoss(amp_weight=0.0, dist_weight=0.0)
  # Mean over both frames of the masked L1: (12 + 0) / 2 semitones.
  assert float(loss(amp_p, amp_t, dist, dist, f0_p, f0_t)) == pytest.approx(
      6.0, rel=1e-5)
  assert losses.HarmonicConsistencyLoss().amp_weight == 1.0  # As published.


@pytest.mark.parametrize('cls, weight_name', [
    (losses.ParamLoss, 'weight'),
    (losses.FilteredNoiseConsistencyLoss, 'weight'),
    (losses.HarmonicConsistencyLoss, 'dist_weight'),
    (losses.WassersteinConsistencyLoss, 'weight')])
def test_consistency_losses_config_round_trip(cls, weight_name):
  loss = cls(name='custom')
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(loss))
  assert type(restored) is cls and restored.get_config() == loss.get_config()
  with pytest.raises(ValueError, match=r'must be a number in \[0.0, inf\]'):
    cls(**{weight_name: -1.0})


@pytest.mark.parametrize('module', [losses_base, losses_spectral,
                                    losses_embedding, losses_consistency])
def test_docstring_examples(module):
  result = doctest.testmod(module, extraglobs={'np': np, 'tf': tf},
                           optionflags=doctest.ELLIPSIS)
  assert result.attempted >= 3 and result.failed == 0


def test_spectral_loss_refuses_non_finite_and_stereo_audio(rng):
  target, value = _signals(rng)
  bad = value.copy()
  bad[0, 10] = np.nan
  loss = losses.SpectralLoss(fft_sizes=(256, 64))
  with pytest.raises(ValueError, match=r'`audio` must be finite.*first at '
                     r'index \(0, 10\)'):
    loss(target, bad)
  with pytest.raises(ValueError, match='`target_audio` must be finite'):
    loss(bad, value)
  stereo = np.stack([value[0], value[0]], axis=-1)  # [n_samples, 2].
  with pytest.raises(ValueError, match=r'`audio` must be \[batch, n_samples\]'
                     r'.*Make it mono first'):
    loss(value[0], stereo)


# ------------------------------------------------------------------------------
# Published names: amp_loss, freq_loss, LossGroup.loss_names and its
# get_losses_dict protocol, PretrainedCREPE and model_capacity.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('loss_type', ['L1', 'L2'])
def test_amp_loss_matches_numpy(rng, loss_type):
  amp = rng.uniform(0.0, 2.0, size=(2, 5, 3)).astype(np.float32)
  amp[0, 0, 0] = 0.0  # Floored at amin on the log scale.
  target = rng.uniform(0.0, 2.0, size=(2, 5, 3)).astype(np.float32)
  weights = rng.uniform(size=(2, 5, 1)).astype(np.float32)
  power = 1 if loss_type == 'L1' else 2
  linear = np.mean(np.abs(amp - target)**power * weights)
  log_amp = np.log10(np.maximum(1e-3, amp.astype(np.float64)))
  log_target = np.log10(np.maximum(1e-3, target.astype(np.float64)))
  logarithmic = np.mean(np.abs(log_amp - log_target)**power)
  np.testing.assert_allclose(
      float(losses.amp_loss(amp, target, loss_type, weights)), linear,
      rtol=1e-5)
  np.testing.assert_allclose(
      float(losses.amp_loss(amp, target, loss_type, log=True, amin=1e-3)),
      logarithmic, rtol=1e-5)
  with pytest.raises(ValueError, match=r'`amin` must be a positive number. '
                     r'Received: amin=0.0'):
    losses.amp_loss(amp, target, log=True, amin=0.0)


def test_freq_loss_matches_numpy_in_semitones(rng):
  f_hz = rng.uniform(50.0, 2000.0, size=(2, 6, 1)).astype(np.float32)
  target = rng.uniform(50.0, 2000.0, size=(2, 6, 1)).astype(np.float32)
  midi = lambda f: 12.0 * np.log2(f.astype(np.float64) / 440.0) + 69.0
  np.testing.assert_allclose(float(losses.freq_loss(f_hz, target)),
                             np.mean(np.abs(midi(f_hz) - midi(target))),
                             rtol=1e-5)
  np.testing.assert_allclose(float(losses.freq_loss(f_hz, target, 'L2')),
                             np.mean((midi(f_hz) - midi(target))**2),
                             rtol=1e-5)
  # Octaves are 12 semitones at any pitch; gradients are finite.
  assert float(losses.freq_loss(f_hz, 2.0 * f_hz)) == pytest.approx(12.0,
                                                                     rel=1e-5)
  f_var = tf.Variable(f_hz)
  with tf.GradientTape() as tape:
    value = losses.freq_loss(f_var, target)
  assert np.all(np.isfinite(tape.gradient(value, f_var).numpy()))


class _TwoTermLoss(losses.Loss):
  """A loss whose get_losses_dict names two terms (the published protocol)."""

  def call(self, a, b):
    return tf.reduce_mean(tf.abs(a - b))

  def get_losses_dict(self, a, b):
    return {'l1_term': self(a, b), 'l2_term': tf.reduce_mean((a - b)**2)}


def test_loss_group_loss_names_follow_the_dag(rng):
  target, value = _signals(rng)
  spectral = losses.SpectralLoss(fft_sizes=(64,), name='spectral')
  f0 = losses.ParamLoss(name='f0_loss')
  group = losses.LossGroup([(spectral, ['audio', 'audio_synth']),
                            ('pitch', ['f0_hz', 'f0_pred'])], pitch=f0)
  # As published: the node keys (a keyword for a loss named by keyword),
  # while the values are keyed by each loss's own name.
  assert group.loss_names == ['spectral', 'pitch']
  f0_hz = np.full([2, 4, 1], 440.0, np.float32)
  outputs = {'audio': target, 'audio_synth': value, 'f0_hz': f0_hz,
             'f0_pred': f0_hz + 3.0}
  result = group(outputs)
  assert list(result) == ['spectral', 'f0_loss']
  np.testing.assert_allclose(float(result['f0_loss']), 3.0, rtol=1e-6)
  np.testing.assert_allclose(float(result['spectral']),
                             _np_spectral_loss(target, value, (64,), mag=1.0),
                             rtol=1e-4)


def test_loss_group_merges_get_losses_dict_terms(rng):
  a = rng.normal(size=(2, 5)).astype(np.float32)
  b = rng.normal(size=(2, 5)).astype(np.float32)
  group = losses.LossGroup([(_TwoTermLoss(name='two'), ['a', 'b']),
                            (losses.ParamLoss(name='p'), ['a', 'b'])])
  result = group({'a': a, 'b': b})
  assert sorted(result) == ['l1_term', 'l2_term', 'p']
  np.testing.assert_allclose(float(result['l2_term']), np.mean((a - b)**2),
                             rtol=1e-5)
  np.testing.assert_allclose(float(result['l1_term']), np.mean(np.abs(a - b)),
                             rtol=1e-5)
  clash = losses.LossGroup([(_TwoTermLoss(name='two'), ['a', 'b']),
                            (losses.ParamLoss(name='l1_term'), ['a', 'b'])])
  with pytest.raises(ValueError, match=r"return the same keys \['l1_term'\]"):
    clash({'a': a, 'b': b})


def test_loss_group_published_construction_and_gin(rng):
  # The published test's DAG: losses given as instances, CREPE named.
  audio = rng.normal(size=(3, 8000)).astype(np.float32)
  synth = 0.5 * audio
  spectral = losses.SpectralLoss()
  crepe_loss = losses.PretrainedCREPEEmbeddingLoss(name='crepe_loss')
  group = losses.LossGroup(dag=[(spectral, ['audio', 'audio_synth']),
                                (crepe_loss, ['audio', 'audio_synth'])])
  result = group({'audio': audio, 'audio_synth': synth})
  assert group.loss_names == ['spectral_loss', 'crepe_loss']
  np.testing.assert_allclose(float(result['spectral_loss']),
                             float(spectral(audio, synth)), rtol=1e-6)
  np.testing.assert_allclose(float(result['crepe_loss']),
                             float(crepe_loss(audio, synth)), rtol=1e-6)
  # Built from gin bindings, as the published configs do.
  gin.clear_config()
  try:
    gin.parse_config("""
        import ddsp
        LossGroup.dag = [(@losses.SpectralLoss(), ['audio', 'audio_synth'])]
        SpectralLoss.fft_sizes = (256, 64)
    """)
    configured = losses.LossGroup()
  finally:
    gin.clear_config()
  assert configured.loss_names == ['spectral_loss']
  np.testing.assert_allclose(
      float(configured({'audio': audio, 'audio_synth': synth})[
          'spectral_loss']),
      _np_spectral_loss(audio, synth, (256, 64), mag=1.0), rtol=1e-4)


def _np_crepe_frames(audio):
  """Published losses.PretrainedCREPE framing: 1024-sample frames every 1024
  samples, centred (512 zeros each side), normalized per frame."""
  padded = np.pad(audio.astype(np.float64), [(0, 0), (512, 512)])
  n_frames = (padded.shape[-1] - 1024) // 1024 + 1
  frames = np.stack([padded[:, i * 1024:(i + 1) * 1024]
                     for i in range(n_frames)], axis=1)
  mean = frames.mean(-1, keepdims=True)
  std = frames.std(-1, keepdims=True)
  return ((frames - mean) / std).astype(np.float32)


def test_losses_pretrained_crepe_is_the_published_embedding(rng):
  audio = rng.normal(size=(2, 3000)).astype(np.float32)
  crepe = losses.PretrainedCREPE(model_capacity='tiny',
                                 activation_layer='conv4-maxpool')
  assert losses.PretrainedCREPE is losses.PretrainedCREPEEmbedding
  embedding = crepe(audio).numpy()
  frames = _np_crepe_frames(audio)
  assert embedding.shape == (2, 3000 // 1024 + 1, 16 * 16)  # 16 wide x 16 ch.
  expected = crepe.embedding_model([frames.reshape(-1, 1024)]).numpy()
  np.testing.assert_allclose(embedding, expected.reshape(2, 3, -1),
                             rtol=1e-4, atol=1e-4)
  assert {'conv5-maxpool', 'classifier'} <= set(crepe.layer_names)
  assert crepe.frame_length == 1024 and not crepe.trainable_weights
  default = losses.PretrainedCREPE()
  assert default.activation_layer == 'conv5-maxpool'  # As published.
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(crepe))
  assert type(restored) is losses.PretrainedCREPE
  assert restored.get_config() == crepe.get_config()
  # The spectral_ops model keeps its own Keras name and class.
  spectral_ops_crepe = losses_embedding.spectral_ops.PretrainedCREPE('tiny')
  restored = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(spectral_ops_crepe))
  assert type(restored) is losses_embedding.spectral_ops.PretrainedCREPE
  assert restored.hop_size == 160
  with pytest.raises(ValueError, match=r'`activation_layer` must be one of'):
    losses.PretrainedCREPE(activation_layer='conv9')


def test_crepe_embedding_loss_model_capacity_is_model_size():
  published = losses.PretrainedCREPEEmbeddingLoss(model_capacity='tiny')
  assert published.model_size == 'tiny'
  a4, b4 = _tone(440.0), _tone(494.0)
  ours = losses.PretrainedCREPEEmbeddingLoss(model_size='tiny')
  assert float(published(a4, b4)) == float(ours(a4, b4))
  config = published.get_config()
  assert config['model_capacity'] == config['model_size'] == 'tiny'
  restored = losses.PretrainedCREPEEmbeddingLoss.from_config(config)
  assert restored.get_config() == config
  with pytest.raises(ValueError, match=r"give one of them. Received: "
                     r"model_size='full', model_capacity='small'"):
    losses.PretrainedCREPEEmbeddingLoss(model_size='full',
                                        model_capacity='small')
  gin.clear_config()
  try:
    gin.parse_config("PretrainedCREPEEmbeddingLoss.model_capacity = 'tiny'")
    assert losses.PretrainedCREPEEmbeddingLoss().model_size == 'tiny'
  finally:
    gin.clear_config()
