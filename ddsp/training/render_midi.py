r"""Playing a trained model from MIDI: notes to f0 and loudness, then audio.

A model trained on one instrument (e.g. `models/solo_instrument.gin` through
`ddsp_run`) turns f0 and loudness curves into that instrument's sound. This
module writes those curves from a MIDI file instead of extracting them from
a recording:

1. read the notes, pitch bends (with the bend range a file sets through RPN
   0, else `pitch_bend_range`) and expression (CC 11) of every non-drum
   instrument (`read_midi`, with `pretty_midi`);
2. assign the notes to voices, monophonic lines (`allocate_voices`): a note
   goes to a voice that is free at its onset; a voice whose note ends less
   than `legato_overlap` seconds after the onset counts as free (the
   overlap of a legato line), and that note is cut at the onset;
3. per voice, frame by frame (`voice_features`): f0 = the note's pitch, plus
   pitch bend and optional vibrato, gliding (`glide` seconds, linear in
   pitch) into a note that starts while the previous one sounds (legato);
   held at the last pitch through rests, so releases keep their pitch.
   Loudness follows an attack / decay / sustain / release envelope in dB
   (`adsr_envelope`) between the training data's floor (its quietest
   loudness) and a peak set by the velocity: velocity 1 to 127 maps linearly
   onto the quantiles `velocity_quantiles` of the training data's note
   loudness (`velocity_to_db`), read from the dataset statistics saved with
   the model (`postprocessing.save_dataset_statistics(provider, model_dir)`,
   `dataset_statistics.json`);
4. render every voice with the model (voices are the batch), offline (one
   call over the whole piece) or through `inference.StreamingF0LoudnessModel`
   block by block (`streaming=True`), and mix them (sum; scaled to peak 0.99
   only if it would clip, with a warning).

The model is loaded through `ddsp.training.checkpoints` (operative config
and checkpoint of the training directory).

Usage:

    ddsp_render_midi --model_dir=/path/to/model --midi=song.mid \
      --output=song.wav [--streaming] [--vibrato_depth=20] [--glide=0.05]

or from Python:

    from ddsp.training.render_midi import render_midi
    result = render_midi('/path/to/model', 'song.mid', 'song.wav')
    result['n_voices']
"""

import collections
import logging
import os

import numpy as np

from ddsp import validation

__all__ = [
    'Note',
    'adsr_envelope',
    'allocate_voices',
    'console_entry_point',
    'notes_to_features',
    'read_midi',
    'render_midi',
    'velocity_to_db',
    'voice_features',
]

DB_RANGE = 80.0  # dB: loudness never goes below -DB_RANGE (spectral_ops).
DEFAULT_PITCH_BEND_RANGE = 2.0  # semitones, the General MIDI default.

Note = collections.namedtuple('Note', ['start', 'end', 'pitch', 'velocity',
                                       'instrument'])
Note.__doc__ = """A MIDI note: start and end (s), pitch (MIDI number),
velocity (1-127) and the index of its instrument in `read_midi`'s list."""


# ------------------------------------------------------------------------------
# Reading MIDI.
# ------------------------------------------------------------------------------
def _import_pretty_midi():
  try:
    import pretty_midi  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError('Reading MIDI needs `pretty_midi`: pip install '
                      '"ddsp[midi]" (or pip install pretty_midi).') from e
  return pretty_midi


def _bend_range_changes(control_changes, default):
  """[(time, semitones)] of the pitch-bend range set through RPN 0."""
  changes = [(0.0, float(default))]
  rpn = [None, None]  # (MSB from CC 101, LSB from CC 100)
  semitones, cents = float(default), 0.0
  for cc in sorted(control_changes, key=lambda c: c.time):
    if cc.number == 101:
      rpn[0] = cc.value
    elif cc.number == 100:
      rpn[1] = cc.value
    elif cc.number in (6, 38) and rpn == [0, 0]:
      if cc.number == 6:
        semitones, cents = float(cc.value), 0.0
      else:
        cents = float(cc.value)
      changes.append((float(cc.time), semitones + cents / 100.0))
  return changes


def _step_curve(events, default):
  """(times, values) of a step function (value `default` before events)."""
  times = np.array([0.0] + [t for t, _ in events], np.float64)
  values = np.array([default] + [v for _, v in events], np.float64)
  order = np.argsort(times, kind='stable')
  return times[order], values[order]


def read_midi(midi_path, pitch_bend_range=None):
  """Reads the notes, pitch bends and expression of a MIDI file.

  Args:
    midi_path: path of a Standard MIDI File (.mid).
    pitch_bend_range: semitones of a full pitch bend (bend value +-8192), or
      None for the range the file sets with RPN 0 (CC 101/100 = 0, then
      CC 6 semitones and CC 38 cents), else 2 (General MIDI).

  Returns:
    dict: 'notes' (list of `Note`, sorted by start then pitch, drums left
    out with a warning), 'instruments' (list of dicts per instrument with
    'name', 'program', 'is_drum', 'bend' (times [k] s, semitones [k]: a step
    function) and 'expression' (times [k] s, dB [k]: CC 11 as 40 log10(value
    / 127), 0 dB without CC 11)), and 'end_time' (s).

  Raises:
    FileNotFoundError: there is no such file.
    ValueError: the file cannot be read as MIDI, or holds no pitched note.

  Example:
    >>> import pretty_midi, tempfile
    >>> pm = pretty_midi.PrettyMIDI()
    >>> flute = pretty_midi.Instrument(program=73)
    >>> flute.notes.append(pretty_midi.Note(100, 69, 0.5, 1.0))
    >>> pm.instruments.append(flute)
    >>> path = tempfile.mkdtemp() + '/a.mid'
    >>> pm.write(path)
    >>> read_midi(path)['notes'][0].pitch
    69
  """
  pretty_midi = _import_pretty_midi()
  midi_path = os.fspath(midi_path)
  if not os.path.isfile(midi_path):
    raise FileNotFoundError(f'No MIDI file {midi_path!r}.')
  try:
    pm = pretty_midi.PrettyMIDI(midi_path)
  except Exception as e:  # pylint: disable=broad-except
    # pretty_midi and mido raise many types (OSError, EOFError, KeyError,
    # ValueError, IndexError, ...) for a file that is not MIDI.
    detail = ' '.join(str(e).split())[:200]
    raise ValueError(f'{midi_path!r} cannot be read as a MIDI file: '
                     f'{type(e).__name__}: {detail}') from None
  notes, instruments, drums = [], [], 0
  for index, inst in enumerate(pm.instruments):
    ranges = _bend_range_changes(inst.control_changes,
                                 DEFAULT_PITCH_BEND_RANGE)
    if pitch_bend_range is not None:
      ranges = [(0.0, float(pitch_bend_range))]
    range_times = np.array([t for t, _ in ranges])
    bends = []
    for bend in inst.pitch_bends:
      which = np.searchsorted(range_times, bend.time, side='right') - 1
      bends.append((float(bend.time),
                    bend.pitch / 8192.0 * ranges[max(which, 0)][1]))
    expression = [(float(c.time), 40.0 * np.log10(max(c.value, 1) / 127.0))
                  for c in inst.control_changes if c.number == 11]
    instruments.append({
        'name': inst.name, 'program': int(inst.program),
        'is_drum': bool(inst.is_drum),
        'bend': _step_curve(bends, 0.0),
        'expression': _step_curve(expression, 0.0)})
    if inst.is_drum:
      drums += len(inst.notes)
      continue
    for n in inst.notes:
      if n.end > n.start:
        notes.append(Note(float(n.start), float(n.end), int(n.pitch),
                          int(n.velocity), index))
  if drums:
    logging.warning('%s: %d drum notes left out (drums have no pitch to '
                    'play).', midi_path, drums)
  if not notes:
    raise ValueError(f'{midi_path!r} holds no pitched note to play.')
  notes.sort(key=lambda n: (n.start, n.pitch))
  return {'notes': notes, 'instruments': instruments,
          'end_time': max(n.end for n in notes)}


# ------------------------------------------------------------------------------
# Voices.
# ------------------------------------------------------------------------------
def allocate_voices(notes, legato_overlap=0.05):
  """Assigns notes to monophonic voices.

  Notes are taken by start time (then pitch); each goes to the voice that
  became free most recently (which keeps a melodic line on one voice), a new
  voice if none is free. A voice is free at an onset when its last note ends
  by then, or less than `legato_overlap` seconds later: that note is then
  cut at the onset (a legato overlap, not a chord). Notes of different
  instruments never share a voice.

  Args:
    notes: iterable of `Note` (or tuples start, end, pitch, velocity,
      instrument).
    legato_overlap: seconds, >= 0.

  Returns:
    List of voices, each a list of `Note` sorted by start, not overlapping.

  Example:
    >>> chord = [Note(0.0, 1.0, p, 100, 0) for p in (60, 64, 67)]
    >>> melody = [Note(1.0, 1.52, 72, 90, 0), Note(1.5, 2.0, 74, 90, 0)]
    >>> voices = allocate_voices(chord + melody)
    >>> len(voices), [[n.pitch for n in v] for v in voices]
    (3, [[60, 72, 74], [64], [67]])
  """
  validation.check_in_range(legato_overlap, 'legato_overlap', 0.0)
  notes = sorted((Note(*n) for n in notes), key=lambda n: (n.start, n.pitch))
  voices = []
  for note in notes:
    free = [i for i, v in enumerate(voices)
            if v[-1].instrument == note.instrument
            and v[-1].end < note.start + legato_overlap + 1e-9
            and v[-1].start < note.start]
    if not free:
      voices.append([note])
      continue
    # The voice free most recently; ties: the lowest index.
    best = max(free, key=lambda i: (min(voices[i][-1].end, note.start), -i))
    last = voices[best][-1]
    if last.end > note.start:
      voices[best][-1] = last._replace(end=note.start)
    voices[best].append(note)
  return voices


# ------------------------------------------------------------------------------
# Curves.
# ------------------------------------------------------------------------------
def adsr_envelope(times, start, end, peak_db, floor_db, attack=0.02,
                  decay=0.1, sustain_db=3.0, release=0.1, start_db=None):
  """A note's loudness envelope in dB: attack, decay, sustain, release.

  Piecewise linear in dB: from `start_db` (default `floor_db`) at `start` up
  to `peak_db` in `attack` seconds, down by `sustain_db` in `decay` seconds,
  held to `end`, then from the level reached at `end` down to `floor_db` in
  `release` seconds. A note shorter than its attack and decay releases from
  where it got. `floor_db` before `start` and after the release.

  Args:
    times: [n] seconds.
    start: note onset, s.
    end: note offset (release starts), s; >= start.
    peak_db: level at the end of the attack, dB.
    floor_db: silence level, dB (e.g. -80).
    attack: seconds, >= 0 (0: a step).
    decay: seconds, >= 0.
    sustain_db: dB below the peak after the decay, >= 0.
    release: seconds, >= 0.
    start_db: level at the onset (a legato note starts where the previous
      one is), or None for `floor_db`.

  Returns:
    [n] float64, dB.

  Example:
    >>> adsr_envelope([0.0, 0.01, 0.02, 0.07, 0.5, 0.55, 2.0], 0.0, 0.5,
    ...               -20.0, -80.0, attack=0.02, decay=0.1, sustain_db=4.0,
    ...               release=0.1).round(2).tolist()
    [-80.0, -50.0, -20.0, -22.0, -24.0, -52.0, -80.0]
  """
  for value, name in ((attack, 'attack'), (decay, 'decay'),
                      (sustain_db, 'sustain_db'), (release, 'release')):
    validation.check_in_range(value, name, 0.0)
  if end < start:
    raise ValueError(f'`end` must be >= `start`. Received: start={start}, '
                     f'end={end}')
  t = np.asarray(times, np.float64)
  start_db = floor_db if start_db is None else float(start_db)
  sustain = peak_db - sustain_db

  def held(x):
    """Attack, decay, sustain at times x (s after the onset)."""
    rise = np.clip(x / attack, 0.0, 1.0) if attack > 0 else np.ones_like(x)
    fall = (np.clip((x - attack) / decay, 0.0, 1.0) if decay > 0
            else (x >= attack).astype(np.float64))
    return np.where(x < attack, start_db + (peak_db - start_db) * rise,
                    peak_db - (peak_db - sustain) * fall)

  level_at_end = float(held(np.array([end - start]))[0])
  x = t - start
  out = held(x)
  after = t >= end
  if release > 0:
    frac = np.clip((t - end) / release, 0.0, 1.0)
  else:
    frac = (t > end).astype(np.float64)
  out = np.where(after, level_at_end + (floor_db - level_at_end) * frac, out)
  out = np.where(t < start, floor_db, out)
  return out


def velocity_to_db(velocity, dataset_stats=None, velocity_quantiles=(0.1,
                                                                     0.95),
                   loudness_key='loudness'):
  """The peak loudness of a note from its velocity and the training data.

  Velocity 1 to 127 maps linearly onto the quantiles `velocity_quantiles`
  of the training data's note loudness: through the statistics' fitted
  'quantile_transform' when it has one (and `loudness_key` is 'loudness'),
  else linearly between `mean_min_<key>_note` and `mean_max_<key>_note`.
  Without statistics: linearly from -60 dB (velocity 0) to -10 dB (127).

  Args:
    velocity: int or array, 1-127.
    dataset_stats: dict of `postprocessing.compute_dataset_statistics`, or
      None.
    velocity_quantiles: (low, high) in [0, 1], the quantiles of velocities 1
      and 127.
    loudness_key: 'loudness' (dB, A-weighted) or 'power' (for models with a
      power input).

  Returns:
    float64 array of the shape of `velocity`, dB.

  Example:
    >>> velocity_to_db([0, 127]).tolist()
    [-60.0, -10.0]
  """
  v = np.asarray(velocity, np.float64)
  if np.any((v < 0) | (v > 127)):
    raise ValueError('`velocity` must be in [0, 127]. Received: '
                     f'{v.min()} to {v.max()}')
  lo, hi = velocity_quantiles
  validation.check_in_range(lo, 'velocity_quantiles[0]', 0.0, 1.0)
  validation.check_in_range(hi, 'velocity_quantiles[1]', lo, 1.0)
  if dataset_stats is None:
    return -60.0 + 50.0 * v / 127.0
  q = lo + (hi - lo) * np.clip((v - 1.0) / 126.0, 0.0, 1.0)
  qt = dataset_stats.get('quantile_transform')
  if qt is not None and loudness_key == 'loudness':
    positions = q
    if getattr(qt, 'output_distribution', 'uniform') == 'normal':
      from scipy import stats  # pylint: disable=g-import-not-at-top
      positions = stats.norm.ppf(q)
    out = qt.inverse_transform(np.reshape(positions, [-1, 1]))[:, 0]
    return np.reshape(out, v.shape).astype(np.float64)
  low = dataset_stats.get(f'mean_min_{loudness_key}_note')
  high = dataset_stats.get(f'mean_max_{loudness_key}_note')
  if low is None or high is None:
    raise ValueError(f'`dataset_stats` has no mean_min_{loudness_key}_note / '
                     f'mean_max_{loudness_key}_note (nor a quantile '
                     f'transform). Keys: {sorted(dataset_stats)}')
  return low + (high - low) * q


def _floor_db(dataset_stats, loudness_key='loudness'):
  if dataset_stats is None:
    return -DB_RANGE
  value = dataset_stats.get(f'min_{loudness_key}')
  return -DB_RANGE if value is None else max(float(value), -DB_RANGE)


def _curve_at(curve, times):
  """Values of a step function (times, values) at `times`."""
  knots, values = curve
  index = np.searchsorted(knots, times, side='right') - 1
  return values[np.clip(index, 0, len(values) - 1)]


def voice_features(notes, n_frames, frame_rate, peak_db, floor_db,
                   bend=None, expression=None, attack=0.02, decay=0.1,
                   sustain_db=3.0, release=0.1, glide=0.05,
                   legato_gap=0.0, vibrato_rate=5.5, vibrato_depth=0.0,
                   vibrato_delay=0.2, transpose=0.0):
  """f0 and loudness frames of one monophonic voice.

  Frame i is at time i / frame_rate. The f0 of a frame is the pitch of the
  note last started (the first note's before it), plus `transpose`, the
  pitch bend, and vibrato (a sine of `vibrato_depth` cents, `vibrato_rate`
  Hz, phase 0 at `vibrato_delay` s after the onset, none before), in MIDI
  units, then Hz. A note starting at most `legato_gap` s after the previous
  one ends is legato: its pitch glides linearly from the previous pitch in
  `glide` s. The loudness is the `adsr_envelope` of the note last started,
  its attack starting from the level the previous note's envelope has at the
  onset (continuous), plus `expression`, at least `floor_db`.

  Args:
    notes: list of `Note` of one voice, sorted, not overlapping.
    n_frames: int, frames to write.
    frame_rate: frames per second.
    peak_db: [len(notes)] dB, each note's peak (see `velocity_to_db`).
    floor_db: silence, dB.
    bend: (times, semitones) step function, or None.
    expression: (times, dB) step function, or None.
    attack, decay, sustain_db, release: see `adsr_envelope`.
    glide: seconds of a legato pitch glide (0: a jump).
    legato_gap: seconds between notes that still count as legato.
    vibrato_rate: Hz.
    vibrato_depth: cents (peak deviation), 0 for none.
    vibrato_delay: seconds after an onset before the vibrato starts.
    transpose: semitones added to every note.

  Returns:
    (f0_hz, loudness_db): [n_frames] float32 each, Hz and dB.

  Example:
    >>> f0, ld = voice_features([Note(0.0, 0.5, 69, 100, 0)], 250, 250.0,
    ...                         [-20.0], -80.0)
    >>> float(f0[100]), round(float(ld[100]), 1)
    (440.0, -23.0)
  """
  from ddsp import core  # pylint: disable=g-import-not-at-top
  n_frames = validation.check_positive_int(n_frames, 'n_frames')
  validation.check_positive(frame_rate, 'frame_rate')
  for value, name in ((glide, 'glide'), (legato_gap, 'legato_gap'),
                      (vibrato_depth, 'vibrato_depth'),
                      (vibrato_rate, 'vibrato_rate'),
                      (vibrato_delay, 'vibrato_delay')):
    validation.check_in_range(value, name, 0.0)
  if len(peak_db) != len(notes) or not notes:
    raise ValueError('`peak_db` must have one value per note (and there must '
                     f'be notes). Received: {len(peak_db)} values for '
                     f'{len(notes)} notes')
  t = np.arange(n_frames, dtype=np.float64) / frame_rate
  midi = np.full(n_frames, float(notes[0].pitch))
  loudness = np.full(n_frames, float(floor_db))
  vibrato = np.zeros(n_frames)
  previous = previous_start_db = None
  envelope = dict(attack=attack, decay=decay, sustain_db=sustain_db,
                  release=release)
  for k, note in enumerate(notes):
    following = notes[k + 1].start if k + 1 < len(notes) else np.inf
    frames = (t >= note.start) & (t < following)
    x = t[frames] - note.start
    pitch = np.full(x.shape, float(note.pitch))
    start_db = None
    if previous is not None:
      # The attack starts where the previous note's release has got to.
      start_db = float(adsr_envelope(
          [note.start], previous.start, previous.end, peak_db[k - 1],
          floor_db, start_db=previous_start_db, **envelope)[0])
      if note.start - previous.end <= legato_gap + 1e-9 and glide > 0:
        w = np.clip(x / glide, 0.0, 1.0)
        pitch = previous.pitch + (note.pitch - previous.pitch) * w
    midi[frames] = pitch
    loudness[frames] = adsr_envelope(t[frames], note.start, note.end,
                                     peak_db[k], floor_db, start_db=start_db,
                                     **envelope)
    vx = x - vibrato_delay
    vibrato[frames] = np.where(
        vx >= 0, vibrato_depth / 100.0 * np.sin(2 * np.pi * vibrato_rate * vx),
        0.0)
    previous, previous_start_db = note, start_db
  if bend is not None:
    midi = midi + _curve_at(bend, t)
  if expression is not None:
    loudness = np.maximum(loudness + _curve_at(expression, t), floor_db)
  midi = midi + transpose + vibrato
  f0_hz = core.midi_to_hz(midi).numpy()
  return f0_hz.astype(np.float32), loudness.astype(np.float32)


def notes_to_features(midi, frame_rate, dataset_stats=None, n_frames=None,
                      tail=0.5, legato_overlap=0.05,
                      velocity_quantiles=(0.1, 0.95), loudness_key='loudness',
                      expression=True, **curve_kwargs):
  """f0 and loudness frames of every voice of a MIDI file.

  Args:
    midi: a path of a MIDI file, or the dict `read_midi` returns.
    frame_rate: frames per second of the model.
    dataset_stats: the training data's statistics, or None (see
      `velocity_to_db`); they set each note's peak and the floor
      (`min_<loudness_key>`, at least -80 dB).
    n_frames: frames to write, or None for the end of the last note plus its
      release plus `tail` seconds.
    tail: seconds after the last release (room for a reverb tail).
    legato_overlap: see `allocate_voices`.
    velocity_quantiles: see `velocity_to_db`.
    loudness_key: 'loudness' or 'power' (the model's input).
    expression: apply CC 11 expression (in dB) to the loudness.
    **curve_kwargs: `voice_features` arguments (attack, decay, sustain_db,
      release, glide, legato_gap, vibrato_rate, vibrato_depth,
      vibrato_delay, transpose).

  Returns:
    dict: 'f0_hz' and 'loudness_db' ([n_voices, n_frames] float32, Hz and
    dB), 'voices' (the `allocate_voices` list), 'n_voices', 'n_frames',
    'floor_db'.

  Example:
    >>> song = {'notes': [Note(0.0, 0.5, p, 100, 0) for p in (60, 67)],
    ...         'instruments': [{'bend': None, 'expression': None}],
    ...         'end_time': 0.5}
    >>> features = notes_to_features(song, 250)
    >>> features['f0_hz'].shape, features['n_voices']
    ((2, 275), 2)
  """
  if not isinstance(midi, dict):
    midi = read_midi(midi)
  validation.check_positive(frame_rate, 'frame_rate')
  validation.check_in_range(tail, 'tail', 0.0)
  release = curve_kwargs.get('release', 0.1)
  if n_frames is None:
    n_frames = int(np.ceil((midi['end_time'] + release + tail) * frame_rate))
  n_frames = validation.check_positive_int(n_frames, 'n_frames')
  floor_db = _floor_db(dataset_stats, loudness_key)
  voices = allocate_voices(midi['notes'], legato_overlap=legato_overlap)
  f0s, louds = [], []
  for voice in voices:
    inst = midi['instruments'][voice[0].instrument]
    peak_db = velocity_to_db([n.velocity for n in voice], dataset_stats,
                             velocity_quantiles, loudness_key)
    f0, ld = voice_features(
        voice, n_frames, frame_rate, peak_db, floor_db, bend=inst['bend'],
        expression=inst['expression'] if expression else None,
        **curve_kwargs)
    f0s.append(f0)
    louds.append(ld)
  return {'f0_hz': np.stack(f0s), 'loudness_db': np.stack(louds),
          'voices': voices, 'n_voices': len(voices), 'n_frames': n_frames,
          'floor_db': floor_db}


# ------------------------------------------------------------------------------
# Rendering.
# ------------------------------------------------------------------------------
def _probe_model(model_dir, checkpoint):
  """Parses the model's config; returns its layout (before building it)."""
  from ddsp.training import checkpoints  # pylint: disable=g-import-not-at-top
  from ddsp.training import preprocessing  # pylint: disable=g-import-not-at-top
  checkpoints.get_latest_checkpoint(checkpoint or model_dir)
  config_path, _ = checkpoints.parse_operative_config(model_dir)
  model = checkpoints.get_model()
  if getattr(model, 'encoder', None) is not None:
    raise ValueError(
        f'The model of {model_dir!r} has an encoder '
        f'({type(model.encoder).__name__}) that needs audio: rendering MIDI '
        'needs a model that takes f0 and loudness only (e.g. '
        'models/solo_instrument.gin).')
  preprocessor = getattr(model, 'preprocessor', None)
  if isinstance(preprocessor, preprocessing.F0PowerPreprocessor):
    key = 'power'
  elif preprocessor is None or isinstance(
      preprocessor, preprocessing.F0LoudnessPreprocessor):
    key = 'loudness'
  else:
    raise ValueError(
        f'The model of {model_dir!r} has a {type(preprocessor).__name__}: '
        'rendering MIDI needs an F0LoudnessPreprocessor or an '
        'F0PowerPreprocessor (f0 and loudness or power in).')
  sample_rate, frame_rate = checkpoints.model_rates(model)
  return {'loudness_key': key, 'sample_rate': sample_rate,
          'frame_rate': frame_rate, 'hop': checkpoints.model_hop(model),
          'config_path': config_path}


def _statistics(model_dir, dataset_stats):
  # pylint: disable-next=g-import-not-at-top
  from ddsp.training import postprocessing
  if isinstance(dataset_stats, dict):
    return dataset_stats
  if dataset_stats is not None:
    return postprocessing.load_dataset_statistics(dataset_stats)
  try:
    return postprocessing.load_dataset_statistics(model_dir)
  except FileNotFoundError:
    logging.warning(
        'No dataset statistics in %s (write them at training time with '
        'postprocessing.save_dataset_statistics(provider, model_dir)): '
        'velocity maps to -60..-10 dB and silence is -80 dB.', model_dir)
    return None


def _inputs(features, loudness_key):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  f0 = tf.constant(features['f0_hz'][..., np.newaxis])
  ld = tf.constant(features['loudness_db'][..., np.newaxis])
  return {'f0_hz': f0, 'f0_confidence': tf.ones_like(f0),
          f'{loudness_key}_db': ld}


def _render_offline(model_dir, checkpoint, features, layout):
  from ddsp.training import checkpoints  # pylint: disable=g-import-not-at-top
  inputs = _inputs(features, layout['loudness_key'])
  model, prefix, _ = checkpoints.load_model(
      model_dir, n_frames=features['n_frames'], checkpoint=checkpoint,
      inputs=inputs)
  outputs = model(inputs, training=False)
  audio = np.asarray(model.get_audio_from_outputs(outputs), np.float32)
  return audio, prefix, None


def _render_streaming(model_dir, checkpoint, features, layout, block_size):
  # pylint: disable=g-import-not-at-top
  from ddsp.training import checkpoints
  from ddsp.training import inference
  # pylint: enable=g-import-not-at-top
  model, prefix, _ = checkpoints.load_model(model_dir, checkpoint=checkpoint)
  streamer = inference.StreamingF0LoudnessModel(
      model, block_size=block_size, batch_size=features['n_voices'])
  per_block = streamer.frames_per_block
  n_frames = features['n_frames']
  n_samples = n_frames * layout['hop']
  # Enough blocks to cover the render plus the stream's latency; the frames
  # after the end hold the last values.
  n_blocks = -(-(n_samples + streamer.latency) // block_size)
  total = n_blocks * per_block
  pad = [(0, 0), (0, total - n_frames)]
  f0 = np.pad(features['f0_hz'], pad, mode='edge')[..., np.newaxis]
  ld = np.pad(features['loudness_db'], pad, mode='edge')[..., np.newaxis]
  blocks = []
  for b in range(n_blocks):
    frames = slice(b * per_block, (b + 1) * per_block)
    blocks.append(np.asarray(streamer(f0[:, frames], ld[:, frames])))
  audio = np.concatenate(blocks, axis=1)
  audio = audio[:, streamer.latency:streamer.latency + n_samples]
  return audio, prefix, streamer.latency


def render_midi(model_dir, midi_path, output_path=None, streaming=False,
                block_size=256, dataset_stats=None, checkpoint=None,
                pitch_bend_range=None, legato_overlap=0.05,
                velocity_quantiles=(0.1, 0.95), expression=True, tail=0.5,
                attack=0.02, decay=0.1, sustain_db=3.0, release=0.1,
                glide=0.05, legato_gap=0.0, vibrato_rate=5.5,
                vibrato_depth=0.0, vibrato_delay=0.2, transpose=0.0):
  """Renders a MIDI file with a trained f0/loudness model.

  Every voice (see `allocate_voices`) is rendered by the model, as one batch,
  and the voices are summed. The mix is scaled to a peak of 0.99 only if it
  would clip (with a warning). The model's operative config is parsed into
  the global gin config (on top of it, as every loader does).

  Args:
    model_dir: the training directory (checkpoints and
      `operative_config-<step>.gin`; `dataset_statistics.json` if saved).
    midi_path: MIDI file.
    output_path: audio file to write (.wav, .flac) at the model's rate, or
      None.
    streaming: render through `inference.StreamingF0LoudnessModel` in blocks
      of `block_size` samples (as a real-time host would) instead of one
      offline call; the stream's latency is removed.
    block_size: samples per streaming block, a multiple of the model's hop.
    dataset_stats: statistics dict or file, or None for the model's
      `dataset_statistics.json` (without one: a warning and fixed levels).
    checkpoint: a checkpoint prefix instead of the newest readable one.
    pitch_bend_range: semitones of a full bend, or None (the file's RPN 0,
      else 2).
    legato_overlap: see `allocate_voices`.
    velocity_quantiles: see `velocity_to_db`.
    expression: apply CC 11.
    tail: seconds rendered after the last release.
    attack, decay, sustain_db, release: see `adsr_envelope` (s, s, dB, s).
    glide, legato_gap, vibrato_rate, vibrato_depth, vibrato_delay,
      transpose: see `voice_features`.

  Returns:
    dict: 'audio' ([n_samples] float32, the mix as written), 'voice_audio'
    ([n_voices, n_samples] before mixing), 'n_voices', 'voices' (lists of
    `Note`), 'features' (see `notes_to_features`), 'sample_rate',
    'frame_rate', 'latency' (samples removed from the stream, None offline),
    'checkpoint', 'output_path'.

  Raises:
    FileNotFoundError: no model directory, checkpoint, config or MIDI file.
    ValueError: the MIDI file is unreadable or empty, the checkpoint does
      not fit the model of the config, the model needs audio (an encoder), or
      an argument is out of range.
  """
  validation.check_positive_int(block_size, 'block_size')
  model_dir = os.path.expanduser(os.fspath(model_dir))
  if not os.path.isdir(model_dir):
    raise FileNotFoundError(f'No model directory {model_dir!r}.')
  midi = read_midi(midi_path, pitch_bend_range=pitch_bend_range)
  layout = _probe_model(model_dir, checkpoint)
  if streaming:
    validation.check_divisible(block_size, layout['hop'], 'block_size',
                               'hop')
  stats = _statistics(model_dir, dataset_stats)
  features = notes_to_features(
      midi, layout['frame_rate'], dataset_stats=stats, tail=tail,
      legato_overlap=legato_overlap, velocity_quantiles=velocity_quantiles,
      loudness_key=layout['loudness_key'], expression=expression,
      attack=attack, decay=decay, sustain_db=sustain_db, release=release,
      glide=glide, legato_gap=legato_gap, vibrato_rate=vibrato_rate,
      vibrato_depth=vibrato_depth, vibrato_delay=vibrato_delay,
      transpose=transpose)
  logging.info('%s: %d notes on %d voices, %.2f s.', midi_path,
               len(midi['notes']), features['n_voices'],
               features['n_frames'] / layout['frame_rate'])
  if streaming:
    voice_audio, prefix, latency = _render_streaming(
        model_dir, checkpoint, features, layout, block_size)
  else:
    voice_audio, prefix, latency = _render_offline(
        model_dir, checkpoint, features, layout)
  audio = np.sum(voice_audio, axis=0).astype(np.float32)
  peak = float(np.max(np.abs(audio))) if audio.size else 0.0
  if peak > 0.99:
    logging.warning('The mix peaks at %.2f: scaled to 0.99 to avoid '
                    'clipping.', peak)
    audio *= 0.99 / peak
  if output_path is not None:
    import soundfile  # pylint: disable=g-import-not-at-top
    output_path = os.fspath(output_path)
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    soundfile.write(output_path, audio, int(layout['sample_rate']))
  return {'audio': audio, 'voice_audio': voice_audio,
          'n_voices': features['n_voices'], 'voices': features['voices'],
          'features': features, 'sample_rate': layout['sample_rate'],
          'frame_rate': layout['frame_rate'], 'latency': latency,
          'checkpoint': prefix, 'output_path': output_path}


# ------------------------------------------------------------------------------
# Command line.
# ------------------------------------------------------------------------------
def _define_flags():
  """Defines the command-line flags (once)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  if 'midi' in flags.FLAGS and 'vibrato_depth' in flags.FLAGS:
    return flags.FLAGS
  flags.DEFINE_string('model_dir', None, 'Directory of the trained model '
                      '(checkpoints and operative_config-*.gin).')
  flags.DEFINE_string('midi', None, 'MIDI file to play.')
  flags.DEFINE_string('output', None, 'Audio file to write (.wav, .flac).')
  flags.DEFINE_boolean('streaming', False, 'Render through the streaming '
                       'model block by block instead of offline.')
  flags.DEFINE_integer('block_size', 256, 'Samples per streaming block.')
  flags.DEFINE_string('dataset_stats', None, 'Statistics file of the training '
                      'data; default: dataset_statistics.json in model_dir.')
  flags.DEFINE_string('checkpoint', None, 'Checkpoint prefix to use instead '
                      'of the latest one in model_dir.')
  flags.DEFINE_float('pitch_bend_range', None, 'Semitones of a full pitch '
                     'bend; default: as the file sets (RPN 0), else 2.')
  flags.DEFINE_float('legato_overlap', 0.05, 'Seconds two notes may overlap '
                     'and still be one voice (legato).')
  flags.DEFINE_boolean('expression', True, 'Apply CC 11 expression.')
  flags.DEFINE_float('attack', 0.02, 'Attack, s.')
  flags.DEFINE_float('decay', 0.1, 'Decay, s.')
  flags.DEFINE_float('sustain_db', 3.0, 'Sustain level, dB below the peak.')
  flags.DEFINE_float('release', 0.1, 'Release, s.')
  flags.DEFINE_float('glide', 0.05, 'Pitch glide between legato notes, s.')
  flags.DEFINE_float('vibrato_rate', 5.5, 'Vibrato rate, Hz.')
  flags.DEFINE_float('vibrato_depth', 0.0, 'Vibrato depth, cents (0: none).')
  flags.DEFINE_float('vibrato_delay', 0.2, 'Seconds after an onset before '
                     'the vibrato starts.')
  flags.DEFINE_float('transpose', 0.0, 'Semitones added to every note.')
  return flags.FLAGS


def _main(argv):
  import sys  # pylint: disable=g-import-not-at-top
  from absl import app  # pylint: disable=g-import-not-at-top
  flags_ = _define_flags()
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  for name in ('model_dir', 'midi', 'output'):
    if not flags_[name].value:
      raise app.UsageError(f'--{name} is required.')
  try:
    result = render_midi(
        flags_.model_dir, flags_.midi, flags_.output,
        streaming=flags_.streaming, block_size=flags_.block_size,
        dataset_stats=flags_.dataset_stats, checkpoint=flags_.checkpoint,
        pitch_bend_range=flags_.pitch_bend_range,
        legato_overlap=flags_.legato_overlap, expression=flags_.expression,
        attack=flags_.attack, decay=flags_.decay,
        sustain_db=flags_.sustain_db, release=flags_.release,
        glide=flags_.glide, vibrato_rate=flags_.vibrato_rate,
        vibrato_depth=flags_.vibrato_depth,
        vibrato_delay=flags_.vibrato_delay, transpose=flags_.transpose)
  except (FileNotFoundError, ValueError) as e:
    print(f'ddsp_render_midi: error: {e}', file=sys.stderr)
    sys.exit(1)
  notes = sum(len(v) for v in result['voices'])
  seconds = len(result['audio']) / result['sample_rate']
  how = (f'streaming, latency {result["latency"]} samples removed'
         if flags_.streaming else 'offline')
  print(f'{notes} notes on {result["n_voices"]} voices ({how}).')
  print(f'Wrote {result["output_path"]} ({seconds:.2f} s at '
        f'{result["sample_rate"]} Hz).')


def console_entry_point():
  """The `ddsp_render_midi` command."""
  from absl import app  # pylint: disable=g-import-not-at-top
  _define_flags()
  app.run(_main)


if __name__ == '__main__':
  console_entry_point()
