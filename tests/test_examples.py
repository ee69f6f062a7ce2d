"""Runs every tutorial in examples/ (short mode) and checks what it promises.

Each tutorial runs in its own subprocess, as a user would run it, with
`DDSP_EXAMPLES_SHORT=1` and `DDSP_EXAMPLES_OUTPUT_DIR` set. It must exit
cleanly, write the figures (PNG) and audio (WAV) it lists, and its
results.json must hold numbers within the ranges that the tutorial's text
claims, mostly against analytic values (A4 = 440 Hz, a 1/k spectrum falls by
6 dB per octave, a sine of amplitude 0.5 has an RMS of 0.354, ...).
"""

import json
import math
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / 'examples'
sys.path.insert(0, str(EXAMPLES))

import tutorial_utils  # pylint: disable=wrong-import-position

TIMEOUT_S = 600
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def run_tutorial(script, output_dir, extra_env=None):
  """Runs a tutorial in short mode; returns its results.json as a dict."""
  env = dict(os.environ, DDSP_EXAMPLES_SHORT='1',
             DDSP_EXAMPLES_OUTPUT_DIR=str(output_dir),
             TF_CPP_MIN_LOG_LEVEL='2', MPLBACKEND='Agg')
  env['PYTHONPATH'] = os.pathsep.join(
      [str(ROOT)] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
  env.update(extra_env or {})
  proc = subprocess.run([sys.executable, str(EXAMPLES / script)], cwd=ROOT,
                        env=env, capture_output=True, text=True,
                        timeout=TIMEOUT_S, check=False)
  assert proc.returncode == 0, (
      f'{script} failed (exit {proc.returncode}).\nstdout:\n'
      f'{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}')
  summary = json.loads((output_dir / 'results.json').read_text())
  assert summary['short'] is True
  check_files(output_dir, summary['files'])
  # Every recorded result is also printed for the reader.
  for key in summary['results']:
    assert f'  {key} = ' in proc.stdout, key
  return summary


def check_files(output_dir, files):
  """Every listed file exists; PNGs are PNGs; WAVs are finite, non-silent."""
  import soundfile as sf  # pylint: disable=g-import-not-at-top
  assert files, 'the tutorial wrote no files'
  for name in files:
    path = output_dir / name
    assert path.is_file() and path.stat().st_size > 0, name
    if name.endswith('.png'):
      assert path.read_bytes()[:8] == PNG_MAGIC, name
    elif name.endswith('.wav'):
      audio, sample_rate = sf.read(path)
      assert sample_rate == 16000, name
      assert audio.size > 1000 and np.all(np.isfinite(audio)), name
      assert np.max(np.abs(audio)) > 0.1, f'{name} is (nearly) silent'
    else:
      raise AssertionError(f'unexpected output file type: {name}')


def tutorial_scripts():
  return sorted(p.name for p in EXAMPLES.glob('[0-9][0-9]_*.py'))


# ------------------------------------------------------------------------------
# Fast tests of the shared helpers and of the folder's consistency.
# ------------------------------------------------------------------------------
def test_every_tutorial_is_checked_and_listed_in_readme():
  scripts = tutorial_scripts()
  assert len(scripts) >= 6
  readme = (EXAMPLES / 'README.md').read_text()
  for script in scripts:
    assert script in CHECKS, f'{script} has no checks in tests/test_examples.py'
    assert script in readme, f'{script} is not listed in examples/README.md'


def test_tutorial_options_from_env_and_flags(tmp_path, monkeypatch):
  monkeypatch.setenv('DDSP_EXAMPLES_OUTPUT_DIR', str(tmp_path / 'from_env'))
  monkeypatch.setenv('DDSP_EXAMPLES_SHORT', '1')
  tutorial = tutorial_utils.Tutorial('t', 'test', argv=[])
  assert tutorial.short and tutorial.output_dir == tmp_path / 'from_env'
  assert tutorial.output_dir.is_dir()
  monkeypatch.delenv('DDSP_EXAMPLES_SHORT')
  tutorial = tutorial_utils.Tutorial(
      't', 'test', argv=['--output_dir', str(tmp_path / 'flag')])
  assert not tutorial.short and tutorial.output_dir == tmp_path / 'flag'
  tutorial = tutorial_utils.Tutorial('t', 'test', argv=['--short'])
  assert tutorial.short
  monkeypatch.delenv('DDSP_EXAMPLES_OUTPUT_DIR')
  tutorial = tutorial_utils.Tutorial('t', 'test', argv=[])
  assert tutorial.output_dir.is_dir()  # A new temporary folder.
  tutorial.output_dir.rmdir()


def test_record_and_finish_write_json(tmp_path):
  tutorial = tutorial_utils.Tutorial('t', 'test',
                                     argv=['--output_dir', str(tmp_path)])
  assert tutorial.record('x', np.float32(0.5)) == 0.5
  assert tutorial.record('v', np.array([1.0, 2.0])) == [1.0, 2.0]
  tutorial.write_wav(0.01 * np.sin(np.arange(1600.0)), 'a.wav')
  summary = json.loads(json.dumps(tutorial.finish()))
  assert summary['results'] == {'x': 0.5, 'v': [1.0, 2.0]}
  assert json.loads((tmp_path / 'results.json').read_text()) == summary
  check_files(tmp_path, summary['files'])  # Normalized: not silent.


def test_spectrum_db_peak_and_load_audio():
  t = np.arange(16000) / 16000
  freqs, db = tutorial_utils.spectrum_db(np.sin(2 * np.pi * 1000 * t))
  assert freqs[np.argmax(db)] == pytest.approx(1000.0)
  audio = tutorial_utils.load_audio('violin_train.flac', seconds=0.5,
                                    offset=1.0)
  assert audio.shape == (8000,) and audio.dtype == np.float32
  assert 0.01 < np.sqrt(np.mean(audio ** 2)) < 1.0


# ------------------------------------------------------------------------------
# What each tutorial promises.
# ------------------------------------------------------------------------------
def check_core_functions(r, output_dir):
  del output_dir  # Only the numbers are checked.
  assert r['midi_69_hz'] == pytest.approx(440.0)
  assert r['hz_to_midi_220_440_880_0'] == pytest.approx([57, 69, 81, 0],
                                                        abs=1e-3)
  assert r['amplitude_0.1_in_db'] == pytest.approx(-20.0, abs=1e-4)
  assert r['amplitude_1e-6_in_db'] == pytest.approx(-80.0)
  assert r['minus_6db_amplitude'] == pytest.approx(0.5, abs=1e-4)
  assert r['exp_sigmoid_at_0'] == pytest.approx(2 * 0.5 ** math.log(10),
                                                rel=1e-4)
  assert 17.0 < r['exp_sigmoid_db_per_unit_from_-4_to_-3'] < 20.0
  for method in ('nearest', 'linear', 'cubic', 'window'):
    assert r[f'resample_{method}_error_at_frames'] < 1e-6
  for method in ('nearest', 'linear', 'window'):
    assert r[f'resample_{method}_overshoot'] < 1e-6
  assert r['resample_cubic_overshoot'] > 1e-3
  assert r['chirp_rms'] == pytest.approx(0.5 / math.sqrt(2), rel=0.01)
  assert r['sawtooth_three_strongest_peaks_hz'] == pytest.approx(
      [220, 440, 660], abs=2.5)
  assert r['sawtooth_harmonic_2_minus_1_db'] == pytest.approx(-6.02, abs=0.3)
  assert r['alias_level_at_7khz_db'] < -60
  assert r['streaming_max_error_phase_carried'] < 1e-4
  assert r['streaming_max_error_phase_restarted'] > 0.05
  assert r['wavetable_peak_hz'] == pytest.approx(220.0, abs=3.0)
  assert r['gradients_finite'] is True
  assert r['gradient_norm_harmonic_distribution'] > 0
  assert r['fft_convolve_vs_scipy_max_error'] < 1e-3
  assert r['lowpass_passband_worst_db'] < 0.5
  assert r['lowpass_stopband_best_db'] < -40
  assert r['swept_noise_centroid_first_quarter_hz'] < 1500
  assert r['swept_noise_centroid_last_quarter_hz'] > 3000
  assert r['sinc_lowpass_1khz_rejection_db'] < -40


def check_processors_and_controls(r, output_dir):
  del output_dir  # Only the numbers are checked.
  low, high = r['scaled_amplitudes_range']
  assert 0 < low < high <= 2.0
  assert r['distribution_sum_max_error'] < 1e-5
  assert r['harmonics_above_nyquist_in_last_frame'] == 40 - 7  # 1 kHz f0.
  assert r['largest_weight_above_nyquist'] == 0.0
  assert r['call_vs_two_steps_max_difference'] < 1e-6
  assert r['config_scale_fn'] == 'tutorial>softplus_amplitude'
  assert r['clone_uses_same_function'] is True
  # exp_sigmoid(-5) per band: tens of dB quieter than with no bias.
  assert r['noise_rms_initial_bias_-5'] < 1e-3 * r['noise_rms_initial_bias_0']
  assert r['outputs_dict_keys'] == ['controls', 'signal']
  assert r['outputs_dict_control_keys'] == ['amplitudes', 'f0_hz',
                                            'harmonic_distribution']
  assert r['fit_loss_last_step'] < 0.2 * r['fit_loss_first_step']
  assert r['learned_weight_on_even_harmonics'] < 0.05
  assert r['tremolo_rate_hz'] == pytest.approx(10.0, rel=1e-3)
  assert r['tremolo_dips_per_second'] == pytest.approx(10.0, abs=2.1)
  assert r['tremolo_min_gain'] == pytest.approx(1 - 1 / (1 + math.exp(-3)),
                                                abs=2e-3)
  assert r['tremolo_config_round_trip_equal'] is True
  assert r['tremolo_from_gin_max_rate_hz'] == 5.0
  rank, batch = r['error_messages']
  assert re.search(r'f0_hz.*rank 3.*Received', rank)
  assert re.search(r'batch.*Received: amplitudes.shape\[0\]=2', batch)


def check_synths_and_effects(r, output_dir):
  del output_dir  # Only the numbers are checked.
  assert r['harmonic_first_note_peak_hz'] == pytest.approx(261.63, abs=2.0)
  n_samples = r['harmonic_n_samples_none_lengths'][0]
  assert r['harmonic_n_samples_none_lengths'] == [n_samples, 3 * n_samples]
  assert r['noise_same_seed_identical'] is True
  assert r['noise_other_seed_differs'] is True
  assert r['noise_training_calls_differ'] is True
  assert r['wavetable_peak_hz'] == pytest.approx(110.0, abs=2.0)
  partials = 440.0 * np.array([1.0, 2.756, 5.404, 8.933])
  np.testing.assert_allclose(r['sinusoidal_peaks_hz'], partials, atol=3.0)
  assert r['tensor_to_audio_identity'] is True
  assert r['reverb_given_ir_decay_db_per_s'] == pytest.approx(75.0, rel=0.1)
  assert r['trainable_reverb_variables'] == ['reverb/ir']
  assert r['trainable_reverb_initial_wet_rms'] < 1e-3
  # (2 + e^1.5) * 20 / ln(10) dB over a 0.5 s IR (short mode).
  expected = (2 + math.exp(1.5)) * 20 / math.log(10) / 0.5
  assert r['exp_decay_reverb_decay_db_per_s'] == pytest.approx(expected,
                                                               rel=0.1)
  assert (r['filtered_noise_reverb_high_share_second_half'] <
          0.2 * r['filtered_noise_reverb_high_share_first_half'])
  low, high = r['fir_wah_centroid_range_hz']
  assert low < 900 and high > 1500
  down, up = r['mod_delay_vibrato_cents']
  vibrato = 1200 * math.log2(1 + 2 * math.pi * 5.0 * 1e-3)  # 53.6 cents.
  assert down == pytest.approx(-vibrato, abs=8.0)
  assert up == pytest.approx(vibrato, abs=8.0)


def check_processor_group_and_gin(r, output_dir):
  del output_dir  # Only the numbers are checked.
  assert r['module_names'] == ['harmonic', 'filtered_noise', 'add', 'reverb']
  assert r['audio_shape'] == [1, 16000]
  assert r['group_trainable_variables'] == ['processor_group/reverb/ir']
  assert r['n_output_keys'] == 19
  assert r['add_equals_sum'] is True and r['out_is_reverb'] is True
  assert r['crop_removed_samples'] == 64
  start, end = r['mix_level_start_end']
  assert start == pytest.approx(1 / (1 + math.exp(4)), abs=1e-3)
  assert end == pytest.approx(1 / (1 + math.exp(-4)), abs=1e-3)
  assert r['gin_group_type'] == 'ProcessorGroup'
  assert r['gin_module_names'] == r['module_names']
  assert r['gin_vs_python_max_difference'] < 1e-6
  assert r['gin_vs_python_same_config'] is True
  assert r['scoped_module_names'] == ['low', 'high', 'add']
  assert len(r['dag_layer_variables']) == 4
  assert r['dag_layer_gradients_finite_nonzero'] is True
  assert r['missing_key_error_names_key'] is True


def _envelope_db(x, frame=800):
  """Frame energy in dB (50 ms frames at 16 kHz), floored at -60 dB."""
  frames = x[:x.size // frame * frame].reshape(-1, frame)
  return np.maximum(10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-10), -60)


def _log_spectrogram(x, size=1024):
  frames = x[:x.size // size * size].reshape(-1, size) * np.hanning(size)
  return np.log(np.abs(np.fft.rfft(frames, axis=1)) + 1e-3)


def _similarity(output_wav, input_audio):
  """Correlations of the energy envelopes and log spectrograms of two clips."""
  import soundfile as sf  # pylint: disable=g-import-not-at-top
  out, _ = sf.read(output_wav)
  if isinstance(input_audio, (str, pathlib.Path)):
    input_audio, _ = sf.read(input_audio)
  n = min(out.size, input_audio.size)
  out, ref = out[:n], input_audio[:n]
  envelope = np.corrcoef(_envelope_db(out), _envelope_db(ref))[0, 1]
  spectrum = np.corrcoef(_log_spectrogram(out).ravel(),
                         _log_spectrogram(ref).ravel())[0, 1]
  return envelope, spectrum


def check_training(r, output_dir):
  assert r['n_frames'] == 6 * 250  # 6 s at 250 frames/s.
  assert r['confident_frame_fraction'] > 0.5
  # examples/data/README.md: the violin plays MIDI 62-93.
  assert 62 <= r['median_f0_midi_confident'] <= 93
  low, high = r['loudness_db_range']
  assert low >= -80.0 and high > -20.0
  assert r['n_examples'] == 6
  assert r['batch_shapes'] == {'audio': [4, 16000], 'f0_hz': [4, 250],
                               'f0_confidence': [4, 250],
                               'loudness_db': [4, 250]}
  assert r['trainable_weights'] > 1000
  # The loss goes down, in the train_step loop and on the whole data.
  assert (r['train_step_losses_last_5_mean'] <
          0.8 * r['train_step_losses_first_5_mean'])
  assert (r['eval_loss_after_training'] <
          0.75 * r['eval_loss_before_training'])
  assert r['step_after_train'] == 50
  assert r['latest_checkpoint'] == 'ckpt-50'
  assert r['step_after_resume'] == 60  # Resumed at 50, not from scratch.
  assert r['resynthesis_seconds'] == pytest.approx(4.0)
  assert r['resynthesis_loudness_l1_db'] < 10.0
  # The written original is the example clip; the resynthesis follows it.
  import soundfile as sf  # pylint: disable=g-import-not-at-top
  original, _ = sf.read(output_dir / '06_original.wav')
  clip, _ = sf.read(EXAMPLES / 'data' / 'violin_train.flac', frames=64000)
  np.testing.assert_allclose(original, clip, atol=1 / 32768)
  envelope, spectrum = _similarity(output_dir / '06_resynthesis.wav', clip)
  assert envelope > 0.9 and spectrum > 0.5


def check_timbre_transfer(r, output_dir):
  assert r['training_examples'] == 6
  assert r['learning_rate_from_gin'] == pytest.approx(0.003)
  assert r['loss_at_end'] < r['loss_after_quarter_of_steps']
  assert r['model_folder_has_operative_config'] is True
  assert r['model_folder_has_statistics'] is True
  assert 62 <= r['training_mean_note_pitch_midi'] <= 93
  # Held-out violin: unchanged features, the whole 9.15 s phrase.
  assert r['heldout_pitch_shift_semitones'] == 0.0
  assert r['heldout_loudness_mode'] == 'none'
  assert r['heldout_seconds'] == pytest.approx(9.15, abs=0.01)
  assert r['heldout_f0_within_50_cents'] > 0.7
  # Speech (female, around MIDI 50-58) goes up by whole octaves towards the
  # violin's register.
  shift = r['speech_pitch_shift_semitones']
  assert shift in (12.0, 24.0)
  assert r['speech_loudness_mode'] == 'quantile'
  assert r['speech_seconds'] == pytest.approx(3.1, abs=0.01)
  assert r['speech_f0_within_50_cents'] > 0.6
  assert r['manual_octave_up_f0_ratio'] == pytest.approx(2.0, rel=1e-4)
  assert r['manual_loudness_change_db'] == pytest.approx(-6.0, abs=1e-3)
  assert r['autotune_max_offset_from_grid_semitones'] < 0.05
  envelope, spectrum = _similarity(output_dir / '03_violin_heldout.wav',
                                   EXAMPLES / 'data' / 'violin_heldout.flac')
  assert envelope > 0.4 and spectrum > 0.4
  envelope, _ = _similarity(output_dir / '04_speech_to_violin.wav',
                            EXAMPLES / 'data' / 'speech_female.flac')
  assert envelope > 0.4  # The violin plays the syllables of the speech.


CHECKS = {
    '01_core_functions.py': check_core_functions,
    '02_processors_and_controls.py': check_processors_and_controls,
    '03_synths_and_effects.py': check_synths_and_effects,
    '04_processor_group_and_gin.py': check_processor_group_and_gin,
    '05_training.py': check_training,
    '06_timbre_transfer.py': check_timbre_transfer,
}


@pytest.mark.slow
@pytest.mark.parametrize('script', sorted(CHECKS))
def test_tutorial_runs_and_keeps_its_promises(script, tmp_path):
  summary = run_tutorial(script, tmp_path)
  CHECKS[script](summary['results'], tmp_path)
