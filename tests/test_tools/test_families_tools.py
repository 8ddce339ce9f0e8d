"""Distilled Mask R-CNN and Cascade R-CNN students through the tools:
``tools/train.py`` trains one iteration with every term, ``tools/test.py``
evaluates the student (box and mask mAP), and ``extract_student.py``
exports it as a plain MMDetection model that ``init_detector`` loads and
that predicts what the distiller's student predicts."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd.registry import MODELS
from mmkd.testing import ROOT, assert_same_detections, data_options, load_tool

CONFIGS = osp.join(ROOT, 'tests', 'configs')
CHEN2017 = osp.join(ROOT, 'configs', '_base_', 'distill', 'chen2017.py')
# student, teacher, the student's detector, loss keys beyond the paper's
FAMILIES = {
    'mask': ('tiny_mask_rcnn', 'tiny_mask_rcnn_teacher', 'MaskRCNN',
             {'student.loss_mask', 'distill.loss_rcn_kd'}),
    'cascade':
    ('tiny_cascade_rcnn', 'tiny_cascade_rcnn_teacher', 'CascadeRCNN', {
        f'{group}.s{i}.loss_{name}'
        for i in range(3)
        for group, name in (('student', 'cls'), ('distill', 'rcn_kd'),
                            ('distill', 'rcn_reg'))
    }),
}
pytestmark = pytest.mark.usefixtures('one_thread')


def _kd_config(tmp_path, family: str, teacher_ckpt: str) -> str:
    student, teacher, _, _ = FAMILIES[family]
    path = tmp_path / f'kd_{family}.py'
    path.write_text(f"_base_ = ['{CONFIGS}/{student}.py', '{CHEN2017}']\n"
                    'model = dict(_delete_=True, **_base_.distiller, '
                    'student=_base_.model, '
                    f"teacher='{CONFIGS}/{teacher}.py', "
                    f"teacher_ckpt='{teacher_ckpt}', "
                    "adapters=[dict(type='HintAdapter', in_channels=16, "
                    'out_channels=32)])\n')
    return str(path)


def _teacher_checkpoint(tmp_path, family: str) -> str:
    """A (random) teacher checkpoint, as its training run writes it."""
    init_default_scope('mmkd')
    cfg = Config.fromfile(f'{CONFIGS}/{FAMILIES[family][1]}.py')
    path = str(tmp_path / 'teacher.pth')
    torch.save({
        'state_dict': MODELS.build(cfg.model).state_dict(),
        'meta': {}
    }, path)
    return path


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_distilled_student_trains_tests_and_exports(family, tiny_data,
                                                    tmp_path):
    from mmdet.apis import init_detector
    from mmdet.structures import DetDataSample
    from mmdet.testing import demo_mm_inputs
    config = _kd_config(tmp_path, family,
                        _teacher_checkpoint(tmp_path, family))
    work_dir = str(tmp_path / 'kd')
    load_tool('train').main([
        config,
        '--work-dir',
        work_dir,
        '--cfg-options',
        *data_options(tiny_data),
        'train_cfg.val_interval=2'  # no validation
    ])
    [log] = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(log) as f:
        first = json.loads(f.readline())
    keys = FAMILIES[family][3] | {
        f'distill.loss_{t}'
        for t in ('rpn_kd', 'rpn_reg', 'hint')
    }
    for key in keys:
        assert first[key] == first[key], key  # logged and finite
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    # tools/test.py evaluates the student (no teacher is built)
    metrics = load_tool('test').main([
        config, ckpt, '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *data_options(tiny_data),
        'model.teacher_ckpt=/nonexistent/teacher.pth'
    ])
    assert 'coco/bbox_mAP' in metrics
    assert ('coco/segm_mAP' in metrics) == (family == 'mask')
    # the export loads with MMDetection's API and predicts as the student
    out = str(tmp_path / 'student.pth')
    load_tool('model_converters/extract_student').main(
        [ckpt, out, '--config', config])
    with open(out.replace('.pth', '.py')) as f:
        assert 'mmkd' not in f.read()  # MMDetection's types and scope only
    detector = init_detector(out.replace('.pth', '.py'), out, device='cpu')
    assert type(detector).__name__ == FAMILIES[family][2]
    assert detector.dataset_meta['classes'][0] == 'disc'
    cfg = Config.fromfile(config)
    cfg.model.eval_only = True
    init_default_scope('mmkd')  # init_detector left MMDetection's
    distiller = MODELS.build(cfg.model)
    distiller.load_state_dict(
        torch.load(ckpt, weights_only=False)['state_dict'])
    packed = demo_mm_inputs(1, [(3, 64, 64)], num_classes=6)
    inputs = torch.rand(1, 3, 64, 64)
    samples = [DetDataSample(metainfo=packed['data_samples'][0].metainfo)]
    with torch.no_grad():
        ours = distiller.eval().predict(inputs, samples)[0].pred_instances
        theirs = detector.predict(inputs, samples)[0].pred_instances
    assert len(ours) > 0
    assert_same_detections(ours, theirs, family)
