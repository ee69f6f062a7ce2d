"""Data providers: tf.data pipelines of training examples.

Every provider yields feature dicts with the same keys and shapes (one example,
before batching):

- `audio`: [n_samples] float32, in [-1, 1], n_samples = example_secs *
  sample_rate (64000 for 4 s at 16 kHz).
- `f0_hz`: [n_frames] float32, Hz, the CREPE fundamental frequency.
- `f0_confidence`: [n_frames] float32, in [0, 1].
- `loudness_db`: [n_frames] float32, dB, A-weighted (about -80 to 0).

n_frames = example_secs * frame_rate (1000 for 4 s at 250 Hz), plus one frame
for features computed with 'center' padding (`centered=True`).

`get_dataset(shuffle)` gives single examples; `get_batch(batch_size, ...)`
repeats and batches them (a leading `batch` axis on every feature). All
providers are registered with gin, e.g. in a gin file:

    train.data_provider = @data.TFRecordProvider()
    TFRecordProvider.file_pattern = '/data/train.tfrecord*'

TFRecords are written by `ddsp_prepare_tfrecord`
(`ddsp.training.data_preparation`).
"""

import logging

import numpy as np
import tensorflow as tf

from ddsp import registration
from ddsp import validation

__all__ = [
    'BaseMultiProvider',
    'DataProvider',
    'ExperimentalDataProvider',
    'InMemoryProvider',
    'LegacyTFRecordProvider',
    'MixedProvider',
    'NSynthTfds',
    'RecordProvider',
    'SyntheticNotes',
    'TFRecordProvider',
    'TfdsProvider',
    'Urmp',
    'UrmpMidi',
    'UrmpMidiUnsegmented',
    'ZippedProvider',
]

_AUTOTUNE = tf.data.AUTOTUNE
_FEATURE_KEYS = ('audio', 'f0_hz', 'f0_confidence', 'loudness_db')
_FRAME_KEYS = ('f0_hz', 'f0_confidence', 'loudness_db')
# How many files `TFRecordProvider` checks (first record of each) before
# building the dataset.
_MAX_FILES_CHECKED = 16


def _check_repeats(repeats):
  if repeats is None or repeats == -1:
    return repeats
  return validation.check_positive_int(repeats, 'repeats')


class DataProvider:
  """Base class: a source of feature dicts at one sample rate and frame rate.

  Subclasses implement `get_dataset(shuffle)`.

  Args:
    sample_rate: int, Hz, the rate of `audio` (16000 by default).
    frame_rate: int, frames per second of the frame-rate features (250 by
      default: one frame per 64 samples at 16 kHz).
  """

  def __init__(self, sample_rate=16000, frame_rate=250):
    self._sample_rate = validation.check_positive_int(sample_rate,
                                                      'sample_rate')
    self._frame_rate = validation.check_positive_int(frame_rate, 'frame_rate')

  @property
  def sample_rate(self):
    """Audio samples per second."""
    return self._sample_rate

  @property
  def frame_rate(self):
    """Feature frames per second."""
    return self._frame_rate

  def get_dataset(self, shuffle=True):
    """A tf.data.Dataset of single (unbatched) examples.

    Args:
      shuffle: bool, shuffle the order of files and examples.

    Returns:
      tf.data.Dataset of feature dicts.
    """
    raise NotImplementedError

  def get_batch(self, batch_size, shuffle=True, repeats=-1,
                drop_remainder=True):
    """A repeated, batched and prefetched tf.data.Dataset of examples.

    Args:
      batch_size: int > 0, examples per batch.
      shuffle: bool, shuffle the order of files and examples.
      repeats: int, passes over the data; -1 (or None) repeats forever.
      drop_remainder: bool, drop a last batch smaller than `batch_size` (keeps
        the batch axis static, as TPUs and `tf.function` retracing prefer).

    Returns:
      tf.data.Dataset of feature dicts with a leading batch axis.

    Raises:
      ValueError: `batch_size` or `repeats` is not a valid count.

    Example:
      >>> provider = InMemoryProvider({'audio': np.zeros([4, 16000])})
      >>> batch = next(iter(provider.get_batch(2)))
      >>> batch['audio'].shape
      TensorShape([2, 16000])
    """
    batch_size = validation.check_positive_int(batch_size, 'batch_size')
    repeats = _check_repeats(repeats)
    dataset = self.get_dataset(shuffle)
    dataset = dataset.repeat(repeats)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(buffer_size=_AUTOTUNE)


@registration.register('ddsp.training.data')
class InMemoryProvider(DataProvider):
  """Examples held in memory as numpy arrays (tests, tutorials, small data).

  Args:
    features: dict of arrays, each [n_examples, ...]; typically 'audio'
      [n_examples, n_samples] and 'f0_hz', 'f0_confidence', 'loudness_db'
      [n_examples, n_frames] (float32).
    sample_rate: int, Hz, the rate of the audio.
    frame_rate: int, frames per second of the features.
    seed: int or None, seed of the example shuffle (None: not reproducible).

  Raises:
    ValueError: `features` is empty or its arrays differ in n_examples.

  Example:
    >>> provider = InMemoryProvider({'audio': np.zeros([3, 64000], np.float32),
    ...                              'f0_hz': np.zeros([3, 1000], np.float32)})
    >>> sorted(next(iter(provider.get_dataset())))
    ['audio', 'f0_hz']
  """

  def __init__(self, features, sample_rate=16000, frame_rate=250, seed=None):
    super().__init__(sample_rate, frame_rate)
    if not isinstance(features, dict) or not features:
      raise ValueError('`features` must be a non-empty dict of arrays '
                       f'[n_examples, ...]. Received: features={features!r}')
    features = {k: np.asarray(v) for k, v in features.items()}
    counts = {k: (v.shape[0] if v.ndim else None) for k, v in features.items()}
    if None in counts.values() or len(set(counts.values())) != 1:
      detail = ', '.join(f'{k}.shape={features[k].shape}' for k in features)
      raise ValueError('Every array of `features` must have the same leading '
                       f'n_examples axis. Received: {detail}')
    self._features = {
        k: v.astype(np.float32) if v.dtype == np.float64 else v
        for k, v in features.items()
    }
    self._n_examples = next(iter(counts.values()))
    self._seed = seed

  def get_dataset(self, shuffle=True):
    dataset = tf.data.Dataset.from_tensor_slices(self._features)
    if shuffle:
      dataset = dataset.shuffle(max(self._n_examples, 1), seed=self._seed,
                                reshuffle_each_iteration=True)
    return dataset


# ----------------------------------------------------------------------------
# TFRecords.
# ----------------------------------------------------------------------------
class RecordProvider(DataProvider):
  """Fixed-length examples from record files of serialized tf.train.Example.

  Args:
    file_pattern: str or list of str, glob(s) of the record files, e.g.
      '/data/train.tfrecord*'. None uses `default_file_pattern`.
    example_secs: float, seconds per example (4 by default).
    sample_rate: int, Hz (16000 by default).
    frame_rate: int, frames per second (250 by default).
    data_format_map_fn: callable, filename -> dataset of serialized records
      (tf.data.TFRecordDataset by default).
    centered: bool, the features were computed with 'center' padding (one more
      frame per example, `ddsp_prepare_tfrecord --center`).
    shuffle_buffer_size: int, examples in the shuffle buffer when shuffling
      (100 by default: about 26 MB for 4 s at 16 kHz); 0 shuffles only the
      order of the files.
    seed: int or None, seed of the file and example shuffles.

  Raises:
    ValueError: no `file_pattern`, or settings that do not give whole numbers
      of samples and frames per example.
  """

  def __init__(self, file_pattern=None, example_secs=4, sample_rate=16000,
               frame_rate=250, data_format_map_fn=tf.data.TFRecordDataset,
               centered=False, shuffle_buffer_size=100, seed=None):
    super().__init__(sample_rate, frame_rate)
    self._file_pattern = file_pattern or self.default_file_pattern
    validation.check_positive(example_secs, 'example_secs')
    self._example_secs = example_secs
    self._centered = bool(centered)
    self._audio_length = _whole(example_secs * sample_rate, 'example_secs',
                                'samples (example_secs * sample_rate)')
    self._feature_length = _whole(example_secs * frame_rate, 'example_secs',
                                  'frames (example_secs * frame_rate)')
    self._feature_length += 1 if centered else 0
    self._data_format_map_fn = data_format_map_fn
    self._shuffle_buffer_size = validation.check_non_negative_int(
        shuffle_buffer_size, 'shuffle_buffer_size')
    self._seed = seed

  @property
  def default_file_pattern(self):
    """The file pattern used when none is given to the constructor."""
    raise ValueError(
        f'`file_pattern` is required for {type(self).__name__}: pass the glob '
        'of the TFRecords written by ddsp_prepare_tfrecord, e.g. '
        "file_pattern='/data/train.tfrecord*'. Received: file_pattern=None")

  @property
  def features_dict(self):
    """The tf.io parsing spec: fixed-length float32 features."""
    return {
        'audio': tf.io.FixedLenFeature([self._audio_length], tf.float32),
        **{k: tf.io.FixedLenFeature([self._feature_length], tf.float32)
           for k in _FRAME_KEYS},
    }

  def _list_files(self):
    patterns = self._file_pattern
    patterns = [patterns] if isinstance(patterns, (str, bytes)) else patterns
    filenames = sorted({f for p in patterns for f in tf.io.gfile.glob(str(p))})
    if not filenames:
      raise ValueError(f'No files match `file_pattern`={self._file_pattern!r}.')
    return filenames

  def _settings(self):
    return (f'{type(self).__name__}(example_secs={self._example_secs}, '
            f'sample_rate={self.sample_rate}, frame_rate={self.frame_rate}, '
            f'centered={self._centered})')

  # What writes the records this provider reads (for error messages).
  _WRITTEN_BY = 'ddsp_prepare_tfrecord'

  def _check_first_records(self, filenames):
    """Raises a clear ValueError if the records do not fit `features_dict`.

    Reads the first record of each of the first `_MAX_FILES_CHECKED` files;
    raises if all files are read and none holds a record.
    """
    spec = self.features_dict
    n_empty = 0
    for filename in filenames[:_MAX_FILES_CHECKED]:
      try:
        records = list(self._data_format_map_fn(filename).take(1))
      except (tf.errors.OpError, ValueError) as e:
        raise ValueError(
            f'{filename} (matched by `file_pattern`={self._file_pattern!r}) is '
            f'not a readable record file: {" ".join(str(e).split())[:300]}'
        ) from e
      if not records:
        n_empty += 1  # An empty shard.
        continue
      example = tf.train.Example.FromString(records[0].numpy())
      found = {k: len(getattr(f, f.WhichOneof('kind')).value)
               if f.WhichOneof('kind') else 0
               for k, f in example.features.feature.items()}
      missing = [k for k in spec if k not in found]
      if missing:
        raise ValueError(
            f'The records of {filename} lack the feature(s) {missing}; '
            f'they hold {sorted(found)}. {type(self).__name__} reads '
            f'{list(spec)} as written by {self._WRITTEN_BY}.')
      expected = {k: int(np.prod(f.shape)) for k, f in spec.items()
                  if isinstance(f, tf.io.FixedLenFeature)}
      wrong = [k for k in expected if found[k] != expected[k]]
      if not wrong:
        continue
      if set(wrong) <= set(_FEATURE_KEYS) and self._audio_and_frames(spec):
        frames = sorted({found[k] for k in _FRAME_KEYS})
        frames = ' or '.join(str(f) for f in frames)
        raise ValueError(
            f'The examples in {filename} do not match {self._settings()}: '
            f'they hold {found["audio"]} audio samples '
            f'({found["audio"] / self.sample_rate:g} s at sample_rate='
            f'{self.sample_rate}) and {frames} feature frames, but these '
            f'settings expect {self._audio_length} samples and '
            f'{self._feature_length} frames. Pass the example_secs, '
            'sample_rate, frame_rate and center(ed) values that were given to '
            f'{self._WRITTEN_BY}.')
      detail = ', '.join(
          f'{k!r} holds {found[k]} values, expected {expected[k]} '
          f'(shape {list(spec[k].shape)})' for k in wrong)
      raise ValueError(f'The examples in {filename} do not match '
                       f'{self._settings()}: {detail}.')
    if n_empty == len(filenames):
      raise ValueError(
          f'The {n_empty} file(s) matching `file_pattern`='
          f'{self._file_pattern!r} hold no examples.')

  def _audio_and_frames(self, spec):
    """Whether `spec` reads the standard audio and frame features."""
    want = {'audio': [self._audio_length],
            **{k: [self._feature_length] for k in _FRAME_KEYS}}
    return all(isinstance(spec.get(k), tf.io.FixedLenFeature)
               and list(spec[k].shape) == v for k, v in want.items())

  def get_dataset(self, shuffle=True):
    """Examples parsed from the record files.

    Checks the first record of the first files against the provider settings
    before building the pipeline.

    Args:
      shuffle: bool, shuffle the order of the files (each pass) and the
        examples (through a buffer of `shuffle_buffer_size`).

    Returns:
      tf.data.Dataset of feature dicts: 'audio' [n_samples], 'f0_hz',
      'f0_confidence', 'loudness_db' [n_frames], float32.

    Raises:
      ValueError: no file matches `file_pattern`, the files hold no examples,
        a file is not a record file, or its examples have other lengths or
        features than this provider expects (the message gives both).
    """
    filenames = self._list_files()
    self._check_first_records(filenames)
    features_dict = self.features_dict

    def parse(record):
      return tf.io.parse_single_example(record, features_dict)

    files = tf.data.Dataset.from_tensor_slices(filenames)
    if shuffle:
      files = files.shuffle(len(filenames), seed=self._seed,
                            reshuffle_each_iteration=True)
    dataset = files.interleave(
        self._data_format_map_fn, cycle_length=min(len(filenames), 40),
        num_parallel_calls=_AUTOTUNE, deterministic=True)
    if shuffle and self._shuffle_buffer_size:
      dataset = dataset.shuffle(self._shuffle_buffer_size, seed=self._seed,
                                reshuffle_each_iteration=True)
    return dataset.map(parse, num_parallel_calls=_AUTOTUNE, deterministic=True)


def _whole(value, name, unit):
  count = int(round(value))
  if abs(value - count) > 1e-6 * max(1.0, abs(value)):
    raise ValueError(f'`{name}` must give a whole number of {unit}. '
                     f'Received: {name} -> {value} {unit}')
  return count


@registration.register('ddsp.training.data')
class TFRecordProvider(RecordProvider):
  """Examples from TFRecord files written by `ddsp_prepare_tfrecord`.

  The sample rate, frame rate, example length and centering of the data are
  read from the settings file `ddsp_prepare_tfrecord` wrote beside the
  shards (`tfrecord_files.data_layout`), so they need not be given again;
  a value given here must agree with the file. Shards without a settings
  file (published data sets) are read with the given values, else 4 s,
  16 kHz, 250 frames/s, not centered.

  Args:
    file_pattern: str or list of str, glob(s) of the TFRecord shards, e.g.
      '/data/train.tfrecord*' (with an eval split: '...-train*' and
      '...-eval*').
    example_secs: float or None, seconds per example (from the settings
      file; 4 without one).
    sample_rate: int or None, Hz (from the settings file; 16000 without one).
    frame_rate: int or None, frames per second (from the settings file; 250
      without one).
    centered: bool or None, `ddsp_prepare_tfrecord --center` was used (one
      more frame per example; from the settings file, False without one).
    shuffle_buffer_size: int, examples in the shuffle buffer (100).
    seed: int or None, seed of the file and example shuffles.

  Attributes:
    settings_path: str or None, the settings file read.

  Raises:
    ValueError: a given value contradicts the settings file, or the pattern
      matches shards of more than one `ddsp_prepare_tfrecord` run.

  Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'train.tfrecord')
    >>> floats = lambda n: tf.train.Feature(
    ...     float_list=tf.train.FloatList(value=[0.0] * n))
    >>> record = tf.train.Example(features=tf.train.Features(feature={
    ...     'audio': floats(64000), 'f0_hz': floats(1000),
    ...     'f0_confidence': floats(1000), 'loudness_db': floats(1000)}))
    >>> with tf.io.TFRecordWriter(path) as writer:
    ...   writer.write(record.SerializeToString())
    >>> provider = TFRecordProvider(path.replace('.tfrecord', '.tfrecord*'))
    >>> batch = next(iter(provider.get_batch(2, repeats=2)))
    >>> batch['audio'].shape, batch['f0_hz'].shape
    (TensorShape([2, 64000]), TensorShape([2, 1000]))
  """

  def __init__(self, file_pattern=None, example_secs=None, sample_rate=None,
               frame_rate=None, centered=None, shuffle_buffer_size=100,
               seed=None):
    from ddsp.training.data_preparation import tfrecord_files  # pylint: disable=g-import-not-at-top
    layout = tfrecord_files.data_layout(
        file_pattern, example_secs=example_secs, sample_rate=sample_rate,
        frame_rate=frame_rate, centered=centered)
    self.settings_path = layout['settings_path']
    super().__init__(file_pattern, layout['example_secs'],
                     layout['sample_rate'], layout['frame_rate'],
                     tf.data.TFRecordDataset, centered=layout['centered'],
                     shuffle_buffer_size=shuffle_buffer_size, seed=seed)


@registration.register('ddsp.training.data')
class LegacyTFRecordProvider(TFRecordProvider):
  """TFRecords with audio at one sample rate only (the published 3.x format).

  The published library's later `TFRecordProvider` also read a 16 kHz copy of
  the audio ('audio_16k'); its `LegacyTFRecordProvider` read records with
  only 'audio', 'f0_hz', 'f0_confidence' and 'loudness_db', the format
  `ddsp_prepare_tfrecord` writes. It takes the arguments of
  `TFRecordProvider` and always reads exactly those four features, whatever
  else a record holds.

  Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), 'train.tfrecord')
    >>> floats = lambda n: tf.train.Feature(
    ...     float_list=tf.train.FloatList(value=[0.5] * n))
    >>> record = tf.train.Example(features=tf.train.Features(feature={
    ...     'audio': floats(16000), 'f0_hz': floats(250),
    ...     'f0_confidence': floats(250), 'loudness_db': floats(250),
    ...     'audio_16k': floats(16000)}))
    >>> with tf.io.TFRecordWriter(path) as writer:
    ...   writer.write(record.SerializeToString())
    >>> provider = LegacyTFRecordProvider(path, example_secs=1)
    >>> sorted(next(iter(provider.get_dataset(shuffle=False))))
    ['audio', 'f0_confidence', 'f0_hz', 'loudness_db']
  """

  @property
  def features_dict(self):
    """The tf.io parsing spec: 'audio' and the three frame features."""
    return {
        'audio': tf.io.FixedLenFeature([self._audio_length], tf.float32),
        **{k: tf.io.FixedLenFeature([self._feature_length], tf.float32)
           for k in _FRAME_KEYS},
    }


# ----------------------------------------------------------------------------
# tf.data snapshots.
# ----------------------------------------------------------------------------
@registration.register('ddsp.training.data')
class ExperimentalDataProvider(DataProvider):
  """A dataset saved with `tf.data.Dataset.save` (formerly `experimental.save`).

  Args:
    data_dir: str, the folder `tf.data.Dataset.save(dataset, data_dir)` wrote.
    sample_rate: int, Hz, the rate of the saved audio.
    frame_rate: int, frames per second of the saved features.
    shuffle_buffer_size: int >= 0, examples in the shuffle buffer when
      `get_dataset(shuffle=True)` (0: the saved order).
    seed: int or None, seed of the shuffle.

  Raises:
    ValueError: (in `get_dataset`) nothing was saved in `data_dir`.

  Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> tf.data.Dataset.from_tensor_slices(
    ...     {'audio': tf.zeros([3, 100])}).save(folder)
    >>> provider = ExperimentalDataProvider(folder, 16000, 250)
    >>> next(iter(provider.get_batch(2)))['audio'].shape
    TensorShape([2, 100])
  """

  def __init__(self, data_dir, sample_rate=16000, frame_rate=250,
               shuffle_buffer_size=0, seed=None):
    super().__init__(sample_rate, frame_rate)
    if not isinstance(data_dir, (str, bytes)) and not hasattr(
        data_dir, '__fspath__'):
      raise TypeError('`data_dir` must be the path of a folder written by '
                      f'tf.data.Dataset.save. Received: data_dir={data_dir!r}')
    self.data_dir = str(data_dir)
    self._shuffle_buffer_size = validation.check_non_negative_int(
        shuffle_buffer_size, 'shuffle_buffer_size')
    self._seed = seed

  def get_dataset(self, shuffle=True):
    """The saved examples (shuffled through a buffer if asked).

    Raises:
      ValueError: `data_dir` does not hold a saved dataset.
    """
    if not tf.io.gfile.isdir(self.data_dir) or not tf.io.gfile.exists(
        self.data_dir.rstrip('/') + '/dataset_spec.pb'):
      raise ValueError(
          f'`data_dir`={self.data_dir!r} holds no dataset saved with '
          'tf.data.Dataset.save (no dataset_spec.pb there).')
    dataset = tf.data.Dataset.load(self.data_dir)
    if shuffle and self._shuffle_buffer_size:
      dataset = dataset.shuffle(self._shuffle_buffer_size, seed=self._seed,
                                reshuffle_each_iteration=True)
    return dataset


# ----------------------------------------------------------------------------
# TensorFlow Datasets.
# ----------------------------------------------------------------------------
@registration.register('ddsp.training.data')
class TfdsProvider(DataProvider):
  """Examples of a dataset already prepared with tensorflow-datasets.

  Nothing is downloaded unless `download=True`: prepare the dataset in
  `data_dir` beforehand (e.g. with `tfds build`).

  Args:
    name: str, TFDS name with optional config and version, e.g.
      'nsynth/gansynth_subset.f0_and_loudness:2.3.3'.
    split: str, TFDS split, e.g. 'train' or 'valid[:10%]'.
    data_dir: str or None, TFDS data directory (None: TFDS's default).
    sample_rate: int, Hz, the rate of the dataset's audio.
    frame_rate: int, frames per second of its features.
    audio_key: str or None, a feature exposed as 'audio'; integer audio (TFDS
      stores 16-bit PCM as ints) is scaled to float32 in [-1, 1). None leaves
      the examples as TFDS gives them.
    download: bool, let TFDS download and prepare missing data.
    seed: int or None, seed of the file shuffle.
  """

  def __init__(self, name, split='train', data_dir=None, sample_rate=16000,
               frame_rate=250, audio_key=None, download=False, seed=None):
    super().__init__(sample_rate, frame_rate)
    self._name = name
    self._split = split
    self._data_dir = data_dir
    self._audio_key = audio_key
    self._download = bool(download)
    self._seed = seed

  def _load(self, shuffle):
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    read_config = tfds.ReadConfig(shuffle_seed=self._seed)
    try:
      return tfds.load(self._name, split=self._split, data_dir=self._data_dir,
                       shuffle_files=shuffle, download=self._download,
                       read_config=read_config)
    except (AssertionError, tfds.core.registered.DatasetNotFoundError,
            FileNotFoundError) as e:
      raise ValueError(
          f'Cannot load TFDS dataset name={self._name!r} split='
          f'{self._split!r} from data_dir={self._data_dir!r} (download='
          f'{self._download}): {_first_part(e)}') from e

  def get_dataset(self, shuffle=True):
    """Examples of the TFDS split (files shuffled when `shuffle`).

    Raises:
      ValueError: the dataset is not registered or not prepared in `data_dir`.
    """
    dataset = self._load(shuffle)
    audio_key = self._audio_key
    if audio_key is None:
      return dataset

    def rename(ex):
      ex = dict(ex)
      audio = ex.pop(audio_key)
      if audio.dtype.is_integer:
        audio = tf.cast(audio, tf.float32) / 32768.0
      ex['audio'] = tf.cast(audio, tf.float32)
      return ex

    return dataset.map(rename, num_parallel_calls=_AUTOTUNE,
                       deterministic=True)


@registration.register('ddsp.training.data')
class NSynthTfds(TfdsProvider):
  """NSynth through tensorflow-datasets, with CREPE f0 and loudness features.

  Reads the 'f0_and_loudness' configs of TFDS's `nsynth` (4 s notes at 16 kHz,
  features at 250 Hz) and renames their features to the common keys: 'audio',
  'f0_hz' (`f0/hz`), 'f0_confidence' (`f0/confidence`), 'loudness_db'
  (`loudness/db`), and with `include_note_labels` also 'pitch' (MIDI),
  'instrument_source', 'instrument_family' and 'instrument' (int64 labels).

  Args:
    name: str, TFDS name (default: the GANSynth subset with f0 and loudness).
    split: str, 'train', 'valid' or 'test' (with TFDS slicing).
    data_dir: str, TFDS data directory holding the prepared dataset. The
      default is the public TFDS bucket, which needs network access.
    sample_rate: int, Hz (16000 for NSynth).
    frame_rate: int, frames per second (250 for NSynth's features).
    include_note_labels: bool, add the note and instrument labels.
    seed: int or None, seed of the file shuffle.
  """

  def __init__(self, name='nsynth/gansynth_subset.f0_and_loudness:2.3.3',
               split='train', data_dir='gs://tfds-data/datasets',
               sample_rate=16000, frame_rate=250, include_note_labels=True,
               seed=None):
    if data_dir == 'gs://tfds-data/datasets':
      logging.warning('NSynthTfds reads the public TFDS bucket %s (network '
                      'access needed); pass data_dir for a local copy.',
                      data_dir)
    self._include_note_labels = include_note_labels
    super().__init__(name, split, data_dir, sample_rate, frame_rate,
                     audio_key=None, download=False, seed=seed)

  def get_dataset(self, shuffle=True):
    include_labels = self._include_note_labels

    def preprocess(ex):
      out = {
          'audio': ex['audio'],
          'f0_hz': ex['f0']['hz'],
          'f0_confidence': ex['f0']['confidence'],
          'loudness_db': ex['loudness']['db'],
      }
      if include_labels:
        out.update({
            'pitch': ex['pitch'],
            'instrument_source': ex['instrument']['source'],
            'instrument_family': ex['instrument']['family'],
            'instrument': ex['instrument']['label'],
        })
      return out

    return super().get_dataset(shuffle).map(
        preprocess, num_parallel_calls=_AUTOTUNE, deterministic=True)


# ----------------------------------------------------------------------------
# Combinations of providers.
# ----------------------------------------------------------------------------
def _check_providers(data_providers, name):
  """Raises unless a non-empty list of providers with one sample/frame rate."""
  data_providers = list(data_providers or ())
  if not data_providers or not all(
      isinstance(dp, DataProvider) for dp in data_providers):
    raise ValueError(f'`{name}` must be a non-empty list of DataProviders. '
                     f'Received: {name}={data_providers!r}')
  for attr in ('sample_rate', 'frame_rate'):
    values = [getattr(dp, attr) for dp in data_providers]
    if len(set(values)) > 1:
      raise ValueError(f'All `{name}` must have the same {attr}. '
                       f'Received: {attr}s={values}')
  return data_providers


@registration.register('ddsp.training.data')
class BaseMultiProvider(DataProvider):
  """Base class of providers that combine several providers.

  Args:
    data_providers: list of DataProviders with one sample rate and frame rate.
    batch_size_ratios: list of numbers, one per provider: how much of a batch
      (`ZippedProvider`) or of the draws (`MixedProvider`) comes from each;
      they need not sum to 1 ((2, 1): two thirds from the first). Empty gives
      equal shares.

  Raises:
    ValueError: `data_providers` is empty, holds something else than
      DataProviders or providers with different rates, or the ratios do not
      hold one valid number per provider.
  """

  def __init__(self, data_providers, batch_size_ratios=()):
    data_providers = _check_providers(data_providers, 'data_providers')
    super().__init__(data_providers[0].sample_rate,
                     data_providers[0].frame_rate)
    self._data_providers = data_providers
    self._ratios_given = batch_size_ratios is not None and bool(
        len(batch_size_ratios))
    ratios = (list(batch_size_ratios) if self._ratios_given
              else [1.0] * len(data_providers))
    self._batch_size_ratios = self._check_ratios(ratios, batch_size_ratios)

  @property
  def data_providers(self):
    """The combined providers, in order."""
    return list(self._data_providers)

  @property
  def batch_size_ratios(self):
    """The ratios normalized to sum 1, one per provider."""
    total = float(sum(self._batch_size_ratios))
    return [r / total for r in self._batch_size_ratios]

  def _check_ratios(self, ratios, given, name='batch_size_ratios'):
    if len(ratios) != len(self._data_providers) or not all(
        validation.check_positive(r, name) for r in ratios):
      raise ValueError(f'`{name}` must hold one positive number per '
                       f'provider ({len(self._data_providers)}). Received: '
                       f'{name}={given!r}')
    return [float(r) for r in ratios]


@registration.register('ddsp.training.data')
class ZippedProvider(BaseMultiProvider):
  """Zips several providers: each element is a tuple, one entry per provider.

  Args:
    data_providers: list of DataProviders with one sample rate and frame rate.
    batch_size_ratios: list of numbers > 0, one per provider: in `get_batch`
      the batch is divided in these proportions (e.g. (2, 1): two thirds from
      the first provider). The first provider takes any remainder of the
      rounding. Empty (the default), as published: every provider gives a
      whole batch of `batch_size`, so each element holds one batch per
      provider.

  Example:
    >>> a = InMemoryProvider({'audio': np.zeros([4, 100])})
    >>> b = InMemoryProvider({'audio': np.ones([4, 100])})
    >>> first, second = next(iter(ZippedProvider([a, b], (3, 1)).get_batch(4)))
    >>> first['audio'].shape[0], second['audio'].shape[0]
    (3, 1)
  """

  def get_dataset(self, shuffle=True):
    """Tuples of one example from each provider."""
    return tf.data.Dataset.zip(
        tuple(dp.get_dataset(shuffle) for dp in self._data_providers))

  def batch_sizes(self, batch_size):
    """Examples taken from each provider for a batch of `batch_size`."""
    if not self._ratios_given:
      return [batch_size] * len(self._data_providers)
    total = float(sum(self._batch_size_ratios))
    sizes = [int(batch_size * r / total) for r in self._batch_size_ratios]
    sizes[0] += batch_size - sum(sizes)
    if min(sizes) < 1:
      raise ValueError(
          f'`batch_size`={batch_size} is too small to give every provider an '
          f'example with batch_size_ratios={self._batch_size_ratios} '
          f'(sizes {sizes}).')
    return sizes

  def get_batch(self, batch_size, shuffle=True, repeats=-1,
                drop_remainder=True):
    """Tuples of batches, one per provider, sized by `batch_size_ratios`."""
    batch_size = validation.check_positive_int(batch_size, 'batch_size')
    repeats = _check_repeats(repeats)
    datasets = tuple(
        dp.get_dataset(shuffle).repeat(repeats).batch(
            size, drop_remainder=drop_remainder)
        for dp, size in zip(self._data_providers, self.batch_sizes(batch_size)))
    return tf.data.Dataset.zip(datasets).prefetch(_AUTOTUNE)


@registration.register('ddsp.training.data')
class MixedProvider(BaseMultiProvider):
  """Samples examples from several providers at random, with given weights.

  Each provider is repeated forever, so the mixed dataset is endless.

  Args:
    data_providers: list of DataProviders with the same sample rate, frame
      rate and features (keys, dtypes and shapes).
    batch_size_ratios: list of numbers >= 0 (not all 0), one per provider:
      the probabilities of drawing from each (normalized), as published;
      empty is uniform.
    seed: int or None, seed of the draws.
    weights: the same as `batch_size_ratios` (give one of the two); None is
      uniform.

  Example:
    >>> a = InMemoryProvider({'audio': np.zeros([4, 100])})
    >>> b = InMemoryProvider({'audio': np.ones([4, 100])})
    >>> mixed = MixedProvider([a, b], weights=[1.0, 0.0], seed=0)
    >>> float(next(iter(mixed.get_batch(8)))['audio'].numpy().max())
    0.0
  """

  def __init__(self, data_providers, batch_size_ratios=(), seed=None,
               weights=None):
    given_ratios = batch_size_ratios is not None and len(batch_size_ratios)
    if weights is not None and given_ratios:
      raise ValueError('Give `weights` or `batch_size_ratios` (the same '
                       'thing), not both. Received: weights='
                       f'{weights!r}, batch_size_ratios={batch_size_ratios!r}')
    self._ratios_name = 'weights' if weights is not None else (
        'batch_size_ratios')
    super().__init__(data_providers,
                     weights if weights is not None else batch_size_ratios)
    self._weights = self.batch_size_ratios
    self._seed = seed

  def _check_ratios(self, ratios, given, name=None):
    name = self._ratios_name
    try:
      ratios = [float(w) for w in ratios]
    except (TypeError, ValueError):
      ratios = None
    if (ratios is None or len(ratios) != len(self._data_providers)
        or min(ratios) < 0 or sum(ratios) <= 0):
      raise ValueError(f'`{name}` must hold one number >= 0 per provider '
                       f'({len(self._data_providers)}), not all zero. '
                       f'Received: {name}={given!r}')
    return ratios

  def get_dataset(self, shuffle=True):
    """Endless examples drawn from the providers with `weights`.

    Raises:
      ValueError: the providers give examples of different structure.
    """
    datasets = [dp.get_dataset(shuffle) for dp in self._data_providers]
    specs = [ds.element_spec for ds in datasets]
    for i, spec in enumerate(specs[1:], 1):
      if spec != specs[0]:
        raise ValueError(
            'All `data_providers` of MixedProvider must give the same '
            f'features. Provider 0 gives {_describe(specs[0])}; provider {i} '
            f'gives {_describe(spec)}.')
    datasets = [ds.repeat() for ds in datasets]
    return tf.data.Dataset.sample_from_datasets(
        datasets, weights=self._weights, seed=self._seed)


def _first_part(error):
  """An error message on one line, without TFDS's list of all datasets."""
  text = ' '.join(str(error).split('Available datasets')[0].split())
  return text[:500]


def _describe(spec):
  if isinstance(spec, dict):
    return '{' + ', '.join(f'{k}: {v.dtype.name}{v.shape.as_list()}'
                           for k, v in sorted(spec.items())) + '}'
  return str(spec)


# ----------------------------------------------------------------------------
# Synthetic notes (self-supervision of InverseSynthesis).
# ----------------------------------------------------------------------------
@registration.register('ddsp.training.data')
class SyntheticNotes(TFRecordProvider):
  """Synth controls of random notes, written by ddsp_generate_synthetic_dataset.

  EXPERIMENTAL (the pretraining data of `models.InverseSynthesis`). Each
  example holds the controls of a harmonic-plus-noise synth, not audio (the
  model renders the audio itself):

  - 'f0_hz', 'harm_amp': [n_timesteps, 1] float32 (Hz; linear amplitude).
  - 'harm_dist': [n_timesteps, n_harmonics] float32, normalized harmonic
    distribution.
  - 'sin_amps', 'sin_freqs': [n_timesteps, n_harmonics] float32, the same
    harmonics as free sinusoids (linear amplitudes; Hz).
  - 'noise_magnitudes': [n_timesteps, n_mags] float32, filtered-noise band
    magnitudes.

  Args:
    n_timesteps: int, frames per example (125 in the ICML 2020 configs).
    n_harmonics: int, harmonics (and sinusoids) per frame (100).
    n_mags: int, noise bands per frame (65).
    file_pattern: str or list of str, glob(s) of the TFRecords, e.g.
      '/data/notes.tfrecord*'.
    sample_rate: int, Hz, the rate at which the model renders them (16000).
    shuffle_buffer_size: int, examples in the shuffle buffer (100).
    seed: int or None, seed of the file and example shuffles.

  Raises:
    ValueError: a count is not a positive integer; (in `get_dataset`) no file
      matches or the records hold other features or sizes.

  Example:
    >>> import os, tempfile
    >>> from ddsp.training.data_preparation import prepare_tfrecord_lib
    >>> from ddsp.training.data_preparation import synthetic_data
    >>> path = os.path.join(tempfile.mkdtemp(), 'notes.tfrecord')
    >>> controls = synthetic_data.generate_notes_v2(
    ...     n_batch=1, n_timesteps=10, n_harmonics=4, n_mags=3, seed=0)
    >>> example = prepare_tfrecord_lib.float_dict_to_tfexample(
    ...     {k: v[0] for k, v in controls.items()})
    >>> with tf.io.TFRecordWriter(path) as writer:
    ...   writer.write(example.SerializeToString())
    >>> provider = SyntheticNotes(10, 4, 3, file_pattern=path)
    >>> ex = next(iter(provider.get_dataset(shuffle=False)))
    >>> ex['f0_hz'].shape, ex['harm_dist'].shape, ex['noise_magnitudes'].shape
    (TensorShape([10, 1]), TensorShape([10, 4]), TensorShape([10, 3]))
  """

  _WRITTEN_BY = 'ddsp_generate_synthetic_dataset'

  def __init__(self, n_timesteps, n_harmonics, n_mags, file_pattern=None,
               sample_rate=16000, shuffle_buffer_size=100, seed=None):
    self.n_timesteps = validation.check_positive_int(n_timesteps,
                                                     'n_timesteps')
    self.n_harmonics = validation.check_positive_int(n_harmonics,
                                                     'n_harmonics')
    self.n_mags = validation.check_positive_int(n_mags, 'n_mags')
    super().__init__(file_pattern=file_pattern, sample_rate=sample_rate,
                     shuffle_buffer_size=shuffle_buffer_size, seed=seed)

  @property
  def default_file_pattern(self):
    raise ValueError(
        '`file_pattern` is required for SyntheticNotes: pass the glob of the '
        'TFRecords written by ddsp_generate_synthetic_dataset, e.g. '
        "SyntheticNotes.file_pattern='/data/notes.tfrecord*'. Received: "
        'file_pattern=None')

  def _settings(self):
    return (f'SyntheticNotes(n_timesteps={self.n_timesteps}, n_harmonics='
            f'{self.n_harmonics}, n_mags={self.n_mags})')

  @property
  def features_dict(self):
    """The tf.io parsing spec of the synth controls."""
    t, h = self.n_timesteps, self.n_harmonics
    shapes = {'f0_hz': [t, 1], 'harm_amp': [t, 1], 'harm_dist': [t, h],
              'sin_amps': [t, h], 'sin_freqs': [t, h],
              'noise_magnitudes': [t, self.n_mags]}
    return {k: tf.io.FixedLenFeature(v, tf.float32)
            for k, v in shapes.items()}


# ----------------------------------------------------------------------------
# URMP (the published TFRecords of the URMP dataset).
# ----------------------------------------------------------------------------
# Instrument codes of URMP, in the order of the published `instrument_id`s.
URMP_INSTRUMENTS = ('vn', 'va', 'vc', 'db', 'fl', 'ob', 'cl', 'sax', 'bn',
                    'tpt', 'hn', 'tbn', 'tba')


@registration.register('ddsp.training.data')
class Urmp(LegacyTFRecordProvider):
  """The URMP solo-instrument TFRecords (4 s at 16 kHz, features at 250 Hz).

  Reads the files of the published URMP TFRecords (e.g. a local copy of
  gs://magentadata/datasets/urmp/urmp_20210324) from `base_dir`:
  'urmp_<instrument>_solo_ddsp_conditioning_<split><_suffix>.tfrecord*', or
  'all_instruments_<split><_suffix>.tfrecord*' for `instrument_key='all'`.
  Nothing is downloaded.

  Args:
    base_dir: str, folder of the TFRecords.
    instrument_key: 'all' or one of `URMP_INSTRUMENTS` ('vn', 'va', 'vc',
      'db', 'fl', 'ob', 'cl', 'sax', 'bn', 'tpt', 'hn', 'tbn', 'tba').
    split: str, 'train' or 'test'.
    suffix: None, or a suffix of the file names ('batched': 4 s segments,
      'unbatched': whole recordings), added as '_<suffix>'.

  Raises:
    ValueError: an unknown `instrument_key`; (in `get_dataset`) no file
      matches in `base_dir`.

  Example:
    >>> Urmp('/data/urmp', 'vn', 'test', suffix='batched').file_pattern
    '/data/urmp/urmp_vn_solo_ddsp_conditioning_test_batched.tfrecord*'
  """

  def __init__(self, base_dir, instrument_key='tpt', split='train',
               suffix=None):
    self.instrument_key = validation.check_one_of(
        instrument_key, 'instrument_key', ('all',) + URMP_INSTRUMENTS)
    if not isinstance(split, str) or not split:
      raise ValueError("`split` must be a split name such as 'train' or "
                       f"'test'. Received: split={split!r}")
    self.split = split
    self.base_dir = str(base_dir)
    self.suffix = '' if suffix is None else '_' + str(suffix)
    super().__init__()

  @property
  def default_file_pattern(self):
    if self.instrument_key == 'all':
      name = f'all_instruments_{self.split}{self.suffix}.tfrecord*'
    else:
      name = (f'urmp_{self.instrument_key}_solo_ddsp_conditioning_'
              f'{self.split}{self.suffix}.tfrecord*')
    return self.base_dir.rstrip('/') + '/' + name

  @property
  def file_pattern(self):
    """The glob of the files read."""
    return self._file_pattern


def _instrument_vocab():
  return tf.lookup.StaticHashTable(
      tf.lookup.KeyValueTensorInitializer(
          list(URMP_INSTRUMENTS), tf.range(len(URMP_INSTRUMENTS),
                                           dtype=tf.int64)), -1)


def _add_note_features(ex, vocab, dense):
  """The published reshaping of URMP MIDI features (in place, returns ex)."""
  for key in ('note_active_frame_indices', 'note_active_velocities'):
    ex[key] = tf.reshape(dense(ex[key]), [-1, 128])
  ex['instrument_id'] = vocab.lookup(ex['instrument_id'])
  ex['midi'] = tf.argmax(ex['note_active_frame_indices'], axis=-1)
  ex['f0_hz'] = dense(ex['f0_hz'])[..., tf.newaxis]
  ex['loudness_db'] = dense(ex['loudness_db'])[..., tf.newaxis]
  for key, name in (('note_onsets', 'onsets'), ('note_offsets', 'offsets')):
    total = tf.reduce_sum(tf.reshape(dense(ex[key]), [-1, 128]), axis=-1)
    ex[name] = tf.cast(total > 0, tf.int64)
  return ex


@registration.register('ddsp.training.data')
class UrmpMidi(Urmp):
  """URMP 4 s segments with MIDI note labels (for `MidiAutoencoder`).

  Reads, besides the `Urmp` features, 'power_db' [n_frames],
  'note_active_velocities' and 'note_active_frame_indices' (each
  [n_frames * 128], a piano roll), 'note_onsets' and 'note_offsets'
  ([n_frames * 128]), 'instrument_id' and 'recording_id' (strings), and gives
  each example as published:

  - 'f0_hz', 'loudness_db': [n_frames, 1] float32 (a trailing axis added);
    'f0_confidence', 'power_db': [n_frames] float32.
  - 'note_active_velocities', 'note_active_frame_indices': [n_frames, 128].
  - 'midi': [n_frames] int64, the active MIDI note (argmax of the roll; 0
    where none).
  - 'onsets', 'offsets': [n_frames] int64, 1 where a note starts / ends.
  - 'instrument_id': int64 index in `URMP_INSTRUMENTS` (-1 if unknown);
    'recording_id': string.

  Args: as `Urmp`.

  Example:
    >>> provider = UrmpMidi('/data/urmp', 'fl', suffix='batched')
    >>> provider.features_dict['note_onsets'].shape
    [128000]
  """

  @property
  def features_dict(self):
    n = self._feature_length
    spec = super().features_dict
    spec.update({
        'note_active_velocities': tf.io.FixedLenFeature([n * 128],
                                                        tf.float32),
        'note_active_frame_indices': tf.io.FixedLenFeature([n * 128],
                                                           tf.float32),
        'instrument_id': tf.io.FixedLenFeature([], tf.string),
        'recording_id': tf.io.FixedLenFeature([], tf.string),
        'power_db': tf.io.FixedLenFeature([n], tf.float32),
        'note_onsets': tf.io.FixedLenFeature([n * 128], tf.float32),
        'note_offsets': tf.io.FixedLenFeature([n * 128], tf.float32),
    })
    return spec

  def get_dataset(self, shuffle=True):
    vocab = _instrument_vocab()
    return super().get_dataset(shuffle).map(
        lambda ex: _add_note_features(ex, vocab, lambda x: x),
        num_parallel_calls=_AUTOTUNE, deterministic=True)


@registration.register('ddsp.training.data')
class UrmpMidiUnsegmented(Urmp):
  """Whole URMP recordings (not cut into 4 s) with MIDI note labels.

  The features of `UrmpMidi`, read with variable lengths (each example is a
  whole recording: audio [n_samples], frame features [n_frames], piano rolls
  [n_frames, 128]); batch them with batch size 1 or pad them.

  Args: as `Urmp` (usually `suffix='unbatched'`).

  Example:
    >>> provider = UrmpMidiUnsegmented('/data/urmp', 'vn', suffix='unbatched')
    >>> type(provider.features_dict['audio']).__name__
    'VarLenFeature'
  """

  @property
  def features_dict(self):
    var = lambda: tf.io.VarLenFeature(tf.float32)  # pylint: disable=unnecessary-lambda-assignment
    spec = {k: var() for k in ('audio', 'f0_hz', 'f0_confidence',
                                'loudness_db', 'note_active_velocities',
                                'note_active_frame_indices', 'power_db',
                                'note_onsets', 'note_offsets')}
    spec['instrument_id'] = tf.io.FixedLenFeature([], tf.string)
    spec['recording_id'] = tf.io.FixedLenFeature([], tf.string)
    return spec

  def get_dataset(self, shuffle=True):
    vocab = _instrument_vocab()

    def dense_features(ex):
      ex = dict(ex)
      for key in ('audio', 'f0_confidence', 'power_db'):
        ex[key] = tf.sparse.to_dense(ex[key])
      return _add_note_features(ex, vocab, tf.sparse.to_dense)

    return super().get_dataset(shuffle).map(
        dense_features, num_parallel_calls=_AUTOTUNE, deterministic=True)
