"""Physical models: a plucked string (digital waveguide) and modal synthesis.

`plucked_string` is a Karplus-Strong string: the excitation enters a
feedback loop of a delay line (the period of f0), a fractional-delay
interpolator and a loop filter (damping and brightness),

  y[n] = x[n] + sum_{m=0..3} c_m[n] y[n - D[n] - m],

with the four taps `c` the product of the loop gain, a two-tap fractional
delay `[1 - e, e]` and the symmetric loop filter `[s, 1 - 2 s, s]`. The
loop filter has a phase delay of exactly one sample at every frequency, and
`e` is solved so that the interpolator's phase delay at f0 is exactly the
remaining fraction of the period (not the low-frequency approximation
`e = fraction` of plain linear interpolation), so the loop delay at f0 is
exactly `sample_rate / f0` and the pitch is exact.

Algorithm (no Python loop over samples): the shortest delay in the loop is
`D >= B` samples, so a block of `B` output samples depends only on earlier
blocks. A `tf.while_loop` runs over blocks of `B = min(D)` samples, and each
block is computed at once from a rolling history of past output (a gather of
four taps per sample). A low note (long period) therefore needs few
iterations: about `n_samples / (sample_rate / max f0)`.

`modal_synthesis` sums exponentially decaying sinusoids (the modes of a
struck bar, bell or plate), as an impulse response, optionally convolved
with an excitation.
"""

import numpy as np
import tensorflow as tf

from ddsp import validation
from ddsp.core.filtering import fft_convolve
from ddsp.core.utils import broadcast_batch
from ddsp.core.utils import tf_float32

__all__ = [
    'plucked_string',
    'plucked_string_history_size',
    'string_loop_taps',
    'modal_synthesis',
]

# ln(1000): a T60 decay is a factor 1000 in amplitude.
_LN_1000 = float(np.log(1000.0))


def plucked_string_history_size(sample_rate, min_f0_hz):
  """Samples of past output a plucked string keeps: its streaming state.

  Args:
    sample_rate: Hz.
    min_f0_hz: the lowest f0 the string plays, Hz.

  Returns:
    int, `ceil(sample_rate / min_f0_hz) + 4` (the longest loop delay plus the
    four taps of the loop filter and interpolator).

  Example:
    >>> plucked_string_history_size(16000, 20.0)
    804
  """
  validation.check_positive(sample_rate, 'sample_rate')
  validation.check_positive(min_f0_hz, 'min_f0_hz')
  return int(np.ceil(sample_rate / min_f0_hz)) + 4


def string_loop_taps(f0_hz, t60, brightness, sample_rate=16000,
                     min_f0_hz=20.0):
  """The loop delay and taps of a plucked string at given controls.

  Controls are mapped to the stable range: f0 is clipped to
  `[min_f0_hz, sample_rate / 4]`, `t60` to at least 1 ms and `brightness` to
  [0, 1].

  * Period `P = sample_rate / f0`; integer delay `D = floor(P - 1)` and
    fraction `d = P - 1 - D` (the loop filter adds one sample).
  * Fractional delay `[1 - e, e]` with
    `e = sin(w d) / (sin(w (1 - d)) + sin(w d))`, `w = 2 pi f0 /
    sample_rate`: its phase delay at f0 is exactly `d`.
  * Loop filter `[s, 1 - 2 s, s]`, `s = (1 - brightness) / 4`: brightness 1
    passes every harmonic, 0 is the classic averaging lowpass (zero at
    Nyquist).
  * Loop gain `g = 1000 ** (-P / (sample_rate * t60))`: the lowest
    frequencies decay by 60 dB in `t60` seconds; higher ones faster, by the
    magnitude of the filter and the interpolator at their frequency. The
    fundamental's T60 is `-3 P / (sample_rate * log10(g |H(w)|))` with `H`
    the filter times the interpolator.

  Args:
    f0_hz: float32 tensor, Hz (any shape).
    t60: float32, same shape, seconds.
    brightness: float32, same shape, in [0, 1].
    sample_rate: Hz.
    min_f0_hz: Hz, the lowest f0.

  Returns:
    (delay, taps): int32 `D` like `f0_hz`, and float32 taps
    [..., 4] at delays D, D + 1, D + 2, D + 3. Differentiable (the taps) with
    respect to all three controls.

  Example:
    >>> delay, taps = string_loop_taps(tf.constant([400.0]), tf.constant(
    ...     [1.0]), tf.constant([1.0]), sample_rate=16000)
    >>> int(delay[0]), [round(float(c), 4) for c in taps[0]]
    (39, [0.0, 0.9829, 0.0, 0.0])
  """
  validation.check_positive(sample_rate, 'sample_rate')
  validation.check_positive(min_f0_hz, 'min_f0_hz')
  f0_hz = tf.clip_by_value(tf_float32(f0_hz), float(min_f0_hz),
                           sample_rate / 4.0)
  t60 = tf.maximum(tf_float32(t60), 1e-3)
  brightness = tf.clip_by_value(tf_float32(brightness), 0.0, 1.0)
  period = sample_rate / f0_hz
  delay = tf.floor(period - 1.0)
  fraction = period - 1.0 - delay
  omega = 2.0 * np.pi * f0_hz / sample_rate
  numerator = tf.sin(omega * fraction)
  frac_tap = numerator / (tf.sin(omega * (1.0 - fraction)) + numerator)
  s = 0.25 * (1.0 - brightness)
  gain = tf.exp(-_LN_1000 * period / (sample_rate * t60))
  a, b = 1.0 - frac_tap, frac_tap
  taps = tf.stack([a * s, a * (1.0 - 2.0 * s) + b * s,
                   a * s + b * (1.0 - 2.0 * s), b * s], axis=-1)
  return tf.cast(delay, tf.int32), taps * gain[..., tf.newaxis]


def _audio_rate(x, name):
  """float32 [batch, n_samples] from [batch, n_samples(, 1)]."""
  x = tf_float32(x)
  shape = validation.check_rank(x, name, (2, 3))
  if len(shape) == 3:
    if shape[2] not in (1, None):
      raise ValueError(f'`{name}` must have shape [batch, n_samples] or '
                       f'[batch, n_samples, 1]. '
                       f'Received: {name}.shape={tuple(shape)}')
    x = x[..., 0]
  return validation.check_finite(x, name)


# No Python control flow on tensors inside (the loop is an explicit
# tf.while_loop): autograph conversion would only slow down tracing.
@tf.autograph.experimental.do_not_convert
def plucked_string(excitation, f0_hz, t60, brightness, sample_rate=16000,
                   min_f0_hz=20.0, initial_state=None, return_state=False):
  """Karplus-Strong plucked string driven by an excitation (see the module).

  Args:
    excitation: float32 [batch, n_samples], the signal fed into the loop,
      e.g. a short noise burst (a pluck) at the start.
    f0_hz: float32 [batch, n_samples] (or [..., 1]), Hz, at audio rate;
      clipped to [min_f0_hz, sample_rate / 4].
    t60: float32 [batch, n_samples], seconds for the lowest frequencies to
      decay by 60 dB; at least 1 ms.
    brightness: float32 [batch, n_samples] in [0, 1] (clipped): 1 keeps the
      harmonics as long as the fundamental, 0 damps them fastest.
    sample_rate: Hz.
    min_f0_hz: Hz, the lowest f0: sets the history kept
      (`plucked_string_history_size`).
    initial_state: None (silence) or float32 [batch, history_size], the
      state returned by a previous call: the string continues it exactly.
    return_state: also return the state after the last sample.

  Returns:
    float32 [batch, n_samples] (batch: the largest of the inputs' batch
    sizes; a batch of 1 is broadcast), and with `return_state` the state
    [batch, history_size]. Differentiable with respect to the excitation,
    `f0_hz` (through the fractional delay and gain), `t60` and `brightness`.

  Raises:
    ValueError: for wrong ranks, disagreeing lengths or batch sizes, NaN or
      infinite values, or a state of the wrong size.

  Example:
    >>> x = tf.one_hot([0], 800)
    >>> y = plucked_string(x, tf.fill([1, 800], 400.0), tf.ones([1, 800]),
    ...                    tf.ones([1, 800]))
    >>> [round(float(y[0, n]), 3) for n in (0, 40, 80)]
    [1.0, 0.983, 0.966]
  """
  history = plucked_string_history_size(sample_rate, min_f0_hz)
  controls = {'excitation': _audio_rate(excitation, 'excitation'),
              'f0_hz': _audio_rate(f0_hz, 'f0_hz'),
              't60': _audio_rate(t60, 't60'),
              'brightness': _audio_rate(brightness, 'brightness')}
  validation.check_same_dim(controls, 1, 'n_samples')
  validation.check_not_empty(controls['excitation'], 'excitation', 1,
                             'sample')
  if initial_state is not None:
    initial_state = tf_float32(initial_state)
    validation.check_shape(initial_state, 'initial_state', [None, history])
    controls['initial_state'] = initial_state
  controls = broadcast_batch(controls)
  x = controls['excitation']
  batch, n_samples = tf.shape(x)[0], tf.shape(x)[1]
  delay, taps = string_loop_taps(controls['f0_hz'], controls['t60'],
                                 controls['brightness'], sample_rate,
                                 min_f0_hz)
  if initial_state is None:
    state = tf.zeros([batch, history])
  else:
    state = controls['initial_state']
  y = _string_loop(x, taps, delay, state)
  y = tf.ensure_shape(y, x.shape)
  if not return_state:
    return y
  full = tf.concat([state, y], axis=1)
  return y, tf.ensure_shape(full[:, -history:], [x.shape[0], history])


def _blocking(delay):
  """(block, n_blocks, pad, to_blocks) for a loop over blocks of min(D)."""
  batch, n_samples = tf.shape(delay)[0], tf.shape(delay)[1]
  block = tf.reduce_min(delay)  # >= 3: f0 <= sample_rate / 4.
  n_blocks = (n_samples + block - 1) // block
  pad = n_blocks * block - n_samples

  def to_blocks(v, fill=0):
    """[batch, n_samples, ...] -> [n_blocks, batch, block, ...], padded."""
    paddings = [[0, 0], [0, pad]] + [[0, 0]] * (v.shape.rank - 2)
    v = tf.pad(v, paddings, constant_values=fill)
    shape = tf.concat([[batch, n_blocks, block], tf.shape(v)[2:]], 0)
    v = tf.reshape(v, shape)
    perm = [1, 0] + list(range(2, v.shape.rank))
    return tf.transpose(v, perm)

  return block, n_blocks, to_blocks


def _from_blocks(array, batch, n_samples):
  """TensorArray of [batch, block] blocks -> [batch, n_samples]."""
  y = tf.reshape(tf.transpose(array.stack(), [1, 0, 2]), [batch, -1])
  return y[:, :n_samples]


@tf.custom_gradient
def _string_loop_grad(x, taps, delay, state):
  """`_string_loop` with the gradient of its adjoint (time-reversed) loop.

  The output is linear in x and the state: y = L^-1 (x + state terms) with L
  lower-triangular. The adjoint lam = L^-T g runs backwards over the same
  blocks (each block of lam depends only on later blocks); then
  d/dx = lam, d/dtaps[n, m] = lam[n] z[n - D_n - m] (z: state then y) and
  d/dstate collects the contributions that fall before sample 0. This keeps
  no per-block intermediates for the backward pass.
  """
  history = state.shape[1]
  batch, n_samples = tf.shape(x)[0], tf.shape(x)[1]
  block, n_blocks, to_blocks = _blocking(delay)
  offsets = history + tf.range(block)[:, tf.newaxis] - tf.range(4)
  inputs = [tf.TensorArray(v.dtype, size=n_blocks, clear_after_read=False)
            .unstack(to_blocks(v, fill))
            for v, fill in ((x, 0), (taps, 0), (delay, block))]

  def body(k, window, outputs):
    x_k, taps_k, delay_k = (array.read(k) for array in inputs)
    index_k = offsets - delay_k[..., tf.newaxis]  # [batch, block, 4]
    past = tf.gather(window, index_k, batch_dims=1)  # [batch, block, 4]
    y_k = x_k + tf.reduce_sum(taps_k * past, axis=-1)
    window = tf.ensure_shape(tf.concat([window[:, block:], y_k], axis=1),
                             [None, history])
    return k + 1, window, outputs.write(k, y_k)

  _, _, outputs = tf.while_loop(
      lambda k, *_: k < n_blocks, body,
      (0, state, tf.TensorArray(tf.float32, size=n_blocks)),
      shape_invariants=(tf.TensorShape([]), tf.TensorShape([None, history]),
                        tf.TensorShape(None)))
  y = _from_blocks(outputs, batch, n_samples)

  def grad(g):
    width = history + block
    rows = tf.range(batch)[:, tf.newaxis, tf.newaxis] * width
    g_blocks = tf.TensorArray(tf.float32, size=n_blocks).unstack(
        to_blocks(g))

    def back_step(k, acc, lams):
      taps_k, delay_k = inputs[1].read(k), inputs[2].read(k)
      lam_k = g_blocks.read(k) + acc[:, history:]
      index_k = offsets - delay_k[..., tf.newaxis]  # In [0, history).
      values = taps_k * lam_k[..., tf.newaxis]
      scattered = tf.math.unsorted_segment_sum(
          tf.reshape(values, [-1]), tf.reshape(rows + index_k, [-1]),
          batch * width)
      scattered = tf.reshape(scattered, [batch, width])[:, :history]
      # Window of block k - 1: B new samples in front, then what block k's
      # window held before its own block, plus the new contributions.
      acc = tf.concat([tf.zeros([batch, block]),
                       acc[:, :history] + scattered], axis=1)
      acc = tf.ensure_shape(acc, [None, None])
      return k - 1, acc, lams.write(k, lam_k)

    _, acc, lams = tf.while_loop(
        lambda k, *_: k >= 0, back_step,
        (n_blocks - 1, tf.zeros([batch, width]),
         tf.TensorArray(tf.float32, size=n_blocks)),
        shape_invariants=(tf.TensorShape([]), tf.TensorShape([None, None]),
                          tf.TensorShape(None)))
    lam = _from_blocks(lams, batch, n_samples)
    z = tf.concat([state, y], axis=1)
    n = tf.range(n_samples)[tf.newaxis, :, tf.newaxis]
    index = history + n - delay[..., tf.newaxis] - tf.range(4)
    grad_taps = lam[..., tf.newaxis] * tf.gather(z, index, batch_dims=1)
    return lam, grad_taps, None, acc[:, block:]

  return y, grad


def _string_loop(x, taps, delay, state):
  """y[n] = x[n] + sum_m taps[n, m] y[n - D_n - m], y before 0 from state."""
  return _string_loop_grad(x, taps, delay, state)


# Samples per block of the modal bank's separable form.
_MODAL_BLOCK = 256


def _damped_sines(f, decay, gain, n_samples, sample_rate):
  """sum_k gain_k exp(-ln(1000) n / (sr decay_k)) sin(2 pi f_k n / sr).

  Separable form: with n = q * H + r (blocks of H samples), the angle
  addition formula and exp(-a (qH + r)) = exp(-a q H) exp(-a r) make the
  [batch, Q, H] output two matrix products over modes,
  `P[q, k] U[r, k] + Q[q, k] V[r, k]`, instead of [batch, n_samples, n_modes]
  sines and exponentials. The block phases are computed in float64 and
  wrapped before the cast.
  """
  block = _MODAL_BLOCK
  n_blocks = -(-n_samples // block)
  rate = _LN_1000 / (decay * sample_rate)  # Per sample, [batch, n_modes].
  q = tf.range(n_blocks, dtype=tf.float64)[:, tf.newaxis] * block
  cycles = tf.math.floormod(
      tf.cast(f, tf.float64)[:, tf.newaxis, :] * q / sample_rate, 1.0)
  a = tf.cast(cycles, tf.float32) * (2.0 * np.pi)  # [batch, Q, n_modes]
  start = gain[:, tf.newaxis, :] * tf.exp(
      -rate[:, tf.newaxis, :] * tf.cast(q, tf.float32))
  r = tf.range(block, dtype=tf.float32)[:, tf.newaxis]
  b = (2.0 * np.pi / sample_rate) * f[:, tf.newaxis, :] * r  # [batch, H, k]
  within = tf.exp(-rate[:, tf.newaxis, :] * r)
  h = (tf.matmul(start * tf.sin(a), within * tf.cos(b), transpose_b=True)
       + tf.matmul(start * tf.cos(a), within * tf.sin(b), transpose_b=True))
  return tf.reshape(h, [tf.shape(h)[0], -1])[:, :n_samples]


def modal_synthesis(frequencies, t60, gains, n_samples, sample_rate=16000,
                    excitation=None):
  """A bank of exponentially decaying sinusoidal modes.

  The impulse response is

    h[n] = sum_k gains_k exp(-ln(1000) n / (sample_rate t60_k))
           sin(2 pi frequencies_k n / sample_rate),   n = 0 .. n_samples - 1,

  (each mode decays by 60 dB in `t60_k` seconds). The phase is computed in
  float64 and wrapped before the cast, so long renders stay in tune. Modes at
  or above Nyquist, or at negative frequencies, are silent; `t60` below one
  sample is taken as one sample. With `excitation`, the response is the
  causal convolution of the excitation with `h`, cropped to its length (a
  struck object driven by a mallet or any audio).

  Args:
    frequencies: float32 [batch, n_modes], Hz.
    t60: float32 [batch, n_modes], seconds.
    gains: float32 [batch, n_modes], linear amplitude of each mode.
    n_samples: int > 0, output length (64000 = 4 s at 16 kHz).
    sample_rate: Hz.
    excitation: None (an impulse at sample 0) or float32 [batch, n_samples].

  Returns:
    float32 [batch, n_samples]; batch 1 inputs are broadcast. Differentiable
    with respect to frequencies, t60, gains and the excitation.

  Raises:
    ValueError: for wrong ranks, disagreeing numbers of modes or batch
      sizes, NaN or infinite values, or an excitation of another length.

  Example:
    >>> h = modal_synthesis([[4000.0]], [[1.0]], [[1.0]], 4)
    >>> h.numpy().round(4)
    array([[ 0.    ,  0.9996, -0.    , -0.9987]], dtype=float32)
  """
  n_samples = validation.check_positive_int(n_samples, 'n_samples')
  validation.check_positive(sample_rate, 'sample_rate')
  modes = {}
  for name, x in (('frequencies', frequencies), ('t60', t60),
                  ('gains', gains)):
    x = tf_float32(x)
    validation.check_rank(x, name, 2)
    validation.check_not_empty(x, name, 1, 'mode')
    modes[name] = validation.check_finite(x, name)
  validation.check_same_dim(modes, 1, 'n_modes')
  validation.check_broadcastable_dim(modes, 0, 'batch')
  f, decay, gain = modes['frequencies'], modes['t60'], modes['gains']
  audible = tf.logical_and(f >= 0.0, f < sample_rate / 2.0)
  gain = tf.where(audible, gain, tf.zeros_like(gain))
  decay = tf.maximum(decay, 1.0 / sample_rate)
  h = _damped_sines(f, decay, gain, n_samples, sample_rate)
  if excitation is None:
    return h
  excitation = tf_float32(excitation)
  validation.check_audio(excitation, 'excitation')
  validation.check_shape(excitation, 'excitation', [None, n_samples])
  both = broadcast_batch({'excitation': excitation, 'h': h})
  return fft_convolve(both['excitation'], both['h'], padding='same',
                      delay_compensation=0)
