"""Identifier normal forms and the tracker field names that carry them."""

from __future__ import annotations

import pytest

from recoms.domain.identity import IdentifierError, from_fields, normalise


def test_normal_forms():
    assert normalise("email", " Ann@Shop.TEST ") == "ann@shop.test"
    assert normalise("phone", "+38 (050) 123-45-67") == "380501234567"
    assert normalise("external_id", 42) == "42"


@pytest.mark.parametrize(("kind", "value"), [("email", "nope"), ("phone", "12"), ("email", ["a@b"]),
                                             ("cookie", ""), ("email", True)])
def test_bad_identifiers_are_refused(kind, value):
    with pytest.raises(IdentifierError):
        normalise(kind, value)


def test_field_names_map_to_kinds_and_empty_ones_are_skipped():
    ids = from_fields({"user_email": "A@B.C", "extid": "c1", "sc": "cookie-1", "phone": "", "userPseudoId": None})
    assert ids == {"email": "a@b.c", "external_id": "c1", "cookie": "cookie-1"}
