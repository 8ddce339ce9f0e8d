"""A script of the repository (``tools/train.py``, ...) as a module, to call
its ``main(argv)`` in this process: the demo's quick mode and the tests."""
import importlib.util
import os.path as osp


def load_script(path: str):
    """The script at ``path`` as a module (not added to ``sys.modules``)."""
    name = 'mmkd_script_' + osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
