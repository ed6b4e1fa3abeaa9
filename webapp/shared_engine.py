"""The one SearchEngine an app shares across requests and threads.

Opening a Whoosh index is costly and the engine re-opens it by itself after
each indexer commit, so it is created once per app and kept in
`app.extensions`. A missing index is a 503 with a clear message, not a 500.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from flask import current_app
from werkzeug.exceptions import ServiceUnavailable

from engine import SearchEngine, index_exists

if TYPE_CHECKING:
    from engine import SearchEngine

_LOCK = threading.Lock()
_KEY = "vnsearch.engine"


def get_engine() -> SearchEngine:
    """The app's engine, created on first use; 503 while there is no index yet."""
    index_dir = current_app.config["INDEX_DIR"]
    if not index_exists(index_dir):
        raise ServiceUnavailable(
            "Kho bài viết chưa sẵn sàng để tìm kiếm. Vui lòng thử lại sau ít phút "
            "(người quản trị: chạy `vnsearch index`)."
        )
    engine = current_app.extensions.get(_KEY)
    if engine is None:
        with _LOCK:
            engine = current_app.extensions.get(_KEY)
            if engine is None:
                from engine import SearchEngine

                engine = SearchEngine(index_dir)
                current_app.extensions[_KEY] = engine
    return engine
