"""Small helpers shared by the tutorials in this folder (not part of ddsp).

Every tutorial is a plain script:

    python examples/01_core_functions.py [--output_dir DIR] [--short]

* `--output_dir` (or the environment variable `DDSP_EXAMPLES_OUTPUT_DIR`):
  where figures (PNG), audio (WAV) and `results.json` go. By default a new
  temporary folder, printed at the start and at the end.
* `--short` (or `DDSP_EXAMPLES_SHORT=1`): smaller sizes and fewer training
  steps, for the test suite (tests/test_examples.py). The tutorial shows the
  same things, only with less audio.

A tutorial records the numbers it talks about with `tutorial.record(...)`;
they are printed as they come and written to `<output_dir>/results.json` at
the end, which is what the tests check.
"""

import argparse
import json
import os
import pathlib
import tempfile
import time

import numpy as np

# Figures are written to files; no display is needed.
os.environ.setdefault('MPLBACKEND', 'Agg')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

EXAMPLES_DIR = pathlib.Path(__file__).resolve().parent
DATA_DIR = EXAMPLES_DIR / 'data'

_TRUE = ('1', 'true', 'yes', 'on')


class Tutorial:
  """Output folder, short mode, and the record of results of one tutorial.

  Args:
    name: short name of the tutorial (used in messages).
    description: one line for `--help`.
    argv: command-line arguments (None: `sys.argv[1:]`).
  """

  def __init__(self, name, description, argv=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        '--output_dir', default=os.environ.get('DDSP_EXAMPLES_OUTPUT_DIR'),
        help='folder for figures, audio and results.json '
             '(default: $DDSP_EXAMPLES_OUTPUT_DIR, else a new temporary '
             'folder)')
    parser.add_argument(
        '--short', action='store_true',
        default=os.environ.get('DDSP_EXAMPLES_SHORT', '').lower() in _TRUE,
        help='smaller sizes and fewer steps (default: $DDSP_EXAMPLES_SHORT)')
    args = parser.parse_args(argv)
    self.name = name
    self.short = args.short
    if args.output_dir:
      self.output_dir = pathlib.Path(args.output_dir).expanduser()
      self.output_dir.mkdir(parents=True, exist_ok=True)
    else:
      self.output_dir = pathlib.Path(
          tempfile.mkdtemp(prefix=f'ddsp_{name}_'))
    self.results = {}
    self.files = []
    self._start = time.time()
    print(f'# {description}')
    print(f'Output folder: {self.output_dir}'
          + ('  (short mode)' if self.short else ''))

  def section(self, title):
    """Prints a section heading, like a notebook's markdown cell."""
    print(f'\n## {title}\n')

  def record(self, key, value, fmt='.4g', unit=''):
    """Prints a result and keeps it for results.json.

    Args:
      key: name of the result (a JSON key).
      value: a number, bool, string, or a list/dict of them.
      fmt: format for floats when printing.
      unit: unit printed after the value.
    """
    if isinstance(value, (np.floating, np.integer, np.bool_)):
      value = value.item()
    elif isinstance(value, np.ndarray):
      value = value.tolist()
    elif hasattr(value, 'numpy'):  # A scalar tensor.
      value = np.asarray(value).item()
    self.results[key] = value
    if isinstance(value, float):
      shown = format(value, fmt)
    elif isinstance(value, list) and value and all(
        isinstance(v, float) for v in value):
      shown = '[' + ', '.join(format(v, fmt) for v in value) + ']'
    else:
      shown = value
    print(f'  {key} = {shown}{" " + unit if unit else ""}')
    return value

  def path(self, filename):
    """The path of an output file (its folder is created)."""
    path = self.output_dir / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    return path

  def add_file(self, filename):
    """Lists a file written into the output folder by other code."""
    if not self.path(filename).is_file():
      raise FileNotFoundError(f'{self.path(filename)} was not written.')
    self.files.append(filename)

  def save_figure(self, fig, filename):
    """Saves a matplotlib figure as PNG and closes it."""
    import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
    path = self.path(filename)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    self.files.append(filename)
    print(f'  [figure] {path}')
    return path

  def write_wav(self, audio, filename, sample_rate=16000, normalize=True):
    """Writes mono audio as 16-bit WAV.

    Args:
      audio: [n_samples] or [1, n_samples] array or tensor.
      filename: file name inside the output folder.
      sample_rate: Hz.
      normalize: scale the peak to 0.9 (a quiet synth stays audible); the
        written file never clips.
    """
    import soundfile as sf  # pylint: disable=g-import-not-at-top
    audio = np.asarray(audio, dtype=np.float64).reshape(-1)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if normalize and peak > 0:
      audio = 0.9 * audio / peak
    elif peak > 1:
      audio = audio / peak
    path = self.path(filename)
    sf.write(path, audio, sample_rate, subtype='PCM_16')
    self.files.append(filename)
    print(f'  [audio]  {path} ({audio.size / sample_rate:.2f} s)')
    return path

  def finish(self):
    """Writes results.json and prints a summary."""
    elapsed = time.time() - self._start
    summary = {'tutorial': self.name, 'short': self.short,
               'seconds': round(elapsed, 1), 'files': self.files,
               'results': self.results}
    path = self.path('results.json')
    path.write_text(json.dumps(summary, indent=2))
    print(f'\nDone in {elapsed:.1f} s. {len(self.files)} files and '
          f'results.json in {self.output_dir}')
    return summary


def load_audio(filename, seconds=None, offset=0.0, sample_rate=16000):
  """Reads mono audio from examples/data (or a path) as float32.

  Args:
    filename: a file name in examples/data, or a path.
    seconds: how many seconds to read (None: to the end).
    offset: seconds to skip at the start.
    sample_rate: the expected sample rate (the example files are 16 kHz).

  Returns:
    [n_samples] float32 numpy array.

  Raises:
    ValueError: the file has another sample rate.
  """
  import soundfile as sf  # pylint: disable=g-import-not-at-top
  path = pathlib.Path(filename)
  if not path.is_absolute() and not path.exists():
    path = DATA_DIR / filename
  info = sf.info(path)
  if info.samplerate != sample_rate:
    raise ValueError(f'{path} is at {info.samplerate} Hz; expected '
                     f'{sample_rate} Hz.')
  start = int(round(offset * sample_rate))
  stop = None if seconds is None else start + int(round(seconds * sample_rate))
  audio, _ = sf.read(path, start=start, stop=stop, dtype='float32',
                     always_2d=True)
  return audio.mean(axis=1)


def spectrum_db(audio, sample_rate=16000):
  """Frequencies (Hz) and Hann-windowed magnitude spectrum (dB re. peak)."""
  audio = np.asarray(audio, dtype=np.float64).reshape(-1)
  window = np.hanning(audio.size)
  mag = np.abs(np.fft.rfft(audio * window))
  freqs = np.fft.rfftfreq(audio.size, 1.0 / sample_rate)
  db = 20 * np.log10(np.maximum(mag / max(mag.max(), 1e-12), 1e-6))
  return freqs, db


def plot_spectrogram(ax, audio, sample_rate=16000, title=None, fft_size=512):
  """Draws a log-magnitude spectrogram (dB, 80 dB range) of mono audio."""
  audio = np.asarray(audio, dtype=np.float64).reshape(-1)
  hop = fft_size // 4
  n_frames = max(1, 1 + (audio.size - fft_size) // hop)
  window = np.hanning(fft_size)
  frames = np.stack([audio[i * hop:i * hop + fft_size] * window
                     for i in range(n_frames)]) if audio.size >= fft_size \
      else (np.pad(audio, (0, fft_size - audio.size)) * window)[np.newaxis]
  mag = np.abs(np.fft.rfft(frames, axis=-1)).T
  db = 20 * np.log10(np.maximum(mag, 1e-9))
  db = np.maximum(db, db.max() - 80)
  ax.imshow(db, origin='lower', aspect='auto', cmap='magma',
            extent=[0, audio.size / sample_rate, 0, sample_rate / 2])
  ax.set_xlabel('time (s)')
  ax.set_ylabel('frequency (Hz)')
  if title:
    ax.set_title(title)

