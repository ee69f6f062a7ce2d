"""Runs every `>>>` example in the docstrings of the package.

Every module of `ddsp` is imported and its docstring examples are run with
`doctest` in this process (one test per module), so an example that no
longer matches the code fails here. Examples may not be skipped, except the
few listed in `ALLOWED_SKIPS` with the test that runs the same code.
"""

import doctest
import importlib
import pkgutil

import gin
import pytest

import ddsp

# (docstring name, why its example is not run here).
ALLOWED_SKIPS = {
    'ddsp.training.data_preparation.prepare_tfrecord_lib.prepare_tfrecord':
        'runs an Apache Beam pipeline with CREPE over audio files; '
        'tests/training/test_prepare_tfrecord.py runs it',
}
OPTIONS = doctest.ELLIPSIS
# Modules whose examples train, trace or run CREPE (several seconds each).
SLOW_MODULES = ('ddsp.crepe', 'ddsp.training.inference',
                'ddsp.training.trainers')


def _module_names():
  return sorted(m.name for m in pkgutil.walk_packages(ddsp.__path__, 'ddsp.'))


def _docstring_tests(module_name):
  module = importlib.import_module(module_name)
  finder = doctest.DocTestFinder(exclude_empty=True)
  # Only docstrings written in this module (not those of imported objects).
  return [t for t in finder.find(module, module_name) if t.examples
          and t.filename == module.__file__]


MODULES_WITH_EXAMPLES = [name for name in _module_names()
                         if _docstring_tests(name)]


def test_the_package_has_examples():
  n_examples = sum(len(t.examples) for name in MODULES_WITH_EXAMPLES
                   for t in _docstring_tests(name))
  assert len(MODULES_WITH_EXAMPLES) >= 30 and n_examples >= 300


@pytest.mark.parametrize('module_name', [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW_MODULES
    else name for name in MODULES_WITH_EXAMPLES])
def test_docstring_examples_run(module_name):
  failures = []
  for test in _docstring_tests(module_name):
    skipped = [e for e in test.examples if e.options.get(doctest.SKIP)]
    if skipped and test.name not in ALLOWED_SKIPS:
      failures.append(f'{test.name}: {len(skipped)} example(s) marked '
                      '`doctest: +SKIP`; make them run')
    report = []
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    result = runner.run(test, out=report.append)
    if result.failed:
      failures.append(''.join(report))
  gin.clear_config()  # Examples that bind gin parameters leave none behind.
  assert not failures, '\n'.join(failures)
