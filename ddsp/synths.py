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


# ------------------------------------------------------------------------------
# Physical models, FM and granular synthesis (thin layers over ddsp.core).
# ------------------------------------------------------------------------------
def _check_audio_input(x, name, n_samples):
  """float32 [batch, n_samples] audio of the given length (None: any)."""
  x = core.tf_float32(x)
  validation.check_audio(x, name)
  validation.check_shape(x, name, [None, n_samples])
  return x


def _n_samples_of(layer, n_frames):
  """The output length of a synth for controls with `n_frames` frames."""
  if layer.n_samples is not None:
    return layer.n_samples
  if n_frames is None:
    raise ValueError(f'{type(layer).__name__}(n_samples=None) needs a static '
                     'number of frames.')
  return n_frames * int(layer.sample_rate // layer.frame_rate)


@registration.register('ddsp.synths')
class PluckedString(processors.Processor):
  """Karplus-Strong plucked string (a digital waveguide): `core.plucked_string`.

  A noise burst (or a given excitation) enters a feedback loop whose delay
  follows f0 with an exact fractional delay (the loop filter's one-sample
  delay is compensated, so the pitch is exact), with a loop gain set by
  `t60` (the decay time of the lowest frequencies) and a loop filter set by
  `brightness` (how much faster the upper harmonics die). Controls are per
  frame, upsampled linearly to audio rate. Out-of-range controls are mapped:
  f0 is clipped to [min_f0_hz, sample_rate / 4], t60 to at least 1 ms,
  brightness to [0, 1].

  The burst is `burst_length` samples of seeded uniform noise in [-1, 1)
  (`ddsp.processors.Processor.draw_noise`: fresh per example in a training
  call, otherwise the same on every call).

  Streaming: the string has state (the last `history_size` output samples);
  `stream` renders a block of audio-rate controls from a state and returns
  the next one, so block-by-block rendering equals the whole clip.

  Cost: a `tf.while_loop` over blocks of the shortest loop delay (about one
  period of the highest f0), each block vectorized; no loop over samples.

  Args:
    n_samples: output length (64000 = 4 s at 16 kHz), or None for
      n_frames * sample_rate / frame_rate.
    sample_rate: Hz.
    min_f0_hz: Hz, the lowest f0 (sets the state size: sample_rate /
      min_f0_hz samples).
    burst_length: int > 0, samples of the noise burst (64 = 4 ms at 16 kHz).
    seed: int >= 0 or None, seed of the burst; None draws one (recorded in
      the config).
    frame_rate: frames per second of the controls, used only when
      n_samples is None.
    name: name of the layer.

  Example:
    >>> string = PluckedString(n_samples=8000, seed=0)
    >>> f0_hz = tf.fill([1, 125, 1], 220.0)
    >>> audio = string(f0_hz, tf.fill([1, 125, 1], 1.0),
    ...                tf.fill([1, 125, 1], 0.5))
    >>> audio.shape
    TensorShape([1, 8000])
  """

  def __init__(self, n_samples=64000, sample_rate=16000, min_f0_hz=20.0,
               burst_length=64, seed=None, frame_rate=250,
               name='plucked_string', **kwargs):
    super().__init__(name=name, **kwargs)
    self.n_samples = _check_length_args(n_samples, sample_rate, frame_rate)
    self.sample_rate = sample_rate
    self.frame_rate = frame_rate
    self.min_f0_hz = float(validation.check_positive(min_f0_hz, 'min_f0_hz'))
    if self.min_f0_hz >= sample_rate / 4.0:
      raise ValueError('`min_f0_hz` must be below sample_rate / 4, the '
                       f'highest f0. Received: min_f0_hz={min_f0_hz}, '
                       f'sample_rate={sample_rate}')
    self.burst_length = validation.check_positive_int(burst_length,
                                                      'burst_length')
    self.seed = validation.check_seed(seed)
    self.history_size = core.plucked_string_history_size(sample_rate,
                                                         self.min_f0_hz)
    self._noise_state = processors.NoiseState(self.seed)

  def get_controls(self, f0_hz, t60, brightness, excitation=None):
    """Checks the controls and makes the excitation.

    Args:
      f0_hz: float32 [batch, n_frames, 1], Hz.
      t60: float32 [batch, n_frames, 1], seconds.
      brightness: float32 [batch, n_frames, 1], in [0, 1].
      excitation: None (a seeded noise burst) or float32
        [batch, n_samples] audio fed into the string.

    Returns:
      dict with 'f0_hz', 't60', 'brightness' (frames) and 'excitation'
      [batch or 1, n_samples].

    Raises:
      ValueError: for wrong shapes, disagreeing batch or frame counts, NaN
        or infinite values, or an excitation of another length.
    """
    controls = _check_controls(
        {'f0_hz': f0_hz, 't60': t60, 'brightness': brightness},
        {'f0_hz': 1, 't60': 1, 'brightness': 1})
    n_samples = _n_samples_of(self, controls['f0_hz'].shape[1])
    if excitation is None:
      burst = self.draw_noise(self._noise_state, self.burst_length,
                              tf.shape(controls['f0_hz'])[0])
      burst = burst[:, :n_samples]
      excitation = tf.pad(burst, [[0, 0], [0, n_samples - burst.shape[1]]])
    else:
      excitation = _check_audio_input(excitation, 'excitation', n_samples)
    controls['excitation'] = excitation
    return controls

  def get_signal(self, f0_hz, t60, brightness, excitation):
    """Renders [batch, n_samples] audio.

    Differentiable with respect to all four controls.
    """
    n_samples = excitation.shape[1]

    def upsample(x):  # [batch, n_frames, 1] -> [batch, n_samples]
      return core.resample(x, n_samples)[..., 0]

    return core.plucked_string(excitation, upsample(f0_hz), upsample(t60),
                               upsample(brightness), self.sample_rate,
                               self.min_f0_hz)

  def stream(self, excitation, f0_hz, t60, brightness, state=None):
    """Renders one block from a state: block by block equals the whole clip.

    Args:
      excitation: float32 [batch, block_size], the excitation of the block.
      f0_hz, t60, brightness: float32 [batch, block_size], audio-rate
        controls of the block (Hz, seconds, [0, 1]).
      state: None (silence) or the state returned by the previous block,
        float32 [batch, history_size].

    Returns:
      (audio [batch, block_size], state [batch, history_size]).

    Example:
      >>> string = PluckedString(min_f0_hz=100.0)
      >>> x = tf.one_hot([0], 400)
      >>> f0, t60 = tf.fill([1, 400], 200.0), tf.ones([1, 400])
      >>> y1, state = string.stream(x[:, :200], f0[:, :200], t60[:, :200],
      ...                           t60[:, :200])
      >>> y2, state = string.stream(x[:, 200:], f0[:, 200:], t60[:, 200:],
      ...                           t60[:, 200:], state)
      >>> whole = string.stream(x, f0, t60, t60)[0]
      >>> bool(tf.reduce_all(tf.concat([y1, y2], 1) == whole))
      True
    """
    return core.plucked_string(excitation, f0_hz, t60, brightness,
                               self.sample_rate, self.min_f0_hz,
                               initial_state=state, return_state=True)

  def get_config(self):
    config = super().get_config()
    config.update({'n_samples': self.n_samples,
                   'sample_rate': self.sample_rate,
                   'min_f0_hz': self.min_f0_hz,
                   'burst_length': self.burst_length, 'seed': self.seed,
                   'frame_rate': self.frame_rate})
    return config


@registration.register('ddsp.synths')
class Modal(processors.Processor):
  """A bank of decaying resonant modes: struck bars, bells, plates.

  Mode k rings at `frequencies[k]` Hz with amplitude `gains[k]`, decaying by
  60 dB in `t60[k]` seconds (`core.modal_synthesis`). The excitation is an
  impulse at sample 0, or a given audio signal (a mallet, a scrape) that the
  modes filter. Modes at or above Nyquist or at negative frequencies are
  silent; t60 below one sample is taken as one sample.

  Args:
    n_samples: int > 0, output length (64000 = 4 s at 16 kHz).
    sample_rate: Hz.
    name: name of the layer.

  Example:
    >>> modal = Modal(n_samples=16000)
    >>> frequencies = tf.constant([[440.0, 1210.0, 2380.0]])  # [batch, modes]
    >>> audio = modal(frequencies, tf.fill([1, 3], 0.8), tf.ones([1, 3]))
    >>> audio.shape
    TensorShape([1, 16000])
  """

  def __init__(self, n_samples=64000, sample_rate=16000, name='modal',
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.n_samples = validation.check_positive_int(n_samples, 'n_samples')
    self.sample_rate = validation.check_positive(sample_rate, 'sample_rate')

  def get_controls(self, frequencies, t60, gains, excitation=None):
    """Checks the controls.

    Args:
      frequencies: float32 [batch, n_modes] (or [batch, 1, n_modes]), Hz.
      t60: float32, same shape, seconds.
      gains: float32, same shape, linear.
      excitation: None (an impulse) or float32 [batch, n_samples].

    Returns:
      dict with 'frequencies', 't60', 'gains' [batch, n_modes] and
      'excitation' (None or the audio).

    Raises:
      ValueError: for wrong shapes, disagreeing mode counts or batch sizes,
        NaN or infinite values, or an excitation of another length.
    """
    controls = {}
    for name, x in (('frequencies', frequencies), ('t60', t60),
                    ('gains', gains)):
      x = core.tf_float32(x)
      shape = validation.check_rank(x, name, (2, 3))
      if len(shape) == 3:
        validation.check_shape(x, name, [None, 1, None])
        x = x[:, 0]
      controls[name] = x
    if excitation is not None:
      excitation = _check_audio_input(excitation, 'excitation',
                                      self.n_samples)
    controls['excitation'] = excitation
    return controls

  def get_signal(self, frequencies, t60, gains, excitation=None):
    """Renders [batch, n_samples] audio.

    Differentiable with respect to every control and the excitation.
    """
    return core.modal_synthesis(frequencies, t60, gains, self.n_samples,
                                self.sample_rate, excitation)

  def get_config(self):
    config = super().get_config()
    config.update({'n_samples': self.n_samples,
                   'sample_rate': self.sample_rate})
    return config


@registration.register('ddsp.synths')
class FrequencyModulation(processors.Processor):
  """FM synthesizer with operators, DDX7 style: `core.fm_synthesis`.

  Up to six (or more) operators, each a sine at `ratios * f0` whose output
  level per frame (`amplitudes`) is a modulation index in radians for a
  modulator and an amplitude for a carrier; `algorithm` says which operator
  modulates which (`core.FM_ALGORITHMS` or `(connections, carriers)`). The
  phase is accumulated without drift, as in `Harmonic`. Operators at or
  above Nyquist are silent.

  Args:
    n_samples: output length (64000 = 4 s at 16 kHz), a multiple of
      n_frames, or None for n_frames * sample_rate / frame_rate.
    sample_rate: Hz.
    algorithm: a name of `core.FM_ALGORITHMS` ('dx7_1', 'dx7_5' the
      default: three 2-operator pairs, 'dx7_32', 'pair', 'stack') or
      `(connections, carriers)` with (modulator, target) pairs, modulator >
      target (operators counted from 0).
    scale_fn: applied to the raw amplitudes (None by default: levels as
      given; e.g. `core.exp_sigmoid` maps network outputs to (0, 2]).
    amp_resample_method: 'linear' (default), 'window' or 'nearest'.
    frame_rate: frames per second, used only when n_samples is None.
    name: name of the layer.

  Example:
    >>> fm = FrequencyModulation(n_samples=16000, algorithm='pair')
    >>> ratios = tf.constant([1.0, 2.0]) * tf.ones([1, 250, 2])
    >>> audio = fm(tf.fill([1, 250, 1], 220.0), tf.ones([1, 250, 2]), ratios)
    >>> audio.shape
    TensorShape([1, 16000])
  """

  def __init__(self, n_samples=64000, sample_rate=16000, algorithm='dx7_5',
               scale_fn=None, amp_resample_method='linear', frame_rate=250,
               name='frequency_modulation', **kwargs):
    super().__init__(name=name, **kwargs)
    self.n_samples = _check_length_args(n_samples, sample_rate, frame_rate)
    self.sample_rate = sample_rate
    self.frame_rate = frame_rate
    connections, carriers, self.n_operators = core.fm_algorithm(algorithm)
    self.algorithm = (algorithm if isinstance(algorithm, str) else
                      [[list(c) for c in connections], list(carriers)])
    self.scale_fn = validation.check_scale_fn(scale_fn)
    self.amp_resample_method = validation.check_one_of(
        amp_resample_method, 'amp_resample_method',
        ('nearest', 'linear', 'window'))

  def get_controls(self, f0_hz, amplitudes, ratios):
    """Scales the levels and checks the controls.

    Args:
      f0_hz: float32 [batch, n_frames, 1], Hz.
      amplitudes: float32 [batch, n_frames, n_operators], raw output levels.
      ratios: float32 [batch, n_frames, n_operators], frequency ratios.

    Returns:
      dict with 'f0_hz', 'amplitudes' (through `scale_fn`) and 'ratios'.

    Raises:
      ValueError: for wrong shapes, disagreeing batch, frame or operator
        counts, or NaN or infinite values.
    """
    controls = _check_controls(
        {'f0_hz': f0_hz, 'amplitudes': amplitudes, 'ratios': ratios},
        {'f0_hz': 1})
    validation.check_same_dim({'amplitudes': controls['amplitudes'],
                               'ratios': controls['ratios']}, 2,
                              'n_operators')
    if self.scale_fn is not None:
      controls['amplitudes'] = self.scale_fn(controls['amplitudes'])
    return controls

  def get_signal(self, f0_hz, amplitudes, ratios):
    """Renders [batch, n_samples] audio.

    Differentiable with respect to all three controls.
    """
    return core.fm_synthesis(f0_hz, amplitudes, ratios, self.algorithm,
                             n_samples=self.n_samples,
                             sample_rate=self.sample_rate,
                             frame_rate=self.frame_rate,
                             amp_resample_method=self.amp_resample_method)

  def get_config(self):
    config = super().get_config()
    config.update({'n_samples': self.n_samples,
                   'sample_rate': self.sample_rate,
                   'algorithm': self.algorithm,
                   'scale_fn': processors.serialize_fn(self.scale_fn),
                   'amp_resample_method': self.amp_resample_method,
                   'frame_rate': self.frame_rate})
    return config


@registration.register('ddsp.synths')
class Granular(processors.Processor):
  """Granular synthesizer: windowed grains of a source, overlap-added.

  Per frame: where grains read (`positions`, a fraction of the source,
  wrapped), how long they are (`grain_sizes`, seconds, clipped to [2
  samples, max_grain_size]), how many start per second (`densities`,
  clipped to [0, max_density]), how fast they play (`pitch_ratios`) and how
  loud (`amplitudes`). See `core.granular_synthesis`. The source is an
  input (any audio) or, with `trainable=True`, a learned buffer of
  `source_length` samples (like a long wavetable).

  `spray` > 0 jitters each grain's position by up to +-spray (a fraction of
  the source) with seeded uniform noise (`Processor.draw_noise`): the same
  jitter on every call outside training, fresh per example in a training
  call; the output is deterministic given `seed`.

  Args:
    n_samples: output length (64000 = 4 s at 16 kHz), or None for
      n_frames * sample_rate / frame_rate.
    sample_rate: Hz.
    max_density: grains per second at most (100.0); sets the grain slots.
    max_grain_size: seconds, the longest grain (0.1 = 1600 samples at 16
      kHz).
    spray: >= 0, position jitter as a fraction of the source.
    trainable: learn the source buffer (then do not pass `source`).
    source_length: int > 0, samples of the learned buffer (16000 = 1 s).
    seed: int >= 0 or None, seed of the jitter and of the buffer's
      initializer; None draws one (recorded in the config).
    frame_rate: frames per second, used only when n_samples is None.
    name: name of the layer.

  Example:
    >>> granular = Granular(n_samples=8000, seed=0)
    >>> source = tf.sin(tf.range(4000.0) * 0.05)[tf.newaxis]
    >>> frames = tf.ones([1, 125, 1])
    >>> audio = granular(0.2 * frames, 0.05 * frames, 40.0 * frames, frames,
    ...                  frames, source)
    >>> audio.shape
    TensorShape([1, 8000])
  """

  def __init__(self, n_samples=64000, sample_rate=16000, max_density=100.0,
               max_grain_size=0.1, spray=0.0, trainable=False,
               source_length=16000, seed=None, frame_rate=250,
               name='granular', **kwargs):
    super().__init__(name=name, trainable=trainable, **kwargs)
    self.n_samples = _check_length_args(n_samples, sample_rate, frame_rate)
    self.sample_rate = sample_rate
    self.frame_rate = frame_rate
    self.max_density = float(validation.check_positive(max_density,
                                                       'max_density'))
    self.max_grain_size = float(validation.check_positive(max_grain_size,
                                                          'max_grain_size'))
    self.spray = float(validation.check_in_range(spray, 'spray', 0.0))
    self.source_length = validation.check_positive_int(source_length,
                                                       'source_length')
    self.seed = validation.check_seed(seed)
    self._learned = bool(trainable)
    self._noise_state = processors.NoiseState(self.seed)

  def build(self, input_shape=None):
    del input_shape
    if self._learned:
      self._source = self.add_weight(
          name='source', shape=[self.source_length],
          initializer=keras.initializers.RandomUniform(-1.0, 1.0,
                                                       seed=self.seed))

  def get_controls(self, positions, grain_sizes, densities, pitch_ratios,
                   amplitudes, source=None):
    """Checks the controls and picks the source.

    Args:
      positions: float32 [batch, n_frames, 1], fraction of the source.
      grain_sizes: float32 [batch, n_frames, 1], seconds.
      densities: float32 [batch, n_frames, 1], grains per second.
      pitch_ratios: float32 [batch, n_frames, 1], playback speed.
      amplitudes: float32 [batch, n_frames, 1], linear.
      source: float32 [batch or 1, source_length] audio when not
        `trainable`.

    Returns:
      dict of the five controls and 'source' [batch or 1, source_length].

    Raises:
      ValueError: for wrong shapes, disagreeing batch or frame counts, NaN
        or infinite values, a missing source (or one given to a trainable
        layer).
    """
    names = ('positions', 'grain_sizes', 'densities', 'pitch_ratios',
             'amplitudes')
    values = (positions, grain_sizes, densities, pitch_ratios, amplitudes)
    controls = _check_controls(dict(zip(names, values)),
                               {name: 1 for name in names})
    if self._learned:
      if source is not None:
        raise ValueError('A trainable Granular learns its source; do not pass '
                         f'`source`. Received: source.shape={source.shape}')
      source = tf.convert_to_tensor(self._source)[tf.newaxis]
    elif source is None:
      raise ValueError('Granular(trainable=False) needs the source audio as '
                       'its sixth input, [batch or 1, source_length].')
    else:
      source = _check_audio_input(source, 'source', None)
    controls['source'] = source
    return controls

  def get_signal(self, positions, grain_sizes, densities, pitch_ratios,
                 amplitudes, source):
    """Renders [batch, n_samples] audio.

    Differentiable with respect to the source and every control.
    """
    n_samples = _n_samples_of(self, positions.shape[1])
    offsets = None
    if self.spray > 0.0:
      n_grains = core.max_grains(n_samples, self.sample_rate,
                                 self.max_density)
      offsets = self.spray * self.draw_noise(
          self._noise_state, n_grains, tf.shape(positions)[0])
    return core.granular_synthesis(
        source, positions, grain_sizes, densities, pitch_ratios, amplitudes,
        n_samples, self.sample_rate, self.max_density, self.max_grain_size,
        position_offsets=offsets)

  def get_config(self):
    config = super().get_config()
    config.update({'n_samples': self.n_samples,
                   'sample_rate': self.sample_rate,
                   'max_density': self.max_density,
                   'max_grain_size': self.max_grain_size,
                   'spray': self.spray, 'trainable': self._learned,
                   'source_length': self.source_length, 'seed': self.seed,
                   'frame_rate': self.frame_rate})
    return config
