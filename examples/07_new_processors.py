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
# # Tutorial 7: physical models, FM and granular synthesis
#
# The DDSP announcement ended with a wish list: "Granular synthesizers? IIR
# filters? Physical models?". This tutorial plays the synths that answer
# it, each differentiable and measured against theory:
#
# * `PluckedString`: a Karplus-Strong string (a digital waveguide);
# * `Modal`: a bank of decaying resonant modes (bars, bells, plates);
# * `FrequencyModulation`: DX7-style operators (DDX7);
# * `Granular`: windowed grains of a source buffer.
#
# It ends by recovering a struck sound's mode frequencies and decays by
# gradient descent (see `benchmarks/bench_inverse.py` for all of them).

# %% tags=["parameters"]
# Short mode: shorter sounds and fewer steps, for a quick run on a CPU.
# None: decided by the environment variable DDSP_TUTORIAL_SHORT (CI sets it).
SHORT = None
OUTPUT_DIR = None  # Figures, audio and results.json (None: a temp folder).

# %%
import matplotlib.pyplot as plt
import numpy as np
import scipy.special
import tensorflow as tf

import tutorial_utils
from ddsp import core
from ddsp import losses
from ddsp import synths

tutorial = tutorial_utils.Tutorial('new_processors',
                                   'Tutorial 7: physical models, FM, granular',
                                   short=SHORT, output_dir=OUTPUT_DIR)
SAMPLE_RATE = 16000
FRAME_RATE = 250
SECONDS = 1.0 if tutorial.short else 2.0
N_FRAMES = int(SECONDS * FRAME_RATE)
N_SAMPLES = N_FRAMES * SAMPLE_RATE // FRAME_RATE
FIT_STEPS = 150 if tutorial.short else 300


def frames(value, n_frames=N_FRAMES):
  """A control held constant: [1, n_frames, 1] float32."""
  return tf.fill([1, n_frames, 1], float(value))


def peak_near(audio, f_hz):
  """The spectral peak within +-30 % of f_hz, refined by a parabola, Hz."""
  n = audio.size
  spectrum = np.abs(np.fft.rfft(audio * np.hanning(n), 8 * n))
  lo, hi = (int(f * 8 * n / SAMPLE_RATE) for f in (0.7 * f_hz, 1.3 * f_hz))
  k = int(np.argmax(spectrum[lo:hi])) + lo
  a, b, c = np.log(spectrum[k - 1:k + 2])
  return (k + 0.5 * (a - c) / (a - 2 * b + c)) * SAMPLE_RATE / (8 * n)

# %% [markdown]
# ## 1. PluckedString
#
# A burst of noise enters a loop: a delay of one period `sample_rate / f0`,
# a fractional-delay interpolator and a loop filter. Each trip round the
# loop the sound loses a little (`t60`: seconds to fall by 60 dB) and its
# high harmonics lose more (`brightness` 1 keeps them, 0 damps them
# fastest). The fractional delay is solved so that the loop's delay at f0 is
# exact, so the pitch is exact even when the period is not a whole number of
# samples. Controls are per frame like every synth.

# %%
string = synths.PluckedString(n_samples=N_SAMPLES, seed=0)
notes_hz = [196.0, 246.94, 293.66, 392.0]  # G3 B3 D4 G4
plucks = [string(frames(f0), frames(1.2), frames(0.5)).numpy()[0]
          for f0 in notes_hz]
cents = [1200 * np.log2(peak_near(y, f0) / f0)
         for y, f0 in zip(plucks, notes_hz)]
tutorial.record('string_pitch_error_cents', np.round(cents, 3).tolist())
tutorial.write_wav(np.concatenate(plucks), 'plucked_string.wav')

# %% [markdown]
# The decay: the level of the fundamental falls by 60 dB in the T60 the
# loop gain predicts (for `brightness` 1 the loop filter passes everything,
# so the fundamental's T60 is the `t60` control up to the small loss of the
# interpolator).

# %%
pluck = string(frames(220.0), frames(0.8), frames(1.0)).numpy()[0]
frame, hop = 1024, 256
probe = np.hanning(frame) * np.exp(-2j * np.pi * 220.0 *
                                   np.arange(frame) / SAMPLE_RATE)
starts = np.arange(0, pluck.size - frame, hop)
level_db = 20 * np.log10([abs(np.sum(pluck[s:s + frame] * probe))
                          for s in starts])
slope = np.polyfit((starts + frame / 2) / SAMPLE_RATE, level_db, 1)[0]
tutorial.record('string_t60_measured_s', -60.0 / slope, '.3g')

fig, axes = plt.subplots(1, 2, figsize=(12, 3.2))
tutorial_utils.plot_spectrogram(axes[0], np.concatenate(plucks), SAMPLE_RATE,
                                'four plucks')
axes[1].plot((starts + frame / 2) / SAMPLE_RATE, level_db - level_db[0])
axes[1].set(xlabel='time (s)', ylabel='fundamental (dB)',
            title='decay of a 220 Hz pluck, t60 = 0.8 s')
tutorial.save_figure(fig, 'plucked_string.png')

# %% [markdown]
# Streaming: the string has state (its last period of output). `stream`
# renders a block of audio-rate controls from a state and returns the next
# state, so a real-time host can run it block by block; the result equals
# rendering the whole clip at once.

# %%
controls = string.get_controls(frames(220.0), frames(0.8), frames(0.5))
whole = string.get_signal(**controls)
upsample = lambda x: core.resample(x, N_SAMPLES)[..., 0]
audio_rate = [controls['excitation']] + [
    upsample(controls[k]) for k in ('f0_hz', 't60', 'brightness')]
state, blocks = None, []
for start in range(0, N_SAMPLES, 4000):
  block, state = string.stream(*[x[:, start:start + 4000]
                                 for x in audio_rate], state=state)
  blocks.append(block)
tutorial.record('string_stream_max_difference',
                float(np.abs(np.concatenate(blocks, 1) - whole).max()), '.2g')

# %% [markdown]
# ## 2. Modal
#
# A struck object rings in its modes: decaying sines with their own
# frequencies, decay times and gains. A free bar has modes at 1, 2.756 and
# 5.404 times its lowest one; the spectrum peaks there. The excitation is an
# impulse, or any audio (here also a short noise "mallet").

# %%
modal = synths.Modal(n_samples=N_SAMPLES)
bar_hz = 440.0 * np.array([[1.0, 2.756, 5.404]], np.float32)
t60 = np.array([[1.0, 0.5, 0.25]], np.float32)
gains = np.array([[1.0, 0.5, 0.3]], np.float32)
bar = modal(bar_hz, t60, gains).numpy()[0]
hz, db = tutorial_utils.spectrum_db(bar, SAMPLE_RATE)
found = [float(hz[np.argmax(np.where(abs(hz - f) < 50, db, -np.inf))])
         for f in bar_hz[0]]
tutorial.record('modal_peaks_hz', np.round(found, 1).tolist())
mallet = np.zeros([1, N_SAMPLES], np.float32)
mallet[0, :40] = np.random.default_rng(0).uniform(-1, 1, 40) * np.hanning(40)
struck = modal(bar_hz, t60, gains, mallet).numpy()[0]
tutorial.write_wav(np.concatenate([bar, struck]), 'modal_bar.wav')

# %% [markdown]
# ## 3. FrequencyModulation
#
# An operator is a sine at `ratio * f0` whose phase is pushed by the
# operators that modulate it; its level is a modulation index (radians) for
# a modulator and an amplitude for a carrier. With one modulator at index
# `I`, the carrier splits into sidebands at `fc + k fm` with amplitudes
# `|J_k(I)|`, the Bessel functions: here a 2000 Hz carrier and a 250 Hz
# modulator (ratio 0.125) at index 2.

# %%
fm_pair = synths.FrequencyModulation(n_samples=SAMPLE_RATE,
                                     algorithm='pair')
index = 2.0
one_second = 250
tone = fm_pair(frames(2000.0, one_second),
               tf.constant([[[1.0, index]]]) * tf.ones([1, one_second, 2]),
               tf.constant([[[1.0, 0.125]]]) * tf.ones([1, one_second, 2]))
spectrum = 2 * np.abs(np.fft.rfft(tone.numpy()[0])) / SAMPLE_RATE
k = np.arange(-3, 4)
sidebands = spectrum[2000 + 250 * k]
tutorial.record('fm_sideband_max_error',
                float(np.abs(sidebands - np.abs(scipy.special.jv(k, index)))
                      .max()), '.2g')
fig, ax = plt.subplots(figsize=(6, 3))
ax.stem(2000 + 250 * k, sidebands, label='measured')
ax.plot(2000 + 250 * k, np.abs(scipy.special.jv(k, index)), 'rx',
        label='|J_k(2)|')
ax.set(xlabel='Hz', ylabel='amplitude', title='sidebands of a 2-operator tone')
ax.legend()
tutorial.save_figure(fig, 'fm_sidebands.png')

# %% [markdown]
# Six operators, DX7 algorithm 5 (three modulator -> carrier pairs): a bell-ish
# electric piano, the modulation indices decaying faster than the carriers.

# %%
fm = synths.FrequencyModulation(n_samples=N_SAMPLES, algorithm='dx7_5')
t = np.arange(N_FRAMES)[None, :, None] / FRAME_RATE
levels = np.concatenate([0.3 * np.exp(-2 * t), 2.0 * np.exp(-6 * t),
                         0.2 * np.exp(-3 * t), 1.0 * np.exp(-8 * t),
                         0.1 * np.exp(-1 * t), 0.5 * np.exp(-4 * t)], -1)
ratios = np.array([1.0, 1.0, 1.0, 14.0, 1.0, 3.0]) * np.ones_like(levels)
piano = fm(frames(261.63), levels.astype(np.float32),
           ratios.astype(np.float32)).numpy()[0]
tutorial.write_wav(piano, 'fm_piano.wav')

# %% [markdown]
# ## 4. Granular
#
# Grains: short Hann-windowed pieces of a source, read from a position (a
# fraction of the source), at a pitch ratio, started at a density (grains
# per second). One grain alone is exactly the windowed source.

# %%
violin = tutorial_utils.load_audio('violin_train.flac', seconds=2.0)
source = tf.constant(violin[np.newaxis], tf.float32)
granular = synths.Granular(n_samples=N_SAMPLES, seed=0)
one = granular(frames(0.25), frames(0.05), frames(0.1), frames(1.0),
               frames(1.0), source).numpy()[0]
start = int(0.25 * violin.size)
windowed = np.hanning(801)[:800] * violin[start:start + 800]
tutorial.record('granular_one_grain_max_error',
                float(np.abs(one[:800] - windowed).max()), '.2g')

# %% [markdown]
# A time stretch: positions crawl through the source at a quarter of its
# speed while 40 grains/s of 80 ms keep the pitch; then the same cloud a
# fifth up (pitch ratio 1.5) with some spray (seeded position jitter).

# %%
crawl = np.linspace(0.0, 0.25 * SECONDS / 2.0, N_FRAMES)[None, :, None]
stretched = granular(crawl.astype(np.float32), frames(0.08), frames(40.0),
                     frames(1.0), frames(0.5), source).numpy()[0]
sprayed = synths.Granular(n_samples=N_SAMPLES, spray=0.01, seed=1)(
    crawl.astype(np.float32), frames(0.08), frames(40.0), frames(1.5),
    frames(0.5), source).numpy()[0]
tutorial.write_wav(np.concatenate([stretched, sprayed]), 'granular.wav')
fig, axes = plt.subplots(1, 2, figsize=(12, 3.2))
tutorial_utils.plot_spectrogram(axes[0], stretched, SAMPLE_RATE,
                                'time stretch x4')
tutorial_utils.plot_spectrogram(axes[1], sprayed, SAMPLE_RATE,
                                'a fifth up, with spray')
tutorial.save_figure(fig, 'granular.png')

# %% [markdown]
# ## 5. An inverse problem: a struck sound's modes
#
# Everything above is differentiable, so a synth's parameters can be found
# from a sound. The target is two modes at 1172 and 2305 Hz decaying in
# 0.25 and 0.15 s; the model starts 15 cents off with decays 1.6 times too
# long, and Adam descends a multi-scale spectral loss on magnitudes
# (frequencies in semitones and decays as logs, so one step is a few cents
# or percent). No log-magnitude term here: the logs of the window's
# sidelobes make the loss rugged in frequency and descent stalls cents away.
# `benchmarks/bench_inverse.py` also fits a pluck's f0 and damping, FM,
# granular and biquad parameters.

# %%
n_fit = 6400  # 0.4 s
fit_modal = synths.Modal(n_samples=n_fit)
true_semitones = 12 * np.log2(np.array([[1172.0, 2305.0]]) / 440.0)
true_t60 = np.array([[0.25, 0.15]])


def render(semitones, log_t60):
  return fit_modal(440.0 * 2.0 ** (semitones / 12.0), tf.exp(log_t60),
                   tf.constant([[1.0, 0.6]]))


target = render(true_semitones.astype(np.float32),
                np.log(true_t60).astype(np.float32))
semitones = tf.Variable((true_semitones + [[-0.15, 0.15]]).astype(np.float32))
log_t60 = tf.Variable(np.log(1.6 * true_t60).astype(np.float32))
spectral = losses.SpectralLoss(fft_sizes=(2048, 1024, 512, 256, 128),
                               mag_weight=1.0, logmag_weight=0.0)
optimizer = tf.keras.optimizers.Adam(
    tf.keras.optimizers.schedules.ExponentialDecay(0.02, FIT_STEPS, 0.05))

# %% [markdown]
# One step: render, compare spectra, move the four parameters. The learning
# rate decays to 5 % of its start.

# %%
@tf.function
def fit_step():
  with tf.GradientTape() as tape:
    loss = spectral(target, render(semitones, log_t60))
  variables = [semitones, log_t60]
  optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
  return loss


history = [float(fit_step()) for _ in range(FIT_STEPS)]
tutorial.record('fit_frequency_errors_cents',
                (100 * (semitones.numpy() - true_semitones))[0].round(2)
                .tolist())
tutorial.record('fit_t60_relative_errors',
                (np.exp(log_t60.numpy()) / true_t60 - 1)[0].round(4).tolist())
tutorial.record('fit_loss_first_last', [history[0], history[-1]], '.4g')
fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(history)
ax.set(xlabel='step', ylabel='spectral loss', title='fitting two modes')
tutorial.save_figure(fig, 'fit_modes.png')

# %%
summary = tutorial.finish()
