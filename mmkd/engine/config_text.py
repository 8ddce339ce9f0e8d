"""The formatted text of a run's config, made once per distinct text.

MMEngine formats a config's text with yapf each time it is logged, dumped
or stored in a checkpoint's meta (``Config.pretty_text``): 0.3-0.5 s of CPU
a time for mmkd's configs, so once when a run starts, once more for its
config dump and again for every checkpoint, and in every run of a sweep in
one process. The text a config formats to does not change while it does
not, so :func:`memoize_config_text` keeps the results of yapf's
``FormatCode`` (the function ``pretty_text`` calls) by their input: the
same text, bit for bit, at a fraction of the cost.
"""
import functools
from typing import Callable

_SIZE = 64  # distinct config texts kept (a sweep's runs differ in a few)


def _memoized(format_code: Callable) -> Callable:

    @functools.lru_cache(maxsize=_SIZE)
    def cached(text, style):
        return format_code(text, style_config=dict(style))

    @functools.wraps(format_code)
    def wrapper(text, *args, style_config=None, **kwargs):
        if args or kwargs or not isinstance(style_config, dict):
            return format_code(
                text, *args, style_config=style_config, **kwargs)
        return cached(text, tuple(sorted(style_config.items())))

    wrapper.mmkd_memoized = True
    wrapper.cache_info = cached.cache_info
    return wrapper


def memoize_config_text() -> None:
    """Route ``Config.pretty_text``'s yapf call through the memo
    (idempotent)."""
    from mmengine.config import config
    if not getattr(config.FormatCode, 'mmkd_memoized', False):
        config.FormatCode = _memoized(config.FormatCode)
