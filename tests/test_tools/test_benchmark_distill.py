"""tools/analysis_tools/benchmark_distill.py on the tiny distillation
config: same-resolution and high-resolution teachers."""
import re

import pytest

from mmkd.testing import ROOT, load_tool

KD_CONFIG = f'{ROOT}/tests/configs/tiny_kd.py'
HIGH_RES = [
    'model.teacher_input_scale=2.0', 'model.distill_losses.rpn_kd=None',
    'model.distill_losses.rpn_reg=None'
]


@pytest.mark.usefixtures('one_thread')
@pytest.mark.parametrize('extra', [[], HIGH_RES], ids=['same', 'high_res'])
@pytest.mark.parametrize('device', [
    'cpu',
    pytest.param(
        'cuda',
        marks=pytest.mark.skipif(
            not __import__('torch').cuda.is_available(),
            reason='needs a CUDA device'))
])
def test_step_times_and_ratio_are_printed(extra, device, capsys):
    tool = load_tool('analysis_tools/benchmark_distill')
    tool.main([
        KD_CONFIG, '--shape', '64', '64', '--batch-size', '1', '--iters', '1',
        '--device', device, '--random-teacher',
        *(['--cfg-options', *extra] if extra else [])
    ])
    out = capsys.readouterr().out
    assert f'device {device}' in out
    times = {
        name: float(ms)
        for name, ms in re.findall(r'^(\w[\w ]*?) +[SFDT] +([\d.]+) ms', out,
                                   re.M)
    }
    assert set(times) == {
        'student step', 'teacher forward', 'distill step', 'teacher loss pass'
    }, out
    assert all(ms > 0 for ms in times.values())
    ratio = float(re.search(r'D / \(S \+ F\) +([\d.]+)', out).group(1))
    assert ratio == pytest.approx(
        times['distill step'] /
        (times['student step'] + times['teacher forward']),
        rel=1e-2)


@pytest.mark.parametrize(
    'device, message',
    [('meta', '--device meta: only cpu and cuda are measured'),
     ('gpu0', "--device 'gpu0' is not a device; use cpu, cuda or cuda:N")])
def test_a_device_it_cannot_measure_is_one_error_line(device, message):
    tool = load_tool('analysis_tools/benchmark_distill')
    with pytest.raises(SystemExit) as exc:
        tool.main([KD_CONFIG, '--device', device])
    assert str(exc.value) == f'error: {message}'


@pytest.mark.skipif(
    __import__('torch').cuda.is_available(), reason='this machine has CUDA')
def test_cuda_on_a_machine_without_it_is_one_error_line():
    import torch
    tool = load_tool('analysis_tools/benchmark_distill')
    with pytest.raises(SystemExit) as exc:
        tool.main([KD_CONFIG, '--device', 'cuda'])
    assert str(exc.value) == (
        f'error: --device cuda: torch {torch.__version__} sees no CUDA '
        'device here; use --device cpu')


def test_a_random_teacher_is_timed_only_when_asked_for():
    tool = load_tool('analysis_tools/benchmark_distill')
    with pytest.raises(SystemExit) as info:
        tool.main([KD_CONFIG, '--shape', '64', '64'])
    assert info.value.code == (
        f'error: {KD_CONFIG} sets no model.teacher_ckpt; give the teacher '
        'with --cfg-options model.teacher_ckpt=PATH, or time a random '
        'teacher with --random-teacher')
