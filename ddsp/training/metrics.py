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
  Averaged over the examples that are not outliers. (The published library
  reported the same quantity in semitones, key 'f0_dist'; 1 semitone = 100
  cents.)
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

Every metric object accumulates like a Keras metric: `update_state(...)` per
batch, `result()` (a dict of floats; NaN where nothing was counted),
`reset_state()`, and `flush(step)` which writes the results as TensorBoard
scalars `metrics/<name>/<key>` and resets.
"""

import logging
import math

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import spectral_ops
from ddsp import validation

__all__ = [
    'MIN_F0_CONFIDENCE',
    'OUTLIER_CENTS',
    'RPA_CENTS',
    'BaseMetrics',
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


def _numpy(x):
  return x.numpy() if isinstance(x, (tf.Tensor, tf.Variable)) else np.asarray(x)


def _audio_batch(audio, name):
  audio = _numpy(audio).astype(np.float32)
  validation.check_audio(audio, name)
  if audio.ndim == 3:
    audio = audio[..., 0]
  return audio[np.newaxis] if audio.ndim == 1 else audio


def _frames_batch(x, name, batch_size):
  x = _numpy(x).astype(np.float64)
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
    audio = _audio_batch(batch['audio'], "batch['audio']")
    audio_gen = _audio_batch(audio_gen, 'audio_gen')
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
    self.metrics = {k: Mean(k) for k in (
        'f0_dist_cents', 'outlier_ratio', 'raw_pitch_accuracy',
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
    """CREPE f0 (Hz) and confidence, [batch, n_frames] float32 each."""
    padding = ('center' if n_frames is None else _padding_for(
        audio.shape[-1], self.sample_rate, self.frame_rate, n_frames))
    return spectral_ops.compute_f0(
        audio, self.frame_rate, viterbi=self.viterbi, padding=padding,
        sample_rate=self.sample_rate, crepe_model=self.crepe_model)

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
    audio_gen = _audio_batch(audio_gen, 'audio_gen')
    if 'f0_hz' in batch and 'f0_confidence' in batch:
      f0_ref, conf_ref = self._reference(batch, audio_gen.shape[0])
    else:
      f0_ref, conf_ref = self.compute_f0(
          _audio_batch(batch['audio'], "batch['audio']"))
    f0_gen, _ = self.compute_f0(audio_gen, n_frames=f0_ref.shape[1])
    self.last_f0_gen = f0_gen
    return self._update(np.asarray(f0_ref), np.asarray(conf_ref), f0_gen)
