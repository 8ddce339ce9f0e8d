"""A local file backend whose writes are atomic.

MMEngine's ``LocalBackend`` writes checkpoints in place, so a crash (or a
SIGKILL) in the middle of a write leaves a truncated file under the final
name. This backend writes to a temporary file in the same folder, fsyncs it
and renames it over the target, so a reader only ever sees the old file or
the complete new one. ``configs/_base_/default_runtime.py`` makes the
``CheckpointHook`` use it (``backend_args=dict(backend='atomic_local')``).

The hook's ``last_checkpoint`` pointer file is not covered: MMEngine writes
it with a plain ``open``. ``mmkd.engine.checkpoint.latest_checkpoint`` (used
by ``tools/train.py --resume``) therefore falls back to the newest complete
checkpoint when that pointer is missing, cut short or dangling.
"""
import os
import os.path as osp
import secrets
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend


def atomic_write(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` via a temporary file and a rename.

    The temporary file ``.NAME.<pid>.<random>.tmp`` is created with mode
    ``0o666`` minus the umask, like a plain ``open(..., 'wb')`` (``mkstemp``
    would make checkpoints readable by their owner only).
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(
        folder, f'.{osp.basename(filepath)}.{os.getpid()}.'
        f'{secrets.token_hex(4)}.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        atomic_write(obj.encode(encoding), filepath)


register_backend('atomic_local', AtomicLocalBackend, force=True)
