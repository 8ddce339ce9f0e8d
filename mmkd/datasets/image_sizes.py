"""Image files of an annotation file: present, and as large as it says.

Every listed file must exist (one directory listing per folder, so COCO's
118k images take a fraction of a second); for an evenly spaced sample of a
training split, and for every image of an evaluation split, the size is
read from the file's header (PIL reads no pixels) and compared with the
file's ``width`` and ``height``, after the EXIF rotation that OpenCV applies
when the image is loaded. A file whose header PIL cannot read is decoded
with OpenCV, the training pipeline's reader; one that neither reads is
unreadable: an error in an evaluation split, and in a training split whose
sampled images are all unreadable; a warning naming it otherwise.
"""
import os
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np

from mmkd.utils.errors import DatasetError

SAMPLE = 32  # images whose header is read
_EXIF_ORIENTATION = 0x0112


def header_size(path: str) -> Optional[Tuple[int, int]]:
    """``(width, height)`` of the image as loaded (EXIF rotation applied),
    from its header; None if it cannot be read (the dataset's decode
    policy then applies)."""
    try:
        from PIL import Image
        with Image.open(path) as img:
            width, height = img.size
            turned = img.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
    except Exception:  # noqa: BLE001 - PIL raises many types
        return None
    return (height, width) if turned else (width, height)


def image_sizes(ann_path: str, images: list) -> np.ndarray:
    """The ``(width, height)`` of every entry of ``images``, ``(N, 2)``.

    Raises:
        DatasetError: a size that is not a number > 0, naming the image.
    """
    sizes = [(img['width'], img['height']) for img in images]
    try:
        array = np.array(sizes)
        ok = array.dtype.kind in 'iuf' and bool((array > 0).all())
    except ValueError:
        ok = False
    if not ok:
        for img, size in zip(images, sizes):
            if not all(type(v) in (int, float) and v > 0 for v in size):
                raise DatasetError(
                    f'annotation file {ann_path!r}: image id {img["id"]} has '
                    f'width, height = {size!r}; give its size in pixels '
                    '(numbers > 0)')
    return array.astype(np.float64)


def _missing(img_dir: str, images: list) -> list:
    names = [img['file_name'] for img in images]
    flat = osp.isdir(img_dir or '.') and not any('/' in n for n in names)
    if flat:  # one listing (COCO: 118k names in one folder)
        present = set(os.listdir(img_dir or '.'))
        return [osp.join(img_dir, n) for n in names if n not in present]
    paths = [osp.join(img_dir, n) for n in names]
    return [p for p in paths if not osp.isfile(p)]


def listing(values, limit: int = 5) -> str:
    """``'[a, b, c, ...] (N in all)'``: the first ``limit`` values."""
    values = list(values)
    shown = ', '.join(map(repr, values[:limit]))
    more = f', ... ({len(values)} in all)' if len(values) > limit else ''
    return f'[{shown}{more}]'


def decodable(path: str) -> bool:
    """Whether OpenCV (the training pipeline's reader) decodes the file."""
    import cv2
    return cv2.imread(path, cv2.IMREAD_UNCHANGED) is not None


def _check_headers(ann_path: str, img_dir: str, images: list,
                   every: bool) -> List[str]:
    """Sizes against the file, and unreadable images, of every image
    (``every``) or of an evenly spaced sample."""
    step = 1 if every else max(1, len(images) // SAMPLE)
    checked = range(0, len(images), step)
    wrong, unreadable = [], []
    for i in checked:
        img = images[i]
        path = osp.join(img_dir, img['file_name'])
        size = header_size(path)
        if size is None:
            if not decodable(path):
                unreadable.append(path)
        elif size != (img['width'], img['height']):
            wrong.append((i, path, size))
    sampled = 'checked' if every else 'sampled'
    if wrong:
        i, path, (width, height) = wrong[0]
        img = images[i]
        raise DatasetError(
            f'image {path!r} is {width} x {height} px but {ann_path!r} says '
            f'{img["width"]} x {img["height"]} (images[{i}]; '
            f'{len(wrong)} of {len(checked)} {sampled} images disagree); '
            'its boxes are in the coordinates of the size in the file: fix '
            'width and height in the annotation file (or its converter), or '
            'the images')
    return _unreadable(ann_path, unreadable, len(checked), every)


def _unreadable(ann_path: str, unreadable: list, checked: int,
                every: bool) -> List[str]:
    """An evaluation split with an unreadable image, or a training split
    whose sampled images are all unreadable, is refused; some unreadable
    training images are a warning (training skips them)."""
    if not unreadable:
        return []
    if every:
        raise DatasetError(
            f'{len(unreadable)} of the {checked} images of {ann_path!r} '
            f'cannot be read as images: {listing(unreadable)}; the '
            'evaluation would stop at the first of them. Replace the files, '
            'or remove these images from the annotation file')
    if len(unreadable) == checked:
        raise DatasetError(
            f'none of the {checked} sampled images of {ann_path!r} can be '
            f'read as an image ({listing(unreadable)}), so training would '
            'find nothing to learn from: check data_prefix.img and the '
            'image files (an interrupted download or extraction?)')
    return [
        f'{ann_path}: {len(unreadable)} of {checked} sampled images cannot '
        f'be read as images: {listing(unreadable)}; training skips them '
        'and any other image that does not decode (each skip is logged): '
        'replace the files or remove them from the annotation file'
    ]


def check_image_files(ann_path: str,
                      img_dir: str,
                      images: list,
                      every: bool = False) -> List[str]:
    """Refuse missing image files and sizes that disagree with the file;
    find images that cannot be read.

    Args:
        ann_path (str): the annotation file (named in the messages).
        img_dir (str): the folder its ``file_name`` entries are relative to.
        images (list[dict]): its ``images`` entries.
        every (bool): read the header of every image (an evaluation split,
            where an unreadable image stops the run); otherwise of an evenly
            spaced sample of :data:`SAMPLE` (training skips unreadable
            images).

    Returns:
        list[str]: warnings naming the unreadable images of a training
        split.

    Raises:
        DatasetError: names the folder or files, the count and the fix.
    """
    if img_dir and not osp.isdir(img_dir):
        raise DatasetError(
            f'image folder {img_dir!r} (of {ann_path!r}) does not exist; '
            'check data_root and data_prefix.img in the dataset config')
    missing = _missing(img_dir, images)
    if missing:
        raise DatasetError(
            f'{len(missing)} of the {len(images)} images listed in '
            f'{ann_path!r} are missing (e.g. {missing[0]!r}); check '
            'data_root and data_prefix.img, or remove them from the '
            'annotation file')
    return _check_headers(ann_path, img_dir, images, every)
