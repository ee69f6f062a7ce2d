"""Framing: cutting a signal into frames at a (possibly fractional) hop.

Control-rate features (loudness, power, f0) are computed on frames spaced by
`hop = sample_rate / frame_rate` samples. The hop need not be an integer: at
44.1 kHz and 250 frames/s it is 176.4 samples (`hop_from_rates` keeps it as
the exact fraction 882/5), and frame `i` then starts at sample
`round(i * hop)` (halves rounded up, `frame_start`) of the padded signal, so
frame `i` always sits at time `i / frame_rate` to within half a sample.

The number of frames depends only on the signal length, the hop and the
padding (`get_framed_lengths`):

* 'valid': only frames that fit in the signal (`(n - frame_size) // hop + 1`
  for an integer hop), no padding;
* 'same': `ceil(n / hop)` frames, zeros appended at the end;
* 'center': `n // hop + 1` frames, frame `i` centred on sample `i * hop`
  (`frame_size // 2` zeros before the signal, the rest after), as librosa's
  `center=True`.

`pad` pads a tensor the way the frames need, `frame` (TensorFlow,
differentiable) and `frame_np` / `frame_view_np` (numpy) cut the frames.
`ddsp.spectral_ops` and `ddsp.crepe` frame audio with these functions; the
published names `spectral_ops.get_framed_lengths` and `spectral_ops.pad` are
these.
"""

import fractions
import numbers

import numpy as np
import tensorflow as tf

from ddsp import validation
from ddsp.core.utils import tf_float32

__all__ = [
    'PADDINGS',
    'to_fraction',
    'hop_from_rates',
    'frame_start',
    'get_framed_lengths',
    'signal_length',
    'pad',
    'frame',
    'frame_np',
    'frame_view_np',
    'mono_audio',
    'check_n_frames',
]

PADDINGS = ('valid', 'same', 'center')
# Largest denominator kept when a float hop is read as a fraction.
_MAX_DENOMINATOR = 10_000


def to_fraction(value, name='value'):
  """An exact positive rational number for an int, float or Fraction.

  A float is read as the simple ratio it stands for: 176.4 -> 882/5 (the
  closest fraction with a denominator of at most 10000).

  Args:
    value: a positive int, float or `fractions.Fraction`.
    name: argument name used in error messages.

  Returns:
    A positive `fractions.Fraction`.

  Raises:
    ValueError: if `value` is not a positive number.

  Example:
    >>> to_fraction(44100 / 250, 'hop_size')
    Fraction(882, 5)
  """
  if isinstance(value, fractions.Fraction):
    if value <= 0:
      raise ValueError(f'`{name}` must be a positive number. '
                       f'Received: {name}={value}')
    return value
  validation.check_positive(value, name)
  if isinstance(value, numbers.Integral):
    return fractions.Fraction(int(value))
  return fractions.Fraction(float(value)).limit_denominator(_MAX_DENOMINATOR)


def hop_from_rates(sample_rate, frame_rate):
  """Hop in samples between frames at `frame_rate` Hz, an exact Fraction.

  Args:
    sample_rate: samples per second of the signal, > 0.
    frame_rate: frames per second, > 0 and at most `sample_rate`.

  Returns:
    `fractions.Fraction(sample_rate) / frame_rate`, e.g. 64 for 16 kHz at
    250 frames/s, 882/5 = 176.4 for 44.1 kHz.

  Raises:
    ValueError: for non-positive rates or `frame_rate > sample_rate`.

  Example:
    >>> hop_from_rates(16000, 250), hop_from_rates(44100, 250)
    (Fraction(64, 1), Fraction(882, 5))
  """
  hop = (to_fraction(sample_rate, 'sample_rate') /
         to_fraction(frame_rate, 'frame_rate'))
  if hop < 1:
    raise ValueError('`frame_rate` must not exceed `sample_rate` (a hop of at '
                     f'least one sample). Received: frame_rate={frame_rate}, '
                     f'sample_rate={sample_rate}')
  return hop


def frame_start(i, hop):
  """First sample of frame `i`: `round(i * hop)`, halves rounded up, exactly.

  Args:
    i: frame index, an int or an integer numpy array / tensor.
    hop: the hop as a `fractions.Fraction` (see `to_fraction`).

  Returns:
    The start sample(s), of the type of `i`.

  Example:
    >>> [frame_start(i, to_fraction(2.5)) for i in range(4)]
    [0, 3, 5, 8]
  """
  p, q = hop.numerator, hop.denominator
  return (2 * i * p + q) // (2 * q)


def _maximum(a, b):
  if isinstance(a, tf.Tensor) or isinstance(b, tf.Tensor):
    return tf.maximum(a, b)
  return max(a, b)


def get_framed_lengths(input_length, frame_size, hop_size, padding='center'):
  """Number of frames and padded length for framing a signal.

  Args:
    input_length: length of the signal in samples (an int, or a scalar int
      tensor inside a graph).
    frame_size: samples per frame, a positive int.
    hop_size: samples between frame starts, > 0. May be fractional
      (`44100 / 250 = 176.4`): frame `i` then starts at `round(i * hop_size)`.
    padding: 'valid' (only frames that fit, no padding), 'same' (pad the end,
      `ceil(input_length / hop_size)` frames) or 'center' (pad
      `frame_size // 2` before and the rest after so that frame `i` is centred
      on sample `i * hop_size`; `input_length // hop_size + 1` frames).

  Returns:
    n_frames: number of frames (0 where 'valid' framing finds none).
    padded_length: length of the signal after `pad` with the same arguments.

  Raises:
    ValueError: for a non-positive size or hop, or an unknown padding.

  Example:
    >>> get_framed_lengths(64000, 512, 64, 'center')
    (1001, 64512)
    >>> get_framed_lengths(176400, 512, 44100 / 250, 'same')
    (1000, 176736)
  """
  frame_size = validation.check_positive_int(frame_size, 'frame_size')
  hop = to_fraction(hop_size, 'hop_size')
  validation.check_one_of(padding, 'padding', PADDINGS)
  n = input_length
  p, q = hop.numerator, hop.denominator
  if padding == 'valid':
    # Frames i with round(i * hop) + frame_size <= n.
    count = -((-q * (2 * (n - frame_size) + 1)) // (2 * p))
    return _maximum(count, 0), n
  if padding == 'same':
    n_frames = -((-n * q) // p)
    return n_frames, _maximum(n, frame_start(n_frames - 1, hop) + frame_size)
  n_frames = (n * q) // p + 1
  return n_frames, n + frame_size


def signal_length(x, axis=-1):
  """Length of `x` along `axis`: an int if static, else a scalar int tensor.

  Example:
    >>> signal_length(tf.zeros([2, 100]))
    100
  """
  n = x.shape[axis]
  if n is None:
    return tf.shape(x)[axis]
  return int(n)


def pad(x, frame_size, hop_size, padding='center', axis=1, mode='CONSTANT',
        constant_values=0):
  """Pads a tensor along one axis for framing with `get_framed_lengths`.

  Args:
    x: tensor of any rank >= 1, e.g. audio [batch, n_samples] float32.
    frame_size: samples per frame, a positive int.
    hop_size: samples between frame starts, > 0 (may be fractional).
    padding: 'valid' (returns `x` unchanged), 'same' (zeros at the end) or
      'center' (`frame_size // 2` before, `frame_size - frame_size // 2`
      after). See `get_framed_lengths`.
    axis: axis to pad; ignored (0) for rank-1 input.
    mode: 'CONSTANT', 'REFLECT' or 'SYMMETRIC', as in `tf.pad`.
    constant_values: value used by 'CONSTANT' padding.

  Returns:
    float32 tensor, `x` padded to `get_framed_lengths(...)[1]` along `axis`.
    Differentiable with respect to `x`.

  Raises:
    ValueError: for an unknown padding or mode, or bad sizes.

  Example:
    >>> pad(tf.ones([2, 1000]), 512, 64, padding='center').shape
    TensorShape([2, 1512])
  """
  validation.check_one_of(str(mode).upper(), 'mode',
                          ('CONSTANT', 'REFLECT', 'SYMMETRIC'))
  x = tf_float32(x)
  validation.check_rank(x, 'x', tuple(range(1, 9)))
  axis = 0 if x.shape.rank == 1 else axis
  n = signal_length(x, axis)
  _, padded_length = get_framed_lengths(n, frame_size, hop_size, padding)
  if padding == 'valid':
    return x
  before = frame_size // 2 if padding == 'center' else 0
  pads = [[0, 0] for _ in range(x.shape.rank)]
  pads[axis] = [before, padded_length - n - before]
  return tf.pad(x, pads, mode=mode, constant_values=constant_values)


def _framing_plan(n, frame_size, hop, padding, n_frames=None):
  """(n_frames, zeros before, zeros after, samples read) for framing."""
  if n_frames is None:
    n_frames, _ = get_framed_lengths(n, frame_size, hop, padding)
  before = frame_size // 2 if padding == 'center' else 0
  # Only read what the frames need (for 'same' with hop > frame_size that is
  # less than the whole signal).
  read_length = frame_start(n_frames - 1, hop) + frame_size
  after = _maximum(read_length - before - n, 0)
  return n_frames, before, after, read_length


def frame(x, frame_size, hop_size, padding='center', n_frames=None):
  """Frames a signal: [..., n_samples] -> [..., n_frames, frame_size].

  Zero padding as `pad`; frame `i` starts at `round(i * hop_size)` of the
  padded signal.

  Args:
    x: [..., n_samples] tensor or array (the last axis is framed).
    frame_size: samples per frame, a positive int.
    hop_size: samples between frame starts, > 0 (may be fractional).
    padding: 'valid', 'same' or 'center' (see `get_framed_lengths`).
    n_frames: number of frames; by default `get_framed_lengths(...)[0]`. More
      frames read zeros past the end.

  Returns:
    [..., n_frames, frame_size] tensor. Differentiable with respect to `x`.

  Example:
    >>> frame(tf.range(6.0), 4, 2, padding='same').numpy().tolist()
    [[0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0], [4.0, 5.0, 0.0, 0.0]]
  """
  frame_size = validation.check_positive_int(frame_size, 'frame_size')
  hop = to_fraction(hop_size, 'hop_size')
  validation.check_one_of(padding, 'padding', PADDINGS)
  x = tf.convert_to_tensor(x)
  n_frames, before, after, read_length = _framing_plan(
      signal_length(x), frame_size, hop, padding, n_frames)
  pads = [[0, 0]] * (x.shape.rank - 1) + [[before, after]]
  x = tf.pad(x, pads)[..., :read_length]
  if hop.denominator == 1:
    return tf.signal.frame(x, frame_size, int(hop), axis=-1)
  starts = frame_start(tf.range(n_frames, dtype=tf.int64), hop)
  idx = starts[:, tf.newaxis] + tf.range(frame_size, dtype=tf.int64)
  return tf.gather(x, idx, axis=-1)


def frame_view_np(x, frame_size, hop_size, padding='center', n_frames=None):
  """Numpy framing without copying the frames: (windows view, frame starts).

  `windows[..., starts, :]` are the frames of `frame_np`; index a slice of
  `starts` to build a few frames at a time (bounded memory for long audio).

  Args:
    x: [..., n_samples] numpy array.
    frame_size, hop_size, padding, n_frames: as for `frame`.

  Returns:
    windows: read-only [..., n_windows, frame_size] view of every window of
      the padded signal.
    starts: [n_frames] int array, the window of each frame.

  Example:
    >>> windows, starts = frame_view_np(np.arange(6.0), 4, 2, 'valid')
    >>> windows[starts].tolist()
    [[0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0]]
  """
  frame_size = validation.check_positive_int(frame_size, 'frame_size')
  hop = to_fraction(hop_size, 'hop_size')
  validation.check_one_of(padding, 'padding', PADDINGS)
  x = np.asarray(x)
  n_frames, before, after, read_length = _framing_plan(
      x.shape[-1], frame_size, hop, padding, n_frames)
  x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(before, after)])[..., :read_length]
  windows = np.lib.stride_tricks.sliding_window_view(x, frame_size, axis=-1)
  return windows, frame_start(np.arange(n_frames), hop)


def frame_np(x, frame_size, hop_size, padding='center', n_frames=None):
  """The numpy twin of `frame`: [..., n_samples] -> [..., n_frames, size].

  Example:
    >>> frame_np(np.arange(6.0), 4, 2, padding='center').shape
    (4, 4)
  """
  windows, starts = frame_view_np(x, frame_size, hop_size, padding, n_frames)
  return windows[..., starts, :]


def mono_audio(audio, use_tf=True):
  """Validates mono audio; returns float32 [..., n_samples] for framing.

  Args:
    audio: [n_samples], [batch, n_samples] or [batch, n_samples, 1] audio
      (numpy array, tensor or nested list).
    use_tf: return a tensor (else a numpy array).

  Returns:
    float32 audio without the channel axis: [n_samples] or
    [batch, n_samples].

  Raises:
    ValueError: for audio that is not mono or has no samples.

  Example:
    >>> mono_audio(np.zeros([2, 100, 1]), use_tf=False).shape
    (2, 100)
  """
  shape = validation.check_audio(audio, 'audio')
  if use_tf:
    audio = tf_float32(audio)
    if shape is not None and len(shape) == 3:
      audio = audio[..., 0]
  else:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 3:
      audio = audio[..., 0]
  if audio.shape[-1] == 0:
    raise ValueError('`audio` must have at least one sample. '
                     f'Received: audio.shape={tuple(shape)}')
  return audio


def check_n_frames(n_frames, n_samples, frame_size, padding):
  """Raises if framing `n_samples` gives no frame (possible with 'valid').

  Args:
    n_frames: number of frames from `get_framed_lengths` (a tensor inside a
      graph is not checked).
    n_samples: length of the signal, for the message.
    frame_size: samples per frame, for the message.
    padding: the padding used, for the message.

  Raises:
    ValueError: if `n_frames` is an int < 1.
  """
  if isinstance(n_frames, int) and n_frames < 1:
    raise ValueError(
        f'`audio` of {n_samples} samples is shorter than one frame of '
        f'{frame_size} samples with padding={padding!r}; use a longer signal, '
        "a smaller frame or padding='same' or 'center'.")
