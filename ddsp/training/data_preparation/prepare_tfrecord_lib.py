"""Audio files to TFRecords of training examples, as an Apache Beam pipeline.

Each audio file is decoded, mixed down to mono and resampled to `sample_rate`,
cut into chunks that bound the memory of one pipeline element, annotated with
CREPE f0 / confidence and A-weighted loudness at `frame_rate`, cut into
overlapping fixed-length examples, optionally split into train and eval sets,
and written as sharded TFRecord files of `tf.train.Example` protos holding four
float lists:

- `audio`: [example_secs * sample_rate] samples in [-1, 1].
- `f0_hz`: [n_frames] CREPE fundamental frequency, Hz.
- `f0_confidence`: [n_frames] CREPE confidence in [0, 1].
- `loudness_db`: [n_frames] A-weighted loudness, dB (about -80 to 0).

`n_frames = example_secs * frame_rate` with `center=False` (features computed
with 'same' padding, frame i starts at time i / frame_rate) and one more frame
with `center=True` ('center' padding, frame i is centred on time
i / frame_rate). Example k starts at sample k * hop_secs * sample_rate and frame
k * hop_secs * frame_rate of its file: audio and features line up exactly.

With `frame_rate=None` (or 0) no features are computed and the examples hold
`audio` only, as in the published library.

Output files (see `tfrecord_files`): without an eval split every shard is
`<output_tfrecord_path>-SSSSS-of-NNNNN`; with `eval_split_fraction > 0` the
train shards are `<output_tfrecord_path>-train-SSSSS-of-NNNNN` and the eval
shards, e.g. for `/data/train.tfrecord`, `/data/train_eval.tfrecord-SSSSS-of-
NNNNN`, outside the pattern `<output_tfrecord_path>*`, which therefore reads
the training examples only. The settings of the run are written beside them
(`/data/train_settings.json`). A run into a prefix that holds shards refuses
unless `overwrite=True`, which removes exactly the old shards first.

Files are read and their features computed by `ddsp.training.audio_io`.
Apache Beam is imported inside the functions that use it, so importing this
module is light.
"""

import collections
import hashlib
import logging
import math
import os

import numpy as np
import tensorflow as tf

from ddsp import validation
from ddsp.training import audio_io
from ddsp.training.data_preparation import beam_options
from ddsp.training.data_preparation import tfrecord_files

# Audio reading and per-clip features live in `ddsp.training.audio_io`; these
# names stay here for code written against earlier versions of this module.
AudioLoadError = audio_io.AudioLoadError
load_audio = audio_io.load_audio
resample_audio = audio_io.resample_audio
compute_audio_features = audio_io.compute_audio_features

__all__ = [
    'AudioLoadError',
    'ExampleLayout',
    'FEATURE_KEYS',
    'compute_audio_features',
    'float_dict_to_tfexample',
    'format_summary',
    'load_audio',
    'prepare_tfrecord',
    'resample_audio',
]

# Names of the float-list features of every written tf.train.Example.
FEATURE_KEYS = ('audio', 'f0_hz', 'f0_confidence', 'loudness_db')

# Beam metric namespaces. Skipped files are counted under a counter whose name
# holds the path and the reason, so the driver can report them after the run
# on any runner that supports metrics, without writing side files.
_NAMESPACE = 'ddsp.prepare_tfrecord'
_SKIPPED_NAMESPACE = 'ddsp.prepare_tfrecord.skipped'
_TRUNCATED_NAMESPACE = 'ddsp.prepare_tfrecord.truncated'
_MAX_REASON_CHARS = 300


# ----------------------------------------------------------------------------
# Chunks and examples.
# ----------------------------------------------------------------------------
def _whole_periods(secs, layout, name):
  """secs -> (samples, frames), raising unless both are whole numbers."""
  samples = secs * layout.sample_rate
  n = int(round(samples))
  if abs(samples - n) > 1e-6 * max(1.0, samples) or n % layout.period_samples:
    if not layout.frame_rate:
      raise ValueError(
          f'`{name}` must be a whole number of samples at sample_rate='
          f'{layout.sample_rate}. Received: {name}={secs}')
    raise ValueError(
        f'`{name}` must be a whole number of samples and of frames, i.e. a '
        f'multiple of {layout.period_samples} samples '
        f'({layout.period_samples / layout.sample_rate:g} s) at sample_rate='
        f'{layout.sample_rate} and frame_rate={layout.frame_rate}. Received: '
        f'{name}={secs}')
  return n, n // layout.period_samples * layout.period_frames


class ExampleLayout:
  """Where chunks and examples start and end, in samples and frames.

  Examples start every `hop_secs` and last `example_secs`; the last one is
  zero-padded at the end so that every sample of the file is in some example
  (a file shorter than `example_secs` gives one padded example). Chunks group
  consecutive examples (about `chunk_secs` of example starts each) and hold
  exactly the audio those examples need, so chunking changes nothing but the
  features of the frames next to chunk edges (CREPE and loudness see zero
  padding there instead of the neighbouring audio).

  The frame hop `sample_rate / frame_rate` need not be an integer (176.4
  samples at 44.1 kHz and 250 Hz): example lengths and hops must then be whole
  numbers of both samples and frames, i.e. multiples of the period
  `sample_rate / gcd(sample_rate, frame_rate)` samples (882 samples = 5 frames
  at 44.1 kHz and 250 Hz; 64 samples = 1 frame at 16 kHz).

  With `frame_rate=None` (or 0) there are no feature frames: only audio is
  cut, and lengths need only be whole numbers of samples.

  With `example_secs=None` (or 0) no examples are cut: each chunk of
  `chunk_secs` (the whole file if `chunk_secs` is None or 0) is written as one
  variable-length example, zero-padded to a whole number of periods.

  Args:
    sample_rate: int, Hz.
    frame_rate: int, frames per second, or None (or 0) for audio only.
    example_secs: float or None, seconds per example.
    hop_secs: float, seconds between example starts.
    chunk_secs: float or None, seconds of audio per pipeline element.
    center: bool, features with 'center' padding (one extra frame).
  """

  def __init__(self, sample_rate=16000, frame_rate=250, example_secs=4,
               hop_secs=1, chunk_secs=20.0, center=False):
    self.sample_rate = validation.check_positive_int(sample_rate,
                                                     'sample_rate')
    if frame_rate:
      self.frame_rate = validation.check_positive_int(frame_rate,
                                                      'frame_rate')
      if frame_rate > sample_rate:
        raise ValueError('`frame_rate` must not exceed `sample_rate`. '
                         f'Received: frame_rate={frame_rate}, '
                         f'sample_rate={sample_rate}')
      g = math.gcd(sample_rate, frame_rate)
      self.period_samples = sample_rate // g
      self.period_frames = frame_rate // g
    else:  # Audio only.
      self.frame_rate = None
      self.period_samples, self.period_frames = 1, 0
    self.center = bool(center)
    self.extra_frames = 1 if center and self.frame_rate else 0
    self.keys = FEATURE_KEYS if self.frame_rate else ('audio',)
    if chunk_secs:
      validation.check_positive(chunk_secs, 'chunk_secs')
    self.chunk_secs = chunk_secs or None
    if example_secs:
      validation.check_positive(example_secs, 'example_secs')
      validation.check_positive(hop_secs, 'hop_secs')
      self.example_samples, example_frames = _whole_periods(
          example_secs, self, 'example_secs')
      self.hop_samples, self.hop_frames = _whole_periods(
          hop_secs, self, 'hop_secs')
      self.example_frames = example_frames + self.extra_frames
      self.examples_per_chunk = (
          max(1, int(round(chunk_secs * sample_rate / self.hop_samples)))
          if chunk_secs else None)
    else:
      self.example_samples = None
      self.chunk_samples = (
          max(1, int(round(chunk_secs * sample_rate / self.period_samples)))
          * self.period_samples if chunk_secs else None)

  def n_frames(self, n_samples):
    """Frames of features for a chunk of `n_samples` (0 for audio only)."""
    return (n_samples // self.period_samples * self.period_frames
            + self.extra_frames)

  def n_examples(self, n_samples):
    """Examples cut from a file of `n_samples` samples."""
    if n_samples <= 0:
      return 0
    if self.example_samples is None:
      return -(-n_samples // self.chunk_samples) if self.chunk_samples else 1
    if n_samples <= self.example_samples:
      return 1
    return -(-(n_samples - self.example_samples) // self.hop_samples) + 1

  def chunks(self, audio):
    """Yields (chunk_index, n_chunks, n_examples_in_chunk, chunk_audio)."""
    n_samples = len(audio)
    if self.example_samples is None:
      period = self.period_samples
      size = self.chunk_samples or -(-n_samples // period) * period
      n_chunks = -(-n_samples // size)
      for c in range(n_chunks):
        chunk = audio[c * size:(c + 1) * size]
        yield c, n_chunks, 1, _pad_to(chunk, -(-len(chunk) // period) * period)
      return
    n_examples = self.n_examples(n_samples)
    per_chunk = self.examples_per_chunk or n_examples
    n_chunks = -(-n_examples // per_chunk)
    for c in range(n_chunks):
      first = c * per_chunk
      count = min(n_examples, first + per_chunk) - first
      start = first * self.hop_samples
      stop = start + (count - 1) * self.hop_samples + self.example_samples
      yield c, n_chunks, count, _pad_to(audio[start:stop], stop - start)

  def split(self, chunk, n_examples):
    """Yields example dicts cut from a chunk dict of audio and features."""
    if self.example_samples is None:
      yield {k: chunk[k] for k in self.keys}
      return
    for j in range(n_examples):
      s, f = j * self.hop_samples, j * self.hop_frames
      example = {'audio': chunk['audio'][s:s + self.example_samples]}
      for k in self.keys[1:]:
        example[k] = chunk[k][f:f + self.example_frames]
      yield example


def _pad_to(x, length):
  if len(x) >= length:
    return x[:length]
  return np.pad(x, (0, length - len(x)))


# ----------------------------------------------------------------------------
# Examples.
# ----------------------------------------------------------------------------
def float_dict_to_tfexample(float_dict):
  """A tf.train.Example with one float list per key of `float_dict`."""
  return tf.train.Example(features=tf.train.Features(feature={
      k: tf.train.Feature(float_list=tf.train.FloatList(
          value=np.asarray(v, np.float32).reshape([-1])))
      for k, v in float_dict.items()
  }))


# ----------------------------------------------------------------------------
# Beam stages: plain functions, so that this module imports without Beam.
# ----------------------------------------------------------------------------
def _counter(name, namespace=_NAMESPACE):
  from apache_beam.metrics import Metrics  # pylint: disable=g-import-not-at-top
  return Metrics.counter(namespace, name)


def _report_file(path, reason, counter, namespace):
  """Counts `counter` and records (path, reason) under `namespace`."""
  _counter(counter).inc()
  name = f'{path}\t{reason}'[:_MAX_REASON_CHARS]
  _counter(name, namespace=namespace).inc()


def _report_skipped(path, reason, counter):
  logging.warning('prepare_tfrecord: skipping %s: %s', path, reason)
  _report_file(path, reason, counter, _SKIPPED_NAMESPACE)


def _load_and_chunk(path, layout, skip_truncated=False):
  """Yields the chunk dicts of one file (none if it cannot be read).

  A truncated file is counted and listed in the summary; it is read up to
  where it ends, or skipped with `skip_truncated`.
  """
  try:
    clip = audio_io.read_audio(path, layout.sample_rate)
  except Exception as e:  # pylint: disable=broad-except
    _report_skipped(path, audio_io.one_line_error(e), 'files_skipped')
    return
  if clip.truncated:
    _report_file(path, clip.truncated, 'files_truncated',
                 _TRUNCATED_NAMESPACE)
    if skip_truncated:
      _report_skipped(path, f'{clip.truncated} (--skip_truncated)',
                      'files_skipped')
      return
    logging.warning('prepare_tfrecord: %s: %s Reading what it holds.', path,
                    clip.truncated)
  audio = clip.audio
  _counter('files_read').inc()
  _counter('samples_read').inc(len(audio))
  n_chunks = 0
  for index, n_chunks, n_examples, chunk in layout.chunks(audio):
    yield {
        'path': path, 'chunk_index': index, 'n_chunks': n_chunks,
        'n_examples': n_examples, 'audio': chunk
    }
  logging.info('prepare_tfrecord: read %s (%.1f s) as %d chunk(s).', path,
               len(audio) / layout.sample_rate, n_chunks)


def _add_features(chunk, layout, viterbi, crepe_model):
  """Yields the chunk with its features (nothing if they fail: reported)."""
  where = f'chunk {chunk["chunk_index"] + 1}/{chunk["n_chunks"]}'
  try:
    features = audio_io.compute_audio_features(
        chunk['audio'], layout.sample_rate, layout.frame_rate, layout.center,
        viterbi, crepe_model)
  except Exception as e:  # pylint: disable=broad-except
    reason = f'features of {where} failed: {audio_io.one_line_error(e)}'
    _report_skipped(chunk['path'], reason, 'chunks_skipped')
    return
  _counter('chunks_done').inc()
  logging.info('prepare_tfrecord: features of %s %s done.', chunk['path'],
               where)
  yield dict(chunk, **features)


def _count_chunk(chunk):
  """The chunk as it is (audio only: no features to compute)."""
  _counter('chunks_done').inc()
  return chunk


def _chunk_key(chunk):
  """Content hash of a chunk: the same audio gets the same split on reruns."""
  return hashlib.sha256(
      np.ascontiguousarray(chunk['audio'], np.float32).tobytes()).hexdigest()


def _add_key(chunk):
  return _chunk_key(chunk), chunk


def _eval_threshold(keys, eval_split_fraction):
  """Largest key of the eval set: the round(fraction * n) smallest hashes.

  At least one chunk goes to each split when there are two or more chunks.
  """
  keys = sorted(keys)
  n = len(keys)
  if n < 2:
    logging.warning(
        'prepare_tfrecord: only %d chunk(s) of audio, so no eval split is '
        'possible; lower chunk_secs to split small datasets.', n)
    return ''
  n_eval = min(max(int(round(eval_split_fraction * n)), 1), n - 1)
  return keys[n_eval - 1]


def _partition_fn(keyed_chunk, unused_n_partitions, threshold):
  """0 for train, 1 for eval."""
  return 1 if threshold and keyed_chunk[0] <= threshold else 0


def _split_examples(chunk, layout, split):
  for example in layout.split(chunk, chunk['n_examples']):
    _counter(f'examples_{split}').inc()
    yield example


def _to_tfexample(example):
  return float_dict_to_tfexample(example)


# ----------------------------------------------------------------------------
# The pipeline.
# ----------------------------------------------------------------------------
def prepare_tfrecord(input_audio_paths,
                     output_tfrecord_path,
                     num_shards=None,
                     sample_rate=16000,
                     frame_rate=250,
                     example_secs=4,
                     hop_secs=1,
                     eval_split_fraction=0.0,
                     chunk_secs=20.0,
                     center=False,
                     viterbi=True,
                     pipeline_options=(),
                     crepe_model=None,
                     overwrite=False,
                     skip_truncated=False):
  """Writes TFRecords of training examples cut from audio files.

  Runs an Apache Beam pipeline: read and resample each file, chunk it, compute
  CREPE f0 / confidence and loudness per chunk, cut examples, split train/eval,
  shuffle, and write sharded TFRecords (see the module docstring for the
  features, and `tfrecord_files` for the file names). Files that cannot be
  read, and chunks whose features fail, are skipped, logged and listed in the
  summary; the rest are processed. Truncated files (a header that declares
  more audio than the file holds) are listed and counted, and read up to where
  they end unless `skip_truncated`. A summary (files, seconds of audio,
  examples per split, truncated and skipped files with reasons) is printed at
  the end, and progress is logged (python `logging`, INFO) per file and per
  chunk. The settings of the run are written beside the shards
  (`tfrecord_files.read_dataset_settings` reads them back).

  A run never mixes with an earlier one: when shards of this prefix exist it
  refuses, unless `overwrite`, which first removes exactly those shards (and
  the settings file) and nothing else.

  Args:
    input_audio_paths: list of str, audio files (WAV, FLAC, OGG, MP3, ...; any
      sample rate and channel count; local or tf.io.gfile URLs).
    output_tfrecord_path: str, path prefix of the TFRecord shards.
    num_shards: int or None, shards per split; None lets the runner choose.
    sample_rate: int, Hz, rate of the written audio (16000 by default).
    frame_rate: int, feature frames per second (250 = hop of 64 samples at
      16 kHz); the hop may be fractional (176.4 samples at 44.1 kHz). None or
      0 computes no features: the examples hold 'audio' only.
    example_secs: float, seconds per example (4 s = 64000 samples at 16 kHz,
      1000 frames at 250 Hz); None or 0 writes each chunk as one example.
    hop_secs: float, seconds between the starts of consecutive examples (1 s
      by default: 4 s examples overlap by 3 s).
    eval_split_fraction: float in [0, 1), fraction of chunks written to the
      eval split; 0 writes a single split. The split is decided per chunk (not
      per example, so overlapping examples of one chunk never straddle the
      splits) from a hash of its audio, so reruns agree.
    chunk_secs: float or None, about this many seconds of example starts per
      pipeline element (bounds memory and the work of one worker); None or 0
      processes whole files.
    center: bool; False computes features with 'same' padding
      (example_secs * frame_rate frames per example), True with 'center'
      padding (one more frame).
    viterbi: bool, Viterbi-smooth the CREPE pitch track.
    pipeline_options: list of str, Beam pipeline flags, e.g.
      `['--runner=DirectRunner', '--direct_num_workers=2']` or the flags of
      Dataflow, Flink or Spark; DirectRunner when empty (run in process, see
      `beam_options.parse_pipeline_options`).
    crepe_model: str or None, CREPE model size for the f0 ('tiny', 'small',
      'medium', 'large', 'full' or a weights path); None uses
      `compute_f0`'s default ('tiny', installed with ddsp). The published
      library used 'full' (`pip install ddsp[crepe_all]`), which is more
      accurate on low notes and about 7 times slower.
    overwrite: bool, remove the shards of an earlier run with this prefix
      first (else a run into such a prefix raises `FileExistsError`).
    skip_truncated: bool, skip truncated files instead of reading what they
      hold (either way they are listed in the summary).

  Returns:
    A dict summarising the run: 'files_read', 'files_skipped',
    'files_truncated', 'seconds_read' (seconds of audio read), 'chunks'
    (with features), 'chunks_skipped' (features failed), 'examples' ({split:
    count}, split 'all' without an eval split, else 'train' and 'eval'),
    'file_patterns' ({split: shard glob}), 'skipped' ({path: reasons} for
    every file skipped in whole or in part), 'truncated' ({path: reason}) and
    'settings_path'.

  Raises:
    ValueError: empty `input_audio_paths`, or settings that do not give whole
      numbers of samples and frames per example.
    FileExistsError: shards of this prefix exist and `overwrite` is False.
    PermissionError: the output folder cannot be written.

  Example:
    >>> prepare_tfrecord(['a.wav', 'b.flac'], '/tmp/data/train.tfrecord',
    ...                  num_shards=2)  # doctest: +SKIP
  """
  input_audio_paths = _check_arguments(input_audio_paths, output_tfrecord_path,
                                       num_shards, eval_split_fraction)
  layout = ExampleLayout(sample_rate, frame_rate, example_secs, hop_secs,
                         chunk_secs, center)
  files = tfrecord_files.OutputFiles(output_tfrecord_path,
                                     eval_split=bool(eval_split_fraction))
  options, runner = beam_options.parse_pipeline_options(pipeline_options)
  _prepare_output_folder(files, overwrite)
  logging.info('prepare_tfrecord: %d file(s) -> %s', len(input_audio_paths),
               files.output_tfrecord_path)

  pipeline = _build_pipeline(
      input_audio_paths, layout, files, runner, options, num_shards,
      eval_split_fraction, viterbi, crepe_model, skip_truncated)
  result = pipeline.run()
  result.wait_until_finish()
  summary = _summarize(result, layout, files)
  tfrecord_files.write_dataset_settings(files, _settings(
      summary, layout, num_shards=num_shards, sample_rate=sample_rate,
      frame_rate=layout.frame_rate, example_secs=example_secs or None,
      hop_secs=hop_secs if example_secs else None, chunk_secs=chunk_secs,
      center=layout.center, eval_split_fraction=eval_split_fraction,
      viterbi=viterbi, crepe_model=crepe_model,
      skip_truncated=skip_truncated))
  print(format_summary(summary), flush=True)
  return summary


def _check_arguments(input_audio_paths, output_tfrecord_path, num_shards,
                     eval_split_fraction):
  """Checks the arguments the layout does not; returns the paths as str."""
  if isinstance(input_audio_paths, (str, bytes, os.PathLike)):
    input_audio_paths = [input_audio_paths]
  input_audio_paths = [os.fspath(p) for p in input_audio_paths]
  if not input_audio_paths:
    raise ValueError('`input_audio_paths` must list at least one audio file. '
                     'Received: input_audio_paths=[]')
  if not output_tfrecord_path:
    raise ValueError('`output_tfrecord_path` must be a path prefix. '
                     f'Received: output_tfrecord_path={output_tfrecord_path!r}')
  validation.check_positive_int(num_shards, 'num_shards', allow_none=True)
  validation.check_in_range(eval_split_fraction, 'eval_split_fraction', 0.0,
                            1.0)
  if eval_split_fraction >= 1.0:
    raise ValueError('`eval_split_fraction` must be below 1 (some data must '
                     'be left to train on). Received: '
                     f'eval_split_fraction={eval_split_fraction}')
  return input_audio_paths


def _prepare_output_folder(files, overwrite):
  """Creates the folder; refuses (or, with `overwrite`, removes) old shards."""
  folder = files.folder
  try:
    if folder:
      tf.io.gfile.makedirs(folder)
    old = files.existing()
    if old and not overwrite:
      raise FileExistsError(
          f'{files.output_tfrecord_path} already holds the output of an '
          f'earlier run ({len(old)} file(s), e.g. {old[0]}); a new run beside '
          'them would mix the two data sets. Pass overwrite=True '
          '(--overwrite) to remove them first, or choose another '
          '--output_tfrecord_path.')
    for path in old:
      logging.info('prepare_tfrecord: removing %s (overwrite).', path)
      tf.io.gfile.remove(path)
    if _is_local(folder or '.'):  # Fail now, not at the end of the run.
      probe = os.path.join(folder or '.', '.ddsp_prepare_tfrecord_probe')
      with open(probe, 'wb'):
        pass
      os.remove(probe)
  except (PermissionError, tf.errors.PermissionDeniedError) as e:
    where = getattr(e, 'filename', None)
    raise PermissionError(
        f'Cannot write the TFRecords in {folder or "."}: permission denied'
        f'{f" ({where})" if where else ""}.') from e


def _is_local(path):
  return '://' not in str(path)


def _build_pipeline(input_audio_paths, layout, files, runner, options,
                    num_shards, eval_split_fraction, viterbi, crepe_model,
                    skip_truncated):
  """The Beam pipeline: read, chunk, features, split, examples, write."""
  import apache_beam as beam  # pylint: disable=g-import-not-at-top
  pipeline = beam.Pipeline(runner=runner, options=options)
  chunks = (
      pipeline
      | 'create' >> beam.Create(input_audio_paths)
      | 'load_and_chunk' >> beam.FlatMap(_load_and_chunk, layout,
                                         skip_truncated)
      | 'spread_chunks' >> beam.Reshuffle())
  if layout.frame_rate:
    chunks |= 'features' >> beam.FlatMap(_add_features, layout, viterbi,
                                         crepe_model)
  else:
    chunks |= 'count_chunks' >> beam.Map(_count_chunk)

  if eval_split_fraction:
    keyed = chunks | 'key' >> beam.Map(_add_key)
    threshold = (
        keyed
        | 'keys' >> beam.Keys()
        | 'all_keys' >> beam.combiners.ToList()
        | 'threshold' >> beam.Map(_eval_threshold, eval_split_fraction))
    train, evaluation = keyed | 'split' >> beam.Partition(
        _partition_fn, 2, beam.pvalue.AsSingleton(threshold))
    splits = {'train': train | 'unkey_train' >> beam.Values(),
              'eval': evaluation | 'unkey_eval' >> beam.Values()}
  else:
    splits = {'all': chunks}

  for split, split_chunks in splits.items():
    _ = (
        split_chunks
        | f'examples_{split}' >> beam.FlatMap(_split_examples, layout, split)
        | f'shuffle_{split}' >> beam.Reshuffle()
        | f'tfexample_{split}' >> beam.Map(_to_tfexample)
        | f'write_{split}' >> beam.io.tfrecordio.WriteToTFRecord(
            files.prefixes[split], num_shards=num_shards or 0,
            coder=beam.coders.ProtoCoder(tf.train.Example)))
  return pipeline


def _summarize(result, layout, files):
  """Reads the Beam counters back into a summary dict."""
  from apache_beam.metrics.metric import MetricsFilter  # pylint: disable=g-import-not-at-top

  def value(counter):
    committed = counter.committed
    return counter.attempted if committed is None else committed

  def listed(namespace):
    reasons = collections.defaultdict(list)
    for c in result.metrics().query(
        MetricsFilter().with_namespace(namespace))['counters']:
      if value(c):
        path, _, reason = c.key.metric.name.partition('\t')
        reasons[path].append(reason)
    return {p: ' | '.join(sorted(r)) for p, r in reasons.items()}

  counters = collections.Counter()
  for c in result.metrics().query(
      MetricsFilter().with_namespace(_NAMESPACE))['counters']:
    counters[c.key.metric.name] += value(c)
  return {
      'files_read': counters['files_read'],
      'seconds_read': counters['samples_read'] / layout.sample_rate,
      'files_skipped': counters['files_skipped'],
      'files_truncated': counters['files_truncated'],
      'chunks': counters['chunks_done'],
      'chunks_skipped': counters['chunks_skipped'],
      'examples': {s: counters[f'examples_{s}'] for s in files.prefixes},
      'file_patterns': dict(files.file_patterns),
      'skipped': listed(_SKIPPED_NAMESPACE),
      'truncated': listed(_TRUNCATED_NAMESPACE),
      'settings_path': files.settings_path,
  }


def _settings(summary, layout, **arguments):
  """The settings file's content: the run's arguments, layout and counts."""
  from ddsp import version  # pylint: disable=g-import-not-at-top
  example_samples = getattr(layout, 'example_samples', None)
  settings = dict(arguments)
  settings.update(
      ddsp_version=version.__version__,
      features=list(layout.keys),
      example_samples=example_samples,
      example_frames=(layout.example_frames
                      if example_samples and layout.frame_rate else None),
      hop_samples=layout.hop_samples if example_samples else None,
      frame_hop_samples=(layout.sample_rate / layout.frame_rate
                         if layout.frame_rate else None),
      files_read=summary['files_read'],
      files_skipped=summary['files_skipped'],
      files_truncated=summary['files_truncated'],
      seconds_read=summary['seconds_read'],
      splits={s: {'examples': n} for s, n in summary['examples'].items()})
  return settings


def format_summary(summary):
  """Human-readable text of a `prepare_tfrecord` summary dict."""
  lines = [
      'prepare_tfrecord summary:',
      f'  files read:       {summary["files_read"]}',
      f'  audio read:       {summary["seconds_read"]:.1f} s',
  ]
  for split, count in summary['examples'].items():
    lines.append(f'  {split + " examples:":17s} {count:<6d} -> '
                 f'{summary["file_patterns"][split]}')
  truncated = summary.get('truncated', {})
  if truncated:
    lines.append(f'  files truncated:  {len(truncated)} (the header declares '
                 'more audio than the file holds)')
    for path, reason in sorted(truncated.items()):
      lines.append(f'    {path}: {reason}')
  lines.append(f'  files skipped:    {summary["files_skipped"]}')
  if summary['chunks_skipped']:
    lines.append(f'  chunks skipped:   {summary["chunks_skipped"]}')
  for path, reason in sorted(summary['skipped'].items()):
    lines.append(f'    {path}: {reason}')
  if summary.get('settings_path'):
    lines.append(f'  settings:         {summary["settings_path"]}')
  return '\n'.join(lines)
