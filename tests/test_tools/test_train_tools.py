"""tools/train.py, tools/test.py and tools/dist_train.sh on a tiny model."""
import glob
import json
import os.path as osp
import subprocess

from helpers import PYTHON, ROOT, TINY_CONFIG, data_options, run_tool


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


def test_train_rejects_missing_resume_file(tmp_path):
    proc = subprocess.run(
        [PYTHON, 'tools/train.py', TINY_CONFIG, '--resume',
         str(tmp_path / 'nope.pth')], cwd=ROOT, capture_output=True,
        text=True)
    assert proc.returncode != 0
    assert 'nope.pth: no such file' in proc.stderr


def test_missing_config_is_reported(tmp_path):
    proc = subprocess.run(
        [PYTHON, 'tools/train.py', str(tmp_path / 'absent.py')], cwd=ROOT,
        capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'absent.py' in proc.stderr and 'does not exist' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_dist_train_two_processes_on_cpu(tiny_data, tmp_path):
    work_dir = str(tmp_path / 'dist')
    proc = run_tool([
        'bash', 'tools/dist_train.sh', TINY_CONFIG, '2', '--work-dir',
        work_dir, '--cfg-options', *data_options(tiny_data),
        'train_dataloader.batch_size=1', 'train_cfg.max_epochs=1'
    ], env={'PORT': '29631', 'PYTHON': PYTHON})
    # 4 images over 2 ranks with 1 image each: 2 iterations per epoch.
    lines = [x for x in _scalars(work_dir) if 'loss' in x]
    assert [x['iter'] for x in lines] == [1, 2]
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    log = proc.stdout + proc.stderr
    assert 'Distributed launcher: pytorch' in log or 'world_size: 2' in log
