"""Procedurally generated COCO-format detection dataset (no downloads).

Six classes in three look-alike pairs, so that soft labels carry information:
``disc`` / ``ring`` (a filled ellipse / with a hole of 35-50 % of its radius),
``plate`` / ``notched_plate`` (a rectangle / with a bite 30-40 % wide and
20-30 % deep out of one edge), both at any rotation, and
``hstriped_triangle`` / ``vstriped_triangle`` (an upright triangle, turned by
at most 25 degrees, striped across / along its height). Colours are random
(no colour cue), sizes log-uniform in ``[min_size, max_size]`` px, aspects
jittered by 0.8-1.25; below ~12 px the hole, bite and stripes blur away. Each
image holds 1 to ``max_objects`` objects over clutter (gradient, blobs,
sinusoidal texture, lines, distractor pentagons, stars, crosses, thin
outlines and hatched diamonds) and pixel noise, scaled by ``clutter`` and
``noise``. Objects with less than ``min_visible`` of their pixels visible are
not annotated; boxes are the full object extent. Images are drawn at twice
the size and shrunk. Each image's random stream is seeded by ``(seed, split,
index)``: the same settings give byte-identical files.

Every object also has its exact instance mask (``segmentation``, COCO's
compressed RLE, so that a ring keeps its hole): the pixels of its drawn
polygons that stay visible (not drawn over by a later object, distractor
or line), at the image's resolution a pixel belonging to the object when
at least half of its 2 x 2 supersampled pixels do (the image is shrunk by
averaging the same 2 x 2 blocks) and no item in front of it claimed the
pixel (so masks never overlap). The masks use no random draws: images
and boxes are those of the generator without masks.
"""
import json
import multiprocessing
import os
import os.path as osp
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np
from pycocotools import mask as mask_utils

SYNTHETIC_CLASSES = ('disc', 'ring', 'plate', 'notched_plate',
                     'hstriped_triangle', 'vstriped_triangle')
SYNTHETIC_PAIRS = ('round', ) * 2 + ('plate', ) * 2 + ('triangle', ) * 2
SPLITS = ('train', 'val', 'test')
# Bump whenever the images or annotations change, so that stale datasets are
# regenerated (2: instance masks).
GENERATOR_VERSION = 2
_DISTRACTORS = ('pentagon', 'star', 'cross', 'outline', 'hatch')
_STRIPES = {'hstriped_triangle': 1, 'vstriped_triangle': 0, 'hatch': 2}
_SS = 2  # supersampling factor


def _ellipse(rx, ry, n=40):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([rx * np.cos(t), ry * np.sin(t)], 1)


def _rect(w, h, cx=0., cy=0.):
    return np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2 + [cx, cy]


def _shape(kind, rng, s):
    """Polygons of one item around the origin.

    Returns the filled and the cut-out ``(n, 2)`` x, y polygons of an item
    ``kind`` (class or distractor) of size ``s`` and its largest rotation.
    """
    a = np.sqrt(np.exp(rng.uniform(-0.22, 0.22)))
    w, h = s * a, s / a
    fill, cut, turn = [_ellipse(w / 2, h / 2)], [], np.pi
    if kind == 'ring':
        cut = [fill[0] * rng.uniform(0.35, 0.5)]
    elif kind in ('plate', 'notched_plate'):
        fill = [_rect(w, h)]
        if kind == 'notched_plate':
            depth = h * rng.uniform(0.2, 0.3)
            cut = [_rect(w * rng.uniform(0.3, 0.4), 2 * depth, 0, h / 2)]
    elif kind in ('hstriped_triangle', 'vstriped_triangle'):
        fill, turn = [np.array([[0, -h], [w, h], [-w, h]]) / 2], 0.44
    elif kind in ('pentagon', 'hatch'):
        fill = [_ellipse(w / 2, h / 2, 5 if kind == 'pentagon' else 4)]
    elif kind == 'star':
        fill = [_ellipse(w / 2, h / 2, 10) * np.tile([[1.], [0.45]], (5, 1))]
    elif kind == 'cross':
        t = rng.uniform(0.25, 0.4)
        fill = [_rect(w, h * t), _rect(w * t, h)]
    elif kind == 'outline':
        fill = [_rect(w, h)] if rng.random() < 0.5 else fill
        cut = [fill[0] * rng.uniform(0.75, 0.88)]
    return fill, cut, turn


def _rotate(polys, angle):
    c, s = np.cos(angle), np.sin(angle)
    return [p @ np.array([[c, s], [-s, c]]) for p in polys]


def _place(rng, fill, shape_hw, boxes, max_overlap):
    """Find a centre that puts the item inside and off the others."""
    pts = np.concatenate(fill)
    lo, hi = pts.min(0) - 1, pts.max(0) + 1
    for _ in range(20):
        centre = rng.uniform(-lo, np.maximum(shape_hw[::-1] - hi, 1 - lo))
        box = np.concatenate([lo + centre, hi + centre])
        if all(_overlap(box, b) < max_overlap for b in boxes):
            return centre, box
    return None, None


def _overlap(a, b):
    """Intersection of two xyxy boxes over the smaller box's area."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return max(iw, 0) * max(ih, 0) / smaller


def _poly_mask(shape_hw, fill, cut, centre, box):
    """Draw an item's mask; returns its ``(rows, cols)`` slices and crop."""
    x0, y0 = np.maximum(np.floor(box[:2]).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(box[2:]).astype(int) + 1, shape_hw[::-1])
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for polys, value in ((fill, 1), (cut, 0)):
        for p in polys:  # one call each: one call XORs overlapping polygons
            pts = np.round((p + centre - [x0, y0]) * 16).astype(np.int32)
            cv2.fillPoly(mask, [pts], value, cv2.LINE_8, shift=4)
    return (slice(y0, y1), slice(x0, x1)), mask.astype(bool)


def _paint(canvas, sl, mask, kind, rng, angle, centre, s):
    """Paint one item with shading and, for striped kinds, stripes."""
    ys, xs = np.nonzero(mask) + np.array([[sl[0].start], [sl[1].start]])
    if len(ys) == 0:
        return
    for _ in range(10):  # keep off the colour below, at most 10 draws
        colour = rng.uniform(0, 255, 3)
        if np.linalg.norm(colour - canvas[ys, xs].mean(0)) >= 70:
            break
    dx, dy = xs - centre[0], ys - centre[1]
    c, s_ = np.cos(angle), np.sin(angle)
    uv = [dx * c + dy * s_, dy * c - dx * s_, (dx + dy) * 0.7]
    field = colour * (1 + rng.uniform(-0.3, 0.3) * uv[0] / s)[:, None]
    if kind in _STRIPES:
        period = max(3. * _SS, s / rng.uniform(3, 4.5))
        on = (uv[_STRIPES[kind]] / period + rng.random()) % 1 < 0.5
        field[on] = (
            colour *
            rng.uniform(0.3, 0.55) if colour.mean() > 110 else colour +
            (255 - colour) * rng.uniform(0.45, 0.7))
    canvas[ys, xs] = field


def _background(rng, shape_hw, clutter):
    """Colour gradient, blobs and maybe a sinusoidal texture, upsampled."""
    h, w = shape_hw[0] // _SS, shape_hw[1] // _SS
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    phi = rng.uniform(0, 2 * np.pi)
    t = xx * np.cos(phi) + yy * np.sin(phi)
    t = (t - t.min()) / (np.ptp(t) + 1e-6)
    c0, c1 = rng.uniform(0, 255, (2, 3)).astype(np.float32)
    img = c0 + (c1 - c0) * t[..., None]
    blobs = rng.normal(0, 1, (6, 6, 3)).astype(np.float32)
    img += 25 * clutter * cv2.resize(
        blobs, (w, h), interpolation=cv2.INTER_CUBIC)
    if rng.random() < 0.5 * clutter:
        phi, freq = rng.uniform(0, np.pi), rng.uniform(4, 20) * 2 * np.pi
        wave = np.sin(freq * (xx * np.cos(phi) + yy * np.sin(phi)))
        img += (12 * clutter * wave)[..., None]
    return cv2.resize(img, shape_hw[::-1], interpolation=cv2.INTER_LINEAR)


def _lines(rng, canvas, n, cover=None):
    h, w = canvas.shape[:2]
    for _ in range(n):
        p0, p1 = rng.integers(0, [w, h], (2, 2))
        width = int(rng.integers(1, 3 * _SS))
        colour = rng.uniform(0, 255, 3).tolist()
        cv2.line(canvas, p0.tolist(), p1.tolist(), colour, width)
        if cover is not None:
            cv2.line(cover, p0.tolist(), p1.tolist(), 1, width)


def render_image(rng, cfg):
    """Render one image.

    Args:
        rng (np.random.Generator): The image's own random stream.
        cfg (dict): Generation settings (see :func:`generate_synthetic_coco`).

    Returns:
        tuple[np.ndarray, list[dict]]: The ``(H, W, 3)`` uint8 image and the
        visible objects as ``dict(category_id, bbox=[x, y, w, h], area,
        segmentation)`` (``segmentation``: the visible pixels, COCO RLE).
    """
    out_hw = tuple(cfg['img_size'])
    hw = (out_hw[0] * _SS, out_hw[1] * _SS)
    canvas = _background(rng, hw, cfg['clutter'])
    _lines(rng, canvas, rng.poisson(3 * cfg['clutter']))
    n_obj = rng.integers(1, cfg['max_objects'] + 1)
    n_dis = rng.poisson(2.5 * cfg['clutter'])
    kinds = [SYNTHETIC_CLASSES[i] for i in rng.integers(0, 6, n_obj)]
    kinds += [_DISTRACTORS[i] for i in rng.integers(0, 5, n_dis)]
    rng.shuffle(kinds)
    boxes, items = [], []
    log_lo, log_hi = np.log([cfg['min_size'], cfg['max_size']])
    for kind in kinds:
        s = np.exp(rng.uniform(log_lo, log_hi)) * _SS
        fill, cut, turn = _shape(kind, rng, s)
        angle = rng.uniform(-turn, turn)
        fill, cut = _rotate(fill, angle), _rotate(cut, angle)
        centre, box = _place(rng, fill, hw, boxes, cfg['max_overlap'])
        if centre is None:
            continue
        boxes.append(box)
        sl, mask = _poly_mask(hw, fill, cut, centre, box)
        _paint(canvas, sl, mask, kind, rng, angle, centre, s)
        items.append((kind, sl, mask))
    cover = np.zeros(hw, np.uint8)
    _lines(rng, canvas, rng.poisson(cfg['clutter']), cover)
    img = cv2.resize(canvas, out_hw[::-1], interpolation=cv2.INTER_AREA)
    img += rng.normal(0, cfg['noise'] * rng.uniform(0.5, 1), img.shape)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return img, _visible_objects(items, cover.astype(bool), cfg)


def _visible_objects(items, cover, cfg):
    """Annotations of the objects that enough of is left visible."""
    objects = []
    claimed = np.zeros([n // _SS for n in cover.shape], bool)
    for kind, sl, mask in reversed(items):  # front to back
        area = mask.sum()
        covered = cover[sl].copy()  # by what was drawn after this item
        visible = (mask & ~covered).sum() / max(area, 1)
        cover[sl] |= mask
        pixels = _pixels(sl, mask & ~covered, cover.shape) & ~claimed
        claimed |= pixels
        if (kind not in SYNTHETIC_CLASSES or area == 0
                or visible < cfg['min_visible']):
            continue
        ys, xs = np.nonzero(mask) + np.array([[sl[0].start], [sl[1].start]])
        x0, y0 = xs.min() / _SS, ys.min() / _SS
        w, h = (xs.max() + 1) / _SS - x0, (ys.max() + 1) / _SS - y0
        objects.append(
            dict(
                category_id=SYNTHETIC_CLASSES.index(kind) + 1,
                bbox=[float(v) for v in (x0, y0, w, h)],
                area=float(area) / _SS**2,
                segmentation=_rle(pixels)))
    return objects[::-1]


def _pixels(sl, visible, shape_hw):
    """``(H, W)``: the image pixels of which at least half of the
    ``_SS x _SS`` supersampled pixels are in ``visible`` (at ``sl``).

    Computed on the image pixels the slice ``sl`` touches only."""
    h, w = shape_hw[0] // _SS, shape_hw[1] // _SS
    y0, x0 = sl[0].start // _SS, sl[1].start // _SS
    y1, x1 = min(h, -(-sl[0].stop // _SS)), min(w, -(-sl[1].stop // _SS))
    window = np.zeros(((y1 - y0) * _SS, (x1 - x0) * _SS), np.float32)
    rows = slice(sl[0].start - y0 * _SS, sl[0].stop - y0 * _SS)
    cols = slice(sl[1].start - x0 * _SS, sl[1].stop - x0 * _SS)
    seen_h, seen_w = window.shape[0] - rows.start, window.shape[1] - cols.start
    window[rows, cols] = visible[:seen_h, :seen_w]
    share = window.reshape(y1 - y0, _SS, x1 - x0, _SS).mean((1, 3))
    pixels = np.zeros((h, w), bool)
    pixels[y0:y1, x0:x1] = share >= 0.5
    return pixels


def _rle(pixels):
    """COCO's compressed RLE of a boolean ``(H, W)`` mask."""
    rle = mask_utils.encode(np.asfortranarray(pixels, np.uint8))
    return dict(
        size=[int(v) for v in rle['size']],
        counts=rle['counts'].decode('ascii'))


def _render_file(job):
    """Render image ``i`` of a split from its own random stream and write
    it: ``(file name, (H, W), objects)``."""
    out_dir, split, split_id, cfg, i = job
    rng = np.random.default_rng([cfg['seed'], split_id, i])
    img, objects = render_image(rng, cfg)
    name = f'{i:06d}.png'
    cv2.imwrite(osp.join(out_dir, split, name), img)
    return name, img.shape[:2], objects


def _write_split(out_dir, split, split_id, cfg, workers=1):
    """Render one split's images (``workers`` processes at once; every
    image has its own random stream, so the files do not depend on it)
    and write its COCO annotation file."""
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    jobs = [(out_dir, split, split_id, cfg, i)
            for i in range(cfg[f'num_{split}'])]
    if workers > 1 and len(jobs) > 1:
        context = multiprocessing.get_context('fork')
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            rendered = list(pool.map(_render_file, jobs, chunksize=32))
    else:
        rendered = [_render_file(job) for job in jobs]
    images, anns = [], []
    for i, (name, (height, width), objects) in enumerate(rendered):
        images.append(
            dict(id=i + 1, file_name=name, height=height, width=width))
        anns += [
            dict(id=len(anns) + j + 1, image_id=i + 1, iscrowd=0, **obj)
            for j, obj in enumerate(objects)
        ]
    cats = [
        dict(id=i + 1, name=n, supercategory=SYNTHETIC_PAIRS[i])
        for i, n in enumerate(SYNTHETIC_CLASSES)
    ]
    coco = dict(
        info=dict(description=f'mmkd synthetic {split}'),
        images=images,
        annotations=anns,
        categories=cats)
    with open(
            osp.join(out_dir, 'annotations', f'instances_{split}.json'),
            'w') as f:
        json.dump(coco, f)
    counts = np.bincount([a['category_id'] - 1 for a in anns],
                         minlength=len(SYNTHETIC_CLASSES))
    return dict(
        images=len(images),
        annotations=len(anns),
        class_counts=dict(zip(SYNTHETIC_CLASSES, counts.tolist())))


def generate_synthetic_coco(out_dir,
                            *,
                            num_train=1500,
                            num_val=300,
                            num_test=300,
                            img_size=(128, 128),
                            seed=0,
                            clutter=1.0,
                            noise=8.0,
                            min_size=8.0,
                            max_size=None,
                            max_objects=6,
                            min_visible=0.4,
                            max_overlap=0.5,
                            workers=1,
                            verbose=False):
    """Write the synthetic dataset in COCO format.

    Writes ``{train,val,test}/NNNNNN.png``, ``annotations/instances_{train,
    val,test}.json`` and ``settings.json`` (the arguments) under ``out_dir``.

    Args:
        out_dir (str): Output folder (created; existing files overwritten).
        num_train, num_val, num_test (int): Images per split.
        img_size (tuple[int, int]): Image ``(H, W)``.
        seed (int): Seed; every image's stream is ``(seed, split, index)``.
        clutter (float): Scales background blobs, lines and distractors.
        noise (float): Largest std of the Gaussian pixel noise (0-255).
        min_size, max_size (float): Range of object sizes in pixels; the
            default ``max_size`` is ``3 / 8`` of the shorter image side.
        max_objects (int): Most objects drawn per image (at least 1).
        min_visible (float): Least visible fraction to annotate an object.
        max_overlap (float): Most overlap of two boxes (of the smaller).
        workers (int): Processes rendering at once; the files are the same
            for any number.
        verbose (bool): Print progress.

    Returns:
        dict: Per split ``images``, ``annotations``, ``class_counts``.
    """
    settings = {k: v for k, v in locals().items() if k != 'out_dir'}
    del settings['verbose'], settings['workers']
    settings.update(
        img_size=[int(v) for v in img_size], version=GENERATOR_VERSION)
    cfg = dict(settings, max_size=max_size or min(img_size) * 3 / 8)
    if not 0 < min_size <= cfg['max_size'] <= min(img_size) / 2:
        raise ValueError(f'Need 0 < min_size <= max_size <= min(img_size) / '
                         f"2, got {min_size}, {cfg['max_size']}, {img_size}.")
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    summary = {}
    for split_id, split in enumerate(SPLITS):
        summary[split] = _write_split(out_dir, split, split_id, cfg, workers)
        if verbose:
            print(f'{split}: {summary[split]}', flush=True)
    with open(osp.join(out_dir, 'settings.json'), 'w') as f:
        json.dump(settings, f, indent=2, sort_keys=True)
    return summary
