"""Inference with trained models: whole clips, and streaming block by block.

* `load_model(path)` rebuilds a trained model from a training directory (its
  operative gin config and latest checkpoint).
* `AutoencoderInference(model)` synthesizes whole clips from f0 and loudness.
* `StreamingF0LoudnessModel(model, block_size)` synthesizes a stream in
  blocks of `block_size` samples, for models without an encoder (f0 and
  loudness in, as the solo-instrument model of the DDSP paper). It keeps the
  decoder GRU's state, the oscillator phase, the overlap-add tails of the
  filtered noise and the reverb's delay line between calls, so the
  concatenated blocks equal an offline render of the whole signal, delayed by
  a fixed `latency` (see below). `step(f0_hz, loudness_db, state)` is the
  same computation with the state explicit, which `ddsp_export` saves as a
  SavedModel signature and a TFLite model.

Latency: hop t of the harmonic synth interpolates frames t and t + 1, and
the noise filter of a frame is linear-phase (centred), reaching
`(ir_size - 1) // 2` samples before the frame (plus half a hop of window).
So a block's last samples depend on frames that arrive with the next block;
each call returns the samples that are complete: call k (from 0) returns
samples `[k * block_size - latency, (k + 1) * block_size - latency)` of the
offline render, zeros before sample 0. `latency = max(hop, (ir_size - 1) // 2
+ hop // 2)` (without the half hop for the noise's 'block' method): 95
samples (6 ms at 16 kHz) for the solo-instrument model (hop 64, 65 noise
bands, 128 taps).

The published library's `StreamingF0PwInference` (power input, one frame per
call, no reverb) corresponds to `StreamingF0LoudnessModel(model,
block_size=hop)` on a model with an `F0PowerPreprocessor`; here the reverb,
any block size and the loudness models stream too.

Equality with offline synthesis needs the same noise: build the model's
`FilteredNoise` with `counter_noise=True` (noise as a function of the sample
index, as streaming makes it). With another noise source the stream is still
valid audio, with different noise.
"""

import logging
import os

import keras
import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import effects
from ddsp import processors
from ddsp import synths
from ddsp import validation
from ddsp.training import checkpoints
from ddsp.training import decoders
from ddsp.training import preprocessing
from ddsp.training import streaming

__all__ = [
    'build_model',
    'load_model',
    'parse_operative_config',
    'AutoencoderInference',
    'StreamingF0LoudnessModel',
    'VSTBaseModule',
    'VSTExtractFeatures',
    'VSTPredictControls',
    'VSTStatelessPredictControls',
    'VSTSynthesize',
    'VSTSynthesizeHarmonic',
    'VSTSynthesizeNoise',
]

# Scaled name of the second input, by preprocessor.
_LOUDNESS_KEYS = {
    preprocessing.F0LoudnessPreprocessor: ('loudness_db', 'ld_scaled'),
    preprocessing.F0PowerPreprocessor: ('power_db', 'pw_scaled'),
}


# ------------------------------------------------------------------------------
# Loading trained models.
# ------------------------------------------------------------------------------
def _model_frames(model):
  """Frames the model's synths expect per example (None: any)."""
  preprocessor = getattr(model, 'preprocessor', None)
  time_steps = getattr(preprocessor, 'time_steps', None)
  if time_steps:
    return time_steps
  for module, _, _ in getattr(model.processor_group, 'dag', ()):
    n_samples = getattr(module, 'n_samples', None)
    if n_samples:
      return n_samples // _model_hop(model)
  return None


def _first_synth(model):
  for module, _, _ in getattr(model.processor_group, 'dag', ()):
    if isinstance(module, (synths.Harmonic, synths.FilteredNoise)):
      return module
  raise ValueError('The model has no Harmonic or FilteredNoise synth; '
                   'inference here needs one.')


def _model_hop(model):
  """Samples per frame of an autoencoder's synths."""
  preprocessor = getattr(model, 'preprocessor', None)
  module = _first_synth(model)
  time_steps = getattr(preprocessor, 'time_steps', None)
  if module.n_samples is not None and time_steps:
    hop = module.n_samples / time_steps
  else:
    rate = (module.frame_rate if module.n_samples is None else
            getattr(preprocessor, 'frame_rate', module.frame_rate))
    hop = module.sample_rate / rate
  if hop != int(hop):
    raise ValueError(
        f'The synth {module.name!r} does not have a whole number of samples '
        f'per frame ({hop}); inference needs one.')
  return int(hop)


def build_model(model):
  """Creates a model's variables by running it once on silent features.

  Args:
    model: a `ddsp.training.models.Autoencoder` whose decoder reads f0 and
      loudness (or power).

  Returns:
    The model.
  """
  return checkpoints.build_model(model, _model_frames(model) or 250)


def parse_operative_config(ckpt_dir):
  """Parses the latest operative gin config of a training run (published).

  Args:
    ckpt_dir: the training directory, or a checkpoint prefix in it.

  Returns:
    The path of the parsed config. Unknown names of an older run are
    skipped with one warning (`checkpoints.parse_operative_config`).
  """
  return checkpoints.parse_operative_config(ckpt_dir)[0]


def load_model(model_path, verbose=True):
  """A trained model from its training directory, or a model as it is.

  Parses the latest `operative_config-<step>.gin` (which `ddsp_run` writes
  beside the checkpoints) into gin's config, builds `models.get_model()`,
  runs it once to create its variables and restores the newest readable
  checkpoint (`checkpoints.load_model`).

  Args:
    model_path: a `ddsp.training.models.Model` (returned unchanged), a
      training directory, or a checkpoint prefix ('.../ckpt-300') in one.
    verbose: log what was loaded.

  Returns:
    The restored model.

  Raises:
    FileNotFoundError: if there is no gin config or checkpoint.
    ValueError: the checkpoint does not hold every weight of the model that
      the config builds (names the missing ones).
  """
  if isinstance(model_path, keras.Model):
    return model_path
  model, checkpoint, gin_file = checkpoints.load_model(model_path)
  if verbose:
    logging.info('Loaded %s from %s and %s', type(model).__name__, gin_file,
                 checkpoint)
  return model


def _loudness_keys(model):
  preprocessor = getattr(model, 'preprocessor', None)
  if preprocessor is None:
    return _LOUDNESS_KEYS[preprocessing.F0LoudnessPreprocessor]
  keys = _LOUDNESS_KEYS.get(type(preprocessor))
  if keys is None:
    raise ValueError(
        'Inference takes f0 and loudness (or power) frames: the preprocessor '
        'must be F0LoudnessPreprocessor or F0PowerPreprocessor. Received: '
        f'{type(preprocessor).__name__}')
  return keys


# ------------------------------------------------------------------------------
# Whole clips.
# ------------------------------------------------------------------------------
class AutoencoderInference(tf.Module):
  """Synthesizes whole clips with a trained autoencoder (f0 and loudness in).

  A `tf.Module` whose `call` is a `tf.function` with a fixed signature
  (`f0_hz`, `loudness_db` or `power_db`), so it can be saved as a SavedModel
  signature. As in the published library, it is built from a checkpoint at a
  length of `length_seconds`, without the reverb by default.

  Args:
    ckpt: a training directory or checkpoint prefix (the model is rebuilt
      from its operative config for `length_seconds` of audio and restored,
      see `checkpoints.load_model`), or a built
      `ddsp.training.models.Autoencoder` (used at its own length).
    length_seconds: seconds of audio per clip when loading from `ckpt` (4,
      as published); None keeps the training length. For a model with synths
      of any length (`n_samples=None`) it sets the clip length too.
    remove_reverb: output the signal that enters a reverb at the end of the
      processor group (the dry sound; True by default, as published). No
      effect without such a reverb.
    verbose: log what was loaded.
    n_frames: frames per clip instead of `length_seconds` (must agree with
      a given model's own length).
    name: name of the module.

  Raises:
    FileNotFoundError: no config or checkpoint at `ckpt`.
    ValueError: the checkpoint lacks weights of the configured model, or
      `n_frames` disagrees with the model.

  Example:
    >>> import ddsp
    >>> from ddsp.training import decoders, models, preprocessing
    >>> synth = ddsp.synths.Harmonic(n_samples=640)  # 10 frames of 64.
    >>> group = ddsp.processors.ProcessorGroup(
    ...     dag=[(synth, ['amps', 'harmonic_distribution', 'f0_hz'])])
    >>> decoder = decoders.RnnFcDecoder(
    ...     rnn_channels=8, ch=8, layers_per_stack=1,
    ...     input_keys=('ld_scaled', 'f0_scaled'),
    ...     output_splits=(('amps', 1), ('harmonic_distribution', 4)))
    >>> preprocessor = preprocessing.F0LoudnessPreprocessor(time_steps=10)
    >>> model = models.Autoencoder(preprocessor=preprocessor, decoder=decoder,
    ...                            processor_group=group)
    >>> inference = AutoencoderInference(model)
    >>> audio = inference(np.full([2, 10], 440.0), np.full([2, 10], -20.0))
    >>> audio.shape  # [batch, n_samples]
    TensorShape([2, 640])
  """

  def __init__(self, ckpt, length_seconds=4, remove_reverb=True,
               verbose=True, n_frames=None, name=None):
    super().__init__(name=name)
    n_frames = validation.check_positive_int(n_frames, 'n_frames',
                                             allow_none=True)
    if length_seconds is not None:
      validation.check_positive(length_seconds, 'length_seconds')
    if isinstance(ckpt, keras.Model):
      self.model = ckpt
    else:
      self.model = self._load(ckpt, length_seconds, n_frames, verbose)
    self.length_seconds = length_seconds
    self.remove_reverb = bool(remove_reverb)
    self.loudness_key = _loudness_keys(self.model)[0]
    model_frames = _model_frames(self.model)
    if model_frames is not None and n_frames not in (None, model_frames):
      raise ValueError(f'The model renders {model_frames} frames per clip. '
                       f'Received: n_frames={n_frames}')
    hop = _model_hop(self.model)
    sample_rate = _first_synth(self.model).sample_rate
    self.n_frames = model_frames or n_frames or int(
        round((length_seconds or 4) * sample_rate / hop))
    self.hop_size = hop
    self.sample_rate = sample_rate
    self.n_samples = self.n_frames * hop
    self._dry_key = self._reverb_input() if self.remove_reverb else None
    self.call = tf.function(self._call, autograph=False, input_signature=[
        tf.TensorSpec([None, self.n_frames], tf.float32, name='f0_hz'),
        tf.TensorSpec([None, self.n_frames], tf.float32,
                      name=self.loudness_key)])

  @staticmethod
  def _load(path, length_seconds, n_frames, verbose):
    """The model of a training run, built for the clip length."""
    if n_frames is None and length_seconds is not None:
      checkpoints.parse_operative_config(path)
      probe = checkpoints.get_model()
      _, frame_rate = checkpoints.model_rates(probe)
      n_frames = int(round(length_seconds * frame_rate))
    model, checkpoint, config = checkpoints.load_model(path,
                                                       n_frames=n_frames)
    if verbose:
      logging.info('AutoencoderInference: %s from %s and %s, %s frames per '
                   'clip.', type(model).__name__, config, checkpoint,
                   n_frames or 'the training number of')
    return model

  def _reverb_input(self):
    """The key of the signal entering a reverb at the end, or None."""
    dag = list(getattr(self.model.processor_group, 'dag', ()))
    if dag and isinstance(dag[-1][0], effects.Reverb):
      return dag[-1][1][0]
    return None

  def _outputs(self, features):
    outputs = dict(self.model(features, training=False))
    if self._dry_key is not None:
      outputs['audio_synth'] = core.nested_lookup(self._dry_key, outputs)
    return outputs

  def _call(self, f0_hz, loudness_db):
    outputs = self._outputs({'f0_hz': f0_hz, self.loudness_key: loudness_db})
    return {'audio': outputs['audio_synth']}

  def save_model(self, save_dir):
    """Writes a SavedModel whose 'serving_default' signature is `call`
    (as published: `AutoencoderInference(ckpt).save_model(save_dir)`)."""
    tf.saved_model.save(self, os.fspath(save_dir), signatures={
        'serving_default': self.call.get_concrete_function()})

  def __call__(self, f0_hz, loudness_db=None):
    """Synthesizes clips.

    Args:
      f0_hz: [batch, n_frames] f0 in Hz; or, as in the published library, a
        dict of features ('f0_hz' and 'loudness_db' or 'power_db').
      loudness_db: [batch, n_frames] loudness (dB; power for a power
        model), with `f0_hz` an array.

    Returns:
      [batch, n_samples] float32 audio; for a features dict, the model's
      outputs dict (its 'audio_synth' the dry sound with `remove_reverb`).
    """
    if isinstance(f0_hz, dict):
      features = {k: core.tf_float32(v) for k, v in f0_hz.items()}
      return self._outputs(features)
    if loudness_db is None:
      raise ValueError('`loudness_db` is needed with an f0 array (or pass a '
                       'features dict).')
    return self.call(core.tf_float32(f0_hz),
                     core.tf_float32(loudness_db))['audio']


# ------------------------------------------------------------------------------
# Streaming.
# ------------------------------------------------------------------------------
def _signal_source(key):
  """'name/signal' -> 'name', else None."""
  parts = key.split('/')
  if parts[0] == 'inputs' or len(parts) != 2 or parts[1] != 'signal':
    return None
  return parts[0]


def _parse_processor_group(group):
  """The synths, their input keys and the reverb of a processor group.

  Accepts Harmonic and/or FilteredNoise, an Add of their signals, and a
  learned reverb (Reverb, ExpDecayReverb, FilteredNoiseReverb) as the last
  node.
  """
  if not isinstance(group, processors.ProcessorGroup):
    raise ValueError('Streaming needs a ProcessorGroup. Received: '
                     f'{type(group).__name__}')
  parsed = {'harmonic': None, 'noise': None, 'reverb': None}
  signals = {}  # node key -> set of the synth node keys it sums.
  synth_keys = set()
  nodes = list(group.dag)
  keys = group.module_names  # Where each node's result is stored.
  for index, ((module, input_keys, _), key) in enumerate(zip(nodes, keys)):
    sources = [_signal_source(k) for k in input_keys]
    if isinstance(module, (synths.Harmonic, synths.FilteredNoise)):
      kind = 'harmonic' if isinstance(module, synths.Harmonic) else 'noise'
      if parsed[kind] is not None:
        raise ValueError(f'Streaming supports one {type(module).__name__}; '
                         'the processor group has two.')
      parsed[kind] = (module, input_keys)
      signals[key] = {key}
      synth_keys.add(key)
    elif isinstance(module, processors.Add) and all(
        s in signals for s in sources):
      signals[key] = signals[sources[0]] | signals[sources[1]]
    elif (isinstance(module, effects.Reverb) and index == len(nodes) - 1 and
          sources[0] in signals):
      if not module.get_config()['trainable'] or len(sources) != 1:
        raise ValueError(
            'Streaming needs a learned reverb (trainable=True): the impulse '
            f'response of {key!r} is an input of the model.')
      parsed['reverb'] = module
      signals[key] = signals[sources[0]]
    else:
      raise ValueError(
          f'Streaming does not support the DAG node {index} '
          f'({type(module).__name__} {key!r} on {list(input_keys)}). '
          'Supported: Harmonic and FilteredNoise synths, an Add of their '
          'signals and a learned Reverb at the end.')
  if not synth_keys or signals.get(keys[-1] if keys else None) != synth_keys:
    raise ValueError('The processor group must output the sum of all its '
                     'synths (optionally through a reverb) to be streamed.')
  return parsed


def _lookup(key, values):
  key = key[len('inputs/'):] if key.startswith('inputs/') else key
  if key not in values:
    raise ValueError(f'Streaming computes {sorted(values)}; the processor '
                     f'input {key!r} is not among them.')
  return values[key]


def _decode_frames(decoder, features, rnn_state, batch_size, n_frames):
  """An `RnnFcDecoder`'s outputs for n_frames, from an explicit GRU state.

  Args:
    decoder: a built `decoders.RnnFcDecoder` with a GRU.
    features: dict with the decoder's input keys, [batch, n_frames, 1].
    rnn_state: [batch, rnn_channels] float32.
    batch_size, n_frames: static sizes.

  Returns:
    (dict of the decoder's output splits [batch, n_frames, size], new state).
  """
  b, n = batch_size, n_frames
  # Per-frame layers on [batch * n_frames, channels]: 2-D dense layers
  # become TFLite's FULLY_CONNECTED (see `streaming.dense`).
  inputs = [tf.reshape(_lookup(k, features), [b * n, -1])
            for k in decoder.feature_keys]
  stacked = [stack(x) for stack, x in zip(decoder.input_stacks, inputs)]
  cell = decoder.rnn.rnn.cell
  x, rnn_state = streaming.gru_block(
      tf.reshape(tf.concat(stacked, axis=-1), [b, n, -1]), cell.kernel,
      cell.recurrent_kernel, cell.bias, rnn_state)
  x = decoder.out_stack(tf.concat(stacked + [tf.reshape(x, [b * n, -1])],
                                  axis=-1))
  x = tf.reshape(decoder.dense_out(x), [b, n, -1])
  outputs = dict(zip(
      [name for name, _ in decoder.output_splits],
      tf.split(x, [size for _, size in decoder.output_splits], axis=-1)))
  return outputs, rnn_state


class StreamingF0LoudnessModel(tf.Module):
  """A trained f0/loudness autoencoder that synthesizes a stream in blocks.

  Each call takes one block of controls and returns `block_size` samples;
  the state between calls (decoder GRU, oscillator phase, pending
  overlap-add samples of the synths, reverb delay line) lives in the object
  (`reset()` starts a new stream), or is passed explicitly to `step`.

  Output k (from 0) holds samples `[k * block_size - latency,
  (k + 1) * block_size - latency)` of the offline render of the whole stream
  (zeros before 0); see the module docstring. Streaming equals offline
  synthesis to float32 rounding when the model's FilteredNoise has
  `counter_noise=True`.

  The model must be an autoencoder without encoder: an
  `F0LoudnessPreprocessor` or `F0PowerPreprocessor` (or none), an
  `RnnFcDecoder` with a unidirectional GRU, and a processor group of a
  Harmonic and/or a FilteredNoise synth, summed, optionally through a learned
  reverb. The reverb's impulse response is read when the stream is built
  (the decoder's weights are used as they are at each call).

  Args:
    model: a built `ddsp.training.models.Autoencoder`, or a training
      directory for `load_model`.
    block_size: int, samples per call: a positive multiple of the model's
      hop (64 samples at 16 kHz and 250 frames/s; e.g. 64 to 2048).
    batch_size: int > 0, streams rendered side by side.
    jit_compile: compile the step of `__call__` and `step` with XLA (faster
      on CPU for small blocks, after a few seconds of compilation; the same
      numbers to float32 rounding). The exported `streaming_step` is never
      compiled.
    name: name of the module.

  Attributes:
    hop_size, frames_per_block, sample_rate, frame_rate, latency (samples),
    n_harmonics, n_noise_bands, reverb_length, state_specs.

  Example:
    >>> import ddsp
    >>> from ddsp.training import decoders, models, preprocessing
    >>> model = models.Autoencoder(
    ...     preprocessor=preprocessing.F0LoudnessPreprocessor(time_steps=None),
    ...     decoder=decoders.RnnFcDecoder(
    ...         rnn_channels=8, ch=8, layers_per_stack=1,
    ...         input_keys=('ld_scaled', 'f0_scaled'),
    ...         output_splits=(('amps', 1), ('harmonic_distribution', 4))),
    ...     processor_group=ddsp.processors.ProcessorGroup(dag=[
    ...         (ddsp.synths.Harmonic(n_samples=None),
    ...          ['amps', 'harmonic_distribution', 'f0_hz'])]))
    >>> streamer = StreamingF0LoudnessModel(build_model(model), block_size=256)
    >>> f0_hz = np.full([1, 4, 1], 440.0, np.float32)  # 4 frames per block
    >>> audio = streamer(f0_hz, np.full([1, 4, 1], -20.0, np.float32))
    >>> audio.shape
    TensorShape([1, 256])
  """

  def __init__(self, model, block_size=256, batch_size=1, jit_compile=False,
               name=None):
    super().__init__(name=name)
    model = load_model(model)
    self.batch_size = validation.check_positive_int(batch_size, 'batch_size')
    self.block_size = validation.check_positive_int(block_size, 'block_size')
    if getattr(model, 'encoder', None) is not None:
      raise ValueError('Streaming supports models without an encoder (f0 and '
                       'loudness in); this model has '
                       f'{type(model.encoder).__name__}.')
    self.loudness_key, self._scaled_key = _loudness_keys(model)
    self._decoder = self._check_decoder(model.decoder)
    # The TensorFlow variables under the decoder's Keras variables, held by
    # this module: SavedModel export and TFLite conversion (which freezes
    # the variables it can reach from the module) then find them.
    self._decoder_variables = [getattr(v, 'value', v)
                               for v in self._decoder.weights]
    parsed = _parse_processor_group(model.processor_group)
    self.hop_size = _model_hop(model)
    validation.check_divisible(self.block_size, self.hop_size, 'block_size',
                               'hop_size')
    self.frames_per_block = self.block_size // self.hop_size
    synth = (parsed['harmonic'] or parsed['noise'])[0]
    self.sample_rate = int(synth.sample_rate)
    self.frame_rate = self.sample_rate / self.hop_size
    self._setup_synths(parsed)
    self._setup_reverb(parsed['reverb'])
    self.state_specs = self._make_state_specs()
    self._state_names = tuple(self.state_specs)
    input_specs = [
        tf.TensorSpec([self.batch_size, self.frames_per_block, 1], tf.float32,
                      name='f0_hz'),
        tf.TensorSpec([self.batch_size, self.frames_per_block, 1], tf.float32,
                      name=self.loudness_key)]
    state_specs = [tf.TensorSpec(s.shape, s.dtype, name=f'state_{k}')
                   for k, s in self.state_specs.items()]
    # Flat signature (named tensors in, dict out) for SavedModel and TFLite.
    # (No autograph: the step has no tensor-dependent Python control flow,
    # and converting every function it calls makes tracing ~10x slower.)
    self.streaming_step = tf.function(
        self._flat_step, input_signature=input_specs + state_specs,
        autograph=False)
    self.streaming_initial_state = tf.function(
        self._flat_initial_state, input_signature=[], autograph=False)
    self._compiled_step = self.streaming_step
    if jit_compile:
      self._compiled_step = tf.function(
          self._flat_step, input_signature=input_specs + state_specs,
          autograph=False, jit_compile=True)
    self._state = self.initial_state()

  # ----------------------------------------------------------------------------
  # Construction.
  # ----------------------------------------------------------------------------
  @staticmethod
  def _check_decoder(decoder):
    if not isinstance(decoder, decoders.RnnFcDecoder):
      raise ValueError('Streaming supports an RnnFcDecoder (causal: a GRU '
                       f'over frames). Received: {type(decoder).__name__}')
    rnn = decoder.rnn
    if rnn.rnn_type != 'gru' or rnn.bidir or not rnn.return_sequences:
      raise ValueError('Streaming needs a unidirectional GRU in the decoder. '
                       f'Received: rnn_type={rnn.rnn_type!r}, '
                       f'bidir={rnn.bidir}')
    if not decoder.built:
      raise ValueError('The model must be built (called once) before '
                       'streaming; see `build_model`.')
    return decoder

  def _setup_synths(self, parsed):
    self._harmonic = self._noise = None
    lookahead = 0
    if parsed['harmonic'] is not None:
      layer, keys = parsed['harmonic']
      if layer.amp_resample_method not in ('window', 'linear', 'nearest'):
        raise ValueError(
            "Streaming supports amp_resample_method 'window', 'linear' or "
            f"'nearest'. Received: {layer.amp_resample_method!r}")
      self._harmonic = (layer, keys, streaming.HarmonicBlock(
          self.hop_size, self.sample_rate, layer.amp_resample_method))
      lookahead = self.hop_size
      self.n_harmonics = dict(self._decoder.output_splits).get(
          keys[1].split('/')[-1]) if len(keys) > 1 else None
      if self.n_harmonics is None:
        raise ValueError('Streaming needs the harmonic distribution from the '
                         f'decoder; the Harmonic synth reads {list(keys)}.')
    else:
      self.n_harmonics = 0
    if parsed['noise'] is not None:
      layer, keys = parsed['noise']
      if not layer.counter_noise:
        logging.warning(
            'FilteredNoise %r does not use counter_noise: the stream makes '
            'its noise by sample index, so it differs from offline renders.',
            layer.name)
      self.n_noise_bands = dict(self._decoder.output_splits).get(
          keys[0].split('/')[-1])
      if self.n_noise_bands is None:
        raise ValueError('Streaming needs the noise magnitudes from the '
                         f'decoder; {keys[0]!r} is not one of its outputs.')
      block = streaming.FilteredNoiseBlock(
          self.hop_size, self.n_noise_bands, layer.window_size, layer.method,
          layer.seed)
      self._noise = (layer, keys, block)
      lookahead = max(lookahead, block.lookahead)
    else:
      self.n_noise_bands = 0
    self.latency = lookahead
    # Pending output samples past the block: harmonic hops are delayed by
    # latency - hop; noise chunks reach further.
    tail = lookahead - self.hop_size if self._harmonic else 0
    if self._noise is not None:
      block = self._noise[2]
      tail = max(tail, lookahead - block.lookahead +
                 block.chunk_size(self.frames_per_block) - self.block_size)
    self._tail_size = max(tail, 0)

  def _setup_reverb(self, reverb):
    self._reverb = None
    self.reverb_length = 0
    self.impulse_response = None
    if reverb is None:
      return
    ir = reverb.get_controls(tf.zeros([1, 1]))['ir']
    ir = np.asarray(ir, np.float32)[0].copy()
    ir[0] = 0.0  # The direct sound is the dry signal.
    self.impulse_response = ir
    self.reverb_length = ir.size
    self._reverb = streaming.ReverbBlock(ir, self.block_size, reverb.add_dry)

  def _make_state_specs(self):
    b = self.batch_size
    specs = {'frame_index': tf.TensorSpec([], tf.int32),
             'rnn_state': tf.TensorSpec([b, self._decoder.rnn.dims],
                                        tf.float32),
             'tail': tf.TensorSpec([b, self._tail_size], tf.float32)}
    if self._harmonic is not None:
      specs['f0_hz'] = tf.TensorSpec([b, 1, 1], tf.float32)
      specs['harmonic_amplitudes'] = tf.TensorSpec([b, 1, self.n_harmonics],
                                                   tf.float32)
      specs['phase'] = tf.TensorSpec([b, 1], tf.int64)
    if self._reverb is not None:
      shapes = self._reverb.state_shapes(b)
      specs['reverb_input'] = tf.TensorSpec(shapes['input'], tf.float32)
      specs['reverb_spectra'] = tf.TensorSpec(shapes['spectra'], tf.float32)
    return specs

  # ----------------------------------------------------------------------------
  # State.
  # ----------------------------------------------------------------------------
  def initial_state(self):
    """The state at the start of a stream: a dict of zero tensors."""
    return {k: tf.zeros(s.shape, s.dtype) for k, s in self.state_specs.items()}

  def _flat_initial_state(self):
    return {f'state_{k}': v for k, v in self.initial_state().items()}

  def reset(self):
    """Starts a new stream (the next call is block 0)."""
    self._state = self.initial_state()

  @property
  def state(self):
    """The current state (dict of tensors, see `state_specs`)."""
    return dict(self._state)

  # ----------------------------------------------------------------------------
  # Synthesis.
  # ----------------------------------------------------------------------------
  def _decode(self, features, rnn_state):
    """Decoder outputs for a block, carrying the GRU state."""
    return _decode_frames(self._decoder, features, rnn_state,
                          self.batch_size, self.frames_per_block)

  def _place(self, acc, x, start):
    """Adds x to the accumulator at `start` (static offsets)."""
    size = acc.shape[1]
    return acc + tf.pad(x, [[0, 0], [start, size - start - x.shape[1]]])

  def _step(self, f0_hz, loudness_db, state):
    """(f0 [b, n, 1], loudness [b, n, 1], state) -> (audio, new state)."""
    index = state['frame_index']
    features = {'f0_hz': f0_hz, self.loudness_key: loudness_db,
                'f0_scaled': preprocessing.scale_f0_hz(f0_hz),
                self._scaled_key: preprocessing.scale_db(loudness_db)}
    controls, rnn_state = self._decode(features, state['rnn_state'])
    values = dict(features, **controls)
    new_state = {'frame_index': index + self.frames_per_block,
                 'rnn_state': rnn_state}
    hop = self.hop_size
    acc = tf.pad(state['tail'], [[0, 0], [0, self.block_size]])
    first = tf.equal(index, 0)

    if self._harmonic is not None:
      layer, keys, block = self._harmonic
      c = layer.get_controls(*[_lookup(k, values) for k in keys])
      f0 = c['f0_hz']
      amplitudes = c['amplitudes'] * c['harmonic_distribution']
      previous_f0 = tf.where(first, f0[:, :1], state['f0_hz'])
      previous_amps = tf.where(first, amplitudes[:, :1],
                               state['harmonic_amplitudes'])
      phase = tf.where(first, block.phase_before(f0), state['phase'])
      audio, new_state['phase'] = block(
          tf.concat([previous_f0, f0[:, :-1]], axis=1), f0,
          tf.concat([previous_amps, amplitudes[:, :-1]], axis=1), amplitudes,
          phase)
      # These hops start one hop before the block: latency - hop samples in.
      acc = self._place(acc, audio, self.latency - hop)
      new_state['f0_hz'] = f0[:, -1:]
      new_state['harmonic_amplitudes'] = amplitudes[:, -1:]

    if self._noise is not None:
      layer, keys, block = self._noise
      magnitudes = layer.get_controls(
          *[_lookup(k, values) for k in keys])['magnitudes']
      chunk = block(magnitudes, index)
      acc = self._place(acc, chunk, self.latency - block.lookahead)

    dry = acc[:, :self.block_size]
    new_state['tail'] = acc[:, self.block_size:]
    # Output samples before the start of the stream are silent.
    sample = index * hop - self.latency + tf.range(self.block_size)
    started = tf.cast(sample >= 0, tf.float32)
    dry *= started
    if self._reverb is not None:
      dry, new_state['reverb_input'], new_state['reverb_spectra'] = (
          self._reverb(dry, state['reverb_input'], state['reverb_spectra']))
      dry *= started  # Exact zeros (the DFTs leave rounding noise).
    return dry, new_state

  def _flat_step(self, f0_hz, loudness_db, *state):
    audio, new_state = self._step(f0_hz, loudness_db,
                                  dict(zip(self._state_names, state)))
    outputs = {'audio': audio}
    outputs.update({f'state_{k}': new_state[k] for k in self._state_names})
    return outputs

  def step(self, f0_hz, loudness_db, state):
    """Renders one block with explicit state.

    Args:
      f0_hz: [batch_size, frames_per_block, 1] float32, Hz (0 = unvoiced).
      loudness_db: [batch_size, frames_per_block, 1] float32, dB (-80 to 0);
        power in dB for a power model.
      state: dict of tensors as `initial_state()` returns (or the previous
        call's new state).

    Returns:
      audio: [batch_size, block_size] float32.
      state: the new state.
    """
    missing = [k for k in self._state_names if k not in state]
    if missing:
      raise ValueError(f'`state` lacks {missing}: it must hold '
                       f'{list(self._state_names)} (see `initial_state()`).')
    outputs = self._compiled_step(
        core.tf_float32(f0_hz), core.tf_float32(loudness_db),
        *[state[k] for k in self._state_names])
    return outputs['audio'], {k: outputs[f'state_{k}']
                              for k in self._state_names}

  def _block_input(self, x, name):
    """[batch, frames or samples(, 1)] -> [batch, frames_per_block, 1]."""
    x = core.tf_float32(x)
    shape = validation.check_rank(x, name, (1, 2, 3))
    if len(shape) == 1:
      x = x[tf.newaxis]
    if x.shape.rank == 2:
      x = x[..., tf.newaxis]
    length = x.shape[1]
    if x.shape[2] != 1 or x.shape[0] != self.batch_size or length not in (
        self.frames_per_block, self.block_size):
      raise ValueError(
          f'`{name}` must be [batch_size={self.batch_size}, n, 1] (or [n] / '
          f'[batch_size, n]) with n = {self.frames_per_block} frames or n = '
          f'{self.block_size} samples (audio rate, read every '
          f'{self.hop_size}th sample). Received: {name}.shape={tuple(shape)}')
    if length != self.frames_per_block:
      x = x[:, ::self.hop_size]
    return x

  def __call__(self, f0_hz, loudness_db):
    """Renders the next block of the stream.

    Args:
      f0_hz: Hz, one block: frame rate [batch_size, frames_per_block(, 1)]
        (or [frames_per_block] for one stream), or audio rate
        [batch_size, block_size(, 1)], of which every `hop_size`th sample is
        used (sample m * hop is frame m).
      loudness_db: dB (-80 to 0), as `f0_hz`; power in dB for a model with an
        `F0PowerPreprocessor`.

    Returns:
      [batch_size, block_size] float32 audio: samples
      `[k * block_size - latency, (k + 1) * block_size - latency)` of the
      stream for the k-th call since the last `reset()`.

    Raises:
      ValueError: for inputs of another shape.
    """
    audio, self._state = self.step(self._block_input(f0_hz, 'f0_hz'),
                                   self._block_input(loudness_db,
                                                     self.loudness_key),
                                   self._state)
    return audio


# ------------------------------------------------------------------------------
# DDSP-VST modules (models trained with models/vst/vst.gin).
# ------------------------------------------------------------------------------
def _dag_module(model, cls):
  """The first node of `cls` in the model's processor group, or None."""
  for module, _, _ in getattr(model.processor_group, 'dag', ()):
    if isinstance(module, cls):
      return module
  return None


def _vst_inputs(model):
  """Silent features of a VST model's training length, to build it.

  The synths' n_samples holds one more (centring) frame than the audio,
  whose centred framing gives n_frames frames.
  """
  synth = _dag_module(model, synths.Harmonic)
  hop = checkpoints.model_hop(model)
  n_frames = int(synth.n_samples) // hop if synth and synth.n_samples else 11
  return {'audio': tf.zeros([1, (n_frames - 1) * hop]),
          'f0_hz': tf.fill([1, n_frames], 220.0),
          'f0_confidence': tf.ones([1, n_frames])}


def _vst_model(ckpt, restore=True, gin_params=()):
  """A VST model: a Keras model as it is (built if needed), else the model
  of the training run at `ckpt` (restored, or only configured), with
  `gin_params` parsed after its operative config."""
  if isinstance(ckpt, keras.Model):
    if not ckpt.built:
      checkpoints.build_model(ckpt, inputs=_vst_inputs(ckpt))
    return ckpt
  checkpoints.parse_operative_config(ckpt, bindings=gin_params)
  probe = checkpoints.get_model()
  if not restore:
    return checkpoints.build_model(probe, inputs=_vst_inputs(probe))
  return checkpoints.load_model(ckpt, inputs=_vst_inputs(probe),
                                bindings=gin_params)[0]


class VSTBaseModule(tf.Module):
  """Base of the DDSP-VST inference modules (models of `models/vst/*.gin`).

  Reads from the model what the plugin needs: `frame_size` (samples per
  analysis frame), `sample_rate`, `frame_rate`, `hop_size` (sample_rate /
  frame_rate), `n_harmonics`, `n_noise`, `state_size` (GRU units) and
  `resample_method` (the Harmonic synth's amplitude interpolation).
  Subclasses define `call` (a `tf.function` with a fixed signature) and
  `save_model(save_dir)` writes it as the SavedModel signature 'call', as
  published; `ddsp_export` converts that signature to TFLite.

  Args:
    ckpt: a training directory or checkpoint prefix (the operative config is
      parsed, the model built and restored, `checkpoints.load_model`), or a
      built `ddsp.training.models.Autoencoder`.
    verbose: log what was loaded.
    name: name of the module.
    gin_params: gin binding strings parsed after the operative config of
      `ckpt` (`ddsp_export --gin_param`).

  Raises:
    ValueError: the model is not of the VST family (no RnnFcDecoder with a
      GRU, or no Harmonic / FilteredNoise synth).
  """

  _needs_weights = True

  def __init__(self, ckpt, verbose=False, name=None, gin_params=()):
    super().__init__(name=name)
    model = _vst_model(ckpt, restore=self._needs_weights,
                       gin_params=tuple(gin_params))
    if verbose:
      logging.info('%s: %s from %s', type(self).__name__,
                   type(model).__name__, ckpt)
    preprocessor = getattr(model, 'preprocessor', None)
    decoder = getattr(model, 'decoder', None)
    self._harmonic_synth = _dag_module(model, synths.Harmonic)
    self._noise_synth = _dag_module(model, synths.FilteredNoise)
    if (not isinstance(decoder, decoders.RnnFcDecoder) or
        decoder.rnn_type != 'gru' or self._harmonic_synth is None or
        self._noise_synth is None):
      raise ValueError(
          'The VST modules need a model of models/vst/vst.gin: an '
          'RnnFcDecoder with a GRU and Harmonic and FilteredNoise synths. '
          f'Received: decoder {type(decoder).__name__}, processor group '
          f'{[type(m).__name__ for m, _, _ in model.processor_group.dag]}')
    self.frame_size = int(getattr(preprocessor, 'frame_size', 1024))
    self.sample_rate = int(self._harmonic_synth.sample_rate)
    self.frame_rate = getattr(preprocessor, 'frame_rate', None) or (
        checkpoints.model_rates(model)[1])
    hop = self.sample_rate / self.frame_rate
    if hop != int(hop):
      raise ValueError(f'The model\'s hop, {self.sample_rate} / '
                       f'{self.frame_rate}, is not a whole number of samples.')
    self.hop_size = int(hop)
    splits = dict(decoder.output_splits)
    self.n_harmonics = int(splits['harmonic_distribution'])
    self.n_noise = int(splits['noise_magnitudes'])
    self.state_size = int(decoder.rnn_channels)
    self.resample_method = self._harmonic_synth.amp_resample_method
    self.model = model
    self._decoder = decoder
    # The decoder's TF variables, held here so that SavedModel export and
    # TFLite conversion find them (see StreamingF0LoudnessModel).
    self._decoder_variables = [getattr(v, 'value', v)
                               for v in decoder.weights]

  def call(self, *args):
    raise NotImplementedError

  def __call__(self, *args):
    return self.call(*(core.tf_float32(a) for a in args))

  @property
  def _signatures(self):
    return {'call': self.call.get_concrete_function()}

  def save_model(self, save_dir):
    """Writes a SavedModel with the signature 'call' (as published)."""
    tf.saved_model.save(self, os.fspath(save_dir),
                        signatures=self._signatures)

  def _controls(self, f0_scaled, pw_scaled, state):
    """One frame of controls from an explicit GRU state ([1, state])."""
    f0_scaled = tf.reshape(f0_scaled, [1, 1, 1])
    pw_scaled = tf.reshape(pw_scaled, [1, 1, 1])
    f0_hz = preprocessing.inv_scale_f0_hz(f0_scaled)
    outputs, state = _decode_frames(
        self._decoder, {'f0_scaled': f0_scaled, 'pw_scaled': pw_scaled},
        state, 1, 1)
    harmonic = self._harmonic_synth.get_controls(
        outputs['amps'], outputs['harmonic_distribution'], f0_hz)
    noise = self._noise_synth.get_controls(outputs['noise_magnitudes'])
    return (harmonic['amplitudes'][0, 0],
            harmonic['harmonic_distribution'][0, 0],
            noise['magnitudes'][0, 0], state[0])


class VSTExtractFeatures(VSTBaseModule):
  """One frame of audio -> f0 and power (the plugin's analysis step).

  `call(audio)`: audio [frame_size] float32 at the model's sample rate ->
  (f0_hz, f0_scaled, pw_db, pw_scaled), each [1]: CREPE's f0 (Hz) of the
  frame (resampled to 16 kHz when the model runs at another rate) and the
  frame's power (dB, `spectral_ops.compute_power`), scaled as in training.

  Args:
    ckpt: see `VSTBaseModule`.
    crepe_saved_model_path: CREPE size ('tiny', ... 'full') or weights path;
      None: 'tiny' (installed with ddsp).
    **kwargs: passed to `VSTBaseModule`.
  """

  _needs_weights = False

  def __init__(self, ckpt, crepe_saved_model_path=None, **kwargs):
    super().__init__(ckpt, **kwargs)
    from ddsp import crepe  # pylint: disable=g-import-not-at-top
    self.crepe_saved_model_path = crepe_saved_model_path
    self._crepe = crepe.PretrainedCREPE(crepe_saved_model_path or 'tiny',
                                        padding='valid', name='crepe')
    self.call = tf.function(self._call, autograph=False, input_signature=[
        tf.TensorSpec([self.frame_size], tf.float32, name='audio')])

  def _call(self, audio):
    from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
    audio = tf.reshape(audio, [1, self.frame_size])
    pw_db = spectral_ops.compute_power(
        audio, sample_rate=self.sample_rate, frame_rate=self.frame_rate,
        frame_size=self.frame_size, padding='valid')
    pw_db = tf.reshape(pw_db, [1])
    audio_16k = audio
    if self.sample_rate != spectral_ops.CREPE_SAMPLE_RATE:
      n_16k = round(self.frame_size * spectral_ops.CREPE_SAMPLE_RATE /
                    self.sample_rate)
      audio_16k = preprocessing.resample_audio(audio, n_16k)
    n = audio_16k.shape[-1]
    if n < 1024:  # CREPE's frame: centre the (shorter) frame in it.
      audio_16k = tf.pad(audio_16k, [[0, 0], [(1024 - n) // 2,
                                              1024 - n - (1024 - n) // 2]])
    f0_hz, _ = self._crepe.predict_f0_and_confidence(audio_16k[:, -1024:])
    f0_hz = tf.reshape(f0_hz, [-1])[:1]
    return (f0_hz, preprocessing.scale_f0_hz(f0_hz), pw_db,
            preprocessing.scale_db(pw_db))


class VSTStatelessPredictControls(VSTBaseModule):
  """One frame of (f0, power) -> synthesizer controls, the GRU state explicit.

  `call(f0_scaled, pw_scaled, state)`: [1], [1], [state_size] float32 ->
  (amplitudes [1], harmonic_distribution [n_harmonics], noise_magnitudes
  [n_noise], state [state_size]), the controls after the synths' scaling
  (`exp_sigmoid`, harmonics normalized below Nyquist). Feed each output
  state to the next frame (zeros to start). The DDSP-VST plugin runs this
  module's TFLite conversion (`ddsp_export
  --inference_model=vst_stateless_predict_controls`).

  Example:
    >>> import ddsp
    >>> from ddsp.training import decoders, models, preprocessing
    >>> model = models.Autoencoder(
    ...     preprocessor=preprocessing.OnlineF0PowerPreprocessor(
    ...         frame_rate=50, compute_f0=False),
    ...     decoder=decoders.RnnFcDecoder(
    ...         rnn_channels=8, ch=8, layers_per_stack=1,
    ...         input_keys=('pw_scaled', 'f0_scaled'),
    ...         output_splits=(('amps', 1), ('harmonic_distribution', 6),
    ...                        ('noise_magnitudes', 5))),
    ...     processor_group=ddsp.processors.ProcessorGroup(dag=[
    ...         (ddsp.synths.Harmonic(n_samples=None),
    ...          ['amps', 'harmonic_distribution', 'f0_hz']),
    ...         (ddsp.synths.FilteredNoise(n_samples=None, window_size=0),
    ...          ['noise_magnitudes'])]))
    >>> _ = model({'audio': tf.zeros([1, 3200]), 'f0_hz': tf.zeros([1, 11])})
    >>> vst = VSTStatelessPredictControls(model)
    >>> amps, hd, noise, state = vst([0.5], [0.8], tf.zeros([8]))
    >>> hd.shape, noise.shape, state.shape
    (TensorShape([6]), TensorShape([5]), TensorShape([8]))
  """

  def __init__(self, ckpt, **kwargs):
    super().__init__(ckpt, **kwargs)
    self.call = tf.function(self._controls, autograph=False, input_signature=[
        tf.TensorSpec([1], tf.float32, name='f0_scaled'),
        tf.TensorSpec([1], tf.float32, name='pw_scaled'),
        tf.TensorSpec([self.state_size], tf.float32, name='state')])

  def _controls(self, f0_scaled, pw_scaled, state):  # pylint: disable=arguments-renamed
    return super()._controls(f0_scaled, pw_scaled,
                             tf.reshape(state, [1, self.state_size]))


class VSTPredictControls(VSTBaseModule):
  """One frame of (f0, power) -> synthesizer controls, the GRU state inside.

  `call(f0_scaled, pw_scaled)`: [1], [1] float32 -> (amplitudes [1],
  harmonic_distribution [n_harmonics], noise_magnitudes [n_noise]); the GRU
  state carries over from call to call in the variable `state` (`reset()`
  zeroes it), so consecutive calls equal the trained model run over the
  frames. The plugin's TFLite form of this module (`ddsp_export
  --inference_model=vst_predict_controls --tflite`) is the stateless step of
  `VSTStatelessPredictControls`, which the plugin requires.

  Args:
    ckpt: see `VSTBaseModule`.
    **kwargs: passed to `VSTBaseModule`.
  """

  def __init__(self, ckpt, **kwargs):
    super().__init__(ckpt, **kwargs)
    self.state = tf.Variable(tf.zeros([self.state_size]), trainable=False,
                             name='state')
    self.call = tf.function(self._call, autograph=False, input_signature=[
        tf.TensorSpec([1], tf.float32, name='f0_scaled'),
        tf.TensorSpec([1], tf.float32, name='pw_scaled')])

  def reset(self):
    """Zeroes the GRU state (a new note stream)."""
    self.state.assign(tf.zeros([self.state_size]))

  def _call(self, f0_scaled, pw_scaled):
    amps, hd, noise, state = self._controls(
        f0_scaled, pw_scaled, tf.reshape(self.state, [1, self.state_size]))
    with tf.control_dependencies([self.state.assign(state)]):
      return tf.identity(amps), tf.identity(hd), tf.identity(noise)


class VSTSynthesize(VSTBaseModule):
  """One hop of audio from two frames of controls (harmonic + noise).

  `call(amps, prev_amps, hd, prev_hd, f0, prev_f0, noise, prev_phase)`:
  [1], [1], [n_harmonics], [n_harmonics], [1] (Hz), [1] (Hz), [n_noise],
  [1] (radians) -> (audio [hop_size], final_phase [1]). The harmonic part
  interpolates from the previous frame's controls to this frame's over the
  hop (`core.streaming_harmonic_synthesis`, the phase carried between
  calls); the noise is filtered by this frame's magnitudes. Needs no
  weights (only the model's config).

  Args:
    ckpt: see `VSTBaseModule` (only the config is read from a directory).
    new_hop_size: samples per call instead of the model's hop.
    **kwargs: passed to `VSTBaseModule`.
  """

  _needs_weights = False

  def __init__(self, ckpt, new_hop_size=None, **kwargs):
    super().__init__(ckpt, **kwargs)
    self.new_hop_size = validation.check_positive_int(
        new_hop_size, 'new_hop_size', allow_none=True)
    if self.new_hop_size:
      self.hop_size = self.new_hop_size
    self.filtered_noise = synths.FilteredNoise(
        n_samples=self.hop_size, window_size=self._noise_synth.window_size,
        scale_fn=None, name='filtered_noise')
    self.call = tf.function(self._call, autograph=False,
                            input_signature=self._input_specs())

  def _input_specs(self):
    h, n = self.n_harmonics, self.n_noise
    names = (('amps', 1), ('prev_amps', 1), ('hd', h), ('prev_hd', h),
             ('f0', 1), ('prev_f0', 1), ('noise', n), ('prev_phase', 1))
    return [tf.TensorSpec([size], tf.float32, name=k) for k, size in names]

  def _harmonic(self, amps, prev_amps, hd, prev_hd, f0, prev_f0, prev_phase):
    def two(prev, x):
      return tf.reshape(tf.stack([prev, x]), [1, 2, -1])
    audio, phase = core.streaming_harmonic_synthesis(
        frequencies=two(prev_f0, f0), amplitudes=two(prev_amps, amps),
        harmonic_distribution=two(prev_hd, hd),
        initial_phase=tf.reshape(prev_phase, [1, 1, 1]),
        n_samples=self.hop_size, sample_rate=self.sample_rate,
        amp_resample_method=self.resample_method,
        frame_rate=self.sample_rate / self.hop_size)
    return audio[0], tf.reshape(phase, [1])

  def _noise(self, noise):
    noise = tf.reshape(tf.stack([noise, noise]), [1, 2, self.n_noise])
    return self.filtered_noise.get_signal(noise)[0]

  def _call(self, amps, prev_amps, hd, prev_hd, f0, prev_f0, noise,
            prev_phase):
    audio, phase = self._harmonic(amps, prev_amps, hd, prev_hd, f0, prev_f0,
                                  prev_phase)
    return audio + self._noise(noise), phase


class VSTSynthesizeHarmonic(VSTSynthesize):
  """`VSTSynthesize` without the noise: `call(amps, prev_amps, hd, prev_hd,
  f0, prev_f0, prev_phase)` -> (audio [hop_size], final_phase [1])."""

  def _input_specs(self):
    return [s for s in super()._input_specs() if s.name != 'noise']

  def _call(self, amps, prev_amps, hd, prev_hd, f0, prev_f0, prev_phase):  # pylint: disable=arguments-differ
    return self._harmonic(amps, prev_amps, hd, prev_hd, f0, prev_f0,
                          prev_phase)


class VSTSynthesizeNoise(VSTSynthesize):
  """`VSTSynthesize`'s filtered noise alone: `call(noise)`, [n_noise]
  magnitudes -> audio [hop_size]."""

  def _input_specs(self):
    return [tf.TensorSpec([self.n_noise], tf.float32, name='noise')]

  def _call(self, noise):  # pylint: disable=arguments-differ
    return self._noise(noise)
