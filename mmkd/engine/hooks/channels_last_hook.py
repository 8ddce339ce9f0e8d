"""Training in the channels-last memory format."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from mmkd.engine.config_check import type_name
from mmkd.registry import HOOKS
from mmkd.utils.errors import ConfigError


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Stores the model's 4-D weights (a distiller's teacher included)
    channels-last before training.

    A convolution whose weight is channels-last returns a channels-last
    map, so the whole trunk then runs in that format, which oneDNN's CPU
    convolutions compute faster (``tools/analysis_tools/benchmark_step.py
    --channels-last``: about 0.88x the step time of the demo's detectors on
    2 CPU cores). The numbers are the same up to float rounding; the
    parameters stay the same objects, so the optimizer and its state are
    untouched, and checkpoints load into a model in either format.

    mmcv's operators read their input's memory as contiguous: mmcv's CPU
    RoIAlign pools wrong numbers from a channels-last map, silently. A
    model with one of them (the C4 detectors' RoIAlign, for instance) is
    refused; ``SeparableRoIAlign`` (the demo's detectors) accepts either
    format.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        check_layout_free(model)
        model.to(memory_format=torch.channels_last)


def trains_channels_last(cfg) -> bool:
    """Whether a config's ``custom_hooks`` hold ``ChannelsLastHook``."""
    return any(
        type_name(hook) == 'ChannelsLastHook'
        for hook in cfg.get('custom_hooks') or [])


def check_layout_free(model: nn.Module) -> None:
    """Refuse a model (or its teacher) with an mmcv operator that does not
    declare ``layout_free`` (as ``SeparableRoIAlign`` does): it would read
    channels-last maps wrongly."""
    teacher = getattr(model, 'teacher', None)  # kept outside the tree
    for root in (model, teacher):
        if not isinstance(root, nn.Module):
            continue
        for name, module in root.named_modules():
            op = type(module)
            if any(
                    cls.__module__.startswith('mmcv.ops')
                    for cls in op.__mro__) and not getattr(
                        module, 'layout_free', False):
                raise ConfigError(
                    f'ChannelsLastHook: {name} is mmcv\'s {op.__name__}, '
                    'which reads a channels-last map as if it were '
                    'contiguous and returns wrong numbers; remove '
                    'ChannelsLastHook from custom_hooks, or use '
                    "roi_layer=dict(type='SeparableRoIAlign', ...) in an "
                    'AmpSafeRoIExtractor')
