"""A stand-in for runner.run_unit that pool workers import by name: it dies hard on videos named 'crash' (while
CRASH_ENV is set), sleeps on videos named 'slow...', and otherwise measures the unit for real."""

import os
import signal
import time

from avgenbench.runner import run_unit

CRASH_ENV = "AVGENBENCH_TEST_CRASH"


def run_unit_or_die(unit):
    content = unit.item.content
    if content == "crash" and os.environ.get(CRASH_ENV):
        os.kill(os.getpid(), signal.SIGSEGV)  # what a native crash in a decoder or model does
    if content.startswith("slow"):
        time.sleep(120)
    return run_unit(unit)


SLEEP_ENV = "AVGENBENCH_TEST_UNIT_SLEEP"


def run_unit_slowly(unit):
    """Measures the unit for real after sleeping $AVGENBENCH_TEST_UNIT_SLEEP seconds (a slow model, for tests that
    act while units run)."""
    time.sleep(float(os.environ.get(SLEEP_ENV, "0")))
    return run_unit(unit)


def start_time(unit):
    """The unit and the wall-clock time its worker began it (for tests of when units are handed out)."""
    return unit, time.time()
