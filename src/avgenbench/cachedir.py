"""The one folder under which avgenbench keeps what it can rebuild: judge answers, built models, calibrate's probe
clips and numba's compiled kernels. Standard library only: the package's __init__ reads it before anything loads."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "AVGENBENCH_CACHE_DIR"


def cache_root() -> Path:
    """$AVGENBENCH_CACHE_DIR when set, else $XDG_CACHE_HOME/avgenbench, else ~/.cache/avgenbench."""
    own = os.environ.get(ENV, "").strip()
    if own:
        return Path(own).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "avgenbench"
