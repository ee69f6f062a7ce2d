"""ddsp.training: data, models, training loops, evaluation and inference.

Importing it does not import Apache Beam or librosa (data preparation lives in
`ddsp.training.data_preparation` and imports Beam inside its functions).
"""

from ddsp.training import data
from ddsp.training import decoders
from ddsp.training import encoders
from ddsp.training import eval_util
from ddsp.training import evaluators
from ddsp.training import metrics
from ddsp.training import models
from ddsp.training import nn
from ddsp.training import nn_blocks  # Registers the nn layers built on nn.
from ddsp.training import nn_resnet
from ddsp.training import plotting
from ddsp.training import postprocessing
from ddsp.training import preprocessing
from ddsp.training import rates
from ddsp.training import summaries
from ddsp.training import train_util
from ddsp.training import trainers
# MIDI: note heuristics (note_seq and mir_eval are imported when used).
from ddsp.training import heuristics
from ddsp.training import note_util
