"""What the Reteno SDKs make of a recommendation response, in Python, and how they write requests.

Ported from the SDKs' behaviour as /tmp/compat/reteno.md §4 describes it (reference port:
/tmp/compat/convert_recoms_ref.py), not from their code:

- Android `String.convertRecoms(cls)` + `RecommendationRepositoryImpl`: org.json reads the body and
  re-serialises each item (integral doubles print as longs), Gson maps it onto the app's class (missing
  -> null, unknown keys ignored, lenient coercions); anything thrown -> `onSuccessFallbackToJson(raw)`.
- iOS `RecomsResponseHandler<T>` (typed: strict JSONDecoder per item, bad items dropped, a bad root
  fails the call) and `getRecomJSONs` (the `recoms` array or [], no typing).

A schema maps a field to its declared type: "string", "double", "float", "int", "long", "boolean",
"list[string]", "url" (iOS `URL?`; a string on Android) or "any". iOS schemas give (type, required).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

# ---- the apps' models ------------------------------------------------------------------------------

# Android sample app `RecommendationResponseFull` (every property nullable but productId).
ANDROID_FULL = {
    "productId": "string", "category": "list[string]", "categoryAncestor": "list[string]",
    "categoryLayout": "list[string]", "categoryParent": "list[string]", "date_created_as": "string",
    "date_created_es": "string", "date_modified_as": "string", "descr": "string", "imageUrl": "string",
    "item_group": "string", "name": "string", "name_keyword": "string", "price": "double", "product_id": "string",
    "tags_all_category_names": "string", "tags_bestseller": "string", "tags_discount": "string",
    "tags_old_price": "string", "tags_oldprice": "string", "tags_rating": "string", "url": "string",
}
ANDROID_MINIMAL = {"productId": "string", "descr": "string"}
# An app model reading our mandatory fields the way a Kotlin data class would declare them.
ANDROID_SHOP = {"productId": "string", "name": "string", "url": "string", "price": "double", "brand": "string",
                "category": "list[string]", "isInStock": "int", "imageUrl": "string", "descr": "string"}

# iOS example app `Recommendation` (productId, name, descr -> description, imageUrl: URL?, price: Float).
IOS_SAMPLE = {"productId": ("string", True), "name": ("string", True), "descr": ("string", True),
              "imageUrl": ("url", False), "price": ("float", True)}
IOS_MINIMAL = {"productId": ("string", True)}


# ---- Android ---------------------------------------------------------------------------------------

class GsonError(Exception):
    """Anything convertRecoms would throw (JSONException, JsonSyntaxException, NumberFormatException)."""


def java_double(d: float) -> str:
    """java.lang.Double.toString: plain in [1e-3, 1e7), else computerized notation (1.0E7)."""
    if d == 0 or 1e-3 <= abs(d) < 1e7:
        text = repr(float(d))
        return text if "." in text or "e" in text else text + ".0"
    sign, digits, exponent = Decimal(repr(float(d))).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    power = len(digits) - 1 + exponent
    mantissa = f"{digits[0]}." + ("".join(map(str, digits[1:])) or "0")
    return ("-" if sign else "") + f"{mantissa}E{power}"


def orgjson_number(v: int | float) -> str:
    """A number as Android org.json writes it back (JSONObject.toString): 23.0 -> "23"."""
    if isinstance(v, int):
        return str(v)
    if v == int(v) and abs(v) < 2**63:
        return str(int(v))
    return java_double(v)


def _as_string(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return orgjson_number(v)
    if isinstance(v, str):
        return v
    raise GsonError(f"Expected a string but was BEGIN_{'ARRAY' if isinstance(v, list) else 'OBJECT'}")


def _as_double(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, (bool, list, dict)):
        raise GsonError("Expected a double")
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            raise GsonError(f"NumberFormatException: {v!r}") from None
    return float(v)


def _as_integer(v: Any, bits: int) -> int | None:
    if v is None:
        return None
    if isinstance(v, (bool, list, dict)):
        raise GsonError("Expected an int")
    if isinstance(v, str):
        try:
            v = float(v) if any(c in v for c in ".eE") else int(v)
        except ValueError:
            raise GsonError(f"NumberFormatException: {v!r}") from None
    if isinstance(v, float):
        if v != int(v):
            raise GsonError(f"NumberFormatException: {v} is not an integer")
        v = int(v)
    if not -(2 ** (bits - 1)) <= v < 2 ** (bits - 1):
        raise GsonError("NumberFormatException: out of range")
    return v


def _as_boolean(v: Any) -> bool | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        return v.lower() == "true"  # Boolean.parseBoolean
    raise GsonError("Expected a boolean")


def _as_strings(v: Any) -> list[str | None] | None:
    if v is None:
        return None
    if not isinstance(v, list):
        raise GsonError("Expected BEGIN_ARRAY")
    return [_as_string(x) for x in v]


GSON = {
    "string": _as_string, "url": _as_string, "double": _as_double, "float": _as_double,
    "int": lambda v: _as_integer(v, 32), "long": lambda v: _as_integer(v, 64), "boolean": _as_boolean,
    "list[string]": _as_strings, "any": lambda v: v,
}


def convert_recoms(body: str, schema: dict[str, str]) -> tuple[str, Any]:
    """("success", [objects]) as `onSuccess(Recoms(list))`, or ("fallback", body) as `onSuccessFallbackToJson`."""
    try:
        root = json.loads(body)
        if not isinstance(root, dict):
            raise GsonError("JSONObject text must begin with '{'")
        recoms = root["recoms"]
        if not isinstance(recoms, list):
            raise GsonError("recoms is not a JSONArray")
        out = []
        for element in recoms:
            if not isinstance(element, dict):
                raise GsonError("not a JSONObject")
            out.append({name: GSON[kind](element.get(name)) for name, kind in schema.items()})
        return "success", out
    except Exception:
        return "fallback", body


# ---- iOS -------------------------------------------------------------------------------------------

def _ios_url(v: Any) -> bool:
    # URL(string:) refuses "" and characters that must be escaped; JSONDecoder then throws.
    return isinstance(v, str) and bool(v) and not any(c.isspace() or c in '"<>\\^`{|}' for c in v)


def _ios_decodes(v: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(v, str)
    if kind == "url":
        return _ios_url(v)
    if kind in ("double", "float"):
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind in ("int", "long"):
        return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v == int(v))
    if kind == "boolean":
        return isinstance(v, bool)
    if kind == "list[string]":
        return isinstance(v, list) and all(isinstance(x, str) for x in v)
    return True


def ios_get_recoms(body: str, schema: dict[str, tuple[str, bool]]) -> tuple[str, Any]:
    """`getRecoms<T>`: ("success", decoded items; an item that does not decode is dropped) or ("failure", why)."""
    try:
        root = json.loads(body)
    except ValueError:
        return "failure", "JSONSerialization error"
    if (not isinstance(root, dict) or not isinstance(root.get("recoms"), list)
            or not all(isinstance(e, dict) for e in root["recoms"])):
        return "failure", "NetworkError(title: Serialization error)"
    decoded = []
    for element in root["recoms"]:
        ok = True
        for name, (kind, required) in schema.items():
            if element.get(name) is None:
                ok = ok and not required
            elif not _ios_decodes(element[name], kind):
                ok = False
        if ok:
            decoded.append({name: element.get(name) for name in schema})
    return "success", decoded


def ios_get_recom_jsons(body: str) -> tuple[str, Any]:
    """`getRecomJSONs`: the root must be an object; `recoms as? [[String: Any]] ?? []`."""
    try:
        root = json.loads(body)
    except ValueError:
        return "failure", "JSONSerialization error"
    if not isinstance(root, dict):
        return "failure", "not a dictionary"
    recoms = root.get("recoms")
    if not isinstance(recoms, list) or not all(isinstance(e, dict) for e in recoms):
        return "success", []
    return "success", recoms


def ios_network_error(body: str) -> dict[str, Any] | None:
    """`NetworkError` decoded from an error body (title required), or None (then a ContainerError)."""
    try:
        root = json.loads(body)
    except ValueError:
        return None
    if not isinstance(root, dict) or not isinstance(root.get("title"), str):
        return None
    detail = root.get("detail")
    if detail is not None and not isinstance(detail, str):
        return None
    return {"title": root["title"], "detail": detail}


# ---- how the SDKs write JSON -----------------------------------------------------------------------

_GSON_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "=": "\\u003d", "'": "\\u0027"}


def gson(value: Any) -> str:
    """Gson().toJson: compact, declaration (insertion) order, nulls left out, HTML characters escaped."""
    text = json.dumps(_without_nulls(value), separators=(",", ":"), ensure_ascii=False)
    for char, escaped in _GSON_HTML.items():
        text = text.replace(char, escaped)
    return text


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def gson_double(value: float) -> str:
    return java_double(value)


def org_json(value: Any) -> str:
    """Android org.json `JSONObject.toString()`: compact, `/` escaped, integral doubles as longs."""
    def render(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + ",".join(json.dumps(k) + ":" + render(x) for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ",".join(render(x) for x in v) + "]"
        if isinstance(v, bool) or v is None:
            return json.dumps(v)
        if isinstance(v, (int, float)):
            return orgjson_number(v)
        return json.dumps(v, ensure_ascii=False).replace("/", "\\/")
    return render(value)


def ns_json(value: Any) -> str:
    """iOS JSONSerialization.data(withJSONObject:options: []): compact, `/` escaped as `\\/`, any key order."""
    def shuffled(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: shuffled(v[k]) for k in reversed(list(v))}
        if isinstance(v, list):
            return [shuffled(x) for x in v]
        return v
    return json.dumps(shuffled(value), separators=(",", ":"), ensure_ascii=False).replace("/", "\\/")
