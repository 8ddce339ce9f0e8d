"""Config names (paths, ``scope::`` names) and checkpoint URLs, as the
distiller's ``teacher`` and ``teacher_ckpt`` take them."""
import copy
import os.path as osp
import urllib.request
from urllib.error import URLError

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmkd  # noqa: F401
from mmkd.models.distillers.teacher import teacher_config
from mmkd.registry import MODELS
from mmkd.testing import ROOT
from mmkd.utils.config_paths import resolve_config, zoo_checkpoint_url
from mmkd.utils.errors import CheckpointError, ConfigError, MissingFileError

R101 = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py'
R101_URL = (
    'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
    'faster_rcnn_r101_fpn_2x_coco/'
    'faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth')
TINY_KD = osp.join(ROOT, 'tests', 'configs', 'tiny_kd.py')
TINY_TEACHER = osp.join(ROOT, 'tests', 'configs', 'tiny_frcnn_teacher.py')


def _without_scope(node):
    """``node`` without the ``_scope_`` keys MMEngine adds to ``mmdet::``
    bases."""
    if isinstance(node, dict):
        return {
            k: _without_scope(v)
            for k, v in node.items() if k != '_scope_'
        }
    return node


def test_scoped_name_is_the_config_that_base_would_load():
    via_base = Config.fromstring(f"_base_ = ['{R101}']", '.py')
    teacher = teacher_config(R101)
    assert teacher.backbone.depth == 101
    assert teacher.to_dict() == _without_scope(via_base.model.to_dict())
    assert resolve_config(R101).endswith(
        osp.join('mmdet', '.mim', 'configs', 'faster_rcnn',
                 'faster-rcnn_r101_fpn_2x_coco.py'))


def test_local_paths_still_work():
    assert teacher_config(TINY_TEACHER) == Config.fromfile(TINY_TEACHER).model


def test_misspelt_scoped_name_is_named_with_close_matches():
    with pytest.raises(MissingFileError) as info:
        teacher_config('mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coc.py')
    message = str(info.value)
    assert message.startswith(
        "model.teacher='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coc.py': "
        "mmdet has no config 'faster_rcnn/faster-rcnn_r101_fpn_2x_coc.py'")
    assert 'did you mean faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py' in \
        message


def test_unknown_and_missing_scopes_are_named(monkeypatch):
    with pytest.raises(
            ConfigError,
            match=r"model.teacher='foo::a/b.py': "
            r"unknown scope 'foo'"):
        resolve_config('foo::a/b.py', 'model.teacher')
    # a known scope whose package is not installed: no pip install, an error
    monkeypatch.setattr('importlib.util.find_spec', lambda name: None)
    with pytest.raises(
            ConfigError,
            match=r"scope 'mmseg' is not installed; "
            'pip install mmsegmentation'):
        resolve_config('mmseg::x/y.py', 'model.teacher')


def test_missing_local_config_is_named(tmp_path):
    path = str(tmp_path / 'absent.py')
    with pytest.raises(
            MissingFileError,
            match=rf"model.teacher='{path}': no such config"):
        teacher_config(path)


def test_zoo_checkpoint_url_comes_from_the_metafile():
    assert zoo_checkpoint_url(R101) == R101_URL
    assert zoo_checkpoint_url(TINY_TEACHER) is None  # not a zoo name
    # a base config has no entry (and no weights) in the metafile
    assert zoo_checkpoint_url(
        'mmdet::_base_/models/faster-rcnn_r50_fpn.py') is None


def test_zoo_pair_config_builds_with_its_mmdet_teacher():
    """configs/kd/zoo as written: mmdet:: student base and teacher name."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/kd/zoo/frcnn_r50-fpn_r18-fpn_1x_coco.py'))
    cfg.model.teacher_ckpt, cfg.model.random_teacher = None, True
    init_default_scope('mmkd')
    model = MODELS.build(cfg.model)
    assert model.teacher.backbone.depth == 50
    assert model.student.backbone.depth == 18
    assert model.teacher.roi_head.bbox_head.num_classes == 80


# ----------------------------------------------------- checkpoint URLs
def _serve(monkeypatch, tmp_path, files: dict) -> list:
    """Fetch URLs from local files (``url -> path``) instead of the
    network; downloads go to ``tmp_path/hub``. Returns the fetched URLs."""
    fetched = []

    def fake_urlopen(request, *args, **kwargs):
        url = getattr(request, 'full_url', request)
        fetched.append(url)
        if url not in files:
            raise URLError('offline')
        return urllib.request.urlopen(f'file://{files[url]}')

    monkeypatch.setattr('torch.hub.urlopen', fake_urlopen)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    return fetched


def _kd_cfg(teacher_ckpt: str) -> dict:
    cfg = copy.deepcopy(Config.fromfile(TINY_KD).model)
    cfg.teacher_ckpt = teacher_ckpt
    return cfg


def test_teacher_checkpoint_from_a_url(monkeypatch, tmp_path, tiny_teacher):
    url = 'https://download.openmmlab.com/mmkd/tiny/teacher_tiny.pth'
    fetched = _serve(monkeypatch, tmp_path, {url: tiny_teacher})
    init_default_scope('mmkd')
    model = MODELS.build(_kd_cfg(url))
    saved = torch.load(tiny_teacher, map_location='cpu')['state_dict']
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, saved[key]), key
    cached = tmp_path / 'torch' / 'hub' / 'checkpoints' / 'teacher_tiny.pth'
    assert cached.read_bytes() == open(tiny_teacher, 'rb').read()
    assert fetched == [url]
    MODELS.build(_kd_cfg(url))  # the second time from the cache
    assert fetched == [url]


def test_unreachable_url_is_named(monkeypatch, tmp_path):
    url = 'https://download.openmmlab.com/mmkd/tiny/absent.pth'
    _serve(monkeypatch, tmp_path, {})
    init_default_scope('mmkd')
    with pytest.raises(CheckpointError) as info:
        MODELS.build(_kd_cfg(url))
    message = str(info.value)
    assert message.startswith(f'model.teacher_ckpt {url!r} cannot be '
                              'downloaded or read (URLError')
    assert f'wget -P checkpoints/ {url}' in message
