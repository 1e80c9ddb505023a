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


def clear_all(root: Path | None = None) -> list[Path]:
    """Delete everything under the cache root: judge answers and their cost ledger, built models, calibrate's clips and
    numba's compiled kernels. Returns what was removed. Refuses a root that is the home folder or a file system root."""
    import shutil

    root = root or cache_root()
    resolved = root.resolve()
    if resolved in (Path.home().resolve(), Path(resolved.anchor)):
        raise ValueError(f"refusing to empty {root}: it is not a cache folder of its own")
    if not root.is_dir():
        return []
    removed = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed.append(entry)
    return removed
