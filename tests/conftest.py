"""Shared pytest fixtures: real indexes built by `vnsearch index`, and a real server."""

from __future__ import annotations

# ---------------------------------------------------------------------------
# The web site: a real index built by `vnsearch index` from corpus/,
# served by waitress on loopback in a thread.
# ---------------------------------------------------------------------------
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def build_index_with_cli(corpus: Path, index_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run the real `vnsearch index` command (the code path users run)."""
    return subprocess.run(
        [sys.executable, "-m", "vnsearch", "index", str(corpus), "--index", str(index_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )


def copy_corpus(factory: pytest.TempPathFactory, name: str, *extra: Path) -> Path:
    """A private copy of corpus/ plus `extra` files (tests may add articles to it)."""
    corpus = factory.mktemp(name) / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    for path in extra:
        shutil.copy(path, corpus)
    return corpus


def index_beside(corpus: Path) -> Path:
    """`corpus` indexed through `vnsearch index` into the folder beside it."""
    index_dir = corpus.parent / "index"
    result = build_index_with_cli(corpus, index_dir)
    assert result.returncode == 0, result.stderr
    return index_dir


class LiveServer:
    """The Flask app under waitress on 127.0.0.1, on a free port, in a daemon thread."""

    def __init__(self, index_dir: Path) -> None:
        from waitress.server import create_server

        from webapp import create_app

        self.app = create_app({"INDEX_DIR": str(index_dir)})
        self.server = create_server(self.app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        from waitress import wasyncore

        self.server.task_dispatcher.shutdown()
        # Closed from the server's own loop (its wake-up pipe runs the thunk there):
        # closed from here, the loop's select() could meet a closed descriptor.
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        self.thread.join(timeout=5)
        if self.thread.is_alive():  # the loop did not wake up: close from here after all
            wasyncore.close_all(self.server._map)
            self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def web_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of corpus/ (tests may add articles to their own copies)."""
    return copy_corpus(tmp_path_factory, "web")


@pytest.fixture(scope="session")
def web_index(web_corpus: Path) -> Path:
    """An index of the sample corpus, built once per run through `vnsearch index`."""
    return index_beside(web_corpus)


@pytest.fixture(scope="session")
def live_server(web_index: Path) -> Iterator[LiveServer]:
    """The web site over the sample index, for HTTP and browser tests."""
    server = LiveServer(web_index)
    yield server
    server.stop()

# --------------------------- end of web site block ---------------------------


# ---------------------------------------------------------------------------
# The engine: a real index built by `vnsearch index` from corpus/ plus
# tests/data/search_extra.jsonl (accent, escaping, long-question and date
# cases).
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def search_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """corpus/*.txt and the search test articles, in a private folder."""
    return copy_corpus(tmp_path_factory, "search", REPO / "tests" / "data" / "search_extra.jsonl")


@pytest.fixture(scope="session")
def search_index(search_corpus: Path) -> Path:
    return index_beside(search_corpus)


@pytest.fixture(scope="session")
def engine(search_index: Path):
    from engine import SearchEngine

    return SearchEngine(search_index)

# ----------------------------- end of search block -----------------------------
