"""Tests for ddsp.training.audio_io: reading audio files and their features."""

import builtins

import numpy as np
import pytest
import soundfile as sf

from ddsp.training import audio_io


def _tone(freq, seconds, rate, amplitude=0.5):
  t = np.arange(int(seconds * rate)) / rate
  return amplitude * np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize('fmt,subtype', [('WAV', 'PCM_16'), ('FLAC', 'PCM_24'),
                                         ('OGG', 'VORBIS'), ('MP3', None)])
def test_load_audio_mixes_to_mono_and_resamples(tmp_path, fmt, subtype):
  rate = 44100
  tone = _tone(440.0, 1.5, rate, amplitude=1.0)
  path = tmp_path / f'tone.{fmt.lower()}'
  sf.write(path, np.stack([0.5 * tone, 0.3 * tone], 1), rate, format=fmt,
           subtype=subtype)
  audio = audio_io.load_audio(str(path), sample_rate=16000)
  assert audio.dtype == np.float32
  # MP3 decoders add a little leading delay; the other formats are exact.
  assert abs(len(audio) - 24000) <= (1200 if fmt == 'MP3' else 0)
  inner = audio[2000:20000]
  n = np.arange(2000, 20000)
  want = 0.4 * np.sin(2 * np.pi * 440.0 * n / 16000)
  if fmt == 'WAV':
    np.testing.assert_allclose(inner, want, atol=2e-3)
  else:  # Lossy codecs: compare level and pitch.
    spectrum = np.abs(np.fft.rfft(inner * np.hanning(len(inner))))
    peak_hz = np.argmax(spectrum) * 16000 / len(inner)
    assert abs(peak_hz - 440.0) < 2.0
    assert abs(np.sqrt(2 * np.mean(inner**2)) - 0.4) < 0.02


def test_read_audio_keeps_channels_and_reports_the_file(tmp_path):
  rate = 22050
  left, right = _tone(300.0, 1.0, rate), _tone(500.0, 1.0, rate, 0.25)
  path = tmp_path / 'stereo.wav'
  sf.write(path, np.stack([left, right], 1), rate, subtype='FLOAT')
  clip = audio_io.read_audio(path, sample_rate=rate, mono=False)
  assert (clip.sample_rate, clip.file_sample_rate, clip.n_channels) == (
      rate, rate, 2)
  assert clip.truncated is None
  np.testing.assert_allclose(clip.audio, np.stack([left, right], 1),
                             atol=1e-7)
  mono = audio_io.read_audio(path, sample_rate=rate)
  np.testing.assert_allclose(mono.audio, (left + right) / 2, atol=1e-7)


def test_to_mono_averages_channels_last():
  audio = np.array([[1.0, 0.0, 0.5], [0.25, 0.25, 1.0]])
  np.testing.assert_array_equal(audio_io.to_mono(audio), [0.5, 0.5])
  np.testing.assert_array_equal(audio_io.to_mono([0.5, -1.0]), [0.5, -1.0])
  with pytest.raises(ValueError, match=r'`audio` must be \[n_samples\] or '
                     r'\[n_samples, n_channels\].*shape \(1, 2, 3\)'):
    audio_io.to_mono(np.zeros([1, 2, 3]))


def test_resample_audio_keeps_a_tone():
  audio = audio_io.resample_audio(_tone(1000, 1.0, 48000, 1.0), 48000, 16000)
  want = _tone(1000, 1.0, 16000, 1.0)
  np.testing.assert_allclose(audio[500:-500], want[500:-500], atol=1e-3)
  # Channels last are resampled each on its own.
  both = audio_io.resample_audio(
      np.stack([_tone(1000, 1.0, 48000), _tone(2000, 1.0, 48000)], 1), 48000,
      16000)
  assert both.shape == (16000, 2)
  np.testing.assert_allclose(both[500:-500, 1],
                             _tone(2000, 1.0, 16000)[500:-500], atol=1e-3)


@pytest.mark.slow  # Imports librosa for the fallback decoder (a few s).
def test_load_audio_errors_name_the_file_and_reason(tmp_path):
  corrupt = tmp_path / 'corrupt.wav'
  corrupt.write_bytes(b'RIFF\x10\x00\x00\x00WAVEnot audio')
  with pytest.raises(audio_io.AudioLoadError, match=r'Cannot read audio file '
                     r'.*corrupt.wav: cannot decode it\. soundfile: '
                     r'LibsndfileError: .*; librosa/ffmpeg fallback: '):
    audio_io.load_audio(str(corrupt))
  with pytest.raises(ValueError, match=r'missing.wav: no such file'):
    audio_io.load_audio(str(tmp_path / 'missing.wav'))
  empty = tmp_path / 'empty.wav'
  sf.write(empty, np.zeros([0, 1]), 16000)
  with pytest.raises(ValueError, match=r'empty.wav: it holds no samples'):
    audio_io.load_audio(str(empty))


def test_unreadable_files_give_one_line_naming_the_path(tmp_path, monkeypatch):
  path = tmp_path / 'locked.wav'
  sf.write(path, np.zeros(100), 16000)
  real_open = builtins.open

  def deny(name, *args, **kwargs):
    if str(name) == str(path):
      raise PermissionError(13, 'Permission denied', str(name))
    return real_open(name, *args, **kwargs)

  # (Tests may run as root, which chmod cannot lock out.)
  monkeypatch.setattr(audio_io, 'open', deny, raising=False)
  with pytest.raises(audio_io.AudioLoadError) as error:
    audio_io.read_audio(path)
  assert str(error.value) == (f'Cannot read audio file {path}: permission '
                              'denied.')
  with pytest.raises(audio_io.AudioLoadError, match=r'it is a folder'):
    audio_io.read_audio(tmp_path)


def _truncated_wav(path, audio, rate, keep):
  """Writes a 16-bit WAV of `audio`, then cuts its data to `keep` samples."""
  sf.write(path, audio, rate, subtype='PCM_16')
  data = path.read_bytes()
  header = data.index(b'data') + 8
  path.write_bytes(data[:header + 2 * keep])


def test_truncated_wav_is_read_up_to_its_end_and_reported(tmp_path):
  rate = 16000
  audio = _tone(220.0, 2.0, rate)
  path = tmp_path / 'half.wav'
  _truncated_wav(path, audio, rate, keep=16000)
  clip = audio_io.read_audio(path, sample_rate=rate)
  assert clip.truncated == ('truncated: the header declares 32000 samples '
                            '(2.00 s), only 16000 (1.00 s) could be read.')
  want = np.round(audio[:16000] * 32767) / 32768  # 16-bit PCM.
  np.testing.assert_allclose(clip.audio, want, atol=1.5 / 32768)
  # A complete file of the same audio is not reported.
  sf.write(tmp_path / 'full.wav', audio, rate, subtype='PCM_16')
  assert audio_io.read_audio(tmp_path / 'full.wav').truncated is None


def test_truncated_flac_keeps_the_blocks_before_the_break(tmp_path):
  rate = 16000
  audio = _tone(220.0, 3.0, rate)
  full = tmp_path / 'full.flac'
  sf.write(full, audio, rate, subtype='PCM_16')
  data = full.read_bytes()
  cut = tmp_path / 'cut.flac'
  cut.write_bytes(data[:len(data) // 2])
  complete = audio_io.read_audio(full)
  clip = audio_io.read_audio(cut)
  assert complete.truncated is None
  assert clip.truncated.startswith('truncated: the header declares 48000 '
                                   'samples (3.00 s), only ')
  assert 0 < len(clip.audio) < 48000
  np.testing.assert_array_equal(clip.audio, complete.audio[:len(clip.audio)])


def test_one_line_error_joins_lines():
  assert audio_io.one_line_error(OSError('disk\n  full')) == (
      'OSError: disk full')
  assert audio_io.one_line_error(
      audio_io.AudioLoadError('a.wav', 'no such file.')) == 'no such file.'
  assert audio_io.one_line_error(RuntimeError()) == 'RuntimeError: (no message)'


def test_compute_audio_features_of_a_tone():
  rate = 16000
  tone = _tone(330.0, 1.0, rate).astype(np.float32)
  features = audio_io.compute_audio_features(tone, rate, 250)
  assert sorted(features) == ['f0_confidence', 'f0_hz', 'loudness_db']
  for value in features.values():
    assert value.shape == (250,) and value.dtype == np.float32
  inner = slice(25, -25)
  cents = 1200 * np.abs(np.log2(features['f0_hz'][inner] / 330.0))
  assert np.median(cents) < 10
  assert np.min(features['f0_confidence'][inner]) > 0.8
  # A tenth of the amplitude is 20 dB quieter (an analytic property of
  # a power measure in dB).
  quiet = audio_io.compute_audio_features(0.1 * tone, rate, 250)
  drop = features['loudness_db'][inner] - quiet['loudness_db'][inner]
  np.testing.assert_allclose(drop, 20.0, atol=0.5)
  centered = audio_io.compute_audio_features(tone[:3200], rate, 250,
                                             center=True)
  assert centered['f0_hz'].shape == (51,)  # 'center': one more frame.
