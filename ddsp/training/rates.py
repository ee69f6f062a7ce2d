"""Settings that follow from one sample rate, for gin configs and Python.

A model trained at 16 kHz has lengths and sizes chosen for that rate: FFT
sizes of the spectral loss, samples per example, the hop of the frames, noise
bands, harmonics and reverb length. At another rate they must scale together.
The functions here compute each of them from `sample_rate` (and the frame
rate and example length), with the values of the published 32 and 48 kHz
configs (`models/vst/vst_32k.gin`, `vst_48k.gin`) where those exist, so that
one macro sets the rate of a whole model:

    # In a gin file (models/ae.gin, solo_instrument.gin, vst/vst.gin do so):
    sample_rate = 16000
    Harmonic.n_samples = @rates.example_samples()
    rates.example_samples.sample_rate = %sample_rate
    SpectralLoss.fft_sizes = @rates.fft_sizes()
    rates.fft_sizes.sample_rate = %sample_rate

    # On the command line, the same model at 48 kHz:
    ddsp_run ... --gin_param=sample_rate=48000

The rules, for a rate `sr` and `k = sr / 16000`:

- `example_samples`: `example_secs * sr` (+ the hops of `extra_frames`).
- `example_frames`: `example_secs * frame_rate` (+ `extra_frames`).
- `hop_samples`: `sr / frame_rate` (176.4 at 44.1 kHz and 250 frames/s).
- `fft_sizes`: the 16 kHz sizes (2048, ..., 64) times `k`, rounded to a
  multiple of 4 (so a 75 % overlap has a whole hop): (6144, ..., 192) at
  48 kHz as published, (5644, ..., 176) at 44.1 kHz.
- `reverb_length`: `reverb_secs * sr` (the same duration at every rate).
- `n_harmonics`, `n_noise_bands`: the 16 kHz count at 16 kHz, the published
  counts at 32 and 48 kHz (60 -> 100 harmonics, 65 -> 98 noise bands),
  linearly interpolated in between (and held below 16 / above 48 kHz).
- `reverb_initial_bias`: -3 at 16 kHz, -4 at 32 and 48 kHz (published).
- `amp_resample_method`: the given method ('window'), or 'linear' where the
  hop is not a whole number of samples (window upsampling needs whole hops).

Evaluated references (`@rates.fft_sizes()`) are computed when gin builds the
object, so a later `sample_rate = ...` binding changes every derived value.
"""

import math
import numbers

from ddsp import registration
from ddsp import validation

__all__ = [
    'BASE_SAMPLE_RATE',
    'amp_resample_method',
    'example_frames',
    'example_samples',
    'fft_sizes',
    'frames_to_samples',
    'hop_samples',
    'n_harmonics',
    'n_noise_bands',
    'reverb_initial_bias',
    'reverb_length',
    'scale_factor',
]

# The rate the published configs' lengths were chosen for.
BASE_SAMPLE_RATE = 16000
# Published counts (models/vst/vst{,_32k,_48k}.gin) as multiples of the
# 16 kHz count, at the rates where they exist.
_PUBLISHED_RATES = (16000, 32000, 48000)
_HARMONICS_FACTORS = (1.0, 100.0 / 60.0, 100.0 / 60.0)
_NOISE_BANDS_FACTORS = (1.0, 98.0 / 65.0, 98.0 / 65.0)
_REVERB_BIASES = (-3.0, -4.0, -4.0)

_register = registration.register('ddsp.training.rates')


def _check_rate(sample_rate):
  return validation.check_positive_int(sample_rate, 'sample_rate')


def _whole(value, name, what):
  """`value` as an int; ValueError unless it is whole (to 1e-6)."""
  rounded = int(round(value))
  if abs(value - rounded) > 1e-6:
    raise ValueError(f'`{name}` must give a whole number of {what}. '
                     f'Received: {value:g}')
  return rounded


def _interpolate(sample_rate, values):
  """Piecewise-linear in the sample rate over `_PUBLISHED_RATES`, held
  constant outside them."""
  rates = _PUBLISHED_RATES
  if sample_rate <= rates[0]:
    return values[0]
  for (r0, v0), (r1, v1) in zip(zip(rates, values),
                                zip(rates[1:], values[1:])):
    if sample_rate <= r1:
      return v0 + (v1 - v0) * (sample_rate - r0) / (r1 - r0)
  return values[-1]


@_register
def scale_factor(sample_rate=16000):
  """`sample_rate / 16000`: how much longer, in samples, a duration is.

  Args:
    sample_rate: int, Hz.

  Returns:
    float.

  Example:
    >>> scale_factor(48000)
    3.0
  """
  return _check_rate(sample_rate) / BASE_SAMPLE_RATE


@_register
def hop_samples(sample_rate=16000, frame_rate=250, whole=True):
  """Samples per frame, `sample_rate / frame_rate`.

  Args:
    sample_rate: int, Hz.
    frame_rate: int, frames per second.
    whole: bool; True returns an int and raises where the hop is fractional
      (for a `Crop.frame_size`), False returns the hop as it is (176.4 at
      44.1 kHz and 250 frames/s: an int where it is whole).

  Returns:
    int, or float where `whole=False` and the hop is fractional.

  Raises:
    ValueError: a rate is not a positive integer, or `whole` and the hop is
      not a whole number of samples.

  Example:
    >>> hop_samples(48000, 50), hop_samples(44100, 250, whole=False)
    (960, 176.4)
  """
  sample_rate = _check_rate(sample_rate)
  frame_rate = validation.check_positive_int(frame_rate, 'frame_rate')
  hop = sample_rate / frame_rate
  if sample_rate % frame_rate == 0:
    return sample_rate // frame_rate
  if whole:
    raise ValueError(
        '`sample_rate / frame_rate` must be a whole number of samples here. '
        f'Received: sample_rate={sample_rate}, frame_rate={frame_rate} '
        f'(hop {hop:g})')
  return hop


@_register
def example_samples(sample_rate=16000, example_secs=4, frame_rate=250,
                    extra_frames=0):
  """Samples of an example: `example_secs * sample_rate` + extra hops.

  Args:
    sample_rate: int, Hz.
    example_secs: float > 0, seconds per example.
    frame_rate: int, frames per second (for `extra_frames`).
    extra_frames: int >= 0, hops to add (1 for the centring frame of the
      VST models, which `Crop` removes again).

  Returns:
    int.

  Raises:
    ValueError: the result is not a whole number of samples.

  Example:
    >>> example_samples(48000), example_samples(48000, 4, 50, extra_frames=1)
    (192000, 192960)
  """
  sample_rate = _check_rate(sample_rate)
  validation.check_positive(example_secs, 'example_secs')
  frame_rate = validation.check_positive_int(frame_rate, 'frame_rate')
  extra_frames = validation.check_non_negative_int(extra_frames,
                                                   'extra_frames')
  value = example_secs * sample_rate + extra_frames * sample_rate / frame_rate
  return _whole(value, 'example_secs * sample_rate (+ extra hops)', 'samples')


def frames_to_samples(n_frames, sample_rate, frame_rate):
  """`n_frames * sample_rate / frame_rate` as an int; ValueError if not whole.

  Args:
    n_frames: int >= 0, frames.
    sample_rate: int, Hz.
    frame_rate: int, frames per second.

  Returns:
    int, samples.

  Raises:
    ValueError: the frames are not a whole number of samples (at 44.1 kHz and
      250 frames/s only multiples of 5 frames are: 882 samples); the message
      names the multiple.

  Example:
    >>> frames_to_samples(1000, 44100, 250), frames_to_samples(5, 44100, 250)
    (176400, 882)
  """
  n_frames = validation.check_non_negative_int(n_frames, 'n_frames')
  sample_rate = _check_rate(sample_rate)
  frame_rate = validation.check_positive_int(frame_rate, 'frame_rate')
  if (n_frames * sample_rate) % frame_rate:
    period = frame_rate // math.gcd(sample_rate, frame_rate)
    raise ValueError(
        f'`n_frames` must be a whole number of samples: {n_frames} frames at '
        f'frame_rate={frame_rate} are {n_frames * sample_rate / frame_rate:g} '
        f'samples at sample_rate={sample_rate}; use a multiple of {period} '
        f'frames. Received: n_frames={n_frames}')
  return n_frames * sample_rate // frame_rate


@_register
def example_frames(example_secs=4, frame_rate=250, extra_frames=0):
  """Frames of an example: `example_secs * frame_rate + extra_frames`.

  Args:
    example_secs: float > 0, seconds per example.
    frame_rate: int, frames per second.
    extra_frames: int >= 0 (1 for features with 'center' padding).

  Returns:
    int.

  Raises:
    ValueError: the result is not a whole number of frames.

  Example:
    >>> example_frames(4, 250), example_frames(4, 50, extra_frames=1)
    (1000, 201)
  """
  validation.check_positive(example_secs, 'example_secs')
  frame_rate = validation.check_positive_int(frame_rate, 'frame_rate')
  extra_frames = validation.check_non_negative_int(extra_frames,
                                                   'extra_frames')
  return _whole(example_secs * frame_rate, 'example_secs * frame_rate',
                'frames') + extra_frames


@_register
def fft_sizes(sample_rate=16000, base_fft_sizes=(2048, 1024, 512, 256, 128,
                                                  64), multiple=4):
  """FFT sizes of a multi-scale spectral loss, scaled with the rate.

  Each size of `base_fft_sizes` (chosen for 16 kHz) times
  `sample_rate / 16000`, rounded to the nearest multiple of `multiple` (4:
  the 75 % overlap of `SpectralLoss` then has a whole hop), so each size
  spans the same duration at every rate.

  Args:
    sample_rate: int, Hz.
    base_fft_sizes: sequence of int, the sizes at 16 kHz.
    multiple: int > 0.

  Returns:
    list of int.

  Example:
    >>> fft_sizes(48000)
    [6144, 3072, 1536, 768, 384, 192]
    >>> fft_sizes(44100)[-1]
    176
  """
  k = scale_factor(sample_rate)
  multiple = validation.check_positive_int(multiple, 'multiple')
  sizes = []
  for size in base_fft_sizes:
    validation.check_positive_int(size, 'base_fft_sizes')
    sizes.append(max(multiple, multiple * int(round(size * k / multiple))))
  return sizes


@_register
def reverb_length(sample_rate=16000, reverb_secs=3.0):
  """Taps of a reverb impulse response lasting `reverb_secs`.

  Args:
    sample_rate: int, Hz.
    reverb_secs: float > 0 (3 s for the solo-instrument model, 1.5 s for the
      VST models).

  Returns:
    int, `round(reverb_secs * sample_rate)`.

  Example:
    >>> reverb_length(48000, 1.5)
    72000
  """
  sample_rate = _check_rate(sample_rate)
  validation.check_positive(reverb_secs, 'reverb_secs')
  return int(round(reverb_secs * sample_rate))


def _count(sample_rate, base, factors, name):
  sample_rate = _check_rate(sample_rate)
  base = validation.check_positive_int(base, name)
  return max(1, int(round(base * _interpolate(sample_rate, factors))))


@_register
def n_harmonics(sample_rate=16000, base=60):
  """Harmonics of a harmonic synthesizer at a rate.

  `base` at 16 kHz and below, `base * 100 / 60` at 32 and 48 kHz (the
  published 100 for 60), linearly interpolated between those rates.

  Args:
    sample_rate: int, Hz.
    base: int > 0, the count at 16 kHz.

  Returns:
    int.

  Example:
    >>> n_harmonics(16000), n_harmonics(24000), n_harmonics(48000)
    (60, 80, 100)
  """
  return _count(sample_rate, base, _HARMONICS_FACTORS, 'base')


@_register
def n_noise_bands(sample_rate=16000, base=65):
  """Noise magnitudes (bands from 0 Hz to Nyquist) of a filtered noise.

  `base` at 16 kHz and below, `base * 98 / 65` at 32 and 48 kHz (the
  published 98 for 65), linearly interpolated between those rates.

  Args:
    sample_rate: int, Hz.
    base: int > 0, the count at 16 kHz.

  Returns:
    int.

  Example:
    >>> n_noise_bands(16000), n_noise_bands(32000), n_noise_bands(44100)
    (65, 98, 98)
  """
  return _count(sample_rate, base, _NOISE_BANDS_FACTORS, 'base')


@_register
def reverb_initial_bias(sample_rate=16000):
  """Initial bias of `FilteredNoiseReverb`'s magnitudes at a rate.

  -3 at 16 kHz (the layer's default), -4 at 32 and 48 kHz (published),
  linearly interpolated between.

  Args:
    sample_rate: int, Hz.

  Returns:
    float.

  Example:
    >>> reverb_initial_bias(16000), reverb_initial_bias(48000)
    (-3.0, -4.0)
  """
  return float(_interpolate(_check_rate(sample_rate), _REVERB_BIASES))


@_register
def amp_resample_method(sample_rate=16000, frame_rate=250, method='window'):
  """`Harmonic.amp_resample_method` that works at the model's hop.

  Window upsampling (overlapping Hann windows, one per frame) needs a whole
  number of samples per frame; where `sample_rate / frame_rate` is
  fractional (44.1 kHz at 250 frames/s) this returns 'linear'.

  Args:
    sample_rate: int, Hz.
    frame_rate: int, frames per second.
    method: str, the method wanted where the hop is whole.

  Returns:
    str.

  Example:
    >>> amp_resample_method(48000, 250), amp_resample_method(44100, 250)
    ('window', 'linear')
  """
  hop = hop_samples(sample_rate, frame_rate, whole=False)
  if isinstance(hop, numbers.Integral) or math.isclose(hop, round(hop)):
    return method
  return 'linear'
