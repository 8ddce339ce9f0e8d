"""The documentation cannot drift from the code: every file path, config
name and ``tools/...`` command line that ``README.md`` and the ``*.md``
files under ``docs/`` and ``configs/`` show is checked.

- Paths: repository paths in code (``configs/...``, ``tools/...``,
  ``mmkd/...``, ``docs/...``, ``tests/...``, ``requirements/...``), file
  names that are a whole code span (``chen2017.py``: some file of the
  repository has that name), relative links, and glob patterns (at least
  one file matches) must exist. Placeholders (``CONFIG``, ``<name>``,
  ``...``, ``{a,b}``) are not paths.
- Config names: ``mmdet::...`` resolves to a config of the installed
  MMDetection; ``_base_.name`` is a variable some config sets.
- Commands in code blocks: ``python tools/X.py ...`` is parsed by the tool's
  own argument parser (its ``parse_args``, else its ``main``), stopped right
  after argparse accepted the arguments, before the tool's own checks of
  files or values (a dry parse). A usage synopsis (``[--flag VALUE]``) has
  each of its options looked up in that parser. ``bash tools/X.sh ...``:
  the script exists, its environment variables are ones it (or the script
  it runs) reads, and the arguments it passes on to a Python tool (see
  :data:`SCRIPTS`) are parsed by that tool.
"""
import argparse
import glob
import os.path as osp
import re
import shlex
from typing import Iterator, List, Optional, Tuple

import pytest

from mmkd.testing import ROOT, load_tool

TOP_DIRS = ('configs', 'tools', 'mmkd', 'docs', 'tests', 'requirements')
PATH_RE = re.compile(r'(?<![\w./:-])((?:%s)/[\w./*{}<>,-]*)' %
                     '|'.join(TOP_DIRS))
NAME_RE = re.compile(r'[\w.-]+\.(?:py|sh|md|cfg|txt)')
SCOPED_RE = re.compile(r'\bmmdet::[\w/.-]+\.py')
LINK_RE = re.compile(r'\]\(([^)\s]+)\)')
BASE_RE = re.compile(r'\b_base_\.(\w+)')
SPAN_RE = re.compile(r'`([^`\n]+)`')
TOOL_RE = re.compile(r'^(?:\./)?tools/[\w/]+\.(?:py|sh)$')
ENV_RE = re.compile(r'^([A-Z_][A-Z0-9_]*)=')
# How each shell script passes its arguments on: (the Python tool, how many
# leading arguments the script takes, the tool's arguments built from them).
SCRIPTS = {
    'tools/dist_train.sh':
    ('tools/train.py', 2, lambda a: [a[0], '--launcher', 'pytorch']),
    'tools/dist_test.sh':
    ('tools/test.py', 3, lambda a: [a[0], a[1], '--launcher', 'pytorch']),
    'tools/slurm_train.sh':
    ('tools/train.py', 4,
     lambda a: [a[2], '--work-dir', a[3], '--launcher', 'slurm']),
    'tools/slurm_test.sh':
    ('tools/test.py', 4, lambda a: [a[2], a[3], '--launcher', 'slurm']),
    'tools/run_demo.sh': ('tools/demo.py', 0, lambda a: []),
    'tools/run_tests.sh': (None, 0, None),  # pytest's own arguments
    'tools/setup_env.sh': (None, 0, None),
    'tools/gpu_check.sh': ('tools/misc/gpu_check.py', 0, lambda a: []),
}
# Scripts a script runs, whose environment variables it passes on.
CALLS = {
    'tools/dist_train.sh': ['tools/torchrun.sh'],
    'tools/dist_test.sh': ['tools/torchrun.sh'],
    'tools/run_demo.sh': ['tools/setup_env.sh'],
    'tools/run_tests.sh': ['tools/setup_env.sh'],
}


def doc_files() -> List[str]:
    """README.md and every ``*.md`` under docs/ and configs/."""
    files = [osp.join(ROOT, 'README.md')]
    for top in ('docs', 'configs'):
        files += sorted(
            glob.glob(osp.join(ROOT, top, '**', '*.md'), recursive=True))
    return files


# --------------------------------------------------------------- reading
def code_blocks(text: str) -> Iterator[str]:
    """The lines of fenced and indented code blocks, ``\\`` continuations
    joined."""
    blocks, block, fenced, previous_blank = [], [], False, True
    for line in text.splitlines():
        if line.lstrip().startswith(('```', '~~~')):
            fenced = not fenced
            blocks, block = blocks + [block], []
            continue
        if fenced:
            block.append(line)
        elif not line.strip():
            previous_blank = True
        elif line.startswith('    ') and (previous_blank or block) and \
                not line.lstrip().startswith(('- ', '|')):
            block.append(line)  # an indented block (not a list or table)
            previous_blank = False
        else:
            blocks, block, previous_blank = blocks + [block], [], False
    for lines in blocks + [block]:
        current = ''
        for line in lines:
            current += ' ' + line.strip()
            if current.endswith('\\'):
                current = current[:-1]
                continue
            if current.strip():
                yield current.strip()
            current = ''
        if current.strip():
            yield current.strip()


def _is_placeholder(token: str) -> bool:
    return (any(c in token for c in '<>{}') or '...' in token
            or re.search(r'(^|/)[A-Z][A-Z0-9_]*(\.\w+)?$', token) is not None)


def config_variables() -> set:
    """The top-level variables the configs under configs/ set (what a
    ``_base_.name`` can refer to), and MMDetection's usual ones."""
    names = {
        'model', 'train_dataloader', 'val_dataloader', 'test_dataloader',
        'train_pipeline', 'test_pipeline', 'backend_args'
    }
    for path in glob.glob(
            osp.join(ROOT, 'configs', '**', '*.py'), recursive=True):
        with open(path) as f:
            names |= set(re.findall(r'^(\w+)\s*=', f.read(), re.M))
    return names


def path_problems(text: str, doc: str) -> List[str]:
    """Repository paths, whole-span file names, links and ``mmdet::``
    names that do not exist."""
    problems = []
    spans = SPAN_RE.findall(text)
    code = '\n'.join(spans + list(code_blocks(text)))
    for path in sorted(set(PATH_RE.findall(code))):
        path = path.rstrip('.,')
        if _is_placeholder(path):
            continue
        if '*' in path:
            if not glob.glob(osp.join(ROOT, path)):
                problems.append(f'{path}: no file matches')
        elif not osp.exists(osp.join(ROOT, path)):
            problems.append(f'{path}: no such file')
    names = {osp.basename(p) for p in glob.glob(osp.join(ROOT, '*'))}
    for top in TOP_DIRS:
        names |= {
            osp.basename(p)
            for p in glob.glob(osp.join(ROOT, top, '**', '*'), recursive=True)
        }
    for span in spans:
        span = span.strip()
        if NAME_RE.fullmatch(span) and not _is_placeholder(span) and \
                span not in names:
            problems.append(f'{span}: no file of that name')
    for link in LINK_RE.findall(text):
        target = link.split('#')[0]
        if not target or '://' in target or target.startswith('mailto:'):
            continue
        if not osp.exists(osp.join(osp.dirname(doc), target)):
            problems.append(f'link {link}: no such file')
    defined = config_variables()
    for name in sorted(set(BASE_RE.findall(code)) - defined):
        problems.append(f'_base_.{name}: no config under configs/ sets it')
    for name in sorted(set(SCOPED_RE.findall(code))):
        from mmkd.utils.config_paths import resolve_config
        try:
            resolve_config(name)
        except (FileNotFoundError, ValueError) as exc:
            problems.append(f'{name}: {exc}')
    return problems


# -------------------------------------------------------------- commands
class _Parsed(Exception):
    """Raised by the patched ``parse_args`` once argparse accepted."""

    def __init__(self, parser):
        super().__init__()
        self.parser = parser


def _dry_parse(
        tool: str, argv: Optional[List[str]], monkeypatch
) -> Tuple[Optional[str], Optional[argparse.ArgumentParser]]:
    """Run ``tool``'s argument parsing on ``argv`` and stop there:
    ``(problem or None, the parser)``; ``argv=None`` only fetches the
    parser."""
    real = argparse.ArgumentParser.parse_args

    def parse_args(self, args=None, namespace=None):
        if argv is not None:
            real(self, args, namespace)  # exits on a bad command line
        raise _Parsed(self)

    module = load_tool(osp.splitext(tool)[0][len('tools/'):])
    entry = getattr(module, 'parse_args', None) or module.main
    with monkeypatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, 'parse_args', parse_args)
        try:
            entry(argv or [])
        except _Parsed as done:
            return None, done.parser
        except SystemExit as exc:
            return f'{tool} {shlex.join(argv)}: refused ({exc})', None
    return f'{tool}: parsed no arguments', None


def _options_known(tool: str, argv: List[str], monkeypatch) -> List[str]:
    """A usage synopsis: each ``--option`` it shows is one of the tool's."""
    problem, parser = _dry_parse(tool, None, monkeypatch)
    if parser is None:
        return [problem]
    known = parser._option_string_actions
    return [
        f'{tool}: unknown option {flag}'
        for flag in (a.split('=')[0] for a in argv if a.startswith('-'))
        if flag not in known
    ]


def _python_problems(tool: str, argv: List[str], monkeypatch) -> List[str]:
    if not osp.isfile(osp.join(ROOT, tool)):
        return []  # the path check names it
    if any(a.startswith('[') or a.endswith(']') for a in argv):
        shown = [a.strip('[]') for a in argv if a.strip('[]')]
        return _options_known(tool, shown, monkeypatch)
    problem, _ = _dry_parse(tool, argv, monkeypatch)
    return [problem] if problem else []


def _script_problems(script: str, argv: List[str], env: List[str],
                     monkeypatch) -> List[str]:
    if not osp.isfile(osp.join(ROOT, script)):
        return []  # the path check names it
    if script not in SCRIPTS:
        return [f'{script}: add how it passes its arguments on to SCRIPTS']
    texts = [script] + CALLS.get(script, [])
    source = ''.join(open(osp.join(ROOT, s)).read() for s in texts)
    problems = [
        f'{script}: does not read the variable {name}' for name in env
        if not re.search(r'\$\{?%s\b' % name, source)
    ]
    tool, taken, forwarded = SCRIPTS[script]
    if any(a.startswith('[') for a in argv):  # a synopsis
        argv = [a.strip('[]') for a in argv if a.strip('[]') != 'args']
    if tool is None:
        if argv and script != 'tools/run_tests.sh':
            problems.append(f'{script} takes no arguments, shows {argv}')
        return problems
    if len(argv) < taken:
        return problems + [f'{script} needs {taken} arguments, shows {argv}']
    return problems + _python_problems(tool,
                                       forwarded(argv[:taken]) + argv[taken:],
                                       monkeypatch)


def commands(text: str) -> Iterator[Tuple[str, List[str], List[str]]]:
    """``(tool, arguments, environment variables)`` of every command line
    in the code blocks that runs a ``tools/`` script."""
    for line in code_blocks(text):
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        env = []
        while tokens and ENV_RE.match(tokens[0]):
            env.append(ENV_RE.match(tokens.pop(0)).group(1))
        while tokens and re.fullmatch(r'(\S*/)?(python3?|bash|sh)', tokens[0]):
            tokens.pop(0)
        if tokens and TOOL_RE.match(tokens[0]):
            yield tokens[0].lstrip('./'), tokens[1:], env


def command_problems(text: str, monkeypatch) -> List[str]:
    problems = []
    for tool, argv, env in commands(text):
        if tool.endswith('.sh'):
            problems += _script_problems(tool, argv, env, monkeypatch)
        else:
            problems += _python_problems(tool, argv, monkeypatch)
    return problems


def doc_problems(path: str, monkeypatch) -> List[str]:
    with open(path) as f:
        text = f.read()
    return path_problems(text, path) + command_problems(text, monkeypatch)


# ------------------------------------------------------------------ tests
DOCS = [osp.relpath(p, ROOT) for p in doc_files()]


@pytest.mark.parametrize('doc', DOCS)
def test_doc_shows_files_and_commands_that_exist(doc, monkeypatch):
    assert doc_problems(osp.join(ROOT, doc), monkeypatch) == []


def test_the_docs_are_found():
    assert {
        'README.md', 'docs/get_started.md', 'docs/reproduction.md',
        'configs/kd/README.md'
    } <= set(DOCS)


GOOD = """\
See `configs/_base_/distill/chen2017.py`, `chen2017.py`,
[the method](configs/kd/README.md) and `configs/kd/frcnn_vgg16_*_voc.py`:

    python tools/train.py configs/kd/frcnn_vgg16_alexnet_coco.py \\
        --work-dir work_dirs/x --cfg-options train_cfg.max_epochs=1
    NNODES=2 PORT=29500 bash tools/dist_train.sh CONFIG 8 --auto-scale-lr
    tools/slurm_test.sh dev job CONFIG CKPT --out results.pkl

```shell
python tools/misc/make_kd_config.py \\
    mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py CONFIG --out x.py
python tools/test.py CONFIG CHECKPOINT [--out results.pkl] [--cfg-options k=v]
```
"""


def _check(tmp_path, text, monkeypatch):
    path = tmp_path / 'doc.md'
    path.write_text(text)
    return doc_problems(str(path), monkeypatch)


def test_checker_accepts_what_exists(tmp_path, monkeypatch):
    (tmp_path / 'configs' / 'kd').mkdir(parents=True)  # for the link
    (tmp_path / 'configs' / 'kd' / 'README.md').write_text('')
    assert len(list(commands(GOOD))) == 5
    assert _check(tmp_path, GOOD, monkeypatch) == []


@pytest.mark.parametrize('text,problem', [
    ('`configs/kd/frcnn_vgg16_resnet_coco.py`',
     'configs/kd/frcnn_vgg16_resnet_coco.py: no such file'),
    ('`chen2018.py`', 'chen2018.py: no file of that name'),
    ('`configs/kd/frcnn_*_mobilenet.py`',
     'configs/kd/frcnn_*_mobilenet.py: no file matches'),
    ('[method](kd/README.md)', 'link kd/README.md: no such file'),
    ('`distill_losses=_base_.paper_distill_losses`',
     '_base_.paper_distill_losses: no config under configs/ sets it'),
    ('`mmdet::faster_rcnn/faster-rcnn_r51_fpn_1x_coco.py`',
     "mmdet::faster_rcnn/faster-rcnn_r51_fpn_1x_coco.py: config="),
    ('    python tools/train.py CONFIG --epochs 12\n',
     'tools/train.py CONFIG --epochs 12: refused (2)'),
    ('    python tools/trian.py CONFIG\n', 'tools/trian.py: no such file'),
    ('    python tools/test.py CONFIG CKPT [--no-such-flag]\n',
     'tools/test.py: unknown option --no-such-flag'),
    ('    tools/dist_train.sh CONFIG 8 --resume-from x.pth\n',
     'tools/train.py CONFIG --launcher pytorch --resume-from x.pth: '
     'refused (2)'),
    ('    GPUZ=16 tools/slurm_train.sh dev job CONFIG DIR\n',
     'tools/slurm_train.sh: does not read the variable GPUZ'),
    ('    bash tools/setup_env.sh --cuda\n',
     "tools/setup_env.sh takes no arguments, shows ['--cuda']"),
])
def test_checker_names_what_does_not_exist(text, problem, tmp_path,
                                           monkeypatch):
    problems = _check(tmp_path, text, monkeypatch)
    assert len(problems) == 1 and problems[0].startswith(problem), problems
