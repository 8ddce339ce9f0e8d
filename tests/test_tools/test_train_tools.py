"""tools/train.py, tools/test.py, the demo's DDP launch and
tools/dist_test.sh on a tiny model."""
import glob
import json
import os
import os.path as osp

import pytest

from mmkd.testing import (PYTHON, ROOT, TINY_CONFIG, data_options, free_port,
                          load_tool, run_tool)

TRAIN = load_tool('train')


def _scalars(work_dir):
    """The JSON log lines MMEngine wrote under ``work_dir``."""
    [path] = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_train_then_test(tiny_data, tmp_path):
    work_dir = str(tmp_path / 'train')
    run_tool([
        PYTHON, 'tools/train.py', TINY_CONFIG, '--work-dir', work_dir,
        '--cfg-options', *data_options(tiny_data), 'train_cfg.max_epochs=1'
    ])
    train_lines = [x for x in _scalars(work_dir) if 'loss' in x]
    # 4 images, batch 2: one epoch is exactly 2 iterations.
    assert [x['iter'] for x in train_lines] == [1, 2]
    for line in train_lines:
        for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
            assert key in line and line[key] == line[key]  # present, no NaN
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    out = str(tmp_path / 'results.pkl')
    proc = run_tool([
        PYTHON, 'tools/test.py', TINY_CONFIG, ckpt, '--work-dir',
        str(tmp_path / 'test'), '--out', out, '--cfg-options',
        *data_options(tiny_data)
    ])
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr
    assert osp.getsize(out) > 0
    # Written under a temporary name and renamed: nothing else is left.
    assert sorted(os.listdir(tmp_path)) == ['results.pkl', 'test', 'train']


def test_train_rejects_missing_resume_file(tmp_path):
    # In this process: what the user sees is the SystemExit's one line
    # (tests/test_tools/test_bad_input.py runs the tools as processes).
    with pytest.raises(SystemExit) as exc:
        TRAIN.main([TINY_CONFIG, '--resume', str(tmp_path / 'nope.pth')])
    assert str(exc.value).startswith(
        f"error: --resume '{tmp_path / 'nope.pth'}': no such file")


def test_missing_config_is_reported(tmp_path):
    with pytest.raises(SystemExit) as exc:
        TRAIN.main([str(tmp_path / 'absent.py')])
    message = str(exc.value)
    assert message.startswith('error: ') and '\n' not in message
    assert 'absent.py' in message and 'does not exist' in message


def test_ddp_train_then_dist_test_on_cpu(tiny_data, tmp_path):
    """The demo's teacher launch (``pipeline.train`` on 2 DDP processes:
    torch.distributed.run, tools/train.py --launcher pytorch, half the
    batch each) trains a plain detector; tools/dist_test.sh evaluates it
    with 2 processes. (tools/dist_train.sh runs a distiller in
    test_ddp_reliability.py.)"""
    from mmkd.demo import pipeline
    work_dir = str(tmp_path / 'dist')
    log = str(tmp_path / 'train.log')
    ckpt = pipeline.train(
        'teacher',
        TINY_CONFIG,
        work_dir,
        data_options(tiny_data) + ['train_cfg.max_epochs=1'],
        False,
        env={'OMP_NUM_THREADS': '2'},
        log=log,
        processes=2)
    # 4 images over 2 ranks with 1 image each (the config's batch of 2
    # split): 2 iterations per epoch.
    lines = [x for x in _scalars(work_dir) if 'loss' in x]
    assert [x['iter'] for x in lines] == [1, 2]
    assert ckpt == osp.join(work_dir, 'epoch_1.pth') and osp.isfile(ckpt)
    with open(log) as f:
        text = f.read()
    assert 'train_dataloader.batch_size=1' in text
    assert 'Distributed launcher: pytorch' in text or 'world_size: 2' in text
    # tools/dist_test.sh evaluates the checkpoint with 2 processes too.
    proc = run_tool([
        'bash', 'tools/dist_test.sh', TINY_CONFIG, ckpt, '2', '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *data_options(tiny_data)
    ],
                    env={
                        'PORT': free_port(),
                        'PYTHON': PYTHON
                    })
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr


KD_CONFIG = osp.join(ROOT, 'tests', 'configs', 'tiny_kd.py')
KD_KEYS = ('student.loss_rpn_cls', 'student.loss_cls', 'distill.loss_rpn_kd',
           'distill.loss_rpn_reg', 'distill.loss_rcn_kd',
           'distill.loss_rcn_reg', 'distill.loss_hint')


def _teacher_checkpoint(tmp_path):
    """A (random) teacher checkpoint written like a training run's."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmkd.registry import MODELS
    init_default_scope('mmkd')
    cfg = Config.fromfile(
        osp.join(ROOT, 'tests/configs/tiny_frcnn_teacher.py'))
    teacher = MODELS.build(cfg.model)
    path = str(tmp_path / 'teacher.pth')
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    return path


def test_distillation_trains_tests_and_exports(tiny_data, tmp_path,
                                               one_thread):
    teacher = _teacher_checkpoint(tmp_path)
    work_dir = str(tmp_path / 'kd')
    # Trained and exported in this process (the plain detector's run above
    # starts tools/train.py as a process), tested by tools/test.py as one.
    TRAIN.main([
        KD_CONFIG, '--work-dir', work_dir, '--cfg-options',
        *data_options(tiny_data), f'model.teacher_ckpt={teacher}'
    ])
    lines = [x for x in _scalars(work_dir) if 'loss' in x]
    assert [x['iter'] for x in lines] == [1, 2]
    for key in KD_KEYS:
        assert all(key in x and x[key] == x[key] for x in lines), key
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    # tools/test.py evaluates the student; the teacher is not needed.
    proc = run_tool([
        PYTHON, 'tools/test.py', KD_CONFIG, ckpt, '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *data_options(tiny_data),
        'model.teacher_ckpt=/nonexistent/teacher.pth'
    ])
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr
    out = str(tmp_path / 'student.pth')
    load_tool('model_converters/extract_student').main(
        [ckpt, out, '--config', KD_CONFIG])
    from mmdet.apis import init_detector
    detector = init_detector(out.replace('.pth', '.py'), out, device='cpu')
    assert type(detector).__name__ == 'FasterRCNN'
    assert detector.dataset_meta['classes'][0] == 'disc'


def test_two_runs_in_one_process_log_to_their_own_folders(
        tiny_data, tmp_path, monkeypatch):
    """MMEngine hands a run the visualizer of the configs' name if one
    exists, and the logger and message hub of an earlier run of the same
    config started in the same second: the run's scalars went to the other
    run's folder. A sweep or a notebook trains several times in one
    process."""
    import time

    from mmdet.visualization import DetLocalVisualizer
    from mmengine.logging import MMLogger
    from mmengine.visualization import Visualizer

    from mmkd.testing import load_tool
    train = load_tool('train')
    # Both runs start "in the same second" (the Runner's timestamp).
    strftime = time.strftime
    monkeypatch.setattr(
        time, 'strftime', lambda fmt, *a: '20260101_000000'
        if fmt == '%Y%m%d_%H%M%S' else strftime(fmt, *a))
    # A visualizer of the configs' name built before (by a Runner built
    # directly, say) must not catch the runs' scalars either.
    DetLocalVisualizer.get_instance(
        'visualizer',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'other'))
    runs = [str(tmp_path / name) for name in ('first', 'second')]
    try:
        for work_dir, epochs in zip(runs, (1, 2)):
            train.main([
                TINY_CONFIG, '--work-dir', work_dir, '--cfg-options',
                *data_options(tiny_data), f'train_cfg.max_epochs={epochs}',
                'default_hooks.logger.interval=1'
            ])
    finally:
        for cls in (DetLocalVisualizer, Visualizer):
            cls._instance_dict.pop('visualizer', None)
        MMLogger._instance_dict.pop('tiny_frcnn_20260101_000000', None)
    for work_dir, epochs in zip(runs, (1, 2)):
        iters = [x['iter'] for x in _scalars(work_dir) if 'loss' in x]
        assert iters == list(range(1, 2 * epochs + 1)), work_dir
        [log] = glob.glob(osp.join(work_dir, '*', '*.log'))
        with open(log) as f:
            assert f'Epoch(train) [{epochs}][2/2]' in f.read()
    assert not (tmp_path / 'other').exists()
