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
# # Tutorial 6: timbre transfer
#
# A DDSP model trained on one instrument turns f0 and loudness curves into
# that instrument's sound. Give it the curves of *another* recording, a voice
# for example, and you hear that melody played by the instrument: timbre
# transfer. Three things make it work well:
#
# * the input's pitch must lie in the instrument's register: shift it by
#   whole octaves towards the training data's mean note pitch;
# * its loudness must look like the training data's: map the loudness of its
#   notes through the quantiles of the training data's note loudness, and
#   turn down the frames between notes;
# * both need the training data's statistics, saved beside the model.
#
# `ddsp.training.timbre_transfer.timbre_transfer(model_dir, input, output)`
# does all of it (it is also the `ddsp_timbre_transfer` command). It rebuilds
# the model from the *operative gin config* that training wrote to the model
# folder, so the model must be trained the way `ddsp_run` trains: configured
# by gin. This notebook (1) prepares a few seconds of the example violin,
# (2) trains a tiny violin model from the packaged
# `models/solo_instrument.gin` with a few overrides and saves the training
# data's statistics beside it, (3) resynthesizes a held-out violin phrase,
# (4) transfers a speech clip into the violin, automatically adjusted, and
# (5) adjusts features by hand with `adjust_features`.
#
# The model is far too small and too briefly trained to sound like a violin;
# the point is the workflow. The demo `demo_timbre_transfer` does the same
# with your own recording and a model you trained.

# %% tags=["parameters"]
# Short mode: 6 s of training audio and 40 steps, a minute on a CPU. None:
# decided by the environment variable DDSP_TUTORIAL_SHORT (CI sets it to 1).
SHORT = None
OUTPUT_DIR = None  # Figures, audio, the model and results.json.

# %%
import os

import gin
import keras
import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf

import tutorial_utils
from ddsp.training import audio_io
from ddsp.training import data
from ddsp.training import gin as ddsp_gin
from ddsp.training import models
from ddsp.training import postprocessing
from ddsp.training import timbre_transfer as tt
from ddsp.training import train_util
from ddsp.training import trainers

tutorial = tutorial_utils.Tutorial('timbre_transfer',
                                   'Tutorial 6: timbre transfer',
                                   short=SHORT, output_dir=OUTPUT_DIR)
SAMPLE_RATE = 16000
FRAME_RATE = 250
SECONDS, N_STEPS = (6.0, 40) if tutorial.short else (12.0, 150)
HELDOUT_SECONDS = 3.0 if tutorial.short else None  # None: the whole phrase.
MODEL_DIR = str(tutorial.path('model'))

# %% [markdown]
# ## 1. Training data
#
# `compute_audio_features` is what `ddsp_prepare_tfrecord` (and timbre
# transfer) use: CREPE f0 and confidence, A-weighted loudness, 250 frames/s.
# The clip is cut into 1 s examples in memory.

# %%
audio = tutorial_utils.load_audio('violin_train.flac', seconds=SECONDS)
features = audio_io.compute_audio_features(audio, SAMPLE_RATE, FRAME_RATE)
n_examples = audio.size // SAMPLE_RATE
examples = {'audio': audio[:n_examples * SAMPLE_RATE].reshape(n_examples, -1)}
for key, value in features.items():
  examples[key] = value[:n_examples * FRAME_RATE].reshape(n_examples, -1)
provider = data.InMemoryProvider(examples, SAMPLE_RATE, FRAME_RATE, seed=0)
tutorial.record('training_examples', n_examples)

# %% [markdown]
# ## 2. Training a tiny model configured by gin
#
# The packaged solo-instrument model (harmonic + filtered noise + learned
# reverb), made tiny: these are the `--gin_param` overrides you would pass to
# `ddsp_run`. `ddsp_run` adds the packaged configs to gin's search path,
# parses the `--gin_file` and `--gin_param` arguments, builds the model with
# `models.get_model()` and trains with `train_util.train`.
# (`hide_gin_path_probes` hides gin's harmless "Path not found" lines for the
# folders of its search path that do not hold the included file.)

# %%
GIN_OVERRIDES = """
include 'models/solo_instrument.gin'
F0LoudnessPreprocessor.time_steps = 250  # 1 s training examples.
Harmonic.n_samples = 16000
FilteredNoise.n_samples = 16000
RnnFcDecoder.rnn_channels = 64  # A small decoder and a short reverb.
RnnFcDecoder.ch = 64
RnnFcDecoder.layers_per_stack = 1
Reverb.reverb_length = 4000
Trainer.learning_rate = 0.003  # A high learning rate for few steps.
"""

gin.clear_config()
gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
with tutorial_utils.hide_gin_path_probes():
  gin.parse_config(GIN_OVERRIDES)

# %% [markdown]
# Train in two rounds to print the loss on the way (the second resumes from
# the first's checkpoint).

# %%
keras.utils.set_random_seed(0)
model = models.get_model()
trainer = trainers.Trainer(model)  # Trainer's gin bindings apply.
tutorial.record('learning_rate_from_gin', trainer.learning_rate)
round_losses = []
for target in (max(1, N_STEPS // 4), N_STEPS):
  losses = train_util.train(provider, trainer, batch_size=4, num_steps=target,
                            steps_per_summary=10, steps_per_save=N_STEPS,
                            save_dir=MODEL_DIR, restore_dir=MODEL_DIR,
                            progress_bar=False)
  print(f'step {int(trainer.step):4d}  total_loss {losses["total_loss"]:.3f}')
  round_losses.append(losses['total_loss'])
tutorial.record('loss_after_quarter_of_steps', round_losses[0], '.4g')
tutorial.record('loss_at_end', round_losses[1], '.4g')
gin.clear_config()

# %% [markdown]
# The training data's statistics (note pitch range, loudness quantiles),
# saved as `dataset_statistics.json` in the model folder, where
# `timbre_transfer` looks for them.

# %%
stats = postprocessing.save_dataset_statistics(provider, MODEL_DIR)
tutorial.record('training_mean_note_pitch_midi', stats['mean_pitch_note'],
                '.4g')
files = sorted(os.listdir(MODEL_DIR))
print('model folder:', files)
tutorial.record('model_folder_has_operative_config', any(
    f.startswith('operative_config-') for f in files))
tutorial.record('model_folder_has_statistics',
                'dataset_statistics.json' in files)

# %% [markdown]
# ## 3. Resynthesis of a held-out violin phrase
#
# `transfer` runs `timbre_transfer` on a file, plays the input and the output
# and shows the figure of `plot_timbre_transfer`: both spectrograms, the f0
# curves (of the input, given to the model, and of the output by CREPE) and
# the loudness curves. `transfer_metrics` measures how closely the output
# follows what the model was given: CREPE f0 of the output against the f0
# given to the model, on pitched, loud frames.

# %%
def transfer(input_path, name, label, **kwargs):
  """timbre_transfer on a file; plays, plots and records; returns its result."""
  result = tt.timbre_transfer(MODEL_DIR, input_path,
                              tutorial.path(f'{name}.wav'),
                              analyze_output=True, **kwargs)
  tutorial.write_wav(result['input_audio'], f'{name}_input.wav',
                     normalize=False)
  tutorial.write_wav(result['audio'], f'{name}.wav', normalize=False)
  tutorial.save_figure(tt.plot_timbre_transfer(
      result['input_audio'], result['audio'], SAMPLE_RATE, FRAME_RATE,
      result['input_features'], result['features'],
      result['output_features'], title=name), f'{name}.png')
  info = result['adjustment']
  tutorial.record(f'{label}_pitch_shift_semitones', info['pitch_shift'], '.3g')
  tutorial.record(f'{label}_loudness_mode', info['loudness'])
  tutorial.record(f'{label}_seconds', result['audio'].size / SAMPLE_RATE, '.3g')
  metrics = tt.transfer_metrics(result)
  tutorial.record(f'{label}_f0_within_50_cents',
                  metrics['f0_within_50_cents'], '.3f')
  tutorial.record(f'{label}_loudness_l1_db', metrics['loudness_l1_db'], '.3g')
  return result

# %% [markdown]
# `adjust=False`: the phrase is already a violin in the training register, so
# its f0 and loudness go to the model unchanged. (In short mode, its first
# 3 s.)

# %%
heldout = tutorial_utils.load_audio('violin_heldout.flac',
                                    seconds=HELDOUT_SECONDS)
heldout_path = tutorial.path('heldout_input.flac')
sf.write(heldout_path, heldout, SAMPLE_RATE)
tutorial.record('heldout_input_seconds', heldout.size / SAMPLE_RATE, '.3g')
_ = transfer(heldout_path, '03_violin_heldout', 'heldout', adjust=False)

# %% [markdown]
# ## 4. Speech -> violin
#
# Automatic adjustment: octave shift towards the training pitch, quantile
# loudness matching, quiet between notes. The female voice (around MIDI
# 50-58) goes up by whole octaves towards the violin's register.

# %%
speech = transfer(tutorial_utils.DATA_DIR / 'speech_female.flac',
                  '04_speech_to_violin', 'speech')

# %% [markdown]
# ## 5. Adjusting features by hand
#
# `adjust_features` is the adjustment step on its own: an explicit pitch
# shift (semitones) and loudness shift (dB), or the automatic adjustment with
# full auto-tune, which pulls f0 onto the notes of the scale the input is
# (most nearly) in.

# %%
input_features = speech['input_features']
shifted, _ = tt.adjust_features(input_features, pitch_shift=12.0,
                                loudness_shift=-6.0)
voiced = np.asarray(input_features['f0_hz']) > 0
tutorial.record('manual_octave_up_f0_ratio', float(np.median(
    shifted['f0_hz'][voiced] / input_features['f0_hz'][voiced])), '.4g')
change = np.asarray(shifted['loudness_db']) - input_features['loudness_db']
tutorial.record('manual_loudness_change_db', float(np.median(
    change[input_features['loudness_db'] > -70])), '.3g')
tuned, info = tt.adjust_features(input_features, stats, autotune=1.0)
midi = 12 * np.log2(tuned['f0_hz'][info['mask_on']] / 440.0) + 69
offset = midi - info['tuning_factor'] - np.round(midi - info['tuning_factor'])
tutorial.record('autotune_max_offset_from_grid_semitones',
                float(np.abs(offset).max()) if offset.size else 0.0, '.3g')

# %%
fig, ax = plt.subplots(figsize=(9, 3.2))
t = np.arange(len(input_features['f0_hz'])) / FRAME_RATE
f0 = np.where(voiced & (input_features['f0_confidence'] > 0.5),
              input_features['f0_hz'], np.nan)
for label, curve in (('input', f0),
                     ('automatic (octaves)', speech['features']['f0_hz']),
                     ('automatic + autotune', tuned['f0_hz'])):
  curve = np.where(np.isnan(f0), np.nan, curve)
  ax.plot(t, 12 * np.log2(curve / 440.0) + 69, label=label, lw=1)
ax.set(xlabel='time (s)', ylabel='MIDI', title='f0 adjustments')
ax.legend(fontsize=8)
tutorial.save_figure(fig, '05_adjustments.png')

# %%
summary = tutorial.finish()
