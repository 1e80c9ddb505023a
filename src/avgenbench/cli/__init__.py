"""The avgenbench command line: parse, call the library, print.

Nothing in the package imports this package; only `python -m avgenbench` and the console script do. Each module here
holds one command group on its own Typer and imports `common` (exit codes, consoles, JSON output, error exits), the
shared printing helpers and library code, never another command module; this module assembles them into `app`.
"""

from __future__ import annotations

import typer

from .. import __version__
from . import cache, calibrate, demo, doctor, generate, judge, report, results, runs, setup, suite
from . import eval as eval_
from .common import EXIT_CODES, err, out

__all__ = ["app", "main", "out", "err"]

app = typer.Typer(help="AVGen-Bench for text-to-audio-video generators. " + EXIT_CODES,
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)


def _version(value: bool) -> None:
    if value:
        out.print(f"avgenbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version.")) -> None:
    pass


# Commands first, in the order `--help` lists them, then the groups with subcommands.
for _module in (eval_, results, doctor, demo, calibrate, generate, judge, report):
    app.add_typer(_module.app)
for _name, _module in (("suite", suite), ("runs", runs), ("cache", cache), ("setup", setup)):
    app.add_typer(_module.app, name=_name)


def main() -> None:
    app()
