"""numba's on-disk cache of librosa's compiled kernels (pYIN's ~4 s compile), made safe to share between processes.

numba keeps, per function, an index (signature -> data file name) and numbered data files, and updates them without a
lock: two processes compiling at once can leave an index entry pointing at another signature's machine code, and every
later process that loads it crashes (a segfault in librosa.pyin). So:
- every numba cache save and load here holds a file lock (`install_guard`, hooked into numba's import), so an index
  and its data files only ever change together;
- before an eval starts its workers, `ensure_healthy` checks a marker written only after a fresh process warmed pYIN
  into the cache and a second one ran it from there; a cache without one (older, or from other versions) or whose
  recorded files changed is moved aside whole and rebuilt.
Standard library only at import: the package's __init__ installs the guard before anything loads numba.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from .cachedir import cache_root

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the marker check below still guards against a broken cache
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("avgenbench.numba_cache")

ENV = "NUMBA_CACHE_DIR"
MARKER = "avgenbench-ok.json"
LOCK_NAME = ".avgenbench.lock"
WARM_TIMEOUT = 600.0  # seconds one warm-up process may take (a loaded 2-core machine needs ~60 s)
_OWN = False  # True when avgenbench chose the cache folder (then it may rebuild it)


def setup() -> None:
    """Point numba at <cache root>/numba unless the user chose a folder, and lock its cache reads and writes."""
    global _OWN
    if not os.environ.get(ENV):
        os.environ[ENV] = str(cache_root() / "numba")
        _OWN = True
    install_guard()


def cache_dir() -> Path:
    return Path(os.environ.get(ENV) or cache_root() / "numba")


# the lock around numba's own cache files ----------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(folder: str, exclusive: bool):
    if fcntl is None:
        yield
        return
    try:
        os.makedirs(folder, exist_ok=True)
        fh = open(os.path.join(folder, LOCK_NAME), "a+b")
    except OSError:  # an unwritable cache: numba will not write to it either
        yield
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        fh.close()  # releases the lock


def _patch(caching) -> None:
    cls = getattr(caching, "IndexDataCacheFile", None)
    if cls is None or getattr(cls, "_avgenbench_locked", False):
        return
    save, load = cls.save, cls.load

    def locked_save(self, key, data):
        with _locked(self._cache_path, exclusive=True):
            return save(self, key, data)

    def locked_load(self, key):
        with _locked(self._cache_path, exclusive=False):
            return load(self, key)

    cls.save, cls.load, cls._avgenbench_locked = locked_save, locked_load, True


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches numba.core.caching right after it is first imported, without importing numba ourselves."""

    NAME = "numba.core.caching"

    def find_spec(self, fullname, path, target=None):
        if fullname != self.NAME:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


def install_guard() -> None:
    if _PatchOnImport.NAME in sys.modules:
        _patch(sys.modules[_PatchOnImport.NAME])
    elif not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


# the marker: a cache known to work --------------------------------------------------------------------------------------

def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0], "platform": sys.platform}
    for name in ("numba", "llvmlite", "librosa", "numpy"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "missing"
    return found


def _data_files(folder: Path) -> dict[str, str]:
    """sha256 of every compiled-kernel data file (*.nbc) under the folder, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.nbc")) if p.is_file()}


def _marker_holds(folder: Path) -> bool:
    try:
        marker = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict) or marker.get("versions") != _versions() or not marker.get("files"):
        return False
    for name, digest in marker["files"].items():
        path = folder / name
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                return False
        except OSError:
            return False
    return True


WARM_CODE = "from avgenbench.numba_cache import warm_up; warm_up()"


def warm_up() -> None:
    """Run pYIN once on a short tone (compiling its kernels into the cache, or loading them from it)."""
    import numpy as np

    from .perception.pitch import SAMPLE_RATE, pyin_track

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    _, midi = pyin_track((0.5 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32), SAMPLE_RATE)
    if not np.isfinite(midi).any():
        raise SystemExit("pYIN heard no pitch in a 220 Hz tone")


def _run_fresh_process(folder: Path) -> str:
    """'' when a fresh Python process ran `warm_up` with this cache folder, else why it failed."""
    env = {**os.environ, ENV: str(folder)}
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    try:
        done = subprocess.run([sys.executable, "-c", WARM_CODE], env=env, capture_output=True, text=True,
                              timeout=WARM_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"the warm-up took more than {WARM_TIMEOUT:.0f} s"
    if done.returncode == 0:
        return ""
    from .executor import death_cause

    tail = (done.stderr.strip().splitlines() or [""])[-1][:200]
    return f"the warm-up process ended with {death_cause(done.returncode)}" + (f": {tail}" if tail else "")


def ensure_healthy() -> str:
    """Make sure the numba cache holds pYIN's kernels and that a process can load them; rebuild it when not.
    Returns '' when the cache is fine, 'rebuilt' when it was (re)built, or why it could not be."""
    if not _OWN and os.environ.get(ENV) != str(cache_root() / "numba"):
        return ""  # the user's own folder: not ours to rebuild
    folder = cache_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / "numba.setup.lock", "a+b") as lock:
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # one process checks or builds; the others wait and reuse it
        if _marker_holds(folder):
            return ""
        _move_aside(folder)
        problem = _run_fresh_process(folder)  # compiles pYIN into the empty cache
        if not problem:
            problem = _run_fresh_process(folder)  # loads it from there, as every worker will
        if problem:
            _move_aside(folder)
            log.warning("numba cache %s could not be built (%s); processes compile pYIN themselves", folder, problem)
            return problem
        (folder / MARKER).write_text(json.dumps({"versions": _versions(), "files": _data_files(folder)}, indent=1))
        return "rebuilt"


def _move_aside(folder: Path) -> None:
    """Rename the folder away in one step (no process sees half of it), then delete it."""
    if not folder.exists():
        return
    trash = folder.with_name(f"{folder.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(folder, trash)
    shutil.rmtree(trash, ignore_errors=True)
