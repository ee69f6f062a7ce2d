"""ddsp_export of a models/vst/vst.gin model trained with ddsp_run: the
DDSP-VST .tflite contract, its validator, and the TFLite controls against
the Keras model's."""

import json
import os
import subprocess
import sys
import zipfile

import gin
import numpy as np
import pytest
import soundfile
import tensorflow as tf

import ddsp
from ddsp.training import ddsp_export
from ddsp.training import inference
import training_helpers as helpers  # tests/training/training_helpers.py
from conftest import TEST_DATA  # tests/conftest.py

pytestmark = pytest.mark.filterwarnings(
    'ignore:.*tf.lite.Interpreter is deprecated')

HOP, N_HOPS = 320, 32  # 0.64 s examples at 16 kHz, 50 frames/s.


def _vst_examples(test_data, n_examples=3):
  """Excerpts of the violin clip with centred 50 Hz features (33 frames)."""
  audio, _ = soundfile.read(test_data / 'violin_6s.flac', dtype='float32',
                            frames=64000)
  f0_250 = np.load(test_data / 'violin_6s.f0_250hz.npy')
  n = HOP * N_HOPS
  examples = {k: [] for k in ('audio', 'f0_hz', 'f0_confidence',
                              'loudness_db')}
  for i in range(n_examples):
    start = 8000 + i * n
    clip = audio[start:start + n]
    examples['audio'].append(clip)
    # Frame j is centred on sample j * 320 (every 5th frame at 250 Hz).
    idx = np.minimum(start // 64 + 5 * np.arange(N_HOPS + 1), len(f0_250) - 1)
    examples['f0_hz'].append(f0_250[idx])
    examples['f0_confidence'].append(np.ones(N_HOPS + 1, np.float32))
    examples['loudness_db'].append(ddsp.spectral_ops.compute_loudness(
        clip, sample_rate=16000, frame_rate=50, use_tf=False,
        padding='center')[:N_HOPS + 1])
  return {k: np.stack(v).astype(np.float32) for k, v in examples.items()}


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  """vst.gin (512-unit GRU, 60 harmonics, 65 bands) trained 2 steps."""
  test_data = TEST_DATA
  tmp = tmp_path_factory.mktemp('vst')
  record = tmp / 'train.tfrecord'
  helpers.write_tfrecord(record, _vst_examples(test_data))
  save_dir = tmp / 'vst_violin'
  params = [
      f"TFRecordProvider.file_pattern = '{record}'",
      f'TFRecordProvider.example_secs = {HOP * N_HOPS / 16000}',
      'TFRecordProvider.frame_rate = 50', 'TFRecordProvider.centered = True',
      f'n_samples = {HOP * (N_HOPS + 1)}', 'RnnFcDecoder.ch = 16',
      'FilteredNoiseReverb.reverb_length = 1600',
      'FilteredNoiseReverb.n_frames = 20',
      'SpectralLoss.fft_sizes = (512, 128)', 'batch_size = 1',
      'train.num_steps = 2', 'train.steps_per_save = 2',
      'train.steps_per_summary = 2']
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  result = subprocess.run(
      [sys.executable, '-m', 'ddsp.training.ddsp_run', '--mode=train',
       f'--save_dir={save_dir}', '--gin_file=models/vst/vst.gin',
       '--gin_file=datasets/tfrecord.gin',
       *[f'--gin_param={p}' for p in params]],
      capture_output=True, text=True, env=env, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert (save_dir / 'ckpt-2.index').exists()
  return save_dir, record


@pytest.fixture(scope='module')
def exported(trained):
  save_dir, record = trained
  gin.clear_config()
  code = ddsp_export.main([
      'ddsp_export', f'--model_path={save_dir}',
      '--inference_model=vst_stateless_predict_controls', '--tflite',
      f'--dataset_path={record}', '--reverb_sample_rate=48000'])
  assert code == 0
  return save_dir / 'export'


@pytest.mark.slow  # Trains (in a subprocess), exports and converts (~40 s).
def test_vst_tflite_meets_the_contract_and_matches_keras(trained, exported,
                                                         test_data):
  save_dir, _ = trained
  path = exported / 'tflite' / 'model.tflite'
  assert ddsp_export.validate_vst_tflite(path) == []
  # The metadata packed into the .tflite, as the plugin reads it.
  with zipfile.ZipFile(path) as archive:
    metadata = json.loads(archive.read('metadata.json'))
  assert (metadata['num_harmonics'], metadata['num_noise_amps'],
          metadata['frame_rate'], metadata['frame_size'],
          metadata['sample_rate']) == (60, 65, 50, 1024, 16000)
  assert metadata['mean_min_pitch_note_hz'] == pytest.approx(
      float(ddsp.core.midi_to_hz(metadata['mean_min_pitch_note'])))
  assert metadata['version'] == ddsp.__version__
  assert json.loads((exported / 'metadata.json').read_text()) == metadata
  # The learned reverb, at the model's rate and resampled for the plugin.
  ir, rate = soundfile.read(exported / 'reverb.wav')
  assert rate == 16000 and ir.size == 1600
  ir48, rate48 = soundfile.read(exported / 'reverb_48000.wav')
  assert rate48 == 48000 and ir48.size == 4800

  # Frame by frame through the interpreter vs the Keras model over the clip.
  gin.clear_config()
  model = inference.VSTBaseModule(str(save_dir)).model  # The Keras model.
  examples = _vst_examples(test_data, n_examples=1)
  features = model.preprocessor({'audio': examples['audio'],
                                 'f0_hz': examples['f0_hz']})
  out = model.decoder(features)
  group = model.processor_group
  harmonic = group.harmonic.get_controls(
      out['amps'], out['harmonic_distribution'], features['f0_hz'])
  noise = group.filtered_noise.get_controls(out['noise_magnitudes'])
  interpreter = tf.lite.Interpreter(model_path=str(path))
  interpreter.allocate_tensors()
  ins = {d['name']: d['index'] for d in interpreter.get_input_details()}
  outs = {d['name']: d['index'] for d in interpreter.get_output_details()}
  state = np.zeros([512], np.float32)
  f0_scaled = features['f0_scaled'].numpy()[0, :, 0]
  pw_scaled = features['pw_scaled'].numpy()[0, :, 0]
  for i in range(len(f0_scaled)):
    interpreter.set_tensor(ins['call_f0_scaled:0'], f0_scaled[i:i + 1])
    interpreter.set_tensor(ins['call_pw_scaled:0'], pw_scaled[i:i + 1])
    interpreter.set_tensor(ins['call_state:0'], state)
    interpreter.invoke()
    got = [interpreter.get_tensor(outs[f'StatefulPartitionedCall:{k}'])
           for k in range(4)]
    state = got[3]
    np.testing.assert_allclose(got[0], harmonic['amplitudes'][0, i],
                               atol=1e-4)
    np.testing.assert_allclose(got[1],
                               harmonic['harmonic_distribution'][0, i],
                               atol=1e-4)
    np.testing.assert_allclose(got[2], noise['magnitudes'][0, i], atol=1e-4)
  gin.clear_config()


@pytest.mark.slow  # Shares the trained model of the test above.
def test_validator_names_each_problem(exported, tmp_path, capsys):
  good = exported / 'tflite' / 'model.tflite'
  with open(good, 'rb') as f:
    data = f.read()
  # Without the metadata (the flatbuffer alone) and with a renamed input.
  start = min(i.header_offset for i in zipfile.ZipFile(good).infolist())
  bare = tmp_path / 'bare.tflite'
  bare.write_bytes(data[:start])
  problems = ddsp_export.validate_vst_tflite(bare)
  assert len(problems) == 1 and 'metadata.json' in problems[0]
  assert ddsp_export.main(['ddsp_export', f'--validate={bare}']) == 1
  assert 'metadata.json' in capsys.readouterr().err
  renamed = tmp_path / 'renamed.tflite'
  renamed.write_bytes(data[:start].replace(b'call_state', b'call_stat_'))
  ddsp_export.pack_metadata(renamed, {'version': '1', 'export_time': 'now',
                                      'mean_min_pitch_note_hz': 300.0,
                                      'mean_max_pitch_note_hz': 200.0,
                                      'mean_min_power_note': -50.0})
  problems = ddsp_export.validate_vst_tflite(renamed)
  assert any("Missing input 'call_state:0'" in p for p in problems)
  assert any("lacks 'mean_max_power_note'" in p for p in problems)
  assert any('mean_min_pitch_note_hz (300.0) is above' in p
             for p in problems)
  assert len(problems) == 3, problems
  assert ddsp_export.main(['ddsp_export', f'--validate={good}']) == 0


@pytest.mark.slow  # Exports a second time from the trained model (~10 s).
def test_vst_predict_controls_tflite_meets_the_contract(trained, tmp_path):
  save_dir, record = trained
  gin.clear_config()
  paths = ddsp_export.export_inference_model(
      str(save_dir), 'vst_predict_controls', tmp_path / 'export',
      dataset_path=str(record), reverb=False)
  gin.clear_config()
  assert ddsp_export.validate_vst_tflite(paths['tflite']) == []
  assert 'reverb' not in paths
  # The SavedModel is the stateful module of the published signature.
  loaded = tf.saved_model.load(str(tmp_path / 'export'))
  assert sorted(loaded.signatures['call'].structured_input_signature[1]) == [
      'f0_scaled', 'pw_scaled']


def test_command_line_errors_of_the_inference_models(tmp_path, capsys):
  code = ddsp_export.main(['ddsp_export', f'--model_path={tmp_path}',
                           '--inference_model=vst_synthesize', '--tfjs'])
  assert code == 2
  assert 'tensorflowjs' in capsys.readouterr().err
  code = ddsp_export.main(['ddsp_export', f'--model_path={tmp_path}',
                           '--inference_model=vst_predictor'])
  assert code == 2
  assert 'vst_stateless_predict_controls' in capsys.readouterr().err
  assert ddsp_export.validate_vst_tflite(tmp_path / 'none.tflite') == [
      f'{tmp_path / "none.tflite"}: no such file.']
  not_tflite = tmp_path / 'x.tflite'
  not_tflite.write_bytes(b'not a model')
  problems = ddsp_export.validate_vst_tflite(not_tflite)
  assert len(problems) == 1 and 'does not load' in problems[0]


def test_default_save_dir(tmp_path):
  (tmp_path / 'sm').mkdir()
  (tmp_path / 'sm' / 'saved_model.pb').write_bytes(b'')
  assert ddsp_export.default_save_dir(tmp_path / 'sm') == str(tmp_path / 'sm')
  assert ddsp_export.default_save_dir(tmp_path) == str(tmp_path / 'export')
  assert ddsp_export.default_save_dir(tmp_path / 'ckpt-3') == str(
      tmp_path / 'export')


@pytest.mark.slow  # Uses the trained model of the tests above.
def test_gin_params_apply_after_the_operative_config(trained):
  save_dir, _ = trained
  gin.clear_config()
  module = inference.VSTSynthesize(
      str(save_dir), gin_params=["Harmonic.amp_resample_method = 'window'"])
  gin.clear_config()
  assert module.resample_method == 'window'  # Trained with 'linear'.
  assert inference.VSTSynthesize(str(save_dir)).resample_method == 'linear'
  gin.clear_config()
