"""Tests of the note-region helpers of ddsp.training.nn against numpy loops."""

import doctest

import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import nn
from ddsp.training import nn_notes

# Two hand-built monophonic sequences of MIDI pitches (0 = silence).
Q_PITCH = np.array([
    [0, 0, 60, 60, 60, 62, 62, 0, 0, 64, 64, 64],
    [55, 55, 55, 55, 0, 57, 57, 57, 57, 57, 59, 59],
], np.float32)


def _np_regions(q_pitch):
  """Region index of each frame: a new region where the value changes.

  As published, frames 1 .. n - 2 can start a region, the last frame never.
  """
  regions = np.zeros(q_pitch.shape, int)
  for b, row in enumerate(q_pitch):
    for t in range(1, len(row)):
      starts = t < len(row) - 1 and row[t] != row[t - 1]
      regions[b, t] = regions[b, t - 1] + int(starts)
  return regions


def _np_mask(regions, max_regions):
  batch, n_frames = regions.shape
  mask = np.zeros([batch, n_frames, max_regions])
  for b in range(batch):
    for t in range(n_frames):
      if regions[b, t] < max_regions:
        mask[b, t, regions[b, t]] = 1.0
  return mask


def _np_moments(x, mask):
  """Per-region mean and population std of x [b, t, d], by loops."""
  batch, _, n_notes = mask.shape
  mean = np.zeros([batch, n_notes, x.shape[-1]])
  std = np.zeros_like(mean)
  for b in range(batch):
    for n in range(n_notes):
      frames = x[b, mask[b, :, n] > 0]
      if len(frames):
        mean[b, n] = frames.mean(axis=0)
        std[b, n] = frames.std(axis=0)
  return mean, std


def test_get_note_mask_matches_numpy_loop():
  regions = _np_regions(Q_PITCH)
  # The hand-counted regions of the first sequence.
  assert regions[0].tolist() == [0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4]
  mask = nn.get_note_mask(Q_PITCH, max_regions=8, note_on_only=False)
  np.testing.assert_array_equal(mask, _np_mask(regions, 8))
  # note_on_only drops the silent regions (mean pitch 0).
  expected = _np_mask(regions, 8)
  for b, row in enumerate(Q_PITCH):
    for n in range(8):
      frames = row[expected[b, :, n] > 0]
      if len(frames) and frames.mean() <= 0:
        expected[b, :, n] = 0.0
  mask_on = nn.get_note_mask(Q_PITCH[..., np.newaxis], max_regions=8)
  np.testing.assert_array_equal(mask_on, expected)
  assert mask_on.numpy()[0, :2].sum() == 0 and mask_on.numpy()[0, 2, 1] == 1
  # Regions past max_regions are dropped.
  np.testing.assert_array_equal(
      nn.get_note_mask(Q_PITCH, max_regions=2, note_on_only=False),
      _np_mask(regions, 2))


def test_a_change_at_the_last_frame_does_not_start_a_region():
  mask = nn.get_note_mask(tf.constant([[60.0, 60.0, 62.0]]), max_regions=3,
                          note_on_only=False)
  np.testing.assert_array_equal(mask[0, :, 0], [1.0, 1.0, 1.0])


def test_get_note_mask_from_onset_matches_numpy_loop():
  onset = np.zeros_like(Q_PITCH)
  onset[0, [2, 5, 9]] = 1.0
  onset[1, [0, 5, 8]] = 1.0  # An onset at frame 0 is region 0.
  mask = nn.get_note_mask_from_onset(Q_PITCH, onset, max_regions=5,
                                     note_on_only=False)
  regions = np.cumsum(np.concatenate([np.ones([2, 1]), onset[:, 1:]], 1),
                      axis=1) - 1
  np.testing.assert_array_equal(mask, _np_mask(regions.astype(int), 5))
  # note_on_only zeroes silent frames one by one.
  mask_on = nn.get_note_mask_from_onset(Q_PITCH, onset, max_regions=5)
  np.testing.assert_array_equal(
      mask_on, _np_mask(regions.astype(int), 5) * (Q_PITCH > 0)[..., None])


def test_note_lengths_moments_and_pooling_match_numpy(rng):
  mask = nn.get_note_mask(Q_PITCH, max_regions=6).numpy()
  x = rng.normal(size=[2, 12, 3]).astype(np.float32)
  np.testing.assert_array_equal(nn.get_note_lengths(mask), mask.sum(axis=1))
  mean, std = nn.get_note_moments(x, mask)
  np_mean, np_std = _np_moments(x.astype(np.float64), mask)
  np.testing.assert_allclose(mean, np_mean, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(std, np_std, rtol=1e-5, atol=1e-6)
  # 2-D x gives [batch, notes]; return_std=False only the mean.
  mean_2d = nn.get_note_moments(x[..., 0], mask, return_std=False)
  np.testing.assert_allclose(mean_2d, np_mean[..., 0], rtol=1e-5, atol=1e-6)
  # Pooling puts each region's moments back on its frames (0 elsewhere).
  pooled, pooled_std = nn.pool_over_notes(x, mask)
  for b in range(2):
    for t in range(12):
      notes = np.nonzero(mask[b, t])[0]
      want = np_mean[b, notes[0]] if len(notes) else np.zeros(3)
      want_std = np_std[b, notes[0]] if len(notes) else np.zeros(3)
      np.testing.assert_allclose(pooled[b, t], want, rtol=1e-5, atol=1e-6)
      np.testing.assert_allclose(pooled_std[b, t], want_std, rtol=1e-5,
                                 atol=1e-6)
  np.testing.assert_allclose(nn.pool_over_notes(x, mask, return_std=False),
                             pooled)


def test_pooling_gradient_is_the_region_average():
  mask = nn.get_note_mask(Q_PITCH[:1], max_regions=6)
  x = tf.constant(np.linspace(-1, 1, 12, dtype=np.float32)[None, :, None])
  with tf.GradientTape() as tape:
    tape.watch(x)
    pooled = nn.pool_over_notes(x, mask, return_std=False)
    loss = tf.reduce_sum(pooled[0, 3])  # Frame 3 is in region 1 (2, 3, 4).
  grad = tape.gradient(loss, x).numpy()[0, :, 0]
  expected = np.zeros(12)
  expected[2:5] = 1.0 / 3.0
  np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-7)


def test_get_short_note_loss_mask_matches_numpy():
  mask = nn.get_note_mask(Q_PITCH, max_regions=6, note_on_only=False)
  lengths = nn.get_note_lengths(mask)
  pitches = nn.get_note_moments(Q_PITCH, mask, return_std=False)
  loss_mask = nn.get_short_note_loss_mask(mask, lengths, pitches,
                                          min_length=3)
  regions = _np_regions(Q_PITCH)
  expected = np.zeros(Q_PITCH.shape)
  for b in range(2):
    for t in range(12):
      frames = Q_PITCH[b, regions[b] == regions[b, t]]
      expected[b, t] = float(len(frames) < 3 and frames.mean() > 0)
  np.testing.assert_array_equal(loss_mask, expected)
  # The first sequence's short voiced note is frames 5-6 (MIDI 62).
  assert np.nonzero(expected[0])[0].tolist() == [5, 6]


def test_note_helpers_errors():
  with pytest.raises(ValueError, match=r'`q_pitch` must have rank 2 or 3'):
    nn.get_note_mask(tf.zeros([4]))
  with pytest.raises(ValueError, match=r'`q_pitch` must be \[batch, n_frames\]'
                     r' or \[batch, n_frames, 1\]'):
    nn.get_note_mask(tf.zeros([1, 4, 2]))
  with pytest.raises(ValueError, match=r'`max_regions` must be a positive'):
    nn.get_note_mask(tf.zeros([1, 4]), max_regions=0)
  with pytest.raises(ValueError, match=r'`note_mask` must have rank 3'):
    nn.get_note_moments(tf.zeros([1, 4]), tf.zeros([1, 4]))


def test_docstring_examples():
  results = doctest.testmod(nn_notes, optionflags=doctest.ELLIPSIS)
  assert results.attempted > 0 and results.failed == 0
