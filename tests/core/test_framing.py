"""Tests of ddsp.core.framing against brute-force references."""

import fractions

import numpy as np
import pytest
import tensorflow as tf

from ddsp import spectral_ops
from ddsp.core import framing


def _reference_frames(x, frame_size, hop, padding):
  """Frames built one by one from the definitions (float64 hop, rounding)."""
  n = len(x)
  if padding == 'center':
    padded = np.concatenate([np.zeros(frame_size // 2), x,
                             np.zeros(frame_size)])
    n_frames = int(np.floor(n / hop)) + 1
  elif padding == 'same':
    padded = np.concatenate([x, np.zeros(2 * frame_size + int(hop))])
    n_frames = int(np.ceil(n / hop))
  else:
    padded = x
    n_frames = 0
    while np.floor(n_frames * hop + 0.5) + frame_size <= n:
      n_frames += 1
  starts = [int(np.floor(i * hop + 0.5)) for i in range(n_frames)]
  return np.stack([padded[s:s + frame_size] for s in starts]) if starts else (
      np.zeros([0, frame_size]))


@pytest.mark.parametrize('padding', framing.PADDINGS)
@pytest.mark.parametrize('hop', [64, 176.4, 2.5, 300])
def test_frames_match_the_definition(rng, padding, hop):
  x = rng.normal(size=1000).astype(np.float32)
  frame_size = 256
  expected = _reference_frames(x.astype(np.float64), frame_size, hop, padding)
  n_frames, _ = framing.get_framed_lengths(1000, frame_size, hop, padding)
  assert n_frames == len(expected)
  np.testing.assert_array_equal(framing.frame(x, frame_size, hop, padding),
                                expected.astype(np.float32))
  np.testing.assert_array_equal(framing.frame_np(x, frame_size, hop, padding),
                                expected.astype(np.float32))
  windows, starts = framing.frame_view_np(x, frame_size, hop, padding)
  assert not windows.flags.writeable  # A view, not a copy.
  np.testing.assert_array_equal(windows[starts], expected)


def test_frame_keeps_leading_axes_and_is_differentiable(rng):
  x = tf.constant(rng.normal(size=[2, 3, 500]).astype(np.float32))
  with tf.GradientTape() as tape:
    tape.watch(x)
    frames = framing.frame(x, 100, 176.4 / 2, 'center')
    total = tf.reduce_sum(frames)
  assert frames.shape == (2, 3, 6, 100)
  # Each sample's gradient counts the frames that read it (a count >= 0).
  grad = tape.gradient(total, x).numpy()
  counts = np.zeros(500 + 100)
  for start in framing.frame_start(np.arange(6), framing.to_fraction(88.2)):
    counts[start:start + 100] += 1
  np.testing.assert_array_equal(grad[0, 0], counts[50:550])


def test_frame_in_a_graph_with_unknown_length(rng):
  x = rng.normal(size=[1, 777]).astype(np.float32)
  spec = tf.TensorSpec([1, None], tf.float32)
  frame = tf.function(lambda a: framing.frame(a, 64, 44100 / 250 / 4, 'same'),
                      input_signature=[spec])
  np.testing.assert_array_equal(
      frame(x), framing.frame_np(x, 64, 44100 / 250 / 4, 'same'))


def test_extra_frames_read_zeros():
  frames = framing.frame_np(np.arange(1.0, 5.0), 2, 2, 'valid', n_frames=3)
  np.testing.assert_array_equal(frames, [[1, 2], [3, 4], [0, 0]])


def test_hops_from_rates_are_exact():
  assert framing.hop_from_rates(16000, 250) == 64
  assert framing.hop_from_rates(44100, 250) == fractions.Fraction(882, 5)
  assert framing.hop_from_rates(48000, 31.25) == 1536
  assert framing.to_fraction(1 / 3) == fractions.Fraction(1, 3)
  # Frame i of 44.1 kHz audio at 250 frames/s starts within half a sample of
  # i / 250 s.
  hop = framing.hop_from_rates(44100, 250)
  starts = framing.frame_start(np.arange(1000), hop)
  assert np.max(np.abs(starts - np.arange(1000) * 44100 / 250)) <= 0.5


def test_published_names_are_the_core_functions():
  assert spectral_ops.get_framed_lengths is framing.get_framed_lengths
  assert spectral_ops.pad is framing.pad


def test_mono_audio():
  audio = framing.mono_audio([[[0.5], [0.25]]])
  assert audio.dtype == tf.float32 and audio.numpy().tolist() == [[0.5, 0.25]]
  assert framing.mono_audio(np.zeros(3, np.float64), use_tf=False).dtype == (
      np.float32)


def test_errors():
  with pytest.raises(ValueError, match=r'`hop_size` must be a positive '
                     r'number. Received: hop_size=0'):
    framing.get_framed_lengths(100, 10, 0)
  with pytest.raises(ValueError, match=r"`padding` must be one of \['valid', "
                     r"'same', 'center'\]. Received: padding='causal'"):
    framing.frame(tf.zeros([10]), 4, 2, 'causal')
  with pytest.raises(ValueError, match=r'`frame_rate` must not exceed '
                     r'`sample_rate`'):
    framing.hop_from_rates(100, 200)
  with pytest.raises(ValueError, match=r'`audio` of 100 samples is shorter '
                     r"than one frame of 512 samples with padding='valid'"):
    framing.check_n_frames(0, 100, 512, 'valid')
  with pytest.raises(ValueError, match=r'`audio` must have at least one '
                     r'sample'):
    framing.mono_audio(np.zeros([2, 0]))
  with pytest.raises(ValueError, match=r'mono audio'):
    framing.mono_audio(np.zeros([2, 10, 2]))
