"""Peak resident memory of the current process, measured so a fresh subprocess reports its own peak.

``getrusage(RUSAGE_SELF).ru_maxrss`` is not that on Linux: exec copies the spawning process's high-water
mark into the child (``signal->maxrss``), so a child started from a big parent reports the parent's peak.
``VmHWM`` in /proc/self/status belongs to the process's own address space.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024
