"""Tests for ddsp.training.data (data providers).

TFRecords are written here directly with tf.train.Example (independent of the
data preparation pipeline, which tests/training/test_prepare_tfrecord.py runs);
TFDS providers read a small NSynth-like dataset built locally with a
tensorflow-datasets GeneratorBasedBuilder (nothing is downloaded).
"""

import gin
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from ddsp.training import data

N_SAMPLES, N_FRAMES = 16000, 250  # 1 s examples at 16 kHz and 250 Hz.


def _example(audio, frames):
  feature = lambda v: tf.train.Feature(float_list=tf.train.FloatList(value=v))
  return tf.train.Example(features=tf.train.Features(feature={
      'audio': feature(audio),
      'f0_hz': feature(frames['f0_hz']),
      'f0_confidence': feature(frames['f0_confidence']),
      'loudness_db': feature(frames['loudness_db']),
  })).SerializeToString()


def _random_examples(rng, n, n_samples=N_SAMPLES, n_frames=N_FRAMES):
  return [{
      'audio': rng.uniform(-1, 1, n_samples).astype(np.float32),
      'f0_hz': rng.uniform(50, 1000, n_frames).astype(np.float32),
      'f0_confidence': rng.uniform(0, 1, n_frames).astype(np.float32),
      'loudness_db': rng.uniform(-80, 0, n_frames).astype(np.float32),
  } for _ in range(n)]


def _write_shards(folder, shards):
  """Writes lists of example dicts as TFRecord shards; returns the glob."""
  for i, examples in enumerate(shards):
    path = folder / f'train.tfrecord-{i:05d}-of-{len(shards):05d}'
    with tf.io.TFRecordWriter(str(path)) as writer:
      for ex in examples:
        writer.write(_example(ex['audio'], ex))
  return str(folder / 'train.tfrecord*')


def _key(ex):
  return float(np.asarray(ex['audio'])[0])


def _as_numpy(dataset):
  return [{k: v.numpy() for k, v in ex.items()} for ex in dataset]


@pytest.fixture
def records(tmp_path, rng):
  examples = _random_examples(rng, 5)
  pattern = _write_shards(tmp_path, [examples[:3], examples[3:]])
  return pattern, examples


# ----------------------------------------------------------------------------
# TFRecordProvider.
# ----------------------------------------------------------------------------
def test_tfrecord_provider_returns_the_written_values(records):
  pattern, examples = records
  provider = data.TFRecordProvider(pattern, example_secs=1)
  got = _as_numpy(provider.get_dataset(shuffle=False))
  assert len(got) == 5
  for have, want in zip(sorted(got, key=_key), sorted(examples, key=_key)):
    assert sorted(have) == sorted(want)
    for k in want:
      assert have[k].dtype == np.float32
      np.testing.assert_array_equal(have[k], want[k])
  assert provider.sample_rate == 16000 and provider.frame_rate == 250


def test_tfrecord_provider_shuffle_is_seeded_and_complete(records):
  pattern, _ = records

  def order(seed):
    provider = data.TFRecordProvider(pattern, example_secs=1, seed=seed)
    return [_key(ex) for ex in _as_numpy(provider.get_dataset(shuffle=True))]

  first = order(3)
  assert first == order(3)  # Same seed, same order.
  plain = [_key(ex) for ex in _as_numpy(data.TFRecordProvider(
      pattern, example_secs=1).get_dataset(shuffle=False))]
  assert sorted(first) == sorted(plain)  # A permutation of all examples.


def test_tfrecord_provider_batches(records):
  pattern, _ = records
  provider = data.TFRecordProvider(pattern, example_secs=1)
  batches = list(provider.get_batch(2, shuffle=False, repeats=2))
  assert len(batches) == 5  # 10 examples in batches of 2.
  assert batches[0]['audio'].shape == (2, N_SAMPLES)
  assert batches[0]['f0_hz'].shape == (2, N_FRAMES)
  kept = list(provider.get_batch(3, repeats=1, drop_remainder=False))
  assert [b['audio'].shape[0] for b in kept] == [3, 2]
  # Endless by default.
  endless = provider.get_batch(4)
  assert len(list(endless.take(7))) == 7


def test_tfrecord_provider_accepts_a_list_of_patterns(tmp_path, rng):
  first, second = tmp_path / 'a', tmp_path / 'b'
  first.mkdir()
  second.mkdir()
  _write_shards(first, [_random_examples(rng, 2)])
  _write_shards(second, [_random_examples(rng, 3)])
  provider = data.TFRecordProvider(
      [str(first / '*'), str(second / '*')], example_secs=1)
  assert len(list(provider.get_dataset())) == 5


def test_tfrecord_provider_centered_reads_one_more_frame(tmp_path, rng):
  pattern = _write_shards(
      tmp_path, [_random_examples(rng, 2, n_frames=N_FRAMES + 1)])
  provider = data.TFRecordProvider(pattern, example_secs=1, centered=True)
  batch = next(iter(provider.get_batch(2)))
  assert batch['loudness_db'].shape == (2, N_FRAMES + 1)


def test_tfrecord_provider_mismatch_error_gives_both_lengths(records):
  pattern, _ = records
  with pytest.raises(ValueError, match=r'do not match TFRecordProvider\('
                     r'example_secs=4, sample_rate=16000, frame_rate=250, '
                     r'centered=False\): they hold 16000 audio samples \(1 s '
                     r'at sample_rate=16000\) and 250 feature frames, but '
                     r'these settings expect 64000 samples and 1000 frames'):
    data.TFRecordProvider(pattern).get_dataset()
  with pytest.raises(ValueError, match=r'hold 16000 audio samples \(0.5 s at '
                     r'sample_rate=32000\).*expect 32000 samples'):
    data.TFRecordProvider(pattern, example_secs=1, sample_rate=32000,
                          frame_rate=250).get_dataset()
  with pytest.raises(ValueError, match=r'250 feature frames.*expect 16000 '
                     r'samples and 251 frames'):
    data.TFRecordProvider(pattern, example_secs=1, centered=True).get_dataset()


def test_tfrecord_provider_reports_missing_features(tmp_path):
  path = tmp_path / 'x.tfrecord'
  with tf.io.TFRecordWriter(str(path)) as writer:
    writer.write(tf.train.Example(features=tf.train.Features(feature={
        'audio': tf.train.Feature(float_list=tf.train.FloatList(
            value=[0.0] * N_SAMPLES))
    })).SerializeToString())
  with pytest.raises(ValueError, match=r"lack the feature\(s\) \['f0_hz', "
                     r"'f0_confidence', 'loudness_db'\]; they hold "
                     r"\['audio'\]"):
    data.TFRecordProvider(str(path), example_secs=1).get_dataset()


def test_tfrecord_provider_file_errors(tmp_path):
  with pytest.raises(ValueError, match=r'No files match `file_pattern`='):
    data.TFRecordProvider(str(tmp_path / 'none*')).get_dataset()
  with pytest.raises(ValueError, match=r'`file_pattern` is required'):
    data.TFRecordProvider()
  empty = tmp_path / 'empty.tfrecord-00000-of-00001'
  with tf.io.TFRecordWriter(str(empty)):
    pass
  with pytest.raises(ValueError, match=r'The 1 file\(s\) matching '
                     r'`file_pattern`=.*empty.tfrecord\*.* hold no examples'):
    data.TFRecordProvider(str(tmp_path / 'empty.tfrecord*')).get_dataset()
  text = tmp_path / 'notes.txt'
  text.write_text('this is not a TFRecord file at all' * 10)
  with pytest.raises(ValueError, match=r'notes.txt \(matched by '
                     r'`file_pattern`=.*\) is not a readable record file'):
    data.TFRecordProvider(str(text), example_secs=1).get_dataset()


def test_tfrecord_provider_argument_errors():
  with pytest.raises(ValueError, match=r'`example_secs` must give a whole '
                     r'number of frames'):
    data.TFRecordProvider('x*', example_secs=1.001)
  with pytest.raises(ValueError, match=r'`sample_rate` must be a positive'):
    data.TFRecordProvider('x*', sample_rate=0)
  provider = data.InMemoryProvider({'audio': np.zeros([2, 4])})
  with pytest.raises(ValueError, match=r'`batch_size` must be a positive'):
    provider.get_batch(0)
  with pytest.raises(ValueError, match=r'`repeats` must be a positive'):
    provider.get_batch(1, repeats=0)


def test_tfrecord_provider_through_gin(records):
  pattern, _ = records

  @gin.configurable
  def _make_provider(provider=None):
    return provider

  try:
    gin.parse_config([
        '_make_provider.provider = @data.TFRecordProvider()',
        f"TFRecordProvider.file_pattern = '{pattern}'",
        'TFRecordProvider.example_secs = 1',
    ])
    provider = _make_provider()
  finally:
    gin.clear_config()
  assert isinstance(provider, data.TFRecordProvider)
  assert len(list(provider.get_dataset())) == 5


# ----------------------------------------------------------------------------
# TFDS: a local NSynth-like dataset.
# ----------------------------------------------------------------------------
_TFDS_N, _TFDS_SAMPLES, _TFDS_FRAMES = 4, 1600, 25


class DdspTestNsynth(tfds.core.GeneratorBasedBuilder):
  """A few examples with the features of TFDS nsynth/*.f0_and_loudness."""

  VERSION = tfds.core.Version('2.3.3')
  BUILDER_CONFIGS = [
      tfds.core.BuilderConfig(name='gansynth_subset.f0_and_loudness')
  ]

  def _info(self):
    f = tfds.features
    return tfds.core.DatasetInfo(
        builder=self,
        features=f.FeaturesDict({
            'id': tf.string,
            'audio': f.Audio(shape=(_TFDS_SAMPLES,), dtype=np.float32,
                             sample_rate=16000),
            'pcm': f.Tensor(shape=(_TFDS_SAMPLES,), dtype=np.int16),
            'pitch': f.ClassLabel(num_classes=128),
            'velocity': f.ClassLabel(num_classes=128),
            'instrument': {
                'label': f.ClassLabel(num_classes=1006),
                'family': f.ClassLabel(num_classes=11),
                'source': f.ClassLabel(num_classes=3),
            },
            'qualities': {'bright': np.bool_, 'dark': np.bool_},
            'f0': {
                'hz': f.Tensor(shape=(_TFDS_FRAMES,), dtype=np.float32),
                'midi': f.Tensor(shape=(_TFDS_FRAMES,), dtype=np.float32),
                'confidence': f.Tensor(shape=(_TFDS_FRAMES,),
                                       dtype=np.float32),
            },
            'loudness': {
                'db': f.Tensor(shape=(_TFDS_FRAMES,), dtype=np.float32)
            },
        }))

  def _split_generators(self, dl_manager):
    return {'train': self._generate_examples()}

  def _generate_examples(self):
    for ex in _tfds_examples():
      yield ex['id'], ex


def _tfds_examples():
  rng = np.random.default_rng(7)
  examples = []
  for i in range(_TFDS_N):
    pcm = rng.integers(-32768, 32767, _TFDS_SAMPLES).astype(np.int16)
    examples.append({
        'id': f'note_{i}',
        'audio': rng.uniform(-1, 1, _TFDS_SAMPLES).astype(np.float32),
        'pcm': pcm,
        'pitch': 60 + i,
        'velocity': 100,
        'instrument': {'label': 10 * i, 'family': i, 'source': i % 3},
        'qualities': {'bright': True, 'dark': False},
        'f0': {
            'hz': rng.uniform(100, 500, _TFDS_FRAMES).astype(np.float32),
            'midi': rng.uniform(40, 70, _TFDS_FRAMES).astype(np.float32),
            'confidence': rng.uniform(0, 1, _TFDS_FRAMES).astype(np.float32),
        },
        'loudness': {
            'db': rng.uniform(-80, 0, _TFDS_FRAMES).astype(np.float32)
        },
    })
  return examples


_TFDS_NAME = 'ddsp_test_nsynth/gansynth_subset.f0_and_loudness:2.3.3'


@pytest.fixture
def tfds_dir(tmp_path):
  builder = DdspTestNsynth(config='gansynth_subset.f0_and_loudness',
                           data_dir=str(tmp_path))
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(try_download_gcs=False))
  return str(tmp_path)


def test_nsynth_tfds_renames_the_features(tfds_dir):
  provider = data.NSynthTfds(name=_TFDS_NAME, split='train',
                             data_dir=tfds_dir)
  got = sorted(_as_numpy(provider.get_dataset(shuffle=False)),
               key=lambda ex: int(ex['pitch']))
  want = _tfds_examples()
  assert len(got) == _TFDS_N
  for have, ex in zip(got, want):
    assert sorted(have) == ['audio', 'f0_confidence', 'f0_hz', 'instrument',
                            'instrument_family', 'instrument_source',
                            'loudness_db', 'pitch']
    np.testing.assert_array_equal(have['audio'], ex['audio'])
    np.testing.assert_array_equal(have['f0_hz'], ex['f0']['hz'])
    np.testing.assert_array_equal(have['f0_confidence'],
                                  ex['f0']['confidence'])
    np.testing.assert_array_equal(have['loudness_db'], ex['loudness']['db'])
    assert int(have['pitch']) == ex['pitch']
    assert int(have['instrument']) == ex['instrument']['label']
    assert int(have['instrument_family']) == ex['instrument']['family']
    assert int(have['instrument_source']) == ex['instrument']['source']


def test_nsynth_tfds_batches_without_labels(tfds_dir):
  provider = data.NSynthTfds(name=_TFDS_NAME, data_dir=tfds_dir,
                             include_note_labels=False)
  batch = next(iter(provider.get_batch(2)))
  assert sorted(batch) == ['audio', 'f0_confidence', 'f0_hz', 'loudness_db']
  assert batch['audio'].shape == (2, _TFDS_SAMPLES)
  assert batch['f0_hz'].shape == (2, _TFDS_FRAMES)


def test_tfds_provider_audio_key_scales_integer_audio(tfds_dir):
  provider = data.TfdsProvider(_TFDS_NAME, 'train[:2]', tfds_dir,
                               audio_key='pcm')
  got = list(tfds.as_numpy(provider.get_dataset(shuffle=False)))
  assert len(got) == 2
  assert got[0]['f0']['hz'].shape == (_TFDS_FRAMES,)  # Other keys unchanged.
  want = {ex['id']: ex['pcm'] for ex in _tfds_examples()}
  for ex in got:
    assert 'pcm' not in ex
    assert ex['audio'].dtype == np.float32
    np.testing.assert_allclose(ex['audio'],
                               want[ex['id'].decode()] / 32768.0, rtol=1e-7)


def test_tfds_provider_missing_dataset_is_a_clear_error(tmp_path, tfds_dir):
  with pytest.raises(ValueError, match=r"Cannot load TFDS dataset "
                     r"name='no_such_dataset_xyz'"):
    data.TfdsProvider('no_such_dataset_xyz', data_dir=str(tmp_path)
                     ).get_dataset()
  empty = tmp_path / 'empty'
  empty.mkdir()
  with pytest.raises(ValueError, match=r'Cannot load TFDS dataset .*'
                     r'download=False'):
    data.NSynthTfds(name=_TFDS_NAME, data_dir=str(empty)).get_dataset()
  del tfds_dir


# ----------------------------------------------------------------------------
# In memory, zipped and mixed providers.
# ----------------------------------------------------------------------------
def _constant(value, n=6, sample_rate=16000):
  return data.InMemoryProvider(
      {'audio': np.full([n, 8], value, np.float32),
       'f0_hz': np.full([n, 2], 100.0 * value, np.float32)},
      sample_rate=sample_rate, seed=0)


def test_in_memory_provider(rng):
  audio = rng.standard_normal([5, 8]).astype(np.float32)
  provider = data.InMemoryProvider({'audio': audio}, seed=1)
  got = np.stack([ex['audio'] for ex in _as_numpy(provider.get_dataset())])
  np.testing.assert_array_equal(np.sort(got, axis=0), np.sort(audio, axis=0))
  ordered = _as_numpy(provider.get_dataset(shuffle=False))
  np.testing.assert_array_equal(np.stack([e['audio'] for e in ordered]),
                                audio)
  with pytest.raises(ValueError, match=r'same leading n_examples axis.*'
                     r'audio.shape=\(5, 8\), f0_hz.shape=\(4, 2\)'):
    data.InMemoryProvider({'audio': audio, 'f0_hz': np.zeros([4, 2])})
  with pytest.raises(ValueError, match=r'`features` must be a non-empty'):
    data.InMemoryProvider({})


def test_zipped_provider_splits_the_batch_by_ratio():
  provider = data.ZippedProvider([_constant(0.0), _constant(1.0)], (3, 1))
  first, second = next(iter(provider.get_batch(4)))
  assert first['audio'].shape == (3, 8) and second['audio'].shape == (1, 8)
  np.testing.assert_array_equal(first['audio'], 0.0)
  np.testing.assert_array_equal(second['audio'], 1.0)
  assert provider.batch_sizes(10) == [8, 2]
  a, b = next(iter(provider.get_dataset()))
  assert float(a['f0_hz'][0]) == 0.0 and float(b['f0_hz'][0]) == 100.0
  # Without ratios every provider gives a whole batch, as published.
  whole = data.ZippedProvider([_constant(0.0), _constant(1.0)])
  assert whole.batch_sizes(5) == [5, 5]
  first, second = next(iter(whole.get_batch(4)))
  assert first['audio'].shape == (4, 8) and second['audio'].shape == (4, 8)


def test_zipped_provider_errors():
  with pytest.raises(ValueError, match=r'one positive number per provider '
                     r'\(2\)'):
    data.ZippedProvider([_constant(0.0), _constant(1.0)], (1, 2, 3))
  with pytest.raises(ValueError, match=r'`batch_size`=2 is too small'):
    data.ZippedProvider([_constant(0.0), _constant(1.0)],
                        (5, 1)).get_batch(2)
  with pytest.raises(ValueError, match=r'same sample_rate.*\[16000, 44100\]'):
    data.ZippedProvider([_constant(0.0), _constant(1.0, sample_rate=44100)])
  with pytest.raises(ValueError, match=r'non-empty list of DataProviders'):
    data.ZippedProvider([])


def test_mixed_provider_draws_with_the_weights():
  provider = data.MixedProvider([_constant(0.0), _constant(1.0)],
                                weights=[4.0, 1.0], seed=5)
  batches = list(provider.get_batch(100).take(20))
  values = np.concatenate([b['audio'][:, 0].numpy() for b in batches])
  assert set(np.unique(values)) == {0.0, 1.0}
  # 2000 draws with p = 0.2: the standard deviation of the share is 0.009.
  assert abs(values.mean() - 0.2) < 0.04
  again = list(data.MixedProvider([_constant(0.0), _constant(1.0)],
                                  weights=[4.0, 1.0], seed=5
                                  ).get_batch(100).take(20))
  np.testing.assert_array_equal(
      values, np.concatenate([b['audio'][:, 0].numpy() for b in again]))
  only_first = data.MixedProvider([_constant(0.0), _constant(1.0)],
                                  weights=[1.0, 0.0], seed=0)
  batch = next(iter(only_first.get_batch(50)))
  np.testing.assert_array_equal(batch['audio'], 0.0)


def test_mixed_provider_errors():
  with pytest.raises(ValueError, match=r'`weights` must hold one number >= 0 '
                     r'per provider \(2\), not all zero'):
    data.MixedProvider([_constant(0.0), _constant(1.0)], weights=[0.0, 0.0])
  with pytest.raises(ValueError, match=r'`weights`'):
    data.MixedProvider([_constant(0.0), _constant(1.0)], weights=[1.0])
  other = data.InMemoryProvider({'audio': np.zeros([3, 8], np.float32)})
  with pytest.raises(ValueError, match=r'must give the same features.*'
                     r'Provider 0 gives \{audio: float32\[8\], f0_hz: '
                     r'float32\[2\]\}; provider 1 gives \{audio: '
                     r'float32\[8\]\}'):
    data.MixedProvider([_constant(0.0), other]).get_dataset()
