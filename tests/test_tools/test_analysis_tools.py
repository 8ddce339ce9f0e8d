"""tools/analysis_tools: benchmark.py, get_flops.py, analyze_logs.py and
roi_scores.py."""
import argparse
import json
import os.path as osp

import cv2
import pytest

from mmkd.testing import PYTHON, TINY_CONFIG, data_options, load_tool, run_tool
from mmkd.testing.tiny_datasets import write_coco
from mmkd.testing.trunks import C5, ROOT, write_tiny_config


def _tool(name):
    return load_tool(f'analysis_tools/{name}')


@pytest.fixture(scope='module')
def tiny_configs(tmp_path_factory):
    """Tiny AlexNet / VGG16 detectors and a half-resolution distiller."""
    folder = tmp_path_factory.mktemp('configs')
    alexnet = write_tiny_config(folder, 'alexnet')
    vgg16 = write_tiny_config(folder, 'vgg16')
    kd = osp.join(str(folder), 'tiny_kd.py')
    with open(kd, 'w') as f:
        f.write(f"_base_ = [{alexnet!r}]\n"
                "model = dict(\n"
                "    _delete_=True, type='TwoStageDistiller',\n"
                "    student=_base_.model,\n"
                f"    teacher={vgg16!r}, teacher_ckpt=None,\n"
                "    teacher_input_scale=2.0,\n"
                "    distill_losses=dict(rpn_kd=None, rpn_reg=None),\n"
                "    adapters=[dict(type='HintAdapter', in_channels="
                f"{C5['alexnet']}, out_channels={C5['vgg16']})])\n")
    return dict(alexnet=alexnet, vgg16=vgg16, kd=kd)


def _params(config):
    from mmengine.config import Config

    from mmkd.analysis.speed import build_deployed, count_parameters
    return count_parameters(build_deployed(Config.fromfile(config)))


# ----------------------------------------------------------- benchmark.py
def test_benchmark_compare_interleaved(tiny_configs, capsys):
    rows = _tool('benchmark').main([
        tiny_configs['alexnet'], '--shape', '64', '96', '--images', '2',
        '--warmup', '1', '--compare', tiny_configs['vgg16']
    ])
    assert [r['name'] for r in rows] == ['tiny_alexnet', 'tiny_vgg16']
    assert rows[0]['params'] == _params(tiny_configs['alexnet'])
    assert rows[1]['params'] == _params(tiny_configs['vgg16'])
    for row in rows:
        assert row['ms'] > 0
        assert row['images_per_s'] == pytest.approx(1000 / row['ms'])
    out = capsys.readouterr().out
    assert 'random 64x96 images (--shape)' in out
    assert 'time ratio (medians) tiny_vgg16 / tiny_alexnet' in out


def test_benchmark_times_the_student_of_a_distiller(tiny_configs):
    [row] = _tool('benchmark').main([
        tiny_configs['kd'], '--shape', '64', '64', '--images', '1', '--warmup',
        '0'
    ])
    assert row['params'] == _params(tiny_configs['alexnet'])


def test_benchmark_inputs_from_test_set_or_random(tmp_path):
    from mmengine.config import Config
    data = str(tmp_path / 'data') + '/'
    write_coco(data, ('a', 'b', 'c'))
    extra = (
        "test_dataloader = dict(dataset=dict(\n"
        f"    type='CheckedCocoDataset', data_root={data!r},\n"
        "    metainfo=dict(classes=('a', 'b', 'c')),\n"
        "    ann_file='annotations/val.json', data_prefix=dict(img='images/'),"
        "\n    test_mode=True, pipeline=[\n"
        "        dict(type='CheckedLoadImageFromFile'),\n"
        "        dict(type='Resize', scale=(48, 32), keep_ratio=True),\n"
        "        dict(type='PackDetInputs')]))\n")
    cfg = Config.fromfile(write_tiny_config(tmp_path, 'alexnet', extra))
    tool = _tool('benchmark')
    args = argparse.Namespace(shape=None, images=2, warmup=1)
    batches, note = tool.make_inputs(cfg, args)
    assert note == 'test images' and len(batches) == 3
    # the 64 x 64 image through Resize(scale=(48, 32), keep_ratio=True)
    assert tuple(batches[0]['inputs'][0].shape) == (3, 32, 32)
    cfg.test_dataloader.dataset.data_root = str(tmp_path / 'absent') + '/'
    batches, note = tool.make_inputs(cfg, args)
    assert note.startswith('random 32x48 images (no test set: ')
    assert tuple(batches[0]['inputs'][0].shape) == (3, 32, 48)


def test_benchmark_proposals_fixes_the_rpn_output(tiny_configs):
    import torch
    from mmengine.config import Config

    from mmkd.analysis.inputs import random_batches
    from mmkd.analysis.speed import build_deployed
    tool = _tool('benchmark')
    cfg = Config.fromfile(tiny_configs['kd'])
    tool.fix_proposals(cfg, 50)
    rpn = cfg.model.student.test_cfg.rpn  # the deployed student's
    assert (rpn.max_per_img, rpn.nms.iou_threshold) == (50, 1.0)
    assert rpn.nms_pre == 6000  # the config's (py-faster-rcnn), >= 50
    model = build_deployed(cfg)
    with torch.no_grad():
        data = model.data_preprocessor(random_batches((64, 96), 1)[0])
        feats = model.extract_feat(data['inputs'])
        [proposals] = model.rpn_head.predict(
            feats, data['data_samples'], rescale=False)
    # 4 x 6 locations x 9 anchors = 216 candidates, 50 kept without NMS
    assert len(proposals) == 50


def test_benchmark_rejects_three_compare_values(tiny_configs, capsys):
    with pytest.raises(SystemExit):
        _tool('benchmark').parse_args(
            [tiny_configs['alexnet'], '--compare', 'a.py', 'b.pth', 'c'])
    assert 'CONFIG2 and an optional CHECKPOINT2' in capsys.readouterr().err


# ----------------------------------------------------------- get_flops.py
def test_get_flops_teacher_and_student(tiny_configs, capsys):
    result = _tool('get_flops').main(
        [tiny_configs['kd'], '--shape', '64', '96'])
    teacher, student = result['rows']
    assert (teacher['role'], student['role']) == ('teacher', 'student')
    assert student['shape'] == (64, 96)
    assert teacher['shape'] == (128, 192)  # teacher_input_scale=2.0
    assert student['params'] == _params(tiny_configs['alexnet'])
    assert teacher['params'] == _params(tiny_configs['vgg16'])
    assert 0 < student['flops'] < teacher['flops']
    # one 1x1 adapter 16 -> 32 channels: 16 * 32 weights + 32 biases
    assert result['adapter_params'] == 16 * 32 + 32
    assert 'student / teacher' in capsys.readouterr().out


def test_get_flops_counts_the_roi_head_per_roi(tiny_configs):
    from mmengine.config import Config
    tool = _tool('get_flops')
    cfg = Config.fromfile(tiny_configs['alexnet'])
    [few] = tool.count(cfg, (64, 96), num_rois=100)
    [more] = tool.count(cfg, (64, 96), num_rois=400)
    # Per RoI (tiny AlexNet: 16 x 6 x 6 RoI features, fc 32 wide, 3
    # classes): fc6 576 * 32 + fc7 32 * 32 + cls 32 * 4 + reg 32 * 12
    # = 18432 + 1024 + 128 + 384 = 19968 multiply-adds; RoIAlign is free.
    assert more['flops'] - few['flops'] == 300 * 19968
    assert more['params'] == few['params']


# -------------------------------------------------------- analyze_logs.py
def _write_log(path, distilled=True, epochs=2, iters=3):
    """A scalars.json as MMEngine writes it: train lines, then val."""
    hard = ['student.loss_cls', 'student.loss_bbox'
            ] if distilled else ['loss_cls', 'loss_bbox']
    soft = ['distill.loss_rcn_kd', 'distill.loss_hint'] if distilled else []
    lines = []
    for epoch in range(1, epochs + 1):
        for i in range(1, iters + 1):
            step = (epoch - 1) * iters + i
            entry = {'lr': 0.01, 'loss': 2.0 / step, 'time': 0.1 * epoch}
            entry.update({k: 1.0 / step for k in hard + soft})
            entry.update(epoch=epoch, iter=step, step=step)
            lines.append(entry)
        lines.append({
            'coco/bbox_mAP': 0.1 * epoch,
            'coco/bbox_mAP_50': 0.2 * epoch,
            'data_time': 0.01,
            'step': epoch
        })
    with open(path, 'w') as f:
        f.write(''.join(json.dumps(line) + '\n' for line in lines))
    return str(path)


def test_plot_curve_default_keys(tmp_path, capsys):
    log = _write_log(tmp_path / 'scalars.json')
    out = str(tmp_path / 'curves.png')
    curves = _tool('analyze_logs').main(
        ['plot_curve', log, '--out', out, '--legend', 'distilled'])
    assert list(curves) == [
        'loss', 'student.loss_bbox', 'student.loss_cls', 'distill.loss_hint',
        'distill.loss_rcn_kd', 'coco/bbox_mAP'
    ]
    assert curves['coco/bbox_mAP']['distilled'] == ((1, 2), (0.1, 0.2))
    xs, ys = curves['distill.loss_hint']['distilled']
    assert xs == tuple(range(1, 7)) and ys[2] == pytest.approx(1 / 3)
    image = cv2.imread(out)
    assert image is not None and image.shape[0] > 100
    assert '6 panel(s) for 1 log(s)' in capsys.readouterr().out


def test_plot_curve_two_logs_from_work_dirs(tmp_path):
    runs = []
    for name, distilled in (('kd', True), ('alone', False)):
        folder = tmp_path / name / '20240101_000000' / 'vis_data'
        folder.mkdir(parents=True)
        _write_log(folder / 'scalars.json', distilled=distilled)
        runs.append(str(tmp_path / name))
    curves = _tool('analyze_logs').main([
        'plot_curve', *runs, '--keys', 'loss', 'coco/bbox_mAP', '--legend',
        'distilled', 'alone', '--out',
        str(tmp_path / 'two.png'), '--title', 'VOC'
    ])
    assert set(curves['loss']) == {'distilled', 'alone'}
    assert osp.getsize(tmp_path / 'two.png') > 0


def test_plot_curve_errors_name_the_problem(tmp_path, capsys):
    log = _write_log(tmp_path / 'scalars.json')
    tool = _tool('analyze_logs')
    with pytest.raises(SystemExit, match=r"\['loss_rpn_cls'\].*available"):
        tool.main([
            'plot_curve', log, '--keys', 'loss_rpn_cls', '--out',
            str(tmp_path / 'x.png')
        ])
    with pytest.raises(SystemExit):
        tool.main([
            'plot_curve', log, '--legend', 'a', 'b', '--out',
            str(tmp_path / 'x.png')
        ])
    assert 'one name per log' in capsys.readouterr().err
    with pytest.raises(SystemExit, match='neither a json log'):
        tool.main([
            'plot_curve',
            str(tmp_path / 'empty_dir_or_missing'), '--out',
            str(tmp_path / 'x.png')
        ])


def test_cal_train_time(tmp_path):
    log = _write_log(tmp_path / 'scalars.json')
    [result] = _tool('analyze_logs').main(['cal_train_time', log]).values()
    # three iterations at 0.1 s (epoch 1) and three at 0.2 s (epoch 2)
    assert result['epochs'] == {1: pytest.approx(0.1), 2: pytest.approx(0.2)}
    assert result['mean'] == pytest.approx(0.15)


# ----------------------------------------------------------- roi_scores.py
ROI_SCORES = osp.join(ROOT, 'tools', 'analysis_tools', 'roi_scores.py')
KD_CONFIG = osp.join(ROOT, 'tests', 'configs', 'tiny_kd.py')


def test_roi_scores_of_checkpoints_and_their_teacher(tiny_data, tiny_teacher,
                                                     tmp_path):
    """The command line a user runs: a distiller's student, two
    checkpoints, the teacher on the same proposals, a mean line."""
    from .bad_input_helpers import training_checkpoint
    ckpts = [
        training_checkpoint(tmp_path / f'kd{i}.pth', KD_CONFIG)
        for i in range(2)
    ]
    proc = run_tool([
        PYTHON, ROI_SCORES, KD_CONFIG, *map(str, ckpts), '--images', '5',
        '--teacher-ckpt', tiny_teacher, '--cfg-options',
        *data_options(tiny_data)
    ])
    lines = proc.stdout.strip().splitlines()
    # --images 5 of a 2-image split: each image once
    assert lines[-5].startswith('val split, 2 images')
    header = lines[-4].split()
    assert header[-4:] == [
        'teacher_p_bg_pos', 'teacher_p_true', 'teacher_p_bg_neg',
        'target_bg_pos'
    ]
    assert lines[-3].startswith(str(ckpts[0])[-48:])
    assert lines[-1].startswith('mean')
    # random weights still score every proposal: a probability, not NaN
    column = header.index('p_bg_neg')  # rows: path, pos, then the columns
    for line in lines[-3:-1]:
        assert 0 <= float(line.split()[column]) <= 1


@pytest.mark.parametrize(
    'case', ['missing', 'teacher_of_detector', 'distilled_as_detector'])
def test_roi_scores_bad_input_is_one_error_line(case, tiny_data, tiny_teacher,
                                                tmp_path, capsys):
    """In process (the command line's main): SystemExit with one ``error:``
    line, which Python prints without a traceback."""
    from .bad_input_helpers import training_checkpoint
    args = [TINY_CONFIG]
    if case == 'missing':
        args += ['absent.pth']
        expected = "error: checkpoint 'absent.pth' does not exist"
    elif case == 'teacher_of_detector':
        args += [tiny_teacher, '--teacher-ckpt', tiny_teacher]
        expected = 'error: --teacher-ckpt needs a distillation config'
    else:  # its weights would not load: random numbers, unless refused
        args += [str(training_checkpoint(tmp_path / 'kd.pth', KD_CONFIG))]
        expected = f"error: checkpoint '{tmp_path / 'kd.pth'}'"
    args += ['--cfg-options', *data_options(tiny_data)]
    with pytest.raises(SystemExit) as exc:
        _tool('roi_scores').main(args)
    message = str(exc.value) if exc.value.code != 2 else \
        capsys.readouterr().err  # argparse prints, then exits with 2
    assert message.strip().startswith(expected)
    assert len(message.strip().splitlines()) == 1
    if case == 'distilled_as_detector':
        assert 'It is a distillation checkpoint' in message
