"""mmkd.models.layers: building blocks shared by mmkd's models."""
from .tucker_conv import TuckerConv2d, build_conv

__all__ = ['TuckerConv2d', 'build_conv']
