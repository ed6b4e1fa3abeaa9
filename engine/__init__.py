"""The search engine: an index generation in, results as data out; no HTTP, no printing.

`SearchEngine(index_dir)` answers `search`, `article` and `suggest` with the
JSON the contract describes. The CLI and the web site are its two callers.
"""

from .engine import SearchEngine
from .snapshot import holds_articles, index_exists

__all__ = ["SearchEngine", "holds_articles", "index_exists"]
