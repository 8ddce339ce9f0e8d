"""True utilities: user-facing errors and config loading/checking."""
