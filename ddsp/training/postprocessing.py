"""Post-processing of audio features for timbre transfer.

A model trained on one instrument expects f0 and loudness in that
instrument's range. Before resynthesising someone else's recording through it
(timbre transfer), its features are adjusted:

1. `detect_notes`: which frames hold a note, from loudness and f0 confidence.
2. Loudness matching: the loudness of the note frames is mapped through
   quantiles (`fit_quantile_transform`, `QuantileTransformer`) onto the
   loudness distribution of the training data, so that the quietest and
   loudest notes of the input land on the quietest and loudest notes the model
   has heard.
3. Pitch: `get_pitch_shift` / `shift_f0` move the input by whole octaves into
   the training data's register (or by any number of semitones);
   `get_tuning_factor` and `auto_tune` optionally pull f0 towards the nearest
   semitone or note of the inferred major scale.

The training data's statistics come from `compute_dataset_statistics` and are
saved beside the model with `save_dataset_statistics` (JSON, or pickle as the
published library did) and read back with `load_dataset_statistics`.

All functions work on numpy arrays shaped `[n_frames]` or `[batch, n_frames]`;
f0 in Hz or MIDI as named, loudness in dB (A-weighted, `-80` to about `0`).
"""

import json
import logging
import os
import pickle

import numpy as np
import scipy.special

from ddsp import core
from ddsp import validation

__all__ = [
    'DATASET_STATISTICS_JSON',
    'DATASET_STATISTICS_PICKLE',
    'QuantileTransformer',
    'auto_tune',
    'compute_dataset_statistics',
    'detect_notes',
    'fit_quantile_transform',
    'get_pitch_shift',
    'get_tuning_factor',
    'load_dataset_statistics',
    'save_dataset_statistics',
    'shift_f0',
    'shift_ld',
    'smooth',
]

DB_RANGE = 80.0  # dB, as `spectral_ops.DB_RANGE`.
DATASET_STATISTICS_JSON = 'dataset_statistics.json'
DATASET_STATISTICS_PICKLE = 'dataset_statistics.pkl'
_MAJOR_SCALE = np.array([0, 2, 4, 5, 7, 9, 11])
_KEY_NAMES = ('C', 'Db', 'D', 'Eb', 'E', 'F', 'Gb', 'G', 'Ab', 'A', 'Bb', 'B')


def _frames(x, name):
  """`x` as a float64 array [n_frames] or [batch, n_frames]."""
  x = np.asarray(x, dtype=np.float64)
  if x.ndim == 3 and x.shape[-1] == 1:
    x = x[..., 0]
  if x.ndim not in (1, 2):
    raise ValueError(f'`{name}` must be [n_frames] or [batch, n_frames] '
                     f'(optionally [batch, n_frames, 1]). '
                     f'Received: {name}.shape={x.shape}')
  return x


def _same_shape(arrays):
  shapes = {name: np.shape(a) for name, a in arrays.items()}
  if len(set(shapes.values())) > 1:
    detail = ', '.join(f'{n}.shape={s}' for n, s in shapes.items())
    raise ValueError(f'Arguments {list(arrays)} must have the same shape. '
                     f'Received: {detail}')


def _mask(mask_on, shape):
  mask_on = np.asarray(mask_on)
  if mask_on.ndim == len(shape) + 1 and mask_on.shape[-1] == 1:
    mask_on = mask_on[..., 0]
  if mask_on.shape != tuple(shape):
    raise ValueError(f'`mask_on` must have the shape of the features, '
                     f'{tuple(shape)}. Received: mask_on.shape={mask_on.shape}')
  return mask_on.astype(bool)


def _midi_to_hz(midi):
  return 440.0 * 2.0**((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


# ------------------------------------------------------------------------------
# Note detection.
# ------------------------------------------------------------------------------
def smooth(x, filter_size=3):
  """Moving average over the last axis (a box filter), same length.

  Outside the signal counts as zero, so the ends fall off: frame `i` averages
  frames `i - (filter_size - 1) // 2` to `i + filter_size // 2`.

  Args:
    x: [n_frames] or [batch, n_frames] array.
    filter_size: frames averaged, a positive int.

  Returns:
    Array of the shape of `x`, float64.

  Example:
    >>> smooth(np.array([0., 0., 3., 0., 0.]), 3)
    array([0., 1., 1., 1., 0.])
  """
  filter_size = validation.check_positive_int(filter_size, 'filter_size')
  x = np.asarray(x, dtype=np.float64)
  left = (filter_size - 1) // 2
  pad = [(0, 0)] * (x.ndim - 1) + [(left + 1, filter_size - 1 - left)]
  csum = np.cumsum(np.pad(x, pad), axis=-1)
  return (csum[..., filter_size:] - csum[..., :-filter_size]) / filter_size


def detect_notes(loudness_db, f0_confidence, note_threshold=1.0, exponent=2.0,
                 smoothing=40, f0_confidence_threshold=0.7, min_db=-DB_RANGE):
  """Finds the frames that hold a note, from loudness and f0 confidence.

  The note strength of a frame is its loudness above the floor, `loudness_db
  - min_db`, weighted by `f0_confidence ** exponent` smoothed over
  `smoothing` frames. It is compared with that of a reference frame: as loud
  as the average frame, with confidence `f0_confidence_threshold`. A frame is
  on where the ratio reaches `note_threshold`; raise it to keep only louder,
  more confidently pitched frames.

  Args:
    loudness_db: [n_frames] or [batch, n_frames] float, dB, A-weighted
      loudness (floor `min_db`).
    f0_confidence: same shape, CREPE confidence in [0, 1].
    note_threshold: ratio to the reference frame at which a note is on.
    exponent: power of the confidence (2 favours confident frames).
    smoothing: frames of the box filter on the confidence (40 frames = 160 ms
      at 250 frames/s).
    f0_confidence_threshold: confidence of the reference frame, in (0, 1].
    min_db: loudness floor in dB (-80).

  Returns:
    mask_on: bool array of the shape of `loudness_db`, True during notes.
    note_on_ratio: float array of that shape, the note strength over the
      reference (>= note_threshold where on). The mean loudness is taken over
      all of `loudness_db` (the whole batch).

  Raises:
    ValueError: for mismatched shapes or bad thresholds.

  Example:
    >>> loudness = np.r_[np.full(100, -80.), np.full(100, -20.)]
    >>> confidence = np.r_[np.full(100, 0.1), np.full(100, 0.95)]
    >>> mask_on, _ = detect_notes(loudness, confidence, smoothing=10)
    >>> bool(mask_on[:90].any()), bool(mask_on[110:].all())
    (False, True)
  """
  loudness_db = _frames(loudness_db, 'loudness_db')
  f0_confidence = _frames(f0_confidence, 'f0_confidence')
  _same_shape({'loudness_db': loudness_db, 'f0_confidence': f0_confidence})
  validation.check_in_range(f0_confidence_threshold,
                            'f0_confidence_threshold', 1e-6, 1.0)
  validation.check_positive(exponent, 'exponent')
  mean_db = np.mean(loudness_db)
  strength = (smooth(np.clip(f0_confidence, 0.0, 1.0)**exponent, smoothing) *
              (loudness_db - min_db))
  reference = (mean_db - min_db) * f0_confidence_threshold**exponent
  note_on_ratio = strength / max(reference, 1e-12)
  return note_on_ratio >= note_threshold, note_on_ratio


# ------------------------------------------------------------------------------
# Quantile matching.
# ------------------------------------------------------------------------------
class QuantileTransformer:
  """Maps values to their quantile (a uniform or normal output) and back.

  `fit` records `n_quantiles` evenly spaced percentiles of each feature;
  `transform` maps a value to its position in that empirical distribution
  (linear between percentiles; a value repeated over several percentiles maps
  to the middle of them) and `inverse_transform` maps positions back to
  values. Chaining one transformer's `transform` with another's
  `inverse_transform` moves data from one distribution onto the other
  (quantile matching). Written in numpy after the interface of
  `sklearn.preprocessing.QuantileTransformer`, whose pickles are fragile
  across versions; unpickles objects saved by the published DDSP library.

  Args:
    n_quantiles: percentiles recorded per feature (capped at the number of
      samples).
    output_distribution: 'uniform' (positions in [0, 1]) or 'normal'
      (standard normal scores, clipped at 1e-7 from 0 and 1).
    subsample: at most this many samples (drawn at random) are used to fit.
    seed: seed of that subsampling.

  Example:
    >>> qt = QuantileTransformer(n_quantiles=5).fit(
    ...     np.arange(5.0)[:, np.newaxis])
    >>> qt.transform([[1.0], [2.5]]).ravel().tolist()
    [0.25, 0.625]
  """

  _BOUNDS = 1e-7

  def __init__(self, n_quantiles=1000, output_distribution='uniform',
               subsample=int(1e5), seed=0):
    self.n_quantiles = validation.check_positive_int(n_quantiles, 'n_quantiles')
    self.output_distribution = validation.check_one_of(
        output_distribution, 'output_distribution', ('uniform', 'normal'))
    self.subsample = validation.check_positive_int(subsample, 'subsample')
    self.seed = seed

  def __setstate__(self, state):
    # Objects pickled by the published library have no `seed`.
    self.__dict__.update(state)
    self.__dict__.setdefault('seed', 0)

  @staticmethod
  def _as_2d(x, name='x'):
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
      raise ValueError(f'`{name}` must be [n_samples, n_features]. '
                       f'Received: {name}.shape={x.shape}')
    return x

  def fit(self, x):
    """Records the percentiles of each feature.

    Args:
      x: [n_samples, n_features] float array (NaNs are ignored).

    Returns:
      self.
    """
    x = self._as_2d(x)
    if x.shape[0] == 0:
      raise ValueError('`x` must hold at least one sample. '
                       f'Received: x.shape={x.shape}')
    n_samples = x.shape[0]
    self.n_quantiles_ = max(1, min(self.n_quantiles, n_samples))
    self.references_ = np.linspace(0.0, 1.0, self.n_quantiles_)
    if n_samples > self.subsample:
      rng = np.random.default_rng(self.seed)
      x = x[rng.choice(n_samples, size=self.subsample, replace=False)]
    quantiles = np.nanpercentile(x, self.references_ * 100.0, axis=0)
    # Percentiles are monotonic in exact arithmetic; enforce it in floats.
    self.quantiles_ = np.maximum.accumulate(quantiles, axis=0)
    return self

  def _check_fitted(self):
    if not hasattr(self, 'quantiles_'):
      raise ValueError('This QuantileTransformer is not fitted yet; call '
                       '`fit` first.')

  def _transform_col(self, col, quantiles, inverse):
    col = np.array(col, dtype=np.float64)
    finite = ~np.isnan(col)
    values = col[finite]
    refs = self.references_
    if not inverse:
      # Average of the interpolation from below and from above, so that a
      # value spanning several equal quantiles lands in their middle.
      up = np.interp(values, quantiles, refs)
      down = -np.interp(-values, -quantiles[::-1], -refs[::-1])
      out = 0.5 * (up + down)
      if self.output_distribution == 'normal':
        out = scipy.special.ndtri(np.clip(out, self._BOUNDS,
                                          1.0 - self._BOUNDS))
    else:
      if self.output_distribution == 'normal':
        # Scores within the clipping bounds map to the ends exactly.
        values = scipy.special.ndtr(values)
        values = np.where(values - self._BOUNDS < 0.0, 0.0, values)
        values = np.where(values + self._BOUNDS > 1.0, 1.0, values)
      out = np.interp(values, refs, quantiles)
    col[finite] = out
    return col

  def _transform(self, x, inverse):
    self._check_fitted()
    x = self._as_2d(x)
    if x.shape[1] != self.quantiles_.shape[1]:
      raise ValueError(f'`x` must have {self.quantiles_.shape[1]} features, as '
                       f'in `fit`. Received: x.shape={x.shape}')
    return np.stack([
        self._transform_col(x[:, j], self.quantiles_[:, j], inverse)
        for j in range(x.shape[1])], axis=1)

  def transform(self, x):
    """Values [n_samples, n_features] -> quantile positions (same shape)."""
    return self._transform(x, inverse=False)

  def inverse_transform(self, x):
    """Quantile positions [n_samples, n_features] -> values (same shape)."""
    return self._transform(x, inverse=True)

  def fit_transform(self, x):
    """`fit(x)` then `transform(x)`."""
    return self.fit(x).transform(x)

  def to_dict(self):
    """A JSON-serialisable dict (see `from_dict`)."""
    self._check_fitted()
    return {'n_quantiles': self.n_quantiles,
            'output_distribution': self.output_distribution,
            'subsample': self.subsample, 'seed': self.seed,
            'quantiles': self.quantiles_.tolist()}

  @classmethod
  def from_dict(cls, config):
    """The fitted transformer described by `to_dict()`."""
    qt = cls(config['n_quantiles'], config['output_distribution'],
             config['subsample'], config.get('seed', 0))
    qt.quantiles_ = np.asarray(config['quantiles'], dtype=np.float64)
    qt.n_quantiles_ = qt.quantiles_.shape[0]
    qt.references_ = np.linspace(0.0, 1.0, qt.n_quantiles_)
    return qt


def fit_quantile_transform(loudness_db, mask_on, inv_quantile=None):
  """Fits a quantile transform to note loudness; optionally matches it.

  Args:
    loudness_db: [n_frames] or [batch, n_frames] float, dB.
    mask_on: bool array of the same shape, True on note frames (from
      `detect_notes`); only these frames are fitted and mapped.
    inv_quantile: optional fitted `QuantileTransformer` of the target (e.g.
      the training data's `dataset_stats['quantile_transform']`).

  Returns:
    The `QuantileTransformer` fitted to the note frames; with `inv_quantile`,
    also the matched loudness, an array of the shape of `loudness_db` whose
    note frames are `inv_quantile.inverse_transform(own transform(loudness))`
    and whose other frames are unchanged (the published function returned it
    flattened to [n, 1]).

  Raises:
    ValueError: for mismatched shapes or no note frame.

  Example:
    >>> rng = np.random.default_rng(0)
    >>> target = fit_quantile_transform(rng.uniform(-60, -20, 2000),
    ...                                 np.ones(2000, bool))
    >>> ld = rng.normal(-30.0, 2.0, 500)
    >>> _, matched = fit_quantile_transform(ld, ld > -100, target)
    >>> round(float(np.median(matched)))
    -40
  """
  loudness_db = _frames(loudness_db, 'loudness_db')
  mask_on = _mask(mask_on, loudness_db.shape)
  if not mask_on.any():
    raise ValueError('`mask_on` selects no frame: no note to fit.')
  qt = QuantileTransformer()
  positions = qt.fit_transform(loudness_db[mask_on][:, np.newaxis])
  if inv_quantile is None:
    return qt
  matched = loudness_db.copy()
  matched[mask_on] = inv_quantile.inverse_transform(positions)[:, 0]
  return qt, matched


# ------------------------------------------------------------------------------
# Pitch and loudness shifts.
# ------------------------------------------------------------------------------
def shift_ld(audio_features, ld_shift=0.0):
  """Copy of `audio_features` with 'loudness_db' raised by `ld_shift` dB."""
  features = dict(audio_features)
  features['loudness_db'] = np.asarray(features['loudness_db']) + ld_shift
  return features


def shift_f0(audio_features, pitch_shift=0.0, max_midi=110.0):
  """Copy of `audio_features` with 'f0_hz' shifted by `pitch_shift` octaves.

  Args:
    audio_features: dict with 'f0_hz' (array, Hz).
    pitch_shift: octaves (1 = up an octave, 1/12 = up a semitone, -2 = down two
      octaves).
    max_midi: f0 is clipped to [0, midi_to_hz(max_midi)] (110 = 4.7 kHz).

  Returns:
    A new dict; the input is not modified.

  Example:
    >>> shift_f0({'f0_hz': np.array([220.0, 440.0])}, -1)['f0_hz'].tolist()
    [110.0, 220.0]
  """
  features = dict(audio_features)
  f0_hz = np.asarray(features['f0_hz'], dtype=np.float64) * 2.0**pitch_shift
  features['f0_hz'] = np.clip(f0_hz, 0.0, _midi_to_hz(max_midi)).astype(
      np.float32)
  return features


def get_pitch_shift(f0_hz, mask_on, target_mean_pitch, round_to_octave=True):
  """Octaves that move the mean pitch of the notes to a target pitch.

  Args:
    f0_hz: [n_frames] or [batch, n_frames] float, Hz.
    mask_on: bool array of the same shape, the note frames (`detect_notes`).
    target_mean_pitch: MIDI, e.g. the training data's
      `dataset_stats['mean_pitch']`.
    round_to_octave: round to whole octaves (keeps the melody in key); if
      False the exact shift (a multiple of 1/1200 octave) is returned.

  Returns:
    float, octaves to pass to `shift_f0`; 0.0 if no frame is on.

  Example:
    >>> get_pitch_shift(np.full(10, 110.0), np.ones(10, bool), 69.0)
    2.0
  """
  f0_hz = _frames(f0_hz, 'f0_hz')
  mask_on = _mask(mask_on, f0_hz.shape)
  if not mask_on.any():
    return 0.0
  pitch = core.hz_to_midi(f0_hz[mask_on], use_tf=False)
  octaves = (target_mean_pitch - np.mean(pitch)) / 12.0
  return float(np.round(octaves)) if round_to_octave else float(octaves)


def _deviation(f0_midi, offset):
  """Signed distance (semitones, in [-0.5, 0.5)) to the nearest note."""
  return np.mod(f0_midi - offset + 0.5, 1.0) - 0.5


def get_tuning_factor(f0_midi, f0_confidence, mask_on):
  """Estimates how far (in semitones) the performance is tuned from A440.

  Each candidate offset in [-0.5, 0.5] (1 cent steps) defines a grid of notes
  `n + offset`. Its cost is the confidence-weighted mean distance of the note
  frames to the grid plus how often the nearest grid note changes from frame
  to frame (each term standardised over the candidates). The cheapest
  candidate wins.

  Args:
    f0_midi: [n_frames] or [batch, n_frames] float, MIDI.
    f0_confidence: same shape, in [0, 1], weights of the frames.
    mask_on: bool array of the same shape, the note frames.

  Returns:
    float in [-0.5, 0.5], semitones (0.1 = 10 cents sharp of A440); 0.0 if no
    frame is on.

  Example:
    >>> f0 = np.repeat([60.2, 62.2, 64.2], 50)
    >>> round(get_tuning_factor(f0, np.ones(150), np.ones(150, bool)), 2)
    0.2
  """
  f0_midi = _frames(f0_midi, 'f0_midi')
  f0_confidence = _frames(f0_confidence, 'f0_confidence')
  _same_shape({'f0_midi': f0_midi, 'f0_confidence': f0_confidence})
  mask_on = _mask(mask_on, f0_midi.shape)
  if not mask_on.any():
    return 0.0
  offsets = np.linspace(-0.5, 0.5, 101)
  f0_on = f0_midi[mask_on][:, np.newaxis]
  weights = f0_confidence[mask_on][:, np.newaxis]
  deviation = _deviation(f0_on, offsets[np.newaxis, :])
  distance_cost = np.mean(weights * np.abs(deviation), axis=0)
  nearest = np.round(f0_on - deviation, 6)
  changes = (np.diff(nearest, axis=0) != 0.0).astype(np.float64)
  change_cost = (np.mean(weights[1:] * changes, axis=0) if len(changes)
                 else np.zeros_like(distance_cost))

  def standardise(cost):
    std = np.std(cost)
    return (cost - np.mean(cost)) / std if std > 0 else np.zeros_like(cost)

  cost = standardise(distance_cost) + standardise(change_cost)
  return float(offsets[np.argmin(cost)])


def auto_tune(f0_midi, tuning_factor, mask_on, amount=0.0, chromatic=False):
  """Pulls f0 towards the nearest note of a tuned grid.

  Args:
    f0_midi: [n_frames] or [batch, n_frames] float, MIDI.
    tuning_factor: semitones, the grid offset (`get_tuning_factor`).
    mask_on: bool array of the same shape; the note frames used to infer the
      key (every frame is tuned).
    amount: in [0, 1], 0 leaves f0 unchanged, 1 snaps it to the grid.
    chromatic: snap to every semitone; otherwise to the notes of the major
      scale (of 12) that best fits the note frames.

  Returns:
    float array of the shape of `f0_midi`, MIDI.

  Example:
    >>> auto_tune(np.array([60.3, 61.8]), 0.0, np.ones(2, bool), amount=1.0,
    ...           chromatic=True).round(6).tolist()
    [60.0, 62.0]
  """
  f0_midi = _frames(f0_midi, 'f0_midi')
  mask_on = _mask(mask_on, f0_midi.shape)
  validation.check_in_range(amount, 'amount', 0.0, 1.0)
  if chromatic:
    deviation = _deviation(f0_midi, tuning_factor)
  else:
    # Pitch classes of the 12 major scales, shifted by the tuning.
    scales = (np.arange(12)[:, np.newaxis] + _MAJOR_SCALE) % 12 + tuning_factor

    def distance_to(scale, f0):
      diff = np.mod(f0[..., np.newaxis] - scale + 6.0, 12.0) - 6.0
      index = np.argmin(np.abs(diff), axis=-1)
      return np.take_along_axis(diff, index[..., np.newaxis], axis=-1)[..., 0]

    f0_on = f0_midi[mask_on] if mask_on.any() else f0_midi.ravel()
    costs = [np.mean(np.abs(distance_to(s, f0_on))) for s in scales]
    key = int(np.argmin(costs))
    logging.info('auto_tune: inferred key %s major, tuning %+.0f cents',
                 _KEY_NAMES[key], 100 * tuning_factor)
    deviation = distance_to(scales[key], f0_midi)
  return f0_midi - amount * deviation


# ------------------------------------------------------------------------------
# Dataset statistics.
# ------------------------------------------------------------------------------
def _stats(x, prefix, note_mask=None):
  """mean/max/min/std of x and the mean over examples of their max and min."""
  if note_mask is None:
    rows = list(x)
    values = x.ravel()
  else:
    rows = [row[m] for row, m in zip(x, note_mask) if m.any()]
    values = x[note_mask]
  return {
      f'mean_{prefix}': float(np.mean(values)),
      f'max_{prefix}': float(np.max(values)),
      f'min_{prefix}': float(np.min(values)),
      f'mean_max_{prefix}': float(np.mean([np.max(r) for r in rows])),
      f'mean_min_{prefix}': float(np.mean([np.min(r) for r in rows])),
      f'std_{prefix}': float(np.std(values)),
  }


def compute_dataset_statistics(data_provider, batch_size=1,
                               power_frame_size=1024, power_frame_rate=50,
                               trim_end_frames=20):
  """Statistics of a dataset for timbre transfer to a model trained on it.

  One pass over the data (no shuffling). Notes are detected with
  `detect_notes` on all examples together; an example without notes counts
  all its frames. Power (`spectral_ops.compute_power`) is computed from the
  audio; each power frame is on when the loudness frame at its time is.

  Args:
    data_provider: a `ddsp.training.data.DataProvider` with 'audio', 'f0_hz',
      'f0_confidence' and 'loudness_db' (if 'audio_16k' exists it is used for
      power).
    batch_size: examples read at a time.
    power_frame_size: samples per power frame (1024 = 64 ms at 16 kHz).
    power_frame_rate: power frames per second.
    trim_end_frames: frames dropped from the end of each example (features
      there see padding); power drops the same duration.

  Returns:
    dict with, for `pitch` (MIDI), `loudness` (dB) and `power` (dB) over all
    frames and for `pitch_note`, `loudness_note`, `power_note` over note
    frames: `mean_<x>`, `max_<x>`, `min_<x>`, `std_<x>`, `mean_max_<x>` and
    `mean_min_<x>` (means over examples of their max and min); the
    `quantile_transform` (`QuantileTransformer`) of note loudness; and
    `n_examples`, `sample_rate`, `frame_rate`.

  Raises:
    ValueError: if the provider yields no example or lacks a feature.
  """
  from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
  batch_size = validation.check_positive_int(batch_size, 'batch_size')
  trim = validation.check_non_negative_int(trim_end_frames, 'trim_end_frames')
  logging.info('Computing dataset statistics of %s', data_provider)
  dataset = data_provider.get_batch(batch_size, shuffle=False, repeats=1,
                                    drop_remainder=False)
  columns = {k: [] for k in ('loudness_db', 'f0_hz', 'f0_confidence', 'power')}
  for batch in dataset:
    missing = {'audio', 'f0_hz', 'f0_confidence', 'loudness_db'} - set(batch)
    if missing:
      raise ValueError('compute_dataset_statistics needs the features '
                       f'{sorted(missing)}; the provider gives '
                       f'{sorted(batch)}.')
    audio_key = 'audio_16k' if 'audio_16k' in batch else 'audio'
    rate = 16000 if audio_key == 'audio_16k' else data_provider.sample_rate
    columns['power'].append(spectral_ops.compute_power(
        batch[audio_key], sample_rate=rate, frame_rate=power_frame_rate,
        frame_size=power_frame_size).numpy())
    for key in ('loudness_db', 'f0_hz', 'f0_confidence'):
      columns[key].append(_frames(batch[key].numpy(), key).reshape(
          batch[key].shape[0], -1))
  if not columns['f0_hz']:
    raise ValueError(f'The data provider {data_provider!r} yielded no example.')
  data = {k: np.concatenate(v, axis=0) for k, v in columns.items()}
  n_frames = data['loudness_db'].shape[1]
  if trim >= n_frames:
    raise ValueError(f'`trim_end_frames` must be less than the {n_frames} '
                     f'frames of an example. Received: trim_end_frames={trim}')
  keep = slice(0, n_frames - trim)
  loudness, f0_confidence = data['loudness_db'][:, keep], data[
      'f0_confidence'][:, keep]
  pitch = core.hz_to_midi(data['f0_hz'][:, keep], use_tf=False)
  mask_on, _ = detect_notes(loudness, f0_confidence)
  mask_on |= ~mask_on.any(axis=1, keepdims=True)

  # Power frames: keep the same duration, and use the note mask at their time.
  frame_rate = data_provider.frame_rate
  power_times = np.arange(data['power'].shape[1]) / power_frame_rate
  power_keep = power_times < (n_frames - trim) / frame_rate
  power = data['power'][:, power_keep]
  index = np.minimum(np.round(power_times[power_keep] * frame_rate).astype(int),
                     n_frames - trim - 1)
  power_mask = mask_on[:, index]
  power_mask |= ~power_mask.any(axis=1, keepdims=True)

  stats = {}
  stats.update(_stats(pitch, 'pitch'))
  stats.update(_stats(power, 'power'))
  stats.update(_stats(loudness, 'loudness'))
  stats.update(_stats(pitch, 'pitch_note', mask_on))
  stats.update(_stats(power, 'power_note', power_mask))
  stats.update(_stats(loudness, 'loudness_note', mask_on))
  stats['quantile_transform'] = fit_quantile_transform(loudness, mask_on)
  stats.update(n_examples=int(pitch.shape[0]),
               sample_rate=int(data_provider.sample_rate),
               frame_rate=int(frame_rate))
  return stats


def _resolve_path(path, must_exist):
  path = os.fspath(path)
  if os.path.isdir(path):
    for name in (DATASET_STATISTICS_JSON, DATASET_STATISTICS_PICKLE):
      candidate = os.path.join(path, name)
      if os.path.exists(candidate) or not must_exist:
        return candidate
    raise FileNotFoundError(
        f'No {DATASET_STATISTICS_JSON} or {DATASET_STATISTICS_PICKLE} in '
        f'{path!r}.')
  return path


def save_dataset_statistics(data_provider_or_stats, file_path=None,
                            batch_size=1, **kwargs):
  """Computes (if needed) and saves dataset statistics beside a model.

  Args:
    data_provider_or_stats: a `DataProvider` (statistics are computed with
      `compute_dataset_statistics(provider, batch_size, **kwargs)`) or a dict
      it returned.
    file_path: where to write: a '.json' file (portable, safe to load), any
      other name for a pickle (as the published library), or a directory (the
      model's) to write `dataset_statistics.json` in. None: do not write.
    batch_size: see `compute_dataset_statistics`.
    **kwargs: passed to `compute_dataset_statistics`.

  Returns:
    The statistics dict.
  """
  stats = data_provider_or_stats
  if not isinstance(stats, dict):
    stats = compute_dataset_statistics(stats, batch_size=batch_size, **kwargs)
  if file_path is None:
    return stats
  path = _resolve_path(file_path, must_exist=False)
  if path.endswith('.json'):
    serialisable = {k: (v.to_dict() if isinstance(v, QuantileTransformer)
                        else v) for k, v in stats.items()}
    with open(path, 'w', encoding='utf-8') as f:
      json.dump(serialisable, f, indent=1)
  else:
    with open(path, 'wb') as f:
      pickle.dump(stats, f)
  logging.info('Saved dataset statistics to %s', path)
  return stats


def load_dataset_statistics(file_path):
  """Reads statistics written by `save_dataset_statistics`.

  Args:
    file_path: a '.json' or pickle file, or a model directory holding
      `dataset_statistics.json` or `dataset_statistics.pkl` (the published
      library's pickles load too). Only load pickles you trust: unpickling
      runs code.

  Returns:
    The statistics dict, with 'quantile_transform' a `QuantileTransformer`.

  Raises:
    FileNotFoundError: if there is no statistics file.
  """
  path = _resolve_path(file_path, must_exist=True)
  if path.endswith('.json'):
    with open(path, encoding='utf-8') as f:
      stats = json.load(f)
    if isinstance(stats.get('quantile_transform'), dict):
      stats['quantile_transform'] = QuantileTransformer.from_dict(
          stats['quantile_transform'])
    return stats
  with open(path, 'rb') as f:
    return pickle.load(f)
