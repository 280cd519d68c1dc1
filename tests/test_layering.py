"""The package reads top-down and its files stay small: a module imports
only from its own layer or the layers below it (README, "Package layout")."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / 'frskd_mm'

#: Layer of each top-level part of frskd_mm, from the ground floor up.
LAYERS = {
    'version': 0,
    'utils': 0,
    'registry': 1,
    'models': 2,
    'datasets': 2,
    'evaluation': 2,
    'engine': 3,
    'tasks': 4,
    'apis': 5,
    'analysis': 6,
    'visualization': 6,
    '__init__': 7,
}


def _part(module: str) -> str:
    """``frskd_mm.models.necks.x`` -> ``models``."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def _imports(path: Path):
    """Every frskd_mm module imported by ``path`` (at any depth)."""
    module = '.'.join(path.relative_to(PACKAGE.parent).with_suffix('').parts)
    package = module if path.name == '__init__.py' else \
        module.rsplit('.', 1)[0]
    package = package.removesuffix('.__init__')
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith('frskd_mm'):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                name = '.'.join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ''
            if name.startswith('frskd_mm'):
                if name == 'frskd_mm':  # from frskd_mm import registry
                    for alias in node.names:
                        yield f'frskd_mm.{alias.name}', node.lineno
                else:
                    yield name, node.lineno


def test_every_part_has_a_layer():
    parts = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if not p.name.startswith(('.', '_')) or p.name == '__init__.py'
    }
    parts.discard('__pycache__')
    assert parts <= set(LAYERS), parts - set(LAYERS)


def test_no_upward_imports():
    upward = []
    for path in sorted(PACKAGE.rglob('*.py')):
        own = _part('.'.join(
            path.relative_to(PACKAGE.parent).with_suffix('').parts))
        for name, line in _imports(path):
            if LAYERS[_part(name)] > LAYERS[own]:
                upward.append(f'{path.relative_to(PACKAGE.parent)}:{line} '
                              f'({own}) imports {name}')
    assert not upward, '\n'.join(upward)


def test_the_checker_sees_relative_and_absolute_imports(tmp_path):
    sample = PACKAGE / 'models' / 'necks' / 'frskd_neck.py'
    names = {name for name, _ in _imports(sample)}
    assert 'frskd_mm.registry' in names
    assert 'frskd_mm.models.necks.bifpn_layer' in names


def test_no_file_above_400_lines():
    """Small files: none in frskd_mm/ above 400 lines."""
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in PACKAGE.rglob('*.py')
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, long
