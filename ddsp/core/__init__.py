"""ddsp.core: pure TensorFlow math for differentiable DSP.

No layers, no state, no gin. Split by topic into submodules; every function is
also available directly as `ddsp.core.<name>`.
"""

# pylint: disable=wildcard-import
from ddsp.core.utils import *
from ddsp.core.units import *
from ddsp.core.resampling import *
from ddsp.core.oscillators import *
from ddsp.core.filtering import *
