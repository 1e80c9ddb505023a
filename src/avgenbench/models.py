"""Model files that ship inside installed wheels, and ONNX sessions created once per process."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

_SESSIONS: dict[tuple[str, int], object] = {}
_LOCK = threading.Lock()


def package_file(package: str, relative: str) -> Path | None:
    """`relative` inside an installed package's folder, found without importing the package; None if absent."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    return None


def require_package_file(package: str, relative: str, purpose: str) -> Path:
    """Like `package_file`, but a RuntimeError that says what is missing and what it is for."""
    path = package_file(package, relative)
    if path is None:
        raise RuntimeError(f"{package}/{relative} is not installed; it is needed for {purpose}")
    return path


def onnx_session(path: Path, threads: int = 1):
    """A CPU onnxruntime session for `path`, shared by every caller in this process."""
    key = (str(path), threads)
    with _LOCK:
        if key not in _SESSIONS:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 4
            _SESSIONS[key] = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        return _SESSIONS[key]
