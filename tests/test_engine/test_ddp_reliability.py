"""CPU DDP (gloo, 2 processes) of a distiller through tools/dist_train.sh:
the same losses and update as single processes, one failing rank ends the
whole job, and a job killed with SIGKILL resumes to the weights of the
uninterrupted job."""
import datetime
import glob
import json
import os
import os.path as osp
import random
import signal
import subprocess
import time

import pytest
import torch
from mmengine.config import Config

from mmkd.engine import launch
from mmkd.testing import (KD_FAULTS_CONFIG, PYTHON, ROOT, data_options,
                          free_port, kd_train_options, load_tool)

train_tool = load_tool('train')
# No validation where a test does not need it (it costs time).
NO_VAL = ['val_dataloader=None', 'val_cfg=None', 'val_evaluator=None']


def _start(work_dir, options, env, resume=False):
    """Start tools/dist_train.sh with 2 processes, in its own session."""
    args = [
        'bash', 'tools/dist_train.sh', KD_FAULTS_CONFIG, '2', '--work-dir',
        str(work_dir), '--cfg-options', *options
    ] + (['--resume'] if resume else [])
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PORT=free_port(),
        PYTHON=PYTHON,
        **env)
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True)


def _dist_train(work_dir, options, env, timeout, resume=False):
    """tools/dist_train.sh with 2 processes; ``(returncode, output,
    seconds)``. The whole process group is killed if it overruns."""
    start = time.monotonic()
    proc = _start(work_dir, options, env, resume)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_all(proc)
        output, _ = proc.communicate()
        pytest.fail(f'the job was still running after {timeout} s:\n'
                    f'{output[-3000:]}')
    return proc.returncode, output, time.monotonic() - start


@pytest.fixture
def restore_determinism():
    """The in-process runs switch on deterministic algorithms globally."""
    enabled = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(enabled)


def _single_process(k, options, tmp_path, monkeypatch):
    """What rank k of the DDP run saw: batch 1 on image k, alone."""
    record = tmp_path / f'single{k}'
    record.mkdir()
    monkeypatch.setenv('MMKD_TEST_RECORD', str(record))
    train_tool.main([
        KD_FAULTS_CONFIG,
        '--work-dir',
        str(tmp_path / f'run{k}'),
        '--cfg-options',
        *options,
        *NO_VAL,
        f'train_dataloader.dataset.indices=[{k}]',
    ])
    return torch.load(record / 'rank0.pth')


def test_ddp_matches_single_processes(tiny_data, tiny_teacher, tmp_path,
                                      monkeypatch, one_thread,
                                      restore_determinism):
    # Why not one process with batch 2? Three things couple the images of a
    # batch there but not across DDP ranks: BatchNorm statistics (per rank,
    # no SyncBN), loss normalisation over the batch (avg_factor counts the
    # sampled anchors / RoIs of all its images) and the random streams
    # (every rank draws the same numbers as a fresh single process; a batch
    # of 2 draws them one image after the other). So the reference of rank
    # r, which trains on image r, is a single process with batch 1 on image
    # r; the loss DDP optimises is the mean over the ranks.
    options = kd_train_options(tiny_data, tiny_teacher) + [
        'train_dataloader.batch_size=1', 'train_cfg.max_epochs=1',
        'train_dataloader.sampler.shuffle=False',
        'train_dataloader.dataset.indices=[0,1]'
    ]  # rank r gets image r
    (tmp_path / 'ddp').mkdir()
    code, output, _ = _dist_train(
        tmp_path / 'ddp_run',
        options + NO_VAL, {'MMKD_TEST_RECORD': str(tmp_path / 'ddp')},
        timeout=300)
    assert code == 0, output[-3000:]
    ddp = [torch.load(tmp_path / 'ddp' / f'rank{r}.pth') for r in (0, 1)]
    single = [
        _single_process(k, options, tmp_path, monkeypatch) for k in (0, 1)
    ]
    # The first iteration's losses: per rank (observed equal to the last
    # bit) and their mean, the objective of the DDP step.
    for r in (0, 1):
        assert ddp[r]['loss'] == pytest.approx(single[r]['loss'], rel=1e-6)
    assert ddp[0]['loss'] != pytest.approx(ddp[1]['loss'], rel=1e-3)
    assert (ddp[0]['loss'] + ddp[1]['loss']) / 2 == pytest.approx(
        (single[0]['loss'] + single[1]['loss']) / 2, rel=1e-6)
    # The update: replicas identical, and equal to the mean of the two
    # single-process updates (the first SGD step, momentum buffer = the
    # gradient, is linear in it); float rounding of the all-reduce is
    # ~1e-7, the two single updates differ by ~1e-3.
    s0, s1 = single[0]['params'], single[1]['params']
    assert max((s0[k] - s1[k]).abs().max() for k in s0) > 1e-4
    for key, value in ddp[0]['params'].items():
        assert torch.equal(value, ddp[1]['params'][key]), key
        assert torch.allclose(
            value, (s0[key] + s1[key]) / 2, rtol=0, atol=1e-6), key


@pytest.mark.parametrize('fault', ['raise', 'hang'])
def test_a_failing_rank_stops_the_job(tiny_data, tiny_teacher, tmp_path,
                                      fault):
    # 4 images, 1 per rank and iteration: 2 iterations. Rank 1 raises (or
    # hangs) before its second, while rank 0 waits in the gradient
    # all-reduce. A raise: torchrun sees rank 1 exit and ends rank 0. A
    # hang: rank 0's all-reduce times out after env_cfg.dist_cfg.timeout,
    # rank 0 exits and torchrun ends rank 1.
    timeout = 5 if fault == 'hang' else 60  # seconds, for gloo
    options = kd_train_options(tiny_data, tiny_teacher) + [
        'train_dataloader.batch_size=1', 'train_cfg.max_epochs=1',
        f'env_cfg.dist_cfg.timeout={timeout}'
    ]
    code, output, seconds = _dist_train(
        tmp_path,
        options + NO_VAL,
        {'MMKD_TEST_FAIL_RANK': '1:1' + (':hang' if fault == 'hang' else '')},
        timeout=240)
    assert code != 0
    if fault == 'raise':
        assert 'injected failure on rank 1 at iteration 1' in output
    else:
        assert f'Timed out waiting {timeout * 1000}ms' in output
    assert seconds < 120, f'{seconds:.0f} s'


def test_gloo_timeout_comes_from_the_config(monkeypatch):
    calls = []
    monkeypatch.setattr(launch.torch_dist, 'is_initialized', lambda: False)
    monkeypatch.setattr(launch.torch_dist, 'init_process_group',
                        lambda **kwargs: calls.append(kwargs))
    for key, value in dict(
            RANK='0', WORLD_SIZE='2', MASTER_ADDR='127.0.0.1',
            MASTER_PORT='29500').items():
        monkeypatch.setenv(key, value)
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=45))))
    launch.setup_launcher(cfg, 'pytorch')
    assert calls == [
        dict(backend='gloo', timeout=datetime.timedelta(seconds=45))
    ]
    assert cfg.model_wrapper_cfg.device_ids is None


def _descendants(pid: int) -> list:
    """The processes below ``pid`` (torchrun starts its workers in
    sessions of their own, so killing its group does not reach them)."""
    parents = {}
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{entry}/stat') as f:
                stat = f.read()
        except OSError:  # not a process, or it is gone
            continue
        parents.setdefault(int(stat.rsplit(')', 1)[1].split()[1]),
                           []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def _kill_when_parked(proc, marker, timeout=300):
    """SIGKILL the job and all its processes once a rank is parked."""
    deadline = time.monotonic() + timeout
    while not osp.exists(marker) and proc.poll() is None:
        assert time.monotonic() < deadline, 'the job never got there'
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()[0][-3000:]
    _kill_all(proc)
    proc.communicate()


def _scalars(work_dir):
    """The JSON log lines MMEngine wrote under ``work_dir``."""
    [path] = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f]


def _kill_all(proc):
    """SIGKILL ``proc`` and every process below it."""
    for pid in _descendants(proc.pid) + [proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_ddp_sigkill_at_a_random_iteration_then_resume(tiny_data, tiny_teacher,
                                                       tmp_path):
    # 2 epochs of 2 iterations (4 images, batch 1 per rank), validation
    # after each epoch: the killed job resumes from epoch_1.pth, saved
    # before the first validation, which must not have moved the random
    # streams the uninterrupted job trains epoch 2 with.
    options = data_options(tiny_data) + [
        f'model.teacher_ckpt={tiny_teacher}', 'train_dataloader.batch_size=1',
        'train_cfg.max_epochs=2', 'optim_wrapper.optimizer.lr=0.001'
    ]  # (the random tiny teacher's large hint diverges at 0.01)
    kill_at = random.choice([2, 3])  # an iteration of epoch 2 (from 0)
    code, output, _ = _dist_train(tmp_path / 'whole', options, {}, 300)
    assert code == 0, output[-3000:]
    # tools/dist_train.sh trains a distiller: every iteration logs the
    # distillation terms (4 images over 2 ranks, 1 each: 2 per epoch).
    lines = [x for x in _scalars(tmp_path / 'whole') if 'loss' in x]
    assert [x['iter'] for x in lines] == [1, 2, 3, 4]
    for key in ('distill.loss_rpn_kd', 'distill.loss_rcn_kd',
                'distill.loss_rcn_reg', 'distill.loss_hint'):
        assert all(key in x and x[key] == x[key] for x in lines), key
    marker = tmp_path / 'marker'
    proc = _start(tmp_path / 'killed', options, {
        'MMKD_TEST_PAUSE_AT_ITER': str(kill_at),
        'MMKD_TEST_MARKER': str(marker)
    })
    _kill_when_parked(proc, marker)
    assert sorted(p.name for p in (tmp_path / 'killed').glob('*.pth')) == [
        'epoch_1.pth'
    ], f'killed at iteration {kill_at}'
    code, output, _ = _dist_train(
        tmp_path / 'killed', options, {}, 300, resume=True)
    assert code == 0, output[-3000:]
    assert 'resumed epoch: 1, iter: 2' in output
    whole = torch.load(tmp_path / 'whole' / 'epoch_2.pth')['state_dict']
    resumed = torch.load(tmp_path / 'killed' / 'epoch_2.pth')['state_dict']
    for key, value in whole.items():
        assert torch.equal(value, resumed[key]), (key, kill_at)
