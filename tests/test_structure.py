"""Structure of the package, read with `ast`: no import cycles between its
modules, and no module reaching into another module's private names."""

import ast
import pathlib

import ddsp

PACKAGE_DIR = pathlib.Path(ddsp.__file__).parent
# Cycles left to other work: none (model loading has one home,
# ddsp.training.checkpoints, so trainers no longer imports train_util).
KNOWN_CYCLES = set()


def _modules():
  """{module name: parsed tree} of every module of the package."""
  modules = {}
  for path in sorted(PACKAGE_DIR.rglob('*.py')):
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix('').parts
    name = '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)
    modules[name] = ast.parse(path.read_text(), filename=str(path))
  return modules


MODULES = _modules()


def _imports(tree):
  """Names of the package's modules that `tree` imports, and their aliases."""
  imported = {}
  for node in ast.walk(tree):
    if isinstance(node, ast.ImportFrom) and (node.module or '').startswith(
        'ddsp'):
      for alias in node.names:
        candidate = f'{node.module}.{alias.name}'
        module = candidate if candidate in MODULES else node.module
        imported[alias.asname or alias.name] = module
    elif isinstance(node, ast.Import):
      for alias in node.names:
        if alias.name.startswith('ddsp'):
          imported[alias.asname or alias.name] = alias.name
  return imported


def _graph():
  graph = {}
  for name, tree in MODULES.items():
    # A package imports its own submodules; that is not a dependency cycle.
    graph[name] = {m for m in _imports(tree).values()
                   if m in MODULES and not m.startswith(name + '.')
                   and not name.startswith(m + '.')}
  return graph


def _cycles(graph):
  """Strongly connected components with more than one module (Tarjan)."""
  index, low, stack, on_stack, components = {}, {}, [], set(), []

  def visit(node):
    index[node] = low[node] = len(index)
    stack.append(node)
    on_stack.add(node)
    for other in graph[node]:
      if other not in index:
        visit(other)
        low[node] = min(low[node], low[other])
      elif other in on_stack:
        low[node] = min(low[node], index[other])
    if low[node] == index[node]:
      component = set()
      while True:
        member = stack.pop()
        on_stack.discard(member)
        component.add(member)
        if member == node:
          break
      if len(component) > 1:
        components.append(frozenset(component))

  for node in sorted(graph):
    if node not in index:
      visit(node)
  return components


def test_cycle_finder_finds_a_cycle():
  graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}
  assert _cycles(graph) == [frozenset({'a', 'b', 'c'})]


def test_no_import_cycles():
  cycles = set(_cycles(_graph()))
  assert cycles <= KNOWN_CYCLES, sorted(sorted(c) for c in cycles
                                        - KNOWN_CYCLES)


def test_crepe_and_spectral_ops_do_not_import_each_other_both_ways():
  graph = _graph()
  assert 'ddsp.spectral_ops' not in graph['ddsp.crepe']
  assert 'ddsp.core.framing' in graph['ddsp.crepe']
  assert 'ddsp.core.framing' in graph['ddsp.spectral_ops']


def _private_uses(name, tree):
  """'module._name' for each private name of another ddsp module `name` uses.

  A private submodule (`ddsp.core._phase_kernels`) serves its own package:
  modules of that package may import it, others may not.
  """
  imported = _imports(tree)
  for node in ast.walk(tree):
    if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id in imported and node.attr.startswith('_')
        and not node.attr.startswith('__')):
      yield node.lineno, f'{imported[node.value.id]}.{node.attr}'
    if isinstance(node, ast.ImportFrom) and (node.module or '').startswith(
        'ddsp'):
      for alias in node.names:
        if alias.name.startswith('_') and not alias.name.startswith('__'):
          used = f'{node.module}.{alias.name}'
          if used not in MODULES or not name.startswith(node.module + '.'):
            yield node.lineno, used


def test_private_use_finder_finds_them():
  tree = ast.parse('from ddsp import spectral_ops\n'
                   'from ddsp.core import _phase_kernels\n'
                   'spectral_ops._frame(x)\n')
  assert list(_private_uses('ddsp.crepe', tree)) == [
      (2, 'ddsp.core._phase_kernels'), (3, 'ddsp.spectral_ops._frame')]
  assert list(_private_uses('ddsp.core.oscillators', tree)) == [
      (3, 'ddsp.spectral_ops._frame')]


def test_no_private_names_across_modules():
  offenders = [f'{name}:{line} uses {used}'
               for name, tree in MODULES.items()
               for line, used in _private_uses(name, tree)]
  assert not offenders, offenders
