"""Tests of the DDSP-VST inference modules (ddsp.training.inference.VST*)."""

import numpy as np
import pytest
import tensorflow as tf

import ddsp
from ddsp.training import decoders
from ddsp.training import inference
from ddsp.training import models
from ddsp.training import preprocessing

N_HARMONICS, N_NOISE, UNITS = 6, 5, 8


def vst_model(units=UNITS, n_harmonics=N_HARMONICS, n_noise=N_NOISE,
              noise=True):
  """A small model of the models/vst/vst.gin layout (16 kHz, hop 320)."""
  dag = [(ddsp.synths.Harmonic(n_samples=None, amp_resample_method='linear',
                                normalize_below_nyquist=True),
          ['amps', 'harmonic_distribution', 'f0_hz'])]
  if noise:
    dag.append((ddsp.synths.FilteredNoise(n_samples=None, window_size=0),
                ['noise_magnitudes']))
  model = models.Autoencoder(
      preprocessor=preprocessing.OnlineF0PowerPreprocessor(
          frame_rate=50, compute_f0=False),
      decoder=decoders.RnnFcDecoder(
          rnn_channels=units, ch=8, layers_per_stack=1,
          input_keys=('pw_scaled', 'f0_scaled'),
          output_splits=(('amps', 1), ('harmonic_distribution', n_harmonics),
                         ('noise_magnitudes', n_noise))),
      processor_group=ddsp.processors.ProcessorGroup(dag=dag))
  model({'audio': tf.zeros([1, 3200]), 'f0_hz': tf.zeros([1, 11])})
  return model


def keras_controls(model, f0_scaled, pw_scaled):
  """The model's own controls over whole sequences [n] (the reference)."""
  features = {'f0_scaled': tf.constant(f0_scaled[None, :, None], tf.float32),
              'pw_scaled': tf.constant(pw_scaled[None, :, None], tf.float32)}
  out = model.decoder(features)
  harmonic, noise = (m for m, _, _ in model.processor_group.dag)
  f0_hz = preprocessing.inv_scale_f0_hz(features['f0_scaled'])
  h = harmonic.get_controls(out['amps'], out['harmonic_distribution'], f0_hz)
  n = noise.get_controls(out['noise_magnitudes'])
  return (h['amplitudes'][0].numpy(), h['harmonic_distribution'][0].numpy(),
          n['magnitudes'][0].numpy())


def _sequence(rng, n=12):
  f0_scaled = preprocessing.scale_f0_hz(
      rng.uniform(200, 900, n)).numpy().astype(np.float32)
  pw_scaled = rng.uniform(0.2, 0.9, n).astype(np.float32)
  return f0_scaled, pw_scaled


@pytest.fixture(scope='module')
def model():
  return vst_model()


def test_base_attributes(model):
  vst = inference.VSTStatelessPredictControls(model)
  assert (vst.frame_size, vst.sample_rate, vst.frame_rate, vst.hop_size) == (
      1024, 16000, 50, 320)
  assert (vst.n_harmonics, vst.n_noise, vst.state_size) == (
      N_HARMONICS, N_NOISE, UNITS)
  assert vst.resample_method == 'linear'


def test_stateless_frames_reproduce_the_keras_model(model, rng):
  f0_scaled, pw_scaled = _sequence(rng)
  amps, hd, noise = keras_controls(model, f0_scaled, pw_scaled)
  vst = inference.VSTStatelessPredictControls(model)
  state = np.zeros(UNITS, np.float32)
  for i in range(len(f0_scaled)):
    a, h, n, state = vst(f0_scaled[i:i + 1], pw_scaled[i:i + 1], state)
    np.testing.assert_allclose(a, amps[i], atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(h, hd[i], atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(n, noise[i], atol=1e-6, rtol=1e-5)
    assert state.shape == (UNITS,)
  # Normalized harmonic distribution (all below Nyquist here).
  assert float(np.sum(h)) == pytest.approx(1.0, abs=1e-5)


def test_stateful_predict_controls_carries_the_state(model, rng):
  f0_scaled, pw_scaled = _sequence(rng, n=6)
  amps, hd, noise = keras_controls(model, f0_scaled, pw_scaled)
  vst = inference.VSTPredictControls(model)
  for _ in range(2):  # reset() starts the sequence again.
    vst.reset()
    for i in range(len(f0_scaled)):
      a, h, n = vst(f0_scaled[i:i + 1], pw_scaled[i:i + 1])
      np.testing.assert_allclose(a, amps[i], atol=1e-6, rtol=1e-5)
      np.testing.assert_allclose(h, hd[i], atol=1e-6, rtol=1e-5)
      np.testing.assert_allclose(n, noise[i], atol=1e-6, rtol=1e-5)


def test_synthesize_harmonic_is_a_continuous_sine(model):
  vst = inference.VSTSynthesizeHarmonic(model)
  hd = np.zeros(N_HARMONICS, np.float32)
  hd[0] = 1.0
  f0, phase, blocks = 1000.0, np.zeros(1, np.float32), []
  for _ in range(3):
    audio, phase = vst([0.5], [0.5], hd, hd, [f0], [f0], phase)
    blocks.append(audio.numpy())
  n = np.arange(1, 3 * 320 + 1)  # The first sample is one step in.
  np.testing.assert_allclose(np.concatenate(blocks),
                             0.5 * np.sin(2 * np.pi * f0 * n / 16000),
                             atol=1e-4)


def test_synthesize_adds_the_noise_and_noise_follows_the_bands(model):
  vst = inference.VSTSynthesize(model)
  zeros_h = np.zeros(N_HARMONICS, np.float32)
  audio, phase = vst([0.0], [0.0], zeros_h, zeros_h, [440.0], [440.0],
                     np.ones(N_NOISE, np.float32), [0.0])
  assert audio.shape == (320,) and phase.shape == (1,)
  assert np.std(audio) > 0  # Only noise: amplitudes are 0.
  low = np.zeros(N_NOISE, np.float32)
  low[0] = 1.0  # Band 0 only: energy below 2 kHz (bands of 8 kHz / 4).
  noise = inference.VSTSynthesizeNoise(model)
  spectra = np.mean([np.abs(np.fft.rfft(noise(low).numpy())) ** 2
                     for _ in range(8)], axis=0)
  freqs = np.fft.rfftfreq(320, 1 / 16000)
  assert spectra[freqs < 2000].sum() > 20 * spectra[freqs > 4000].sum()
  assert np.all(noise(np.zeros(N_NOISE, np.float32)).numpy() == 0)


def test_extract_features_power_and_f0(model):
  vst = inference.VSTExtractFeatures(model)
  t = np.arange(1024) / 16000
  frame = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
  f0_hz, f0_scaled, pw_db, pw_scaled = vst(frame)
  assert float(f0_hz[0]) == pytest.approx(440, rel=0.02)
  assert float(pw_db[0]) == pytest.approx(
      10 * np.log10(np.mean(frame.astype(np.float64) ** 2)), abs=0.05)
  np.testing.assert_allclose(pw_scaled, preprocessing.scale_db(pw_db))
  np.testing.assert_allclose(f0_scaled, preprocessing.scale_f0_hz(f0_hz))


def test_not_a_vst_model_is_rejected():
  model = vst_model(noise=False)
  with pytest.raises(ValueError, match='FilteredNoise'):
    inference.VSTStatelessPredictControls(model)


def test_modules_of_the_48k_config():
  """vst_48k.gin (built unrestored, tiny GRU): hop 960, 100 harmonics, 98
  bands; features from a 1024-sample frame at 48 kHz."""
  import gin  # pylint: disable=g-import-not-at-top
  from ddsp.training import gin as ddsp_gin  # pylint: disable=g-import-not-at-top
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  gin.parse_config_files_and_bindings(
      ['models/vst/vst_48k.gin'],
      ['n_samples = 9600', 'RnnFcDecoder.rnn_channels = 8',
       'RnnFcDecoder.ch = 8', 'FilteredNoiseReverb.reverb_length = 960',
       'FilteredNoiseReverb.n_frames = 10'])
  model = models.get_model()
  gin.clear_config()
  vst = inference.VSTStatelessPredictControls(model)
  assert (vst.sample_rate, vst.hop_size, vst.n_harmonics, vst.n_noise) == (
      48000, 960, 100, 98)
  audio, phase = inference.VSTSynthesize(model)(
      [0.1], [0.1], np.full(100, 0.01, np.float32),
      np.full(100, 0.01, np.float32), [440.0], [440.0],
      np.zeros(98, np.float32), [0.0])
  assert audio.shape == (960,)
  # 440 Hz advances 2 pi 440 / 48000 per sample; the phase is wrapped.
  assert float(phase[0]) % (2 * np.pi) == pytest.approx(
      (2 * np.pi * 440 * 960 / 48000) % (2 * np.pi), abs=1e-3)
  t = np.arange(1024) / 48000
  frame = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
  f0_hz, _, pw_db, _ = inference.VSTExtractFeatures(model)(frame)
  assert float(f0_hz[0]) == pytest.approx(440, rel=0.03)
  assert float(pw_db[0]) == pytest.approx(
      10 * np.log10(np.mean(frame.astype(np.float64) ** 2)), abs=0.05)
