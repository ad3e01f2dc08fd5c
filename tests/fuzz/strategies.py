"""Hypothesis strategies for what clients send: JSON as the API decodes it, shaped like the platform's
payloads often enough to get past the first check, and wrong in every other way too."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic and bounded in CI (examples per test); RECOMS_HYPOTHESIS_EXAMPLES=5000 is a longer local run.
EXAMPLES = int(os.environ.get("RECOMS_HYPOTHESIS_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

# What orjson.loads can hand a parser: no NaN or infinity, integers within 64 bits, valid Unicode.
INTS = st.integers(min_value=-(2**63), max_value=2**64 - 1)
SCALARS = st.none() | st.booleans() | INTS | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=4), max_leaves=10)
NUMBER_TEXT = st.from_regex(r"[-+]?\d{1,20}([.,]\d{1,6})?( ?[A-Z]{3})?", fullmatch=True)
PLAIN = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)


def mostly(valid: st.SearchStrategy, wild: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a plausible value, so that parsing gets past the first field; now and then a wild one."""
    return st.integers(0, 5).flatmap(lambda i: wild if i == 5 else valid)  # one_of() would weigh them 1:1


NUMBERS = mostly(st.integers(0, 10**6) | st.floats(0, 1e6) | st.from_regex(r"\d{1,6}([.,]\d{2})?", fullmatch=True),
                 INTS | st.floats(allow_nan=False, allow_infinity=False) | NUMBER_TEXT
                 | st.sampled_from(["", " ", "1e999", "-1"]))
TEXT = mostly(PLAIN, st.text(max_size=40) | st.sampled_from(["", " ", "\x00", "a" * 300, "Home > Kitchen"]))
EMAILS = mostly(st.emails(), TEXT)
PHONES = mostly(st.from_regex(r"\+?\d{7,14}", fullmatch=True),
                st.from_regex(r"\+?\d[\d ()-]{5,18}", fullmatch=True) | TEXT)
FLAGS = st.sampled_from([0, 1, "0", "1", "true", "false", True, False, 2, "yes", None])
TIMES_MS = mostly(st.integers(1_600_000_000_000, 1_764_000_000_000) | st.integers(1_600_000_000, 1_764_000_000),
                  INTS | NUMBER_TEXT)
ZONES = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60))
ISO_TIMES = mostly(
    st.datetimes(max_value=datetime(2025, 1, 1)).map(lambda d: d.isoformat(timespec="milliseconds") + "Z"),
    st.datetimes(timezones=st.none() | ZONES).map(datetime.isoformat) | TEXT,
)


def loose(value: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly the expected kind of value, else any JSON at all."""
    return mostly(value, JSON)


def shaped(fields: dict[str, st.SearchStrategy], required: dict[str, st.SearchStrategy] | None = None,
           ) -> st.SearchStrategy[dict[str, Any]]:
    """An object with some of the known fields (each of the right kind or anything), and stray ones."""
    known = st.fixed_dictionaries(required or {},
                                  optional={k: loose(v) for k, v in fields.items()})
    stray = st.dictionaries(st.text(max_size=8), JSON, max_size=2) | st.just({})
    return st.builds(lambda a, b: {**b, **a}, known, stray)


def items(fields: dict[str, st.SearchStrategy]) -> st.SearchStrategy[list[Any]]:
    return st.lists(loose(shaped(fields)), max_size=4)
