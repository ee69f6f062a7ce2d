"""Tests of the published DDSP 3.x providers of ddsp.training.data:
LegacyTFRecordProvider, ExperimentalDataProvider, BaseMultiProvider,
SyntheticNotes, Urmp, UrmpMidi and UrmpMidiUnsegmented.

Records are written here with tf.train.Example from known arrays, and read
back through the providers."""

import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import data


def _floats(values):
  return tf.train.Feature(float_list=tf.train.FloatList(
      value=np.asarray(values, np.float32).ravel()))


def _bytes(value):
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _write(path, examples):
  with tf.io.TFRecordWriter(str(path)) as writer:
    for ex in examples:
      feature = {k: _bytes(v) if isinstance(v, bytes) else _floats(v)
                 for k, v in ex.items()}
      writer.write(tf.train.Example(features=tf.train.Features(
          feature=feature)).SerializeToString())


def _audio_example(rng, n_samples, n_frames):
  return {'audio': rng.uniform(-1, 1, n_samples),
          'f0_hz': rng.uniform(50, 900, n_frames),
          'f0_confidence': rng.uniform(0, 1, n_frames),
          'loudness_db': rng.uniform(-80, 0, n_frames)}


def test_legacy_tfrecord_provider_reads_the_four_features(tmp_path, rng):
  examples = [_audio_example(rng, 8000, 125) for _ in range(3)]
  for ex in examples:
    ex['audio_16k'] = ex['audio']  # Later formats' extra key: ignored.
  _write(tmp_path / 'a.tfrecord', examples)
  provider = data.LegacyTFRecordProvider(str(tmp_path / 'a.tfrecord*'),
                                         example_secs=0.5)
  assert isinstance(provider, data.TFRecordProvider)
  got = list(provider.get_dataset(shuffle=False))
  assert len(got) == 3
  for have, want in zip(got, examples):
    assert sorted(have) == ['audio', 'f0_confidence', 'f0_hz', 'loudness_db']
    for key in have:
      np.testing.assert_array_equal(have[key].numpy(),
                                    want[key].astype(np.float32))


def test_experimental_data_provider_reads_a_saved_dataset(tmp_path, rng):
  audio = rng.uniform(-1, 1, [6, 40]).astype(np.float32)
  f0 = rng.uniform(50, 500, [6, 5]).astype(np.float32)
  tf.data.Dataset.from_tensor_slices({'audio': audio, 'f0_hz': f0}).save(
      str(tmp_path / 'saved'))
  provider = data.ExperimentalDataProvider(str(tmp_path / 'saved'), 16000,
                                           250)
  got = list(provider.get_dataset(shuffle=False))
  np.testing.assert_array_equal(np.stack([g['audio'] for g in got]), audio)
  np.testing.assert_array_equal(np.stack([g['f0_hz'] for g in got]), f0)
  # A shuffle buffer permutes the examples, none lost or repeated.
  shuffled = data.ExperimentalDataProvider(
      str(tmp_path / 'saved'), shuffle_buffer_size=6, seed=1)
  firsts = [float(g['audio'][0]) for g in shuffled.get_dataset()]
  assert sorted(firsts) == sorted(audio[:, 0].tolist())
  batch = next(iter(provider.get_batch(4, shuffle=False)))
  np.testing.assert_array_equal(batch['audio'], audio[:4])
  with pytest.raises(ValueError, match=r'holds no dataset saved with '
                     r'tf.data.Dataset.save'):
    data.ExperimentalDataProvider(str(tmp_path / 'none')).get_dataset()


def _constant(value, n=4):
  return data.InMemoryProvider({'audio': np.full([n, 3], value, np.float32)})


def test_base_multi_provider_ratios_and_subclasses():
  base = data.BaseMultiProvider([_constant(0.0), _constant(1.0)], [2, 1, ])
  np.testing.assert_allclose(base.batch_size_ratios, [2 / 3, 1 / 3])
  assert base.sample_rate == 16000 and len(base.data_providers) == 2
  even = data.BaseMultiProvider([_constant(0.0), _constant(1.0)])
  np.testing.assert_allclose(even.batch_size_ratios, [0.5, 0.5])
  assert issubclass(data.ZippedProvider, data.BaseMultiProvider)
  assert issubclass(data.MixedProvider, data.BaseMultiProvider)
  with pytest.raises(ValueError, match=r'`batch_size_ratios` must hold one '
                     r'positive number per provider \(2\)'):
    data.BaseMultiProvider([_constant(0.0), _constant(1.0)], [1])
  with pytest.raises(ValueError, match=r'non-empty list of DataProviders'):
    data.BaseMultiProvider(['not a provider'])


def test_mixed_provider_takes_the_published_batch_size_ratios():
  # Published: MixedProvider(data_providers, batch_size_ratios) samples with
  # the ratios as probabilities.
  only_second = data.MixedProvider([_constant(0.0), _constant(1.0)], [0, 1],
                                   seed=2)
  values = next(iter(only_second.get_batch(16)))['audio'].numpy()
  np.testing.assert_array_equal(values, 1.0)
  mixed = data.MixedProvider([_constant(0.0), _constant(1.0)], [3, 1],
                             seed=0)
  draws = np.concatenate([b['audio'].numpy()[:, 0] for b in
                          mixed.get_batch(100).take(10)])
  assert abs(np.mean(draws) - 0.25) < 0.06  # 1000 draws, std 0.014.
  with pytest.raises(ValueError, match=r'Give `weights` or '
                     r'`batch_size_ratios`'):
    data.MixedProvider([_constant(0.0), _constant(1.0)], [1, 1],
                       weights=[1, 1])
  with pytest.raises(ValueError, match=r'`batch_size_ratios` must hold one '
                     r'number >= 0 per provider \(2\), not all zero'):
    data.MixedProvider([_constant(0.0), _constant(1.0)], [0, 0])


# ----------------------------------------------------------------------------
# SyntheticNotes.
# ----------------------------------------------------------------------------
def _synthetic_example(rng, t, h, m):
  return {'f0_hz': rng.uniform(30, 1000, [t, 1]),
          'harm_amp': rng.uniform(0, 1, [t, 1]),
          'harm_dist': rng.uniform(0, 1, [t, h]),
          'sin_amps': rng.uniform(0, 1, [t, h]),
          'sin_freqs': rng.uniform(30, 8000, [t, h]),
          'noise_magnitudes': rng.uniform(0, 1, [t, m])}


def test_synthetic_notes_reads_back_the_written_controls(tmp_path, rng):
  examples = [_synthetic_example(rng, 7, 3, 2) for _ in range(4)]
  _write(tmp_path / 'notes.tfrecord-00000-of-00001', examples)
  provider = data.SyntheticNotes(7, 3, 2,
                                 file_pattern=str(tmp_path / 'notes*'))
  assert provider.sample_rate == 16000 and provider.frame_rate == 250
  got = list(provider.get_dataset(shuffle=False))
  assert len(got) == 4
  for have, want in zip(got, examples):
    assert sorted(have) == sorted(want)
    for key, value in want.items():
      assert have[key].shape == value.shape  # Reshaped, not flat.
      np.testing.assert_array_equal(have[key], value.astype(np.float32))
  batch = next(iter(provider.get_batch(2)))
  assert batch['harm_dist'].shape == (2, 7, 3)


def test_synthetic_notes_errors(tmp_path, rng):
  _write(tmp_path / 'notes.tfrecord', [_synthetic_example(rng, 7, 3, 2)])
  pattern = str(tmp_path / 'notes.tfrecord*')
  with pytest.raises(ValueError, match=r"do not match SyntheticNotes\("
                     r"n_timesteps=7, n_harmonics=4, n_mags=2\): 'harm_dist' "
                     r'holds 21 values, expected 28 \(shape \[7, 4\]\)'):
    data.SyntheticNotes(7, 4, 2, file_pattern=pattern).get_dataset()
  _write(tmp_path / 'audio.tfrecord', [_audio_example(rng, 16, 7)])
  with pytest.raises(ValueError, match=r"lack the feature\(s\) \['harm_amp'.*"
                     r'ddsp_generate_synthetic_dataset'):
    data.SyntheticNotes(7, 3, 2, file_pattern=str(
        tmp_path / 'audio.tfrecord')).get_dataset()
  with pytest.raises(ValueError, match=r'`file_pattern` is required for '
                     r'SyntheticNotes'):
    data.SyntheticNotes(7, 3, 2)
  with pytest.raises(ValueError, match=r'`n_mags` must be a positive'):
    data.SyntheticNotes(7, 3, 0, file_pattern=pattern)


# ----------------------------------------------------------------------------
# URMP.
# ----------------------------------------------------------------------------
def test_urmp_file_patterns_and_reading(tmp_path, rng):
  assert data.Urmp('/d', 'vn', 'test').file_pattern == (
      '/d/urmp_vn_solo_ddsp_conditioning_test.tfrecord*')
  assert data.Urmp('/d/', 'all', 'train', suffix='batched').file_pattern == (
      '/d/all_instruments_train_batched.tfrecord*')
  examples = [_audio_example(rng, 64000, 1000) for _ in range(2)]
  _write(tmp_path / 'urmp_fl_solo_ddsp_conditioning_train.tfrecord-00000',
         examples)
  provider = data.Urmp(str(tmp_path), 'fl')
  got = list(provider.get_dataset(shuffle=False))
  for have, want in zip(got, examples):
    np.testing.assert_array_equal(have['loudness_db'],
                                  want['loudness_db'].astype(np.float32))
  with pytest.raises(ValueError, match=r'`instrument_key` must be one of '
                     r"\['all', 'vn'"):
    data.Urmp(str(tmp_path), 'flute')
  with pytest.raises(ValueError, match=r'No files match `file_pattern`=.*'
                     r'urmp_vn_solo'):
    data.Urmp(str(tmp_path), 'vn').get_dataset()


def _note_example(n_frames, notes, instrument, rng, n_samples):
  """A URMP-MIDI record: notes = [(midi, first_frame, last_frame, vel)]."""
  roll = np.zeros([n_frames, 128])
  vel = np.zeros([n_frames, 128])
  onsets = np.zeros([n_frames, 128])
  offsets = np.zeros([n_frames, 128])
  for midi, first, last, velocity in notes:
    roll[first:last + 1, midi] = 1.0
    vel[first:last + 1, midi] = velocity
    onsets[first, midi] = 1.0
    offsets[last, midi] = 1.0
  ex = _audio_example(rng, n_samples, n_frames)
  ex.update({'note_active_frame_indices': roll,
             'note_active_velocities': vel,
             'note_onsets': onsets, 'note_offsets': offsets,
             'power_db': rng.uniform(-80, 0, n_frames),
             'instrument_id': instrument, 'recording_id': b'rec01'})
  return ex


def _check_notes(have, want, notes, instrument_index):
  n_frames = want['f0_hz'].shape[0]
  expected_midi = np.zeros(n_frames, np.int64)
  expected_on = np.zeros(n_frames, np.int64)
  expected_off = np.zeros(n_frames, np.int64)
  for midi, first, last, _ in notes:
    expected_midi[first:last + 1] = midi
    expected_on[first] = 1
    expected_off[last] = 1
  np.testing.assert_array_equal(have['midi'], expected_midi)
  np.testing.assert_array_equal(have['onsets'], expected_on)
  np.testing.assert_array_equal(have['offsets'], expected_off)
  assert int(have['instrument_id']) == instrument_index
  assert have['recording_id'].numpy() == b'rec01'
  np.testing.assert_array_equal(have['f0_hz'],
                                want['f0_hz'][:, None].astype(np.float32))
  np.testing.assert_array_equal(have['loudness_db'][:, 0],
                                want['loudness_db'].astype(np.float32))
  np.testing.assert_array_equal(
      have['note_active_velocities'],
      want['note_active_velocities'].astype(np.float32))
  np.testing.assert_array_equal(have['audio'],
                                want['audio'].astype(np.float32))


def test_urmp_midi_gives_the_published_note_features(tmp_path, rng):
  notes = [(60, 0, 399, 0.5), (67, 500, 999, 0.8)]
  ex = _note_example(1000, notes, b'fl', rng, 64000)
  _write(tmp_path / 'urmp_fl_solo_ddsp_conditioning_train_batched.tfrecord',
         [ex])
  provider = data.UrmpMidi(str(tmp_path), 'fl', suffix='batched')
  have = next(iter(provider.get_dataset(shuffle=False)))
  assert have['note_active_frame_indices'].shape == (1000, 128)
  _check_notes(have, ex, notes, data.URMP_INSTRUMENTS.index('fl'))
  np.testing.assert_array_equal(have['power_db'],
                                ex['power_db'].astype(np.float32))


def test_urmp_midi_unsegmented_reads_whole_recordings(tmp_path, rng):
  cases = [(300, [(72, 10, 99, 0.3)], b'vc', 19200),
           (450, [(48, 0, 200, 1.0), (50, 250, 449, 0.6)], b'xx', 28800)]
  examples = [_note_example(n, notes, inst, rng, n_samples)
              for n, notes, inst, n_samples in cases]
  _write(tmp_path / 'urmp_vc_solo_ddsp_conditioning_test_unbatched.tfrecord',
         examples)
  provider = data.UrmpMidiUnsegmented(str(tmp_path), 'vc', 'test',
                                      suffix='unbatched')
  got = list(provider.get_dataset(shuffle=False))
  assert [g['audio'].shape[0] for g in got] == [19200, 28800]
  _check_notes(got[0], examples[0], cases[0][1],
               data.URMP_INSTRUMENTS.index('vc'))
  _check_notes(got[1], examples[1], cases[1][1], -1)  # Unknown instrument.
