"""Bad input to tools/train.py, tools/test.py and extract_student.py ends in
one line, ``error: ...``, that names the bad value and the fix: no
traceback, before any environment or config dump, a non-zero exit status,
and no file written or changed (docs/bad_input.md lists the classes).

Each case calls the tool's ``main()`` in this process (the same code path,
without the 7 s start-up of a new process); one runs a tool as a process
to check what a user sees on the terminal. The bad annotation files are in
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

from mmkd.registry import MODELS
from mmkd.testing import (KD_FAULTS_CONFIG, PYTHON, ROOT, TINY_CONFIG,
                          kd_train_options)
from mmkd.utils.config_check import check_model_config
from mmkd.utils.errors import CheckpointError, ConfigError
from .bad_input_helpers import (KD_CONFIG, Inputs, assert_one_line_error,
                                run_main, snapshot, training_checkpoint)

# In-process runs: one torch thread (see conftest.one_thread).
pytestmark = pytest.mark.usefixtures('one_thread')
TEACHER_CONFIG = osp.join(ROOT, 'tests', 'configs', 'tiny_frcnn_teacher.py')
BAD_BYTES = np.random.default_rng(0).bytes(4096)  # not a pickle opcode


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    """Training-run-shaped checkpoints of the tiny detector and distiller."""
    out = tmp_path_factory.mktemp('ckpts')
    return dict(
        det=training_checkpoint(out / 'det.pth', TINY_CONFIG),
        kd=training_checkpoint(out / 'kd.pth', KD_CONFIG),
        other_classes=training_checkpoint(
            out / 'cats.pth', TINY_CONFIG, classes=('cat', ) * 6))


def _finished_run(i):
    """A work dir holding a finished run's checkpoint."""
    i.copy(i.ckpts['det'], 'work/epoch_1.pth')
    return i.train()


def _older_resume(i):
    for epoch in (1, 2):
        i.copy(i.ckpts['det'], f'work/epoch_{epoch}.pth')
    return i.train(args=['--resume', i.tmp / 'work' / 'epoch_1.pth'])


def _truncated_resume(i):
    i.copy(i.ckpts['det'], 'work/epoch_1.pth')
    i.truncated(i.ckpts['det'], 'work/epoch_2.pth')
    return i.train(args=['--resume'])


def _plain_state_resume(i):
    import torch
    path = i.tmp / 'weights.pth'
    torch.save({'state_dict': {}}, path)
    return i.train(args=['--resume', path])


def _out_is_a_folder(i):
    os.makedirs(i.tmp / 'd.pkl')
    return i.test(i.ckpts['det'], args=['--out', i.tmp / 'd.pkl'])


def _folder_as_out(i):
    os.makedirs(i.tmp / 's.pth')
    return [i.ckpts['kd'], i.tmp / 's.pth']


def _file_as_work_dir(i):
    i.write('work', 'not a folder')
    return i.train()


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
    ('teacher checkpoint not a checkpoint', 'train',
     lambda i: i.train_kd(f'model.teacher_ckpt={i.write("t.pth", BAD_BYTES)}'),
     'cannot be read as a checkpoint', 1),
    # --- work dirs and resuming
    ('work dir is a file', 'train', _file_as_work_dir,
     "work_dir '.*work' is a file; give a directory", 1),
    ('work dir holds a run', 'train', _finished_run,
     'holds the checkpoints of an earlier run \\(1: epoch_1.pth\\); '
     'continue that run with --resume, or start a new one in another '
     'directory with --work-dir DIR', 1),
    ('--resume older than the work dir', 'train', _older_resume,
     'would overwrite the newer checkpoints 1: epoch_2.pth', 1),
    ('--resume missing', 'train',
     lambda i: i.train(args=['--resume', i.tmp / 'nope.pth']),
     "--resume '.*nope.pth': no such file", 1),
    ('--resume a folder', 'train', lambda i: i.train(args=['--resume', i.tmp]),
     '--resume .* is a directory', 1),
    ('--resume a truncated checkpoint', 'train', _truncated_resume,
     r"epoch_2.pth' cannot be read as a checkpoint .* The previous "
     r"complete checkpoint is '.*epoch_1.pth': resume from it", 1),
    ('--resume not a training checkpoint', 'train', _plain_state_resume,
     "is not a training checkpoint \\(it has no meta, optimizer, "
     'message_hub.*drop --resume and pass --cfg-options load_from=', 1),
    ('--resume another model', 'train',
     lambda i: i.train_kd(args=['--resume', i.ckpts['det']]),
     'does not match the model config: missing in the checkpoint.*'
     '--allow-partial', 1),
    ('load_from missing', 'train',
     lambda i: i.train(f'load_from={i.tmp / "nope.pth"}'),
     "load_from '.*nope.pth': no such file", 1),
    # --- tools/test.py
    ('test: checkpoint missing', 'test', lambda i: i.test(i.tmp / 'nope.pth'),
     "no such file", 1),
    ('test: checkpoint is a folder', 'test', lambda i: i.test(i.tmp),
     'is a directory; give a checkpoint file', 1),
    ('test: checkpoint is not one', 'test',
     lambda i: i.test(i.write('x.pth', BAD_BYTES)),
     r'cannot be read as a checkpoint \(UnpicklingError', 1),
    ('test: checkpoint truncated', 'test',
     lambda i: i.test(i.truncated(i.ckpts['det'])),
     'failed finding central directory.*is the file complete', 1),
    ('test: detector checkpoint, distillation config', 'test',
     lambda i: i.test(i.ckpts['det'], config=KD_CONFIG),
     'missing in the checkpoint 152.*It is not a distillation '
     'checkpoint', 1),
    ('test: distillation checkpoint, detector config', 'test',
     lambda i: i.test(i.ckpts['kd']),
     'It is a distillation checkpoint: test it with its distillation '
     'config, or extract the student', 1),
    ('test: checkpoint of another architecture', 'test',
     lambda i: i.test(i.teacher), 'shape mismatches .*--allow-partial', 1),
    ('test: checkpoint of other classes', 'test',
     lambda i: i.test(i.ckpts['other_classes']),
     r"was trained on the classes \['cat'", 1),
    ('test: --out not .pkl', 'test',
     lambda i: i.test(i.ckpts['det'], args=['--out', i.tmp / 'r.json']),
     "--out '.*r.json' must be a .pkl file", 1),
    ('test: --out is a folder', 'test', _out_is_a_folder,
     'is a directory; give a file name', 1),
    ('test: --show-dir is a file', 'test', lambda i: i.test(
        i.ckpts['det'], args=['--show-dir', i.write('f', '')]),
     '--show-dir .* is a file', 1),
    # --- extract_student.py
    ('extract: checkpoint missing', 'extract',
     lambda i: [i.tmp / 'nope.pth', i.tmp / 's.pth'], 'no such file', 1),
    ('extract: detector checkpoint', 'extract',
     lambda i: [i.ckpts['det'], i.tmp / 's.pth'],
     'no `student.\\*` weights in this checkpoint', 1),
    ('extract: checkpoint not one', 'extract',
     lambda i: [i.write('x.pth', BAD_BYTES), i.tmp / 's.pth'],
     'cannot be read as a checkpoint', 1),
    ('extract: config of another distiller', 'extract', lambda i: [
        i.ckpts['kd'], i.tmp / 's.pth', '--config',
        osp.join(ROOT, 'configs/kd/frcnn_r18w32_r18w8_synthetic.py')
    ], 'does not match the student config: shape mismatches', 1),
    ('extract: detector config', 'extract',
     lambda i: [i.ckpts['kd'], i.tmp / 's.pth', '--config', TINY_CONFIG],
     'not a TwoStageDistiller.*give the distillation config', 1),
    ('extract: config missing', 'extract',
     lambda i: [i.ckpts['kd'], i.tmp / 's.pth', '--config', 'nope.py'],
     "config file 'nope.py' does not exist", 1),
    ('extract: OUT not .pth', 'extract',
     lambda i: [i.ckpts['kd'], i.tmp / 's.py'], 'must end in .pth', 1),
    ('extract: OUT is a folder', 'extract', _folder_as_out,
     'is a directory; give a file name', 1),
    ('extract: OUT is the input', 'extract',
     lambda i: [i.ckpts['kd'], i.ckpts['kd']], 'is the input checkpoint', 1),
]


@pytest.mark.parametrize(
    'tool, make, expected, status', [c[1:] for c in CASES],
    ids=[c[0] for c in CASES])
def test_bad_input_is_one_line(tool, make, expected, status, tmp_path,
                               tiny_data, tiny_teacher, ckpts, capsys):
    inputs = Inputs(tmp_path, tiny_data, tiny_teacher, ckpts)
    argv = make(inputs)
    roots = (tmp_path, tiny_data, osp.dirname(tiny_teacher),
             osp.dirname(ckpts['det']))
    before = snapshot(*roots)
    code, message, output = run_main(tool, argv, capsys)
    assert code == status
    assert_one_line_error(message, output, expected)
    assert snapshot(*roots) == before  # nothing written or changed


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
