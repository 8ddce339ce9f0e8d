"""How many CPUs this process may use."""
import os


def cpu_count() -> int:
    """The CPUs this process may use (its affinity), at least 1."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
