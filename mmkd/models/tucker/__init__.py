"""Tucker-2 decomposed convolutions (the paper's Tucker student): the layer,
the decomposition math and the whole-detector decomposition."""
from .tucker_conv import TuckerConv2d, build_conv

__all__ = ['TuckerConv2d', 'build_conv']
