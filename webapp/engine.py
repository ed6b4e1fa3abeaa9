"""The one SearchEngine an app shares across requests and threads.

Opening a Whoosh index is costly and the engine re-opens it by itself after
each indexer commit, so it is created once per app and kept in
`app.extensions`. A missing index is a 503 with a clear message, not a 500.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app
from werkzeug.exceptions import ServiceUnavailable

if TYPE_CHECKING:
    from .search import SearchEngine

_LOCK = threading.Lock()
_KEY = "vnsearch.engine"


def index_exists(index_dir: str | Path) -> bool:
    """True when a Whoosh index has been committed in `index_dir`.

    Looks for a TOC file rather than opening the index: `whoosh.index.exists_in`
    reads the latest TOC, which a concurrent commit may delete in between
    (a FileNotFoundError and a 500 under load, found by the load smoke test).
    """
    path = Path(index_dir)
    return path.is_dir() and any(path.glob("_MAIN_*.toc"))


def holds_articles(index_dir: str | Path) -> bool:
    """True when the newest generation that opens holds at least one article.

    A damaged newest commit (a power cut) does not count as "no index": the
    generation before it, which the indexer keeps, still answers.
    """
    from indexer.generations import open_newest_readable

    opened = open_newest_readable(index_dir)
    if opened.index is None:
        return False
    try:
        return opened.index.doc_count() > 0
    except Exception:  # noqa: BLE001 - unreadable after all: the indexer decides
        return False


def get_engine() -> SearchEngine:
    """The app's engine, created on first use; 503 while there is no index yet."""
    index_dir = current_app.config["INDEX_DIR"]
    if not index_exists(index_dir):
        raise ServiceUnavailable(
            "Chưa có chỉ mục tìm kiếm. Hãy chạy `vnsearch index` rồi thử lại."
        )
    engine = current_app.extensions.get(_KEY)
    if engine is None:
        with _LOCK:
            engine = current_app.extensions.get(_KEY)
            if engine is None:
                from .search import SearchEngine

                engine = SearchEngine(index_dir)
                current_app.extensions[_KEY] = engine
    return engine
