"""mmkd.models.backbones."""
