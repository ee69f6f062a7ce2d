"""Tests of TWMEvaluator and the MIDI evaluators on hand-built outputs."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import evaluators
import training_helpers as helpers  # tests/training/training_helpers.py

SR, RATE = 16000, 250


def _hz(midi):
  return 440.0 * 2.0 ** ((np.asarray(midi, np.float64) - 69.0) / 12.0)


def _roll(notes, n_frames):
  roll = np.zeros([n_frames, 128], np.float32)
  for start, end, pitch in notes:
    roll[start:end, pitch] = 1.0
  return roll


def _flush(evaluator, log_dir, step=4):
  writer = tf.summary.create_file_writer(str(log_dir))
  with writer.as_default():
    results = evaluator.flush(step)
  writer.close()
  return results


def test_twm_evaluator_finds_the_fundamental(tmp_path):
  b, t = 2, 20
  f0 = np.stack([np.full(t, 220.0), np.full(t, 330.0)])[..., np.newaxis]
  k = np.arange(1, 9)
  freqs = (f0 * k).astype(np.float32)
  amps = np.broadcast_to(1.0 / k, freqs.shape).astype(np.float32)
  outputs = {'sinusoidal': {'controls': {'frequencies': freqs,
                                         'amplitudes': amps}}}
  batch = {'f0_hz': f0, 'f0_confidence': np.ones([b, t, 1])}
  evaluator = evaluators.TWMEvaluator(SR, RATE)
  evaluator.evaluate(batch, outputs, {})
  # A semitone-low reference: the TWM f0 is 100 cents above it.
  evaluator.evaluate(dict(batch, f0_hz=f0 * 2 ** (-1 / 12)), outputs, {})
  results = _flush(evaluator, tmp_path)
  assert results['metrics/f0_twm/f0_dist_cents'] == pytest.approx(50.0,
                                                                  abs=1e-3)
  assert results['metrics/f0_twm/raw_pitch_accuracy'] == pytest.approx(0.5)
  assert sorted(helpers.read_events(tmp_path)) == sorted(results)
  # noisy: the amplitudes are scaled by (1 - noise_ratios) first.
  ratios = np.random.default_rng(0).uniform(0, 1, amps.shape)
  noisy = evaluators.TWMEvaluator(SR, RATE, noisy=True)
  noisy.evaluate(batch, {'sinusoidal': {'controls': dict(
      outputs['sinusoidal']['controls'], noise_ratios=ratios)}}, {})
  plain = evaluators.TWMEvaluator(SR, RATE)
  plain.evaluate(batch, {'sinusoidal': {'controls': {
      'frequencies': freqs, 'amplitudes': amps * (1 - ratios)}}}, {})
  assert noisy.flush(1) == plain.flush(1)
  with pytest.raises(ValueError, match="'sinusoidal'"):
    evaluator.evaluate(batch, {'harmonic': {}}, {})


def _heuristic_outputs():
  n = 400
  rng = np.random.default_rng(0)
  midi = np.zeros(n)
  amps = np.full(n, 1e-4)
  midi[25:125], midi[125:235], midi[235:335] = 60.0, 64.0, 67.0
  amps[25:225], amps[235:335] = 1.0, 0.8
  amps *= rng.uniform(0.9, 1.1, n)
  midi[midi > 0] += 0.2 * np.sin(np.arange(n) * 0.3)[midi > 0]
  f0_hz = np.where(midi > 0, _hz(midi), 0.0)
  gt = _roll([(25, 125, 60), (125, 235, 64), (235, 335, 67)], n)
  return {'f0_hz': f0_hz[np.newaxis, :, np.newaxis],
          'harmonic': {'controls': {
              'amplitudes': amps[np.newaxis, :, np.newaxis]}},
          'note_active_velocities': gt[np.newaxis],
          'loss_scalar': tf.constant(1.0)}  # Not unbatched: not read.


def test_midi_heuristic_evaluator_scores_known_notes(tmp_path):
  outputs = _heuristic_outputs()
  evaluator = evaluators.MidiHeuristicEvaluator(SR, RATE)
  evaluator.evaluate({}, outputs, {})
  results = _flush(evaluator, tmp_path)
  # All three notes found (onsets 1 frame late, offsets aligned to the f0).
  for kind in ('onset', 'full_note'):
    assert results[f'metrics/midi/heuristic/{kind}/f1'] == 1.0
  # Frames: the notes cover 310 frames; the heuristic leaves out 13
  # (onset and boundary frames, the amplitude dip).
  assert results['metrics/midi/heuristic/frame/precision'] == 1.0
  assert results['metrics/midi/heuristic/frame/recall'] == pytest.approx(
      297 / 310)
  scalars = helpers.read_events(tmp_path)
  assert scalars['metrics/midi/heuristic/frame/recall'][0][0] == 4
  sample_dir = tmp_path / 'sample'
  writer = tf.summary.create_file_writer(str(sample_dir))
  with writer.as_default():
    evaluator.sample({}, outputs, 2)
  writer.close()
  assert sorted(helpers.read_events(sample_dir)) == [
      'midi/heuristic_1', 'pianoroll/heuristic_1']


def test_midi_autoencoder_evaluator_metrics(tmp_path):
  gt = np.stack([_roll([(0, 50, 60), (50, 100, 62)], 100),
                 _roll([(10, 90, 70)], 100)])
  pred = gt.copy()
  pred[1] = _roll([(10, 90, 71)], 100)  # Wrong pitch: 1 fp, 1 fn.
  f0_midi = np.argmax(gt, axis=-1).astype(float)
  f0_hz = np.where(gt.max(-1) > 0, _hz(f0_midi), 0.0)[..., np.newaxis]
  outputs = {'pianoroll': tf.constant(pred), 'note_active_velocities': gt,
             'f0_hz': f0_hz}
  evaluator = evaluators.MidiAutoencoderEvaluator(SR, 100)
  evaluator.evaluate({}, outputs, {})
  results = _flush(evaluator, tmp_path)
  assert results['metrics/midi/learned/onset/precision'] == pytest.approx(
      2 / 3)
  assert results['metrics/midi/learned/onset/recall'] == pytest.approx(2 / 3)
  assert results['metrics/midi/learned/frame/f1'] == 1.0
