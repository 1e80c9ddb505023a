"""The one word normaliser for speech wording: lite WER and the paper tier's verbatim score both compare these tokens.

`normalize_words(text)`: Unicode NFKC, lower case, curly quotes straightened; numbers spelled out ("87" -> eighty
seven, "3.5" -> three point five, "1st" -> first, "1,000" -> one thousand, "%" -> percent, "&" -> and); punctuation,
dashes, hyphens and apostrophes removed ("don't" -> dont, "smart-ass" -> smart ass); and a tens word followed by a
units word joined into one token ("eighty seven", "eighty-seven" and "87" all give `eighty-seven`), so a two-digit
number counts as one word whichever way it was written.
"""

from __future__ import annotations

import re
import unicodedata

UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
         "seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
ORDINAL_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                     "nine": "ninth", "twelve": "twelfth"}
MAX_SPELLED = 10**15

_GROUPED = re.compile(r"(?<=\d),(?=\d{3}\b)")
_DECIMAL = re.compile(r"\b(\d+)\.(\d+)\b")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_NUMBER = re.compile(r"\d+")
_SEPARATORS = re.compile(r"[^\w\s]|_")


def spell_number(n: int) -> str:
    """Cardinal English words for 0 <= n < 10**15 ("eighty seven", "one hundred five")."""
    if n < 0 or n >= MAX_SPELLED:
        raise ValueError(f"cannot spell {n}")
    if n < 20:
        return UNITS[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + UNITS[n % 10])
    if n < 1000:
        rest = n % 100
        return UNITS[n // 100] + " hundred" + ("" if rest == 0 else " " + spell_number(rest))
    for size, name in SCALES:
        if n >= size:
            rest = n % size
            return spell_number(n // size) + " " + name + ("" if rest == 0 else " " + spell_number(rest))
    raise AssertionError("unreachable")


def spell_ordinal(n: int) -> str:
    """Ordinal words ("twenty first", "one hundredth")."""
    words = spell_number(n).split()
    last = words[-1]
    if last in ORDINAL_IRREGULAR:
        words[-1] = ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _digits(text: str, spell) -> str:
    """A digit string spelled out, or read digit by digit when too long for a number word."""
    n = int(text)
    if len(text) > 1 and text.startswith("0") or n >= MAX_SPELLED:
        return " ".join(UNITS[int(d)] for d in text)
    return spell(n)


def spell_numbers(text: str) -> str:
    """Every number in `text` written in words (the rest unchanged)."""
    text = _GROUPED.sub("", text)
    text = _DECIMAL.sub(lambda m: f" {_digits(m[1], spell_number)} point {' '.join(UNITS[int(d)] for d in m[2])} ", text)
    text = _ORDINAL.sub(lambda m: f" {_digits(m[1], spell_ordinal)} ", text)
    return _NUMBER.sub(lambda m: f" {_digits(m[0], spell_number)} ", text)


def normalize_words(text: str) -> list[str]:
    """The comparison tokens of `text` (see module docstring)."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("‘", "'")
    text = text.replace("%", " percent ").replace("&", " and ").replace("'", "")
    words = _SEPARATORS.sub(" ", spell_numbers(text)).split()
    joined: list[str] = []
    for word in words:
        if joined and word in UNITS[1:10] and joined[-1] in TENS[2:]:
            joined[-1] = f"{joined[-1]}-{word}"
        else:
            joined.append(word)
    return joined
