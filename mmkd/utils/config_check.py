"""Loading configs with errors that speak to the user."""
import os.path as osp

from mmengine.config import Config


def load_config(path: str, cfg_options: dict = None) -> Config:
    """Read a config file and apply ``--cfg-options`` overrides.

    Raises:
        SystemExit: the file does not exist or does not parse, with the path
            and the parser's reason in the message.
    """
    if not osp.isfile(path):
        raise SystemExit(f'error: config file {path!r} does not exist')
    try:
        cfg = Config.fromfile(path)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise SystemExit(
            f'error: cannot read config {path!r}: {exc}') from exc
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
