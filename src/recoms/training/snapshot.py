"""Model snapshots: immutable `.npz` arrays (no pickle) plus JSON metadata, written atomically.

Layout: `<artifacts>/account-<id>/<version>.npz` and `<version>.json`; the newest version wins.
Arrays are namespaced `<algorithm>/<name>`; `items/ids` holds the item order every model shares.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

KEEP = 3
FITTED = "_fitted"


@dataclass
class Snapshot:
    version: str
    item_ids: list[str]
    arrays: dict[str, dict[str, np.ndarray]]  # algorithm -> its arrays
    meta: dict[str, Any]


def account_dir(artifacts: Path, account_id: int) -> Path:
    return artifacts / f"account-{account_id}"


def new_version() -> str:
    # One clock reading for both parts: time.gmtime() alone reads the coarse clock, which can still
    # show the previous second, and the version would then sort before an older one.
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds)) + f"-{nanos:09d}"


def write(artifacts: Path, account_id: int, item_ids: list[str], arrays: dict[str, dict[str, np.ndarray]],
          meta: dict[str, Any]) -> Path:
    folder = account_dir(artifacts, account_id)
    folder.mkdir(parents=True, exist_ok=True)
    version = new_version()
    flat = {f"{algo}/{name}": arr for algo, named in arrays.items() for name, arr in named.items()}
    # A marker per algorithm, so that one with nothing to save (it reads live data) is still listed.
    flat.update({f"{algo}/{FITTED}": np.ones(1, np.int8) for algo in arrays})
    flat["items/ids"] = np.array(item_ids, dtype=np.str_) if item_ids else np.zeros(0, dtype="<U1")
    tmp = folder / f".{version}.npz.tmp"
    with tmp.open("wb") as fh:
        np.savez(fh, **flat)
    (folder / f".{version}.json.tmp").write_text(json.dumps({**meta, "version": version}, indent=2))
    # The .npz lands first, then the .json: a reader that sees the .json finds its arrays.
    os.replace(tmp, folder / f"{version}.npz")
    os.replace(folder / f".{version}.json.tmp", folder / f"{version}.json")
    _prune(folder)
    return folder / f"{version}.npz"


def _prune(folder: Path) -> None:
    versions = sorted(p.stem for p in folder.glob("*.json"))
    for old in versions[:-KEEP]:
        for suffix in (".json", ".npz"):
            (folder / f"{old}{suffix}").unlink(missing_ok=True)


def newest_version(artifacts: Path, account_id: int) -> str | None:
    folder = account_dir(artifacts, account_id)
    if not folder.is_dir():
        return None
    versions = sorted(p.stem for p in folder.glob("*.json") if not p.name.startswith("."))
    return versions[-1] if versions else None


def read_meta(artifacts: Path, account_id: int, version: str) -> dict[str, Any]:
    """A snapshot's metadata alone (what it was trained on, its tuning report), without its arrays."""
    return json.loads((account_dir(artifacts, account_id) / f"{version}.json").read_text())


def read(artifacts: Path, account_id: int, version: str) -> Snapshot:
    folder = account_dir(artifacts, account_id)
    meta = json.loads((folder / f"{version}.json").read_text())
    arrays: dict[str, dict[str, np.ndarray]] = {}
    with np.load(folder / f"{version}.npz", allow_pickle=False) as data:
        item_ids = [str(x) for x in data["items/ids"]]
        for key in data.files:
            algo, _, name = key.partition("/")
            if algo != "items":
                named = arrays.setdefault(algo, {})
                if name != FITTED:
                    named[name] = data[key]
    return Snapshot(version, item_ids, arrays, meta)
