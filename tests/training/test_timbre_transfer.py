"""Tests for ddsp.training.timbre_transfer.

A tiny solo-instrument model (gin config of the package, smaller decoder, 1 s
examples) is trained for a few steps on 8 s of the committed violin example;
timbre transfer then runs on the committed speech clip. References are
computed independently: CREPE (`spectral_ops.compute_f0`) on the input file
and on the written output file, numpy quantiles, and the checkpointed weights.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import gin
import numpy as np
import pytest
import soundfile
import tensorflow as tf

from ddsp import spectral_ops
from ddsp.training import postprocessing
from ddsp.training import timbre_transfer as tt
from ddsp.training.data_preparation import prepare_tfrecord_lib as prep

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = REPO / 'examples' / 'data'
SPEECH = EXAMPLES / 'speech_female.flac'
VIOLIN = EXAMPLES / 'violin_train.flac'
SR, FRAME_RATE, HOP = 16000, 250, 64

_BINDINGS = [
    "TFRecordProvider.file_pattern = '{pattern}'",
    'TFRecordProvider.example_secs = 1',
    'F0LoudnessPreprocessor.time_steps = 250',
    'Harmonic.n_samples = 16000',
    'FilteredNoise.n_samples = 16000',
    'Reverb.reverb_length = 256',
    'RnnFcDecoder.rnn_channels = 32',
    'RnnFcDecoder.ch = 32',
    'RnnFcDecoder.layers_per_stack = 1',
    ("RnnFcDecoder.output_splits = (('amps', 1), ('harmonic_distribution', "
     "20), ('noise_magnitudes', 17))"),
    'batch_size = 4',
    'learning_rate = 0.003',
    'train.num_steps = 6',
    'train.steps_per_save = 6',
    'train.steps_per_summary = 6',
    'train.progress_bar = False',
]


def _write_tfrecords(path, audio):
  """1 s examples every 0.5 s, features from the whole clip."""
  feats = prep.compute_audio_features(audio, sample_rate=SR,
                                      frame_rate=FRAME_RATE)
  with tf.io.TFRecordWriter(path) as writer:
    for start in range(0, len(audio) // SR * 2 - 1):
      s, f = start * SR // 2, start * FRAME_RATE // 2
      example = {'audio': audio[s:s + SR]}
      example.update({k: v[f:f + FRAME_RATE] for k, v in feats.items()})
      writer.write(prep.float_dict_to_tfexample(example).SerializeToString())


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  """A model trained for 6 steps through gin, as ddsp_run does."""
  # pylint: disable=g-import-not-at-top
  import keras
  from ddsp.training import gin as ddsp_gin
  from ddsp.training import data
  from ddsp.training import models
  from ddsp.training import train_util
  from ddsp.training import trainers
  # pylint: enable=g-import-not-at-top
  root = tmp_path_factory.mktemp('timbre_transfer')
  audio = prep.load_audio(str(VIOLIN), SR)[8 * SR:16 * SR]
  pattern = str(root / 'train.tfrecord')
  _write_tfrecords(pattern, audio)
  model_dir = str(root / 'model')
  keras.utils.set_random_seed(0)
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  with gin.unlock_config():
    gin.clear_config()
    gin.parse_config_files_and_bindings(
        ['optimization/base.gin', 'models/solo_instrument.gin',
         'datasets/tfrecord.gin'],
        [b.format(pattern=pattern + '*') for b in _BINDINGS])
  model = models.get_model()
  trainer = trainers.Trainer(model)
  train_util.train(data_provider=gin.REQUIRED, trainer=trainer,
                   save_dir=model_dir, restore_dir=model_dir)
  postprocessing.save_dataset_statistics(
      data.TFRecordProvider(pattern + '*', example_secs=1), model_dir)
  weights = [v.numpy() for v in model.trainable_variables]
  with gin.unlock_config():
    gin.clear_config()
  return {'model_dir': model_dir, 'root': root, 'pattern': pattern,
          'weights': weights}


def _crepe(audio, sample_rate=SR, padding='same'):
  f0_hz, confidence = spectral_ops.compute_f0(
      audio, FRAME_RATE, padding=padding, sample_rate=sample_rate)
  return np.asarray(f0_hz, np.float64), np.asarray(confidence)


def _cents(a_hz, b_hz):
  return 1200.0 * np.abs(np.log2(a_hz / b_hz))


# ------------------------------------------------------------------------------
# End to end.
# ------------------------------------------------------------------------------
@pytest.mark.slow
def test_speech_transfer_follows_shifted_input_f0(trained, tmp_path):
  out_wav, png = tmp_path / 'out.wav', tmp_path / 'out.png'
  result = tt.timbre_transfer(trained['model_dir'], SPEECH, out_wav,
                              plot_path=png)
  shift = result['adjustment']['pitch_shift']
  # Whole octaves that bring the speech's notes nearest to the violin's.
  stats = postprocessing.load_dataset_statistics(trained['model_dir'])
  assert shift % 12 == 0 and shift > 0
  assert result['adjustment']['loudness'] == 'quantile'

  speech, speech_sr = soundfile.read(SPEECH, dtype='float32')
  out, out_sr = soundfile.read(out_wav, dtype='float32')
  assert out_sr == SR
  assert abs(len(out) - len(speech)) < HOP
  # The input's f0 as the model's features are framed ('same': frame i
  # analyses the window starting at i / frame_rate), the output's with frames
  # centred on i / frame_rate, where the synthesizer plays f0 frame i.
  f0_in, conf_in = _crepe(speech, speech_sr)
  f0_out, _ = _crepe(out, padding='center')
  loudness_out = spectral_ops.compute_loudness(out, SR, FRAME_RATE,
                                               use_tf=False, padding='center')
  n = min(len(f0_in), len(f0_out))
  shifted = f0_in[:n] * 2.0 ** (shift / 12.0)
  voiced = conf_in[:n] >= 0.85
  loud = loudness_out[:n] >= np.max(loudness_out) - 30.0
  frames = voiced & loud
  assert frames.sum() >= 0.8 * voiced.sum() and frames.sum() > 100
  within = np.mean(_cents(f0_out[:n][frames], shifted[frames]) <= 50.0)
  assert within >= 0.9, within
  # The shift lands the voiced speech within half an octave of the violin.
  mean_midi = np.mean(12 * np.log2(shifted[voiced] / 440.0) + 69)
  assert abs(mean_midi - stats['mean_pitch_note']) <= 6.0

  # The PNG is a real image of the size drawn.
  import matplotlib.image  # pylint: disable=g-import-not-at-top
  image = matplotlib.image.imread(png)
  assert image.shape[0] >= 500 and image.shape[1] >= 500
  assert np.std(image[..., :3]) > 0.05


@pytest.mark.slow
def test_restores_the_trained_weights_and_resynthesizes(trained, tmp_path):
  # Resynthesis without adjustment: the model gets the input's features.
  result = tt.timbre_transfer(trained['model_dir'], SPEECH,
                              tmp_path / 'resynth.flac', adjust=False,
                              analyze_output=True)
  assert result['adjustment']['pitch_shift'] == 0.0
  assert result['adjustment']['loudness'] == 'none'
  for key in ('f0_hz', 'loudness_db'):
    np.testing.assert_allclose(result['features'][key],
                               result['input_features'][key], atol=1e-6)
  # Every variable of the model equals the trained one (nothing left out).
  loaded = tt.load_model(trained['model_dir'], n_frames=300)
  model = loaded['model']
  model({'f0_hz': tf.fill([1, 300], 440.0),
         'loudness_db': tf.fill([1, 300], -30.0)})
  before = [v.numpy() for v in model.trainable_variables]
  loaded['restore']()
  after = [v.numpy() for v in model.trainable_variables]
  assert len(after) == len(trained['weights'])
  for a, w in zip(after, trained['weights']):
    np.testing.assert_array_equal(a, w)
  assert any(not np.array_equal(b, w)
             for b, w in zip(before, trained['weights']))
  # Its length follows the input; the written file holds the returned audio.
  assert loaded['n_samples'] == 300 * HOP and loaded['time_steps'] == 300
  written, sr = soundfile.read(tmp_path / 'resynth.flac', dtype='float32')
  assert sr == SR
  np.testing.assert_allclose(written, result['audio'], atol=1.0 / 2**15)
  metrics = tt.transfer_metrics(result)
  assert metrics['f0_frames'] > 100
  assert metrics['f0_within_50_cents'] >= 0.9
  # Uncentred features lead the output by half a CREPE window (32 ms).
  assert -40.0 <= metrics['f0_lag_ms'] <= -24.0
  assert np.isfinite(metrics['spectral_loss']) and metrics['spectral_loss'] > 0


@pytest.mark.slow
def test_any_rate_and_channels_explicit_shifts(trained, tmp_path):
  import scipy.signal  # pylint: disable=g-import-not-at-top
  speech, _ = soundfile.read(SPEECH, dtype='float64')
  stereo_44k = scipy.signal.resample_poly(speech, 441, 160)
  stereo_44k = np.stack([stereo_44k, 0.5 * stereo_44k], axis=1)
  path = tmp_path / 'speech_44k_stereo.wav'
  soundfile.write(path, stereo_44k, 44100)
  result = tt.timbre_transfer(trained['model_dir'], path,
                              tmp_path / 'out.wav', pitch_shift=-12.0,
                              loudness_shift=-10.0)
  assert result['sample_rate'] == SR
  assert abs(len(result['audio']) - len(speech)) < HOP
  np.testing.assert_allclose(result['features']['f0_hz'],
                             0.5 * result['input_features']['f0_hz'],
                             rtol=1e-5)
  np.testing.assert_allclose(
      result['features']['loudness_db'],
      np.maximum(result['input_features']['loudness_db'] - 10.0, -80.0),
      atol=1e-4)
  # The mixed-down input has the loudness of 0.75 x the speech (+-1 dB).
  ld_ref = spectral_ops.compute_loudness(0.75 * speech, SR, FRAME_RATE,
                                         use_tf=False, padding='same')
  n = min(len(ld_ref), len(result['input_features']['loudness_db']))
  active = ld_ref[:n] > -40
  assert np.median(np.abs(result['input_features']['loudness_db'][:n] -
                          ld_ref[:n])[active]) < 1.0


@pytest.mark.slow
def test_statistics_fall_back_to_training_records(trained, tmp_path):
  model_dir = tmp_path / 'model'
  shutil.copytree(trained['model_dir'], model_dir,
                  ignore=shutil.ignore_patterns('dataset_statistics.*'))
  with_stats = tt.timbre_transfer(trained['model_dir'], SPEECH,
                                  tmp_path / 'a.wav')
  without = tt.timbre_transfer(model_dir, SPEECH, tmp_path / 'b.wav')
  assert without['adjustment']['pitch_shift'] == with_stats['adjustment'][
      'pitch_shift']
  np.testing.assert_allclose(without['features']['loudness_db'],
                             with_stats['features']['loudness_db'], atol=1e-4)
  # With neither statistics nor records: no automatic adjustment.
  moved = str(trained['root'] / 'moved_away')
  os.rename(trained['pattern'], moved)
  try:
    none = tt.timbre_transfer(model_dir, SPEECH, tmp_path / 'c.wav')
  finally:
    os.rename(moved, trained['pattern'])
  assert none['adjustment']['pitch_shift'] == 0.0
  assert none['adjustment']['loudness'] == 'none'


@pytest.mark.slow
def test_command_line(trained, tmp_path):
  out_wav, png = tmp_path / 'cli.wav', tmp_path / 'cli.png'
  cmd = [sys.executable, '-m', 'ddsp.training.timbre_transfer',
         f'--model_dir={trained["model_dir"]}', f'--input={SPEECH}',
         f'--output={out_wav}', f'--plot={png}', '--pitch_shift=12',
         '--autotune=0.5', '--report']
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                        timeout=600, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'Pitch shift: +12.00 semitones' in proc.stdout
  assert 'within 50 cents' in proc.stdout
  assert out_wav.stat().st_size > 1000
  assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
  # A missing required flag is a usage error naming it.
  proc = subprocess.run(cmd[:3] + [f'--input={SPEECH}'], capture_output=True,
                        text=True, env=env, timeout=600, check=False)
  assert proc.returncode != 0
  assert '--model_dir is required' in proc.stderr


# ------------------------------------------------------------------------------
# Errors.
# ------------------------------------------------------------------------------
def test_missing_model_and_bad_arguments(tmp_path):
  with pytest.raises(FileNotFoundError, match='No model directory'):
    tt.timbre_transfer(tmp_path / 'nothing', SPEECH, tmp_path / 'o.wav')
  with pytest.raises(FileNotFoundError, match='No checkpoint'):
    tt.load_model(tmp_path)
  with pytest.raises(ValueError, match='autotune'):
    tt.timbre_transfer(tmp_path, SPEECH, tmp_path / 'o.wav', autotune=2.0)
  features = {'f0_hz': np.full(100, 220.0), 'f0_confidence': np.ones(100),
              'loudness_db': np.full(100, -20.0)}
  with pytest.raises(ValueError, match='pitch_shift'):
    tt.adjust_features(features, pitch_shift=100.0)
  with pytest.raises(ValueError, match=r"lacks \['loudness_db'\]"):
    tt.adjust_features({'f0_hz': features['f0_hz'],
                        'f0_confidence': features['f0_confidence']})
  with pytest.raises(ValueError, match='output features'):
    tt.transfer_metrics({'output_features': None})


# ------------------------------------------------------------------------------
# Feature adjustment against numpy references.
# ------------------------------------------------------------------------------
def _note_features(rng, n=2000):
  """Notes (loud, confident) separated by quiet unpitched gaps."""
  on = (np.arange(n) // 200) % 2 == 0
  loudness = np.where(on, rng.normal(-30.0, 2.0, n), -70.0)
  confidence = np.where(on, 0.95, 0.05)
  f0_hz = np.where(on, 110.0, 80.0) * np.ones(n)
  return {'f0_hz': f0_hz, 'f0_confidence': confidence,
          'loudness_db': loudness}, on


def test_automatic_adjustment_matches_training_statistics(rng):
  features, on = _note_features(rng)
  target = rng.uniform(-60.0, -20.0, 5000)
  stats = {'mean_pitch_note': 70.0,  # MIDI; the input notes are at 45.
           'quantile_transform': postprocessing.fit_quantile_transform(
               target, np.ones_like(target, bool))}
  adjusted, info = tt.adjust_features(features, stats, quiet=20.0)
  # 25 semitones up rounds to two octaves.
  assert info['pitch_shift'] == 24.0
  np.testing.assert_allclose(adjusted['f0_hz'], 4.0 * features['f0_hz'],
                             rtol=1e-6)
  mask = info['mask_on']
  # The note frames found are the loud, confident ones (up to smoothing).
  assert np.mean(mask == on) > 0.9
  # Note loudness now has the target's quantiles.
  quantiles = [0.1, 0.5, 0.9]
  np.testing.assert_allclose(np.quantile(adjusted['loudness_db'][mask],
                                         quantiles),
                             np.quantile(target, quantiles), atol=1.5)
  # Frames between notes are turned down by at most `quiet`, never raised.
  drop = features['loudness_db'][~mask] - adjusted['loudness_db'][~mask]
  assert np.all(drop >= -1e-4) and np.all(drop <= 20.0 + 1e-4)
  assert np.all(adjusted['loudness_db'] >= -80.0)


def test_explicit_shifts_and_no_statistics(rng):
  features, _ = _note_features(rng)
  adjusted, info = tt.adjust_features(features, None)
  assert info['pitch_shift'] == 0.0 and info['loudness'] == 'none'
  np.testing.assert_allclose(adjusted['loudness_db'],
                             np.maximum(features['loudness_db'], -80.0))
  adjusted, info = tt.adjust_features(features, None, pitch_shift=7.0,
                                      loudness_shift=3.0)
  np.testing.assert_allclose(adjusted['f0_hz'],
                             features['f0_hz'] * 2 ** (7 / 12), rtol=1e-6)
  np.testing.assert_allclose(adjusted['loudness_db'],
                             features['loudness_db'] + 3.0, atol=1e-4)
  assert info['loudness'] == 'shift' and info['loudness_shift'] == 3.0


def test_autotune_pulls_towards_the_scale(rng):
  # A C major melody sung 10-30 cents off, frame by frame.
  notes = np.repeat([60, 62, 64, 65, 67, 69, 71, 72], 100).astype(float)
  sung = notes + rng.uniform(-0.3, 0.3, notes.size)
  features = {'f0_hz': 440.0 * 2 ** ((sung - 69) / 12),
              'f0_confidence': np.full(notes.size, 0.95),
              'loudness_db': np.full(notes.size, -20.0)}
  error_before = np.abs(sung - notes)
  for amount in (0.5, 1.0):
    adjusted, info = tt.adjust_features(features, None, pitch_shift=0.0,
                                        autotune=amount)
    midi = 12 * np.log2(adjusted['f0_hz'] / 440.0) + 69
    error_after = np.abs(midi - (notes + info['tuning_factor']))
    np.testing.assert_allclose(error_after, (1 - amount) * error_before,
                               atol=0.06)
  assert abs(info['tuning_factor']) <= 0.05
