"""Tests of the MIDI summaries: images read back from the event files."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import note_util
from ddsp.training import summaries
import training_helpers as helpers  # tests/training/training_helpers.py

RATE = 250


def _write(log_dir, fn):
  writer = tf.summary.create_file_writer(str(log_dir))
  with writer.as_default():
    out = fn()
  writer.close()
  return out, helpers.read_events(log_dir, with_plugin=True)


def _image(events, tag):
  ((_, plugin, value),) = events[tag]
  assert plugin == 'images'
  return tf.io.decode_png(value[2]).numpy().astype(int)


def _colour_counts(image):
  r, g, b = image[..., 0], image[..., 1], image[..., 2]
  low, high = 60, 190
  return {'green': int(np.sum((g > high) & (r < low) & (b < low))),
          'blue': int(np.sum((b > high) & (r < low) & (g < low))),
          'cyan': int(np.sum((g > high) & (b > high) & (r < low)))}


def test_pianoroll_summary_colours_match_the_rolls(tmp_path):
  gt = np.zeros([2, 100, 128], np.float32)
  pred = np.zeros([2, 100, 128], np.float32)
  gt[:, 0:60, 60] = 1.0   # Green alone in frames 0-39,
  pred[:, 40:100, 60] = 1.0  # cyan in 40-59, blue alone in 60-99.
  seqs = [note_util.pianoroll_to_note_sequence(p, RATE) for p in pred]
  batch = {'note_active_velocities': gt, 'roll': pred, 'notes': seqs}

  def write():
    return (summaries.pianoroll_summary(batch, 3, 'roll', RATE, 'roll'),
            summaries.pianoroll_summary(batch, 3, 'seq', RATE, 'notes',
                                        max_outputs=1))

  (n_roll, n_seq), events = _write(tmp_path, write)
  assert (n_roll, n_seq) == (2, 1)
  assert sorted(events) == ['pianoroll/roll_1', 'pianoroll/roll_2',
                            'pianoroll/seq_1']
  counts = _colour_counts(_image(events, 'pianoroll/roll_1'))
  total = sum(counts.values())
  assert total > 500
  # Areas are proportional to the frames: 40 : 20 : 40.
  assert counts['green'] / total == pytest.approx(0.4, abs=0.04)
  assert counts['cyan'] / total == pytest.approx(0.2, abs=0.04)
  assert counts['blue'] / total == pytest.approx(0.4, abs=0.04)
  # NoteSequence predictions draw the same picture.
  np.testing.assert_array_equal(_image(events, 'pianoroll/seq_1'),
                                _image(events, 'pianoroll/roll_1'))


def test_midi_summary_tags_and_content(tmp_path):
  n_frames = 200
  f0 = np.full([2, n_frames, 1], 261.63)
  amps = np.full([2, n_frames, 1], 0.5)
  roll = np.zeros([n_frames, 128]); roll[20:120, 60] = 1.0
  seq = note_util.pianoroll_to_note_sequence(roll, RATE)
  controls = {'f0_hz': f0, 'harmonic': {'controls': {'amplitudes': amps}},
              'notes': [seq, seq]}
  n, events = _write(tmp_path, lambda: summaries.midi_summary(
      controls, 5, 'heuristic', RATE, 'notes'))
  assert n == 2
  assert sorted(events) == ['midi/heuristic_1', 'midi/heuristic_2']
  image = _image(events, 'midi/heuristic_1')
  assert image.shape == (400, 600, 3) and image.std() > 10
  with pytest.raises(ValueError, match="'notes'"):
    summaries.midi_summary({'f0_hz': f0, 'harmonic': controls['harmonic']},
                           5, 'x', RATE, 'notes')


def test_midiae_summaries_tags(tmp_path):
  b, t = 2, 50
  rng = np.random.default_rng(0)
  outputs = {
      'q_pitch': np.full([b, t, 1], 60.0),
      'f0_midi_pred': 60.0 + rng.normal(0, 0.1, [b, t, 1]),
      'z_pitch': 60.0 + rng.normal(0, 0.3, [b, t, 1]),
      'amps': rng.normal(-30, 3, [b, t, 1]),
      'hd': rng.uniform(0, 1, [b, t, 6]),
      'noise': rng.normal(-50, 3, [b, t, 5]),
      'loudness_db_rec': rng.normal(-30, 3, [b, t, 1]),
      'velocity_quant': np.full([b, t, 1], 0.0),
  }
  f0_hz = np.full([b, t, 1], 261.63)

  def write():
    counts = [summaries.midiae_f0_summary(f0_hz, outputs, 1, max_outputs=1),
              summaries.midiae_ld_summary(outputs['amps'], outputs, 1,
                                          max_outputs=1),
              summaries.midiae_sp_summary(outputs, 1, max_outputs=1)]
    with_pred = dict(outputs, amps_pred=outputs['amps'] + 1,
                     hd_pred=outputs['hd'], noise_pred=outputs['noise'])
    summaries.midiae_sp_summary(with_pred, 2, max_outputs=1)
    return counts

  counts, events = _write(tmp_path, write)
  assert counts == [1, 1, 1]
  assert sorted(events) == [
      'amplitudes/amplitudes_1', 'harmonic_dist/harmonic_dist_1',
      'midiae_decoder_ld/loudness_db_1', 'midiae_decoder_pitch/ex_1',
      'midiae_encoder_pitch/ex_1', 'noise_mags/noise_mags_1']
  # One row per synth parameter, three with the MIDI branch's predictions.
  (_, _, one), (_, _, three) = events['amplitudes/amplitudes_1']
  assert tf.io.decode_png(one[2]).shape[0] == 400
  assert tf.io.decode_png(three[2]).shape[0] == 1200
