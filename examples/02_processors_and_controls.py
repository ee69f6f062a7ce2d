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
# # Tutorial 2: processors and controls
#
# Every synth and effect of ddsp is a `ddsp.processors.Processor`, a Keras
# layer that turns *raw network outputs* into audio in two steps:
#
# ```python
# controls = processor.get_controls(*raw_inputs)   # scale, mask, normalize
# signal = processor.get_signal(**controls)        # render with ddsp.core
# ```
#
# Calling the processor does both; `return_outputs_dict=True` returns both
# the signal and the controls. The split matters: a network's outputs are
# unconstrained real numbers, and `get_controls` is where they become valid
# synthesis parameters (positive amplitudes, distributions that sum to one,
# no harmonics above Nyquist). Each processor takes its scale function as a
# constructor argument, so you can change it or switch it off.
#
# This notebook covers: (1) `get_controls` vs `get_signal` on the Harmonic
# synth, (2) scale functions, (3) `return_outputs_dict`, (4) fitting controls
# by gradient descent through a processor, (5) writing your own processor,
# (6) the error messages you get for badly shaped inputs.

# %% tags=["parameters"]
# Short mode: shorter sounds and fewer steps, for a quick run on a CPU.
# None: decided by the environment variable DDSP_TUTORIAL_SHORT (CI sets it).
SHORT = None
OUTPUT_DIR = None  # Figures, audio and results.json (None: a temp folder).

# %%
import re

import gin
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import tutorial_utils
import ddsp
from ddsp import core
from ddsp import processors
from ddsp import synths

tutorial = tutorial_utils.Tutorial('processors_and_controls',
                                   'Tutorial 2: processors and controls',
                                   short=SHORT, output_dir=OUTPUT_DIR)
SAMPLE_RATE = 16000
HOP = 64  # Samples per frame: 250 frames/s at 16 kHz.
N_FRAMES = 125 if tutorial.short else 250  # 0.5 s or 1 s.
N_SAMPLES = N_FRAMES * HOP
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. `get_controls` vs `get_signal`
#
# What a decoder network might output: unconstrained numbers for the
# amplitude and a 40-harmonic distribution. f0 is *not* scaled: it comes in
# Hz (from a pitch tracker). It rises from 100 Hz to 1 kHz, so more and more
# of the 40 harmonics pass Nyquist.

# %%
n_harmonics = 40
harmonic = synths.Harmonic(n_samples=N_SAMPLES, sample_rate=SAMPLE_RATE)
raw_amps = rng.normal(size=[1, N_FRAMES, 1]).astype(np.float32)
raw_dist = rng.normal(size=[1, N_FRAMES, n_harmonics]).astype(np.float32)
f0_hz = np.geomspace(100.0, 1000.0, N_FRAMES, dtype=np.float32)
f0_hz = f0_hz[np.newaxis, :, np.newaxis]
inputs = (raw_amps, raw_dist, f0_hz)

controls = harmonic.get_controls(raw_amps, raw_dist, f0_hz)
print('controls:', {k: tuple(v.shape) for k, v in controls.items()})

# %% [markdown]
# `exp_sigmoid` maps any real number into (0, 2]. The distribution is
# normalized to sum to 1 over the harmonics below Nyquist; the others are
# set to 0 (at 1 kHz, harmonics 8 to 40 are at or above 8 kHz).

# %%
amps = controls['amplitudes'].numpy()
dist = controls['harmonic_distribution'].numpy()
tutorial.record('raw_amplitudes_range',
                [float(raw_amps.min()), float(raw_amps.max())], '.3g')
tutorial.record('scaled_amplitudes_range',
                [float(amps.min()), float(amps.max())], '.3g')
tutorial.record('distribution_sum_max_error',
                float(np.abs(dist.sum(-1) - 1.0).max()), '.2g')
above = (np.arange(1, n_harmonics + 1) * f0_hz) >= SAMPLE_RATE / 2
tutorial.record('harmonics_above_nyquist_in_last_frame',
                int(above[0, -1].sum()))
tutorial.record('largest_weight_above_nyquist', float(dist[above].max()))

# %% [markdown]
# `get_signal` renders the controls; calling the processor does both steps
# and gives the same audio.

# %%
audio_two_steps = harmonic.get_signal(**controls)
audio_call = harmonic(raw_amps, raw_dist, f0_hz)
tutorial.record('call_vs_two_steps_max_difference',
                float(tf.reduce_max(tf.abs(audio_call - audio_two_steps))))
tutorial.write_wav(audio_call[0], '01_harmonic_random_controls.wav')

fig, axes = plt.subplots(1, 3, figsize=(13, 3.3))
axes[0].imshow(raw_dist[0].T, origin='lower', aspect='auto', cmap='coolwarm')
axes[0].set(xlabel='frame', ylabel='harmonic - 1',
            title='raw harmonic_distribution (network output)')
axes[1].imshow(dist[0].T, origin='lower', aspect='auto', cmap='magma')
first_above = np.where(above[0].any(-1), np.argmax(above[0], axis=-1),
                       n_harmonics)
axes[1].plot(first_above - 0.5, 'c', lw=1)
axes[1].set(xlabel='frame', title='controls: normalized, 0 above Nyquist')
tutorial_utils.plot_spectrogram(axes[2], audio_call[0].numpy(), SAMPLE_RATE,
                                'get_signal: audio')
tutorial.save_figure(fig, '01_controls.png')

# %% [markdown]
# ## 2. Scale functions
#
# The same raw amplitude, sweeping from -8 to 4, through three scale
# functions: the default `exp_sigmoid(x) = 2 * sigmoid(x) ** ln(10) + 1e-7`,
# a custom one, and `scale_fn=None` (the inputs *are* the controls; clipped
# at 0 here so the amplitude stays non-negative).
#
# Registering a custom scale function with Keras lets a processor that uses
# it be saved and rebuilt from its config (`get_config`/`from_config`);
# `gin.register` lets gin files refer to it as `@softplus_amplitude`.

# %%
@gin.register
@keras.saving.register_keras_serializable(package='tutorial')
def softplus_amplitude(x):
  """log(1 + exp(x)): positive, linear for large x (a gentler alternative)."""
  return tf.nn.softplus(x)


ramp = np.linspace(-8.0, 4.0, N_FRAMES, dtype=np.float32)
ramp_amps = ramp[np.newaxis, :, np.newaxis]
zero_dist = np.zeros([1, N_FRAMES, 10], np.float32)
f0_220 = np.full([1, N_FRAMES, 1], 220.0, np.float32)
variants = {
    'exp_sigmoid (default)': (synths.Harmonic(n_samples=N_SAMPLES),
                              ramp_amps, zero_dist),
    'softplus_amplitude (custom)': (synths.Harmonic(
        n_samples=N_SAMPLES, scale_fn=softplus_amplitude),
                                    ramp_amps, zero_dist),
    'None (inputs used as given)': (synths.Harmonic(
        n_samples=N_SAMPLES, scale_fn=None), np.maximum(ramp_amps, 0.0),
                                    np.full_like(zero_dist, 0.1)),
}
scaled = {}
for label, (synth, amp_input, dist_input) in variants.items():
  outputs = synth(amp_input, dist_input, f0_220, return_outputs_dict=True)
  scaled[label] = outputs['controls']['amplitudes'][0, :, 0].numpy()
  rms = np.sqrt(np.mean(outputs['signal'].numpy() ** 2))
  tutorial.record(f'rms_{label.split(" ")[0]}', float(rms), '.3g')

# %% [markdown]
# The scale function is part of the layer's config, saved by name, so a
# layer rebuilt from its config uses the same function.

# %%
config = variants['softplus_amplitude (custom)'][0].get_config()
tutorial.record('config_scale_fn', config['scale_fn']['config'])
clone = synths.Harmonic.from_config(config)
tutorial.record('clone_uses_same_function',
                clone.scale_fn is softplus_amplitude)

# %% [markdown]
# `FilteredNoise` adds `initial_bias` (-5) to its raw magnitudes before the
# scale function, so a freshly initialized network (outputs near 0) starts
# with quiet noise: `exp_sigmoid(-5)` is about 2e-5 (-94 dB) per band,
# thousands of times quieter than with no bias.

# %%
zeros = tf.zeros([1, N_FRAMES, 65])
quiet = synths.FilteredNoise(n_samples=N_SAMPLES, seed=0)(zeros)
loud = synths.FilteredNoise(n_samples=N_SAMPLES, seed=0,
                            initial_bias=0.0)(zeros)
tutorial.record('noise_rms_initial_bias_-5',
                float(tf.sqrt(tf.reduce_mean(quiet ** 2))), '.3g')
tutorial.record('noise_rms_initial_bias_0',
                float(tf.sqrt(tf.reduce_mean(loud ** 2))), '.3g')

fig, axes = plt.subplots(1, 2, figsize=(11, 3.3))
for label, amplitude in scaled.items():
  axes[0].plot(ramp, 20 * np.log10(np.maximum(amplitude, 1e-8)), label=label)
axes[0].set(xlabel='raw amplitude input', ylabel='amplitude control (dB)',
            ylim=(-150, 20), title='same raw input, three scale functions')
axes[0].legend(fontsize=8)
x = np.linspace(-10, 10, 200).astype(np.float32)
for exponent in (2.0, 10.0, 100.0):
  axes[1].plot(x, 20 * np.log10(core.exp_sigmoid(x, exponent=exponent)),
               label=f'exponent={exponent:g}')
axes[1].set(xlabel='x', ylabel='dB', title='exp_sigmoid(x, exponent)')
axes[1].legend(fontsize=8)
tutorial.save_figure(fig, '02_scale_functions.png')

# %% [markdown]
# ## 3. `return_outputs_dict`
#
# `{'signal': audio, 'controls': the dict that get_controls returned}`. This
# is what a `ProcessorGroup` stores for each node, so that later nodes (and
# losses, and plots) can use `'harmonic/signal'` or
# `'harmonic/controls/amplitudes'` (tutorial 4).

# %%
outputs = harmonic(*inputs, return_outputs_dict=True)
tutorial.record('outputs_dict_keys', sorted(outputs))
tutorial.record('outputs_dict_control_keys', sorted(outputs['controls']))
tutorial.record('signal_shape', list(outputs['signal'].shape))

# %% [markdown]
# ## 4. Fitting controls by gradient descent
#
# Every processor is differentiable with respect to its inputs. Here we learn
# the raw harmonic distribution (before `exp_sigmoid`) that makes the
# Harmonic synth sound like a target: a square wave (odd harmonics, 1/k).
# One learned distribution is shared by all frames; the loss is a
# multi-scale spectral loss.

# %%
fit_frames = 50 if tutorial.short else 100
fit_steps = 60 if tutorial.short else 150
fit_samples = fit_frames * HOP
n_fit = 16
fit_synth = synths.Harmonic(n_samples=fit_samples)
fit_f0 = tf.fill([1, fit_frames, 1], 200.0)
fit_amps = tf.zeros([1, fit_frames, 1])
k = np.arange(1, n_fit + 1)
square = np.where(k % 2 == 1, 1.0 / k, 0.0).astype(np.float32)
target = synths.Harmonic(n_samples=fit_samples, scale_fn=None)(
    tf.fill([1, fit_frames, 1], float(core.exp_sigmoid(0.0))),
    square * tf.ones([1, fit_frames, n_fit]), fit_f0)

raw_fit = tf.Variable(tf.zeros([1, 1, n_fit]))
loss_fn = ddsp.losses.SpectralLoss(fft_sizes=(1024, 256), logmag_weight=1.0)
optimizer = keras.optimizers.Adam(learning_rate=0.1)


@tf.function
def fit_step():
  with tf.GradientTape() as tape:
    audio = fit_synth(fit_amps, tf.tile(raw_fit, [1, fit_frames, 1]), fit_f0)
    loss = loss_fn(target, audio)
  grads = tape.gradient(loss, [raw_fit])
  optimizer.apply_gradients(zip(grads, [raw_fit]))
  return loss


fit_losses = [float(fit_step()) for _ in range(fit_steps)]
tutorial.record('fit_loss_first_step', fit_losses[0], '.4g')
tutorial.record('fit_loss_last_step', fit_losses[-1], '.4g')

# %% [markdown]
# A square wave has no even harmonics; the flat start had half its weight on
# them.

# %%
learned = fit_synth.get_controls(fit_amps[:, :1], raw_fit, fit_f0[:, :1])
learned = learned['harmonic_distribution'][0, 0].numpy()
tutorial.record('learned_weight_on_even_harmonics', float(learned[1::2].sum()),
                '.3g')

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(fit_losses)
axes[0].set(xlabel='step', ylabel='spectral loss', yscale='log',
            title='fitting the harmonic distribution')
width = 0.4
axes[1].bar(k - width / 2, square / square.sum(), width, label='target')
axes[1].bar(k + width / 2, learned, width, label='learned')
axes[1].set(xlabel='harmonic', ylabel='weight', title='distribution')
axes[1].legend()
tutorial.save_figure(fig, '04_fit_controls.png')

# %% [markdown]
# ## 5. Writing your own processor
#
# A tremolo: amplitude modulation by a sine of time-varying rate and depth.
# Three things make it a good citizen:
#
# * `get_controls` maps raw inputs to valid controls (and checks shapes),
#   `get_signal` renders from controls only;
# * constructor arguments are behaviour switches, saved by `get_config`;
# * it is registered with gin (`gin.register`, not `@gin.configurable`,
#   which breaks Keras 3 layers) and with Keras serialization.

# %%
@gin.register(module='tutorial')
@keras.saving.register_keras_serializable(package='tutorial')
class Tremolo(processors.Processor):
  """Amplitude modulation: rate (0, max_rate_hz) and depth (0, 1) per frame."""

  def __init__(self, sample_rate=16000, max_rate_hz=20.0, name='tremolo',
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.sample_rate = sample_rate
    self.max_rate_hz = max_rate_hz

  def get_controls(self, audio, rate, depth):
    """audio [batch, n_samples]; raw rate, depth [batch, n_frames, 1]."""
    ddsp.validation.check_rank(audio, 'audio', 2)
    ddsp.validation.check_shape(rate, 'rate', [None, None, 1])
    ddsp.validation.check_shape(depth, 'depth', [None, None, 1])
    n_samples = audio.shape[1]
    rate_hz = self.max_rate_hz * tf.sigmoid(core.resample(rate, n_samples))
    depth = tf.sigmoid(core.resample(depth, n_samples, method='window'))
    return {'audio': audio, 'rate_hz': rate_hz, 'depth': depth}

  def get_signal(self, audio, rate_hz, depth):
    """audio * (1 - depth * (1 + sin(phase)) / 2); differentiable."""
    modulator = core.oscillator_bank(rate_hz, tf.ones_like(rate_hz),
                                     sample_rate=self.sample_rate)
    return audio * (1.0 - depth[..., 0] * 0.5 * (1.0 + modulator))

  def get_config(self):
    config = super().get_config()
    config.update({'sample_rate': self.sample_rate,
                   'max_rate_hz': self.max_rate_hz})
    return config

# %% [markdown]
# Raw rate 0 gives 10 Hz; raw depth 3 gives `sigmoid(3) = 0.95` (deep). On a
# steady input the gain dips once per modulation cycle (10 dips per second)
# down to `1 - depth = 0.047`.

# %%
tone = harmonic(*inputs)
tremolo = Tremolo()
rate_raw = tf.zeros([1, N_FRAMES, 1])
depth_raw = tf.fill([1, N_FRAMES, 1], 3.0)
out = tremolo(tone, rate_raw, depth_raw, return_outputs_dict=True)
tutorial.record('tremolo_rate_hz', float(out['controls']['rate_hz'][0, 0, 0]),
                '.3g')
steady = tremolo(tf.ones_like(tone), rate_raw, depth_raw)[0].numpy()
dips = np.sum((steady[1:-1] < steady[:-2]) & (steady[1:-1] <= steady[2:]))
tutorial.record('tremolo_dips_per_second',
                float(dips / (N_SAMPLES / SAMPLE_RATE)), '.3g')
tutorial.record('tremolo_min_gain', float(steady.min()), '.3g')
tutorial.write_wav(out['signal'][0], '05_tremolo.wav')

# %% [markdown]
# Config round trip and gin: the same layer from its config, or from gin.

# %%
clone = Tremolo.from_config(tremolo.get_config())
same = np.allclose(clone(tone, rate_raw, depth_raw), out['signal'])
tutorial.record('tremolo_config_round_trip_equal', bool(same))
gin.parse_config('tutorial.Tremolo.max_rate_hz = 5.0')
from_gin = gin.get_configurable('tutorial.Tremolo')()
gin.clear_config()
tutorial.record('tremolo_from_gin_max_rate_hz', from_gin.max_rate_hz)

# %% [markdown]
# ## 6. Clear errors
#
# Bad inputs give a `ValueError` naming the argument and the shapes, before
# any TensorFlow internals fail. Keras adds the call's arguments to the
# message; the first lines say what is wrong (terminal colour codes
# stripped).

# %%
messages = []
for label, args in [
    ('f0 without its channel axis', (raw_amps, raw_dist, f0_hz[..., 0])),
    # (A batch of 1 would be broadcast, as in the published library.)
    ('batch sizes that disagree',
     (np.concatenate([raw_amps] * 2), np.concatenate([raw_dist] * 3), f0_hz)),
]:
  try:
    harmonic(*args)
  except ValueError as e:
    text = re.sub(r'\x1b\[[0-9;]*m', '', str(e))
    first = [line for line in text.splitlines() if line.strip()][1]
    print(f'{label}:\n  ValueError: {first}')
    messages.append(first)
tutorial.record('error_messages', messages)

# %%
summary = tutorial.finish()
