"""Heuristics that turn DDSP controls into notes (a MIDI transcription).

A model's controls (f0, harmonic amplitudes, or the audio's power) are
binarized into note-on frames, and each run of note-on frames becomes a note
whose pitch is the rounded MIDI value of its f0 (`segment_notes`):

* `strided_freq_change`: a note boundary where the f0 moves by more than
  0.75 semitone across any of several strides (2 to 32 frames); unvoiced
  frames (f0 = 0) are off.
* `amp_pooled_outliers` / `power_pooled_outliers`: off where the log
  amplitude (or the power in dB) falls more than `num_devs` standard
  deviations below the mean of the surrounding `frame_width` frames (the
  dips between notes).
* `remove_short`: drops note-on runs shorter than a minimum length.
* `midi_heuristic` (amplitudes) and `midi_heuristic_power` (power of the
  audio) combine them, as the published library's evaluation did; gin files
  `eval/heuristic.gin` and `eval/heuristic_power.gin` choose one for
  `segment_notes_batch` (and so for `evaluators.MidiHeuristicEvaluator`).

Controls are dicts of one example ('f0_hz' [n_frames(, 1)] Hz,
'harmonic': {'controls': {'amplitudes': [n_frames(, 1)]}}, 'audio'
[n_samples]) or of a batch for `segment_notes_batch`. Notes are
`note_seq.NoteSequence`s (optional dependency `ddsp[midi]`).
"""

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import spectral_ops
from ddsp import validation
from ddsp.training import note_util

__all__ = [
    'DDSP_DEFAULT_FRAME_RATE',
    'POWER_RANGE_DB',
    'amp_pooled_outliers',
    'get_active_frame_indices',
    'mean_f0',
    'median_amps',
    'median_f0',
    'midi_heuristic',
    'midi_heuristic_power',
    'pad_for_frame',
    'power_pooled_outliers',
    'remove_short',
    'segment_notes',
    'segment_notes_batch',
    'strided_freq_change',
    'unbatch',
    'window_array',
]

DDSP_DEFAULT_FRAME_RATE = 250
# Range of the power in `power_pooled_outliers` (the published LD_RANGE):
# power is floored at -120 dB and shifted up by 120 dB, so silence is 0.
POWER_RANGE_DB = 120.0

_register = registration.register('ddsp.training.heuristics')


def _vector(x, name):
  """A 1-D numpy copy of a [n_frames] or [n_frames, 1] control."""
  x = np.squeeze(core.to_numpy(x))
  if x.ndim != 1:
    raise ValueError(f'`{name}` must be one example, [n_frames] or '
                     f'[n_frames, 1]. Received: shape {np.shape(x)}')
  return x


def _f0(controls):
  if 'f0_hz' not in controls:
    raise ValueError("The controls need 'f0_hz'; they have keys "
                     f'{sorted(controls)}.')
  return _vector(controls['f0_hz'], "controls['f0_hz']").astype(np.float64)


def _amplitudes(controls):
  try:
    amps = core.nested_lookup('harmonic/controls/amplitudes', controls)
  except (KeyError, ValueError) as e:
    raise ValueError("The controls need the harmonic amplitudes "
                     "controls['harmonic']['controls']['amplitudes'].") from e
  return _vector(amps, 'amplitudes').astype(np.float64)


def get_active_frame_indices(piano_roll):
  """Frames since the onset of the sounding note, per pitch.

  Args:
    piano_roll: [n_frames, n_pitches] array, active where > 0.

  Returns:
    [n_frames, n_pitches] array (the input's dtype): 1 at a note's onset
    frame, 2 at the next, ..., 0 where the pitch is off.

  Example:
    >>> get_active_frame_indices(np.array([[1], [1], [0], [1]]))[:, 0]
    array([1, 2, 0, 1])
  """
  active = core.to_numpy(piano_roll) > 0
  out = np.zeros(active.shape, np.int64)
  count = np.zeros(active.shape[1:], np.int64)
  for i in range(active.shape[0]):
    count = (count + 1) * active[i]
    out[i] = count
  return out.astype(np.asarray(piano_roll).dtype)


def unbatch(batch):
  """Splits a (nested) dict of batched arrays into one dict per example.

  None values are skipped; every other value must be an array or tensor
  with the same leading batch size, or a dict of such values.

  Args:
    batch: dict of [batch, ...] arrays/tensors or nested dicts.

  Returns:
    A list of `batch` dicts of numpy arrays (tensors are converted).

  Raises:
    ValueError: for a value without the batch axis or of another batch size.

  Example:
    >>> [sorted(d) for d in unbatch({'a': np.zeros([2, 3]), 'b': None})]
    [['a'], ['a']]
  """
  examples = None

  def set_size(n, key):
    nonlocal examples
    if examples is None:
      examples = [{} for _ in range(n)]
    elif n != len(examples):
      raise ValueError(f'Batch size mismatch: {key!r} has {n} examples, '
                       f'other values {len(examples)}.')

  for key, value in batch.items():
    if value is None:
      continue
    if isinstance(value, dict):
      parts = unbatch(value)
      set_size(len(parts), key)
    else:
      if not isinstance(value, (np.ndarray, tf.Tensor, tf.Variable, list)):
        raise ValueError(f'Cannot unbatch {key!r}: it must be an array, a '
                         f'tensor or a dict. Received: {type(value).__name__}')
      parts = value if isinstance(value, list) else core.to_numpy(value)
      if not isinstance(parts, list) and parts.ndim == 0:
        raise ValueError(f'Cannot unbatch {key!r}: a scalar has no batch '
                         'axis.')
      set_size(len(parts), key)
    for i, part in enumerate(parts):
      examples[i][key] = part
  return examples or []


def window_array(array, sr, win_len, frame_step_ratio=0.75, ax=0):
  """Overlapping windows of an array (e.g. seconds-long chunks of audio).

  The array is front-padded with `(1 - frame_step_ratio)` of a window of
  zeros, then framed with `tf.signal.frame(..., pad_end=True)`.

  Args:
    array: numpy array, framed along `ax`.
    sr: samples per second of `array`.
    win_len: window length, seconds.
    frame_step_ratio: hop as a fraction of the window.
    ax: axis to frame.

  Returns:
    numpy array with `ax` replaced by [n_windows, int(sr * win_len)].

  Example:
    >>> window_array(np.ones(16000), 16000, 0.5).shape
    (3, 8000)
  """
  frame_length = int(sr * win_len)
  frame_step = int(sr * win_len * frame_step_ratio)
  pad_front = int(sr * win_len * (1 - frame_step_ratio))
  validation.check_positive_int(frame_length, 'int(sr * win_len)')
  validation.check_positive_int(frame_step,
                                'int(sr * win_len * frame_step_ratio)')
  array = np.asarray(array)
  pad = [(0, 0)] * array.ndim
  pad[ax] = (pad_front, 0)
  padded = np.pad(array, pad)
  return tf.signal.frame(padded, frame_length=frame_length,
                         frame_step=frame_step, pad_end=True,
                         axis=ax).numpy()


def _pick(fn, name):
  fn = validation.check_callable(fn, name, allow_none=False)
  return fn


def segment_notes(binarize_f, pick_f0_f, pick_amps_f, controls,
                  frame_rate=DDSP_DEFAULT_FRAME_RATE):
  """Splits one example's controls into notes.

  Args:
    binarize_f: `controls -> [n_frames] bool`, True where a note sounds.
    pick_f0_f: `(controls, start, stop) -> f0 (Hz)` of the note in frames
      [start, stop).
    pick_amps_f: `(controls, start, stop) -> amplitude` of the note (called,
      but velocities are 127 as published).
    controls: dict of one example's controls (see the module doc).
    frame_rate: frames per second of the controls.

  Returns:
    A `note_seq.NoteSequence`: a note per run of on frames, pitch
    round(hz_to_midi(f0)), from start / frame_rate to stop / frame_rate
    seconds; `total_time` = n_frames / frame_rate.
  """
  note_seq = note_util.import_note_seq()
  frame_rate = validation.check_positive(frame_rate, 'frame_rate')
  binarize_f = _pick(binarize_f, 'binarize_f')
  pick_f0_f = _pick(pick_f0_f, 'pick_f0_f')
  pick_amps_f = _pick(pick_amps_f, 'pick_amps_f')
  on = np.asarray(binarize_f(controls), bool).reshape(-1)
  sequence = note_seq.NoteSequence()
  edges = np.diff(np.pad(on, 1).astype(np.int8))
  for start, stop in zip(np.flatnonzero(edges == 1),
                         np.flatnonzero(edges == -1)):
    f0 = pick_f0_f(controls, start=int(start), stop=int(stop))
    pick_amps_f(controls, start=int(start), stop=int(stop))
    note = sequence.notes.add()
    note.pitch = int(np.round(core.hz_to_midi(float(f0), use_tf=False)))
    note.start_time = start / frame_rate
    note.end_time = stop / frame_rate
    note.velocity = 127
  sequence.total_time = on.size / frame_rate
  return sequence


# ------------------------------------------------------------------------------
# pick_f0_f and pick_amps_f candidates.
# ------------------------------------------------------------------------------
@_register
def mean_f0(controls, start, stop):
  """Mean f0 (Hz) of frames [start, stop) of `controls['f0_hz']`."""
  return float(np.mean(_f0(controls)[start:stop]))


@_register
def median_f0(controls, start, stop):
  """Median f0 (Hz) of frames [start, stop) of `controls['f0_hz']`."""
  return float(np.median(_f0(controls)[start:stop]))


@_register
def median_amps(controls, start, stop):
  """Median harmonic amplitude of frames [start, stop)."""
  return float(np.median(_amplitudes(controls)[start:stop]))


# ------------------------------------------------------------------------------
# binarize_f candidates and their parts.
# ------------------------------------------------------------------------------
def remove_short(is_on_vec, min_samples=20, glue_back=False):
  """Removes note-on runs shorter than `min_samples` frames.

  Args:
    is_on_vec: [n_frames] bool, True where a note sounds.
    min_samples: shortest run kept, frames.
    glue_back: instead of turning a short run off, join it (and the gap
      before it) to the previous run; a short first run is turned off.

  Returns:
    A new [n_frames] bool array.

  Example:
    >>> on = np.array([1, 1, 1, 0, 1, 0, 0, 1, 1, 1], bool)
    >>> remove_short(on, 2).astype(int)
    array([1, 1, 1, 0, 0, 0, 0, 1, 1, 1])
    >>> remove_short(on, 2, glue_back=True).astype(int)
    array([1, 1, 1, 1, 1, 0, 0, 1, 1, 1])
  """
  on = np.asarray(is_on_vec, bool).reshape(-1).copy()
  edges = np.diff(np.pad(on, 1).astype(np.int8))
  prev_stop = None
  for start, stop in zip(np.flatnonzero(edges == 1),
                         np.flatnonzero(edges == -1)):
    if stop - start < min_samples:
      if glue_back and prev_stop is not None:
        on[prev_stop:stop] = True
      else:
        on[start:stop] = False
        continue
    prev_stop = stop
  return on


def pad_for_frame(vec, mode, frame_width, axis=0):
  """Pads so that `tf.signal.frame(padded, frame_width, 1)` has a frame per
  element, repeating the edge values.

  Args:
    vec: array to pad along `axis`.
    mode: 'front' (frame i ends at element i), 'center' (frame i is centred
      on element i; for an even width one more element before than after) or
      'end' (frame i starts at element i).
    frame_width: frame length.
    axis: axis to pad.

  Returns:
    The padded array, `frame_width - 1` longer along `axis`.

  Raises:
    ValueError: for another `mode`.

  Example:
    >>> pad_for_frame(np.array([1.5, 2.0, 3.5]), 'center', 3)
    array([1.5, 1.5, 2. , 3.5, 3.5])
  """
  frame_width = validation.check_positive_int(frame_width, 'frame_width')
  if mode == 'front':
    widths = (frame_width - 1, 0)
  elif mode == 'center':
    widths = (frame_width // 2, frame_width - frame_width // 2 - 1)
  elif mode == 'end':
    widths = (0, frame_width - 1)
  else:
    raise ValueError("`mode` must be 'front', 'center' or 'end'. "
                     f'Received: mode={mode!r}')
  vec = np.asarray(vec)
  pad = [(0, 0)] * vec.ndim
  pad[axis] = widths
  return np.pad(vec, pad, mode='edge')


def _frames(x, frame_width, pad_mode):
  """[n, frame_width] windows of 1-D x, one per element (see pad_for_frame)."""
  padded = pad_for_frame(x, pad_mode, frame_width)
  return np.lib.stride_tricks.sliding_window_view(padded, frame_width)


def _above_low_outliers(values, frame_width, num_devs, pad_mode):
  frames = _frames(values, frame_width, pad_mode)
  low = np.mean(frames, axis=-1) - num_devs * np.std(frames, axis=-1)
  return low < values


@_register
def amp_pooled_outliers(controls, frame_width=80, num_devs=2,
                        pad_mode='center'):
  """False where the log amplitude dips `num_devs` std below its neighbours.

  Args:
    controls: one example's controls, with the harmonic amplitudes.
    frame_width: neighbourhood, frames (80 = 0.32 s at 250 Hz).
    num_devs: standard deviations below the neighbourhood mean.
    pad_mode: neighbourhood placement (see `pad_for_frame`).

  Returns:
    [n_frames] bool, True where the amplitude is not a low outlier.
  """
  log_amps = np.log(_amplitudes(controls))
  return _above_low_outliers(log_amps, frame_width, num_devs, pad_mode)


@_register
def strided_freq_change(controls, frame_widths=(2, 4, 8, 16, 32),
                        pad_mode='front'):
  """False at note boundaries: f0 jumps > 0.75 semitone across a stride.

  For each stride w, frame t is a boundary when the f0 (MIDI) of the two
  ends of its w-frame window differ by more than 0.75 semitone, unless a
  boundary was already found in that window by a shorter stride. Unvoiced
  frames (f0 <= 0) are False too.

  Args:
    controls: one example's controls with 'f0_hz'.
    frame_widths: strides, frames.
    pad_mode: window placement (see `pad_for_frame`; 'front' windows end at
      t).

  Returns:
    [n_frames] bool, True where a note may sound.
  """
  f0 = _f0(controls)
  f0_midi = core.hz_to_midi(f0, use_tf=False)
  transitions = np.ones(f0.size, bool)
  for frame_width in frame_widths:
    frames = _frames(f0_midi, frame_width, pad_mode)
    changes = np.abs(frames[:, 0] - frames[:, -1]) > 0.75
    untouched = np.all(_frames(transitions, frame_width, pad_mode), axis=-1)
    transitions[untouched & changes] = False
  return transitions & (f0 > 0)


def _power_db(controls, n_frames, sample_rate, frame_rate, frame_size):
  if 'audio' not in controls:
    raise ValueError("power_pooled_outliers needs controls['audio']; the "
                     f'controls have keys {sorted(controls)}.')
  audio = _vector(controls['audio'], "controls['audio']").astype(np.float32)
  for padding in ('same', 'center'):
    length, _ = spectral_ops.get_framed_lengths(
        audio.size, frame_size, sample_rate / frame_rate, padding)
    if n_frames is None or length == n_frames:
      break
  else:
    raise ValueError(
        f'The audio ({audio.size} samples at {sample_rate} Hz) does not frame '
        f"to the f0's {n_frames} frames at {frame_rate} frames/s.")
  power = spectral_ops.compute_power(
      audio, sample_rate=sample_rate, frame_rate=frame_rate,
      frame_size=frame_size, range_db=POWER_RANGE_DB, padding=padding)
  return np.asarray(power, np.float64).reshape(-1) + POWER_RANGE_DB


@_register
def power_pooled_outliers(controls, frame_width=80, num_devs=2.5,
                          pad_mode='center', sample_rate=16000,
                          frame_rate=DDSP_DEFAULT_FRAME_RATE):
  """False where the audio's power dips `num_devs` std below its neighbours.

  The power of `controls['audio']` (`spectral_ops.compute_power`, frames of
  256 samples, floored at -120 dB and shifted by +120 dB) is framed like
  the f0 ('same' or 'center', whichever gives its number of frames).

  Args:
    controls: one example's controls with 'audio' [n_samples] (and 'f0_hz'
      to fix the number of frames).
    frame_width: neighbourhood, frames.
    num_devs: standard deviations below the neighbourhood mean.
    pad_mode: neighbourhood placement (see `pad_for_frame`).
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the controls.

  Returns:
    [n_frames] bool, True where the power is not a low outlier and above
    the -120 dB floor.
  """
  n_frames = _f0(controls).size if 'f0_hz' in controls else None
  power = _power_db(controls, n_frames, sample_rate, frame_rate, 256)
  return (_above_low_outliers(power, frame_width, num_devs, pad_mode) &
          (power > 0))


@_register
def midi_heuristic(controls):
  """Note-on frames from f0 changes and amplitude dips (runs >= 10 frames)."""
  return remove_short(
      strided_freq_change(controls) & amp_pooled_outliers(controls),
      min_samples=10)


@_register
def midi_heuristic_power(controls):
  """As `midi_heuristic`, with the audio's power instead of amplitudes."""
  return remove_short(
      strided_freq_change(controls) & power_pooled_outliers(controls),
      min_samples=10)


@registration.register('ddsp.training.heuristics', configurable=True)
def segment_notes_batch(binarize_f=None, pick_f0_f=None, pick_amps_f=None,
                        controls_batch=None,
                        frame_rate=DDSP_DEFAULT_FRAME_RATE):
  """Splits a batch of controls into notes, one NoteSequence per example.

  gin bindings apply to every call (`eval/heuristic.gin`,
  `eval/heuristic_power.gin`); arguments passed explicitly win.

  Args:
    binarize_f: see `segment_notes`; None: `midi_heuristic`.
    pick_f0_f: see `segment_notes`; None: `mean_f0`.
    pick_amps_f: see `segment_notes`; None: `median_amps`.
    controls_batch: dict of batched controls (the model's outputs).
    frame_rate: frames per second of the controls.

  Returns:
    A list of `note_seq.NoteSequence`, one per example.
  """
  if controls_batch is None:
    raise ValueError('`controls_batch` (a dict of batched controls) is '
                     'required.')
  return [segment_notes(binarize_f or midi_heuristic, pick_f0_f or mean_f0,
                        pick_amps_f or median_amps, controls,
                        frame_rate=frame_rate)
          for controls in unbatch(controls_batch)]
