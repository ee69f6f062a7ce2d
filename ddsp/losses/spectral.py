"""SpectralLoss: the multi-scale spectrogram loss.

It runs every training step, so it computes one STFT per FFT size and signal
and reuses it for every term, keeps its windows as constants, and uses a
hand-written gradient for the STFT magnitude (one inverse FFT and an
overlap-add) that is about a third cheaper than differentiating
`tf.abs(tf.signal.stft(...))`; `benchmarks/bench_losses.py` measures it.
"""

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import spectral_ops
from ddsp import validation
from ddsp.losses.base import check_loss_type
from ddsp.losses.base import check_weight
from ddsp.losses.base import Loss
from ddsp.losses.base import mean_difference
from ddsp.losses.base import prepare_audio

# Added to magnitudes before the log of the log-magnitude terms: log(mag + eps)
# is finite with bounded gradient (at most 1 / eps) on silence.
LOG_EPS = 1e-5
# Overlap of neighbouring STFT frames in SpectralLoss (hop = size / 4).
SPECTRAL_OVERLAP = 0.75
# FFT size of the loudness term (128 ms at 16 kHz). Not scaled with the
# sample rate, so the dB scale of `compute_loudness` is the same at any rate.
LOUDNESS_N_FFT = 2048


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


@registration.register('ddsp.losses')
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
    self.loss_type = check_loss_type(loss_type)
    self.mag_weight = check_weight(mag_weight, 'mag_weight')
    self.delta_time_weight = check_weight(delta_time_weight,
                                           'delta_time_weight')
    self.delta_freq_weight = check_weight(delta_freq_weight,
                                           'delta_freq_weight')
    self.cumsum_freq_weight = check_weight(cumsum_freq_weight,
                                            'cumsum_freq_weight')
    self.logmag_weight = check_weight(logmag_weight, 'logmag_weight')
    self.loudness_weight = check_weight(loudness_weight, 'loudness_weight')
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    # Per size: (size, hop, window, gradient scale), numpy constants made once.
    self._stft_params = [self._make_stft_params(size)
                         for size in self.fft_sizes]

  @staticmethod
  def _make_stft_params(size):
    hop = int(round(size * (1.0 - SPECTRAL_OVERLAP)))
    window = core.periodic_hann(size)
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
    target_audio = prepare_audio(target_audio, 'target_audio')
    audio = prepare_audio(audio, 'audio')
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
