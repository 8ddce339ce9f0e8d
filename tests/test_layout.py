"""The package's shape: no import circle inside ``mmkd``, imports that go
down the package list only, and ``mmkd/utils`` small.

The import graph is read from the source with ``ast`` (nothing is
imported): one node per module, one edge per ``import``/``from ... import``
of another mmkd module, at module level or inside a function (a deferred
import is still a dependency). ``from pkg import name`` counts as an import
of the submodule ``pkg.name`` where there is one, else of ``pkg``.
Importing ``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py``;
those implicit edges to parent packages are left out (Python handles a
package that is still initialising when its submodule is imported).
"""
import ast
import os
import os.path as osp
from typing import Dict, List, Set

from mmkd.testing import ROOT

# The top-level packages of mmkd, highest first: a module may import from
# its own package and from the packages below it, never from one above.
# ``testing`` (the test suite's helpers) builds models; ``registry`` is the
# bottom every registered module imports.
LAYERS = ('demo', 'zoo', 'analysis', 'testing', 'models', 'ops', 'datasets',
          'evaluation', 'engine', 'utils', 'registry')
UTILS_MAX_LINES = 400


def modules(root: str) -> Dict[str, str]:
    """``{dotted name: file}`` of every module of the ``mmkd`` package."""
    found = {}
    for folder, _, files in os.walk(osp.join(root, 'mmkd')):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = osp.join(folder, name)
            dotted = osp.relpath(path, root)[:-3].replace(os.sep, '.')
            found[dotted.replace('.__init__', '')] = path
    return found


def _target(name: str, mods: Dict[str, str]) -> str:
    """The module ``name`` stands for: itself, else its closest parent."""
    while name and name not in mods:
        name = name.rpartition('.')[0]
    return name


def _imported(node, module: str, is_package: bool) -> List[str]:
    """The dotted names one import statement of ``module`` refers to."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ''
    if node.level:  # relative: from the module's package upwards
        package = module if is_package else module.rpartition('.')[0]
        for _ in range(node.level - 1):
            package = package.rpartition('.')[0]
        base = f'{package}.{base}' if base else package
    return [f'{base}.{alias.name}' for alias in node.names] + [base]


def import_graph(root: str) -> Dict[str, Set[str]]:
    """``{module: modules of mmkd it imports}``."""
    mods = modules(root)
    graph = {name: set() for name in mods}
    for name, path in mods.items():
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        is_package = path.endswith('__init__.py')
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            names = _imported(node, name, is_package)
            if isinstance(node, ast.ImportFrom):
                # `from pkg import sub, obj`: the submodule sub; the
                # package for obj (a name its __init__ defines)
                subs = [n for n in names[:-1] if n in mods]
                names = subs + (
                    names[-1:] if len(subs) < len(names) - 1 else [])
            for target in (_target(n, mods) for n in names):
                if target.startswith('mmkd') and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan)
    and the modules that import themselves: each holds a circle."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _layer(module: str) -> str:
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else ''


def upward_imports(graph: Dict[str, Set[str]]) -> List[str]:
    """``'a -> b'`` for every import of a package above the importer's."""
    up = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            src, dst = _layer(module), _layer(target)
            if src in LAYERS and dst in LAYERS and \
                    LAYERS.index(dst) < LAYERS.index(src):
                up.append(f'{module} -> {target}')
    return up


def test_the_graph_sees_relative_deferred_and_package_imports():
    graph = import_graph(ROOT)
    # `from .coco import ...` in mmkd/datasets/data_check.py
    assert 'mmkd.datasets.coco' in graph['mmkd.datasets.data_check']
    # `from mmkd.registry import MODELS` inside a function (classes.py)
    assert 'mmkd.registry' in graph['mmkd.datasets.classes']
    # `from . import datasets` in mmkd/__init__.py: the package
    assert 'mmkd.datasets' in graph['mmkd']
    assert cycles({
        'a': {'b'},
        'b': {'c'},
        'c': {'a'},
        'd': {'a'}
    }) == [['a', 'b', 'c']]
    assert cycles({'a': {'a'}, 'b': set()}) == [['a']]


def test_no_import_circle_inside_mmkd():
    assert cycles(import_graph(ROOT)) == []


def test_imports_go_down_the_package_list():
    graph = import_graph(ROOT)
    assert {_layer(m) for m in graph} - {''} <= set(LAYERS) | {'version'}
    assert upward_imports(graph) == []
    assert upward_imports({'mmkd.models.a': {'mmkd.analysis.b'}
                           }) == ['mmkd.models.a -> mmkd.analysis.b']


def test_utils_imports_nothing_else_of_mmkd():
    graph = import_graph(ROOT)
    outside = [
        f'{m} -> {t}' for m, targets in graph.items() if _layer(m) == 'utils'
        for t in targets if _layer(t) != 'utils'
    ]
    assert outside == []


def test_utils_stays_small():
    """``mmkd/utils`` holds true utilities; a feature gets its own
    package (STYLE.md)."""
    lines = 0
    for folder, _, files in os.walk(osp.join(ROOT, 'mmkd', 'utils')):
        for name in files:
            if name.endswith('.py'):
                with open(osp.join(folder, name)) as f:
                    lines += len(f.readlines())
    assert lines < UTILS_MAX_LINES, (
        f'mmkd/utils has {lines} lines; move a feature to its own package')
