"""avgenbench: the AVGen-Bench benchmark for text-to-audio-video generators."""

import os as _os

from .cachedir import cache_root as _cache_root

__version__ = "0.1.0"

# librosa's numba kernels compile on first use (~4 s); a persistent cache lets later processes reuse them.
_os.environ.setdefault("NUMBA_CACHE_DIR", str(_cache_root() / "numba"))
