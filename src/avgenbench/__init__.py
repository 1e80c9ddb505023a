"""avgenbench: the AVGen-Bench benchmark for text-to-audio-video generators."""

from . import numba_cache as _numba_cache

__version__ = "0.1.0"

# librosa's numba kernels compile on first use (~4 s); a persistent cache under the cache root lets later processes
# reuse them, with its reads and writes locked so that processes compiling at once cannot break it.
_numba_cache.setup()
