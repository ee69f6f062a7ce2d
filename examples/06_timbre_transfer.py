"""Tutorial 6: timbre transfer.

A DDSP model trained on one instrument turns f0 and loudness curves into that
instrument's sound. Give it the curves of *another* recording, a voice for
example, and you hear that melody played by the instrument: timbre transfer.

Three things make it work well:

* the input's pitch must lie in the instrument's register: shift it by whole
  octaves towards the training data's mean note pitch,
* its loudness must look like the training data's: map the loudness of its
  notes through the quantiles of the training data's note loudness, and turn
  down the frames between notes,
* both need the training data's statistics, saved beside the model.

`ddsp.training.timbre_transfer.timbre_transfer(model_dir, input, output)`
does all of it (it is also the `ddsp_timbre_transfer` command). It rebuilds
the model from the *operative gin config* that training wrote to the model
folder, so the model must be trained the way `ddsp_run` trains: configured by
gin. This tutorial:

1. prepares a few seconds of the example violin (CREPE f0, loudness),
2. trains a tiny violin model from the packaged `models/solo_instrument.gin`
   with a few gin overrides (the way `ddsp_run --gin_file=... --gin_param=...`
   does), and saves the training data's statistics beside it,
3. resynthesizes a held-out violin phrase (no adjustment),
4. transfers a speech clip into the violin, automatically adjusted,
5. adjusts features by hand with `adjust_features` (pitch shift, loudness
   shift, auto-tune).

The model is far too small and too briefly trained to sound like a violin;
the point is the workflow. `scripts/main_job.sh` runs the same steps with the
command-line tools and a longer training.

Run it:

    python examples/06_timbre_transfer.py --output_dir /tmp/ddsp_tutorial_6
"""

import logging
import os

import gin
import keras
import matplotlib.pyplot as plt
import numpy as np

import tutorial_utils

from ddsp.training import data
from ddsp.training import gin as ddsp_gin
from ddsp.training import models
from ddsp.training import postprocessing
from ddsp.training import timbre_transfer as tt
from ddsp.training import train_util
from ddsp.training import trainers
from ddsp.training.data_preparation import prepare_tfrecord_lib

SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE

# The packaged solo-instrument model (harmonic + filtered noise + learned
# reverb), made tiny: these are the --gin_param overrides you would pass to
# ddsp_run.
GIN_OVERRIDES = """
include 'models/solo_instrument.gin'

# 1 s training examples.
F0LoudnessPreprocessor.time_steps = 250
Harmonic.n_samples = 16000
FilteredNoise.n_samples = 16000
# A small decoder and a short (0.25 s) reverb.
RnnFcDecoder.rnn_channels = 64
RnnFcDecoder.ch = 64
RnnFcDecoder.layers_per_stack = 1
Reverb.reverb_length = 4000
# A high learning rate for few steps.
Trainer.learning_rate = 0.003
"""


class _HideGinPathProbes(logging.Filter):
  """Drops gin's 'Path not found' log lines while it searches for files."""

  def filter(self, record):
    return not record.getMessage().startswith('Path not found')


def prepare_data(tutorial, seconds):
  """Features of the training clip, as ddsp_prepare_tfrecord computes them."""
  tutorial.section('1. Training data')
  audio = tutorial_utils.load_audio('violin_train.flac', seconds=seconds)
  # compute_audio_features is what ddsp_prepare_tfrecord (and timbre transfer)
  # use: CREPE f0 and confidence, A-weighted loudness, 250 frames/s.
  features = prepare_tfrecord_lib.compute_audio_features(
      audio, SAMPLE_RATE, FRAME_RATE)
  n_samples, n_frames = SAMPLE_RATE, FRAME_RATE  # 1 s examples.
  n_examples = audio.size // n_samples
  examples = {'audio': audio[:n_examples * n_samples].reshape(n_examples, -1)}
  for key, value in features.items():
    examples[key] = value[:n_examples * n_frames].reshape(n_examples, -1)
  provider = data.InMemoryProvider(examples, SAMPLE_RATE, FRAME_RATE, seed=0)
  tutorial.record('training_examples', n_examples)
  return provider


def train_model(tutorial, provider, model_dir, n_steps):
  """Trains through gin, writing checkpoints and the operative config."""
  tutorial.section('2. Training a tiny model configured by gin')
  # ddsp_run adds the packaged configs to gin's search path, parses the
  # --gin_file and --gin_param arguments, builds the model with
  # `models.get_model()` and trains with `train_util.train`.
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  # (gin logs "Path not found" for every place it looks for an included file
  # before the one that has it; those messages are harmless and hidden here.)
  quiet = _HideGinPathProbes()
  logging.getLogger().addFilter(quiet)
  try:
    gin.parse_config(GIN_OVERRIDES)
  finally:
    logging.getLogger().removeFilter(quiet)
  keras.utils.set_random_seed(0)
  model = models.get_model()
  trainer = trainers.Trainer(model)  # Trainer's gin bindings apply.
  tutorial.record('learning_rate_from_gin', trainer.learning_rate)
  first = last = None
  # Train in two rounds to print the loss on the way (the second resumes).
  for target in (max(1, n_steps // 4), n_steps):
    losses = train_util.train(provider, trainer, batch_size=4,
                              num_steps=target, steps_per_summary=10,
                              steps_per_save=n_steps, save_dir=model_dir,
                              restore_dir=model_dir, progress_bar=False)
    print(f'  step {int(trainer.step):4d}  total_loss '
          f'{losses["total_loss"]:.3f}')
    first = losses['total_loss'] if first is None else first
    last = losses['total_loss']
  tutorial.record('loss_after_quarter_of_steps', first, '.4g')
  tutorial.record('loss_at_end', last, '.4g')
  gin.clear_config()

  # The training data's statistics (note pitch range, loudness quantiles),
  # saved as dataset_statistics.json in the model folder, where
  # timbre_transfer looks for them.
  stats = postprocessing.save_dataset_statistics(provider, model_dir)
  tutorial.record('training_mean_note_pitch_midi', stats['mean_pitch_note'],
                  '.4g')
  files = sorted(os.listdir(model_dir))
  print('  model folder:', files)
  tutorial.record('model_folder_has_operative_config', any(
      f.startswith('operative_config-') for f in files))
  tutorial.record('model_folder_has_statistics',
                  'dataset_statistics.json' in files)
  return stats


def transfer(tutorial, model_dir, input_name, output_name, label, **kwargs):
  """Runs timbre_transfer on an example recording; returns its result."""
  result = tt.timbre_transfer(
      model_dir, tutorial_utils.DATA_DIR / input_name,
      tutorial.path(f'{output_name}.wav'),
      plot_path=tutorial.path(f'{output_name}.png'), analyze_output=True,
      **kwargs)
  tutorial.add_file(f'{output_name}.wav')
  tutorial.add_file(f'{output_name}.png')
  print(f'  [audio]  {result["output_path"]}')
  print(f'  [figure] {result["plot_path"]}')
  info = result['adjustment']
  tutorial.record(f'{label}_pitch_shift_semitones', info['pitch_shift'], '.3g')
  tutorial.record(f'{label}_loudness_mode', info['loudness'])
  tutorial.record(f'{label}_seconds', result['audio'].size / SAMPLE_RATE,
                  '.3g')
  # How closely the output follows what the model was given: CREPE f0 of
  # the output vs the f0 given to the model, on pitched, loud frames.
  metrics = tt.transfer_metrics(result)
  tutorial.record(f'{label}_f0_within_50_cents',
                  metrics['f0_within_50_cents'], '.3f')
  tutorial.record(f'{label}_loudness_l1_db', metrics['loudness_l1_db'], '.3g')
  return result


def adjust_by_hand(tutorial, result, stats):
  """adjust_features: the adjustment step on its own."""
  tutorial.section('5. Adjusting features by hand')
  features = result['input_features']
  # An explicit pitch shift (semitones) and loudness shift (dB).
  shifted, info = tt.adjust_features(features, pitch_shift=12.0,
                                     loudness_shift=-6.0)
  voiced = np.asarray(features['f0_hz']) > 0
  ratio = np.median(shifted['f0_hz'][voiced] / features['f0_hz'][voiced])
  tutorial.record('manual_octave_up_f0_ratio', float(ratio), '.4g')
  change = np.asarray(shifted['loudness_db']) - features['loudness_db']
  tutorial.record('manual_loudness_change_db',
                  float(np.median(change[features['loudness_db'] > -70])),
                  '.3g')
  # Automatic, with full auto-tune: f0 pulled onto the notes of the scale
  # the input is (most nearly) in.
  tuned, info = tt.adjust_features(features, stats, autotune=1.0)
  midi = 12 * np.log2(tuned['f0_hz'][info['mask_on']] / 440.0) + 69
  offset = midi - info['tuning_factor'] - np.round(midi - info['tuning_factor'])
  tutorial.record('autotune_max_offset_from_grid_semitones',
                  float(np.abs(offset).max()) if offset.size else 0.0, '.3g')

  fig, ax = plt.subplots(figsize=(9, 3.2))
  t = np.arange(len(features['f0_hz'])) / FRAME_RATE
  f0 = np.where(voiced & (features['f0_confidence'] > 0.5),
                features['f0_hz'], np.nan)
  for label, curve in (('input', f0),
                       ('automatic (octaves)', result['features']['f0_hz']),
                       ('automatic + autotune', tuned['f0_hz'])):
    curve = np.where(np.isnan(f0), np.nan, curve)
    ax.plot(t, 12 * np.log2(curve / 440.0) + 69, label=label, lw=1)
  ax.set(xlabel='time (s)', ylabel='MIDI', title='f0 adjustments')
  ax.legend(fontsize=8)
  tutorial.save_figure(fig, '05_adjustments.png')


def main():
  tutorial = tutorial_utils.Tutorial('timbre_transfer',
                                     'Tutorial 6: timbre transfer')
  seconds, n_steps = (6.0, 40) if tutorial.short else (12.0, 150)
  model_dir = str(tutorial.path('model'))
  provider = prepare_data(tutorial, seconds)
  stats = train_model(tutorial, provider, model_dir, n_steps)

  tutorial.section('3. Resynthesis of a held-out violin phrase')
  # adjust=False: the phrase is already a violin in the training register, so
  # its f0 and loudness go to the model unchanged.
  transfer(tutorial, model_dir, 'violin_heldout.flac', '03_violin_heldout',
           'heldout', adjust=False)

  tutorial.section('4. Speech -> violin')
  # Automatic adjustment: octave shift towards the training pitch, quantile
  # loudness matching, quiet between notes.
  speech = transfer(tutorial, model_dir, 'speech_female.flac',
                    '04_speech_to_violin', 'speech')
  adjust_by_hand(tutorial, speech, stats)
  tutorial.finish()


if __name__ == '__main__':
  main()
