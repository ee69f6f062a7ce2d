"""Helpers for the DDSP notebooks, in Colab, in Jupyter and in plain scripts.

The published names are kept. Where a helper needs Colab's browser widgets
(microphone, file upload, browser download), it uses them only when it runs in
Colab; elsewhere it takes a file path instead, or says clearly what to do:

| helper | in Colab | in Jupyter | in a script |
|---|---|---|---|
| `play` | audio player | audio player | writes a WAV file, prints its path |
| `record` | browser microphone | `path=` a recording | `path=` a recording |
| `upload` | browser file picker | `paths=` files | `paths=` files |
| `download` | browser download | prints where the file is | same |

`google.colab` is never imported when this module is imported: Colab's kernel
has already imported it, and the helpers look it up only when called.

The analysis helpers are the library's own, under their published names here:
`get_tuning_factor`, `auto_tune`, `detect_notes`, `smooth`,
`QuantileTransformer`, `fit_quantile_transform` (from
`ddsp.training.postprocessing`) and `specplot`, `transfer_function`,
`plot_impulse_responses` (from `ddsp.training.plotting`).

Example:
  >>> import numpy as np
  >>> from ddsp.colab import colab_utils
  >>> wav = colab_utils.audio_to_wav_bytes(np.zeros(160), 16000)
  >>> colab_utils.audio_bytes_to_np(wav, normalize_db=None).shape
  (160,)
"""

import base64
import glob
import importlib
import io
import os
import sys
import tempfile

import numpy as np

from ddsp import validation
from ddsp.crepe import CREPE_SAMPLE_RATE
from ddsp.training import plotting
from ddsp.training import postprocessing

__all__ = [
    'ColabOnlyError',
    'DEFAULT_SAMPLE_RATE',
    'QuantileTransformer',
    'audio_bytes_to_np',
    'audio_to_wav_bytes',
    'auto_tune',
    'detect_notes',
    'download',
    'fit_quantile_transform',
    'get_tuning_factor',
    'in_colab',
    'in_notebook',
    'play',
    'plot_impulse_responses',
    'record',
    'save_dataset_statistics',
    'smooth',
    'specplot',
    'transfer_function',
    'upload',
]

DEFAULT_SAMPLE_RATE = CREPE_SAMPLE_RATE  # 16 kHz.

# The library's implementations, under the published colab_utils names.
specplot = plotting.specplot
plot_impulse_responses = plotting.plot_impulse_responses
transfer_function = plotting.transfer_function
smooth = postprocessing.smooth
detect_notes = postprocessing.detect_notes
QuantileTransformer = postprocessing.QuantileTransformer
fit_quantile_transform = postprocessing.fit_quantile_transform
get_tuning_factor = postprocessing.get_tuning_factor
auto_tune = postprocessing.auto_tune


class ColabOnlyError(RuntimeError):
  """A browser widget of Colab was asked for outside Colab."""


# ------------------------------------------------------------------------------
# Where are we running?
# ------------------------------------------------------------------------------
def in_colab():
  """True in a Colab runtime (whose kernel has imported `google.colab`)."""
  return 'google.colab' in sys.modules


def in_notebook():
  """True in a notebook kernel (Jupyter, Colab): displays are shown."""
  if 'IPython' not in sys.modules:
    return False
  shell = sys.modules['IPython'].get_ipython()
  return shell is not None and getattr(shell, 'kernel', None) is not None


def _colab(name):
  """`google.colab.<name>`, imported at call time; only in Colab."""
  if not in_colab():
    raise ColabOnlyError(f'google.colab.{name} exists only in Colab.')
  return importlib.import_module(f'google.colab.{name}')


def _display(obj):
  from IPython import display  # pylint: disable=g-import-not-at-top
  display.display(obj)


# ------------------------------------------------------------------------------
# Audio in and out.
# ------------------------------------------------------------------------------
def _first_example(audio, name):
  audio = np.asarray(audio, dtype=np.float64)
  if audio.ndim == 2:  # Batched: the first example.
    audio = audio[0]
  if audio.ndim != 1:
    raise ValueError(f'`{name}` must be [n_samples] or [batch, n_samples] '
                     f'audio. Received: {name}.shape={audio.shape}')
  if not np.all(np.isfinite(audio)):
    raise ValueError(f'`{name}` holds NaN or infinite samples.')
  return audio


_AUDIO_FORMATS = {'wav': 'WAV', 'flac': 'FLAC'}


def audio_to_wav_bytes(audio, sample_rate=DEFAULT_SAMPLE_RATE,
                       audio_format='wav'):
  """Mono audio as the bytes of a 16-bit PCM WAV (or FLAC) file.

  Args:
    audio: [n_samples] or [batch, n_samples] (first example used) float
      audio; values outside [-1, 1] are clipped.
    sample_rate: Hz, a positive int.
    audio_format: 'wav', or 'flac' (lossless, about a third smaller).

  Returns:
    bytes of the file; its samples are the int16 values
    round(32767 * audio).
  """
  import soundfile  # pylint: disable=g-import-not-at-top
  validation.check_one_of(audio_format, 'audio_format', tuple(_AUDIO_FORMATS))
  audio = np.clip(_first_example(audio, 'audio'), -1.0, 1.0)
  sample_rate = validation.check_positive_int(sample_rate, 'sample_rate')
  buffer = io.BytesIO()
  ints = np.round(audio * np.iinfo(np.int16).max).astype(np.int16)
  soundfile.write(buffer, ints, sample_rate,
                  format=_AUDIO_FORMATS[audio_format], subtype='PCM_16')
  return buffer.getvalue()


def play(array_of_floats, sample_rate=DEFAULT_SAMPLE_RATE, ephemeral=True,
         autoplay=False, path=None, audio_format='wav'):
  """Shows an audio player in a notebook; in a script, writes a WAV file.

  Args:
    array_of_floats: [n_samples] or [batch, n_samples] (first example
      played) float audio; values outside [-1, 1] are clipped.
    sample_rate: Hz.
    ephemeral: accepted for the published signature; the player is always
      kept in the notebook's output.
    autoplay: start playing as soon as the player appears.
    path: outside a notebook, the file to write (default: a new temporary
      file).
    audio_format: 'wav', or 'flac' (lossless and about a third smaller,
      which keeps saved notebooks light; every current browser plays it).

  Returns:
    In a notebook, the displayed `IPython.display.Audio`; elsewhere the path
    of the file written.
  """
  del ephemeral  # Outputs are kept in every front end.
  encoded = audio_to_wav_bytes(array_of_floats, sample_rate, audio_format)
  if in_notebook():
    from IPython import display  # pylint: disable=g-import-not-at-top
    player = display.Audio(data=encoded, autoplay=autoplay)
    player.mimetype = f'audio/{audio_format}'
    _display(player)
    return player
  if path is None:
    handle, path = tempfile.mkstemp(prefix='ddsp_play_',
                                    suffix=f'.{audio_format}')
    os.close(handle)
  with open(path, 'wb') as f:
    f.write(encoded)
  seconds = _first_example(array_of_floats, 'array_of_floats').size / float(
      sample_rate)
  print(f'play(): no notebook to show a player in; wrote {path} '
        f'({seconds:.2f} s).')
  return path


def _decode(data, sample_rate):
  """[channels, n_samples] float32 audio at `sample_rate`, from file bytes.

  Decoded by `ddsp.training.audio_io.read_audio` (soundfile, else librosa and
  ffmpeg), channels kept; an empty file gives zero samples.
  """
  from ddsp.training import audio_io  # pylint: disable=g-import-not-at-top
  with tempfile.TemporaryDirectory() as folder:
    name = os.path.join(folder, 'audio')
    with open(name, 'wb') as f:
      f.write(data)
    try:
      clip = audio_io.read_audio(name, sample_rate, mono=False)
    except audio_io.AudioLoadError as e:
      if e.reason == audio_io.NO_SAMPLES:
        return np.zeros([1, 0], np.float32), sample_rate
      raise
  return clip.audio.T, sample_rate


def audio_bytes_to_np(wav_data, sample_rate=DEFAULT_SAMPLE_RATE,
                      normalize_db=0.1, mono=True):
  """Decodes audio file bytes (WAV, FLAC, OGG, MP3, ...) to a float array.

  The audio is resampled to `sample_rate` (polyphase, as data preparation
  does), its DC offset removed per channel, and, unless `normalize_db` is
  None, scaled so that its peak is `normalize_db` dB below full scale.

  Args:
    wav_data: bytes of an audio file.
    sample_rate: Hz, the rate of the returned audio.
    normalize_db: dB of headroom below 1.0 for the peak (0.1 dB: peak
      0.9886), or None to keep the level.
    mono: average the channels.

  Returns:
    float32 array, [n_samples] if `mono`, else [n_channels, n_samples].

  Raises:
    TypeError: `wav_data` is not bytes.
    ValueError: it holds no samples, or `normalize_db` is negative.
  """
  if not isinstance(wav_data, (bytes, bytearray, memoryview)):
    raise TypeError('`wav_data` must be the bytes of an audio file. '
                    f'Received: {type(wav_data).__name__}')
  sample_rate = validation.check_positive_int(sample_rate, 'sample_rate')
  if normalize_db is not None:
    validation.check_in_range(normalize_db, 'normalize_db', 0.0)
  audio, _ = _decode(bytes(wav_data), sample_rate)
  if audio.size == 0:
    raise ValueError('`wav_data` holds no audio samples.')
  if mono:
    audio = np.mean(audio, axis=0, keepdims=True)
  audio = audio.astype(np.float64)
  audio -= np.mean(audio, axis=1, keepdims=True)
  peak = np.max(np.abs(audio))
  if normalize_db is not None and peak > 0:
    audio *= 10.0 ** (-normalize_db / 20.0) / peak
  audio = audio.astype(np.float32)
  return audio[0] if mono else audio


def _read_files(paths):
  """{file name: bytes} of the files named by paths or glob patterns."""
  if isinstance(paths, (str, os.PathLike)):
    paths = [paths]
  names = []
  for pattern in paths:
    pattern = os.path.expanduser(os.fspath(pattern))
    matches = sorted(glob.glob(pattern))
    if not matches:
      raise FileNotFoundError(f'No file matches {pattern!r}.')
    names.extend(matches)
  contents = {}
  for name in names:
    with open(name, 'rb') as f:
      contents[name] = f.read()
  return contents


# Records from the browser's microphone with MediaRecorder and resolves to a
# data URL of the recording (webm/ogg, as the browser encodes it).
_RECORD_JS = """
async function ddspRecord(milliseconds) {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const recorder = new MediaRecorder(stream);
  const chunks = [];
  recorder.ondataavailable = (event) => chunks.push(event.data);
  const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
  recorder.start();
  await new Promise((resolve) => setTimeout(resolve, milliseconds));
  recorder.stop();
  await stopped;
  stream.getTracks().forEach((track) => track.stop());
  const blob = new Blob(chunks);
  return await new Promise((resolve) => {
    const reader = new FileReader();
    reader.onloadend = () => resolve(reader.result);
    reader.readAsDataURL(blob);
  });
}
"""


def record(seconds=3, sample_rate=DEFAULT_SAMPLE_RATE, normalize_db=0.1,
           path=None):
  """Records from the browser's microphone (Colab), or reads a recording.

  Args:
    seconds: how long to record, > 0.
    sample_rate: Hz, the rate of the returned audio.
    normalize_db: peak headroom in dB (see `audio_bytes_to_np`), or None.
    path: a recording to read instead (any format `audio_bytes_to_np`
      decodes); required outside Colab.

  Returns:
    [n_samples] float32 audio at `sample_rate`.

  Raises:
    ColabOnlyError: outside Colab without `path`.
  """
  if path is not None:
    data = next(iter(_read_files(path).values()))
    return audio_bytes_to_np(data, sample_rate, normalize_db)
  if not in_colab():
    raise ColabOnlyError(
        'record() uses the browser microphone of Colab, which does not exist '
        'here (Jupyter or a script). Record with any app and pass the file: '
        "record(path='my_recording.wav').")
  validation.check_positive(seconds, 'seconds')
  from IPython import display  # pylint: disable=g-import-not-at-top
  print(f'Recording for {seconds} s...')
  _display(display.Javascript(_RECORD_JS))
  data_url = _colab('output').eval_js(f'ddspRecord({1000.0 * seconds})')
  print('Done recording.')
  data = base64.b64decode(data_url.split(',', 1)[1])
  return audio_bytes_to_np(data, sample_rate, normalize_db)


def upload(sample_rate=DEFAULT_SAMPLE_RATE, normalize_db=None, paths=None):
  """Loads audio files: from the browser (Colab), or from `paths`.

  Args:
    sample_rate: Hz, the rate of the returned audio.
    normalize_db: peak headroom in dB (see `audio_bytes_to_np`), or None.
    paths: a path, glob pattern or list of them to read instead; required
      outside Colab.

  Returns:
    (file names, list of [n_samples] float32 arrays at `sample_rate`).

  Raises:
    ColabOnlyError: outside Colab without `paths`.
    FileNotFoundError: a path or pattern matches no file.
  """
  if paths is not None:
    contents = _read_files(paths)
  elif in_colab():
    contents = _colab('files').upload()
  else:
    raise ColabOnlyError(
        'upload() opens the file picker of Colab, which does not exist here '
        "(Jupyter or a script). Pass the files: upload(paths=['a.wav', "
        "'recordings/*.mp3']).")
  names = list(contents)
  audio = [audio_bytes_to_np(contents[name], sample_rate, normalize_db)
           for name in names]
  return names, audio


def download(path):
  """Sends a file to the browser (Colab); elsewhere says where it is.

  Args:
    path: the file.

  Returns:
    The path.

  Raises:
    FileNotFoundError: there is no such file.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f'No file {path!r} to download.')
  if in_colab():
    _colab('files').download(path)
  else:
    print(f'download(): {os.path.abspath(path)} is on this machine '
          '(browser downloads exist only in Colab).')
  return path


# ------------------------------------------------------------------------------
# Dataset statistics.
# ------------------------------------------------------------------------------
def save_dataset_statistics(data_provider, file_path=None, batch_size=1,
                            power_frame_size=256):
  """Computes a dataset's statistics for timbre transfer and saves them.

  Delegates to `ddsp.training.postprocessing.save_dataset_statistics`.

  Args:
    data_provider: a `ddsp.training.data.DataProvider`.
    file_path: a '.json' file, a pickle file (any other name, as the
      published notebooks wrote), a model directory (writes
      `dataset_statistics.json` there), or None to only compute.
    batch_size: examples read at a time.
    power_frame_size: samples per frame of the power features.

  Returns:
    The statistics dict (see `postprocessing.compute_dataset_statistics`).
  """
  stats = postprocessing.save_dataset_statistics(
      data_provider, file_path, batch_size=batch_size,
      power_frame_size=power_frame_size)
  if file_path is not None:
    print(f'Saved the dataset statistics to {os.fspath(file_path)}.')
  return stats
