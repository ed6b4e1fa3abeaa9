"""Test helper: files whose names are raw bytes (not necessarily valid UTF-8)."""

from __future__ import annotations

import os
from pathlib import Path


def write_named(folder: Path | bytes, name: bytes, content: bytes) -> bytes:
    """Create `folder/name` with `content`, the name taken byte for byte; its bytes path."""
    path = os.fsencode(folder) + b"/" + name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    return path
