"""Test signals shared by tests and examples (`ddsp.test_util`).

The published DDSP 3.x library's tests, and many research repositories,
import these helpers; they return the same numbers here.

* `gen_np_sinusoid`: one sine wave as a numpy array.
* `gen_np_batched_sinusoids`: a batch of identical sine waves.

The time axis runs from 0 to `audio_len_sec` *inclusive*
(`np.linspace(0, audio_len_sec, n_samples)`), as in the published helpers, so
consecutive samples are `audio_len_sec / (n_samples - 1)` seconds apart, a
hair more than `1 / sample_rate`: a 440 Hz tone of 0.21 s at 16 kHz, played
at 16 kHz, sounds at 440 * 3360 / 3359 = 440.13 Hz. Use
`np.arange(n) / sample_rate` where the exact frequency matters.
"""

import numpy as np

from ddsp import validation


def _n_samples(sample_rate, audio_len_sec):
  """int(audio_len_sec * sample_rate), validated to be at least 1."""
  validation.check_positive(sample_rate, 'sample_rate')
  validation.check_positive(audio_len_sec, 'audio_len_sec')
  n_samples = int(audio_len_sec * sample_rate)
  if n_samples < 1:
    raise ValueError(
        '`audio_len_sec * sample_rate` must be at least one sample. '
        f'Received: audio_len_sec={audio_len_sec!r}, '
        f'sample_rate={sample_rate!r}')
  return n_samples


def gen_np_sinusoid(frequency, amp, sample_rate, audio_len_sec):
  """A sine wave `amp * sin(2 pi frequency t)` as a numpy array.

  Args:
    frequency: frequency in Hz (any real number; 0 gives silence).
    amp: peak amplitude (linear).
    sample_rate: positive number, samples per second.
    audio_len_sec: positive number, length in seconds.

  Returns:
    [n_samples] float64 numpy array, `n_samples = int(audio_len_sec *
    sample_rate)`, sampled at `t = linspace(0, audio_len_sec, n_samples)`
    (both ends included; see the module docstring).

  Raises:
    ValueError: for a non-positive `sample_rate` or `audio_len_sec`, or a
      length of less than one sample.

  Example:
    >>> audio = gen_np_sinusoid(440.0, 0.5, 16000, 0.21)
    >>> audio.shape, audio.dtype, float(np.max(np.abs(audio))) <= 0.5
    ((3360,), dtype('float64'), True)
  """
  n_samples = _n_samples(sample_rate, audio_len_sec)
  t = np.linspace(0, audio_len_sec, n_samples)
  return amp * np.sin(2 * np.pi * frequency * t)


def gen_np_batched_sinusoids(frequency, amp, sample_rate, audio_len_sec,
                             batch_size):
  """`batch_size` copies of `gen_np_sinusoid(...)` stacked on a batch axis.

  Args:
    frequency: frequency in Hz.
    amp: peak amplitude (linear).
    sample_rate: positive number, samples per second.
    audio_len_sec: positive number, length in seconds.
    batch_size: positive int, number of (identical) rows.

  Returns:
    [batch_size, n_samples] float64 numpy array.

  Raises:
    ValueError: as `gen_np_sinusoid`, and for a `batch_size` that is not a
      positive integer.

  Example:
    >>> batch = gen_np_batched_sinusoids(440.0, 0.5, 16000, 0.1, 3)
    >>> batch.shape, bool(np.all(batch == batch[0]))
    ((3, 1600), True)
  """
  batch_size = validation.check_positive_int(batch_size, 'batch_size')
  audio = gen_np_sinusoid(frequency, amp, sample_rate, audio_len_sec)
  return np.tile(audio[np.newaxis, :], [batch_size, 1])
