"""Tests for ddsp.training.note_util: piano rolls <-> NoteSequences."""

import numpy as np
import pytest

from ddsp.training import note_util

note_seq = note_util.import_note_seq()


def test_pianoroll_to_note_sequence_runs_and_velocities():
  roll = np.zeros([20, 128])
  roll[0:5, 60] = 1.0  # Binary: velocity 127.
  roll[5:9, 60] = 0.5  # Adjacent run of the same pitch: one note.
  roll[10:12, 72] = 90.0  # MIDI velocities are kept.
  roll[15:20, 40] = 0.25  # Lasts to the end.
  roll[18, 41] = 1.0  # 10 ms: dropped with min_duration_ms=20.
  seq = note_util.pianoroll_to_note_sequence(roll, 100, min_duration_ms=20)
  got = [(n.pitch, n.start_time, n.end_time, n.velocity) for n in seq.notes]
  assert got == [(60, 0.0, 0.09, 127), (72, 0.1, 0.12, 90),
                 (40, 0.15, 0.2, 32)]
  assert isinstance(seq, note_seq.NoteSequence)
  assert seq.total_time == 0.2


def test_round_trip_and_lengths():
  rng = np.random.default_rng(3)
  roll = np.zeros([50, 128], np.float32)
  for start in range(0, 50, 10):
    roll[start:start + rng.integers(1, 10), rng.integers(0, 128)] = 1.0
  seq = note_util.pianoroll_to_note_sequence(roll, 250)
  np.testing.assert_array_equal(
      note_util.note_sequence_to_pianoroll(seq, 250), roll)
  assert note_util.note_sequence_to_pianoroll(seq, 250, n_frames=30).shape == (
      30, 128)
  padded = note_util.note_sequence_to_pianoroll(seq, 250, n_frames=60)
  np.testing.assert_array_equal(padded[:50], roll)
  assert not padded[50:].any()


def test_note_sequence_to_pianoroll_velocities_and_errors():
  seq = note_seq.NoteSequence()
  seq.notes.add(pitch=64, start_time=0.1, end_time=0.3, velocity=127)
  seq.notes.add(pitch=64, start_time=0.5, end_time=0.5, velocity=64)
  roll = note_util.note_sequence_to_pianoroll(seq, 10, velocities=True)
  assert roll.shape == (6, 128)
  np.testing.assert_allclose(roll[:, 64], [0, 1, 1, 0, 0, 64 / 127])
  seq.notes.add(pitch=130, start_time=0.0, end_time=0.1)
  with pytest.raises(ValueError, match='0-127'):
    note_util.note_sequence_to_pianoroll(seq, 10)
  with pytest.raises(ValueError, match=r'\[n_frames, 128\]'):
    note_util.pianoroll_to_note_sequence(np.zeros([10, 88]), 10)


def test_is_note_sequence():
  assert note_util.is_note_sequence(note_seq.NoteSequence())
  assert not note_util.is_note_sequence(np.zeros([3, 128]))
  assert not note_util.is_note_sequence({'notes': []})
