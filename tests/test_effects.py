"""Tests for ddsp.effects against numpy/scipy references and analytic results."""

import gin
import keras
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from ddsp import core
from ddsp import effects
from ddsp import synths


def _exp_sigmoid(x):
  """numpy exp_sigmoid (exponent 10, max 2, threshold 1e-7)."""
  return 2.0 * (1.0 / (1.0 + np.exp(-x)))**np.log(10.0) + 1e-7


def _np_reverb(audio, ir, add_dry=True):
  """Causal convolution with the IR whose first tap is replaced by the dry."""
  ir = np.array(ir, np.float64)
  ir[..., 0] = 0.0
  n_samples = audio.shape[-1]
  wet = np.stack([np.convolve(a, h)[:n_samples] for a, h in zip(audio, ir)])
  return wet + audio if add_dry else wet


def _np_delay(audio, delay):
  """Fractional delay by linear interpolation, silence before the start."""
  time = np.arange(audio.shape[-1])
  return np.stack([np.interp(time - d, np.r_[-1, time], np.r_[0.0, a],
                             left=0.0) for a, d in zip(audio, delay)])


def _grads(layer, inputs, **kwargs):
  inputs = [tf.constant(x) for x in inputs]
  with tf.GradientTape() as tape:
    tape.watch(inputs)
    out = layer(*inputs, **kwargs)
    loss = tf.reduce_sum(out * tf.sin(tf.range(out.shape[-1], dtype=tf.float32)))
  return tape.gradient(loss, [inputs, layer.trainable_variables])


def _assert_useful(grads):
  for grad in grads:
    grad = tf.convert_to_tensor(grad).numpy()
    assert np.all(np.isfinite(grad))
    assert np.any(grad != 0.0)


def _round_trip(layer):
  clone = keras.saving.deserialize_keras_object(
      keras.saving.serialize_keras_object(layer))
  assert type(clone) is type(layer)
  assert clone.get_config() == layer.get_config()
  return clone


class TestReverb:

  @pytest.mark.parametrize('add_dry', [True, False])
  def test_equals_numpy_convolution(self, rng, add_dry):
    audio = rng.normal(size=[2, 500]).astype(np.float32)
    ir = rng.normal(size=[2, 120]).astype(np.float32)
    reverb = effects.Reverb(add_dry=add_dry)
    expected = _np_reverb(audio, ir, add_dry)
    for ir_in in (ir, ir[..., np.newaxis]):
      np.testing.assert_allclose(reverb(audio, ir_in).numpy(), expected,
                                 atol=2e-5)
    # One IR for the whole batch.
    np.testing.assert_allclose(
        reverb(audio, ir[0]).numpy(),
        _np_reverb(audio, np.stack([ir[0], ir[0]]), add_dry), atol=2e-5)

  def test_trainable_learns_its_ir(self, rng):
    audio = rng.normal(size=[2, 300]).astype(np.float32)
    reverb = effects.Reverb(trainable=True, reverb_length=64, seed=3)
    out = reverb(audio)
    assert [v.shape for v in reverb.trainable_variables] == [(64,)]
    ir = reverb.trainable_variables[0].numpy()
    assert 0 < np.std(ir) < 1e-5  # Tiny random initial IR.
    reverb.trainable_variables[0].assign(rng.normal(size=64))
    ir = reverb.trainable_variables[0].numpy()
    np.testing.assert_allclose(reverb(audio).numpy(),
                               _np_reverb(audio, np.stack([ir, ir])),
                               atol=2e-5)
    assert out.shape == (2, 300)
    (_, [grad_ir]) = _grads(reverb, [audio])
    assert grad_ir.numpy()[0] == 0.0  # The first tap is not used.
    _assert_useful([grad_ir.numpy()[1:]])
    # The same seed initializes the same IR.
    other = effects.Reverb(trainable=True, reverb_length=64, seed=3)
    other(audio)
    same = effects.Reverb(trainable=True, reverb_length=64, seed=3)
    same(audio)
    np.testing.assert_array_equal(other.trainable_variables[0].numpy(),
                                  same.trainable_variables[0].numpy())

  def test_learning_rate_scale(self, rng):
    audio = rng.normal(size=[2, 300]).astype(np.float32)
    plain = effects.Reverb(trainable=True, reverb_length=2000, seed=5)
    scaled = effects.Reverb(trainable=True, reverb_length=2000, seed=5,
                            learning_rate_scale=0.1)
    plain(audio), scaled(audio)
    # Same initial IR (stddev 1e-6) whatever the scale; the variable holds
    # ir / scale.
    ir = scaled.ir.numpy()
    np.testing.assert_allclose(ir, plain.ir.numpy(), rtol=1e-5, atol=1e-13)
    assert 0.9e-6 < np.std(ir) < 1.1e-6
    np.testing.assert_allclose(scaled.trainable_variables[0].numpy(), 10 * ir,
                               rtol=1e-6)
    np.testing.assert_allclose(scaled(audio).numpy(),
                               _np_reverb(audio, np.stack([ir, ir])),
                               atol=2e-5)
    # Adam's first step moves each variable by ~lr (g / (|g| + eps)): the IR
    # taps move by lr * scale.
    for layer, scale in ((plain, 1.0), (scaled, 0.1)):
      before = layer.ir.numpy()
      optimizer = keras.optimizers.Adam(learning_rate=1e-3)
      with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(audio) * tf.sin(tf.range(300.0)))
      grads = tape.gradient(loss, layer.trainable_variables)
      optimizer.apply_gradients(zip(grads, layer.trainable_variables))
      step = np.abs(layer.ir.numpy() - before)[1:300]
      np.testing.assert_allclose(step, 1e-3 * scale, rtol=0.02)
    assert _round_trip(scaled).learning_rate_scale == 0.1
    with pytest.raises(ValueError, match=r'`learning_rate_scale` must be'):
      effects.Reverb(trainable=True, learning_rate_scale=0.0)
    with pytest.raises(AttributeError, match=r'trainable Reverb'):
      effects.Reverb().ir  # pylint: disable=expression-not-assigned

  def test_gradients_and_config(self, rng):
    audio = rng.normal(size=[2, 200]).astype(np.float32)
    ir = rng.normal(size=[2, 50]).astype(np.float32)
    reverb = effects.Reverb()
    (grads, _) = _grads(reverb, [audio, ir])
    _assert_useful(grads)
    clone = _round_trip(reverb)
    np.testing.assert_array_equal(clone(audio, ir).numpy(),
                                  reverb(audio, ir).numpy())
    assert gin.get_configurable('ddsp.effects.Reverb') is not None

  def test_errors(self):
    with pytest.raises(ValueError, match=r'needs the impulse response'):
      effects.Reverb()(tf.zeros([2, 100]))
    with pytest.raises(ValueError, match=r'trainable Reverb learns its IR'):
      effects.Reverb(trainable=True, reverb_length=8)(tf.zeros([2, 100]),
                                                      tf.zeros([2, 8]))
    with pytest.raises(ValueError, match=r'batch axis.*audio.shape\[0\]=2, '
                       r'ir.shape\[0\]=3'):
      effects.Reverb()(tf.zeros([2, 100]), tf.zeros([3, 8]))
    with pytest.raises(ValueError, match=r'`audio` must have rank 2'):
      effects.Reverb()(tf.zeros([2, 100, 1]), tf.zeros([2, 8]))
    with pytest.raises(ValueError, match=r'`reverb_length` must be a positive'):
      effects.Reverb(reverb_length=0)


class TestExpDecayReverb:

  def test_ir_decays_at_the_analytic_rate(self):
    length, gain, decay = 8000, 0.3, 1.0
    reverb = effects.ExpDecayReverb(reverb_length=length, seed=0)
    outputs = reverb(tf.zeros([1, 100]), tf.constant([[gain]]),
                     tf.constant([[decay]]), return_outputs_dict=True)
    ir = outputs['controls']['ir'].numpy()[0]
    assert ir.shape == (length,)
    rate = 2.0 + np.exp(decay)
    time = np.linspace(0.0, 1.0, length)
    scaled = ir / np.exp(-rate * time)  # Uniform noise in [-g, g).
    amplitude = _exp_sigmoid(gain)
    assert np.max(np.abs(scaled)) <= amplitude * (1 + 1e-5)
    assert np.max(np.abs(scaled)) > 0.99 * amplitude
    # The log-RMS per block falls on a line of slope -rate.
    blocks = ir.reshape(16, 500)
    centres = time.reshape(16, 500).mean(axis=1)
    log_rms = np.log(np.sqrt(np.mean(blocks**2, axis=1)))
    slope = np.polyfit(centres, log_rms, 1)[0]
    assert abs(slope + rate) < 0.05 * rate

  def test_trainable_initial_values_and_gradients(self, rng):
    audio = rng.normal(size=[2, 300]).astype(np.float32)
    reverb = effects.ExpDecayReverb(trainable=True, reverb_length=100, seed=1)
    reverb(audio)
    values = {v.name: v.numpy() for v in reverb.trainable_variables}
    assert values == {'gain': [2.0], 'decay': [4.0]}
    (grads, variable_grads) = _grads(reverb, [audio])
    _assert_useful(grads + variable_grads)

  def test_gradients_wrt_inputs(self, rng):
    audio = rng.normal(size=[2, 300]).astype(np.float32)
    gain = rng.normal(size=[2, 1]).astype(np.float32)
    decay = rng.normal(size=[2, 1]).astype(np.float32)
    reverb = effects.ExpDecayReverb(reverb_length=100, seed=1)
    (grads, _) = _grads(reverb, [audio, gain, decay])
    _assert_useful(grads)

  def test_seeded_noise(self, rng):
    audio = tf.constant(rng.normal(size=[2, 300]).astype(np.float32))
    gain, decay = tf.zeros([2, 1]), tf.zeros([2, 1])

    def make(seed):
      return effects.ExpDecayReverb(reverb_length=100, seed=seed)

    first = make(5)(audio, gain, decay).numpy()
    layer = make(5)
    np.testing.assert_array_equal(layer(audio, gain, decay).numpy(), first)
    np.testing.assert_array_equal(layer(audio, gain, decay).numpy(), first)
    assert not np.allclose(make(6)(audio, gain, decay).numpy(), first)
    # Training: fresh noise per call, the same sequence for the same seed.
    one, two = make(5), make(5)
    calls = [one(audio, gain, decay, training=True).numpy() for _ in range(2)]
    assert not np.allclose(calls[0], calls[1])
    for expected in calls:
      np.testing.assert_array_equal(
          two(audio, gain, decay, training=True).numpy(), expected)
    # A copy from the config makes the same audio (the seed is recorded).
    clone = _round_trip(make(None))
    assert clone.seed == clone.get_config()['seed']

  def test_errors(self):
    with pytest.raises(ValueError, match=r'needs `gain` and `decay`'):
      effects.ExpDecayReverb(reverb_length=10)(tf.zeros([2, 100]))
    with pytest.raises(ValueError, match=r'`gain` must have shape \[batch, 1\]'):
      effects.ExpDecayReverb(reverb_length=10)(tf.zeros([2, 100]),
                                               tf.zeros([2, 3]),
                                               tf.zeros([2, 1]))


class TestFilteredNoiseReverb:

  def test_ir_is_filtered_noise(self, rng):
    magnitudes = rng.normal(size=[2, 10, 8]).astype(np.float32)
    reverb = effects.FilteredNoiseReverb(reverb_length=400, n_frames=10,
                                         n_filter_banks=8, seed=4)
    outputs = reverb(tf.zeros([2, 100]), magnitudes, return_outputs_dict=True)
    noise = synths.FilteredNoise(n_samples=400, initial_bias=-3.0, seed=4)
    np.testing.assert_allclose(outputs['controls']['ir'].numpy(),
                               noise(magnitudes).numpy(), atol=1e-6)
    audio = rng.normal(size=[2, 600]).astype(np.float32)
    np.testing.assert_allclose(
        reverb(audio, magnitudes).numpy(),
        _np_reverb(audio, noise(magnitudes).numpy()), atol=2e-5)

  def test_trainable(self, rng):
    audio = rng.normal(size=[2, 600]).astype(np.float32)
    reverb = effects.FilteredNoiseReverb(trainable=True, reverb_length=400,
                                         n_frames=10, n_filter_banks=8, seed=1)
    assert reverb(audio).shape == (2, 600)
    assert [v.shape for v in reverb.trainable_variables] == [(10, 8)]
    (grads, variable_grads) = _grads(reverb, [audio])
    _assert_useful(grads + variable_grads)
    clone = _round_trip(reverb)
    clone(audio)
    clone.set_weights(reverb.get_weights())
    np.testing.assert_allclose(clone(audio).numpy(), reverb(audio).numpy(),
                               atol=1e-6)

  def test_gradients_wrt_inputs(self, rng):
    audio = rng.normal(size=[2, 600]).astype(np.float32)
    magnitudes = rng.normal(size=[2, 10, 8]).astype(np.float32)
    reverb = effects.FilteredNoiseReverb(reverb_length=400, n_frames=10,
                                         n_filter_banks=8, seed=4)
    (grads, _) = _grads(reverb, [audio, magnitudes])
    _assert_useful(grads)

  def test_errors(self):
    reverb = effects.FilteredNoiseReverb(reverb_length=400, n_frames=10,
                                         n_filter_banks=8)
    with pytest.raises(ValueError, match=r'`magnitudes` must have shape '
                       r'\[\?, 10, 8\]'):
      reverb(tf.zeros([2, 100]), tf.zeros([2, 10, 9]))
    with pytest.raises(ValueError, match=r'needs `magnitudes`'):
      reverb(tf.zeros([2, 100]))


class TestFIRFilter:

  def test_constant_magnitudes_equal_a_static_filter(self, rng):
    audio = rng.normal(size=[2, 640]).astype(np.float32)
    raw = rng.normal(size=[2, 17]).astype(np.float32)
    fir = effects.FIRFilter(window_size=33)
    out = fir(audio, np.repeat(raw[:, np.newaxis], 10, axis=1)).numpy()
    # Reference: the same linear-phase filter designed once per example and
    # applied by scipy.
    ir = core.frequency_impulse_response(_exp_sigmoid(raw), 33).numpy()
    expected = np.stack([scipy.signal.fftconvolve(a, h, mode='same')
                         for a, h in zip(audio, ir)])
    np.testing.assert_allclose(out, expected, atol=1e-5)

  def test_flat_magnitudes_scale_the_input(self, rng):
    audio = rng.normal(size=[2, 640]).astype(np.float32)
    fir = effects.FIRFilter(window_size=0, scale_fn=None)
    out = fir(audio, 0.5 * np.ones([2, 10, 33], np.float32)).numpy()
    np.testing.assert_allclose(out, 0.5 * audio, atol=1e-5)

  def test_time_varying_low_then_high_pass(self):
    n_samples, n_frames = 8000, 20
    time = np.arange(n_samples) / 16000
    audio = (np.sin(2 * np.pi * 500 * time) + np.sin(2 * np.pi * 6000 * time))
    audio = audio[np.newaxis].astype(np.float32)
    bands = np.linspace(0, 8000, 65)
    low, high = (bands < 3000).astype(np.float32), (bands > 3000).astype(
        np.float32)
    mags = np.stack([low] * 10 + [high] * 10)[np.newaxis]
    out = effects.FIRFilter(scale_fn=None)(audio, mags).numpy()[0]
    first, second = out[500:3500], out[4500:7500]
    for part, kept_hz in ((first, 500), (second, 6000)):
      reference = np.sin(2 * np.pi * kept_hz * time)[:3000]
      spectrum = np.abs(np.fft.rfft(part * np.hanning(3000)))
      ref_spectrum = np.abs(np.fft.rfft(reference * np.hanning(3000)))
      freqs = np.fft.rfftfreq(3000, 1 / 16000)
      peak = freqs[np.argmax(spectrum)]
      assert abs(peak - kept_hz) < 10
      np.testing.assert_allclose(spectrum.max(), ref_spectrum.max(), rtol=0.02)

  def test_gradients_and_config(self, rng):
    audio = rng.normal(size=[2, 640]).astype(np.float32)
    mags = rng.normal(size=[2, 10, 17]).astype(np.float32)
    fir = effects.FIRFilter(window_size=33, method='block')
    (grads, _) = _grads(fir, [audio, mags])
    _assert_useful(grads)
    clone = _round_trip(fir)
    assert clone.method == 'block'
    np.testing.assert_array_equal(clone(audio, mags).numpy(),
                                  fir(audio, mags).numpy())

  def test_errors(self):
    fir = effects.FIRFilter()
    with pytest.raises(ValueError, match=r'`magnitudes` must have rank 3'):
      fir(tf.zeros([2, 640]), tf.zeros([2, 17]))
    with pytest.raises(ValueError, match=r'batch axis'):
      fir(tf.zeros([2, 640]), tf.zeros([3, 10, 17]))
    with pytest.raises(ValueError, match=r'`method` must be one of'):
      effects.FIRFilter(method='ola')


class TestModDelay:

  def test_zero_depth_is_a_fixed_delay(self, rng):
    audio = rng.normal(size=[2, 1000]).astype(np.float32)
    gain = np.full([2, 1000, 1], 0.7, np.float32)
    phase = rng.normal(size=[2, 1000, 1]).astype(np.float32)
    center_ms = 10.03  # 160.48 samples at 16 kHz.
    for add_dry in (True, False):
      delay = effects.ModDelay(center_ms=center_ms, depth_ms=0.0,
                               gain_scale_fn=None, add_dry=add_dry)
      out = delay(audio, gain, phase).numpy()
      expected = 0.7 * _np_delay(audio, np.full([2, 1000], 160.48))
      if add_dry:
        expected += audio
      np.testing.assert_allclose(out, expected, atol=1e-4)

  def test_modulated_delay_matches_numpy(self, rng):
    n_samples = 2000
    audio = rng.normal(size=[1, n_samples]).astype(np.float32)
    phase = 0.5 + 0.5 * np.sin(2 * np.pi * np.arange(n_samples) / 700)
    phase = phase[np.newaxis, :, np.newaxis].astype(np.float32)
    delay = effects.ModDelay(center_ms=5.0, depth_ms=3.0, sample_rate=16000,
                             gain_scale_fn=None, phase_scale_fn=None,
                             add_dry=False)
    out = delay(audio, np.ones_like(phase), phase).numpy()
    delay_samples = (5.0 + 3.0 * (2.0 * phase[..., 0] - 1.0)) * 16
    np.testing.assert_allclose(out, _np_delay(audio, delay_samples),
                               atol=1e-4)

  def test_frame_rate_controls_are_resampled(self, rng):
    audio = rng.normal(size=[2, 800]).astype(np.float32)
    delay = effects.ModDelay(sample_rate=16000)
    at_frames = delay(audio, np.zeros([2, 10, 1], np.float32),
                      np.ones([2, 10, 1], np.float32)).numpy()
    at_samples = delay(audio, np.zeros([2, 800, 1], np.float32),
                       np.ones([2, 800], np.float32)).numpy()
    np.testing.assert_allclose(at_frames, at_samples, atol=1e-6)

  def test_gradients_and_config(self, rng):
    audio = rng.normal(size=[2, 600]).astype(np.float32)
    gain = rng.normal(size=[2, 600, 1]).astype(np.float32)
    phase = rng.normal(size=[2, 600, 1]).astype(np.float32)
    delay = effects.ModDelay(center_ms=10.0, depth_ms=5.0, sample_rate=16000)
    (grads, _) = _grads(delay, [audio, gain, phase])
    _assert_useful(grads)
    clone = _round_trip(delay)
    np.testing.assert_array_equal(clone(audio, gain, phase).numpy(),
                                  delay(audio, gain, phase).numpy())

  def test_errors(self):
    with pytest.raises(ValueError, match=r'`depth_ms` must be a number in '
                       r'\[0.0, inf\]'):
      effects.ModDelay(depth_ms=-1.0)
    with pytest.raises(ValueError, match=r'`sample_rate` must be a positive'):
      effects.ModDelay(sample_rate=0)
    with pytest.raises(ValueError, match=r'`gain` must have shape \[batch, '
                       r'n_samples, 1\]'):
      effects.ModDelay()(tf.zeros([2, 100]), tf.zeros([2, 100, 2]),
                         tf.zeros([2, 100, 1]))
    with pytest.raises(ValueError, match=r'batch axis'):
      effects.ModDelay()(tf.zeros([2, 100]), tf.zeros([3, 100, 1]),
                         tf.zeros([2, 100, 1]))


# ------------------------------------------------------------------------------
# Bad inputs: non-finite values, multichannel audio, empty audio.
# ------------------------------------------------------------------------------
def _with_nan(shape, index):
  x = np.zeros(shape, np.float32)
  x[index] = np.nan
  return x


@pytest.mark.parametrize('call, name', [
    (lambda: effects.Reverb()(_with_nan([2, 100], (1, 5)), np.ones([2, 8])),
     'audio'),
    (lambda: effects.Reverb()(np.ones([2, 100]), _with_nan([2, 8], (0, 3))),
     'ir'),
    (lambda: effects.ExpDecayReverb(reverb_length=16)(
        np.ones([2, 100]), _with_nan([2, 1], (1, 0)), np.zeros([2, 1])),
     'gain'),
    (lambda: effects.FilteredNoiseReverb(reverb_length=80, n_frames=10,
                                         n_filter_banks=8)(
        np.ones([2, 100]), _with_nan([2, 10, 8], (0, 1, 2))), 'magnitudes'),
    (lambda: effects.FIRFilter(window_size=33)(
        np.ones([2, 640]), _with_nan([2, 10, 17], (1, 1, 1))), 'magnitudes'),
    # Today: a raw GatherV2 error from the delay line.
    (lambda: effects.ModDelay()(np.ones([2, 100]), np.zeros([2, 100, 1]),
                                _with_nan([2, 100, 1], (0, 50, 0))), 'phase'),
], ids=['reverb-audio', 'reverb-ir', 'exp-decay-gain', 'noise-reverb',
        'fir', 'mod-delay'])
def test_non_finite_inputs_raise_naming_the_argument(call, name):
  with pytest.raises(ValueError, match=rf'`{name}` must be finite'):
    call()


def test_stereo_and_empty_audio_are_refused():
  stereo = np.zeros([16000, 2], np.float32)  # What soundfile.read returns.
  with pytest.raises(ValueError, match=r'`audio` must be \[batch, n_samples\]'
                     r'.*a last axis of 2 looks like the channels.*Make it '
                     r'mono first, e.g. `audio.mean\(axis=-1\)`'):
    effects.Reverb()(stereo, np.ones([1, 8], np.float32))
  with pytest.raises(ValueError, match='Make it mono first'):
    effects.FIRFilter()(stereo, np.zeros([1, 10, 17], np.float32))
  # Today: a complaint about `frame_size`, which the user never passed.
  with pytest.raises(ValueError, match=r'`audio` must have at least one '
                     r'sample. Received: audio.shape=\(2, 0\)'):
    effects.Reverb()(np.zeros([2, 0], np.float32), np.ones([2, 8], np.float32))
  with pytest.raises(ValueError, match=r'`ir` must have at least one tap'):
    effects.Reverb()(np.ones([2, 10], np.float32), np.ones([2, 0], np.float32))


def test_controls_with_a_batch_of_one_broadcast(rng):
  audio = rng.normal(size=[3, 640]).astype(np.float32)
  mags = rng.normal(size=[1, 10, 17]).astype(np.float32)
  fir = effects.FIRFilter(window_size=33)
  np.testing.assert_allclose(fir(audio, mags), fir(audio, np.repeat(mags, 3, 0)),
                             atol=1e-6)
  delay = effects.ModDelay()
  gain, phase = (rng.normal(size=[1, 640, 1]).astype(np.float32)
                 for _ in range(2))
  np.testing.assert_allclose(
      delay(audio, gain, phase),
      delay(audio, np.repeat(gain, 3, 0), np.repeat(phase, 3, 0)), atol=1e-6)
  np.testing.assert_allclose(
      delay(audio[:1], np.repeat(gain, 3, 0), np.repeat(phase, 3, 0)),
      delay(np.repeat(audio[:1], 3, 0), np.repeat(gain, 3, 0),
            np.repeat(phase, 3, 0)), atol=1e-6)
