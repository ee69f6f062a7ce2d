"""Tests of ddsp.training.encoders against a numpy forward pass."""

import doctest

import numpy as np
import pytest
import tensorflow as tf

from ddsp import spectral_ops
from ddsp.training import encoders

import nn_reference as ref  # tests/training/nn_reference.py


def _audio(rng, n_samples=8000):
  t = np.arange(n_samples) / 16000
  tone = np.sin(2 * np.pi * 220 * t) * np.linspace(0.1, 0.8, n_samples)
  noise = rng.normal(0, 0.05, [2, n_samples])
  return (tone + noise).astype(np.float32)


@pytest.mark.parametrize('z_time_steps, fft_size, hop', [
    (250, 1024, 256), (125, 1024, 512)])
def test_mfcc_rnn_encoder_matches_numpy(rng, z_time_steps, fft_size, hop):
  audio = _audio(rng)
  encoder = encoders.MfccTimeDistributedRnnEncoder(
      rnn_channels=6, z_dims=3, z_time_steps=z_time_steps)
  features = {'audio': audio, 'f0_scaled': tf.zeros([2, 125, 1])}
  encoder(features)
  for w in encoder.weights:
    w.assign(rng.normal(0, 0.3, w.shape))
  z = encoder(features)['z']

  mfccs = spectral_ops.compute_mfcc(audio, fft_size=fft_size, mfcc_bins=30,
                                    overlap=1 - hop / fft_size).numpy()
  n_z_frames = -(-audio.shape[1] // hop)
  assert mfccs.shape == (2, n_z_frames, 30)
  mfccs = mfccs.astype(np.float64)
  normed = (mfccs - mfccs.mean(axis=1, keepdims=True)) / np.sqrt(
      mfccs.var(axis=1, keepdims=True) + 1e-5)
  normed = normed * encoder.z_norm.scale.numpy() + encoder.z_norm.shift.numpy()
  cell = encoder.rnn.rnn.cell
  rnn_out, _ = ref.gru(normed, cell.kernel.numpy(),
                       cell.recurrent_kernel.numpy(), cell.bias.numpy())
  z_native = ref.dense(rnn_out, *(w.numpy() for w in
                                  encoder.dense_out.weights))
  expected = ref.linear_resample(z_native, 125)
  assert z.shape == (2, 125, 3)
  np.testing.assert_allclose(z, expected, rtol=1e-3, atol=1e-3)

  # Without the reference feature z keeps its own frames.
  z_own = encoder({'audio': audio})['z']
  np.testing.assert_allclose(z_own, z_native, rtol=1e-3, atol=1e-3)


def test_mfcc_rnn_encoder_gradients(rng):
  encoder = encoders.MfccTimeDistributedRnnEncoder(rnn_channels=4, z_dims=2)
  audio = tf.constant(_audio(rng, 4096))
  with tf.GradientTape() as tape:
    tape.watch(audio)
    z = encoder({'audio': audio, 'f0_scaled': tf.zeros([2, 64, 1])})['z']
    loss = tf.reduce_sum(tf.sin(z))
  grads = tape.gradient(loss, [audio] + encoder.trainable_variables)
  assert len(grads) == 1 + 2 + 3 + 2  # audio, norm, GRU, dense.
  for g in grads:
    assert np.all(np.isfinite(g)) and np.any(np.abs(g) > 0)


def test_expand_z():
  z = tf.constant([[1.0, 2.0]])
  np.testing.assert_allclose(encoders.expand_z(z, 3), [[[1, 2]] * 3])
  z = tf.constant([[[0.0], [4.0]]])
  np.testing.assert_allclose(encoders.expand_z(z, 4)[0, :, 0],
                             [0.0, 2.0, 4.0, 4.0])
  with pytest.raises(ValueError, match=r'`z` must have rank 2 or 3'):
    encoders.expand_z(tf.zeros([2]), 4)


def test_encoder_config_and_errors(rng):
  encoder = encoders.MfccTimeDistributedRnnEncoder(
      rnn_channels=4, rnn_type='lstm', z_dims=2, z_time_steps=500,
      time_key='ld_scaled')
  config = encoder.get_config()
  clone = encoders.MfccTimeDistributedRnnEncoder.from_config(config)
  assert clone.get_config() == config
  assert (clone.fft_size, clone.overlap, clone.time_key) == (
      512, 0.75, 'ld_scaled')
  with pytest.raises(ValueError, match=r'`z_time_steps` must be one of '
                     r'\[63, 125, 250, 500, 1000\]. Received: '
                     r'z_time_steps=100'):
    encoders.MfccTimeDistributedRnnEncoder(z_time_steps=100)
  with pytest.raises(ValueError, match=r"needs the input key 'audio', which "
                     r"is not among the available keys \['f0_hz'\]"):
    encoder({'f0_hz': tf.zeros([1, 10])})
  with pytest.raises(ValueError, match=r'`audio` must have rank 1 or 2 or 3'):
    encoder({'audio': tf.zeros([1, 2, 3, 4])})
  with pytest.raises(NotImplementedError, match='compute_z'):
    encoders.Encoder()({'audio': tf.zeros([1, 10])})


def test_docstring_examples():
  results = doctest.testmod(encoders, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
