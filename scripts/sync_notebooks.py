"""Keeps the tutorial notebooks in step with their plain-text sources.

Each tutorial has one source of truth, `examples/<name>.py`, a jupytext
"percent" script (`# %%` starts a code cell, `# %% [markdown]` a text cell),
and a notebook made from it, `examples/<name>.ipynb`, committed with its
outputs (executed in short mode) so that it reads without running anything.
Tutorials are every `examples/NN_*.py` and `examples/demo_*.py`.

    python scripts/sync_notebooks.py            # write the notebooks that
                                                # are missing or out of date
    python scripts/sync_notebooks.py --execute  # ... and run them (short
                                                # mode) to store the outputs
    python scripts/sync_notebooks.py --check    # write nothing; exit 1 if a
                                                # notebook is missing or out
                                                # of date
    python scripts/sync_notebooks.py --execute --force 01_core_functions

A notebook is in sync when its cells (type, source and tags, outputs aside)
are those of its source. Editing the notebook in Jupyter with jupytext
installed keeps the pair in step too (the notebooks are paired
`ipynb,py:percent`).
"""

import argparse
import os
import pathlib
import re
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / 'examples'
PATTERNS = ('[0-9][0-9]_*.py', 'demo_*.py')
CELL_TIMEOUT_S = 900
KERNEL_METADATA = {
    'kernelspec': {'display_name': 'Python 3', 'language': 'python',
                   'name': 'python3'},
    'language_info': {'name': 'python'},
    'jupytext': {'formats': 'ipynb,py:percent'},
}


def sources(examples_dir=EXAMPLES):
  """Every tutorial source (`NN_*.py`, `demo_*.py`), sorted by name."""
  found = set()
  for pattern in PATTERNS:
    found.update(pathlib.Path(examples_dir).glob(pattern))
  return sorted(found)


def notebook_path(source):
  return pathlib.Path(source).with_suffix('.ipynb')


def _cell_key(cell):
  tags = tuple(cell.get('metadata', {}).get('tags', ()))
  return (cell['cell_type'], cell['source'].strip('\n'), tags)


def notebook_from_source(source):
  """The notebook (nbformat 4, no outputs) that `source` describes."""
  import jupytext  # pylint: disable=g-import-not-at-top
  import nbformat  # pylint: disable=g-import-not-at-top
  parsed = jupytext.read(source, fmt='py:percent')
  cells = []
  for cell in parsed.cells:
    tags = list(cell.get('metadata', {}).get('tags', []))
    source_text = cell['source'].strip('\n')
    if cell['cell_type'] == 'markdown':
      new = nbformat.v4.new_markdown_cell(source_text)
    else:
      new = nbformat.v4.new_code_cell(source_text)
    if tags:
      new.metadata['tags'] = tags
    cells.append(new)
  notebook = nbformat.v4.new_notebook(cells=cells)
  notebook.metadata.update(KERNEL_METADATA)
  if 'accelerator' in parsed.metadata:  # A GPU runtime in Colab.
    notebook.metadata['accelerator'] = parsed.metadata['accelerator']
  return notebook


def out_of_sync(source):
  """Why `source`'s notebook is out of date, or None if it is in sync."""
  import nbformat  # pylint: disable=g-import-not-at-top
  path = notebook_path(source)
  if not path.exists():
    return f'{path.name} is missing'
  notebook = nbformat.read(path, as_version=4)
  expected = [_cell_key(c) for c in notebook_from_source(source).cells]
  actual = [_cell_key(c) for c in notebook.cells]
  if len(expected) != len(actual):
    return (f'{path.name} has {len(actual)} cells, its source '
            f'{pathlib.Path(source).name} {len(expected)}')
  for index, (want, have) in enumerate(zip(expected, actual)):
    if want != have:
      first_line = (want[1].splitlines() or [''])[0][:60]
      return (f'{path.name} cell {index} differs from its source '
              f'({want[0]} cell starting {first_line!r})')
  return None


def execute(notebook, cwd=EXAMPLES, env=None, timeout=CELL_TIMEOUT_S):
  """Runs a notebook top to bottom in a fresh Python kernel (nbclient).

  Args:
    notebook: an nbformat notebook (changed in place: outputs are added).
    cwd: the kernel's working directory.
    env: environment variables to add for the kernel.
    timeout: seconds allowed per cell.

  Returns:
    The executed notebook.

  Raises:
    nbclient.exceptions.CellExecutionError: a cell raised; the message
      shows the cell and its traceback.
  """
  import nbclient  # pylint: disable=g-import-not-at-top
  kernel_env = dict(os.environ)
  kernel_env.pop('MPLBACKEND', None)  # The kernel's inline backend.
  python_path = [str(ROOT)] + (
      [kernel_env['PYTHONPATH']] if kernel_env.get('PYTHONPATH') else [])
  kernel_env['PYTHONPATH'] = os.pathsep.join(python_path)
  kernel_env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  kernel_env.update(env or {})
  client = nbclient.NotebookClient(
      notebook, timeout=timeout, kernel_name='python3',
      resources={'metadata': {'path': str(cwd)}})
  client.execute(env=kernel_env)
  return notebook


# TensorFlow's start-up lines from C++ (timestamps, process ids, "no CUDA
# drivers"), written to the kernel's stderr before Python logging exists.
_NATIVE_LOG_LINE = re.compile(
    r'^([IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\]|'
    r'WARNING: All log messages before absl::InitializeLog\(\)|'
    r'To enable the following instructions: .* rebuild TensorFlow)')


def _strip_volatile(notebook):
  """Drops execution timestamps and TensorFlow's native start-up logs.

  Both change from run to run and machine to machine; keeping them out of
  the committed notebooks keeps their diffs quiet.
  """
  for cell in notebook.cells:
    cell.metadata.pop('execution', None)
    if cell.cell_type != 'code':
      continue
    kept = []
    for output in cell.outputs:
      if output.output_type == 'stream' and output.name == 'stderr':
        lines = [line for line in output.text.splitlines(keepends=True)
                 if not _NATIVE_LOG_LINE.match(line)]
        if not ''.join(lines).strip():
          continue
        output.text = ''.join(lines)
      kept.append(output)
    cell.outputs = kept
  return notebook


def sync(source, run=False, force=False, short=True):
  """Writes `source`'s notebook if it is missing or out of date.

  Args:
    source: path of the `.py` source.
    run: execute the notebook (and keep its outputs) when it is written.
    force: write (and run) even if it is in sync.
    short: run in short mode.

  Returns:
    A one-line report.
  """
  import nbformat  # pylint: disable=g-import-not-at-top
  reason = out_of_sync(source)
  path = notebook_path(source)
  if reason is None and not force:
    return f'{path.name}: in sync'
  notebook = notebook_from_source(source)
  seconds = None
  if run:
    with tempfile.TemporaryDirectory() as output_dir:
      start = time.time()
      execute(notebook, env={'DDSP_TUTORIAL_SHORT': '1' if short else '0',
                             'DDSP_TUTORIAL_OUTPUT_DIR': output_dir})
      seconds = time.time() - start
    _strip_volatile(notebook)
  nbformat.validate(notebook)
  nbformat.write(notebook, path)
  size_kb = path.stat().st_size / 1024
  ran = f', executed in {seconds:.0f} s' if seconds is not None else ''
  return f'{path.name}: written ({reason or "forced"}{ran}, {size_kb:.0f} kB)'


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('names', nargs='*',
                      help='tutorials to handle (default: all), e.g. '
                           '01_core_functions')
  parser.add_argument('--check', action='store_true',
                      help='write nothing; exit 1 if any notebook is missing '
                           'or out of date')
  parser.add_argument('--execute', action='store_true',
                      help='run the notebooks written (short mode) to store '
                           'their outputs')
  parser.add_argument('--force', action='store_true',
                      help='write (and run) even the notebooks in sync')
  parser.add_argument('--full', action='store_true',
                      help='execute at full size instead of short mode')
  args = parser.parse_args(argv)
  selected = sources()
  if args.names:
    wanted = {pathlib.Path(n).stem for n in args.names}
    selected = [s for s in selected if s.stem in wanted]
    missing = wanted - {s.stem for s in selected}
    if missing:
      parser.error(f'no tutorial source for {sorted(missing)}')
  if args.check:
    problems = [r for r in map(out_of_sync, selected) if r]
    for problem in problems:
      print(problem)
    print(f'{len(selected) - len(problems)} of {len(selected)} notebooks in '
          'sync' + ('; run `python scripts/sync_notebooks.py --execute`'
                    if problems else ''))
    return 1 if problems else 0
  for source in selected:
    print(sync(source, run=args.execute, force=args.force,
               short=not args.full), flush=True)
  return 0


if __name__ == '__main__':
  sys.exit(main())
