"""TensorBoard summaries of audio, spectrograms, waveforms and f0.

Every function writes under the default summary writer
(`with writer.as_default():`) at an integer `step`, and does nothing where
no writer is set (as `tf.summary` itself). Figures are made with `plotting`
(matplotlib on an Agg canvas) and written as PNG images readable by
TensorBoard's image dashboard (as `tf.summary.image` writes them); audio with
`tf.summary.audio` (WAV). Tags follow the published library:
'audio_original', 'audio_generated', 'spectrogram/<name><i>',
'waveform/<name>full_<i>', 'f0_midi/<name>_<i>' (i counting from 1), and
for MIDI models 'midi/<name>_<i>', 'pianoroll/<name>_<i>',
'midiae_decoder_pitch/ex_<i>', 'midiae_decoder_ld/<db_key>_<i>',
'amplitudes/amplitudes_<i>', 'harmonic_dist/harmonic_dist_<i>',
'noise_mags/noise_mags_<i>'.
Summaries need the `tensorboard` package (a dependency of ddsp); the MIDI
ones that take NoteSequences need `ddsp[midi]`.
"""

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import spectral_ops
from ddsp import validation
from ddsp.training import note_util
from ddsp.training import plotting

__all__ = [
    'audio_summary',
    'f0_summary',
    'fig_summary',
    'get_spectrogram',
    'image_summary',
    'midi_summary',
    'midiae_f0_summary',
    'midiae_ld_summary',
    'midiae_sp_summary',
    'pianoroll_summary',
    'spectrogram_summary',
    'waveform_summary',
]


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
  audio = core.numpy_audio_batch(audio, 'audio')
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
  audio = core.numpy_audio_batch(audio, 'audio')
  audio_gen = core.numpy_audio_batch(audio_gen, 'audio_gen')
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
  audio = core.numpy_audio_batch(audio, 'audio')
  audio_gen = core.numpy_audio_batch(audio_gen, 'audio_gen')
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
  f0_hz = core.to_numpy(f0_hz).astype(np.float32)
  f0_hz_predict = core.to_numpy(f0_hz_predict).astype(np.float32)
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


# ------------------------------------------------------------------------------
# MIDI summaries.
# ------------------------------------------------------------------------------
def _example(x, i):
  """Example i of a batched value, squeezed to 1-D or 2-D numpy."""
  return np.squeeze(core.to_numpy(x[i]))


def _lookup(outputs, key, summary):
  try:
    return core.nested_lookup(key, outputs)
  except (KeyError, ValueError) as e:
    raise ValueError(f'{summary} needs outputs[{key!r}]; the outputs have '
                     f'keys {sorted(outputs)}.') from e


def midi_summary(controls, step, name, frame_rate, notes_key,
                 max_outputs=None):
  """Plots segmented notes over the amplitudes and f0 they came from.

  Args:
    controls: dict with 'f0_hz' [batch, n_frames(, 1)] (Hz), the harmonic
      amplitudes at 'harmonic/controls/amplitudes' [batch, n_frames(, 1)] and
      `notes_key`: one `note_seq.NoteSequence` per example.
    step: int, the training step.
    name: tags are 'midi/<name>_<i>'.
    frame_rate: frames per second of the controls.
    notes_key: key of the notes in `controls`.
    max_outputs: at most this many examples.

  Returns:
    Number of plots written.
  """
  f0_hz = core.to_numpy(_lookup(controls, 'f0_hz', 'midi_summary'))
  amps = _lookup(controls, 'harmonic/controls/amplitudes', 'midi_summary')
  sequences = _lookup(controls, notes_key, 'midi_summary')
  n = _count(f0_hz.shape[0], max_outputs)
  for i in range(n):
    amps_i = _example(amps, i)
    f0_midi = core.hz_to_midi(_example(f0_hz, i), use_tf=False)
    notes_f0, notes_amps = np.zeros_like(f0_midi), np.zeros_like(amps_i)
    onsets = []
    for note in sequences[i].notes:
      start = int(round(note.start_time * frame_rate))
      stop = int(round(note.end_time * frame_rate))
      notes_f0[start:stop] = note.pitch
      notes_amps[start:stop] = note.velocity / 1e3
      onsets.append(min(start, f0_midi.size - 1))
    fig = plotting.new_figure((6.0, 4.0))
    ax_amps, ax_f0 = fig.subplots(2, 1)
    ax_amps.semilogy(amps_i, label='controls')
    ax_amps.plot(notes_amps, '-d', label='notes', markevery=onsets)
    ax_amps.set_title('Amps')
    ax_f0.plot(f0_midi, label='controls')
    ax_f0.plot(notes_f0, '-d', label='notes', markevery=onsets)
    ax_f0.set_title('f0')
    for ax in (ax_amps, ax_f0):
      ax.legend()
    fig_summary(f'midi/{name}_{i + 1}', fig, step)
  return n


def _f0_plot_limits(f0_midi, max_spike=5.0, min_midi_value=5.0, pad=6.0):
  """(min, max) MIDI of an f0 plot ignoring spikes and near-silent values."""
  f0_midi = np.asarray(f0_midi, np.float64)
  diff = np.insert(np.diff(f0_midi), 0, 0.0)
  keep = (np.abs(diff) <= max_spike) & (f0_midi >= min_midi_value)
  if not keep.any():
    return 0.0, 127.0
  return (float(np.floor(f0_midi[keep].min() - pad)),
          float(np.ceil(f0_midi[keep].max() + pad)))


def _midiae_f0_plot(q_pitch, f0_midi, curve, tag, label, step):
  from matplotlib import ticker  # pylint: disable=g-import-not-at-top
  fig, ax, piano_ax = plotting.pianoroll_plot_setup(figsize=(6.0, 4.0))
  piano_ax.set_ylabel('MIDI Note Value')
  ax.step(np.arange(q_pitch.size), q_pitch, 'r', linewidth=1.0,
          label='q_pitch')
  ax.plot(f0_midi, 'dodgerblue', linewidth=1.5, label='input f0')
  ax.plot(curve, 'darkgreen', linewidth=1.25, label=label)
  ax.set_xlim(0, f0_midi.size)
  ax.set_ylim(*_f0_plot_limits(f0_midi))
  ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
  ax.legend()
  fig_summary(tag, fig, step)


def midiae_f0_summary(f0_hz, outputs, step, max_outputs=None):
  """Plots the MIDI autoencoder's pitch: input f0, quantized pitch, decoded.

  Writes 'midiae_decoder_pitch/ex_<i>' (outputs 'q_pitch' and
  'f0_midi_pred'), 'midiae_decoder_pitch2/ex_<i>' if 'f0_midi_pred2' is
  there, and 'midiae_encoder_pitch/ex_<i>' for the unquantized encoder pitch
  ('pitch', or 'z_pitch').

  Args:
    f0_hz: [batch, n_frames(, 1)] input f0, Hz.
    outputs: the MidiAutoencoder's outputs dict.
    step: int, the training step.
    max_outputs: at most this many examples.

  Returns:
    Number of examples plotted.
  """
  f0_hz = core.to_numpy(f0_hz)
  q_pitch = _lookup(outputs, 'q_pitch', 'midiae_f0_summary')
  f0_rec = _lookup(outputs, 'f0_midi_pred', 'midiae_f0_summary')
  pitch_key = next((k for k in ('pitch', 'z_pitch') if k in outputs), None)
  n = _count(f0_hz.shape[0], max_outputs)
  for i in range(n):
    f0_midi = core.hz_to_midi(_example(f0_hz, i), use_tf=False)
    q = _example(q_pitch, i)
    _midiae_f0_plot(q, f0_midi, _example(f0_rec, i),
                    f'midiae_decoder_pitch/ex_{i + 1}', 'rec_f0', step)
    if 'f0_midi_pred2' in outputs:
      _midiae_f0_plot(q, f0_midi, _example(outputs['f0_midi_pred2'], i),
                      f'midiae_decoder_pitch2/ex_{i + 1}', 'rec_f0_2', step)
    if pitch_key is not None:
      _midiae_f0_plot(q, f0_midi, _example(outputs[pitch_key], i),
                      f'midiae_encoder_pitch/ex_{i + 1}', 'z_pitch', step)
  return n


def _midiae_ld_plot(ld_input, ld_rec, curve, tag, label, step):
  from matplotlib import ticker  # pylint: disable=g-import-not-at-top
  fig = plotting.new_figure((6.0, 4.0))
  ax = fig.add_subplot(111)
  ax.plot(ld_input, linewidth=1.5, label='input ld')
  ax.plot(ld_rec, 'g', linewidth=1.25, label='rec ld')
  ax.step(np.arange(curve.size), curve, 'r', linewidth=0.75, label=label)
  ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
  ax.legend()
  fig_summary(tag, fig, step)


def midiae_ld_summary(ld_feat, outputs, step, db_key='loudness_db',
                      max_outputs=None):
  """Plots the MIDI autoencoder's loudness against its velocity.

  Writes 'midiae_decoder_ld/<db_key>_<i>' (outputs '<db_key>_rec' and
  'velocity_quant'), 'midiae_decoder_ld2/...' if '<db_key>_rec2' is there
  and 'midiae_encoder_ld/...' if 'velocity' is.

  Args:
    ld_feat: [batch, n_frames(, 1)] input loudness (or power), dB.
    outputs: the model's outputs dict.
    step: int, the training step.
    db_key: 'loudness_db' or 'power_db'.
    max_outputs: at most this many examples.

  Returns:
    Number of examples plotted.
  """
  ld_feat = core.to_numpy(ld_feat)
  ld_rec = _lookup(outputs, f'{db_key}_rec', 'midiae_ld_summary')
  vel_quant = _lookup(outputs, 'velocity_quant', 'midiae_ld_summary')
  n = _count(ld_feat.shape[0], max_outputs)
  for i in range(n):
    ld_input, rec, q_vel = (_example(ld_feat, i), _example(ld_rec, i),
                            _example(vel_quant, i))
    _midiae_ld_plot(ld_input, rec, q_vel, f'midiae_decoder_ld/{db_key}_{i + 1}',
                    'q_vel', step)
    if f'{db_key}_rec2' in outputs:
      _midiae_ld_plot(ld_input, _example(outputs[f'{db_key}_rec2'], i), q_vel,
                      f'midiae_decoder_ld2/{db_key}_{i + 1}', 'q_vel', step)
    if 'velocity' in outputs:
      _midiae_ld_plot(ld_input, rec, _example(outputs['velocity'], i),
                      f'midiae_encoder_ld/{db_key}_{i + 1}', 'vel', step)
  return n


def _synth_params_plot(values, titles, tag, step, image):
  fig = plotting.new_figure((8.0, 4.0 * len(values)))
  axes = fig.subplots(len(values), 1, squeeze=False)[:, 0]
  for ax, value, title in zip(axes, values, titles):
    if image:
      im = ax.imshow(value.T, aspect='auto', origin='lower')
      fig.colorbar(im, ax=ax)
    else:
      ax.plot(value)
    ax.set_title(title)
    ax.label_outer()
  fig_summary(tag, fig, step)


def midiae_sp_summary(outputs, step, max_outputs=None):
  """Plots the synth parameters of both branches of the MIDI autoencoder.

  For 'amps' (dB), 'hd' (harmonic distribution, plotted as log) and 'noise'
  (noise magnitudes, dB), [batch, n_frames, channels], writes
  'amplitudes/amplitudes_<i>', 'harmonic_dist/harmonic_dist_<i>' and
  'noise_mags/noise_mags_<i>'; with the MIDI branch's 'amps_pred',
  'hd_pred', 'noise_pred' each plot has three rows: synthcoder, MIDI
  decoder, difference.

  Args:
    outputs: the MidiAutoencoder's outputs dict.
    step: int, the training step.
    max_outputs: at most this many examples.

  Returns:
    Number of examples plotted.
  """
  have_pred = 'amps_pred' in outputs
  n = _count(np.shape(_lookup(outputs, 'amps', 'midiae_sp_summary'))[0],
             max_outputs)
  specs = (('amps', 'amplitudes/amplitudes', 'Amplitudes', False, None),
           ('hd', 'harmonic_dist/harmonic_dist', 'Harmonic Distribution (log)',
            True, lambda x: np.log(x + 1e-8)),
           ('noise', 'noise_mags/noise_mags', 'Noise mags', True, None))
  for i in range(n):
    for key, tag, title, image, transform in specs:
      transform = transform or (lambda x: x)
      values = [transform(_example(_lookup(outputs, key, 'midiae_sp_summary'),
                                   i))]
      titles = [f'{title} - synth_params']
      if have_pred:
        pred = transform(_example(_lookup(outputs, f'{key}_pred',
                                          'midiae_sp_summary'), i))
        values += [pred, values[0] - pred]
        titles += [f'{title} - pred', f'{title} - diff']
      _synth_params_plot(values, titles, f'{tag}_{i + 1}', step, image)
  return n


def pianoroll_summary(batch, step, name, frame_rate, pred_key,
                      gt_key='note_active_velocities', ch=None,
                      threshold=0.0, max_outputs=None):
  """Plots the true piano roll (green) against the predicted notes (blue).

  Overlap shows cyan; cells where neither exceeds `threshold` are
  transparent.

  Args:
    batch: dict with `gt_key` [batch, n_frames, 128(, n_channels)] (true
      piano rolls) and `pred_key`: piano rolls of the same shape or one
      `note_seq.NoteSequence` per example.
    step: int, the training step.
    name: tags are 'pianoroll/<name>_<i>'.
    frame_rate: frames per second of the piano rolls.
    pred_key: key of the predictions.
    gt_key: key of the true piano rolls.
    ch: channel of multi-channel piano rolls, or None.
    threshold: cells above it are drawn.
    max_outputs: at most this many examples.

  Returns:
    Number of plots written.
  """
  from matplotlib import patches  # pylint: disable=g-import-not-at-top
  from matplotlib import ticker  # pylint: disable=g-import-not-at-top
  gt_batch = _lookup(batch, gt_key, 'pianoroll_summary')
  pred_batch = _lookup(batch, pred_key, 'pianoroll_summary')
  n = _count(np.shape(gt_batch)[0], max_outputs)
  green, blue = np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
  for i in range(n):
    gt = core.to_numpy(gt_batch[i])
    pred = pred_batch[i]
    if ch is not None:
      gt, pred = gt[..., ch], pred[..., ch]
    if note_util.is_note_sequence(pred):
      pred = note_util.note_sequence_to_pianoroll(pred, frame_rate,
                                                  n_frames=gt.shape[0])
    pred = core.to_numpy(pred).astype(np.float64)
    validation.check_same_shape({gt_key: gt, pred_key: pred})
    img = np.zeros([gt.shape[1], gt.shape[0], 4])
    img[..., 1] = np.clip(gt.T, 0.0, 1.0) if gt.max() <= 1 else gt.T > 0
    img[..., 2] = np.clip(pred.T, 0.0, 1.0) if pred.max() <= 1 else pred.T > 0
    img[..., 3] = (gt.T > threshold) | (pred.T > threshold)
    notes = np.concatenate([np.argmax(gt, axis=1), np.argmax(pred, axis=1)])
    notes = notes[notes > 0]
    lower, upper = (notes.min(), notes.max()) if notes.size else (0, 127)
    fig, ax, _ = plotting.pianoroll_plot_setup(figsize=(6.0, 4.0),
                                               xlim=[0, img.shape[1]])
    ax.imshow(img, origin='lower', aspect='auto', interpolation='nearest')
    ax.set_ylim(max(lower - 5, 0), min(upper + 5, 127))
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    fig.legend(handles=[
        patches.Patch(label='GT MIDI', color=green),
        patches.Patch(label='Pred MIDI', color=blue),
        patches.Patch(label='Overlap', color=green + blue)])
    fig_summary(f'pianoroll/{name}_{i + 1}', fig, step)
  return n
