"""The docs name only what exists.

README.md and every page in docs/ are read as text: each repository path
they name (``configs/``, ``tools/``, ``docs/``, ``frskd_mm/``, ``tests/``;
brace lists and globs expanded), each ``make <target>`` in their code, and
each relative Markdown link (with its ``#anchor``, against the target's
headings as GitHub makes them) must resolve in this checkout.
"""
import glob
import re
from pathlib import Path
from typing import Iterator, List, Set

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / 'README.md'] + sorted((ROOT / 'docs').glob('*.md'))

# A repository path: not preceded by a path character, so that upstream
# paths (``mmsegmentation/tools/...``) and user folders (``my_configs/``)
# are not taken for ours. Only files with these suffixes, and folders, are
# checked (``--out docs/study/digits`` names a prefix, not a file).
PATH = re.compile(r'(?<![\w./~<>-])((?:configs|tools|docs|frskd_mm|tests)/'
                  r'[\w./{},*-]*[\w*}/])')
SUFFIXES = ('.py', '.sh', '.md', '.png', '.json', '.yml', '/')
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
FENCE = re.compile(r'^\s*```')
INLINE_CODE = re.compile(r'`([^`\n]+)`')
MAKE = re.compile(r'^make\s+([A-Za-z][\w-]*)')
MAKE_TARGET = re.compile(r'^([A-Za-z][\w-]*)\s*:(?!=)', re.M)


def _rel(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _code_lines(text: str) -> Iterator[str]:
    """Every line of a fenced or indented code block, and every inline code
    span, stripped."""
    fenced, previous_blank = False, True
    indented = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            yield line.strip()
            continue
        if line.startswith('    ') and (previous_blank or indented):
            indented = True
            yield line.strip()
        elif line.strip():
            indented = False
        previous_blank = not line.strip()
        for span in INLINE_CODE.findall(line):
            yield span.strip()


def _headings(text: str) -> List[str]:
    """The lines that are Markdown headings (outside fenced code)."""
    found, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and re.match(r'#{1,6} ', line):
            found.append(line.lstrip('#').strip())
    return found


def _anchors(text: str) -> Set[str]:
    """The anchors GitHub gives the headings: lower case, punctuation
    dropped, spaces to hyphens, ``-1``, ``-2``, ... on repeats."""
    anchors, seen = set(), {}
    for heading in _headings(text):
        slug = re.sub(r'[^\w\- ]', '', heading.lower()).replace(' ', '-')
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f'{slug}-{n}')
    return anchors


def _expand(path: str) -> List[str]:
    """``a/{b,c}/d`` -> ``['a/b/d', 'a/c/d']`` (nested lists too)."""
    match = re.search(r'\{([^{}]*)\}', path)
    if not match:
        return [path]
    head, tail = path[:match.start()], path[match.end():]
    return [
        p for option in match.group(1).split(',')
        for p in _expand(head + option + tail)
    ]


def _exists(path: str) -> bool:
    if '*' in path:
        return bool(glob.glob(str(ROOT / path)))
    return (ROOT / path).exists()


def _page_id(page: Path) -> str:
    return _rel(page)


def test_the_pages_are_found():
    assert (ROOT / 'README.md') in PAGES and len(PAGES) > 5, PAGES


@pytest.mark.parametrize('page', PAGES, ids=_page_id)
def test_named_paths_exist(page):
    text = page.read_text(encoding='utf-8')
    missing = sorted({
        f'{name} ({expanded})'
        for name in PATH.findall(text) if name.endswith(SUFFIXES)
        for expanded in _expand(name) if not _exists(expanded)
    })
    assert not missing, f'{_rel(page)} names paths that do not exist: ' + \
        ', '.join(missing)


@pytest.mark.parametrize('page', PAGES, ids=_page_id)
def test_make_targets_exist(page):
    targets = set(MAKE_TARGET.findall((ROOT / 'Makefile').read_text()))
    assert {'demo', 'test'} <= targets
    named = {
        m.group(1)
        for line in _code_lines(page.read_text(encoding='utf-8'))
        if (m := MAKE.match(line))
    }
    if page.name == 'README.md':
        assert {'demo', 'test'} <= named, named  # the two commands
    assert named <= targets, \
        f'{_rel(page)}: no Makefile target {sorted(named - targets)}'


@pytest.mark.parametrize('page', PAGES, ids=_page_id)
def test_relative_links_and_anchors_resolve(page):
    text = page.read_text(encoding='utf-8')
    broken = []
    for target in LINK.findall(text):
        if re.match(r'[a-z][a-z0-9+.-]*:', target):  # https:, mailto:
            continue
        path, _, anchor = target.partition('#')
        file = (page.parent / path).resolve() if path else page
        rel = file.relative_to(ROOT).as_posix() if ROOT in file.parents \
            else str(file)
        if not file.exists():
            broken.append(f'{target} (no {rel})')
            continue
        if anchor and file.suffix == '.md' and \
                anchor not in _anchors(file.read_text(encoding='utf-8')):
            broken.append(f'{target} (no heading #{anchor} in {rel})')
    assert not broken, f'{_rel(page)} has broken links: ' + ', '.join(broken)


@pytest.mark.parametrize(('heading', 'anchor'), [
    ('FRSKD + SLA', 'frskd--sla'),
    ("The paper's setting: EfficientDet on VOC 2007 + 2012",
     'the-papers-setting-efficientdet-on-voc-2007--2012'),
    ('What is measured, in the code', 'what-is-measured-in-the-code'),
    ('Add `FRSKD` to your_config', 'add-frskd-to-your_config'),
])
def test_anchors_are_githubs(heading, anchor):
    assert _anchors(f'## {heading}\n') == {anchor}
    assert _anchors(f'# {heading}\n## {heading}\n') == {anchor, anchor + '-1'}
    assert _anchors(f'```\n# {heading}\n```\n') == set()


def test_paths_are_read_as_written():
    text = ('see `configs/{baseline,frskd}/resnet18_cifar100.py`, '
            'mmseg\'s mmsegmentation/tools/x.py, my_configs/a.py and '
            '`tools/train.py`\'s flags; --out docs/study/digits')
    names = PATH.findall(text)
    assert names == [
        'configs/{baseline,frskd}/resnet18_cifar100.py', 'tools/train.py',
        'docs/study/digits'
    ]
    assert _expand(names[0]) == [
        'configs/baseline/resnet18_cifar100.py',
        'configs/frskd/resnet18_cifar100.py'
    ]
    assert not _exists('configs/frskd/no_such_config.py')
    assert _exists('configs/frskd_stable/*.py')
