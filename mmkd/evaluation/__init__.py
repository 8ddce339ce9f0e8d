"""mmkd.evaluation."""
