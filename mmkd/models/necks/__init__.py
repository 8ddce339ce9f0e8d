"""mmkd.models.necks."""
