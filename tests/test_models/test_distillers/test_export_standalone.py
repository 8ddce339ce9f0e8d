"""An exported student stands alone: its config is in MMDetection's scope
and imports only the mmkd modules the student is built of, so a student of
MMDetection's modules loads where mmkd cannot be imported at all."""
import json
import os.path as osp
import subprocess
import sys
import textwrap

import torch
from mmdet.datasets import CocoDataset
from mmdet.structures import DetDataSample
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmkd.models.distillers.export import student_config
from mmkd.registry import MODELS
from mmkd.testing import ROOT, assert_same_detections, load_tool

ZOO_R18 = osp.join(ROOT, 'configs', 'kd', 'zoo',
                   'frcnn_r50-fpn_r18-fpn_1x_coco.py')
PAPER = [
    'configs/kd/frcnn_vgg16_alexnet_coco.py',
    'configs/kd/py/frcnn_vgg16_alexnet_coco.py'
]

# sitecustomize.py of the child: `import mmkd` fails, as where only
# MMDetection is installed.
BLOCKER = '''
import sys


class NoMMKD:

    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'mmkd':
            raise ImportError(f'{name}: only MMDetection is installed')


sys.meta_path.insert(0, NoMMKD())
'''
CHILD = '''
import json
import sys

import torch
try:
    import mmkd  # noqa: F401
    sys.exit('mmkd can be imported')
except ImportError:
    pass
from mmdet.apis import init_detector
from mmdet.structures import DetDataSample

data = torch.load('batch.pth', weights_only=False)
for config, checkpoint, out in json.loads(sys.argv[1]):
    model = init_detector(config, checkpoint, device='cpu')
    samples = [DetDataSample(metainfo=meta) for meta in data['metas']]
    with torch.no_grad():
        results = model.predict(data['inputs'], samples)
    torch.save([r.pred_instances.to_dict() for r in results], out)
    print(type(model).__name__, type(model.backbone).__name__,
          model.dataset_meta['classes'][0])
'''
# Students of MMDetection's modules only: a model-zoo pair's (mmdet::
# base) and the demo's (mmkd's own configs, default_scope='mmkd').
STUDENTS = [
    ZOO_R18,
    osp.join(ROOT, 'configs/kd/frcnn_r18w32_r18w8_synthetic.py')
]


def _export(config: str, folder, inputs: dict) -> tuple:
    """Save the config's distiller (student and adapters, no teacher) as
    a training run does, extract its student with the tool; the student's
    results on ``inputs``."""
    cfg = Config.fromfile(config)
    cfg.model.eval_only = True
    init_default_scope('mmkd')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    classes = cfg.train_dataloader.dataset.get('metainfo', {}).get(
        'classes', CocoDataset.METAINFO['classes'])
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=dict(classes=classes))),
        str(folder / 'kd.pth'))
    out = str(folder / 'student.pth')
    load_tool('model_converters/extract_student').main(
        [str(folder / 'kd.pth'), out, '--config', config])
    samples = [DetDataSample(metainfo=meta) for meta in inputs['metas']]
    with torch.no_grad():
        expected = model.predict(inputs['inputs'], samples)
    return out, expected


def test_students_load_with_mmdetection_alone(tmp_path):
    packed = demo_mm_inputs(
        batch_size=1, image_shapes=[(3, 96, 128)], num_classes=6)
    batch = dict(
        inputs=torch.randn(1, 3, 96, 128),
        metas=[sample.metainfo for sample in packed['data_samples']])
    torch.save(batch, str(tmp_path / 'batch.pth'))
    jobs, expected = [], []
    for i, config in enumerate(STUDENTS):
        (tmp_path / str(i)).mkdir()
        out, results = _export(config, tmp_path / str(i), batch)
        text = open(out.replace('.pth', '.py')).read()
        assert "default_scope = 'mmdet'" in text
        assert 'mmkd' not in text  # no custom_imports, no mmkd type or hook
        jobs.append([out.replace('.pth', '.py'), out, f'results{i}.pth'])
        expected.append(results)
    (tmp_path / 'site').mkdir()
    (tmp_path / 'site' / 'sitecustomize.py').write_text(BLOCKER)
    (tmp_path / 'child.py').write_text(textwrap.dedent(CHILD))
    proc = subprocess.run([sys.executable, 'child.py',
                           json.dumps(jobs)],
                          cwd=str(tmp_path),
                          env=dict(
                              PYTHONPATH=str(tmp_path / 'site'),
                              OMP_NUM_THREADS='1',
                              PATH='/usr/bin:/bin'),
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = [line for line in proc.stdout.split('\n') if 'RCNN' in line]
    assert loaded == ['FasterRCNN ResNet person', 'FasterRCNN ResNet disc']
    for i, ours in enumerate(expected):
        theirs = torch.load(str(tmp_path / f'results{i}.pth'))
        # the demo's student pools with SeparableRoIAlign, its export
        # with mmcv's RoIAlign
        assert_same_detections(ours[0].pred_instances, theirs[0], STUDENTS[i])


def _typed_dicts(node, path=''):
    if isinstance(node, dict):
        if 'type' in node:
            yield path, node
        for key, value in node.items():
            yield from _typed_dicts(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _typed_dicts(value, path)


def test_paper_student_imports_only_its_trunk(tmp_path):
    from mmdet.apis import init_detector
    configs = [
        student_config(Config.fromfile(osp.join(ROOT, path))) for path in PAPER
    ]
    cfg = configs[0]
    assert cfg.default_scope == 'mmdet'
    # the modules of the mmkd types the student is built of, and only those
    used = {
        MODELS.get(node['type'][len('mmkd.'):]).__module__
        for _, node in _typed_dicts(cfg.model)
        if node['type'].startswith('mmkd.')
    }
    assert 'mmkd.models.backbones.alexnet' in used
    assert cfg.custom_imports == dict(
        imports=sorted(used), allow_failed_imports=False)
    assert cfg.model.backbone.type == 'mmkd.AlexNet'
    assert cfg.custom_hooks == []  # mmkd's RNG-state hook: training only
    assert 'backend_args' not in cfg.default_hooks.checkpoint  # atomic_local
    assert 'distiller' not in cfg
    # the classic config and its pure-Python twin export the same config
    assert configs[1].to_dict() == cfg.to_dict()
    path = tmp_path / 'student.py'
    path.write_text(cfg.pretty_text)
    detector = init_detector(str(path), device='cpu')  # MMDetection's API
    assert type(detector.backbone).__name__ == 'AlexNet'


def test_variants_export_as_the_classes_they_extend():
    """Each of mmkd's variants is written under the name of the MMDetection
    (MMEngine, MMCV) class it extends, and only the variants are renamed:
    mmkd's own modules keep ``mmkd.<Name>``."""
    from mmengine.registry import Registry

    from mmkd import registry
    from mmkd.models.distillers.export import MMDET_EQUIVALENTS, plain_type
    variants = dict(MMDET_EQUIVALENTS)
    variants.pop('FastCocoMetric')  # same numbers, not a subclass
    # an operator; the demo's student exports it as RoIAlign (above)
    variants.pop('SeparableRoIAlign')
    found = {}
    for reg in vars(registry).values():
        if isinstance(reg, Registry):
            reg.import_from_location()
            found.update({
                name: (reg, cls)
                for name, cls in reg.module_dict.items() if name in variants
            })
    assert sorted(found) == sorted(variants) == [
        'AmpSafeRPNHead', 'AmpSafeRoIExtractor', 'CheckedCocoDataset',
        'CheckedLoadImageFromFile', 'SkipAwareParamSchedulerHook'
    ]
    for name, (reg, cls) in found.items():
        imports = []
        assert plain_type(name, imports) == variants[name]
        assert plain_type(f'mmkd.{name}', imports) == variants[name]
        assert plain_type(cls, imports) == variants[name]  # pure-Python cfg
        assert imports == []
        assert cls.__bases__ == (reg.parent.get(variants[name]), ), name
    imports = []
    assert plain_type('AlexNet', imports) == 'mmkd.AlexNet'
    assert imports == ['mmkd.models.backbones.alexnet']
