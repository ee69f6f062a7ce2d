"""Audio files and per-clip features: the one home for reading audio.

Data preparation (`ddsp_prepare_tfrecord`), timbre transfer and the notebook
helpers all read audio and compute its features here:

- `read_audio` decodes a file of any format and sample rate (WAV, FLAC, OGG,
  MP3 with `soundfile`; anything else through librosa and ffmpeg), mixes it to
  mono and resamples it, and says whether the file was truncated (a WAV whose
  header declares more samples than the file holds, a FLAC whose stream ends
  early). `load_audio` returns the samples only.
- `to_mono` and `resample_audio` are its two steps, for audio already in
  memory.
- `compute_audio_features` gives the CREPE f0 and confidence and the
  A-weighted loudness of a clip, as written in the TFRecords.

soundfile, scipy and librosa are imported inside the functions that use them,
so importing this module is light.
"""

import dataclasses
import io
import logging
import math
import os
import struct
import tempfile
import warnings

import numpy as np
import tensorflow as tf

from ddsp import validation

__all__ = [
    'AudioClip',
    'AudioLoadError',
    'compute_audio_features',
    'load_audio',
    'one_line_error',
    'read_audio',
    'resample_audio',
    'to_mono',
]

_BLOCK_FRAMES = 8192  # Frames per soundfile read: a stream that breaks off
# early still gives the blocks before the break.
NO_SAMPLES = 'it holds no samples.'  # The reason of an empty file.


class AudioLoadError(ValueError):
  """An audio file could not be read or decoded.

  Attributes:
    path: str, the file.
    reason: str, why it could not be read (without the path).
  """

  def __init__(self, path, reason):
    super().__init__(f'Cannot read audio file {path}: {reason}')
    self.path = path
    self.reason = reason

  def __reduce__(self):
    return AudioLoadError, (self.path, self.reason)


@dataclasses.dataclass
class AudioClip:
  """A decoded audio file.

  Attributes:
    audio: [n_samples] float32 (mono) or [n_samples, n_channels] float32,
      in [-1, 1] at `sample_rate`.
    sample_rate: int, Hz, the rate of `audio`.
    file_sample_rate: int, Hz, the rate stored in the file.
    n_channels: int, channels in the file.
    truncated: str or None; why the file holds fewer samples than its header
      declares (e.g. 'truncated: the header declares 32000 samples (2.00 s),
      only 16000 (1.00 s) could be read.'), or None for a complete file.
      The samples that are there are in `audio`.
  """
  audio: np.ndarray
  sample_rate: int
  file_sample_rate: int
  n_channels: int
  truncated: str = None


def _is_local(path):
  return '://' not in str(path)


def one_line_error(error):
  """`Type: message` of an exception on one line (its reason for ours).

  Args:
    error: an exception.

  Returns:
    str without newlines.

  Example:
    >>> one_line_error(OSError('disk\\nfull'))
    'OSError: disk full'
  """
  if isinstance(error, AudioLoadError):
    return error.reason
  text = ' '.join(str(error).split()) or '(no message)'
  return f'{type(error).__name__}: {text}'


# ----------------------------------------------------------------------------
# Decoding.
# ----------------------------------------------------------------------------
def _wav_declared_frames(header, file_size):
  """(declared frames, frames present) of a PCM/float WAV, or None.

  Reads the RIFF chunks of the first bytes of the file: the `fmt ` chunk gives
  the bytes per frame, the `data` chunk its declared size; the frames present
  are what the file size leaves for the data chunk.
  """
  if len(header) < 12 or header[:4] != b'RIFF' or header[8:12] != b'WAVE':
    return None
  offset, block_align = 12, None
  while offset + 8 <= len(header):
    chunk_id = header[offset:offset + 4]
    (size,) = struct.unpack('<I', header[offset + 4:offset + 8])
    if chunk_id == b'fmt ' and offset + 22 <= len(header):
      (block_align,) = struct.unpack('<H', header[offset + 20:offset + 22])
    if chunk_id == b'data':
      if not block_align or size == 0xFFFFFFFF:  # Unknown or streamed size.
        return None
      present = max(0, file_size - offset - 8)
      return size // block_align, min(size, present) // block_align
    offset += 8 + size + (size & 1)
  return None


def _file_bytes(path):
  """The bytes of a (non-local) file, or the first 64 kB of a local one."""
  if _is_local(path):
    with open(path, 'rb') as f:
      return f.read(1 << 16), os.path.getsize(path)
  with tf.io.gfile.GFile(path, 'rb') as f:
    data = f.read()
  return data, len(data)


def _read_with_soundfile(source):
  """([n, channels] float32, rate, truncated frames or None) or raises.

  Reads block by block, so a stream that ends early (a cut FLAC) gives the
  frames before the break and the number of frames its header declared.
  """
  import soundfile  # pylint: disable=g-import-not-at-top
  with soundfile.SoundFile(source) as f:
    declared = f.frames
    blocks, n = [], 0
    while True:
      try:
        block = f.read(_BLOCK_FRAMES, dtype='float32', always_2d=True)
      except soundfile.LibsndfileError:
        if not n:
          raise
        break  # The stream breaks off: keep what came before.
      if not len(block):
        break
      blocks.append(block)
      n += len(block)
    data = (np.concatenate(blocks) if blocks else
            np.zeros([0, f.channels], np.float32))
    missing = declared if n < declared else None
    return data, f.samplerate, missing


def _read_with_librosa(path):
  """Fallback decoder (audioread / ffmpeg) for formats libsndfile lacks."""
  import audioread  # pylint: disable=g-import-not-at-top
  import librosa  # pylint: disable=g-import-not-at-top

  def decode(local_path):
    with warnings.catch_warnings():
      # librosa warns that it falls back to audioread: that is the point here.
      warnings.simplefilter('ignore')
      try:
        return librosa.load(local_path, sr=None, mono=False)
      except audioread.exceptions.NoBackendError as e:
        raise AudioLoadError(
            path, 'no audioread backend can decode it (install ffmpeg for '
            'M4A/AAC and other formats)') from e

  if _is_local(path):
    audio, file_rate = decode(path)
  else:
    suffix = os.path.splitext(str(path))[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
      with tf.io.gfile.GFile(path, 'rb') as f:
        tmp.write(f.read())
      tmp.flush()
      audio, file_rate = decode(tmp.name)
  audio = np.atleast_2d(audio).T  # librosa gives [channels, n] or [n].
  return audio.astype(np.float32), file_rate


def _decode(path):
  """([n, channels] float32, file rate, truncation reason or None)."""
  try:
    head, size = _file_bytes(path)
  except PermissionError as e:
    raise AudioLoadError(path, 'permission denied.') from e
  except IsADirectoryError as e:
    raise AudioLoadError(path, 'it is a folder, not an audio file.') from e
  except OSError as e:
    raise AudioLoadError(path, f'cannot open it: {one_line_error(e)}') from e
  source = path if _is_local(path) else io.BytesIO(head)
  try:
    data, file_rate, declared = _read_with_soundfile(source)
  except Exception as sf_error:  # pylint: disable=broad-except
    try:
      data, file_rate = _read_with_librosa(path)
      declared = None
    except Exception as fallback_error:  # pylint: disable=broad-except
      raise AudioLoadError(
          path, f'cannot decode it. soundfile: {one_line_error(sf_error)}; '
          f'librosa/ffmpeg fallback: {one_line_error(fallback_error)}'
      ) from fallback_error
  # libsndfile quietly shortens a WAV whose data chunk runs past the end of
  # the file: compare with the header.
  wav = _wav_declared_frames(head, size)
  if wav is not None and wav[1] < wav[0]:
    declared = wav[0]
  truncated = None
  if declared is not None and len(data) < declared:
    truncated = (f'truncated: the header declares {declared} samples '
                 f'({declared / file_rate:.2f} s), only {len(data)} '
                 f'({len(data) / file_rate:.2f} s) could be read.')
  return data, int(file_rate), truncated


def to_mono(audio):
  """Averages the channels of [n_samples, n_channels] audio.

  Args:
    audio: [n_samples] or [n_samples, n_channels] array (channels last, as
      `soundfile.read` returns them).

  Returns:
    [n_samples] float32 numpy array, the mean over channels.

  Raises:
    ValueError: `audio` is not 1-D or 2-D.

  Example:
    >>> to_mono(np.array([[1.0, 0.0], [0.5, 0.5]]))
    array([0.5, 0.5], dtype=float32)
  """
  audio = np.asarray(audio)
  if audio.ndim == 1:
    return audio.astype(np.float32)
  if audio.ndim != 2:
    raise ValueError('`audio` must be [n_samples] or [n_samples, n_channels]. '
                     f'Received: audio with shape {audio.shape}')
  return np.mean(audio, axis=1, dtype=np.float32)


def resample_audio(audio, input_sample_rate, sample_rate):
  """Resamples audio with a polyphase anti-aliasing filter (scipy).

  Args:
    audio: [n_samples] or [n_samples, n_channels] float audio at
      `input_sample_rate`.
    input_sample_rate: int, Hz, the rate of `audio`.
    sample_rate: int, Hz, the rate wanted.

  Returns:
    float32 audio at `sample_rate` with ceil(n_samples * sample_rate /
    input_sample_rate) samples along the first axis; `audio` (as float32)
    when the rates agree.

  Example:
    >>> resample_audio(np.zeros(44100, np.float32), 44100, 16000).shape
    (16000,)
  """
  input_sample_rate = validation.check_positive_int(
      int(input_sample_rate), 'input_sample_rate')
  sample_rate = validation.check_positive_int(sample_rate, 'sample_rate')
  audio = np.asarray(audio)
  if input_sample_rate == sample_rate:
    return audio.astype(np.float32)
  import scipy.signal  # pylint: disable=g-import-not-at-top
  g = math.gcd(input_sample_rate, sample_rate)
  up, down = sample_rate // g, input_sample_rate // g
  return scipy.signal.resample_poly(audio, up, down, axis=0).astype(np.float32)


def read_audio(path, sample_rate=16000, mono=True):
  """Reads an audio file at `sample_rate`, saying whether it was truncated.

  Decodes WAV, FLAC, OGG, MP3 and the other formats of libsndfile with
  `soundfile`; anything else (e.g. M4A/AAC) falls back to `librosa.load`, which
  needs ffmpeg installed. With `mono` the channels are averaged; the audio is
  then resampled to `sample_rate`. Paths may be local or any `tf.io.gfile` URL
  (gs://, ...).

  A truncated file (a WAV whose header declares more data than the file holds,
  a FLAC or OGG stream that breaks off) is read up to where it ends and its
  `truncated` attribute says so; callers decide whether to keep it
  (`load_audio` logs a warning, `ddsp_prepare_tfrecord` counts it).

  Args:
    path: str or path-like, the audio file.
    sample_rate: int, Hz, the rate of the returned audio (16000 by default).
    mono: bool, average the channels (True) or keep them.

  Returns:
    An `AudioClip`: `audio` is [n_samples] float32 (or [n_samples, n_channels]
    without `mono`) in [-1, 1] at `sample_rate`.

  Raises:
    AudioLoadError (a ValueError): the file is missing, unreadable
      (permission denied, a folder), cannot be decoded, holds no samples or
      holds NaN or infinite samples; the message names the file and gives
      each decoder's reason.

  Example:
    >>> import os, tempfile, soundfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'tone.wav')
    >>> tone = np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)
    >>> soundfile.write(path, np.stack([tone, tone], axis=1), 44100)  # Stereo.
    >>> clip = read_audio(path, sample_rate=16000)
    >>> clip.audio.shape, clip.file_sample_rate, clip.n_channels, clip.truncated
    ((16000,), 44100, 2, None)
  """
  sample_rate = validation.check_positive_int(sample_rate, 'sample_rate')
  path = os.fspath(path)
  try:
    exists = (os.path.lexists(path) if _is_local(path) else
              tf.io.gfile.exists(path))
  except tf.errors.PermissionDeniedError as e:
    raise AudioLoadError(path, 'permission denied.') from e
  if not exists:
    raise AudioLoadError(path, 'no such file.')
  data, file_rate, truncated = _decode(path)
  if data.size == 0:
    raise AudioLoadError(path, NO_SAMPLES)
  if not np.all(np.isfinite(data)):
    raise AudioLoadError(path, 'it holds NaN or infinite samples.')
  n_channels = data.shape[1]
  audio = to_mono(data) if mono else data
  return AudioClip(resample_audio(audio, file_rate, sample_rate), sample_rate,
                   file_rate, n_channels, truncated)


def load_audio(path, sample_rate=16000):
  """Reads an audio file as mono float32 at `sample_rate`.

  `read_audio` without the file's details: a truncated file is read up to
  where it ends, with a logged warning.

  Args:
    path: str or path-like, the audio file (any format `read_audio` decodes).
    sample_rate: int, Hz, the rate of the returned audio (16000 by default).

  Returns:
    [n_samples] float32 numpy array in [-1, 1] at `sample_rate`.

  Raises:
    AudioLoadError (a ValueError): as `read_audio`.

  Example:
    >>> import os, tempfile, soundfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'tone.flac')
    >>> soundfile.write(path, np.zeros(22050), 22050)
    >>> load_audio(path, sample_rate=16000).shape
    (16000,)
  """
  clip = read_audio(path, sample_rate)
  if clip.truncated:
    logging.warning('%s: %s', os.fspath(path), clip.truncated)
  return clip.audio


# ----------------------------------------------------------------------------
# Features.
# ----------------------------------------------------------------------------
def compute_audio_features(audio, sample_rate=16000, frame_rate=250,
                           center=False, viterbi=True, crepe_model=None):
  """CREPE f0 and confidence and A-weighted loudness of one audio clip.

  Uses `ddsp.spectral_ops.compute_f0` and `compute_loudness` (numpy path, its
  default `n_fft`, so the features agree with loudness computed at inference).

  Args:
    audio: [n_samples] float32 numpy audio at `sample_rate`; n_samples *
      frame_rate / sample_rate should be a whole number of frames (it is
      rounded up otherwise).
    sample_rate: int, Hz.
    frame_rate: int, frames per second.
    center: bool; False gives 'same' padding (n_samples * frame_rate /
      sample_rate frames, frame i starts at time i / frame_rate), True
      'center' padding (one more frame, frame i centred on time
      i / frame_rate).
    viterbi: bool, Viterbi-smooth the CREPE pitch track.
    crepe_model: str or None, CREPE size for `compute_f0` ('tiny', ...,
      'full'); None uses compute_f0's default.

  Returns:
    Dict of [n_frames] float32 numpy arrays: 'f0_hz' (Hz), 'f0_confidence'
    (0 to 1) and 'loudness_db' (dB, floored at -80).

  Raises:
    ValueError: a feature came back with another number of frames than
      expected (so audio and features would not line up).

  Example:
    >>> silence = np.zeros(1600, np.float32)  # 0.1 s at 16 kHz.
    >>> features = compute_audio_features(silence, 16000, 250)
    >>> {k: v.shape for k, v in sorted(features.items())}
    {'f0_confidence': (25,), 'f0_hz': (25,), 'loudness_db': (25,)}
  """
  from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
  padding = 'center' if center else 'same'
  n_frames = -(-len(audio) * frame_rate // sample_rate) + (1 if center else 0)
  f0_kwargs = {} if crepe_model is None else {'crepe_model': crepe_model}
  f0_hz, f0_confidence = spectral_ops.compute_f0(
      audio, frame_rate, viterbi=viterbi, padding=padding,
      sample_rate=sample_rate, **f0_kwargs)
  loudness_db = spectral_ops.compute_loudness(
      audio, sample_rate=sample_rate, frame_rate=frame_rate, use_tf=False,
      padding=padding)
  features = {
      'f0_hz': f0_hz, 'f0_confidence': f0_confidence,
      'loudness_db': loudness_db
  }
  for key, value in features.items():
    value = np.reshape(np.asarray(value, dtype=np.float32), [-1])
    if value.shape[0] != n_frames:
      raise ValueError(
          f'`{key}` has {value.shape[0]} frames for {len(audio)} samples; '
          f'expected {n_frames} (frame_rate={frame_rate}, '
          f'sample_rate={sample_rate}, padding={padding!r}).')
    features[key] = value
  return features
