"""Tests of the PluckedString and Modal synths."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp import core
from ddsp import synths

SR = 16000


def _frames(value, n_frames=50, batch=1):
  return tf.fill([batch, n_frames, 1], float(value))


def test_plucked_string_layer_plays_f0_from_its_noise_burst():
  string = synths.PluckedString(n_samples=8000, seed=3)
  audio = tf.function(string)(_frames(293.66), _frames(1.5),
                              _frames(0.7)).numpy()[0]
  spectrum = np.abs(np.fft.rfft(audio * np.hanning(8000), 8 * 8000))
  lo, hi = int(200 * 8), int(400 * 8)
  k = int(np.argmax(spectrum[lo:hi])) + lo
  a, b, c = np.log(spectrum[k - 1:k + 2])
  f0 = (k + 0.5 * (a - c) / (a - 2 * b + c)) / 8
  assert abs(1200 * np.log2(f0 / 293.66)) < 5.0
  assert np.all(np.isfinite(audio)) and np.abs(audio).max() > 0.1


def test_plucked_string_noise_is_seeded():
  controls = (_frames(220.0, batch=2), _frames(0.5, batch=2),
              _frames(0.5, batch=2))
  render = lambda seed, **kw: synths.PluckedString(
      n_samples=2000, seed=seed)(*controls, **kw).numpy()
  np.testing.assert_array_equal(render(1), render(1))
  assert not np.allclose(render(1), render(2))
  training = render(1, training=True)
  assert not np.allclose(training[0], training[1])  # Fresh per example.


def test_plucked_string_stream_equals_the_layer():
  n, n_frames = 4000, 50
  string = synths.PluckedString(n_samples=n, min_f0_hz=80.0, seed=0)
  f0 = tf.constant(np.linspace(150.0, 450.0, n_frames)[None, :, None],
                   tf.float32)
  t60, brightness = _frames(0.8), _frames(0.4)
  controls = string.get_controls(f0, t60, brightness)
  whole = string.get_signal(**controls)
  up = lambda x: core.resample(x, n)[..., 0]
  audio_rate = [controls['excitation'], up(f0), up(t60), up(brightness)]
  state, blocks = None, []
  for start in range(0, n, 1000):
    block, state = string.stream(*[x[:, start:start + 1000]
                                   for x in audio_rate], state=state)
    blocks.append(block)
  np.testing.assert_allclose(tf.concat(blocks, 1), whole, atol=1e-6)


def test_plucked_string_maps_out_of_range_controls():
  string = synths.PluckedString(n_samples=400, seed=0)
  render = lambda f0, t60, b: string(_frames(f0, 10), _frames(t60, 10),
                                     _frames(b, 10)).numpy()
  np.testing.assert_allclose(render(9000.0, 0.5, 0.5),
                             render(SR / 4, 0.5, 0.5))
  np.testing.assert_allclose(render(220.0, -3.0, 0.5),
                             render(220.0, 1e-3, 0.5))
  np.testing.assert_allclose(render(220.0, 0.5, 7.0),
                             render(220.0, 0.5, 1.0))


def test_plucked_string_rejects_bad_arguments():
  with pytest.raises(ValueError, match='`min_f0_hz` must be below'):
    synths.PluckedString(sample_rate=16000, min_f0_hz=5000.0)
  with pytest.raises(ValueError, match='`burst_length` must be a positive'):
    synths.PluckedString(burst_length=0)
  string = synths.PluckedString(n_samples=1000)
  with pytest.raises(ValueError, match='`excitation` must have shape'):
    string(_frames(220.0), _frames(1.0), _frames(1.0), tf.zeros([1, 999]))
  with pytest.raises(ValueError, match='`t60` must have shape'):
    string(_frames(220.0), tf.zeros([1, 50, 2]), _frames(1.0))


def test_modal_layer_equals_the_core_and_takes_a_frame_axis():
  modal = synths.Modal(n_samples=3000, sample_rate=SR)
  f, t60, g = [[300.0, 870.0]], [[0.3, 0.1]], [[1.0, -0.5]]
  expected = core.modal_synthesis(f, t60, g, 3000, SR)
  np.testing.assert_allclose(modal(f, t60, g), expected, atol=1e-6)
  with_frames = modal(np.array(f)[:, None], np.array(t60)[:, None],
                      np.array(g)[:, None])
  np.testing.assert_allclose(with_frames, expected, atol=1e-6)
  # A struck bar: the ideal free bar's mode ratios 1 : 2.756 : 5.404.
  n = np.arange(3000) / SR
  bar = modal([[500.0, 1378.0, 2702.0]], [[0.5, 0.3, 0.2]], [[1.0] * 3])
  reference = sum(np.exp(-np.log(1000) * n / d) * np.sin(2 * np.pi * fr * n)
                  for fr, d in ((500.0, 0.5), (1378.0, 0.3), (2702.0, 0.2)))
  np.testing.assert_allclose(bar.numpy()[0], reference, atol=2e-5)


def test_modal_rejects_bad_shapes():
  modal = synths.Modal(n_samples=100)
  with pytest.raises(ValueError, match='`gains` must have shape'):
    modal([[1.0]], [[1.0]], tf.ones([1, 2, 1]))
  with pytest.raises(ValueError, match='`excitation` must have shape'):
    modal([[1.0]], [[1.0]], [[1.0]], tf.zeros([1, 99]))
