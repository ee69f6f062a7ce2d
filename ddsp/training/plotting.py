"""Plots of audio, spectrograms, f0 and filters (matplotlib).

Figures for TensorBoard are made without pyplot: `new_figure` returns a
`matplotlib.figure.Figure` drawn by the Agg (PNG raster) canvas, so summaries
work on machines without a display, never change the user's pyplot backend,
and leave no figure open. `figure_to_image` and `figure_to_png` render them.
The notebook helpers (`specplot`, `plot_impulse_responses`,
`pianoroll_plot_setup`) draw with pyplot, as in the published library.
"""

import io

import numpy as np

from ddsp import core
from ddsp import spectral_ops

__all__ = [
    'DEFAULT_SAMPLE_RATE',
    'figure_to_image',
    'figure_to_png',
    'new_figure',
    'pianoroll_plot_setup',
    'plot_f0',
    'plot_impulse_responses',
    'plot_spectrograms',
    'plot_waveforms',
    'specplot',
    'transfer_function',
]

DEFAULT_SAMPLE_RATE = 16000


def new_figure(figsize=(6.0, 4.0), dpi=100):
  """A matplotlib Figure on an Agg canvas (no pyplot, no display needed).

  Args:
    figsize: (width, height) in inches.
    dpi: pixels per inch of the rendered image.

  Returns:
    `matplotlib.figure.Figure`.
  """
  from matplotlib.backends import backend_agg  # pylint: disable=g-import-not-at-top
  from matplotlib import figure  # pylint: disable=g-import-not-at-top
  fig = figure.Figure(figsize=figsize, dpi=dpi)
  backend_agg.FigureCanvasAgg(fig)
  return fig


def figure_to_image(fig):
  """Renders a figure to an RGBA image.

  Args:
    fig: a Figure from `new_figure` (or any Agg-backed figure).

  Returns:
    [height, width, 4] uint8 array, height = figsize[1] * dpi.

  Example:
    >>> figure_to_image(new_figure((2.0, 1.0), dpi=50)).shape
    (50, 100, 4)
  """
  fig.canvas.draw()
  return np.array(fig.canvas.buffer_rgba(), dtype=np.uint8)


def figure_to_png(fig):
  """Renders a figure to PNG bytes."""
  buffer = io.BytesIO()
  fig.savefig(buffer, format='png')
  return buffer.getvalue()


def _logmag(audio, size):
  audio = core.tf_float32(audio)
  return np.asarray(spectral_ops.compute_logmag(audio, size=size))


def plot_spectrograms(spectrograms, titles=None, vmin=-5.0, vmax=1.0,
                      figsize=None):
  """Stacked spectrograms, time to the right and frequency up.

  Args:
    spectrograms: list of [n_frames, n_bins] arrays, e.g. log magnitudes
      from `spectral_ops.compute_logmag` (natural log of |STFT|).
    titles: list of titles, one per spectrogram.
    vmin, vmax: colour range (log magnitude; -5 to 1 by default).
    figsize: (width, height) in inches; default 8 x 3 per spectrogram.

  Returns:
    `matplotlib.figure.Figure` with one axis per spectrogram.
  """
  n = len(spectrograms)
  titles = titles or [''] * n
  fig = new_figure(figsize or (8.0, 3.0 * n))
  axes = fig.subplots(n, 1, squeeze=False)[:, 0]
  for ax, spec, title in zip(axes, spectrograms, titles):
    ax.imshow(np.asarray(spec).T, origin='lower', aspect='auto', vmin=vmin,
              vmax=vmax, cmap='magma', interpolation='nearest')
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
  fig.tight_layout()
  return fig


def plot_waveforms(waveforms, titles=None, length=None, figsize=(5.0, 3.0)):
  """Waveforms one above the other, optionally only their first samples.

  Args:
    waveforms: list of [n_samples] arrays.
    titles: list of titles.
    length: plot only the first `length` samples.
    figsize: (width, height) in inches.

  Returns:
    `matplotlib.figure.Figure`.
  """
  n = len(waveforms)
  titles = titles or [''] * n
  fig = new_figure(figsize)
  axes = fig.subplots(n, 1, squeeze=False, sharex=True)[:, 0]
  n_columns = int(figsize[0] * fig.dpi)
  for ax, wave, title in zip(axes, waveforms, titles):
    wave = np.ravel(wave)
    wave = wave[:length] if length else wave
    if wave.size > 4 * n_columns:
      # Long clips: the min-max envelope of each pixel column draws the same
      # picture as every sample, much faster.
      edges = np.linspace(0, wave.size, n_columns + 1).astype(int)
      low = np.minimum.reduceat(wave, edges[:-1])
      high = np.maximum.reduceat(wave, edges[:-1])
      ax.fill_between(edges[:-1], low, high, linewidth=0.5)
    else:
      ax.plot(wave, linewidth=0.5)
    ax.set_title(title, fontsize=8)
    ax.set_ylim(-1.05, 1.05)
  fig.tight_layout()
  return fig


def plot_f0(f0_midi, f0_midi_predict, labels=('original', 'predicted'),
            figsize=(6.0, 2.5)):
  """Two f0 curves (MIDI) overlaid, and the second alone.

  Args:
    f0_midi: [n_frames] array, MIDI.
    f0_midi_predict: [n_frames] array, MIDI.
    labels: legend of the two curves.
    figsize: (width, height) in inches.

  Returns:
    `matplotlib.figure.Figure`.
  """
  fig = new_figure(figsize)
  ax0, ax1 = fig.subplots(1, 2)
  ax0.plot(np.ravel(f0_midi), label=labels[0])
  ax0.plot(np.ravel(f0_midi_predict), label=labels[1])
  ax0.set_title(f'{labels[0]} vs. {labels[1]}', fontsize=8)
  ax0.legend(fontsize=6)
  ax1.plot(np.ravel(f0_midi_predict), color='C1')
  ax1.set_title(labels[1], fontsize=8)
  for ax in (ax0, ax1):
    ax.set_ylabel('MIDI', fontsize=7)
  fig.tight_layout()
  return fig


def specplot(audio, vmin=-5, vmax=1, rotate=True, size=512 + 256, ax=None,
             **matshow_kwargs):
  """Plots the log magnitude spectrogram of audio (of its first example).

  Args:
    audio: [n_samples] or [batch, n_samples] float audio.
    vmin, vmax: colour range of the log magnitudes.
    rotate: frequency up and time to the right.
    size: FFT size (768).
    ax: matplotlib axis to draw in; None draws in a new pyplot figure.
    **matshow_kwargs: passed to `matshow`.

  Returns:
    The axis drawn in.
  """
  audio = np.asarray(audio)
  if audio.ndim == 2:
    audio = audio[0]
  logmag = _logmag(audio, size)
  if rotate:
    logmag = np.rot90(logmag)
  if ax is None:
    import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
    plt.matshow(logmag, vmin=vmin, vmax=vmax, cmap='magma', aspect='auto',
                **matshow_kwargs)
    ax = plt.gca()
  else:
    ax.matshow(logmag, vmin=vmin, vmax=vmax, cmap='magma', aspect='auto',
               **matshow_kwargs)
  ax.set_xticks([])
  ax.set_yticks([])
  ax.set_xlabel('Time')
  ax.set_ylabel('Frequency')
  return ax


def transfer_function(ir, sample_rate=DEFAULT_SAMPLE_RATE):
  """Frequencies (Hz) and magnitudes of the spectrum of an impulse response.

  Args:
    ir: [..., ir_size] float impulse response.
    sample_rate: Hz.

  Returns:
    frequencies: [n_fft // 2 + 1] float array, Hz, 0 to Nyquist.
    magnitudes: [..., n_fft // 2 + 1] float array, |rfft(ir, n_fft)|, with
      n_fft the power of 2 >= ir_size.
  """
  ir = np.asarray(ir, dtype=np.float64)
  n_fft = 2**int(np.ceil(np.log2(ir.shape[-1])))
  frequencies = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
  return frequencies, np.abs(np.fft.rfft(ir, n_fft, axis=-1))


def plot_impulse_responses(impulse_response, desired_magnitudes,
                           sample_rate=DEFAULT_SAMPLE_RATE):
  """Plots a desired frequency response against an impulse response's.

  Args:
    impulse_response: [batch, n_frames, ir_size] float; the first frame of
      the first example is plotted.
    desired_magnitudes: [n_bins] float, linear magnitudes from 0 Hz to
      Nyquist (as given to `core.frequency_impulse_response`).
    sample_rate: Hz.

  Returns:
    The pyplot figure.
  """
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  desired_magnitudes = np.ravel(desired_magnitudes)
  impulse_response = np.asarray(impulse_response)
  frequencies = np.linspace(0.0, sample_rate / 2.0, desired_magnitudes.size)
  true_frequencies, true_magnitudes = transfer_function(impulse_response,
                                                        sample_rate)
  fig = plt.figure(figsize=(12, 6))
  ax = fig.add_subplot(121)
  ax.semilogy(frequencies, desired_magnitudes, label='Desired')
  ax.semilogy(true_frequencies, true_magnitudes[0, 0], label='True')
  ax.set_title('Transfer Function')
  ax.legend()
  ax = fig.add_subplot(122)
  ax.plot(impulse_response[0, 0])
  ax.set_title('Impulse Response')
  return fig


def pianoroll_plot_setup(figsize=None, side_piano_ratio=0.025, faint_pr=True,
                         xlim=None):
  """A figure with a small piano keyboard along the y axis (MIDI pitch).

  Y values are MIDI notes (0 = C-1); black keys are dark. Limit the visible
  range with `main_axis.set_ylim`.

  Args:
    figsize: passed to `plt.figure`.
    side_piano_ratio: width of the keyboard as a fraction of the figure.
    faint_pr: draw faint key stripes behind the main axis.
    xlim: (min, max) of the main axis x range for the stripes (0, 1000).

  Returns:
    (figure, main_axis, left_piano_axis).
  """
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  from matplotlib import gridspec  # pylint: disable=g-import-not-at-top
  octaves = 11
  fig = plt.figure(figsize=figsize)
  grid = gridspec.GridSpec(1, 2, width_ratios=[1, int(1 / side_piano_ratio)])
  piano_ax = fig.add_subplot(grid[0])
  # 1 for black keys, C upwards.
  keys = np.tile([0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0], octaves)[:, np.newaxis]
  extent = [0, 1, -0.5, octaves * 12 - 0.5]
  piano_ax.imshow(keys, cmap='binary', aspect='auto', origin='lower',
                  extent=extent)
  for octave in range(octaves):
    for edge in (-0.5, 4.5):  # B|C and E|F boundaries.
      piano_ax.axhline(octave * 12 + edge, color='black', linewidth=0.5)
  piano_ax.set_xticks([])
  main_ax = fig.add_subplot(grid[1], sharey=piano_ax)
  if faint_pr:
    x_min, x_max = xlim or (0, 1000)
    main_ax.imshow(keys, cmap='binary', aspect='auto', origin='lower',
                   alpha=0.05, extent=[x_min, x_max] + extent[2:])
    main_ax.set_xlim(x_min, x_max)
  for label in main_ax.get_yticklabels():
    label.set_visible(False)
  grid.tight_layout(fig)
  return fig, main_ax, piano_ax
