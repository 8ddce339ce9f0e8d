"""Faster R-CNN parts that also run under bf16 autocast on CPU.

mmcv's CPU kernels of ``nms`` and ``roi_align`` accept float32 only, so
``torch.autocast('cpu', torch.bfloat16)`` (``tools/train.py --amp`` on CPU,
or ``teacher_autocast``) breaks MMDetection's RPN proposals and RoI
extraction. These subclasses hand those two ops float32 inputs; everything
else keeps running in reduced precision. Without autocast they behave
exactly like MMDetection's classes, so an exported student names
MMDetection's (``mmkd.models.distillers.export``). mmkd's configs name them;
``type='RPNHead'`` and ``type='SingleRoIExtractor'`` build MMDetection's.
"""
from mmcv import ops as mmcv_ops
from mmdet.models.dense_heads import RPNHead
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

from mmkd.registry import MODELS


@MODELS.register_module()
class AmpSafeRPNHead(RPNHead):
    """MMDetection's ``RPNHead`` with float32 boxes and scores for NMS."""

    def _bbox_post_process(self, results, *args, **kwargs):
        results.bboxes = results.bboxes.float()
        results.scores = results.scores.float()
        return super()._bbox_post_process(results, *args, **kwargs)


@MODELS.register_module()
class AmpSafeRoIExtractor(SingleRoIExtractor):
    """MMDetection's ``SingleRoIExtractor`` pooling float32 features.

    ``roi_layer.type`` may also name an operator of mmkd's registry, such
    as ``SeparableRoIAlign`` (mmcv's ``RoIAlign``, faster on small CPU
    maps); other names are mmcv's operators, as in MMDetection.
    """

    def build_roi_layers(self, layer_cfg, featmap_strides):
        layer_type = layer_cfg.get('type')
        if isinstance(layer_type, str) and MODELS.get(layer_type) is \
                not None and not hasattr(mmcv_ops, layer_type):
            layer_cfg = dict(layer_cfg, type=MODELS.get(layer_type))
        return super().build_roi_layers(layer_cfg, featmap_strides)

    def forward(self, feats, rois, roi_scale_factor=None):
        feats = tuple(feat.float() for feat in feats)
        return super().forward(feats, rois.float(), roi_scale_factor)
