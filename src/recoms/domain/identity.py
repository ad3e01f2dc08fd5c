"""Contact identifiers: their kinds, the order they are trusted in, and their normal forms."""

from __future__ import annotations

import re

# Looked up in this order: the first known one names the contact (SPEC §2).
KINDS = ("external_id", "email", "phone", "pseudo_id", "cookie")

# Request / tracker field names -> identifier kinds.
FIELD_KINDS = {
    "externalCustomerId": "external_id",
    "extid": "external_id",
    "email": "email",
    "user_email": "email",
    "phone": "phone",
    "user_phone": "phone",
    "userPseudoId": "pseudo_id",
    "deviceId": "pseudo_id",
    "cookie": "cookie",
    "sc": "cookie",
    "webId": "cookie",
}

_FIELD_ORDER = {name: i for i, name in enumerate(FIELD_KINDS)}
_PHONE_DROP = re.compile(r"[\s().\-]")


class IdentifierError(ValueError):
    pass


def normalise(kind: str, value: object) -> str:
    """The stored form of one identifier, or IdentifierError saying what is wrong."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise IdentifierError(f"{kind} must be a string")
    text = str(value).strip()
    if not text:
        raise IdentifierError(f"{kind} is empty")
    if len(text) > 320:
        raise IdentifierError(f"{kind} is longer than 320 characters")
    if kind == "email":
        if "@" not in text or text.startswith("@") or text.endswith("@"):
            raise IdentifierError(f"email {text!r} is not an email address")
        return text.lower()
    if kind == "phone":
        digits = _PHONE_DROP.sub("", text).removeprefix("+")
        if not digits.isdigit() or not 5 <= len(digits) <= 20:
            raise IdentifierError(f"phone {text!r} is not a phone number")
        return digits
    return text


def from_fields(fields: dict[str, object]) -> dict[str, str]:
    """Identifier kinds -> normal values, from a dict using request/tracker field names.

    Missing, null and empty-string fields are skipped; a value of the wrong type is an error.
    """
    # The fields present, in FIELD_KINDS' order (the first of two names for a kind wins): a pass over the
    # few fields an event has, not over every name (identity is read for every event of an import).
    names = [name for name in fields if name in FIELD_KINDS]
    if len(names) > 1:
        names.sort(key=_FIELD_ORDER.__getitem__)
    found: dict[str, str] = {}
    for name in names:
        value, kind = fields[name], FIELD_KINDS[name]
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if kind not in found:
            found[kind] = normalise(kind, value)
    return found
