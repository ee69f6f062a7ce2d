"""Tutorial 3: every synth and effect.

A tour of `ddsp.synths` and `ddsp.effects`, each driven by hand-made controls,
rendered to WAV and checked with one measurement:

  synths:  Harmonic, FilteredNoise, Wavetable, Sinusoidal, TensorToAudio
  effects: Reverb (given or learned IR), ExpDecayReverb, FilteredNoiseReverb,
           FIRFilter, ModDelay

Here the controls are designed by hand, so most processors are built with
`scale_fn=None` (the inputs *are* the controls: Hz, linear amplitudes). In a
model the inputs come from a network and the default scale functions make
them valid (tutorial 2).

Shapes: controls are [batch, n_frames, channels] at 250 frames/s, audio is
[batch, n_samples] at 16 kHz (64 samples per frame).

Run it:

    python examples/03_synths_and_effects.py --output_dir /tmp/ddsp_tutorial_3

Listen to the WAV files it writes; the PNG figures show their spectrograms.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.signal
import tensorflow as tf

import tutorial_utils

from ddsp import core
from ddsp import effects
from ddsp import synths

SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE


def melody_controls(n_frames):
  """f0 [1, n_frames, 1] (Hz) and amplitude [1, n_frames, 1] of 4 notes."""
  notes = [60, 64, 67, 72]  # C4 E4 G4 C5.
  per_note = n_frames // len(notes)
  f0_midi = np.repeat(notes, per_note).astype(np.float32)
  f0_midi = np.pad(f0_midi, (0, n_frames - f0_midi.size), mode='edge')
  # Each note: 20 ms attack, then an exponential decay.
  t = np.arange(per_note) / FRAME_RATE
  envelope = np.minimum(t / 0.02, 1.0) * np.exp(-3.0 * t)
  amps = np.tile(envelope, len(notes)).astype(np.float32)
  amps = np.pad(amps, (0, n_frames - amps.size))
  f0_hz = core.midi_to_hz(f0_midi).numpy()
  return f0_hz[np.newaxis, :, np.newaxis], 0.5 * amps[np.newaxis, :, np.newaxis]


def peak_hz(audio):
  """Frequency of the strongest spectral peak of mono audio, Hz."""
  freqs, db = tutorial_utils.spectrum_db(audio, SAMPLE_RATE)
  return float(freqs[np.argmax(db)])


def rms(x):
  return float(np.sqrt(np.mean(np.square(x))))


def synth_tour(tutorial, n_frames):
  """Renders each synth; returns the harmonic melody for the effects."""
  tutorial.section('1. Synths')
  n_samples = n_frames * HOP
  spectrograms = {}

  # Harmonic: f0, overall amplitude and a harmonic distribution per frame.
  # scale_fn=None: the amplitude is linear and the distribution is used as
  # given (it is still normalized to sum to 1 below Nyquist).
  f0_hz, amps = melody_controls(n_frames)
  n_harmonics = 40
  k = np.arange(1, n_harmonics + 1)
  # Brightness follows loudness: a louder note has stronger high harmonics.
  rolloff = 1.0 + 6.0 * (1.0 - amps / amps.max())  # [1, n_frames, 1]
  distribution = (k ** -rolloff).astype(np.float32)  # [1, n_frames, 40]
  harmonic = synths.Harmonic(n_samples=n_samples, scale_fn=None)
  melody = harmonic(amps, distribution, f0_hz)
  tutorial.write_wav(melody[0], 'harmonic.wav')
  first_note = melody[0, :n_samples // 4].numpy()
  tutorial.record('harmonic_first_note_peak_hz', peak_hz(first_note), '.5g',
                  '(C4 = 261.6 Hz)')
  spectrograms['Harmonic'] = melody[0]

  # Variable length: n_samples=None renders n_frames * 64 samples, so the same
  # layer renders any length (here 3 times as many frames).
  free = synths.Harmonic(n_samples=None, scale_fn=None)
  long_audio = free(np.tile(amps, [1, 3, 1]), np.tile(distribution, [1, 3, 1]),
                    np.tile(f0_hz, [1, 3, 1]))
  tutorial.record('harmonic_n_samples_none_lengths',
                  [int(free(amps, distribution, f0_hz).shape[1]),
                   int(long_audio.shape[1])])

  # FilteredNoise: magnitudes [batch, n_frames, n_bands] (bands linearly
  # spaced from 0 Hz to Nyquist) shape white noise. A "whoosh": a band that
  # rises and falls. The noise is seeded: same seed, same audio.
  n_bands = 65
  band_hz = np.linspace(0.0, SAMPLE_RATE / 2, n_bands)
  centre = 500.0 + 4000.0 * np.sin(np.linspace(0, np.pi, n_frames)) ** 2
  magnitudes = np.exp(-0.5 * ((band_hz - centre[:, None]) / 400.0) ** 2)
  magnitudes = magnitudes[np.newaxis].astype(np.float32)
  noise = synths.FilteredNoise(n_samples=n_samples, scale_fn=None,
                               initial_bias=0.0, seed=1)
  whoosh = noise(magnitudes)
  again = synths.FilteredNoise(n_samples=n_samples, scale_fn=None,
                               initial_bias=0.0, seed=1)(magnitudes)
  other = synths.FilteredNoise(n_samples=n_samples, scale_fn=None,
                               initial_bias=0.0, seed=2)(magnitudes)
  tutorial.record('noise_same_seed_identical', bool(np.array_equal(whoosh,
                                                                   again)))
  tutorial.record('noise_other_seed_differs',
                  bool(not np.allclose(whoosh, other)))
  # While training (training=True) each call draws fresh noise from the
  # layer's seed generator, so the model does not overfit one noise signal.
  fresh = [noise(magnitudes, training=True) for _ in range(2)]
  tutorial.record('noise_training_calls_differ',
                  bool(not np.allclose(fresh[0], fresh[1])))
  tutorial.write_wav(whoosh[0], 'filtered_noise.wav')
  spectrograms['FilteredNoise'] = whoosh[0]

  # Wavetable: one period of a waveform per frame, crossfaded between frames.
  # The table morphs from a sine to a sawtooth over the clip. A naive sawtooth
  # table (2 * phase - 1) holds harmonics up to n_table / 2 = 128, which
  # alias above Nyquist at 110 Hz (128 * 110 Hz > 8 kHz): build a
  # band-limited one from a harmonic distribution instead (60 harmonics,
  # up to 6.6 kHz).
  n_table = 256
  phase = np.arange(n_table) / n_table
  sine = np.sin(2 * np.pi * phase)
  saw = core.harmonic_distribution_to_wavetable(
      (1.0 / np.arange(1, 61))[np.newaxis].astype(np.float32), n_table)[0]
  saw = saw.numpy() / np.abs(saw.numpy()).max()
  mix = np.linspace(0.0, 1.0, n_frames)[:, None]
  tables = ((1 - mix) * sine + mix * saw)[np.newaxis].astype(np.float32)
  wavetable = synths.Wavetable(n_samples=n_samples, scale_fn=None)
  wave = wavetable(np.full([1, n_frames, 1], 0.4, np.float32), tables,
                   np.full([1, n_frames, 1], 110.0, np.float32))
  tutorial.record('wavetable_peak_hz', peak_hz(wave[0].numpy()), '.4g')
  tutorial.write_wav(wave[0], 'wavetable.wav')
  spectrograms['Wavetable'] = wave[0]

  # Sinusoidal: free sinusoids, each with its own frequency (Hz) and
  # amplitude. Inharmonic partials of a bell (ratios of a struck bar),
  # decaying faster the higher they are.
  ratios = np.array([1.0, 2.756, 5.404, 8.933])
  t = np.arange(n_frames)[:, None] / FRAME_RATE
  freqs = (440.0 * ratios * np.ones_like(t))[np.newaxis].astype(np.float32)
  bell_amps = (0.3 / (1 + np.arange(4)) * np.exp(-t * (1.5 + 2.0 *
                                                        np.arange(4))))
  sinusoidal = synths.Sinusoidal(n_samples=n_samples, amp_scale_fn=None,
                                 freq_scale_fn=None)
  bell = sinusoidal(bell_amps[np.newaxis].astype(np.float32), freqs)
  freqs_found, db = tutorial_utils.spectrum_db(bell[0].numpy(), SAMPLE_RATE)
  peaks, _ = scipy.signal.find_peaks(db, height=-45.0, distance=50)
  tutorial.record('sinusoidal_peaks_hz', np.sort(freqs_found[peaks]).round(1))
  tutorial.write_wav(bell[0], 'sinusoidal_bell.wav')
  spectrograms['Sinusoidal'] = bell[0]

  # TensorToAudio: treats a tensor as audio, dropping a channel axis
  # ([batch, n_samples, 1] -> [batch, n_samples]); useful in a DAG when a
  # network outputs samples directly.
  passed = synths.TensorToAudio()(melody[..., tf.newaxis])
  tutorial.record('tensor_to_audio_identity',
                  bool(np.array_equal(passed, melody)))

  fig, axes = plt.subplots(1, 4, figsize=(15, 3.2))
  for ax, (name, audio) in zip(axes, spectrograms.items()):
    tutorial_utils.plot_spectrogram(ax, audio.numpy(), SAMPLE_RATE, name)
  tutorial.save_figure(fig, 'synths.png')
  return melody


def decay_rate_db_per_s(ir):
  """Decay of an IR's energy envelope (dB/s) by Schroeder integration."""
  energy = np.cumsum(np.square(ir)[::-1])[::-1]
  db = 10 * np.log10(energy / energy[0] + 1e-30)
  # Fit a line between -5 and -35 dB.
  sel = (db < -5) & (db > -35)
  t = np.arange(ir.size)[sel] / SAMPLE_RATE
  slope = np.polyfit(t, db[sel], 1)[0]
  return float(-slope)


def effect_tour(tutorial, melody, seconds_reverb):
  """Applies each effect to the harmonic melody (or a test tone)."""
  tutorial.section('2. Effects')
  n_samples = int(melody.shape[1])
  reverb_length = int(seconds_reverb * SAMPLE_RATE)
  spectrograms = {}
  rng = np.random.default_rng(0)

  # Reverb with a given IR: reverb(audio, ir). The IR's first tap is replaced
  # by the dry signal (add_dry=True adds it back). Here: noise decaying by
  # 60 dB in 0.8 s.
  t = np.arange(reverb_length) / SAMPLE_RATE
  ir = (rng.uniform(-1, 1, reverb_length) * 10 ** (-60 / 20 * t / 0.8))
  ir = (0.05 * ir)[np.newaxis].astype(np.float32)
  reverb = effects.Reverb()
  wet_melody = reverb(melody, ir)
  tutorial.record('reverb_given_ir_decay_db_per_s',
                  decay_rate_db_per_s(ir[0]), '.3g', '(designed: 75)')
  tutorial.write_wav(wet_melody[0], 'reverb.wav')
  spectrograms['Reverb (given IR)'] = wet_melody[0]

  # A trainable Reverb learns its IR as a variable (reverb_length taps,
  # initialized near 0, so a new model starts almost dry). It takes only the
  # audio.
  learned = effects.Reverb(trainable=True, reverb_length=reverb_length,
                           seed=0)
  almost_dry = learned(melody)
  tutorial.record('trainable_reverb_variables',
                  [v.path for v in learned.trainable_variables])
  tutorial.record('trainable_reverb_initial_wet_rms',
                  rms(almost_dry - melody), '.2g')

  # ExpDecayReverb: noise times exp(-(2 + exp(decay)) * t) over t in [0, 1]
  # across the IR, times scale_fn(gain). Raw decay 1.5 -> a drop of
  # (2 + e^1.5) * 8.69 = 56 dB over the IR.
  exp_reverb = effects.ExpDecayReverb(reverb_length=reverb_length, seed=0)
  out = exp_reverb(melody, tf.fill([1, 1], -2.0), tf.fill([1, 1], 1.5),
                   return_outputs_dict=True)
  expected = (2 + np.exp(1.5)) * 20 / np.log(10) / seconds_reverb
  tutorial.record('exp_decay_reverb_decay_db_per_s',
                  decay_rate_db_per_s(out['controls']['ir'][0].numpy()), '.3g',
                  f'(formula: {expected:.3g})')
  tutorial.write_wav(out['signal'][0], 'exp_decay_reverb.wav')
  spectrograms['ExpDecayReverb'] = out['signal'][0]

  # FilteredNoiseReverb: the IR is filtered noise with magnitudes
  # [batch, n_frames, n_filter_banks] over its length, so each band can
  # decay at its own rate. Here high bands die out faster (a darker tail).
  n_ir_frames, n_banks = 50, 16
  frame_t = np.arange(n_ir_frames)[:, None] / n_ir_frames * seconds_reverb
  bank = np.arange(n_banks)[None, :]
  rate_db = 20.0 + 8.0 * bank  # dB per second, higher for higher bands.
  mags = 0.1 * 10 ** (-rate_db * frame_t / 20.0)
  fn_reverb = effects.FilteredNoiseReverb(
      reverb_length=reverb_length, n_frames=n_ir_frames,
      n_filter_banks=n_banks, scale_fn=None, initial_bias=0.0, seed=0)
  out = fn_reverb(melody, mags[np.newaxis].astype(np.float32),
                  return_outputs_dict=True)
  ir = out['controls']['ir'][0].numpy()
  half = ir.size // 2
  def high_share(x):
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    hz = np.fft.rfftfreq(x.size, 1 / SAMPLE_RATE)
    return float(spectrum[hz > 4000].sum() / spectrum.sum())
  tutorial.record('filtered_noise_reverb_high_share_first_half',
                  high_share(ir[:half]), '.3g')
  tutorial.record('filtered_noise_reverb_high_share_second_half',
                  high_share(ir[half:]), '.3g')
  tutorial.write_wav(out['signal'][0], 'filtered_noise_reverb.wav')
  spectrograms['FilteredNoiseReverb'] = out['signal'][0]

  # FIRFilter: a time-varying filter from magnitudes per frame ("neural
  # wah-wah"). A resonant band sweeping at 2 Hz over a bright sawtooth.
  n_frames = n_samples // HOP
  saw = synths.Harmonic(n_samples=n_samples, scale_fn=None)(
      np.full([1, n_frames, 1], 0.5, np.float32),
      (1.0 / np.arange(1, 61) * np.ones([1, n_frames, 60])).astype(np.float32),
      np.full([1, n_frames, 1], 110.0, np.float32))
  band_hz = np.linspace(0, SAMPLE_RATE / 2, 65)
  lfo = 0.5 - 0.5 * np.cos(2 * np.pi * 2.0 * np.arange(n_frames) / FRAME_RATE)
  centre = 400.0 * 2 ** (3.0 * lfo)  # 400 Hz to 3.2 kHz.
  wah_mags = 0.05 + np.exp(-0.5 * ((band_hz - centre[:, None]) / 150.0) ** 2)
  fir = effects.FIRFilter(scale_fn=None)
  wah = fir(saw, wah_mags[np.newaxis].astype(np.float32))
  # The spectral centroid goes up and down twice per second.
  frames = wah[0].numpy()[:n_samples // 400 * 400].reshape(-1, 400)
  spectra = np.abs(np.fft.rfft(frames * np.hanning(400), axis=-1))
  hz = np.fft.rfftfreq(400, 1 / SAMPLE_RATE)
  centroid = (spectra * hz).sum(-1) / spectra.sum(-1)
  tutorial.record('fir_wah_centroid_range_hz',
                  [float(centroid.min()), float(centroid.max())], '.4g')
  tutorial.write_wav(wah[0], 'fir_filter_wah.wav')
  spectrograms['FIRFilter (wah)'] = wah[0]

  # ModDelay: the audio read through a delay of
  # center_ms + depth_ms * (2 * phase - 1) ms, phase in [0, 1] at audio rate.
  # Vibrato: only the wet signal, delay swinging +-1 ms at 5 Hz. A delay that
  # changes at rate D'(t) shifts the pitch by a factor 1 - D'(t): here up to
  # 2 pi * 5 Hz * 1 ms = 3.1 %, i.e. +-54 cents.
  vibrato = effects.ModDelay(center_ms=2.0, depth_ms=1.0, add_dry=False,
                             gain_scale_fn=None, phase_scale_fn=None)
  t = np.arange(n_samples) / SAMPLE_RATE
  lfo = (0.5 + 0.5 * np.sin(2 * np.pi * 5.0 * t))[np.newaxis, :, np.newaxis]
  tone = np.sin(2 * np.pi * 440.0 * t)[np.newaxis].astype(np.float32)
  out = vibrato(tone, np.ones_like(lfo, np.float32), lfo.astype(np.float32))
  analytic = scipy.signal.hilbert(out[0].numpy())
  inst_hz = np.diff(np.unwrap(np.angle(analytic))) * SAMPLE_RATE / (2 * np.pi)
  inst_hz = inst_hz[SAMPLE_RATE // 10:-SAMPLE_RATE // 10]  # Skip the edges.
  cents = 1200 * np.log2(inst_hz / 440.0)
  tutorial.record('mod_delay_vibrato_cents',
                  [float(np.percentile(cents, 1)),
                   float(np.percentile(cents, 99))], '.3g',
                  '(expected about -54 and +54)')
  vib_melody = vibrato(melody, np.ones_like(lfo, np.float32),
                       lfo.astype(np.float32))
  tutorial.write_wav(vib_melody[0], 'mod_delay_vibrato.wav')
  spectrograms['ModDelay (vibrato)'] = vib_melody[0]
  # Flanger: a short delay mixed with the dry signal, swept slowly.
  flanger = effects.ModDelay(center_ms=3.0, depth_ms=2.5, add_dry=True,
                             gain_scale_fn=None, phase_scale_fn=None)
  sweep = (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))[np.newaxis, :, None]
  flanged = flanger(saw, np.full_like(sweep, 0.7, np.float32),
                    sweep.astype(np.float32))
  tutorial.write_wav(flanged[0], 'mod_delay_flanger.wav')
  spectrograms['ModDelay (flanger)'] = flanged[0]

  fig, axes = plt.subplots(2, 3, figsize=(14, 6.2))
  for ax, (name, audio) in zip(axes.flat, spectrograms.items()):
    tutorial_utils.plot_spectrogram(ax, audio.numpy(), SAMPLE_RATE, name)
  tutorial.save_figure(fig, 'effects.png')


def main():
  tutorial = tutorial_utils.Tutorial(
      'synths_and_effects', 'Tutorial 3: every synth and effect')
  seconds = 1.0 if tutorial.short else 2.0
  n_frames = int(seconds * FRAME_RATE)
  melody = synth_tour(tutorial, n_frames)
  effect_tour(tutorial, melody, seconds_reverb=0.5 if tutorial.short else 1.0)
  tutorial.finish()


if __name__ == '__main__':
  main()
