"""TensorBoard summaries of audio, spectrograms, waveforms and f0.

Every function writes under the default summary writer
(`with writer.as_default():`) at an integer `step`, and does nothing where
no writer is set (as `tf.summary` itself). Figures are made with `plotting`
(matplotlib on an Agg canvas) and written as PNG images readable by
TensorBoard's image dashboard (as `tf.summary.image` writes them); audio with
`tf.summary.audio` (WAV). Tags follow the published library:
'audio_original', 'audio_generated', 'spectrogram/<name><i>',
'waveform/<name>full_<i>', 'f0_midi/<name>_<i>' (i counting from 1).
Summaries need the `tensorboard` package (a dependency of ddsp).
"""

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import spectral_ops
from ddsp import validation
from ddsp.training import plotting

__all__ = [
    'audio_summary',
    'f0_summary',
    'fig_summary',
    'get_spectrogram',
    'image_summary',
    'spectrogram_summary',
    'waveform_summary',
]


def _numpy(x):
  return x.numpy() if isinstance(x, (tf.Tensor, tf.Variable)) else np.asarray(x)


def _batch_audio(audio, name):
  audio = _numpy(audio).astype(np.float32)
  validation.check_audio(audio, name)
  if audio.ndim == 3:
    audio = audio[..., 0]
  return audio[np.newaxis] if audio.ndim == 1 else audio


def _count(batch_size, max_outputs):
  if max_outputs is None:
    return batch_size
  return min(batch_size, validation.check_positive_int(max_outputs,
                                                       'max_outputs'))


def image_summary(tag, image, step):
  """Writes one image summary, PNG-encoded at low zlib effort (fast).

  `tf.summary.image` encodes at the default effort, about 4 times slower
  for plots of this size, for files about 10 % smaller.

  Args:
    tag: summary tag (used as is, no name scope).
    image: [height, width, channels] uint8 array, channels 1, 3 or 4.
    step: int, the training step.

  Returns:
    True if a summary was written (a default writer is set).
  """
  from tensorboard.plugins.image import metadata  # pylint: disable=g-import-not-at-top
  image = np.asarray(image)
  if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
    raise ValueError('`image` must be [height, width, channels] with 1, 3 or '
                     f'4 channels. Received: image.shape={image.shape}')
  if not tf.summary.should_record_summaries():
    return False
  height, width = image.shape[:2]
  png = tf.image.encode_png(tf.constant(image, tf.uint8), compression=1)
  tensor = tf.stack([tf.as_string(width), tf.as_string(height), png])
  return tf.summary.write(
      tag=tag, tensor=tensor, step=step,
      metadata=metadata.create_summary_metadata(display_name=None,
                                                description=None))


def fig_summary(tag, fig, step):
  """Writes a matplotlib figure as an image summary (RGB PNG).

  Args:
    tag: summary tag.
    fig: a Figure on an Agg canvas (`plotting.new_figure`); pyplot figures
      are closed after writing.
    step: int, the training step.

  Returns:
    True if a summary was written (a default writer is set); the figure is
    rendered only then.
  """
  written = False
  if tf.summary.should_record_summaries():
    written = image_summary(tag, plotting.figure_to_image(fig)[..., :3], step)
  if getattr(fig, 'number', None) is not None:  # Managed by pyplot.
    import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
    plt.close(fig)
  return written


def audio_summary(audio, step, sample_rate=16000, name='audio',
                  max_outputs=None):
  """Writes a batch of audio clips (WAV) to TensorBoard.

  Args:
    audio: [batch, n_samples] (or [n_samples], [batch, n_samples, 1]) float,
      in [-1, 1] (values outside are clipped).
    step: int, the training step.
    sample_rate: Hz.
    name: summary tag.
    max_outputs: write at most this many examples (all by default).

  Returns:
    True if a summary was written.

  Example:
    >>> import tempfile
    >>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
    >>> with writer.as_default():
    ...   written = audio_summary(np.zeros([2, 1600]), step=0, name='silence')
    >>> bool(written)
    True
  """
  audio = _batch_audio(audio, 'audio')
  n = _count(audio.shape[0], max_outputs)
  audio = np.clip(audio[:n], -1.0, 1.0)[..., np.newaxis]
  return tf.summary.audio(name, audio, int(sample_rate), step=step,
                          max_outputs=n, encoding='wav')


def get_spectrogram(audio, rotate=False, size=1024):
  """Log magnitude spectrogram ([batch,] n_frames, size // 2 + 1), numpy.

  `spectral_ops.compute_logmag(audio, size)` (75 % overlap); `rotate` turns
  it by 90 degrees (frequency up, for `matshow`).
  """
  mag = np.asarray(spectral_ops.compute_logmag(core.tf_float32(audio),
                                               size=size))
  return np.rot90(mag, axes=(-2, -1)) if rotate else mag


def spectrogram_summary(audio, audio_gen, step, name='', tag='spectrogram',
                        max_outputs=None, size=768, sample_rate=16000):
  """Writes one image per example: original above synthesized spectrogram.

  Args:
    audio: [batch, n_samples] float, the original audio.
    audio_gen: [batch, n_samples'] float, the generated audio.
    step: int, the training step.
    name: tag suffix prefix: tags are '<tag>/<name>_<i>' (or '<tag>/<i>').
    tag: tag prefix.
    max_outputs: at most this many examples.
    size: FFT size of the spectrograms (768 = 48 ms at 16 kHz); scaled with
      `sample_rate / 16000` so images look alike at any rate.
    sample_rate: Hz, of both signals.

  Returns:
    Number of images written.

  Example:
    >>> import tempfile
    >>> noise = np.random.default_rng(0).uniform(-0.1, 0.1, [3, 4000])
    >>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
    >>> with writer.as_default():
    ...   n = spectrogram_summary(noise, noise, step=0, max_outputs=1)
    >>> n
    1
  """
  audio = _batch_audio(audio, 'audio')
  audio_gen = _batch_audio(audio_gen, 'audio_gen')
  validation.check_same_dim({'audio': audio, 'audio_gen': audio_gen}, 0,
                            'batch')
  n = _count(audio.shape[0], max_outputs)
  size = int(round(size * sample_rate / 16000.0))
  specs = get_spectrogram(audio[:n], size=size)
  specs_gen = get_spectrogram(audio_gen[:n], size=size)
  prefix = f'{name}_' if name else ''
  for i in range(n):
    fig = plotting.plot_spectrograms([specs[i], specs_gen[i]],
                                     ['original', 'synthesized'],
                                     figsize=(8.0, 6.0))
    fig_summary(f'{tag}/{prefix}{i + 1}', fig, step)
  return n


def waveform_summary(audio, audio_gen, step, name='', max_outputs=None,
                     zoom_samples=2000):
  """Writes waveform plots (whole clip and its start) of each example.

  Args:
    audio: [batch, n_samples] float, the original audio.
    audio_gen: [batch, n_samples] float, the generated audio.
    step: int, the training step.
    name: tag prefix: tags are 'waveform/<name>_full_<i>' and
      'waveform/<name>_zoom_<i>'.
    max_outputs: at most this many examples.
    zoom_samples: samples of the zoomed plot (2000 = 125 ms at 16 kHz).

  Returns:
    Number of examples plotted.
  """
  audio = _batch_audio(audio, 'audio')
  audio_gen = _batch_audio(audio_gen, 'audio_gen')
  validation.check_same_dim({'audio': audio, 'audio_gen': audio_gen}, 0,
                            'batch')
  n = _count(audio.shape[0], max_outputs)
  prefix = f'{name}_' if name else ''
  for i in range(n):
    for label, length in (('full', None), ('zoom', zoom_samples)):
      fig = plotting.plot_waveforms([audio[i], audio_gen[i]],
                                    ['original', 'synthesized'], length=length)
      fig_summary(f'waveform/{prefix}{label}_{i + 1}', fig, step)
  return n


def f0_summary(f0_hz, f0_hz_predict, step, name='f0_midi', tag='f0_midi',
               max_outputs=None):
  """Writes plots of a reference f0 against a predicted one (in MIDI).

  Args:
    f0_hz: [batch, n_frames(, 1)] float, Hz.
    f0_hz_predict: [batch, n_frames'(, 1)] float, Hz; linearly resampled to
      n_frames if it differs.
    step: int, the training step.
    name: tags are '<tag>/<name>_<i>'.
    tag: tag prefix.
    max_outputs: at most this many examples.

  Returns:
    Number of plots written.
  """
  f0_hz = _numpy(f0_hz).astype(np.float32)
  f0_hz_predict = _numpy(f0_hz_predict).astype(np.float32)
  f0_hz = f0_hz.reshape(f0_hz.shape[0], -1)
  f0_hz_predict = f0_hz_predict.reshape(f0_hz_predict.shape[0], -1)
  validation.check_same_dim({'f0_hz': f0_hz, 'f0_hz_predict': f0_hz_predict},
                            0, 'batch')
  if f0_hz_predict.shape[1] != f0_hz.shape[1]:
    f0_hz_predict = core.resample(f0_hz_predict, f0_hz.shape[1]).numpy()
  f0_midi = core.hz_to_midi(f0_hz).numpy()
  f0_midi_predict = core.hz_to_midi(f0_hz_predict).numpy()
  n = _count(f0_hz.shape[0], max_outputs)
  for i in range(n):
    fig = plotting.plot_f0(f0_midi[i], f0_midi_predict[i])
    fig_summary(f'{tag}/{name}_{i + 1}', fig, step)
  return n
