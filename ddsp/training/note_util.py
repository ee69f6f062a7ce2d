"""Notes as `note_seq.NoteSequence`s and piano rolls: the one home for both.

The MIDI parts of ddsp (`heuristics`, the MIDI metrics, the piano-roll
summaries) represent notes as the published library does, with Magenta's
`note_seq.NoteSequence` protobuf and [n_frames, 128] piano rolls (one column
per MIDI pitch 0-127, a velocity or 1 where the note sounds). `note_seq` and
`mir_eval` are optional dependencies (`pip install ddsp[midi]`), imported only
when a function here is called, so `import ddsp.training` stays light.

Frame i of a piano roll at `frame_rate` spans [i, i + 1) / frame_rate
seconds.
"""

import importlib
import warnings

import numpy as np
import tensorflow as tf

from ddsp import validation

__all__ = [
    'MAX_MIDI_PITCH',
    'MIN_MIDI_PITCH',
    'import_mir_eval',
    'import_note_seq',
    'is_note_sequence',
    'note_sequence_to_pianoroll',
    'pianoroll_to_note_sequence',
]

MIN_MIDI_PITCH = 0
MAX_MIDI_PITCH = 127


def _import(name, purpose):
  try:
    with warnings.catch_warnings():
      # pydub (imported by note_seq) warns when no ffmpeg is installed; ddsp
      # never decodes audio through it.
      # (and imports the deprecated audioop on Python 3.11-3.12).
      warnings.simplefilter('ignore', RuntimeWarning)
      warnings.simplefilter('ignore', DeprecationWarning)
      return importlib.import_module(name)
  except ImportError as e:
    raise ImportError(
        f'{purpose} needs the optional package `{name}`: pip install '
        f'"ddsp[midi]" (or pip install {name.replace("_", "-")}).') from e


def import_note_seq():
  """The `note_seq` module (Magenta's NoteSequence library), imported now.

  Raises:
    ImportError: naming the extra to install if it is missing.
  """
  return _import('note_seq', 'Working with NoteSequences')


def import_mir_eval():
  """The `mir_eval` module (note matching of the transcription metrics).

  Raises:
    ImportError: naming the extra to install if it is missing.
  """
  return _import('mir_eval', 'Note-level transcription metrics')


def is_note_sequence(x):
  """Whether `x` is a `note_seq.NoteSequence` (False if note_seq is absent).

  Example:
    >>> is_note_sequence(np.zeros([10, 128]))
    False
  """
  if isinstance(x, (np.ndarray, tf.Tensor, tf.Variable, list, tuple)):
    return False
  note_seq = import_note_seq()
  return isinstance(x, note_seq.NoteSequence)


def _pianoroll_2d(pianoroll, name='pianoroll'):
  pianoroll = np.asarray(pianoroll)
  if pianoroll.ndim == 3 and pianoroll.shape[-1] == 1:
    pianoroll = pianoroll[..., 0]
  if pianoroll.ndim != 2 or pianoroll.shape[1] != MAX_MIDI_PITCH + 1:
    raise ValueError(f'`{name}` must be a piano roll [n_frames, 128] (one '
                     'column per MIDI pitch). Received: '
                     f'{name}.shape={pianoroll.shape}')
  return pianoroll


def pianoroll_to_note_sequence(pianoroll, frame_rate, min_duration_ms=0):
  """Notes of a piano roll: each run of active frames of a pitch is a note.

  A run of frames [i, j) of column p where the roll is > 0 becomes a note of
  MIDI pitch p from i / frame_rate to j / frame_rate seconds (as
  `note_seq.sequences_lib.pianoroll_to_note_sequence`). Its velocity is the
  largest value of the run: taken as a MIDI velocity if it is > 1, else
  scaled by 127 (a binary roll gives 127); clipped to [1, 127].

  Args:
    pianoroll: [n_frames, 128] array or tensor, active where > 0.
    frame_rate: frames per second of the piano roll.
    min_duration_ms: shorter notes are dropped.

  Returns:
    A `note_seq.NoteSequence`, notes sorted by start time then pitch;
    `total_time` is n_frames / frame_rate.

  Example:
    >>> roll = np.zeros([10, 128]); roll[2:6, 60] = 1.0
    >>> seq = pianoroll_to_note_sequence(roll, frame_rate=10)
    >>> [(n.pitch, n.start_time, n.end_time, n.velocity) for n in seq.notes]
    [(60, 0.2, 0.6, 127)]
  """
  frame_rate = validation.check_positive(frame_rate, 'frame_rate')
  pianoroll = _pianoroll_2d(pianoroll).astype(np.float64)
  note_seq = import_note_seq()
  active = pianoroll > 0
  # +1 at onsets, -1 one past offsets, per pitch.
  padded = np.pad(active, [(1, 1), (0, 0)]).astype(np.int8)
  edges = np.diff(padded, axis=0)
  runs = []
  for pitch in range(active.shape[1]):
    starts = np.flatnonzero(edges[:, pitch] == 1)
    stops = np.flatnonzero(edges[:, pitch] == -1)
    for start, stop in zip(starts, stops):
      if (stop - start) * 1000.0 / frame_rate < min_duration_ms:
        continue
      runs.append((start, pitch, stop))
  sequence = note_seq.NoteSequence()
  for start, pitch, stop in sorted(runs):
    peak = float(np.max(pianoroll[start:stop, pitch]))
    velocity = peak if peak > 1.0 else 127.0 * peak
    note = sequence.notes.add()
    note.pitch = int(pitch)
    note.start_time = start / frame_rate
    note.end_time = stop / frame_rate
    note.velocity = int(np.clip(np.round(velocity), 1, 127))
  sequence.total_time = pianoroll.shape[0] / frame_rate
  return sequence


def note_sequence_to_pianoroll(sequence, frame_rate, n_frames=None,
                               velocities=False):
  """A [n_frames, 128] float32 piano roll of a NoteSequence.

  A note from `start_time` to `end_time` is active in frames
  round(start_time * frame_rate) to round(end_time * frame_rate) (end
  excluded, at least one frame), the inverse of
  `pianoroll_to_note_sequence`. Overlapping notes of one pitch merge.

  Args:
    sequence: a `note_seq.NoteSequence` (or any object with `.notes` having
      `pitch`, `start_time`, `end_time`, `velocity`).
    frame_rate: frames per second.
    n_frames: the length of the roll (later notes are cut); None: up to the
      end of the last note or `total_time`, whichever is later.
    velocities: write velocity / 127 where active instead of 1.0.

  Returns:
    [n_frames, 128] float32 numpy array.

  Example:
    >>> roll = np.zeros([10, 128]); roll[2:6, 60] = 1.0
    >>> seq = pianoroll_to_note_sequence(roll, frame_rate=10)
    >>> np.array_equal(note_sequence_to_pianoroll(seq, 10), roll)
    True
  """
  frame_rate = validation.check_positive(frame_rate, 'frame_rate')
  spans = []
  for note in sequence.notes:
    if not MIN_MIDI_PITCH <= note.pitch <= MAX_MIDI_PITCH:
      raise ValueError('Note pitches must be MIDI 0-127. Received: a note '
                       f'of pitch {note.pitch} at {note.start_time} s.')
    start = int(round(note.start_time * frame_rate))
    stop = max(int(round(note.end_time * frame_rate)), start + 1)
    spans.append((start, stop, note.pitch, note.velocity / 127.0))
  if n_frames is None:
    total = int(round(getattr(sequence, 'total_time', 0.0) * frame_rate))
    n_frames = max([total] + [stop for _, stop, _, _ in spans])
  n_frames = validation.check_non_negative_int(n_frames, 'n_frames')
  roll = np.zeros([n_frames, MAX_MIDI_PITCH + 1], np.float32)
  for start, stop, pitch, velocity in spans:
    roll[start:stop, pitch] = velocity if velocities else 1.0
  return roll
