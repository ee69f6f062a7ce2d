"""Tests of ddsp.colab.colab_utils, in and (emulated) out of Colab.

References are independent: soundfile decodes the WAV/FLAC bytes we build,
analytic values (a 1 kHz sine keeps its frequency and RMS when resampled,
peaks normalized to -0.1 dB are 10 ** (-0.1 / 20)), and hand-built pitch
tracks whose tuning and nearest notes are known.
"""

import base64
import io
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest
import soundfile as sf

from ddsp.colab import colab_utils
from ddsp.training import data
from ddsp.training import plotting
from ddsp.training import postprocessing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLISHED_NAMES = (
    'DEFAULT_SAMPLE_RATE', 'download', 'specplot', 'plot_impulse_responses',
    'transfer_function', 'play', 'record', 'audio_bytes_to_np', 'upload',
    'save_dataset_statistics', 'get_tuning_factor', 'auto_tune', 'smooth',
    'detect_notes', 'QuantileTransformer', 'fit_quantile_transform')


def wav_bytes(audio, sample_rate=16000, subtype='PCM_16', file_format='WAV'):
  """Bytes of an audio file written by soundfile ([n] or [n, channels])."""
  buffer = io.BytesIO()
  sf.write(buffer, audio, sample_rate, format=file_format, subtype=subtype)
  return buffer.getvalue()


def sine(hz, seconds, sample_rate, amplitude=0.5):
  t = np.arange(int(seconds * sample_rate)) / sample_rate
  return amplitude * np.sin(2 * np.pi * hz * t)


@pytest.fixture
def fake_colab(monkeypatch):
  """Installs a stand-in google.colab (files, output) in sys.modules."""
  calls = {'downloads': [], 'js': []}
  files = types.ModuleType('google.colab.files')
  output = types.ModuleType('google.colab.output')
  files.upload = lambda: dict(calls['uploads'])
  files.download = calls['downloads'].append

  def eval_js(code):
    calls['js'].append(code)
    return 'data:audio/wav;base64,' + base64.b64encode(
        calls['recording']).decode('ascii')

  output.eval_js = eval_js
  google = types.ModuleType('google')
  colab = types.ModuleType('google.colab')
  colab.files, colab.output = files, output
  google.colab = colab
  for name, module in (('google', google), ('google.colab', colab),
                       ('google.colab.files', files),
                       ('google.colab.output', output)):
    monkeypatch.setitem(sys.modules, name, module)
  monkeypatch.setattr(colab_utils, '_display', lambda obj: None)
  return calls


# ------------------------------------------------------------------------------
# Module surface.
# ------------------------------------------------------------------------------
def test_published_names_are_the_library_implementations():
  for name in PUBLISHED_NAMES:
    assert hasattr(colab_utils, name), name
  assert colab_utils.DEFAULT_SAMPLE_RATE == 16000
  assert colab_utils.specplot is plotting.specplot
  assert colab_utils.get_tuning_factor is postprocessing.get_tuning_factor
  assert colab_utils.auto_tune is postprocessing.auto_tune


@pytest.mark.slow
def test_import_does_not_import_google_colab(tmp_path):
  # A google.colab that fails to import: importing ddsp.colab must not try.
  # (`google` stays a namespace package, so google.protobuf still imports.)
  package = tmp_path / 'google' / 'colab'
  package.mkdir(parents=True)
  (package / '__init__.py').write_text(
      "raise ImportError('google.colab imported at import time')\n")
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT]),
             TF_CPP_MIN_LOG_LEVEL='3')
  proc = subprocess.run(
      [sys.executable, '-c',
       'import sys; import ddsp.colab; from ddsp.colab import colab_utils; '
       'print(colab_utils.in_colab(), "google.colab" in sys.modules)'],
      env=env, capture_output=True, text=True, timeout=300, check=False)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert proc.stdout.split()[-2:] == ['False', 'False']


# ------------------------------------------------------------------------------
# Audio bytes.
# ------------------------------------------------------------------------------
def test_audio_to_wav_bytes_is_16_bit_pcm_of_the_clipped_audio():
  audio = np.array([0.0, 0.25, -0.5, 1.5, -2.0])
  wav = colab_utils.audio_to_wav_bytes(audio, 8000)
  decoded, rate = sf.read(io.BytesIO(wav), dtype='int16')
  assert rate == 8000
  np.testing.assert_array_equal(decoded, [0, 8192, -16384, 32767, -32767])
  batched = colab_utils.audio_to_wav_bytes(np.stack([audio, -audio]), 8000)
  assert batched == wav  # The first example of a batch.


def test_audio_bytes_to_np_matches_soundfile_without_normalization():
  rng = np.random.default_rng(0)
  audio = 0.3 * rng.uniform(-1, 1, 4000) + 0.1  # A DC offset of 0.1.
  data_bytes = wav_bytes(audio)
  reference, _ = sf.read(io.BytesIO(data_bytes), dtype='float32')
  out = colab_utils.audio_bytes_to_np(data_bytes, normalize_db=None)
  assert out.dtype == np.float32 and out.shape == (4000,)
  # The DC offset is removed, nothing else changes.
  np.testing.assert_allclose(out, reference - reference.mean(), atol=1e-6)


def test_audio_bytes_to_np_normalizes_the_peak():
  audio = sine(440.0, 0.25, 16000, amplitude=0.2)
  for normalize_db in (0.1, 6.0):
    out = colab_utils.audio_bytes_to_np(wav_bytes(audio),
                                        normalize_db=normalize_db)
    assert np.max(np.abs(out)) == pytest.approx(10 ** (-normalize_db / 20),
                                                rel=1e-6)


def test_audio_bytes_to_np_channels_and_flac():
  left, right = sine(300.0, 0.2, 16000), sine(500.0, 0.2, 16000, 0.25)
  stereo = np.stack([left, right], axis=1)
  reference, _ = sf.read(io.BytesIO(wav_bytes(stereo)), dtype='float32')
  both = colab_utils.audio_bytes_to_np(wav_bytes(stereo), normalize_db=None,
                                       mono=False)
  assert both.shape == (2, left.size)
  np.testing.assert_allclose(both, (reference - reference.mean(0)).T,
                             atol=1e-6)
  mono = colab_utils.audio_bytes_to_np(wav_bytes(stereo), normalize_db=None)
  np.testing.assert_allclose(mono, both.mean(axis=0), atol=1e-6)
  flac_bytes = wav_bytes(stereo, file_format='FLAC')
  flac_reference, _ = sf.read(io.BytesIO(flac_bytes), dtype='float32')
  flac_reference = flac_reference.mean(axis=1)
  flac = colab_utils.audio_bytes_to_np(flac_bytes, normalize_db=None)
  np.testing.assert_allclose(flac, flac_reference - flac_reference.mean(),
                             atol=1e-6)


def test_audio_bytes_to_np_resamples_to_the_sample_rate():
  tone = sine(1000.0, 0.5, 44100)  # RMS 0.5 / sqrt(2).
  out = colab_utils.audio_bytes_to_np(wav_bytes(tone, 44100, 'FLOAT'),
                                      sample_rate=16000, normalize_db=None)
  assert out.size == int(np.ceil(tone.size * 16000 / 44100))
  middle = out[800:-800]
  spectrum = np.abs(np.fft.rfft(middle * np.hanning(middle.size)))
  freqs = np.fft.rfftfreq(middle.size, 1 / 16000)
  assert freqs[np.argmax(spectrum)] == pytest.approx(1000.0, abs=3.0)
  assert np.sqrt(np.mean(middle ** 2)) == pytest.approx(0.5 / np.sqrt(2),
                                                        rel=0.01)


def test_audio_bytes_to_np_errors():
  with pytest.raises(TypeError, match='`wav_data` must be the bytes'):
    colab_utils.audio_bytes_to_np('not bytes')
  with pytest.raises(ValueError, match='normalize_db'):
    colab_utils.audio_bytes_to_np(wav_bytes(np.zeros(10)), normalize_db=-1)
  with pytest.raises(ValueError, match='no audio samples'):
    colab_utils.audio_bytes_to_np(wav_bytes(np.zeros(0)))


# ------------------------------------------------------------------------------
# Outside Colab: file paths and clear messages.
# ------------------------------------------------------------------------------
def test_play_outside_a_notebook_writes_the_wav(tmp_path, capsys):
  audio = sine(220.0, 0.1, 16000)
  path = colab_utils.play(audio, path=str(tmp_path / 'out.wav'))
  assert path == str(tmp_path / 'out.wav')
  decoded, rate = sf.read(path)
  assert rate == 16000
  np.testing.assert_allclose(decoded, audio, atol=1 / 32767)
  assert 'no notebook' in capsys.readouterr().out


def test_play_in_a_notebook_displays_an_audio_player(monkeypatch):
  shown = []
  monkeypatch.setattr(colab_utils, 'in_notebook', lambda: True)
  monkeypatch.setattr(colab_utils, '_display', shown.append)
  audio = sine(220.0, 0.1, 16000)
  player = colab_utils.play(audio, autoplay=True)
  assert shown == [player]
  decoded, _ = sf.read(io.BytesIO(player.data))
  np.testing.assert_allclose(decoded, audio, atol=1 / 32767)
  assert 'autoplay' in player._repr_html_()  # pylint: disable=protected-access
  flac = colab_utils.play(audio, audio_format='flac')
  assert flac.mimetype == 'audio/flac'
  assert 'data:audio/flac;base64' in flac._repr_html_()  # pylint: disable=protected-access
  decoded, _ = sf.read(io.BytesIO(flac.data))
  np.testing.assert_allclose(decoded, audio, atol=1 / 32767)
  with pytest.raises(ValueError, match='`audio_format` must be one of'):
    colab_utils.play(audio, audio_format='mp3')


def test_widgets_outside_colab_ask_for_paths(tmp_path, capsys):
  with pytest.raises(colab_utils.ColabOnlyError, match=r"record\(path="):
    colab_utils.record()
  with pytest.raises(colab_utils.ColabOnlyError, match=r"upload\(paths="):
    colab_utils.upload()
  for name, hz in (('a.wav', 300.0), ('b.wav', 600.0)):
    sf.write(tmp_path / name, sine(hz, 0.2, 22050), 22050)
  names, audio = colab_utils.upload(paths=str(tmp_path / '*.wav'))
  assert [os.path.basename(n) for n in names] == ['a.wav', 'b.wav']
  assert [a.size for a in audio] == [3200, 3200]  # 0.2 s at 16 kHz.
  recorded = colab_utils.record(path=tmp_path / 'a.wav', normalize_db=None)
  np.testing.assert_allclose(recorded, audio[0])
  with pytest.raises(FileNotFoundError, match='missing'):
    colab_utils.upload(paths=str(tmp_path / 'missing*.wav'))
  assert colab_utils.download(tmp_path / 'a.wav') == str(tmp_path / 'a.wav')
  assert 'is on this machine' in capsys.readouterr().out
  with pytest.raises(FileNotFoundError, match='No file'):
    colab_utils.download(tmp_path / 'nothing.wav')


# ------------------------------------------------------------------------------
# In Colab (its google.colab modules emulated).
# ------------------------------------------------------------------------------
def test_record_upload_download_in_colab(fake_colab, tmp_path):
  assert colab_utils.in_colab()
  voice = sine(200.0, 0.5, 48000, amplitude=0.3)
  fake_colab['recording'] = wav_bytes(voice, 48000)
  recorded = colab_utils.record(seconds=2)
  assert 'ddspRecord(2000.0)' in fake_colab['js'][0]
  assert recorded.size == 8000  # 0.5 s at 16 kHz.
  assert np.max(np.abs(recorded)) == pytest.approx(10 ** (-0.1 / 20), rel=1e-6)

  fake_colab['uploads'] = {'take.wav': wav_bytes(voice, 48000)}
  names, audio = colab_utils.upload()
  assert names == ['take.wav']
  np.testing.assert_allclose(np.max(np.abs(audio[0])), 0.3, rtol=0.02)

  path = tmp_path / 'out.wav'
  path.write_bytes(wav_bytes(voice))
  colab_utils.download(path)
  assert fake_colab['downloads'] == [str(path)]


# ------------------------------------------------------------------------------
# Tuning.
# ------------------------------------------------------------------------------
def test_get_tuning_factor_finds_the_offset_of_a_melody():
  rng = np.random.default_rng(0)
  notes = np.repeat([60, 62, 64, 65, 67, 65, 64, 62], 40).astype(float)
  for offset in (0.2, -0.3, 0.0):
    f0 = notes + offset + rng.normal(0.0, 0.02, notes.size)
    on = np.ones(notes.size, bool)
    assert colab_utils.get_tuning_factor(f0, np.ones(notes.size), on) == \
        pytest.approx(offset, abs=0.02)
  # Frames that are off (mask) do not count, whatever their pitch.
  f0 = notes + 0.2
  f0[::2] = 50.47
  on = np.ones(notes.size, bool)
  on[::2] = False
  assert colab_utils.get_tuning_factor(f0, np.ones(notes.size), on) == \
      pytest.approx(0.2, abs=0.011)


def test_auto_tune_chromatic_snaps_to_the_tuned_grid():
  f0 = np.array([60.3, 61.8, 64.45])
  on = np.ones(3, bool)
  np.testing.assert_allclose(
      colab_utils.auto_tune(f0, 0.0, on, amount=1.0, chromatic=True),
      [60.0, 62.0, 64.0], atol=1e-9)
  np.testing.assert_allclose(
      colab_utils.auto_tune(f0, 0.2, on, amount=1.0, chromatic=True),
      [60.2, 62.2, 64.2], atol=1e-9)
  np.testing.assert_allclose(
      colab_utils.auto_tune(f0, 0.0, on, amount=0.5, chromatic=True),
      [60.15, 61.9, 64.225], atol=1e-9)
  np.testing.assert_allclose(colab_utils.auto_tune(f0, 0.0, on, amount=0.0),
                             f0)


def test_auto_tune_to_the_inferred_major_scale():
  # A melody in D major (D E F# G A B C#), then a frame at 65.4: between F and
  # F#, nearer F (65), but F is not in D major, so it goes to F# (66).
  d_major = np.repeat([62, 64, 66, 67, 69, 71, 73, 74], 10).astype(float)
  f0 = np.concatenate([d_major + 0.1, [65.4]])
  tuned = colab_utils.auto_tune(f0, 0.0, np.ones(f0.size, bool), amount=1.0)
  np.testing.assert_allclose(tuned[:-1], d_major, atol=1e-9)
  assert tuned[-1] == pytest.approx(66.0)
  chromatic = colab_utils.auto_tune(f0, 0.0, np.ones(f0.size, bool),
                                    amount=1.0, chromatic=True)
  assert chromatic[-1] == pytest.approx(65.0)


# ------------------------------------------------------------------------------
# Dataset statistics.
# ------------------------------------------------------------------------------
def test_save_dataset_statistics_writes_what_postprocessing_computes(
    tmp_path, capsys):
  n_examples, n_frames = 3, 250
  t = np.arange(n_examples * 16000).reshape(n_examples, -1) / 16000
  features = {
      'audio': (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32),
      'f0_hz': np.full([n_examples, n_frames], 440.0, np.float32),
      'f0_confidence': np.full([n_examples, n_frames], 0.95, np.float32),
      'loudness_db': np.full([n_examples, n_frames], -20.0, np.float32),
  }
  provider = data.InMemoryProvider(features, 16000, 250)
  path = tmp_path / 'stats.json'
  stats = colab_utils.save_dataset_statistics(provider, path)
  assert 'Saved the dataset statistics' in capsys.readouterr().out
  assert stats['mean_pitch'] == pytest.approx(69.0, abs=1e-4)  # A4.
  assert stats['mean_loudness'] == pytest.approx(-20.0)
  reference = postprocessing.compute_dataset_statistics(
      provider, power_frame_size=256)
  assert stats['mean_power'] == pytest.approx(reference['mean_power'])
  loaded = postprocessing.load_dataset_statistics(path)
  assert loaded['mean_pitch_note'] == pytest.approx(stats['mean_pitch_note'])
  assert json.loads(path.read_text())['n_examples'] == n_examples
  assert colab_utils.save_dataset_statistics(provider)['n_examples'] == 3
