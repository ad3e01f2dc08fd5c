"""A catalog product and its response shape (SPEC §2): mandatory fields plus `tags_<name>`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(slots=True)
class Product:
    id: str
    name: str = ""
    url: str = ""
    price: float = 0.0
    descr: str = ""
    brand: str = ""
    category: list[str] = field(default_factory=list)
    in_stock: bool = True
    # Every other feed field, by its feed name without the `tags_` prefix.
    tags: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "price": float(self.price),
            "descr": self.descr,
            "brand": self.brand,
            "category": list(self.category),
            "isInStock": 1 if self.in_stock else 0,
        }
        for name, value in self.tags.items():
            body[f"tags_{name}"] = value
        return body

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_response())


# Column sizes of the store: a longer value is that item's error, never a failed batch.
MAX_LENGTHS = {"id": 200, "name": 1000, "url": 2000, "brand": 300}


def too_long(p: Product) -> str | None:
    """What is too long in a product, or None."""
    for field_name, limit in MAX_LENGTHS.items():
        if len(getattr(p, field_name)) > limit:
            return f"{field_name} is longer than {limit} characters"
    return None


def split_category(path: str) -> list[str]:
    """'Home > Kitchen > Pans' -> ['Home', 'Kitchen', 'Pans']."""
    return [part.strip() for part in path.split(">") if part.strip()]


def tag_name(name: str) -> str:
    """A feed field name as a response-safe tag name: `g:image_link` -> `image_link`."""
    name = name.split("}", 1)[-1].split(":", 1)[-1]
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name.strip()).lower()
