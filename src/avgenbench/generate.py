"""Generation providers: a prompt in, an mp4 out; and a runner that fills a videos folder for a suite.

A provider implements `generate(item, out_path)` and raises `ProviderError` for failures worth retrying (rate limits,
timeouts, server errors) and `UnsupportedPrompt` for prompts it cannot render. The runner writes
`<out>/<category>/<safe_filename(content)>.mp4`, skips files that already exist (resume), retries provider errors with
exponential backoff, and writes through a temporary name so an interrupted call never leaves a file that looks finished.
`synthetic` renders prompts that carry a `synthetic` clip spec (the demo's path). The `generate` command runs
`avgenbench.generation` instead: API and local providers behind submit/poll/download, with a job ledger.
"""

from __future__ import annotations

import glob
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from .suite import PromptItem, Suite


class ProviderError(RuntimeError):
    """A failure that may pass on retry (network, quota, server)."""


class UnsupportedPrompt(ValueError):
    """The provider cannot render this prompt at all; not retried."""


class Provider(ABC):
    name: str = ""

    def supports(self, item: PromptItem) -> bool:
        return True

    @abstractmethod
    def generate(self, item: PromptItem, out_path: Path) -> None:
        """Write an mp4 for `item` to `out_path` (the runner renames it into place afterwards)."""


class SyntheticProvider(Provider):
    """Renders the `synthetic` clip spec a prompt carries (see synthetic/spec.py), with its truth sidecar."""

    name = "synthetic"

    def supports(self, item: PromptItem) -> bool:
        return isinstance(item.extra.get("synthetic"), dict)

    def generate(self, item: PromptItem, out_path: Path) -> None:
        from .synthetic.generator import render

        if not self.supports(item):
            raise UnsupportedPrompt(f"{item.key} carries no 'synthetic' clip spec")
        render(item.extra["synthetic"], out_path)


PROVIDERS: dict[str, Callable[[], Provider]] = {"synthetic": SyntheticProvider}


def get_provider(name: str) -> Provider:
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; known: {', '.join(PROVIDERS)}") from None


@dataclass
class GenerationResult:
    key: str
    path: str
    status: str  # written | exists | unsupported | failed
    attempts: int = 0
    seconds: float = 0.0
    message: str = ""


def _sidecars(tmp: Path, final: Path) -> list[tuple[Path, Path]]:
    """Files a provider wrote next to the temporary video (e.g. `.truth.json`), paired with their final names."""
    pairs = []
    for extra in tmp.parent.glob(glob.escape(tmp.stem) + ".*"):
        if extra != tmp:
            pairs.append((extra, final.with_name(final.stem + extra.name[len(tmp.stem):])))
    return pairs


def generate_one(provider: Provider, item: PromptItem, out_dir: Path, overwrite: bool = False, retries: int = 3,
                 backoff: float = 2.0, sleep: Callable[[float], None] = time.sleep) -> GenerationResult:
    final = item.expected_video(out_dir)
    result = GenerationResult(item.key, str(final), "exists")
    if final.exists() and not overwrite:
        return result
    if not provider.supports(item):
        result.status, result.message = "unsupported", f"provider {provider.name} cannot render this prompt"
        return result
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".partial-{final.stem}.mp4")
    t0 = time.perf_counter()
    for attempt in range(1, retries + 2):
        result.attempts = attempt
        try:
            provider.generate(item, tmp)
            if not tmp.is_file() or tmp.stat().st_size == 0:
                raise ProviderError("provider returned without writing a video")
            for src, dst in _sidecars(tmp, final):
                src.replace(dst)
            tmp.replace(final)
            result.status, result.message = "written", ""
            break
        except UnsupportedPrompt as exc:
            result.status, result.message = "unsupported", str(exc)
            break
        except ProviderError as exc:
            result.status, result.message = "failed", f"attempt {attempt}: {exc}"
            if attempt <= retries:
                sleep(backoff * 2 ** (attempt - 1))
        finally:
            for src, _ in _sidecars(tmp, final):
                src.unlink(missing_ok=True)
            tmp.unlink(missing_ok=True)
    result.seconds = round(time.perf_counter() - t0, 3)
    return result


def generate_suite(suite: Suite, provider: Provider, out_dir: Path | str, overwrite: bool = False, retries: int = 3,
                   backoff: float = 2.0, sleep: Callable[[float], None] = time.sleep,
                   on_result: Callable[[GenerationResult], None] | None = None) -> list[GenerationResult]:
    """Generate every prompt of the suite the provider supports; resumable (existing files are kept)."""
    results = []
    for item in suite.items:
        result = generate_one(provider, item, Path(out_dir), overwrite, retries, backoff, sleep)
        results.append(result)
        if on_result:
            on_result(result)
    return results


def summarize(results: list[GenerationResult]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {"counts": counts, "results": [asdict(r) for r in results]}
