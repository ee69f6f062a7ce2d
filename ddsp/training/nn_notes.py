"""Note regions of monophonic sequences, and pooling over them.

A quantized sequence (e.g. MIDI pitch rounded to integers, [batch, n_frames])
is cut into regions at each change of value (or at given onsets); a region
mask `note_mask` [batch, n_frames, max_regions] holds 1 where frame t belongs
to region n. Per-region statistics (`get_note_moments`) and their broadcast
back to the frames (`pool_over_notes`) give note-level features, as the
published MidiAutoencoder uses them. Part of `ddsp.training.nn` (import the
functions from there). All functions are pure TensorFlow and differentiable
with respect to the pooled values `x`.
"""

import tensorflow as tf

from ddsp import core
from ddsp import validation

def _batch_time(x, name):
  """[batch, n_frames] or [batch, n_frames, 1] -> [batch, n_frames]."""
  shape = validation.check_rank(x, name, (2, 3))
  x = core.tf_float32(x)
  if len(shape) == 3:
    if shape[-1] not in (1, None):
      raise ValueError(f'`{name}` must be [batch, n_frames] or [batch, '
                       f'n_frames, 1]. Received: {name}.shape={tuple(shape)}')
    x = x[..., 0]
  return x


def _region_mask(starts, max_regions):
  """int32 [batch, n_frames] region starts (1 at a start) -> float mask."""
  region = tf.cumsum(starts, axis=1) - 1  # The first frame starts region 0.
  mask = region[..., tf.newaxis] == tf.range(max_regions)[tf.newaxis,
                                                          tf.newaxis]
  return tf.cast(mask, tf.float32)


def get_note_mask(q_pitch, max_regions=100, note_on_only=True):
  """One mask per region of constant value of a quantized sequence.

  Frame 0 starts region 0 and every frame t in 1 .. n_frames - 2 whose value
  differs from frame t - 1 starts a new region (as published, a change at the
  very last frame does not start one). Note-offs count as regions too.

  Args:
    q_pitch: [batch, n_frames] or [batch, n_frames, 1], a quantized value such
      as MIDI pitch (0 for silence) or velocity.
    max_regions: regions kept (the mask's last axis); later ones are dropped.
    note_on_only: zero the regions whose mean value is not > 0 (silences).

  Returns:
    note_mask: [batch, n_frames, max_regions] float32, 1 where frame t is in
      region n, else 0.

  Example:
    >>> mask = get_note_mask(tf.constant([[60., 60., 0., 62., 62., 62.]]),
    ...                      max_regions=4)
    >>> for region in mask[0].numpy().T.astype(int).tolist():
    ...   print(region)
    [1, 1, 0, 0, 0, 0]
    [0, 0, 0, 0, 0, 0]
    [0, 0, 0, 1, 1, 1]
    [0, 0, 0, 0, 0, 0]
  """
  q_pitch = _batch_time(q_pitch, 'q_pitch')
  max_regions = validation.check_positive_int(max_regions, 'max_regions')
  changes = tf.abs(core.diff(q_pitch, axis=1)) > 0  # [batch, n_frames - 1]
  starts = tf.concat([tf.ones_like(changes[:, :1]), changes[:, :-1],
                      tf.zeros_like(changes[:, :1])], axis=1)
  note_mask = _region_mask(tf.cast(starts, tf.int32), max_regions)
  if note_on_only:
    note_pitches = get_note_moments(q_pitch, note_mask, return_std=False)
    note_mask *= tf.cast(note_pitches > 0.0, tf.float32)[:, tf.newaxis, :]
  return note_mask


def get_note_mask_from_onset(q_pitch, onset, max_regions=100,
                             note_on_only=True):
  """One mask per region between onsets.

  Frame 0 starts region 0 and every later frame with `onset` 1 starts a new
  region (an onset at frame 0 is the same region 0).

  Args:
    q_pitch: [batch, n_frames] or [batch, n_frames, 1] pitch (0 for silence).
    onset: [batch, n_frames] or [batch, n_frames, 1], 1 at onsets, else 0.
    max_regions: regions kept (the mask's last axis).
    note_on_only: zero the frames whose pitch is not > 0 (frame by frame).

  Returns:
    note_mask: [batch, n_frames, max_regions] float32.

  Example:
    >>> mask = get_note_mask_from_onset(tf.constant([[60., 60., 60., 62.]]),
    ...                                 tf.constant([[1., 0., 1., 0.]]),
    ...                                 max_regions=3)
    >>> mask[0].numpy().T.astype(int).tolist()
    [[1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]]
  """
  q_pitch = _batch_time(q_pitch, 'q_pitch')
  onset = _batch_time(onset, 'onset')
  max_regions = validation.check_positive_int(max_regions, 'max_regions')
  starts = tf.concat([tf.ones_like(onset[:, :1]), onset[:, 1:]], axis=1)
  note_mask = _region_mask(tf.cast(starts, tf.int32), max_regions)
  if note_on_only:
    note_mask *= tf.cast(q_pitch > 0.0, tf.float32)[:, :, tf.newaxis]
  return note_mask


def get_note_lengths(note_mask):
  """Frames per region: [batch, n_frames, notes] -> [batch, notes] float32.

  Example:
    >>> get_note_lengths(tf.constant([[[1., 0.], [1., 0.], [0., 1.]]])).numpy()
    array([[2., 1.]], dtype=float32)
  """
  validation.check_rank(note_mask, 'note_mask', 3)
  return tf.reduce_sum(core.tf_float32(note_mask), axis=1)


def get_note_moments(x, note_mask, return_std=True):
  """Mean (and standard deviation) of `x` over the frames of each region.

  Args:
    x: [batch, n_frames, dims] or [batch, n_frames] float32.
    note_mask: [batch, n_frames, notes] float32 (0 or 1).
    return_std: also return the (population) standard deviation.

  Returns:
    mean: [batch, notes, dims] (or [batch, notes] for 2-D `x`), 0 for empty
      regions; and std of the same shape if `return_std`. Differentiable
      with respect to `x` (the std where it is non-zero).

  Example:
    >>> mask = tf.constant([[[1., 0.], [1., 0.], [0., 1.]]])
    >>> mean, std = get_note_moments(tf.constant([[1., 3., 7.]]), mask)
    >>> mean.numpy().tolist(), std.numpy().tolist()
    ([[2.0, 7.0]], [[1.0, 0.0]])
  """
  is_2d = len(validation.check_rank(x, 'x', (2, 3))) == 2
  validation.check_rank(note_mask, 'note_mask', 3)
  x = core.tf_float32(x)
  x = x[..., tf.newaxis] if is_2d else x
  mask = core.tf_float32(note_mask)[..., tf.newaxis]  # [b, t, n, 1]
  lengths = tf.reduce_sum(mask, axis=1)  # [b, n, 1]
  x_mean = core.safe_divide(
      tf.reduce_sum(x[:, :, tf.newaxis, :] * mask, axis=1), lengths)
  deviation = (x[:, :, tf.newaxis, :] - x_mean[:, tf.newaxis]) * mask
  x_std = core.safe_divide(tf.reduce_sum(deviation**2, axis=1), lengths)**0.5
  if is_2d:
    x_mean, x_std = x_mean[..., 0], x_std[..., 0]
  return (x_mean, x_std) if return_std else x_mean


def pool_over_notes(x, note_mask, return_std=True):
  """Replaces each frame of `x` by the mean (and std) of its region.

  Args:
    x: [batch, n_frames, dims] float32.
    note_mask: [batch, n_frames, notes] float32 (0 or 1, at most one region
      per frame).
    return_std: also return the per-region standard deviation per frame.

  Returns:
    [batch, n_frames, dims] float32 region means (0 for frames in no
    region), and the standard deviations if `return_std`. Differentiable with
    respect to `x`.

  Example:
    >>> mask = tf.constant([[[1., 0.], [1., 0.], [0., 1.]]])
    >>> pool_over_notes(tf.constant([[[1.], [3.], [7.]]]), mask,
    ...                 return_std=False)[0, :, 0].numpy().tolist()
    [2.0, 2.0, 7.0]
  """
  validation.check_rank(x, 'x', 3)
  x_notes, x_notes_std = get_note_moments(x, note_mask, return_std=True)
  mask = core.tf_float32(note_mask)[..., tf.newaxis]  # [b, t, n, 1]
  pooled_mean = tf.reduce_sum(x_notes[:, tf.newaxis] * mask, axis=2)
  if not return_std:
    return pooled_mean
  pooled_std = tf.reduce_sum(x_notes_std[:, tf.newaxis] * mask, axis=2)
  return pooled_mean, pooled_std


def get_short_note_loss_mask(note_mask, note_lengths, note_pitches,
                             min_length=40):
  """Per-frame mask of the voiced notes shorter than `min_length` frames.

  Args:
    note_mask: [batch, n_frames, notes] float32.
    note_lengths: [batch, notes] frames per note (`get_note_lengths`).
    note_pitches: [batch, notes] mean pitch per note (`get_note_moments`).
    min_length: notes with fewer frames count as short.

  Returns:
    [batch, n_frames] float32, 1 in the frames of short notes with pitch > 0.

  Example:
    >>> mask = tf.constant([[[1., 0.], [1., 0.], [0., 1.]]])
    >>> get_short_note_loss_mask(mask, tf.constant([[2., 1.]]),
    ...                          tf.constant([[60., 0.]]),
    ...                          min_length=3).numpy().tolist()
    [[1.0, 1.0, 0.0]]
  """
  validation.check_rank(note_mask, 'note_mask', 3)
  short_notes = tf.logical_and(core.tf_float32(note_lengths) < min_length,
                               core.tf_float32(note_pitches) > 0.0)
  short_note_mask = core.tf_float32(note_mask) * tf.cast(
      short_notes, tf.float32)[:, tf.newaxis, :]
  return tf.reduce_sum(short_note_mask, axis=-1)
