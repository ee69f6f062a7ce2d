"""Tests of ddsp.training.cloud: Cloud Storage paths and hypertune reports,
with the optional packages replaced by recording fakes (nothing is
installed or reached over the network)."""

import sys
import types

import pytest

from ddsp.training import cloud


@pytest.fixture
def fake_storage(monkeypatch):
  """A fake google.cloud.storage that records the downloads."""
  calls = []

  class Blob:
    def __init__(self, bucket, name):
      self.bucket, self.name = bucket, name

    def download_to_filename(self, filename):
      calls.append((self.bucket, self.name, filename))
      with open(filename, 'w') as f:
        f.write(f'{self.bucket}/{self.name}')

  class Bucket:
    def __init__(self, name):
      self.name = name

    def blob(self, name):
      return Blob(self.name, name)

  class Client:
    def bucket(self, name):
      return Bucket(name)

  storage = types.ModuleType('google.cloud.storage')
  storage.Client = Client
  google = types.ModuleType('google')
  google_cloud = types.ModuleType('google.cloud')
  google_cloud.storage = storage
  google.cloud = google_cloud
  monkeypatch.setitem(sys.modules, 'google', google)
  monkeypatch.setitem(sys.modules, 'google.cloud', google_cloud)
  monkeypatch.setitem(sys.modules, 'google.cloud.storage', storage)
  return calls


def test_split_gstorage_path():
  assert cloud.split_gstorage_path('gs://b/logs') == ('b', 'logs')
  # The published strip('gs:/') also ate trailing 's', 'g', ':' and '/'.
  assert cloud.split_gstorage_path('gs://bucket-name/dir/configs') == (
      'bucket-name', 'dir/configs')
  for bad in ('/local/file.gin', 'gs://', 'gs://bucket', 'gs://bucket/'):
    with pytest.raises(ValueError, match=r'`gstorage_path` must'):
      cloud.split_gstorage_path(bad)


def test_download_from_gstorage(fake_storage, tmp_path):
  target = tmp_path / 'ae.gin'
  cloud.download_from_gstorage('gs://my-bucket/gin/models/ae.gin',
                               str(target))
  assert fake_storage == [('my-bucket', 'gin/models/ae.gin', str(target))]
  assert target.read_text() == 'my-bucket/gin/models/ae.gin'


def test_make_file_paths_local(fake_storage, tmp_path):
  assert cloud.make_file_paths_local('local_file.gin', str(tmp_path)) == (
      'local_file.gin')
  assert fake_storage == []
  assert cloud.make_file_paths_local('gs://b/d/some_file.gin',
                                     str(tmp_path)) == 'some_file.gin'
  paths = cloud.make_file_paths_local(
      ['gs://b/d/first.gin', 'local.gin', 'gs://b/e/second.gin'],
      str(tmp_path))
  assert paths == ['first.gin', 'local.gin', 'second.gin']
  assert [c[1] for c in fake_storage] == ['d/some_file.gin', 'd/first.gin',
                                          'e/second.gin']
  assert (tmp_path / 'second.gin').read_text() == 'b/e/second.gin'
  single = cloud.make_file_paths_local(['gs://b/d/only.gin'], str(tmp_path))
  assert single == ['only.gin']  # A list stays a list.


def test_report_metric_to_hypertune(monkeypatch):
  reports = []

  class HyperTune:
    def report_hyperparameter_tuning_metric(self, **kwargs):
      reports.append(kwargs)

  monkeypatch.setitem(sys.modules, 'hypertune',
                      types.SimpleNamespace(HyperTune=HyperTune))
  cloud.report_metric_to_hypertune(0.25, 300)
  cloud.report_metric_to_hypertune(1.5, 600, tag='spectral_loss')
  assert reports == [
      {'hyperparameter_metric_tag': 'Loss', 'metric_value': 0.25,
       'global_step': 300},
      {'hyperparameter_metric_tag': 'spectral_loss', 'metric_value': 1.5,
       'global_step': 600}]


def test_missing_optional_packages_raise_clear_errors(monkeypatch):
  monkeypatch.setitem(sys.modules, 'hypertune', None)  # Import fails.
  with pytest.raises(ImportError, match=r'needs the `cloudml-hypertune` '
                     r'package: pip install cloudml-hypertune'):
    cloud.report_metric_to_hypertune(1.0, 1)
  monkeypatch.setitem(sys.modules, 'google.cloud.storage', None)
  with pytest.raises(ImportError, match=r'`google-cloud-storage`'):
    cloud.download_from_gstorage('gs://b/f.gin', '/tmp/f.gin')


def test_importing_cloud_needs_no_optional_package():
  import subprocess  # pylint: disable=g-import-not-at-top
  # The module file alone, in a fresh interpreter (no TensorFlow import).
  code = ('import importlib.util, sys; '
          'spec = importlib.util.spec_from_file_location('
          f'"c", {cloud.__file__!r}); '
          'spec.loader.exec_module(importlib.util.module_from_spec(spec)); '
          "print(sorted(m for m in ('hypertune', 'google.cloud.storage', "
          "'tensorflow') if m in sys.modules))")
  out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                       text=True, check=True)
  assert out.stdout.strip() == '[]'

