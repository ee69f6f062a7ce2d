"""Tutorial 4: ProcessorGroup, in Python and in gin.

A `ddsp.processors.ProcessorGroup` wires processors into a directed acyclic
graph (DAG) written as a list of nodes:

    (processor, ['input key', ...])                  # or
    (processor, ['input key', ...], ['output key', ...])

Nodes run in list order over one dict that starts as the group's inputs.
Each processor's result `{'signal': ..., 'controls': {...}}` is stored under
its name, so later nodes can read `'harmonic/signal'` or
`'harmonic/controls/f0_hz'`. The group is itself a processor: calling it
returns the last node's signal.

The DDSP paper's synthesizer is such a DAG:

    Harmonic(amps, harmonic_distribution, f0_hz) --+
                                                    Add --> Reverb --> audio
    FilteredNoise(noise_magnitudes) ---------------+

This tutorial builds it in Python, inspects everything it computes, routes
controls between processors, builds the same DAG from a gin config (as
`ddsp_run` does from .gin files) and checks both give the same audio. Last,
`ddsp.dags.DAGLayer` puts plain Keras layers (a network) in the same DAG.

Run it:

    python examples/04_processor_group_and_gin.py --output_dir /tmp/tutorial_4
"""

import re

import gin
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import tutorial_utils

from ddsp import core
from ddsp import dags
from ddsp import effects
from ddsp import processors
from ddsp import synths

SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE


def network_outputs(rng, n_frames):
  """What a decoder might output: raw controls for the paper's DAG."""
  t = np.linspace(0.0, 1.0, n_frames, dtype=np.float32)
  # A note whose loudness swells and fades (raw values, before exp_sigmoid).
  amps = (-4.0 + 6.0 * np.sin(np.pi * t))[np.newaxis, :, np.newaxis]
  harmonic_distribution = (
      -2.0 * np.arange(30)[np.newaxis, np.newaxis, :] / 10.0
      + 0.3 * rng.normal(size=[1, n_frames, 30])).astype(np.float32)
  # f0 in Hz (not scaled): A3 with a little vibrato.
  f0_hz = (220.0 * 2 ** (0.3 / 12 * np.sin(2 * np.pi * 5.0 * t * n_frames /
                                              FRAME_RATE)))
  noise_magnitudes = (-1.0 - 0.05 * np.arange(65)[np.newaxis, np.newaxis, :]
                      + 0.0 * t[np.newaxis, :, np.newaxis])
  return {
      'amps': amps.astype(np.float32),
      'harmonic_distribution': harmonic_distribution,
      'f0_hz': f0_hz[np.newaxis, :, np.newaxis].astype(np.float32),
      'noise_magnitudes': noise_magnitudes.astype(np.float32),
  }


def paper_dag_in_python(n_samples, reverb_length):
  """The paper's processor group, built in Python."""
  harmonic = synths.Harmonic(n_samples=n_samples, sample_rate=SAMPLE_RATE)
  noise = synths.FilteredNoise(n_samples=n_samples, window_size=257, seed=3)
  add = processors.Add()
  reverb = effects.Reverb(trainable=True, reverb_length=reverb_length, seed=4)
  dag = [
      (harmonic, ['amps', 'harmonic_distribution', 'f0_hz']),
      (noise, ['noise_magnitudes']),
      (add, ['filtered_noise/signal', 'harmonic/signal']),
      (reverb, ['add/signal']),
  ]
  return processors.ProcessorGroup(dag=dag, name='processor_group')


def python_group(tutorial, inputs, n_samples, reverb_length):
  """Build, run and inspect the group."""
  tutorial.section('1. The paper\'s DAG in Python')
  group = paper_dag_in_python(n_samples, reverb_length)
  audio = group(inputs)
  tutorial.record('audio_shape', list(audio.shape))
  tutorial.record('module_names', group.module_names)
  # The trainable reverb's impulse response is a variable of the group: a
  # model holding the group trains it along with the network.
  tutorial.record('group_trainable_variables',
                  [v.path for v in group.trainable_variables])
  tutorial.write_wav(audio[0], '01_paper_dag.wav')

  # get_controls (or return_outputs_dict=True) returns everything the DAG
  # computed: the inputs, each node's signal and controls, and 'out'.
  outputs = group.get_controls(inputs)
  keys = [k for k in core.nested_keys(outputs) if not k.startswith('inputs/')]
  print('  every key of the outputs dict:')
  for key in keys:
    print(f'    {key:45s} {tuple(core.nested_lookup(key, outputs).shape)}')
  tutorial.record('n_output_keys', len(keys))
  harmonic_audio = core.nested_lookup('harmonic/signal', outputs)
  noise_audio = core.nested_lookup('filtered_noise/signal', outputs)
  dry = core.nested_lookup('add/signal', outputs)
  tutorial.record('add_equals_sum', bool(np.allclose(
      dry, harmonic_audio + noise_audio)))
  tutorial.record('out_is_reverb', bool(np.array_equal(
      outputs['out']['signal'], outputs['reverb']['signal'])))

  fig, axes = plt.subplots(1, 4, figsize=(15, 3.2))
  for ax, key in zip(axes, ['harmonic/signal', 'filtered_noise/signal',
                            'add/signal', 'reverb/signal']):
    tutorial_utils.plot_spectrogram(
        ax, core.nested_lookup(key, outputs)[0].numpy(), SAMPLE_RATE, key)
  tutorial.save_figure(fig, '01_paper_dag_nodes.png')
  return group, outputs


def routing(tutorial, inputs, n_samples):
  """Reading controls of other nodes; Mix and Crop."""
  tutorial.section('2. Routing: reading controls, Mix, Crop')
  n_frames = inputs['f0_hz'].shape[1]
  harmonic = synths.Harmonic(n_samples=n_samples)
  # A sine that follows the harmonic synth's f0 by reading its *controls*:
  # 'harmonic/controls/f0_hz' is [batch, n_frames, 1] Hz.
  sub = synths.Sinusoidal(n_samples=n_samples, amp_scale_fn=None,
                          freq_scale_fn=None, name='sub')
  # Mix crossfades two signals by a control (sigmoid of the raw level):
  # the raw crossfade goes from -4 (all sub) to +4 (all harmonic).
  mix = processors.Mix()
  crop = processors.Crop(frame_size=HOP, crop_location='back')
  group = processors.ProcessorGroup(dag=[
      (harmonic, ['amps', 'harmonic_distribution', 'f0_hz']),
      (sub, ['sub_amps', 'harmonic/controls/f0_hz']),
      (mix, ['harmonic/signal', 'sub/signal', 'crossfade']),
      (crop, ['mix/signal']),
  ], name='routing_group')
  routed = dict(inputs)
  routed['sub_amps'] = np.full([1, n_frames, 1], 0.3, np.float32)
  routed['crossfade'] = np.linspace(-4, 4, n_frames, dtype=np.float32)[
      np.newaxis, :, np.newaxis]
  outputs = group(routed, return_outputs_dict=True)
  signal, controls = outputs['signal'], outputs['controls']
  tutorial.record('crop_removed_samples', int(n_samples - signal.shape[1]))
  mix_level = controls['mix']['controls']['mix_level'][0].numpy()
  tutorial.record('mix_level_start_end',
                  [float(mix_level[0]), float(mix_level[-1])], '.3g')
  tutorial.write_wav(signal[0], '02_routing_mix.wav')
  return group


PAPER_GIN = """
# The paper's processor group (as in the packaged gin config
# ddsp/training/gin/models/solo_instrument.gin).
ProcessorGroup.dag = [
  (@synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
  (@synths.FilteredNoise(), ['noise_magnitudes']),
  (@processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
  (@effects.Reverb(), ['add/signal']),
]
Harmonic.n_samples = %N_SAMPLES
Harmonic.sample_rate = 16000
FilteredNoise.n_samples = %N_SAMPLES
FilteredNoise.window_size = 257
FilteredNoise.seed = 3
Reverb.trainable = True
Reverb.reverb_length = %REVERB_LENGTH
Reverb.seed = 4
"""


def gin_group(tutorial, inputs, python, n_samples, reverb_length):
  """The same DAG from a gin config."""
  tutorial.section('3. The same DAG in gin')
  # Gin names: every processor is registered as `synths.Harmonic`,
  # `effects.Reverb`, `processors.Add`, ... (also with the full module path,
  # `ddsp.synths.Harmonic`). `@name()` in a binding builds a new object each
  # time the group is built. Macros (%N_SAMPLES) keep sizes in one place.
  config = (f'N_SAMPLES = {n_samples}\nREVERB_LENGTH = {reverb_length}\n'
            + PAPER_GIN)
  print('  gin config:')
  print('\n'.join('    ' + line for line in config.strip().splitlines()))
  gin.clear_config()
  gin.parse_config(config)
  # Gin bindings apply when gin builds the object: ask gin for the group
  # (a plain `processors.ProcessorGroup()` call would not see them). In a
  # model config this happens through `Autoencoder.processor_group =
  # @processors.ProcessorGroup()`.
  group = gin.get_configurable('processors.ProcessorGroup')()
  gin.clear_config()
  tutorial.record('gin_group_type', type(group).__name__)
  tutorial.record('gin_module_names', group.module_names)
  from_gin = group(inputs)
  # The learned reverb starts from the same seeded initial IR, and the noise
  # has the same seed, so both groups compute the same audio.
  from_python = python(inputs)
  tutorial.record('gin_vs_python_max_difference',
                  float(tf.reduce_max(tf.abs(from_gin - from_python))), '.2g')
  tutorial.record('gin_vs_python_same_config',
                  group.get_config() == python.get_config())

  # Two processors of one class need different names: use gin scopes.
  gin.parse_config("""
      ProcessorGroup.dag = [
        (@low/synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_low']),
        (@high/synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
        (@processors.Add(), ['low/signal', 'high/signal']),
      ]
      Harmonic.n_samples = %s
      low/Harmonic.name = 'low'
      high/Harmonic.name = 'high'
  """ % n_samples)
  octaves = gin.get_configurable('processors.ProcessorGroup')()
  gin.clear_config()
  audio = octaves(dict(inputs, f0_low=inputs['f0_hz'] / 2.0))
  tutorial.record('scoped_module_names', octaves.module_names)
  tutorial.write_wav(audio[0], '03_gin_scopes_octaves.wav')


def dag_layer_with_network(tutorial, n_frames, n_samples):
  """A DAGLayer mixes Keras layers (a network) and processors."""
  tutorial.section('4. DAGLayer: a network and a synth in one DAG')
  # Any Keras layer can be a node of a `ddsp.dags.DAGLayer`. A layer's result
  # is stored under its name. A node may list output keys: a single tensor is
  # then stored under the only key ('amp_net/amps' here), a tuple under one
  # key each (for a processor, whose result is already a dict, the listed
  # keys are only checked to be there).
  keras.utils.set_random_seed(0)
  amp_net = keras.layers.Dense(1, name='amp_net')
  dist_net = keras.layers.Dense(20, name='dist_net')
  layer = dags.DAGLayer(dag=[
      (amp_net, ['features'], ['amps']),
      (dist_net, ['features'], ['harmonic_distribution']),
      (synths.Harmonic(n_samples=n_samples),
       ['amp_net/amps', 'dist_net/harmonic_distribution', 'f0_hz']),
  ])
  features = np.random.default_rng(1).normal(
      size=[1, n_frames, 4]).astype(np.float32)
  f0_hz = np.full([1, n_frames, 1], 330.0, np.float32)
  with tf.GradientTape() as tape:
    outputs = layer({'features': features, 'f0_hz': f0_hz})
    energy = tf.reduce_mean(outputs['out']['signal'] ** 2)
  grads = tape.gradient(energy, layer.trainable_variables)
  tutorial.record('dag_layer_variables',
                  [v.path for v in layer.trainable_variables])
  tutorial.record('dag_layer_gradients_finite_nonzero', bool(all(
      np.all(np.isfinite(g)) and np.any(g != 0) for g in grads)))

  # A key that does not exist gives an error listing the keys that do.
  bad = dags.DAGLayer(dag=[(synths.Harmonic(n_samples=n_samples),
                            ['amps', 'harmonic_distribution', 'f0'])])
  try:
    bad({'amps': f0_hz, 'harmonic_distribution': f0_hz, 'f0_hz': f0_hz})
  except ValueError as e:  # A DAGKeyError is both a KeyError and ValueError.
    message = re.sub(r'\x1b\[[0-9;]*m', '', str(e))
    message = next(line for line in message.splitlines()
                   if "input key" in line)
    print(f'  ValueError: {message}')
    tutorial.record('missing_key_error_names_key', "'f0'" in message)


def main():
  tutorial = tutorial_utils.Tutorial(
      'processor_group_and_gin', 'Tutorial 4: ProcessorGroup in Python and gin')
  rng = np.random.default_rng(0)
  seconds = 1.0 if tutorial.short else 2.0
  n_frames = int(seconds * FRAME_RATE)
  n_samples = n_frames * HOP
  reverb_length = SAMPLE_RATE // 2
  inputs = network_outputs(rng, n_frames)
  python, _ = python_group(tutorial, inputs, n_samples, reverb_length)
  routing(tutorial, inputs, n_samples)
  gin_group(tutorial, inputs, python, n_samples, reverb_length)
  dag_layer_with_network(tutorial, n_frames, n_samples)
  tutorial.finish()


if __name__ == '__main__':
  main()
