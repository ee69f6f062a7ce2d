"""Tests of the note transcription metrics and compute_audio_features.

References: hand-built note lists whose matches are counted by hand from the
mir_eval rules (onset within 50 ms, pitch within 50 cents, offset within
max(50 ms, 20 % of the true note)), and numpy loudness / a tone's pitch.
"""

import numpy as np
import pytest
import tensorflow as tf

from ddsp import spectral_ops
from ddsp.training import metrics
from ddsp.training import note_util

note_seq = note_util.import_note_seq()
RATE = 100  # Frames per second of the piano rolls.


def _sequence(notes):
  seq = note_seq.NoteSequence()
  for start, end, pitch in notes:
    note = seq.notes.add()
    note.start_time, note.end_time, note.pitch = start, end, pitch
    note.velocity = 100
  return seq


def _roll(notes, n_frames):
  roll = np.zeros([n_frames, 128], np.float32)
  for start, end, pitch in notes:
    roll[start:end, pitch] = 1.0
  return roll


def _read_scalars(log_dir):
  scalars = {}
  for path in tf.io.gfile.glob(str(log_dir / 'events*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        scalars[value.tag] = (event.step, float(tf.make_ndarray(value.tensor)))
  return scalars


def test_eval_counts_against_formulas():
  counts = metrics.EvalCounts(0, 0, 0)
  assert (counts.precision, counts.recall, counts.f1) == (0.0, 0.0, 0.0)
  counts.add(metrics.EvalCounts(tp=2, fp=3, fn=6))
  p, r = 2 / 5, 2 / 8
  assert counts.precision == pytest.approx(p)
  assert counts.recall == pytest.approx(r)
  # The harmonic mean (the published code divided by max(p + r, 1)).
  assert counts.f1 == pytest.approx(2 * p * r / (p + r))


def test_sequence2intervals():
  seq = _sequence([(0.5, 1.25, 62), (0.0, 0.5, 60)])
  intervals, pitches, velocities = metrics.sequence2intervals(seq)
  np.testing.assert_array_equal(intervals, [[0.5, 1.25], [0.0, 0.5]])
  np.testing.assert_array_equal(pitches, [62, 60])
  np.testing.assert_array_equal(velocities, [100, 100])
  empty = metrics.sequence2intervals(note_seq.NoteSequence())
  assert empty[0].shape == (0, 2) and empty[1].shape == (0,)


def test_note_metrics_hand_counted():
  gt = _sequence([(0.0, 0.5, 60), (0.5, 1.0, 62), (1.0, 1.5, 64),
                  (2.0, 2.5, 65)])
  pred = _sequence([
      (0.02, 0.48, 60),  # Onset and offset within tolerance: full match.
      (0.53, 0.80, 62),  # Onset ok; offset 0.2 s early > 0.1 s: onset only.
      (1.20, 1.50, 64),  # Onset 200 ms late: no match.
      (2.01, 2.50, 66),  # A semitone off: no match.
      (0.01, 0.50, 60),  # Second candidate for the first note: one-to-one.
  ])
  onset, full = metrics.compute_note_metrics(gt, pred)
  assert onset == metrics.EvalCounts(tp=2, fp=3, fn=2)
  assert full == metrics.EvalCounts(tp=1, fp=4, fn=3)
  # Empty predictions or truth: nothing matched.
  none = note_seq.NoteSequence()
  assert metrics.compute_note_metrics(gt, none)[0] == metrics.EvalCounts(
      0, 0, 4)
  assert metrics.compute_note_metrics(none, pred)[1] == metrics.EvalCounts(
      0, 5, 0)


def test_frame_metrics_hand_counted():
  gt = _roll([(10, 20, 60), (30, 40, 62)], 50)
  pred = _roll([(15, 25, 61), (30, 35, 62)], 50)  # Pitches are not compared.
  counts = metrics.compute_frame_metrics(gt, pred)
  assert counts == metrics.EvalCounts(tp=5 + 5, fp=5, fn=5 + 5)
  with pytest.raises(ValueError, match='pred_pianoroll'):
    metrics.compute_frame_metrics(gt, pred[:40])


def test_midi_metrics_counts_and_summaries(tmp_path):
  n_frames = 200
  gt_notes = [[(10, 60, 60), (60, 120, 62)], [(20, 100, 70)]]
  gt = np.stack([_roll(n, n_frames) for n in gt_notes])
  # Example 0 predicted as a NoteSequence: first note exact, second 0.3 s
  # late. Example 1 as a piano roll: the note exactly, plus a stray note.
  pred = [_sequence([(0.1, 0.6, 60), (0.9, 1.2, 62)]),
          _roll([(20, 100, 70), (150, 160, 40)], n_frames)]
  midi_metrics = metrics.MidiMetrics(RATE, 'test', align_midi_with_f0=False)
  midi_metrics.update_state({'note_active_velocities': gt}, pred)
  assert midi_metrics.note_counts == metrics.EvalCounts(tp=2, fp=2, fn=1)
  assert midi_metrics.note_offset_counts == metrics.EvalCounts(2, 2, 1)
  # Frames: ex 0 gt 10-120, pred 10-60 and 90-120 -> tp 80, fn 30;
  # ex 1: tp 80, fp 10.
  assert midi_metrics.frame_counts == metrics.EvalCounts(160, 10, 30)
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default():
    results = midi_metrics.flush(step=7)
  writer.close()
  p, r = 2 / 4, 2 / 3
  assert results['metrics/midi/test/onset/f1'] == pytest.approx(
      2 * p * r / (p + r))
  scalars = _read_scalars(tmp_path)
  assert scalars['metrics/midi/test/frame/precision'] == (
      7, pytest.approx(160 / 170))
  assert scalars['metrics/midi/test/frame/recall'] == (
      7, pytest.approx(160 / 190))
  assert len(scalars) == 9
  # Flushing resets every count.
  assert midi_metrics.note_offset_counts == metrics.EvalCounts(0, 0, 0)


def test_midi_metrics_align_with_f0():
  n_frames = 100
  gt = _roll([(10, 40, 60), (50, 80, 64)], n_frames)[np.newaxis]
  # Played 8 frames later than the score: f0 at MIDI 60 in 18-47, 64 in 58-93.
  f0_midi = np.zeros(n_frames)
  f0_midi[18:48], f0_midi[58:94] = 60.2, 63.8
  f0_hz = np.where(f0_midi > 0, 440.0 * 2 ** ((f0_midi - 69) / 12), 0.0)
  midi_metrics = metrics.MidiMetrics(RATE, 'aligned')
  seq = midi_metrics.align_midi_with_f0(
      note_util.pianoroll_to_note_sequence(gt[0], RATE), f0_hz)
  assert [(n.start_time, n.end_time) for n in seq.notes] == [
      (0.18, 0.47), (0.58, 0.93)]
  pred = [_sequence([(0.18, 0.47, 60), (0.58, 0.93, 64)])]
  midi_metrics.update_state({'note_active_velocities': gt,
                             'f0_hz': f0_hz[np.newaxis, :, np.newaxis]}, pred)
  assert midi_metrics.note_offset_counts == metrics.EvalCounts(2, 0, 0)
  unaligned = metrics.MidiMetrics(RATE, 'x', align_midi_with_f0=False)
  unaligned.update_state({'note_active_velocities': gt}, pred)
  assert unaligned.note_offset_counts == metrics.EvalCounts(0, 2, 2)


def test_midi_metrics_errors():
  midi_metrics = metrics.MidiMetrics(RATE, 'x', align_midi_with_f0=False)
  with pytest.raises(ValueError, match='note_active_velocities'):
    midi_metrics.update_state({'f0_hz': np.zeros([1, 10])}, [None])
  with pytest.raises(ValueError, match='pred_seq_batch'):
    midi_metrics.update_state(
        {'note_active_velocities': np.zeros([2, 10, 128])},
        [note_seq.NoteSequence()])
  with pytest.raises(ValueError, match='frames_per_second'):
    metrics.MidiMetrics(0, 'x')


def test_compute_audio_features_tone():
  t = np.arange(4000) / 16000  # 0.25 s.
  audio = 0.5 * np.sin(2 * np.pi * 440.0 * t).astype(np.float32)
  feats = metrics.compute_audio_features(audio[np.newaxis], frame_rate=250)
  n_frames = 4000 * 250 // 16000 + 1
  assert feats['audio'].shape == (4000,)
  for key in ('f0_hz', 'f0_confidence', 'loudness_db'):
    assert feats[key].shape == (n_frames,), key
    assert np.all(np.isfinite(feats[key]))
  np.testing.assert_allclose(
      feats['loudness_db'],
      spectral_ops.compute_loudness(audio, use_tf=False), atol=1e-4)
  middle = feats['f0_hz'][10:-10]
  cents = 1200 * np.log2(middle / 440.0)
  assert np.max(np.abs(cents)) < 50.0
