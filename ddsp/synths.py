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

import gin
import keras
import tensorflow as tf

from ddsp import core
from ddsp import processors
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


def _check_controls(controls, last_dims):
  """Checks [batch, n_frames, channels] controls agree on batch and frames.

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
    out[name] = x
  validation.check_same_dim(out, 0, 'batch')
  validation.check_same_dim(out, 1, 'n_frames')
  return out


@gin.register(module='ddsp.synths')
@keras.saving.register_keras_serializable(package='ddsp')
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


@gin.register(module='ddsp.synths')
@keras.saving.register_keras_serializable(package='ddsp')
class Harmonic(processors.Processor):
  """Harmonic additive synthesizer: a sum of integer multiples of f0.

  Harmonic k (k = 1 .. n_harmonics) has frequency k * f0 and amplitude
  `amplitudes * harmonic_distribution[k]`; harmonics at or above Nyquist are
  silent. Frequencies are upsampled linearly and amplitudes with
  `amp_resample_method` (Hann windows by default). Rendering never builds
  [batch, n_samples, n_harmonics] tensors and keeps the phase exact (see
  `ddsp.core.harmonic_synthesis`).

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
    self.scale_fn = processors.deserialize_fn(scale_fn)
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
      ValueError: for wrong ranks or channel counts, or disagreeing batch or
        frame counts.
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


# FilteredNoise


@gin.register(module='ddsp.synths')
@keras.saving.register_keras_serializable(package='ddsp')
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
    self.scale_fn = processors.deserialize_fn(scale_fn)

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
      ValueError: for wrong ranks or disagreeing batch or frame counts.
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


@gin.register(module='ddsp.synths')
@keras.saving.register_keras_serializable(package='ddsp')
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
    self.amp_scale_fn = processors.deserialize_fn(amp_scale_fn)
    self.freq_scale_fn = processors.deserialize_fn(freq_scale_fn)
    self.amp_resample_method = validation.check_one_of(
        amp_resample_method, 'amp_resample_method',
        ('nearest', 'linear', 'cubic', 'window'))

  def get_controls(self, amplitudes, frequencies):
    """Scales the network outputs and silences sinusoids above Nyquist.

    Args:
      amplitudes: float32 [batch, n_frames, n_sinusoids], raw amplitudes.
      frequencies: float32 [batch, n_frames, n_sinusoids] raw outputs (or
        Hz with `freq_scale_fn=None`); with a depth > 1 frequency scale
        function, whatever it takes.

    Returns:
      dict with 'amplitudes' and 'frequencies' (Hz), both
      [batch, n_frames, n_sinusoids].

    Raises:
      ValueError: for wrong ranks or disagreeing batch, frame or sinusoid
        counts.
    """
    controls = _check_controls(
        {'amplitudes': amplitudes, 'frequencies': frequencies}, {})
    amplitudes = controls['amplitudes']
    frequencies = controls['frequencies']
    if self.amp_scale_fn is not None:
      amplitudes = self.amp_scale_fn(amplitudes)
    if self.freq_scale_fn is not None:
      frequencies = self.freq_scale_fn(frequencies)
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
