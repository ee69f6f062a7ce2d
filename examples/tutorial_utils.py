"""Small helpers shared by the tutorials in this folder (not part of ddsp).

Every tutorial is a notebook (`NN_name.ipynb`) made from a plain-text source
(`NN_name.py`, jupytext "percent" format: `# %%` starts a code cell,
`# %% [markdown]` a text cell). Either runs:

    jupyter lab examples/01_core_functions.ipynb        # or Colab
    python examples/01_core_functions.py [--output_dir DIR] [--short]

Short mode (small sizes, few training steps: a few minutes on a CPU) is on
when the notebook's `SHORT` parameter is True, or, when it is None, when the
environment variable `DDSP_TUTORIAL_SHORT` is set to 1 (CI sets it; the
older `DDSP_EXAMPLES_SHORT` works too), or with `--short` in a script.

Results: a tutorial records the numbers it talks about with
`tutorial.record(...)`; they are printed as they come and written to
`<output_dir>/results.json` by `tutorial.finish()`, which is what
tests/test_examples.py checks. Figures are shown inline (and saved as small
PNGs), audio gets an inline player (and is saved as WAV). The output folder
is `output_dir`, else `$DDSP_TUTORIAL_OUTPUT_DIR` (or
`$DDSP_EXAMPLES_OUTPUT_DIR`), else a new temporary folder.
"""

import argparse
import contextlib
import io
import json
import logging
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

EXAMPLES_DIR = pathlib.Path(__file__).resolve().parent
DATA_DIR = EXAMPLES_DIR / 'data'
SHORT_ENV = ('DDSP_TUTORIAL_SHORT', 'DDSP_EXAMPLES_SHORT')
OUTPUT_ENV = ('DDSP_TUTORIAL_OUTPUT_DIR', 'DDSP_EXAMPLES_OUTPUT_DIR')
FIGURE_DPI = 64  # Small inline figures keep the executed notebooks light.

_TRUE = ('1', 'true', 'yes', 'on')


def in_notebook():
  """True inside a notebook kernel (Jupyter, Colab)."""
  shell = sys.modules['IPython'].get_ipython() if 'IPython' in sys.modules \
      else None
  return shell is not None and getattr(shell, 'kernel', None) is not None


def _env(names):
  for name in names:
    if os.environ.get(name):
      return os.environ[name]
  return None


def short_mode(short=None):
  """`short` if it is a bool, else whether $DDSP_TUTORIAL_SHORT is on."""
  if short is not None:
    return bool(short)
  return (_env(SHORT_ENV) or '').lower() in _TRUE


class Tutorial:
  """Output folder, short mode, and the record of results of one tutorial.

  Args:
    name: short name of the tutorial (used in messages and file names).
    description: one line (printed; `--help` in a script).
    short: True/False, or None for the environment (see `short_mode`).
    output_dir: folder for figures, audio and results.json, or None.
    argv: command-line arguments to parse (None: `sys.argv[1:]` in a script,
      none in a notebook, whose kernel has arguments of its own).
  """

  def __init__(self, name, description, short=None, output_dir=None,
               argv=None):
    if argv is None:
      argv = [] if in_notebook() else sys.argv[1:]
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--output_dir', default=None,
                        help='folder for figures, audio and results.json '
                             '(default: $DDSP_TUTORIAL_OUTPUT_DIR, else a new '
                             'temporary folder)')
    parser.add_argument('--short', action='store_true', default=None,
                        help='small sizes and few steps (default: '
                             '$DDSP_TUTORIAL_SHORT)')
    args = parser.parse_args(argv)
    self.name = name
    self.notebook = in_notebook()
    self.short = short_mode(short if short is not None else args.short)
    output_dir = output_dir or args.output_dir or _env(OUTPUT_ENV)
    if output_dir:
      self.output_dir = pathlib.Path(output_dir).expanduser()
      self.output_dir.mkdir(parents=True, exist_ok=True)
    else:
      self.output_dir = pathlib.Path(tempfile.mkdtemp(prefix=f'ddsp_{name}_'))
    self.results = {}
    self.files = []
    self._start = time.time()
    print(f'{description}: output folder {self.output_dir}'
          + (' (short mode)' if self.short else ''))

  def section(self, title):
    """A heading in a script's output (notebooks have text cells)."""
    if not self.notebook:
      print(f'\n## {title}\n')

  def record(self, key, value, fmt='.4g', unit=''):
    """Prints a result and keeps it for results.json.

    Args:
      key: name of the result (a JSON key).
      value: a number, bool, string, or a list/dict of them (numpy and
        scalar tensors are converted).
      fmt: format for floats when printing.
      unit: unit printed after the value.

    Returns:
      None (so that a notebook cell ending with it shows no `Out[]`); the
      value is in `tutorial.results[key]`, as plain Python.
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
    """Shows a matplotlib figure inline, saves it as a small PNG, closes it.

    The file is `tutorial.path(filename)`; nothing is returned, so that a
    notebook cell ending with this call shows no `Out[]`.
    """
    import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
    fig.tight_layout()
    png = _small_png(fig)
    plt.close(fig)
    path = self.path(filename)
    path.write_bytes(png)
    self.files.append(filename)
    if self.notebook:
      from IPython import display  # pylint: disable=g-import-not-at-top
      display.display(display.Image(data=png, format='png'))
    else:
      print(f'  [figure] {path}')

  def write_wav(self, audio, filename, sample_rate=16000, normalize=True):
    """Plays mono audio inline and writes it as a 16-bit WAV file.

    Args:
      audio: [n_samples] or [1, n_samples] array or tensor.
      filename: file name inside the output folder.
      sample_rate: Hz.
      normalize: scale the peak to 0.9 (a quiet synth stays audible);
        otherwise the level is kept (scaled down only if it would clip).

    The file is `tutorial.path(filename)`; nothing is returned, so that a
    notebook cell ending with this call shows no `Out[]`.
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
    if self.notebook:
      from ddsp.colab import colab_utils  # pylint: disable=g-import-not-at-top
      # FLAC: lossless, and a third smaller than WAV in the saved notebook.
      colab_utils.play(audio, sample_rate, audio_format='flac')
    else:
      print(f'  [audio]  {path} ({audio.size / sample_rate:.2f} s)')

  def finish(self):
    """Writes results.json and prints a summary."""
    elapsed = time.time() - self._start
    summary = {'tutorial': self.name, 'short': self.short,
               'seconds': round(elapsed, 1), 'files': self.files,
               'results': self.results}
    path = self.path('results.json')
    path.write_text(json.dumps(summary, indent=2))
    print(f'Done in {elapsed:.1f} s: {len(self.results)} results, '
          f'{len(self.files)} files in {self.output_dir}')
    return summary


class LossPlot:
  """A live plot of the training loss with a progress line, updated in place.

  In a notebook the figure is redrawn in one output as training goes; in a
  script each update prints a line.

  Args:
    tutorial: the `Tutorial` (for the output folder).
    total_steps: the step training ends at.
    title: title of the plot.
  """

  def __init__(self, tutorial, total_steps, title='training'):
    self.tutorial = tutorial
    self.total_steps = total_steps
    self.title = title
    self.steps, self.losses = [], []
    self._start = time.time()
    self._handle = None
    self._png = None

  def update(self, step, loss):
    """Adds the total loss at `step` and redraws."""
    import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
    step, loss = int(step), float(loss)
    self.steps.append(step)
    self.losses.append(loss)
    done = min(1.0, step / self.total_steps)
    bar = '#' * int(round(20 * done)) + '-' * (20 - int(round(20 * done)))
    line = (f'[{bar}] step {int(step)} of {self.total_steps}, '
            f'{time.time() - self._start:.0f} s, total loss {loss:.3f}')
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(self.steps, self.losses, 'o-', markersize=3)
    ax.set(xlabel='step', ylabel='total loss', title=f'{self.title}\n{line}')
    ax.title.set_fontsize(9)
    fig.tight_layout()
    self._png = _small_png(fig)
    plt.close(fig)
    if not self.tutorial.notebook:
      print(line)
      return
    from IPython import display  # pylint: disable=g-import-not-at-top
    image = display.Image(data=self._png, format='png')
    if self._handle is None:
      self._handle = display.display(image, display_id=True)
    else:
      self._handle.update(image)

  def save(self, filename):
    """Writes the last plot as a PNG in the output folder."""
    if self._png is None:
      raise ValueError('LossPlot.save: nothing plotted yet.')
    self.tutorial.path(filename).write_bytes(self._png)
    self.tutorial.files.append(filename)


def _small_png(fig, colors=96):
  """The figure as a PNG at FIGURE_DPI with an adaptive palette (small)."""
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png', dpi=FIGURE_DPI)
  try:
    from PIL import Image  # pylint: disable=g-import-not-at-top
  except ImportError:
    return buffer.getvalue()
  image = Image.open(io.BytesIO(buffer.getvalue())).convert('RGB')
  small = io.BytesIO()
  image.quantize(colors=colors).save(small, format='png', optimize=True)
  return small.getvalue()


class _HideGinPathProbes(logging.Filter):
  def filter(self, record):
    return not record.getMessage().startswith('Path not found')


@contextlib.contextmanager
def hide_gin_path_probes():
  """Hides gin's "Path not found" log lines while it looks for included files.

  Gin logs one for every folder of its search path that does not hold an
  included file before it finds the one that does; they are harmless.
  """
  probes = _HideGinPathProbes()
  logging.getLogger().addFilter(probes)
  try:
    yield
  finally:
    logging.getLogger().removeFilter(probes)


def load_audio(filename, seconds=None, offset=0.0, sample_rate=16000):
  """Reads mono audio from examples/data (or a path) as float32.

  The file is read by `ddsp.training.audio_io.load_audio` (any format, mixed
  to mono, resampled to `sample_rate`), then cut.

  Args:
    filename: a file name in examples/data, or a path.
    seconds: how many seconds to read (None: to the end).
    offset: seconds to skip at the start.
    sample_rate: Hz, the rate of the returned audio (the example files are
      16 kHz).

  Returns:
    [n_samples] float32 numpy array.
  """
  from ddsp.training import audio_io  # pylint: disable=g-import-not-at-top
  path = pathlib.Path(filename)
  if not path.is_absolute() and not path.exists():
    path = DATA_DIR / filename
  audio = audio_io.load_audio(path, sample_rate)
  start = int(round(offset * sample_rate))
  stop = None if seconds is None else start + int(round(seconds * sample_rate))
  return audio[start:stop]


def spectrum_db(audio, sample_rate=16000):
  """Frequencies (Hz) and Hann-windowed magnitude spectrum (dB re. peak)."""
  audio = np.asarray(audio, dtype=np.float64).reshape(-1)
  window = np.hanning(audio.size)
  mag = np.abs(np.fft.rfft(audio * window))
  freqs = np.fft.rfftfreq(audio.size, 1.0 / sample_rate)
  db = 20 * np.log10(np.maximum(mag / max(mag.max(), 1e-12), 1e-6))
  return freqs, db


def envelope_db(audio, frame=800):
  """Energy per frame (50 ms at 16 kHz) in dB, floored at -60 dB."""
  audio = np.asarray(audio, dtype=np.float64).reshape(-1)
  frames = audio[:audio.size // frame * frame].reshape(-1, frame)
  return np.maximum(10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-10), -60)


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
