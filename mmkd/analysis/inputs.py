"""Inputs and models for the analysis tools (benchmark, FLOPs).

The tools measure the detector a config deploys (the student of a
distillation config) on one image at a time: the config's own test images
when its dataset is on disk, random images of a fixed size otherwise.
"""
import copy
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config

# The paper's input scale (shorter side 600, longer side <= 1000), as H x W.
PAPER_SHAPE = (600, 1000)


def pipeline_shape(cfg: Config) -> Tuple[int, int]:
    """``(H, W)`` of the test pipeline's ``Resize`` scale, landscape.

    ``Resize(scale=(1000, 600), keep_ratio=True)`` gives ``(600, 1000)``:
    the largest image the pipeline produces for a 5:3 input. Configs
    without a test ``Resize`` give :data:`PAPER_SHAPE`.
    """
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    for step in dataset.get('pipeline', []):
        if step.get('type') == 'Resize' and step.get('scale'):
            scale = step['scale']
            return (min(scale), max(scale))
    return PAPER_SHAPE


def random_batches(shape: Tuple[int, int],
                   num: int,
                   seed: int = 0) -> List[dict]:
    """``num`` one-image batches of random pixels, as a data loader yields.

    Args:
        shape (tuple[int, int]): Image ``(H, W)``.
        num (int): Number of batches.
        seed (int): Seed of the pixels. Defaults to 0.

    Returns:
        list[dict]: ``dict(inputs=[uint8 (3, H, W)], data_samples=[...])``
        with ``img_shape = ori_shape = (H, W)`` and scale factor 1.
    """
    from mmdet.structures import DetDataSample
    generator = torch.Generator().manual_seed(seed)
    h, w = shape
    batches = []
    for i in range(num):
        image = torch.randint(
            0, 256, (3, h, w), generator=generator, dtype=torch.uint8)
        sample = DetDataSample(
            metainfo=dict(
                img_id=i,
                img_path=f'random_{i}.jpg',
                ori_shape=(h, w),
                img_shape=(h, w),
                scale_factor=(1.0, 1.0)))
        batches.append(dict(inputs=[image], data_samples=[sample]))
    return batches


def dataset_batches(cfg: Config,
                    num: int,
                    repeat: bool = True) -> Tuple[Optional[list], str]:
    """The first ``num`` test images through the config's test pipeline.

    Args:
        repeat (bool): a split shorter than ``num`` is repeated (enough
            images to time); False gives each image once.

    Returns:
        tuple: ``(batches, '')``, or ``(None, reason)`` when the test set
        cannot be read (e.g. no data on this machine).
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from mmkd.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmkd'))
    try:
        dataset = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
        count = num if repeat or not len(dataset) else min(num, len(dataset))
        items = [dataset[i % len(dataset)] for i in range(count)]
    except (OSError, KeyError, AttributeError, ValueError,
            ZeroDivisionError) as exc:
        return None, f'{type(exc).__name__}: {exc}'
    return [pseudo_collate([item]) for item in items], ''
