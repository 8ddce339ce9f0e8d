"""MMEngine's ``ParamSchedulerHook``, holding still on skipped batches."""
from typing import Optional

from mmengine.hooks import ParamSchedulerHook

from mmkd.registry import HOOKS


@HOOKS.register_module()
class SkipAwareParamSchedulerHook(ParamSchedulerHook):
    """Steps the iteration-based schedules except after a skipped batch.

    mmkd's runtime (``configs/_base_/default_runtime.py``) uses it as
    ``default_hooks.param_scheduler``. A batch that
    ``NonFiniteLossHook(policy='skip')`` skipped (its outputs carry
    ``nonfinite_skipped``) did not update the weights or the optimizer;
    here it does not advance the learning-rate (or momentum) schedule
    either, so the run continues as if the batch never happened.
    Epoch-based schedules step once per epoch, as before. Without skipped
    batches it is MMEngine's ``ParamSchedulerHook``.
    """

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if outputs and outputs.get('nonfinite_skipped'):
            return
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
