"""What the engine says about an article's file: never a server path.

The index stores where each article was read from as the indexer saw it,
which may be an absolute path on the server (`/srv/data/news/x.jsonl`). The
contract promises visitors only the file relative to the folder that was
indexed; a path that is absolute, or climbs out with `..`, is cut down to the
file's own name, so nothing about the machine's folders leaks.
"""

from __future__ import annotations

import re

#: Either separator: an index built on Windows stores backslashes.
_SEPARATORS = re.compile(r"[\\/]+")
#: `C:` and the like at the start of a Windows path.
_DRIVE = re.compile(r"^[A-Za-z]:")


def public_source(source: object) -> str | None:
    """`source` as a visitor may see it: a relative path inside the indexed folder, or a name."""
    if not source or not isinstance(source, str):
        return None
    parts = [p for p in _SEPARATORS.split(source) if p and p != "."]
    if not parts:
        return None
    rooted = source[:1] in "/\\" or bool(_DRIVE.match(source))
    if rooted or ".." in parts:
        return parts[-1] if parts[-1] != ".." else None
    return "/".join(parts)
