"""`vnsearch serve`: the site under waitress, a production WSGI server (never Flask's debug server).

The site is useless without an index, so a first run builds one from the
sample corpus before serving: `vnsearch serve` works straight after a clone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import create_app
from .engine import index_exists

#: The sample articles shipped with the repository.
DEFAULT_CORPUS = "corpus"
#: Open connections waitress accepts at once. Its default (100) leaves the
#: 101st keep-alive browser unanswered until another one closes (found by
#: bench/load.py with 200 clients); an idle connection costs only a socket.
CONNECTION_LIMIT = 1000


def find_corpus() -> Path | None:
    """`./corpus` when run from the repository, else the one beside the package."""
    for candidate in (Path(DEFAULT_CORPUS), Path(__file__).resolve().parent.parent / "corpus"):
        if candidate.is_dir():
            return candidate
    return None


def _holds_articles(index_dir: str) -> bool:
    """True when a committed index holds at least one article (an empty one is no use)."""
    if not index_exists(index_dir):
        return False
    from whoosh import index

    try:
        return index.open_dir(index_dir).doc_count() > 0
    except Exception:  # unreadable: let the indexer decide (it rebuilds a broken index)
        return False


def ensure_index(index_dir: str) -> int:
    """Build the index from the sample corpus if there is none; 0 when an index is ready."""
    if _holds_articles(index_dir):
        return 0
    corpus = find_corpus()
    if corpus is None:
        print(f"vnsearch serve: no index at {index_dir} and no corpus/ folder to build one;"
              " run `vnsearch index PATH` first", file=sys.stderr)
        return 2
    print(f"No articles indexed at {index_dir}: indexing {corpus}/ …", file=sys.stderr)
    from indexer.build import index_command

    status = index_command([str(corpus)], index_dir, False, None)
    if status != 0 or not _holds_articles(index_dir):
        print("vnsearch serve: building the index failed", file=sys.stderr)
        return status or 1
    return 0


def serve_command(index_dir: str, host: str, port: int, threads: int) -> int:
    """Build the index if needed, then serve until interrupted."""
    status = ensure_index(index_dir)
    if status != 0:
        return status
    import waitress

    app = create_app({"INDEX_DIR": index_dir})
    print(f"Serving {index_dir} on http://{host}:{port}/ (Ctrl+C to stop)", file=sys.stderr,
          flush=True)
    try:
        waitress.serve(app, host=host, port=port, threads=threads,
                       connection_limit=CONNECTION_LIMIT)
    except OSError as exc:
        print(f"vnsearch serve: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 0
