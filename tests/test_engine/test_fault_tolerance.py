"""Kill a distillation run with SIGKILL and resume it: same final weights.

The runs are ``tools/train.py tests/configs/tiny_kd_faults.py``: 3 epochs of 2
iterations, a checkpoint per epoch, validation after every epoch (as in the
shipped configs), seed 0, deterministic kernels, no data loader workers.
``mmkd/testing/faults.py`` parks the child process at a chosen point so that
the kill lands there every time.
"""
import glob
import os
import os.path as osp
import signal
import stat
import subprocess
import time

import pytest
import torch

import mmkd  # noqa: F401  (allow-lists MMEngine's checkpoint types)
from mmkd.engine.atomic_backend import atomic_write
from mmkd.engine.checkpoint import latest_checkpoint
from mmkd.testing import (KD_FAULTS_CONFIG, PYTHON, ROOT, data_options,
                          load_tool)

TRAIN = load_tool('train')
LOW_LR = 'optim_wrapper.optimizer.lr=0.001'


def _train(work_dir, options, resume=False):
    args = [
        PYTHON, 'tools/train.py', KD_FAULTS_CONFIG, '--work-dir',
        str(work_dir), '--cfg-options', *options
    ]
    return args + ['--resume'] if resume else args


def _run_until_parked(args, marker, env, timeout=300):
    """Start ``args``; once the child wrote ``marker`` (it is parked
    there), SIGKILL it. Returns what the marker says."""
    env = dict(
        os.environ, OMP_NUM_THREADS='1', MMKD_TEST_MARKER=str(marker), **env)
    with open(f'{marker}.log', 'w') as log:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while not osp.exists(marker) and proc.poll() is None:
            assert time.monotonic() < deadline, 'the run never got there'
            time.sleep(0.1)
        assert proc.poll() is None, open(f'{marker}.log').read()[-3000:]
        with open(marker) as f:
            where = f.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return where


def _assert_same_training_state(expected_path, actual_path):
    expected = torch.load(expected_path, map_location='cpu')
    actual = torch.load(actual_path, map_location='cpu')
    assert expected['state_dict'].keys() == actual['state_dict'].keys()
    for key, value in expected['state_dict'].items():
        # Bitwise: CPU kernels with a fixed thread count are deterministic,
        # RNGStateHook restores every generator (without it the weights
        # differ by up to ~0.26) and keeps validation off them.
        assert torch.equal(value, actual['state_dict'][key]), key
    for idx, state in expected['optimizer']['state'].items():
        assert torch.equal(
            state['momentum_buffer'],
            actual['optimizer']['state'][idx]['momentum_buffer'])


def _final_names(work_dir):
    return sorted(
        name for name in os.listdir(work_dir)
        if name.endswith('.pth') and not name.startswith('.'))


@pytest.fixture(scope='module')
def options(tiny_data, tiny_teacher):
    # Every split: validation runs after each epoch. LOW_LR: the random
    # tiny teacher's hint is large and 3 epochs at the config's 0.01
    # diverge.
    return data_options(tiny_data) + [
        f'model.teacher_ckpt={tiny_teacher}', LOW_LR
    ]


def _train_here(args):
    """``tools/train.py`` with the argv of ``args`` in this process, on one
    torch thread like the killed child (the kill needs a process; the runs
    around it do not). Returns the text of the run's log."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        TRAIN.main(args[2:])
    finally:
        torch.set_num_threads(threads)
    work_dir = args[args.index('--work-dir') + 1]
    newest = max(glob.glob(osp.join(work_dir, '*', '*.log')), key=osp.getmtime)
    with open(newest) as f:
        return f.read()


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, options):
    """epoch_3.pth of the run that nothing interrupted."""
    work_dir = tmp_path_factory.mktemp('uninterrupted')
    _train_here(_train(work_dir, options))
    assert _final_names(work_dir) == [f'epoch_{i}.pth' for i in (1, 2, 3)]
    return str(work_dir / 'epoch_3.pth')


def test_sigkill_between_checkpoints_then_resume(uninterrupted, options,
                                                 tmp_path):
    work_dir = tmp_path / 'run'
    # Iterations are counted from 0: iteration 3 is the second of epoch 2,
    # so epoch_1.pth is on disk and one more optimizer step lives only in
    # the memory of the process that is killed.
    where = _run_until_parked(
        _train(work_dir, options), tmp_path / 'marker',
        {'MMKD_TEST_PAUSE_AT_ITER': '3'})
    assert where == 'iteration 3'
    assert _final_names(work_dir) == ['epoch_1.pth']
    assert latest_checkpoint(str(work_dir)) == str(work_dir / 'epoch_1.pth')
    log = _train_here(_train(work_dir, options, resume=True))
    assert 'resumed epoch: 1, iter: 2' in log
    _assert_same_training_state(uninterrupted, work_dir / 'epoch_3.pth')


def test_sigkill_during_checkpoint_write_then_resume(uninterrupted, options,
                                                     tmp_path):
    work_dir = tmp_path / 'run'
    # The write of epoch_2.pth stops in os.fsync of its temporary file.
    tmp_name = _run_until_parked(
        _train(work_dir, options), tmp_path / 'marker',
        {'MMKD_TEST_SLOW_SAVE': 'epoch_2.pth'})
    assert tmp_name.startswith('.epoch_2.pth.') and tmp_name.endswith('.tmp')
    assert osp.isfile(work_dir / tmp_name)  # killed mid-write
    # No partial file under a final name; the pointer names the complete
    # previous checkpoint, which loads.
    assert _final_names(work_dir) == ['epoch_1.pth']
    with open(work_dir / 'last_checkpoint') as f:
        assert f.read().strip() == str(work_dir / 'epoch_1.pth')
    previous = torch.load(work_dir / 'epoch_1.pth', map_location='cpu')
    assert previous['meta']['epoch'] == 1 and previous['meta']['iter'] == 2
    log = _train_here(_train(work_dir, options, resume=True))
    assert 'resumed epoch: 1, iter: 2' in log
    _assert_same_training_state(uninterrupted, work_dir / 'epoch_3.pth')


@pytest.mark.parametrize('pointer', ['missing', 'empty', 'cut short'])
def test_resume_survives_a_broken_last_checkpoint(tmp_path, pointer):
    # MMEngine writes last_checkpoint in place: a crash in that write leaves
    # it missing, empty or cut short. The newest complete checkpoint wins.
    for epoch in (1, 2):
        atomic_write(b'ckpt', tmp_path / f'epoch_{epoch}.pth')
        os.utime(tmp_path / f'epoch_{epoch}.pth', (epoch, epoch))
    text = {
        'missing': None,
        'empty': '',
        'cut short': str(tmp_path / 'epoch_2.pth')[:-6]
    }[pointer]
    if text is not None:
        (tmp_path / 'last_checkpoint').write_text(text)
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')


def test_latest_checkpoint_follows_a_valid_pointer(tmp_path):
    assert latest_checkpoint(str(tmp_path)) is None  # nothing to resume
    for epoch in (1, 2):
        atomic_write(b'ckpt', tmp_path / f'epoch_{epoch}.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')


def test_atomic_write_keeps_the_usual_file_mode(tmp_path):
    umask = os.umask(0o022)
    try:
        atomic_write(b'data', tmp_path / 'epoch_1.pth')
    finally:
        os.umask(umask)
    mode = stat.S_IMODE(os.stat(tmp_path / 'epoch_1.pth').st_mode)
    assert mode == 0o644  # as open(..., 'wb') makes it, not mkstemp's 0o600
    assert os.listdir(tmp_path) == ['epoch_1.pth']  # no temporary left
