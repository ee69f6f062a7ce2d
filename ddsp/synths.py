"""Synthesizers: processors that turn network outputs into audio.

Each synth is a `ddsp.processors.Processor`: `get_controls` maps raw network
outputs to valid controls (scale functions, normalization, Nyquist masking)
and `get_signal` renders audio with one call into `ddsp.core`.

Length: a synth built with `n_samples` (64000 = 4 s at 16 kHz by default)
always renders that many samples, whatever the number of frames. Built with
`n_samples=None`, it renders `n_frames * sample_rate / frame_rate` samples
(250 frames/s: a hop of 64 samples at 16 kHz), so the same layer runs on 1 s
or 60 s of controls.

Phase: oscillators accumulate phase without float32 drift (see
`ddsp.core.oscillators`), so long renders stay in tune.
"""

import keras
import tensorflow as tf

from ddsp import core
from ddsp import processors
from ddsp import registration
from ddsp import validation


def _check_length_args(n_samples, sample_rate, frame_rate):
  """Validates n_samples / sample_rate / frame_rate for a synth."""
  n_samples = validation.check_positive_int(n_samples, 'n_samples',
                                            allow_none=True)
  validation.check_positive(sample_rate, 'sample_rate')
  validation.check_positive(frame_rate, 'frame_rate')
  if n_samples is None and sample_rate % frame_rate:
    raise ValueError(
        '`sample_rate / frame_rate` must be a whole number of samples per '
        'frame when n_samples is None (the output length is n_frames * '
        f'sample_rate / frame_rate). Received: sample_rate={sample_rate}, '
        f'frame_rate={frame_rate}')
  return n_samples


# What the last axis of a control holds, for error messages.
_LAST_AXIS_NAMES = {'magnitudes': 'band', 'wavetables': 'table entry',
                    'harmonic_distribution': 'harmonic'}


def _check_controls(controls, last_dims):
  """Checks [batch, n_frames, channels] controls: shapes, frames, finiteness.

  The controls must agree on the number of frames (at least one) and on the
  batch size, where a batch of 1 is broadcast against the others (as in the
  published library). Every value must be finite (see
  `ddsp.validation.check_finite`: a ValueError eagerly, an in-graph check
  inside `tf.function`).

  Args:
    controls: dict name -> tensor.
    last_dims: dict name -> required size of the last axis (or None).

  Returns:
    dict of float32 tensors.
  """
  out = {}
  for name, x in controls.items():
    x = core.tf_float32(x)
    validation.check_shape(x, name, [None, None, last_dims.get(name)])
    validation.check_not_empty(x, name, 1, 'frame')
    validation.check_not_empty(x, name, 2, _LAST_AXIS_NAMES.get(name,
                                                                'channel'))
    out[name] = validation.check_finite(x, name)
  validation.check_broadcastable_dim(out, 0, 'batch')
  validation.check_same_dim(out, 1, 'n_frames')
  return out


@registration.register('ddsp.synths')
class TensorToAudio(processors.Processor):
  """Identity synth: passes audio samples through, dropping a channel axis.

  Useful in a DAG to treat a network's raw output as audio.

  Args:
    name: name of the layer.

  Example:
    >>> TensorToAudio()(tf.ones([2, 8, 1])).shape
    TensorShape([2, 8])
  """

  def __init__(self, name='tensor_to_audio', **kwargs):
    super().__init__(name=name, **kwargs)

  def get_controls(self, samples):
    """Checks the samples.

    Args:
      samples: float32 [batch, n_samples, 1] or [batch, n_samples] audio.

    Returns:
      `{'samples': samples}`.
    """
    samples = core.tf_float32(samples)
    validation.check_audio(samples, 'samples')
    validation.check_rank(samples, 'samples', (2, 3))
    return {'samples': samples}

  def get_signal(self, samples):
    """[batch, n_samples] audio; differentiable with respect to `samples`."""
    if samples.shape.rank == 3:
      samples = samples[..., 0]
    return samples


@registration.register('ddsp.synths')
class Harmonic(processors.Processor):
  """Harmonic additive synthesizer: a sum of integer multiples of f0.

  Harmonic k (k = 1 .. n_harmonics) has frequency k * f0 and amplitude
  `amplitudes * harmonic_distribution[k]`; harmonics at or above Nyquist are
  silent. Frequencies are upsampled linearly and amplitudes with
  `amp_resample_method` (Hann windows by default). Rendering never builds
  [batch, n_samples, n_harmonics] tensors and keeps the phase exact (see
  `ddsp.core.harmonic_synthesis`). A frame with a negative f0 is silent (the
  published library played a phase-inverted tone there), and NaN or infinite
  controls raise instead of rendering NaN audio
  (`ddsp.validation.set_finite_checks`).

  Args:
    n_samples: output length in samples (64000 = 4 s at 16 kHz), or None
      to derive it from the number of frames: n_frames * sample_rate /
      frame_rate.
    sample_rate: Hz.
    scale_fn: applied to the raw amplitudes and harmonic distribution
      (`core.exp_sigmoid` by default, mapping any real to (0, 2]); None
      uses them as given.
    normalize_below_nyquist: zero harmonics at or above Nyquist before
      normalizing the distribution, so the remaining ones carry all the
      amplitude.
    amp_resample_method: 'window' (smooth Hann crossfade between frames),
      'linear', 'nearest' or 'cubic'.
    use_angular_cumsum: kept for compatibility with the published API; the
      phase is accumulated without drift either way.
    frame_rate: frames per second of the controls, used only when
      n_samples is None (250 frames/s = a hop of 64 samples at 16 kHz).
    name: name of the layer.

  Example:
    >>> harmonic = Harmonic(n_samples=None)  # length from the frames
    >>> f0_hz = tf.fill([1, 250, 1], 220.0)  # 1 s at 250 frames/s
    >>> audio = harmonic(tf.zeros([1, 250, 1]), tf.zeros([1, 250, 20]), f0_hz)
    >>> audio.shape
    TensorShape([1, 16000])
  """

  def __init__(self, n_samples=64000, sample_rate=16000,
               scale_fn=core.exp_sigmoid, normalize_below_nyquist=True,
               amp_resample_method='window', use_angular_cumsum=False,
               frame_rate=250, name='harmonic', **kwargs):
    super().__init__(name=name, **kwargs)
    self.n_samples = _check_length_args(n_samples, sample_rate, frame_rate)
    self.sample_rate = sample_rate
    self.frame_rate = frame_rate
    self.scale_fn = validation.check_scale_fn(scale_fn)
    self.normalize_below_nyquist = bool(normalize_below_nyquist)
    self.amp_resample_method = validation.check_one_of(
        amp_resample_method, 'amp_resample_method',
        ('nearest', 'linear', 'cubic', 'window'))
    self.use_angular_cumsum = bool(use_angular_cumsum)

  def get_controls(self, amplitudes, harmonic_distribution, f0_hz):
    """Scales the network outputs and normalizes the distribution.

    Args:
      amplitudes: float32 [batch, n_frames, 1], raw overall amplitude.
      harmonic_distribution: float32 [batch, n_frames, n_harmonics], raw
        relative amplitudes.
      f0_hz: float32 [batch, n_frames, 1], fundamental frequency in Hz (not
        scaled).

    Returns:
      dict with 'amplitudes' [batch, n_frames, 1] (scaled),
      'harmonic_distribution' [batch, n_frames, n_harmonics] (scaled, zero at
      or above Nyquist if `normalize_below_nyquist`, summing to 1) and
      'f0_hz'.

    Raises:
      ValueError: for wrong ranks or channel counts, disagreeing batch
        (other than 1) or frame counts, no frames, or NaN or infinite values.
    """
    controls = _check_controls(
        {'amplitudes': amplitudes,
         'harmonic_distribution': harmonic_distribution, 'f0_hz': f0_hz},
        {'amplitudes': 1, 'f0_hz': 1})
    amplitudes = controls['amplitudes']
    harmonic_distribution = controls['harmonic_distribution']
    f0_hz = controls['f0_hz']
    if self.scale_fn is not None:
      amplitudes = self.scale_fn(amplitudes)
      harmonic_distribution = self.scale_fn(harmonic_distribution)
    harmonic_distribution = core.normalize_harmonics(
        harmonic_distribution, f0_hz,
        self.sample_rate if self.normalize_below_nyquist else None)
    return {'amplitudes': amplitudes,
            'harmonic_distribution': harmonic_distribution,
            'f0_hz': f0_hz}

  def get_signal(self, amplitudes, harmonic_distribution, f0_hz):
    """Renders [batch, n_samples] audio from the controls.

    Differentiable with respect to all three controls.
    """
    return core.harmonic_synthesis(
        frequencies=f0_hz, amplitudes=amplitudes,
        harmonic_distribution=harmonic_distribution,
        n_samples=self.n_samples, sample_rate=self.sample_rate,
        amp_resample_method=self.amp_resample_method,
        use_angular_cumsum=self.use_angular_cumsum,
        frame_rate=self.frame_rate)

  def get_config(self):
    config = super().get_config()
    config.update({
        'n_samples': self.n_samples,
        'sample_rate': self.sample_rate,
        'scale_fn': processors.serialize_fn(self.scale_fn),
        'normalize_below_nyquist': self.normalize_below_nyquist,
        'amp_resample_method': self.amp_resample_method,
        'use_angular_cumsum': self.use_angular_cumsum,
        'frame_rate': self.frame_rate,
    })
    return config


@registration.register('ddsp.synths')
class FilteredNoise(processors.Processor):
  """Uniform white noise through a time-varying linear-phase filter.

  Magnitudes per frame (bands linearly spaced from 0 Hz to Nyquist) design a
  Hann-windowed linear-phase FIR filter per frame (`core.frequency_filter`),
  applied to white noise by windowed overlap-add, so the noise colour changes
  smoothly between frames.

  The noise is uniform in [-1, 1) and seeded
  (`ddsp.processors.Processor.draw_noise`). At every training call
  (`training=True`, set by Keras from the enclosing model) fresh noise is
  drawn for every example, so training runs with the same seed are
  reproducible. Otherwise (inference, evaluation) every call uses the same
  noise signal, a function of `seed` and the length only, shared by the
  batch: the same seed and controls give the same audio. The layer has no
  variables; its noise state is checkpointed with it (`NoiseState`).

  Args:
    n_samples: int > 0, samples of output audio (64000 = 4 s at 16 kHz); the
      number of frames must fit it (e.g. divide it). None: derive it from the
      number of frames, n_frames * sample_rate / frame_rate.
    window_size: int >= 0, taps of the filter, at most `2 * (n_bands - 1)`
      (the impulse response of `n_bands` magnitudes): larger values and 0 give
      that maximum. The default 257 (the published one) is therefore cut to
      128 taps (8 ms at 16 kHz) for the usual 65 bands.
    scale_fn: maps raw magnitudes to amplitudes (`exp_sigmoid`), or None to use
      them as given.
    initial_bias: added to the raw magnitudes before `scale_fn` (not used
      when `scale_fn` is None); -5.0 starts the noise quiet
      (`exp_sigmoid(-5) = 2.0e-5`).
    name: name of the layer.
    seed: int >= 0 or None, seed of the noise; None draws one at construction
      (recorded in the config, so a copy of the layer makes the same noise).
    method: 'overlap_add' (default, smooth between frames) or 'block' (the
      published method, which switches filters abruptly at frame edges).
    sample_rate: Hz, used only when n_samples is None.
    frame_rate: frames per second of the controls, used only when n_samples
      is None (250 frames/s = a hop of 64 samples at 16 kHz).
    counter_noise: if True, the inference noise is
      `core.counter_uniform_noise` (a hash of the seed and the sample index)
      instead of `core.uniform_noise`: any block of it can be made on its own,
      so streaming inference (`ddsp.training.inference`) reproduces this
      layer's output exactly. Training noise is unchanged.

  Example:
    >>> noise = FilteredNoise(n_samples=16000, seed=0)
    >>> magnitudes = tf.zeros([2, 250, 65])   # [batch, n_frames, n_bands]
    >>> noise(magnitudes).shape
    TensorShape([2, 16000])
  """

  def __init__(self, n_samples=64000, window_size=257,
               scale_fn=core.exp_sigmoid, initial_bias=-5.0,
               name='filtered_noise', seed=None, method='overlap_add',
               sample_rate=16000, frame_rate=250, counter_noise=False,
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.n_samples = _check_length_args(n_samples, sample_rate, frame_rate)
    self.sample_rate = sample_rate
    self.frame_rate = frame_rate
    self.counter_noise = bool(counter_noise)
    self.window_size = validation.check_non_negative_int(window_size,
                                                         'window_size')
    self.scale_fn = validation.check_scale_fn(scale_fn)
    self.initial_bias = float(initial_bias)
    self.seed = validation.check_seed(seed)
    self.method = validation.check_one_of(method, 'method',
                                          ('overlap_add', 'block'))
    self._noise_state = processors.NoiseState(self.seed)

  def get_controls(self, magnitudes):
    """Scales the raw magnitudes.

    Args:
      magnitudes: [batch, n_frames, n_bands] float32 raw magnitudes; bands
        linearly spaced from 0 Hz to Nyquist.

    Returns:
      `{'magnitudes': scale_fn(magnitudes + initial_bias)}`; with
      `scale_fn=None` the magnitudes unchanged (no bias, as published).

    Raises:
      ValueError: if `magnitudes` is not rank 3, has no frames or no bands,
        or holds NaN or infinite values.
    """
    magnitudes = _check_controls({'magnitudes': magnitudes},
                                 {})['magnitudes']
    if self.scale_fn is not None:
      magnitudes = self.scale_fn(magnitudes + self.initial_bias)
    return {'magnitudes': magnitudes}

  def get_signal(self, magnitudes):
    """Renders filtered noise.

    Args:
      magnitudes: [batch, n_frames, n_bands] float32 linear amplitudes >= 0.
        The noise is fresh per example in a training call, otherwise the
        layer's fixed noise, shared by the batch (see the class docstring).

    Returns:
      [batch, n_samples] float32. Differentiable with respect to `magnitudes`.

    Raises:
      ValueError: if the number of frames does not fit `n_samples`, or is
        unknown while `n_samples` is None.
    """
    n_samples = self.n_samples
    if n_samples is None:
      n_frames = magnitudes.shape[1]
      if n_frames is None:
        raise ValueError('FilteredNoise(n_samples=None) needs a static number '
                         'of frames. Received: magnitudes.shape='
                         f'{tuple(magnitudes.shape)}')
      n_samples = n_frames * int(self.sample_rate // self.frame_rate)
    noise = self.draw_noise(self._noise_state, n_samples,
                            tf.shape(magnitudes)[0],
                            counter=self.counter_noise)
    return core.frequency_filter(noise, magnitudes,
                                 window_size=self.window_size,
                                 method=self.method)

  def get_config(self):
    config = super().get_config()
    config.update({'n_samples': self.n_samples,
                   'window_size': self.window_size,
                   'scale_fn': processors.serialize_fn(self.scale_fn),
                   'initial_bias': self.initial_bias, 'seed': self.seed,
                   'method': self.method, 'sample_rate': self.sample_rate,
                   'frame_rate': self.frame_rate,
                   'counter_noise': self.counter_noise})
    return config


@registration.register('ddsp.synths')
class Wavetable(processors.Processor):
  """Wavetable synthesizer: reads one period of a waveform at f0.

  The table of each frame is read at the oscillator phase with linear
  interpolation, crossfaded linearly between frames and scaled by an
  amplitude envelope (Hann windows between frames). Tables are never
  upsampled to audio rate.

  Args:
    n_samples: output length in samples (64000 = 4 s at 16 kHz), or None
      for n_frames * sample_rate / frame_rate.
    sample_rate: Hz.
    scale_fn: applied to the raw amplitudes and wavetables
      (`core.exp_sigmoid` by default); None uses them as given.
    frame_rate: frames per second of the controls, used only when
      n_samples is None (250 frames/s = a hop of 64 samples at 16 kHz).
    name: name of the layer.

  Example:
    >>> wavetable = Wavetable(n_samples=16000, scale_fn=None)
    >>> table = tf.sin(tf.linspace(0.0, 6.2832, 65)[:-1])
    >>> tables = tf.tile(table[tf.newaxis, tf.newaxis], [1, 250, 1])
    >>> audio = wavetable(tf.ones([1, 250, 1]), tables,
    ...                   tf.fill([1, 250, 1], 440.0))
    >>> audio.shape
    TensorShape([1, 16000])
  """

  def __init__(self, n_samples=64000, sample_rate=16000,
               scale_fn=core.exp_sigmoid, frame_rate=250, name='wavetable',
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.n_samples = _check_length_args(n_samples, sample_rate, frame_rate)
    self.sample_rate = sample_rate
    self.frame_rate = frame_rate
    self.scale_fn = validation.check_scale_fn(scale_fn)

  def get_controls(self, amplitudes, wavetables, f0_hz):
    """Scales the network outputs.

    Args:
      amplitudes: float32 [batch, n_frames, 1], raw amplitude.
      wavetables: float32 [batch, n_frames, n_wavetable], raw wavetables,
        one period each.
      f0_hz: float32 [batch, n_frames, 1], Hz (not scaled).

    Returns:
      dict with 'amplitudes', 'wavetables' (both through `scale_fn`) and
      'f0_hz'.

    Raises:
      ValueError: for wrong ranks, disagreeing batch (other than 1) or frame
        counts, no frames, empty wavetables, or NaN or infinite values.
    """
    controls = _check_controls(
        {'amplitudes': amplitudes, 'wavetables': wavetables, 'f0_hz': f0_hz},
        {'amplitudes': 1, 'f0_hz': 1})
    amplitudes = controls['amplitudes']
    wavetables = controls['wavetables']
    if self.scale_fn is not None:
      amplitudes = self.scale_fn(amplitudes)
      wavetables = self.scale_fn(wavetables)
    return {'amplitudes': amplitudes, 'wavetables': wavetables,
            'f0_hz': controls['f0_hz']}

  def get_signal(self, amplitudes, wavetables, f0_hz):
    """Renders [batch, n_samples] audio.

    Differentiable with respect to all three controls.
    """
    return core.wavetable_synthesis(
        frequencies=f0_hz, amplitudes=amplitudes, wavetables=wavetables,
        n_samples=self.n_samples, sample_rate=self.sample_rate,
        frame_rate=self.frame_rate)

  def get_config(self):
    config = super().get_config()
    config.update({
        'n_samples': self.n_samples,
        'sample_rate': self.sample_rate,
        'scale_fn': processors.serialize_fn(self.scale_fn),
        'frame_rate': self.frame_rate,
    })
    return config


@registration.register('ddsp.synths')
class Sinusoidal(processors.Processor):
  """Bank of free sinusoids, each with its own frequency and amplitude.

  Frequencies are upsampled linearly and amplitudes with
  `amp_resample_method`; sinusoids at or above Nyquist are silent. The phase
  of each sinusoid is exact (no drift).

  Args:
    n_samples: output length in samples (64000 = 4 s at 16 kHz), or None
      for n_frames * sample_rate / frame_rate.
    sample_rate: Hz.
    amp_scale_fn: applied to the raw amplitudes (`core.exp_sigmoid` by
      default); None uses them as given.
    amp_resample_method: 'window' (Hann crossfade), 'linear', 'nearest' or
      'cubic'.
    freq_scale_fn: maps raw outputs to Hz (`core.frequencies_sigmoid` by
      default: 0 to 8000 Hz); None takes the frequencies in Hz as given.
    frame_rate: frames per second of the controls, used only when
      n_samples is None.
    name: name of the layer.

  Example:
    >>> sinusoidal = Sinusoidal(n_samples=16000, amp_scale_fn=None,
    ...                         freq_scale_fn=None)
    >>> freqs = tf.constant([220.0, 330.0]) * tf.ones([1, 250, 2])
    >>> sinusoidal(0.5 * tf.ones([1, 250, 2]), freqs).shape
    TensorShape([1, 16000])
  """

  def __init__(self, n_samples=64000, sample_rate=16000,
               amp_scale_fn=core.exp_sigmoid, amp_resample_method='window',
               freq_scale_fn=core.frequencies_sigmoid, frame_rate=250,
               name='sinusoidal', **kwargs):
    super().__init__(name=name, **kwargs)
    self.n_samples = _check_length_args(n_samples, sample_rate, frame_rate)
    self.sample_rate = sample_rate
    self.frame_rate = frame_rate
    self.amp_scale_fn = validation.check_scale_fn(amp_scale_fn,
                                                  'amp_scale_fn')
    self.freq_scale_fn = validation.check_scale_fn(freq_scale_fn,
                                                   'freq_scale_fn')
    self.amp_resample_method = validation.check_one_of(
        amp_resample_method, 'amp_resample_method',
        ('nearest', 'linear', 'cubic', 'window'))

  def get_controls(self, amplitudes, frequencies):
    """Scales the network outputs and silences sinusoids above Nyquist.

    Args:
      amplitudes: float32 [batch, n_frames, n_sinusoids], raw amplitudes.
      frequencies: float32 [batch, n_frames, n_sinusoids] raw outputs (or
        Hz with `freq_scale_fn=None`); with a frequency scale function, also
        [batch, n_frames, n_sinusoids, depth] (e.g. for
        `core.frequencies_sigmoid(x, depth=depth)`, as published): the
        scaled frequencies must be [batch, n_frames, n_sinusoids].

    Returns:
      dict with 'amplitudes' and 'frequencies' (Hz), both
      [batch, n_frames, n_sinusoids].

    Raises:
      ValueError: for wrong ranks, disagreeing batch, frame or sinusoid
        counts, no frames, or NaN or infinite values.
    """
    if self.freq_scale_fn is not None:
      # The scale function may reduce a trailing depth axis.
      frequencies = core.tf_float32(frequencies)
      validation.check_rank(frequencies, 'frequencies', (3, 4))
      frequencies = self.freq_scale_fn(
          validation.check_finite(frequencies, 'frequencies'))
    controls = _check_controls(
        {'amplitudes': amplitudes, 'frequencies': frequencies}, {})
    amplitudes = controls['amplitudes']
    frequencies = controls['frequencies']
    if self.amp_scale_fn is not None:
      amplitudes = self.amp_scale_fn(amplitudes)
    validation.check_same_dim({'amplitudes': amplitudes,
                               'frequencies': frequencies}, 2, 'n_sinusoids')
    amplitudes = core.remove_above_nyquist(frequencies, amplitudes,
                                           self.sample_rate)
    return {'amplitudes': amplitudes, 'frequencies': frequencies}

  def get_signal(self, amplitudes, frequencies):
    """Renders [batch, n_samples] audio.

    Differentiable with respect to amplitudes and frequencies.
    """
    return core.sinusoidal_synthesis(
        frequencies, amplitudes, n_samples=self.n_samples,
        sample_rate=self.sample_rate,
        amp_resample_method=self.amp_resample_method,
        frame_rate=self.frame_rate)

  def get_config(self):
    config = super().get_config()
    config.update({
        'n_samples': self.n_samples,
        'sample_rate': self.sample_rate,
        'amp_scale_fn': processors.serialize_fn(self.amp_scale_fn),
        'amp_resample_method': self.amp_resample_method,
        'freq_scale_fn': processors.serialize_fn(self.freq_scale_fn),
        'frame_rate': self.frame_rate,
    })
    return config
