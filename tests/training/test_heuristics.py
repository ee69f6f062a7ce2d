"""Tests for ddsp.training.heuristics: synthetic controls with known notes."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp import core
from ddsp.training import heuristics

RATE = 250


def _hz(midi):
  return 440.0 * 2.0 ** ((np.asarray(midi, np.float64) - 69.0) / 12.0)


def _controls(batch=False):
  """Silence, MIDI 60 and 64 legato, an amplitude dip, 67, silence."""
  midi = np.zeros(400)
  amps = np.full(400, 1e-4)
  midi[25:125], midi[125:235], midi[235:335] = 60.0, 64.0, 67.0
  # Amplitudes that vary a little, as a model's do (a constant amplitude
  # has zero deviation and is never above its own mean).
  rng = np.random.default_rng(0)
  amps[25:225], amps[235:335] = 1.0, 0.8
  amps *= rng.uniform(0.9, 1.1, 400)
  # Vibrato of +-20 cents does not split notes.
  midi[midi > 0] += 0.2 * np.sin(np.arange(400) * 0.3)[midi > 0]
  f0_hz = np.where(midi > 0, _hz(midi), 0.0)
  controls = {'f0_hz': f0_hz[:, np.newaxis],
              'harmonic': {'controls': {'amplitudes': amps[:, np.newaxis]}}}
  if batch:
    controls = tf.nest.map_structure(
        lambda x: tf.constant(np.stack([x, x[::-1]]), tf.float32), controls)
  return controls


# Onsets from silence are boundaries too (f0 jumps from MIDI 0): notes start
# one frame after the f0 does.
EXPECTED = [(60, 26, 125), (64, 126, 225), (67, 236, 335)]


def _notes(seq):
  return [(n.pitch, round(n.start_time * RATE), round(n.end_time * RATE))
          for n in seq.notes]


def test_midi_heuristic_segments_known_notes():
  seq = heuristics.segment_notes(heuristics.midi_heuristic,
                                 heuristics.mean_f0, heuristics.median_amps,
                                 _controls(), frame_rate=RATE)
  # The legato change at frame 125 is a one-frame boundary.
  assert _notes(seq) == EXPECTED
  assert seq.total_time == pytest.approx(400 / RATE)
  assert all(n.velocity == 127 for n in seq.notes)


def test_segment_notes_batch_unbatches_and_uses_gin():
  notes = heuristics.segment_notes_batch(controls_batch=_controls(True),
                                         frame_rate=RATE)
  assert len(notes) == 2
  assert _notes(notes[0]) == EXPECTED
  # The reversed example: same pitches, reversed order, mirrored times.
  assert [n[0] for n in _notes(notes[1])] == [67, 64, 60]
  with gin.unlock_config():
    gin.parse_config('segment_notes_batch.binarize_f = '
                     '@heuristics.strided_freq_change')
  try:
    notes = heuristics.segment_notes_batch(controls_batch=_controls(True),
                                           frame_rate=RATE)
  finally:
    gin.clear_config()
  # Without the amplitude dip, 64 runs on to 235 (one boundary frame).
  assert _notes(notes[0]) == [(60, 26, 125), (64, 126, 235), (67, 236, 335)]


def test_pick_functions():
  controls = {'f0_hz': np.array([[100.0], [200.0], [600.0], [0.0]]),
              'harmonic': {'controls': {
                  'amplitudes': np.array([[0.1], [0.3], [0.2], [9.0]])}}}
  assert heuristics.mean_f0(controls, 0, 3) == pytest.approx(300.0)
  assert heuristics.median_f0(controls, 0, 3) == pytest.approx(200.0)
  assert heuristics.median_amps(controls, 0, 3) == pytest.approx(0.2)


def test_power_heuristic_on_audio():
  sr, hop = 16000, 64
  pitches, gaps = [60, 65, 62], 12  # 48 ms rests between 0.4 s notes.
  audio, midi = [], []
  for pitch in pitches:
    n = 100 * hop
    t = np.arange(n) / sr
    audio += [0.5 * np.sin(2 * np.pi * _hz(pitch) * t), np.zeros(gaps * hop)]
    midi += [np.full(100, float(pitch)), np.zeros(gaps)]
  audio, midi = np.concatenate(audio), np.concatenate(midi)
  n_frames = audio.size // hop  # 'same' framing.
  controls = {'audio': audio, 'f0_hz': np.where(midi > 0, _hz(midi), 0.0)}
  assert controls['f0_hz'].size == n_frames
  seq = heuristics.segment_notes(heuristics.midi_heuristic_power,
                                 heuristics.mean_f0, lambda *a, **k: 0.0,
                                 controls, frame_rate=RATE)
  got = _notes(seq)
  assert [n[0] for n in got] == pitches
  for (_, start, stop), k in zip(got, range(3)):
    assert abs(start - k * 112) <= 2 and abs(stop - (k * 112 + 100)) <= 2


def test_strided_freq_change_against_loop():
  rng = np.random.default_rng(0)
  midi = np.repeat(rng.integers(50, 80, 12), rng.integers(3, 40, 12))
  f0 = _hz(midi + rng.normal(0, 0.1, midi.size))
  f0[:5] = 0.0
  got = heuristics.strided_freq_change({'f0_hz': f0})
  # Direct loop over the definition.
  f0_midi = core.hz_to_midi(f0, use_tf=False)
  expected = np.ones(f0.size, bool)
  for w in (2, 4, 8, 16, 32):
    new = expected.copy()
    for t in range(f0.size):
      lo = max(t - w + 1, 0)
      window = expected[lo:t + 1]
      if abs(f0_midi[lo] - f0_midi[t]) > 0.75 and window.all():
        new[t] = False
    expected = new
  np.testing.assert_array_equal(got, expected & (f0 > 0))


def test_remove_short_and_active_indices():
  on = np.array([0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1], bool)
  np.testing.assert_array_equal(
      heuristics.remove_short(on, 2).astype(int),
      [0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0])
  np.testing.assert_array_equal(
      heuristics.remove_short(on, 3, glue_back=True).astype(int),
      [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
  assert on.sum() == 7  # The input is not modified.
  roll = np.zeros([6, 2]); roll[1:4, 0] = 1; roll[3:6, 1] = 1
  np.testing.assert_array_equal(heuristics.get_active_frame_indices(roll),
                                [[0, 0], [1, 0], [2, 0], [3, 1], [0, 2],
                                 [0, 3]])


def test_amp_pooled_outliers_against_numpy():
  rng = np.random.default_rng(1)
  amps = rng.uniform(0.1, 1.0, 50)
  amps[20] = 1e-3
  got = heuristics.amp_pooled_outliers(
      {'harmonic': {'controls': {'amplitudes': amps}}}, frame_width=15)
  log = np.log(amps)
  padded = np.concatenate([np.full(7, log[0]), log, np.full(7, log[-1])])
  expected = [padded[i:i + 15].mean() - 2 * padded[i:i + 15].std() < log[i]
              for i in range(50)]
  np.testing.assert_array_equal(got, expected)
  assert not got[20] and got[19] and got[21]


# The published library's own tests of pad_for_frame and window_array.
def test_pad_for_frame_published_cases():
  signal = np.zeros(10)
  signal[0], signal[-1] = -1, 1
  cases = {'front': ([-1] * 4, [0, 0, 0, 1]), 'end': ([-1, 0, 0, 0], [1] * 4),
           'center': ([-1, -1, -1, 0], [0, 0, 1, 1])}
  for mode, (first, last) in cases.items():
    framed = tf.signal.frame(heuristics.pad_for_frame(signal, mode, 4), 4, 1)
    assert framed.shape[0] == 10
    np.testing.assert_array_equal(framed[0], first)
    np.testing.assert_array_equal(framed[-1], last)
  framed = tf.signal.frame(heuristics.pad_for_frame(signal, 'center', 3), 3, 1)
  np.testing.assert_array_equal(framed[0], [-1, -1, 0])
  np.testing.assert_array_equal(framed[-1], [0, 1, 1])
  # Float edges are kept (the published code truncated them to int).
  np.testing.assert_array_equal(
      heuristics.pad_for_frame(np.array([-2.5, 0.0, 3.5]), 'end', 2),
      [-2.5, 0.0, 3.5, 3.5])
  with pytest.raises(ValueError, match="'front', 'center' or 'end'"):
    heuristics.pad_for_frame(signal, 'middle', 3)


@pytest.mark.parametrize('dur, win_len, ratio, shape', [
    (10.0, 2.0, 0.5, (11, 32000)), (10.0, 10.0, 0.5, (3, 160000)),
    (10.0, 1.0, 0.5, (21, 16000)), (10.0, 1.0, 0.75, (14, 16000))])
def test_window_array_published_cases(dur, win_len, ratio, shape):
  sr = 16000
  signal = np.sin(np.linspace(0.0, dur, int(sr * dur)))
  windows = heuristics.window_array(signal, sr, win_len, ratio)
  assert windows.shape == shape
  # Window 1 starts one hop after the front padding.
  hop, pad = int(sr * win_len * ratio), int(sr * win_len * (1 - ratio))
  np.testing.assert_array_equal(windows[1][:100], signal[hop - pad:][:100])


def test_errors():
  with pytest.raises(ValueError, match="'f0_hz'"):
    heuristics.mean_f0({'audio': np.zeros(10)}, 0, 5)
  with pytest.raises(ValueError, match='amplitudes'):
    heuristics.median_amps({'f0_hz': np.zeros(10)}, 0, 5)
  with pytest.raises(ValueError, match='mismatch'):
    heuristics.unbatch({'a': np.zeros([2, 3]), 'b': np.zeros([3, 3])})
  with pytest.raises(ValueError, match='scalar'):
    heuristics.unbatch({'a': np.zeros([2, 3]), 'loss': tf.constant(1.0)})
  with pytest.raises(ValueError, match='controls_batch'):
    heuristics.segment_notes_batch()
