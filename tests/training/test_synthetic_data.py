"""Tests of ddsp.training.data_preparation.synthetic_data and the
ddsp_generate_synthetic_dataset pipeline (run in process), read back through
data.SyntheticNotes."""

import gin
import numpy as np
import pytest

from ddsp.training import data
from ddsp.training.data_preparation import ddsp_generate_synthetic_dataset
from ddsp.training.data_preparation import synthetic_data as sd

SR = 16000


def _midi(hz):
  return 12.0 * np.log2(np.asarray(hz, np.float64) / 440.0) + 69.0


def _check_harmonic_consistency(c, n_harmonics, sample_rate=SR):
  """sin_* are the harmonics; the distribution is normalized below Nyquist."""
  f0 = c['f0_hz'].numpy().astype(np.float64)
  k = np.arange(1, n_harmonics + 1)
  np.testing.assert_allclose(c['sin_freqs'], f0 * k, rtol=1e-6)
  dist = c['harm_dist'].numpy()
  above = f0 * k >= sample_rate / 2
  assert np.all(dist[above] == 0.0)
  np.testing.assert_allclose(dist.sum(-1), 1.0, atol=1e-5)
  np.testing.assert_allclose(c['sin_amps'], c['harm_amp'].numpy() * dist,
                             rtol=1e-5, atol=1e-9)


def test_generate_notes_v2_controls_follow_its_parameters():
  c = sd.generate_notes_v2(n_batch=3, n_timesteps=60, n_harmonics=30,
                           n_mags=7, seed=4)
  shapes = {k: tuple(v.shape) for k, v in c.items()}
  assert shapes == {'f0_hz': (3, 60, 1), 'harm_amp': (3, 60, 1),
                    'harm_dist': (3, 60, 30), 'sin_amps': (3, 60, 30),
                    'sin_freqs': (3, 60, 30), 'noise_magnitudes': (3, 60, 7)}
  _check_harmonic_consistency(c, 30)
  mags = c['noise_magnitudes'].numpy()
  assert mags.min() > 0.0 and mags.max() <= 2.0 + 1e-6  # exp_sigmoid range.
  # Voiced pitches lie in MIDI [24, 84) give or take vibrato (1) and noise.
  midi = _midi(c['f0_hz'])
  voiced = midi > 1.0
  assert voiced.mean() > 0.5
  assert midi[voiced].min() > 22.5 and midi[voiced].max() < 85.5
  # Silent notes keep MIDI 0 (8.18 Hz), as published.
  np.testing.assert_allclose(midi[~voiced], 0.0, atol=0.6)
  # Same seed, same controls; another seed, others.
  again = sd.generate_notes_v2(n_batch=3, n_timesteps=60, n_harmonics=30,
                               n_mags=7, seed=4)
  np.testing.assert_array_equal(again['harm_dist'], c['harm_dist'])
  other = sd.generate_notes_v2(n_batch=3, n_timesteps=60, n_harmonics=30,
                               n_mags=7, seed=5)
  assert not np.allclose(other['f0_hz'], c['f0_hz'])


def test_generate_notes_v2_note_lengths_silence_and_vibrato():
  # Notes of exactly 5 frames, no vibrato, never silent: each note's MIDI
  # pitch is one value plus noise of std < 0.1.
  c = sd.generate_notes_v2(n_batch=2, n_timesteps=40, n_harmonics=10,
                           n_mags=3, min_note_length=5, max_note_length=5,
                           p_silent=0.0, p_vibrato=0.0, seed=0)
  midi = _midi(c['f0_hz'])[..., 0].reshape(2, 8, 5)
  assert np.all(np.abs(midi - midi.mean(-1, keepdims=True)) < 0.5)
  assert np.all((midi.mean(-1) > 23.5) & (midi.mean(-1) < 84.5))
  # Always silent: tiny amplitudes, f0 = MIDI 0.
  silent = sd.generate_notes_v2(n_batch=1, n_timesteps=30, n_harmonics=10,
                                n_mags=3, p_silent=1.0, seed=0)
  assert silent['harm_amp'].numpy().max() < 1e-4
  np.testing.assert_allclose(silent['f0_hz'], 440.0 * 2 ** (-69 / 12),
                             rtol=1e-5)
  # Raw values: the logits are not normalized.
  raw = sd.generate_notes_v2(n_batch=1, n_timesteps=30, n_harmonics=10,
                             n_mags=3, get_controls=False, seed=0)
  assert not np.allclose(raw['harm_dist'].numpy().sum(-1), 1.0)
  with pytest.raises(ValueError, match=r'`max_note_length` must be >= '):
    sd.generate_notes_v2(min_note_length=6, max_note_length=5)
  with pytest.raises(ValueError, match=r'`p_silent` must be a number in '
                     r'\[0.0, 1.0\]'):
    sd.generate_notes_v2(p_silent=2.0)
  with pytest.raises(ValueError, match=r'`n_mags` must be a positive'):
    sd.generate_notes_v2(n_mags=0)


def test_generate_notes_holds_pitches_per_note():
  c = sd.generate_notes(2, 80, n_harmonics=20, n_mags=4, seed=3)
  _check_harmonic_consistency(c, 20)
  midi = _midi(c['f0_hz'])[..., 0]
  assert midi.min() >= 24.0 - 1e-3 and midi.max() < 84.0 + 1e-3
  # 'nearest' interpolation of at most 20 notes: at most 20 distinct values
  # per example, each held.
  for row in midi:
    assert len(np.unique(np.round(row, 3))) <= 20
  amp = c['harm_amp'].numpy()
  assert amp.min() > 0.0 and amp.max() < 2.0


def test_random_helpers():
  rng = np.random.RandomState(0)
  draws = [sd.uniform_int(2, 4, rng) for _ in range(200)]
  assert set(draws) == {2, 3, 4}  # Both ends included.
  gen = np.random.default_rng(0)
  assert set(sd.uniform_int(2, 4, gen) for _ in range(200)) == {2, 3, 4}
  assert sd.flip(1.0, rng) and not sd.flip(0.0, rng)
  flips = np.mean([sd.flip(0.3, rng) for _ in range(2000)])
  assert abs(flips - 0.3) < 0.04
  blend = sd.random_blend(11, 3.0, -1.0, rng=rng)
  assert blend[0] == 3.0 and blend[-1] == -1.0
  assert np.all(np.diff(blend) <= 0)  # Monotonic from start to end.
  x = sd.uniform_generator([2, 3, 1], 9, 5.0, 6.0, 'nearest', rng).numpy()
  assert x.shape == (2, 9, 1) and x.min() >= 5.0 and x.max() < 6.0
  signal = np.ones([2, 10, 3], np.float32)
  np.testing.assert_array_equal(sd.modulate(signal, maxval=0.0, rng=rng),
                                signal)
  modulated = sd.modulate(signal, maxval=0.5, rng=rng).numpy()
  assert modulated.shape == (2, 10, 3) and modulated.min() >= 0.0
  # The same envelope for every channel of an example.
  np.testing.assert_allclose(modulated[..., 0], modulated[..., 2])
  with pytest.raises(TypeError, match=r'`rng` must be a '):
    sd.flip(0.5, rng=3)
  with pytest.raises(ValueError, match=r'Give `rng` or `seed`'):
    sd.generate_notes(1, 10, rng=rng, seed=1)


def test_generate_examples_is_seeded_with_or_without_a_seed_argument():
  one = sd.generate_examples(7)
  assert one['harm_dist'].shape == (125, 100)
  np.testing.assert_array_equal(sd.generate_examples(7)['f0_hz'],
                                one['f0_hz'])

  def published_style(n_batch=1):  # Uses numpy's global generator.
    return {'x': np.random.uniform(size=[n_batch, 3])}

  a = sd.generate_examples(11, generate_fn=published_style)['x']
  b = sd.generate_examples(11, generate_fn=published_style)['x']
  np.testing.assert_array_equal(a, b)
  np.random.seed(11)
  np.testing.assert_array_equal(
      a, np.random.uniform(size=[1, 3])[0].astype(np.float32))


@pytest.mark.slow
def test_pipeline_writes_what_synthetic_notes_reads(tmp_path):
  gin.clear_config()
  try:
    gin.parse_config([
        'generate_examples.generate_fn = @generate_notes_v2',
        'generate_notes_v2.n_timesteps = 12',
        'generate_notes_v2.n_harmonics = 5',
        'generate_notes_v2.n_mags = 3',
    ])
    prefix = str(tmp_path / 'out' / 'notes.tfrecord')
    paths = ddsp_generate_synthetic_dataset.run(
        prefix, num_examples=6, num_shards=2, random_seed=9)
  finally:
    gin.clear_config()
  assert [p.rsplit('/', 1)[1] for p in paths] == [
      'notes.tfrecord-00000-of-00002', 'notes.tfrecord-00001-of-00002']
  provider = data.SyntheticNotes(12, 5, 3, file_pattern=prefix + '*')
  got = sorted(provider.get_dataset(shuffle=False),
               key=lambda ex: float(ex['harm_dist'][0, 0]))
  # Independent reference: the generator run on the same seeds.
  seeds = np.random.RandomState(9).randint(0, 2**32, size=6, dtype=np.uint64)
  want = sorted((sd.generate_notes_v2(n_batch=1, n_timesteps=12,
                                      n_harmonics=5, n_mags=3, seed=int(s))
                 for s in seeds), key=lambda c: float(c['harm_dist'][0, 0, 0]))
  assert len(got) == 6
  for have, ref in zip(got, want):
    for key, value in ref.items():
      np.testing.assert_array_equal(have[key], value.numpy()[0])


def test_pipeline_argument_errors(tmp_path):
  with pytest.raises(ValueError, match=r'`num_examples` must be a positive'):
    ddsp_generate_synthetic_dataset.run(str(tmp_path / 'x'), num_examples=0)
  with pytest.raises(ValueError, match=r'`output_tfrecord_path` must be'):
    ddsp_generate_synthetic_dataset.run('', num_examples=1)


def test_console_entry_point_is_installed_by_setup():
  import pathlib  # pylint: disable=g-import-not-at-top
  setup = (pathlib.Path(__file__).parents[2] / 'setup.py').read_text()
  assert ("'ddsp_generate_synthetic_dataset = ddsp.training.data_preparation.'"
          "\n    'ddsp_generate_synthetic_dataset:console_entry_point'" in setup)
  assert callable(ddsp_generate_synthetic_dataset.console_entry_point)
