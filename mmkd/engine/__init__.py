"""mmkd.engine."""
