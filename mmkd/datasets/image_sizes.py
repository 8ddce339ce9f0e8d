"""Image files of an annotation file: present, and as large as it says.

Every listed file must exist (one directory listing per folder, so COCO's
118k images take a fraction of a second); for an evenly spaced sample the
size is read from the file's header (PIL reads no pixels) and compared with
the file's ``width`` and ``height``, after the EXIF rotation that OpenCV
applies when the image is loaded.
"""
import os
import os.path as osp
from typing import Optional, Tuple

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


def _check_sizes(ann_path: str, img_dir: str, images: list) -> None:
    step = max(1, len(images) // SAMPLE)
    wrong = []
    for i in range(0, len(images), step):
        img = images[i]
        path = osp.join(img_dir, img['file_name'])
        size = header_size(path)
        if size is not None and size != (img['width'], img['height']):
            wrong.append((i, path, size))
    if wrong:
        i, path, (width, height) = wrong[0]
        img = images[i]
        raise DatasetError(
            f'image {path!r} is {width} x {height} px but {ann_path!r} says '
            f'{img["width"]} x {img["height"]} (images[{i}]; '
            f'{len(wrong)} of {len(range(0, len(images), step))} sampled '
            'images disagree); its boxes are in the coordinates of the '
            'size in the file: fix width and height in the annotation file '
            '(or its converter), or the images')


def check_image_files(ann_path: str, img_dir: str, images: list) -> None:
    """Refuse missing image files and sizes that disagree with the file.

    Args:
        ann_path (str): the annotation file (named in the messages).
        img_dir (str): the folder its ``file_name`` entries are relative to.
        images (list[dict]): its ``images`` entries.

    Raises:
        DatasetError: names the folder or file, the count and the fix.
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
    _check_sizes(ann_path, img_dir, images)
