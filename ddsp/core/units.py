"""Unit conversions (dB, MIDI, Hz, mel, bark, ERB) and scale functions.

Conversions:

* Decibels: `amplitude_to_db`, `power_to_db` (equal to librosa's functions of
  the same name with `top_db`), `db_to_amplitude`, `db_to_power`.
* Pitch: `midi_to_hz`, `hz_to_midi` (A4 = 440 Hz = MIDI 69), and the linear
  maps between [0, 1] and a MIDI or Hz range: `unit_to_midi`, `midi_to_unit`,
  `unit_to_hz`, `hz_to_unit`.
* Psychoacoustic scales: `hz_to_bark`, `bark_to_hz` (Traunmueller 1990),
  `hz_to_mel`, `mel_to_hz` (HTK formula), `hz_to_erb` (Glasberg & Moore).

Scale functions map unconstrained network outputs to valid synthesis controls:
`exp_sigmoid` (the default for every amplitude-like control),
`sym_exp_sigmoid`, and for free sinusoid frequencies `frequencies_softmax`,
`frequencies_sigmoid`, `frequencies_critical_bands`.

All functions take and return float32 tensors (numbers and arrays are
converted) and are differentiable in their tensor arguments. The two linear
maps `unit_to_midi` and `midi_to_unit` keep float64 input in float64, as the
published library's did.
"""

import math

import numpy as np
import tensorflow as tf

from ddsp import registration
from ddsp import validation
from ddsp.core.utils import safe_log
from ddsp.core.utils import soft_limit
from ddsp.core.utils import tf_float32

__all__ = [
    'amplitude_to_db',
    'power_to_db',
    'db_to_amplitude',
    'db_to_power',
    'midi_to_hz',
    'hz_to_midi',
    'unit_to_midi',
    'midi_to_unit',
    'unit_to_hz',
    'hz_to_unit',
    'hz_to_bark',
    'bark_to_hz',
    'hz_to_mel',
    'mel_to_hz',
    'hz_to_erb',
    'exp_sigmoid',
    'sym_exp_sigmoid',
    'frequencies_softmax',
    'frequencies_sigmoid',
    'frequencies_critical_bands',
]

_LN10 = math.log(10.0)
# Smallest positive normal float32: the floor of power_to_db without a range.
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)


# ------------------------------------------------------------------------------
# Decibels.
# ------------------------------------------------------------------------------
def power_to_db(power, ref_db=0.0, range_db=80.0, use_tf=True):
  """Converts power (squared amplitude) to decibels relative to `ref_db`.

  `max(10 * log10(power) - ref_db, -range_db)`: a power of
  `10 ** (ref_db / 10)` is 0 dB and nothing is lower than `-range_db`. This
  equals `librosa.power_to_db(power, ref=10 ** (ref_db / 10), top_db=None)`
  floored at `-range_db`, and so equals
  `librosa.power_to_db(power, ref=10 ** (ref_db / 10), top_db=range_db)`
  whenever the largest power is the reference (e.g. `ref=np.max`).

  Args:
    power: power, any shape, float, >= 0 (e.g. a power spectrogram
      [batch, n_frames, n_freqs]).
    ref_db: level in dB (re. power 1) that maps to 0 dB.
    range_db: dynamic range in dB, > 0: the output is floored at -range_db.
      80 dB by default; None for no floor (other than the float32 limit).
    use_tf: True computes with TensorFlow and returns a float32 tensor; False
      uses numpy and returns a numpy array (for data preparation).

  Returns:
    Decibels, same shape as `power`, in [-range_db, inf). Differentiable with
    respect to `power` above the floor (zero gradient below it).

  Raises:
    ValueError: if `range_db` is not a positive number (or None) or `ref_db`
      is not a number.

  Example:
    >>> power_to_db(np.array([1.0, 0.1, 0.0]), use_tf=False)
    array([  0., -10., -80.])
  """
  validation.check_positive(range_db, 'range_db', allow_none=True)
  validation.check_in_range(ref_db, 'ref_db')
  if range_db is None:
    amin = _FLOAT32_TINY
  else:
    # Clamping the power here makes the log finite and is the same floor
    # as max(db, -range_db), whatever ref_db is.
    amin = max(10.0**((ref_db - range_db) / 10.0), _FLOAT32_TINY)

  if use_tf:
    power = tf_float32(power)
    db = 10.0 / _LN10 * tf.math.log(tf.maximum(power, amin)) - ref_db
    if range_db is not None:
      db = tf.maximum(db, -range_db)
  else:
    power = np.asarray(power)
    db = 10.0 * np.log10(np.maximum(power, amin)) - ref_db
    if range_db is not None:
      db = np.maximum(db, -range_db)
  return db


def amplitude_to_db(amplitude, ref_db=0.0, range_db=80.0, use_tf=True):
  """Converts amplitude to decibels relative to `ref_db`.

  `max(20 * log10(|amplitude|) - ref_db, -range_db)`, i.e. `power_to_db` of
  `amplitude ** 2`. Equals `librosa.amplitude_to_db(amplitude,
  ref=10 ** (ref_db / 20), top_db=range_db)` when the largest amplitude is the
  reference, and that function with `top_db=None` floored at -range_db
  otherwise.

  Args:
    amplitude: linear amplitude, any shape, float (e.g. a magnitude
      spectrogram [batch, n_frames, n_freqs]).
    ref_db: level in dB (re. amplitude 1) that maps to 0 dB.
    range_db: dynamic range in dB, > 0 (or None): floor of the output.
    use_tf: True for TensorFlow (float32 tensor), False for numpy.

  Returns:
    Decibels, same shape as `amplitude`, in [-range_db, inf).
    Differentiable with respect to `amplitude` above the floor.

  Example:
    >>> float(amplitude_to_db(0.1))
    -20.0
  """
  if use_tf:
    power = tf.square(tf_float32(amplitude))
  else:
    power = np.square(np.asarray(amplitude))
  return power_to_db(power, ref_db=ref_db, range_db=range_db, use_tf=use_tf)


def db_to_power(db):
  """Converts decibels (re. power 1) to power: `10 ** (db / 10)`.

  Args:
    db: float tensor of any shape, dB.

  Returns:
    Power, same shape, > 0. Differentiable with respect to `db`.

  Example:
    >>> round(float(db_to_power(-10.0)), 6)
    0.1
  """
  return tf.exp(tf_float32(db) * (_LN10 / 10.0))


def db_to_amplitude(db):
  """Converts decibels (re. amplitude 1) to amplitude: `10 ** (db / 20)`.

  Args:
    db: float tensor of any shape, dB.

  Returns:
    Amplitude, same shape, > 0. Differentiable with respect to `db`.

  Example:
    >>> round(float(db_to_amplitude(-20.0)), 6)
    0.1
  """
  return tf.exp(tf_float32(db) * (_LN10 / 20.0))


# ------------------------------------------------------------------------------
# Pitch.
# ------------------------------------------------------------------------------
def midi_to_hz(notes, midi_zero_silence=False):
  """Converts MIDI note numbers (fractional allowed) to frequency in Hz.

  `440 * 2 ** ((notes - 69) / 12)`: MIDI 69 is A4 = 440 Hz, 12 notes per
  octave.

  Args:
    notes: float tensor of any shape, MIDI note numbers (e.g. f0 in MIDI
      [batch, n_frames, 1]).
    midi_zero_silence: if True, MIDI 0 maps to 0 Hz (silence) rather than
      8.18 Hz, the inverse of `hz_to_midi` for unvoiced frames.

  Returns:
    Frequencies in Hz, same shape, float32. Differentiable with respect to
    `notes`.

  Example:
    >>> float(midi_to_hz(69.0))
    440.0
  """
  notes = tf_float32(notes)
  hz = 440.0 * tf.pow(2.0, (notes - 69.0) / 12.0)
  if midi_zero_silence:
    hz = tf.where(tf.equal(notes, 0.0), 0.0, hz)
  return hz


def hz_to_midi(frequencies, use_tf=True):
  """Converts frequencies in Hz to (fractional) MIDI note numbers.

  `12 * log2(f / 440) + 69`; frequencies <= 0 Hz (unvoiced) map to MIDI 0.

  Args:
    frequencies: float tensor or array of any shape, Hz (e.g. f0_hz
      [batch, n_frames, 1]).
    use_tf: compute with TensorFlow (float32 tensor, differentiable) or numpy
      (float64 array, for metrics and post-processing).

  Returns:
    MIDI note numbers, same shape: float32 tensor (differentiable with
    respect to `frequencies`, zero gradient where f <= 0, never NaN) or a
    float64 numpy array.

  Example:
    >>> float(hz_to_midi(880.0))
    81.0
    >>> hz_to_midi([440.0, 0.0], use_tf=False)
    array([69.,  0.])
  """
  if not use_tf:
    frequencies = np.asarray(frequencies, dtype=np.float64)
    positive = frequencies > 0.0
    safe = np.where(positive, frequencies, 440.0)
    return np.where(positive, 69.0 + 12.0 * np.log2(safe / 440.0), 0.0)
  frequencies = tf_float32(frequencies)
  notes = 12.0 / math.log(2.0) * (safe_log(frequencies) - math.log(440.0))
  notes += 69.0
  return tf.where(frequencies <= 0.0, 0.0, notes)


def _float_keeping_float64(x):
  """`x` as a float64 tensor if it is float64 already, else as float32."""
  dtype = getattr(x, 'dtype', None)
  if dtype is not None and tf.as_dtype(dtype) == tf.float64:
    return tf.convert_to_tensor(x, dtype=tf.float64)
  return tf_float32(x)


def unit_to_midi(unit, midi_min=20.0, midi_max=90.0, clip=False):
  """Maps [0, 1] linearly to the MIDI range [midi_min, midi_max].

  Args:
    unit: float tensor of any shape, nominally in [0, 1].
    midi_min: MIDI note for unit 0 (20 = 26.0 Hz).
    midi_max: MIDI note for unit 1 (90 = 1480 Hz).
    clip: if True, clip `unit` to [0, 1] first.

  Returns:
    MIDI note numbers, same shape, float32 (float64 for a float64 `unit`).
    Differentiable with respect to `unit` (zero gradient where clipped).

  Example:
    >>> float(unit_to_midi(0.5))
    55.0
  """
  unit = _float_keeping_float64(unit)
  midi_min = tf.cast(midi_min, unit.dtype)
  midi_max = tf.cast(midi_max, unit.dtype)
  if clip:
    unit = tf.clip_by_value(unit, 0.0, 1.0)
  return midi_min + (midi_max - midi_min) * unit


def midi_to_unit(midi, midi_min=20.0, midi_max=90.0, clip=False):
  """Maps the MIDI range [midi_min, midi_max] linearly to [0, 1].

  Args:
    midi: float tensor of any shape, MIDI note numbers.
    midi_min: MIDI note that maps to 0.
    midi_max: MIDI note that maps to 1.
    clip: if True, clip the result to [0, 1].

  Returns:
    Unit values, same shape, float32 (float64 for a float64 `midi`).
    Differentiable with respect to `midi`.

  Example:
    >>> float(midi_to_unit(55.0))
    0.5
  """
  midi = _float_keeping_float64(midi)
  midi_min = tf.cast(midi_min, midi.dtype)
  midi_max = tf.cast(midi_max, midi.dtype)
  unit = (midi - midi_min) / (midi_max - midi_min)
  if clip:
    unit = tf.clip_by_value(unit, 0.0, 1.0)
  return unit


# The default Hz range is the default MIDI range, 20 to 90.
_HZ_MIN = 440.0 * 2.0**((20.0 - 69.0) / 12.0)  # 25.96 Hz.
_HZ_MAX = 440.0 * 2.0**((90.0 - 69.0) / 12.0)  # 1479.98 Hz.


def unit_to_hz(unit, hz_min=_HZ_MIN, hz_max=_HZ_MAX, clip=False):
  """Maps [0, 1] to [hz_min, hz_max], linearly in MIDI (log frequency).

  Args:
    unit: float tensor of any shape, nominally in [0, 1].
    hz_min: frequency for unit 0, Hz (default MIDI 20 = 25.96 Hz). A value
      <= 0 counts as MIDI 0 (8.18 Hz), as in `hz_to_midi`.
    hz_max: frequency for unit 1, Hz (default MIDI 90 = 1479.98 Hz).
    clip: if True, clip `unit` to [0, 1] first.

  Returns:
    Frequencies in Hz, same shape. Differentiable with respect to `unit`.

  Example:
    >>> round(float(unit_to_hz(0.5, hz_min=100.0, hz_max=400.0)), 3)
    200.0
  """
  midi = unit_to_midi(unit, midi_min=hz_to_midi(hz_min),
                      midi_max=hz_to_midi(hz_max), clip=clip)
  return midi_to_hz(midi)


def hz_to_unit(hz, hz_min=_HZ_MIN, hz_max=_HZ_MAX, clip=False):
  """Maps [hz_min, hz_max] to [0, 1], linearly in MIDI (log frequency).

  The inverse of `unit_to_hz`.

  Args:
    hz: float tensor of any shape, Hz (> 0).
    hz_min: frequency that maps to 0, Hz (default MIDI 20 = 25.96 Hz).
    hz_max: frequency that maps to 1, Hz (default MIDI 90 = 1479.98 Hz).
    clip: if True, clip the result to [0, 1].

  Returns:
    Unit values, same shape. Differentiable with respect to `hz`.

  Example:
    >>> round(float(hz_to_unit(200.0, hz_min=100.0, hz_max=400.0)), 6)
    0.5
  """
  return midi_to_unit(hz_to_midi(hz), midi_min=hz_to_midi(hz_min),
                      midi_max=hz_to_midi(hz_max), clip=clip)


# ------------------------------------------------------------------------------
# Psychoacoustic scales.
# ------------------------------------------------------------------------------
def hz_to_bark(hz):
  """Converts Hz to the bark scale (Traunmueller 1990).

  `26.81 * f / (1960 + f) - 0.53`.

  Args:
    hz: float tensor of any shape, Hz, >= 0.

  Returns:
    Barks, same shape. Differentiable with respect to `hz`.

  Example:
    >>> round(float(hz_to_bark(1960.0)), 3)
    12.875
  """
  hz = tf_float32(hz)
  return 26.81 * hz / (1960.0 + hz) - 0.53


def bark_to_hz(bark):
  """Converts barks to Hz, the inverse of `hz_to_bark`.

  Args:
    bark: float tensor of any shape, barks in (-0.53, 26.28).

  Returns:
    Frequencies in Hz, same shape. Differentiable with respect to `bark`.

  Example:
    >>> round(float(bark_to_hz(12.875)), 2)
    1960.0
  """
  bark = tf_float32(bark)
  return 1960.0 * (bark + 0.53) / (26.28 - bark)


def hz_to_mel(hz):
  """Converts Hz to mels with the HTK formula `2595 * log10(1 + f / 700)`.

  Equals `librosa.hz_to_mel(hz, htk=True)`.

  Args:
    hz: float tensor of any shape, Hz, >= 0.

  Returns:
    Mels, same shape. Differentiable with respect to `hz`.

  Example:
    >>> round(float(hz_to_mel(700.0)), 2)
    781.17
  """
  hz = tf_float32(hz)
  return (2595.0 / _LN10) * tf.math.log1p(hz / 700.0)


def mel_to_hz(mel):
  """Converts HTK mels to Hz, the inverse of `hz_to_mel`.

  Args:
    mel: float tensor of any shape, mels.

  Returns:
    Frequencies in Hz, same shape. Differentiable with respect to `mel`.

  Example:
    >>> round(float(mel_to_hz(781.17)), 1)
    700.0
  """
  mel = tf_float32(mel)
  return 700.0 * tf.math.expm1(mel * (_LN10 / 2595.0))


def hz_to_erb(hz):
  """Equivalent rectangular bandwidth of the auditory filter at `hz`.

  `0.108 * f + 24.7` Hz (Glasberg & Moore 1990: 24.7 * (4.37 f / 1000 + 1)).

  Args:
    hz: float tensor of any shape, Hz (centre frequencies).

  Returns:
    Bandwidths in Hz, same shape. Differentiable with respect to `hz`.

  Example:
    >>> round(float(hz_to_erb(1000.0)), 1)
    132.7
  """
  return 0.108 * tf_float32(hz) + 24.7


# ------------------------------------------------------------------------------
# Scale functions.
# ------------------------------------------------------------------------------
@registration.register('ddsp.core', serializable=True)
def exp_sigmoid(x, exponent=10.0, max_value=2.0, threshold=1e-7):
  """Exponentiated sigmoid: the default nonlinearity for amplitude controls.

  `max_value * sigmoid(x) ** log(exponent) + threshold`. Like a sigmoid it is
  bounded, but it rises exponentially (about `exponent` times per unit of x
  for x << 0), so a network output spans a wide range of levels in dB, and
  the small threshold keeps it strictly positive (safe to take logs of).

  Args:
    x: float tensor of any shape, unconstrained network outputs.
    exponent: > 1, the base of the exponential rise (10 by default).
    max_value: upper limit of the output, approached as x -> inf (2 by
      default, so x = 0 gives 2 * 0.5 ** ln(10) = 0.405).
    threshold: lower limit of the output, approached as x -> -inf.

  Returns:
    Tensor like `x` with values in (threshold, max_value + threshold).
    Differentiable with respect to `x` (computed in the log domain, so
    gradients stay finite for very negative x).

  Example:
    >>> round(float(exp_sigmoid(0.0)), 4)
    0.4054
  """
  x = tf_float32(x)
  log_exponent = math.log(exponent)
  # sigmoid(x) ** p computed as exp(p * log_sigmoid(x)) for stability.
  return max_value * tf.exp(log_exponent * tf.math.log_sigmoid(x)) + threshold


@registration.register('ddsp.core', serializable=True)
def sym_exp_sigmoid(x, width=8.0):
  """Symmetric exponentiated sigmoid, `exp_sigmoid(width * (|x| / 2 - 1))`.

  Near the threshold (1e-7) for x around 0, rising exponentially in both
  directions; equals exp_sigmoid(0) = 0.405 at |x| = 2.

  Args:
    x: float tensor of any shape.
    width: > 0, the steepness (larger is a narrower dip around 0).

  Returns:
    Tensor like `x` with values in (1e-7, 2 + 1e-7). Differentiable with
    respect to `x`.

  Example:
    >>> round(float(sym_exp_sigmoid(2.0)), 4)
    0.4054
    >>> round(float(sym_exp_sigmoid(-2.0)), 4)
    0.4054
  """
  x = tf_float32(x)
  return exp_sigmoid(width * (tf.abs(x) / 2.0 - 1.0))


def _split_depth(freqs, depth):
  """[..., n_sinusoids * depth] -> [..., n_sinusoids, depth] (rank-3 input).

  Inputs of rank 4 already have the depth axis last and are returned as is,
  with their depth.
  """
  freqs = tf_float32(freqs)
  shape = validation.check_rank(freqs, 'freqs', (3, 4))
  if len(shape) == 4:
    return freqs, shape[-1]
  depth = validation.check_positive_int(depth, 'depth')
  n_channels = shape[-1]
  if n_channels is not None and n_channels % depth:
    raise ValueError(
        '`freqs` must have a last axis of n_sinusoids * depth channels. '
        f'Received: freqs.shape={tuple(shape)} with depth={depth}')
  dynamic = tf.shape(freqs)
  new_shape = [d if d is not None else dynamic[i]
               for i, d in enumerate(shape[:2])]
  return tf.reshape(freqs, new_shape + [-1, depth]), depth


@registration.register('ddsp.core', serializable=True)
def frequencies_softmax(freqs, depth=1, hz_min=20.0, hz_max=8000.0):
  """Network outputs -> sinusoid frequencies, by a softmax over pitch bins.

  Each sinusoid has `depth` bins spaced evenly in MIDI (log frequency) from
  `hz_min` to `hz_max`; the softmax of its `depth` logits weights the bins'
  unit positions, and the weighted position is mapped back to Hz with
  `unit_to_hz`. With depth=1 every frequency is `hz_min`.

  Args:
    freqs: float32 network outputs, [batch, n_frames, n_sinusoids * depth]
      (bins of a sinusoid adjacent) or [batch, n_frames, n_sinusoids, depth].
    depth: number of bins per sinusoid (for rank-3 `freqs`; rank 4 uses its
      last axis).
    hz_min: frequency of the lowest bin, Hz.
    hz_max: frequency of the highest bin, Hz.

  Returns:
    Frequencies, [batch, n_frames, n_sinusoids] float32, Hz, in
    [hz_min, hz_max]. Differentiable with respect to `freqs`.

  Raises:
    ValueError: if `freqs` is not rank 3 or 4, or its channels are not a
      multiple of `depth`.

  Example:
    >>> frequencies_softmax(tf.zeros([1, 10, 4 * 8]), depth=8).shape
    TensorShape([1, 10, 4])
  """
  freqs, depth = _split_depth(freqs, depth)
  probs = tf.nn.softmax(freqs, axis=-1)
  bins = tf.constant(np.linspace(0.0, 1.0, depth), dtype=tf.float32)
  unit = tf.reduce_sum(probs * bins, axis=-1)
  return unit_to_hz(unit, hz_min=hz_min, hz_max=hz_max)


@registration.register('ddsp.core', serializable=True)
def frequencies_sigmoid(freqs, depth=1, hz_min=0.0, hz_max=8000.0):
  """Network outputs -> sinusoid frequencies, by a sum of scaled sigmoids.

  The span `hz_max - hz_min` is split into `depth` shares that shrink
  geometrically (coarse to fine): component i < depth - 1 maps the sigmoid of
  its logit into [0, share_i] and the last one into
  [hz_min, hz_min + share_last], each with `unit_to_hz` (log scale), and the
  frequency is their sum. With depth=1 it is
  `unit_to_hz(sigmoid(x), hz_min, hz_max)`. As in `hz_to_midi`, a bound of
  0 Hz counts as MIDI 0 (8.18 Hz), so the lowest frequency is
  `hz_min + (depth - 1) * 8.18` (about `depth * 8.18` for hz_min=0).
  (The published library mapped the last share to [hz_min, share_last], so
  its top frequency was hz_max - hz_min; both agree for the default
  hz_min=0.)

  Args:
    freqs: float32 network outputs, [batch, n_frames, n_sinusoids * depth]
      or [batch, n_frames, n_sinusoids, depth].
    depth: number of sigmoid components per sinusoid (for rank-3 `freqs`).
    hz_min: lowest frequency, Hz.
    hz_max: highest frequency, Hz.

  Returns:
    Frequencies, [batch, n_frames, n_sinusoids] float32, Hz, never above
    `hz_max` (the sum is capped there against float32 rounding).
    Differentiable with respect to `freqs`.

  Raises:
    ValueError: if `freqs` is not rank 3 or 4, or its channels are not a
      multiple of `depth`.

  Example:
    >>> x = tf.zeros([1, 10, 4])
    >>> f = frequencies_sigmoid(x, hz_min=100.0, hz_max=400.0)
    >>> round(float(f[0, 0, 0]), 2)
    200.0
  """
  freqs, depth = _split_depth(freqs, depth)
  probs = tf.nn.sigmoid(freqs)
  remainder = hz_max - hz_min
  factor = remainder**(1.0 / depth)
  total = 0.0
  for i in range(depth):
    if i == depth - 1:
      lo, hi = hz_min, hz_min + remainder
    else:
      lo, hi = 0.0, remainder * (1.0 - 1.0 / factor)
      remainder -= hi
    total += unit_to_hz(probs[..., i], hz_min=lo, hz_max=hi)
  # Saturated components can sum to a float32 rounding above hz_max.
  return tf.minimum(total, hz_max)


@registration.register('ddsp.core', serializable=True)
def frequencies_critical_bands(freqs, depth=1, depth_scale=10.0,
                               bandwidth_scale=1.0, hz_min=20.0,
                               hz_max=8000.0, scale='bark'):
  """Network outputs -> sinusoid frequencies, each within a critical band.

  Sinusoid i has a fixed centre frequency, the centres spaced evenly on the
  bark (or mel) scale from `hz_min` to `hz_max`, and the network moves it by
  up to `bandwidth_scale` ERBs (`hz_to_erb` of the centre) up or down:
  `f = centre + bandwidth_scale * erb(centre) * m`, with
  `m = sum_d tanh(x_d) * depth_scale ** -d` (d = 0 .. depth - 1, so deeper
  components make finer adjustments). Finally `f` is softly limited to
  [hz_min, hz_max] (`soft_limit`, shifted so that frequencies inside the
  range are unchanged).

  Args:
    freqs: float32 network outputs, [batch, n_frames, n_sinusoids * depth]
      or [batch, n_frames, n_sinusoids, depth].
    depth: number of components per sinusoid (for rank-3 `freqs`).
    depth_scale: > 1, each further component has 1 / depth_scale the
      influence of the one before.
    bandwidth_scale: largest offset from the centre, in ERBs.
    hz_min: lowest centre frequency and lower limit, Hz.
    hz_max: highest centre frequency and upper limit, Hz.
    scale: 'bark' or 'mel', the scale on which centres are evenly spaced.

  Returns:
    Frequencies, [batch, n_frames, n_sinusoids] float32, Hz, in
    (hz_min, hz_max). Differentiable with respect to `freqs`.

  Raises:
    ValueError: if `scale` is unknown, or `freqs` is not rank 3 or 4, or its
      channels are not a multiple of `depth`.

  Example:
    >>> frequencies_critical_bands(tf.zeros([1, 10, 16])).shape
    TensorShape([1, 10, 16])
  """
  validation.check_one_of(scale, 'scale', ('bark', 'mel'))
  freqs, depth = _split_depth(freqs, depth)
  n_sinusoids = freqs.shape[-2]
  if n_sinusoids is None:
    raise ValueError('`freqs` must have a known number of sinusoids. '
                     f'Received: freqs.shape={freqs.shape}')
  to_scale, from_scale = ((hz_to_bark, bark_to_hz) if scale == 'bark'
                          else (hz_to_mel, mel_to_hz))
  # Constant centres, [n_sinusoids].
  centres = from_scale(tf.linspace(to_scale(hz_min), to_scale(hz_max),
                                   n_sinusoids))
  bandwidths = bandwidth_scale * hz_to_erb(centres)
  weights = tf.constant(depth_scale**-np.arange(depth, dtype=np.float64),
                        dtype=tf.float32)
  modulation = tf.reduce_sum(tf.tanh(freqs) * weights, axis=-1)
  hz = centres + bandwidths * modulation
  return soft_limit(hz - hz_min, hz_min, hz_max)
