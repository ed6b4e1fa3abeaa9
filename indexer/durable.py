"""Making a file, or a folder's list of files, survive a power cut.

Writing a file and renaming it only changes the page cache; after a power
cut the name may point at nothing. A commit flushes its files (`fsync_file`)
before it names them and the folder (`fsync_dir`) after renaming or removing.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_file(path: str | Path) -> None:
    """Flush the file's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | Path) -> None:
    """Make the folder's entries (new, renamed, removed files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
