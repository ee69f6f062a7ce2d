"""Tests for ddsp.training.data_preparation (prepare_tfrecord and its CLI).

The pipeline runs twice in this module (each run is cached and shared by the
tests that read its output): once through the `ddsp_prepare_tfrecord` command
line on real audio at 16 and 44.1 kHz plus a corrupt file, once in process with
an eval split. Both use CREPE tiny on a few seconds of audio.
"""

import fcntl
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
  return {'violin': violin.astype(np.float32) / 32768.0,
          'flute': 0.75 * flute.astype(np.float32)}


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
        '--num_shards=2', '--alsologtostderr'
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
  assert 'files skipped:    1' in out
  assert 'corrupt.wav: cannot decode it' in out
  assert '11.0 s' in out  # 6 s of violin + 5 s of flute.
  # Progress: one line per file read and per chunk done.
  assert 'violin_6s.wav (6.0 s)' in cli_run['stderr']
  assert 'features of' in cli_run['stderr']
  assert 'flute_44k.wav' in cli_run['stderr']
  shards = sorted(p.name for p in cli_run['output'].parent.iterdir())
  assert shards == ['train.tfrecord-00000-of-00002',
                    'train.tfrecord-00001-of-00002']


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
def test_tfrecord_provider_mismatch_says_both_lengths(cli_run):
  pattern = f'{cli_run["output"]}*'
  with pytest.raises(ValueError, match=r'hold 64000 audio samples .*4 s at '
                     r'sample_rate=16000.* 1000 feature frames.*expect 32000 '
                     r'samples and 500 frames'):
    data.TFRecordProvider(pattern, example_secs=2).get_dataset()
  with pytest.raises(ValueError, match=r'1000 feature frames.*expect 64000 '
                     r'samples and 1001 frames'):
    data.TFRecordProvider(pattern, centered=True).get_dataset()


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
  assert names == ['data.tfrecord-eval-00000-of-00001',
                   'data.tfrecord-train-00000-of-00001']
  for split, count in (('train', 4), ('eval', 2)):
    examples = _read_records(f'{output}-{split}*')
    assert len(examples) == count
    for ex in examples:
      assert ex['audio'].shape == (16000,)
      assert ex['f0_hz'].shape == (251,)  # center=True: one more frame.


@pytest.mark.slow
def test_eval_split_is_a_deterministic_partition_by_content(eval_run):
  output = eval_run['output']
  violin = eval_run['sources']['violin']
  seconds = [violin[s * SR:(s + 1) * SR] for s in range(6)]

  def starts(split):
    found = []
    for ex in _read_records(f'{output}-{split}*'):
      found += [s for s, ref in enumerate(seconds)
                if np.array_equal(ex['audio'], ref)]
    return sorted(found)

  train, evaluation = starts('train'), starts('eval')
  assert sorted(train + evaluation) == list(range(6))  # Disjoint, complete.
  # Eval holds the chunks with the smallest SHA-256 of their audio, so a rerun
  # on the same audio gives the same split.
  digests = [hashlib.sha256(s.astype(np.float32).tobytes()).hexdigest()
             for s in seconds]
  assert evaluation == sorted(np.argsort(digests)[:2].tolist())


@pytest.mark.slow
def test_providers_read_the_eval_split(eval_run):
  output = eval_run['output']
  train = data.TFRecordProvider(f'{output}-train*', example_secs=1,
                                centered=True)
  evaluation = data.TFRecordProvider(f'{output}-eval*', example_secs=1,
                                     centered=True)
  assert len(list(train.get_dataset())) == 4
  batch = next(iter(evaluation.get_batch(2, shuffle=False)))
  assert batch['audio'].shape == (2, 16000)
  assert batch['f0_confidence'].shape == (2, 251)
  with pytest.raises(ValueError, match=r'251 feature frames.*expect 16000 '
                     r'samples and 250 frames'):
    data.TFRecordProvider(f'{output}-eval*', example_secs=1).get_dataset()


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


def test_pipeline_options_run_direct_runner_in_process():
  from apache_beam.runners.portability.fn_api_runner import fn_runner  # pylint: disable=g-import-not-at-top
  options, runner = lib._pipeline_options(['--runner=DirectRunner'])  # pylint: disable=protected-access
  assert isinstance(runner, fn_runner.FnApiRunner)
  options, runner = lib._pipeline_options(  # pylint: disable=protected-access
      '--direct_num_workers=2,--direct_running_mode=multi_threading')
  assert isinstance(runner, fn_runner.FnApiRunner)
  assert options.get_all_options()['direct_num_workers'] == 2
  _, runner = lib._pipeline_options(['--runner=PrismRunner'])  # pylint: disable=protected-access
  assert runner is None  # Other runners are left to Beam.


def test_format_summary_lists_splits_and_skipped_files():
  text = lib.format_summary({
      'files_read': 3, 'files_skipped': 1, 'seconds_read': 12.25,
      'chunks': 4, 'chunks_skipped': 0,
      'examples': {'train': 7, 'eval': 2},
      'file_patterns': {'train': 'o-train-?????-of-?????',
                        'eval': 'o-eval-?????-of-?????'},
      'skipped': {'b.wav': 'no such file.'}})
  assert 'files read:       3' in text
  assert '12.2 s' in text or '12.3 s' in text
  assert 'train examples:   7' in text and 'o-eval-?????-of-?????' in text
  assert 'files skipped:    1' in text and 'b.wav: no such file.' in text


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


def test_pipeline_skips_failed_chunks_and_writes_whole_chunks(
    tmp_path, monkeypatch):
  # Features are faked here (the CREPE runs are above); this checks the
  # pipeline around them: failures per chunk, example_secs=None, and
  # num_shards=None.
  monkeypatch.setattr(audio_io, 'compute_audio_features', _fake_features)
  quiet = 0.1 * np.sin(2 * np.pi * 440 * np.arange(40000) / 16000)
  loud = np.concatenate([quiet, 0.9 * np.ones(16000)])
  sf.write(tmp_path / 'quiet.wav', quiet, 16000, subtype='FLOAT')
  sf.write(tmp_path / 'loud.wav', loud, 16000, subtype='FLOAT')
  output = tmp_path / 'out' / 'whole.tfrecord'
  summary = lib.prepare_tfrecord(
      [str(tmp_path / 'quiet.wav'), str(tmp_path / 'loud.wav')], str(output),
      example_secs=None, chunk_secs=1.0)
  # quiet: 40000 samples -> chunks of 16000, 16000, 8000; loud: 56000 ->
  # 16000, 16000, 16000 (fails: 0.9), 8000 (fails).
  assert summary['files_read'] == 2 and summary['files_skipped'] == 0
  assert summary['chunks'] == 5 and summary['chunks_skipped'] == 2
  assert summary['examples'] == {'all': 5}
  reasons = summary['skipped'][str(tmp_path / 'loud.wav')]
  assert 'features of chunk 3/4 failed: RuntimeError: boom' in reasons
  assert 'features of chunk 4/4 failed' in reasons
  examples = _read_records(f'{output}*')
  lengths = sorted(len(ex['audio']) for ex in examples)
  assert lengths == [8000, 16000, 16000, 16000, 16000]
  for ex in examples:
    assert len(ex['f0_hz']) == len(ex['audio']) // 64
    np.testing.assert_array_equal(ex['f0_hz'], 220.0)


def test_old_names_of_the_audio_functions_are_kept():
  # Code written against earlier versions imported them from this module.
  assert lib.load_audio is audio_io.load_audio
  assert lib.compute_audio_features is audio_io.compute_audio_features
  assert lib.resample_audio is audio_io.resample_audio
  assert lib.AudioLoadError is audio_io.AudioLoadError
