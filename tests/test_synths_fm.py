"""Tests of the FrequencyModulation synth."""

import numpy as np
import pytest
import scipy.special
import tensorflow as tf

from ddsp import core
from ddsp import synths


def test_fm_layer_two_operator_sidebands_are_bessel():
  fm = synths.FrequencyModulation(n_samples=8000, sample_rate=8000,
                                  algorithm='pair')
  n_frames = 100
  ratios = tf.constant([1.0, 0.1]) * tf.ones([1, n_frames, 2])
  amps = tf.constant([1.0, 1.5]) * tf.ones([1, n_frames, 2])
  audio = fm(tf.fill([1, n_frames, 1], 1000.0), amps, ratios).numpy()[0]
  spectrum = 2 * np.abs(np.fft.rfft(audio)) / 8000
  k = np.arange(-5, 6)
  np.testing.assert_allclose(spectrum[1000 + 100 * k],
                             np.abs(scipy.special.jv(k, 1.5)), atol=2e-4)


def test_fm_custom_algorithm_equals_the_named_one_and_scale_fn_applies():
  rng = np.random.default_rng(0)
  f0 = tf.constant(rng.uniform(100, 300, (2, 10, 1)), tf.float32)
  amps = tf.constant(rng.normal(size=(2, 10, 6)), tf.float32)
  ratios = tf.constant(rng.uniform(0.5, 3, (2, 10, 6)), tf.float32)
  named = synths.FrequencyModulation(n_samples=640, algorithm='dx7_1')
  custom = synths.FrequencyModulation(
      n_samples=640, algorithm=[[[1, 0], [5, 4], [4, 3], [3, 2]], [0, 2]])
  np.testing.assert_allclose(named(f0, amps, ratios), custom(f0, amps, ratios),
                             atol=1e-6)
  assert custom.get_config()['algorithm'] == [[[1, 0], [5, 4], [4, 3],
                                               [3, 2]], [0, 2]]
  scaled = synths.FrequencyModulation(n_samples=640, algorithm='dx7_1',
                                      scale_fn=core.exp_sigmoid)
  np.testing.assert_allclose(scaled(f0, amps, ratios),
                             named(f0, core.exp_sigmoid(amps), ratios),
                             atol=1e-6)


def test_fm_layer_rejects_bad_arguments():
  with pytest.raises(ValueError, match='`algorithm` must be one of'):
    synths.FrequencyModulation(algorithm='dx7_33')
  fm = synths.FrequencyModulation(n_samples=64, algorithm='pair')
  f0 = tf.ones([1, 4, 1])
  with pytest.raises(ValueError, match='n_operators'):
    fm(f0, tf.ones([1, 4, 2]), tf.ones([1, 4, 3]))
  with pytest.raises(ValueError, match='`f0_hz` must have shape'):
    fm(tf.ones([1, 4, 2]), tf.ones([1, 4, 2]), tf.ones([1, 4, 2]))
