"""Tests for ddsp.synths: Harmonic, Wavetable, Sinusoidal, TensorToAudio.

(FilteredNoise is tested in tests/test_synths_noise.py.)
"""

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from ddsp import core
from ddsp import synths
from ddsp import validation

SR = 16000


def _exp_sigmoid_np(x):
  """The default scale function in float64 numpy."""
  return 2.0 * (1.0 / (1.0 + np.exp(-np.asarray(x, np.float64))))**np.log(
      10.0) + 1e-7


def _hold_upsample(x, hop, method):
  """[B, T, C] -> [B, T * hop, C], crossfading frames t -> t + 1."""
  x = np.asarray(x, np.float64)
  x_next = np.concatenate([x[:, 1:], x[:, -1:]], axis=1)
  r = np.arange(hop) / hop
  w = np.sin(0.5 * np.pi * r)**2 if method == 'window' else r
  y = x[:, :, None, :] + w[None, None, :, None] * (x_next - x)[:, :, None, :]
  return y.reshape(x.shape[0], -1, x.shape[-1])


def _harmonic_np(amps, dist, f0, hop, sample_rate=SR):
  """float64 reference of Harmonic with the default scale function."""
  amps, dist = _exp_sigmoid_np(amps), _exp_sigmoid_np(dist)
  ratios = np.arange(1, dist.shape[-1] + 1)
  dist = np.where(f0 * ratios >= sample_rate / 2, 0.0, dist)
  dist /= dist.sum(-1, keepdims=True)
  f = _hold_upsample(f0, hop, 'linear')
  a = _hold_upsample(amps * dist, hop, 'window')
  phase = np.cumsum(2 * np.pi * f / sample_rate, axis=1) * ratios
  a = np.where(f * ratios >= sample_rate / 2, 0.0, a)
  return np.sum(a * np.sin(phase), axis=-1)


def _harmonic_inputs(rng, batch=2, n_frames=25, n_harmonics=10,
                     f0_range=(100, 1000)):
  return (rng.normal(size=[batch, n_frames, 1]).astype(np.float32),
          rng.normal(size=[batch, n_frames, n_harmonics]).astype(np.float32),
          rng.uniform(*f0_range, size=[batch, n_frames, 1]).astype(np.float32))


def _gradients(layer, inputs):
  inputs = [tf.constant(x) for x in inputs]
  with tf.GradientTape() as tape:
    tape.watch(inputs)
    loss = tf.reduce_sum(layer(*inputs)**2)
  return [g.numpy() for g in tape.gradient(loss, inputs)]


# ------------------------------------------------------------------------------
# Harmonic.
# ------------------------------------------------------------------------------
class TestHarmonic:

  def test_matches_float64_reference(self, rng):
    amps, dist, f0 = _harmonic_inputs(rng)
    audio = synths.Harmonic(n_samples=25 * 64)(amps, dist, f0).numpy()
    np.testing.assert_allclose(audio, _harmonic_np(amps, dist, f0, 64),
                               atol=1e-4)

  def test_controls_are_scaled_normalized_and_masked(self, rng):
    amps, dist, f0 = _harmonic_inputs(rng, f0_range=(1000, 3000))
    controls = synths.Harmonic(n_samples=25 * 64).get_controls(amps, dist, f0)
    np.testing.assert_allclose(controls['amplitudes'], _exp_sigmoid_np(amps),
                               rtol=1e-5)
    hd = controls['harmonic_distribution'].numpy()
    above = f0 * np.arange(1, 11) >= SR / 2
    assert above.any() and np.all(hd[above] == 0.0)
    np.testing.assert_allclose(hd.sum(-1), 1.0, rtol=1e-5)
    unmasked = synths.Harmonic(normalize_below_nyquist=False).get_controls(
        amps, dist, f0)['harmonic_distribution'].numpy()
    assert np.all(unmasked[above] > 0.0)

  def test_spectrum_peaks_at_requested_harmonics(self):
    n_frames, n_samples = 250, 16000
    dist = np.full([1, n_frames, 8], -20.0, np.float32)  # ~silent ...
    dist[..., [0, 2, 4]] = 5.0  # ... except harmonics 1, 3 and 5.
    f0 = np.full([1, n_frames, 1], 250.0, np.float32)
    amps = np.full([1, n_frames, 1], 2.0, np.float32)
    audio = synths.Harmonic(n_samples=n_samples)(amps, dist, f0).numpy()[0]
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(n_samples)))
    freqs = np.fft.rfftfreq(n_samples, 1 / SR)
    peaks = sorted(freqs[np.argsort(spectrum)[-3:]])
    np.testing.assert_allclose(peaks, [250, 750, 1250])
    others = np.abs(freqs - np.round(freqs / 250) * 250) > 20
    others |= np.isin(np.round(freqs / 250), [2, 4, 6, 7, 8])
    assert spectrum[others].max() < 1e-3 * spectrum.max()

  def test_variable_length_same_layer_on_1s_and_60s(self, rng):
    layer = synths.Harmonic(n_samples=None)
    amps, dist, f0 = _harmonic_inputs(rng, batch=1, n_frames=15000,
                                      n_harmonics=16)
    f0[:, 250] = f0[:, 249]  # Continuous across the end of the first second.
    amps[:, 250], dist[:, 250] = amps[:, 249], dist[:, 249]
    short = layer(amps[:, :250], dist[:, :250], f0[:, :250]).numpy()
    long = layer(amps, dist, f0).numpy()
    assert short.shape == (1, 16000) and long.shape == (1, 960000)
    np.testing.assert_allclose(long[:, :16000], short, atol=1e-4)
    # Inside tf.function with an unknown number of frames.
    spec = tf.TensorSpec([None, None, None])
    graph = tf.function(layer, input_signature=[spec, spec, spec])
    np.testing.assert_allclose(
        graph(amps[:, :250], dist[:, :250], f0[:, :250]), short, atol=1e-6)
    # At 48 kHz and 250 frames/s the hop is 192 samples.
    layer48 = synths.Harmonic(n_samples=None, sample_rate=48000)
    assert layer48(amps[:, :250], dist[:, :250], f0[:, :250]).shape == (
        1, 48000)

  def test_fixed_length_resamples_any_number_of_frames(self, rng):
    amps, dist, f0 = _harmonic_inputs(rng, n_frames=100)
    layer = synths.Harmonic(n_samples=1000)  # 10 samples per frame.
    np.testing.assert_allclose(layer(amps, dist, f0),
                               _harmonic_np(amps, dist, f0, 10), atol=1e-4)

  def test_gradients_finite_and_nonzero(self, rng):
    grads = _gradients(synths.Harmonic(n_samples=25 * 64),
                       _harmonic_inputs(rng))
    for grad in grads:
      assert np.all(np.isfinite(grad)) and np.any(grad != 0.0)

  def test_config_round_trip(self):
    layer = synths.Harmonic(n_samples=None, sample_rate=48000, scale_fn=None,
                            amp_resample_method='linear', frame_rate=200,
                            name='h')
    config = layer.get_config()
    clone = synths.Harmonic.from_config(config)
    assert clone.get_config() == config
    assert clone.scale_fn is None and clone.n_samples is None
    default = synths.Harmonic()
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(default))
    assert restored.scale_fn is core.exp_sigmoid
    assert restored.get_config() == default.get_config()

  def test_gin_binding(self):
    with gin.unlock_config():
      gin.parse_config(['Harmonic.n_samples = None',
                        'Harmonic.sample_rate = 48000'])
    try:
      layer = gin.get_configurable('synths.Harmonic')()
      assert isinstance(layer, synths.Harmonic)
      assert layer.n_samples is None and layer.sample_rate == 48000
    finally:
      gin.clear_config()

  def test_errors(self, rng):
    amps, dist, f0 = _harmonic_inputs(rng)
    layer = synths.Harmonic(n_samples=25 * 64)
    with pytest.raises(ValueError, match=r'batch axis.*f0_hz.shape\[0\]=3'):
      layer(amps, dist, np.concatenate([f0, f0[:1]]))
    with pytest.raises(ValueError, match=r'n_frames axis'):
      layer(amps, dist[:, :10], f0)
    with pytest.raises(ValueError, match=r'`amplitudes` must have shape '
                       r'\[\?, \?, 1\]'):
      layer(dist, dist, f0)
    with pytest.raises(ValueError, match=r'`f0_hz` must have rank 3'):
      layer(amps, dist, f0[..., 0])
    with pytest.raises(ValueError, match='`amp_resample_method` must be one'):
      synths.Harmonic(amp_resample_method='sinc')
    with pytest.raises(ValueError, match='`n_samples` must be a positive'):
      synths.Harmonic(n_samples=0)
    with pytest.raises(ValueError, match='whole number of samples per frame'):
      synths.Harmonic(n_samples=None, sample_rate=44100)
    with pytest.raises(TypeError, match='`scale_fn` must be a callable'):
      synths.Harmonic(scale_fn=3.0)
    with pytest.raises(TypeError, match='`freq_scale_fn` must be a callable'):
      synths.Sinusoidal(freq_scale_fn='not a function')


# ------------------------------------------------------------------------------
# Wavetable.
# ------------------------------------------------------------------------------
class TestWavetable:

  def test_sine_table_gives_a_sine(self, rng):
    n_frames, hop = 50, 64
    f0 = rng.uniform(200, 900, size=[2, n_frames, 1]).astype(np.float32)
    table = np.sin(2 * np.pi * np.arange(2048) / 2048).astype(np.float32)
    tables = np.broadcast_to(table, [2, n_frames, 2048])
    amps = np.ones([2, n_frames, 1], np.float32)
    layer = synths.Wavetable(n_samples=n_frames * hop, scale_fn=None)
    audio = layer(amps, tables, f0).numpy()
    f = _hold_upsample(f0, hop, 'linear')[..., 0]
    cycles = np.cumsum(f / SR, axis=1) - f / SR  # Exclusive, as published.
    np.testing.assert_allclose(audio, np.sin(2 * np.pi * cycles), atol=1e-4)

  def test_scale_fn_and_core_agree(self, rng):
    amps = rng.normal(size=[2, 10, 1]).astype(np.float32)
    tables = rng.normal(size=[2, 10, 32]).astype(np.float32)
    f0 = rng.uniform(100, 1000, size=[2, 10, 1]).astype(np.float32)
    layer = synths.Wavetable(n_samples=640)
    controls = layer.get_controls(amps, tables, f0)
    np.testing.assert_allclose(controls['wavetables'],
                               _exp_sigmoid_np(tables), rtol=1e-5)
    expected = core.wavetable_synthesis(f0, _exp_sigmoid_np(amps),
                                        _exp_sigmoid_np(tables), 640)
    np.testing.assert_allclose(layer(amps, tables, f0), expected, atol=1e-5)
    for grad in _gradients(layer, [amps, tables, f0]):
      assert np.all(np.isfinite(grad)) and np.any(grad != 0.0)

  def test_variable_length_and_config(self, rng):
    layer = synths.Wavetable(n_samples=None, scale_fn=None)
    out = layer(np.ones([1, 30, 1]), rng.normal(size=[1, 30, 16]),
                np.full([1, 30, 1], 300.0))
    assert out.shape == (1, 30 * 64)
    clone = synths.Wavetable.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    with pytest.raises(ValueError, match='n_frames axis'):
      layer(np.ones([1, 30, 1]), rng.normal(size=[1, 20, 16]),
            np.full([1, 30, 1], 300.0))


# ------------------------------------------------------------------------------
# Sinusoidal and TensorToAudio.
# ------------------------------------------------------------------------------
class TestSinusoidal:

  def test_matches_float64_reference(self, rng):
    amps = rng.uniform(0, 1, size=[2, 10, 3]).astype(np.float32)
    freqs = rng.uniform(50, 9000, size=[2, 10, 3]).astype(np.float32)
    layer = synths.Sinusoidal(n_samples=640, amp_scale_fn=None,
                              freq_scale_fn=None)
    controls = layer.get_controls(amps, freqs)
    above = freqs >= SR / 2
    assert above.any() and np.all(controls['amplitudes'].numpy()[above] == 0)
    amps = np.where(above, 0.0, amps)  # Frames at or above Nyquist.
    f = _hold_upsample(freqs, 64, 'linear')
    a = np.where(f >= SR / 2, 0.0, _hold_upsample(amps, 64, 'window'))
    expected = np.sum(a * np.sin(np.cumsum(2 * np.pi * f / SR, axis=1)), -1)
    np.testing.assert_allclose(layer(amps, freqs), expected, atol=1e-4)

  def test_default_scale_fns_gradients_and_config(self, rng):
    layer = synths.Sinusoidal(n_samples=640)
    inputs = [rng.normal(size=[1, 10, 4]).astype(np.float32),
              rng.normal(size=[1, 10, 4]).astype(np.float32)]
    controls = layer.get_controls(*inputs)
    np.testing.assert_allclose(controls['frequencies'],
                               core.frequencies_sigmoid(inputs[1]), rtol=1e-6)
    for grad in _gradients(layer, inputs):
      assert np.all(np.isfinite(grad)) and np.any(grad != 0.0)
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(layer))
    assert clone.freq_scale_fn is core.frequencies_sigmoid
    np.testing.assert_allclose(clone(*inputs), layer(*inputs), atol=1e-6)
    with pytest.raises(ValueError, match='n_frames axis'):
      layer(inputs[0], inputs[1][:, :5])

  def test_depth_axis_frequencies_as_published(self, rng):
    # Published usage: raw frequencies [batch, n_frames, n_sinusoids, depth]
    # for a scale function that sums `depth` sigmoids per sinusoid.
    depth = 3
    def freq_scale_fn(x):
      return core.frequencies_sigmoid(x, depth=depth, hz_min=0.0,
                                      hz_max=8000.0)
    layer = synths.Sinusoidal(n_samples=640, amp_scale_fn=None,
                              freq_scale_fn=freq_scale_fn)
    amps = rng.uniform(0, 1, size=[2, 10, 4]).astype(np.float32)
    raw = rng.normal(scale=30.0, size=[2, 10, 4, depth]).astype(np.float32)
    controls = layer.get_controls(amps, raw)
    freqs = controls['frequencies'].numpy()
    assert freqs.shape == (2, 10, 4)
    assert np.all((freqs >= 0.0) & (freqs <= 8000.0))
    # The same sinusoids as the channel-packed layout of the same logits.
    np.testing.assert_allclose(
        freqs, core.frequencies_sigmoid(raw.reshape([2, 10, 4 * depth]),
                                        depth=depth), rtol=1e-6)
    # The audio is that of the scaled frequencies given in Hz (whose accuracy
    # test_matches_float64_reference checks).
    in_hz = synths.Sinusoidal(n_samples=640, amp_scale_fn=None,
                              freq_scale_fn=None)
    np.testing.assert_allclose(layer(amps, raw), in_hz(amps, freqs),
                               atol=1e-6)
    with pytest.raises(ValueError, match=r'`frequencies` must have rank 3 or '
                       r'4. Received: frequencies.shape=\(2, 10\)'):
      layer(amps, raw[..., 0, 0])
    with pytest.raises(ValueError, match='must have rank 3'):
      synths.Sinusoidal(n_samples=640, freq_scale_fn=None)(amps, raw)


def test_tensor_to_audio():
  samples = tf.reshape(tf.range(6.0), [2, 3, 1])
  out = synths.TensorToAudio()(samples)
  np.testing.assert_array_equal(out, [[0, 1, 2], [3, 4, 5]])
  np.testing.assert_array_equal(synths.TensorToAudio()(samples[..., 0]), out)
  with pytest.raises(ValueError, match='`samples` must be'):
    synths.TensorToAudio()(tf.zeros([2, 3, 2]))


# ------------------------------------------------------------------------------
# Bad inputs (non-finite, empty) and published broadcasting.
# ------------------------------------------------------------------------------
class TestCheckedControls:

  def test_nan_f0_raises_instead_of_nan_audio(self, rng):
    amps, dist, f0 = _harmonic_inputs(rng)
    f0[0, 12, 0] = np.nan  # Today: 80 % of the example NaN, no error.
    layer = synths.Harmonic(n_samples=25 * 64)
    with pytest.raises(ValueError, match=r'`f0_hz` must be finite.*1 NaN and '
                       r'0 infinite values of 50, the first at index '
                       r'\(0, 12, 0\)'):
      layer(amps, dist, f0)

  def test_nan_controls_raise_in_graph_and_the_switch_turns_it_off(self, rng):
    amps, dist, f0 = _harmonic_inputs(rng)
    f0[1, 3, 0] = np.nan
    spec = tf.TensorSpec([None, None, None], tf.float32)

    def traced():
      layer = synths.Harmonic(n_samples=25 * 64)
      return tf.function(layer, input_signature=[spec] * 3)

    with pytest.raises(tf.errors.InvalidArgumentError,
                       match='`f0_hz` must be finite'):
      traced()(amps, dist, f0)
    previous = validation.set_finite_checks(False)
    try:
      unchecked = traced()  # Traced without the checks.
      assert np.isnan(unchecked(amps, dist, f0).numpy()).any()
    finally:
      validation.set_finite_checks(previous)

  @pytest.mark.parametrize('make', [
      lambda x: synths.Wavetable(n_samples=640)(
          x[..., :1], np.ones([1, 10, 8]), np.full([1, 10, 1], 200.0)),
      lambda x: synths.Wavetable(n_samples=640)(
          np.ones([1, 10, 1]), x, np.full([1, 10, 1], 200.0)),
      lambda x: synths.Sinusoidal(n_samples=640)(np.ones([1, 10, 4]), x),
      lambda x: synths.TensorToAudio()(x[:, :, 0]),
  ], ids=['wavetable-amplitudes', 'wavetables', 'sinusoidal', 'to-audio'])
  def test_other_synths_refuse_non_finite_controls(self, make):
    x = np.ones([1, 10, 4], np.float32)
    x[0, 2, 0] = np.inf
    with pytest.raises(ValueError, match='must be finite'):
      make(x)

  def test_zero_frames_and_empty_tables_raise_naming_the_argument(self):
    layer = synths.Harmonic(n_samples=640)
    with pytest.raises(ValueError, match=r'`amplitudes` must have at least '
                       r'one frame. Received: amplitudes.shape=\(1, 0, 1\)'):
      layer(np.zeros([1, 0, 1]), np.zeros([1, 0, 4]), np.zeros([1, 0, 1]))
    with pytest.raises(ValueError, match=r'`wavetables` must have at least '
                       r'one table entry'):
      synths.Wavetable(n_samples=640)(np.ones([1, 10, 1]), np.ones([1, 10, 0]),
                                      np.full([1, 10, 1], 200.0))

  def test_negative_f0_is_silent(self, rng):
    """Published: a phase-inverted tone; here silence (a documented change)."""
    amps, dist, f0 = _harmonic_inputs(rng, batch=1)
    layer = synths.Harmonic(n_samples=25 * 64)
    np.testing.assert_array_equal(layer(amps, dist, -f0).numpy(), 0.0)
    f0[:, 10:15] *= -1.0
    out = layer(amps, dist, f0).numpy()
    np.testing.assert_array_equal(out[:, 10 * 64:14 * 64], 0.0)
    assert np.abs(out[:, :9 * 64]).max() > 0.1

  def test_a_batch_of_one_broadcasts_as_published(self, rng):
    amps, dist, f0 = _harmonic_inputs(rng)
    layer = synths.Harmonic(n_samples=25 * 64)
    out = layer(amps, dist[:1], f0).numpy()
    expected = _harmonic_np(amps, np.repeat(dist[:1], 2, axis=0), f0, 64)
    np.testing.assert_allclose(out, expected, atol=1e-4)
