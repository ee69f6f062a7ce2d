"""Small streamable models and controls for the inference and export tests."""

import keras
import numpy as np

import ddsp
from ddsp.training import decoders
from ddsp.training import inference
from ddsp.training import models
from ddsp.training import preprocessing

HOP = 64
N_FRAMES = 192  # 0.77 s at 16 kHz: 12 blocks of 1024, 48 of 256, 192 of 64.
SEED = 7


def make_model(harmonic=True, noise=True, reverb_length=800,
               noise_method='overlap_add', window_size=0, power=False,
               rnn_kwargs=None, exp_decay_reverb=False, sample_rate=16000,
               seed=0):
  """A small solo-instrument autoencoder (random weights), built."""
  keras.utils.set_random_seed(seed)
  rates = {'sample_rate': sample_rate, 'frame_rate': 250}
  dag = []
  if harmonic:
    dag.append((ddsp.synths.Harmonic(n_samples=None, name='harmonic',
                                     **rates),
                ['amps', 'harmonic_distribution', 'f0_hz']))
  if noise:
    dag.append((ddsp.synths.FilteredNoise(
        n_samples=None, window_size=window_size, method=noise_method,
        initial_bias=-2.0, seed=SEED, counter_noise=True,
        name='filtered_noise', **rates), ['noise_magnitudes']))
  if harmonic and noise:
    dag.append((ddsp.processors.Add(name='add'),
                ['filtered_noise/signal', 'harmonic/signal']))
  if reverb_length:
    source = dag[-1][0].name
    reverb_class = (ddsp.effects.ExpDecayReverb if exp_decay_reverb
                    else ddsp.effects.Reverb)
    dag.append((reverb_class(trainable=True, reverb_length=reverb_length,
                             name='reverb', seed=1),
                [f'{source}/signal']))
  preprocessor = (preprocessing.F0PowerPreprocessor if power else
                  preprocessing.F0LoudnessPreprocessor)(time_steps=None,
                                                        **rates)
  model = models.Autoencoder(
      preprocessor=preprocessor,
      decoder=decoders.RnnFcDecoder(
          rnn_channels=16, ch=16, layers_per_stack=1,
          input_keys=('pw_scaled' if power else 'ld_scaled', 'f0_scaled'),
          output_splits=(('amps', 1), ('harmonic_distribution', 20),
                         ('noise_magnitudes', 65)),
          rnn_kwargs=rnn_kwargs),
      processor_group=ddsp.processors.ProcessorGroup(dag=dag))
  inference.build_model(model)
  if reverb_length and not exp_decay_reverb:
    # A decaying, audible room instead of the near-zero initial IR.
    ir = np.random.default_rng(seed).normal(size=reverb_length)
    ir *= 0.3 * np.exp(-np.arange(reverb_length) / 200.0)
    model.processor_group.reverb.weights[0].assign(ir.astype(np.float32))
  return model


def controls(n_frames=N_FRAMES, batch=1, seed=0):
  """Gliding f0 with an unvoiced gap and a loudness swell, [b, n, 1]."""
  rng = np.random.default_rng(seed)
  t = np.arange(n_frames) / 250.0
  f0 = [300.0 + 150.0 * np.sin(2 * np.pi * (1.3 + rng.uniform()) * t)
        for _ in range(batch)]
  f0 = np.stack(f0)
  f0[:, n_frames // 2:n_frames // 2 + 12] = 0.0
  loudness = -35.0 + 15.0 * np.sin(2 * np.pi * 0.9 * t) + np.zeros_like(f0)
  return (f0.astype(np.float32)[..., None],
          loudness.astype(np.float32)[..., None])


def offline(model, f0, loudness, key='loudness_db'):
  outputs = model({'f0_hz': f0[..., 0], key: loudness[..., 0]})
  return outputs['audio_synth'].numpy(), outputs


def stream(streamer, f0, loudness):
  n = streamer.frames_per_block
  blocks = [streamer(f0[:, k:k + n], loudness[:, k:k + n]).numpy()
            for k in range(0, f0.shape[1], n)]
  return np.concatenate(blocks, axis=1)


def assert_matches_offline(streamed, expected, latency, atol=1e-4):
  """The stream is the offline audio delayed by `latency` (zeros before)."""
  np.testing.assert_array_equal(streamed[:, :latency], 0.0)
  n = streamed.shape[1] - latency
  difference = np.abs(streamed[:, latency:] - expected[:, :n])
  assert difference.max() < atol, difference.max()
  return difference.max()
