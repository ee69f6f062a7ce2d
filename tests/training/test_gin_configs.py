"""Tests of the packaged gin configs (ddsp/training/gin): each parses, each
model builds and returns audio of its input's shape, and the configs hold the
published settings."""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

import ddsp
from ddsp.training import ddsp_run  # pylint: disable=unused-import
from ddsp.training import data
from ddsp.training import decoders
from ddsp.training import encoders
from ddsp.training import evaluators
from ddsp.training import gin as ddsp_gin
from ddsp.training import models
from ddsp.training import preprocessing
from ddsp.training import trainers
import training_helpers as helpers  # tests/training/training_helpers.py

MODEL_CONFIGS = ['models/ae.gin', 'models/solo_instrument.gin',
                 'papers/iclr2020/nsynth_ae.gin',
                 'papers/iclr2020/solo_instrument.gin',
                 'papers/iclr2020/tiny_instrument.gin']
# A 0.256 s example: 4096 samples, 64 frames.
SHORT = [f'Harmonic.n_samples = {helpers.N_SAMPLES}',
         f'FilteredNoise.n_samples = {helpers.N_SAMPLES}',
         f'F0LoudnessPreprocessor.time_steps = {helpers.N_FRAMES}']


@pytest.fixture(autouse=True)
def clean_gin():
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  yield
  gin.clear_config()


def _parse(files, bindings=()):
  with gin.unlock_config():
    gin.parse_config_files_and_bindings(files, list(bindings),
                                        finalize_config=False)


def test_every_packaged_config_parses():
  configs = ddsp_gin.list_configs()
  assert set(MODEL_CONFIGS) <= set(configs)
  assert len(configs) >= 11
  for config in configs:
    gin.clear_config()
    _parse([config])  # Unknown names or references would raise.


@pytest.mark.parametrize('config', MODEL_CONFIGS)
def test_model_config_builds_and_returns_audio_of_input_shape(
    config, test_data):
  _parse([config], SHORT)
  model = models.get_model()
  assert isinstance(model, models.Autoencoder)
  examples = helpers.violin_examples(test_data, n_examples=2)
  batch = {k: tf.constant(v) for k, v in examples.items()}
  outputs, losses = model(batch, return_losses=True)
  audio = outputs['audio_synth'].numpy()
  assert audio.shape == examples['audio'].shape
  assert np.all(np.isfinite(audio)) and np.std(audio) > 0
  assert np.isfinite(float(losses['total_loss']))


def test_solo_instrument_settings():
  _parse(['papers/iclr2020/solo_instrument.gin'])
  model = models.get_model()
  assert model.encoder is None
  assert isinstance(model.preprocessor, preprocessing.F0LoudnessPreprocessor)
  assert model.preprocessor.time_steps == 1000
  decoder = model.decoder
  assert isinstance(decoder, decoders.RnnFcDecoder)
  assert (decoder.rnn_channels, decoder.rnn_type, decoder.ch,
          decoder.layers_per_stack) == (512, 'gru', 512, 3)
  assert tuple(decoder.input_keys) == ('ld_scaled', 'f0_scaled')
  assert dict(decoder.output_splits) == {
      'amps': 1, 'harmonic_distribution': 60, 'noise_magnitudes': 65}
  processors = {type(m).__name__: m for m in _dag_modules(
      model.processor_group)}
  assert list(processors) == ['Harmonic', 'FilteredNoise', 'Add', 'Reverb']
  assert processors['Harmonic'].n_samples == 64000
  assert processors['Harmonic'].sample_rate == 16000
  assert processors['FilteredNoise'].n_samples == 64000
  reverb = processors['Reverb']
  assert reverb.trainable and reverb.reverb_length == 48000
  # Taps learn at 0.1 x the learning rate; the initial IR is the published
  # tiny random one (stddev 1e-6).
  assert reverb.learning_rate_scale == 0.1
  reverb(tf.zeros([1, 100]))
  assert 0.95e-6 < float(np.std(reverb.ir.numpy())) < 1.05e-6
  loss, = model.loss_objs
  assert isinstance(loss, ddsp.losses.SpectralLoss)
  assert (loss.loss_type, loss.mag_weight, loss.logmag_weight) == (
      'L1', 1.0, 1.0)
  # The dataset: TFRecords for training, evaluation and sampling.
  for fn in ('train', 'evaluate', 'sample'):
    assert gin.query_parameter(f'{fn}.data_provider').selector == (
        'data.TFRecordProvider')


def _dag_modules(group):
  return [node[0] for node in group.dag]


def test_ae_has_a_z_encoder_and_no_reverb():
  _parse(['models/ae.gin'])
  model = models.get_model()
  assert model.encoder is not None and model.encoder.z_dims == 16
  assert 'z' in model.decoder.input_keys
  names = [type(m).__name__ for m in _dag_modules(model.processor_group)]
  assert names == ['Harmonic', 'FilteredNoise', 'Add']


def test_tiny_instrument_is_smaller():
  _parse(['papers/iclr2020/tiny_instrument.gin'])
  decoder = models.get_model().decoder
  assert (decoder.rnn_channels, decoder.layers_per_stack) == (256, 1)


def test_optimization_and_eval_defaults():
  _parse(['optimization/base.gin', 'eval/basic.gin', 'datasets/tfrecord.gin'],
         ['TFRecordProvider.file_pattern = "/nowhere/*.tfrecord"'])
  assert gin.query_parameter('train.batch_size') is not None
  assert gin.query_parameter('%batch_size') == 32
  assert gin.query_parameter('%learning_rate') == 3e-4
  trainer = trainers.Trainer(models.Model())
  assert (trainer.learning_rate, trainer.lr_decay_steps, trainer.lr_decay_rate,
          trainer.grad_clip_norm, trainer.checkpoints_to_keep) == (
              3e-4, 10000, 0.98, 3.0, 100)
  assert gin.query_parameter('evaluate.batch_size') == 32
  assert gin.query_parameter('sample.ckpt_delay_secs') == 300
  classes = gin.query_parameter('%evaluators')
  assert [c.selector for c in classes] == ['evaluators.BasicEvaluator']
  provider = gin.query_parameter('train.data_provider').scoped_configurable_fn()
  assert isinstance(provider, data.TFRecordProvider)
  # The batch size macro is what --gin_param="batch_size=16" changes.
  _parse([], ['batch_size = 16'])
  assert gin.query_parameter('%batch_size') == 16


def test_basic_f0_ld_lists_both_evaluators():
  _parse(['eval/basic_f0_ld.gin'])
  classes = [c.configurable.wrapped for c in
             gin.query_parameter('%evaluators')]
  assert classes == [evaluators.BasicEvaluator, evaluators.F0LdEvaluator]


def test_mixed_bfloat16_option(test_data):
  _parse(['models/ae.gin', 'optimization/mixed_bfloat16.gin'], SHORT)
  model = models.get_model()
  assert model.decoder.dtype_policy.name == 'mixed_bfloat16'
  examples = helpers.violin_examples(test_data, n_examples=1)
  outputs = model({k: tf.constant(v) for k, v in examples.items()})
  assert outputs['amps'].dtype == tf.float32  # Controls leave in float32.
  assert outputs['audio_synth'].shape == examples['audio'].shape


def _steps_under(config_files, batch, n_steps=2):
  """Losses of `n_steps` training steps, the trainer, and the decoder's
  share of exactly-zero gradient entries at the initial weights."""
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  _parse(['models/solo_instrument.gin'] + config_files, SHORT + [
      'RnnFcDecoder.rnn_channels = 32', 'RnnFcDecoder.ch = 32',
      'Reverb.reverb_length = 1000', 'Rnn.jit_compile = False'])
  keras.utils.set_random_seed(0)  # The same initial weights for every policy.
  trainer = trainers.Trainer(models.get_model())
  trainer.build(batch)
  with tf.GradientTape() as tape:
    _, losses = trainer.model(batch, training=True, return_losses=True)
  variables = trainer.model.decoder.trainable_variables
  grads = tape.gradient(losses['total_loss'], variables)
  zero_share = (sum(int(np.sum(g.numpy() == 0.0)) for g in grads) /
                sum(int(v.shape.num_elements()) for v in variables))
  step_losses = [float(trainer.train_step(batch)['total_loss'])
                 for _ in range(n_steps)]
  return step_losses, trainer, zero_share


@pytest.mark.slow
def test_mixed_precision_configs_train_close_to_float32(test_data):
  """A few steps under each policy: finite losses, float32 variables, losses
  within 5 % (bfloat16, 8-bit mantissa) / 1 % (float16) of float32's, and no
  gradient entries flushed to zero beyond float32's (float16 has no loss
  scaling). Measured here: 2.8 % and 0.35 % at the first step."""
  examples = helpers.violin_examples(test_data, n_examples=2)
  batch = {k: tf.constant(v) for k, v in examples.items()}
  reference, _, reference_zeros = _steps_under([], batch)
  for config, policy, rtol in (
      ('optimization/mixed_bfloat16.gin', 'mixed_bfloat16', 0.05),
      ('optimization/mixed_float16.gin', 'mixed_float16', 0.01)):
    losses, trainer, zeros = _steps_under([config], batch)
    model = trainer.model
    assert model.decoder.dtype_policy.name == policy
    assert np.all(np.isfinite(losses))
    assert {v.dtype for v in model.trainable_variables} == {'float32'}
    assert {v.dtype for v in trainer.optimizer.variables
            if 'iteration' not in v.path} == {'float32'}
    outputs = model({k: v for k, v in batch.items()})
    assert outputs['amps'].dtype == tf.float32  # Controls leave in float32.
    assert outputs['audio_synth'].dtype == tf.float32
    np.testing.assert_allclose(losses, reference, rtol=rtol)
    assert losses != reference  # The policy did change the arithmetic.
    assert zeros <= reference_zeros + 1e-3


def test_nsynth_splits_by_scope():
  _parse(['datasets/nsynth.gin'])
  for fn, scope, split in (('train', 'train_data', 'train'),
                           ('evaluate', 'eval_data', 'valid'),
                           ('sample', 'sample_data', 'test')):
    ref = gin.query_parameter(f'{fn}.data_provider')
    assert ref.selector == 'data.NSynthTfds' and ref.scopes == [scope]
    assert gin.query_parameter(f'{scope}/NSynthTfds.split') == split


# ------------------------------------------------------------------------------
# Gin construction as published: classes built directly in Python after
# gin.parse_config(...) see their bindings (see ddsp.registration).
# ------------------------------------------------------------------------------
_N_SAMPLES = 640
_N_FRAMES = 10
_TINY_AE = f"""
    Autoencoder.preprocessor = @preprocessing.F0LoudnessPreprocessor()
    F0LoudnessPreprocessor.time_steps = {_N_FRAMES}
    Autoencoder.encoder = @encoders.MfccTimeDistributedRnnEncoder()
    MfccTimeDistributedRnnEncoder.rnn_channels = 8
    MfccTimeDistributedRnnEncoder.z_dims = 3
    MfccTimeDistributedRnnEncoder.z_time_steps = 1000
    Autoencoder.decoder = @decoders.RnnFcDecoder()
    RnnFcDecoder.rnn_channels = 8
    RnnFcDecoder.ch = 8
    RnnFcDecoder.layers_per_stack = 1
    RnnFcDecoder.input_keys = ('ld_scaled', 'f0_scaled', 'z')
    RnnFcDecoder.output_splits = (('amps', 1), ('harmonic_distribution', 5),
                                  ('noise_magnitudes', 6))
    Harmonic.n_samples = {_N_SAMPLES}
    FilteredNoise.n_samples = {_N_SAMPLES}
    FilteredNoise.window_size = 0
    FilteredNoise.seed = 5
    Reverb.trainable = True
    Reverb.reverb_length = 100
    Reverb.seed = 6
    ProcessorGroup.dag = [
      (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
      (@synths.FilteredNoise(), ['noise_magnitudes']),
      (@processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
      (@effects.Reverb(), ['add/signal']),
    ]
    Autoencoder.processor_group = @processors.ProcessorGroup()
    Autoencoder.losses = [@losses.SpectralLoss()]
    SpectralLoss.fft_sizes = (256, 64)
    SpectralLoss.logmag_weight = 1.0
"""


def _tiny_features(seed=0):
  rng = np.random.default_rng(seed)
  return {
      'audio': tf.constant(rng.uniform(-0.5, 0.5, [2, _N_SAMPLES]),
                           tf.float32),
      'f0_hz': tf.constant(rng.uniform(100, 400, [2, _N_FRAMES]), tf.float32),
      'loudness_db': tf.constant(rng.uniform(-60, -20, [2, _N_FRAMES]),
                                 tf.float32),
  }


def test_python_construction_sees_gin_bindings():
  _parse([], [_TINY_AE])
  harmonic = ddsp.synths.Harmonic()
  assert type(harmonic) is ddsp.synths.Harmonic
  assert harmonic.n_samples == _N_SAMPLES
  noise = ddsp.synths.FilteredNoise()
  assert (noise.n_samples, noise.window_size, noise.seed) == (_N_SAMPLES, 0, 5)
  reverb = ddsp.effects.Reverb()
  assert reverb.trainable and (reverb.reverb_length, reverb.seed) == (100, 6)
  decoder = decoders.RnnFcDecoder()
  assert (decoder.rnn_channels, decoder.ch, decoder.layers_per_stack) == (
      8, 8, 1)
  assert dict(decoder.output_splits) == {
      'amps': 1, 'harmonic_distribution': 5, 'noise_magnitudes': 6}
  encoder = encoders.MfccTimeDistributedRnnEncoder()
  assert (encoder.rnn_channels, encoder.z_dims) == (8, 3)
  preprocessor = preprocessing.F0LoudnessPreprocessor()
  assert preprocessor.time_steps == _N_FRAMES
  loss = ddsp.losses.SpectralLoss()
  assert (tuple(loss.fft_sizes), loss.logmag_weight) == ((256, 64), 1.0)
  # Arguments passed explicitly win over bindings.
  assert ddsp.synths.Harmonic(n_samples=64).n_samples == 64
  group = ddsp.processors.ProcessorGroup()
  assert [type(m) for m, _, _ in group.dag] == [
      ddsp.synths.Harmonic, ddsp.synths.FilteredNoise, ddsp.processors.Add,
      ddsp.effects.Reverb]
  model = models.Autoencoder()
  assert type(model) is models.Autoencoder
  assert isinstance(model.decoder, decoders.RnnFcDecoder)
  assert model.decoder.rnn_channels == 8
  assert isinstance(model.encoder, encoders.MfccTimeDistributedRnnEncoder)


def test_gin_harmonic_renders_the_audio_of_the_python_one():
  rng = np.random.default_rng(1)
  amps = rng.normal(size=[2, _N_FRAMES, 1]).astype(np.float32)
  distribution = rng.normal(size=[2, _N_FRAMES, 7]).astype(np.float32)
  f0_hz = rng.uniform(100, 900, [2, _N_FRAMES, 1]).astype(np.float32)
  _parse([], ['Harmonic.n_samples = 1280', 'Harmonic.sample_rate = 8000',
              "Harmonic.amp_resample_method = 'linear'",
              'Harmonic.scale_fn = @core.exp_sigmoid',
              'exp_sigmoid.exponent = 4.0'])
  from_gin = ddsp.synths.Harmonic()
  python = ddsp.synths.Harmonic(
      n_samples=1280, sample_rate=8000, amp_resample_method='linear',
      scale_fn=lambda x: ddsp.core.exp_sigmoid(x, exponent=4.0))
  audio = from_gin(amps, distribution, f0_hz).numpy()
  assert np.std(audio) > 1e-3
  np.testing.assert_array_equal(audio,
                                python(amps, distribution, f0_hz).numpy())
  # The default exponent gives other audio: the function binding applied.
  gin.clear_config()
  default = ddsp.synths.Harmonic(n_samples=1280, sample_rate=8000,
                                 amp_resample_method='linear')
  assert not np.allclose(default(amps, distribution, f0_hz), audio)


# The published ProcessorGroup tutorial, with this library's synths: a gin
# string binds the DAG, then Python builds `ProcessorGroup()` and calls it on
# float64 numpy inputs.
_TUTORIAL_GIN = """
import ddsp

processors.ProcessorGroup.dag = [
  (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
  (@synths.FilteredNoise(), ['magnitudes']),
  (@processors.Add(), ['noise/signal', 'additive/signal']),
  (@effects.Reverb(), ['add/signal', 'ir'])
]

Harmonic.name = 'additive'
FilteredNoise.name = 'noise'
Add.name = 'add'

Harmonic.n_samples = 6400
FilteredNoise.n_samples = 6400
FilteredNoise.initial_bias = 0.0
FilteredNoise.seed = 0
"""


def _tutorial_inputs(n_frames=100, n_harmonics=20, n_filter_banks=20):
  amps = np.linspace(0.5, -5.0, n_frames)[np.newaxis, :, np.newaxis]
  harmonic_distribution = np.ones([n_frames, 1]) * np.linspace(
      1.0, -1.0, n_harmonics)[np.newaxis, :]
  harmonic_distribution = harmonic_distribution[np.newaxis]
  f0_hz = np.linspace(300.0, 200.0, n_frames)[np.newaxis, :, np.newaxis]
  magnitudes = np.linspace(-1.0, -4.0, n_filter_banks)[np.newaxis,
                                                      np.newaxis, :] + amps
  ir = 0.01 * np.random.default_rng(0).normal(size=[1, 3200])
  ir *= np.exp(np.linspace(0.0, -5.0, 3200))
  return {'amps': amps, 'harmonic_distribution': harmonic_distribution,
          'f0_hz': f0_hz, 'magnitudes': magnitudes, 'ir': ir}


def test_published_processor_group_tutorial_runs_unchanged():
  inputs = _tutorial_inputs()
  with gin.unlock_config():
    gin.parse_config(_TUTORIAL_GIN)
  processor_group = ddsp.processors.ProcessorGroup()
  audio_out = processor_group(inputs)
  gin.clear_config()
  # The same chain in Python.
  additive = ddsp.synths.Harmonic(n_samples=6400, name='additive')
  noise = ddsp.synths.FilteredNoise(n_samples=6400, name='noise',
                                    initial_bias=0.0, seed=0)
  reverb = ddsp.effects.Reverb()
  audio_dry = additive(inputs['amps'], inputs['harmonic_distribution'],
                       inputs['f0_hz']) + noise(inputs['magnitudes'])
  expected = reverb(audio_dry, inputs['ir'])
  assert audio_out.shape == (1, 6400) and np.std(audio_out) > 1e-3
  np.testing.assert_allclose(audio_out, expected, rtol=0, atol=1e-6)
  outputs = processor_group.get_controls(inputs)
  assert sorted(outputs['additive']['controls']) == [
      'amplitudes', 'f0_hz', 'harmonic_distribution']
  np.testing.assert_allclose(outputs['noise']['signal'],
                             noise(inputs['magnitudes']), atol=1e-7)


def test_gin_autoencoder_checkpoint_round_trip(tmp_path):
  features = _tiny_features()
  _parse([], [_TINY_AE])
  model = models.Autoencoder()
  outputs = model(features)
  assert outputs['audio_synth'].shape == (2, _N_SAMPLES)
  path = tf.train.Checkpoint(model=model).write(str(tmp_path / 'ckpt'))
  other = models.Autoencoder()  # Fresh random weights.
  other(features)
  assert any(not np.array_equal(a, b) for a, b in zip(
      helpers.weights(other), helpers.weights(model)))
  tf.train.Checkpoint(model=other).read(path).assert_consumed()
  for got, want in zip(helpers.weights(other), helpers.weights(model)):
    np.testing.assert_array_equal(got, want)
  np.testing.assert_array_equal(other(features)['audio_synth'],
                                outputs['audio_synth'])


def test_gin_autoencoder_keras_serialization_round_trip():
  features = _tiny_features()
  _parse([], [_TINY_AE])
  model = models.Autoencoder()
  outputs, losses = model(features, return_losses=True)
  config = keras.saving.serialize_keras_object(model)
  gin.clear_config()  # The config alone rebuilds the model.
  clone = keras.saving.deserialize_keras_object(config)
  assert type(clone) is models.Autoencoder
  assert keras.saving.serialize_keras_object(clone) == config
  clone(features)
  clone.set_weights(model.get_weights())
  clone_outputs, clone_losses = clone(features, return_losses=True)
  np.testing.assert_array_equal(clone_outputs['audio_synth'],
                                outputs['audio_synth'])
  assert float(clone_losses['total_loss']) == float(losses['total_loss'])


VST_CONFIGS = {'models/vst/vst.gin': (16000, 60, 65),
               'models/vst/vst_32k.gin': (32000, 100, 98),
               'models/vst/vst_48k.gin': (48000, 100, 98)}


def _evaluated(value):
  """A queried gin value with its evaluated references (`@rates.x()`)
  computed, as gin computes them when it builds the object."""
  if isinstance(value, gin.config.ConfigurableReference) and value.evaluate:
    return value.scoped_configurable_fn()
  if isinstance(value, (list, tuple)):
    return type(value)(_evaluated(v) for v in value)
  return value


def _query(name):
  return _evaluated(gin.query_parameter(name))


@pytest.mark.parametrize('config', sorted(VST_CONFIGS))
def test_vst_configs_hold_the_published_lengths(config):
  """The published vst.gin, vst_32k.gin and vst_48k.gin values (read from
  those files), here derived from the one `sample_rate` macro."""
  sample_rate, n_harmonics, n_noise = VST_CONFIGS[config]
  _parse([config])
  hop = sample_rate // 50
  assert _query('%sample_rate') == sample_rate
  assert _query('%frame_size') == 1024
  assert _query('%frame_rate') == 50
  # 4 s plus the extra frame of center padding, which Crop removes.
  assert _query('%n_samples') == 4 * sample_rate + hop
  assert _query('Crop.frame_size') == hop
  assert dict(_query('RnnFcDecoder.output_splits')) == {
      'amps': 1, 'harmonic_distribution': n_harmonics,
      'noise_magnitudes': n_noise}
  assert _query('RnnFcDecoder.rnn_channels') == 512
  k = sample_rate // 16000
  assert _query('FilteredNoiseReverb.reverb_length') == 24000 * k
  assert _query('FilteredNoiseReverb.initial_bias') == (-3.0 if k == 1
                                                        else -4.0)
  assert _query('Harmonic.use_angular_cumsum') == (k > 1)
  assert _query('OnlineF0PowerPreprocessor.sample_rate') == sample_rate
  assert list(_query('SpectralLoss.fft_sizes')) == [
      s * k for s in (2048, 1024, 512, 256, 128, 64)]


def test_vst_model_builds_at_a_short_length(test_data):
  """vst.gin at 0.64 s (32 hops of 320 + the centering frame): the
  preprocessor computes power from 1024-sample frames at 50 Hz, and the
  output is cropped back to the input's length."""
  n = 32 * 320
  _parse(['models/vst/vst.gin'],
         [f'n_samples = {n + 320}', 'RnnFcDecoder.rnn_channels = 16',
          'RnnFcDecoder.ch = 16', 'FilteredNoiseReverb.reverb_length = 800',
          'FilteredNoiseReverb.n_frames = 10'])
  model = models.get_model()
  audio = helpers.violin_examples(test_data, n_examples=3)['audio']
  audio = audio.reshape(1, -1)[:, :n]
  batch = {'audio': tf.constant(audio), 'f0_hz': tf.fill([1, 33], 440.0)}
  outputs, losses = model(batch, return_losses=True)
  assert outputs['pw_db'].shape == (1, 33, 1)
  # Frame 5 is centred on sample 5 * 320: its power is that of the 1024
  # samples around it (numpy reference).
  frame = audio[0, 5 * 320 - 512:5 * 320 + 512]
  expected = 10 * np.log10(np.mean(frame ** 2))
  assert float(outputs['pw_db'][0, 5, 0]) == pytest.approx(expected, abs=0.5)
  assert model.get_audio_from_outputs(outputs).shape == (1, n)
  assert np.isfinite(float(losses['total_loss']))
