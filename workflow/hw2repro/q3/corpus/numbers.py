"""Numbers as LJ Speech's normalized column spells them: counts, ordinals and years in words."""

from __future__ import annotations

_ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORD = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
    "twenty": "twentieth",
    "thirty": "thirtieth",
}


def number_words(n: int) -> str:
    """Cardinal in words, LJ-style hyphenation (``twenty-two``), for 1 <= n <= 99."""
    if n < 10:
        return _ONES[n]
    if n < 20:
        return _TEENS[n - 10]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def ordinal_words(n: int) -> str:
    """Ordinal in words (``twenty-second``), for 1 <= n <= 99."""
    words = number_words(n)
    head, _, last = words.rpartition("-")
    last = _ORD.get(last, last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return f"{head}-{last}" if head else last


def year_words(year: int) -> str:
    """A year of 1801..1999 as LJ reads it: 1963 -> ``nineteen sixty-three``, 1805 -> ``eighteen oh five``."""
    century, rest = divmod(year, 100)
    tail = "hundred" if rest == 0 else (f"oh {_ONES[rest]}" if rest < 10 else number_words(rest))
    return f"{number_words(century)} {tail}"
