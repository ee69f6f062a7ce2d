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
# # Tutorial 1: the functional core, `ddsp.core`
#
# `ddsp.core` is plain TensorFlow math: no layers, no state, no gin.
# Everything else in the library (synths, effects, losses, models) is built
# from these functions, and all of them are differentiable, so gradients flow
# from an audio loss back to whatever produced their inputs.
#
# This notebook walks through the four topics of the core, with a figure and
# a sound for each:
#
# 1. units and scale functions (Hz <-> MIDI, amplitude <-> dB, `exp_sigmoid`),
# 2. resampling controls from the frame rate to the audio rate,
# 3. oscillators (sinusoid banks, harmonic synthesis, streaming, wavetables),
# 4. filtering (FFT convolution, filters designed from magnitudes, sinc
#    filters).
#
# Shapes follow one convention everywhere: `[batch, time, channels]`, where
# time is counted in *frames* for controls (250 frames/s by default) and in
# *samples* for audio (16 kHz by default, so 64 samples per frame).

# %% tags=["parameters"]
# Short mode: shorter sounds, for a quick run on a CPU. None: decided by the
# environment variable DDSP_TUTORIAL_SHORT (CI sets it to 1).
SHORT = None
OUTPUT_DIR = None  # Figures, audio and results.json (None: a temp folder).

# %%
import matplotlib.pyplot as plt
import numpy as np
import scipy.signal
import tensorflow as tf

import tutorial_utils
from ddsp import core

tutorial = tutorial_utils.Tutorial('core_functions', 'Tutorial 1: ddsp.core',
                                   short=SHORT, output_dir=OUTPUT_DIR)
SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE  # 64 samples per frame.
SECONDS = 0.5 if tutorial.short else 2.0
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Units and scale functions
#
# Pitch: MIDI 69 is A4 = 440 Hz, and 12 MIDI notes make an octave. Unvoiced
# frames carry f0 = 0 Hz, which `hz_to_midi` maps to MIDI 0 (no NaN). Level:
# dB relative to amplitude 1, floored at `-range_db` (80 dB).

# %%
tutorial.record('midi_69_hz', float(core.midi_to_hz(69.0)), unit='Hz')
midi = core.hz_to_midi(tf.constant([220.0, 440.0, 880.0, 0.0])).numpy()
tutorial.record('hz_to_midi_220_440_880_0', midi.round(3))
tutorial.record('amplitude_0.1_in_db', float(core.amplitude_to_db(0.1)),
                unit='dB')
tutorial.record('amplitude_1e-6_in_db', float(core.amplitude_to_db(1e-6)),
                unit='dB (floored at -80)')
tutorial.record('minus_6db_amplitude', float(core.db_to_amplitude(-6.0206)))

# %% [markdown]
# A network outputs unconstrained numbers. Synth controls such as amplitudes
# must be positive and span many orders of magnitude, so they go through
# `exp_sigmoid(x) = max_value * sigmoid(x) ** ln(exponent) + threshold`. For
# x << 0 it grows by nearly a factor `exponent` (10) per unit of x, about
# 20 dB per unit (until the 1e-7 threshold, -140 dB, takes over): a network
# moves through loudness levels evenly in dB. Frequencies of free sinusoids
# go through `frequencies_sigmoid`, log-spaced (musical) between `hz_min` and
# `hz_max`.

# %%
x = tf.linspace(-10.0, 10.0, 201)
exp_sig = core.exp_sigmoid(x).numpy()
tutorial.record('exp_sigmoid_at_0', float(core.exp_sigmoid(0.0)))
tutorial.record('exp_sigmoid_at_-5', float(core.exp_sigmoid(-5.0)), '.3g')
slope_db = float(20 * np.log10(core.exp_sigmoid(-3.0) /
                               core.exp_sigmoid(-4.0)))
tutorial.record('exp_sigmoid_db_per_unit_from_-4_to_-3', slope_db, '.3g', 'dB')
freqs = core.frequencies_sigmoid(x[tf.newaxis, :, tf.newaxis],
                                 hz_min=20.0, hz_max=8000.0)[0, :, 0]

fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
axes[0].plot(x, 20 * np.log10(exp_sig), label='exp_sigmoid')
axes[0].plot(x, 20 * np.log10(tf.sigmoid(x).numpy()), '--', label='sigmoid')
axes[0].set(xlabel='network output x', ylabel='dB',
            title='amplitude scale functions')
axes[0].legend()
axes[1].plot(x, freqs.numpy())
axes[1].set(xlabel='network output x', ylabel='Hz', yscale='log',
            title='frequencies_sigmoid (20 Hz - 8 kHz)')
notes = np.arange(21, 109)
axes[2].plot(notes, core.midi_to_hz(notes.astype(np.float32)).numpy())
axes[2].set(xlabel='MIDI note', ylabel='Hz', yscale='log',
            title='midi_to_hz (piano range)')
tutorial.save_figure(fig, '01_units.png')

# %% [markdown]
# ## 2. Resampling: frames -> samples
#
# Networks run at the frame rate; oscillators need a value per sample.
# `core.resample` interpolates along the time axis (axis 1 of
# `[batch, n_frames, channels]`). With `add_endpoint=True` (the default)
# frame k sits at sample `k * hop` and the last frame is held for one more
# hop, so `n_frames` frames make exactly `n_frames * hop` samples. Every
# method passes through the frame values; the overshoot is how far the curve
# leaves the range of the frames.

# %%
n_frames, hop = 8, 64
frames = rng.uniform(0.0, 1.0, size=[1, n_frames, 1]).astype(np.float32)
n_samples = n_frames * hop
fig, ax = plt.subplots(figsize=(9, 3.5))
t = np.arange(n_samples)
for method in ('nearest', 'linear', 'cubic', 'window'):
  up = core.resample(frames, n_samples, method=method)[0, :, 0].numpy()
  ax.plot(t, up, label=method)
  at_frames = np.abs(up[::hop] - frames[0, :, 0]).max()
  overshoot = max(up.max() - frames.max(), frames.min() - up.min(), 0.0)
  tutorial.record(f'resample_{method}_error_at_frames', float(at_frames),
                  '.2g')
  tutorial.record(f'resample_{method}_overshoot', float(overshoot), '.3g')
ax.plot(t[::hop], frames[0, :, 0], 'ko', label='frames')
ax.set(xlabel='sample', ylabel='value',
       title='core.resample: 8 frames -> 512 samples')
ax.legend(ncol=5, fontsize=8)
tutorial.save_figure(fig, '02_resampling.png')

# %% [markdown]
# `'window'` (overlap-added Hann windows) is smooth and never overshoots,
# which is why amplitude envelopes use it: `'cubic'` can dip below zero
# between frames, an amplitude that makes no sense.
#
# ## 3. Oscillators
#
# ### 3a. `oscillator_bank`
#
# Audio-rate frequency and amplitude envelopes
# `[batch, n_samples, n_sinusoids]` -> audio. Here one exponential chirp from
# 100 Hz to 6 kHz; a sine of amplitude 0.5 has an RMS of 0.3536.

# %%
n_samples = int(SECONDS * SAMPLE_RATE)
n_frames = n_samples // HOP
chirp_hz = np.geomspace(100.0, 6000.0, n_samples, dtype=np.float32)
chirp = core.oscillator_bank(chirp_hz[np.newaxis, :, np.newaxis],
                             0.5 * tf.ones([1, n_samples, 1]),
                             sample_rate=SAMPLE_RATE)
tutorial.record('chirp_rms', float(np.sqrt(np.mean(chirp.numpy() ** 2))),
                '.4f')
tutorial.write_wav(chirp[0], '03_chirp.wav')

# %% [markdown]
# ### 3b. `harmonic_synthesis`
#
# Frame-rate f0 `[batch, n_frames, 1]`, amplitude `[batch, n_frames, 1]` and
# harmonic distribution `[batch, n_frames, n_harmonics]` -> audio. A 1/k
# distribution sounds like a sawtooth: the three strongest spectral peaks are
# the first three harmonics, and harmonic 2 is 6 dB below harmonic 1.
# `normalize_harmonics` makes the distribution sum to 1 and zeroes harmonics
# above Nyquist.

# %%
n_harmonics = 30
f0 = 220.0
f0_hz = tf.fill([1, n_frames, 1], f0)
amplitudes = tf.fill([1, n_frames, 1], 0.5)
harmonic_distribution = tf.constant(
    1.0 / np.arange(1, n_harmonics + 1), tf.float32) * tf.ones(
        [1, n_frames, n_harmonics])
harmonic_distribution = core.normalize_harmonics(
    harmonic_distribution, f0_hz, SAMPLE_RATE)
saw = core.harmonic_synthesis(f0_hz, amplitudes,
                              harmonic_distribution=harmonic_distribution,
                              n_samples=n_samples, sample_rate=SAMPLE_RATE)
tutorial.write_wav(saw[0], '03_harmonic_sawtooth.wav')
saw_hz, saw_db = tutorial_utils.spectrum_db(saw[0].numpy(), SAMPLE_RATE)
peaks, _ = scipy.signal.find_peaks(saw_db, height=-40.0, distance=20)
strongest = np.sort(saw_hz[peaks[np.argsort(saw_db[peaks])[-3:]]])
tutorial.record('sawtooth_three_strongest_peaks_hz', strongest.round(1))
level = lambda hz: saw_db[np.argmin(np.abs(saw_hz - hz))]
tutorial.record('sawtooth_harmonic_2_minus_1_db',
                float(level(2 * f0) - level(f0)), '.3g', 'dB')

# %% [markdown]
# ### 3c. No aliasing
#
# Harmonics at or above Nyquist (8 kHz) are silent. With f0 = 3 kHz only
# harmonics 1 and 2 (3 and 6 kHz) fit; harmonic 3 (9 kHz) would fold back to
# 7 kHz if it were rendered, and there is nothing there. A sweep with 40
# harmonics shows it in a spectrogram: harmonics fade out as they reach
# Nyquist instead of folding back down.

# %%
high = core.harmonic_synthesis(
    tf.fill([1, n_frames, 1], 3000.0), amplitudes,
    harmonic_distribution=tf.ones([1, n_frames, 10]),
    n_samples=n_samples, sample_rate=SAMPLE_RATE)
high_hz, high_db = tutorial_utils.spectrum_db(high[0].numpy(), SAMPLE_RATE)
tutorial.record('alias_level_at_7khz_db',
                float(high_db[np.argmin(np.abs(high_hz - 7000.0))]), '.3g',
                'dB re. peak')
sweep_f0 = tf.constant(np.geomspace(100.0, 1600.0, n_frames),
                       tf.float32)[tf.newaxis, :, tf.newaxis]
sweep = core.harmonic_synthesis(
    sweep_f0, amplitudes, harmonic_distribution=core.normalize_harmonics(
        tf.ones([1, n_frames, 40]), sweep_f0, SAMPLE_RATE),
    n_samples=n_samples, sample_rate=SAMPLE_RATE)
tutorial.write_wav(sweep[0], '03_harmonic_sweep.wav')

fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
axes[0].plot(np.arange(400) / SAMPLE_RATE * 1000, saw[0, :400])
axes[0].set(xlabel='ms', title='harmonic_synthesis: 1/k distribution')
axes[1].plot(saw_hz, saw_db)
axes[1].plot(saw_hz[peaks], saw_db[peaks], 'r.', markersize=4)
axes[1].set(xlim=(0, 3000), ylim=(-80, 3), xlabel='Hz', ylabel='dB',
            title='its spectrum: peaks at k * 220 Hz')
tutorial_utils.plot_spectrogram(axes[2], sweep[0].numpy(), SAMPLE_RATE,
                                '40 harmonics, f0 100 -> 1600 Hz')
tutorial.save_figure(fig, '03_harmonic_synthesis.png')

# %% [markdown]
# ### 3d. Streaming: block by block, carrying the phase
#
# `streaming_harmonic_synthesis` returns the final phase of the fundamental
# with the audio; pass it as the next block's `initial_phase` and the blocks
# join without a click, equal to rendering the whole at once. The naive way,
# every block restarting at phase 0, jumps at every block edge.

# %%
n_blocks = 4
block_frames = n_frames // n_blocks
block_samples = block_frames * HOP
f0_block = tf.fill([1, block_frames, 1], 345.7)
amp_block = tf.fill([1, block_frames, 1], 0.5)
dist_block = tf.ones([1, block_frames, 8])
whole, _ = core.streaming_harmonic_synthesis(
    tf.tile(f0_block, [1, n_blocks, 1]), tf.tile(amp_block, [1, n_blocks, 1]),
    tf.tile(dist_block, [1, n_blocks, 1]),
    n_samples=n_blocks * block_samples, sample_rate=SAMPLE_RATE)
phase, carried, restarted = None, [], []
for _ in range(n_blocks):
  block, phase = core.streaming_harmonic_synthesis(
      f0_block, amp_block, dist_block, initial_phase=phase,
      n_samples=block_samples, sample_rate=SAMPLE_RATE)
  carried.append(block)
  restarted.append(core.streaming_harmonic_synthesis(
      f0_block, amp_block, dist_block, n_samples=block_samples,
      sample_rate=SAMPLE_RATE)[0])
carried = tf.concat(carried, axis=1)
restarted = tf.concat(restarted, axis=1)
tutorial.record('streaming_max_error_phase_carried',
                float(tf.reduce_max(tf.abs(carried - whole))), '.2g')
tutorial.record('streaming_max_error_phase_restarted',
                float(tf.reduce_max(tf.abs(restarted - whole))), '.3g')

# %% [markdown]
# ### 3e. Wavetables
#
# One period of a waveform per frame, read at the phase of f0. A harmonic
# distribution can be turned into a table with
# `harmonic_distribution_to_wavetable`; played at 220 Hz, the spectrum peaks
# at 220 Hz.

# %%
table = core.harmonic_distribution_to_wavetable(
    harmonic_distribution[:, :1], n_wavetable=512)  # [1, 1, 512]
wave = core.wavetable_synthesis(f0_hz, amplitudes, table[:, 0],
                                n_samples=n_samples, sample_rate=SAMPLE_RATE)
wave_hz, wave_db = tutorial_utils.spectrum_db(wave[0].numpy(), SAMPLE_RATE)
tutorial.record('wavetable_peak_hz', float(wave_hz[np.argmax(wave_db)]), '.5g',
                'Hz')
tutorial.write_wav(wave[0], '03_wavetable.wav')

fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
edge = block_samples
around = np.arange(edge - 60, edge + 60)
axes[0].plot(around, carried[0].numpy()[around], label='phase carried')
axes[0].plot(around, restarted[0].numpy()[around], '--',
             label='restarted at 0')
axes[0].axvline(edge, color='gray', lw=0.5)
axes[0].set(xlabel='sample', title='streaming: a block edge')
axes[0].legend(fontsize=8)
axes[1].plot(table[0, 0])
axes[1].set(xlabel='table index', title='harmonic_distribution_to_wavetable')
axes[2].plot(np.arange(400) / SAMPLE_RATE * 1000, wave[0, :400])
axes[2].set(xlabel='ms', title='wavetable_synthesis at 220 Hz')
tutorial.save_figure(fig, '03_streaming_and_wavetable.png')

# %% [markdown]
# ### 3f. Everything is differentiable
#
# The gradient of the output's energy with respect to f0 and the harmonic
# distribution, through `harmonic_synthesis`.

# %%
f0_var = tf.Variable(f0_hz)
dist_var = tf.Variable(harmonic_distribution)
with tf.GradientTape() as tape:
  audio = core.harmonic_synthesis(f0_var, amplitudes,
                                  harmonic_distribution=dist_var,
                                  n_samples=n_samples, sample_rate=SAMPLE_RATE)
  energy = tf.reduce_mean(audio ** 2)
grad_f0, grad_dist = tape.gradient(energy, [f0_var, dist_var])
tutorial.record('gradients_finite', bool(
    np.all(np.isfinite(grad_f0)) and np.all(np.isfinite(grad_dist))))
tutorial.record('gradient_norm_harmonic_distribution',
                float(tf.norm(grad_dist)), '.3g')

# %% [markdown]
# ## 4. Filtering
#
# ### 4a. `fft_convolve`
#
# Linear convolution by FFT. With `delay_compensation=0` and
# `padding='valid'` it is exactly scipy's full convolution.

# %%
noise = rng.uniform(-1.0, 1.0, size=[1, n_samples]).astype(np.float32)
ir = rng.normal(size=[1, 300]).astype(np.float32)
ours = core.fft_convolve(noise, ir, padding='valid', delay_compensation=0)
reference = scipy.signal.fftconvolve(noise[0], ir[0], mode='full')
tutorial.record('fft_convolve_vs_scipy_max_error',
                float(np.abs(ours[0].numpy() - reference).max()), '.2g')

# %% [markdown]
# ### 4b. Filters designed from magnitudes
#
# `frequency_impulse_response` turns a desired magnitude response, sampled
# at `n_bands` frequencies linearly spaced from 0 Hz to Nyquist, into a
# linear-phase FIR filter (Hann-windowed to `window_size` taps). Here an
# ideal 2 kHz low-pass with 65 bands (125 Hz apart); its actual response is
# the FFT of the taps, finely sampled.

# %%
n_bands = 65
band_hz = np.linspace(0, SAMPLE_RATE / 2, n_bands)
desired = (band_hz < 2000.0).astype(np.float32)
taps = core.frequency_impulse_response(desired[np.newaxis], window_size=127)
response = np.abs(np.fft.rfft(taps[0].numpy(), 4096))
response_hz = np.fft.rfftfreq(4096, 1 / SAMPLE_RATE)
response_db = 20 * np.log10(np.maximum(response, 1e-6))
tutorial.record('lowpass_passband_worst_db',
                float(np.abs(response_db[response_hz < 1500.0]).max()), '.3g',
                'dB from 0 dB below 1.5 kHz')
tutorial.record('lowpass_stopband_best_db',
                float(response_db[response_hz > 3000.0].max()), '.3g',
                'dB above 3 kHz')

# %% [markdown]
# ### 4c. Time-varying filters
#
# `frequency_filter` applies the same design per frame: with magnitudes
# `[batch, n_frames, n_bands]` the filter changes over time, and frames are
# cross-faded by windowed overlap-add (no clicks at frame edges). A band
# sweeping from 300 Hz to 6 kHz: the spectral centroid is low in the first
# quarter and high in the last.

# %%
centre = np.geomspace(300.0, 6000.0, n_frames)[:, np.newaxis]
bandpass = np.exp(-0.5 * ((band_hz[np.newaxis] - centre) / 200.0) ** 2)
swept = core.frequency_filter(noise, bandpass[np.newaxis].astype(np.float32))
tutorial.write_wav(swept[0], '04_swept_bandpass_noise.wav')
quarter = n_samples // 4
for label, part in (('first', swept[0, :quarter]),
                    ('last', swept[0, -quarter:])):
  spectrum = np.abs(np.fft.rfft(part.numpy()))
  hz = np.fft.rfftfreq(quarter, 1 / SAMPLE_RATE)
  tutorial.record(f'swept_noise_centroid_{label}_quarter_hz',
                  float((spectrum * hz).sum() / spectrum.sum()), '.4g')

# %% [markdown]
# ### 4d. Sinc filters
#
# `sinc_filter`: a windowed-sinc low-pass (or high-pass) with a cutoff in Hz
# (or a fraction of Nyquist), constant or per frame. The rejection is the
# mean power above 1.5 kHz against below 0.8 kHz.

# %%
low = core.sinc_filter(noise, 1000.0, window_size=256, sample_rate=SAMPLE_RATE)
power = np.abs(np.fft.rfft(low[0].numpy())) ** 2
hz = np.fft.rfftfreq(n_samples, 1 / SAMPLE_RATE)
tutorial.record('sinc_lowpass_1khz_rejection_db', float(
    10 * np.log10(power[hz > 1500].mean() / power[hz < 800].mean())), '.3g',
                'dB')

fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
axes[0].plot(band_hz, 20 * np.log10(np.maximum(desired, 1e-3)), 'o',
             markersize=3, label='desired (65 bands)')
axes[0].plot(response_hz, response_db, label='127-tap FIR')
axes[0].set(xlabel='Hz', ylabel='dB', ylim=(-80, 5),
            title='frequency_impulse_response')
axes[0].legend(fontsize=8)
tutorial_utils.plot_spectrogram(axes[1], swept[0].numpy(), SAMPLE_RATE,
                                'frequency_filter: time-varying band')
tutorial_utils.plot_spectrogram(axes[2], low[0].numpy(), SAMPLE_RATE,
                                'sinc_filter: 1 kHz low-pass')
tutorial.save_figure(fig, '04_filtering.png')

# %% [markdown]
# ## Summary
#
# The numbers above are kept in `results.json` in the output folder (the
# test suite checks them). Next: tutorial 2 wraps these functions in
# processors, Keras layers that turn network outputs into valid controls.

# %%
summary = tutorial.finish()
