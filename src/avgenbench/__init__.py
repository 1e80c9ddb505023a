"""avgenbench: the AVGen-Bench benchmark for text-to-audio-video generators."""

import os as _os

__version__ = "0.1.0"

# librosa's numba kernels compile on first use (~4 s); a persistent cache lets later processes reuse them.
_cache = _os.environ.get("XDG_CACHE_HOME") or _os.path.join(_os.path.expanduser("~"), ".cache")
_os.environ.setdefault("NUMBA_CACHE_DIR", _os.path.join(_cache, "avgenbench", "numba"))
