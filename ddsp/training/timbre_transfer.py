r"""Timbre transfer: resynthesize any recording with a trained model.

A model trained on one instrument (e.g. with `ddsp_run` and
`models/solo_instrument.gin`) turns f0 and loudness curves into that
instrument's sound. Timbre transfer feeds it the curves of another recording
(a voice, another instrument):

1. read the audio (any format and sample rate that data preparation reads,
   mixed to mono and resampled to the model's rate),
2. extract CREPE f0 / confidence and A-weighted loudness, framed as the
   training data was,
3. adjust them to the model (`adjust_features`): shift the pitch into the
   training register (whole octaves towards the training data's mean note
   pitch, or `pitch_shift` semitones), map the loudness of the notes onto the
   training data's loudness distribution (quantile matching, or
   `loudness_shift` dB) and turn down what lies between notes; optionally
   auto-tune,
4. rebuild the model from the operative gin config in the model directory
   with its lengths set to the input's, restore the latest checkpoint and
   resynthesize,
5. write the audio, and a PNG with the input and output spectrograms, f0 and
   loudness curves.

The training data's statistics are read from `dataset_statistics.json` (or
`.pkl`) in the model directory, written at training time with
`postprocessing.save_dataset_statistics(provider, model_dir)` (the main job,
`scripts/main_job.sh`, does this). Without that file they are computed from
the training TFRecords named by the operative config, when those exist;
otherwise no automatic adjustment is made.

Usage:

    ddsp_timbre_transfer --model_dir=/path/to/model --input=voice.wav \
      --output=violin.wav --plot=violin.png [--pitch_shift=SEMITONES] \
      [--loudness_shift=DB] [--autotune=0..1]

or from Python:

    from ddsp.training.timbre_transfer import timbre_transfer
    result = timbre_transfer('/path/to/model', 'voice.wav', 'violin.wav',
                             plot_path='violin.png')
"""

import logging
import math
import os

import numpy as np

from ddsp import validation
from ddsp.training import rates

__all__ = [
    'adjust_features',
    'console_entry_point',
    'load_model',
    'plot_timbre_transfer',
    'timbre_transfer',
    'transfer_metrics',
]

DB_RANGE = 80.0  # dB, the loudness floor is -DB_RANGE (spectral_ops.DB_RANGE).


# ------------------------------------------------------------------------------
# Feature adjustment.
# ------------------------------------------------------------------------------
def _target_mean_pitch(dataset_stats):
  for key in ('mean_pitch_note', 'mean_pitch'):
    if key in dataset_stats:
      return float(dataset_stats[key])
  raise ValueError('`dataset_stats` has no mean pitch (`mean_pitch_note` or '
                   f'`mean_pitch`). Received keys: {sorted(dataset_stats)}')


def adjust_features(features, dataset_stats=None, pitch_shift=None,
                    loudness_shift=None, autotune=0.0, quiet=20.0,
                    note_threshold=1.0):
  """Moves f0 and loudness into a model's training range.

  Args:
    features: dict of [n_frames] (or [batch, n_frames]) float arrays:
      'f0_hz' (Hz), 'f0_confidence' (0 to 1) and 'loudness_db' (dB, -80 to 0).
    dataset_stats: the training data's statistics
      (`postprocessing.compute_dataset_statistics`), or None. Needed for the
      automatic pitch shift and the quantile loudness matching.
    pitch_shift: semitones to shift f0 by (12 = one octave up), or None for
      automatic: the whole number of octaves that brings the mean pitch of the
      input's notes nearest to the training data's mean note pitch (0 without
      `dataset_stats`).
    loudness_shift: dB to add to the loudness of every frame, or None for
      automatic: the loudness of the note frames is mapped through quantiles
      onto the training data's note loudness, and frames between notes are
      turned down by up to `quiet` dB (unchanged without `dataset_stats`).
    autotune: in [0, 1], how far to pull f0 towards the nearest note of the
      inferred major scale (0 = not at all, 1 = fully).
    quiet: dB by which automatic loudness matching turns down frames that hold
      no note (scaled by how far below the note threshold they are).
    note_threshold: `postprocessing.detect_notes` threshold; higher keeps only
      louder, more confidently pitched frames as notes.

  Returns:
    (adjusted, info): `adjusted` is a new dict with 'f0_hz' and 'loudness_db'
    replaced (loudness floored at -80 dB, other keys copied); `info` is
    a dict with 'pitch_shift' (semitones applied), 'loudness' ('quantile',
    'shift' or 'none'), 'loudness_shift' (dB or None), 'mask_on' (bool array,
    the note frames), 'tuning_factor' (semitones, or None without autotune)
    and 'autotune'.

  Raises:
    ValueError: for missing features or out-of-range arguments.

  Example:
    >>> f = {'f0_hz': np.full(500, 110.0), 'f0_confidence': np.ones(500),
    ...      'loudness_db': np.full(500, -30.0)}
    >>> adjusted, info = adjust_features(f, pitch_shift=12.0,
    ...                                  loudness_shift=-6.0)
    >>> float(adjusted['f0_hz'][0]), float(adjusted['loudness_db'][0])
    (220.0, -36.0)
  """
  from ddsp.training import postprocessing  # pylint: disable=g-import-not-at-top
  _check_adjust_arguments(features, autotune, quiet, note_threshold,
                          pitch_shift, loudness_shift)
  f0_confidence = np.asarray(features['f0_confidence'], np.float32)
  loudness_db = np.asarray(features['loudness_db'], np.float32)
  mask_on, note_on_ratio = postprocessing.detect_notes(
      loudness_db, f0_confidence, note_threshold=note_threshold)
  has_notes = bool(np.any(mask_on))
  if not has_notes:
    logging.warning('No note detected in the input (all frames are quiet or '
                    'unpitched): no automatic pitch or loudness adjustment.')
  if dataset_stats is not None and not has_notes:
    dataset_stats = None  # Nothing to match.

  pitch_shift = _pitch_shift(features['f0_hz'], mask_on, dataset_stats,
                             pitch_shift)
  adjusted = postprocessing.shift_f0(dict(features), pitch_shift / 12.0)
  loudness_mode, applied_shift, new_db = _adjust_loudness(
      loudness_db, mask_on, note_on_ratio, dataset_stats, loudness_shift,
      quiet, note_threshold)
  # Floor only: loud recordings (and training data) exceed 0 dB.
  adjusted['loudness_db'] = np.maximum(new_db, -DB_RANGE).astype(np.float32)
  tuning_factor = None
  if autotune > 0:
    adjusted['f0_hz'], tuning_factor = _autotune(
        adjusted['f0_hz'], f0_confidence, mask_on, autotune)

  info = {'pitch_shift': pitch_shift, 'loudness': loudness_mode,
          'loudness_shift': applied_shift, 'mask_on': mask_on,
          'tuning_factor': tuning_factor, 'autotune': float(autotune)}
  return adjusted, info


def _check_adjust_arguments(features, autotune, quiet, note_threshold,
                            pitch_shift, loudness_shift):
  missing = {'f0_hz', 'f0_confidence', 'loudness_db'} - set(features)
  if missing:
    raise ValueError(f'`features` lacks {sorted(missing)}. Received keys: '
                     f'{sorted(features)}')
  validation.check_in_range(autotune, 'autotune', 0.0, 1.0)
  validation.check_in_range(quiet, 'quiet', 0.0)
  validation.check_positive(note_threshold, 'note_threshold')
  if pitch_shift is not None:
    validation.check_in_range(pitch_shift, 'pitch_shift', -60.0, 60.0)
  if loudness_shift is not None:
    validation.check_in_range(loudness_shift, 'loudness_shift', -80.0, 80.0)


def _pitch_shift(f0_hz, mask_on, dataset_stats, pitch_shift):
  """Semitones: as given, else whole octaves towards the training pitch."""
  from ddsp.training import postprocessing  # pylint: disable=g-import-not-at-top
  if pitch_shift is not None:
    return float(pitch_shift)
  if dataset_stats is None:
    return 0.0
  return float(12.0 * postprocessing.get_pitch_shift(
      np.asarray(f0_hz, np.float32), mask_on,
      _target_mean_pitch(dataset_stats)))


def _adjust_loudness(loudness_db, mask_on, note_on_ratio, dataset_stats,
                     loudness_shift, quiet, note_threshold):
  """(mode, applied shift or None, new loudness) of `adjust_features`."""
  from ddsp.training import postprocessing  # pylint: disable=g-import-not-at-top
  if loudness_shift is not None:
    return 'shift', float(loudness_shift), loudness_db + float(loudness_shift)
  if dataset_stats is None:
    return 'none', None, loudness_db
  _, new_db = postprocessing.fit_quantile_transform(
      loudness_db, mask_on, inv_quantile=dataset_stats['quantile_transform'])
  off = ~mask_on
  fraction_below = 1.0 - np.minimum(note_on_ratio / note_threshold, 1.0)
  new_db[off] -= quiet * fraction_below[off]
  return 'quantile', None, new_db


def _autotune(f0_hz, f0_confidence, mask_on, amount):
  """(f0 pulled towards the inferred scale, tuning factor)."""
  from ddsp import core  # pylint: disable=g-import-not-at-top
  from ddsp.training import postprocessing  # pylint: disable=g-import-not-at-top
  f0_midi = np.asarray(core.hz_to_midi(f0_hz))
  tuning_factor = postprocessing.get_tuning_factor(f0_midi, f0_confidence,
                                                   mask_on)
  f0_midi = postprocessing.auto_tune(f0_midi, tuning_factor, mask_on,
                                     amount=float(amount))
  tuned = np.where(np.asarray(f0_hz) > 0, np.asarray(core.midi_to_hz(f0_midi)),
                   0.0).astype(np.float32)
  return tuned, tuning_factor


# ------------------------------------------------------------------------------
# The model.
# ------------------------------------------------------------------------------
def _data_is_centered(model=None):
  """Whether the training features had 'center' padding: as bound in gin,
  else as the settings file of the training data says, else as the model's
  lengths say (one frame more than whole hops), else False."""
  import gin  # pylint: disable=g-import-not-at-top
  for name in ('TFRecordProvider.centered', 'RecordProvider.centered'):
    try:
      value = gin.query_parameter(name)
    except ValueError:
      continue
    if value is not None:
      return bool(value)
  layout = _training_data_layout()
  if layout and layout['settings_path']:
    return bool(layout['centered'])
  if model is not None:
    from ddsp.training import checkpoints  # pylint: disable=g-import-not-at-top
    sample_rate, frame_rate = checkpoints.model_rates(model)
    time_steps = n_samples = None
    for layer in checkpoints.model_layers(model):
      time_steps = time_steps or getattr(layer, 'time_steps', None)
      n_samples = n_samples or getattr(layer, 'n_samples', None)
    if time_steps and n_samples:
      return int(time_steps) - n_samples * frame_rate / sample_rate == 1
  return False


def _training_data_layout():
  """`tfrecord_files.data_layout` of the operative config's training
  TFRecords, or None (no pattern, or no files there any more)."""
  import gin  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from ddsp.training.data_preparation import tfrecord_files  # pylint: disable=g-import-not-at-top
  try:
    pattern = gin.query_parameter('TFRecordProvider.file_pattern')
  except ValueError:
    return None
  if not pattern or not tf.io.gfile.glob(pattern):
    return None
  try:
    return tfrecord_files.data_layout(pattern)
  except ValueError:
    return None


def _model_layout(model):
  """(sample_rate, frame_rate, hop) of a model; the hop may be fractional
  (176.4 samples at 44.1 kHz and 250 frames/s)."""
  from ddsp.training import checkpoints  # pylint: disable=g-import-not-at-top
  sample_rate, frame_rate = checkpoints.model_rates(model)
  return sample_rate, frame_rate, checkpoints.model_hop(model, whole=False)


def load_model(model_dir, n_frames=None, checkpoint=None):
  """Builds a model from its operative gin config and restores its weights.

  Parses the model directory's latest `operative_config-<step>.gin` into gin
  (`checkpoints.parse_operative_config`). Every layer with an `n_samples` or
  a `time_steps` is set to the lengths of `n_frames` frames
  (`checkpoints.get_model`), so that the model renders audio of any length.

  Args:
    model_dir: directory of a training run (checkpoints `ckpt-<step>` and
      `operative_config-<step>.gin`).
    n_frames: frames of the features the model will get (without the extra
      frame of centred data), or None to keep the training length.
    checkpoint: a checkpoint prefix ('.../ckpt-300') to restore instead of
      the newest readable one in `model_dir`.

  Returns:
    dict: 'model' (unbuilt: build it by calling it, then call
    `restore()`), 'restore' (a function restoring the checkpoint into the
    built model; it raises a `ValueError` naming the variables the
    checkpoint lacks), 'checkpoint' (path), 'sample_rate', 'frame_rate',
    'hop' (samples per frame: a float where fractional, 176.4 at 44.1 kHz and
    250 frames/s), 'centered' (bool), 'n_samples', 'time_steps'
    (the lengths the model was built with) and 'config_path'.

  Raises:
    FileNotFoundError: no operative config or no checkpoint in `model_dir`.
    ValueError: the lengths cannot be set from the config.
  """
  from ddsp.training import checkpoints  # pylint: disable=g-import-not-at-top
  model_dir = checkpoints.expand_path(model_dir)
  source = checkpoint or model_dir
  checkpoint = checkpoints.get_latest_checkpoint(source)
  config_path, _ = checkpoints.parse_operative_config(model_dir)
  probe = checkpoints.get_model()
  sample_rate, frame_rate, hop = _model_layout(probe)
  centered = _data_is_centered(probe)
  n_samples = time_steps = None
  if n_frames is not None:
    n_frames = validation.check_positive_int(n_frames, 'n_frames')
    n_samples = rates.frames_to_samples(n_frames, sample_rate, frame_rate)
    time_steps = n_frames + (1 if centered else 0)
  model = checkpoints.get_model(n_frames, extra_frames=int(centered))
  restored = {}

  def restore():
    restored['checkpoint'] = checkpoints.restore(source, model=model)
    return restored['checkpoint']

  return {'model': model, 'restore': restore, 'checkpoint': checkpoint,
          'sample_rate': sample_rate, 'frame_rate': frame_rate, 'hop': hop,
          'centered': centered, 'n_samples': n_samples,
          'time_steps': time_steps, 'config_path': config_path}


def _dataset_statistics(model_dir, dataset_stats):
  """The training statistics: given, saved beside the model, or computed."""
  import gin  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from ddsp.training import postprocessing  # pylint: disable=g-import-not-at-top
  if isinstance(dataset_stats, dict):
    return dataset_stats
  if dataset_stats is not None:
    return postprocessing.load_dataset_statistics(dataset_stats)
  try:
    return postprocessing.load_dataset_statistics(model_dir)
  except FileNotFoundError:
    pass
  # Fall back to the training TFRecords named by the operative config.
  try:
    pattern = gin.query_parameter('TFRecordProvider.file_pattern')
  except ValueError:
    pattern = None
  if pattern and tf.io.gfile.glob(pattern):
    from ddsp.training import data  # pylint: disable=g-import-not-at-top
    logging.warning('No dataset statistics in %s: computing them from the '
                    'training data %s.', model_dir, pattern)
    kwargs = {}
    for param in ('example_secs', 'sample_rate', 'frame_rate', 'centered'):
      try:
        kwargs[param] = gin.query_parameter(f'TFRecordProvider.{param}')
      except ValueError:
        pass
    return postprocessing.compute_dataset_statistics(
        data.TFRecordProvider(pattern, **kwargs))
  logging.warning('No dataset statistics in %s and no training data found: '
                  'the pitch and loudness are not adjusted automatically.',
                  model_dir)
  return None


# ------------------------------------------------------------------------------
# The plot.
# ------------------------------------------------------------------------------
def _voiced(f0_hz, f0_confidence, threshold=0.5):
  f0_hz = np.asarray(f0_hz, np.float64).copy()
  f0_hz[(np.asarray(f0_confidence) < threshold) | (f0_hz <= 0)] = np.nan
  return f0_hz


def plot_timbre_transfer(input_audio, output_audio, sample_rate, frame_rate,
                         input_features, features, output_features=None,
                         title='', max_hz=4000.0):
  """A figure with the input and output spectrograms, f0 and loudness.

  Args:
    input_audio: [n_samples] float array, the input at `sample_rate`.
    output_audio: [n_samples] float array, the model's audio.
    sample_rate: Hz.
    frame_rate: feature frames per second.
    input_features: dict of the input's [n_frames] arrays 'f0_hz',
      'f0_confidence', 'loudness_db'.
    features: the adjusted features given to the model (same keys).
    output_features: the output's features (CREPE f0 and loudness), or None.
    title: figure title.
    max_hz: top of the spectrogram frequency axes, Hz.

  Returns:
    `matplotlib.figure.Figure` (Agg canvas): input spectrogram with its f0,
    output spectrogram with the f0 given to the model, f0 curves in MIDI
    (voiced frames only), loudness curves in dB.
  """
  from ddsp import core  # pylint: disable=g-import-not-at-top
  from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
  from ddsp.training import plotting  # pylint: disable=g-import-not-at-top
  fig = plotting.new_figure((10.0, 11.0), dpi=90)
  axes = fig.subplots(4, 1, sharex=True,
                      gridspec_kw={'height_ratios': [3, 3, 2, 2]})
  top = min(float(max_hz), sample_rate / 2.0)
  confidence = input_features['f0_confidence']
  f0_in = _voiced(input_features['f0_hz'], confidence)
  f0_model = _voiced(features['f0_hz'], confidence)
  frame_times = np.arange(len(f0_in)) / frame_rate
  for ax, audio, f0, name in ((axes[0], input_audio, f0_in, 'input'),
                              (axes[1], output_audio, f0_model, 'output')):
    audio = np.asarray(audio, np.float32)
    logmag = np.asarray(spectral_ops.compute_logmag(audio[np.newaxis],
                                                    size=1024))[0]
    duration = len(audio) / sample_rate
    ax.imshow(logmag.T, origin='lower', aspect='auto', cmap='magma',
              vmin=-5.0, vmax=1.0, interpolation='nearest',
              extent=(0.0, duration, 0.0, sample_rate / 2.0))
    ax.plot(frame_times, f0, color='cyan', linewidth=0.8,
            label='f0 of the input' if name == 'input' else
            'f0 given to the model')
    ax.set_ylim(0.0, top)
    ax.set_ylabel('Hz')
    ax.set_title(f'{name} spectrogram', fontsize=9)
    ax.legend(loc='upper right', fontsize=7)

  ax = axes[2]
  ax.plot(frame_times, core.hz_to_midi(np.nan_to_num(f0_in)) * np.where(
      np.isnan(f0_in), np.nan, 1.0), label='input f0', linewidth=0.8)
  ax.plot(frame_times, core.hz_to_midi(np.nan_to_num(f0_model)) * np.where(
      np.isnan(f0_model), np.nan, 1.0), label='given to the model',
          linewidth=0.8)
  if output_features is not None:
    f0_out = _voiced(output_features['f0_hz'], output_features['f0_confidence'])
    n = min(len(f0_out), len(frame_times))
    ax.plot(frame_times[:n], (core.hz_to_midi(np.nan_to_num(f0_out)) *
                              np.where(np.isnan(f0_out), np.nan, 1.0))[:n],
            label='output (CREPE)', linewidth=0.8, linestyle='--')
  ax.set_ylabel('MIDI')
  ax.set_title('f0 (frames with CREPE confidence >= 0.5)', fontsize=9)
  ax.legend(loc='upper right', fontsize=7)

  ax = axes[3]
  ax.plot(frame_times, input_features['loudness_db'], label='input',
          linewidth=0.8)
  ax.plot(frame_times, features['loudness_db'], label='given to the model',
          linewidth=0.8)
  if output_features is not None:
    ld_out = np.asarray(output_features['loudness_db'])
    n = min(len(ld_out), len(frame_times))
    ax.plot(frame_times[:n], ld_out[:n], label='output', linewidth=0.8,
            linestyle='--')
  ax.set_ylabel('dB')
  ax.set_xlabel('time (s)')
  ax.set_title('A-weighted loudness', fontsize=9)
  ax.legend(loc='lower right', fontsize=7)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  return fig


# ------------------------------------------------------------------------------
# Timbre transfer.
# ------------------------------------------------------------------------------
def _model_inputs(model, features, audio):
  """The model's feature dict; 'audio' only where an encoder needs it."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  inputs = {k: tf.constant(np.asarray(features[k], np.float32)[np.newaxis])
            for k in ('f0_hz', 'f0_confidence', 'loudness_db')}
  if getattr(model, 'encoder', None) is not None:
    inputs['audio'] = tf.constant(audio[np.newaxis])
    preprocessor = getattr(model, 'preprocessor', None)
    if getattr(preprocessor, 'compute_loudness', False):
      # Use the adjusted loudness, not loudness recomputed from the audio.
      preprocessor.compute_loudness = False
  return inputs


def timbre_transfer(model_dir, input_path, output_path, pitch_shift=None,
                    loudness_shift=None, autotune=0.0, plot_path=None,
                    dataset_stats=None, checkpoint=None, adjust=True,
                    quiet=20.0, note_threshold=1.0, crepe_model='tiny',
                    analyze_output=None):
  """Resynthesizes an audio file with a trained model.

  Replaces the global gin config with the model's operative config.

  Args:
    model_dir: directory of the training run (checkpoints and
      `operative_config-<step>.gin`; `dataset_statistics.json` if saved).
    input_path: audio file of any format and sample rate that
      `audio_io.load_audio` reads (WAV, FLAC, OGG, MP3, ...).
    output_path: audio file to write (format from the extension, e.g. .wav or
      .flac), at the model's sample rate.
    pitch_shift: semitones, or None for the automatic octave shift into the
      training register (see `adjust_features`).
    loudness_shift: dB, or None for quantile matching to the training data.
    autotune: in [0, 1], amount of auto-tune (0 = off).
    plot_path: PNG file to write the spectrograms and curves to, or None.
    dataset_stats: statistics dict, or a path to a statistics file, or None to
      read them from `model_dir` (or compute them from the training data).
    checkpoint: checkpoint prefix to use instead of the latest.
    adjust: False gives the model the input's f0 and loudness unchanged
      (except for explicit `pitch_shift` / `loudness_shift`).
    quiet: dB to turn down frames between notes (automatic loudness only).
    note_threshold: note detection threshold (`postprocessing.detect_notes`).
    crepe_model: CREPE size for the f0 of the input and output ('tiny',
      installed with ddsp; 'full' etc. with the `crepe_all` extra).
    analyze_output: also extract CREPE f0 and loudness of the output (for the
      plot and the returned 'output_features'); None means only when
      `plot_path` is given.

  Returns:
    dict: 'audio' ([n_samples] float32, the output as written), 'input_audio'
    (the input resampled to the model's rate, padded to whole frames),
    'sample_rate', 'frame_rate', 'input_features' (f0_hz, f0_confidence,
    loudness_db of the input, [n_frames] each), 'features' (as given to the
    model), 'output_features' (or None), 'adjustment' (the info of
    `adjust_features`), 'checkpoint', 'output_path', 'plot_path'.

  Raises:
    FileNotFoundError: no model, checkpoint or input file.
    audio_io.AudioLoadError: the input cannot be decoded.
    ValueError: for out-of-range arguments.
  """
  from ddsp.training import audio_io  # pylint: disable=g-import-not-at-top
  validation.check_in_range(autotune, 'autotune', 0.0, 1.0)
  if not os.path.isdir(os.path.expanduser(os.fspath(model_dir))):
    raise FileNotFoundError(f'No model directory {os.fspath(model_dir)!r}.')

  # Read the training layout first (it says which rate to load audio at).
  layout = load_model(model_dir, checkpoint=checkpoint)
  stats = _dataset_statistics(model_dir, dataset_stats) if adjust else None
  audio, input_features = _read_input(input_path, layout, crepe_model)
  features, info = adjust_features(
      input_features, stats, pitch_shift=pitch_shift,
      loudness_shift=loudness_shift, autotune=autotune, quiet=quiet,
      note_threshold=note_threshold)
  logging.info('Timbre transfer: pitch shift %+.2f semitones, loudness %s%s, '
               'autotune %.2f.', info['pitch_shift'], info['loudness'],
               '' if info['loudness_shift'] is None else
               f' ({info["loudness_shift"]:+.1f} dB)', info['autotune'])

  out, restored = _resynthesize(model_dir, checkpoint, features, audio,
                                layout)
  sample_rate, frame_rate = layout['sample_rate'], layout['frame_rate']
  output_path = _write_audio(output_path, out, sample_rate)

  if analyze_output is None:
    analyze_output = plot_path is not None
  output_features = None
  if analyze_output:
    output_features = audio_io.compute_audio_features(
        out, sample_rate=int(sample_rate), frame_rate=frame_rate,
        center=layout['centered'], crepe_model=crepe_model)
  if plot_path is not None:
    plot_path = _write_plot(
        plot_path, audio, out, sample_rate, frame_rate, input_features,
        features, output_features,
        title=(f'{os.path.basename(os.fspath(input_path))} through '
               f'{os.path.basename(os.path.normpath(os.fspath(model_dir)))} '
               f'(pitch {info["pitch_shift"]:+.0f} semitones, loudness '
               f'{info["loudness"]})'))
  return {'audio': out, 'input_audio': audio, 'sample_rate': sample_rate,
          'frame_rate': frame_rate, 'input_features': input_features,
          'features': features, 'output_features': output_features,
          'adjustment': info, 'checkpoint': restored,
          'output_path': output_path, 'plot_path': plot_path}


def _read_input(input_path, layout, crepe_model):
  """The input audio at the model's rate (padded to whole frames) and its
  f0, confidence and loudness, framed as the training data."""
  from ddsp.training import audio_io  # pylint: disable=g-import-not-at-top
  sample_rate = int(layout['sample_rate'])
  audio = audio_io.load_audio(os.fspath(input_path), sample_rate=sample_rate)
  # Whole frames that are whole samples: at a fractional hop (176.4 samples)
  # a multiple of the period gcd(sample_rate, frame_rate) allows (5 frames).
  _, period = _frame_period(layout)
  n_samples = -(-len(audio) // period) * period
  audio = np.pad(audio, (0, n_samples - len(audio))).astype(np.float32)
  features = audio_io.compute_audio_features(
      audio, sample_rate=sample_rate, frame_rate=layout['frame_rate'],
      center=layout['centered'], crepe_model=crepe_model)
  return audio, features


def _frame_period(layout):
  """(frames, samples) of the shortest whole number of frames that is a
  whole number of samples (1 frame, hop samples where the hop is whole)."""
  sample_rate, frame_rate = int(layout['sample_rate']), int(
      layout['frame_rate'])
  g = math.gcd(sample_rate, frame_rate)
  return frame_rate // g, sample_rate // g


def _resynthesize(model_dir, checkpoint, features, audio, layout):
  """The model's [n_samples] audio for the features (peak at most 0.99) and
  the restored checkpoint."""
  frames, samples = _frame_period(layout)
  loaded = load_model(model_dir, n_frames=len(audio) // samples * frames,
                      checkpoint=checkpoint)
  model = loaded['model']
  inputs = _model_inputs(model, features, audio)
  model(inputs, training=False)  # Creates the variables.
  restored = loaded['restore']()
  outputs = model(inputs, training=False)
  out = np.asarray(model.get_audio_from_outputs(outputs))[0].astype(np.float32)
  peak = float(np.max(np.abs(out))) if out.size else 0.0
  if peak > 0.99:
    logging.warning('The output peaks at %.2f: scaled to 0.99 to avoid '
                    'clipping.', peak)
    out *= 0.99 / peak
  return out, restored


def _write_audio(output_path, audio, sample_rate):
  import soundfile  # pylint: disable=g-import-not-at-top
  output_path = os.fspath(output_path)
  os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
  soundfile.write(output_path, audio, int(sample_rate))
  logging.info('Wrote %s (%.2f s at %d Hz).', output_path,
               len(audio) / sample_rate, sample_rate)
  return output_path


def _write_plot(plot_path, *args, title=''):
  plot_path = os.fspath(plot_path)
  os.makedirs(os.path.dirname(os.path.abspath(plot_path)), exist_ok=True)
  fig = plot_timbre_transfer(*args, title=title)
  fig.savefig(plot_path)
  logging.info('Wrote %s.', plot_path)
  return plot_path


def transfer_metrics(result, confidence_threshold=0.85, loudness_range_db=30.0,
                     max_lag_ms=50.0,
                     fft_sizes=(2048, 1024, 512, 256, 128, 64)):
  """How closely a timbre transfer's output follows what it was given.

  A listening proxy: the output's CREPE f0 should follow the f0 given to the
  model, and for a resynthesis (no pitch or loudness change) its spectrum
  should be close to the input's.

  The output may lag or lead the input by a few frames: with uncentred
  features (`center=False`, the default of data preparation) each f0 frame
  describes an analysis window that starts at the frame's time, so it
  describes the audio about half a CREPE window (32 ms) later, while the
  synthesizer plays frame i at time i / frame_rate; a trained reverb may
  delay the output to make up for it. The f0 is therefore compared at the
  frame offset (within `max_lag_ms`) where it agrees best, and that offset is
  reported.

  Args:
    result: the dict returned by `timbre_transfer` with 'output_features'
      (call it with `analyze_output=True`).
    confidence_threshold: the f0 is compared on frames where the input's CREPE
      confidence is at least this (0.85: clearly pitched)...
    loudness_range_db: ...and the output is loud: within this many dB of its
      95th percentile loudness (quieter frames hold reverb tails and noise
      whose pitch CREPE cannot tell).
    max_lag_ms: largest output latency (either way) searched, ms.
    fft_sizes: FFT sizes of the multi-scale spectral loss.

  Returns:
    dict of floats: 'f0_frames' (frames compared), 'f0_within_50_cents'
    (fraction of them where the output's f0 is within 50 cents of the f0
    given to the model), 'f0_median_abs_cents', 'f0_lag_ms' (the output's
    latency at which they were compared; negative: the output leads),
    'loudness_l1_db' (mean absolute difference between the output's loudness
    and the loudness given to the model, on the same frames), and
    'spectral_loss' (L1 of linear plus log STFT magnitudes summed over
    `fft_sizes`, as `ddsp.losses.SpectralLoss(mag_weight=1,
    logmag_weight=1)`, the solo instrument model's training loss), output vs
    input audio, without any time alignment.

  Raises:
    ValueError: `result` has no output features.
  """
  from ddsp import losses  # pylint: disable=g-import-not-at-top
  if result.get('output_features') is None:
    raise ValueError('`result` has no output features: call timbre_transfer '
                     'with analyze_output=True.')
  validation.check_in_range(max_lag_ms, 'max_lag_ms', 0.0)
  given, out = result['features'], result['output_features']
  n = min(len(given['f0_hz']), len(out['f0_hz']))
  conf_in = np.asarray(result['input_features']['f0_confidence'])[:n]
  f0_given = np.asarray(given['f0_hz'], np.float64)[:n]
  ld_given = np.asarray(given['loudness_db'], np.float64)[:n]
  f0_out = np.asarray(out['f0_hz'], np.float64)[:n]
  ld_out = np.asarray(out['loudness_db'], np.float64)[:n]
  loud = ld_out >= np.percentile(ld_out, 95) - loudness_range_db
  max_lag = int(max_lag_ms * result['frame_rate'] / 1000.0)
  best = None
  for lag in sorted(range(-max_lag, max_lag + 1), key=abs):
    # Output frame i + lag against input frame i.
    i = np.arange(max(0, -lag), min(n, n - lag))
    frames = ((conf_in[i] >= confidence_threshold) & loud[i + lag] &
              (f0_given[i] > 0) & (f0_out[i + lag] > 0))
    cents = 1200.0 * np.abs(np.log2(f0_out[i + lag][frames] /
                                    f0_given[i][frames]))
    if not cents.size:
      continue
    # Most frames within 50 cents, then the smallest median error.
    score = (float(np.mean(cents <= 50.0)), -float(np.median(cents)))
    if best is None or score > best['score']:
      ld_l1 = np.abs(ld_out[i + lag] - ld_given[i])[frames]
      best = {'lag': lag, 'score': score, 'cents': cents,
              'ld_l1': float(np.mean(ld_l1))}
  if best is None:
    best = {'lag': 0, 'score': (float('nan'), float('nan')),
            'cents': np.zeros([0]), 'ld_l1': float('nan')}
  loss = losses.SpectralLoss(fft_sizes=fft_sizes, loss_type='L1',
                             mag_weight=1.0, logmag_weight=1.0)
  spectral = float(loss(result['input_audio'][np.newaxis],
                        result['audio'][np.newaxis]))
  cents = best['cents']
  return {
      'f0_frames': int(cents.size),
      'f0_within_50_cents': best['score'][0],
      'f0_median_abs_cents': (float(np.median(cents)) if cents.size
                              else float('nan')),
      'f0_lag_ms': 1000.0 * best['lag'] / result['frame_rate'],
      'loudness_l1_db': best['ld_l1'],
      'spectral_loss': spectral,
  }


# ------------------------------------------------------------------------------
# Command line.
# ------------------------------------------------------------------------------
def _define_flags():
  """Defines the command-line flags (once)."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  if 'model_dir' in flags.FLAGS and 'autotune' in flags.FLAGS:
    return flags.FLAGS
  flags.DEFINE_string('model_dir', None, 'Directory of the trained model '
                      '(checkpoints and operative_config-*.gin).')
  flags.DEFINE_string('input', None, 'Audio file to transfer (any format and '
                      'sample rate that data preparation reads).')
  flags.DEFINE_string('output', None, 'Audio file to write (.wav, .flac).')
  flags.DEFINE_float('pitch_shift', None, 'Semitones to shift the pitch by; '
                     'default: whole octaves into the training register.')
  flags.DEFINE_float('loudness_shift', None, 'dB to add to the loudness; '
                     'default: quantile matching to the training data.')
  flags.DEFINE_float('autotune', 0.0, 'Auto-tune amount in [0, 1].')
  flags.DEFINE_string('plot', None, 'PNG file for the spectrograms and '
                      'f0/loudness curves.')
  flags.DEFINE_string('dataset_stats', None, 'Statistics file of the training '
                      'data; default: dataset_statistics.json in model_dir.')
  flags.DEFINE_string('checkpoint', None, 'Checkpoint prefix to use instead '
                      'of the latest one in model_dir.')
  flags.DEFINE_boolean('adjust', True, 'Adjust pitch and loudness to the '
                       'training data automatically.')
  flags.DEFINE_float('quiet', 20.0, 'dB by which frames between notes are '
                     'turned down (automatic loudness).')
  flags.DEFINE_float('note_threshold', 1.0, 'Note detection threshold.')
  flags.DEFINE_string('crepe_model', 'tiny', 'CREPE size for the f0.')
  flags.DEFINE_boolean('report', False, 'Print how closely the output follows '
                       'the f0 given to the model, and its spectral loss vs '
                       'the input (see transfer_metrics).')
  return flags.FLAGS


def _main(argv):
  from absl import app  # pylint: disable=g-import-not-at-top
  flags_ = _define_flags()
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  for name in ('model_dir', 'input', 'output'):
    if not flags_[name].value:
      raise app.UsageError(f'--{name} is required.')
  result = timbre_transfer(
      flags_.model_dir, flags_.input, flags_.output,
      pitch_shift=flags_.pitch_shift, loudness_shift=flags_.loudness_shift,
      autotune=flags_.autotune, plot_path=flags_.plot,
      dataset_stats=flags_.dataset_stats, checkpoint=flags_.checkpoint,
      adjust=flags_.adjust, quiet=flags_.quiet,
      note_threshold=flags_.note_threshold, crepe_model=flags_.crepe_model,
      analyze_output=True if flags_.report else None)
  info = result['adjustment']
  print(f'Pitch shift: {info["pitch_shift"]:+.2f} semitones; loudness: '
        f'{info["loudness"]}; autotune: {info["autotune"]:.2f}.')
  seconds = len(result['audio']) / result['sample_rate']
  print(f'Wrote {result["output_path"]} ({seconds:.2f} s at '
        f'{result["sample_rate"]} Hz).')
  if result['plot_path']:
    print(f'Wrote {result["plot_path"]}.')
  if flags_.report:
    m = transfer_metrics(result)
    print(f'Output f0 vs the f0 given to the model: '
          f'{100 * m["f0_within_50_cents"]:.1f} % of {m["f0_frames"]} '
          f'pitched, loud frames within 50 cents (median '
          f'{m["f0_median_abs_cents"]:.1f} cents, output latency '
          f'{m["f0_lag_ms"]:+.0f} ms); loudness L1 '
          f'{m["loudness_l1_db"]:.1f} dB.')
    print(f'Multi-scale spectral loss (L1 mag + logmag) vs the input: '
          f'{m["spectral_loss"]:.3f}.')


def console_entry_point():
  """The `ddsp_timbre_transfer` command."""
  from absl import app  # pylint: disable=g-import-not-at-top
  _define_flags()
  app.run(_main)


if __name__ == '__main__':
  console_entry_point()
