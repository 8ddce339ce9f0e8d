"""mmkd.models.losses."""
