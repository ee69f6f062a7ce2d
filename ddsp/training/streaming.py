"""Block renderers with explicit state, the parts of streaming inference.

Each renderer turns one block of frame-rate controls, plus the state the
previous block left, into that block's audio and the new state. Fed block
after block they reproduce the offline processors sample for sample:

* `HarmonicBlock` renders `ddsp.synths.Harmonic`. Hop t of the audio
  interpolates between frames t and t + 1, so a block renders the hops that
  end at its frames (the previous block's last frame is state). The phase is
  carried as an exact integer (the offline synth sums its phase in float64),
  so blocks never drift from a whole-clip render.
* `FilteredNoiseBlock` renders `ddsp.synths.FilteredNoise` with
  `counter_noise=True`: the noise at each absolute sample index comes from
  `core.counter_uniform_noise`, each frame's Hann-windowed noise is filtered
  by that frame's linear-phase FIR filter, and the results are overlap-added.
  A frame's filter reaches `lookahead` samples before the frame, so a block's
  noise is complete only up to `lookahead` samples before its end.
* `ReverbBlock` is the convolution of `ddsp.effects.Reverb`, by uniformly
  partitioned overlap-save: the spectra of past input partitions are state
  (a frequency-domain delay line), so each block costs a few small DFTs.
* `gru_block` runs a GRU (Keras weights, `reset_after`) from a given state.

Only float32 and integer TensorFlow ops that TFLite provides as builtins are
used: no float64, no complex tensors and no FFT kernels (the DFTs are matrix
products with cosine/sine tables). A step built from these converts to a TFLite
model that runs without the Flex delegate, which the interpreter of the
`tensorflow` pip package does not include.
"""

import functools

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import validation
from ddsp.training import gru

__all__ = [
    'dense',
    'rdft_matrix',
    'irdft_matrix',
    'HarmonicBlock',
    'FilteredNoiseBlock',
    'ReverbBlock',
    'gru_block',
]

# f0 in the phase accumulator is a fixed-point number with 24 fractional bits:
# exact for every float32 frequency >= 0.5 Hz.
_F0_FRACTION_BITS = 24


# ------------------------------------------------------------------------------
# Real DFTs as matrix products.
# ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def rdft_matrix(n_in, fft_size):
  """The real DFT as a matrix: `x @ M = [Re X | Im X]`, X = rfft(x, fft_size).

  Args:
    n_in: int > 0, samples of the input (zero-padded to `fft_size`), at most
      `fft_size`.
    fft_size: int > 0, DFT length.

  Returns:
    [n_in, 2 * (fft_size // 2 + 1)] float32 numpy array (read-only).

  Example:
    >>> x = np.random.default_rng(0).normal(size=(2, 6)).astype(np.float32)
    >>> spectrum = np.fft.rfft(x, 8)
    >>> np.allclose(x @ rdft_matrix(6, 8),
    ...             np.concatenate([spectrum.real, spectrum.imag], -1),
    ...             atol=1e-5)
    True
  """
  n_in = validation.check_positive_int(n_in, 'n_in')
  fft_size = validation.check_positive_int(fft_size, 'fft_size')
  if n_in > fft_size:
    raise ValueError('`n_in` must be at most `fft_size`. Received: '
                     f'n_in={n_in}, fft_size={fft_size}')
  angles = 2.0 * np.pi * np.outer(np.arange(n_in),
                                  np.arange(fft_size // 2 + 1)) / fft_size
  matrix = np.concatenate([np.cos(angles), -np.sin(angles)], axis=1)
  matrix = matrix.astype(np.float32)
  matrix.flags.writeable = False
  return matrix


@functools.lru_cache(maxsize=16)
def irdft_matrix(fft_size, start=0, stop=None):
  """Inverse real DFT matrix: `[Re X | Im X] @ M = irfft(X)[start:stop]`.

  As `np.fft.irfft`, the imaginary parts of the 0 Hz and Nyquist bins are
  ignored.

  Args:
    fft_size: int > 0, DFT length.
    start: int, first output sample.
    stop: int, end of the output samples (None: `fft_size`).

  Returns:
    [2 * (fft_size // 2 + 1), stop - start] float32 numpy array (read-only).

  Example:
    >>> x = np.random.default_rng(0).normal(size=8)
    >>> spectrum = np.fft.rfft(x)
    >>> y = np.concatenate([spectrum.real, spectrum.imag]) @ irdft_matrix(8, 2)
    >>> np.allclose(y, x[2:], atol=1e-5)
    True
  """
  fft_size = validation.check_positive_int(fft_size, 'fft_size')
  stop = fft_size if stop is None else stop
  if not 0 <= start < stop <= fft_size:
    raise ValueError('Need 0 <= start < stop <= fft_size. Received: '
                     f'start={start}, stop={stop}, fft_size={fft_size}')
  n_bins = fft_size // 2 + 1
  weights = np.full(n_bins, 2.0)
  weights[0] = 1.0
  if fft_size % 2 == 0:
    weights[-1] = 1.0
  angles = 2.0 * np.pi * np.outer(np.arange(n_bins),
                                  np.arange(start, stop)) / fft_size
  real = weights[:, np.newaxis] * np.cos(angles) / fft_size
  imag = -weights[:, np.newaxis] * np.sin(angles) / fft_size
  imag[0] = 0.0
  if fft_size % 2 == 0:
    imag[-1] = 0.0
  matrix = np.concatenate([real, imag], axis=0).astype(np.float32)
  matrix.flags.writeable = False
  return matrix


def _complex_product_matrix(fft_size, start, stop):
  """[4K, n] M with `[Re(a)Re(b) | Im(a)Im(b) | Re(a)Im(b) | Im(a)Re(b)] @ M`
  = irfft(a * b)[start:stop], K = fft_size // 2 + 1."""
  inverse = irdft_matrix(fft_size, start, stop)
  n_bins = fft_size // 2 + 1
  real, imag = inverse[:n_bins], inverse[n_bins:]
  return np.concatenate([real, -real, imag, imag], axis=0)


def _products(a, b, b_swapped):
  """[Re a Re b | Im a Im b | Re a Im b | Im a Re b] from [Re | Im] halves."""
  return tf.concat([a * b, a * b_swapped], axis=-1)


def dense(x, matrix):
  """x @ matrix over the last axis, as one 2-D matmul.

  TFLite maps a 2-D product with a constant matrix to FULLY_CONNECTED, which
  its XNNPACK delegate accelerates; a 3-D `tf.tensordot` may become
  BATCH_MATMUL instead.
  """
  shape = tf.shape(x)
  flat = tf.reshape(x, [-1, x.shape[-1]])
  out = tf.matmul(flat, matrix)
  return tf.reshape(out, tf.concat([shape[:-1], [out.shape[-1]]], axis=0))


def _swap_halves(x):
  """[Re | Im] -> [Im | Re] along the last axis (numpy)."""
  half = x.shape[-1] // 2
  return np.concatenate([x[..., half:], x[..., :half]], axis=-1)


# ------------------------------------------------------------------------------
# Harmonic synthesizer.
# ------------------------------------------------------------------------------
class HarmonicBlock:
  """Renders hops of harmonic synthesis from frame pairs, with exact phase.

  Hop t (samples `t * hop ... t * hop + hop - 1`) interpolates f0 linearly and
  the harmonic amplitudes with `amp_resample_method` from frame t to frame
  t + 1, and silences harmonic k at samples where `k * step >= pi` (step =
  2 pi f / sample_rate, per sample), with the float32 formulas of
  `core.harmonic_synthesis` (`ddsp.core._harmonic_kernel`), so that a block
  reproduces the same samples of a whole-clip render:

  * The phase at the start of a hop is an int64 in units of one
    `modulus`-th of a cycle: f0 is a fixed-point number with 24 fractional
    bits, so sums over any number of hops are exact (the offline synth sums
    in float64); it is carried between blocks.
  * Each frame's step and step change are the float32 roundings of their
    exact values (as the offline synth casts them from float64), computed
    with integer arithmetic: the Nyquist masks then flip at the same samples.

  These formulas mirror the private offline kernel; tests compare the two
  (`tests/training/test_streaming.py`), so a change there shows up here.

  Args:
    hop: int > 0, samples per frame.
    sample_rate: int > 0, Hz.
    amp_resample_method: 'window', 'linear' or 'nearest'.
  """

  def __init__(self, hop, sample_rate, amp_resample_method='window'):
    self.hop = validation.check_positive_int(hop, 'hop')
    self.sample_rate = validation.check_positive_int(sample_rate,
                                                     'sample_rate')
    self.method = validation.check_one_of(
        amp_resample_method, 'amp_resample_method',
        ('window', 'linear', 'nearest'))
    # Cycles per hop at frequencies f_t -> f_t+1:
    # (hop * f_t + (f_t+1 - f_t) * (hop - 1) / 2) / sample_rate
    # = ((hop + 1) F_t + (hop - 1) F_t+1) / modulus, F = f * 2**24.
    self.modulus = 2 * self.sample_rate * 2**_F0_FRACTION_BITS
    j = np.arange(self.hop, dtype=np.float64)
    self._linear = (j + 1.0).astype(np.float32)
    self._quadratic = (j * (j + 1.0) / (2.0 * self.hop)).astype(np.float32)
    self._fraction = (j / self.hop).astype(np.float32)
    self._amp_weights = core.crossfade_weights(self.hop, self.method)
    # Radians per sample = F * 2 pi / sample_rate * 2**-24 = F * c *
    # 2**-shift with the 40-bit integer c = c_high * 2**20 + c_low
    # (c_high, c_low < 2**20: their products with F < 2**42 fit in int64).
    scale = 2.0 * np.pi / self.sample_rate
    exponent = int(np.floor(np.log2(scale)))
    c = int(round(scale * 2.0**(39 - exponent)))  # In [2**39, 2**40].
    self._shift = 39 - exponent + _F0_FRACTION_BITS
    self._c_high, self._c_low = c >> 20, c & (2**20 - 1)

  def _fixed_point(self, f0_hz):
    # |f0| < 2**18 Hz keeps the products of `_radians` in int64.
    f0_hz = tf.clip_by_value(f0_hz, -2.0**18, 2.0**18)
    return tf.cast(tf.round(f0_hz * float(2**_F0_FRACTION_BITS)), tf.int64)

  def _radians(self, fixed):
    """float32(F * 2 pi / sample_rate / 2**24), correctly rounded, any sign.

    Exact integer products, then one float32 rounding of the high part and a
    correction term (the residual), so the sum rounds as the exact value.
    """
    size = tf.maximum(fixed, -fixed)
    high = size * self._c_high  # < 2**62
    rounded = tf.cast(high, tf.float32)
    residual = high - tf.cast(rounded, tf.int64)  # |.| <= ulp / 2 < 2**38
    low = residual * 2**20 + size * self._c_low  # < 2**63
    # high + low / 2**20 = F * c / 2**20.
    value = rounded + tf.cast(low, tf.float32) * np.float32(2.0**-20)
    value *= np.float32(2.0**(20 - self._shift))
    return tf.where(fixed < 0, -value, value)

  def phase_before(self, f0_hz):
    """Phase one hop before a frame so that the frame's hop starts at 0.

    Args:
      f0_hz: [batch, 1, 1] float32, the first frame's f0 in Hz.

    Returns:
      [batch, 1] int64: the phase that, advanced by a hop at constant
      `f0_hz`, is 0.
    """
    fixed = self._fixed_point(f0_hz[:, 0])
    return tf.math.floormod(-2 * self.hop * fixed, self.modulus)

  def __call__(self, f0_hz, next_f0_hz, amplitudes, next_amplitudes, phase):
    """Renders `n` hops.

    Args:
      f0_hz: [batch, n, 1] float32, Hz, f0 of the frame at each hop's start.
      next_f0_hz: [batch, n, 1] float32, Hz, f0 of the following frames.
      amplitudes: [batch, n, n_harmonics] float32, linear amplitude of each
        harmonic at each hop's start frame (overall amplitude times the
        normalized distribution).
      next_amplitudes: [batch, n, n_harmonics] float32, of the next frames.
      phase: [batch, 1] int64, phase of the fundamental at the first hop's
        start, in `1 / modulus` cycles.

    Frames with a negative f0 are silent, as offline
    (`core.mute_negative_frequencies`).

    Returns:
      audio: [batch, n * hop] float32.
      phase: [batch, 1] int64, the phase at the start of the next hop.
    """
    f0_hz, amplitudes = core.mute_negative_frequencies(f0_hz, amplitudes)
    next_f0_hz, next_amplitudes = core.mute_negative_frequencies(
        next_f0_hz, next_amplitudes)
    fixed = self._fixed_point(f0_hz[..., 0])  # [batch, n]
    next_fixed = self._fixed_point(next_f0_hz[..., 0])
    # Exact phase at each hop's start, in 1 / modulus cycles.
    steps = (self.hop + 1) * fixed + (self.hop - 1) * next_fixed
    cumulative = tf.cumsum(steps, axis=1)
    starts = tf.math.floormod(phase + cumulative - steps, self.modulus)
    new_phase = tf.math.floormod(phase + cumulative[:, -1:], self.modulus)
    starts = tf.cast(starts, tf.float32) * np.float32(
        2.0 * np.pi / self.modulus)

    # Per sample, as the offline kernel: phase = start + (j + 1) step +
    # j (j + 1) / (2 hop) dstep, step_j = step + j / hop dstep (rad/sample).
    step = self._radians(fixed)[..., tf.newaxis]  # [batch, n, 1]
    dstep = self._radians(next_fixed - fixed)[..., tf.newaxis]
    phases = tf.math.floormod(starts[..., tf.newaxis] + self._linear * step +
                              self._quadratic * dstep, 2.0 * np.pi)
    steps_j = step + self._fraction * dstep  # [batch, n, hop]
    n_harmonics = amplitudes.shape[-1]
    harmonics = np.arange(1, n_harmonics + 1, dtype=np.float32)
    audible = tf.cast(harmonics * steps_j[..., tf.newaxis] < np.pi,
                      tf.float32)
    sines = tf.sin(phases[..., tf.newaxis] * (harmonics * audible))
    shape = tf.shape(phases)
    rows = shape[0] * shape[1]
    coefficients = tf.stack([amplitudes, next_amplitudes], axis=-1)
    both = tf.matmul(tf.reshape(sines, [rows, self.hop, n_harmonics]),
                     tf.reshape(coefficients, [rows, n_harmonics, 2]))
    audio = both[..., 0] + self._amp_weights * (both[..., 1] - both[..., 0])
    return tf.reshape(audio, [shape[0], -1]), new_phase


# ------------------------------------------------------------------------------
# Filtered noise.
# ------------------------------------------------------------------------------
class FilteredNoiseBlock:
  """Filtered noise of a block of frames, as overlap-add contributions.

  Frame m filters the noise samples `[m * hop - offset, m * hop - offset +
  frame_size)` (Hann-windowed for 'overlap_add', with a flat first half for
  frame 0; plain blocks for 'block') with its own linear-phase FIR filter. The
  filtered frames of a block, overlap-added, are the block's contribution to
  the output starting `lookahead` samples before the block's first frame:
  `lookahead = offset + (ir_size - 1) // 2`, the filter's group delay that
  the offline filter removes plus the window offset.

  Args:
    hop: int > 0, samples per frame.
    n_bands: int > 0, bands of the magnitudes (linear from 0 Hz to Nyquist).
    window_size: taps of the filters, as `core.frequency_impulse_response`.
    method: 'overlap_add' or 'block', as `core.frequency_filter`.
    seed: int >= 0, seed of `core.counter_uniform_noise`.
  """

  def __init__(self, hop, n_bands, window_size, method='overlap_add', seed=0):
    self.hop = validation.check_positive_int(hop, 'hop')
    self.method = validation.check_one_of(method, 'method',
                                          ('overlap_add', 'block'))
    self.seed = validation.check_non_negative_int(seed, 'seed')
    self.ir_size = core.frequency_impulse_response_size(n_bands, window_size)
    if self.method == 'overlap_add':
      self.offset, self.frame_size = self.hop // 2, 2 * self.hop
      window = core.periodic_hann(2 * self.hop)
      first = window.copy()
      first[:self.hop] = 1.0
      self._window = window.astype(np.float32)
      self._first_window = first.astype(np.float32)
    else:
      self.offset, self.frame_size = 0, self.hop
      self._window = self._first_window = None
    self.lookahead = self.offset + (self.ir_size - 1) // 2
    # Full linear convolution of a frame with the taps: no padding needed.
    self.conv_size = self.frame_size + self.ir_size - 1
    # The offline filter design (`core.frequency_filter` uses the same).
    spectra = np.concatenate(core.filter_design_matrices(
        n_bands, window_size, self.conv_size), axis=-1)
    self._design = spectra  # [n_bands, 2K]
    self._design_swapped = _swap_halves(spectra)
    self._forward = rdft_matrix(self.frame_size, self.conv_size)
    self._inverse = _complex_product_matrix(self.conv_size, 0, self.conv_size)
    # Each filtered frame spans `hops_per_frame` hops (zero-padded).
    self.hops_per_frame = -(-self.conv_size // self.hop)

  def chunk_size(self, n_frames):
    """Samples of the contribution of `n_frames` frames."""
    return (n_frames + self.hops_per_frame - 1) * self.hop

  def _noise_frames(self, n_frames, frame_index):
    """[n_frames, frame_size] noise of the block's frames (window applied)."""
    n_noise = (n_frames - 1) * self.hop + self.frame_size
    start = frame_index * self.hop - self.offset
    noise = core.counter_uniform_noise(n_noise, seed=self.seed, offset=start)
    # Samples before the start of the stream are silent (offline padding).
    index = start + tf.range(n_noise)
    noise = noise[0] * tf.cast(index >= 0, tf.float32)
    segments = tf.reshape(noise, [-1, self.hop])
    if self.method == 'block':
      return segments
    frames = tf.concat([segments[:-1], segments[1:]], axis=-1)
    first = tf.where(tf.equal(frame_index, 0), self._first_window,
                     self._window)
    windows = tf.concat([first[tf.newaxis], tf.tile(
        self._window[tf.newaxis], [n_frames - 1, 1])], axis=0)
    return frames * windows

  def __call__(self, magnitudes, frame_index):
    """Filtered noise of a block of frames.

    Args:
      magnitudes: [batch, n_frames, n_bands] float32, linear filter
        magnitudes of the block's frames (after the synth's scale function).
      frame_index: int32 scalar, index of the block's first frame in the
        stream.

    Returns:
      [batch, chunk_size(n_frames)] float32: the block's contribution to the
      output samples from `frame_index * hop - lookahead` on.
    """
    n_frames = magnitudes.shape[1]
    frames = self._noise_frames(n_frames, frame_index)
    spectrum = tf.matmul(frames, self._forward)[tf.newaxis]  # [1, n, 2K]
    design = dense(magnitudes, self._design)  # [batch, n, 2K]
    swapped = dense(magnitudes, self._design_swapped)
    filtered = dense(_products(spectrum, design, swapped),
                     self._inverse)  # [batch, n, conv_size]
    padded = self.hops_per_frame * self.hop
    filtered = tf.pad(filtered, [[0, 0], [0, 0],
                                 [0, padded - self.conv_size]])
    pieces = tf.reshape(filtered, [-1, n_frames, self.hops_per_frame,
                                   self.hop])
    total = None
    for r in range(self.hops_per_frame):
      piece = tf.reshape(pieces[:, :, r], [-1, n_frames * self.hop])
      after = (self.hops_per_frame - 1 - r) * self.hop
      piece = tf.pad(piece, [[0, 0], [r * self.hop, after]])
      total = piece if total is None else total + piece
    return total


# ------------------------------------------------------------------------------
# Reverb.
# ------------------------------------------------------------------------------
def reverb_partition_size(block_size, max_partition=None, ir_size=None):
  """The partition of `ReverbBlock`'s convolution: a divisor of `block_size`.

  Per sample, a partition of P taps costs about 6 * P multiply-adds (its DFT
  pair, as matrix products) plus 4 * ir_size / P (the products with the IR
  spectra), least near P = sqrt(2 * ir_size / 3). The divisor of
  `block_size` (at most `max_partition`) with the least cost is chosen; with
  no `ir_size`, the largest such divisor.

  Args:
    block_size: int > 0, samples per call.
    max_partition: optional int > 0, the largest partition allowed.
    ir_size: optional int > 0, taps of the impulse response.

  Returns:
    int, the partition size.

  Example:
    >>> reverb_partition_size(384, ir_size=144000)  # 3 s at 48 kHz.
    384
    >>> reverb_partition_size(256, ir_size=1000)
    32
  """
  cap = block_size if max_partition is None else min(block_size,
                                                      max_partition)
  divisors = [p for p in range(1, cap + 1) if block_size % p == 0]
  if ir_size is None:
    return divisors[-1]
  return min(divisors, key=lambda p: 6 * p + 4 * ir_size / p)


class ReverbBlock:
  """Convolution with a fixed impulse response, block by block.

  Uniformly partitioned overlap-save: the IR is cut into partitions of
  `partition_size` taps whose spectra are precomputed; each partition of
  input is transformed once and kept in a frequency-domain delay line (the
  state), and each output partition is one inverse DFT of the sum of the
  delay line times the IR spectra.

  Args:
    impulse_response: [ir_size] float, the IR (causal: tap 0 is time 0).
    block_size: int > 0, samples per call.
    add_dry: return audio + wet instead of wet.
    max_partition: optional int > 0, the largest partition (the divisor of
      `block_size` of least cost is used, see `reverb_partition_size`).
  """

  def __init__(self, impulse_response, block_size, add_dry=True,
               max_partition=None):
    ir = np.asarray(impulse_response, np.float64).ravel()
    if not ir.size:
      raise ValueError('`impulse_response` must have at least one tap.')
    self.block_size = validation.check_positive_int(block_size, 'block_size')
    self.add_dry = bool(add_dry)
    self.partition_size = reverb_partition_size(
        self.block_size, max_partition, ir_size=ir.size)
    size = self.partition_size
    self.n_partitions = -(-ir.size // size)
    ir = np.pad(ir, [0, self.n_partitions * size - ir.size])
    spectra = np.fft.rfft(ir.reshape(self.n_partitions, size), 2 * size,
                          axis=-1)
    spectra = np.concatenate([spectra.real, spectra.imag], axis=-1)
    self._spectra = spectra.astype(np.float32)  # [n_partitions, 2K]
    self._spectra_swapped = _swap_halves(spectra).astype(np.float32)
    self._forward = rdft_matrix(2 * size, 2 * size)
    self._inverse = _complex_product_matrix(2 * size, size, 2 * size)
    self.n_bins = size + 1

  def state_shapes(self, batch_size):
    """Shapes of the state: previous input partition, delay line."""
    return {'input': [batch_size, self.partition_size],
            'spectra': [batch_size, self.n_partitions, 2 * self.n_bins]}

  def __call__(self, audio, previous_input, spectra):
    """Reverberates one block.

    Args:
      audio: [batch, block_size] float32.
      previous_input: [batch, partition_size] float32, the last input
        partition of the previous call (zeros at the start).
      spectra: [batch, n_partitions, 2 * (partition_size + 1)] float32, the
        delay line ([Re | Im] spectra, newest first; zeros at the start).

    Returns:
      (audio out [batch, block_size], previous_input, spectra).
    """
    size = self.partition_size
    outputs = []
    for start in range(0, self.block_size, size):
      current = audio[:, start:start + size]
      pair = tf.concat([previous_input, current], axis=-1)
      spectrum = tf.matmul(pair, self._forward)  # [batch, 2K]
      spectra = tf.concat([spectrum[:, tf.newaxis], spectra[:, :-1]], axis=1)
      # Summed over the delay line before the halves are joined: joining
      # [batch, n_partitions, 4K] products first measured 20 % slower.
      summed = tf.concat([
          tf.reduce_sum(spectra * self._spectra, axis=1),
          tf.reduce_sum(spectra * self._spectra_swapped, axis=1)], axis=-1)
      outputs.append(tf.matmul(summed, self._inverse))
      previous_input = current
    wet = outputs[0] if len(outputs) == 1 else tf.concat(outputs, axis=-1)
    return (audio + wet if self.add_dry else wet), previous_input, spectra


# ------------------------------------------------------------------------------
# GRU.
# ------------------------------------------------------------------------------
def gru_block(inputs, kernel, recurrent_kernel, bias, state):
  """A GRU over a block of frames from a given state (Keras `reset_after`).

  Same recurrence as `keras.layers.GRU` and `ddsp.training.gru.fused_gru`
  (the cell is `gru.gru_step`), unrolled over the block's (static) number of
  frames.

  Args:
    inputs: [batch, n_frames, channels] float32.
    kernel: [channels, 3 * units] float32.
    recurrent_kernel: [units, 3 * units] float32.
    bias: [2, 3 * units] float32.
    state: [batch, units] float32.

  Returns:
    outputs [batch, n_frames, units] and the final state [batch, units].
  """
  projected = dense(inputs, kernel) + bias[0]
  outputs = []
  for t in range(inputs.shape[1]):
    state, _, _, _ = gru.gru_step(projected[:, t], state, recurrent_kernel,
                                  bias[1])
    outputs.append(state)
  return tf.stack(outputs, axis=1), state
