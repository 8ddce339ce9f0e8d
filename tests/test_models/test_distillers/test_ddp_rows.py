"""Every row of the reproduction trains under 2-process CPU DDP with
MMEngine's default ``find_unused_parameters=False``, and a non-finite loss
on one rank is skipped on both. One torchrun launch
(``ddp_rows_worker.py``) runs them all; the rows are read from
``mmkd.demo.ablations.ROWS``, so a new row is tested without a change
here."""
import json
import os
import os.path as osp
import subprocess

import pytest

from mmkd.demo.ablations import ROWS
from mmkd.testing import PYTHON, ROOT, free_port

WORKER = osp.join(osp.dirname(osp.abspath(__file__)), 'ddp_rows_worker.py')


@pytest.fixture(scope='module')
def ranks(tmp_path_factory, worker_id):
    """What each rank recorded. Launched once per test session: under
    pytest-xdist the workers share it (the first one launches, under a file
    lock in the session's common temporary folder; the others read)."""
    from filelock import FileLock
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == 'master' else base.parent
    out = shared / 'ddp_rows'
    with FileLock(str(shared / 'ddp_rows.lock')):
        if not (out / 'rank1.json').is_file():
            out.mkdir(exist_ok=True)
            _launch(out)
    results = []
    for rank in (0, 1):
        with open(out / f'rank{rank}.json') as f:
            results.append(json.load(f))
    return results


def _launch(out):
    proc = subprocess.run([
        PYTHON, '-m', 'torch.distributed.run', '--nproc_per_node=2',
        f'--master_port={free_port()}', WORKER,
        str(out)
    ],
                          cwd=ROOT,
                          env=dict(
                              os.environ, OMP_NUM_THREADS='1',
                              PYTHONPATH=ROOT),
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]


@pytest.mark.parametrize('row', list(ROWS))
def test_row_trains_two_iterations_under_ddp(ranks, row):
    r0, r1 = ranks[0][row], ranks[1][row]
    assert 'error' not in r0, r0['error']
    assert 'error' not in r1, r1['error']
    # every trainable parameter got a gradient at both steps, on both ranks
    assert r0['no_grad'] == r1['no_grad'] == [[], []]
    assert all(loss == loss for loss in r0['losses'] + r1['losses'])
    # different data per rank, one update: the replicas stay identical
    assert r0['losses'] != r1['losses']
    assert r0['param_sum'] == r1['param_sum']


def test_a_nan_on_one_rank_is_skipped_on_both(ranks):
    """Rank 1's hint is NaN at step 2 only: both ranks skip it (neither
    weights nor momentum nor weight decay move), and step 3 trains again
    in sync (DDP is not left waiting for a reduction)."""
    r0, r1 = ranks[0]['_skip'], ranks[1]['_skip']
    assert r0['skipped'] == r1['skipped'] == [0.0, 1.0, 0.0]
    assert r0['param_sums'] == r1['param_sums']
    before, skipped, after = r0['param_sums']
    assert skipped == before and after != skipped
