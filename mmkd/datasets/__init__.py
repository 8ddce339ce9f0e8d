"""mmkd.datasets."""
