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
from typing import Any, Callable, Optional

import typer

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


def register(app) -> None:
    from . import generation

    @app.command("generate")
    def generate_cmd(
        out_dir: Path = typer.Argument(..., help="Videos folder to fill: OUT/<category>/<safe name>.mp4."),
        suite_dir: Path = typer.Option(..., "--suite", help="Suite folder (official layout)."),
        provider: str = typer.Option("synthetic", "--provider", help=f"One of: {', '.join(generation.PROVIDERS)}."),
        model: Optional[str] = typer.Option(None, "--model", help="Model id (default: the provider's, see README)."),
        concurrency: int = typer.Option(4, "--concurrency", min=1, help="Jobs in flight at once."),
        max_cost: Optional[float] = typer.Option(None, "--max-cost", min=0, help="Stop submitting at this estimated spend (USD)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be submitted and its estimated cost."),
        prices: Optional[Path] = typer.Option(None, "--prices", help="JSON price table laid over the defaults."),
        duration: float = typer.Option(10.0, "--duration", min=1, help="Seconds per video (providers round to what they accept)."),
        resolution: str = typer.Option("720p", "--resolution"),
        aspect_ratio: str = typer.Option("16:9", "--aspect-ratio"),
        audio: bool = typer.Option(True, "--audio/--no-audio", help="Ask for audio where the model has a switch."),
        params: list[str] = typer.Option([], "--param", help="Provider-specific field KEY=VALUE (VALUE read as JSON when it parses), repeatable."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Regenerate files that already exist."),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="Resubmit prompts recorded as failed or refused."),
        retries: int = typer.Option(4, "--retries", min=0, help="Retries of each call on transient errors."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Generate videos for a suite with a provider; resumable, never submits a prompt twice (job ledger in OUT).
        Exit 1 when a prompt failed, was refused or is still pending."""
        from .cli import EXIT_BAD_INPUT, EXIT_FAILED, _emit_json, _fail, _load_suite_or_exit, err
        from .generation.report import print_summary, progress_bar

        if provider not in generation.PROVIDERS:
            _fail(f"unknown provider {provider!r}; known: {', '.join(generation.PROVIDERS)}", EXIT_BAD_INPUT)
        suite = _load_suite_or_exit(suite_dir)
        try:
            extra = generation.parse_params(params)
        except ValueError as exc:
            _fail(str(exc), EXIT_BAD_INPUT)
        options = generation.Options(model, duration, resolution, aspect_ratio, audio, extra)
        settings = generation.Settings(concurrency, max_cost, dry_run, retries, overwrite=overwrite, retry_failed=retry_failed)
        with progress_bar(err, len(suite.items), enabled=not as_json) as advance:
            try:
                summary = generation.run(suite, out_dir, provider, options, settings, prices, on_outcome=advance)
            except (generation.Fatal, generation.PriceError) as exc:
                _fail(str(exc), EXIT_BAD_INPUT)
        if as_json:
            _emit_json(summary.as_dict())
        else:
            print_summary(summary)
        if any(summary.counts.get(k) for k in ("failed", "refused", "pending")):
            raise typer.Exit(EXIT_FAILED)
