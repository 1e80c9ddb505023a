"""An eval with a progress bar on stderr: shared by `eval` and `demo`."""

from __future__ import annotations

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .common import EXIT_BAD_INPUT, err, fail


def run_eval(suite, videos_dir, out_dir, run, tier, dims, workers, force, options, quiet=False, retry_errors=False,
             executor=None):
    """Evaluate the suite's videos (runner.evaluate) with progress, crash notes and the judge's call counts."""
    from ..judge.session import judge_progress
    from ..runner import evaluate
    from ..store import RunFolderConflict, RunTierConflict

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=err, disable=quiet)
    with progress:
        task = progress.add_task(escape(f"eval {run} [{tier}]"), total=None)

        def on_plan(n: int, crashed_kept: dict[str, str]) -> None:
            progress.update(task, total=n)
            if crashed_kept:
                err.print(f"{len(crashed_kept)} video(s) killed their worker process in an earlier run and are not "
                          f"measured again (their rows stay `error`): {', '.join(sorted(crashed_kept))}; "
                          "pass --retry-errors to try them again", highlight=False, soft_wrap=True)

        def on_progress(result) -> None:
            bad = sum(1 for m in result.measurements if m[3].status == "error")
            judged = judge_progress(options)
            label = escape(f"eval {run} [{tier}]") + judged + (f" ({bad} errors)" if bad else "")
            progress.update(task, advance=1, description=f"{label} {escape(result.item.key[:24])}")

        try:
            summary = evaluate(suite, videos_dir, out_dir, run, tier, dims, workers or 1, force, options, on_progress,
                               on_plan, retry_errors=retry_errors, executor=executor)
        except (RunTierConflict, RunFolderConflict) as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except RuntimeError as exc:  # the Ray cluster could not be reached (executor_ray.RayUnavailable)
            if type(exc).__name__ != "RayUnavailable":
                raise
            fail(str(exc), EXIT_BAD_INPUT)
    for key, cause in summary.crashed.items():
        err.print(f"{key}: the worker process died ({cause}) while measuring this video; its rows are `error` and "
                  "the other videos went on", highlight=False, soft_wrap=True)
    return summary
