# ---
# jupyter:
#   accelerator: GPU
# ---

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
EXTRAS = '[data_preparation]'  # Apache Beam, to prepare the dataset.
if 'google.colab' in sys.modules and importlib.util.find_spec('ddsp') is None:
  subprocess.run(['git', 'clone', '--depth=1', REPO_URL, 'ddsp_repo'],
                 check=True)
  subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',
                  f'./ddsp_repo{EXTRAS}'], check=True)
if os.path.isdir('ddsp_repo/examples'):
  os.chdir('ddsp_repo/examples')  # The tutorial helpers and example data.

# %% [markdown]
# # Demo: train a DDSP model on your own audio
#
# From a few minutes of one instrument (monophonic: one note at a time, little
# reverb or background noise) to a model that plays that instrument from
# any pitch and loudness curves:
#
# 1. **your audio**: upload recordings (Colab), or point to files;
# 2. **a dataset**: `prepare_tfrecord` (the `ddsp_prepare_tfrecord` command)
#    cuts the audio into examples and computes CREPE f0 and loudness, written
#    as TFRecords; the dataset's statistics are saved for timbre transfer;
# 3. **training** the solo-instrument model of the paper
#    (`models/solo_instrument.gin`), with a progress line and a live loss
#    plot;
# 4. **listening** to the resynthesis of the training audio;
# 5. **saving** the model folder (checkpoint, operative gin config, dataset
#    statistics) and downloading it;
# 6. **exporting** it for real-time use (`ddsp_export`: a SavedModel and a
#    streaming TFLite model, the format the DDSP-VST plugin loads), and
#    running the TFLite model block by block.
#
# At full size use a GPU runtime (in Colab: Runtime > Change runtime type >
# GPU): 5000 steps of the full model take on the order of an hour there,
# and a good model wants 10 to 20 minutes of audio and 20k+ steps. In short
# mode (CI, or `SHORT = True`) a tiny model trains for a few steps on 8 s of
# the example violin, on a CPU, just to show that every step works.

# %% tags=["parameters"]
SHORT = None  # True: tiny and quick; None: $DDSP_TUTORIAL_SHORT (CI sets 1).
# Your recordings: a path, a glob pattern or a list of them (WAV, FLAC, MP3,
# ...). None: the file picker in Colab, the example violin elsewhere.
AUDIO_FILES = None
MODEL_DIR = None  # None: `model` in the output folder. In Colab, a Google
# Drive folder (after `google.colab.drive.mount`) keeps the model.
TRAINING_STEPS = None  # None: 30 in short mode, 5000 at full size.
OUTPUT_DIR = None  # Dataset, model, export, audio, figures, results.json.

# %%
import glob
import json
import os
import warnings
import zipfile

import gin
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import tutorial_utils
from ddsp.colab import colab_utils
from ddsp.training import data
from ddsp.training import ddsp_export
from ddsp.training import gin as ddsp_gin
from ddsp.training import models
from ddsp.training import train_util
from ddsp.training import trainers
from ddsp.training.data_preparation import prepare_tfrecord_lib

tutorial = tutorial_utils.Tutorial('train_autoencoder',
                                   'Demo: train on your own audio',
                                   short=SHORT, output_dir=OUTPUT_DIR)
SAMPLE_RATE = 16000
FRAME_RATE = 250
EXAMPLE_SECS = 1.0 if tutorial.short else 4.0  # Seconds per example,
HOP_SECS = 0.5 if tutorial.short else 1.0  # one starting every HOP_SECS.
STEPS = TRAINING_STEPS or (30 if tutorial.short else 5000)
BATCH_SIZE = 4 if tutorial.short else 16
MODEL_DIR = MODEL_DIR or str(tutorial.path('model'))
print('GPUs:', tf.config.list_physical_devices('GPU') or 'none')

# %% [markdown]
# ## 1. Your audio
#
# In Colab with `AUDIO_FILES = None`, a file picker opens
# (`colab_utils.upload`); elsewhere the example violin is used. The files are
# read at 16 kHz, mono, and written as WAV into the dataset folder (in short
# mode only their first 8 s). The player plays the first 4 s of the first.

# %%
audio_dir = tutorial.path('audio')
audio_dir.mkdir(exist_ok=True)
if AUDIO_FILES is None and colab_utils.in_colab():
  names, recordings = colab_utils.upload()
else:
  names, recordings = colab_utils.upload(
      paths=AUDIO_FILES or str(tutorial_utils.DATA_DIR / 'violin_train.flac'))
if tutorial.short:
  recordings = [recording[:8 * SAMPLE_RATE] for recording in recordings]
paths = []
for name, recording in zip(names, recordings):
  stem = os.path.splitext(os.path.basename(name))[0]
  paths.append(str(audio_dir / f'{stem}.wav'))
  with open(paths[-1], 'wb') as f:
    f.write(colab_utils.audio_to_wav_bytes(recording, SAMPLE_RATE))
tutorial.record('audio_files', len(paths))
tutorial.record('audio_seconds',
                sum(r.size for r in recordings) / SAMPLE_RATE, '.4g')
tutorial.write_wav(recordings[0][:4 * SAMPLE_RATE], '01_your_audio.wav',
                   normalize=False)

# %% [markdown]
# ## 2. A dataset
#
# `prepare_tfrecord` runs an Apache Beam pipeline (here on this machine;
# any Beam runner for large corpora): read, resample, CREPE f0 and
# confidence, A-weighted loudness, examples of `EXAMPLE_SECS` every
# `HOP_SECS`, written as TFRecord shards. The same from a shell:
# `ddsp_prepare_tfrecord --input_audio_filepatterns=... --output_tfrecord_path=...`.

# %%
tfrecord = str(tutorial.path('data') / 'train.tfrecord')
summary = prepare_tfrecord_lib.prepare_tfrecord(
    paths, tfrecord, num_shards=1, example_secs=EXAMPLE_SECS,
    hop_secs=HOP_SECS, overwrite=True)  # A rerun replaces the shards.
tutorial.record('examples', summary['examples']['all'])
provider = data.TFRecordProvider(tfrecord + '*', example_secs=EXAMPLE_SECS,
                                 sample_rate=SAMPLE_RATE,
                                 frame_rate=FRAME_RATE, seed=0)

# %% [markdown]
# The dataset's statistics (pitch and loudness ranges of its notes, the
# loudness quantiles) go beside the model: timbre transfer needs them to
# move another recording into this instrument's range.

# %%
os.makedirs(MODEL_DIR, exist_ok=True)
stats = colab_utils.save_dataset_statistics(provider, MODEL_DIR)
tutorial.record('mean_note_pitch_midi', stats['mean_pitch_note'], '.4g')

# %% [markdown]
# ## 3. The model
#
# The paper's solo-instrument model from the packaged gin config: CREPE f0
# and loudness -> a GRU decoder -> harmonic synth + filtered noise -> a
# learned reverb, trained with a multi-scale spectral loss. `ddsp_run` would
# read the same config from `--gin_file=models/solo_instrument.gin`. The
# lengths follow the examples; short mode makes the decoder tiny.

# %%
n_samples = int(EXAMPLE_SECS * SAMPLE_RATE)
bindings = [f'F0LoudnessPreprocessor.time_steps = '
            f'{int(EXAMPLE_SECS * FRAME_RATE)}',
            f'Harmonic.n_samples = {n_samples}',
            f'FilteredNoise.n_samples = {n_samples}']
if tutorial.short:
  bindings += ['RnnFcDecoder.rnn_channels = 64', 'RnnFcDecoder.ch = 64',
               'RnnFcDecoder.layers_per_stack = 1',
               'Reverb.reverb_length = 4000', 'Trainer.learning_rate = 0.003']
gin.clear_config()
gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
with tutorial_utils.hide_gin_path_probes():
  gin.parse_config_files_and_bindings(['models/solo_instrument.gin'],
                                      bindings)
keras.utils.set_random_seed(0)
model = models.get_model()
trainer = trainers.Trainer(model)
eval_batch = next(iter(provider.get_batch(1, shuffle=False)))
_, initial = model(eval_batch, training=False, return_losses=True)
tutorial.record('loss_before_training', float(initial['total_loss']), '.4g')

# %% [markdown]
# ## 4. Training
#
# `train_util.train` is the loop of `ddsp_run --mode=train`; it resumes from
# the latest checkpoint in `MODEL_DIR`, so stopping this cell and running it
# again continues where it stopped. It runs here in rounds, to redraw the
# loss plot after each.

# %%
plot = tutorial_utils.LossPlot(tutorial, STEPS, title='total loss')
rounds = min(20, STEPS // 10) if STEPS >= 10 else 1
while int(trainer.step) < STEPS:
  target = min(STEPS, int(trainer.step) + -(-STEPS // rounds))
  losses = train_util.train(provider, trainer, batch_size=BATCH_SIZE,
                            num_steps=target, steps_per_summary=10,
                            steps_per_save=STEPS, save_dir=MODEL_DIR,
                            restore_dir=MODEL_DIR, progress_bar=False)
  plot.update(trainer.step, losses['total_loss'])
plot.save('04_training_loss.png')
tutorial.record('loss_first_round', plot.losses[0], '.4g')
tutorial.record('loss_last_round', plot.losses[-1], '.4g')
gin.clear_config()

# %% [markdown]
# ## 5. Listen: resynthesis
#
# The trained model renders an example of the dataset from its f0 and
# loudness alone: the original, then the resynthesis.

# %%
outputs, trained = model(eval_batch, training=False, return_losses=True)
tutorial.record('loss_after_training', float(trained['total_loss']), '.4g')
tutorial.write_wav(eval_batch['audio'][0], '05_original.wav', normalize=False)
resynthesis = model.get_audio_from_outputs(outputs)[0].numpy()
tutorial.write_wav(resynthesis, '05_resynthesis.wav', normalize=False)
fig, axes = plt.subplots(1, 2, figsize=(10, 3))
for ax, audio, title in ((axes[0], eval_batch['audio'][0], 'original'),
                         (axes[1], resynthesis, 'resynthesis')):
  tutorial_utils.plot_spectrogram(ax, audio, SAMPLE_RATE, title)
tutorial.save_figure(fig, '05_resynthesis.png')

# %% [markdown]
# ## 6. Save and download
#
# The model folder is all a later session needs: the latest checkpoint, the
# operative gin config (how to rebuild the model) and
# `dataset_statistics.json`. `demo_timbre_transfer` takes it as its
# `MODEL_DIR`. In Colab, `colab_utils.download` sends a zip of it to your
# browser; elsewhere it says where the zip is.

# %%
print('model folder:', sorted(os.listdir(MODEL_DIR)))
tutorial.record('model_folder_has_checkpoint',
                train_util.get_latest_checkpoint(MODEL_DIR) is not None)
latest = train_util.get_latest_checkpoint(MODEL_DIR)
wanted = glob.glob(latest + '.*') + [
    os.path.join(MODEL_DIR, 'checkpoint'),
    train_util.get_latest_operative_config(MODEL_DIR),
    os.path.join(MODEL_DIR, 'dataset_statistics.json')]
archive = str(tutorial.path('my_model.zip'))
with zipfile.ZipFile(archive, 'w') as bundle:
  for path in wanted:
    bundle.write(path, arcname=os.path.basename(path))
_ = colab_utils.download(archive)
print(f'To transfer timbre with this model: MODEL_DIR = {MODEL_DIR!r}')

# %% [markdown]
# ## 7. Export for real time
#
# `ddsp_export` (here its Python entry, `ddsp_export.export`) writes a
# SavedModel (whole clips and a streaming step), `streaming.tflite` (the
# streaming step from TFLite builtin ops only, which the DDSP-VST plugin
# and any TFLite interpreter run) and `metadata.json` (rates, block size,
# latency, input ranges, the dataset statistics).

# %%
export_dir = str(tutorial.path('export'))
exported = ddsp_export.export(MODEL_DIR, export_dir, block_size=256,
                              tflite=True)
with open(exported['metadata']) as f:
  metadata = json.load(f)
print({k: metadata[k] for k in ('sample_rate', 'block_size', 'frames_per_block',
                                'latency_samples')})
tutorial.record('export_files', sorted(os.listdir(export_dir)))

# %% [markdown]
# The TFLite model renders one block of 256 samples per call from
# `frames_per_block` frames of f0 and loudness, carrying its state (GRU
# state, oscillator phases, reverb tail) from call to call, as a plugin
# does. Here it streams the example above.

# %%
with warnings.catch_warnings():  # (tf.lite's note on its successor, LiteRT)
  warnings.simplefilter('ignore', UserWarning)
  interpreter = tf.lite.Interpreter(model_path=exported['tflite'])
step = interpreter.get_signature_runner('streaming_step')
state = {name: np.zeros(spec['shape'], spec['dtype'])
         for name, spec in metadata['state'].items()}
per_block = metadata['frames_per_block']
f0 = eval_batch['f0_hz'].numpy().reshape(1, -1, 1)
loudness = eval_batch['loudness_db'].numpy().reshape(1, -1, 1)
blocks = []
for start in range(0, f0.shape[1] - per_block + 1, per_block):
  result = step(f0_hz=f0[:, start:start + per_block],
                loudness_db=loudness[:, start:start + per_block], **state)
  blocks.append(result['audio'][0])
  state = {name: result[name] for name in state}
streamed = np.concatenate(blocks)
tutorial.write_wav(streamed, '07_streamed_tflite.wav', normalize=False)
offline = resynthesis
latency = metadata['latency_samples']
n = min(offline.size, streamed.size - latency)
tutorial.record('stream_vs_offline_envelope_correlation', float(np.corrcoef(
    tutorial_utils.envelope_db(streamed[latency:latency + n]),
    tutorial_utils.envelope_db(offline[:n]))[0, 1]), '.3f')

# %%
summary = tutorial.finish()
