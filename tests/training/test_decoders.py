"""Tests of ddsp.training.decoders against a numpy forward pass."""

import doctest

import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import decoders

import nn_reference as ref  # tests/training/nn_reference.py

SPLITS = (('amps', 1), ('harmonic_distribution', 4), ('noise_magnitudes', 3))


def _features(rng, batch=2, n_frames=7, z_dims=3):
  return {
      'ld_scaled': tf.constant(rng.uniform(0, 1, [batch, n_frames, 1]),
                               tf.float32),
      'f0_scaled': tf.constant(rng.uniform(0.3, 0.6, [batch, n_frames, 1]),
                               tf.float32),
      'z': tf.constant(rng.normal(size=[batch, n_frames, z_dims]),
                       tf.float32),
      'unused': tf.zeros([batch]),
  }


def _randomize(layer, rng):
  for w in layer.weights:
    w.assign(rng.normal(0, 0.4, w.shape))


def _numpy_rnn_fc_decoder(decoder, features):
  """RnnFcDecoder recomputed with numpy from its weights."""
  inputs = [np.asarray(features[k], np.float64) for k in decoder.input_keys]
  stacked = [ref.fc_stack(x, stack)
             for x, stack in zip(inputs, decoder.input_stacks)]
  cell = decoder.rnn.rnn.cell
  rnn_out, _ = ref.gru(np.concatenate(stacked, -1), cell.kernel.numpy(),
                       cell.recurrent_kernel.numpy(), cell.bias.numpy())
  x = ref.fc_stack(np.concatenate(stacked + [rnn_out], -1), decoder.out_stack)
  kernel, bias = (w.numpy() for w in decoder.dense_out.weights)
  return ref.dense(x, kernel, bias)


def test_rnn_fc_decoder_matches_numpy(rng):
  decoder = decoders.RnnFcDecoder(rnn_channels=5, ch=6, layers_per_stack=2,
                                  output_splits=SPLITS)
  features = _features(rng)
  decoder(features)
  _randomize(decoder, rng)
  out = decoder(features)
  expected = _numpy_rnn_fc_decoder(decoder, features)
  assert list(out) == ['amps', 'harmonic_distribution', 'noise_magnitudes']
  assert out['harmonic_distribution'].shape == (2, 7, 4)
  np.testing.assert_allclose(out['amps'], expected[..., :1], rtol=1e-4,
                             atol=1e-4)
  np.testing.assert_allclose(out['harmonic_distribution'], expected[..., 1:5],
                             rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(out['noise_magnitudes'], expected[..., 5:],
                             rtol=1e-4, atol=1e-4)
  # Positional tensors in input_keys order give the same result.
  positional = decoder(features['ld_scaled'], features['f0_scaled'],
                       features['z'])
  np.testing.assert_allclose(positional['amps'], out['amps'], rtol=1e-6)


def test_rnn_fc_decoder_gradients_reach_every_variable(rng):
  decoder = decoders.RnnFcDecoder(rnn_channels=4, ch=4, layers_per_stack=1,
                                  input_keys=('ld_scaled', 'f0_scaled'),
                                  output_splits=SPLITS)
  features = _features(rng)
  with tf.GradientTape() as tape:
    out = decoder(features)
    loss = tf.add_n([tf.reduce_sum(tf.sin(v)) for v in out.values()])
  grads = tape.gradient(loss, decoder.trainable_variables)
  # 2 input stacks (4 each) + GRU (3) + out stack (4) + dense (2).
  assert len(grads) == 17
  for g, v in zip(grads, decoder.trainable_variables):
    assert g is not None, v.path
    assert np.all(np.isfinite(g)) and np.any(np.abs(g) > 0), v.path


def test_rnn_fc_decoder_mixed_bfloat16_policy(rng):
  """A bfloat16 network gives float32 controls close to the float32 one."""
  features = _features(rng)
  kwargs = dict(rnn_channels=5, ch=6, layers_per_stack=2, output_splits=SPLITS)
  decoder = decoders.RnnFcDecoder(**kwargs)
  decoder_bf16 = decoders.RnnFcDecoder(dtype='mixed_bfloat16', **kwargs)
  decoder(features)
  decoder_bf16(features)
  assert decoder_bf16.rnn.compute_dtype == 'bfloat16'
  for a, b in zip(decoder_bf16.weights, decoder.weights):
    a.assign(b)
  out, out_bf16 = decoder(features), decoder_bf16(features)
  for key, value in out.items():
    assert out_bf16[key].dtype == tf.float32
    scale = np.abs(value).max()
    assert np.abs(out_bf16[key] - value).max() < 0.05 * scale, key


def test_rnn_fc_decoder_config_round_trip_and_checkpoint(rng, tmp_path):
  decoder = decoders.RnnFcDecoder(
      rnn_channels=4, rnn_type='lstm', ch=3, layers_per_stack=1,
      input_keys=('f0_scaled',), output_splits=(('amps', 1), ('hd', 2)),
      name='dec')
  features = _features(rng)
  out = decoder(features)
  config = decoder.get_config()
  clone = decoders.RnnFcDecoder.from_config(config)
  assert clone.get_config() == config
  clone(features)
  for a, b in zip(clone.weights, decoder.weights):
    a.assign(b)
  np.testing.assert_allclose(clone(features)['hd'], out['hd'], rtol=1e-6)
  path = tf.train.Checkpoint(decoder=decoder).save(str(tmp_path / 'ckpt'))
  saved = [n for n, _ in tf.train.list_variables(path) if 'decoder/' in n]
  assert len(saved) == len(decoder.weights)


def test_rnn_fc_decoder_errors(rng):
  decoder = decoders.RnnFcDecoder(rnn_channels=4, ch=4, layers_per_stack=1)
  features = _features(rng)
  del features['z']
  with pytest.raises(ValueError, match=r"needs the input key 'z', which is not "
                     r"among the available keys \['f0_scaled', 'ld_scaled', "
                     r"'unused'\]"):
    decoder(features)
  features['z'] = tf.zeros([2, 3, 4])
  with pytest.raises(ValueError, match=r'agree on the n_frames axis. Received:'
                     r' ld_scaled.shape\[1\]=7, f0_scaled.shape\[1\]=7, '
                     r'z.shape\[1\]=3'):
    decoder(features)
  features['z'] = tf.zeros([2, 7])
  with pytest.raises(ValueError, match=r'`z` must have rank 3'):
    decoder(features)
  with pytest.raises(ValueError, match=r'`rnn_channels` must be a positive'):
    decoders.RnnFcDecoder(rnn_channels=0)
  with pytest.raises(ValueError, match=r'`output_splits` must be a sequence'):
    decoders.RnnFcDecoder(output_splits=(('amps', -1),))
  with pytest.raises(ValueError, match=r'`input_keys` must name at least'):
    decoders.RnnFcDecoder(input_keys=())


def test_dilated_conv_decoder_shapes_conditioning_and_gradients(rng):
  decoder = decoders.DilatedConvDecoder(
      ch=6, layers_per_stack=2, stacks=1, output_splits=SPLITS,
      conditioning_keys=('z',))
  features = _features(rng, n_frames=8)
  features['z'] = tf.constant(rng.normal(size=[2, 2, 3]), tf.float32)
  with tf.GradientTape() as tape:
    out = decoder(features)
    loss = tf.add_n([tf.reduce_sum(tf.sin(v)) for v in out.values()])
  assert out['noise_magnitudes'].shape == (2, 8, 3)
  grads = tape.gradient(loss, decoder.trainable_variables)
  for g in grads:
    assert np.all(np.isfinite(g)) and np.any(np.abs(g) > 0)
  # z conditions the output.
  features2 = dict(features, z=features['z'] + 1.0)
  assert np.abs(decoder(features2)['amps'] - out['amps']).max() > 1e-4
  clone = decoders.DilatedConvDecoder.from_config(decoder.get_config())
  assert clone.get_config() == decoder.get_config()
  assert clone.conditioning_keys == ('z',)


def test_dilated_conv_decoder_is_causal_when_asked(rng):
  decoder = decoders.DilatedConvDecoder(ch=4, layers_per_stack=2, stacks=1,
                                        norm_type=None, causal=True,
                                        output_splits=(('amps', 1),))
  features = _features(rng, batch=1, n_frames=10)
  base = decoder(features)['amps'].numpy()
  features['ld_scaled'] = tf.tensor_scatter_nd_add(
      features['ld_scaled'], [[0, 6, 0]], [1.0])
  diff = np.abs(decoder(features)['amps'].numpy() - base)[0, :, 0]
  assert np.all(diff[:6] == 0.0) and diff[6] > 0.0


def test_docstring_examples():
  results = doctest.testmod(decoders, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
