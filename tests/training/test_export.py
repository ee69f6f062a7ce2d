"""Tests for ddsp.training.ddsp_export: SavedModel, TFLite, metadata, CLI."""

import json
import os

import gin
import numpy as np
import pytest
import soundfile
import tensorflow as tf

from ddsp.training import ddsp_export
from ddsp.training import inference
from ddsp.training import models

from inference_helpers import assert_matches_offline  # tests/training/
from inference_helpers import controls
from inference_helpers import make_model
from inference_helpers import offline
import training_helpers as helpers  # tests/training/training_helpers.py

BLOCK_SIZE = 128

pytestmark = [
    pytest.mark.slow,  # Exporting traces and converts (~15 s).
    pytest.mark.filterwarnings('ignore:.*tf.lite.Interpreter is deprecated'),
]


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  model = make_model()
  save_dir = tmp_path_factory.mktemp('export')
  paths = ddsp_export.export(model, str(save_dir), block_size=BLOCK_SIZE,
                             name='tiny')
  return model, paths


def _tflite_stream(path, f0, loudness, state, n=BLOCK_SIZE // 64):
  """Runs the TFLite step over [1, n_frames, 1] controls, n frames a call."""
  interpreter = tf.lite.Interpreter(model_path=path)
  runner = interpreter.get_signature_runner('streaming_step')
  state = {k: np.asarray(v) for k, v in state.items()}
  blocks = []
  for k in range(0, f0.shape[1], n):
    outputs = runner(f0_hz=f0[:, k:k + n], loudness_db=loudness[:, k:k + n],
                     **state)
    blocks.append(outputs.pop('audio'))
    state = outputs
  return np.concatenate(blocks, axis=1)


def test_writes_every_file(exported):
  _, paths = exported
  assert sorted(paths) == ['metadata', 'reverb', 'saved_model', 'tflite']
  for path in paths.values():
    assert os.path.exists(path), path


def test_tflite_matches_keras_stream(exported):
  model, paths = exported
  streamer = inference.StreamingF0LoudnessModel(model, BLOCK_SIZE)
  f0, loudness = controls(96)
  state = {f'state_{k}': v for k, v in streamer.initial_state().items()}
  lite = _tflite_stream(paths['tflite'], f0, loudness, state)
  keras_stream = np.concatenate(
      [streamer(f0[:, k:k + 2], loudness[:, k:k + 2]).numpy()
       for k in range(0, 96, 2)], axis=1)
  assert np.abs(keras_stream).max() > 0.1
  np.testing.assert_allclose(lite, keras_stream, atol=1e-4)
  # And so the TFLite stream is the offline render, delayed.
  expected, _ = offline(model, f0, loudness)
  assert_matches_offline(lite, expected, streamer.latency)


def test_tflite_has_only_builtin_ops(exported):
  _, paths = exported
  interpreter = tf.lite.Interpreter(model_path=paths['tflite'])
  # pylint: disable-next=protected-access
  ops = {op['op_name'] for op in interpreter._get_ops_details()}
  assert ops and not [op for op in ops if op.startswith('Flex')], ops
  inputs = interpreter.get_signature_list()['streaming_step']['inputs']
  assert 'f0_hz' in inputs and 'loudness_db' in inputs


def test_metadata_matches_the_model(exported):
  model, paths = exported
  with open(paths['metadata'], encoding='utf-8') as f:
    metadata = json.load(f)
  streamer = inference.StreamingF0LoudnessModel(model, BLOCK_SIZE)
  expected = {
      'name': 'tiny', 'sample_rate': 16000, 'frame_rate': 250.0,
      'hop_size': 64, 'block_size': BLOCK_SIZE, 'frames_per_block': 2,
      'latency_samples': 95, 'n_harmonics': 20, 'n_noise_bands': 65,
      'reverb_length': 800, 'loudness_key': 'loudness_db',
      'loudness_db_range': [-80.0, 0.0],
  }
  for key, value in expected.items():
    assert metadata[key] == value, key
  np.testing.assert_allclose(metadata['f0_hz_range'], [8.1758, 8000.0],
                             rtol=1e-4)
  assert metadata['inputs']['f0_hz']['shape'] == [1, 2, 1]
  assert metadata['outputs']['audio']['shape'] == [1, BLOCK_SIZE]
  assert set(metadata['state']) == {f'state_{k}'
                                    for k in streamer.state_specs}
  for key, spec in streamer.state_specs.items():
    entry = metadata['state'][f'state_{key}']
    assert entry == {'shape': spec.shape.as_list(), 'dtype': spec.dtype.name}
  assert metadata['files'] == {'saved_model': 'saved_model',
                               'tflite': 'streaming.tflite',
                               'reverb_ir': 'reverb_ir.wav'}


def test_reverb_wav_is_the_impulse_response(exported):
  model, paths = exported
  ir, sample_rate = soundfile.read(paths['reverb'], dtype='float32')
  expected = model.processor_group.reverb.weights[0].numpy().copy()
  expected[0] = 0.0  # The dry signal is the direct sound.
  assert sample_rate == 16000
  np.testing.assert_array_equal(ir, expected)


def test_saved_model_reloads(exported):
  model, paths = exported
  loaded = tf.saved_model.load(paths['saved_model'])
  assert set(loaded.signatures) == {'serving_default', 'streaming_step',
                                    'streaming_initial_state'}
  # Whole clips: the model's default 4 s (1000 frames) for n_samples=None.
  f0, loudness = controls(1000, batch=2)
  audio = loaded.signatures['serving_default'](
      f0_hz=f0[..., 0], loudness_db=loudness[..., 0])['audio'].numpy()
  expected, _ = offline(model, f0, loudness)
  np.testing.assert_allclose(audio, expected, atol=1e-5)
  # Streaming through the signatures, state fed back by name.
  state = loaded.signatures['streaming_initial_state']()
  blocks = []
  for k in range(0, 64, 2):
    outputs = loaded.signatures['streaming_step'](
        f0_hz=f0[:1, k:k + 2], loudness_db=loudness[:1, k:k + 2], **state)
    blocks.append(outputs.pop('audio').numpy())
    state = outputs
  streamer = inference.StreamingF0LoudnessModel(model, BLOCK_SIZE)
  expected_stream = np.concatenate(
      [streamer(f0[:1, k:k + 2], loudness[:1, k:k + 2]).numpy()
       for k in range(0, 64, 2)], axis=1)
  np.testing.assert_allclose(np.concatenate(blocks, 1), expected_stream,
                             atol=1e-6)


def test_command_line(tmp_path, capsys):
  # A training directory (gin config + checkpoint) as ddsp_run writes it.
  model_dir = tmp_path / 'violin'
  model_dir.mkdir()
  (model_dir / 'operative_config-0.gin').write_text(
      helpers.TINY_AUTOENCODER_GIN)
  (model_dir / 'dataset_statistics.json').write_text(json.dumps(
      {'mean_min_pitch_note': 55.0, 'mean_max_pitch_note': 79.5,
       'quantile_transform': {'ignored': True}}))
  gin.clear_config()
  gin.parse_config_file(str(model_dir / 'operative_config-0.gin'))
  trained = inference.build_model(models.get_model())
  gin.clear_config()
  tf.train.Checkpoint(model=trained).save(str(model_dir / 'ckpt'))

  save_dir = tmp_path / 'export'
  code = ddsp_export.main(['ddsp_export', f'--model_path={model_dir}',
                           f'--save_dir={save_dir}', '--block_size=64',
                           '--notflite'])
  gin.clear_config()
  assert code == 0
  printed = capsys.readouterr().out
  assert f'saved_model: {save_dir / "saved_model"}' in printed
  assert sorted(os.listdir(save_dir)) == ['metadata.json', 'saved_model']
  with open(save_dir / 'metadata.json', encoding='utf-8') as f:
    metadata = json.load(f)
  assert metadata['name'] == 'violin'
  assert metadata['offline_n_frames'] == 50
  assert metadata['n_noise_bands'] == 0 and metadata['reverb_length'] == 0
  assert metadata['dataset_statistics'] == {'mean_min_pitch_note': 55.0,
                                            'mean_max_pitch_note': 79.5}
  # The exported whole-clip signature gives the restored model's audio.
  loaded = tf.saved_model.load(str(save_dir / 'saved_model'))
  f0, loudness = controls(50)
  audio = loaded.signatures['serving_default'](
      f0_hz=f0[..., 0], loudness_db=loudness[..., 0])['audio'].numpy()
  expected, _ = offline(trained, f0, loudness)
  np.testing.assert_allclose(audio, expected, atol=1e-5)


@pytest.mark.parametrize('argv, message', [
    ([], 'required'),
    (['--save_dir=/tmp/x'], 'required'),
    (['--model_path=a', '--save_dir=b', 'extra'], 'unexpected'),
    (['--block_size=many'], 'block_size'),
])
def test_command_line_errors(argv, message, capsys):
  assert ddsp_export.main(['ddsp_export'] + argv) == 2
  assert message in capsys.readouterr().err


def test_console_entry_point_exit_code(monkeypatch):
  monkeypatch.setattr('sys.argv', ['ddsp_export', '--save_dir=/tmp/x'])
  with pytest.raises(SystemExit) as exit_info:
    ddsp_export.console_entry_point()
  assert exit_info.value.code == 2
