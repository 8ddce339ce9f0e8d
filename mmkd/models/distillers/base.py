"""What a distiller of a frozen teacher does besides its loss.

- Teacher hygiene: the teacher lives outside the module tree (not in
  ``state_dict()``, ``parameters()`` or ``init_weights()``); ``train()``
  leaves it in eval mode, ``.to()`` moves it, and a deep copy (an EMA
  hook's) shares it instead of duplicating it.
- Inference is the student's.
- At the first training step, what only the runner knows is checked: the
  training set's classes against the teacher's, and the teacher recorded in
  a resumed checkpoint against this run's (then this run's is recorded).
"""
import copy
from typing import Optional

from mmdet.structures import SampleList
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from torch import Tensor

from .teacher import TEACHER_RECORD_KEY, check_classes, check_teacher_record


class DistillerBase(BaseModel):
    """Base of ``TwoStageDistiller``: a ``student`` module, a frozen
    ``teacher`` kept in ``__dict__``, ``teacher_record``
    (``{'path', 'sha256'}`` or None) and ``teacher_classes`` (a tuple or
    None), set by the subclass.

    Non-finite losses are handled for every model alike, by
    ``NonFiniteLossHook`` (``mmkd/engine/nonfinite.py``)."""

    def _start_step(self) -> None:
        """Call first in ``loss()``."""
        self._check_run()

    def _check_run(self) -> None:
        """Once, at the first training step, what only the runner knows:
        the training set's classes (``dataset_meta``, set before training)
        and the teacher recorded in a resumed checkpoint (its message hub);
        then record this run's teacher for the next checkpoints."""
        hub = MessageHub.get_current_instance()
        if self.__dict__.get('_run_checked') or hub.get_info(
                'loop_stage') != 'train':
            return  # checked, or outside a runner's training loop
        self.__dict__['_run_checked'] = True
        if self.teacher_classes is not None:
            meta = hub.get_info('dataset_meta') or {}
            check_classes(
                meta.get('classes'), self.teacher_classes,
                'the dataset of its config file model.teacher')
        if self.teacher_record is not None:
            check_teacher_record(
                hub.get_info(TEACHER_RECORD_KEY), self.teacher_record)
            hub.update_info(TEACHER_RECORD_KEY, dict(self.teacher_record))

    # ----------------------------------------------------------- inference
    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """The student's predictions (the teacher plays no part)."""
        return self.student.predict(
            batch_inputs, batch_data_samples, rescale=rescale)

    def _forward(self,
                 batch_inputs: Tensor,
                 batch_data_samples: Optional[SampleList] = None):
        return self.student._forward(batch_inputs, batch_data_samples)

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[SampleList] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}". Only supports loss, '
                           'predict and tensor mode')

    # ------------------------------------------------------ teacher hygiene
    def train(self, mode: bool = True) -> 'DistillerBase':
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()  # dropout off, BN frozen, always
        return self

    def _apply(self, fn, *args, **kwargs):
        # .to()/.cuda()/.cpu() reach the teacher, which is not a child.
        super()._apply(fn, *args, **kwargs)
        if self.teacher is not None:
            self.teacher._apply(fn, *args, **kwargs)
        return self

    def __deepcopy__(self, memo: dict) -> 'DistillerBase':
        """A copy that shares the (frozen) teacher: an EMA hook's copy of
        the distiller must not duplicate the teacher's weights."""
        if self.teacher is not None:
            memo[id(self.teacher)] = self.teacher
        copied = type(self).__new__(type(self))
        memo[id(self)] = copied
        for key, value in self.__dict__.items():
            copied.__dict__[key] = copy.deepcopy(value, memo)
        return copied
