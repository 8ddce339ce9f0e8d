from . import backbones, distillers, losses, necks  # noqa: F401
