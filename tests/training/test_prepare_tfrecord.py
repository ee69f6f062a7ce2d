"""Tests for ddsp.training.data_preparation (prepare_tfrecord and its CLI).

The pipeline runs on CREPE tiny twice in this module (each run is cached and
shared by the tests that read its output): once through the
`ddsp_prepare_tfrecord` command line on real audio at 16 and 44.1 kHz plus a
corrupt and a truncated file, once in process with an eval split. Two more
runs use fake features or none (audio only), so they are quick.
"""

import fcntl
import fnmatch
import hashlib
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import tensorflow as tf

from ddsp.training import audio_io
from ddsp.training import data
from ddsp.training.data_preparation import prepare_tfrecord_lib as lib
from ddsp.training.data_preparation import tfrecord_files

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SR = 16000
FLUTE_START_S = 5  # The flute excerpt: seconds 5-10 of tests/data's clip.
_RUNS = {}


def _cents(a, b):
  return 1200.0 * np.abs(np.log2(a / b))


def _read_records(pattern):
  """All examples of the TFRecords matching `pattern`, as numpy dicts."""
  examples = []
  for path in sorted(tf.io.gfile.glob(pattern)):
    for record in tf.data.TFRecordDataset(path):
      example = tf.train.Example.FromString(record.numpy())
      examples.append({k: np.array(f.float_list.value, np.float32)
                       for k, f in example.features.feature.items()})
  return examples


def _write_inputs(test_data, folder):
  """The violin (16 kHz), flute (44.1 kHz stereo) and corrupt inputs.

  Writes them to `folder` (unless None) and returns the excerpts as the
  pipeline should read them back at 16 kHz mono.
  """
  violin, rate = sf.read(test_data / 'violin_6s.flac', dtype='int16')
  assert rate == SR
  flute, _ = sf.read(test_data / 'flute_10s.flac', dtype='float32')
  flute = flute[FLUTE_START_S * SR:(FLUTE_START_S + 5) * SR]
  if folder is not None:
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / 'violin_6s.wav', violin, SR, subtype='PCM_16')
    flute_44k = scipy.signal.resample_poly(flute, 441, 160)
    # Stereo with a quieter right channel: the mono mix is 0.75 * flute.
    sf.write(folder / 'flute_44k.wav',
             np.stack([flute_44k, 0.5 * flute_44k], 1), 44100,
             subtype='FLOAT')
    (folder / 'corrupt.wav').write_bytes(b'RIFF\x10\x00\x00\x00WAVEno audio')
    _write_truncated_wav(folder / 'cut.wav', violin[:2 * SR], keep=SR)
  return {'violin': violin.astype(np.float32) / 32768.0,
          'flute': 0.75 * flute.astype(np.float32)}


def _write_truncated_wav(path, audio, keep):
  """A 16-bit WAV of `audio` whose data is cut to its first `keep` samples.

  The header still declares all of `audio`, as when a copy or a recording
  stops early.
  """
  sf.write(path, audio, SR, subtype='PCM_16')
  data = path.read_bytes()
  path.write_bytes(data[:data.index(b'data') + 8 + 2 * keep])


def _run_once(tmp_path_factory, name, make):
  """Runs `make(folder)` once per test session and returns its JSON result.

  Under pytest-xdist the workers share one run through a lock file in the
  session's temporary folder, so the pipeline does not run once per worker.
  A failure is recorded and raised again by every test that needs the run.
  """
  if name in _RUNS:
    return _RUNS[name]
  if os.environ.get('PYTEST_XDIST_WORKER'):
    base = tmp_path_factory.getbasetemp().parent  # Shared by the workers.
  else:
    base = tmp_path_factory.getbasetemp()
  folder = base / f'prepare_tfrecord_{name}'
  with open(base / f'prepare_tfrecord_{name}.lock', 'w') as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    done, failed = folder / 'result.json', folder / 'error.txt'
    if not done.exists() and not failed.exists():
      folder.mkdir(parents=True, exist_ok=True)
      try:
        done.write_text(json.dumps(make(folder)))
      except Exception as e:  # pylint: disable=broad-except
        failed.write_text(f'{type(e).__name__}: {e}')
    if failed.exists():
      pytest.fail(f'The {name} pipeline run failed: {failed.read_text()}')
    _RUNS[name] = dict(json.loads(done.read_text()), folder=folder)
  return _RUNS[name]


@pytest.fixture
def cli_run(test_data, tmp_path_factory):
  """One run of the ddsp_prepare_tfrecord command line, shared by tests."""

  def make(folder):
    _write_inputs(test_data, folder / 'audio')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
    command = [
        sys.executable, '-m',
        'ddsp.training.data_preparation.ddsp_prepare_tfrecord',
        f'--input_audio_filepatterns={folder / "audio" / "*.wav"}',
        f'--output_tfrecord_path={folder / "out" / "train.tfrecord"}',
        '--num_shards=2', '--skip_truncated', '--alsologtostderr'
    ]
    proc = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    return {'returncode': proc.returncode, 'stdout': proc.stdout,
            'stderr': proc.stderr}

  run = _run_once(tmp_path_factory, 'cli', make)
  return dict(run, output=run['folder'] / 'out' / 'train.tfrecord',
              sources=_write_inputs(test_data, None))


@pytest.fixture
def eval_run(test_data, tmp_path_factory):
  """One in-process run with an eval split and centered features."""

  def make(folder):
    _write_inputs(test_data, folder / 'audio')
    return lib.prepare_tfrecord(
        [str(folder / 'audio' / 'violin_6s.wav')],
        str(folder / 'out' / 'data.tfrecord'), num_shards=1, example_secs=1,
        hop_secs=1, chunk_secs=1, eval_split_fraction=0.34, center=True)

  run = _run_once(tmp_path_factory, 'eval', make)
  return dict(run, output=run['folder'] / 'out' / 'data.tfrecord',
              sources=_write_inputs(test_data, None))


# ----------------------------------------------------------------------------
# The command line on real audio.
# ----------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_writes_shards_and_reports_the_corrupt_file(cli_run):
  assert cli_run['returncode'] == 0, cli_run['stderr'][-3000:]
  out = cli_run['stdout']
  assert 'files read:       2' in out
  assert 'all examples:     5' in out
  assert 'files skipped:    2' in out
  assert 'corrupt.wav: cannot decode it' in out
  # The truncated file is listed as such, and skipped (--skip_truncated).
  assert 'files truncated:  1' in out
  assert ('cut.wav: truncated: the header declares 32000 samples (2.00 s), '
          'only 16000 (1.00 s) could be read. (--skip_truncated)') in out
  assert '11.0 s' in out  # 6 s of violin + 5 s of flute.
  # Progress: one line per file read and per chunk done.
  assert 'violin_6s.wav (6.0 s)' in cli_run['stderr']
  assert 'features of' in cli_run['stderr']
  assert 'flute_44k.wav' in cli_run['stderr']
  names = sorted(p.name for p in cli_run['output'].parent.iterdir())
  assert names == ['train.tfrecord-00000-of-00002',
                   'train.tfrecord-00001-of-00002', 'train_settings.json']


@pytest.mark.slow
def test_cli_examples_have_expected_count_and_lengths(cli_run):
  examples = _read_records(f'{cli_run["output"]}*')
  # 6 s -> examples starting at 0, 1, 2 s; 5 s -> 0, 1 s (4 s long, 1 s hop).
  assert len(examples) == 5
  for ex in examples:
    assert sorted(ex) == ['audio', 'f0_confidence', 'f0_hz', 'loudness_db']
    assert ex['audio'].shape == (64000,)
    for key in ('f0_hz', 'f0_confidence', 'loudness_db'):
      assert ex[key].shape == (1000,)
    assert np.all(np.isfinite(ex['f0_hz'])) and np.all(ex['f0_hz'] >= 0)
    assert np.all((ex['f0_confidence'] >= 0) & (ex['f0_confidence'] <= 1))


def _match_violin(examples, violin):
  """{start second: example} for examples equal to a violin excerpt."""
  matched = {}
  for ex in examples:
    for start in range(3):
      if np.array_equal(ex['audio'], violin[start * SR:start * SR + 64000]):
        matched[start] = ex
  return matched


@pytest.mark.slow
def test_cli_audio_equals_the_source_excerpts(cli_run):
  examples = _read_records(f'{cli_run["output"]}*')
  violin = cli_run['sources']['violin']
  matched = _match_violin(examples, violin)
  # The 16 kHz file is copied bit-exactly (int16 / 32768).
  assert sorted(matched) == [0, 1, 2]
  # The 44.1 kHz stereo file comes back as its 16 kHz mono mix.
  flute = cli_run['sources']['flute']
  others = [ex for ex in examples
            if not any(ex is m for m in matched.values())]
  assert len(others) == 2
  inner = slice(1000, -1000)  # Away from the resampling filter's edges.
  errors = {}
  for start in (0, 1):
    ref = flute[start * SR:start * SR + 64000][inner]
    errors[start] = min(
        np.sqrt(np.mean((ex['audio'][inner] - ref)**2)) / np.sqrt(np.mean(
            ref**2)) for ex in others)
  assert max(errors.values()) < 0.01, errors


@pytest.mark.slow
def test_cli_features_line_up_with_the_audio(cli_run, test_data):
  examples = _read_records(f'{cli_run["output"]}*')
  matched = _match_violin(examples, cli_run['sources']['violin'])
  truth = np.load(test_data / 'violin_6s.f0_250hz.npy')
  for start, ex in matched.items():
    first = start * 250
    ref = truth[first:first + 1000]
    voiced = (ref > 0) & (ex['f0_confidence'] > 0.5)
    assert voiced.mean() > 0.5
    close = _cents(ex['f0_hz'][voiced], ref[voiced]) < 50
    assert close.mean() > 0.9, (start, close.mean())
    # Loudness follows the energy of the same frames: the best lag between
    # loudness_db and a numpy energy of Hann-windowed 512-sample frames
    # starting every 64 samples (as with 'same' padding) is 0 frames.
    audio = np.pad(ex['audio'], (0, 512))
    window = np.hanning(512)
    energy = np.array([np.mean((window * audio[i * 64:i * 64 + 512])**2)
                       for i in range(1000)])
    energy_db = 10 * np.log10(energy + 1e-8)
    lags = range(-8, 9)
    corr = [np.corrcoef(np.roll(energy_db, lag)[20:-20],
                        ex['loudness_db'][20:-20])[0, 1] for lag in lags]
    assert max(corr) > 0.85, corr
    assert list(lags)[int(np.argmax(corr))] == 0, corr


@pytest.mark.slow
def test_tfrecord_provider_reads_the_cli_output(cli_run):
  pattern = f'{cli_run["output"]}*'
  raw = _read_records(pattern)
  provider = data.TFRecordProvider(pattern, seed=0)
  examples = [{k: v.numpy() for k, v in ex.items()}
              for ex in provider.get_dataset(shuffle=False)]
  assert len(examples) == len(raw) == 5
  key = lambda ex: tuple(ex['audio'][32000:32004])
  for got, want in zip(sorted(examples, key=key), sorted(raw, key=key)):
    for k in want:
      np.testing.assert_array_equal(got[k], want[k])
  batches = list(provider.get_batch(2, repeats=1))
  assert len(batches) == 2  # 5 examples, drop_remainder=True.
  assert batches[0]['audio'].shape == (2, 64000)
  assert batches[0]['loudness_db'].shape == (2, 1000)


@pytest.mark.slow
def test_tfrecord_provider_mismatch_says_both_lengths(cli_run, tmp_path):
  pattern = f'{cli_run["output"]}*'
  # Values that contradict the settings file are refused when constructed.
  with pytest.raises(ValueError, match=r'`example_secs`=2 contradicts the '
                     r'settings of the data set: .*settings.json says '
                     r'example_secs=4'):
    data.TFRecordProvider(pattern, example_secs=2)
  with pytest.raises(ValueError, match=r'`centered`=True contradicts.*'
                     r'center=False'):
    data.TFRecordProvider(pattern, centered=True)
  # Shards without a settings file: the records say what they hold.
  for shard in tf.io.gfile.glob(pattern):
    if not shard.endswith('.json'):
      tf.io.gfile.copy(shard, str(tmp_path / os.path.basename(shard)))
  bare = str(tmp_path / '*')
  with pytest.raises(ValueError, match=r'hold 64000 audio samples .*4 s at '
                     r'sample_rate=16000.* 1000 feature frames.*expect 32000 '
                     r'samples and 500 frames'):
    data.TFRecordProvider(bare, example_secs=2).get_dataset()
  with pytest.raises(ValueError, match=r'1000 feature frames.*expect 64000 '
                     r'samples and 1001 frames'):
    data.TFRecordProvider(bare, centered=True).get_dataset()


# ----------------------------------------------------------------------------
# Eval split (in process).
# ----------------------------------------------------------------------------
@pytest.mark.slow
def test_eval_split_counts_names_and_centered_lengths(eval_run):
  summary, output = eval_run, eval_run['output']
  # 6 chunks of one 1 s example each; round(0.34 * 6) = 2 go to eval.
  assert summary['examples'] == {'train': 4, 'eval': 2}
  assert summary['skipped'] == {}
  assert summary['files_read'] == 1 and summary['seconds_read'] == 6.0
  names = sorted(p.name for p in output.parent.iterdir())
  assert names == ['data.tfrecord-train-00000-of-00001',
                   'data_eval.tfrecord-00000-of-00001', 'data_settings.json']
  # The prefix's pattern reads the train split only.
  assert [pathlib.Path(p).name for p in tf.io.gfile.glob(f'{output}*')] == [
      'data.tfrecord-train-00000-of-00001']
  patterns = {'train': f'{output}-train*',
              'eval': str(output.parent / 'data_eval.tfrecord*')}
  for split, count in (('train', 4), ('eval', 2)):
    examples = _read_records(patterns[split])
    assert len(examples) == count
    for ex in examples:
      assert ex['audio'].shape == (16000,)
      assert ex['f0_hz'].shape == (251,)  # center=True: one more frame.


@pytest.mark.slow
def test_eval_split_is_a_deterministic_partition_by_content(eval_run):
  output = eval_run['output']
  violin = eval_run['sources']['violin']
  seconds = [violin[s * SR:(s + 1) * SR] for s in range(6)]

  def starts(pattern):
    found = []
    for ex in _read_records(pattern):
      found += [s for s, ref in enumerate(seconds)
                if np.array_equal(ex['audio'], ref)]
    return sorted(found)

  train = starts(f'{output}*')
  evaluation = starts(str(output.parent / 'data_eval.tfrecord*'))
  assert sorted(train + evaluation) == list(range(6))  # Disjoint, complete.
  # Eval holds the chunks with the smallest SHA-256 of their audio, so a rerun
  # on the same audio gives the same split.
  digests = [hashlib.sha256(s.astype(np.float32).tobytes()).hexdigest()
             for s in seconds]
  assert evaluation == sorted(np.argsort(digests)[:2].tolist())


@pytest.mark.slow
def test_providers_read_the_eval_split(eval_run):
  output = eval_run['output']
  eval_pattern = str(output.parent / 'data_eval.tfrecord*')
  train = data.TFRecordProvider(f'{output}*', example_secs=1, centered=True)
  evaluation = data.TFRecordProvider(eval_pattern, example_secs=1,
                                     centered=True)
  assert len(list(train.get_dataset())) == 4
  batch = next(iter(evaluation.get_batch(2, shuffle=False)))
  assert batch['audio'].shape == (2, 16000)
  assert batch['f0_confidence'].shape == (2, 251)
  # The settings file says 1 s examples with 'center' padding.
  read = data.TFRecordProvider(eval_pattern)
  assert read.settings_path == str(output.parent / 'data_settings.json')
  assert next(iter(read.get_dataset()))['f0_hz'].shape == (251,)
  with pytest.raises(ValueError, match=r'`centered`=False contradicts'):
    data.TFRecordProvider(eval_pattern, example_secs=1, centered=False)


# ----------------------------------------------------------------------------
# Pieces without Beam.
# ----------------------------------------------------------------------------
def _brute_force_examples(n, example, hop):
  """Number of examples: the fewest starts 0, hop, ... covering n samples."""
  if n == 0:
    return 0
  k = 1
  while (k - 1) * hop + example < n:
    k += 1
  return k


@pytest.mark.parametrize('n', [0, 1, 63999, 64000, 64001, 80000, 80001,
                               123457])
def test_layout_counts_examples_that_cover_the_file(n):
  layout = lib.ExampleLayout(16000, 250, example_secs=4, hop_secs=1)
  assert layout.n_examples(n) == _brute_force_examples(n, 64000, 16000)


@pytest.mark.parametrize('chunk_secs', [None, 1.0, 2.5, 20.0])
@pytest.mark.parametrize('sample_rate,frame_rate', [(16000, 250),
                                                    (44100, 250)])
def test_chunking_keeps_the_example_grid(chunk_secs, sample_rate, frame_rate):
  # A ramp tells every sample's position; the fake per-chunk feature of frame
  # i is the sample at its start, so examples must hold frames starting at
  # their own samples.
  layout = lib.ExampleLayout(sample_rate, frame_rate, example_secs=2,
                             hop_secs=0.4, chunk_secs=chunk_secs)
  n = int(7.3 * sample_rate)
  audio = np.arange(1, n + 1, dtype=np.float64)
  example_len, hop = 2 * sample_rate, int(0.4 * sample_rate)
  examples = []
  for _, n_chunks, n_examples, chunk_audio in layout.chunks(audio):
    n_frames = layout.n_frames(len(chunk_audio))
    starts = np.floor(np.arange(n_frames) * sample_rate / frame_rate + 0.5)
    fake = chunk_audio[starts.astype(int)]
    chunk = {'audio': chunk_audio, 'f0_hz': fake, 'f0_confidence': fake,
             'loudness_db': fake}
    examples.extend(layout.split(chunk, n_examples))
  assert n_chunks == (1 if not chunk_secs else
                      -(-len(examples) // max(1, round(chunk_secs / 0.4))))
  assert len(examples) == _brute_force_examples(n, example_len, hop)
  padded = np.pad(audio, (0, len(examples) * hop + example_len))
  frame_times = np.arange(2 * frame_rate) / frame_rate
  for k, ex in enumerate(examples):
    np.testing.assert_array_equal(ex['audio'],
                                  padded[k * hop:k * hop + example_len])
    want = padded[k * hop + np.floor(frame_times * sample_rate + 0.5).astype(
        int)]
    np.testing.assert_array_equal(ex['f0_hz'], want)


def test_layout_centered_adds_a_frame_and_rejects_fractional_frames():
  layout = lib.ExampleLayout(16000, 250, example_secs=4, hop_secs=1,
                             center=True)
  assert layout.example_frames == 1001
  assert layout.n_frames(64000) == 1001
  layout = lib.ExampleLayout(44100, 250, example_secs=4, hop_secs=1)
  assert (layout.example_samples, layout.example_frames) == (176400, 1000)
  with pytest.raises(ValueError, match=r'`example_secs` must be a whole '
                     r'number of samples and of frames.*multiple of 882 '
                     r'samples.*example_secs=0.01'):
    lib.ExampleLayout(44100, 250, example_secs=0.01, hop_secs=0.01)
  with pytest.raises(ValueError, match=r'`hop_secs`.*multiple of 64 samples'):
    lib.ExampleLayout(16000, 250, example_secs=4, hop_secs=0.001)


def test_layout_without_examples_writes_padded_chunks():
  layout = lib.ExampleLayout(16000, 250, example_secs=None, chunk_secs=1.0)
  chunks = list(layout.chunks(np.ones(40000, np.float32)))
  assert [len(c[3]) for c in chunks] == [16000, 16000, 8000]
  assert layout.n_examples(40000) == 3
  layout = lib.ExampleLayout(16000, 250, example_secs=0, chunk_secs=None)
  ((_, n_chunks, _, audio),) = layout.chunks(np.ones(1000, np.float32))
  assert n_chunks == 1 and len(audio) == 1024  # 16 frames of 64 samples.
  np.testing.assert_array_equal(audio[1000:], 0.0)


def test_float_dict_to_tfexample_round_trips(rng):
  values = {'audio': rng.standard_normal(100).astype(np.float32),
            'f0_hz': rng.uniform(50, 500, 4).astype(np.float32)}
  proto = lib.float_dict_to_tfexample(values).SerializeToString()
  parsed = tf.io.parse_single_example(proto, {
      'audio': tf.io.FixedLenFeature([100], tf.float32),
      'f0_hz': tf.io.FixedLenFeature([4], tf.float32)})
  for k, v in values.items():
    np.testing.assert_array_equal(parsed[k].numpy(), v)


def test_prepare_tfrecord_checks_arguments_before_running(tmp_path):
  out = str(tmp_path / 'x.tfrecord')
  with pytest.raises(ValueError, match=r'`input_audio_paths` must list at '
                     'least one'):
    lib.prepare_tfrecord([], out)
  with pytest.raises(ValueError, match=r'`eval_split_fraction` must be below '
                     r'1.*eval_split_fraction=1.0'):
    lib.prepare_tfrecord(['a.wav'], out, eval_split_fraction=1.0)
  with pytest.raises(ValueError, match=r'`eval_split_fraction` must be a '
                     r'number in \[0.0, 1.0\]'):
    lib.prepare_tfrecord(['a.wav'], out, eval_split_fraction=-0.1)
  with pytest.raises(ValueError, match=r'`example_secs` must be a whole'):
    lib.prepare_tfrecord(['a.wav'], out, example_secs=0.001)
  with pytest.raises(ValueError, match=r'`num_shards` must be a positive'):
    lib.prepare_tfrecord(['a.wav'], out, num_shards=0)
  assert not list(tmp_path.iterdir())  # Nothing ran, nothing was written.


def _decoded_examples(pattern):
  """The examples of `pattern` as a sorted list of (key, values) tuples."""
  return sorted(
      tuple((k, tuple(v.tolist())) for k, v in sorted(ex.items()))
      for ex in _read_records(pattern))


@pytest.mark.slow
def test_two_worker_processes_and_portable_runner_match_in_process(
    test_data, tmp_path, caplog):
  # The same small preparation (CREPE tiny features, an eval split, a corrupt
  # file) in process, on 2 worker processes (Beam's multi-processing direct
  # mode: features, CREPE loading and counters in subprocesses) and on the
  # portable runner with an embedded job server (the job API of Flink and
  # Spark, no download): same examples, counts, summary and settings.
  violin, rate = sf.read(test_data / 'violin_6s.flac', dtype='float32')
  sf.write(tmp_path / 'violin.wav', violin[:2 * rate], rate, subtype='FLOAT')
  corrupt = tmp_path / 'corrupt.wav'
  corrupt.write_bytes(b'RIFF\x10\x00\x00\x00WAVEno audio')
  inputs = [str(tmp_path / 'violin.wav'), str(corrupt)]
  runs = {
      'in_process': [],
      'two_processes': ['--direct_num_workers=2 '
                        '--direct_running_mode=multi_processing'],
      'portable': ['--runner=PortableRunner', '--job_endpoint=embed',
                   '--environment_type=LOOPBACK'],
  }
  summaries, examples, settings = {}, {}, {}
  for name, options in runs.items():
    caplog.clear()
    with caplog.at_level('WARNING'):
      summary = lib.prepare_tfrecord(
          inputs, str(tmp_path / name / 'data.tfrecord'), num_shards=2,
          example_secs=0.5, hop_secs=0.5, chunk_secs=0.5,
          eval_split_fraction=0.25, pipeline_options=options)
    if name == 'two_processes':  # The worker processes' logs come back.
      assert any(r.getMessage().startswith('Worker:')
                 and 'skipping' in r.getMessage() for r in caplog.records)
    examples[name] = {s: _decoded_examples(p)
                      for s, p in summary['file_patterns'].items()}
    settings[name] = tfrecord_files.read_dataset_settings(
        summary['file_patterns']['train'])
    for value in [summary] + list(settings[name]['splits'].values()):
      for key in ('file_pattern', 'file_patterns', 'settings_path'):
        value.pop(key, None)
    summaries[name] = summary
  reference = summaries['in_process']
  # 2 s in 4 chunks of 0.5 s, one to eval; one example per chunk.
  assert reference['examples'] == {'train': 3, 'eval': 1}
  assert reference['files_read'] == 1 and reference['files_skipped'] == 1
  assert list(reference['skipped']) == [str(corrupt)]
  assert len(examples['in_process']['train']) == 3
  for name in ('two_processes', 'portable'):
    assert summaries[name] == reference, name
    assert examples[name] == examples['in_process'], name
    assert settings[name] == settings['in_process'], name


def test_format_summary_lists_splits_and_skipped_files():
  text = lib.format_summary({
      'files_read': 3, 'files_skipped': 1, 'seconds_read': 12.25,
      'chunks': 4, 'chunks_skipped': 0,
      'examples': {'train': 7, 'eval': 2},
      'file_patterns': {'train': 'o-train-?????-of-?????',
                        'eval': 'o-eval-?????-of-?????'},
      'skipped': {'b.wav': 'no such file.'},
      'truncated': {'c.wav': 'truncated: the header declares 9 samples.'},
      'settings_path': 'o_settings.json'})
  assert 'files read:       3' in text
  assert '12.2 s' in text or '12.3 s' in text
  assert 'train examples:   7' in text and 'o-eval-?????-of-?????' in text
  assert 'files skipped:    1' in text and 'b.wav: no such file.' in text
  assert 'files truncated:  1' in text
  assert 'c.wav: truncated: the header declares 9 samples.' in text
  assert 'settings:         o_settings.json' in text


def _fake_features(audio, sample_rate=16000, frame_rate=250, center=False,
                   viterbi=True, crepe_model=None):
  """Stands in for CREPE: fails on loud audio, else constant features."""
  del viterbi, crepe_model
  if np.max(np.abs(audio)) > 0.8:
    raise RuntimeError('boom')
  n = len(audio) * frame_rate // sample_rate + (1 if center else 0)
  return {'f0_hz': np.full(n, 220.0, np.float32),
          'f0_confidence': np.ones(n, np.float32),
          'loudness_db': np.full(n, -30.0, np.float32)}


def test_old_names_of_the_audio_functions_are_kept():
  # Code written against earlier versions imported them from this module.
  assert lib.load_audio is audio_io.load_audio
  assert lib.compute_audio_features is audio_io.compute_audio_features
  assert lib.resample_audio is audio_io.resample_audio
  assert lib.AudioLoadError is audio_io.AudioLoadError


@pytest.mark.slow
def test_settings_file_describes_the_run(eval_run):
  output = eval_run['output']
  eval_pattern = str(output.parent / 'data_eval.tfrecord*')
  path = tfrecord_files.find_dataset_settings(f'{output}*')
  assert path == str(output.parent / 'data_settings.json')
  assert tfrecord_files.find_dataset_settings(eval_pattern) == path
  settings = tfrecord_files.read_dataset_settings(eval_pattern)
  want = {
      'sample_rate': 16000, 'frame_rate': 250, 'example_secs': 1,
      'hop_secs': 1, 'center': True, 'chunk_secs': 1,
      'eval_split_fraction': 0.34, 'num_shards': 1, 'viterbi': True,
      'example_samples': 16000, 'example_frames': 251, 'hop_samples': 16000,
      'frame_hop_samples': 64.0, 'files_read': 1, 'files_skipped': 0,
      'files_truncated': 0, 'seconds_read': 6.0,
      'features': ['audio', 'f0_hz', 'f0_confidence', 'loudness_db']}
  assert {k: settings[k] for k in want} == want
  assert settings['splits'] == {
      'train': {'examples': 4, 'file_pattern': f'{output}-train-?????-of-?????',
                'shards': ['data.tfrecord-train-00000-of-00001']},
      'eval': {'examples': 2,
               'file_pattern': str(output.parent /
                                   'data_eval.tfrecord-?????-of-?????'),
               'shards': ['data_eval.tfrecord-00000-of-00001']}}


# ----------------------------------------------------------------------------
# Runs never mix; truncated files; audio only (quick runs, no CREPE).
# ----------------------------------------------------------------------------
def test_existing_shards_are_refused_before_running(tmp_path):
  old = tmp_path / 'train.tfrecord-00000-of-00001'
  old.write_bytes(b'old')
  with pytest.raises(FileExistsError, match=(
      r'train.tfrecord already holds the output of an earlier run \(1 '
      r'file\(s\), e.g. .*train.tfrecord-00000-of-00001\); a new run beside '
      r'them would mix the two data sets. Pass overwrite=True '
      r'\(--overwrite\)')):
    lib.prepare_tfrecord([str(tmp_path / 'a.wav')],
                         str(tmp_path / 'train.tfrecord'))
  # Published eval names and settings files of the prefix count too.
  old.unlink()
  (tmp_path / 'train.tfrecord-eval-00000-of-00001').write_bytes(b'old')
  with pytest.raises(FileExistsError, match=r'-eval-00000-of-00001'):
    lib.prepare_tfrecord([str(tmp_path / 'a.wav')],
                         str(tmp_path / 'train.tfrecord'),
                         eval_split_fraction=0.2)
  assert sorted(p.name for p in tmp_path.iterdir()) == [
      'train.tfrecord-eval-00000-of-00001']


def _cli_main(argv):
  """Runs the CLI's main in process with `argv`; returns the exit code."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  from ddsp.training.data_preparation import ddsp_prepare_tfrecord as cli  # pylint: disable=g-import-not-at-top
  flags.FLAGS(['ddsp_prepare_tfrecord'] + argv)
  try:
    cli.main([])
  except SystemExit as e:
    return e.code
  finally:
    flags.FLAGS.unparse_flags()
  return 0


def test_cli_refusals_and_permission_errors_are_one_line(tmp_path, capsys,
                                                         monkeypatch):
  sf.write(tmp_path / 'a.wav', np.zeros(1600), SR)
  (tmp_path / 'out').mkdir()
  (tmp_path / 'out' / 'x.tfrecord-00000-of-00002').write_bytes(b'old')
  argv = [f'--input_audio_filepatterns={tmp_path / "a.wav"}',
          f'--output_tfrecord_path={tmp_path / "out" / "x.tfrecord"}']
  assert _cli_main(argv) == 1
  err = capsys.readouterr().err.strip()
  assert err.startswith('ddsp_prepare_tfrecord: ')
  assert 'x.tfrecord already holds the output of an earlier run' in err
  assert '\n' not in err and 'Traceback' not in err

  real_open = open

  def deny(name, *args, **kwargs):
    if '.ddsp_prepare_tfrecord_probe' in str(name):
      raise PermissionError(13, 'Permission denied', str(name))
    return real_open(name, *args, **kwargs)

  # (Tests may run as root, which chmod cannot lock out.)
  monkeypatch.setattr(lib, 'open', deny, raising=False)
  argv[1] = f'--output_tfrecord_path={tmp_path / "locked" / "x.tfrecord"}'
  assert _cli_main(argv) == 1
  err = capsys.readouterr().err.strip()
  assert err == (f'ddsp_prepare_tfrecord: Cannot write the TFRecords in '
                 f'{tmp_path / "locked"}: permission denied '
                 f'({tmp_path / "locked" / ".ddsp_prepare_tfrecord_probe"}).')


def test_fake_features_overwrite_and_truncated_files_kept(tmp_path,
                                                          monkeypatch):
  # Features are faked here (the CREPE runs are above); this checks the
  # pipeline around them: failures per chunk, example_secs=None,
  # num_shards=None, a truncated file kept and reported, and --overwrite
  # removing exactly the shards of the prefix.
  monkeypatch.setattr(audio_io, 'compute_audio_features', _fake_features)
  quiet = 0.1 * np.sin(2 * np.pi * 440 * np.arange(40000) / 16000)
  loud = np.concatenate([quiet, 0.9 * np.ones(16000)])
  sf.write(tmp_path / 'quiet.wav', quiet, 16000, subtype='FLOAT')
  sf.write(tmp_path / 'loud.wav', loud, 16000, subtype='FLOAT')
  _write_truncated_wav(tmp_path / 'cut.wav', quiet[:32000], keep=24000)
  out = tmp_path / 'out'
  out.mkdir()
  old = ['whole.tfrecord-00000-of-00003', 'whole.tfrecord-train-00000-of-00001',
         'whole.tfrecord-eval-00001-of-00002', 'whole_eval.tfrecord-00000-of-'
         '00001', 'whole_settings.json']
  others = ['whole.tfrecord-notes.txt', 'whole.tfrecord2-00000-of-00001',
            'other.tfrecord-00000-of-00001', 'whole.tfrecord-00000-of-3']
  for name in old + others:
    (out / name).write_bytes(b'not from this run')
  output = out / 'whole.tfrecord'
  summary = lib.prepare_tfrecord(
      [str(tmp_path / n) for n in ('quiet.wav', 'loud.wav', 'cut.wav')],
      str(output), example_secs=None, chunk_secs=1.0, overwrite=True)
  # quiet: 40000 samples -> chunks of 16000, 16000, 8000; loud: 56000 ->
  # 16000, 16000, 16000 (fails: 0.9), 8000 (fails); cut: the 24000 samples it
  # holds -> 16000, 8000.
  assert summary['files_read'] == 3 and summary['files_skipped'] == 0
  assert summary['files_truncated'] == 1
  assert summary['truncated'] == {str(tmp_path / 'cut.wav'): (
      'truncated: the header declares 32000 samples (2.00 s), only 24000 '
      '(1.50 s) could be read.')}
  assert summary['chunks'] == 7 and summary['chunks_skipped'] == 2
  assert summary['examples'] == {'all': 7}
  reasons = summary['skipped'][str(tmp_path / 'loud.wav')]
  assert 'features of chunk 3/4 failed: RuntimeError: boom' in reasons
  assert 'features of chunk 4/4 failed' in reasons
  text = lib.format_summary(summary)
  assert 'files truncated:  1' in text and 'cut.wav: truncated:' in text
  examples = _read_records(summary['file_patterns']['all'])
  lengths = sorted(len(ex['audio']) for ex in examples)
  assert lengths == [8000, 8000, 16000, 16000, 16000, 16000, 16000]
  for ex in examples:
    assert len(ex['f0_hz']) == len(ex['audio']) // 64
    np.testing.assert_array_equal(ex['f0_hz'], 220.0)
  # The old shards of the prefix are gone, nothing else was touched.
  names = sorted(p.name for p in out.iterdir())
  shards = [n for n in names if n.startswith('whole.tfrecord-0')
            and n not in others]
  assert len(shards) >= 1
  assert names == sorted(shards + others + ['whole_settings.json'])
  settings = tfrecord_files.read_dataset_settings(
      summary['file_patterns']['all'])
  assert settings['splits']['all']['shards'] == shards
  assert settings['files_truncated'] == 1 and settings['example_secs'] is None


def test_audio_only_eval_split_and_skipped_truncated_file(tmp_path):
  # frame_rate=None: no features, as in the published library. Examples
  # are exact windows of the audio.
  noise = np.random.default_rng(0).uniform(-0.5, 0.5, 4 * SR)
  sf.write(tmp_path / 'noise.wav', noise, SR, subtype='FLOAT')
  _write_truncated_wav(tmp_path / 'cut.wav', noise[:SR], keep=SR // 2)
  output = tmp_path / 'out' / 'audio.tfrecord'
  summary = lib.prepare_tfrecord(
      [str(tmp_path / 'noise.wav'), str(tmp_path / 'cut.wav')], str(output),
      num_shards=2, frame_rate=None, example_secs=0.5, hop_secs=0.5,
      chunk_secs=1.0, eval_split_fraction=0.25, skip_truncated=True)
  assert summary['files_read'] == 1 and summary['files_truncated'] == 1
  assert summary['files_skipped'] == 1
  assert '(--skip_truncated)' in summary['skipped'][str(tmp_path / 'cut.wav')]
  # 4 chunks of 1 s, one to eval; 2 examples of 0.5 s per chunk.
  assert summary['examples'] == {'train': 6, 'eval': 2}
  eval_pattern = str(output.parent / 'audio_eval.tfrecord*')
  train, evaluation = _read_records(f'{output}*'), _read_records(eval_pattern)
  assert len(train) == 6 and len(evaluation) == 2
  windows = noise.astype(np.float32).reshape(8, SR // 2)
  found = []
  for ex in train + evaluation:
    assert sorted(ex) == ['audio']
    found += [i for i, w in enumerate(windows)
              if np.array_equal(ex['audio'], w)]
  assert sorted(found) == list(range(8))
  settings = tfrecord_files.read_dataset_settings(eval_pattern)
  assert settings['features'] == ['audio'] and settings['frame_rate'] is None
  assert settings['example_samples'] == 8000
  assert settings['example_frames'] is None
  assert len(settings['splits']['train']['shards']) == 2


def test_output_file_names_keep_eval_and_settings_outside_the_prefix():
  for prefix, eval_prefix, settings in [
      ('/d/train.tfrecord', '/d/train_eval.tfrecord', '/d/train_settings.json'),
      ('/d/violin', '/d/eval_violin', '/d/settings_violin.json'),
      ('rel.tfr', 'rel_eval.tfr', 'rel_settings.json')]:
    files = tfrecord_files.OutputFiles(prefix, eval_split=True)
    assert files.prefixes == {'train': f'{prefix}-train', 'eval': eval_prefix}
    assert files.settings_path == settings
    for other in (eval_prefix + '-00000-of-00001', settings):
      assert not fnmatch.fnmatch(other, f'{prefix}*'), (prefix, other)
  single = tfrecord_files.OutputFiles('/d/x.tfrecord')
  assert single.file_patterns == {'all': '/d/x.tfrecord-?????-of-?????'}


def test_find_dataset_settings_refuses_mixed_runs(tmp_path):
  for name in ('a', 'b'):
    prefix = tmp_path / f'{name}.tfrecord'
    (tmp_path / f'{name}.tfrecord-00000-of-00001').write_bytes(b'')
    tfrecord_files.write_dataset_settings(
        tfrecord_files.OutputFiles(prefix), {'sample_rate': 16000})
  (tmp_path / 'c.tfrecord-00000-of-00001').write_bytes(b'')  # No settings.
  assert tfrecord_files.read_dataset_settings(
      str(tmp_path / 'a.tfrecord*'))['splits']['all']['shards'] == [
          'a.tfrecord-00000-of-00001']
  assert tfrecord_files.find_dataset_settings(
      str(tmp_path / 'c.tfrecord*')) is None
  with pytest.raises(ValueError, match=r'matches shards of more than one data '
                     r'set \(2 settings file\(s\)'):
    tfrecord_files.find_dataset_settings(str(tmp_path / '[ab].tfrecord*'))
  with pytest.raises(ValueError, match=r'1 file\(s\) listed in none, e.g. '
                     r'.*c.tfrecord-00000-of-00001'):
    tfrecord_files.find_dataset_settings(str(tmp_path / '*.tfrecord*'))
  with pytest.raises(ValueError, match=r'matches no TFRecord file'):
    tfrecord_files.find_dataset_settings(str(tmp_path / 'none*'))
