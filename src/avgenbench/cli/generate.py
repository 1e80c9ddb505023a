"""`avgenbench generate`: fill a videos folder for a suite with a provider."""

from __future__ import annotations

from pathlib import Path

import typer

from ..generate import PROVIDERS
from .common import EXIT_BAD_INPUT, EXIT_FAILED, command_group, emit_json, err, fail, load_suite_or_exit, out

app = command_group()


@app.command("generate")
def generate_cmd(
    out_dir: Path = typer.Argument(..., help="Videos folder to fill: OUT/<category>/<safe name>.mp4."),
    suite_dir: Path = typer.Option(..., "--suite", help="Suite folder (official layout)."),
    provider: str = typer.Option("synthetic", "--provider", help=f"One of: {', '.join(PROVIDERS)}."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Regenerate files that already exist."),
    retries: int = typer.Option(3, "--retries", min=0, help="Retries per prompt on provider errors."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Generate videos for a suite with a provider; resumable. Exit 1 when a prompt failed after retries."""
    from ..generate import GenerationResult, generate_suite, get_provider, summarize

    try:
        chosen = get_provider(provider)
    except KeyError as exc:
        fail(str(exc.args[0]), EXIT_BAD_INPUT)
    suite = load_suite_or_exit(suite_dir)

    def show(r: GenerationResult) -> None:
        if not as_json:
            err.print(f"{r.status:11s} {r.key}" + (f"  ({r.message})" if r.message else ""), highlight=False, markup=False)

    results = generate_suite(suite, chosen, out_dir, overwrite, retries, on_result=show)
    summary = summarize(results)
    if as_json:
        emit_json(summary)
    else:
        out.print(" ".join(f"{k}: {v}" for k, v in sorted(summary["counts"].items())))
    if summary["counts"].get("failed"):
        raise typer.Exit(EXIT_FAILED)
