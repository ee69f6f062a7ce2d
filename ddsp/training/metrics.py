"""Metrics of resynthesis quality: loudness and pitch of the generated audio.

A good autoencoder reproduces the loudness and the pitch of its input. These
metrics measure both on the generated audio with the same tools that made the
input features (A-weighted loudness, the CREPE pitch tracker), following the
published DDSP evaluation (Engel et al., ICLR 2020, table 1):

* Loudness L1 (`LoudnessMetrics`, key 'loudness_db'): per example, the mean
  absolute difference in dB between `compute_loudness` of the input audio and
  of the generated audio (same sample rate, frame rate and framing); averaged
  over examples.
* f0 L1 (`F0CrepeMetrics`, key 'f0_dist_cents'): CREPE is run on the generated
  audio at the features' frame rate. An example whose reference f0 is nowhere
  confident (max confidence < `MIN_F0_CONFIDENCE` = 0.85) is skipped: its
  pitch cannot be trusted. Otherwise the per-example distance is the mean,
  over the frames where the reference confidence is >= 0.85, of the absolute
  difference in cents between the reference f0 and the re-detected f0.
  Averaged over the examples that are not outliers. Key 'f0_dist' holds the
  same quantity in semitones, as the published library reported it (1
  semitone = 100 cents).
* f0 outlier ratio (key 'outlier_ratio'), the published definition: an
  example with a confident reference is an outlier when its distance above
  exceeds `OUTLIER_CENTS` = 1200 cents (the published 12 semitones, one
  octave): the generated audio has lost the pitch (octave jumps, noise,
  silence). Ratio = outliers / examples with a confident reference.
* Raw pitch accuracy (key 'raw_pitch_accuracy', as `mir_eval.melody`): the
  fraction of confident reference frames whose re-detected f0 is within
  `RPA_CENTS` = 50 cents; 'raw_chroma_accuracy' ignores octave errors. These
  count every example with a confident reference, outliers included, and
  give the frame-level view (1 - RPA is the ratio of frames off by > 50
  cents).

`F0Metrics` computes the same f0 numbers for an f0 predicted by a model (e.g.
an f0 encoder) instead of re-detected by CREPE.

Note transcription metrics (`MidiMetrics`, for the MIDI autoencoder and the
note heuristics), as `mir_eval.transcription`: notes are matched one to one
with a pitch within 50 cents and an onset within 50 ms ('onset'), and for
'full_note' also an offset within max(50 ms, 20 % of the reference note's
length); 'frame' counts frames where some note sounds in both, one or the
other (single-note audio). Each gives precision, recall and F1 from the
summed true positive, false positive and false negative counts
(`EvalCounts`). They need the optional `ddsp[midi]` packages (note_seq,
mir_eval).

Every metric object accumulates like a Keras metric: `update_state(...)` per
batch, `result()` (a dict of floats; NaN where nothing was counted),
`reset_state()`, and `flush(step)` which writes the results as TensorBoard
scalars `metrics/<name>/<key>` and resets.
"""

import dataclasses
import logging
import math

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import spectral_ops
from ddsp import validation
from ddsp.training import note_util

__all__ = [
    'MIN_F0_CONFIDENCE',
    'OUTLIER_CENTS',
    'RPA_CENTS',
    'BaseMetrics',
    'EvalCounts',
    'MidiMetrics',
    'compute_audio_features',
    'compute_frame_metrics',
    'compute_note_metrics',
    'sequence2intervals',
    'F0CrepeMetrics',
    'F0Metrics',
    'LoudnessMetrics',
    'Mean',
    'cents_distance',
    'f0_dist_conf_thresh',
    'f0_example_metrics',
    'is_outlier',
    'l1_distance',
    'raw_chroma_accuracy',
    'raw_pitch_accuracy',
    'squeeze',
]

MIN_F0_CONFIDENCE = 0.85
OUTLIER_CENTS = 1200.0
RPA_CENTS = 50.0


# ------------------------------------------------------------------------------
# Functions on one example.
# ------------------------------------------------------------------------------
def squeeze(input_vector):
  """A numpy copy of `input_vector` with size-1 axes removed ([n_frames])."""
  x = np.asarray(input_vector)
  return np.squeeze(x) if x.ndim > 1 else x


def l1_distance(prediction, ground_truth):
  """Element-wise |prediction - ground_truth| of two 1-D vectors.

  Both are squeezed; the longer one is cut to the shorter one's length.
  """
  prediction, ground_truth = squeeze(prediction), squeeze(ground_truth)
  n = min(prediction.size, ground_truth.size)
  return np.abs(prediction[:n] - ground_truth[:n])


def is_outlier(ground_truth_f0_conf, threshold=MIN_F0_CONFIDENCE):
  """Whether a reference f0 track is unreliable: confidence never >= threshold.

  The published name: such an example is left out of the f0 metrics.
  """
  return bool(np.max(squeeze(ground_truth_f0_conf)) < threshold)


def compute_audio_features(audio, frame_rate=250, sample_rate=16000,
                           crepe_model='tiny', viterbi=True):
  """Loudness and CREPE f0 of audio, as a dataset's features.

  Args:
    audio: [n_samples] or [batch, n_samples] float audio at `sample_rate`.
    frame_rate: feature frames per second ('center' framing:
      n_samples * frame_rate // sample_rate + 1 frames).
    sample_rate: Hz (the published function assumed 16 kHz).
    crepe_model: CREPE size or weights (see `spectral_ops.compute_f0`).
    viterbi: Viterbi-smooth the f0.

  Returns:
    Dict of numpy arrays: 'audio' (the input), 'loudness_db' (dB, A-weighted,
    `spectral_ops.compute_loudness`), 'f0_hz' (Hz) and 'f0_confidence' (in
    [0, 1]), each [n_frames] (or [batch, n_frames]) float32.

  Example:
    >>> t = np.arange(4000) / 16000
    >>> feats = compute_audio_features(np.sin(2 * np.pi * 440 * t))
    >>> feats['f0_hz'].shape, feats['loudness_db'].shape
    ((63,), (63,))
  """
  audio = core.to_numpy(audio).astype(np.float32)
  if audio.ndim > 1:
    audio = np.squeeze(audio)
  validation.check_audio(audio, 'audio')
  features = {'audio': audio}
  features['loudness_db'] = np.asarray(spectral_ops.compute_loudness(
      audio, sample_rate=sample_rate, frame_rate=frame_rate, use_tf=False),
                                       np.float32)
  features['f0_hz'], features['f0_confidence'] = spectral_ops.compute_f0(
      audio, frame_rate, viterbi=viterbi, sample_rate=sample_rate,
      crepe_model=crepe_model)
  return features


def cents_distance(f0_hz, f0_hz_gen):
  """Signed distance in cents from `f0_hz` to `f0_hz_gen`, per frame.

  `1200 * log2(f0_hz_gen / f0_hz)`; a non-positive (unvoiced) frequency counts
  as MIDI 0 (8.18 Hz), as `ddsp.core.hz_to_midi`, so it is far from any note.

  Args:
    f0_hz: [n_frames] array, Hz, the reference.
    f0_hz_gen: [n_frames] array, Hz.

  Returns:
    [n_frames] float64 array, cents.
  """
  return 100.0 * (core.hz_to_midi(f0_hz_gen, use_tf=False) -
                  core.hz_to_midi(f0_hz, use_tf=False))


def raw_pitch_accuracy(f0_hz, f0_hz_gen, voiced, cent_tolerance=RPA_CENTS):
  """Fraction of voiced reference frames whose f0 is within the tolerance.

  Args:
    f0_hz: [n_frames] array, Hz, the reference.
    f0_hz_gen: [n_frames] array, Hz, the estimate.
    voiced: [n_frames] bool, the reference frames to score.
    cent_tolerance: cents.

  Returns:
    float in [0, 1], NaN if no frame is voiced.

  Example:
    >>> raw_pitch_accuracy([440.0, 440.0], [445.0, 466.2], [True, True])
    0.5
  """
  voiced = np.asarray(voiced, bool)
  if not voiced.any():
    return math.nan
  error = np.abs(cents_distance(f0_hz, f0_hz_gen))[voiced]
  return float(np.mean(error <= cent_tolerance))


def raw_chroma_accuracy(f0_hz, f0_hz_gen, voiced, cent_tolerance=RPA_CENTS):
  """As `raw_pitch_accuracy`, but octave errors count as correct."""
  voiced = np.asarray(voiced, bool)
  if not voiced.any():
    return math.nan
  error = np.mod(cents_distance(f0_hz, f0_hz_gen)[voiced], 1200.0)
  error = np.minimum(error, 1200.0 - error)
  return float(np.mean(error <= cent_tolerance))


def f0_dist_conf_thresh(f0_hz, f0_hz_gen, f0_confidence,
                        f0_confidence_thresh=MIN_F0_CONFIDENCE):
  """Mean |f0 difference| in semitones over confident reference frames.

  The published helper (MIDI units); `f0_example_metrics` gives cents.

  Args:
    f0_hz: [n_frames] reference f0, Hz.
    f0_hz_gen: [n_frames] generated f0, Hz.
    f0_confidence: [n_frames] reference confidence in [0, 1].
    f0_confidence_thresh: frames with confidence >= this are compared.

  Returns:
    float, semitones; None if no frame is confident.
  """
  f0_confidence = squeeze(f0_confidence)
  keep = f0_confidence >= f0_confidence_thresh
  if not keep.any():
    return None
  n = min(keep.size, squeeze(f0_hz).size, squeeze(f0_hz_gen).size)
  diff = np.abs(cents_distance(squeeze(f0_hz)[:n], squeeze(f0_hz_gen)[:n]))
  return float(np.mean(diff[keep[:n]]) / 100.0)


def f0_example_metrics(f0_hz, f0_confidence, f0_hz_gen,
                       min_confidence=MIN_F0_CONFIDENCE,
                       outlier_cents=OUTLIER_CENTS, rpa_cents=RPA_CENTS):
  """The f0 metrics of one example (see the module doc).

  Args:
    f0_hz: [n_frames] reference f0, Hz.
    f0_confidence: [n_frames] reference confidence in [0, 1].
    f0_hz_gen: [n_frames] f0 of the generated audio (or predicted), Hz.
    min_confidence: reference frames with confidence >= this are scored.
    outlier_cents: an example whose mean distance exceeds this is an outlier.
    rpa_cents: tolerance of the raw pitch and chroma accuracies.

  Returns:
    None if no reference frame is confident; otherwise a dict with
    'f0_dist_cents' (mean |difference| over the confident frames),
    'is_outlier' (bool), 'raw_pitch_accuracy' and 'raw_chroma_accuracy'.

  Example:
    >>> out = f0_example_metrics(np.full(4, 440.0), np.ones(4),
    ...                          np.full(4, 440.0 * 2 ** (1 / 12)))
    >>> round(out['f0_dist_cents'], 6), out['is_outlier']
    (100.0, False)
  """
  f0_hz, f0_confidence, f0_hz_gen = (squeeze(f0_hz), squeeze(f0_confidence),
                                     squeeze(f0_hz_gen))
  shapes = {'f0_hz': f0_hz.shape, 'f0_confidence': f0_confidence.shape,
            'f0_hz_gen': f0_hz_gen.shape}
  if len(set(shapes.values())) > 1:
    detail = ', '.join(f'{k}.shape={v}' for k, v in shapes.items())
    raise ValueError(f'The f0 tracks must have the same number of frames. '
                     f'Received: {detail}')
  voiced = f0_confidence >= min_confidence
  if not voiced.any():
    return None
  dist = float(np.mean(np.abs(cents_distance(f0_hz, f0_hz_gen))[voiced]))
  return {
      'f0_dist_cents': dist,
      'is_outlier': bool(dist > outlier_cents),
      'raw_pitch_accuracy': raw_pitch_accuracy(f0_hz, f0_hz_gen, voiced,
                                               rpa_cents),
      'raw_chroma_accuracy': raw_chroma_accuracy(f0_hz, f0_hz_gen, voiced,
                                                 rpa_cents),
  }


# ------------------------------------------------------------------------------
# Accumulators.
# ------------------------------------------------------------------------------
class Mean:
  """Running (weighted) mean of scalars, like `keras.metrics.Mean` in numpy.

  Example:
    >>> m = Mean()
    >>> m.update_state(1.0); m.update_state(4.0, sample_weight=2.0)
    >>> m.result()
    3.0
  """

  def __init__(self, name='mean'):
    self.name = name
    self.reset_state()

  def update_state(self, value, sample_weight=1.0):
    """Adds `value` (a scalar or an array, averaged) with `sample_weight`."""
    value = np.asarray(value, dtype=np.float64)
    self._total += float(np.sum(value)) * sample_weight
    self._count += value.size * sample_weight

  def result(self):
    """The mean so far, NaN before any update."""
    return self._total / self._count if self._count else math.nan

  def reset_state(self):
    self._total = 0.0
    self._count = 0.0

  @property
  def count(self):
    """Total weight added so far."""
    return self._count


class BaseMetrics:
  """Base class: a named group of `Mean` accumulators.

  Subclasses fill `self.metrics` (a dict of `Mean`) and implement
  `update_state`.

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the features.
    name: prefix of the TensorBoard scalars ('metrics/<name>/<key>').
  """

  def __init__(self, sample_rate, frame_rate, name):
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    self.frame_rate = validation.check_positive(frame_rate, 'frame_rate')
    self.name = name
    self.metrics = {}

  def update_state(self, *args, **kwargs):
    raise NotImplementedError

  def result(self):
    """Dict of metric key -> float (NaN where nothing was counted)."""
    return {k: m.result() for k, m in self.metrics.items()}

  def reset_state(self):
    for m in self.metrics.values():
      m.reset_state()

  def flush(self, step):
    """Writes the results as scalars under the default summary writer, resets.

    Results that are NaN (nothing counted) are logged but not written.

    Args:
      step: int, the training step of the evaluated checkpoint.

    Returns:
      The results dict, keys 'metrics/<name>/<key>'.
    """
    results = {f'metrics/{self.name}/{k}': v for k, v in self.result().items()}
    logging.info('%s metrics: %s', self.name, ' | '.join(
        f'{k}: {v:.3f}' for k, v in self.result().items()))
    for tag, value in results.items():
      if math.isnan(value):
        logging.info('%s: nothing counted, not written.', tag)
        continue
      tf.summary.scalar(tag, value, step=step)
    self.reset_state()
    return results


def _frames_batch(x, name, batch_size):
  x = core.to_numpy(x).astype(np.float64)
  if x.ndim == 3 and x.shape[-1] == 1:
    x = x[..., 0]
  if x.ndim != 2 or x.shape[0] != batch_size:
    raise ValueError(f'`{name}` must be [batch, n_frames] (or [batch, '
                     f'n_frames, 1]) with batch {batch_size}. '
                     f'Received: {name}.shape={x.shape}')
  return x


class LoudnessMetrics(BaseMetrics):
  """Loudness L1 in dB between input and generated audio ('loudness_db').

  Both loudness tracks are computed here with `spectral_ops.compute_loudness`
  (same sample rate, frame rate and framing), so they align frame by frame
  whatever framing the dataset's features used.

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: loudness frames per second.
    name: summary prefix.
    n_fft: loudness FFT size (512 = 32 ms at 16 kHz).

  Example:
    >>> t = np.arange(8000) / 16000
    >>> audio = 0.5 * np.sin(2 * np.pi * 440 * t)[np.newaxis]
    >>> m = LoudnessMetrics(16000, 250)
    >>> _ = m.update_state({'audio': audio}, 0.5 * audio)
    >>> round(m.result()['loudness_db'], 2)
    6.02
  """

  def __init__(self, sample_rate, frame_rate, name='loudness', n_fft=512):
    super().__init__(sample_rate, frame_rate, name)
    self.n_fft = validation.check_positive_int(n_fft, 'n_fft')
    self.metrics = {'loudness_db': Mean('loudness_db')}

  def loudness(self, audio):
    """[batch, n_frames] float32 loudness (dB) of [batch, n_samples] audio."""
    return spectral_ops.compute_loudness(
        audio, sample_rate=self.sample_rate, frame_rate=self.frame_rate,
        n_fft=self.n_fft, use_tf=False)

  def update_state(self, batch, audio_gen):
    """Adds the loudness L1 of each example.

    Args:
      batch: dict with 'audio' [batch, n_samples] float32, the input.
      audio_gen: [batch, n_samples] float32, the generated audio.

    Returns:
      [batch] float64 array, the L1 distance in dB of each example.
    """
    audio = core.numpy_audio_batch(batch['audio'], "batch['audio']")
    audio_gen = core.numpy_audio_batch(audio_gen, 'audio_gen')
    validation.check_same_shape({"batch['audio']": audio,
                                 'audio_gen': audio_gen})
    dist = np.mean(np.abs(self.loudness(audio).astype(np.float64) -
                          self.loudness(audio_gen)), axis=-1)
    for i, d in enumerate(dist):
      self.metrics['loudness_db'].update_state(d)
      logging.debug('%s | example %d | loudness L1 (dB): %.3f', self.name, i, d)
    return dist


class F0Metrics(BaseMetrics):
  """f0 L1 (cents), outlier ratio and pitch accuracies of a given f0 track.

  Keys: 'f0_dist_cents' (non-outlier examples), 'f0_dist' (semitones, every
  example with a confident reference, as the published F0Metrics),
  'outlier_ratio', 'raw_pitch_accuracy', 'raw_chroma_accuracy'.

  Compares `batch['f0_hz']` (the reference, scored where
  `batch['f0_confidence'] >= min_confidence`) with an f0 predicted by a model.
  A prediction with another number of frames is linearly resampled to the
  reference's.

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the features.
    name: summary prefix.
    min_confidence: reference confidence threshold (0.85).
    outlier_cents: outlier threshold in cents (1200).
    rpa_tolerance: cents, tolerance of the raw pitch accuracy (50).
  """

  f0_dist_counts_outliers = True

  def __init__(self, sample_rate, frame_rate, name='f0',
               min_confidence=MIN_F0_CONFIDENCE, outlier_cents=OUTLIER_CENTS,
               rpa_tolerance=RPA_CENTS):
    super().__init__(sample_rate, frame_rate, name)
    self.min_confidence = validation.check_in_range(
        min_confidence, 'min_confidence', 0.0, 1.0)
    self.outlier_cents = validation.check_positive(outlier_cents,
                                                   'outlier_cents')
    self.rpa_tolerance = validation.check_positive(rpa_tolerance,
                                                   'rpa_tolerance')
    # 'f0_dist': the published key, in semitones; as published, F0Metrics
    # averages it over every example with a confident reference, outliers
    # included, and F0CrepeMetrics over the non-outliers ('f0_dist_cents').
    self.metrics = {k: Mean(k) for k in (
        'f0_dist_cents', 'f0_dist', 'outlier_ratio', 'raw_pitch_accuracy',
        'raw_chroma_accuracy')}

  def _reference(self, batch, batch_size=None):
    for key in ('f0_hz', 'f0_confidence'):
      if key not in batch:
        raise ValueError(f'{type(self).__name__} needs batch[{key!r}]; the '
                         f'batch has keys {sorted(batch)}.')
    if batch_size is None:
      batch_size = np.shape(batch['f0_hz'])[0]
    return (_frames_batch(batch['f0_hz'], "batch['f0_hz']", batch_size),
            _frames_batch(batch['f0_confidence'], "batch['f0_confidence']",
                          batch_size))

  def _update(self, f0_ref, conf_ref, f0_est):
    per_example = []
    for i in range(f0_ref.shape[0]):
      out = f0_example_metrics(f0_ref[i], conf_ref[i], f0_est[i],
                               self.min_confidence, self.outlier_cents,
                               self.rpa_tolerance)
      per_example.append(out)
      if out is None:
        logging.debug('%s | example %d | reference f0 not confident, skipped',
                      self.name, i)
        continue
      self.metrics['outlier_ratio'].update_state(float(out['is_outlier']))
      if not out['is_outlier']:
        self.metrics['f0_dist_cents'].update_state(out['f0_dist_cents'])
      if not out['is_outlier'] or self.f0_dist_counts_outliers:
        self.metrics['f0_dist'].update_state(out['f0_dist_cents'] / 100.0)
      for key in ('raw_pitch_accuracy', 'raw_chroma_accuracy'):
        self.metrics[key].update_state(out[key])
      logging.debug('%s | example %d | f0 L1 (cents): %.1f%s', self.name, i,
                    out['f0_dist_cents'],
                    ' (outlier)' if out['is_outlier'] else '')
    return per_example

  def update_state(self, batch, f0_hz_predict):
    """Adds the f0 metrics of each example.

    Args:
      batch: dict with 'f0_hz' and 'f0_confidence' [batch, n_frames(, 1)].
      f0_hz_predict: [batch, n_frames'(, 1)] predicted f0, Hz.

    Returns:
      List (one per example) of the dicts of `f0_example_metrics`, None for
      skipped examples.
    """
    f0_ref, conf_ref = self._reference(batch)
    f0_est = _frames_batch(f0_hz_predict, 'f0_hz_predict', f0_ref.shape[0])
    n_ref, n_est = f0_ref.shape[1], f0_est.shape[1]
    if n_est != n_ref:
      positions = np.linspace(0.0, n_est - 1.0, n_ref)
      f0_est = np.stack([np.interp(positions, np.arange(n_est), row)
                         for row in f0_est])
    return self._update(f0_ref, conf_ref, f0_est)


def _padding_for(n_samples, sample_rate, frame_rate, n_frames):
  """The framing ('same' or 'center') that gives `n_frames` frames."""
  hop = sample_rate / frame_rate
  for padding in ('same', 'center'):
    if spectral_ops.get_framed_lengths(n_samples, 1024, hop,
                                       padding)[0] == n_frames:
      return padding
  same = spectral_ops.get_framed_lengths(n_samples, 1024, hop, 'same')[0]
  raise ValueError(
      f'The reference f0 has {n_frames} frames, but {n_samples} samples at '
      f'{sample_rate} Hz and {frame_rate} frames/s give {same} frames '
      f"('same' padding) or {same + 1} ('center'). Check `frame_rate` and "
      'the features.')


class F0CrepeMetrics(F0Metrics):
  """f0 metrics of generated audio, its f0 re-detected by CREPE.

  As `F0Metrics`, but 'f0_dist' (semitones) leaves the outliers out, as the
  published F0CrepeMetrics.

  CREPE (`spectral_ops.compute_f0`, Viterbi decoding by default) runs on the
  generated audio at `frame_rate`, framed like the reference ('same' or
  'center' padding, whichever gives the reference's number of frames). If the
  batch has no 'f0_hz'/'f0_confidence', they are computed from
  `batch['audio']` with the same model.

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the features.
    name: summary prefix.
    crepe_model: 'tiny' (default, installed), 'small', 'medium', 'large',
      'full', a weights path or a `PretrainedCREPE`. Datasets are usually
      prepared with 'full'; a smaller model is faster and its error on clean
      tones is a few cents.
    viterbi: smooth the re-detected pitch path.
    min_confidence, outlier_cents, rpa_tolerance: see `F0Metrics`.
  """

  f0_dist_counts_outliers = False

  def __init__(self, sample_rate, frame_rate, name='f0_crepe',
               crepe_model='tiny', viterbi=True,
               min_confidence=MIN_F0_CONFIDENCE, outlier_cents=OUTLIER_CENTS,
               rpa_tolerance=RPA_CENTS):
    super().__init__(sample_rate, frame_rate, name, min_confidence,
                     outlier_cents, rpa_tolerance)
    self.crepe_model = crepe_model
    self.viterbi = bool(viterbi)
    # f0 [batch, n_frames] (Hz) of the generated audio of the last update.
    self.last_f0_gen = None

  def compute_f0(self, audio, n_frames=None):
    """CREPE f0 (Hz) and confidence, [batch, n_frames] float32 each.

    One `spectral_ops.compute_f0` call per example, as published (tests that
    mock it return one example per call).
    """
    padding = ('center' if n_frames is None else _padding_for(
        audio.shape[-1], self.sample_rate, self.frame_rate, n_frames))
    f0s, confidences = [], []
    for example in audio:
      f0, confidence = spectral_ops.compute_f0(
          example, self.frame_rate, viterbi=self.viterbi, padding=padding,
          sample_rate=self.sample_rate, crepe_model=self.crepe_model)
      f0s.append(np.asarray(f0, np.float32).reshape(-1))
      confidences.append(np.asarray(confidence, np.float32).reshape(-1))
    return np.stack(f0s), np.stack(confidences)

  def update_state(self, batch, audio_gen):
    """Adds the f0 metrics of each generated example.

    Args:
      batch: dict with 'f0_hz' and 'f0_confidence' [batch, n_frames(, 1)]
        (or, lacking them, 'audio' [batch, n_samples]).
      audio_gen: [batch, n_samples] float32, the generated audio.

    Returns:
      List (one per example) of the dicts of `f0_example_metrics`, None for
      skipped examples.
    """
    audio_gen = core.numpy_audio_batch(audio_gen, 'audio_gen')
    if 'f0_hz' in batch and 'f0_confidence' in batch:
      f0_ref, conf_ref = self._reference(batch, audio_gen.shape[0])
    else:
      f0_ref, conf_ref = self.compute_f0(
          core.numpy_audio_batch(batch['audio'], "batch['audio']"))
    f0_gen, _ = self.compute_f0(audio_gen, n_frames=f0_ref.shape[1])
    self.last_f0_gen = f0_gen
    return self._update(np.asarray(f0_ref), np.asarray(conf_ref), f0_gen)


# ------------------------------------------------------------------------------
# Note transcription metrics.
# ------------------------------------------------------------------------------
@dataclasses.dataclass
class EvalCounts:
  """True positive, false positive and false negative counts.

  Example:
    >>> counts = EvalCounts(tp=3, fp=1, fn=2)
    >>> counts.add(EvalCounts(1, 0, 2))
    >>> counts.precision, counts.recall, round(counts.f1, 4)
    (0.8, 0.5, 0.6154)
  """
  tp: int
  fp: int
  fn: int

  def add(self, other):
    """Adds the counts of `other` (an EvalCounts) to these, in place."""
    self.tp += other.tp
    self.fp += other.fp
    self.fn += other.fn

  @property
  def precision(self):
    """tp / (tp + fp); 0 when nothing was predicted."""
    return self.tp / max(self.tp + self.fp, 1)

  @property
  def recall(self):
    """tp / (tp + fn); 0 when there was nothing to find."""
    return self.tp / max(self.tp + self.fn, 1)

  @property
  def f1(self):
    """Harmonic mean of precision and recall; 0 when both are 0."""
    p, r = self.precision, self.recall
    return 2.0 * p * r / (p + r) if p + r > 0 else 0.0


def sequence2intervals(sequence):
  """The notes of a NoteSequence as arrays (the `mir_eval` format).

  Args:
    sequence: a `note_seq.NoteSequence` (or any object with `.notes` having
      `start_time`, `end_time` in seconds, `pitch`, `velocity`).

  Returns:
    intervals: [n_notes, 2] float64, (onset, offset) seconds.
    pitches: [n_notes] float64, MIDI.
    velocities: [n_notes] float64.
  """
  notes = list(sequence.notes)
  intervals = np.array([[n.start_time, n.end_time] for n in notes],
                       np.float64).reshape(-1, 2)
  pitches = np.array([n.pitch for n in notes], np.float64)
  velocities = np.array([n.velocity for n in notes], np.float64)
  return intervals, pitches, velocities


def compute_note_metrics(gt_sequence, pred_sequence):
  """Onset and full-note matching counts of predicted against true notes.

  Notes are matched one to one (`mir_eval.transcription.match_notes`, a
  maximum bipartite matching) when their pitches are within 50 cents and
  their onsets within 50 ms; for the full-note counts their offsets must
  also be within max(50 ms, 0.2 * the true note's duration).

  Args:
    gt_sequence: the true notes, a `note_seq.NoteSequence`.
    pred_sequence: the predicted notes, a `note_seq.NoteSequence`.

  Returns:
    (onset_counts, full_note_counts), two `EvalCounts`: tp = matched notes,
    fp = unmatched predicted notes, fn = unmatched true notes.
  """
  mir_eval = note_util.import_mir_eval()
  gt_intervals, gt_pitches, _ = sequence2intervals(gt_sequence)
  pred_intervals, pred_pitches, _ = sequence2intervals(pred_sequence)
  counts = []
  for offset_ratio in (None, 0.2):
    if gt_pitches.size and pred_pitches.size:
      n_matched = len(mir_eval.transcription.match_notes(
          gt_intervals, 440.0 * 2.0**((gt_pitches - 69.0) / 12.0),
          pred_intervals, 440.0 * 2.0**((pred_pitches - 69.0) / 12.0),
          offset_ratio=offset_ratio))
    else:
      n_matched = 0
    counts.append(EvalCounts(tp=n_matched, fp=pred_pitches.size - n_matched,
                             fn=gt_pitches.size - n_matched))
  return tuple(counts)


def compute_frame_metrics(gt_pianoroll, pred_pianoroll):
  """Frame counts of note activity, assuming single-note (monophonic) audio.

  A frame is active when any pitch of the piano roll is > 0; tp counts the
  frames active in both, fp those active only in the prediction, fn those
  active only in the truth (pitches are not compared).

  Args:
    gt_pianoroll: [n_frames, n_pitches] true piano roll.
    pred_pianoroll: [n_frames, n_pitches] predicted piano roll.

  Returns:
    An `EvalCounts`.

  Example:
    >>> gt = np.zeros([6, 128]); gt[1:4, 60] = 1
    >>> pred = np.zeros([6, 128]); pred[2:5, 62] = 1
    >>> compute_frame_metrics(gt, pred)
    EvalCounts(tp=2, fp=1, fn=1)
  """
  gt = np.asarray(gt_pianoroll).reshape(np.shape(gt_pianoroll)[0], -1)
  pred = np.asarray(pred_pianoroll).reshape(np.shape(pred_pianoroll)[0], -1)
  validation.check_same_shape({'gt_pianoroll': gt,
                               'pred_pianoroll': pred})
  gt_on, pred_on = gt.max(axis=1) > 0, pred.max(axis=1) > 0
  return EvalCounts(tp=int(np.sum(gt_on & pred_on)),
                    fp=int(np.sum(pred_on & ~gt_on)),
                    fn=int(np.sum(gt_on & ~pred_on)))


class MidiMetrics:
  """Note and frame transcription metrics of predicted notes, accumulated.

  `update_state` compares each example's predicted notes with the true
  piano roll (`controls_batch[gt_key]`); `flush(step)` writes
  'metrics/midi/<tag>/{onset,full_note,frame}/{f1,precision,recall}' scalars
  from the summed counts and resets them.

  Args:
    frames_per_second: frame rate of the piano rolls.
    tag: name in the summary tags (e.g. 'learned', 'heuristic').
    align_midi_with_f0: before matching, move each true note's onset to the
      first frame (from the previous note's offset) and its offset to the
      last frame (up to the next note's onset) where the rounded f0 of
      `controls_batch['f0_hz']` equals the note's pitch, so that score
      timing is compared with what was played.
  """

  def __init__(self, frames_per_second, tag, align_midi_with_f0=True):
    self._frames_per_second = validation.check_positive(frames_per_second,
                                                        'frames_per_second')
    self.tag = tag
    self._align_midi_with_f0 = bool(align_midi_with_f0)
    self.note_counts = EvalCounts(0, 0, 0)
    self.note_offset_counts = EvalCounts(0, 0, 0)
    self.frame_counts = EvalCounts(0, 0, 0)

  def _to_sequence(self, notes):
    if note_util.is_note_sequence(notes):
      return notes
    return note_util.pianoroll_to_note_sequence(core.to_numpy(notes),
                                                self._frames_per_second)

  def _to_pianoroll(self, notes, n_frames):
    if note_util.is_note_sequence(notes):
      return note_util.note_sequence_to_pianoroll(
          notes, self._frames_per_second, n_frames=n_frames)
    return core.to_numpy(notes)

  def align_midi_with_f0(self, gt_sequence, f0):
    """Aligns the true notes with the f0 (see the class doc), in place.

    Args:
      gt_sequence: a `note_seq.NoteSequence`.
      f0: [n_frames(, 1)] f0 in Hz at `frames_per_second`.

    Returns:
      `gt_sequence`, its notes' times changed.
    """
    rate = self._frames_per_second
    f0_midi = np.round(core.hz_to_midi(squeeze(core.to_numpy(f0)), use_tf=False))
    n = f0_midi.size
    notes = gt_sequence.notes
    frame = lambda seconds: int(round(seconds * rate))
    for i, note in enumerate(notes):
      lower = frame(notes[i - 1].end_time) if i > 0 else 0
      upper = min(frame(note.end_time), n)
      matches = np.flatnonzero(f0_midi[lower:upper] == note.pitch)
      if matches.size:
        note.start_time = float(lower + matches[0]) / rate
      lower = frame(note.start_time)
      upper = frame(notes[i + 1].start_time) if i < len(notes) - 1 else n - 1
      upper = min(upper, n - 1)
      # The last match in (lower, upper].
      matches = np.flatnonzero(f0_midi[lower + 1:upper + 1] == note.pitch)
      if matches.size:
        note.end_time = float(lower + 1 + matches[-1]) / rate
    return gt_sequence

  def update_state(self, controls_batch, pred_seq_batch,
                   gt_key='note_active_velocities', ch=None):
    """Adds the counts of a batch.

    Args:
      controls_batch: dict with `gt_key`, the true piano rolls [batch,
        n_frames, 128(, n_channels)], and 'f0_hz' [batch, n_frames(, 1)] (Hz)
        when aligning.
      pred_seq_batch: the predicted notes per example: a list of
        `note_seq.NoteSequence`s or piano rolls [batch, n_frames, 128(,
        n_channels)].
      gt_key: key of the true piano rolls.
      ch: channel of multi-channel piano rolls, or None.
    """
    if gt_key not in controls_batch:
      raise ValueError(f'MidiMetrics needs the true piano rolls '
                       f'controls_batch[{gt_key!r}]; the batch has keys '
                       f'{sorted(controls_batch)}.')
    gt_batch = core.to_numpy(controls_batch[gt_key])
    if len(pred_seq_batch) != gt_batch.shape[0]:
      raise ValueError(f'`pred_seq_batch` has {len(pred_seq_batch)} examples '
                       f'and controls_batch[{gt_key!r}] {gt_batch.shape[0]}.')
    for i in range(gt_batch.shape[0]):
      pred = pred_seq_batch[i]
      gt_pianoroll = gt_batch[i]
      if ch is not None:
        pred, gt_pianoroll = pred[..., ch], gt_pianoroll[..., ch]
      gt_sequence = self._to_sequence(gt_pianoroll)
      pred_sequence = self._to_sequence(pred)
      if self._align_midi_with_f0:
        gt_sequence = self.align_midi_with_f0(
            gt_sequence, core.to_numpy(controls_batch['f0_hz'])[i])
      onset, full_note = compute_note_metrics(gt_sequence, pred_sequence)
      self.note_counts.add(onset)
      self.note_offset_counts.add(full_note)
      pred_pianoroll = self._to_pianoroll(pred, gt_pianoroll.shape[0])
      self.frame_counts.add(compute_frame_metrics(gt_pianoroll,
                                                  pred_pianoroll))

  def result(self):
    """Dict '<onset|full_note|frame>/<f1|precision|recall>' -> float."""
    results = {}
    for name, counts in (('onset', self.note_counts),
                         ('full_note', self.note_offset_counts),
                         ('frame', self.frame_counts)):
      for key in ('f1', 'precision', 'recall'):
        results[f'{name}/{key}'] = float(getattr(counts, key))
    return results

  def reset_state(self):
    self.note_counts = EvalCounts(0, 0, 0)
    self.note_offset_counts = EvalCounts(0, 0, 0)
    self.frame_counts = EvalCounts(0, 0, 0)

  def flush(self, step):
    """Writes the scalars under the default summary writer and resets.

    Returns:
      Dict 'metrics/midi/<tag>/<kind>/<f1|precision|recall>' -> float.
    """
    results = {f'metrics/midi/{self.tag}/{k}': v
               for k, v in self.result().items()}
    logging.info(' | '.join(f'{k}: {v:0.3f}' for k, v in results.items()))
    for name, value in results.items():
      tf.summary.scalar(name, value, step=step)
    self.reset_state()
    return results
