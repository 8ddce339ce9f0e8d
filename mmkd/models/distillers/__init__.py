"""mmkd.models.distillers."""
