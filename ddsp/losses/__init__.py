"""ddsp.losses: losses as Keras layers (spectral, embedding, consistency).

Every loss is a `Loss` layer: calling it returns a scalar float32 tensor, and
`get_losses_dict(...)` returns `{loss.name: loss_value}` so that a model can
collect several named losses. `LossGroup` runs a DAG of losses over a model's
outputs dict (see `ddsp.dags`). All of them use `mean_difference` ('L1', 'L2'
or 'COSINE', with optional weights).

* `SpectralLoss`: the multi-scale spectrogram loss used to train every DDSP
  model (magnitudes, log magnitudes, time/frequency differences, cumulative
  spectra, loudness).
* `EmbeddingLoss`, `PretrainedCREPEEmbeddingLoss`: distances between
  embeddings of a pretrained network (CREPE) of target and generated audio;
  `PretrainedCREPE` (= `PretrainedCREPEEmbedding`), the published frozen
  CREPE embedding layer.
* Experimental consistency losses between synthesis parameters: `ParamLoss`,
  `FilteredNoiseConsistencyLoss`, `HarmonicConsistencyLoss`,
  `WassersteinConsistencyLoss` (with `wasserstein_distance`), and the
  functions `amp_loss` and `freq_loss`.
* Experimental likelihood losses over sets of sinusoids: `TWMLoss` (a
  differentiable two-way mismatch over f0 candidates) and
  `KDEConsistencyLoss`.
* `HmmTranscriber`: an HMM from pitch and amplitude to MIDI notes, as a loss
  (negative log-likelihood) and a Viterbi transcriber.

The package is split by topic (`base`, `spectral`, `embedding`,
`consistency`, `sinusoidal`, `transcription`); every public name is
available as `ddsp.losses.<name>`. All
classes are registered with gin under `ddsp.losses` (`ddsp.registration`:
gin files can say `SpectralLoss.loss_type = 'L1'` or `@losses.SpectralLoss()`,
and a `SpectralLoss()` built in Python sees those bindings too) and are
Keras-serializable (`get_config` / `from_config`).
"""

from ddsp.losses.base import LOSS_TYPES
from ddsp.losses.base import Loss
from ddsp.losses.base import LossGroup
from ddsp.losses.base import mean_difference
from ddsp.losses.consistency import amp_loss
from ddsp.losses.consistency import FilteredNoiseConsistencyLoss
from ddsp.losses.consistency import freq_loss
from ddsp.losses.consistency import HarmonicConsistencyLoss
from ddsp.losses.consistency import ParamLoss
from ddsp.losses.consistency import wasserstein_distance
from ddsp.losses.consistency import WassersteinConsistencyLoss
from ddsp.losses.embedding import EmbeddingLoss
from ddsp.losses.embedding import PretrainedCREPE
from ddsp.losses.embedding import PretrainedCREPEEmbedding
from ddsp.losses.embedding import PretrainedCREPEEmbeddingLoss
from ddsp.losses.sinusoidal import KDEConsistencyLoss
from ddsp.losses.sinusoidal import TWMLoss
from ddsp.losses.spectral import SpectralLoss
from ddsp.losses.transcription import HmmTranscriber

__all__ = [
    'LOSS_TYPES',
    'Loss',
    'LossGroup',
    'mean_difference',
    'SpectralLoss',
    'EmbeddingLoss',
    'PretrainedCREPEEmbeddingLoss',
    'ParamLoss',
    'FilteredNoiseConsistencyLoss',
    'HarmonicConsistencyLoss',
    'WassersteinConsistencyLoss',
    'wasserstein_distance',
    'amp_loss',
    'freq_loss',
    'KDEConsistencyLoss',
    'TWMLoss',
    'HmmTranscriber',
    'PretrainedCREPE',
    'PretrainedCREPEEmbedding',
]
