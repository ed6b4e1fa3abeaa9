#!/usr/bin/env python3
"""Quick start with nothing but Python 3.11: `python3 run.py serve` / `python3 run.py test`.

Creates `.venv/` beside this file on first use, installs the project into it
(with the test extra for `test`), then runs `vnsearch serve` (which indexes
corpus/ first when there is no index) or the test suite. Any further
arguments are passed on: `python3 run.py serve --port 8080`,
`python3 run.py test -k analysis`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
#: What ruff checks.
CODE = ("indexer", "engine", "webapp", "vnsearch", "tests", "bench", "tools")


def ensure_venv(extra: str) -> None:
    """Create the virtualenv and install the project when pyproject.toml changed."""
    if not (BIN / "python").exists():
        print(f"creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / f".installed-{extra or 'base'}"
    pyproject = ROOT / "pyproject.toml"
    if stamp.exists() and stamp.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    target = f".[{extra}]" if extra else "."
    print(f"installing {target} into {VENV} ...", flush=True)
    subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", target],
        cwd=ROOT,
        check=True,
    )
    stamp.touch()


#: Where Debian's `python3-xapian` puts the binding (built for CPython 3.11).
DEBIAN_XAPIAN = Path("/usr/lib/python3/dist-packages/xapian")


def link_debian_xapian() -> None:
    """Make Debian's Xapian binding importable in the virtualenv (the Xapian backend).

    Xapian's binding is not on PyPI; a `.pth` file naming a folder that holds
    only a link to it keeps the rest of Debian's packages out of the venv.
    """
    if not DEBIAN_XAPIAN.is_dir():
        return
    folder = VENV / "debian-xapian"
    folder.mkdir(exist_ok=True)
    link = folder / "xapian"
    if not link.exists():
        link.symlink_to(DEBIAN_XAPIAN)
    purelib = subprocess.run(
        [str(BIN / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "debian-xapian.pth").write_text(f"{folder}\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "serve":
        ensure_venv("")
        link_debian_xapian()
        return subprocess.call([str(BIN / "vnsearch"), "serve", *rest])
    ensure_venv("test")
    link_debian_xapian()
    subprocess.run([str(BIN / "ruff"), "check", *CODE], check=True)
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
