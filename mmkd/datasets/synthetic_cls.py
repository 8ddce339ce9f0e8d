"""Generated classification images for pre-training detector trunks.

The demo's stand-in for ImageNet (``mmkd.demo.pretrain``): each image shows
one item over the detection dataset's clutter, drawn by the same code as
:mod:`mmkd.datasets.synthetic` (same shapes, sizes, colours, shading,
stripes, background gradient, blobs, texture, lines and pixel noise, same
supersampling), so that the pixel statistics match the detection images.
There are 12 classes (``CLS_CLASSES``): the six detection classes, the five
clutter distractors (``pentagon``, ``star``, ``cross``, ``outline``,
``hatch``) and ``background`` (clutter alone), so that the features learnt
are general rather than tuned to the six targets only.

As in ImageNet, the item fills much of its image: the scene is drawn at the
detection images' size, the item at the detection dataset's sizes (8-48 px
by default), and a window 1.4-2.2 times the item's size around it is
resized to ``img_size``. Lines drawn over the item hide at most
``1 - min_visible`` of it (the detection dataset's annotation rule); with
more they are left out.

Determinism and no leakage: image ``i`` of a split is drawn from its own
stream ``default_rng([seed, split_id, i])`` with split ids 10 (``train``)
and 11 (``val``), which the detection dataset's ids (0-2: train, val, test)
never take, for any seed: no image of the detection splits, test included,
is ever drawn here. Labels cycle through the classes (``i % 12``), so every
split is balanced.
"""
from typing import Optional, Tuple

import cv2
import numpy as np

from .synthetic import (_DISTRACTORS, _SS, SYNTHETIC_CLASSES, _background,
                        _lines, _paint, _place, _poly_mask, _rotate, _shape)

CLS_CLASSES = SYNTHETIC_CLASSES + _DISTRACTORS + ('background', )
# Stream ids of the splits; the detection dataset uses 0, 1, 2.
CLS_SPLITS = dict(train=10, val=11)


def render_item(rng: np.random.Generator,
                kind: str,
                *,
                img_size: int = 48,
                scene_size: int = 128,
                context: Tuple[float, float] = (1.4, 2.2),
                clutter: float = 1.0,
                noise: float = 8.0,
                min_size: float = 8.0,
                max_size: float = 48.0,
                min_visible: float = 0.4) -> np.ndarray:
    """Render one classification image of class ``kind``.

    As ImageNet's images do, the image shows its item large: a square
    window ``context`` times the item's size is cropped out of a scene
    whose clutter is drawn as in the detection generator (at the detection
    images' size, ``scene_size``) and resized to ``img_size``. Items are
    drawn at the detection dataset's sizes, so below ~12 px the hole, bite
    and stripes blur away here as they do there.

    Args:
        rng (np.random.Generator): The image's own random stream.
        kind (str): One of ``CLS_CLASSES``.
        img_size (int): Side of the square image in pixels.
        scene_size (int): Side of the scene it is cropped from.
        context (tuple[float, float]): Range of the window side over the
            item size (``background`` windows are sized alike).
        clutter, noise (float): As in the detection generator.
        min_size, max_size (float): Range of item sizes in scene pixels.
        min_visible (float): Least fraction of the item left visible by the
            lines drawn over it.

    Returns:
        np.ndarray: The ``(img_size, img_size, 3)`` uint8 image, in the
        channel order of the detection dataset's files (read as BGR).
    """
    hw = (scene_size * _SS, scene_size * _SS)
    canvas = _background(rng, hw, clutter)
    _lines(rng, canvas, rng.poisson(3 * clutter))
    size = np.exp(rng.uniform(*np.log([min_size, max_size])))
    side = int(min(scene_size, round(size * rng.uniform(*context))))
    y0, x0 = rng.integers(0, scene_size - side + 1, 2) * _SS
    win = (slice(y0, y0 + side * _SS), slice(x0, x0 + side * _SS))
    mask = None
    if kind != 'background':
        fill, cut, turn = _shape(kind, rng, size * _SS)
        angle = rng.uniform(-turn, turn)
        fill, cut = _rotate(fill, angle), _rotate(cut, angle)
        centre, box = _place(rng, fill, (side * _SS, ) * 2, [], 1.0)
        centre, box = centre + [x0, y0], box + [x0, y0, x0, y0]
        sl, mask = _poly_mask(hw, fill, cut, centre, box)
        _paint(canvas, sl, mask, kind, rng, angle, centre, size * _SS)
    # Lines over the item, undone (in the window) if they hide too much.
    under, cover = canvas[win].copy(), np.zeros(hw, np.uint8)
    _lines(rng, canvas, rng.poisson(clutter), cover)
    if mask is not None and _visible(mask, cover[sl]) < min_visible:
        canvas[win] = under
    # As in the detection images: shrunk to scene pixels, then noise.
    img = cv2.resize(canvas[win], (side, side), interpolation=cv2.INTER_AREA)
    img += rng.normal(0, noise * rng.uniform(0.5, 1), img.shape)
    img = cv2.resize(
        img, (img_size, img_size),
        interpolation=cv2.INTER_AREA if side > img_size else cv2.INTER_LINEAR)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _visible(mask: np.ndarray, cover: np.ndarray) -> float:
    return (mask & ~cover.astype(bool)).sum() / max(mask.sum(), 1)


def generate_cls_split(
        split: str,
        num_images: int,
        *,
        seed: int = 0,
        img_size: int = 48,
        scene_size: int = 128,
        context: Tuple[float, float] = (1.4, 2.2),
        clutter: float = 1.0,
        noise: float = 8.0,
        min_size: float = 8.0,
        max_size: Optional[float] = None,
        min_visible: float = 0.4) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one split of the classification set in memory.

    Args:
        split (str): ``'train'`` or ``'val'`` (held out).
        num_images (int): Images in the split.
        seed (int): Seed; image ``i``'s stream is ``(seed, split id, i)``.
        img_size (int): Side of the square images in pixels.
        scene_size, context, clutter, noise, min_size, min_visible: See
            :func:`render_item`.
        max_size (float, optional): Largest item; defaults to ``3 / 8`` of
            ``scene_size``, as in the detection generator.

    Returns:
        tuple[np.ndarray, np.ndarray]: Images ``(num_images, img_size,
        img_size, 3)`` uint8 and labels ``(num_images, )`` int64, indices
        into ``CLS_CLASSES``.
    """
    if split not in CLS_SPLITS:
        raise ValueError(f'split={split!r}; use one of {list(CLS_SPLITS)}')
    max_size = max_size or scene_size * 3 / 8
    if not 0 < min_size <= max_size <= scene_size / 2:
        raise ValueError('Need 0 < min_size <= max_size <= scene_size / 2, '
                         f'got {min_size}, {max_size}, {scene_size}.')
    images = np.empty((num_images, img_size, img_size, 3), np.uint8)
    labels = np.arange(num_images, dtype=np.int64) % len(CLS_CLASSES)
    for i, label in enumerate(labels):
        rng = np.random.default_rng([seed, CLS_SPLITS[split], i])
        images[i] = render_item(
            rng,
            CLS_CLASSES[label],
            img_size=img_size,
            scene_size=scene_size,
            context=context,
            clutter=clutter,
            noise=noise,
            min_size=min_size,
            max_size=max_size,
            min_visible=min_visible)
    return images, labels
