"""avgenbench: the AVGen-Bench benchmark for text-to-audio-video generators."""

__version__ = "0.1.0"
