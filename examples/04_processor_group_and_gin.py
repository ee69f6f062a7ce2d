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
# # Tutorial 4: `ProcessorGroup`, in Python and in gin
#
# A `ddsp.processors.ProcessorGroup` wires processors into a directed acyclic
# graph (DAG) written as a list of nodes:
#
# ```python
# (processor, ['input key', ...])                  # or
# (processor, ['input key', ...], ['output key', ...])
# ```
#
# Nodes run in list order over one dict that starts as the group's inputs.
# Each processor's result `{'signal': ..., 'controls': {...}}` is stored
# under its name, so later nodes can read `'harmonic/signal'` or
# `'harmonic/controls/f0_hz'`. The group is itself a processor: calling it
# returns the last node's signal.
#
# The DDSP paper's synthesizer is such a DAG:
#
# ```
# Harmonic(amps, harmonic_distribution, f0_hz) --+
#                                                 Add --> Reverb --> audio
# FilteredNoise(noise_magnitudes) ---------------+
# ```
#
# This notebook builds it in Python, inspects everything it computes, routes
# controls between processors, builds the same DAG from a gin config (as
# `ddsp_run` does from .gin files) and checks both give the same audio. Last,
# `ddsp.dags.DAGLayer` puts plain Keras layers (a network) in the same DAG.

# %% tags=["parameters"]
# Short mode: shorter sounds, for a quick run on a CPU. None: decided by the
# environment variable DDSP_TUTORIAL_SHORT (CI sets it to 1).
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
from ddsp import core
from ddsp import dags
from ddsp import effects
from ddsp import processors
from ddsp import synths

tutorial = tutorial_utils.Tutorial('processor_group_and_gin',
                                   'Tutorial 4: ProcessorGroup and gin',
                                   short=SHORT, output_dir=OUTPUT_DIR)
SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE
N_FRAMES = int((1.0 if tutorial.short else 2.0) * FRAME_RATE)
N_SAMPLES = N_FRAMES * HOP
REVERB_LENGTH = SAMPLE_RATE // 2
rng = np.random.default_rng(0)

# %% [markdown]
# What a decoder might output: raw controls for the paper's DAG. A note
# whose loudness swells and fades (raw values, before `exp_sigmoid`), a
# falling harmonic distribution, f0 in Hz (not scaled: A3 with a little
# vibrato) and noise magnitudes.

# %%
t = np.linspace(0.0, 1.0, N_FRAMES, dtype=np.float32)
vibrato = 2 ** (0.3 / 12 * np.sin(2 * np.pi * 5.0 * t * N_FRAMES / FRAME_RATE))
inputs = {
    'amps': (-4.0 + 6.0 * np.sin(np.pi * t))[np.newaxis, :, np.newaxis],
    'harmonic_distribution': (
        -2.0 * np.arange(30)[np.newaxis, np.newaxis, :] / 10.0
        + 0.3 * rng.normal(size=[1, N_FRAMES, 30])),
    'f0_hz': (220.0 * vibrato)[np.newaxis, :, np.newaxis],
    'noise_magnitudes': (-1.0 - 0.05 * np.arange(65)[np.newaxis, np.newaxis, :]
                         + 0.0 * t[np.newaxis, :, np.newaxis]),
}
inputs = {key: value.astype(np.float32) for key, value in inputs.items()}

# %% [markdown]
# ## 1. The paper's DAG in Python
#
# The trainable reverb's impulse response is a variable of the group: a
# model holding the group trains it along with the network.

# %%
def paper_group():
  """The paper's processor group, built in Python."""
  dag = [
      (synths.Harmonic(n_samples=N_SAMPLES, sample_rate=SAMPLE_RATE),
       ['amps', 'harmonic_distribution', 'f0_hz']),
      (synths.FilteredNoise(n_samples=N_SAMPLES, window_size=257, seed=3),
       ['noise_magnitudes']),
      (processors.Add(), ['filtered_noise/signal', 'harmonic/signal']),
      (effects.Reverb(trainable=True, reverb_length=REVERB_LENGTH, seed=4),
       ['add/signal']),
  ]
  return processors.ProcessorGroup(dag=dag, name='processor_group')


group = paper_group()
audio = group(inputs)
tutorial.record('audio_shape', list(audio.shape))
tutorial.record('module_names', group.module_names)
tutorial.record('group_trainable_variables',
                [v.path for v in group.trainable_variables])
tutorial.write_wav(audio[0], '01_paper_dag.wav')

# %% [markdown]
# `get_controls` (or `return_outputs_dict=True`) returns everything the DAG
# computed: the inputs, each node's signal and controls, and `'out'`.

# %%
outputs = group.get_controls(inputs)
keys = [k for k in core.nested_keys(outputs) if not k.startswith('inputs/')]
for key in keys:
  print(f'{key:45s} {tuple(core.nested_lookup(key, outputs).shape)}')
tutorial.record('n_output_keys', len(keys))
harmonic_audio = core.nested_lookup('harmonic/signal', outputs)
noise_audio = core.nested_lookup('filtered_noise/signal', outputs)
dry = core.nested_lookup('add/signal', outputs)
tutorial.record('add_equals_sum',
                bool(np.allclose(dry, harmonic_audio + noise_audio)))
tutorial.record('out_is_reverb', bool(np.array_equal(
    outputs['out']['signal'], outputs['reverb']['signal'])))

fig, axes = plt.subplots(1, 4, figsize=(15, 3.2))
for ax, key in zip(axes, ['harmonic/signal', 'filtered_noise/signal',
                          'add/signal', 'reverb/signal']):
  tutorial_utils.plot_spectrogram(
      ax, core.nested_lookup(key, outputs)[0].numpy(), SAMPLE_RATE, key)
tutorial.save_figure(fig, '01_paper_dag_nodes.png')

# %% [markdown]
# ## 2. Routing: reading controls, `Mix`, `Crop`
#
# A sine that follows the harmonic synth's f0 by reading its *controls*
# (`'harmonic/controls/f0_hz'`, `[batch, n_frames, 1]` Hz). `Mix` crossfades
# two signals at constant power by a control (the sigmoid of a raw level,
# here from -4, all sub, to +4, all harmonic); `Crop` drops one frame at the
# back.

# %%
sub = synths.Sinusoidal(n_samples=N_SAMPLES, amp_scale_fn=None,
                        freq_scale_fn=None, name='sub')
routing = processors.ProcessorGroup(dag=[
    (synths.Harmonic(n_samples=N_SAMPLES),
     ['amps', 'harmonic_distribution', 'f0_hz']),
    (sub, ['sub_amps', 'harmonic/controls/f0_hz']),
    (processors.Mix(), ['harmonic/signal', 'sub/signal', 'crossfade']),
    (processors.Crop(frame_size=HOP, crop_location='back'), ['mix/signal']),
], name='routing_group')
routed = dict(inputs)
routed['sub_amps'] = np.full([1, N_FRAMES, 1], 0.3, np.float32)
routed['crossfade'] = np.linspace(-4, 4, N_FRAMES, dtype=np.float32)[
    np.newaxis, :, np.newaxis]
routed_outputs = routing(routed, return_outputs_dict=True)
signal = routed_outputs['signal']
tutorial.record('crop_removed_samples', int(N_SAMPLES - signal.shape[1]))
mix_level = routed_outputs['controls']['mix']['controls']['mix_level'][0]
tutorial.record('mix_level_start_end',
                [float(mix_level[0]), float(mix_level[-1])], '.3g')
tutorial.write_wav(signal[0], '02_routing_mix.wav')

# %% [markdown]
# ## 3. The same DAG in gin
#
# Gin names: every processor is registered as `synths.Harmonic`,
# `effects.Reverb`, `processors.Add`, ... (also with the full module path,
# `ddsp.synths.Harmonic`). `@name()` in a binding builds a new object each
# time the group is built. Macros (`%N_SAMPLES`) keep sizes in one place. This
# is the processor group of the packaged `models/solo_instrument.gin`.

# %%
PAPER_GIN = f"""
N_SAMPLES = {N_SAMPLES}
REVERB_LENGTH = {REVERB_LENGTH}
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
print(PAPER_GIN)

# %% [markdown]
# After `gin.parse_config`, a plain `processors.ProcessorGroup()` call sees
# the bindings (`ProcessorGroup.dag` and those of each processor), as in the
# published tutorials; `gin.get_configurable('processors.ProcessorGroup')()`
# and, in a model config, `Autoencoder.processor_group =
# @processors.ProcessorGroup()` build the same group. The learned reverb
# starts from the same seeded initial IR, and the noise has the same seed, so
# both groups compute the same audio.

# %%
gin.clear_config()
gin.parse_config(PAPER_GIN)
gin_group = processors.ProcessorGroup()
gin.clear_config()
tutorial.record('gin_group_type', type(gin_group).__name__)
tutorial.record('gin_module_names', gin_group.module_names)
from_gin = gin_group(inputs)
from_python = group(inputs)
tutorial.record('gin_vs_python_max_difference',
                float(tf.reduce_max(tf.abs(from_gin - from_python))), '.2g')
tutorial.record('gin_vs_python_same_config',
                gin_group.get_config() == group.get_config())

# %% [markdown]
# Two processors of one class need different names: use gin scopes. Here two
# harmonic synths an octave apart.

# %%
gin.parse_config(f"""
    ProcessorGroup.dag = [
      (@low/synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_low']),
      (@high/synths.Harmonic(), ['amps', 'harmonic_distribution', 'f0_hz']),
      (@processors.Add(), ['low/signal', 'high/signal']),
    ]
    Harmonic.n_samples = {N_SAMPLES}
    low/Harmonic.name = 'low'
    high/Harmonic.name = 'high'
""")
octaves = processors.ProcessorGroup()
gin.clear_config()
octave_audio = octaves(dict(inputs, f0_low=inputs['f0_hz'] / 2.0))
tutorial.record('scoped_module_names', octaves.module_names)
tutorial.write_wav(octave_audio[0], '03_gin_scopes_octaves.wav')

# %% [markdown]
# ## 4. `DAGLayer`: a network and a synth in one DAG
#
# Any Keras layer can be a node of a `ddsp.dags.DAGLayer`. A layer's result
# is stored under its name (or, for a node that names its module by a
# keyword of the layer, `('net', [...])` with `DAGLayer(dag, net=...)`, under
# that keyword). A node may list output keys: a single tensor is
# then stored under the only key (`'amp_net/amps'` here), a tuple under one
# key each (for a processor, whose result is already a dict, the listed keys
# are only checked to be there). Gradients reach every weight of the
# network through the synth.

# %%
keras.utils.set_random_seed(0)
layer = dags.DAGLayer(dag=[
    (keras.layers.Dense(1, name='amp_net'), ['features'], ['amps']),
    (keras.layers.Dense(20, name='dist_net'), ['features'],
     ['harmonic_distribution']),
    (synths.Harmonic(n_samples=N_SAMPLES),
     ['amp_net/amps', 'dist_net/harmonic_distribution', 'f0_hz']),
])
features = np.random.default_rng(1).normal(
    size=[1, N_FRAMES, 4]).astype(np.float32)
f0_330 = np.full([1, N_FRAMES, 1], 330.0, np.float32)
with tf.GradientTape() as tape:
  dag_outputs = layer({'features': features, 'f0_hz': f0_330})
  energy = tf.reduce_mean(dag_outputs['out']['signal'] ** 2)
grads = tape.gradient(energy, layer.trainable_variables)
tutorial.record('dag_layer_variables',
                [v.path for v in layer.trainable_variables])
tutorial.record('dag_layer_gradients_finite_nonzero', bool(all(
    np.all(np.isfinite(g)) and np.any(g != 0) for g in grads)))

# %% [markdown]
# A key that does not exist gives an error listing the keys that do (a
# `DAGKeyError` is both a `KeyError` and a `ValueError`).

# %%
bad = dags.DAGLayer(dag=[(synths.Harmonic(n_samples=N_SAMPLES),
                          ['amps', 'harmonic_distribution', 'f0'])])
try:
  bad({'amps': f0_330, 'harmonic_distribution': f0_330, 'f0_hz': f0_330})
except ValueError as e:
  message = re.sub(r'\x1b\[[0-9;]*m', '', str(e))
  message = next(line for line in message.splitlines() if 'input key' in line)
  print(f'ValueError: {message}')
  tutorial.record('missing_key_error_names_key', "'f0'" in message)

# %%
summary = tutorial.finish()
