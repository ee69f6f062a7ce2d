"""Shared helpers of the training tests: tiny models, real data, events."""

import numpy as np
import soundfile
import tensorflow as tf

import ddsp
from ddsp.training import data
from ddsp.training import decoders
from ddsp.training import models
from ddsp.training import preprocessing

N_SAMPLES = 4096  # 0.256 s at 16 kHz.
N_FRAMES = 64  # 250 frames/s.
EXAMPLE_SECS = N_SAMPLES / 16000

# A tiny Autoencoder as the gin config of a training run (the operative config
# ddsp_run writes): 50 frames at 250 frames/s, so 3200 samples (0.2 s at
# 16 kHz); a harmonic synth with 10 harmonics; about 1000 weights.
TINY_AUTOENCODER_GIN = """
import ddsp.synths
import ddsp.processors
import ddsp.losses
import ddsp.training.decoders
import ddsp.training.models
import ddsp.training.preprocessing
get_model.model = @models.Autoencoder()
Autoencoder.preprocessor = @preprocessing.F0LoudnessPreprocessor()
F0LoudnessPreprocessor.time_steps = 50
F0LoudnessPreprocessor.compute_loudness = False
Autoencoder.decoder = @decoders.RnnFcDecoder()
RnnFcDecoder.rnn_channels = 8
RnnFcDecoder.ch = 8
RnnFcDecoder.layers_per_stack = 1
RnnFcDecoder.input_keys = ('ld_scaled', 'f0_scaled')
RnnFcDecoder.output_splits = (('amps', 1), ('harmonic_distribution', 10))
Autoencoder.processor_group = @processors.ProcessorGroup()
ProcessorGroup.dag = [(@synths.Harmonic(), ['amps', 'harmonic_distribution',
                                            'f0_hz'])]
Harmonic.n_samples = 3200
Autoencoder.losses = [@losses.SpectralLoss()]
SpectralLoss.fft_sizes = (256, 64)
"""


def tiny_model(noise=True, reverb=True, n_samples=N_SAMPLES, logmag=True):
  """A small solo-instrument-like Autoencoder (about 6000 weights).

  `logmag=False` leaves out the log-magnitude loss, whose gradient amplifies
  float32 round-off (for tests comparing two ways of computing gradients).
  """
  dag = [(ddsp.synths.Harmonic(n_samples=n_samples),
          ['amps', 'harmonic_distribution', 'f0_hz'])]
  last = 'harmonic/signal'
  if noise:
    dag += [(ddsp.synths.FilteredNoise(n_samples=n_samples, window_size=0),
             ['noise_magnitudes']),
            (ddsp.processors.Add(), ['filtered_noise/signal', last])]
    last = 'add/signal'
  if reverb:
    dag += [(ddsp.effects.Reverb(trainable=True, reverb_length=400),
             [last])]
  return models.Autoencoder(
      preprocessor=preprocessing.F0LoudnessPreprocessor(
          time_steps=n_samples // 64, compute_loudness=False),
      decoder=decoders.RnnFcDecoder(
          rnn_channels=16, ch=16, layers_per_stack=1,
          input_keys=('ld_scaled', 'f0_scaled'),
          output_splits=(('amps', 1), ('harmonic_distribution', 8),
                         ('noise_magnitudes', 9))),
      processor_group=ddsp.processors.ProcessorGroup(dag=dag),
      losses=[ddsp.losses.SpectralLoss(fft_sizes=(512, 128), mag_weight=1.0,
                                       logmag_weight=float(logmag))])


def violin_examples(test_data, n_examples=6):
  """Consecutive 0.256 s excerpts of the violin clip with f0 and loudness.

  Returns:
    Dict of float32 arrays: 'audio' [n, 4096], 'f0_hz', 'f0_confidence',
    'loudness_db' [n, 64].
  """
  audio, sample_rate = soundfile.read(test_data / 'violin_6s.flac',
                                      dtype='float32', frames=64000)
  assert sample_rate == 16000
  f0_hz = np.load(test_data / 'violin_6s.f0_250hz.npy')[:1000]
  examples = {k: [] for k in ('audio', 'f0_hz', 'f0_confidence',
                              'loudness_db')}
  for i in range(n_examples):
    start = 8000 + i * N_SAMPLES
    clip = audio[start:start + N_SAMPLES]
    examples['audio'].append(clip)
    examples['f0_hz'].append(f0_hz[start // 64:start // 64 + N_FRAMES])
    examples['f0_confidence'].append(np.ones(N_FRAMES, np.float32))
    examples['loudness_db'].append(ddsp.spectral_ops.compute_loudness(
        clip, use_tf=False, padding='same')[:N_FRAMES])
  return {k: np.stack(v).astype(np.float32) for k, v in examples.items()}


def write_tfrecord(path, examples):
  """Writes feature dicts [n, ...] as tf.train.Examples (one per row)."""
  n = len(examples['audio'])
  with tf.io.TFRecordWriter(str(path)) as writer:
    for i in range(n):
      feature = {k: tf.train.Feature(float_list=tf.train.FloatList(
          value=v[i])) for k, v in examples.items()}
      writer.write(tf.train.Example(features=tf.train.Features(
          feature=feature)).SerializeToString())


class OrderedProvider(data.DataProvider):
  """The examples in their order, whatever `shuffle` says (tests only)."""

  def __init__(self, examples):
    super().__init__(16000, 250)
    self._examples = examples

  def get_dataset(self, shuffle=True):
    del shuffle
    return tf.data.Dataset.from_tensor_slices(self._examples)


def weights(model):
  """The model's trainable weights as numpy arrays."""
  return [v.numpy() for v in model.trainable_variables]


def read_events(log_dir, with_plugin=False):
  """tag -> list of (step, value ndarray) from the event files of a folder.

  With `with_plugin`, each entry is (step, plugin name, value ndarray).
  """
  events = {}
  for path in sorted(tf.io.gfile.glob(str(log_dir) + '/events*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        entry = (event.step, tf.make_ndarray(value.tensor))
        if with_plugin:
          entry = (entry[0], value.metadata.plugin_data.plugin_name, entry[1])
        events.setdefault(value.tag, []).append(entry)
  return events
