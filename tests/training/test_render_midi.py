"""Tests for ddsp.training.render_midi.

The curves are checked against independent references: the f0 of notes in a
hand-built MIDI file against 440 * 2 ** ((pitch - 69) / 12) in numpy, the
ADSR envelope against values worked out by hand, glide, vibrato and pitch
bend against their formulas, the velocity map against numpy quantiles.
A tiny solo-instrument model (the package's gin config, a smaller decoder)
trained for a few steps on the committed violin excerpt renders a chord whose
fundamentals must be peaks of its spectrum (numpy FFT), offline and
streaming; the command line runs end to end.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import gin
import numpy as np
import pretty_midi
import pytest
import soundfile
import tensorflow as tf

from ddsp.training import postprocessing
from ddsp.training import render_midi as rm
from ddsp.training.data_preparation import prepare_tfrecord_lib as prep

SR, FRAME_RATE = 16000, 250
CHORD = (67, 71, 74)
TEST_DATA = pathlib.Path(__file__).resolve().parents[1] / 'data'


def _hz(midi):
  return 440.0 * 2.0 ** ((np.asarray(midi, np.float64) - 69.0) / 12.0)


def _write_midi(path, notes, bends=(), controls=(), program=73):
  """notes: (start, end, pitch, velocity); bends: (time, value);
  controls: (time, number, value)."""
  pm = pretty_midi.PrettyMIDI()
  inst = pretty_midi.Instrument(program=program)
  for start, end, pitch, velocity in notes:
    inst.notes.append(pretty_midi.Note(velocity, pitch, start, end))
  for time, value in bends:
    inst.pitch_bends.append(pretty_midi.PitchBend(value, time))
  for time, number, value in controls:
    inst.control_changes.append(pretty_midi.ControlChange(number, value,
                                                          time))
  pm.instruments.append(inst)
  pm.write(str(path))
  return str(path)


# ------------------------------------------------------------------------------
# Curves against independent references.
# ------------------------------------------------------------------------------
def test_f0_of_a_midi_file_equals_its_notes_in_hz(tmp_path):
  notes = [(0.1, 0.5, 60, 100), (0.8, 1.2, 67, 80), (1.5, 1.9, 72, 60)]
  path = _write_midi(tmp_path / 'line.mid', notes)
  features = rm.notes_to_features(path, FRAME_RATE, glide=0.0, tail=0.2)
  assert features['n_voices'] == 1
  assert features['n_frames'] == int(np.ceil((1.9 + 0.1 + 0.2) * FRAME_RATE))
  f0 = features['f0_hz'][0].astype(np.float64)
  t = np.arange(features['n_frames']) / FRAME_RATE
  expected = np.full(t.shape, _hz(60))  # The first pitch before it starts.
  for k, (start, _, pitch, _) in enumerate(notes):
    following = notes[k + 1][0] if k + 1 < len(notes) else np.inf
    expected[(t >= start - 1e-9) & (t < following - 1e-9)] = _hz(pitch)
  np.testing.assert_allclose(f0, expected, rtol=1e-6)


def test_adsr_envelope_analytic_values():
  floor, peak = -80.0, -20.0
  t = np.array([-0.1, 0.0, 0.005, 0.01, 0.06, 0.11, 0.3, 0.5, 0.55, 0.6,
                0.7])
  env = rm.adsr_envelope(t, 0.0, 0.5, peak, floor, attack=0.01, decay=0.1,
                         sustain_db=6.0, release=0.1)
  # Attack: -80 -> -20 in 10 ms; decay: -20 -> -26 in 100 ms; sustain -26;
  # release: -26 -> -80 in 100 ms.
  expected = [-80, -80, -50, -20, -23, -26, -26, -26, -53, -80, -80]
  np.testing.assert_allclose(env, expected, atol=1e-9)
  # A note shorter than its attack releases from the level it reached.
  short = rm.adsr_envelope([0.02, 0.02 + 0.05], 0.0, 0.02, peak, floor,
                           attack=0.04, decay=0.1, sustain_db=6.0,
                           release=0.1)
  np.testing.assert_allclose(short, [-50.0, -65.0], atol=1e-9)
  # A legato attack from a given level; instantaneous stages.
  legato = rm.adsr_envelope([0.0, 0.01, 0.02], 0.0, 1.0, peak, floor,
                            attack=0.02, decay=0.0, sustain_db=2.0,
                            start_db=-30.0)
  np.testing.assert_allclose(legato, [-30.0, -25.0, -22.0], atol=1e-9)
  with pytest.raises(ValueError, match='`attack` must be a number in'):
    rm.adsr_envelope(t, 0.0, 0.5, peak, floor, attack=-1.0)
  with pytest.raises(ValueError, match='`end` must be >= `start`'):
    rm.adsr_envelope(t, 1.0, 0.5, peak, floor)


def test_voice_loudness_is_continuous_between_notes():
  notes = [rm.Note(0.0, 0.3, 60, 100, 0), rm.Note(0.34, 0.6, 62, 100, 0)]
  _, ld = rm.voice_features(notes, 250, FRAME_RATE, [-20.0, -30.0], -80.0,
                            attack=0.02, decay=0.0, sustain_db=0.0,
                            release=0.1)
  t = np.arange(250) / FRAME_RATE
  # At the second onset the first note has released for 40 ms: -20 - 0.4 *
  # 60 = -44 dB; the attack goes on from there to -30 dB in 20 ms.
  i = int(round(0.34 * FRAME_RATE))
  assert ld[i] == pytest.approx(-44.0, abs=1e-4)
  j = i + 3  # 12 ms into the attack.
  assert ld[j] == pytest.approx(-44.0 + 0.6 * 14.0, abs=1e-4)
  assert np.max(np.abs(np.diff(ld[t < 0.7]))) < 60.0 / 0.02 / FRAME_RATE + 1e-3


def test_glide_between_legato_notes_and_jump_otherwise():
  legato = [rm.Note(0.0, 0.4, 60, 100, 0), rm.Note(0.4, 0.8, 64, 100, 0)]
  f0, _ = rm.voice_features(legato, 250, FRAME_RATE, [-20.0, -20.0], -80.0,
                            glide=0.1)
  midi = 12 * np.log2(f0.astype(np.float64) / 440.0) + 69
  t = np.arange(250) / FRAME_RATE
  # Linear in pitch from 60 at the onset (0.4 s) to 64 at 0.5 s.
  expected = np.where(t < 0.4 - 1e-9, 60.0,
                      60.0 + 4.0 * np.clip((t - 0.4) / 0.1, 0.0, 1.0))
  np.testing.assert_allclose(midi, expected, atol=1e-4)
  assert midi[112] == pytest.approx(61.92, abs=1e-4)  # 0.448 s.
  detached = [rm.Note(0.0, 0.3, 60, 100, 0), rm.Note(0.4, 0.8, 64, 100, 0)]
  f0, _ = rm.voice_features(detached, 250, FRAME_RATE, [-20.0, -20.0],
                            -80.0, glide=0.1)
  np.testing.assert_allclose(f0[100:], _hz(64), rtol=1e-6)
  np.testing.assert_allclose(f0[:100], _hz(60), rtol=1e-6)


def test_vibrato_depth_rate_and_delay():
  note = [rm.Note(0.0, 2.0, 69, 100, 0)]
  f0, _ = rm.voice_features(note, 500, FRAME_RATE, [-20.0], -80.0,
                            vibrato_rate=6.25, vibrato_depth=30.0,
                            vibrato_delay=0.2)
  cents = 1200 * np.log2(f0.astype(np.float64) / 440.0)
  t = np.arange(500) / FRAME_RATE
  expected = np.where(t >= 0.2, 30.0 * np.sin(2 * np.pi * 6.25 * (t - 0.2)),
                      0.0)
  np.testing.assert_allclose(cents, expected, atol=1e-3)
  # A period of 0.16 s: +30 cents at 0.24 s, -30 at 0.32 s (frames 60, 80).
  np.testing.assert_allclose(cents[[49, 60, 80]], [0.0, 30.0, -30.0],
                             atol=1e-3)


def test_pitch_bend_with_the_range_the_file_sets(tmp_path):
  note = [(0.0, 1.0, 60, 100)]
  rpn_12 = [(0.0, 101, 0), (0.001, 100, 0), (0.002, 6, 12), (0.003, 38, 0)]
  bends = [(0.5, 4096)]
  path = _write_midi(tmp_path / 'bend.mid', note, bends, rpn_12)
  f0 = rm.notes_to_features(path, FRAME_RATE)['f0_hz'][0]
  t = np.arange(len(f0)) / FRAME_RATE
  # 4096 / 8192 of a 12-semitone range: +6 semitones from 0.5 s.
  np.testing.assert_allclose(f0[t < 0.5 - 1e-9], _hz(60), rtol=1e-6)
  np.testing.assert_allclose(f0[t >= 0.5], _hz(66), rtol=1e-6)
  # No RPN: the General MIDI range of 2 semitones; or the range given.
  path = _write_midi(tmp_path / 'bend_gm.mid', note, bends)
  f0 = rm.notes_to_features(path, FRAME_RATE)['f0_hz'][0]
  np.testing.assert_allclose(f0[t >= 0.5], _hz(61), rtol=1e-6)
  f0 = rm.notes_to_features(rm.read_midi(path, pitch_bend_range=4.0),
                            FRAME_RATE)['f0_hz'][0]
  np.testing.assert_allclose(f0[t >= 0.5], _hz(62), rtol=1e-6)


def test_expression_lowers_the_loudness_in_db(tmp_path):
  path = _write_midi(tmp_path / 'expr.mid', [(0.0, 1.0, 60, 100)],
                     controls=[(0.5, 11, 64)])
  on = rm.notes_to_features(path, FRAME_RATE, sustain_db=0.0)
  off = rm.notes_to_features(path, FRAME_RATE, sustain_db=0.0,
                             expression=False)
  t = np.arange(on['n_frames']) / FRAME_RATE
  held = (t >= 0.6) & (t < 1.0)
  np.testing.assert_allclose(on['loudness_db'][0][held] -
                             off['loudness_db'][0][held],
                             40 * np.log10(64 / 127), atol=1e-4)


def test_voice_allocation_of_a_chord_and_a_legato_line():
  chord = [rm.Note(0.0, 1.0, p, 100, 0) for p in (67, 60, 64)]
  line = [rm.Note(1.0, 1.53, 72, 90, 0), rm.Note(1.5, 2.0, 74, 90, 0),
          rm.Note(1.8, 2.5, 55, 90, 0)]  # The last overlaps by 0.2 s.
  other = [rm.Note(0.0, 2.0, 48, 90, 1)]  # Another instrument.
  voices = rm.allocate_voices(chord + line + other)
  # 48 (its own instrument), then the chord on three voices; 72 and 74 take
  # the first voice free (60's, lowest index), the 20 ms overlap of 72 and
  # 74 is legato (cut at 74's onset), 55 overlaps 74 by 0.2 s: a chord, so
  # it takes the next free voice (64's).
  assert [[n.pitch for n in v] for v in voices] == [[48], [60, 72, 74],
                                                    [64, 55], [67]]
  assert voices[1][1].end == 1.5 and voices[1][2].end == 2.0
  pitches = sorted(n.pitch for v in voices for n in v)
  assert pitches == sorted(n.pitch for n in chord + line + other)
  for v in voices:
    assert len({n.instrument for n in v}) == 1
    assert all(a.end <= b.start for a, b in zip(v[:-1], v[1:]))
  # Without the legato allowance the overlapping line needs two voices.
  assert len(rm.allocate_voices(line[:2], legato_overlap=0.0)) == 2


def test_velocity_maps_onto_training_loudness_quantiles(rng):
  loudness = rng.uniform(-60.0, -20.0, 5000)
  stats = {'quantile_transform': postprocessing.fit_quantile_transform(
      loudness, np.ones(5000, bool)),
           'min_loudness': -75.0}
  got = rm.velocity_to_db([1, 64, 127], stats, velocity_quantiles=(0.1,
                                                                    0.9))
  expected = np.quantile(loudness, [0.1, 0.5, 0.9])
  np.testing.assert_allclose(got, expected, atol=0.1)
  linear = rm.velocity_to_db([1, 127], {'mean_min_power_note': -50.0,
                                        'mean_max_power_note': -10.0},
                             velocity_quantiles=(0.0, 1.0),
                             loudness_key='power')
  np.testing.assert_allclose(linear, [-50.0, -10.0])
  with pytest.raises(ValueError, match='`velocity` must be in'):
    rm.velocity_to_db([200], stats)


# ------------------------------------------------------------------------------
# MIDI reading errors.
# ------------------------------------------------------------------------------
def test_unreadable_missing_and_empty_midi(tmp_path):
  with pytest.raises(FileNotFoundError, match='No MIDI file'):
    rm.read_midi(tmp_path / 'none.mid')
  bad = tmp_path / 'bad.mid'
  bad.write_bytes(b'this is not a MIDI file at all')
  with pytest.raises(ValueError, match='cannot be read as a MIDI file'):
    rm.read_midi(bad)
  empty = _write_midi(tmp_path / 'empty.mid', [])
  with pytest.raises(ValueError, match='no pitched note'):
    rm.read_midi(empty)


# ------------------------------------------------------------------------------
# A trained model.
# ------------------------------------------------------------------------------
_BINDINGS = [
    "TFRecordProvider.file_pattern = '{pattern}'",
    'TFRecordProvider.example_secs = 1',
    'F0LoudnessPreprocessor.time_steps = 250',
    'Harmonic.n_samples = 16000',
    'FilteredNoise.n_samples = 16000',
    'FilteredNoise.counter_noise = True',
    'Reverb.reverb_length = 256',
    'RnnFcDecoder.rnn_channels = 16',
    'RnnFcDecoder.ch = 16',
    'RnnFcDecoder.layers_per_stack = 1',
    ("RnnFcDecoder.output_splits = (('amps', 1), ('harmonic_distribution', "
     "20), ('noise_magnitudes', 17))"),
    'batch_size = 2',
    'learning_rate = 0.003',
    'train.num_steps = 2',
    'train.steps_per_save = 2',
    'train.steps_per_summary = 2',
    'train.progress_bar = False',
]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  """A model trained for 2 steps through gin, as ddsp_run does, with its
  dataset statistics."""
  # pylint: disable=g-import-not-at-top
  import keras
  from ddsp.training import gin as ddsp_gin
  from ddsp.training import data
  from ddsp.training import models
  from ddsp.training import train_util
  from ddsp.training import trainers
  root = tmp_path_factory.mktemp('render_midi')
  from ddsp import spectral_ops
  # pylint: enable=g-import-not-at-top
  audio = prep.load_audio(str(TEST_DATA / 'violin_6s.flac'), SR)[:4 * SR]
  # The score's f0 and numpy loudness (no CREPE: a fast fixture).
  f0_hz = np.load(TEST_DATA / 'violin_6s.f0_250hz.npy')[:4 * FRAME_RATE]
  feats = {'f0_hz': f0_hz.astype(np.float32),
           'f0_confidence': (f0_hz > 0).astype(np.float32),
           'loudness_db': spectral_ops.compute_loudness(
               audio, use_tf=False, padding='same')[:4 * FRAME_RATE].astype(
                   np.float32)}
  pattern = str(root / 'train.tfrecord')
  with tf.io.TFRecordWriter(pattern) as writer:
    for start in range(4):
      example = {'audio': audio[start * SR:(start + 1) * SR]}
      example.update({k: v[start * FRAME_RATE:(start + 1) * FRAME_RATE]
                      for k, v in feats.items()})
      writer.write(prep.float_dict_to_tfexample(example).SerializeToString())
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
  train_util.train(data_provider=gin.REQUIRED,
                   trainer=trainers.Trainer(model), save_dir=model_dir,
                   restore_dir=model_dir)
  postprocessing.save_dataset_statistics(
      data.TFRecordProvider(pattern + '*', example_secs=1), model_dir)
  with gin.unlock_config():
    gin.clear_config()
  chord = _write_midi(root / 'chord.mid',
                      [(0.1, 1.3, p, 100) for p in CHORD])
  return {'model_dir': model_dir, 'root': root, 'chord': chord}


def _peaks_at_fundamentals(audio):
  """Per chord note: (peak Hz within 30 cents, its height above the band's
  median, dB) from a numpy FFT of the steady part."""
  segment = audio[int(0.4 * SR):int(1.2 * SR)].astype(np.float64)
  db = 20 * np.log10(np.abs(np.fft.rfft(segment * np.hanning(len(segment))))
                     + 1e-12)
  freqs = np.fft.rfftfreq(len(segment), 1.0 / SR)
  median = np.median(db[(freqs >= 100) & (freqs <= 1200)])
  out = []
  for pitch in CHORD:
    near = np.nonzero(np.abs(1200 * np.log2(np.maximum(freqs, 1.0) /
                                            _hz(pitch))) <= 30)[0]
    best = near[np.argmax(db[near])]
    out.append((freqs[best], db[best] - median))
  return out


@pytest.mark.slow
def test_a_chord_renders_its_fundamentals_offline_and_streaming(trained,
                                                                 tmp_path):
  out = tmp_path / 'chord.wav'
  offline = rm.render_midi(trained['model_dir'], trained['chord'], out)
  assert offline['n_voices'] == 3
  assert [v[0].pitch for v in offline['voices']] == list(CHORD)
  audio, sr = soundfile.read(out, dtype='float32')
  assert sr == SR and len(audio) == offline['features']['n_frames'] * 64
  np.testing.assert_allclose(audio, offline['audio'], atol=1e-4)
  np.testing.assert_allclose(offline['voice_audio'].sum(axis=0),
                             offline['audio'], atol=1e-6)
  for (found, height), pitch in zip(_peaks_at_fundamentals(audio), CHORD):
    assert abs(found - _hz(pitch)) <= 2.0, (pitch, found)
    assert height > 25.0, (pitch, height)
  # Through the streaming model: the same audio once the latency is removed
  # (the model's noise is counter noise, as streaming makes it).
  stream = rm.render_midi(trained['model_dir'], trained['chord'],
                          streaming=True, block_size=128)
  assert stream['latency'] > 0 and stream['n_voices'] == 3
  peak = np.max(np.abs(offline['audio']))
  # float32 rounding of the two computations (a one-sample shift would
  # differ by about 2 pi 392 / 16000 = 15 % of the peak).
  np.testing.assert_allclose(stream['audio'], offline['audio'],
                             atol=3e-3 * peak)


@pytest.mark.slow
def test_missing_and_mismatched_model_dirs(trained, tmp_path):
  with pytest.raises(FileNotFoundError, match='No model directory'):
    rm.render_midi(tmp_path / 'nothing', trained['chord'])
  (tmp_path / 'empty').mkdir()
  with pytest.raises(FileNotFoundError, match='No checkpoint'):
    rm.render_midi(tmp_path / 'empty', trained['chord'])
  # The config of a wider decoder than the checkpoint holds.
  other = tmp_path / 'other'
  shutil.copytree(trained['model_dir'], other)
  for config in other.glob('operative_config-*.gin'):
    config.write_text(config.read_text().replace(
        'RnnFcDecoder.rnn_channels = 16', 'RnnFcDecoder.rnn_channels = 24'))
  with pytest.raises(ValueError, match='does not hold all the weights'):
    rm.render_midi(other, trained['chord'])
  with pytest.raises(ValueError, match='block_size'):
    rm.render_midi(trained['model_dir'], trained['chord'], streaming=True,
                   block_size=100)
  # Without saved statistics: a warning and fixed levels (floor -80 dB, the
  # peak of velocity 100 at -60 + 50 * 100 / 127 dB).
  bare = tmp_path / 'bare'
  shutil.copytree(trained['model_dir'], bare)
  (bare / postprocessing.DATASET_STATISTICS_JSON).unlink()
  result = rm.render_midi(bare, trained['chord'], attack=0.0, decay=0.0,
                          sustain_db=0.0)
  ld = result['features']['loudness_db']
  assert result['features']['floor_db'] == -80.0
  np.testing.assert_allclose(ld[:, 100], -60.0 + 50.0 * 100 / 127, atol=1e-4)
  assert np.all(ld[:, 0] == -80.0)


@pytest.mark.slow
def test_command_line(trained, tmp_path):
  out_wav = tmp_path / 'cli.wav'
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  base = [sys.executable, '-m', 'ddsp.training.render_midi']
  proc = subprocess.run(base + ['--help'], capture_output=True, text=True,
                        env=env, timeout=300, check=False)
  # absl prints the module docstring and the flags (and exits with 1).
  assert 'Playing a trained model from MIDI' in proc.stdout
  assert '--midi' in proc.stdout and '--streaming' in proc.stdout
  cmd = base + [f'--model_dir={trained["model_dir"]}',
                f'--midi={trained["chord"]}', f'--output={out_wav}',
                '--vibrato_depth=10']
  proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                        timeout=300, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert '3 notes on 3 voices (offline)' in proc.stdout
  audio, sr = soundfile.read(out_wav, dtype='float32')
  assert sr == SR and np.max(np.abs(audio)) > 1e-3
  # A missing model directory: a one-line error, exit status 1.
  proc = subprocess.run(
      base + [f'--model_dir={tmp_path / "none"}', f'--midi={trained["chord"]}',
              f'--output={out_wav}'],
      capture_output=True, text=True, env=env, timeout=300, check=False)
  assert proc.returncode == 1
  assert 'ddsp_render_midi: error: No model directory' in proc.stderr
