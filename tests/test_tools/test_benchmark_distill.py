"""tools/analysis_tools/benchmark_distill.py on the tiny distillation
config: same-resolution and high-resolution teachers."""
import re

import pytest
import torch

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


FEATURES_ONLY = [
    'model.distill_losses.rpn_kd=None', 'model.distill_losses.rpn_reg=None',
    'model.distill_losses.rcn_kd=None', 'model.distill_losses.rcn_reg=None',
    'model.distill_losses.hint=None', 'model.distill_losses.pkd.type=PKDLoss'
]


@pytest.mark.usefixtures('one_thread')
@pytest.mark.parametrize(
    'extra, parts', [
        ([], 'trunk + RPN head + RoI head'),
        ([
            'model.distill_losses.rcn_kd=None',
            'model.distill_losses.rcn_reg=None'
        ], 'trunk + RPN head'),
        (FEATURES_ONLY, 'trunk'),
    ],
    ids=['chen2017', 'rpn', 'pkd'])
def test_teacher_forward_runs_what_the_terms_need(extra, parts, capsys):
    """F, the floor of D / (S + F), is the teacher's share of a distillation
    step: a method of feature terms (PKD here) runs the teacher's trunk
    only, as the distiller does, so its cost is not understated."""
    tool = load_tool('analysis_tools/benchmark_distill')
    argv = [
        KD_CONFIG, '--shape', '64', '64', '--batch-size', '1',
        '--random-teacher', *(['--cfg-options', *extra] if extra else [])
    ]
    distiller, data = tool.build(tool.parse_args(argv))
    calls = []
    for name in ('rpn_head', 'roi_head'):
        head = getattr(distiller.teacher, name)
        module = head.bbox_head if name == 'roi_head' else head
        module.register_forward_hook(lambda *a, n=name: calls.append(n))
    rois = tool._student_rois(distiller, data)
    calls.clear()  # the distillation step itself ran what its terms need
    tool._teacher_forward(distiller, data, rois)
    wanted = {
        'trunk + RPN head + RoI head': ['rpn_head', 'roi_head'],
        'trunk + RPN head': ['rpn_head'],
        'trunk': []
    }[parts]
    assert calls == wanted
    tool.main(argv + ['--iters', '1'])
    out = capsys.readouterr().out
    assert re.search(rf'teacher forward F +[\d.]+ ms +\({re.escape(parts)}\)',
                     out), out


@pytest.mark.usefixtures('one_thread')
def test_before_times_mmcvs_roi_align_beside_the_config(capsys):
    """--before: the same pair with mmcv's RoIAlign and contiguous weights,
    in the same rounds; both rows and both ratios are printed."""
    from mmcv.ops import RoIAlign

    from mmkd.ops import SeparableRoIAlign
    tool = load_tool('analysis_tools/benchmark_distill')
    argv = [
        f'{ROOT}/configs/kd/frcnn_r18w32_r18w8_synthetic.py', '--shape', '64',
        '64', '--batch-size', '1', '--random-teacher'
    ]
    distiller, _ = tool.build(tool.parse_args(argv))
    conv = distiller.student.backbone.conv1.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)  # the hook
    tool.earlier_ops(distiller)
    assert conv.is_contiguous()
    layers = [
        m for model in (distiller, distiller.teacher) for m in model.modules()
        if isinstance(m, RoIAlign)
    ]
    assert len(layers) == 8 and not any(
        isinstance(m, SeparableRoIAlign) for m in layers)
    tool.main(argv + ['--iters', '1', '--before'])
    out = capsys.readouterr().out
    assert '-- as configured' in out and '-- before' in out
    found = re.search(
        r'D / \(S \+ F\): before ([\d.]+), as configured ([\d.]+); '
        r'distill step D, as configured / before: ([\d.]+)', out)
    assert found and all(float(x) > 0 for x in found.groups())


@pytest.mark.usefixtures('one_thread')
def test_a_cascade_pair_is_timed(tmp_path, capsys):
    """The student's first-stage RoIs reach F, whatever the RoI head."""
    config = tmp_path / 'kd_cascade.py'
    config.write_text(
        f"_base_ = ['{ROOT}/tests/configs/tiny_cascade_rcnn.py', "
        f"'{ROOT}/configs/_base_/distill/chen2017.py']\n"
        'model = dict(_delete_=True, **_base_.distiller, '
        'student=_base_.model, '
        f"teacher='{ROOT}/tests/configs/tiny_cascade_rcnn_teacher.py', "
        "adapters=[dict(type='HintAdapter', in_channels=16, "
        'out_channels=32)])\n')
    tool = load_tool('analysis_tools/benchmark_distill')
    tool.main([
        str(config), '--shape', '64', '64', '--batch-size', '1', '--iters',
        '1', '--random-teacher'
    ])
    out = capsys.readouterr().out
    assert re.search(r'distill step D +[\d.]+ ms', out), out
