"""`avgenbench generate`: fill a videos folder for a suite with a provider (generation/), resumable, never paying twice."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .. import generation
from .common import EXIT_BAD_INPUT, EXIT_FAILED, command_group, emit_json, err, fail, load_suite_or_exit

app = command_group()


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
    from ..generation.report import print_summary, progress_bar

    if provider not in generation.PROVIDERS:
        fail(f"unknown provider {provider!r}; known: {', '.join(generation.PROVIDERS)}", EXIT_BAD_INPUT)
    suite = load_suite_or_exit(suite_dir)
    try:
        extra = generation.parse_params(params)
    except ValueError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    options = generation.Options(model, duration, resolution, aspect_ratio, audio, extra)
    settings = generation.Settings(concurrency, max_cost, dry_run, retries, overwrite=overwrite, retry_failed=retry_failed)
    with progress_bar(err, len(suite.items), enabled=not as_json) as advance:
        try:
            summary = generation.run(suite, out_dir, provider, options, settings, prices, on_outcome=advance)
        except (generation.Fatal, generation.PriceError) as exc:
            fail(str(exc), EXIT_BAD_INPUT)
    if as_json:
        emit_json(summary.as_dict())
    else:
        print_summary(summary)
    if any(summary.counts.get(k) for k in ("failed", "refused", "pending")):
        raise typer.Exit(EXIT_FAILED)
