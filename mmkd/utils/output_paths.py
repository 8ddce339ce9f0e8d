"""Output paths checked before a tool does any work.

A tool that finds out only at the end that its output cannot be written
loses everything it computed (an evaluation, a conversion, a training
run). Every tool that writes checks each output path first, with
:func:`check_output`: the path must not be a folder where a file is
written (or a file where a folder is), and the folder it goes into, or the
nearest one of its parents that exists (the tools create the missing
ones), must be a writable folder.
"""
import os
import os.path as osp

from .errors import ConfigError


def _nearest_existing(path: str) -> str:
    """``path`` or its nearest parent that exists."""
    path = osp.abspath(path)
    while not osp.lexists(path) and osp.dirname(path) != path:
        path = osp.dirname(path)
    return path


def check_output(path: str, what: str, *, folder: bool = False) -> None:
    """Refuse an output path that cannot be written.

    Args:
        path (str): the file (or, with ``folder``, the folder) a tool
            writes; missing parent folders are fine (they are created).
        what (str): how the message names it, e.g. ``'--out'``.
        folder (bool): ``path`` is a folder the tool writes into.

    Raises:
        ConfigError: ``path`` is a folder where a file is written (or a
            file where a folder is), a parent is a file, or the folder is
            not writable; the message names the path and the fix.
    """
    if folder and osp.exists(path) and not osp.isdir(path):
        raise ConfigError(f'{what} {path!r} is a file; give a directory (it '
                          'is created if it does not exist)')
    if not folder and osp.isdir(path):
        raise ConfigError(f'{what} {path!r} is a directory; give a file name '
                          'in it')
    where = _nearest_existing(
        path if folder else osp.dirname(osp.abspath(path)))
    if not osp.isdir(where):
        raise ConfigError(f'{what} {path!r} cannot be written: {where!r} is '
                          'a file, not a directory; give another path')
    if not os.access(where, os.W_OK | os.X_OK):
        raise ConfigError(f'{what} {path!r} cannot be written: no permission '
                          f'to write in {where!r}; give another path or fix '
                          'its permissions')
