"""`avgenbench annotate`: freeze per-prompt annotations with the judge's text-only stages, or with rules."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from .common import EXIT_BAD_INPUT, EXIT_FAILED, command_group, err, fail, out

app = command_group()


@app.command("annotate")
def annotate_cmd(
    suite_dir: Path = typer.Option(..., "--suite", help="Suite folder (official layout)."),
    judge: Optional[str] = typer.Option(None, "--judge", help="gemini:MODEL or openai:MODEL; without it: rule-based."),
    judge_base_url: Optional[str] = typer.Option(None, "--judge-base-url", help="Judge endpoint override."),
    max_cost: Optional[float] = typer.Option(None, "--max-cost", min=0, help="Stop judge calls at this many USD."),
    out_file: Optional[Path] = typer.Option(None, "--out", help="Write here instead of SUITE_DIR/annotations.json."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable summary."),
) -> None:
    """Freeze per-prompt annotations (text-only judge stages, or rules) so every model is judged alike."""
    from ..annotations.judged import annotate, write_annotations
    from ..judge.client import client_from_options
    from ..judge.session import judge_options, judge_report
    from ..judge.types import JudgeError
    from ..suite import inspect_suite

    suite, problems = inspect_suite(suite_dir)
    if problems:
        fail(f"suite {suite_dir} has {len(problems)} problem(s); run `avgenbench suite validate {suite_dir}`", EXIT_BAD_INPUT)
    try:
        options = judge_options(judge, judge_base_url, max_cost, 1)
    except ValueError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    client = None
    if judge:
        try:
            client = client_from_options(options)
        except (JudgeError, ValueError) as exc:
            fail(str(exc), EXIT_BAD_INPUT)
    done = {"ok": 0, "error": 0, "budget": 0}

    def on_item(item, status):
        done[status] += 1
        if not as_json:
            err.print(f"[{sum(done.values())}/{len(suite.items)}] {item.key[:60]}: {status}", highlight=False, markup=False)

    doc, failures = annotate(suite, client, on_item)
    path = write_annotations(doc, suite.root, out_file)
    report = judge_report(options, []) if judge else None
    if as_json:
        sys.stdout.write(json.dumps({"path": str(path), "annotated": len(doc["items"]), "failed": failures,
                                     "made_by": doc["made_by"], **({"judge": report} if report else {})},
                                    indent=2) + "\n")
    else:
        out.print(f"{len(doc['items'])} of {len(suite.items)} prompts annotated -> {path}")
        for f in failures[:20]:
            err.print(f"failed: {f['key']}: {f['message']}", highlight=False)
        if report:
            err.print(report["text"], highlight=False, markup=False, soft_wrap=True)
    if failures:
        raise typer.Exit(EXIT_FAILED)
