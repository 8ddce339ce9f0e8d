"""MMEngine's ``ParamSchedulerHook``, holding still on skipped batches."""
from typing import Optional

from mmengine.hooks import ParamSchedulerHook as MMEngineParamSchedulerHook

from mmkd.registry import HOOKS


@HOOKS.register_module()
class ParamSchedulerHook(MMEngineParamSchedulerHook):
    """Steps the iteration-based schedules except after a skipped batch.

    Registered under MMEngine's name in the ``mmkd`` scope, so every config
    with ``default_scope='mmkd'`` uses it without a change. A batch that
    ``NonFiniteLossHook(policy='skip')`` skipped (its outputs carry
    ``nonfinite_skipped``) did not update the weights or the optimizer;
    here it does not advance the learning-rate (or momentum) schedule
    either, so the run continues as if the batch never happened.
    Epoch-based schedules step once per epoch, as before.
    """

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if outputs and outputs.get('nonfinite_skipped'):
            return
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
