"""fc6 / fc7 with dropout, as in the Fast / Faster R-CNN of the paper."""
from typing import Tuple

from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from torch import Tensor, nn

from mmkd.registry import MODELS


@MODELS.register_module()
class Shared2FCDropoutBBoxHead(Shared2FCBBoxHead):
    """MMDetection's ``Shared2FCBBoxHead`` with dropout after the ReLU of
    each shared fc (fc6 and fc7 of VGG16 / AlexNet / VGG-M), as the
    ImageNet classifiers they come from and Fast R-CNN (Girshick, ICCV
    2015) train them; Chen et al. (NIPS 2017) use those detectors.

    The parameters keep MMDetection's names (``shared_fcs.0`` / ``.1``,
    ``fc_cls``, ``fc_reg``; dropout has none), so ImageNet fc6 / fc7 map
    onto them unchanged (``mmkd.models.backbones.pretrained``). Dropout
    acts in training only; a distiller's teacher is always in eval mode.

    Args:
        dropout (float): drop probability, in [0, 1). Defaults to 0.5.
        **kwargs: ``Shared2FCBBoxHead``'s arguments.
    """

    def __init__(self, *args, dropout: float = 0.5, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 0 <= dropout < 1:
            raise ValueError(f'Shared2FCDropoutBBoxHead: dropout={dropout!r} '
                             'must be in [0, 1)')
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """RoI features ``(num_rois, C, h, w)`` -> class scores
        ``(num_rois, num_classes + 1)`` and deltas ``(num_rois, 4 *
        num_classes)`` (4 when class-agnostic)."""
        if self.with_avg_pool:
            x = self.avg_pool(x)
        x = x.flatten(1)
        for fc in self.shared_fcs:
            x = self.dropout(self.relu(fc(x)))
        cls_score = self.fc_cls(x) if self.with_cls else None
        bbox_pred = self.fc_reg(x) if self.with_reg else None
        return cls_score, bbox_pred
