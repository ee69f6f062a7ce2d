"""Where the benchmarks find the full recordings.

The full-length recordings (188 s of violin, flute, trumpet, speech) are not
part of the repository; the tests use the short excerpts in tests/data. A
benchmark that wants the full recordings looks in the folder named by the
environment variable DDSP_SHARED_DATA, else in `shared/data` beside the
checkout, and says so clearly when they are absent.
"""

import os
import pathlib

ENV_VAR = 'DDSP_SHARED_DATA'


def recordings_dir():
  """The folder of the full recordings (it may not exist)."""
  default = pathlib.Path(__file__).resolve().parents[1].parent / 'shared'
  return pathlib.Path(os.environ.get(ENV_VAR, default / 'data'))


def find(name):
  """Path of recording `name` (e.g. 'violin_train.wav'), or None if absent."""
  path = recordings_dir() / name
  return path if path.is_file() else None


def missing_message(name):
  """One line saying that `name` is absent and how to point at it."""
  return (f'{name} not found in {recordings_dir()} (the full recordings are '
          f'not in the repository; set {ENV_VAR} to their folder)')
