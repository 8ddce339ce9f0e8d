"""Bad input to tools/train.py ends in one line, ``error: ...``, that names
the bad value and the fix: no traceback, before any environment or config
dump, a non-zero exit status, and no file written or changed
(docs/bad_input.md lists the classes).

Each case calls the tool's ``main()`` in this process (the same code path,
without the 7 s start-up of a new process); one runs the tool as a process
to check what a user sees on the terminal. Bad checkpoints, work dirs and
outputs are in test_bad_checkpoints.py, bad annotation files in
test_bad_data.py.
"""
import glob
import os
import os.path as osp
import subprocess

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd.engine.config_check import check_model_config
from mmkd.registry import MODELS
from mmkd.testing import (KD_FAULTS_CONFIG, PYTHON, ROOT, TINY_CONFIG,
                          kd_train_options)
from mmkd.utils.errors import CheckpointError, ConfigError
from .bad_input_helpers import KD_CONFIG, Inputs, check_case

# In-process runs: one torch thread (see conftest.one_thread).
pytestmark = pytest.mark.usefixtures('one_thread')
TEACHER_CONFIG = osp.join(ROOT, 'tests', 'configs', 'tiny_frcnn_teacher.py')
BAD_BYTES = np.random.default_rng(0).bytes(4096)  # not a pickle opcode
NO_TEACHER = ("model.teacher_ckpt=None: no teacher checkpoint, so the "
              'teacher would keep its random initialisation and the student '
              'would be distilled from noise; train the teacher first')


def _forgot_teacher_ckpt(i):
    """A distillation config on chen2017.py that sets no teacher_ckpt."""
    config = i.write(
        'kd.py', f"""_base_ = ['{ROOT}/tests/configs/tiny_frcnn.py',
          '{ROOT}/configs/_base_/distill/chen2017.py']
model = dict(
    _delete_=True, **_base_.distiller, student=_base_.model,
    teacher='{ROOT}/tests/configs/tiny_frcnn_teacher.py',
    adapters=[dict(type='HintAdapter', in_channels=16, out_channels=32)])
""")
    return [config, '--work-dir', i.work, *i.options()]


# (id, tool, argv from Inputs, what the message says, exit status)
CASES = [
    # --- command lines and configs
    ('no config', 'train', lambda i: [], 'required: config', 2),
    ('config missing', 'train', lambda i: [i.tmp / 'nope.py'],
     r"config file '.*nope\.py' does not exist", 1),
    ('config is a folder', 'train', lambda i: [i.tmp],
     'is a directory; give a config file', 1),
    ('config does not parse', 'train',
     lambda i: [i.write('bad.py', 'model = dict(\n')],
     r"cannot read config .*bad\.py.*SyntaxError.*fix the file", 1),
    ('--cfg-options without =', 'train',
     lambda i: [TINY_CONFIG, '--cfg-options', 'max_epochs'],
     "--cfg-options 'max_epochs' is not key=value", 2),
    ('misspelt top-level key', 'train',
     lambda i: i.train('trian_cfg.max_epochs=1'),
     "has no key 'trian_cfg' \\(did you mean 'train_cfg'\\?\\); fix", 1),
    ('unknown top-level key', 'train', lambda i: i.train('foo=1'),
     "has no key 'foo' \\(nor is it a key MMEngine reads\\)", 1),
    ('misspelt nested key', 'train',
     lambda i: i.train('train_cfg.max_epoch=1'),
     "train_cfg has no key 'max_epoch' \\(did you mean 'max_epochs'", 1),
    ('list index out of range', 'train',
     lambda i: i.train_kd('model.adapters.3.in_channels=8'),
     'model.adapters is a list of 1; use an index from 0 to 0', 1),
    ('value of the wrong type', 'train',
     lambda i: i.train('train_cfg.max_epochs=two'),
     "train_cfg.max_epochs='two' must be an integer > 0; e.g.", 1),
    ('value out of range', 'train',
     lambda i: i.train('train_dataloader.batch_size=0'),
     'train_dataloader.batch_size=0 must be an integer > 0', 1),
    ('negative learning rate', 'train',
     lambda i: i.train('optim_wrapper.optimizer.lr=-0.1'),
     r'optim_wrapper.optimizer.lr=-0.1 must be a number > 0', 1),
    ('misspelt key of an mmkd module', 'train',
     lambda i: i.train_kd('model.hint_level=[]'),
     "model has no key 'hint_level' \\(did you mean 'hint_levels'\\?\\)", 1),
    ('unknown key of an mmkd module', 'train',
     lambda i: i.train_kd('model.foo=1'),
     "model.foo=1: TwoStageDistiller has no argument 'foo'; remove it or "
     'use one of: student, teacher,', 1),
    ('misspelt key of an mmkd loss', 'train',
     lambda i: i.train_kd('model.distill_losses.hint.foo=2'),
     "model.distill_losses.hint.foo=2: HintAdaptLoss has no argument "
     "'foo'; remove it or use one of: p, loss_weight, reduction", 1),
    ('unknown module type', 'train',
     lambda i: i.train('model.backbone.type=ResNett'),
     'model: ResNett is not in the mmkd::model registry; check the '
     'spelling', 1),
    ('misspelt loss name', 'train',
     lambda i: i.train_kd('model.distill_losses.rcn_kdd.loss_weight=2'),
     "model.distill_losses has no key 'rcn_kdd' \\(did you mean "
     "'rcn_kd'\\?\\)", 1),
    ('unknown loss type', 'train',
     lambda i: i.train_kd('model.distill_losses.rcn_kd.type=WeightedKDLos'),
     'cannot build distill_losses.rcn_kd=.*WeightedKDLos is not in the '
     'mmkd::model registry', 1),
    # --- the paper's constrained values (checked where the losses and the
    # distiller are built, reported before the runner starts)
    ('temperature 0', 'train',
     lambda i: i.train_kd('model.distill_losses.rcn_kd.T=0'),
     'distill_losses.rcn_kd: WeightedKDLoss: T=0 must be a number > 0', 1),
    ('negative class weight', 'train',
     lambda i: i.train_kd('model.distill_losses.rcn_kd.bg_weight=-1'),
     'WeightedKDLoss: bg_weight=-1 must be a number >= 0', 1),
    ('negative margin', 'train',
     lambda i: i.train_kd('model.distill_losses.rcn_reg.margin=-1'),
     'TeacherBoundedRegLoss: margin=-1 must be a number >= 0', 1),
    ('NaN term weight', 'train',
     lambda i: i.train_kd('model.distill_losses.hint.loss_weight=nan'),
     'HintAdaptLoss: loss_weight=nan must be a number >= 0', 1),
    # --- feature terms (hint, pkd, cwd) on the hint levels
    ('feature term without an adapter', 'train', lambda i: i.train_kd(
        'model.distill_losses.hint=None',
        'model.distill_losses.pkd.type=PKDLoss', 'model.adapters=None'),
     r'hint level \(student 0, teacher 0\): the \(adapted\) student feature '
     r"has 16 channels, the teacher feature 32; configure adapters=\[dict\("
     "type='HintAdapter', in_channels=16, out_channels=32\\)\\]", 1),
    ('feature term on a missing level', 'train', lambda i: i.train_kd(
        'model.distill_losses.hint=None',
        'model.distill_losses.cwd.type=CWDLoss', 'model.hint_levels=[(0,7)]'),
     'hint level 7 of the teacher does not exist; its extract_feat gives 4 '
     'levels', 1),
    ('feature term that cannot compare maps', 'train', lambda i: i.train_kd(
        'model.distill_losses.pkd.type=TeacherBoundedRegLoss'),
     r'distill_losses.pkd \(TeacherBoundedRegLoss\) cannot compare hint '
     r'level \(student 0, teacher 0\).*a feature term takes', 1),
    ('mu outside [0, 1]', 'train', lambda i: i.train_kd('model.hard_weight=2'),
     r'TwoStageDistiller: hard_weight=2 must be a number in \[0, 1\]', 1),
    ('--launcher slurm without GPUs', 'train',
     lambda i: i.train(args=['--launcher', 'slurm']), 'needs GPUs', 1),
    ('--launcher pytorch outside torchrun', 'train',
     lambda i: i.train(args=['--launcher', 'pytorch']),
     'needs the environment variables', 1),
    # --- teacher checkpoints
    ('teacher checkpoint missing', 'train',
     lambda i: i.train_kd(f'model.teacher_ckpt={i.tmp / "nope.pth"}'),
     "model.teacher_ckpt='.*nope.pth': no such file; train the teacher", 1),
    ('teacher checkpoint of another model', 'train',
     lambda i: i.train_kd(f'model.teacher_ckpt={i.ckpts["det"]}'),
     'does not match the teacher config: shape mismatches', 1),
    ('no teacher checkpoint', 'train',
     lambda i: [KD_CONFIG, '--work-dir', i.work, *i.options()], NO_TEACHER, 1),
    ('config on chen2017.py without teacher_ckpt', 'train',
     _forgot_teacher_ckpt, NO_TEACHER, 1),
    ('a random teacher and a checkpoint', 'train',
     lambda i: i.train_kd('model.random_teacher=True'),
     r"model.teacher_ckpt='.*teacher.pth' and model.random_teacher=True "
     'contradict each other; remove random_teacher', 1),
    # --- the non-finite guard
    ('model.nonfinite (moved)', 'train',
     lambda i: i.train_kd('model.nonfinite=skip'),
     "model.nonfinite='skip': TwoStageDistiller no longer takes "
     "'nonfinite'; remove it and set default_hooks.nonfinite.policy", 1),
    ('non-finite policy unknown', 'train',
     lambda i: i.train('default_hooks.nonfinite.policy=ignore'),
     "default_hooks.nonfinite.policy='ignore'; use 'stop'", 1),
    ('non-finite skip share above 1', 'train',
     lambda i: i.train('default_hooks.nonfinite.max_skip_share=10'),
     r'default_hooks.nonfinite.max_skip_share=10 must be a number in '
     r'\[0, 1\]', 1),
    ('non-finite guard switched off', 'train',
     lambda i: i.train('default_hooks.nonfinite=None'),
     'default_hooks.nonfinite=None: every training run stops or skips', 1),
    ('teacher checkpoint not a checkpoint', 'train',
     lambda i: i.train_kd(f'model.teacher_ckpt={i.write("t.pth", BAD_BYTES)}'),
     'cannot be read as a checkpoint', 1),
]


@pytest.mark.parametrize(
    'tool, make, expected, status', [c[1:] for c in CASES],
    ids=[c[0] for c in CASES])
def test_bad_input_is_one_line(tool, make, expected, status, tmp_path,
                               tiny_data, tiny_teacher, ckpts, capsys):
    check_case(tool, make, expected, status,
               Inputs(tmp_path, tiny_data, tiny_teacher, ckpts), capsys)


def test_check_model_config_accepts_every_shipped_config():
    configs = [
        path for folder in ('kd', 'faster_rcnn', '_base_/models')
        for path in glob.glob(osp.join(ROOT, 'configs', folder, '*.py'))
    ]
    assert len(configs) > 20
    for path in configs:
        check_model_config(Config.fromfile(path).model)


def test_modules_built_directly_name_the_bad_key(tiny_teacher):
    init_default_scope('mmkd')
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        MODELS.build(
            dict(type='HintAdapter', in_channels=8, out_channels=16, foo=3))
    kd = Config.fromfile(KD_CONFIG).model
    kd.adapters = [
        dict(type='HintAdapter', in_channels=16, out_channels=32, foo=3)
    ]
    with pytest.raises(ConfigError, match=r"model\.adapters\[0\].*'foo'"):
        MODELS.build(kd)
    kd = Config.fromfile(KD_CONFIG).model
    kd.teacher_ckpt = str(osp.join(osp.dirname(tiny_teacher), 'nope.pth'))
    with pytest.raises(FileNotFoundError):  # for library users
        MODELS.build(kd)


def test_teacher_mismatch_names_count_and_keys(ckpts):
    # The shared key/shape check (mmkd.engine.checkpoint.check_state_dict)
    # behind teacher loading, tools/test.py, extract_student and --resume.
    init_default_scope('mmkd')
    teacher = MODELS.build(Config.fromfile(TEACHER_CONFIG).model)
    student = torch.load(ckpts['kd'])['state_dict']
    differ = sorted(k for k, v in teacher.state_dict().items()
                    if student[f'student.{k}'].shape != v.shape)
    assert len(differ) > 8  # the tiny student is half as wide
    kd = Config.fromfile(KD_CONFIG).model
    kd.teacher_ckpt = ckpts['kd']  # a distiller's student as the teacher
    with pytest.raises(CheckpointError) as info:
        MODELS.build(kd)
    message = str(info.value)
    assert 'missing in the checkpoint' not in message
    assert f'shape mismatches {len(differ)}: {differ[0]} ' in message
    assert f'... ({len(differ) - 8} more)' in message


def test_the_user_sees_one_line_not_a_traceback(tmp_path, tiny_data,
                                                tiny_teacher):
    ann = tmp_path / 'malformed.json'
    ann.write_text('{"images": [], "categories": []}')
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
    assert proc.stderr.strip().splitlines() == [
        f"error: annotation file {str(ann)!r} has no 'annotations' list; "
        'regenerate it (tools/dataset_converters) or point ann_file at a '
        'COCO-format detection annotation file'
    ]
    assert 'System environment' not in proc.stdout
    assert sorted(os.listdir(tmp_path)) == ['malformed.json']  # no work dir
