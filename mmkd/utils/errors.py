"""Errors about the user's input: configs, data files and checkpoints.

Each error derives from ``MMKDError`` and from the builtin type a Python
user would expect (``ValueError``, ``FileNotFoundError``, ...), so
``except ValueError`` keeps working. Their messages say what is wrong, in
which config key or file, and what to do; ``tools/train.py`` and
``tools/test.py`` print them as ``error: ...`` without a traceback. Every
other exception is a bug (ours or a library's) and keeps its traceback.

All of them take a single message argument (with optional keywords), so
that PyTorch can re-create them when they cross from a data loader worker
into the main process.
"""
import contextlib
from typing import Iterator, Optional


class MMKDError(Exception):
    """Base of the errors caused by the user's input."""


class ConfigError(MMKDError, ValueError):
    """A config key or value that mmkd cannot use."""


class MissingFileError(MMKDError, FileNotFoundError):
    """A file named in the config does not exist."""


class CheckpointError(MMKDError, RuntimeError):
    """A checkpoint that cannot be read or does not fit the model."""


class DatasetError(MMKDError, ValueError):
    """An annotation file that is missing, empty or malformed."""


class ImageDecodeError(MMKDError, ValueError):
    """An image file whose content cannot be decoded.

    Args:
        message (str): the full message (it names the file).
        path (str, optional): the image file.
    """

    def __init__(self, message: str, path: Optional[str] = None) -> None:
        super().__init__(message)
        self.path = path


class NonFiniteLossError(MMKDError, FloatingPointError):
    """A training run stopped on a NaN/Inf loss (or on too many skipped
    batches): not a bug, a run that diverged; the message names the
    iteration, the terms and what to change."""


@contextlib.contextmanager
def exit_on_user_error() -> Iterator[None]:
    """For command line tools: an ``MMKDError`` becomes
    ``SystemExit('error: <message>')``, printed without a traceback on one
    line (line breaks of a library's message quoted in it are folded)."""
    try:
        yield
    except MMKDError as exc:
        raise SystemExit('error: ' + ' '.join(str(exc).split())) from None
