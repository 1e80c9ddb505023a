"""`avgenbench demo`: synthetic clips for the bundled demo suite, evaluated, scored, reported, checked against truth."""

from __future__ import annotations

from pathlib import Path

import typer

from ..dimensions import DIMENSION_IDS
from ..score import expectation_of, score_rows
from ..store import Store
from .common import EXIT_FAILED, command_group, emit_json, err, fail, out
from .printing import print_card
from .running import run_eval

app = command_group()


@app.command("demo")
def demo_cmd(out_dir: Path = typer.Option(Path("avgen_demo"), "--out", help="Where clips, store and report go."),
             workers: int = typer.Option(2, "--workers", min=1, help="Parallel worker processes."),
             as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Offline demo: generate synthetic clips for the bundled demo suite, evaluate them (lite tier), score, report."""
    from .. import generation
    from ..suite import demo_suite_path, load_suite

    suite = load_suite(demo_suite_path())
    videos = out_dir / "videos" / "synthetic"
    if not as_json:
        err.print(f"generating {len(suite.items)} synthetic clips in {videos} ...")
    made = generation.run(suite, videos, "synthetic", settings=generation.Settings(concurrency=1, retries=0))
    if any(made.counts.get(k) for k in ("failed", "refused", "pending", "unsupported")):
        fail(f"the demo's synthetic clips could not all be rendered: {made.counts}", EXIT_FAILED)
    summary = run_eval(suite, videos, out_dir, "synthetic", "lite", list(DIMENSION_IDS), workers, False,
                       {"failure_policy": "strict"}, quiet=as_json)
    with Store.open_existing(out_dir) as store:
        card = score_rows(store.results("synthetic"), "strict", "synthetic", "lite",
                          expected=expectation_of(store.run_info("synthetic")))
    from ..report import build_report

    report = build_report(out_dir, out_dir / "report.html", ["synthetic"])
    from ..demo import truth_lines, truth_of_run

    truth = truth_of_run(out_dir, "synthetic")
    if as_json:
        emit_json({"eval": summary.as_dict(), "score": card.as_dict(), "truth": [c.as_dict() for c in truth],
                   "report": str(report)})
        return
    print_card(card, categories=True)
    for line in truth_lines(truth):
        out.print(line, soft_wrap=True, highlight=False, markup=False)
    out.print(f"store: {out_dir / 'avgenbench.sqlite'}  — try `avgenbench results {out_dir} --json`")
    out.print(f"report: {report}  — open it in a browser (works offline)")
