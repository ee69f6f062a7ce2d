"""Helpers for training on Google Cloud (AI Platform / Vertex AI).

Cloud Storage paths and hyperparameter-tuning reports. The optional
dependencies are imported only when a function needs them:
`google-cloud-storage` (downloads) and `cloudml-hypertune` (reports), both in
`pip install "ddsp[cloud]"`.
"""

import logging
import os

__all__ = [
    'download_from_gstorage',
    'is_gstorage_path',
    'make_file_paths_local',
    'report_metric_to_hypertune',
    'split_gstorage_path',
]

_PREFIX = 'gs://'


def _import_optional(module, package, purpose):
  import importlib  # pylint: disable=g-import-not-at-top
  try:
    return importlib.import_module(module)
  except ImportError as e:
    raise ImportError(f'{purpose} needs the `{package}` package: pip install '
                      f'{package} (or pip install "ddsp[cloud]").') from e


def is_gstorage_path(path):
  """Whether `path` is a Cloud Storage path ('gs://bucket/...').

  Example:
    >>> is_gstorage_path('gs://bucket/a.gin'), is_gstorage_path('a.gin')
    (True, False)
  """
  return isinstance(path, str) and path.startswith(_PREFIX)


def split_gstorage_path(gstorage_path):
  """'gs://bucket/path/to/file' -> ('bucket', 'path/to/file').

  Args:
    gstorage_path: str, 'gs://<bucket>/<object name>'.

  Returns:
    (bucket name, object name).

  Raises:
    ValueError: not a 'gs://' path with a bucket and an object name.

  Example:
    >>> split_gstorage_path('gs://my-bucket/runs/logs/operative.gin')
    ('my-bucket', 'runs/logs/operative.gin')
  """
  if not is_gstorage_path(gstorage_path):
    raise ValueError('`gstorage_path` must be a Cloud Storage path '
                     "'gs://bucket/path/to/file'. Received: "
                     f'gstorage_path={gstorage_path!r}')
  bucket, _, blob = gstorage_path[len(_PREFIX):].partition('/')
  if not bucket or not blob:
    raise ValueError('`gstorage_path` must name a bucket and a file: '
                     "'gs://bucket/path/to/file'. Received: "
                     f'gstorage_path={gstorage_path!r}')
  return bucket, blob


def download_from_gstorage(gstorage_path, local_path):
  """Downloads one file from Cloud Storage.

  Args:
    gstorage_path: str, 'gs://bucket-name/path/to/file.txt'.
    local_path: str, where to write the file.

  Raises:
    ValueError: `gstorage_path` is not a 'gs://bucket/file' path.
    ImportError: `google-cloud-storage` is not installed.
  """
  bucket_name, blob_name = split_gstorage_path(gstorage_path)
  storage = _import_optional('google.cloud.storage', 'google-cloud-storage',
                             'Downloading from Cloud Storage')
  client = storage.Client()
  client.bucket(bucket_name).blob(blob_name).download_to_filename(local_path)
  logging.info('Downloaded %s to %s.', gstorage_path, local_path)


def make_file_paths_local(paths, local_directory):
  """Downloads the Cloud Storage files among `paths` into `local_directory`.

  Local paths are returned unchanged; each 'gs://' path is downloaded to
  `local_directory/<file name>` and replaced by its file name, to be found
  through a search path on `local_directory` (as `ddsp_run`'s gin files are).

  Args:
    paths: a path or a list of paths.
    local_directory: str, folder of the downloaded files.

  Returns:
    A path if `paths` is a str, else a list of paths.

  Example:
    >>> make_file_paths_local(['models/ae.gin', 'my.gin'], '/tmp')
    ['models/ae.gin', 'my.gin']
  """
  def local(path):
    if not is_gstorage_path(path):
      return path
    name = os.path.basename(path)
    download_from_gstorage(path, os.path.join(local_directory, name))
    return name

  if isinstance(paths, str):
    return local(paths)
  return [local(p) for p in paths]


def report_metric_to_hypertune(metric_value, step, tag='Loss'):
  """Reports a metric to Cloud hyperparameter tuning (`cloudml-hypertune`).

  Args:
    metric_value: float, the value of the metric (e.g. the total loss).
    step: int, the training step it was measured at.
    tag: str, the metric's name in the tuning job's config.

  Raises:
    ImportError: `cloudml-hypertune` is not installed.
  """
  hypertune = _import_optional('hypertune', 'cloudml-hypertune',
                               'Reporting to hyperparameter tuning')
  hypertune.HyperTune().report_hyperparameter_tuning_metric(
      hyperparameter_metric_tag=tag, metric_value=float(metric_value),
      global_step=int(step))
