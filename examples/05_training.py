"""Tutorial 5: training a (tiny) DDSP autoencoder.

The DDSP recipe: take a recording of one instrument, extract its fundamental
frequency (f0, with the CREPE pitch tracker) and loudness, and train a network
that maps those curves to the controls of a harmonic synth and a filtered-noise
synth, so that the synthesized audio matches the recording under a
multi-scale spectral loss. The synths already know how to make a waveform, so
very little data and a small network go a long way.

This tutorial does it end to end on the CPU, on a few seconds of the example
violin in examples/data, with a deliberately tiny model and a few hundred
steps (a real model trains ~10 minutes of audio for hours; see
`scripts/main_job.sh` and `ddsp_run`):

1. features: CREPE f0 and confidence, A-weighted loudness, cut into examples,
2. data: `ddsp.training.data.InMemoryProvider` (TFRecords from
   `ddsp_prepare_tfrecord` work the same way through `TFRecordProvider`),
3. the model: `models.Autoencoder` = preprocessor -> decoder -> processor
   group, with a spectral loss,
4. `trainers.Trainer`: optimizer, `train_step`, checkpoints; the loss going
   down,
5. `train_util.train`: the training loop of `ddsp_run` (checkpoints, operative
   gin config, TensorBoard summaries, resuming),
6. resynthesis: the trained model renders the clip from its f0 and loudness.

Run it:

    python examples/05_training.py --output_dir /tmp/ddsp_tutorial_5
"""

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

SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE


def features_and_data(tutorial, seconds, example_seconds):
  """CREPE f0 and loudness of the clip, cut into examples."""
  tutorial.section('1. Features: f0 and loudness')
  audio = tutorial_utils.load_audio('violin_train.flac', seconds=seconds)
  # f0 and its confidence with CREPE (the 'tiny' model, installed with ddsp),
  # one frame every 4 ms. padding='same' gives n_samples / 64 frames, frame i
  # starting at sample 64 i: what `ddsp_prepare_tfrecord` writes by default.
  f0_hz, f0_confidence = spectral_ops.compute_f0(audio, FRAME_RATE,
                                                 padding='same')
  # A-weighted loudness in dB (floored at -80 dB), the same framing.
  loudness_db = spectral_ops.compute_loudness(audio, SAMPLE_RATE, FRAME_RATE,
                                              use_tf=False, padding='same')
  confident = f0_confidence > 0.8
  f0_midi = ddsp.core.hz_to_midi(f0_hz[confident]).numpy()
  tutorial.record('n_frames', int(f0_hz.size))
  tutorial.record('confident_frame_fraction', float(confident.mean()), '.3f')
  tutorial.record('median_f0_midi_confident', float(np.median(f0_midi)), '.4g',
                  '(violin in this clip: MIDI 62-93)')
  tutorial.record('loudness_db_range',
                  [float(loudness_db.min()), float(loudness_db.max())], '.3g')

  fig, axes = plt.subplots(3, 1, figsize=(10, 6), sharex=True)
  t = np.arange(f0_hz.size) / FRAME_RATE
  tutorial_utils.plot_spectrogram(axes[0], audio, SAMPLE_RATE, 'violin clip')
  axes[0].set_ylim(0, 4000)
  axes[0].set_xlabel('')
  axes[1].plot(t, np.where(confident, ddsp.core.hz_to_midi(f0_hz), np.nan))
  axes[1].set(ylabel='MIDI', title='CREPE f0 (confidence > 0.8)')
  axes[2].plot(t, loudness_db)
  axes[2].set(ylabel='dB', xlabel='time (s)', title='A-weighted loudness')
  tutorial.save_figure(fig, '01_features.png')

  # Examples: non-overlapping chunks of `example_seconds` (ddsp_prepare_tfrecord
  # cuts 4 s examples every second). Features are [n_examples, n_frames],
  # audio [n_examples, n_samples].
  n_samples = int(example_seconds * SAMPLE_RATE)
  n_frames = n_samples // HOP
  n_examples = audio.size // n_samples
  features = {
      'audio': audio[:n_examples * n_samples].reshape(n_examples, n_samples),
      'f0_hz': f0_hz[:n_examples * n_frames].reshape(n_examples, n_frames),
      'f0_confidence': f0_confidence[:n_examples * n_frames].reshape(
          n_examples, n_frames),
      'loudness_db': loudness_db[:n_examples * n_frames].reshape(
          n_examples, n_frames),
  }
  tutorial.section('2. Data: a DataProvider')
  provider = data.InMemoryProvider(features, SAMPLE_RATE, FRAME_RATE, seed=0)
  # get_batch gives a tf.data.Dataset of feature dicts: shuffled, repeated
  # forever, batches of a fixed size.
  batch = next(iter(provider.get_batch(batch_size=4, shuffle=True)))
  print('  a batch:', {k: tuple(v.shape) for k, v in batch.items()})
  tutorial.record('n_examples', n_examples)
  tutorial.record('batch_shapes', {k: list(v.shape) for k, v in batch.items()})
  return audio, features, provider


def build_model(n_harmonics=40, n_noise_bands=33, channels=64):
  """A small solo-instrument autoencoder, built in Python.

  The same model in gin is `models/solo_instrument.gin` (tutorial 6 uses it);
  here sizes are small so that it trains in seconds.

  Lengths: the preprocessor (time_steps=None) and synths (n_samples=None)
  take their length from the input, so the model trains on 1 s examples and
  then renders a whole clip of any length.
  """
  # Preprocessor: f0 and loudness as [batch, n_frames, 1], plus the network's
  # inputs f0_scaled = midi / 127 and ld_scaled = dB / 80 + 1 (both ~[0, 1]).
  preprocessor = preprocessing.F0LoudnessPreprocessor(
      time_steps=None, compute_loudness=False)
  # Decoder: an MLP per input, a GRU, an MLP, and a dense layer split into
  # the synth controls (raw: the synths apply exp_sigmoid).
  decoder = decoders.RnnFcDecoder(
      rnn_channels=channels, ch=channels, layers_per_stack=1,
      input_keys=('ld_scaled', 'f0_scaled'),
      output_splits=(('amps', 1), ('harmonic_distribution', n_harmonics),
                     ('noise_magnitudes', n_noise_bands)))
  # The paper's DAG without the reverb (this violin is dry).
  processor_group = ddsp.processors.ProcessorGroup(dag=[
      (ddsp.synths.Harmonic(n_samples=None),
       ['amps', 'harmonic_distribution', 'f0_hz']),
      (ddsp.synths.FilteredNoise(n_samples=None, seed=0),
       ['noise_magnitudes']),
      (ddsp.processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
  ])
  # Multi-scale spectral loss on linear and log magnitudes (FFT sizes 2048 to
  # 64), as in the paper.
  spectral_loss = ddsp.losses.SpectralLoss(mag_weight=1.0, logmag_weight=1.0)
  return models.Autoencoder(preprocessor=preprocessor, decoder=decoder,
                            processor_group=processor_group,
                            losses=[spectral_loss])


def eval_loss(model, features):
  """Mean total loss over all examples (inference mode)."""
  batch = {k: tf.constant(v) for k, v in features.items()}
  _, losses = model(batch, training=False, return_losses=True)
  return float(losses['total_loss'])


def train(tutorial, features, provider, n_steps_a, n_steps_b, n_steps_c):
  """Trainer.train_step, then train_util.train with checkpoints, resuming."""
  tutorial.section('3. The model')
  keras.utils.set_random_seed(0)  # Reproducible weights and noise.
  model = build_model()
  initial = eval_loss(model, features)  # Also creates the weights.
  n_weights = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
  tutorial.record('trainable_weights', n_weights)
  tutorial.record('eval_loss_before_training', initial, '.4g')

  tutorial.section('4. Trainer.train_step: the loss goes down')
  # The Trainer owns the optimizer (Adam, learning rate decaying
  # exponentially), the training step (forward, backward, gradient clipping,
  # any tf.distribute strategy) and checkpoints. A learning rate higher than
  # the default 1e-3 makes this tiny model learn in few steps.
  trainer = trainers.Trainer(model, learning_rate=3e-3)
  batches = iter(provider.get_batch(batch_size=4))
  trainer.build(next(batches))
  step_losses = []
  for _ in range(n_steps_a):
    losses = trainer.train_step(batches)  # Dict of scalar tensors.
    step_losses.append(float(losses['total_loss']))
    if len(step_losses) % 10 == 0:
      print(f'  step {int(trainer.step):4d}  total_loss '
            f'{step_losses[-1]:.3f}  spectral_loss '
            f'{float(losses["spectral_loss"]):.3f}  gradient_norm '
            f'{float(losses["gradient_norm"]):.2f}')
  tutorial.record('train_step_losses_first_5_mean',
                  float(np.mean(step_losses[:5])), '.4g')
  tutorial.record('train_step_losses_last_5_mean',
                  float(np.mean(step_losses[-5:])), '.4g')

  tutorial.section('5. train_util.train: checkpoints and resuming')
  # `train` is the loop that `ddsp_run --mode=train` runs: it resumes from the
  # latest checkpoint in restore_dir, trains until the step reaches
  # num_steps, writes TensorBoard summaries, the operative gin config and
  # checkpoints every steps_per_save steps (and at the end).
  save_dir = str(tutorial.path('model'))
  target = n_steps_a + n_steps_b
  train_util.train(provider, trainer, batch_size=4, num_steps=target,
                   steps_per_summary=10, steps_per_save=n_steps_b,
                   save_dir=save_dir, restore_dir=save_dir,
                   progress_bar=False)
  tutorial.record('step_after_train', int(trainer.step))
  print('  files in the model folder:', sorted(os.listdir(save_dir)))
  tutorial.record('latest_checkpoint', os.path.basename(
      train_util.get_latest_checkpoint(save_dir)))

  # Resuming: a new model and trainer (as after a crash or in a new process)
  # restore the latest checkpoint, optimizer state and step, and continue.
  keras.utils.set_random_seed(1)
  resumed_model = build_model()
  resumed = trainers.Trainer(resumed_model, learning_rate=3e-3)
  last = train_util.train(provider, resumed, batch_size=4,
                          num_steps=target + n_steps_c, steps_per_summary=10,
                          steps_per_save=n_steps_c, save_dir=save_dir,
                          restore_dir=save_dir, progress_bar=False)
  tutorial.record('step_after_resume', int(resumed.step))
  tutorial.record('last_step_total_loss', last['total_loss'], '.4g')
  final = eval_loss(resumed_model, features)
  tutorial.record('eval_loss_after_training', final, '.4g')

  fig, ax = plt.subplots(figsize=(6, 3.2))
  ax.plot(np.arange(1, len(step_losses) + 1), step_losses, label='train_step')
  ax.axhline(initial, color='gray', ls='--', label='eval loss at step 0')
  ax.axhline(final, color='green', ls='--',
             label=f'eval loss at step {int(resumed.step)}')
  ax.set(xlabel='step', ylabel='total loss', title='training')
  ax.legend(fontsize=8)
  tutorial.save_figure(fig, '04_loss.png')
  return resumed_model


def resynthesize(tutorial, model, audio):
  """The trained model renders the whole clip from its f0 and loudness."""
  tutorial.section('6. Resynthesis')
  n_frames = audio.size // HOP
  audio = audio[:n_frames * HOP]
  f0_hz, f0_confidence = spectral_ops.compute_f0(audio, FRAME_RATE,
                                                 padding='same')
  loudness_db = spectral_ops.compute_loudness(audio, SAMPLE_RATE, FRAME_RATE,
                                              use_tf=False, padding='same')
  batch = {'f0_hz': f0_hz[np.newaxis], 'f0_confidence': f0_confidence[
      np.newaxis], 'loudness_db': loudness_db[np.newaxis]}
  # The synths were built with n_samples=None: the same model renders the
  # whole clip, however long.
  outputs = model(batch, training=False)
  synth = outputs['audio_synth'][0].numpy()
  tutorial.record('resynthesis_seconds', synth.size / SAMPLE_RATE, '.3g')
  tutorial.write_wav(audio, '06_original.wav', normalize=False)
  tutorial.write_wav(synth, '06_resynthesis.wav', normalize=False)
  # How close: loudness of the output vs the input, on the louder frames.
  out_db = spectral_ops.compute_loudness(synth, SAMPLE_RATE, FRAME_RATE,
                                         use_tf=False, padding='same')
  loud = loudness_db > np.percentile(loudness_db, 95) - 30
  tutorial.record('resynthesis_loudness_l1_db',
                  float(np.mean(np.abs(out_db - loudness_db)[loud])), '.3g')

  fig, axes = plt.subplots(3, 1, figsize=(10, 7))
  tutorial_utils.plot_spectrogram(axes[0], audio, SAMPLE_RATE, 'original')
  tutorial_utils.plot_spectrogram(axes[1], synth, SAMPLE_RATE,
                                  'resynthesis (tiny model, few steps)')
  for ax in axes[:2]:
    ax.set_ylim(0, 6000)
  distribution = outputs['harmonic']['controls']['harmonic_distribution'][0]
  axes[2].imshow(np.log10(distribution.numpy().T + 1e-6), origin='lower',
                 aspect='auto', cmap='magma', vmin=-4, vmax=0,
                 extent=[0, n_frames / FRAME_RATE, 0.5, distribution.shape[-1]
                         + 0.5])
  axes[2].set(xlabel='time (s)', ylabel='harmonic',
              title='learned harmonic distribution (log10)')
  tutorial.save_figure(fig, '06_resynthesis.png')


def main():
  tutorial = tutorial_utils.Tutorial('training', 'Tutorial 5: training')
  if tutorial.short:
    seconds, steps = 6.0, (30, 20, 10)
  else:
    seconds, steps = 10.0, (80, 60, 20)
  audio, features, provider = features_and_data(tutorial, seconds,
                                                example_seconds=1.0)
  model = train(tutorial, features, provider, *steps)
  resynthesize(tutorial, model, audio[:int(4 * SAMPLE_RATE)])
  tutorial.finish()


if __name__ == '__main__':
  main()
