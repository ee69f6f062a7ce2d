"""Tests for ddsp.core.oscillators against float64 numpy references."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp.core import oscillators


def _np_linear_lookup(phase, table):
  """Periodic linear interpolation of one table with numpy (phase in cycles)."""
  n = len(table)
  grid = np.arange(n + 1) / n
  return np.interp(np.mod(phase, 1.0), grid, np.append(table, table[0]))


class TestLinearLookup:

  def test_matches_numpy_single_table(self, rng):
    table = rng.normal(size=[2, 37]).astype(np.float32)
    phase = rng.uniform(0.0, 1.0, size=[2, 500]).astype(np.float32)
    phase[:, 0], phase[:, 1] = 0.0, 1.0
    out = oscillators.linear_lookup(phase[..., np.newaxis], table).numpy()
    expected = np.stack(
        [_np_linear_lookup(p, t) for p, t in zip(phase, table)])
    np.testing.assert_allclose(out, expected, atol=1e-5)

  def test_matches_numpy_table_per_sample(self, rng):
    tables = rng.normal(size=[2, 50, 16]).astype(np.float32)
    phase = rng.uniform(0.0, 1.0, size=[2, 50]).astype(np.float32)
    out = oscillators.linear_lookup(phase, tables).numpy()
    expected = np.array([[_np_linear_lookup(phase[b, n], tables[b, n])
                          for n in range(50)] for b in range(2)])
    np.testing.assert_allclose(out, expected, atol=1e-5)

  def test_wraps_phase_periodically(self, rng):
    table = rng.normal(size=[1, 8]).astype(np.float32)
    phase = rng.uniform(0.0, 1.0, size=[1, 20]).astype(np.float32)
    out = oscillators.linear_lookup(phase, table).numpy()
    shifted = oscillators.linear_lookup(phase + 2.0, table).numpy()
    np.testing.assert_allclose(out, shifted, atol=1e-5)

  def test_gradients(self, rng):
    table = tf.constant(rng.normal(size=[1, 8]).astype(np.float32))
    phase = tf.constant(rng.uniform(0.05, 0.95, size=[1, 30]).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
      tape.watch([table, phase])
      out = oscillators.linear_lookup(phase, table)
      loss = tf.reduce_sum(out ** 2)
    for grad in tape.gradient(loss, [table, phase]):
      assert np.all(np.isfinite(grad.numpy()))
      assert np.any(grad.numpy() != 0.0)
    # d out / d phase is the slope of the table segment times its length.
    d_phase = tape.gradient(out, phase).numpy()[0]
    t = table.numpy()[0]
    pos = phase.numpy()[0] * 8
    i = np.floor(pos).astype(int)
    slope = (t[(i + 1) % 8] - t[i]) * 8
    np.testing.assert_allclose(d_phase, slope, rtol=1e-4, atol=1e-4)

  def test_errors(self):
    with pytest.raises(ValueError, match='`phase` must have rank 2 or 3'):
      oscillators.linear_lookup(tf.zeros([10]), tf.zeros([1, 8]))
    with pytest.raises(ValueError, match='batch axis'):
      oscillators.linear_lookup(tf.zeros([2, 10]), tf.zeros([3, 8]))
    with pytest.raises(ValueError, match='n_samples axis'):
      oscillators.linear_lookup(tf.zeros([2, 10]), tf.zeros([2, 9, 8]))
