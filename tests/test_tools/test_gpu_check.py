"""tools/gpu_check.sh: argument handling, what it does without CUDA, and
the steps it would run on a machine with one or two GPUs."""
import os
import os.path as osp
import subprocess

import pytest

from mmkd.testing import PYTHON, ROOT, load_tool

tool = load_tool('misc/gpu_check')


def _script(*args, **env):
    return subprocess.run(['bash', 'tools/gpu_check.sh', *args],
                          cwd=ROOT,
                          env=dict(os.environ, PYTHON=PYTHON, **env),
                          capture_output=True,
                          text=True,
                          timeout=120)


def test_help_and_a_bad_option():
    assert 'GPU check' in _script('--help').stdout
    bad = _script('--gpus', '2')
    assert bad.returncode == 2
    assert 'unrecognized arguments: --gpus 2' in bad.stderr


@pytest.mark.skipif(
    __import__('torch').cuda.is_available(), reason='this machine has CUDA')
def test_without_cuda_it_reports_and_stops_with_one_error_line(tmp_path):
    import torch
    proc = _script('--work-dir', str(tmp_path / 'check'))
    assert proc.returncode == 1
    out = proc.stdout
    assert f'torch {torch.__version__} (CUDA {torch.version.cuda})' in out
    assert 'GPUs: none' in out
    for step in ('setup', 'mmcv_ops', 'demo_quick', 'benchmark',
                 'benchmark_amp'):
        assert f'| {step} | not run: no CUDA device |  |' in out
    assert 'dist_train_2gpu' not in out
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f'error: torch {torch.__version__} sees no CUDA '
                           f'device for {PYTHON}')
    # nothing set up, nothing written
    assert not (tmp_path / 'check').exists()
    assert not osp.exists(tool.VENV)


def _fake(gpus):
    return dict(
        python='/usr/bin/python3',
        torch='2.5.1+cu124',
        torch_cuda='12.4',
        nvcc='12.4',
        gpus=['NVIDIA H200'] * gpus)


def test_the_plan_for_one_and_two_gpus_uses_real_options(tmp_path):
    one = tool.plan(_fake(1), str(tmp_path), skip_setup=False)
    two = tool.plan(_fake(2), str(tmp_path), skip_setup=True)
    assert [s.name for s in one] == [
        'setup', 'mmcv_ops', 'demo_quick', 'benchmark', 'benchmark_amp'
    ]
    assert [s.name for s in two] == [
        'mmcv_ops', 'demo_quick', 'benchmark', 'benchmark_amp',
        'dist_train_2gpu'
    ]
    setup = one[0]
    assert setup.env == dict(
        MMKD_VENV=tool.VENV,
        MMKD_SYSTEM_TORCH='1',
        MMKD_MMCV_CUDA='1',
        PYTHON='/usr/bin/python3')
    steps = {s.name: s for s in two}
    # every tool is given options it accepts
    from mmkd.demo.pipeline import parse_args as demo_args
    args = demo_args(steps['demo_quick'].cmd[2:])
    assert args.quick and args.force
    bench = load_tool('analysis_tools/benchmark_distill')
    args = bench.parse_args(steps['benchmark_amp'].cmd[2:])
    assert args.device == 'cuda' and args.amp and args.batch_size == 8
    assert args.random_teacher  # times only: no student is kept
    assert osp.isfile(osp.join(ROOT, args.config))
    dist = steps['dist_train_2gpu'].cmd
    assert dist[:4] == ['bash', 'tools/dist_train.sh', tool.DEMO_STUDENT, '2']
    assert osp.isfile(osp.join(ROOT, tool.DEMO_STUDENT))
    train = load_tool('train')
    args = train.parse_args([dist[2]] + dist[4:])
    assert args.work_dir.endswith('dist_train')


def test_what_a_step_measured_or_why_it_failed(tmp_path, capsys):
    bench = load_tool('analysis_tools/benchmark_distill')
    bench.report_speed(dict(S=0.1, F=0.05, D=0.2, T=0.12), ['trunk'])
    measured = tool._bench_result(capsys.readouterr().out)
    assert measured == 'D 200.0, ratio 1.333'
    ok = tool.Step('fine', [PYTHON, '-c', 'print(1)'], {}, lambda out: out)
    assert tool.run_step(ok, str(tmp_path))[:2] == (True, '1\n')
    bad = tool.Step('broken', [PYTHON, '-c', 'raise SystemExit(3)'], {},
                    lambda out: out)
    result = tool.run_step(bad, str(tmp_path))
    log = tmp_path / 'broken.log'
    assert result[:2] == (False, f'failed (exit code 3; see {log})')
    rows = [('fine', True, '1', 2.0), ('broken', False, 'failed', 1.0),
            ('later', None, 'the set-up failed', None)]
    text = tool.table(_fake(1), rows)
    assert '| fine | ok: 1 | 2 |' in text
    assert '| broken | FAILED: failed | 1 |' in text
    assert '| later | not run: the set-up failed |  |' in text


def test_a_work_dir_that_is_a_file_is_one_error_line(tmp_path):
    taken = tmp_path / 'taken'
    taken.write_text('')
    proc = _script('--work-dir', str(taken / 'check'))
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"error: --work-dir '{taken / 'check'}': '{taken}' is a file, not a "
        'directory; give another path')
    assert proc.stdout == ''
