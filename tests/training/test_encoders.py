"""Tests of ddsp.training.encoders against a numpy forward pass."""

import doctest

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp import spectral_ops
from ddsp.training import encoders
from ddsp.training import nn

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


# ------------------------------------------------------------------------------
# The published encoders.
# ------------------------------------------------------------------------------
def _np_instance_norm(x, layer, eps=1e-5):
  """Each channel over time, then the Normalize layer's scale and shift."""
  x = np.asarray(x, np.float64)
  normed = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(
      x.var(axis=1, keepdims=True) + eps)
  return normed * layer.scale.numpy() + layer.shift.numpy()


def _np_layer_norm(x, layer, eps=1e-5):
  """Over time and channels of each example ('layer' of nn.Normalize)."""
  x = np.asarray(x, np.float64)
  normed = (x - x.mean(axis=(1, 2), keepdims=True)) / np.sqrt(
      x.var(axis=(1, 2), keepdims=True) + eps)
  return normed * layer.scale.numpy() + layer.shift.numpy()


def _randomize(layer, rng, scale=0.3):
  for w in layer.weights:
    w.assign(rng.normal(0, scale, w.shape))


def _dense(layer, x):
  return ref.dense(x, *(w.numpy() for w in layer.weights))


def test_mfcc_encoder_matches_numpy(rng):
  audio = _audio(rng, 4000)
  encoder = encoders.MfccEncoder(fft_sizes=(512, 256), mel_bins=(64, 32),
                                 mfcc_bins=(10, 5), time_steps=20)
  assert encoder.input_keys == ['audio']
  z = encoder({'audio': audio})['z']
  _randomize(encoder, rng)
  z = encoder({'audio': audio, 'f0_scaled': tf.zeros([2, 40, 1])})['z']
  mfccs = [ref.linear_resample(spectral_ops.compute_mfcc(
      audio, fft_size=fft, mel_bins=mel, mfcc_bins=mfcc).numpy(), 20)
           for fft, mel, mfcc in ((512, 64, 10), (256, 32, 5))]
  z_native = _np_instance_norm(np.concatenate(mfccs, axis=-1),
                               encoder.norm_out)
  assert z.shape == (2, 40, 15)
  np.testing.assert_allclose(z, ref.linear_resample(z_native, 40), rtol=1e-3,
                             atol=1e-3)


@pytest.mark.parametrize('mean_aggregate', [False, True])
def test_mfcc_rnn_encoder_one_vector_matches_numpy(rng, mean_aggregate):
  audio = _audio(rng, 4096)
  encoder = encoders.MfccRnnEncoder(rnn_channels=5, z_dims=3,
                                    mean_aggregate=mean_aggregate)
  features = {'audio': audio, 'f0_scaled': tf.zeros([2, 7, 1])}
  encoder(features)
  _randomize(encoder, rng)
  z = encoder(features)['z']
  mfccs = spectral_ops.compute_mfcc(audio, fft_size=1024, mel_bins=128,
                                    mfcc_bins=30).numpy()
  cell = encoder.rnn.rnn.cell
  h, last = ref.gru(_np_instance_norm(mfccs, encoder.norm_in),
                    cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                    cell.bias.numpy())
  pooled = h.mean(axis=1) if mean_aggregate else last
  expected = _dense(encoder.dense_z, pooled)
  assert z.shape == (2, 7, 3)
  for t in range(7):  # The one vector is tiled over the reference frames.
    np.testing.assert_allclose(z[:, t], expected, rtol=1e-3, atol=1e-4)


def test_one_hot_encoder_looks_up_the_embedding():
  ids = tf.constant([[2], [0]])
  encoder = encoders.OneHotEncoder(one_hot_key='instrument_id', vocab_size=4,
                                   n_dims=3, skip_expand=False)
  assert encoder.input_keys == ['instrument_id']
  z = encoder({'instrument_id': ids, 'f0_scaled': tf.zeros([2, 5, 1])})['z']
  table = encoder.embedding.embeddings.numpy()
  assert z.shape == (2, 5, 3)
  np.testing.assert_array_equal(z[:, 3], table[[2, 0]])
  # skip_expand (the default) leaves the embedding to broadcast.
  skip = encoders.OneHotEncoder(vocab_size=4, n_dims=3)
  assert skip({'instrument': ids, 'f0_scaled': tf.zeros([2, 5, 1])})[
      'z'].shape == (2, 1, 3)
  assert skip({'instrument': tf.constant([1, 3])})['z'].shape == (2, 3)
  config = encoder.get_config()
  assert encoders.OneHotEncoder.from_config(config).get_config() == config


def test_aggregate_features_encoder_matches_numpy(rng):
  f0 = rng.uniform(size=[2, 6, 1]).astype(np.float32)
  ld = rng.uniform(size=[2, 6, 1]).astype(np.float32)
  encoder = encoders.AggregateFeaturesEncoder(ch=4)
  assert encoder.input_keys == ['f0_scaled', 'ld_scaled']
  z = encoder({'f0_scaled': f0, 'ld_scaled': ld})['z']
  expected = _dense(encoder.fc, np.concatenate([f0, ld], -1)).mean(axis=1)
  assert z.shape == (2, 6, 4)
  np.testing.assert_allclose(z[:, 0], expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(z[:, 5], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('pool_time', [True, False])
def test_expression_encoder_matches_numpy(rng, pool_time):
  f0 = rng.uniform(size=[2, 6, 1]).astype(np.float32)
  amps = rng.uniform(size=[2, 6, 3]).astype(np.float32)
  encoder = encoders.ExpressionEncoder(
      net=nn.FcStack(5, 1), z_dims=4, input_keys=('f0_scaled', 'amps'),
      pool_time=pool_time)
  features = {'f0_scaled': f0, 'amps': amps}
  encoder(features)
  _randomize(encoder, rng)
  z = encoder(features)['z']
  x = ref.fc_stack(np.concatenate([f0, amps], -1), encoder.net)
  expected = _dense(encoder.dense_out, _np_layer_norm(x, encoder.norm))
  if pool_time:
    expected = np.repeat(expected.mean(axis=1, keepdims=True), 6, axis=1)
  np.testing.assert_allclose(z, expected, rtol=1e-4, atol=1e-5)


def test_expression_encoder_with_audio_and_its_errors(rng):
  encoder = encoders.ExpressionEncoder(
      net=nn.FcStack(5, 1), z_dims=2, input_keys=('audio', 'f0_scaled'),
      mfcc_bins=8, mel_bins=32, fft_size=256, pool_time=False)
  z = encoder({'audio': _audio(rng, 2048), 'f0_scaled': tf.zeros([2, 10, 1])})
  assert z['z'].shape == (2, 10, 2)
  assert encoder.net.fc_layers[0].dense.kernel.shape == (1 + 8, 5)
  with pytest.raises(ValueError, match=r'needs a frame-rate feature'):
    encoders.ExpressionEncoder(input_keys=('audio',))
  with pytest.raises(ValueError, match=r'ExpressionEncoder needs a `net`'):
    encoders.ExpressionEncoder()({'f0_scaled': tf.zeros([1, 3, 1]),
                                  'ld_scaled': tf.zeros([1, 3, 1])})
  config = encoder.get_config()
  clone = encoders.ExpressionEncoder.from_config(config)
  assert isinstance(clone.net, nn.FcStack) and clone.get_config() == config


@pytest.mark.slow
def test_resnet_sinusoidal_encoder_projects_resnet_features(rng):
  audio = _audio(rng, 2048)
  encoder = encoders.ResnetSinusoidalEncoder(
      output_splits=(('frequencies', 6), ('amplitudes', 2)))
  assert encoder.input_keys == ['audio']
  out = encoder({'audio': audio})
  assert list(out) == ['frequencies', 'amplitudes']
  mag = spectral_ops.compute_logmel(audio)[..., tf.newaxis]
  features = encoder.resnet(mag).numpy()
  features = features.reshape(features.shape[:2] + (-1,))
  assert features.shape == (2, 4, 2 * 512)  # 64 mel bins / 32.
  np.testing.assert_allclose(
      out['amplitudes'], _dense(encoder.dense_outs[1], features), rtol=1e-4,
      atol=1e-4)
  config = encoder.get_config()
  assert config['spectral_fn']['config'] == 'ddsp>compute_logmel'
  clone = encoders.ResnetSinusoidalEncoder.from_config(config)
  assert clone.spectral_fn is spectral_ops.compute_logmel


def _np_hz_to_midi(hz):
  hz = np.asarray(hz, np.float64)
  with np.errstate(divide='ignore'):
    return np.where(hz > 0, 12 * np.log2(hz / 440.0) + 69.0, 0.0)


def _np_exp_sigmoid(x):
  return 2.0 * ref.sigmoid(x)**np.log(10.0) + 1e-7


def test_sinusoidal_to_harmonic_encoder_matches_numpy(rng):
  sin_freqs = rng.uniform(50, 3000, [1, 4, 3]).astype(np.float32)
  sin_amps = rng.uniform(0, 0.5, [1, 4, 3]).astype(np.float32)
  encoder = encoders.SinusoidalToHarmonicEncoder(
      net=nn.Identity(), n_harmonics=12, f0_depth=8, sample_rate=8000)
  assert encoder.input_keys == ['sin_freqs', 'sin_amps']
  out = encoder({'sin_freqs': sin_freqs, 'sin_amps': sin_amps})
  assert list(out) == ['harm_amp', 'harm_dist', 'f0_hz']
  x = np.concatenate([_np_hz_to_midi(sin_freqs) / _np_hz_to_midi(4000.0),
                      sin_amps], axis=-1)
  np.testing.assert_allclose(out['harm_amp'],
                             _np_exp_sigmoid(_dense(encoder.amp_out, x)),
                             rtol=1e-4)
  # f0: softmax over 8 bins evenly spaced in MIDI from 20 Hz to 1200 Hz.
  logits = _dense(encoder.f0_out, x)
  probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
  midi_lo, midi_hi = _np_hz_to_midi(20.0), _np_hz_to_midi(1200.0)
  midi = midi_lo + (probs @ np.linspace(0, 1, 8)) * (midi_hi - midi_lo)
  f0_hz = 440.0 * 2**((midi - 69.0) / 12.0)
  np.testing.assert_allclose(out['f0_hz'][..., 0], f0_hz, rtol=1e-4)
  # The distribution: harmonics at or above Nyquist removed, sum 1.
  dist = _np_exp_sigmoid(_dense(encoder.hd_out, x))
  dist *= (f0_hz[..., None] * np.arange(1, 13)) < 4000.0
  np.testing.assert_allclose(out['harm_dist'],
                             dist / dist.sum(-1, keepdims=True), rtol=1e-4,
                             atol=1e-7)
  config = encoder.get_config()
  assert config['freq_scale_fn'] is None
  clone = encoders.SinusoidalToHarmonicEncoder.from_config(config)
  assert isinstance(clone.net, nn.Identity)


@pytest.mark.parametrize('f0_residual', [True, False])
def test_midi_encoders_match_numpy(rng, f0_residual):
  f0_midi = rng.uniform(40, 80, [2, 5, 1]).astype(np.float32)
  loudness = rng.uniform(-60, 0, [2, 5, 1]).astype(np.float32)
  amps = rng.normal(size=[2, 5, 1]).astype(np.float32)
  hd = rng.uniform(size=[2, 5, 4]).astype(np.float32)
  noise = rng.normal(size=[2, 5, 3]).astype(np.float32)
  for encoder, inputs in (
      (encoders.MidiEncoder(net=nn.Identity(), f0_residual=f0_residual),
       {'f0_midi': f0_midi, 'loudness': loudness}),
      (encoders.HarmonicToMidiEncoder(net=nn.Identity(),
                                      f0_residual=f0_residual),
       {'f0_midi': f0_midi, 'amps': amps, 'hd': hd, 'noise': noise})):
    assert encoder.input_keys == list(inputs)
    out = encoder(inputs)
    assert list(out) == ['z_pitch', 'z_vel']
    x = _dense(encoder.dense_out, _np_layer_norm(
        np.concatenate(list(inputs.values()), axis=-1), encoder.norm))
    np.testing.assert_allclose(
        out['z_pitch'], x[..., :1] + (f0_midi if f0_residual else 0.0),
        rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out['z_vel'], x[..., 1:], rtol=1e-4, atol=1e-4)
    # Positional tensors, as the published MidiAutoencoder calls it.
    positional = encoder(*inputs.values())
    np.testing.assert_allclose(positional['z_pitch'], out['z_pitch'])
  config = encoder.get_config()
  assert encoders.HarmonicToMidiEncoder.from_config(config).f0_residual is (
      f0_residual)


def test_gradients_reach_the_new_encoders(rng):
  sin_freqs = tf.constant(rng.uniform(50, 3000, [1, 3, 2]), tf.float32)
  encoder = encoders.SinusoidalToHarmonicEncoder(net=nn.FcStack(4, 1),
                                                 n_harmonics=4)
  with tf.GradientTape() as tape:
    tape.watch(sin_freqs)
    out = encoder({'sin_freqs': sin_freqs, 'sin_amps': tf.ones([1, 3, 2])})
    # Random weights: the distribution's plain sum is 1, with no gradient.
    loss = sum(tf.reduce_sum(v * rng.normal(size=v.shape)) for v in
               out.values())
  for g in tape.gradient(loss, [sin_freqs] + encoder.trainable_variables):
    assert np.all(np.isfinite(g)) and np.any(np.abs(g) > 0)


@pytest.mark.slow
def test_published_gin_bindings_build_the_encoders(rng):
  # As papers/icml2020/pretrain_model.gin (smaller sizes).
  gin.clear_config()
  try:
    gin.parse_config("""
        import ddsp.training
        ResnetSinusoidalEncoder.size = 'tiny'
        ResnetSinusoidalEncoder.output_splits = (('frequencies', 4),
                                                 ('amplitudes', 2))
        ResnetSinusoidalEncoder.spectral_fn = @f0s/spectral_ops.compute_logmel
        f0s/compute_logmel.bins = 32
        f0s/compute_logmel.fft_size = 512
        ee/ExpressionEncoder.net = @z/nn.DilatedConvStack()
        ee/ExpressionEncoder.z_dims = 3
        z/DilatedConvStack.ch = 4
        z/DilatedConvStack.layers_per_stack = 1
        z/DilatedConvStack.stacks = 1
    """)
    encoder = encoders.ResnetSinusoidalEncoder()
    audio = _audio(rng, 1024)
    assert encoder.spectral_fn(audio).shape == (2, 8, 32)
    out = encoder({'audio': audio})
    assert out['frequencies'].shape == (2, 8, 4)
    assert encoder.dense_outs[0].kernel.shape == (512, 4)  # 32 / 32 bins.
    with gin.config_scope('ee'):
      expression = encoders.ExpressionEncoder()
    assert isinstance(expression.net, nn.DilatedConvStack)
    assert expression.net.ch == 4
  finally:
    gin.clear_config()


def test_docstring_examples():
  results = doctest.testmod(encoders, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
