"""One SGD training step of a config's model on real batches, for the
step benchmarks and the profiler (``tools/analysis_tools/
benchmark_step.py``, ``profile_step.py``)."""
import copy
from typing import Callable, List, Optional


def _load(config: str, options: list):
    from mmengine.registry import init_default_scope

    from mmkd.engine.config_check import load_cfg
    cfg = load_cfg(config, options)
    init_default_scope(cfg.get('default_scope', 'mmkd'))
    return cfg


def training_batches(config: str, options: list, num: int) -> List[dict]:
    """The first ``num`` batches of the config's training loader (loaded in
    this process, seed 0), repeated when the loader is shorter."""
    from mmengine.runner import Runner
    cfg = _load(config, options)
    loader = Runner.build_dataloader(
        dict(cfg.train_dataloader, num_workers=0, persistent_workers=False),
        seed=0)
    batches = []
    while len(batches) < num:
        for batch in loader:
            batches.append(batch)
            if len(batches) == num:
                break
    return batches


def build_step(config: str,
               options: list,
               *,
               teacher_ckpt: Optional[str] = None,
               channels_last: bool = False,
               lr: float = 1e-3) -> Callable[[dict], None]:
    """``step(batch)``: forward, losses, backward and an SGD update of the
    config's model (a distiller's teacher loads ``teacher_ckpt``), in the
    channels-last format where ``channels_last`` is given or the config
    trains so (``ChannelsLastHook``)."""
    import torch

    from mmkd.engine.hooks.channels_last_hook import trains_channels_last
    from mmkd.models.distillers.export import is_distiller
    from mmkd.registry import MODELS
    cfg = _load(config, options)
    if teacher_ckpt and is_distiller(cfg.model):
        cfg.model.teacher_ckpt = teacher_ckpt
    model = MODELS.build(cfg.model).train()
    channels_last = channels_last or trains_channels_last(cfg)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if channels_last:
        model = model.to(memory_format=fmt)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9)

    def step(batch: dict) -> None:
        data = model.data_preprocessor(copy.deepcopy(batch), True)
        data['inputs'] = data['inputs'].contiguous(memory_format=fmt)
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step
