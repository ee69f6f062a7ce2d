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
# # Tutorial 5: training a (tiny) DDSP autoencoder
#
# The DDSP recipe: take a recording of one instrument, extract its
# fundamental frequency (f0, with the CREPE pitch tracker) and loudness, and
# train a network that maps those curves to the controls of a harmonic synth
# and a filtered-noise synth, so that the synthesized audio matches the
# recording under a multi-scale spectral loss. The synths already know how to
# make a waveform, so very little data and a small network go a long way.
#
# This notebook does it end to end on a few seconds of the example violin in
# `examples/data`, with a deliberately tiny model and few steps (a real
# model trains on ~10 minutes of audio for hours: see the demo
# `demo_train_autoencoder` and `ddsp_run`):
#
# 1. features: CREPE f0 and confidence, A-weighted loudness, cut into
#    examples;
# 2. data: `ddsp.training.data.InMemoryProvider` (TFRecords from
#    `ddsp_prepare_tfrecord` work the same way through `TFRecordProvider`);
# 3. the model: `models.Autoencoder` = preprocessor -> decoder -> processor
#    group, with a spectral loss;
# 4. `trainers.Trainer`: optimizer, `train_step`, checkpoints; the loss going
#    down;
# 5. `train_util.train`: the training loop of `ddsp_run` (checkpoints,
#    operative gin config, TensorBoard summaries, resuming);
# 6. resynthesis: the trained model renders the clip from its f0 and
#    loudness.

# %% tags=["parameters"]
# Short mode: 6 s of audio and 60 steps, a minute on a CPU. None: decided by
# the environment variable DDSP_TUTORIAL_SHORT (CI sets it to 1). Full size
# (10 s, 160 steps) is quick on a GPU runtime.
SHORT = None
OUTPUT_DIR = None  # Figures, audio, the model and results.json.

# %%
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import tutorial_utils
import ddsp
from ddsp import spectral_ops
from ddsp.training import data
from ddsp.training import decoders
from ddsp.training import models
from ddsp.training import preprocessing
from ddsp.training import train_util
from ddsp.training import trainers

tutorial = tutorial_utils.Tutorial('training', 'Tutorial 5: training',
                                   short=SHORT, output_dir=OUTPUT_DIR)
SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE
SECONDS = 6.0 if tutorial.short else 10.0
# Steps of Trainer.train_step, of train_util.train, and after resuming.
STEPS = (30, 20, 10) if tutorial.short else (80, 60, 20)
CLIP_SECONDS = 2 if tutorial.short else 4  # The clip resynthesized.

# %% [markdown]
# ## 1. Features: f0 and loudness
#
# f0 and its confidence with CREPE (the 'tiny' model, installed with ddsp),
# one frame every 4 ms. `padding='same'` gives `n_samples / 64` frames, frame
# i starting at sample 64 i: what `ddsp_prepare_tfrecord` writes by default.
# Loudness: A-weighted, in dB (floored at -80 dB), with the same framing.
# The violin in this clip plays MIDI notes 62 to 93.

# %%
audio = tutorial_utils.load_audio('violin_train.flac', seconds=SECONDS)
tutorial.write_wav(audio[:3 * SAMPLE_RATE], '01_violin.wav', normalize=False)
f0_hz, f0_confidence = spectral_ops.compute_f0(audio, FRAME_RATE,
                                               padding='same')
loudness_db = spectral_ops.compute_loudness(audio, SAMPLE_RATE, FRAME_RATE,
                                            use_tf=False, padding='same')
confident = f0_confidence > 0.8
tutorial.record('n_frames', int(f0_hz.size))
tutorial.record('confident_frame_fraction', float(confident.mean()), '.3f')
tutorial.record('median_f0_midi_confident', float(np.median(
    ddsp.core.hz_to_midi(f0_hz[confident]).numpy())), '.4g')
tutorial.record('loudness_db_range',
                [float(loudness_db.min()), float(loudness_db.max())], '.3g')

# %%
fig, axes = plt.subplots(3, 1, figsize=(10, 6), sharex=True)
t = np.arange(f0_hz.size) / FRAME_RATE
tutorial_utils.plot_spectrogram(axes[0], audio, SAMPLE_RATE, 'violin clip')
axes[0].set(ylim=(0, 4000), xlabel='')
axes[1].plot(t, np.where(confident, ddsp.core.hz_to_midi(f0_hz), np.nan))
axes[1].set(ylabel='MIDI', title='CREPE f0 (confidence > 0.8)')
axes[2].plot(t, loudness_db)
axes[2].set(ylabel='dB', xlabel='time (s)', title='A-weighted loudness')
tutorial.save_figure(fig, '01_features.png')

# %% [markdown]
# ## 2. Data: a `DataProvider`
#
# Examples: non-overlapping 1 s chunks (`ddsp_prepare_tfrecord` cuts 4 s
# examples every second). Features are `[n_examples, n_frames]`, audio
# `[n_examples, n_samples]`. `get_batch` gives a `tf.data.Dataset` of
# feature dicts: shuffled, repeated forever, batches of a fixed size.

# %%
n_samples, n_frames = SAMPLE_RATE, FRAME_RATE  # 1 s examples.
n_examples = audio.size // n_samples
features = {
    'audio': audio[:n_examples * n_samples].reshape(n_examples, n_samples),
    'f0_hz': f0_hz[:n_examples * n_frames].reshape(n_examples, n_frames),
    'f0_confidence': f0_confidence[:n_examples * n_frames].reshape(
        n_examples, n_frames),
    'loudness_db': loudness_db[:n_examples * n_frames].reshape(
        n_examples, n_frames),
}
provider = data.InMemoryProvider(features, SAMPLE_RATE, FRAME_RATE, seed=0)
batch = next(iter(provider.get_batch(batch_size=4, shuffle=True)))
tutorial.record('n_examples', n_examples)
tutorial.record('batch_shapes', {k: list(v.shape) for k, v in batch.items()})

# %% [markdown]
# ## 3. The model
#
# A small solo-instrument autoencoder, built in Python (the same model in gin
# is `models/solo_instrument.gin`, which tutorial 6 uses; sizes here are small
# so that it trains in seconds):
#
# * preprocessor: f0 and loudness as `[batch, n_frames, 1]`, plus the
#   network's inputs `f0_scaled = midi / 127` and `ld_scaled = dB / 80 + 1`
#   (both about [0, 1]);
# * decoder: an MLP per input, a GRU, an MLP, and a dense layer split into the
#   synth controls (raw: the synths apply `exp_sigmoid`);
# * the paper's DAG without the reverb (this violin is dry);
# * a multi-scale spectral loss on linear and log magnitudes (FFT sizes 2048
#   to 64), as in the paper.
#
# Lengths: the preprocessor (`time_steps=None`) and synths (`n_samples=None`)
# take their length from the input, so the model trains on 1 s examples and
# then renders a whole clip of any length.

# %%
def build_model(n_harmonics=40, n_noise_bands=33, channels=64):
  """A small solo-instrument autoencoder."""
  preprocessor = preprocessing.F0LoudnessPreprocessor(
      time_steps=None, compute_loudness=False)
  decoder = decoders.RnnFcDecoder(
      rnn_channels=channels, ch=channels, layers_per_stack=1,
      input_keys=('ld_scaled', 'f0_scaled'),
      output_splits=(('amps', 1), ('harmonic_distribution', n_harmonics),
                     ('noise_magnitudes', n_noise_bands)))
  processor_group = ddsp.processors.ProcessorGroup(dag=[
      (ddsp.synths.Harmonic(n_samples=None),
       ['amps', 'harmonic_distribution', 'f0_hz']),
      (ddsp.synths.FilteredNoise(n_samples=None, seed=0),
       ['noise_magnitudes']),
      (ddsp.processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
  ])
  spectral_loss = ddsp.losses.SpectralLoss(mag_weight=1.0, logmag_weight=1.0)
  return models.Autoencoder(preprocessor=preprocessor, decoder=decoder,
                            processor_group=processor_group,
                            losses=[spectral_loss])


def eval_loss(model):
  """Mean total loss over all examples (inference mode)."""
  whole = {k: tf.constant(v) for k, v in features.items()}
  _, losses = model(whole, training=False, return_losses=True)
  return float(losses['total_loss'])


keras.utils.set_random_seed(0)  # Reproducible weights and noise.
model = build_model()
initial_loss = eval_loss(model)  # Also creates the weights.
tutorial.record('trainable_weights', sum(
    int(np.prod(v.shape)) for v in model.trainable_variables))
tutorial.record('eval_loss_before_training', initial_loss, '.4g')

# %% [markdown]
# Before training, the model's resynthesis of the first seconds of the clip
# follows the input's f0 (the synth is told the pitch) but not its timbre.
# Two measures of how close a resynthesis is to the clip: the training loss
# (the multi-scale spectral loss) between them, and `loudness_l1`, how far
# the output's loudness is from the input's on the input's louder frames
# (within 30 dB of its 95th percentile), in dB.

# %%
clip = audio[:CLIP_SECONDS * SAMPLE_RATE]
clip_f0, clip_confidence = spectral_ops.compute_f0(clip, FRAME_RATE,
                                                   padding='same')
clip_loudness = spectral_ops.compute_loudness(clip, SAMPLE_RATE, FRAME_RATE,
                                              use_tf=False, padding='same')
clip_features = {'f0_hz': clip_f0[np.newaxis],
                 'f0_confidence': clip_confidence[np.newaxis],
                 'loudness_db': clip_loudness[np.newaxis]}
loud_frames = clip_loudness > np.percentile(clip_loudness, 95) - 30


spectral_loss = ddsp.losses.SpectralLoss(mag_weight=1.0, logmag_weight=1.0)


def loudness_l1(synth):
  synth_loudness = spectral_ops.compute_loudness(
      synth, SAMPLE_RATE, FRAME_RATE, use_tf=False, padding='same')
  return float(np.mean(np.abs(synth_loudness - clip_loudness)[loud_frames]))


untrained = model(clip_features, training=False)['audio_synth'][0].numpy()
tutorial.write_wav(untrained, '03_untrained.wav')
tutorial.record('untrained_spectral_loss',
                float(spectral_loss(clip[np.newaxis], untrained[np.newaxis])),
                '.4g')
tutorial.record('untrained_loudness_l1_db', loudness_l1(untrained), '.3g',
                'dB')

# %% [markdown]
# ## 4. `Trainer.train_step`: the loss goes down
#
# The `Trainer` owns the optimizer (Adam, learning rate decaying
# exponentially), the training step (forward, backward, gradient clipping,
# any `tf.distribute` strategy) and checkpoints. A learning rate higher than
# the default 1e-3 makes this tiny model learn in few steps.

# %%
trainer = trainers.Trainer(model, learning_rate=3e-3)
batches = iter(provider.get_batch(batch_size=4))
trainer.build(next(batches))
step_losses = []
for _ in range(STEPS[0]):
  losses = trainer.train_step(batches)  # Dict of scalar tensors.
  step_losses.append(float(losses['total_loss']))
  if len(step_losses) % 10 == 0:
    print(f'step {int(trainer.step):4d}  total_loss {step_losses[-1]:.3f}  '
          f'gradient_norm {float(losses["gradient_norm"]):.2f}')
tutorial.record('train_step_losses_first_5_mean',
                float(np.mean(step_losses[:5])), '.4g')
tutorial.record('train_step_losses_last_5_mean',
                float(np.mean(step_losses[-5:])), '.4g')

# %% [markdown]
# ## 5. `train_util.train`: checkpoints and resuming
#
# `train` is the loop that `ddsp_run --mode=train` runs: it resumes from the
# latest checkpoint in `restore_dir`, trains until the step reaches
# `num_steps`, and writes TensorBoard summaries, the operative gin config and
# checkpoints every `steps_per_save` steps (and at the end).

# %%
save_dir = str(tutorial.path('model'))
target = STEPS[0] + STEPS[1]
train_util.train(provider, trainer, batch_size=4, num_steps=target,
                 steps_per_summary=10, steps_per_save=STEPS[1],
                 save_dir=save_dir, restore_dir=save_dir, progress_bar=False)
tutorial.record('step_after_train', int(trainer.step))
print('files in the model folder:', sorted(os.listdir(save_dir)))
tutorial.record('latest_checkpoint', os.path.basename(
    train_util.get_latest_checkpoint(save_dir)))

# %% [markdown]
# Resuming: a new model and trainer (as after a crash or in a new process)
# restore the latest checkpoint, optimizer state and step, and continue.

# %%
keras.utils.set_random_seed(1)
resumed_model = build_model()
resumed = trainers.Trainer(resumed_model, learning_rate=3e-3)
last = train_util.train(provider, resumed, batch_size=4,
                        num_steps=target + STEPS[2], steps_per_summary=10,
                        steps_per_save=STEPS[2], save_dir=save_dir,
                        restore_dir=save_dir, progress_bar=False)
tutorial.record('step_after_resume', int(resumed.step))
tutorial.record('last_step_total_loss', last['total_loss'], '.4g')
final_loss = eval_loss(resumed_model)
tutorial.record('eval_loss_after_training', final_loss, '.4g')

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(np.arange(1, len(step_losses) + 1), step_losses, label='train_step')
ax.axhline(initial_loss, color='gray', ls='--', label='eval loss at step 0')
ax.axhline(final_loss, color='green', ls='--',
           label=f'eval loss at step {int(resumed.step)}')
ax.set(xlabel='step', ylabel='total loss', title='training')
ax.legend(fontsize=8)
tutorial.save_figure(fig, '04_loss.png')

# %% [markdown]
# ## 6. Resynthesis
#
# The trained model renders the same seconds from their f0 and loudness (the
# synths were built with `n_samples=None`, so the same model renders a clip
# of any length). Both are played at their own level. After these few steps
# the spectral loss to the clip is well below the untrained model's; the
# level and loudness curve come close to the original's, how close varies
# from run to run this early in training.

# %%
outputs = resumed_model(clip_features, training=False)
synth = outputs['audio_synth'][0].numpy()
tutorial.record('resynthesis_seconds', synth.size / SAMPLE_RATE, '.3g')
tutorial.write_wav(clip, '06_original.wav', normalize=False)
tutorial.write_wav(synth, '06_resynthesis.wav', normalize=False)
level = lambda x: 20 * np.log10(np.sqrt(np.mean(np.square(x))))
tutorial.record('resynthesis_rms_db_re_original', level(synth) - level(clip),
                '.3g', 'dB')
tutorial.record('resynthesis_spectral_loss',
                float(spectral_loss(clip[np.newaxis], synth[np.newaxis])),
                '.4g')
tutorial.record('resynthesis_loudness_l1_db', loudness_l1(synth), '.3g', 'dB')

# %%
fig, axes = plt.subplots(3, 1, figsize=(10, 7))
tutorial_utils.plot_spectrogram(axes[0], clip, SAMPLE_RATE, 'original')
tutorial_utils.plot_spectrogram(axes[1], synth, SAMPLE_RATE,
                                'resynthesis (tiny model, few steps)')
for ax in axes[:2]:
  ax.set_ylim(0, 6000)
distribution = outputs['harmonic']['controls']['harmonic_distribution'][0]
axes[2].imshow(np.log10(distribution.numpy().T + 1e-6), origin='lower',
               aspect='auto', cmap='magma', vmin=-4, vmax=0,
               extent=[0, clip.size / SAMPLE_RATE, 0.5,
                       distribution.shape[-1] + 0.5])
axes[2].set(xlabel='time (s)', ylabel='harmonic',
            title='learned harmonic distribution (log10)')
tutorial.save_figure(fig, '06_resynthesis.png')

# %%
summary = tutorial.finish()
