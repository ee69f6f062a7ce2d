"""ddsp.colab: helpers for the notebooks (Colab, Jupyter, plain scripts).

`ddsp.colab.colab_utils` keeps the published names (`play`, `record`,
`upload`, `download`, `audio_bytes_to_np`, `save_dataset_statistics`,
`get_tuning_factor`, `auto_tune`, `specplot`, ...). Nothing here imports
`google.colab` at import time: the browser widgets (microphone, file upload
and download) are reached only when a function needs them, and outside Colab
those functions take file paths instead or say clearly what to do.
"""

from ddsp.colab import colab_utils
