"""With a given seed the distiller's student starts from the weights it
gets when it is trained alone: the teacher and the adapters are built on a
forked random stream, so every ablation row (and the student alone) share
the student's initialisation and only the distillation terms differ."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.registry import MODELS
from mmkd.testing import ROOT

init_default_scope('mmkd')
KD = Config.fromfile(f'{ROOT}/tests/configs/tiny_kd.py').model
KD.teacher = Config.fromfile(
    f'{ROOT}/tests/configs/tiny_frcnn_teacher.py').model
KD.random_teacher = True  # the mechanics, not a trained teacher


def _initialised(cfg, seed=3):
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model


@pytest.mark.parametrize('terms', ['all', 'none'])
def test_student_starts_as_when_trained_alone(terms):
    alone = _initialised(KD.student).state_dict()
    cfg = copy.deepcopy(KD)
    if terms == 'none':
        cfg.distill_losses = {}
    student = _initialised(cfg).student.state_dict()
    assert student.keys() == alone.keys()
    for key, value in alone.items():
        assert torch.equal(student[key], value), key
