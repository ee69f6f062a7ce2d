"""Effects: processors that transform audio.

* Reverbs convolve the audio with an impulse response (IR) and add the dry
  signal: `Reverb` (an IR given as input, or learned as a variable),
  `ExpDecayReverb` (exponentially decaying noise with a learnable gain and
  decay) and `FilteredNoiseReverb` (noise filtered by a time-varying filter).
* `FIRFilter` filters audio with a time-varying linear-phase FIR filter given
  as magnitudes per frame ("neural wah-wah").
* `ModDelay` reads the audio through a delay line modulated at audio rate
  (chorus, flanger, vibrato).
* `BiquadFilter` (a cascade of audio-EQ-cookbook biquads) and
  `StateVariableFilter` (a resonant lowpass/bandpass/highpass) are recursive
  (IIR) filters with controls per frame; both have a `stream` method that
  carries their state from block to block.

All are `ddsp.processors.Processor`s: calling one maps raw network outputs to
controls (`get_controls`) and renders the signal (`get_signal`). The reverbs
built with `trainable=True` learn their controls as variables (`Reverb`: the
IR; `ExpDecayReverb`: gain and decay; `FilteredNoiseReverb`: the magnitudes)
and take only the audio as input; built with `trainable=False` (the default)
they take the controls as inputs and have no variables, as published.
`FIRFilter` and `ModDelay` always take their controls as inputs.

Noise (the IRs of `ExpDecayReverb` and `FilteredNoiseReverb`) is seeded and
drawn by `ddsp.processors.Processor.draw_noise`: fresh noise at every training
call (`training=True`), and otherwise the same noise on every call, a
function of the layer's `seed` only, shared by the batch. The same seed gives
the same audio. The noise state is checkpointed with the layer but is not one
of its variables, so a non-trainable reverb has none, as published.
"""

import keras
import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import processors
from ddsp import registration
from ddsp import synths
from ddsp import validation
from ddsp.core import filtering

__all__ = [
    'Reverb',
    'ExpDecayReverb',
    'FilteredNoiseReverb',
    'FIRFilter',
    'ModDelay',
    'BiquadFilter',
    'StateVariableFilter',
]


def _check_audio(audio):
  """Casts and checks `audio`: finite mono [batch, n_samples], n_samples known.

  Multichannel audio ([n_samples, 2] from soundfile.read) is refused with a
  message saying how to make it mono (`validation.check_audio`).
  """
  audio = core.tf_float32(audio)
  validation.check_audio(audio, 'audio')
  shape = validation.check_rank(audio, 'audio', 2)
  if shape is not None and shape[1] is None:
    raise ValueError('The number of samples of `audio` must be statically '
                     f'known. Received: audio.shape={tuple(shape)}')
  validation.check_not_empty(audio, 'audio', 1, 'sample')
  return audio


def _check_control(x, name, rank, axis_names=()):
  """float32 `x` of the given rank(s), finite, with no empty axis after 0.

  `axis_names[i]` names axis i + 1 in the message ('frame', 'band', ...).
  """
  x = core.tf_float32(x)
  shape = validation.check_rank(x, name, rank)
  for axis in range(1, len(shape or ())):
    what = (axis_names[axis - 1] if axis <= len(axis_names) else
            f'value on axis {axis}')
    validation.check_not_empty(x, name, axis, what)
  validation.check_finite(x, name)
  return x, shape


# ------------------------------------------------------------------------------
# Reverbs.
# ------------------------------------------------------------------------------
@registration.register('ddsp.effects')
class Reverb(processors.Processor):
  """Convolutional reverb with an impulse response given or learned.

  The wet signal is the causal convolution of the audio with the IR, whose
  first tap is zeroed (the direct sound is the dry signal, added separately
  when `add_dry`). The output has the length of the input: the tail beyond the
  end of the audio is cut.

  Args:
    trainable: if True, learn the IR as a variable of `reverb_length` taps
      (initialized to tiny random values) and take only `audio` as input;
      otherwise the IR is the second input.
    reverb_length: int > 0, taps of the learned IR (48000 = 3 s at 16 kHz).
      Unused when the IR is an input.
    add_dry: if True, return dry + wet; otherwise only the wet signal.
    seed: int >= 0 or None, seed of the learned IR's initializer; None draws
      one at construction (recorded in the config).
    name: name of the layer.
    learning_rate_scale: float > 0, trainable only: the IR is stored divided
      by this factor (the variable holds `ir / learning_rate_scale`), so an
      optimizer with per-weight steps (Adam) moves each tap this many times
      its learning rate per step. The IR, its initial level (random normal,
      stddev 1e-6) and the outputs do not depend on it. 1.0 (as published)
      lets Adam grow a 48000-tap IR's L2 norm by up to
      `learning_rate * sqrt(48000)`, 0.066 at 3e-4, per step, faster than the
      synthesizers learn: models/solo_instrument.gin uses 0.1.

  Example:
    >>> reverb = Reverb()
    >>> audio = tf.ones([2, 100])
    >>> ir = tf.ones([2, 10])
    >>> reverb(audio, ir).shape
    TensorShape([2, 100])
  """

  def __init__(self, trainable=False, reverb_length=48000, add_dry=True,
               name='reverb', seed=None, learning_rate_scale=1.0, **kwargs):
    super().__init__(name=name, trainable=trainable, **kwargs)
    self.reverb_length = validation.check_positive_int(reverb_length,
                                                       'reverb_length')
    self.learning_rate_scale = float(validation.check_positive(
        learning_rate_scale, 'learning_rate_scale'))
    self.add_dry = bool(add_dry)
    self.seed = validation.check_seed(seed)
    # Whether the controls are variables, fixed at construction: freezing the
    # layer later (layer.trainable = False) keeps using its variables.
    self._learned = bool(trainable)

  def build(self, input_shape=None):
    del input_shape  # The variables do not depend on the inputs.
    if self._learned:
      self._ir = self.add_weight(
          name='ir', shape=[self.reverb_length],
          initializer=keras.initializers.RandomNormal(
              stddev=1e-6 / self.learning_rate_scale, seed=self.seed))

  @property
  def ir(self):
    """The learned IR, [reverb_length] float32 (trainable only)."""
    if not self._learned:
      raise AttributeError('Only a trainable Reverb has a learned `ir`.')
    return self._ir * self.learning_rate_scale

  def get_controls(self, audio, ir=None):
    """Checks the inputs and picks the IR.

    Args:
      audio: [batch, n_samples] float32 dry audio.
      ir: the IR when not `trainable`: [batch, ir_size], [batch, ir_size, 1]
        or [ir_size] float32 (a batch of 1 is shared). Its first tap is
        ignored (replaced by the dry signal).

    Returns:
      `{'audio': audio, 'ir': ir}` with `ir` [batch or 1, ir_size].

    Raises:
      ValueError: if `ir` is missing (or given to a trainable reverb), has a
        bad rank or no taps, its batch size differs from that of `audio`, or
        `audio` or `ir` is not finite or `audio` not mono.
    """
    audio = _check_audio(audio)
    if self._learned:
      if ir is not None:
        raise ValueError('A trainable Reverb learns its IR; do not pass `ir`. '
                         f'Received: ir.shape={tuple(ir.shape)}')
      ir = self.ir[tf.newaxis, :]
    else:
      if ir is None:
        raise ValueError('Reverb(trainable=False) needs the impulse response '
                         'as its second input: reverb(audio, ir).')
      ir = self._check_ir(ir, audio)
    return {'audio': audio, 'ir': ir}

  def _check_ir(self, ir, audio):
    """Casts an input IR to [batch or 1, ir_size]; checks rank and batch."""
    ir, shape = _check_control(ir, 'ir', (1, 2, 3), ('tap',))
    if len(shape) == 1:
      validation.check_not_empty(ir, 'ir', 0, 'tap')
    if len(shape) == 3:
      if shape[-1] not in (1, None):
        raise ValueError('`ir` must have shape [batch, ir_size], '
                         f'[batch, ir_size, 1] or [ir_size]. '
                         f'Received: ir.shape={tuple(shape)}')
      ir = ir[..., 0]
    elif len(shape) == 1:
      ir = ir[tf.newaxis, :]
    if ir.shape[0] != 1:
      validation.check_same_dim({'audio': audio, 'ir': ir}, 0, 'batch')
    return ir

  def get_signal(self, audio, ir):
    """Applies the reverb.

    Args:
      audio: [batch, n_samples] float32 dry audio.
      ir: [batch or 1, ir_size] float32 impulse response (first tap ignored).

    Returns:
      [batch, n_samples] float32, `audio + wet` (or `wet` if not `add_dry`).

    Differentiable with respect to `audio` and `ir`.
    """
    ir = tf.pad(ir[:, 1:], [[0, 0], [1, 0]])  # The direct sound is the dry.
    wet = core.fft_convolve(audio, ir, padding='same', delay_compensation=0)
    return wet + audio if self.add_dry else wet

  def get_config(self):
    config = super().get_config()
    config.update({'trainable': self._learned,
                   'reverb_length': self.reverb_length,
                   'add_dry': self.add_dry, 'seed': self.seed,
                   'learning_rate_scale': self.learning_rate_scale})
    return config


@registration.register('ddsp.effects')
class ExpDecayReverb(Reverb):
  """Reverb whose IR is white noise under an exponential decay.

  `ir(t) = scale_fn(gain) * exp(-(2 + exp(decay)) * t) * noise(t)`, with
  `t = linspace(0, 1, reverb_length)`: the amplitude falls by
  `(2 + exp(decay)) * 20 / ln(10)` dB over the IR (about 500 dB for the
  initial decay 4.0). The noise is uniform in [-1, 1), seeded (see the module
  docstring).

  Args:
    trainable: if True, learn `gain` (initial value 2.0) and `decay` (4.0) as
      variables and take only `audio` as input; otherwise they are inputs.
    reverb_length: int > 0, taps of the IR (48000 = 3 s at 16 kHz).
    scale_fn: maps the raw gain to an amplitude (`exp_sigmoid`), or None.
    add_dry: if True, return dry + wet; otherwise only the wet signal.
    name: name of the layer.
    seed: int >= 0 or None, seed of the noise; None draws one at construction
      (recorded in the config).

  Example:
    >>> reverb = ExpDecayReverb(reverb_length=1000, seed=0)
    >>> audio = tf.ones([2, 2000])
    >>> reverb(audio, tf.zeros([2, 1]), tf.zeros([2, 1])).shape
    TensorShape([2, 2000])
  """

  def __init__(self, trainable=False, reverb_length=48000,
               scale_fn=core.exp_sigmoid, add_dry=True,
               name='exp_decay_reverb', seed=None, **kwargs):
    super().__init__(trainable=trainable, reverb_length=reverb_length,
                     add_dry=add_dry, name=name, seed=seed, **kwargs)
    self.scale_fn = validation.check_scale_fn(scale_fn)
    self._time = np.linspace(0.0, 1.0, self.reverb_length, dtype=np.float32)
    self._noise_state = processors.NoiseState(self.seed)

  def build(self, input_shape=None):
    del input_shape
    if self._learned:
      self._gain = self.add_weight(
          name='gain', shape=[1], initializer=keras.initializers.Constant(2.0))
      self._decay = self.add_weight(
          name='decay', shape=[1],
          initializer=keras.initializers.Constant(4.0))

  def _check_param(self, x, name, audio):
    x, shape = _check_control(x, name, (1, 2, 3))
    if any(d not in (1, None) for d in shape[1:]):
      raise ValueError(f'`{name}` must have shape [batch, 1] (one value per '
                       f'example). Received: {name}.shape={tuple(shape)}')
    x = tf.reshape(x, [-1, 1])
    if x.shape[0] != 1:
      validation.check_same_dim({'audio': audio, name: x}, 0, 'batch')
    return x

  def get_controls(self, audio, gain=None, decay=None):
    """Builds the decaying-noise IR (fresh noise in a training call).

    Args:
      audio: [batch, n_samples] float32 dry audio.
      gain: [batch, 1] float32 raw gain (before `scale_fn`) when not
        `trainable`.
      decay: [batch, 1] float32 raw decay when not `trainable`; the envelope
        is `exp(-(2 + exp(decay)) * t)` over t in [0, 1].

    Returns:
      `{'audio': audio, 'ir': [batch or 1, reverb_length]}`.

    Raises:
      ValueError: if `gain`/`decay` are missing (or given to a trainable
        reverb) or have bad shapes.
    """
    audio = _check_audio(audio)
    if self._learned:
      if gain is not None or decay is not None:
        raise ValueError('A trainable ExpDecayReverb learns its gain and '
                         'decay; pass only `audio`.')
      gain, decay = self._gain[tf.newaxis, :], self._decay[tf.newaxis, :]
    else:
      if gain is None or decay is None:
        raise ValueError('ExpDecayReverb(trainable=False) needs `gain` and '
                         '`decay` ([batch, 1] each) as inputs: '
                         'reverb(audio, gain, decay).')
      gain = self._check_param(gain, 'gain', audio)
      decay = self._check_param(decay, 'decay', audio)
    if self.scale_fn is not None:
      gain = self.scale_fn(gain)
    envelope = tf.exp(-(2.0 + tf.exp(decay)) * self._time)
    noise = self.draw_noise(self._noise_state, self.reverb_length,
                            tf.shape(audio)[0])
    return {'audio': audio, 'ir': gain * envelope * noise}

  def get_config(self):
    config = super().get_config()
    config['scale_fn'] = processors.serialize_fn(self.scale_fn)
    return config


@registration.register('ddsp.effects')
class FilteredNoiseReverb(Reverb):
  """Reverb whose IR is noise through a time-varying filter.

  The IR is the output of a `ddsp.synths.FilteredNoise` of `reverb_length`
  samples driven by `n_frames` frames of `n_filter_banks` magnitudes, so its
  spectrum can decay at a different rate in each band.

  Args:
    trainable: if True, learn the magnitudes ([n_frames, n_filter_banks],
      initialized near 0) and take only `audio` as input; otherwise they are
      the second input.
    reverb_length: int > 0, taps of the IR (48000 = 3 s at 16 kHz); a multiple
      of `n_frames` or compatible with it (see `core.fft_convolve`).
    window_size: int, taps of the noise filter, at most
      `2 * (n_filter_banks - 1)`: larger values and 0 give that maximum, so
      the default 257 (the published one) is cut to 30 taps for the default
      16 bands (see `core.frequency_impulse_response`).
    n_frames: int > 0, frames of magnitudes over the IR (1000 = 48 samples per
      frame for 3 s at 16 kHz).
    n_filter_banks: int > 0, bands from 0 Hz to Nyquist.
    scale_fn: maps raw magnitudes to amplitudes (`exp_sigmoid`), or None.
    initial_bias: added to the raw magnitudes before `scale_fn` (-3.0 starts
      the reverb quiet).
    add_dry: if True, return dry + wet; otherwise only the wet signal.
    name: name of the layer.
    seed: int >= 0 or None, seed of the noise and of the initializer; None
      draws one at construction (recorded in the config).

  Example:
    >>> reverb = FilteredNoiseReverb(reverb_length=800, n_frames=10,
    ...                              n_filter_banks=8, seed=0)
    >>> audio = tf.ones([2, 1600])
    >>> reverb(audio, tf.zeros([2, 10, 8])).shape
    TensorShape([2, 1600])
  """

  def __init__(self, trainable=False, reverb_length=48000, window_size=257,
               n_frames=1000, n_filter_banks=16, scale_fn=core.exp_sigmoid,
               initial_bias=-3.0, add_dry=True, name='filtered_noise_reverb',
               seed=None, **kwargs):
    super().__init__(trainable=trainable, reverb_length=reverb_length,
                     add_dry=add_dry, name=name, seed=seed, **kwargs)
    self.window_size = window_size
    self.n_frames = validation.check_positive_int(n_frames, 'n_frames')
    self.n_filter_banks = validation.check_positive_int(n_filter_banks,
                                                        'n_filter_banks')
    self.initial_bias = float(initial_bias)
    self._synth = synths.FilteredNoise(
        n_samples=self.reverb_length, window_size=window_size,
        scale_fn=scale_fn, initial_bias=initial_bias, seed=self.seed,
        name='noise')
    self.scale_fn = self._synth.scale_fn

  def build(self, input_shape=None):
    del input_shape
    if self._learned:
      self._magnitudes = self.add_weight(
          name='magnitudes', shape=[self.n_frames, self.n_filter_banks],
          initializer=keras.initializers.RandomNormal(stddev=1e-2,
                                                      seed=self.seed))

  def get_controls(self, audio, magnitudes=None):
    """Synthesizes the IR from the magnitudes (fresh noise when training).

    Args:
      audio: [batch, n_samples] float32 dry audio.
      magnitudes: [batch, n_frames, n_filter_banks] float32 raw magnitudes
        (before `initial_bias` and `scale_fn`) when not `trainable`.

    Returns:
      `{'audio': audio, 'ir': [batch or 1, reverb_length]}`.

    Raises:
      ValueError: if `magnitudes` is missing (or given to a trainable reverb)
        or its shape or batch size is wrong.
    """
    audio = _check_audio(audio)
    if self._learned:
      if magnitudes is not None:
        raise ValueError('A trainable FilteredNoiseReverb learns its '
                         'magnitudes; pass only `audio`.')
      magnitudes = self._magnitudes[tf.newaxis]
    else:
      if magnitudes is None:
        raise ValueError('FilteredNoiseReverb(trainable=False) needs '
                         '`magnitudes` [batch, n_frames, n_filter_banks] as '
                         'its second input: reverb(audio, magnitudes).')
      validation.check_shape(magnitudes, 'magnitudes',
                             [None, self.n_frames, self.n_filter_banks])
      validation.check_same_dim({'audio': audio, 'magnitudes': magnitudes}, 0,
                                'batch')
    # The noise synth draws fresh noise in this layer's training calls.
    ir = self._synth(magnitudes, training=self._training_call)
    return {'audio': audio, 'ir': ir}

  def get_config(self):
    config = super().get_config()
    config.update({'window_size': self.window_size,
                   'n_frames': self.n_frames,
                   'n_filter_banks': self.n_filter_banks,
                   'scale_fn': processors.serialize_fn(self.scale_fn),
                   'initial_bias': self.initial_bias})
    return config


# ------------------------------------------------------------------------------
# Filters and delays.
# ------------------------------------------------------------------------------
@registration.register('ddsp.effects')
class FIRFilter(processors.Processor):
  """Time-varying linear-phase FIR filter ("neural wah-wah").

  Magnitudes per frame (bands linearly spaced from 0 Hz to Nyquist) become a
  Hann-windowed linear-phase FIR filter per frame, applied by windowed
  overlap-add so the response changes smoothly between frames
  (`core.frequency_filter`); the filter's delay is compensated.

  Args:
    window_size: int, taps of the filter, at most `2 * (n_bands - 1)` for
      `n_bands` magnitudes: larger values and 0 give that maximum, so the
      default 257 (the published one) is cut to 128 taps (8 ms at 16 kHz)
      for 65 bands.
    scale_fn: maps raw magnitudes to amplitudes (`exp_sigmoid`), or None to
      use them as given.
    name: name of the layer.
    method: 'overlap_add' (default) or 'block' (the published method, which
      switches filters abruptly at frame edges).

  Example:
    >>> fir = FIRFilter(window_size=33)
    >>> fir(tf.ones([2, 640]), tf.zeros([2, 10, 17])).shape
    TensorShape([2, 640])
  """

  def __init__(self, window_size=257, scale_fn=core.exp_sigmoid,
               name='fir_filter', method='overlap_add', **kwargs):
    super().__init__(name=name, **kwargs)
    self.window_size = validation.check_non_negative_int(window_size,
                                                         'window_size')
    self.scale_fn = validation.check_scale_fn(scale_fn)
    self.method = validation.check_one_of(method, 'method',
                                          ('overlap_add', 'block'))

  def get_controls(self, audio, magnitudes):
    """Scales the magnitudes.

    Args:
      audio: [batch, n_samples] float32 audio to filter.
      magnitudes: [batch, n_frames, n_bands] float32 raw magnitudes (before
        `scale_fn`); `n_frames` must fit `n_samples` (e.g. divide it). A
        batch of 1 (of either input) is broadcast against the other.

    Returns:
      `{'audio': audio, 'magnitudes': magnitudes}` (scaled).

    Raises:
      ValueError: on bad ranks, empty axes, a batch mismatch, non-mono audio
        or NaN or infinite values.
    """
    audio = _check_audio(audio)
    magnitudes, _ = _check_control(magnitudes, 'magnitudes', 3,
                                   ('frame', 'band'))
    validation.check_broadcastable_dim(
        {'audio': audio, 'magnitudes': magnitudes}, 0, 'batch')
    if self.scale_fn is not None:
      magnitudes = self.scale_fn(magnitudes)
    return {'audio': audio, 'magnitudes': magnitudes}

  def get_signal(self, audio, magnitudes):
    """Filters the audio.

    Args:
      audio: [batch, n_samples] float32.
      magnitudes: [batch, n_frames, n_bands] float32 linear amplitudes.

    Returns:
      [batch, n_samples] float32. Differentiable with respect to both inputs.
    """
    return core.frequency_filter(audio, magnitudes,
                                 window_size=self.window_size,
                                 method=self.method)

  def get_config(self):
    config = super().get_config()
    config.update({'window_size': self.window_size,
                   'scale_fn': processors.serialize_fn(self.scale_fn),
                   'method': self.method})
    return config


@registration.register('ddsp.effects')
class ModDelay(processors.Processor):
  """Modulated delay line: chorus, flanger, vibrato.

  The wet signal is the audio read `delay(t)` samples in the past (linear
  interpolation between samples) times a gain, with
  `delay = center_ms + depth_ms * (2 * phase - 1)` milliseconds: phase 0.5 is
  the centre delay, 0 and 1 its extremes (delays below 0 ms are held at 0).

  Args:
    center_ms: float >= 0, the centre delay in ms (15 ms: chorus).
    depth_ms: float >= 0, the modulation depth in ms around the centre.
    sample_rate: samples per second of the audio.
    gain_scale_fn: maps the raw gain to an amplitude (`exp_sigmoid`), or None.
    phase_scale_fn: maps the raw phase to [0, 1] (a sigmoid), or None.
    add_dry: if True, return dry + wet; otherwise only the wet signal.
    name: name of the layer.

  Example:
    >>> delay = ModDelay(sample_rate=16000)
    >>> audio = tf.ones([2, 1000])
    >>> delay(audio, tf.zeros([2, 1000, 1]), tf.zeros([2, 1000, 1])).shape
    TensorShape([2, 1000])
  """

  def __init__(self, center_ms=15.0, depth_ms=10.0, sample_rate=16000,
               gain_scale_fn=core.exp_sigmoid, phase_scale_fn=tf.nn.sigmoid,
               add_dry=True, name='mod_delay', **kwargs):
    super().__init__(name=name, **kwargs)
    self.center_ms = float(validation.check_in_range(center_ms, 'center_ms',
                                                     low=0.0))
    self.depth_ms = float(validation.check_in_range(depth_ms, 'depth_ms',
                                                    low=0.0))
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    self.gain_scale_fn = validation.check_scale_fn(gain_scale_fn,
                                                   'gain_scale_fn')
    self.phase_scale_fn = validation.check_scale_fn(phase_scale_fn,
                                                    'phase_scale_fn')
    self.add_dry = bool(add_dry)
    samples_per_ms = sample_rate / 1000.0
    self._center = self.center_ms * samples_per_ms
    self._depth = self.depth_ms * samples_per_ms
    # At least one sample long, so that a zero delay is valid.
    self._max_length = max(1, int(np.ceil(self._center + self._depth)))

  def _to_audio_rate(self, x, name, audio):
    """[batch, n, 1] or [batch, n] -> [batch, n_samples], resampled if n differs."""
    x, shape = _check_control(x, name, (2, 3))
    if len(shape) == 3:
      if shape[-1] not in (1, None):
        raise ValueError(f'`{name}` must have shape [batch, n_samples, 1] or '
                         f'[batch, n_frames, 1]. '
                         f'Received: {name}.shape={tuple(shape)}')
    else:
      x = x[..., tf.newaxis]
    validation.check_broadcastable_dim({'audio': audio, name: x}, 0, 'batch')
    n_samples = int(audio.shape[1])
    if x.shape[1] is not None and x.shape[1] != n_samples:
      x = core.resample(x, n_samples)
    return x[..., 0]

  def get_controls(self, audio, gain, phase):
    """Scales the gain and phase.

    Args:
      audio: [batch, n_samples] float32 dry audio.
      gain: [batch, n_samples, 1] float32 raw gain of the wet signal (before
        `gain_scale_fn`); frame-rate [batch, n_frames, 1] is linearly
        resampled to audio rate. A batch of 1 (of any input) is broadcast.
      phase: [batch, n_samples, 1] float32 raw delay control (before
        `phase_scale_fn`, after which 0.5 is the centre delay); frame-rate is
        resampled as for `gain`.

    Returns:
      `{'audio', 'gain', 'phase'}` with gain and phase [batch, n_samples].

    Raises:
      ValueError: on bad ranks, empty axes, mismatched batch sizes, non-mono
        audio or NaN or infinite values.
    """
    audio = _check_audio(audio)
    gain = self._to_audio_rate(gain, 'gain', audio)
    phase = self._to_audio_rate(phase, 'phase', audio)
    if self.gain_scale_fn is not None:
      gain = self.gain_scale_fn(gain)
    if self.phase_scale_fn is not None:
      phase = self.phase_scale_fn(phase)
    return {'audio': audio, 'gain': gain, 'phase': phase}

  def get_signal(self, audio, gain, phase):
    """Applies the modulated delay.

    Args:
      audio: [batch, n_samples] float32 dry audio.
      gain: [batch, n_samples] float32 amplitude of the wet signal.
      phase: [batch, n_samples] float32 in [0, 1], the delay control.

    Returns:
      [batch, n_samples] float32. Differentiable with respect to all inputs.
    """
    delay = self._center + self._depth * (2.0 * phase - 1.0)  # Samples.
    delay = tf.clip_by_value(delay, 0.0, float(self._max_length))
    rows = core.broadcast_batch({'audio': audio, 'delay': delay})  # Batch 1.
    wet = filtering.fractional_delay(rows['audio'], rows['delay'],
                                     self._max_length)
    wet *= gain
    return wet + audio if self.add_dry else wet

  def get_config(self):
    config = super().get_config()
    config.update({
        'center_ms': self.center_ms, 'depth_ms': self.depth_ms,
        'sample_rate': self.sample_rate,
        'gain_scale_fn': processors.serialize_fn(self.gain_scale_fn),
        'phase_scale_fn': processors.serialize_fn(self.phase_scale_fn),
        'add_dry': self.add_dry})
    return config


# ------------------------------------------------------------------------------
# Recursive (IIR) filters.
# ------------------------------------------------------------------------------
def _log_range(x, low, high):
  """Raw network output -> [low, high]: low * (high / low) ** sigmoid(x)."""
  return low * (high / low) ** tf.sigmoid(x)


def _ramp(frames, previous, n_samples):
  """Frame-rate controls -> audio rate, ramping linearly from frame to frame.

  Sample j of hop i goes linearly from frame i - 1 (exclusive) to frame i
  (reached at the hop's last sample); the hop before the first frame holds
  it, or ramps from `previous` (the last frame of the previous block). This
  causal interpolation is what makes block-by-block streaming equal
  whole-clip processing.

  Args:
    frames: [batch, n_frames, channels].
    previous: None or [batch, 1, channels].
    n_samples: a multiple of n_frames.

  Returns:
    [batch, n_samples, channels].
  """
  n_frames, channels = frames.shape[1], frames.shape[2]
  hop = n_samples // n_frames
  if previous is None:
    previous = frames[:, :1]
  earlier = tf.concat([previous + 0.0 * frames[:, :1], frames[:, :-1]], axis=1)
  ramp = tf.constant((np.arange(hop) + 1.0) / hop, frames.dtype)
  samples = (earlier[:, :, tf.newaxis] + (frames - earlier)[:, :, tf.newaxis]
             * ramp[:, tf.newaxis])
  return tf.reshape(samples, [-1, n_samples, channels])


class _RecursiveFilter(processors.Processor):
  """Shared checks, interpolation and streaming of the IIR filter effects.

  Subclasses set `_control_names`, implement `_scale(name, x)` and
  `_filter(audio, controls, filter_state) -> (audio, filter_state)` on
  audio-rate controls.
  """

  _control_names = ()

  def _check_controls(self, audio, controls, n_channels):
    audio = _check_audio(audio)
    checked = {}
    for name, x in controls.items():
      x, _ = _check_control(x, name, 3, ('frame', 'channel'))
      validation.check_shape(x, name, [None, None, n_channels])
      checked[name] = x
    validation.check_same_dim(checked, 1, 'frame')
    n_frames = next(iter(checked.values())).shape[1]
    n_samples = int(audio.shape[1])
    if n_frames is not None and (n_frames > n_samples or n_samples % n_frames):
      raise ValueError(
          f'The number of frames of the controls must divide the number of '
          f'samples of `audio` ({n_samples}). Received: {n_frames} frames')
    validation.check_broadcastable_dim({'audio': audio, **checked}, 0,
                                       'batch')
    return audio, checked

  def _render(self, audio, controls, state):
    """(audio, state) of one block; `state` None or a previous block's."""
    n_samples = int(audio.shape[1])
    previous = {} if state is None else state
    if state is None and all(x.shape[1] == 1 for x in controls.values()):
      at_audio_rate = controls  # Constant: [batch, 1, channels] broadcasts.
    else:
      at_audio_rate = {
          name: _ramp(x, previous.get(name), n_samples)
          for name, x in controls.items()}
    signal, filter_state = self._filter(
        audio, at_audio_rate, None if state is None else state['filter'])
    new_state = {name: x[:, -1:] for name, x in controls.items()}
    new_state['filter'] = filter_state
    return signal, new_state

  def get_signal(self, audio, **controls):
    """Filters `audio` [batch, n_samples] with frame-rate controls.

    Args:
      audio: [batch, n_samples] float32.
      **controls: the controls returned by `get_controls`, [batch, n_frames,
        channels] each, in physical units.

    Returns:
      [batch, n_samples] float32. Differentiable with respect to the audio
      and every control.
    """
    return self._render(audio, controls, None)[0]

  def stream(self, *inputs, state=None):
    """Filters one block of a stream, carrying the filter state.

    Calling `stream` block after block, each with its own audio and the
    controls of its frames (the same hop), passing the returned state to the
    next call, gives the same audio as one call on the whole clip.

    Args:
      *inputs: the inputs of a call (audio and raw controls) for one block.
      state: None for the first block, else the state returned by the
        previous call.

    Returns:
      (audio, state): the filtered block [batch, n_samples] and the state to
      pass to the next call (a dict of tensors: the filter's internal state
      under 'filter' and each control's last frame).
    """
    controls = self.get_controls(*inputs)
    audio = controls.pop('audio')
    return self._render(audio, controls, state)


@registration.register('ddsp.effects')
class BiquadFilter(_RecursiveFilter):
  """A cascade of time-varying biquad filters (audio EQ cookbook designs).

  Each of the `n_biquads` sections is a `core.biquad_coefficients` design
  of its `filter_type` whose cutoff or centre frequency, q and (for 'peak'
  and the shelves) gain are controls per frame. The controls are ramped
  linearly from frame to frame to audio rate (the ramp of a hop ends on its
  frame, see `stream`), the coefficients are recomputed at every sample and
  the audio goes through `core.lfilter` with time-varying coefficients, so
  the response changes smoothly: no clicks at frame edges.

  Stable parameterization: with `scale_controls=True` (the default) the
  inputs are raw network outputs mapped to the stable range:
  `frequency_hz = min_frequency_hz * (max_frequency_hz /
  min_frequency_hz) ** sigmoid(frequency)` (log-spaced, raw 0 = their
  geometric mean), `q = min_q * (max_q / min_q) ** sigmoid(q)` (raw 0 = 0.707
  for the defaults) and `gain_db = max_gain_db * tanh(gain)`. With
  `scale_controls=False` they are taken in Hz, as q and in dB, and values
  outside those ranges are clipped to them (no gradient beyond the clip).
  Every design with a frequency in (0, Nyquist) and q > 0 has its poles
  inside the unit circle.

  Precision: controls of one frame (a static filter) are designed in
  float64 and filtered by the constant-coefficient path of `core.lfilter`;
  time-varying ones use float32 coefficients, whose rounding gives errors up
  to about 1e-4 of the output's peak for low, sharp sections (tens of Hz,
  high q), as for any float32 direct-form biquad.

  Args:
    n_biquads: int > 0, sections in the cascade.
    filter_type: one of `core.BIQUAD_TYPES` ('lowpass', 'highpass',
      'bandpass', 'notch', 'peak', 'lowshelf', 'highshelf') for every
      section, or a list of `n_biquads` of them.
    sample_rate: samples per second of the audio.
    min_frequency_hz, max_frequency_hz: the frequency range, 0 <
      min < max < sample_rate / 2; None for max means 0.45 * sample_rate.
    min_q, max_q: the q range, 0 < min_q < max_q.
    max_gain_db: float > 0, the largest boost or cut of 'peak' and shelves.
    scale_controls: whether the inputs are raw network outputs (True) or
      physical values (False), see above.
    name: name of the layer.

  Example:
    >>> biquad = BiquadFilter(n_biquads=2, filter_type='lowpass')
    >>> audio = tf.ones([1, 800])
    >>> controls = tf.zeros([1, 10, 2])
    >>> biquad(audio, controls, controls).shape
    TensorShape([1, 800])
  """

  def __init__(self, n_biquads=1, filter_type='lowpass', sample_rate=16000,
               min_frequency_hz=20.0, max_frequency_hz=None, min_q=0.1,
               max_q=5.0, max_gain_db=24.0, scale_controls=True,
               name='biquad_filter', **kwargs):
    super().__init__(name=name, **kwargs)
    self.n_biquads = validation.check_positive_int(n_biquads, 'n_biquads')
    if isinstance(filter_type, str):
      types = (filter_type,) * self.n_biquads
      self.filter_type = filter_type
    else:
      types = tuple(filter_type)
      self.filter_type = list(types)
      if len(types) != self.n_biquads:
        raise ValueError('`filter_type` must be one type or a list of '
                         f'n_biquads={self.n_biquads} types. Received: '
                         f'filter_type={filter_type!r}')
    for kind in types:
      validation.check_one_of(kind, 'filter_type', core.BIQUAD_TYPES)
    self._types = types
    self._uses_gain = any(kind in ('peak', 'lowshelf', 'highshelf')
                          for kind in types)
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    nyquist = sample_rate / 2.0
    if max_frequency_hz is None:
      max_frequency_hz = 0.45 * sample_rate
    self.min_frequency_hz = float(validation.check_in_range(
        min_frequency_hz, 'min_frequency_hz', low=0.0, high=nyquist))
    self.max_frequency_hz = float(validation.check_in_range(
        max_frequency_hz, 'max_frequency_hz', low=0.0, high=nyquist))
    if not 0 < self.min_frequency_hz < self.max_frequency_hz < nyquist:
      raise ValueError(
          'The frequency range must satisfy 0 < min_frequency_hz < '
          'max_frequency_hz < sample_rate / 2. Received: min_frequency_hz='
          f'{min_frequency_hz}, max_frequency_hz={max_frequency_hz}, '
          f'sample_rate={sample_rate}')
    self.min_q = float(validation.check_positive(min_q, 'min_q'))
    self.max_q = float(validation.check_positive(max_q, 'max_q'))
    if not self.min_q < self.max_q:
      raise ValueError('`min_q` must be below `max_q`. Received: '
                       f'min_q={min_q}, max_q={max_q}')
    self.max_gain_db = float(validation.check_positive(max_gain_db,
                                                       'max_gain_db'))
    self.scale_controls = bool(scale_controls)

  def get_controls(self, audio, frequency, q, gain=None):
    """Maps the inputs to frequencies, qs and gains per frame.

    Args:
      audio: [batch, n_samples] float32 audio to filter.
      frequency: [batch, n_frames, n_biquads] float32, raw (or Hz when not
        `scale_controls`); n_frames must divide n_samples (n_frames ==
        n_samples gives per-sample control).
      q: [batch, n_frames, n_biquads] float32, raw (or q).
      gain: [batch, n_frames, n_biquads] float32, raw (or dB); required
        when a section is 'peak' or a shelf, refused otherwise. A batch of 1
        (of any input) is broadcast.

    Returns:
      `{'audio', 'frequency_hz', 'q'}` (and `'gain_db'`), the controls
      [batch, n_frames, n_biquads] in Hz, as q and in dB.

    Raises:
      ValueError: on bad shapes, a frame count that does not divide the
        samples, mismatched batches, non-finite values, or a `gain` missing
        or given when no section uses it.
    """
    if self._uses_gain and gain is None:
      raise ValueError(f'`gain` is required by the filter types {self._types}'
                       ' ([batch, n_frames, n_biquads]).')
    if not self._uses_gain and gain is not None:
      raise ValueError(f'`gain` is not used by the filter types '
                       f'{self._types}; do not pass it.')
    controls = {'frequency': frequency, 'q': q}
    if gain is not None:
      controls['gain'] = gain
    audio, controls = self._check_controls(audio, controls, self.n_biquads)
    f_range = (self.min_frequency_hz, self.max_frequency_hz)
    q_range = (self.min_q, self.max_q)
    if self.scale_controls:
      out = {'frequency_hz': _log_range(controls['frequency'], *f_range),
             'q': _log_range(controls['q'], *q_range)}
      if gain is not None:
        out['gain_db'] = self.max_gain_db * tf.tanh(controls['gain'])
    else:
      out = {'frequency_hz': tf.clip_by_value(controls['frequency'], *f_range),
             'q': tf.clip_by_value(controls['q'], *q_range)}
      if gain is not None:
        out['gain_db'] = tf.clip_by_value(controls['gain'], -self.max_gain_db,
                                          self.max_gain_db)
    return {'audio': audio, **out}

  def _filter(self, audio, controls, filter_state):
    """Runs the cascade on audio-rate controls [batch, n_samples, n_biquads]."""
    states = []
    # Controls of one frame (constant) give one set of coefficients per
    # example: the faster constant-coefficient path of `core.lfilter`.
    constant = controls['frequency_hz'].shape[1] == 1
    if constant:  # Designed in float64 (cheap for one set per example).
      controls = {name: tf.cast(x, tf.float64) for name, x in controls.items()}
    # One tensor per section: the gradient of `unstack` is one stack, where
    # slices of the [batch, n_samples, n_biquads] controls would each get a
    # full-size one.
    channels = {name: tf.unstack(x, axis=-1) for name, x in controls.items()}
    for k, kind in enumerate(self._types):
      gain = channels['gain_db'][k] if 'gain_db' in channels else 0.0
      # `lfilter` divides by a[0]: time-varying coefficients are left
      # unnormalized so that the division runs once (the same values). The
      # constant ones are normalized in float64 before their cast.
      b, a = core.biquad_coefficients(
          kind, channels['frequency_hz'][k], channels['q'][k], gain,
          self.sample_rate, normalize=constant)
      if constant:
        b, a = b[:, 0], a[:, 0]
      zi = None if filter_state is None else filter_state[:, k]
      audio, zf = core.lfilter(audio, tf.cast(b, audio.dtype), a, zi=zi,
                               return_state=True)
      states.append(zf)
    return audio, tf.stack(states, axis=1)

  def get_config(self):
    config = super().get_config()
    config.update({
        'n_biquads': self.n_biquads, 'filter_type': self.filter_type,
        'sample_rate': self.sample_rate,
        'min_frequency_hz': self.min_frequency_hz,
        'max_frequency_hz': self.max_frequency_hz, 'min_q': self.min_q,
        'max_q': self.max_q, 'max_gain_db': self.max_gain_db,
        'scale_controls': self.scale_controls})
    return config


@registration.register('ddsp.effects')
class StateVariableFilter(_RecursiveFilter):
  """Resonant state-variable filter with time-varying cutoff and q.

  The "neural wah-wah": `core.state_variable_filter` (a trapezoidal SVF,
  stable under fast modulation) driven by a cutoff and a q per frame, ramped
  linearly to audio rate as in `BiquadFilter`. The output is its lowpass,
  bandpass or highpass response, or a per-frame mix of the three.

  Controls: with `scale_controls=True` (the default) the inputs are raw
  network outputs, `frequency_hz = min_frequency_hz * (max_frequency_hz /
  min_frequency_hz) ** sigmoid(frequency)`, `q = min_q * (max_q / min_q) **
  sigmoid(q)` and, for 'mix', the weights are a softmax of `mix`. With
  `scale_controls=False` they are Hz, q and weights, frequency and q clipped
  to their ranges (no gradient beyond the clip).

  Args:
    filter_type: 'lowpass', 'bandpass' (gain q at the cutoff), 'highpass'
      or 'mix' (weights of the three outputs, in that order, per frame).
    sample_rate: samples per second of the audio.
    min_frequency_hz, max_frequency_hz: the cutoff range, 0 < min < max <
      sample_rate / 2; None for max means 0.45 * sample_rate.
    min_q, max_q: the q range, 0 < min_q < max_q (raw 0 = 0.707 for the
      defaults; 0.5 is critically damped, large values ring).
    scale_controls: whether the inputs are raw network outputs.
    name: name of the layer.

  Example:
    >>> svf = StateVariableFilter(filter_type='bandpass')
    >>> svf(tf.ones([1, 800]), tf.zeros([1, 10, 1]), tf.zeros([1, 10, 1])
    ...     ).shape
    TensorShape([1, 800])
  """

  _OUTPUTS = ('lowpass', 'bandpass', 'highpass')

  def __init__(self, filter_type='lowpass', sample_rate=16000,
               min_frequency_hz=20.0, max_frequency_hz=None, min_q=0.1,
               max_q=5.0, scale_controls=True, name='state_variable_filter',
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.filter_type = validation.check_one_of(
        filter_type, 'filter_type', self._OUTPUTS + ('mix',))
    # The same ranges and checks as BiquadFilter.
    ranges = BiquadFilter(sample_rate=sample_rate,
                          min_frequency_hz=min_frequency_hz,
                          max_frequency_hz=max_frequency_hz, min_q=min_q,
                          max_q=max_q)
    self.sample_rate = ranges.sample_rate
    self.min_frequency_hz = ranges.min_frequency_hz
    self.max_frequency_hz = ranges.max_frequency_hz
    self.min_q, self.max_q = ranges.min_q, ranges.max_q
    self.scale_controls = bool(scale_controls)

  def get_controls(self, audio, frequency, q, mix=None):
    """Maps the inputs to a cutoff, a q (and mix weights) per frame.

    Args:
      audio: [batch, n_samples] float32 audio to filter.
      frequency: [batch, n_frames, 1] float32, raw (or Hz when not
        `scale_controls`); n_frames must divide n_samples.
      q: [batch, n_frames, 1] float32, raw (or q).
      mix: [batch, n_frames, 3] float32 raw weights of the lowpass,
        bandpass and highpass outputs (softmax), only for 'mix'.

    Returns:
      `{'audio', 'frequency_hz', 'q'}` (and `'mix'` for 'mix'), controls
      [batch, n_frames, channels].

    Raises:
      ValueError: on bad shapes, a frame count that does not divide the
        samples, mismatched batches, non-finite values, or `mix` missing for
        'mix' or given otherwise.
    """
    if (mix is None) == (self.filter_type == 'mix'):
      raise ValueError('`mix` ([batch, n_frames, 3]) is required for '
                       "filter_type='mix' and refused otherwise. Received: "
                       f'filter_type={self.filter_type!r}, mix '
                       f'{"missing" if mix is None else "given"}')
    audio, controls = self._check_controls(audio, {'frequency': frequency,
                                                   'q': q}, 1)
    if mix is not None:
      _, checked = self._check_controls(audio, {'mix': mix}, 3)
      validation.check_same_dim({'frequency': frequency, 'mix': mix}, 1,
                                'frame')
      mix = checked['mix']
    f_range = (self.min_frequency_hz, self.max_frequency_hz)
    q_range = (self.min_q, self.max_q)
    if self.scale_controls:
      out = {'frequency_hz': _log_range(controls['frequency'], *f_range),
             'q': _log_range(controls['q'], *q_range)}
      if mix is not None:
        out['mix'] = tf.nn.softmax(mix, axis=-1)
    else:
      out = {'frequency_hz': tf.clip_by_value(controls['frequency'], *f_range),
             'q': tf.clip_by_value(controls['q'], *q_range)}
      if mix is not None:
        out['mix'] = mix
    return {'audio': audio, **out}

  def _filter(self, audio, controls, filter_state):
    """The SVF on audio-rate controls [batch, n_samples, channels]."""
    # Controls [batch, n_samples] (or [batch, 1] when constant, broadcast).
    outputs, state = core.state_variable_filter(
        audio, controls['frequency_hz'][..., 0], controls['q'][..., 0],
        self.sample_rate, initial_state=filter_state, return_state=True)
    if self.filter_type == 'mix':
      return tf.reduce_sum(outputs * controls['mix'], axis=-1), state
    return outputs[..., self._OUTPUTS.index(self.filter_type)], state

  def get_config(self):
    config = super().get_config()
    config.update({
        'filter_type': self.filter_type, 'sample_rate': self.sample_rate,
        'min_frequency_hz': self.min_frequency_hz,
        'max_frequency_hz': self.max_frequency_hz, 'min_q': self.min_q,
        'max_q': self.max_q, 'scale_controls': self.scale_controls})
    return config
