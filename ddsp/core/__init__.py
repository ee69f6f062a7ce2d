"""ddsp.core: pure TensorFlow math for differentiable DSP.

No layers, no state. Split by topic into submodules; every function is also
available directly as `ddsp.core.<name>`. The functions that gin files name
(the scale functions, e.g. `@core.exp_sigmoid`, and the oscillator banks) are
registered where they are defined, with `ddsp.registration.register`, under
the gin module `ddsp.core`; registering leaves them plain functions.

Topics: `utils` (conversions, nested dicts, noise), `units` (dB, MIDI, Hz and
scale functions), `resampling`, `oscillators` (and `wavetables`), `filtering`
(convolution, FIR design), `iir` (recursive filters: `lfilter`, biquad
designs), `framing` (frame counts, fractional hops, padding,
TensorFlow and numpy framing), `physical` (plucked string, modal bank), `fm`
(operator FM) and `granular`.
"""

# pylint: disable=wildcard-import
from ddsp.core.utils import *
from ddsp.core.units import *
from ddsp.core.resampling import *
from ddsp.core.oscillators import *
from ddsp.core.filtering import *
from ddsp.core.framing import *
from ddsp.core.iir import *
from ddsp.core.physical import *
from ddsp.core.fm import *
from ddsp.core.granular import *
