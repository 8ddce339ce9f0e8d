"""tools/slurm_train.sh and tools/slurm_test.sh hand srun MMDetection's
arguments; a fake ``srun`` on PATH records what it was given."""
import os
import os.path as osp
import subprocess

import pytest

from mmkd.testing import ROOT

FAKE_SRUN = '''#!/usr/bin/env bash
printf '%s\\0' "$@" > "$SRUN_LOG"
printf '%s' "$PYTHONPATH" > "$SRUN_LOG.pythonpath"
exit "${SRUN_RC:-0}"
'''
CONFIG = 'configs/kd/zoo/frcnn_r101-fpn_r50-fpn_1x_coco.py'


def run(tmp_path, script, *args, **env):
    """Run ``tools/<script>`` with the fake srun; its argv (or None)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / 'srun').write_text(FAKE_SRUN)
    (bin_dir / 'srun').chmod(0o755)
    log = tmp_path / 'srun.argv'
    full_env = dict(
        os.environ,
        PATH=f'{bin_dir}:{os.environ["PATH"]}',
        SRUN_LOG=str(log),
        PYTHON='python3')
    for key in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS'):
        full_env.pop(key, None)
    full_env.update(env)
    proc = subprocess.run(['bash', f'tools/{script}', *args],
                          cwd=ROOT,
                          env=full_env,
                          capture_output=True,
                          text=True)
    argv = log.read_text().split('\0')[:-1] if log.exists() else None
    return proc, argv


def test_slurm_train_defaults(tmp_path):
    proc, argv = run(tmp_path, 'slurm_train.sh', 'dev', 'kd', CONFIG,
                     'work_dirs/kd', '--cfg-options',
                     'model.teacher_ckpt=checkpoints/r101 2x.pth')
    assert proc.returncode == 0, proc.stderr
    assert argv == [
        '-p',
        'dev',
        '--job-name=kd',
        '--gres=gpu:8',
        '--ntasks=8',
        '--ntasks-per-node=8',
        '--cpus-per-task=5',
        '--kill-on-bad-exit=1',
        'python3',
        '-u',
        osp.join(ROOT, 'tools', 'train.py'),
        CONFIG,
        '--work-dir=work_dirs/kd',
        '--launcher=slurm',
        '--cfg-options',
        'model.teacher_ckpt=checkpoints/r101 2x.pth'  # one argument
    ]
    pythonpath = (tmp_path / 'srun.argv.pythonpath').read_text()
    assert pythonpath.split(':')[0] == osp.join(ROOT, 'tools', '..')


def test_slurm_train_two_nodes(tmp_path):
    proc, argv = run(
        tmp_path,
        'slurm_train.sh',
        'gpu',
        'kd16',
        CONFIG,
        'work_dirs/kd16',
        GPUS='16',
        GPUS_PER_NODE='4',
        CPUS_PER_TASK='2',
        SRUN_ARGS='--quotatype=auto --time=2-00:00:00')
    assert proc.returncode == 0, proc.stderr
    assert argv[:11] == [
        '-p', 'gpu', '--job-name=kd16', '--gres=gpu:4', '--ntasks=16',
        '--ntasks-per-node=4', '--cpus-per-task=2', '--kill-on-bad-exit=1',
        '--quotatype=auto', '--time=2-00:00:00', 'python3'
    ]
    assert argv[-3:] == [
        CONFIG, '--work-dir=work_dirs/kd16', '--launcher=slurm'
    ]


def test_slurm_test_arguments_and_exit_status(tmp_path):
    proc, argv = run(
        tmp_path,
        'slurm_test.sh',
        'dev',
        'eval',
        CONFIG,
        'work_dirs/kd/epoch_12.pth',
        '--out',
        'results.pkl',
        GPUS='2',
        GPUS_PER_NODE='2',
        SRUN_RC='3')
    assert proc.returncode == 3  # srun's status is the script's
    assert argv[:8] == [
        '-p', 'dev', '--job-name=eval', '--gres=gpu:2', '--ntasks=2',
        '--ntasks-per-node=2', '--cpus-per-task=5', '--kill-on-bad-exit=1'
    ]
    assert argv[8:] == [
        'python3', '-u',
        osp.join(ROOT, 'tools', 'test.py'), CONFIG,
        'work_dirs/kd/epoch_12.pth', '--launcher=slurm', '--out', 'results.pkl'
    ]


@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
def test_missing_arguments_are_a_usage_error(tmp_path, script):
    proc, argv = run(tmp_path, script, 'dev', 'kd', CONFIG)
    assert proc.returncode == 2
    assert 'usage:' in proc.stderr and 'PARTITION JOB_NAME CONFIG' in \
        proc.stderr
    assert argv is None  # srun was not called
