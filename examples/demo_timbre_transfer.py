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
# # Demo: timbre transfer
#
# Sing, hum, whistle or play something, and hear it played by an instrument
# that a DDSP model learned:
#
# 1. **record** in the browser or **upload** a file (Colab), or point to a
#    file;
# 2. **pick a model**: a folder of a model you trained (the demo
#    `demo_train_autoencoder`, or `ddsp_run`); without one, a tiny violin
#    model is trained here in a minute, so that the demo runs anywhere;
# 3. **adjust**: automatically (octave shift into the model's register,
#    loudness matched to its training data), plus octave and loudness shifts
#    and auto-tune of your choice (sliders in Colab, plain parameters
#    elsewhere);
# 4. **listen** and **download**.
#
# The model only hears f0 and loudness: a clean, monophonic recording with
# little background noise works best.

# %% tags=["parameters"]
SHORT = None  # True: tiny and quick; None: $DDSP_TUTORIAL_SHORT (CI sets 1).
AUDIO_FILE = None  # Your recording; None: record/upload in Colab, else the
# example speech clip.
RECORD_OR_UPLOAD = 'Record'  #@param ["Record", "Upload (.mp3 or .wav)"]
RECORD_SECONDS = 5  #@param {type:"number", min:1, max:10, step:1}
MODEL_DIR = None  # A trained model's folder; None: train a tiny one here.
ADJUST = True  #@param {type:"boolean"}
OCTAVE_SHIFT = 0  #@param {type:"slider", min:-2, max:2, step:1}
LOUDNESS_SHIFT_DB = 0  #@param {type:"slider", min:-20, max:20, step:1}
AUTOTUNE = 0.0  #@param {type:"slider", min:0.0, max:1.0, step:0.1}
OUTPUT_DIR = None  # Audio, figures, the tiny model and results.json.

# %%
import os

import gin
import keras
import numpy as np

import tutorial_utils
from ddsp import core
from ddsp.colab import colab_utils
from ddsp.training import audio_io
from ddsp.training import data
from ddsp.training import gin as ddsp_gin
from ddsp.training import models
from ddsp.training import postprocessing
from ddsp.training import timbre_transfer as tt
from ddsp.training import train_util
from ddsp.training import trainers

tutorial = tutorial_utils.Tutorial('demo_timbre_transfer',
                                   'Demo: timbre transfer', short=SHORT,
                                   output_dir=OUTPUT_DIR)
SAMPLE_RATE = 16000
FRAME_RATE = 250

# %% [markdown]
# ## 1. Your audio
#
# `colab_utils.record` uses the browser's microphone and `colab_utils.upload`
# its file picker; both exist only in Colab. Elsewhere set `AUDIO_FILE`.

# %%
if AUDIO_FILE is None and colab_utils.in_colab():
  if RECORD_OR_UPLOAD == 'Record':
    audio = colab_utils.record(seconds=RECORD_SECONDS)
  else:
    _, recordings = colab_utils.upload()
    audio = recordings[0]
else:
  audio = colab_utils.record(path=AUDIO_FILE or str(
      tutorial_utils.DATA_DIR / 'speech_female.flac'), normalize_db=None)
input_path = tutorial.path('input.wav')
input_path.write_bytes(colab_utils.audio_to_wav_bytes(audio, SAMPLE_RATE))
tutorial.record('input_seconds', audio.size / SAMPLE_RATE, '.3g')
tutorial.write_wav(audio, '01_input.wav', normalize=False)

# %% [markdown]
# ## 2. A model
#
# With `MODEL_DIR = None`, a tiny solo-instrument model (tutorial 6 explains
# each step) is trained on the example violin: 40 steps in short mode, 1000
# at full size (use a GPU runtime). It sounds like a sketch of a violin; a
# model trained for hours on 10+ minutes of an instrument sounds like it.

# %%
def train_tiny_violin(model_dir, seconds, steps):
  """A small solo-instrument model of the example violin, in `model_dir`."""
  violin = tutorial_utils.load_audio('violin_train.flac', seconds=seconds)
  features = audio_io.compute_audio_features(violin, SAMPLE_RATE,
                                              FRAME_RATE)
  n = violin.size // SAMPLE_RATE  # 1 s examples.
  examples = {'audio': violin[:n * SAMPLE_RATE].reshape(n, -1)}
  examples.update({k: v[:n * FRAME_RATE].reshape(n, -1)
                   for k, v in features.items()})
  provider = data.InMemoryProvider(examples, SAMPLE_RATE, FRAME_RATE, seed=0)
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  with tutorial_utils.hide_gin_path_probes():
    gin.parse_config_files_and_bindings(['models/solo_instrument.gin'], [
        'F0LoudnessPreprocessor.time_steps = 250', 'Harmonic.n_samples = 16000',
        'FilteredNoise.n_samples = 16000', 'RnnFcDecoder.rnn_channels = 64',
        'RnnFcDecoder.ch = 64', 'RnnFcDecoder.layers_per_stack = 1',
        'Reverb.reverb_length = 4000', 'Trainer.learning_rate = 0.003'])
  keras.utils.set_random_seed(0)
  trainer = trainers.Trainer(models.get_model())
  losses = train_util.train(provider, trainer, batch_size=4, num_steps=steps,
                            steps_per_summary=10, steps_per_save=steps,
                            save_dir=model_dir, restore_dir=model_dir,
                            progress_bar=False)
  gin.clear_config()
  postprocessing.save_dataset_statistics(provider, model_dir)
  return losses['total_loss']


if MODEL_DIR is None:
  MODEL_DIR = str(tutorial.path('tiny_violin'))
  seconds, steps = (6.0, 40) if tutorial.short else (30.0, 1000)
  tutorial.record('tiny_model_final_loss',
                  train_tiny_violin(MODEL_DIR, seconds, steps), '.4g')
print('model:', MODEL_DIR, sorted(os.listdir(MODEL_DIR)))

# %% [markdown]
# ## 3. Adjust
#
# The model's training statistics say which register and loudness it knows.
# With `ADJUST`, the input is shifted by the whole number of octaves that
# brings its notes nearest the training data's mean note pitch
# (`OCTAVE_SHIFT` adds octaves on top), and the loudness of its notes is
# mapped onto the training data's (a non-zero `LOUDNESS_SHIFT_DB` shifts the
# loudness by that many dB instead). `AUTOTUNE` pulls f0 towards the nearest
# note of the inferred major scale; `colab_utils.get_tuning_factor` says how
# far the performance is tuned from A440 first.

# %%
stats = postprocessing.load_dataset_statistics(MODEL_DIR)
features = audio_io.compute_audio_features(audio, SAMPLE_RATE, FRAME_RATE)
automatic, info = tt.adjust_features(features, stats if ADJUST else None)
pitch_shift = info['pitch_shift'] + 12.0 * OCTAVE_SHIFT
loudness_shift = (None if ADJUST else 0.0) if not LOUDNESS_SHIFT_DB else float(
    LOUDNESS_SHIFT_DB)
mask_on, _ = colab_utils.detect_notes(features['loudness_db'],
                                      features['f0_confidence'])
tuning = colab_utils.get_tuning_factor(
    core.hz_to_midi(features['f0_hz']).numpy(), features['f0_confidence'],
    mask_on)
print(f'Training mean note pitch: MIDI {stats["mean_pitch_note"]:.1f}; '
      f'your notes: tuned {100 * tuning:+.0f} cents from A440.')
tutorial.record('pitch_shift_semitones', pitch_shift, '.3g')

# %% [markdown]
# ## 4. Listen
#
# `timbre_transfer` extracts the features again, adjusts them, rebuilds the
# model from its folder and renders. The figure shows both spectrograms, the
# f0 given to the model and the output's f0 (CREPE), and the loudness
# curves.

# %%
output_path = str(tutorial.path('timbre_transfer.wav'))
result = tt.timbre_transfer(MODEL_DIR, input_path, output_path,
                            pitch_shift=pitch_shift,
                            loudness_shift=loudness_shift, autotune=AUTOTUNE,
                            analyze_output=True)
tutorial.write_wav(result['audio'], '04_output.wav', normalize=False)
tutorial.save_figure(tt.plot_timbre_transfer(
    result['input_audio'], result['audio'], SAMPLE_RATE, FRAME_RATE,
    result['input_features'], result['features'], result['output_features'],
    title=f'through {os.path.basename(MODEL_DIR)}'), '04_timbre_transfer.png')
metrics = tt.transfer_metrics(result)
tutorial.record('output_seconds', result['audio'].size / SAMPLE_RATE, '.3g')
tutorial.record('loudness_mode', result['adjustment']['loudness'])
tutorial.record('f0_within_50_cents', metrics['f0_within_50_cents'], '.3f')

# %% [markdown]
# ## 5. Download
#
# In Colab this sends the WAV file to your browser; elsewhere it says where
# the file is.

# %%
_ = colab_utils.download(output_path)

# %%
summary = tutorial.finish()
