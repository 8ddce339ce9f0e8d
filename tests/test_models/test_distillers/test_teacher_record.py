"""The teacher a distiller learns from is recorded in its checkpoints, a
resume with another teacher is reported, and copies of the distiller (EMA)
share the teacher instead of duplicating it."""
import copy
import glob
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.model import ExponentialMovingAverage
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.models.distillers.teacher import (TEACHER_RECORD_KEY,
                                            check_teacher_record,
                                            teacher_fingerprint)
from mmkd.registry import MODELS
from mmkd.testing import ROOT, data_options, load_tool

init_default_scope('mmkd')
KD_CONFIG = f'{ROOT}/tests/configs/tiny_kd.py'
KD = Config.fromfile(KD_CONFIG).model
train_tool = load_tool('train')


def _distiller(teacher_ckpt):
    cfg = copy.deepcopy(KD)
    cfg.teacher_ckpt = teacher_ckpt
    return MODELS.build(cfg)


def test_deepcopy_and_ema_share_the_teacher(tiny_teacher):
    model = _distiller(tiny_teacher)
    copied = copy.deepcopy(model)
    assert copied.teacher is model.teacher
    assert copied.student is not model.student
    for (name, a), b in zip(model.student.named_parameters(),
                            copied.student.parameters()):
        assert a is not b and torch.equal(a, b), name
    ema = ExponentialMovingAverage(model)  # MMEngine's EMAHook does this
    assert ema.module.teacher is model.teacher
    assert ema.module.teacher_record == model.teacher_record


def test_fingerprint_follows_the_weights_not_the_path(tiny_teacher, tmp_path):
    moved = str(tmp_path / 'moved.pth')
    shutil.copy(tiny_teacher, moved)
    a, b = _distiller(tiny_teacher), _distiller(moved)
    assert a.teacher_record['path'] == tiny_teacher
    assert a.teacher_record['sha256'] == b.teacher_record['sha256']
    with torch.no_grad():
        b.teacher.roi_head.bbox_head.fc_cls.bias[0] += 1e-3
    assert teacher_fingerprint(b.teacher) != a.teacher_record['sha256']


def test_a_moved_but_identical_teacher_is_not_reported(recwarn):
    check_teacher_record(
        dict(path='old/teacher.pth', sha256='abc'),
        dict(path='new/teacher.pth', sha256='abc'))
    assert not [w for w in recwarn if 'TEACHER' in str(w.message)]


def _train(work_dir, tiny_data, teacher, epochs, resume=False):
    train_tool.main([
        KD_CONFIG,
        '--work-dir',
        str(work_dir),
        *(['--resume'] if resume else []),
        '--cfg-options',
        *data_options(tiny_data),
        f'model.teacher_ckpt={teacher}',
        'train_dataloader.dataset.indices=[0,1]',  # one step per epoch
        f'train_cfg.max_epochs={epochs}',
        'train_cfg.val_interval=100',
    ])


def test_resume_with_another_teacher_warns(tiny_data, tiny_teacher, tmp_path):
    from mmkd.testing import write_teacher_checkpoint
    _train(tmp_path, tiny_data, tiny_teacher, epochs=1)
    ckpt = torch.load(tmp_path / 'epoch_1.pth')
    record = ckpt['message_hub']['runtime_info'][TEACHER_RECORD_KEY]
    assert record['path'] == tiny_teacher
    assert len(record['sha256']) == 16
    torch.manual_seed(123)
    other = write_teacher_checkpoint(str(tmp_path / 'other_teacher.pth'))
    with pytest.warns(UserWarning, match='TEACHER CHANGED ON RESUME'):
        _train(tmp_path, tiny_data, other, epochs=2, resume=True)
    logs = sorted(glob.glob(str(tmp_path / '*' / '*.log')))
    assert len(logs) == 2  # the first run's log has no such warning
    with open(logs[-1]) as f:
        [message] = [line for line in f if 'TEACHER CHANGED' in line]
    assert 'WARNING' in message
    assert f"teacher {tiny_teacher!r} (sha256 {record['sha256']})" in message
    assert f'loads {other!r}' in message
    # the next checkpoint records the teacher it was trained with since
    ckpt = torch.load(tmp_path / 'epoch_2.pth')
    new = ckpt['message_hub']['runtime_info'][TEACHER_RECORD_KEY]
    assert new['path'] == other and new['sha256'] != record['sha256']
