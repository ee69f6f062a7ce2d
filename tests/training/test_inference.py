"""Tests for ddsp.training.inference: streaming equals offline synthesis."""

import os

import gin
import numpy as np
import pytest
import tensorflow as tf

import ddsp
from ddsp.training import encoders
from ddsp.training import inference
from ddsp.training import models

from inference_helpers import assert_matches_offline  # tests/training/
from inference_helpers import controls
from inference_helpers import HOP
from inference_helpers import make_model
from inference_helpers import offline
from inference_helpers import SEED
from inference_helpers import stream


@pytest.fixture(scope='module')
def model():
  return make_model()


@pytest.fixture(scope='module')
def offline_audio(model):
  f0, loudness = controls()
  audio, outputs = offline(model, f0, loudness)
  return audio, outputs


class TestStreamingEqualsOffline:

  @pytest.mark.parametrize('block_size', [64, 256, 1024])
  def test_whole_chain(self, model, offline_audio, block_size):
    expected, outputs = offline_audio
    # Every part of the chain is audible, so each one is checked.
    for part in ('harmonic', 'filtered_noise'):
      assert np.sqrt(np.mean(outputs[part]['signal'].numpy()**2)) > 0.01
    dry = outputs['add']['signal'].numpy()
    assert np.sqrt(np.mean((expected - dry)**2)) > 0.01  # The reverb's wet.
    streamer = inference.StreamingF0LoudnessModel(model, block_size)
    assert streamer.latency == 95  # 128 taps: 63 + 32 samples.
    f0, loudness = controls()
    assert_matches_offline(stream(streamer, f0, loudness), expected,
                           streamer.latency)

  @pytest.mark.parametrize('kwargs, latency', [
      ({'noise': False, 'reverb_length': 0}, 64),
      ({'harmonic': False, 'noise_method': 'block', 'window_size': 33}, 16),
      ({'window_size': 33}, 64),
      ({'power': True}, 95),
      ({'exp_decay_reverb': True, 'reverb_length': 1000}, 95),
      ({'sample_rate': 48000}, 192),  # Hop 192 > 63 + 96.
  ])
  def test_variants(self, kwargs, latency):
    variant = make_model(**kwargs)
    f0, loudness = controls(96)
    key = 'power_db' if kwargs.get('power') else 'loudness_db'
    expected, _ = offline(variant, f0, loudness, key)
    hop = kwargs.get('sample_rate', 16000) // 250
    streamer = inference.StreamingF0LoudnessModel(variant, 2 * hop)
    assert streamer.latency == latency
    assert streamer.loudness_key == key
    assert_matches_offline(stream(streamer, f0, loudness), expected, latency)

  def test_batch_rows_stream_independently(self, model):
    f0, loudness = controls(64, batch=2, seed=3)
    both = stream(inference.StreamingF0LoudnessModel(model, 256,
                                                     batch_size=2),
                  f0, loudness)
    expected, _ = offline(model, f0, loudness)
    assert_matches_offline(both, expected, 95)
    alone = stream(inference.StreamingF0LoudnessModel(model, 256), f0[1:],
                   loudness[1:])
    np.testing.assert_allclose(both[1:], alone, atol=1e-6)

  @pytest.mark.slow
  def test_long_stream_keeps_phase(self):
    # 20 s of a steady high tone (harmonics up to Nyquist), block 2048.
    tone = make_model(noise=False, reverb_length=0)
    n_frames = 20 * 250
    f0 = np.full([1, n_frames, 1], 1234.5, np.float32)
    loudness = np.full([1, n_frames, 1], -10.0, np.float32)
    expected, _ = offline(tone, f0, loudness)
    streamer = inference.StreamingF0LoudnessModel(tone, 2048)
    streamed = stream(streamer, f0[:, :n_frames // 32 * 32],
                      loudness[:, :n_frames // 32 * 32])
    assert np.abs(expected).max() > 0.1
    assert_matches_offline(streamed, expected, streamer.latency)


  def test_nodes_named_by_keyword(self, model):
    # A published-style DAG naming its modules by keyword stores results
    # under the keywords; streaming follows those keys.
    group = model.processor_group
    keyed = ddsp.processors.ProcessorGroup(
        dag=[('harm', ['amps', 'harmonic_distribution', 'f0_hz']),
             ('noise', ['noise_magnitudes']),
             ('mix', ['noise/signal', 'harm/signal']),
             ('room', ['mix/signal'])],
        harm=group.harmonic, noise=group.filtered_noise, mix=group.add,
        room=group.reverb)
    keyed_model = models.Autoencoder(preprocessor=model.preprocessor,
                                     decoder=model.decoder,
                                     processor_group=keyed)
    f0, loudness = controls(64)
    expected, outputs = offline(keyed_model, f0, loudness)
    assert 'harm' in outputs and 'harmonic' not in outputs
    np.testing.assert_allclose(expected, offline(model, f0, loudness)[0],
                               atol=1e-6)
    streamer = inference.StreamingF0LoudnessModel(keyed_model, 256)
    assert_matches_offline(stream(streamer, f0, loudness), expected,
                           streamer.latency)


class TestState:

  def test_reset_restarts_the_stream(self, model):
    streamer = inference.StreamingF0LoudnessModel(model, 256)
    f0, loudness = controls(64)
    first = stream(streamer, f0, loudness)
    assert int(streamer.state['frame_index']) == 64
    streamer.reset()
    for key, value in streamer.state.items():
      np.testing.assert_array_equal(value.numpy(), 0, err_msg=key)
    np.testing.assert_array_equal(stream(streamer, f0, loudness), first)

  @pytest.mark.slow
  def test_jit_compiled_step(self, model):
    f0, loudness = controls(32)
    plain = stream(inference.StreamingF0LoudnessModel(model, 512), f0,
                   loudness)
    compiled = stream(inference.StreamingF0LoudnessModel(
        model, 512, jit_compile=True), f0, loudness)
    np.testing.assert_allclose(compiled, plain, atol=1e-5)

  def test_step_with_explicit_state(self, model):
    streamer = inference.StreamingF0LoudnessModel(model, 128)
    f0, loudness = controls(32)
    expected = stream(streamer, f0, loudness)
    # Two streams interleaved through `step` do not interfere.
    states = [streamer.initial_state(), streamer.initial_state()]
    outputs = [[], []]
    for k in range(0, 32, 2):
      for i in (0, 1):
        audio, states[i] = streamer.step(f0[:, k:k + 2], loudness[:, k:k + 2],
                                         states[i])
        outputs[i].append(audio.numpy())
    for i in (0, 1):
      np.testing.assert_array_equal(np.concatenate(outputs[i], 1), expected)
    for key, spec in streamer.state_specs.items():
      assert spec.is_compatible_with(states[0][key]), key

  def test_audio_rate_inputs(self, model):
    f0, loudness = controls(32)
    frames = inference.StreamingF0LoudnessModel(model, 256)
    samples = inference.StreamingF0LoudnessModel(model, 256)
    expected = stream(frames, f0, loudness)
    # Audio-rate controls: frame m is sample m * hop (others are ignored).
    noise = np.random.default_rng(0).normal(size=[1, 32 * HOP, 1])
    f0_audio = np.repeat(f0, HOP, axis=1) + noise.astype(np.float32)
    f0_audio[:, ::HOP] = f0
    ld_audio = np.repeat(loudness, HOP, axis=1)
    blocks = [samples(f0_audio[:, k:k + 256], ld_audio[:, k:k + 256,
                                                       0]).numpy()
              for k in range(0, 32 * HOP, 256)]
    np.testing.assert_array_equal(np.concatenate(blocks, 1), expected)


class TestErrors:

  def test_block_size_must_be_a_multiple_of_the_hop(self, model):
    with pytest.raises(ValueError, match='block_size'):
      inference.StreamingF0LoudnessModel(model, 100)

  def test_wrong_block_shape(self, model):
    streamer = inference.StreamingF0LoudnessModel(model, 128)
    with pytest.raises(ValueError, match=r'Received: f0_hz.shape=\(1, 3'):
      streamer(np.zeros([1, 3, 1]), np.zeros([1, 2, 1]))
    with pytest.raises(ValueError, match='loudness_db'):
      streamer(np.zeros([1, 2, 1]), np.zeros([2, 2, 1]))

  def test_missing_state_key(self, model):
    streamer = inference.StreamingF0LoudnessModel(model, 64)
    state = streamer.initial_state()
    del state['phase']
    with pytest.raises(ValueError, match='phase'):
      streamer.step(np.zeros([1, 1, 1]), np.zeros([1, 1, 1]), state)

  def test_model_with_encoder(self, model):
    with_encoder = models.Autoencoder(
        preprocessor=model.preprocessor,
        encoder=encoders.MfccTimeDistributedRnnEncoder(
            rnn_channels=8, z_dims=4, z_time_steps=125),
        decoder=model.decoder, processor_group=model.processor_group)
    with pytest.raises(ValueError, match='encoder'):
      inference.StreamingF0LoudnessModel(with_encoder, 64)

  @staticmethod
  def _nodes(model, n):
    return [(m, list(keys)) for m, keys, _ in model.processor_group.dag[:n]]

  @staticmethod
  def _with_dag(model, dag):
    return models.Autoencoder(
        preprocessor=model.preprocessor, decoder=model.decoder,
        processor_group=ddsp.processors.ProcessorGroup(dag=dag))

  def test_unsupported_processor(self, model):
    dag = self._nodes(model, 3) + [
        (ddsp.effects.FIRFilter(name='fir'),
         ['add/signal', 'noise_magnitudes'])]
    with pytest.raises(ValueError, match='does not support the DAG node 3'):
      inference.StreamingF0LoudnessModel(self._with_dag(model, dag), 64)

  def test_reverb_must_be_learned(self, model):
    dag = self._nodes(model, 3) + [
        (ddsp.effects.Reverb(name='reverb'), ['add/signal', 'amps'])]
    with pytest.raises(ValueError, match='learned reverb'):
      inference.StreamingF0LoudnessModel(self._with_dag(model, dag), 64)

  def test_output_must_sum_all_synths(self, model):
    dag = self._nodes(model, 2)
    with pytest.raises(ValueError, match='sum of all its synths'):
      inference.StreamingF0LoudnessModel(self._with_dag(model, dag), 64)

  def test_decoder_needs_a_gru(self):
    model = make_model(rnn_kwargs={'bidir': True})
    with pytest.raises(ValueError, match='unidirectional GRU'):
      inference.StreamingF0LoudnessModel(model, 64)


class TestLoading:

  @pytest.fixture
  def training_dir(self, tmp_path):
    """A training directory as ddsp_run writes it: gin config, checkpoint."""
    config = f"""
import ddsp.synths
import ddsp.effects
import ddsp.processors
import ddsp.training.decoders
import ddsp.training.models
import ddsp.training.preprocessing

get_model.model = @models.Autoencoder()
Autoencoder.preprocessor = @preprocessing.F0LoudnessPreprocessor()
F0LoudnessPreprocessor.time_steps = 100
Autoencoder.encoder = None
Autoencoder.decoder = @decoders.RnnFcDecoder()
RnnFcDecoder.rnn_channels = 16
RnnFcDecoder.ch = 16
RnnFcDecoder.layers_per_stack = 1
RnnFcDecoder.input_keys = ('ld_scaled', 'f0_scaled')
RnnFcDecoder.output_splits = (('amps', 1), ('harmonic_distribution', 20),
                              ('noise_magnitudes', 65))
Autoencoder.processor_group = @processors.ProcessorGroup()
ProcessorGroup.dag = [
  (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
  (@synths.FilteredNoise(), ['noise_magnitudes']),
  (@processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
  (@effects.Reverb(), ['add/signal']),
]
Harmonic.n_samples = {100 * HOP}
FilteredNoise.n_samples = {100 * HOP}
FilteredNoise.window_size = 0
FilteredNoise.seed = {SEED}
FilteredNoise.counter_noise = True
Reverb.trainable = True
Reverb.reverb_length = 400
"""
    gin_file = tmp_path / 'operative_config-3.gin'
    gin_file.write_text(config)
    gin.clear_config()
    gin.parse_config_file(str(gin_file))
    trained = inference.build_model(models.get_model())
    gin.clear_config()
    for variable in trained.weights:  # "Training": weights unlike any init.
      variable.assign(variable + 0.1 * np.sign(np.random.default_rng(
          0).normal(size=variable.shape)).astype(np.float32))
    tf.train.Checkpoint(model=trained).save(str(tmp_path / 'ckpt'))
    yield tmp_path, trained
    gin.clear_config()

  def test_load_model_restores_the_checkpoint(self, training_dir):
    path, trained = training_dir
    loaded = inference.load_model(str(path))
    assert loaded is not trained
    for a, b in zip(loaded.weights, trained.weights):
      np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert inference.load_model(trained) is trained

  def test_stream_from_a_training_directory(self, training_dir):
    path, trained = training_dir
    f0, loudness = controls(100)
    expected, _ = offline(trained, f0, loudness)
    streamer = inference.StreamingF0LoudnessModel(str(path), 320)
    streamed = stream(streamer, f0[:, :100], loudness[:, :100])
    assert_matches_offline(streamed, expected, streamer.latency)
    # The whole-clip module at the training length, with the reverb, gives
    # the model's audio.
    clip = inference.AutoencoderInference(str(path), length_seconds=None,
                                          remove_reverb=False)
    assert clip.n_frames == 100
    np.testing.assert_allclose(clip(f0[..., 0], loudness[..., 0]).numpy(),
                               expected, atol=1e-6)

  def test_published_defaults_four_seconds_without_reverb(self, training_dir):
    path, trained = training_dir
    clip = inference.AutoencoderInference(str(path))
    assert (clip.n_frames, clip.n_samples) == (1000, 64000)
    f0, loudness = controls(1000)
    features = {'f0_hz': f0[..., 0], 'loudness_db': loudness[..., 0]}
    outputs = clip(features)  # The published call: features -> outputs.
    dry = outputs['audio_synth'].numpy()
    np.testing.assert_array_equal(dry, outputs['add']['signal'].numpy())
    assert not np.allclose(dry, outputs['reverb']['signal'].numpy())
    np.testing.assert_allclose(clip(f0[..., 0], loudness[..., 0]).numpy(),
                               dry, atol=1e-6)  # tf.function vs eager.
    # The same weights as the 100-frame model: its dry sound where the
    # controls agree (the causal GRU and synths; the last frames interpolate
    # towards frame 100, which differs).
    clip.save_model(path / 'saved')
    saved = tf.saved_model.load(str(path / 'saved'))
    np.testing.assert_allclose(saved.signatures['serving_default'](
        f0_hz=f0[..., 0], loudness_db=loudness[..., 0])['audio'].numpy(),
                               dry, atol=1e-6)
    _, short = offline(trained, f0[:, :100], loudness[:, :100])
    n = 90 * HOP
    np.testing.assert_allclose(dry[:, :n], short['add']['signal'][:, :n],
                               atol=1e-5)

  def test_missing_files(self, tmp_path):
    with pytest.raises(FileNotFoundError):
      inference.load_model(str(tmp_path))
    os.makedirs(tmp_path / 'empty', exist_ok=True)
    with pytest.raises(FileNotFoundError):
      inference.load_model(str(tmp_path / 'empty'))
