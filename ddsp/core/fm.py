"""Frequency-modulation (FM) synthesis with operators, DX7/DDX7 style.

An operator is a sinusoidal oscillator at `ratio * f0` whose phase is offset
by the sum of the outputs of the operators that modulate it:

  out_i[n] = a_i[n] sin(phase_i[n] + sum_{j -> i} out_j[n]),

where `a_i` is the operator's output level: for a modulator, the modulation
index (peak phase deviation, radians) it applies to its targets; for a
carrier, its amplitude in the mix. The audio is the sum of the carriers. An
algorithm says which operator modulates which (a modulator always has a
higher index than its target, as in the DX7's numbering, so the graph has no
cycles; DX7 operator feedback is not modelled).

Phase: the operator frequencies are linearly interpolated between frames and
their phases come in closed form from the library's drift-free phase kernel
(`ddsp.core.oscillators`' convention: inclusive cumulative sum), so an FM
tone stays phase-accurate over long renders like the harmonic synth.
Amplitudes are upsampled with the two-frame methods of `resample`.
"""

import tensorflow as tf

from ddsp import validation
from ddsp.core import _phase_kernels as kernels
from ddsp.core.oscillators import remove_above_nyquist
from ddsp.core.utils import broadcast_batch

__all__ = ['FM_ALGORITHMS', 'fm_algorithm', 'fm_synthesis']

# Named algorithms: (connections as (modulator, target) pairs, carriers),
# operators numbered from 0 (the DX7's operator 1 is 0 here).
FM_ALGORITHMS = {
    # DX7 algorithm 1 (without feedback): 2 -> 1, 6 -> 5 -> 4 -> 3.
    'dx7_1': (((1, 0), (5, 4), (4, 3), (3, 2)), (0, 2)),
    # DX7 algorithm 5: three two-operator pairs, 2 -> 1, 4 -> 3, 6 -> 5.
    'dx7_5': (((1, 0), (3, 2), (5, 4)), (0, 2, 4)),
    # DX7 algorithm 32: six carriers, additive.
    'dx7_32': ((), (0, 1, 2, 3, 4, 5)),
    # Two operators: 2 -> 1.
    'pair': (((1, 0),), (0,)),
    # A chain of six: 6 -> 5 -> 4 -> 3 -> 2 -> 1.
    'stack': (((5, 4), (4, 3), (3, 2), (2, 1), (1, 0)), (0,)),
}


def fm_algorithm(algorithm):
  """Checks an FM algorithm; returns (connections, carriers, n_operators).

  Args:
    algorithm: a name of `FM_ALGORITHMS` ('dx7_1', 'dx7_5', 'dx7_32',
      'pair', 'stack') or a pair `(connections, carriers)`: connections a
      sequence of `(modulator, target)` operator indices (from 0) with
      modulator > target, carriers a non-empty sequence of indices.

  Returns:
    (tuple of (int, int), tuple of int, int): the connections, the carriers
    and the number of operators the algorithm needs (highest index + 1).

  Raises:
    ValueError: for an unknown name, a malformed pair, a connection whose
      modulator is not above its target, or no carriers.

  Example:
    >>> fm_algorithm('pair')
    (((1, 0),), (0,), 2)
  """
  if isinstance(algorithm, str):
    validation.check_one_of(algorithm, 'algorithm', tuple(FM_ALGORITHMS))
    algorithm = FM_ALGORITHMS[algorithm]
  try:
    connections, carriers = algorithm
    connections = tuple((int(m), int(t)) for m, t in connections)
    carriers = tuple(int(c) for c in carriers)
  except (TypeError, ValueError) as error:
    raise ValueError(
        '`algorithm` must be a name of FM_ALGORITHMS or a pair (connections, '
        'carriers) of (modulator, target) pairs and operator indices. '
        f'Received: algorithm={algorithm!r}') from error
  bad = [(m, t) for m, t in connections if not m > t >= 0]
  if bad:
    raise ValueError('Every connection (modulator, target) of `algorithm` '
                     'needs modulator > target >= 0 (no cycles). '
                     f'Received: connections={connections}')
  if not carriers or min(carriers) < 0:
    raise ValueError('`algorithm` needs at least one carrier, each an index '
                     f'>= 0. Received: carriers={carriers}')
  indices = [i for pair in connections for i in pair] + list(carriers)
  return connections, carriers, max(indices) + 1


def fm_synthesis(f0_hz, amplitudes, ratios, algorithm='dx7_5',
                 n_samples=64000, sample_rate=16000, frame_rate=250,
                 amp_resample_method='linear'):
  """Renders an FM patch: operators at f0 * ratios (see the module docstring).

  Operators whose frequency is at or above Nyquist are silent (level 0), and
  a negative f0 silences a frame.

  Args:
    f0_hz: float32 [batch, n_frames, 1], Hz.
    amplitudes: float32 [batch, n_frames, n_operators], each operator's
      output level: the modulation index in radians for a modulator, the
      linear amplitude for a carrier.
    ratios: float32 [batch, n_frames, n_operators], frequency ratios to f0
      (e.g. 1.0, 2.0, 3.5; fixed ratios repeated over frames).
    algorithm: which operator modulates which (see `fm_algorithm`);
      `n_operators` must be at least what it needs.
    n_samples: output length, a multiple of n_frames; None for n_frames *
      sample_rate / frame_rate.
    sample_rate: Hz.
    frame_rate: frames per second, used only when n_samples is None.
    amp_resample_method: 'linear', 'window' or 'nearest', how the levels are
      upsampled.

  Returns:
    float32 [batch, n_samples]: the sum of the carriers. Differentiable with
    respect to f0_hz, amplitudes and ratios.

  Raises:
    ValueError: for wrong ranks, disagreeing shapes, NaN or infinite values,
      too few operators for the algorithm, or n_samples not a multiple of
      n_frames.

  Example:
    >>> f0 = tf.fill([1, 10, 1], 100.0)
    >>> audio = fm_synthesis(f0, tf.ones([1, 10, 2]),
    ...                      tf.constant([[[1.0, 2.0]]]) * tf.ones([1, 10, 2]),
    ...                      algorithm='pair', n_samples=1600)
    >>> audio.shape
    TensorShape([1, 1600])
  """
  connections, carriers, needed = fm_algorithm(algorithm)
  validation.check_one_of(amp_resample_method, 'amp_resample_method',
                          ('nearest', 'linear', 'window'))
  validation.check_positive(sample_rate, 'sample_rate')
  f0_hz = kernels.frames_input(f0_hz, 'f0_hz', 1)
  amplitudes = kernels.frames_input(amplitudes, 'amplitudes')
  ratios = kernels.frames_input(ratios, 'ratios')
  controls = {'f0_hz': f0_hz, 'amplitudes': amplitudes, 'ratios': ratios}
  validation.check_same_dim(controls, 1, 'n_frames')
  validation.check_same_dim({'amplitudes': amplitudes, 'ratios': ratios}, 2,
                            'n_operators')
  n_operators = amplitudes.shape[-1]
  if n_operators is None or n_operators < needed:
    raise ValueError(
        f'`amplitudes` and `ratios` need one channel per operator: '
        f'algorithm {algorithm!r} uses {needed}. '
        f'Received: amplitudes.shape={tuple(amplitudes.shape)}')
  controls = broadcast_batch(controls)
  frequencies = controls['f0_hz'] * controls['ratios']
  frequencies, amplitudes = kernels.mute_negative_frequencies(
      frequencies, controls['amplitudes'])
  amplitudes = remove_above_nyquist(frequencies, amplitudes, sample_rate)
  n_frames = kernels.n_frames(frequencies)
  hop, n_samples = kernels.samples_per_frame(n_samples, n_frames, sample_rate,
                                             frame_rate)
  if hop is None:
    raise ValueError('`n_samples` must be a multiple of the number of frames. '
                     f'Received: n_samples={n_samples}, '
                     f'f0_hz.shape={tuple(f0_hz.shape)}')
  phase, _ = kernels.frame_phase(frequencies, hop, sample_rate)
  levels = kernels.frame_envelope(amplitudes, hop, amp_resample_method)
  # [batch, n_frames, hop, n_operators]; modulators before their targets.
  outputs = {}
  for i in reversed(range(n_operators)):
    modulation = [outputs[m] for m, t in connections if t == i]
    offset = tf.add_n(modulation) if modulation else 0.0
    outputs[i] = levels[..., i] * tf.sin(phase[..., i] + offset)
  audio = tf.add_n([outputs[c] for c in carriers])
  return kernels.flatten_hops(audio)
