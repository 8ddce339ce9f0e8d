"""Helpers shared by the tests: paths, config overrides, running tools.

They need a source checkout (the tests' configs and the tools live in the
repository, not in the installed package)."""
import os
import os.path as osp
import subprocess
import sys

# The repository root (mmkd is installed in editable mode).
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(ROOT, 'tests', 'configs', 'tiny_frcnn.py')
PYTHON = sys.executable


def data_overrides(data_root: str) -> dict:
    """Config overrides that point every split at ``data_root``."""
    root = data_root.rstrip('/') + '/'
    return {
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'val_evaluator.ann_file': f'{root}annotations/instances_val.json',
        'test_evaluator.ann_file': f'{root}annotations/instances_test.json',
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0,
        'val_dataloader.num_workers': 0,
        'test_dataloader.num_workers': 0,
    }


def data_options(data_root: str) -> list:
    """The same overrides as ``--cfg-options`` arguments."""
    return [f'{k}={v}' for k, v in data_overrides(data_root).items()]


def run_tool(args: list, timeout: int = 600, env: dict = None):
    """Run ``args`` (a tool command line) from the repository root."""
    full_env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    full_env.update(env or {})
    proc = subprocess.run(
        args,
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout)
    assert proc.returncode == 0, (
        f'{" ".join(args)} failed ({proc.returncode}):\n'
        f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


KD_FAULTS_CONFIG = osp.join(ROOT, 'tests', 'configs', 'tiny_kd_faults.py')


def write_teacher_checkpoint(path: str) -> str:
    """A (random) tiny teacher checkpoint written like a training run's."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmkd.registry import MODELS
    init_default_scope('mmkd')
    cfg = Config.fromfile(
        osp.join(ROOT, 'tests/configs/tiny_frcnn_teacher.py'))
    teacher = MODELS.build(cfg.model)
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    return path


def kd_train_options(data_root: str, teacher_ckpt: str) -> list:
    """``--cfg-options`` of a tiny distillation run that only trains."""
    train = [
        f'{k}={v}' for k, v in data_overrides(data_root).items()
        if k.startswith('train_dataloader.')
    ]
    return train + [f'model.teacher_ckpt={teacher_ckpt}']


def load_tool(name: str):
    """``tools/<name>.py`` as a module, to call its ``main(argv)`` in the
    test process (the tool's code path without a 7 s interpreter start)."""
    from mmkd.utils.scripts import load_script
    return load_script(osp.join(ROOT, 'tools', f'{name}.py'))


# The mask distillation term the tests switch on (the settings of
# configs/kd/mask_rcnn_r18w32_r18w8_synthetic_mask_kd.py).
MASK_KD = dict(
    type='WeightedKDLoss',
    use_sigmoid=True,
    fg_weight=1.0,
    bg_weight=1.0,
    T=1.0,
    loss_weight=1.0)


def demo_batch(seed: int = 0, with_mask: bool = False) -> dict:
    """A packed 2-image batch (64x64, 3 and 2 boxes of 6 classes, with
    instance masks if ``with_mask``) drawn with ``seed``, as a data loader
    gives it to ``train_step``."""
    import torch
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(seed)
    return demo_mm_inputs(
        batch_size=2,
        image_shapes=[(3, 64, 64)] * 2,
        num_items=[3, 2],
        num_classes=6,
        with_mask=with_mask)


def distiller_batch(model, seed: int = 0) -> tuple:
    """``(inputs, data_samples)`` of :func:`demo_batch` preprocessed by
    ``model``, for ``model.loss``."""
    data = model.data_preprocessor(demo_batch(seed), True)
    return data['inputs'], data['data_samples']


def assert_same_detections(ours, theirs, what: str = '') -> None:
    """Two detectors' ``pred_instances`` (or dicts of their fields) hold the
    same detections: the same labels and, to float rounding, the same boxes
    and scores (and masks, but for a pixel in a thousand at the threshold).

    The rounding is that of mmkd's ``SeparableRoIAlign`` against mmcv's
    ``RoIAlign``, which an exported student names instead (they agree to
    1e-5; ``tests/test_ops/test_roi_align.py``).
    """
    import torch
    assert torch.equal(ours['labels'], theirs['labels']), (what, 'labels')
    for key in ('bboxes', 'scores'):
        assert torch.allclose(
            ours[key], theirs[key], rtol=0, atol=1e-4), (what, key)
    if 'masks' in ours.keys():
        differ = (ours['masks'] != theirs['masks']).float().mean()
        assert differ <= 1e-3, (what, 'masks', float(differ))
