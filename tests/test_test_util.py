"""Tests for ddsp.test_util, the published test-signal helpers."""

import doctest

import numpy as np
import pytest

from ddsp import test_util


def test_gen_np_sinusoid_hand_built_case():
  # 4 samples over 1 s, both ends included: t = 0, 1/3, 2/3, 1.
  audio = test_util.gen_np_sinusoid(1.0, 2.0, 4, 1.0)
  np.testing.assert_allclose(audio, [0.0, np.sqrt(3.0), -np.sqrt(3.0), 0.0],
                             atol=1e-12)
  assert audio.dtype == np.float64


def test_gen_np_sinusoid_length_frequency_and_silence():
  # int(0.21 * 16000) samples, as the published spectral_ops tests expect.
  audio = test_util.gen_np_sinusoid(440.0, 0.75, 16000, 0.21)
  assert audio.shape == (3360,)
  # The samples are 0.21 / 3359 s apart: the peak of a 0-padded FFT at that
  # spacing is at 440 Hz.
  spectrum = np.abs(np.fft.rfft(audio, n=2**18))
  freqs = np.fft.rfftfreq(2**18, d=0.21 / 3359)
  assert abs(freqs[np.argmax(spectrum)] - 440.0) < 0.2
  assert 0.74 < np.max(np.abs(audio)) <= 0.75
  np.testing.assert_array_equal(test_util.gen_np_sinusoid(0.0, 1.0, 100, 0.5),
                                np.zeros(50))


def test_gen_np_batched_sinusoids_stacks_copies():
  single = test_util.gen_np_sinusoid(220.0, 0.5, 8000, 0.1)
  batch = test_util.gen_np_batched_sinusoids(220.0, 0.5, 8000, 0.1, 3)
  assert batch.shape == (3, 800)
  for row in batch:
    np.testing.assert_array_equal(row, single)


def test_errors_name_the_argument():
  with pytest.raises(ValueError, match=r'`sample_rate` must be a positive '
                     r'number. Received: sample_rate=0'):
    test_util.gen_np_sinusoid(440.0, 1.0, 0, 1.0)
  with pytest.raises(ValueError, match=r'`audio_len_sec` must be a positive '
                     r'number. Received: audio_len_sec=-1.0'):
    test_util.gen_np_sinusoid(440.0, 1.0, 16000, -1.0)
  with pytest.raises(ValueError, match='at least one sample'):
    test_util.gen_np_sinusoid(440.0, 1.0, 100, 0.001)
  with pytest.raises(ValueError, match=r'`batch_size` must be a positive '
                     r'integer. Received: batch_size=0'):
    test_util.gen_np_batched_sinusoids(440.0, 1.0, 16000, 1.0, 0)


def test_docstring_examples():
  result = doctest.testmod(test_util, extraglobs={'np': np})
  assert result.attempted >= 4 and result.failed == 0
