"""Helpers of the bad-input tables (test_bad_input.py, test_bad_data.py):
run a tool's ``main()`` in this process as a user would run it, and the
files the cases need."""
import copy
import json
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.datasets.synthetic import SYNTHETIC_CLASSES
from mmkd.registry import MODELS
from mmkd.testing import ROOT, TINY_CONFIG, data_options, load_tool

KD_CONFIG = osp.join(ROOT, 'tests', 'configs', 'tiny_kd.py')
TOOLS = dict(
    train=load_tool('train'),
    test=load_tool('test'),
    extract=load_tool('model_converters/extract_student'))


def snapshot(*roots) -> dict:
    """``{path: (size, mtime_ns)}`` of every file and folder under
    ``roots``."""
    found = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = osp.join(folder, name)
                stat = os.stat(path)
                found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def run_main(tool: str, argv: list, capsys):
    """``(exit status, message, output)`` of a tool's main() that must
    fail: the status the process would exit with, the error text and
    everything printed before it."""
    with pytest.raises(SystemExit) as info:
        TOOLS[tool].main([str(a) for a in argv])
    out, err = capsys.readouterr()
    code = info.value.code
    if isinstance(code, str):  # Python prints it and exits with 1
        return 1, code, out + err
    return code, err.strip(), out


def assert_one_line_error(message: str, output: str, expected: str):
    """One ``error: ...`` line matching ``expected``, no traceback, printed
    before any environment or config dump."""
    assert '\n' not in message and message.startswith('error: '), message
    assert re.search(expected, message), message
    for dump in ('Traceback', 'System environment', '\nConfig:'):
        assert dump not in output, output[-2000:]


def check_case(tool: str, make, expected: str, status: int, inputs,
               capsys) -> None:
    """Run the case ``make(inputs)`` of a table: one line matching
    ``expected``, exit ``status``, no file written or changed."""
    argv = make(inputs)
    roots = [inputs.tmp, inputs.data, osp.dirname(inputs.teacher)]
    roots += sorted({osp.dirname(p) for p in inputs.ckpts.values()})
    before = snapshot(*roots)
    code, message, output = run_main(tool, argv, capsys)
    assert code == status
    assert_one_line_error(message, output, expected)
    assert snapshot(*roots) == before  # nothing written or changed


def training_checkpoint(path, config, classes=SYNTHETIC_CLASSES, **meta):
    """A checkpoint shaped like a training run's (random weights) of the
    model of ``config``."""
    init_default_scope('mmkd')
    model_cfg = Config.fromfile(config).model
    if model_cfg.type == 'TwoStageDistiller':
        model_cfg.eval_only = True  # the teacher is not in checkpoints
    model = MODELS.build(model_cfg)
    meta = dict(epoch=1, iter=2, dataset_meta=dict(classes=classes), **meta)
    torch.save(
        dict(
            meta=meta,
            state_dict=model.state_dict(),
            optimizer=dict(state={}, param_groups=[]),
            message_hub=dict()), path)
    return str(path)


class Inputs:
    """Where a case's files go (``tmp``) and the shared ones."""

    def __init__(self, tmp, data, teacher, ckpts):
        self.tmp, self.data, self.teacher, self.ckpts = tmp, data, teacher, \
            ckpts
        self.work = tmp / 'work'

    def options(self, *extra):
        return ['--cfg-options', *data_options(self.data), *extra]

    def kd_options(self, *extra):
        return self.options(f'model.teacher_ckpt={self.teacher}', *extra)

    def train(self, *extra, config=TINY_CONFIG, args=()):
        return [config, '--work-dir', self.work, *args, *self.options(*extra)]

    def train_kd(self, *extra, args=()):
        return [
            KD_CONFIG, '--work-dir', self.work, *args, *self.kd_options(*extra)
        ]

    def test(self, checkpoint, *extra, config=TINY_CONFIG, args=()):
        return [
            config, checkpoint, '--work-dir', self.work, *args,
            *self.options(*extra)
        ]

    def write(self, name, content) -> str:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return str(path)

    def annotations(self, edit, split='train') -> str:
        """A copy of the tiny dataset's ``split`` annotations, changed by
        ``edit(data)``."""
        with open(
                osp.join(self.data, 'annotations',
                         f'instances_{split}.json')) as f:
            data = json.load(f)
        edit(data)
        return self.write(f'{split}.json', json.dumps(data))

    def truncated(self, source, name='epoch_2.pth') -> str:
        with open(source, 'rb') as f:
            data = f.read()
        return self.write(name, data[:len(data) // 2])

    def copy(self, source, name) -> str:
        with open(source, 'rb') as f:
            return self.write(name, f.read())


def edit_first(key, **values):
    """An ``edit`` for :meth:`Inputs.annotations`: update ``data[key][0]``."""

    def edit(data):
        data[key][0].update(copy.deepcopy(values))

    return edit
