"""mmkd.visualization."""
