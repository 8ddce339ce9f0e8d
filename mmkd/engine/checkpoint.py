"""Checkpoint compatibility with torch >= 2.6 (``weights_only=True``).

Since torch 2.6, ``torch.load`` refuses to unpickle anything but tensors and
plain containers unless the types are allow-listed. MMEngine's checkpoints
carry a few more: ``HistoryBuffer`` objects of the message hub and numpy
scalars / arrays / dtypes inside them. We allow-list exactly those types (no
global switch to unsafe loading), so ``mmengine.runner.load_checkpoint``,
``Runner.resume`` and ``tools/train.py --resume`` work on checkpoints that
MMEngine itself wrote, while an arbitrary pickle still fails to load.
"""
import glob
import io
import logging
import os.path as osp
import pickle
import re
from typing import Optional

import numpy as np
import torch


def _numpy_globals() -> list:
    """Numpy types that pickled arrays, scalars and dtypes refer to."""
    multiarray = np._core.multiarray
    allowed = [
        np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar
    ]
    # numpy 1.x wrote ``numpy.core.multiarray``; numpy 2 reads it under the
    # old name, so register both spellings.
    allowed += [
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
    ]
    # Concrete dtype classes (``numpy.dtypes.Float64DType`` ...) of plain
    # numeric / bool types; object dtypes stay forbidden.
    for name in dir(np.dtypes):
        cls = getattr(np.dtypes, name)
        if (isinstance(cls, type) and issubclass(cls, np.dtype)
                and cls is not np.dtypes.ObjectDType):
            allowed.append(cls)
    return allowed


def _history_buffer_getattr(obj, name):
    """A ``getattr`` that only resolves HistoryBuffer's statistics methods.

    ``HistoryBuffer.__getstate__`` pickles its ``_statistics_methods`` dict,
    i.e. functions such as ``HistoryBuffer.min``, which pickle refers to as
    ``getattr(HistoryBuffer, 'min')``. Allowing the builtin ``getattr``
    would let a checkpoint reach any attribute of any allowed type (and call
    it), so this stand-in is registered under that name instead and accepts
    nothing else.
    """
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and isinstance(
            name, str) and (name in ('min', 'max', 'current', 'mean')
                            or name in HistoryBuffer._statistics_methods):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint: '
        'only HistoryBuffer statistics methods are allowed')


def _mmengine_globals() -> list:
    from mmengine.logging import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')]


def allow_mmengine_checkpoints() -> None:
    """Allow-list the types MMEngine writes into its checkpoints.

    Safe to call more than once; does nothing on torch < 2.4, which has no
    allow-list (and loads everything anyway).
    """
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return
    add(_numpy_globals() + _mmengine_globals())


def atomic_torch_save(obj, path: str) -> None:
    """``torch.save`` that never leaves a truncated file under ``path``."""
    from mmkd.engine.atomic_backend import atomic_write
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(buffer.getvalue(), path)


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint that ``--resume`` (without a path) continues from.

    MMEngine's ``CheckpointHook`` names it in ``work_dir/last_checkpoint``,
    a file it writes in place: a crash during that write leaves it empty or
    cut short, and MMEngine then fails on a missing path or starts from
    scratch. The checkpoints themselves are written atomically, so every
    ``epoch_N.pth`` / ``iter_N.pth`` is complete; when the pointer is
    missing, unreadable or names no file, the newest of them is used.

    Returns:
        str | None: the checkpoint path, or None when there is none.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    named = ''
    if osp.isfile(pointer):
        with open(pointer, errors='replace') as f:
            named = f.read().strip()
    if named and (osp.isfile(named) or '://' in named):
        return named
    steps = {}
    for path in glob.glob(osp.join(work_dir, '*.pth')):
        match = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
        if match:
            steps[path] = (osp.getmtime(path), int(match.group(2)))
    if not steps:
        return None
    newest = max(steps, key=steps.get)
    from mmengine.logging import print_log
    print_log(
        f'{pointer} is missing or does not name a checkpoint '
        f'({named!r}); resuming from the newest checkpoint {newest}',
        logger='current',
        level=logging.WARNING)
    return newest
