"""Checkpoints: reading (files and URLs, on torch >= 2.6), DDP prefixes,
the student of a distillation checkpoint, strict key checks, the latest one.

Loading with ``weights_only=True``:

Since torch 2.6, ``torch.load`` refuses to unpickle anything but tensors and
plain containers unless the types are allow-listed. MMEngine's checkpoints
carry a few more: ``HistoryBuffer`` objects of the message hub and numpy
scalars / arrays / dtypes inside them. We allow-list exactly those types (no
global switch to unsafe loading), so ``mmengine.runner.load_checkpoint``,
``Runner.resume`` and ``tools/train.py --resume`` work on checkpoints that
MMEngine itself wrote, while an arbitrary pickle still fails to load.

Strictness: where a number is at stake (testing, export, teacher loading,
resume) a checkpoint must hold exactly the keys and shapes of the model;
``check_state_dict`` is the one comparison all of them use.

A distillation checkpoint holds the ``TwoStageDistiller``'s state: the
student under ``student.``, the adaptation layers under ``adapters.`` (the
teacher is not saved). :func:`student_checkpoint` turns it into a plain
MMDetection checkpoint of the student.
"""
import copy
import glob
import io
import logging
import os.path as osp
import pickle
import re
from typing import Dict, Optional

import numpy as np
import torch

from mmkd.utils.errors import CheckpointError, MissingFileError


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


def describe_keys(keys: list, limit: int = 8) -> str:
    """``'N: a, b, ... (M more)'``: the count and the first names."""
    shown = ', '.join(sorted(keys)[:limit])
    more = f', ... ({len(keys) - limit} more)' if len(keys) > limit else ''
    return f'{len(keys)}: {shown}{more}'


def _shape(value) -> tuple:
    """The shape of a tensor, or ``value`` itself if it is a shape."""
    if isinstance(value, tuple):
        return tuple(value)
    return tuple(getattr(value, 'shape', ()))


def check_state_dict(expected: dict, loaded: dict, *, source: str, target: str,
                     fix: str) -> None:
    """Refuse ``loaded`` unless it has exactly the keys and shapes of
    ``expected`` (a model's ``state_dict()``).

    Args:
        expected (dict): what the model holds (tensors or anything with a
            ``shape``).
        loaded (dict): what the checkpoint holds, already unprefixed.
        source (str): names the checkpoint, e.g. ``"model.teacher_ckpt=..."``.
        target (str): names the model, e.g. ``'teacher'``.
        fix (str): what the user should do, a sentence.

    Raises:
        CheckpointError: the count and names of the keys missing in the
            checkpoint, not in the model, and of different shapes.
    """
    missing = [k for k in expected if k not in loaded]
    unexpected = [k for k in loaded if k not in expected]
    wrong_shape = [
        f'{k} {_shape(loaded[k])} vs {_shape(v)}' for k, v in expected.items()
        if k in loaded and _shape(loaded[k]) != _shape(v)
    ]
    problems = []
    if missing:
        problems.append(f'missing in the checkpoint {describe_keys(missing)}')
    if unexpected:
        problems.append(f'not in the {target} {describe_keys(unexpected)}')
    if wrong_shape:
        problems.append(f'shape mismatches {describe_keys(wrong_shape)}')
    if problems:
        raise CheckpointError(
            f'{source} does not match the {target} config: ' +
            '; '.join(problems) + f'. {fix}')


def unreadable(name: str, exc: Exception) -> CheckpointError:
    """The error for a checkpoint ``name`` (e.g. ``"--resume 'x.pth'"``)
    that could not be loaded with ``exc``.

    A pickle that ``torch.load(weights_only=True)`` refuses (a type outside
    the allow-list: unpickling it could run code) is named as such, without
    torch's advice to load it unsafely; anything else is a file that is not
    a (complete) checkpoint.
    """
    text = ' '.join(str(exc).split())
    if 'Weights only load failed' in text:
        # Only what the weights-only unpickler said; not torch's advice to
        # load the file with weights_only=False.
        found = re.search(
            r'WeightsUnpickler error: (.+?)'
            r'(?: by default| Please use| Check the documentation|$)', text)
        text = found.group(1).rstrip('. ') if found else 'not a checkpoint'
        if 'GLOBAL' in text:  # a type outside the allow-list
            return CheckpointError(
                f'{name} holds Python objects that are not unpickled '
                f'({text}): mmkd loads only tensors, plain containers and '
                'the types MMEngine writes, since unpickling anything else '
                'can run code. Use a checkpoint written by tools/train.py or '
                'MMEngine; if you trust the file, save its weights alone '
                "(torch.save({'state_dict': ...}, PATH)) and give that file")
    return CheckpointError(f'{name} cannot be read as a checkpoint '
                           f'({type(exc).__name__}: {text}); is the file '
                           'complete?')


def read_checkpoint(path: str, what: str = 'checkpoint') -> dict:
    """Load a checkpoint file (memory-mapped, so a large file costs little)
    or an ``http(s)://`` URL (downloaded once into torch's hub cache by
    MMEngine's loader) on CPU, naming it in every error.

    Args:
        path (str): the file or URL.
        what (str): how the message names it, e.g. ``'--resume'`` or
            ``'model.teacher_ckpt'``.

    Raises:
        MissingFileError: no such file.
        CheckpointError: a directory, not a (complete) checkpoint, or a URL
            that cannot be fetched.
    """
    remote = '://' in path
    if osp.isdir(path):
        raise CheckpointError(f'{what} {path!r} is a directory; give a '
                              'checkpoint file (.pth) in it')
    if not remote and not osp.isfile(path):
        raise MissingFileError(f'{what} {path!r}: no such file; check the '
                               'path')
    try:
        checkpoint = _load(path, remote)
    except Exception as exc:  # noqa: BLE001 - re-raised with the path
        reason = ' '.join(f'{type(exc).__name__}: {exc}'.split())
        if remote:
            raise CheckpointError(
                f'{what} {path!r} cannot be downloaded or read ({reason}); '
                f'download it (e.g. wget -P checkpoints/ {path}) and give '
                'the file instead') from exc
        raise unreadable(f'{what} {path!r}', exc) from exc
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'{what} {path!r} holds a '
                              f'{type(checkpoint).__name__}, not a '
                              'checkpoint dict; give a .pth written by '
                              'tools/train.py')
    return checkpoint


def _load(path: str, remote: bool):
    if remote:
        from mmengine.runner.checkpoint import _load_checkpoint
        return _load_checkpoint(path, map_location='cpu')
    try:
        return torch.load(path, map_location='cpu', mmap=True)
    except RuntimeError as exc:
        if 'mmap' not in str(exc):  # the legacy (not zip) format loads
            raise  # without mmap
        return torch.load(path, map_location='cpu')


def strip_ddp_prefix(state_dict: dict) -> dict:
    """``state_dict`` without the ``module.`` prefix DDP wrappers add."""
    return {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in state_dict.items()
    }


def checkpoint_state_dict(checkpoint: dict) -> dict:
    """The tensors of a checkpoint, without DDP's ``module.`` prefix."""
    return strip_ddp_prefix(checkpoint.get('state_dict', checkpoint))


STUDENT_PREFIX = 'student.'
DISTILLER_PREFIXES = (STUDENT_PREFIX, 'adapters.', 'data_preprocessor.')


def is_distiller_state(state_dict: dict) -> bool:
    """Whether every key is a ``TwoStageDistiller``'s (student, adapters,
    data preprocessor)."""
    return bool(state_dict) and all(
        k.startswith(DISTILLER_PREFIXES) for k in state_dict)


def student_state_dict(state_dict: dict) -> dict:
    """The ``student.*`` entries of a distiller state dict, unprefixed.

    Raises:
        ValueError: nothing in ``state_dict`` belongs to a student.
    """
    student = {
        k[len(STUDENT_PREFIX):]: v
        for k, v in strip_ddp_prefix(state_dict).items()
        if k.startswith(STUDENT_PREFIX)
    }
    if not student:
        raise ValueError(
            'no `student.*` weights in this checkpoint: it is not a '
            'TwoStageDistiller checkpoint (a plain detector checkpoint needs '
            'no extraction)')
    return student


def student_checkpoint(checkpoint: dict, source: str = '') -> dict:
    """A plain MMDetection checkpoint of the student of ``checkpoint``."""
    meta = checkpoint.get('meta', {}) or {}
    out_meta = {
        k: copy.deepcopy(meta[k])
        for k in ('dataset_meta', 'epoch', 'iter', 'mmengine_version')
        if k in meta
    }
    out_meta['extracted_from'] = source
    return dict(
        state_dict=student_state_dict(
            checkpoint.get('state_dict', checkpoint)),
        meta=out_meta)


def step_checkpoints(work_dir: str) -> Dict[str, tuple]:
    """``{path: (kind, step)}`` of the ``epoch_N.pth`` / ``iter_N.pth``
    files in ``work_dir``."""
    steps = {}
    for path in glob.glob(osp.join(glob.escape(work_dir), '*.pth')):
        match = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
        if match:
            steps[path] = (match.group(1), int(match.group(2)))
    return steps


def previous_complete(path: str) -> Optional[str]:
    """The newest ``epoch_N.pth`` / ``iter_N.pth`` next to ``path`` and
    older than it that loads (None if there is none)."""
    steps = step_checkpoints(osp.dirname(path) or '.')
    kind, step = steps.get(path, (None, None))
    older = [
        p for p, (k, s) in steps.items()
        if p != path and (kind is None or (k == kind and s < step))
    ]
    for candidate in sorted(older, key=lambda p: steps[p][1], reverse=True):
        try:
            read_checkpoint(candidate)
        except CheckpointError:
            continue
        return candidate
    return None


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
    steps = {
        path: (osp.getmtime(path), step)
        for path, (_, step) in step_checkpoints(work_dir).items()
    }
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
