from .distill_terms import DEFAULT_DISTILL_LOSSES
from .two_stage_distiller import TwoStageDistiller

__all__ = ['TwoStageDistiller', 'DEFAULT_DISTILL_LOSSES']
