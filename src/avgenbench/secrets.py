"""One rule for keeping secrets out of messages, stores, ledgers and reports.

A secret is a key a backend or provider was given, or the value of an environment variable whose name says it holds
one (…KEY, …TOKEN, …SECRET, PASSW…, CREDENTIAL…, AUTH…; values of at least MIN_ENV_LENGTH characters, so that a
variable like `AUTH=1` does not blank every '1'). Each is replaced by MASK wherever it appears.
"""

from __future__ import annotations

import os
import re
from typing import Iterable

MASK = "[redacted]"
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.I)
MIN_ENV_LENGTH = 8


def environment_secrets(environ: dict[str, str] | None = None) -> list[str]:
    """Values of secret-named environment variables."""
    env = os.environ if environ is None else environ
    return [v for name, v in env.items() if SECRET_NAME.search(name) and len(v) >= MIN_ENV_LENGTH]


def redact(text: str, secrets: Iterable[str] = (), environ: dict[str, str] | None = None) -> str:
    """`text` with every given secret and every secret-named environment value replaced by MASK (longest first, so a
    secret that contains another is masked whole)."""
    known = {s for s in secrets if s} | set(environment_secrets(environ))
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
