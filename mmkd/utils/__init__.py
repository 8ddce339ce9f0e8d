"""True utilities: user-facing errors, and names of configs (``scope::``
paths) and checkpoint URLs."""
