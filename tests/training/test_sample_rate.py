"""Any sample rate end to end: preparation, training, evaluation, timbre
transfer and export at 32, 44.1 and 48 kHz from one `sample_rate` setting.

The audio is the committed 16 kHz violin clip resampled with scipy (an
independent polyphase resampler); the f0 the data preparation measures at the
new rate is checked against the clip's score f0 (tests/data), and the
exported model's output against the rate it claims (spectral peaks at the
harmonics of the f0 it was given).
"""

import json
import math
import os
import subprocess
import sys

import gin
import numpy as np
import pytest
import scipy.signal
import soundfile
import tensorflow as tf

from ddsp.training import checkpoints
from ddsp.training import data
from ddsp.training import rates
from ddsp.training import timbre_transfer
from ddsp.training.data_preparation import prepare_tfrecord_lib
from ddsp.training.data_preparation import tfrecord_files

from inference_helpers import assert_matches_offline  # tests/training/
import training_helpers  # tests/training/

CLIP_SECS = 2
FRAME_RATE = 250

pytestmark = pytest.mark.filterwarnings(
    'ignore:.*tf.lite.Interpreter is deprecated')


def _resampled_violin(test_data, sample_rate):
  """The first CLIP_SECS of the violin clip at `sample_rate` (scipy)."""
  audio, rate = soundfile.read(os.path.join(test_data, 'violin_6s.flac'),
                               dtype='float32')
  assert rate == 16000
  audio = audio[:CLIP_SECS * rate].astype(np.float64)
  g = math.gcd(sample_rate, rate)
  return scipy.signal.resample_poly(audio, sample_rate // g,
                                    rate // g).astype(np.float32)


# Prepared data and trained models, shared by the tests of a rate.
_PREPARED, _TRAINED = {}, {}


def _prepared(sample_rate, tmp_path_factory):
  """Data prepared at a rate: (audio, pattern)."""
  if sample_rate not in _PREPARED:
    test_data = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                             'data')
    folder = tmp_path_factory.mktemp(f'data_{sample_rate}')
    audio = _resampled_violin(test_data, sample_rate)
    wav = str(folder / 'violin.wav')
    soundfile.write(wav, audio, sample_rate, subtype='FLOAT')
    prepare_tfrecord_lib.prepare_tfrecord(
        [wav], str(folder / 'train.tfrecord'), sample_rate=sample_rate,
        frame_rate=FRAME_RATE, example_secs=1, hop_secs=1, crepe_model='tiny')
    _PREPARED[sample_rate] = audio, str(folder / 'train.tfrecord*')
  return _PREPARED[sample_rate]


@pytest.mark.slow
@pytest.mark.parametrize('sample_rate', [32000, 44100, 48000])
def test_provider_reads_the_rate_from_the_settings_file(
    sample_rate, tmp_path_factory, test_data):
  audio, pattern = _prepared(sample_rate, tmp_path_factory)
  settings = tfrecord_files.read_dataset_settings(pattern)
  assert settings['sample_rate'] == sample_rate
  assert settings['frame_hop_samples'] == pytest.approx(
      sample_rate / FRAME_RATE)
  provider = data.TFRecordProvider(pattern)  # Nothing given again.
  assert (provider.sample_rate, provider.frame_rate) == (sample_rate,
                                                         FRAME_RATE)
  starts = {}
  for ex in provider.get_dataset(shuffle=False):
    assert ex['audio'].shape == (sample_rate,)
    assert ex['f0_hz'].shape == (FRAME_RATE,)
    # Which second of the clip this example is: its audio is that second.
    k = int(np.argmin([np.abs(audio[i * sample_rate:(i + 1) * sample_rate]
                              - ex['audio'].numpy()).max()
                       for i in range(CLIP_SECS)]))
    starts[k] = ex
  assert sorted(starts) == list(range(CLIP_SECS))
  truth = np.load(os.path.join(test_data, 'violin_6s.f0_250hz.npy'))
  for k, ex in starts.items():
    np.testing.assert_allclose(
        ex['audio'], audio[k * sample_rate:(k + 1) * sample_rate], atol=1e-6)
    # CREPE at this rate against the score's f0 (within 50 cents on 90 %).
    f0 = ex['f0_hz'].numpy()
    ref = truth[k * FRAME_RATE:(k + 1) * FRAME_RATE]
    use = (ex['f0_confidence'].numpy() > 0.8) & (ref > 0)
    assert use.mean() > 0.5
    cents = 1200 * np.abs(np.log2(f0[use] / ref[use]))
    assert np.mean(cents < 50) > 0.9, np.median(cents)
  # A value that contradicts the file is refused, naming both.
  with pytest.raises(ValueError, match=f'`sample_rate`=16000 contradicts.*'
                     f'sample_rate={sample_rate}'):
    data.TFRecordProvider(pattern, sample_rate=16000)
  assert data.TFRecordProvider(pattern, sample_rate=sample_rate,
                               example_secs=1).sample_rate == sample_rate


def _ddsp_run(*args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  result = subprocess.run(
      [sys.executable, '-m', 'ddsp.training.ddsp_run', *args],
      capture_output=True, text=True, env=env, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  return result


def _small_solo_instrument(pattern, sample_rate):
  """ddsp_run flags: models/solo_instrument.gin at `sample_rate`, shrunk.
  Only the rate and the example length are given: every length follows."""
  params = [
      f"TFRecordProvider.file_pattern = '{pattern}'",
      f'sample_rate = {sample_rate}', 'example_secs = 1',
      'RnnFcDecoder.rnn_channels = 16', 'RnnFcDecoder.ch = 16',
      'RnnFcDecoder.layers_per_stack = 1',
      'rates.reverb_length.reverb_secs = 0.02',
      'batch_size = 1', 'train.num_steps = 2', 'train.steps_per_save = 2',
      'train.steps_per_summary = 2',
  ]
  return ['--gin_file=models/solo_instrument.gin',
          '--gin_file=datasets/tfrecord.gin'] + [
              f'--gin_param={p}' for p in params]


def _trained(sample_rate, tmp_path_factory):
  """(pattern, save_dir) of a solo-instrument model trained 2 steps."""
  if sample_rate not in _TRAINED:
    _, pattern = _prepared(sample_rate, tmp_path_factory)
    save_dir = str(tmp_path_factory.mktemp(f'model_{sample_rate}'))
    _ddsp_run('--mode=train', f'--save_dir={save_dir}',
              *_small_solo_instrument(pattern, sample_rate))
    _TRAINED[sample_rate] = pattern, save_dir
  return _TRAINED[sample_rate]


@pytest.mark.slow
@pytest.mark.parametrize('sample_rate', [32000, 44100, 48000])
def test_trained_model_has_the_lengths_of_its_rate(sample_rate,
                                                    tmp_path_factory):
  _, save_dir = _trained(sample_rate, tmp_path_factory)
  gin.clear_config()
  model, _, _ = checkpoints.load_model(save_dir)
  group = model.processor_group
  assert group.harmonic.n_samples == sample_rate  # 1 s examples.
  assert group.harmonic.sample_rate == sample_rate
  assert model.preprocessor.time_steps == FRAME_RATE
  assert group.reverb.reverb_length == round(0.02 * sample_rate)
  k = sample_rate / 16000
  expected = [4 * round(s * k / 4) for s in (2048, 1024, 512, 256, 128, 64)]
  assert list(model.loss_objs[0].fft_sizes) == expected
  splits = dict(model.decoder.get_config()['output_splits'])
  # Published at 32 and 48 kHz: 98 bands, 100 harmonics (also above 32 kHz).
  assert splits['noise_magnitudes'] == 98
  assert splits['harmonic_distribution'] == 100
  hop = sample_rate / FRAME_RATE
  assert group.harmonic.amp_resample_method == (
      'window' if hop == int(hop) else 'linear')
  assert checkpoints.model_hop(model, whole=False) == pytest.approx(hop)


@pytest.mark.slow
def test_evaluation_at_48khz(tmp_path_factory):
  """ddsp_run --mode=eval at 48 kHz: its loss is the loaded model's loss on
  one of the two 48 kHz examples, computed here."""
  pattern, save_dir = _trained(48000, tmp_path_factory)
  _ddsp_run('--mode=eval', '--run_once', f'--save_dir={save_dir}',
            '--gin_file=datasets/tfrecord.gin',
            f"--gin_param=TFRecordProvider.file_pattern = '{pattern}'",
            '--gin_param=evaluate.batch_size = 1',
            '--gin_param=evaluate.num_batches = 1')
  events = training_helpers.read_events(
      os.path.join(save_dir, 'summaries', 'eval'))
  (step, eval_loss), = events['losses/total_loss']
  assert step == 2
  gin.clear_config()
  model, _, _ = checkpoints.load_model(save_dir)
  losses = []
  for ex in data.TFRecordProvider(pattern).get_dataset(shuffle=False):
    batch = {k: v[tf.newaxis] for k, v in ex.items()}
    _, loss = model(batch, return_losses=True, training=False)
    losses.append(float(loss['total_loss']))
  # (The two examples differ by far more than this.)
  assert min(abs(l - float(eval_loss)) for l in losses) < 1e-3 * max(losses)


@pytest.mark.slow
@pytest.mark.parametrize('sample_rate', [44100, 48000])
def test_timbre_transfer_at_the_rate(sample_rate, tmp_path_factory, test_data,
                                     tmp_path):
  """A 16 kHz input rendered by the model at its rate (at 44.1 kHz and 250
  frames/s the hop is 176.4 samples)."""
  _, save_dir = _trained(sample_rate, tmp_path_factory)
  source = str(tmp_path / 'input.wav')
  audio, _ = soundfile.read(os.path.join(test_data, 'flute_10s.flac'),
                            dtype='float32')
  soundfile.write(source, audio[:12345], 16000)  # Not whole frames.
  gin.clear_config()
  result = timbre_transfer.timbre_transfer(
      save_dir, source, str(tmp_path / 'out.wav'), adjust=False)
  out, rate = soundfile.read(result['output_path'], dtype='float32')
  assert rate == sample_rate == result['sample_rate']
  # The input at the model's rate, padded to whole frames of whole samples.
  period = sample_rate // math.gcd(sample_rate, FRAME_RATE)
  n_in = math.ceil(12345 * sample_rate / 16000)
  assert out.shape == (math.ceil(n_in / period) * period,)
  n_frames = out.size * FRAME_RATE // sample_rate
  assert result['features']['f0_hz'].shape == (n_frames,)
  assert np.all(np.isfinite(out)) and np.abs(out).max() > 0


@pytest.mark.slow
@pytest.mark.parametrize('sample_rate', [32000, 48000])
def test_export_at_the_rate(sample_rate, tmp_path_factory, tmp_path):
  """The streaming export of a 32/48 kHz model: metadata at the rate, the
  TFLite step gives block_size samples a call, the stream equals the offline
  render after the latency, and a 440 Hz tone has its harmonics where 440 Hz
  lies at this rate."""
  from ddsp.training import ddsp_export  # pylint: disable=g-import-not-at-top
  from ddsp.training import inference  # pylint: disable=g-import-not-at-top
  _, save_dir = _trained(sample_rate, tmp_path_factory)
  hop = sample_rate // FRAME_RATE
  block_size = 2 * hop
  gin.clear_config()
  paths = ddsp_export.export(save_dir, str(tmp_path), block_size=block_size)
  with open(paths['metadata'], encoding='utf-8') as f:
    metadata = json.load(f)
  assert metadata['sample_rate'] == sample_rate
  assert metadata['hop_size'] == hop
  assert metadata['latency_samples'] / sample_rate < 0.010
  interpreter = tf.lite.Interpreter(model_path=paths['tflite'])
  runner = interpreter.get_signature_runner('streaming_step')
  model, _, _ = checkpoints.load_model(save_dir)
  streamer = inference.StreamingF0LoudnessModel(model, block_size)
  state = {f'state_{k}': np.asarray(v)
           for k, v in streamer.initial_state().items()}
  n_frames = FRAME_RATE  # The 1 s the model was built for.
  f0 = np.full([1, n_frames, 1], 440.0, np.float32)
  loudness = np.full([1, n_frames, 1], -20.0, np.float32)
  blocks = []
  for k in range(0, n_frames, 2):
    outputs = runner(f0_hz=f0[:, k:k + 2], loudness_db=loudness[:, k:k + 2],
                     **state)
    audio = outputs.pop('audio')
    assert audio.shape == (1, block_size)
    blocks.append(audio)
    state = outputs
  lite = np.concatenate(blocks, axis=1)
  offline = model({'f0_hz': f0, 'loudness_db': loudness,
                   'f0_confidence': np.ones_like(f0)}, training=False)
  expected = model.get_audio_from_outputs(offline).numpy()
  assert_matches_offline(lite, expected, streamer.latency)
  # Spectral peaks of the steady part at multiples of 440 Hz (rfft bins).
  steady = lite[0, lite.shape[1] // 2:]
  steady = steady[:sample_rate // 10 * (steady.size // (sample_rate // 10))]
  spectrum = np.abs(np.fft.rfft(steady * np.hanning(steady.size)))
  freqs = np.fft.rfftfreq(steady.size, 1 / sample_rate)
  peaks, _ = scipy.signal.find_peaks(spectrum, height=0.1 * spectrum.max())
  assert peaks.size
  harmonic = freqs[peaks] / 440.0
  np.testing.assert_allclose(harmonic, np.round(harmonic), atol=0.05)


def test_rates_follow_the_published_configs():
  # models/vst/vst_32k.gin and vst_48k.gin of the published library.
  assert rates.fft_sizes(32000) == [4096, 2048, 1024, 512, 256, 128]
  assert rates.fft_sizes(48000) == [6144, 3072, 1536, 768, 384, 192]
  assert [rates.n_harmonics(r) for r in (16000, 32000, 48000)] == [60, 100,
                                                                   100]
  assert [rates.n_noise_bands(r) for r in (16000, 32000, 48000)] == [65, 98,
                                                                     98]
  assert rates.reverb_length(32000, 1.5) == 48000
  assert rates.example_samples(48000, 4, 50, extra_frames=1) == 192960
  # In between, and fractional hops.
  assert rates.fft_sizes(44100) == [5644, 2824, 1412, 704, 352, 176]
  assert rates.n_harmonics(24000) == 80
  assert rates.hop_samples(44100, 250, whole=False) == pytest.approx(176.4)
  assert rates.frames_to_samples(5, 44100, 250) == 882
  with pytest.raises(ValueError, match='multiple of 5 frames'):
    rates.frames_to_samples(7, 44100, 250)
  with pytest.raises(ValueError, match='whole number of samples'):
    rates.hop_samples(44100, 250)
  with pytest.raises(ValueError, match='`sample_rate` must be a positive'):
    rates.fft_sizes(-1)


@pytest.mark.slow
def test_streaming_export_at_a_fractional_hop_says_why(tmp_path_factory,
                                                       tmp_path):
  from ddsp.training import ddsp_export  # pylint: disable=g-import-not-at-top
  _, save_dir = _trained(44100, tmp_path_factory)
  gin.clear_config()
  with pytest.raises(ValueError, match=r'whole number of samples per frame '
                     r'\(176\.4\)'):
    ddsp_export.export(save_dir, str(tmp_path), block_size=882)
