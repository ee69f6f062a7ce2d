"""Effects: processors that transform audio.

* Reverbs convolve the audio with an impulse response (IR) and add the dry
  signal: `Reverb` (an IR given as input, or learned as a variable),
  `ExpDecayReverb` (exponentially decaying noise with a learnable gain and
  decay) and `FilteredNoiseReverb` (noise filtered by a time-varying filter).
* `FIRFilter` filters audio with a time-varying linear-phase FIR filter given
  as magnitudes per frame ("neural wah-wah").
* `ModDelay` reads the audio through a delay line modulated at audio rate
  (chorus, flanger, vibrato).

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

  Example:
    >>> reverb = Reverb()
    >>> audio = tf.ones([2, 100])
    >>> ir = tf.ones([2, 10])
    >>> reverb(audio, ir).shape
    TensorShape([2, 100])
  """

  def __init__(self, trainable=False, reverb_length=48000, add_dry=True,
               name='reverb', seed=None, **kwargs):
    super().__init__(name=name, trainable=trainable, **kwargs)
    self.reverb_length = validation.check_positive_int(reverb_length,
                                                       'reverb_length')
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
          initializer=keras.initializers.RandomNormal(stddev=1e-6,
                                                      seed=self.seed))

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
      ir = self._ir[tf.newaxis, :]
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
                   'add_dry': self.add_dry, 'seed': self.seed})
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
