"""Tests for ddsp.spectral_ops: spectrograms, framing, energy and loudness.

References are independent: librosa (STFT, mel filterbank, RMS, A-weighting),
scipy (DCT), and analytic results for sines.
"""

import doctest
import fractions

import librosa
import numpy as np
import pytest
import scipy.fft
import scipy.signal
import soundfile as sf
import tensorflow as tf

from ddsp import spectral_ops

SAMPLE_RATES = (16000, 22050, 44100, 48000)
PADDINGS = ('valid', 'same', 'center')


def sine(freq, sample_rate=16000, seconds=1.0, amplitude=1.0):
  t = np.arange(int(seconds * sample_rate)) / sample_rate
  return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def violin(test_data):
  audio, sample_rate = sf.read(test_data / 'violin_6s.flac', dtype='float32')
  assert sample_rate == 16000
  return audio[:16000]  # 1 s is enough for spectra.


def gradient(fn, audio):
  audio = tf.Variable(audio)
  with tf.GradientTape() as tape:
    loss = tf.reduce_mean(fn(audio))
  return tape.gradient(loss, audio).numpy()


# ------------------------------------------------------------------------------
# STFT and magnitudes.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('frame_size,overlap', [(2048, 0.75), (512, 0.75),
                                                (256, 0.5), (64, 0.75)])
def test_stft_matches_librosa(violin, frame_size, overlap):
  hop = int(frame_size * (1 - overlap))
  n_frames = -(-len(violin) // hop)
  padded = np.pad(violin, (0, (n_frames - 1) * hop + frame_size - len(violin)))
  expected = librosa.stft(padded, n_fft=frame_size, hop_length=hop,
                          window='hann', center=False).T
  mag = spectral_ops.compute_mag(violin[np.newaxis], size=frame_size,
                                 overlap=overlap).numpy()[0]
  assert mag.shape == expected.shape
  np.testing.assert_allclose(mag, np.abs(expected), atol=1e-3)
  s = spectral_ops.stft(violin, frame_size, overlap).numpy()
  np.testing.assert_allclose(s, expected, atol=1e-3)


def test_stft_np_matches_stft(rng):
  audio = rng.uniform(-1, 1, [2, 5000]).astype(np.float32)
  for pad_end in (True, False):
    expected = spectral_ops.stft(audio, 1024, 0.75, pad_end).numpy()
    actual = spectral_ops.stft_np(audio, 1024, 0.75, pad_end)
    assert actual.shape == expected.shape
    assert actual.dtype == np.complex64
    np.testing.assert_allclose(actual, expected, atol=2e-3)
  # pad_end=False keeps only frames that fit: (5000 - 1024) // 256 + 1 = 16.
  assert spectral_ops.stft_np(audio, 1024, pad_end=False).shape == (2, 16, 513)


def test_stft_accepts_channel_axis_and_1d(rng):
  audio = rng.uniform(-1, 1, [3, 4000]).astype(np.float32)
  a = spectral_ops.compute_mag(audio, 256).numpy()
  b = spectral_ops.compute_mag(audio[..., np.newaxis], 256).numpy()
  c = spectral_ops.compute_mag(audio[1], 256).numpy()
  np.testing.assert_array_equal(a, b)
  np.testing.assert_allclose(a[1], c, atol=1e-5)


def test_sine_peaks_in_its_bin():
  mag = spectral_ops.compute_mag(sine(1000.0)[np.newaxis], size=512).numpy()
  # 1 kHz at 16 kHz is bin 32 of a 512-point FFT; a Hann window gives A*N/4.
  np.testing.assert_array_equal(np.argmax(mag[0, 2:-2], axis=-1), 32)
  np.testing.assert_allclose(mag[0, 5, 32], 128.0, rtol=1e-3)


def test_logmag_is_log_of_floored_magnitude_and_gradients(rng):
  audio = rng.uniform(-1, 1, [1, 4096]).astype(np.float32)
  mag = spectral_ops.compute_mag(audio, 512).numpy()
  logmag = spectral_ops.compute_logmag(audio, 512).numpy()
  np.testing.assert_allclose(logmag, np.log(np.maximum(mag, 1e-5)), atol=1e-4)
  silent = spectral_ops.compute_logmag(np.zeros([1, 4096], np.float32), 512)
  np.testing.assert_allclose(silent.numpy(), np.log(1e-5), rtol=1e-6)

  def logmag(x):
    return spectral_ops.compute_logmag(x, 512)

  grad = gradient(logmag, np.zeros([1, 4096], np.float32))
  assert np.all(np.isfinite(grad))
  grad = gradient(logmag, audio)
  assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0


# ------------------------------------------------------------------------------
# Mel and MFCC.
# ------------------------------------------------------------------------------
def htk_mel_triangles(sample_rate, n_fft, bins, lo_hz, hi_hz):
  """Triangles linear on the HTK mel scale, peak 1, 0 Hz excluded."""
  def mel(f):
    return 2595.0 * np.log10(1.0 + f / 700.0)
  edges = np.linspace(mel(lo_hz), mel(hi_hz), bins + 2)
  m = mel(np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1))[:, np.newaxis]
  rising = (m - edges[:-2]) / (edges[1:-1] - edges[:-2])
  falling = (edges[2:] - m) / (edges[2:] - edges[1:-1])
  weights = np.maximum(0.0, np.minimum(rising, falling))
  weights[0] = 0.0
  return weights


@pytest.mark.parametrize('sample_rate,fft_size,bins,lo_hz,hi_hz', [
    (16000, 2048, 64, 0.0, 8000.0),
    (16000, 1024, 128, 20.0, 8000.0),
    (48000, 2048, 64, 80.0, 16000.0),
])
def test_mel_matches_htk_filterbank(violin, sample_rate, fft_size, bins, lo_hz,
                                    hi_hz):
  audio = violin
  if sample_rate != 16000:
    audio = scipy.signal.resample_poly(violin, sample_rate // 1000, 16)
  mag = spectral_ops.compute_mag(audio[np.newaxis], fft_size).numpy()[0]
  mel = spectral_ops.compute_mel(audio[np.newaxis], lo_hz, hi_hz, bins,
                                 fft_size, sample_rate=sample_rate).numpy()[0]
  # Exactly the HTK-mel triangles (linear in mel).
  np.testing.assert_allclose(
      mel, mag @ htk_mel_triangles(sample_rate, fft_size, bins, lo_hz, hi_hz),
      rtol=1e-3, atol=1e-3 * mel.max())
  # Close to librosa's HTK filterbank (triangles linear in Hz).
  fb = librosa.filters.mel(sr=sample_rate, n_fft=fft_size, n_mels=bins,
                           fmin=lo_hz, fmax=hi_hz, htk=True, norm=None)
  np.testing.assert_allclose(mel, mag @ fb.T, atol=0.01 * mel.max())


def test_mfcc_is_scaled_dct_of_logmel(violin):
  kwargs = dict(lo_hz=20.0, hi_hz=8000.0, fft_size=1024, overlap=0.75,
                sample_rate=16000)
  logmel = spectral_ops.compute_logmel(violin[np.newaxis], bins=128,
                                       **kwargs).numpy()
  mfcc = spectral_ops.compute_mfcc(violin[np.newaxis], mel_bins=128,
                                   mfcc_bins=13, **kwargs).numpy()
  expected = scipy.fft.dct(logmel.astype(np.float64), type=2,
                           axis=-1)[..., :13] / np.sqrt(2 * 128)
  assert mfcc.shape == (1, 63, 13)
  np.testing.assert_allclose(mfcc, expected, atol=1e-3, rtol=1e-4)


def test_mfcc_of_silence_has_only_c0():
  mfcc = spectral_ops.compute_mfcc(np.zeros([1, 8000], np.float32)).numpy()
  # A constant log mel c over M = 128 bands: c0 = 2 M c / sqrt(2 M), others 0.
  np.testing.assert_allclose(mfcc[..., 0], np.log(1e-5) * np.sqrt(256.0),
                             rtol=1e-5)
  np.testing.assert_allclose(mfcc[..., 1:], 0.0, atol=1e-4)


def test_mfcc_tells_tones_apart():
  low = spectral_ops.compute_mfcc(sine(220.0)[np.newaxis]).numpy()[0, 10]
  high = spectral_ops.compute_mfcc(sine(3000.0)[np.newaxis]).numpy()[0, 10]
  low2 = spectral_ops.compute_mfcc(sine(230.0)[np.newaxis]).numpy()[0, 10]
  assert np.linalg.norm(low - low2) < 0.5 * np.linalg.norm(low - high)


# ------------------------------------------------------------------------------
# Framing.
# ------------------------------------------------------------------------------
def test_get_framed_lengths_integer_hop():
  # (n_frames, padded_length) from the formulas of the published library.
  assert spectral_ops.get_framed_lengths(64000, 512, 64, 'valid') == (993,
                                                                     64000)
  assert spectral_ops.get_framed_lengths(64000, 512, 64, 'same') == (1000,
                                                                    64448)
  assert spectral_ops.get_framed_lengths(64000, 512, 64, 'center') == (1001,
                                                                      64512)
  assert spectral_ops.get_framed_lengths(100, 512, 64, 'valid')[0] == 0
  for n in range(1000, 1100):
    assert spectral_ops.get_framed_lengths(n, 256, 64, 'same')[0] == -(-n //
                                                                       64)
    assert spectral_ops.get_framed_lengths(n, 256, 64, 'center')[0] == (
        n // 64 + 1)
    assert spectral_ops.get_framed_lengths(n, 256, 64, 'valid')[0] == (
        (n - 256) // 64 + 1)


def test_get_framed_lengths_fractional_hop():
  hop = 44100 / 250  # 176.4
  # 4 s: frames at times i / 250 s.
  assert spectral_ops.get_framed_lengths(176400, 512, hop, 'center')[0] == 1001
  assert spectral_ops.get_framed_lengths(176400, 512, hop, 'same')[0] == 1000
  assert spectral_ops.get_framed_lengths(
      176401, 512, fractions.Fraction(882, 5), 'same')[0] == 1001
  # 'valid': frames i with round(i * 176.4) + 512 <= n.
  for n in range(512, 2000, 37):
    count = sum(1 for i in range(100)
                if int(np.floor(i * 176.4 + 0.5)) + 512 <= n)
    assert spectral_ops.get_framed_lengths(n, 512, hop, 'valid')[0] == count


@pytest.mark.parametrize('padding', PADDINGS)
def test_pad_length(padding, rng):
  x = rng.normal(size=[2, 1000]).astype(np.float32)
  out = spectral_ops.pad(x, 256, 64, padding=padding).numpy()
  n_frames, padded_length = spectral_ops.get_framed_lengths(1000, 256, 64,
                                                            padding)
  assert out.shape == (2, padded_length)
  start = 128 if padding == 'center' else 0
  np.testing.assert_array_equal(out[:, start:start + 1000], x)
  assert tf.signal.frame(out, 256, 64).shape[1] == n_frames
  reflected = spectral_ops.pad(x[0], 256, 64, 'center', mode='REFLECT')
  np.testing.assert_array_equal(reflected.numpy()[:128], x[0, 128:0:-1])


def test_fractional_hop_frames_start_at_rounded_positions():
  # With frame_size 1 and 'valid' padding, rms is |sample at the frame start|.
  audio = np.arange(1, 2001, dtype=np.float32)
  rms = spectral_ops.compute_rms_energy(audio, sample_rate=44100,
                                        frame_rate=250, frame_size=1,
                                        padding='valid').numpy()
  starts = np.floor(np.arange(len(rms)) * 176.4 + 0.5)
  np.testing.assert_allclose(rms, starts + 1)
  assert len(rms) == int(np.floor((2000 - 1) / 176.4)) + 1


@pytest.mark.parametrize('sample_rate', SAMPLE_RATES)
@pytest.mark.parametrize('padding', PADDINGS)
def test_frame_counts_at_any_sample_rate(sample_rate, padding, rng):
  n_samples = int(0.37 * sample_rate) + 3
  audio = rng.uniform(-1, 1, [2, n_samples]).astype(np.float32)
  kwargs = dict(sample_rate=sample_rate, frame_rate=250, padding=padding)
  hop = sample_rate / 250
  for frame_size, features in [
      (512, [spectral_ops.compute_loudness(audio, n_fft=512, **kwargs),
             spectral_ops.compute_loudness(audio, n_fft=512, use_tf=False,
                                           **kwargs)]),
      (1024, [spectral_ops.compute_rms_energy(audio, frame_size=1024,
                                              **kwargs),
              spectral_ops.compute_power(audio, frame_size=1024, **kwargs)]),
  ]:
    n_frames, _ = spectral_ops.get_framed_lengths(n_samples, frame_size, hop,
                                                  padding)
    for feature in features:
      assert tuple(feature.shape) == (2, n_frames)
  if padding == 'center':
    assert n_frames == int(n_samples * 250 // sample_rate) + 1


# ------------------------------------------------------------------------------
# Energy and power.
# ------------------------------------------------------------------------------
def test_rms_energy_matches_librosa(violin):
  rms = spectral_ops.compute_rms_energy(violin, frame_size=512).numpy()
  expected = librosa.feature.rms(y=violin, frame_length=512, hop_length=64,
                                 center=True, pad_mode='constant')[0]
  np.testing.assert_allclose(rms, expected, rtol=1e-4, atol=1e-6)


def test_power_of_sine_and_gradients():
  # 480 Hz at 48 kHz: a 2000-sample frame holds 20 whole periods.
  power = spectral_ops.compute_power(sine(480.0, 48000, 0.5), 48000,
                                     frame_size=2000).numpy()
  np.testing.assert_allclose(power[20:-20], 10 * np.log10(0.5), atol=1e-3)
  quiet = spectral_ops.compute_power(sine(480.0, 48000, 0.5, 0.01), 48000,
                                     frame_size=2000).numpy()
  np.testing.assert_allclose(power[20:-20] - quiet[20:-20], 40.0, atol=1e-3)
  silence = np.zeros([1, 4000], np.float32)
  assert np.all(spectral_ops.compute_power(silence).numpy() == -80.0)
  for fn in (spectral_ops.compute_power, spectral_ops.compute_rms_energy):
    grad = gradient(fn, silence)
    assert np.all(np.isfinite(grad))
    grad = gradient(fn, sine(100.0, seconds=0.25)[np.newaxis])
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0


# ------------------------------------------------------------------------------
# Loudness.
# ------------------------------------------------------------------------------
@pytest.mark.filterwarnings('ignore:divide by zero:RuntimeWarning')
def test_a_weighting_matches_librosa():
  freqs = np.concatenate([[0.0], np.geomspace(1.0, 24000.0, 500)])
  np.testing.assert_allclose(spectral_ops.a_weighting(freqs),
                             librosa.A_weighting(freqs), atol=1e-6)
  np.testing.assert_allclose(spectral_ops.a_weighting(freqs, min_db=None)[1:],
                             librosa.A_weighting(freqs, min_db=None)[1:],
                             atol=1e-6)


@pytest.mark.filterwarnings('ignore:divide by zero:RuntimeWarning')
def test_loudness_matches_librosa_reference(violin):
  loudness = spectral_ops.compute_loudness(violin).numpy()
  s = librosa.stft(violin, n_fft=512, hop_length=64, window='hann',
                   center=True, pad_mode='constant')
  weights = librosa.db_to_power(librosa.A_weighting(
      librosa.fft_frequencies(sr=16000, n_fft=512)))
  mean_power = np.mean(np.abs(s)**2 * weights[:, np.newaxis], axis=0)
  expected = np.maximum(10 * np.log10(np.maximum(mean_power, 1e-20)), -80.0)
  assert loudness.shape == expected.shape == (251,)
  np.testing.assert_allclose(loudness, expected, atol=0.01)


@pytest.mark.parametrize('sample_rate', SAMPLE_RATES)
def test_loudness_tf_and_numpy_agree(violin, sample_rate):
  audio = violin
  if sample_rate != 16000:
    ratio = fractions.Fraction(sample_rate, 16000)
    audio = scipy.signal.resample_poly(violin, ratio.numerator,
                                       ratio.denominator).astype(np.float32)
  batch = np.stack([audio, 0.01 * audio[::-1]])
  loud_tf = spectral_ops.compute_loudness(batch, sample_rate).numpy()
  loud_np = spectral_ops.compute_loudness(batch, sample_rate, use_tf=False)
  assert isinstance(loud_np, np.ndarray) and loud_np.dtype == np.float32
  np.testing.assert_allclose(loud_tf, loud_np, atol=0.01)
  assert np.all(loud_tf > -80.0)  # Compared above the -80 dB floor.


def test_loudness_of_a_sine_analytic_and_20_db_per_decade():
  loud = spectral_ops.compute_loudness(sine(1000.0), use_tf=False)
  quiet = spectral_ops.compute_loudness(sine(1000.0, amplitude=0.1),
                                        use_tf=False)
  # 1 kHz = bin 32 of 512 at 16 kHz: Hann gives |X| = N/4 there, N/8 at 31, 33.
  w = 10**(spectral_ops.a_weighting(np.array([31, 32, 33]) * 16000 / 512) / 10)
  expected = 10 * np.log10((128.0**2 * w[1] + 64.0**2 * (w[0] + w[2])) / 257)
  np.testing.assert_allclose(loud[10:-10], expected, atol=1e-3)
  np.testing.assert_allclose(loud[10:-10] - quiet[10:-10], 20.0, atol=1e-3)


def test_loudness_is_the_same_at_any_sample_rate():
  middle = {}
  for sample_rate in SAMPLE_RATES:
    loud = spectral_ops.compute_loudness(sine(1000.0, sample_rate, 0.5),
                                         sample_rate).numpy()
    assert loud.shape == (126,)
    middle[sample_rate] = np.median(loud[10:-10])
  assert max(middle.values()) - min(middle.values()) < 0.05, middle


def test_loudness_gradients_and_graph(rng):
  def loudness(x):
    return spectral_ops.compute_loudness(x, sample_rate=44100)

  silence = np.zeros([2, 8820], np.float32)
  grad = gradient(loudness, silence)
  assert np.all(np.isfinite(grad))
  noise = rng.uniform(-0.5, 0.5, [2, 8820]).astype(np.float32)
  grad = gradient(loudness, noise)
  assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0
  # Unknown length inside a graph: same values and frame count.
  graph_fn = tf.function(loudness, input_signature=[
      tf.TensorSpec([None, None], tf.float32)])
  np.testing.assert_allclose(graph_fn(noise).numpy(), loudness(noise).numpy(),
                             atol=1e-4)


# ------------------------------------------------------------------------------
# Lengths and errors.
# ------------------------------------------------------------------------------
def test_pad_or_trim_to_expected_length():
  v = np.arange(10, dtype=np.float32)
  np.testing.assert_array_equal(
      spectral_ops.pad_or_trim_to_expected_length(v, 12, pad_value=-1),
      np.concatenate([v, [-1, -1]]))
  np.testing.assert_array_equal(
      spectral_ops.pad_or_trim_to_expected_length(v[np.newaxis], 8),
      v[np.newaxis, :8])
  out = spectral_ops.pad_or_trim_to_expected_length(tf.constant(v), 11,
                                                    use_tf=True)
  assert isinstance(out, tf.Tensor) and out.shape == (11,)
  with pytest.raises(ValueError, match='differs from expected_len=40 by more '
                     'than len_tolerance=20'):
    spectral_ops.pad_or_trim_to_expected_length(v, 40)


@pytest.mark.parametrize('fn,kwargs,match', [
    (spectral_ops.compute_loudness, dict(audio=np.zeros([2, 100, 2])),
     r'`audio` must be \[batch, n_samples\]'),
    (spectral_ops.compute_loudness, dict(audio=np.zeros([100]),
                                         padding='middle'),
     r"`padding` must be one of \['valid', 'same', 'center'\]"),
    (spectral_ops.compute_loudness, dict(audio=np.zeros([100]),
                                         padding='valid'),
     'shorter than one frame of 512 samples'),
    (spectral_ops.compute_rms_energy, dict(audio=np.zeros([1000]),
                                           sample_rate=16000,
                                           frame_rate=20000),
     'frame_rate` must not exceed `sample_rate`.*frame_rate=20000'),
    (spectral_ops.compute_power, dict(audio=np.zeros([1000]), frame_rate=-5),
     r'`frame_rate` must be a positive number. Received: frame_rate=-5'),
    (spectral_ops.compute_mel, dict(audio=np.zeros([1, 4096]), hi_hz=12000.0),
     r'`hi_hz` must be a number in \[0.0, 8000.0\]'),
    (spectral_ops.compute_mel, dict(audio=np.zeros([1, 4096]), lo_hz=500.0,
                                    hi_hz=400.0),
     '`lo_hz` must be below `hi_hz`'),
    (spectral_ops.compute_mfcc, dict(audio=np.zeros([1, 4096]), mel_bins=10),
     '`mfcc_bins` must not exceed `mel_bins`'),
    (spectral_ops.stft, dict(audio=np.zeros([1, 4096]), overlap=1.0),
     '`overlap` must leave a hop of at least one sample'),
    (spectral_ops.stft, dict(audio=np.zeros([1, 4096]), frame_size=0),
     '`frame_size` must be a positive integer'),
    (spectral_ops.stft, dict(audio=np.zeros([1, 100]), pad_end=False),
     'shorter than one frame of 2048 samples'),
    (spectral_ops.pad, dict(x=np.zeros([1, 100]), frame_size=8, hop_size=4,
                            mode='wrap'),
     '`mode` must be one of'),
])
def test_errors(fn, kwargs, match):
  with pytest.raises(ValueError, match=match):
    fn(**kwargs)


def test_docstring_examples():
  results = doctest.testmod(spectral_ops, extraglobs={'np': np, 'tf': tf},
                            optionflags=doctest.ELLIPSIS)
  assert results.attempted > 10 and results.failed == 0


# ------------------------------------------------------------------------------
# Audio layout and non-finite audio (compute_f0 fails before CREPE runs).
# ------------------------------------------------------------------------------
_STEREO = np.zeros([16000, 2], np.float32)  # As soundfile.read returns it.
_MONO_HINT = (r'a last axis of 2 looks like the channels of multichannel '
              r'audio.*Make it mono first, e.g. `audio.mean\(axis=-1\)`.*'
              r'Received: audio.shape=\(16000, 2\)')


@pytest.mark.parametrize('fn', [
    spectral_ops.compute_mag,
    lambda audio: spectral_ops.compute_loudness(audio, use_tf=False),
    spectral_ops.compute_loudness,
    spectral_ops.compute_mfcc,
    spectral_ops.compute_rms_energy,
    lambda audio: spectral_ops.compute_f0(audio, 100),
], ids=['mag', 'loudness-np', 'loudness-tf', 'mfcc', 'rms', 'f0'])
def test_stereo_audio_is_refused_with_a_hint(fn):
  with pytest.raises(ValueError, match=_MONO_HINT):
    fn(_STEREO)
  fn(_STEREO.mean(axis=-1))  # What the message says to do works.


@pytest.mark.parametrize('fn', [
    spectral_ops.compute_mag,
    lambda audio: spectral_ops.compute_loudness(audio, use_tf=False),
    spectral_ops.compute_loudness,
    spectral_ops.compute_power,
    lambda audio: spectral_ops.compute_f0(audio, 100),
], ids=['mag', 'loudness-np', 'loudness-tf', 'power', 'f0'])
def test_non_finite_audio_raises(fn):
  """Today NaN passes through; compute_f0 returned a confident 32 Hz."""
  audio = sine(440.0)
  audio[8000] = np.nan
  with pytest.raises(ValueError, match=r'`audio` must be finite.*1 NaN and 0 '
                     r'infinite values of 16000, the first at index '
                     r'\(8000,\)'):
    fn(audio)


def test_loudness_checks_finiteness_inside_tf_function():
  fn = tf.function(spectral_ops.compute_loudness,
                   input_signature=[tf.TensorSpec([None, None], tf.float32)])
  audio = sine(440.0)[np.newaxis]
  np.testing.assert_allclose(fn(audio), spectral_ops.compute_loudness(audio),
                             atol=1e-4)
  audio[0, 3] = np.inf
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='`audio` must be finite'):
    fn(audio)
