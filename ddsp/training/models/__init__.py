"""ddsp models: the `Model` base class and the `Autoencoder`.

Gin configs name the model to train with `get_model.model`, e.g.

    get_model.model = @models.Autoencoder()
    Autoencoder.preprocessor = @preprocessing.F0LoudnessPreprocessor()
    Autoencoder.decoder = @decoders.RnnFcDecoder()
"""

import gin

from ddsp import registration
from ddsp.training.models.autoencoder import Autoencoder
from ddsp.training.models.model import Model

# The published research models.
from ddsp.training.models.inverse_synthesis import InverseSynthesis
from ddsp.training.models.midi_autoencoder import MidiAutoencoder
from ddsp.training.models.midi_autoencoder import ZMidiAutoencoder


@registration.register('ddsp.training.models', configurable=True)
def get_model(model=gin.REQUIRED):
  """Returns the model that gin configures (`get_model.model = @...()`)."""
  return model
