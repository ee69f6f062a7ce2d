"""ddsp: Differentiable Digital Signal Processing for TensorFlow 2 and Keras 3.

Classic DSP elements (oscillators, filters, reverberation, delays) as
differentiable functions (`ddsp.core`) and Keras layers (`ddsp.synths`,
`ddsp.effects`), composable into graphs (`ddsp.processors`, `ddsp.dags`) and
trainable end to end with spectral losses (`ddsp.losses`).

Importing ddsp stays light: training utilities live in `ddsp.training`, and
heavy optional dependencies (CREPE weights, librosa, Apache Beam) are imported
only by the functions that need them.
"""

from ddsp import core
from ddsp import dags
from ddsp import effects
from ddsp import losses
from ddsp import processors
from ddsp import spectral_ops
from ddsp import synths
from ddsp.version import __version__
