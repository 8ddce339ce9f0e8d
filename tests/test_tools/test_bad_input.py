"""Bad input to tools/train.py ends in one clear ``error: ...`` line that
names the bad key, value or file (no traceback).

Most cases call the tool's ``main()`` in this process (the same code path,
without the 7 s start-up of a new process); one runs it as a process to
check what a user sees on the terminal.
"""
import copy
import glob
import json
import os
import os.path as osp
import re
import subprocess

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.registry import MODELS
from mmkd.testing import (KD_FAULTS_CONFIG, PYTHON, ROOT, data_options,
                          kd_train_options, load_tool)
from mmkd.utils.config_check import check_model_config
from mmkd.utils.errors import CheckpointError, ConfigError

KD_CONFIG = osp.join(ROOT, 'tests', 'configs', 'tiny_kd.py')
train_tool = load_tool('train')

# In-process runs: one torch thread (see conftest.one_thread).
pytestmark = pytest.mark.usefixtures('one_thread')


def _train_error(tmp_path, *options, config=KD_CONFIG):
    """Run tools/train.py's main(); return the message it exits with."""
    with pytest.raises(SystemExit) as info:
        train_tool.main([
            config, '--work-dir',
            str(tmp_path / 'work'), '--cfg-options', *options
        ])
    return str(info.value.code)


@pytest.fixture
def options(tiny_data, tiny_teacher):
    return data_options(tiny_data) + [f'model.teacher_ckpt={tiny_teacher}']


# ------------------------------------------------------------ config keys
@pytest.mark.parametrize('option, expected', [
    ('model.foo=1', "error: model.foo=1: TwoStageDistiller has no argument "
     "'foo'; remove it or use one of: student, teacher,"),
    ('model.hint_level=[]', "model.hint_level=[]: TwoStageDistiller has no "
     "argument 'hint_level' (did you mean 'hint_levels'?)"),
    ('model.adapters.0.in_channel=16', "model.adapters[0].in_channel=16: "
     "HintAdapter has no argument 'in_channel' (did you mean "
     "'in_channels'?)"),
    ('model.distill_losses.hint.foo=2', "model.distill_losses.hint.foo=2: "
     "HintAdaptLoss has no argument 'foo'; remove it or use one of: p, "
     "loss_weight, reduction, normalize"),
])
def test_unknown_key_is_named(tmp_path, options, option, expected):
    assert expected in _train_error(tmp_path, *options, option)


@pytest.mark.parametrize('option, expected', [
    ('model.distill_losses.rcn_kd.type=WeightedKDLos',
     'cannot build distill_losses.rcn_kd=.*WeightedKDLos is not in the '
     'mmkd::model registry'),
    ('model.distill_losses.rcn_kdd.loss_weight=2',
     r"unknown distill_losses key\(s\) \['rcn_kdd'\]; valid keys are"),
])
def test_wrong_loss_is_named(tmp_path, options, option, expected):
    message = _train_error(tmp_path, *options, option)
    assert message.startswith('error: TwoStageDistiller: ')
    assert re.search(expected, message), message


def test_check_model_config_accepts_every_shipped_config():
    configs = [
        path for folder in ('kd', 'faster_rcnn', '_base_/models')
        for path in glob.glob(osp.join(ROOT, 'configs', folder, '*.py'))
    ]
    assert len(configs) > 20
    for path in configs:
        check_model_config(Config.fromfile(path).model)


def test_modules_built_directly_name_the_bad_key():
    init_default_scope('mmkd')
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        MODELS.build(
            dict(type='HintAdapter', in_channels=8, out_channels=16, foo=3))
    kd = Config.fromfile(KD_CONFIG).model
    kd.adapters = [
        dict(type='HintAdapter', in_channels=16, out_channels=32, foo=3)
    ]
    with pytest.raises(ConfigError, match=r"model\.adapters\[0\].*'foo'"):
        MODELS.build(copy.deepcopy(kd))


# ---------------------------------------------------- teacher checkpoints
def _random_bytes(tmp_path, teacher):
    # Seeded: some random first bytes are pickle opcodes that fail with
    # another error (an IndexError on an empty stack) before the unpickler
    # refuses the data.
    path = tmp_path / 'random.pth'
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    return str(path), 'UnpicklingError'


def _truncated(tmp_path, teacher):
    path = tmp_path / 'truncated.pth'
    with open(teacher, 'rb') as f:
        data = f.read()
    path.write_bytes(data[:len(data) // 2])
    return str(path), 'failed finding central directory'


@pytest.mark.parametrize('make', [_random_bytes, _truncated])
def test_corrupt_teacher_checkpoint_is_named(tmp_path, tiny_data, tiny_teacher,
                                             make):
    path, cause = make(tmp_path, tiny_teacher)
    message = _train_error(tmp_path, *data_options(tiny_data),
                           f'model.teacher_ckpt={path}')
    assert message.startswith(f'error: model.teacher_ckpt={path!r} cannot '
                              'be read as a checkpoint')
    assert cause in message and 'is the file complete?' in message
    kd = Config.fromfile(KD_CONFIG).model
    kd.teacher_ckpt = path
    init_default_scope('mmkd')
    with pytest.raises(CheckpointError):  # a RuntimeError for library users
        MODELS.build(kd)


def test_missing_teacher_checkpoint_is_named(tmp_path, tiny_data):
    path = str(tmp_path / 'nope.pth')
    message = _train_error(tmp_path, *data_options(tiny_data),
                           f'model.teacher_ckpt={path}')
    assert message.startswith(f'error: model.teacher_ckpt={path!r}: no such '
                              'file; train the teacher first')


# -------------------------------------------------------------- datasets
def test_empty_annotation_file_is_named(tmp_path, options):
    ann = tmp_path / 'empty.json'
    ann.write_text('')
    message = _train_error(tmp_path, *options,
                           f'train_dataloader.dataset.ann_file={ann}')
    assert message.startswith(f'error: annotation file {str(ann)!r} is '
                              'empty; regenerate it')


def test_the_user_sees_one_line_not_a_traceback(tmp_path, tiny_data,
                                                tiny_teacher):
    ann = tmp_path / 'malformed.json'
    ann.write_text(json.dumps(dict(images=[], categories=[])))
    proc = subprocess.run([
        PYTHON, 'tools/train.py', KD_FAULTS_CONFIG, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        *kd_train_options(tiny_data, tiny_teacher),
        f'train_dataloader.dataset.ann_file={ann}'
    ],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: annotation file {str(ann)!r} has no 'annotations' list; "
        'regenerate it (tools/dataset_converters) or point ann_file at a '
        'COCO-format detection annotation file')
    assert 'Traceback' not in proc.stderr + proc.stdout
