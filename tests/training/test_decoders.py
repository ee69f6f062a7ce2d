"""Tests of ddsp.training.decoders against a numpy forward pass."""

import doctest

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import decoders
from ddsp.training import nn

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


def test_stateless_rnn_fc_decoder_matches_numpy_and_carries_state(rng):
  decoder = decoders.RnnFcDecoder(rnn_channels=4, ch=5, layers_per_stack=1,
                                  input_keys=('ld_scaled', 'f0_scaled'),
                                  output_splits=SPLITS, stateless=True)
  assert decoder.input_keys == ['ld_scaled', 'f0_scaled', 'state']
  assert decoder.output_keys[-1] == 'state'
  features = _features(rng, n_frames=6)
  state = tf.constant(rng.normal(size=[2, 4]), tf.float32)
  decoder(dict(features, state=state))
  _randomize(decoder, rng)
  out = decoder(dict(features, state=state))
  assert list(out) == ['amps', 'harmonic_distribution', 'noise_magnitudes',
                       'state']
  # numpy: the GRU starts from the given state.
  inputs = [np.asarray(features[k], np.float64) for k in ('ld_scaled',
                                                          'f0_scaled')]
  stacked = [ref.fc_stack(x, stack)
             for x, stack in zip(inputs, decoder.input_stacks)]
  cell = decoder.rnn.rnn.cell
  rnn_out, final = ref.gru(np.concatenate(stacked, -1), cell.kernel.numpy(),
                           cell.recurrent_kernel.numpy(), cell.bias.numpy(),
                           h0=state.numpy())
  x = ref.fc_stack(np.concatenate(stacked + [rnn_out], -1), decoder.out_stack)
  expected = ref.dense(x, *(w.numpy() for w in decoder.dense_out.weights))
  np.testing.assert_allclose(out['amps'], expected[..., :1], rtol=1e-4,
                             atol=1e-4)
  np.testing.assert_allclose(out['state'], final, rtol=1e-4, atol=1e-5)
  # Two blocks with the carried state equal one pass.
  first = decoder({k: v[:, :4] for k, v in features.items() if k != 'unused'},
                  state=state)
  second = decoder({k: v[:, 4:] for k, v in features.items()
                    if k != 'unused'}, state=first['state'])
  np.testing.assert_allclose(
      np.concatenate([first['noise_magnitudes'], second['noise_magnitudes']],
                     axis=1), out['noise_magnitudes'], atol=1e-5)
  config = decoder.get_config()
  assert config['stateless'] and config['input_keys'] == ['ld_scaled',
                                                          'f0_scaled']
  assert decoders.RnnFcDecoder.from_config(config).get_config() == config


def test_dilated_conv_decoder_published_options(rng):
  features = _features(rng, n_frames=4)
  # Preconditioning runs on the conditioning before the stack.
  pre = nn.FcStackOut(ch=4, layers=1, n_out=5)
  decoder = decoders.DilatedConvDecoder(
      ch=4, layers_per_stack=1, stacks=2, output_splits=SPLITS,
      precondition_stack=pre, resample_stride=2, stacks_per_resample=1)
  out = decoder(features)
  # Two upsamplings by 2.
  assert out['amps'].shape == (2, 16, 1)
  x = tf.concat([features['ld_scaled'], features['f0_scaled']], -1)
  manual = decoder.dilated_conv_stack(x, pre(features['z']))
  expected = ref.dense(manual.numpy(), *(w.numpy() for w in
                                         decoder.dense_out.weights))
  np.testing.assert_allclose(out['amps'], expected[..., :1], rtol=1e-4,
                             atol=1e-4)
  config = decoder.get_config()
  clone = decoders.DilatedConvDecoder.from_config(config)
  assert isinstance(clone.precondition_stack, nn.FcStackOut)
  assert clone.get_config() == config
  with pytest.raises(ValueError, match=r'`precondition_stack` acts on the '
                     r'conditioning: it needs `conditioning_keys`'):
    decoders.DilatedConvDecoder(conditioning_keys=None,
                                precondition_stack=pre)
  # The published default conditions on 'z'.
  assert decoders.DilatedConvDecoder(ch=4, stacks=1).input_keys[-1] == 'z'
  # Orthogonal kernels and spectral normalization reach the stack.
  ortho = decoders.DilatedConvDecoder(ch=4, layers_per_stack=1, stacks=1,
                                      conditioning_keys=None, ortho_init=True,
                                      spectral_norm=True)
  ortho(features)
  stack = ortho.dilated_conv_stack
  assert stack.ortho_init and stack.spectral_norm
  assert isinstance(stack.convs[0], nn.SpectralNormalization)


def _np_layer_norm(x, layer, eps=1e-5):
  x = np.asarray(x, np.float64)
  normed = (x - x.mean(axis=(1, 2), keepdims=True)) / np.sqrt(
      x.var(axis=(1, 2), keepdims=True) + eps)
  return normed * layer.scale.numpy() + layer.shift.numpy()


@pytest.mark.parametrize('f0_residual, center_loudness', [(True, True),
                                                          (False, False)])
def test_midi_decoder_matches_numpy(rng, f0_residual, center_loudness):
  z_pitch = rng.uniform(40, 80, [2, 5, 1]).astype(np.float32)
  decoder = decoders.MidiDecoder(net=nn.FcStack(4, 1),
                                 f0_residual=f0_residual,
                                 center_loudness=center_loudness)
  assert decoder.input_keys == ['z_pitch']
  assert decoder.default_input_keys == ['z_vel', 'z']
  out = decoder({'z_pitch': z_pitch, 'z_vel': np.zeros_like(z_pitch)})
  assert list(out) == ['f0_midi', 'loudness']
  x = _np_layer_norm(ref.fc_stack(z_pitch, decoder.net), decoder.norm)
  x = ref.dense(x, *(w.numpy() for w in decoder.dense_out.weights))
  f0 = x[..., :1] + (z_pitch if f0_residual else 0.0)
  loudness = x[..., 1:] * 30.0 - 70.0 if center_loudness else x[..., 1:]
  np.testing.assert_allclose(out['f0_midi'], f0, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(out['loudness'], loudness, rtol=1e-4, atol=1e-4)
  config = decoder.get_config()
  assert decoders.MidiDecoder.from_config(config).get_config() == config


def test_midi_to_harmonic_decoder_matches_numpy_and_takes_z(rng):
  z_pitch = rng.uniform(-2, 80, [2, 5, 1]).astype(np.float32)
  splits = (('f0_midi', 1), ('amplitudes', 1), ('harmonic_distribution', 3))
  decoder = decoders.MidiToHarmonicDecoder(net=nn.Identity(), norm=False,
                                           output_splits=splits)
  out = decoder(z_pitch)  # Positional, as the published MidiAutoencoder.
  assert list(out) == ['f0_midi', 'amplitudes', 'harmonic_distribution',
                       'f0_hz']
  x = ref.dense(z_pitch.astype(np.float64),
                *(w.numpy() for w in decoder.dense_out.weights))
  f0_midi = x[..., :1] + z_pitch
  np.testing.assert_allclose(out['f0_midi'], f0_midi, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(out['harmonic_distribution'], x[..., 2:],
                             rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(out['f0_hz'], 440.0 * 2**((f0_midi - 69.0) /
                                                      12.0), rtol=1e-4)
  # midi_zero_silence: MIDI 0 is 0 Hz (dense weights zeroed: f0 = pitch).
  for w in decoder.dense_out.weights:
    w.assign(tf.zeros_like(w))
  z_pitch[0, 2, 0] = 0.0
  f0_hz = decoder(z_pitch)['f0_hz'].numpy()[0, :, 0]
  assert f0_hz[2] == 0.0
  np.testing.assert_allclose(f0_hz[3], 440.0 * 2**((z_pitch[0, 3, 0] - 69.0) /
                                                   12.0), rtol=1e-5)
  # A latent z goes to the net with the pitch ([z_pitch, z]).
  net = nn.DilatedConvStack(ch=4, layers_per_stack=1, stacks=1,
                            conditional=True)
  conditioned = decoders.MidiToHarmonicDecoder(net=net)
  z = rng.normal(size=[2, 5, 3]).astype(np.float32)
  a = conditioned(z_pitch, None, z)
  b = conditioned({'z_pitch': z_pitch, 'z': z + 1.0})
  assert a['magnitudes'].shape == (2, 5, 65)
  assert np.abs(a['magnitudes'] - b['magnitudes']).max() > 1e-4
  with pytest.raises(ValueError, match=r"must include \('f0_midi', 1\)"):
    decoders.MidiToHarmonicDecoder(output_splits=(('amps', 1),))
  with pytest.raises(ValueError, match=r'MidiToHarmonicDecoder needs a `net`'):
    decoders.MidiToHarmonicDecoder()(z_pitch)
  config = decoders.MidiToHarmonicDecoder(net=nn.DilatedConvStack(
      ch=4, stacks=1, conditional=True)).get_config()
  clone = decoders.MidiToHarmonicDecoder.from_config(config)
  assert isinstance(clone.net, nn.DilatedConvStack)
  assert clone.get_config() == config


def test_published_midiae_gin_bindings_build_the_decoder(rng):
  # As models/midiae/z_midiae.gin (smaller sizes).
  gin.clear_config()
  try:
    gin.parse_config("""
        import ddsp.training
        MidiToHarmonicDecoder.f0_residual = True
        MidiToHarmonicDecoder.output_splits = (('f0_midi', 1),
                                               ('amplitudes', 1),
                                               ('harmonic_distribution', 4),
                                               ('magnitudes', 3))
        MidiToHarmonicDecoder.net = @dec/nn.DilatedConvStack()
        dec/DilatedConvStack.ch = 4
        dec/DilatedConvStack.layers_per_stack = 1
        dec/DilatedConvStack.stacks = 2
        dec/DilatedConvStack.norm_type = 'layer'
        dec/DilatedConvStack.conditional = True
        DilatedConvDecoder.precondition_stack = @nn.FcStackOut()
        nn.FcStackOut.ch = 4
        nn.FcStackOut.n_out = 3
        nn.FcStackOut.layers = 1
    """)
    decoder = decoders.MidiToHarmonicDecoder()
    assert decoder.net.conditional and decoder.net.stacks == 2
    out = decoder(tf.fill([1, 5, 1], 60.0), None,
                  tf.constant(rng.normal(size=[1, 5, 2]), tf.float32))
    assert out['magnitudes'].shape == (1, 5, 3)
    assert isinstance(decoders.DilatedConvDecoder(ch=4).precondition_stack,
                      nn.FcStackOut)
  finally:
    gin.clear_config()


def test_docstring_examples():
  results = doctest.testmod(decoders, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
