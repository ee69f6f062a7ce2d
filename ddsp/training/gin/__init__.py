"""Packaged gin configs of ddsp (models, datasets, evaluation, optimization).

`GIN_PATH` is this folder: `ddsp_run` adds it to gin's search path, so that
`--gin_file=models/solo_instrument.gin` finds the packaged file. In Python:

    import gin
    from ddsp.training import gin as ddsp_gin
    gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
    gin.parse_config_file('papers/iclr2020/solo_instrument.gin')

Folders:
  models/        model architectures (`get_model.model = @models.Autoencoder()`)
  datasets/      data providers of `train`, `evaluate` and `sample`
  eval/          evaluators of `evaluate` and `sample`
  optimization/  batch size, learning rate and schedule, checkpoint cadence
  papers/        one file per experiment of a paper (model + dataset)
"""

import os

GIN_PATH = os.path.dirname(os.path.abspath(__file__))


def list_configs():
  """The packaged .gin files, as paths relative to `GIN_PATH` (sorted)."""
  configs = []
  for root, _, files in os.walk(GIN_PATH):
    for name in files:
      if name.endswith('.gin'):
        configs.append(os.path.relpath(os.path.join(root, name), GIN_PATH))
  return sorted(configs)
