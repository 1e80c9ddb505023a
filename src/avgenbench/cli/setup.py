"""`avgenbench setup paper`: one virtual environment per paper-tier model (model_envs.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import EXIT_BAD_INPUT, EXIT_FAILED, command_group, dimensions_or_exit, err, fail

app = command_group(help="Set up what a tier needs beyond the install.", no_args_is_help=True)


@app.command("paper")
def setup_paper_cmd(
    dimensions: Optional[str] = typer.Option(None, "--dimensions", help="Comma list of dimensions whose models to set up (default: every model)."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Folder with weights already on disk (DIR/<file> or DIR/<model>/<file>), for machines without internet."),
    find_links: list[Path] = typer.Option([], "--find-links", help="Local folder of wheels for pip (repeatable)."),
    no_index: bool = typer.Option(False, "--no-index", help="Install only from --find-links (no package index)."),
    repos: Optional[Path] = typer.Option(None, "--repos", help="Folder with local clones of repository-only upstreams (DIR/<model>)."),
) -> None:
    """One virtual environment per paper-tier model under the cache root: pinned packages, the upstream repository at
    a pinned commit where it is not on PyPI, and the weights with their SHA-256. Idempotent: a ready model is left as it
    is. Exits 1 when a model could not be set up (the message says why and how to fix it)."""
    from ..model_envs import MODEL_ENVS, SetupError, setup

    dims = dimensions_or_exit(dimensions)
    names = [name for name, env in MODEL_ENVS.items() if env.dimension in dims]
    if not names:
        fail(f"no paper-tier model to set up for {', '.join(dims)} (the judge dimensions need --judge only)", EXIT_BAD_INPUT)
    failed = []
    for name in names:
        try:
            setup([name], weights, find_links, no_index, repos, log=lambda line: err.print(line, highlight=False, markup=False))
        except SetupError as exc:
            failed.append(name)
            err.print(f"{name}: {exc}", highlight=False, markup=False, soft_wrap=True)
    if failed:
        err.print(f"not set up: {', '.join(failed)}", highlight=False)
        raise typer.Exit(EXIT_FAILED)
