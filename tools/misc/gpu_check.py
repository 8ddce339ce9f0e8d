"""The GPU check: does mmkd set up, train, distil and measure on this
machine's GPUs? (``bash tools/gpu_check.sh`` runs it with the machine's
Python.)

    bash tools/gpu_check.sh [--work-dir work_dirs/gpu_check] [--skip-setup]

1. reports the interpreter's torch, its CUDA, the GPUs and ``nvcc``;
2. sets up ``.venv-gpu`` with the machine's torch and mmcv built with CUDA
   ops (``tools/setup_env.sh`` with ``MMKD_SYSTEM_TORCH=1
   MMKD_MMCV_CUDA=1``; compiling mmcv takes a while the first time, then
   the wheel is cached), and checks that mmcv's ops run on the GPU;
3. runs the demo's quick mode on the GPU;
4. runs ``benchmark_distill.py`` on the demo's pair on the GPU, without and
   with ``--amp``;
5. with two GPUs or more, trains one epoch of the quick data with
   ``tools/dist_train.sh`` on 2 GPUs;

then prints one table: each step, what it measured, its time. Each step's
output is in ``WORK_DIR/<step>.log``. Without a CUDA device it stops after
the report with one ``error:`` line.
"""
import argparse
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time
from typing import Callable, List, NamedTuple, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VENV = osp.join(ROOT, '.venv-gpu')
# The demo's runs: teacher, student alone, distilled student.
DEMO_DISTILLED = 'configs/kd/frcnn_r18w32_r18w16_synthetic.py'
DEMO_STUDENT = 'configs/faster_rcnn/frcnn_r18w16_synthetic.py'
OPS_CHECK = (
    'import torch; from mmcv.ops import nms, roi_align; '
    "d = 'cuda'; b = torch.tensor([[0., 0, 10, 10], [1, 1, 11, 11]], "
    'device=d); nms(b, torch.tensor([.9, .8], device=d), 0.5); '
    'roi_align(torch.rand(1, 2, 8, 8, device=d), torch.tensor([[0., 0, 0, '
    "4, 4]], device=d), (2, 2)); print('mmcv CUDA ops run')")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/gpu_check')
    parser.add_argument(
        '--skip-setup',
        action='store_true',
        help='use .venv-gpu as it is (no set-up step)')
    return parser.parse_args(argv)


def report() -> dict:
    """What this interpreter and machine offer: torch, CUDA, GPUs, nvcc."""
    info = dict(python=sys.executable, torch=None, torch_cuda=None, gpus=[])
    try:
        import torch
    except ImportError:
        pass
    else:
        info['torch'] = torch.__version__
        info['torch_cuda'] = torch.version.cuda
        if torch.cuda.is_available():
            info['gpus'] = [
                torch.cuda.get_device_name(i)
                for i in range(torch.cuda.device_count())
            ]
    nvcc = shutil.which('nvcc')
    info['nvcc'] = None
    if nvcc:
        out = subprocess.run([nvcc, '--version'],
                             capture_output=True,
                             text=True).stdout
        found = re.search(r'release ([\d.]+)', out)
        info['nvcc'] = found.group(1) if found else out.strip()[-60:]
    return info


class Step(NamedTuple):
    """A tool run: its command and environment, and ``read(output)`` that
    says what it measured (``None`` for nothing to add)."""
    name: str
    cmd: List[str]
    env: dict
    read: Callable[[str], Optional[str]]


def _demo_result(work_dir: str) -> Callable[[str], str]:

    def read(_):
        with open(osp.join(work_dir, 'results.json')) as f:
            results = json.load(f)
        return ', '.join(f"{name} mAP {r['mAP']:.3f}, {r['ms']:.1f} ms/img"
                         for name, r in results.items())

    return read


def _bench_result(output: str) -> str:
    found = dict(
        D=re.search(r'distill step D +([\d.]+) ms', output),
        ratio=re.search(r'D / \(S \+ F\) +([\d.]+)', output),
        amp=re.search(r'bf16 autocast [\d.]+ ms \(x([\d.]+)\)', output))
    text = ', '.join(f'{k} {m.group(1)}' for k, m in found.items() if m)
    return text or 'no timing in the output'


def plan(info: dict, work_dir: str, skip_setup: bool) -> List[Step]:
    """The steps for a machine described by ``report()``."""
    py = osp.join(VENV, 'bin', 'python')
    steps = []
    if not skip_setup:
        steps.append(
            Step(
                'setup', ['bash', 'tools/setup_env.sh'],
                dict(
                    MMKD_VENV=VENV,
                    MMKD_SYSTEM_TORCH='1',
                    MMKD_MMCV_CUDA='1',
                    PYTHON=info['python']), lambda _: f'{VENV} ready'))
    steps.append(Step('mmcv_ops', [py, '-c', OPS_CHECK], {}, lambda _: None))
    demo_dir = osp.join(work_dir, 'demo_quick')
    data = osp.join(work_dir, 'data_quick')
    steps.append(
        Step('demo_quick', [
            py, 'tools/demo.py', '--quick', '--force', '--work-dir', demo_dir,
            '--data-root', data
        ], {}, _demo_result(demo_dir)))
    bench = [
        py, 'tools/analysis_tools/benchmark_distill.py', DEMO_DISTILLED,
        '--device', 'cuda', '--batch-size', '8', '--iters', '10',
        '--random-teacher'
    ]
    steps.append(Step('benchmark', bench, {}, _bench_result))
    steps.append(Step('benchmark_amp', bench + ['--amp'], {}, _bench_result))
    if len(info['gpus']) >= 2:
        from_data = [
            f'train_dataloader.dataset.data_root={data}/',
            'train_cfg.max_epochs=1', 'val_dataloader=None', 'val_cfg=None',
            'val_evaluator=None'
        ]
        steps.append(
            Step('dist_train_2gpu', [
                'bash', 'tools/dist_train.sh', DEMO_STUDENT, '2', '--work-dir',
                osp.join(work_dir, 'dist_train'), '--cfg-options', *from_data
            ], dict(PYTHON=py), lambda _: 'one epoch on 2 GPUs'))
    return steps


def run_step(step: Step, work_dir: str) -> tuple:
    """``(ok, what it measured or why it failed, seconds)``."""
    log = osp.join(work_dir, f'{step.name}.log')
    start = time.time()
    with open(log, 'w') as f:
        code = subprocess.call(
            step.cmd,
            cwd=ROOT,
            env=dict(os.environ, **step.env),
            stdout=f,
            stderr=subprocess.STDOUT)
    seconds = time.time() - start
    with open(log) as f:
        output = f.read()
    if code != 0:
        return False, f'failed (exit code {code}; see {log})', seconds
    try:
        return True, step.read(output) or 'ok', seconds
    except (OSError, KeyError, ValueError) as exc:
        return False, f'ran, but {type(exc).__name__}: {exc}', seconds


def table(info: dict, rows: list) -> str:
    gpus = ', '.join(info['gpus']) or 'none'
    lines = [
        f"torch {info['torch']} (CUDA {info['torch_cuda']}), nvcc "
        f"{info['nvcc']}, GPUs: {gpus}", '', '| step | result | seconds |',
        '|---|---|---:|'
    ]
    for name, ok, what, seconds in rows:
        mark = 'ok' if ok else 'FAILED' if ok is False else 'not run'
        took = f'{seconds:.0f}' if seconds is not None else ''
        lines.append(f'| {name} | {mark}: {what} | {took} |')
    return '\n'.join(lines)


def check_work_dir(work_dir: str) -> None:
    """Refuse a --work-dir that cannot be written, in one line (this script
    runs with the machine's Python, before mmkd is installed there)."""
    where = work_dir
    while not osp.exists(where):
        where = osp.dirname(where)
    if not osp.isdir(where):
        raise SystemExit(f'error: --work-dir {work_dir!r}: {where!r} is a '
                         'file, not a directory; give another path')
    if not os.access(where, os.W_OK | os.X_OK):
        raise SystemExit(f'error: --work-dir {work_dir!r}: no permission to '
                         f'write in {where!r}; give another path')


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    check_work_dir(work_dir)
    info = report()
    steps = plan(info, work_dir, args.skip_setup)
    if not info['gpus']:
        rows = [(s.name, None, 'no CUDA device', None) for s in steps]
        print(table(info, rows))
        why = ('torch is not installed' if info['torch'] is None else
               f"torch {info['torch']} sees no CUDA device")
        raise SystemExit(
            f'error: {why} for {info["python"]}; run this check on a '
            'machine with an NVIDIA GPU, with the Python that has its CUDA '
            'torch (PYTHON=... bash tools/gpu_check.sh)')
    os.makedirs(work_dir, exist_ok=True)
    rows, blocked = [], False
    for step in steps:
        if blocked:  # nothing runs without the set-up and mmcv's CUDA ops
            rows.append((step.name, None, 'the set-up failed', None))
            continue
        ok, what, seconds = run_step(step, work_dir)
        rows.append((step.name, ok, what, seconds))
        blocked = not ok and step.name in ('setup', 'mmcv_ops')
    text = table(info, rows)
    with open(osp.join(work_dir, 'gpu_check.md'), 'w') as f:
        f.write(text + '\n')
    print(text)
    if not all(ok for _, ok, _, _ in rows):
        raise SystemExit('error: a step of the GPU check failed; see its log '
                         f'in {work_dir}')


if __name__ == '__main__':
    main()
