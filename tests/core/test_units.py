"""Tests for ddsp.core.units against librosa, scipy and analytic values."""

import librosa
import numpy as np
import pytest
import scipy.special
import tensorflow as tf

from ddsp.core import units


def _grad(fn, x):
  x = tf.constant(x, tf.float32)
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = tf.reduce_sum(fn(x))
  return tape.gradient(y, x).numpy()


@pytest.fixture
def power(rng):
  """A power spectrogram-like array spanning ~120 dB, with exact zeros."""
  p = 10.0**rng.uniform(-12.0, 0.0, size=(3, 40, 33))
  p[0, 0, :5] = 0.0
  return p.astype(np.float32)


# ------------------------------------------------------------------------------
# Decibels.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('use_tf', [True, False])
@pytest.mark.parametrize('range_db', [80.0, 40.0])
def test_power_to_db_equals_librosa_top_db_with_ref_1(power, use_tf,
                                                      range_db):
  # librosa's top_db floors relative to the peak: the peak must be the ref.
  power = power / power.max()
  out = np.asarray(units.power_to_db(power, range_db=range_db, use_tf=use_tf))
  expected = librosa.power_to_db(power, ref=1.0, top_db=range_db)
  np.testing.assert_allclose(out, expected, atol=2e-4)
  assert out.min() == pytest.approx(-range_db)


@pytest.mark.parametrize('use_tf', [True, False])
@pytest.mark.parametrize('ref_db', [-17.0, 6.0])
def test_power_to_db_equals_librosa_with_ref_db(power, use_tf, ref_db):
  ref = 10.0**(ref_db / 10.0)
  # Peak at the reference: identical to librosa with top_db.
  peaked = power / power.max() * ref
  out = np.asarray(units.power_to_db(peaked, ref_db=ref_db, use_tf=use_tf))
  expected = librosa.power_to_db(peaked, ref=ref, top_db=80.0)
  np.testing.assert_allclose(out, expected, atol=2e-4)
  # Any other level: librosa without top_db, floored at -range_db.
  out = np.asarray(units.power_to_db(power, ref_db=ref_db, use_tf=use_tf))
  expected = np.maximum(
      librosa.power_to_db(power, ref=ref, amin=1e-30, top_db=None), -80.0)
  np.testing.assert_allclose(out, expected, atol=2e-4)


@pytest.mark.parametrize('use_tf', [True, False])
@pytest.mark.parametrize('ref_db', [0.0, -10.0])
def test_amplitude_to_db_equals_librosa(power, use_tf, ref_db):
  amplitude = np.sqrt(power / power.max()) * 10.0**(ref_db / 20.0)
  amplitude[1] *= -1.0  # Signs do not matter.
  out = np.asarray(units.amplitude_to_db(amplitude, ref_db=ref_db,
                                         use_tf=use_tf))
  expected = librosa.amplitude_to_db(amplitude, ref=10.0**(ref_db / 20.0),
                                     top_db=80.0)
  np.testing.assert_allclose(out, expected, atol=2e-4)


def test_db_paths_agree_and_types(power):
  out_tf = units.power_to_db(power, ref_db=3.0, range_db=70.0)
  out_np = units.power_to_db(power, ref_db=3.0, range_db=70.0, use_tf=False)
  assert isinstance(out_tf, tf.Tensor) and out_tf.dtype == tf.float32
  assert isinstance(out_np, np.ndarray)
  np.testing.assert_allclose(out_tf.numpy(), out_np, atol=2e-4)


def test_power_to_db_without_range(power):
  out = units.power_to_db(power, range_db=None).numpy()
  nonzero = power > 0
  np.testing.assert_allclose(out[nonzero], 10 * np.log10(power[nonzero]),
                             atol=2e-4)
  assert np.all(np.isfinite(out))
  assert out.min() < -300.0  # Zeros go to the float32 limit, not -80.


def test_power_to_db_gradient():
  p = np.array([1.0, 1e-3, 1e-9, 0.0], np.float32)
  grad = _grad(units.power_to_db, p)
  # d/dp 10 log10(p) = 10 / (p ln 10) above the -80 dB floor, 0 below.
  np.testing.assert_allclose(grad[:2], 10.0 / (p[:2] * np.log(10.0)),
                             rtol=1e-5)
  np.testing.assert_array_equal(grad[2:], [0.0, 0.0])
  grad = _grad(units.amplitude_to_db, np.array([0.5, 0.0], np.float32))
  np.testing.assert_allclose(grad, [20.0 / (0.5 * np.log(10.0)), 0.0],
                             rtol=1e-5)


def test_power_to_db_bad_range_raises():
  with pytest.raises(ValueError, match=r'`range_db` must be a positive '
                     r'number. Received: range_db=-80.0'):
    units.power_to_db(1.0, range_db=-80.0)


def test_db_to_power_and_amplitude(rng):
  db = rng.uniform(-100.0, 20.0, size=50).astype(np.float32)
  np.testing.assert_allclose(units.db_to_power(db).numpy(),
                             librosa.db_to_power(db), rtol=1e-5)
  np.testing.assert_allclose(units.db_to_amplitude(db).numpy(),
                             librosa.db_to_amplitude(db), rtol=1e-5)
  # Inverses of the dB conversions (within the range).
  np.testing.assert_allclose(
      units.power_to_db(units.db_to_power(db), range_db=120.0).numpy(), db,
      atol=1e-3)
  np.testing.assert_allclose(
      units.amplitude_to_db(units.db_to_amplitude(db),
                            range_db=120.0).numpy(), db, atol=1e-3)
  np.testing.assert_allclose(
      _grad(units.db_to_amplitude, [0.0]), [np.log(10.0) / 20.0], rtol=1e-6)


# ------------------------------------------------------------------------------
# Pitch.
# ------------------------------------------------------------------------------
def test_midi_to_hz_matches_librosa():
  notes = np.linspace(0.0, 127.0, 255).astype(np.float32)
  np.testing.assert_allclose(units.midi_to_hz(notes).numpy(),
                             librosa.midi_to_hz(notes), rtol=1e-5)
  assert float(units.midi_to_hz(69.0)) == 440.0
  assert float(units.midi_to_hz(57.0)) == pytest.approx(220.0)


def test_midi_to_hz_zero_silence():
  notes = np.array([0.0, 60.0, 0.0], np.float32)
  out = units.midi_to_hz(notes, midi_zero_silence=True).numpy()
  np.testing.assert_allclose(out, [0.0, librosa.midi_to_hz(60.0), 0.0],
                             rtol=1e-6)
  assert float(units.midi_to_hz(0.0)) == pytest.approx(8.1758, rel=1e-4)


def test_hz_to_midi_numpy_path_matches_librosa_in_float64():
  hz = np.geomspace(8.0, 16000.0, 200)
  midi = units.hz_to_midi(hz, use_tf=False)
  assert isinstance(midi, np.ndarray) and midi.dtype == np.float64
  np.testing.assert_allclose(midi, librosa.hz_to_midi(hz), rtol=1e-12)
  np.testing.assert_array_equal(
      units.hz_to_midi([[0.0, -3.0, np.nan]], use_tf=False), [[0.0, 0.0, 0.0]])
  np.testing.assert_allclose(units.hz_to_midi(hz, use_tf=False),
                             units.hz_to_midi(hz).numpy(), atol=1e-4)


def test_hz_to_midi_matches_librosa_and_maps_silence_to_zero():
  hz = np.geomspace(8.0, 20000.0, 100).astype(np.float32)
  np.testing.assert_allclose(units.hz_to_midi(hz).numpy(),
                             librosa.hz_to_midi(hz), rtol=1e-5, atol=1e-4)
  np.testing.assert_array_equal(units.hz_to_midi([0.0, -5.0]).numpy(),
                                [0.0, 0.0])
  grad = _grad(units.hz_to_midi, [0.0, 440.0])
  np.testing.assert_allclose(grad, [0.0, 12.0 / (440.0 * np.log(2.0))],
                             rtol=1e-5)


def test_hz_midi_round_trip(rng):
  notes = rng.uniform(1.0, 127.0, size=(2, 10, 1)).astype(np.float32)
  np.testing.assert_allclose(
      units.hz_to_midi(units.midi_to_hz(notes)).numpy(), notes, atol=1e-4)


def test_unit_midi_maps():
  u = np.array([-0.5, 0.0, 0.5, 1.0, 1.5], np.float32)
  np.testing.assert_allclose(units.unit_to_midi(u).numpy(),
                             20.0 + 70.0 * u, rtol=1e-6)
  np.testing.assert_allclose(units.unit_to_midi(u, clip=True).numpy(),
                             [20.0, 20.0, 55.0, 90.0, 90.0])
  np.testing.assert_allclose(
      units.unit_to_midi(u, midi_min=0.0, midi_max=127.0).numpy(), 127.0 * u)
  midi = np.array([10.0, 20.0, 55.0, 90.0, 100.0], np.float32)
  np.testing.assert_allclose(units.midi_to_unit(midi).numpy(),
                             (midi - 20.0) / 70.0, rtol=1e-6)
  np.testing.assert_allclose(units.midi_to_unit(midi, clip=True).numpy(),
                             [0.0, 0.0, 0.5, 1.0, 1.0], rtol=1e-6)
  np.testing.assert_allclose(_grad(units.unit_to_midi, [0.3]), [70.0])


def test_unit_hz_maps():
  # Defaults: the default MIDI range 20 .. 90 in Hz.
  np.testing.assert_allclose(units.unit_to_hz([0.0, 1.0]).numpy(),
                             librosa.midi_to_hz([20.0, 90.0]), rtol=1e-5)
  u = np.linspace(0.0, 1.0, 11).astype(np.float32)
  # Log spacing: a geometric sequence from hz_min to hz_max.
  np.testing.assert_allclose(
      units.unit_to_hz(u, hz_min=20.0, hz_max=8000.0).numpy(),
      np.geomspace(20.0, 8000.0, 11), rtol=1e-4)
  hz = np.geomspace(20.0, 8000.0, 11).astype(np.float32)
  np.testing.assert_allclose(
      units.hz_to_unit(hz, hz_min=20.0, hz_max=8000.0).numpy(), u, atol=1e-5)
  np.testing.assert_allclose(
      units.hz_to_unit([10.0, 9000.0], hz_min=20.0, hz_max=8000.0,
                       clip=True).numpy(), [0.0, 1.0])
  np.testing.assert_allclose(
      units.unit_to_hz([2.0], hz_min=20.0, hz_max=8000.0, clip=True).numpy(),
      [8000.0], rtol=1e-5)


# ------------------------------------------------------------------------------
# Psychoacoustic scales.
# ------------------------------------------------------------------------------
def test_mel_matches_librosa_htk():
  hz = np.linspace(0.0, 22050.0, 200).astype(np.float32)
  np.testing.assert_allclose(units.hz_to_mel(hz).numpy(),
                             librosa.hz_to_mel(hz, htk=True), rtol=1e-5,
                             atol=1e-3)
  mel = np.linspace(0.0, 4000.0, 200).astype(np.float32)
  np.testing.assert_allclose(units.mel_to_hz(mel).numpy(),
                             librosa.mel_to_hz(mel, htk=True), rtol=1e-5,
                             atol=1e-3)
  # 1000 Hz is 1000 mel by construction of the scale.
  assert float(units.hz_to_mel(1000.0)) == pytest.approx(1000.0, abs=0.1)


def test_bark():
  hz = np.array([100.0, 1000.0, 1960.0, 4000.0], np.float32)
  # Traunmueller (1990): z = 26.81 f / (1960 + f) - 0.53.
  np.testing.assert_allclose(units.hz_to_bark(hz).numpy(),
                             26.81 * hz / (1960.0 + hz) - 0.53, rtol=1e-6)
  # 1 kHz is about 8.5 bark on Zwicker's critical band scale.
  assert float(units.hz_to_bark(1000.0)) == pytest.approx(8.5, abs=0.1)
  hz = np.geomspace(20.0, 16000.0, 50).astype(np.float32)
  np.testing.assert_allclose(units.bark_to_hz(units.hz_to_bark(hz)).numpy(),
                             hz, rtol=1e-4)
  assert np.all(np.diff(units.hz_to_bark(hz).numpy()) > 0)


def test_erb_matches_glasberg_moore():
  hz = np.linspace(50.0, 10000.0, 20).astype(np.float32)
  # Glasberg & Moore (1990): ERB = 24.7 (4.37 f / 1000 + 1).
  np.testing.assert_allclose(units.hz_to_erb(hz).numpy(),
                             24.7 * (4.37 * hz / 1000.0 + 1.0), rtol=1e-3)


# ------------------------------------------------------------------------------
# Scale functions.
# ------------------------------------------------------------------------------
def _exp_sigmoid_np(x, exponent=10.0, max_value=2.0, threshold=1e-7):
  return max_value * scipy.special.expit(x)**np.log(exponent) + threshold


def test_exp_sigmoid_matches_formula():
  x = np.linspace(-10.0, 10.0, 101).astype(np.float32)
  np.testing.assert_allclose(units.exp_sigmoid(x).numpy(),
                             _exp_sigmoid_np(x), rtol=1e-5, atol=1e-9)
  np.testing.assert_allclose(
      units.exp_sigmoid(x, exponent=2.0, max_value=1.0,
                        threshold=0.01).numpy(),
      _exp_sigmoid_np(x, 2.0, 1.0, 0.01), rtol=1e-5)


def test_exp_sigmoid_range_rise_and_gradient():
  out = units.exp_sigmoid([-1000.0, 0.0, 1000.0]).numpy()
  np.testing.assert_allclose(out, [1e-7, 2.0 * 0.5**np.log(10.0), 2.0],
                             rtol=1e-5)
  # For x << 0 the output rises by a factor of `exponent` per unit of x.
  a, b = units.exp_sigmoid([-6.0, -5.0], threshold=0.0).numpy()
  assert b / a == pytest.approx(10.0, rel=0.02)
  grad = _grad(units.exp_sigmoid, [-200.0, -5.0, 0.0, 5.0])
  assert np.all(np.isfinite(grad))
  assert np.all(grad[1:] > 0.0)


def test_sym_exp_sigmoid():
  x = np.linspace(-5.0, 5.0, 41).astype(np.float32)
  out = units.sym_exp_sigmoid(x).numpy()
  np.testing.assert_allclose(out, _exp_sigmoid_np(8.0 * (np.abs(x) / 2 - 1)),
                             rtol=1e-5, atol=1e-9)
  np.testing.assert_allclose(out, out[::-1], rtol=1e-6)
  assert np.argmin(out) == 20  # Minimum at x = 0.
  np.testing.assert_allclose(units.sym_exp_sigmoid(2.0).numpy(),
                             units.exp_sigmoid(0.0).numpy(), rtol=1e-6)


def test_frequencies_softmax_selects_log_spaced_bins():
  depth, hz_min, hz_max = 5, 20.0, 8000.0
  logits = np.full([1, 2, 3, depth], -50.0, np.float32)
  # Sinusoid i picks bin 2 * i.
  for i in range(3):
    logits[:, :, i, 2 * i] = 50.0
  bins = np.geomspace(hz_min, hz_max, depth)
  out = units.frequencies_softmax(logits).numpy()
  assert out.shape == (1, 2, 3)
  np.testing.assert_allclose(out[0, 0], bins[[0, 2, 4]], rtol=1e-4)
  # Rank 3 with sinusoids' bins adjacent is the same.
  flat = logits.reshape([1, 2, 3 * depth])
  np.testing.assert_allclose(
      units.frequencies_softmax(flat, depth=depth).numpy(), out, rtol=1e-6)
  # Uniform logits: the mean bin position, the geometric middle.
  np.testing.assert_allclose(
      units.frequencies_softmax(np.zeros([1, 1, 8]), depth=8).numpy(),
      np.full([1, 1, 1], np.sqrt(hz_min * hz_max)), rtol=1e-4)


def test_frequencies_sigmoid():
  x = np.linspace(-4.0, 4.0, 9).astype(np.float32).reshape([1, 1, 9])
  out = units.frequencies_sigmoid(x, hz_min=100.0, hz_max=4000.0).numpy()
  expected = 100.0 * (4000.0 / 100.0)**scipy.special.expit(x)
  np.testing.assert_allclose(out, expected, rtol=1e-4)
  # Default range: 0 Hz counts as MIDI 0 (8.18 Hz), top at hz_max.
  ends = units.frequencies_sigmoid(
      np.array([[[-50.0], [50.0]]], np.float32)).numpy()
  np.testing.assert_allclose(ends.ravel(), [librosa.midi_to_hz(0.0), 8000.0],
                             rtol=1e-4)
  # Depth 2: all logits high reaches hz_max; all low the sum of the floors.
  for depth in (2, 3):
    high = units.frequencies_sigmoid(np.full([1, 1, 2 * depth], 50.0),
                                     depth=depth, hz_min=50.0).numpy()
    np.testing.assert_allclose(high, np.full([1, 1, 2], 8000.0), rtol=1e-4)
    low = units.frequencies_sigmoid(np.full([1, 1, depth], -50.0),
                                    depth=depth, hz_min=50.0).numpy()
    np.testing.assert_allclose(
        low.ravel(), [50.0 + (depth - 1) * librosa.midi_to_hz(0.0)],
        rtol=1e-4)


def test_frequencies_critical_bands():
  n, hz_min, hz_max = 16, 20.0, 8000.0

  def bark(f):
    return 26.81 * f / (1960.0 + f) - 0.53

  # Centres evenly spaced in bark, computed by inverting bark numerically.
  grid = np.geomspace(hz_min, hz_max, 200001)
  centres = np.interp(np.linspace(bark(hz_min), bark(hz_max), n), bark(grid),
                      grid)
  out = units.frequencies_critical_bands(np.zeros([2, 3, n])).numpy()
  assert out.shape == (2, 3, n)
  # Away from the range edges the soft limit does not move the centres.
  np.testing.assert_allclose(out[0, 0, 1:-1], centres[1:-1], rtol=1e-3)
  # Offsets reach one ERB (bandwidth_scale=1) up or down.
  erb = 0.108 * centres + 24.7
  mid = slice(2, -2)
  up = units.frequencies_critical_bands(np.full([1, 1, n], 20.0)).numpy()
  down = units.frequencies_critical_bands(np.full([1, 1, n], -20.0)).numpy()
  np.testing.assert_allclose(up[0, 0, mid], (centres + erb)[mid], rtol=1e-3)
  np.testing.assert_allclose(down[0, 0, mid], (centres - erb)[mid], rtol=1e-3)
  assert up.max() <= hz_max and down.min() >= hz_min
  # Deeper components move by depth_scale times less.
  x = np.zeros([1, 1, n, 2], np.float32)
  x[..., 1] = 20.0
  fine = units.frequencies_critical_bands(x, depth_scale=10.0).numpy()
  np.testing.assert_allclose(fine[0, 0, mid], (centres + 0.1 * erb)[mid],
                             rtol=1e-3)
  mel = units.frequencies_critical_bands(np.zeros([1, 1, n]),
                                         scale='mel').numpy()
  mel_centres = librosa.mel_frequencies(n, fmin=hz_min, fmax=hz_max, htk=True)
  np.testing.assert_allclose(mel[0, 0, 1:-1], mel_centres[1:-1], rtol=1e-3)


@pytest.mark.parametrize('fn', [units.frequencies_softmax,
                                units.frequencies_sigmoid,
                                units.frequencies_critical_bands])
def test_frequency_scales_gradients(fn, rng):
  x = rng.normal(size=(2, 4, 12)).astype(np.float32)
  grad = _grad(lambda v: fn(v, depth=3), x)
  assert np.all(np.isfinite(grad)) and np.any(np.abs(grad) > 0)


@pytest.mark.parametrize('fn', [units.frequencies_softmax,
                                units.frequencies_sigmoid,
                                units.frequencies_critical_bands])
def test_frequency_scales_bad_input_raises(fn):
  with pytest.raises(ValueError, match=r'`freqs` must have a last axis of '
                     r'n_sinusoids \* depth.*\(1, 2, 7\) with depth=2'):
    fn(np.zeros([1, 2, 7]), depth=2)
  with pytest.raises(ValueError, match=r'`freqs` must have rank 3 or 4. '
                     r'Received: freqs.shape=\(2, 7\)'):
    fn(np.zeros([2, 7]))


def test_frequencies_critical_bands_bad_scale_raises():
  with pytest.raises(ValueError, match=r"`scale` must be one of \['bark', "
                     r"'mel'\]. Received: scale='erb'"):
    units.frequencies_critical_bands(np.zeros([1, 2, 4]), scale='erb')


def test_unit_midi_maps_keep_float64():
  # As published: float64 input is mapped in float64 (exact to ~1e-15),
  # other input in float32.
  u = np.linspace(-1.0, 2.0, 1001)
  out = units.unit_to_midi(u)
  assert out.dtype == tf.float64
  np.testing.assert_allclose(out.numpy(), 20.0 + 70.0 * u, rtol=1e-13)
  midi = np.linspace(0.0, 127.0, 1001)
  back = units.midi_to_unit(midi, clip=True)
  assert back.dtype == tf.float64
  np.testing.assert_allclose(back.numpy(), np.clip((midi - 20.0) / 70.0, 0, 1),
                             rtol=1e-13)
  assert units.unit_to_midi(u.astype(np.float32)).dtype == tf.float32
  assert units.unit_to_midi([0.5]).dtype == tf.float32
  v = tf.Variable(tf.constant([0.25], tf.float64))
  with tf.GradientTape() as tape:
    y = units.unit_to_midi(v, midi_min=0.0, midi_max=127.0)
  np.testing.assert_allclose(tape.gradient(y, v).numpy(), [127.0])
  # unit_to_hz maps through unit_to_midi with float32 MIDI bounds.
  np.testing.assert_allclose(
      units.unit_to_hz(np.linspace(0.0, 1.0, 5), 20.0, 1000.0).numpy(),
      np.geomspace(20.0, 1000.0, 5), rtol=1e-5)


def test_frequencies_sigmoid_never_exceeds_hz_max():
  # Saturated logits: float32 sums of the shares must not round above hz_max.
  x = np.random.default_rng(0).normal(scale=30.0, size=[4, 50, 8, 3])
  for depth in (1, 3):
    f = units.frequencies_sigmoid(x[..., :depth].astype(np.float32),
                                  depth=depth, hz_min=0.0, hz_max=8000.0)
    f = f.numpy()
    assert f.max() <= 8000.0 and f.max() > 7999.0 and f.min() >= 0.0
