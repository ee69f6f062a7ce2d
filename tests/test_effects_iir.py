"""Tests of the recursive filter effects: BiquadFilter, StateVariableFilter."""

import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from ddsp import effects

_SAMPLE_RATE = 16000


def _ramp_np(frames, n_samples):
  """Causal linear ramp from frame to frame (the first hop holds frame 0)."""
  hop = n_samples // frames.shape[0]
  earlier = np.concatenate([frames[:1], frames[:-1]])
  ramp = (np.arange(hop) + 1.0) / hop
  return (earlier[:, None] + (frames - earlier)[:, None] * ramp[None]).reshape(
      -1)


def _lowpass_np(frequency_hz, q):
  """Cookbook lowpass, written out for the reference."""
  w0 = 2 * np.pi * frequency_hz / _SAMPLE_RATE
  alpha = np.sin(w0) / (2 * q)
  cos = np.cos(w0)
  b = np.array([(1 - cos) / 2, 1 - cos, (1 - cos) / 2])
  a = np.array([1 + alpha, -2 * cos, 1 - alpha])
  return b / a[0], a / a[0]


@pytest.mark.parametrize('n_frames', [1, 4])
def test_biquad_static_controls_equal_scipy_butterworth_cascade(n_frames):
  rng = np.random.default_rng(0)
  audio = rng.normal(size=(2, 800)).astype(np.float32)
  layer = effects.BiquadFilter(n_biquads=2,
                               filter_type=['lowpass', 'highpass'],
                               scale_controls=False)
  frequency = np.broadcast_to([3000.0, 200.0], (2, n_frames, 2)).astype(
      np.float32)
  q = np.full((2, n_frames, 2), 1 / np.sqrt(2), np.float32)
  got = layer(audio, frequency, q)
  sos = np.concatenate([
      scipy.signal.butter(2, 3000.0, 'low', fs=_SAMPLE_RATE, output='sos'),
      scipy.signal.butter(2, 200.0, 'high', fs=_SAMPLE_RATE, output='sos')])
  expected = scipy.signal.sosfilt(sos, audio.astype(np.float64))
  np.testing.assert_allclose(got, expected, rtol=0,
                             atol=1e-5 * np.abs(expected).max())


def test_biquad_time_varying_matches_sample_by_sample_reference():
  rng = np.random.default_rng(1)
  n_samples, n_frames = 480, 6
  audio = rng.normal(size=(1, n_samples))
  frequency = rng.normal(size=(1, n_frames, 1)).astype(np.float32)
  q = rng.normal(size=(1, n_frames, 1)).astype(np.float32)
  layer = effects.BiquadFilter(min_frequency_hz=100.0,
                               max_frequency_hz=6000.0)
  outputs = layer(audio.astype(np.float32), frequency, q,
                  return_outputs_dict=True)
  # The documented scaling of raw controls.
  frequency_hz = 100.0 * 60.0 ** (1 / (1 + np.exp(-frequency[0, :, 0])))
  q_value = 0.1 * 50.0 ** (1 / (1 + np.exp(-q[0, :, 0])))
  np.testing.assert_allclose(outputs['controls']['frequency_hz'][0, :, 0],
                             frequency_hz, rtol=1e-5)
  np.testing.assert_allclose(outputs['controls']['q'][0, :, 0], q_value,
                             rtol=1e-5)
  # Direct form II transposed, coefficients recomputed at every sample.
  f_samples = _ramp_np(frequency_hz, n_samples)
  q_samples = _ramp_np(q_value, n_samples)
  z = np.zeros(2)
  expected = np.zeros(n_samples)
  for n in range(n_samples):
    b, a = _lowpass_np(f_samples[n], q_samples[n])
    expected[n] = b[0] * audio[0, n] + z[0]
    z = np.array([z[1], 0.0]) + b[1:] * audio[0, n] - a[1:] * expected[n]
  np.testing.assert_allclose(outputs['signal'][0], expected, rtol=0,
                             atol=2e-5 * np.abs(expected).max())


def test_biquad_raw_zero_is_the_centre_of_the_ranges():
  layer = effects.BiquadFilter(filter_type='peak', max_gain_db=12.0)
  controls = layer.get_controls(tf.zeros([1, 64]), tf.zeros([1, 2, 1]),
                                tf.zeros([1, 2, 1]), tf.ones([1, 2, 1]))
  np.testing.assert_allclose(controls['frequency_hz'],
                             np.sqrt(20.0 * 7200.0), rtol=1e-5)
  np.testing.assert_allclose(controls['q'], 1 / np.sqrt(2), rtol=1e-5)
  np.testing.assert_allclose(controls['gain_db'], 12.0 * np.tanh(1.0),
                             rtol=1e-5)
  # Physical controls out of range are clipped into it.
  layer = effects.BiquadFilter(scale_controls=False)
  controls = layer.get_controls(tf.zeros([1, 64]),
                                [[[-5.0], [1e5]]], [[[0.0], [100.0]]])
  np.testing.assert_allclose(controls['frequency_hz'][0, :, 0],
                             [20.0, 7200.0])
  np.testing.assert_allclose(controls['q'][0, :, 0], [0.1, 5.0])


def _stream(layer, audio, controls, n_blocks):
  """Block-by-block output of `layer.stream`, controls split by frames."""
  hop = audio.shape[1] // controls[0].shape[1]
  frames_per_block = controls[0].shape[1] // n_blocks
  state, blocks = None, []
  for i in range(n_blocks):
    frames = slice(i * frames_per_block, (i + 1) * frames_per_block)
    samples = slice(frames.start * hop, frames.stop * hop)
    block, state = layer.stream(audio[:, samples],
                                *[c[:, frames] for c in controls],
                                state=state)
    blocks.append(block)
  return np.concatenate(blocks, axis=1)


@pytest.mark.parametrize('kind', ['biquad', 'svf'])
def test_streaming_block_by_block_equals_whole_clip(kind):
  rng = np.random.default_rng(2)
  audio = rng.normal(size=(2, 960)).astype(np.float32)
  if kind == 'biquad':
    layer = effects.BiquadFilter(n_biquads=2, filter_type=['peak', 'lowpass'])
    controls = [rng.normal(size=(2, 12, 2)).astype(np.float32)
                for _ in range(3)]
  else:
    layer = effects.StateVariableFilter(filter_type='mix')
    controls = [rng.normal(size=(2, 12, c)).astype(np.float32)
                for c in (1, 1, 3)]
  whole = layer(audio, *controls).numpy()
  # float32: the blocks and the whole clip round differently; a low-
  # frequency peak filter (poles within 1e-3 of the unit circle) amplifies
  # that rounding up to about 1e-4 of the peak.
  tolerance = 3e-4 if kind == 'biquad' else 1e-5
  for n_blocks in (2, 4, 12):
    np.testing.assert_allclose(_stream(layer, audio, controls, n_blocks),
                               whole, rtol=0,
                               atol=tolerance * np.abs(whole).max())


def test_state_variable_filter_static_sweep_matches_analytic_response():
  # The processor with a static cutoff and q: the steady-state gain of each
  # test tone equals |H| of the SVF's analog prototype, bilinear-mapped.
  cutoff, q = 1500.0, 2.0
  tones = np.array([150.0, 700.0, 1400.0, 1500.0, 1700.0, 4000.0, 7000.0])
  t = np.arange(3200) / _SAMPLE_RATE
  audio = np.sin(2 * np.pi * tones[:, None] * t).astype(np.float32)
  s = 1j * np.tan(np.pi * tones / _SAMPLE_RATE) / np.tan(
      np.pi * cutoff / _SAMPLE_RATE)
  responses = {'lowpass': 1 / (s**2 + s / q + 1),
               'bandpass': s / (s**2 + s / q + 1),
               'highpass': s**2 / (s**2 + s / q + 1)}
  tail = slice(1600, None)
  for filter_type, response in responses.items():
    layer = effects.StateVariableFilter(filter_type=filter_type,
                                        scale_controls=False)
    out = layer(audio, np.full((7, 4, 1), cutoff, np.float32),
                np.full((7, 4, 1), q, np.float32)).numpy()
    for i, tone in enumerate(tones):
      basis = np.stack([np.sin(2 * np.pi * tone * t[tail]),
                        np.cos(2 * np.pi * tone * t[tail])], axis=1)
      fit, *_ = np.linalg.lstsq(basis, out[i, tail], rcond=None)
      assert np.hypot(*fit) == pytest.approx(abs(response[i]), rel=1e-3,
                                             abs=1e-5), (filter_type, tone)


def test_state_variable_filter_modulated_cutoff_stays_smooth():
  # A fast wah (cutoff swept 200 Hz - 6 kHz at 8 Hz, high q) on a sine:
  # bounded and without jumps larger than the signal's own slope allows.
  n = 8000
  t = np.arange(n) / _SAMPLE_RATE
  audio = np.sin(2 * np.pi * 440.0 * t)[None].astype(np.float32)
  frames = 200
  sweep = 200.0 * 30.0 ** (0.5 + 0.5 * np.sin(2 * np.pi * 8.0 * np.arange(
      frames) / (frames / 0.5)))
  layer = effects.StateVariableFilter(filter_type='bandpass',
                                      scale_controls=False,
                                      max_frequency_hz=7000.0, max_q=8.0)
  out = layer(audio, sweep[None, :, None].astype(np.float32),
              np.full((1, frames, 1), 8.0, np.float32)).numpy()[0]
  assert np.all(np.isfinite(out)) and np.abs(out).max() < 20.0
  # A click would show as a sample-to-sample step far above the largest
  # step of a 440 Hz tone of the same peak amplitude.
  steps = np.abs(np.diff(out))
  assert steps.max() < 2 * np.pi * 440.0 / _SAMPLE_RATE * np.abs(out).max() * 3


def test_bad_inputs():
  audio = np.zeros([1, 100], np.float32)
  controls = np.zeros([1, 10, 1], np.float32)
  with pytest.raises(ValueError, match='`filter_type` must be one of'):
    effects.BiquadFilter(filter_type='allpass')
  with pytest.raises(ValueError, match='list of n_biquads=2 types'):
    effects.BiquadFilter(n_biquads=2, filter_type=['lowpass'])
  with pytest.raises(ValueError, match='max_frequency_hz < sample_rate / 2'):
    effects.BiquadFilter(min_frequency_hz=100.0, max_frequency_hz=50.0)
  with pytest.raises(ValueError, match='`max_frequency_hz` must be a number'):
    effects.BiquadFilter(max_frequency_hz=9000.0)
  with pytest.raises(ValueError, match='`min_q` must be below `max_q`'):
    effects.StateVariableFilter(min_q=2.0, max_q=1.0)
  layer = effects.BiquadFilter()
  with pytest.raises(ValueError, match='`gain` is not used'):
    layer(audio, controls, controls, controls)
  with pytest.raises(ValueError, match='`gain` is required'):
    effects.BiquadFilter(filter_type='peak')(audio, controls, controls)
  with pytest.raises(ValueError, match='must divide the number of samples'):
    layer(audio, np.zeros([1, 7, 1]), np.zeros([1, 7, 1]))
  with pytest.raises(ValueError, match=r'`q` must have shape \[\?, \?, 1\]'):
    layer(audio, controls, np.zeros([1, 10, 2]))
  with pytest.raises(ValueError, match='frame axis'):
    layer(audio, controls, np.zeros([1, 5, 1]))
  with pytest.raises(ValueError, match='batch'):
    layer(np.zeros([2, 100]), controls, np.zeros([3, 10, 1]))
  with pytest.raises(ValueError, match='`frequency` must be finite'):
    layer(audio, np.full([1, 10, 1], np.nan), controls)
  with pytest.raises(ValueError, match='`mix`'):
    effects.StateVariableFilter(filter_type='mix')(audio, controls, controls)
  with pytest.raises(ValueError, match='`mix`'):
    effects.StateVariableFilter()(audio, controls, controls,
                                  np.zeros([1, 10, 3]))
