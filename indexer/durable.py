"""Making a file, or a folder's list of files, survive a power cut.

Writing a file and renaming it only changes the page cache; after a power
cut the name may point at nothing. A commit flushes its files (`fsync_file`)
before it names them and the folder (`fsync_dir`) after renaming or removing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: Files flushed at once by `fsync_files`.
FSYNC_THREADS = 16


def fsync_file(path: str | Path) -> None:
    """Flush the file's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_files(paths: Iterable[str | Path]) -> None:
    """Flush many files, from several threads: the file system then commits their
    journal entries together (about 100 small files: 0.2 s one by one, ~15 ms so)."""
    paths = list(paths)
    if len(paths) < 2:
        for path in paths:
            fsync_file(path)
        return
    with ThreadPoolExecutor(min(FSYNC_THREADS, len(paths))) as pool:
        for _ in pool.map(fsync_file, paths):  # re-raises the first error
            pass


def fsync_dir(path: str | Path) -> None:
    """Make the folder's entries (new, renamed, removed files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
