# %%
#@title Install ddsp (in Colab; does nothing where ddsp is installed)
# In Colab: clone the repository (for the example data and the tutorial
# helpers) and pip-install ddsp from it. In Jupyter or a script, with ddsp
# installed (see the README), this cell does nothing.
import importlib.util
import os
import subprocess
import sys

REPO_URL = 'https://github.com/OWNER/REPO'  # Placeholder: this repository.
EXTRAS = ''  # '[data_preparation]' where a notebook prepares datasets.
if 'google.colab' in sys.modules and importlib.util.find_spec('ddsp') is None:
  subprocess.run(['git', 'clone', '--depth=1', REPO_URL, 'ddsp_repo'],
                 check=True)
  subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',
                  f'./ddsp_repo{EXTRAS}'], check=True)
if os.path.isdir('ddsp_repo/examples'):
  os.chdir('ddsp_repo/examples')  # The tutorial helpers and example data.

# %% [markdown]
# # Tutorial 3: every synth and effect
#
# A tour of `ddsp.synths` and `ddsp.effects`, each driven by hand-made
# controls, played, and checked with one measurement:
#
# * synths: `Harmonic`, `FilteredNoise`, `Wavetable`, `Sinusoidal`,
#   `TensorToAudio`;
# * effects: `Reverb` (given or learned impulse response), `ExpDecayReverb`,
#   `FilteredNoiseReverb`, `FIRFilter`, `ModDelay`.
#
# Here the controls are designed by hand, so most processors are built with
# `scale_fn=None` (the inputs *are* the controls: Hz, linear amplitudes). In
# a model the inputs come from a network and the default scale functions make
# them valid (tutorial 2). Controls are `[batch, n_frames, channels]` at
# 250 frames/s, audio is `[batch, n_samples]` at 16 kHz (64 samples per
# frame).

# %% tags=["parameters"]
# Short mode: shorter sounds and reverbs, for a quick run on a CPU.
# None: decided by the environment variable DDSP_TUTORIAL_SHORT (CI sets it).
SHORT = None
OUTPUT_DIR = None  # Figures, audio and results.json (None: a temp folder).

# %%
import matplotlib.pyplot as plt
import numpy as np
import scipy.signal
import tensorflow as tf

import tutorial_utils
from ddsp import core
from ddsp import effects
from ddsp import synths

tutorial = tutorial_utils.Tutorial('synths_and_effects',
                                   'Tutorial 3: every synth and effect',
                                   short=SHORT, output_dir=OUTPUT_DIR)
SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE
SECONDS = 1.0 if tutorial.short else 2.0
REVERB_SECONDS = 0.5 if tutorial.short else 1.0
N_FRAMES = int(SECONDS * FRAME_RATE)
N_SAMPLES = N_FRAMES * HOP
spectrograms = {}


def peak_hz(audio):
  """Frequency of the strongest spectral peak of mono audio, Hz."""
  freqs, db = tutorial_utils.spectrum_db(audio, SAMPLE_RATE)
  return float(freqs[np.argmax(db)])

# %% [markdown]
# ## 1. Synths
#
# ### Harmonic
#
# f0, overall amplitude and a harmonic distribution per frame: four notes
# (C4 E4 G4 C5), each with a 20 ms attack and an exponential decay, and a
# brightness that follows loudness (a louder note has stronger high
# harmonics). With `scale_fn=None` the amplitude is linear and the
# distribution is used as given (still normalized to sum to 1 below
# Nyquist). The first note's spectrum peaks at C4 = 261.6 Hz.

# %%
notes = [60, 64, 67, 72]
per_note = N_FRAMES // len(notes)
f0_midi = np.repeat(notes, per_note).astype(np.float32)
f0_midi = np.pad(f0_midi, (0, N_FRAMES - f0_midi.size), mode='edge')
t_note = np.arange(per_note) / FRAME_RATE
envelope = np.minimum(t_note / 0.02, 1.0) * np.exp(-3.0 * t_note)
note_amps = np.pad(np.tile(envelope, len(notes)),
                   (0, N_FRAMES - per_note * len(notes)))
f0_hz = core.midi_to_hz(f0_midi).numpy()[np.newaxis, :, np.newaxis]
amps = (0.5 * note_amps[np.newaxis, :, np.newaxis]).astype(np.float32)

k = np.arange(1, 41)
rolloff = 1.0 + 6.0 * (1.0 - amps / amps.max())  # [1, n_frames, 1]
distribution = (k ** -rolloff).astype(np.float32)  # [1, n_frames, 40]
harmonic = synths.Harmonic(n_samples=N_SAMPLES, scale_fn=None)
melody = harmonic(amps, distribution, f0_hz)
tutorial.write_wav(melody[0], 'harmonic.wav')
tutorial.record('harmonic_first_note_peak_hz',
                peak_hz(melody[0, :N_SAMPLES // 4].numpy()), '.5g')
spectrograms['Harmonic'] = melody[0]

# %% [markdown]
# Variable length: `n_samples=None` renders `n_frames * 64` samples, so the
# same layer renders any length (here 3 times as many frames).

# %%
free = synths.Harmonic(n_samples=None, scale_fn=None)
long_audio = free(np.tile(amps, [1, 3, 1]), np.tile(distribution, [1, 3, 1]),
                  np.tile(f0_hz, [1, 3, 1]))
tutorial.record('harmonic_n_samples_none_lengths',
                [int(free(amps, distribution, f0_hz).shape[1]),
                 int(long_audio.shape[1])])

# %% [markdown]
# ### FilteredNoise
#
# Magnitudes `[batch, n_frames, n_bands]` (bands linearly spaced from 0 Hz to
# Nyquist) shape white noise. A "whoosh": a band that rises and falls. The
# noise is seeded: same seed, same audio. While training (`training=True`)
# each call draws fresh noise from the layer's seed generator, so a model
# does not overfit one noise signal.

# %%
band_hz = np.linspace(0.0, SAMPLE_RATE / 2, 65)
centre = 500.0 + 4000.0 * np.sin(np.linspace(0, np.pi, N_FRAMES)) ** 2
magnitudes = np.exp(-0.5 * ((band_hz - centre[:, None]) / 400.0) ** 2)
magnitudes = magnitudes[np.newaxis].astype(np.float32)


def noise_synth(seed):
  return synths.FilteredNoise(n_samples=N_SAMPLES, scale_fn=None,
                              initial_bias=0.0, seed=seed)


noise = noise_synth(1)
whoosh = noise(magnitudes)
tutorial.record('noise_same_seed_identical',
                bool(np.array_equal(whoosh, noise_synth(1)(magnitudes))))
tutorial.record('noise_other_seed_differs',
                bool(not np.allclose(whoosh, noise_synth(2)(magnitudes))))
fresh = [noise(magnitudes, training=True) for _ in range(2)]
tutorial.record('noise_training_calls_differ',
                bool(not np.allclose(fresh[0], fresh[1])))
tutorial.write_wav(whoosh[0], 'filtered_noise.wav')
spectrograms['FilteredNoise'] = whoosh[0]

# %% [markdown]
# ### Wavetable
#
# One period of a waveform per frame, crossfaded between frames: the table
# morphs from a sine to a sawtooth at 110 Hz. A naive sawtooth table
# (`2 * phase - 1`) holds harmonics up to `n_table / 2 = 128`, which alias
# above Nyquist at 110 Hz (128 * 110 Hz > 8 kHz); a band-limited one is built
# from a harmonic distribution instead (60 harmonics, up to 6.6 kHz).

# %%
n_table = 256
sine = np.sin(2 * np.pi * np.arange(n_table) / n_table)
saw_table = core.harmonic_distribution_to_wavetable(
    (1.0 / np.arange(1, 61))[np.newaxis].astype(np.float32), n_table)[0]
saw_table = saw_table.numpy() / np.abs(saw_table.numpy()).max()
mix = np.linspace(0.0, 1.0, N_FRAMES)[:, None]
tables = ((1 - mix) * sine + mix * saw_table)[np.newaxis].astype(np.float32)
wavetable = synths.Wavetable(n_samples=N_SAMPLES, scale_fn=None)
wave = wavetable(np.full([1, N_FRAMES, 1], 0.4, np.float32), tables,
                 np.full([1, N_FRAMES, 1], 110.0, np.float32))
tutorial.record('wavetable_peak_hz', peak_hz(wave[0].numpy()), '.4g')
tutorial.write_wav(wave[0], 'wavetable.wav')
spectrograms['Wavetable'] = wave[0]

# %% [markdown]
# ### Sinusoidal
#
# Free sinusoids, each with its own frequency (Hz) and amplitude: the
# inharmonic partials of a bell (ratios 1, 2.756, 5.404, 8.933 of a struck
# bar on 440 Hz), decaying faster the higher they are. The spectrum peaks at
# the partials.

# %%
ratios = np.array([1.0, 2.756, 5.404, 8.933])
t_frames = np.arange(N_FRAMES)[:, None] / FRAME_RATE
bell_freqs = (440.0 * ratios * np.ones_like(t_frames))[np.newaxis]
bell_amps = 0.3 / (1 + np.arange(4)) * np.exp(
    -t_frames * (1.5 + 2.0 * np.arange(4)))
sinusoidal = synths.Sinusoidal(n_samples=N_SAMPLES, amp_scale_fn=None,
                               freq_scale_fn=None)
bell = sinusoidal(bell_amps[np.newaxis].astype(np.float32),
                  bell_freqs.astype(np.float32))
bell_hz, bell_db = tutorial_utils.spectrum_db(bell[0].numpy(), SAMPLE_RATE)
peaks, _ = scipy.signal.find_peaks(bell_db, height=-45.0, distance=50)
tutorial.record('sinusoidal_peaks_hz', np.sort(bell_hz[peaks]).round(1))
tutorial.write_wav(bell[0], 'sinusoidal_bell.wav')
spectrograms['Sinusoidal'] = bell[0]

# %% [markdown]
# ### TensorToAudio
#
# Treats a tensor as audio, dropping a channel axis (`[batch, n_samples, 1]`
# -> `[batch, n_samples]`): useful in a DAG when a network outputs samples
# directly.

# %%
passed = synths.TensorToAudio()(melody[..., tf.newaxis])
tutorial.record('tensor_to_audio_identity', bool(np.array_equal(passed,
                                                                melody)))
fig, axes = plt.subplots(1, 4, figsize=(15, 3.2))
for ax, (name, audio) in zip(axes, spectrograms.items()):
  tutorial_utils.plot_spectrogram(ax, audio.numpy(), SAMPLE_RATE, name)
tutorial.save_figure(fig, 'synths.png')

# %% [markdown]
# ## 2. Effects
#
# Decay rates are measured by Schroeder integration of the impulse response
# (the energy still to come, in dB), with a line fitted between -5 and
# -35 dB.

# %%
REVERB_LENGTH = int(REVERB_SECONDS * SAMPLE_RATE)
effect_spectrograms = {}
rng = np.random.default_rng(0)


def decay_rate_db_per_s(impulse_response):
  """Decay of an IR's energy envelope (dB/s) by Schroeder integration."""
  energy = np.cumsum(np.square(impulse_response)[::-1])[::-1]
  db = 10 * np.log10(energy / energy[0] + 1e-30)
  fit = (db < -5) & (db > -35)
  seconds = np.arange(impulse_response.size)[fit] / SAMPLE_RATE
  return float(-np.polyfit(seconds, db[fit], 1)[0])


def rms(x):
  return float(np.sqrt(np.mean(np.square(x))))

# %% [markdown]
# ### Reverb
#
# With a given impulse response: `reverb(audio, ir)`. The IR's first tap is
# replaced by the dry signal (`add_dry=True` adds it back). Here: noise
# decaying by 60 dB in 0.8 s, i.e. 75 dB/s. A *trainable* Reverb learns its
# IR as a variable (`reverb_length` taps, initialized near 0, so a new model
# starts almost dry); it takes only the audio.

# %%
t_ir = np.arange(REVERB_LENGTH) / SAMPLE_RATE
ir = rng.uniform(-1, 1, REVERB_LENGTH) * 10 ** (-60 / 20 * t_ir / 0.8)
ir = (0.05 * ir)[np.newaxis].astype(np.float32)
wet_melody = effects.Reverb()(melody, ir)
tutorial.record('reverb_given_ir_decay_db_per_s', decay_rate_db_per_s(ir[0]),
                '.3g', '(designed: 75)')
tutorial.write_wav(wet_melody[0], 'reverb.wav')
effect_spectrograms['Reverb (given IR)'] = wet_melody[0]

learned = effects.Reverb(trainable=True, reverb_length=REVERB_LENGTH, seed=0)
almost_dry = learned(melody)
tutorial.record('trainable_reverb_variables',
                [v.path for v in learned.trainable_variables])
tutorial.record('trainable_reverb_initial_wet_rms', rms(almost_dry - melody),
                '.2g')

# %% [markdown]
# ### ExpDecayReverb
#
# Noise times `exp(-(2 + exp(decay)) * t)` over t in [0, 1] across the IR,
# times `scale_fn(gain)`. Raw decay 1.5 gives a drop of
# `(2 + e^1.5) * 8.69 = 56 dB` over the IR.

# %%
exp_reverb = effects.ExpDecayReverb(reverb_length=REVERB_LENGTH, seed=0)
out = exp_reverb(melody, tf.fill([1, 1], -2.0), tf.fill([1, 1], 1.5),
                 return_outputs_dict=True)
expected = (2 + np.exp(1.5)) * 20 / np.log(10) / REVERB_SECONDS
tutorial.record('exp_decay_reverb_decay_db_per_s',
                decay_rate_db_per_s(out['controls']['ir'][0].numpy()), '.3g',
                f'(formula: {expected:.3g})')
tutorial.write_wav(out['signal'][0], 'exp_decay_reverb.wav')
effect_spectrograms['ExpDecayReverb'] = out['signal'][0]

# %% [markdown]
# ### FilteredNoiseReverb
#
# The IR is filtered noise with magnitudes `[batch, n_frames,
# n_filter_banks]` over its length, so each band can decay at its own rate.
# Here high bands die out faster (a darker tail): the share of energy above
# 4 kHz falls from the first half of the IR to the second.

# %%
n_ir_frames, n_banks = 50, 16
frame_t = np.arange(n_ir_frames)[:, None] / n_ir_frames * REVERB_SECONDS
rate_db = 20.0 + 8.0 * np.arange(n_banks)[None, :]  # dB/s, faster up high.
fn_mags = 0.1 * 10 ** (-rate_db * frame_t / 20.0)
fn_reverb = effects.FilteredNoiseReverb(
    reverb_length=REVERB_LENGTH, n_frames=n_ir_frames, n_filter_banks=n_banks,
    scale_fn=None, initial_bias=0.0, seed=0)
out = fn_reverb(melody, fn_mags[np.newaxis].astype(np.float32),
                return_outputs_dict=True)
fn_ir = out['controls']['ir'][0].numpy()


def high_share(x):
  power = np.abs(np.fft.rfft(x)) ** 2
  hz = np.fft.rfftfreq(x.size, 1 / SAMPLE_RATE)
  return float(power[hz > 4000].sum() / power.sum())


half = fn_ir.size // 2
tutorial.record('filtered_noise_reverb_high_share_first_half',
                high_share(fn_ir[:half]), '.3g')
tutorial.record('filtered_noise_reverb_high_share_second_half',
                high_share(fn_ir[half:]), '.3g')
tutorial.write_wav(out['signal'][0], 'filtered_noise_reverb.wav')
effect_spectrograms['FilteredNoiseReverb'] = out['signal'][0]

# %% [markdown]
# ### FIRFilter
#
# A time-varying filter from magnitudes per frame ("neural wah-wah"): a
# resonant band sweeping between 400 Hz and 3.2 kHz at 2 Hz over a bright
# sawtooth. The spectral centroid goes up and down twice per second.

# %%
saw = synths.Harmonic(n_samples=N_SAMPLES, scale_fn=None)(
    np.full([1, N_FRAMES, 1], 0.5, np.float32),
    (1.0 / np.arange(1, 61) * np.ones([1, N_FRAMES, 60])).astype(np.float32),
    np.full([1, N_FRAMES, 1], 110.0, np.float32))
lfo = 0.5 - 0.5 * np.cos(2 * np.pi * 2.0 * np.arange(N_FRAMES) / FRAME_RATE)
wah_centre = 400.0 * 2 ** (3.0 * lfo)
wah_mags = 0.05 + np.exp(-0.5 * ((band_hz - wah_centre[:, None]) / 150.0) ** 2)
wah = effects.FIRFilter(scale_fn=None)(saw,
                                       wah_mags[np.newaxis].astype(np.float32))
blocks = wah[0].numpy()[:N_SAMPLES // 400 * 400].reshape(-1, 400)
spectra = np.abs(np.fft.rfft(blocks * np.hanning(400), axis=-1))
hz = np.fft.rfftfreq(400, 1 / SAMPLE_RATE)
centroid = (spectra * hz).sum(-1) / spectra.sum(-1)
tutorial.record('fir_wah_centroid_range_hz',
                [float(centroid.min()), float(centroid.max())], '.4g')
tutorial.write_wav(wah[0], 'fir_filter_wah.wav')
effect_spectrograms['FIRFilter (wah)'] = wah[0]

# %% [markdown]
# ### ModDelay
#
# The audio read through a delay of `center_ms + depth_ms * (2 * phase - 1)`
# ms, phase in [0, 1] at audio rate. Vibrato: only the wet signal, the delay
# swinging by 1 ms at 5 Hz. A delay that changes at rate D'(t) shifts the
# pitch by a factor 1 - D'(t): here up to 2 pi * 5 Hz * 1 ms = 3.1 %, i.e.
# about +-54 cents, measured from the instantaneous frequency of a 440 Hz
# tone.

# %%
vibrato = effects.ModDelay(center_ms=2.0, depth_ms=1.0, add_dry=False,
                           gain_scale_fn=None, phase_scale_fn=None)
t = np.arange(N_SAMPLES) / SAMPLE_RATE
vib_phase = (0.5 + 0.5 * np.sin(2 * np.pi * 5.0 * t))[np.newaxis, :, None]
vib_phase = vib_phase.astype(np.float32)
tone = np.sin(2 * np.pi * 440.0 * t)[np.newaxis].astype(np.float32)
out = vibrato(tone, np.ones_like(vib_phase), vib_phase)
analytic = scipy.signal.hilbert(out[0].numpy())
inst_hz = np.diff(np.unwrap(np.angle(analytic))) * SAMPLE_RATE / (2 * np.pi)
cents = 1200 * np.log2(inst_hz[SAMPLE_RATE // 10:-SAMPLE_RATE // 10] / 440.0)
tutorial.record('mod_delay_vibrato_cents',
                [float(np.percentile(cents, 1)),
                 float(np.percentile(cents, 99))], '.3g')
vib_melody = vibrato(melody, np.ones_like(vib_phase), vib_phase)
tutorial.write_wav(vib_melody[0], 'mod_delay_vibrato.wav')
effect_spectrograms['ModDelay (vibrato)'] = vib_melody[0]

# %% [markdown]
# Flanger: a short delay mixed with the dry signal, swept slowly.

# %%
flanger = effects.ModDelay(center_ms=3.0, depth_ms=2.5, add_dry=True,
                           gain_scale_fn=None, phase_scale_fn=None)
sweep = (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))[np.newaxis, :, None]
flanged = flanger(saw, np.full_like(sweep, 0.7, np.float32),
                  sweep.astype(np.float32))
tutorial.write_wav(flanged[0], 'mod_delay_flanger.wav')
effect_spectrograms['ModDelay (flanger)'] = flanged[0]

fig, axes = plt.subplots(2, 3, figsize=(14, 6.2))
for ax, (name, audio) in zip(axes.flat, effect_spectrograms.items()):
  tutorial_utils.plot_spectrogram(ax, audio.numpy(), SAMPLE_RATE, name)
tutorial.save_figure(fig, 'effects.png')

# %%
summary = tutorial.finish()
