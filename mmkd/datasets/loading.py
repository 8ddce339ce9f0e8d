"""Image loading that names the file when its content cannot be decoded.

MMCV's ``LoadImageFromFile`` ends in ``assert img is not None`` when
OpenCV cannot decode a file (and lets ``cv2.error`` through on some
headers), so a corrupt image surfaces as a bare ``AssertionError``, or as
nothing under ``python -O``. ``CheckedLoadImageFromFile`` raises an
``ImageDecodeError`` that names the file; ``CheckedCocoDataset`` decides
what a decode failure does (skip in training, stop in testing).
"""
from typing import Optional

import cv2
import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio

from mmkd.registry import TRANSFORMS
from mmkd.utils.errors import ImageDecodeError


def decode_image(content: bytes,
                 path: str,
                 flag: str = 'color',
                 backend: Optional[str] = None) -> np.ndarray:
    """``mmcv.imfrombytes`` that raises ``ImageDecodeError`` naming
    ``path`` instead of returning None."""
    reason = None
    if not content:
        reason = 'the file is empty'
    else:
        try:
            img = mmcv.imfrombytes(content, flag=flag, backend=backend)
        # OpenCV raises cv2.error on some malformed headers; Pillow's
        # UnidentifiedImageError is an OSError.
        except (cv2.error, OSError) as exc:
            reason = f'{type(exc).__name__}: {exc}'.strip()
        else:
            if img is None:
                reason = 'not an image in a supported format, or truncated'
    if reason is not None:
        raise ImageDecodeError(
            f'cannot decode image {path!r} ({reason}); replace the file or '
            'remove the image from the annotation file',
            path=path)
    return img


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """MMCV's ``LoadImageFromFile`` (same arguments and outputs) raising
    ``ImageDecodeError`` for files that are not decodable images.

    With ``ignore_empty=True`` a missing or undecodable file gives None,
    as in MMCV.
    """

    def _read(self, path: str) -> bytes:
        if self.file_client_args is not None:
            client = fileio.FileClient.infer_client(self.file_client_args,
                                                    path)
            return client.get(path)
        return fileio.get(path, backend_args=self.backend_args)

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        try:
            img = decode_image(
                self._read(path),
                path,
                flag=self.color_type,
                backend=self.imdecode_backend)
        except (FileNotFoundError, ImageDecodeError):
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
