"""What the index holds per article, and which file an article id belongs to.

- The **state**: for every article its id, the absolute path of its source
  file and its content hash, read from the `index_state` column. It is
  committed in the same generation as the documents, so it can never
  disagree with them, whatever happens to the process.
- The **file digests** (sidecar `vnsearch-files.json`): a hash of every
  input file's bytes as last read, trusted only when it names the generation
  a run starts from; a file whose bytes hash the same is not even extracted.
- The **holding rule** (`Claims`): ids belong to the first file that holds
  them. An article whose id is already indexed from another file is skipped
  with a warning, as long as that file still exists outside the paths of
  this run, or is read in this run and still holds the id (or could not be
  read). Once the holder no longer holds the id (deleted, or re-indexed
  without it), the next run that reads the other file gives it the id. In
  one run, the first file in path order wins. Re-indexing the holder never
  loses its article to a later file.
"""

from __future__ import annotations

import json
import os
from collections.abc import ItemsView, Iterator
from contextlib import closing
from pathlib import Path

from .article import Article
from .schema import SCHEMA_VERSION, StateError, decode_state
from .whoosh_writing import GenerationIndex, StateReader, state_values

FILES_SIDECAR = "vnsearch-files.json"

#: id → (absolute source path, content hash)
State = dict[str, tuple[str, str]]


def load_state(ix: GenerationIndex) -> State:
    """What generation `ix` holds, per article id.

    Raises `schema.StateError` when a value cannot be read (the run then starts over).
    """
    state: State = {}
    with closing(state_values(ix)) as values:
        for value in values:
            article_id, path, hash_value = decode_state(value)
            state[article_id] = (path, hash_value)
    return state


class ScopedState:
    """What generation `ix` holds, read only where a run over `roots` looks.

    A run needs the state of every article whose source is under its roots
    (what it may find unchanged, replace or delete) and of every id it reads
    (which file holds it). Those under the roots are read at once, found by
    the JSON-escaped root in the stored values (JSON escapes character by
    character, so a path's escaped form starts with its root's) and checked
    exactly; any other id is looked up by its term when asked. Adding one
    file to a 43k index so decodes a handful of values, not 43k. `items()`
    is the part under the roots, all that `Claims` iterates. Close it.

    Raises `schema.StateError`, like `load_state`, when any value cannot be
    read (all are checked against the one form `schema.encode_state` writes).
    """

    def __init__(self, ix: GenerationIndex, roots: list[str]) -> None:
        self._values = StateReader(ix)
        #: id → (path, hash) of every article under the roots
        self._scoped: State = {}
        #: ids outside the roots asked for: their state, or None (not indexed)
        self._asked: dict[str, tuple[str, str] | None] = {}
        try:
            self._values.check()  # a value this version cannot read: start over, as ever
            for root in dict.fromkeys(root.rstrip(os.sep) for root in roots):
                needle = json.dumps(root, ensure_ascii=True)[1:-1].encode("ascii")
                for value in self._values.values_containing(needle):
                    article_id, path, hash_value = decode_state(value)
                    if under(path, roots):
                        self._scoped[article_id] = (path, hash_value)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._values.close()

    def get(self, article_id: str, default: tuple[str, str] | None = None
            ) -> tuple[str, str] | None:
        found = self._scoped.get(article_id)
        if found is not None:
            return found
        if article_id not in self._asked:
            value = self._values.value_of(article_id)
            if value is None:
                self._asked[article_id] = None
            else:
                stored_id, path, hash_value = decode_state(value)
                if stored_id != article_id:
                    raise StateError(f"index state {value[:60]!r} is not that of {article_id!r}")
                self._asked[article_id] = (path, hash_value)
        state = self._asked[article_id]
        return default if state is None else state

    def __getitem__(self, article_id: str) -> tuple[str, str]:
        state = self.get(article_id)
        if state is None:
            raise KeyError(article_id)
        return state

    def items(self) -> ItemsView[str, tuple[str, str]]:
        """The articles under the run's roots."""
        return self._scoped.items()


def load_file_digests(index_dir: Path, generation: int) -> dict[str, str]:
    """The sidecar's file digests, if it describes this very generation."""
    try:
        data = json.loads((index_dir / FILES_SIDECAR).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("generation") != generation \
            or data.get("schema_version") != SCHEMA_VERSION:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def save_file_digests(index_dir: Path, generation: int, files: dict[str, str]) -> None:
    """Atomically replace the sidecar (write, fsync, rename).

    ASCII-escaped JSON: a path that is not valid UTF-8 is kept by Python as
    lone surrogates, which only the escaped form can carry.
    """
    target = index_dir / FILES_SIDECAR
    tmp = index_dir / f".{FILES_SIDECAR}.{os.getpid()}.tmp"
    payload = {"generation": generation, "schema_version": SCHEMA_VERSION, "files": files}
    with open(tmp, "w", encoding="ascii") as handle:
        json.dump(payload, handle, ensure_ascii=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def remove_sidecar_temps(index_dir: Path) -> None:
    """Remove what a run killed while saving the sidecar left."""
    for stale in index_dir.glob(f".{FILES_SIDECAR}.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


def under(path: str, roots: list[str]) -> bool:
    """Whether `path` is one of `roots` or inside one of them."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


class Claims:
    """Which file each article id goes to in a run: the holding rule of the module doc.

    Files are reported in path order (`reading`, then `failed`, `unchanged`
    or `claim` for each of its articles); `settle` then decides the ids a
    file claimed before the file owning them was read. Copies that lose are
    reported in `warnings`.
    """

    def __init__(self, state: State | ScopedState, files: list[str], roots: list[str],
                 warnings: list[str]) -> None:
        self.state = state
        self.files = set(files)
        self.roots = roots
        self.warnings = warnings
        self.ids_by_path: dict[str, list[str]] = {}
        for article_id, (path, _) in state.items():
            self.ids_by_path.setdefault(path, []).append(article_id)
        #: id → the path it was taken from in this run
        self.seen: dict[str, str] = {}
        #: Files that failed to read: their articles stay as they are.
        self.kept: set[str] = set()
        #: Files whose result has been handled.
        self.read: set[str] = set()
        #: id → (article, hash, path) claimed while the file that owns the id
        #: in the index is still to be read in this run.
        self.deferred: dict[str, tuple[Article, str, str]] = {}

    def reading(self, path: str) -> None:
        self.read.add(path)

    def failed(self, path: str) -> None:
        """The file could not be read: its articles stay as they are."""
        self.kept.add(path)

    def unchanged(self, path: str) -> int:
        """The file's bytes have not changed: it keeps its ids; how many it holds."""
        count = 0
        for article_id in self.ids_by_path.get(path, []):
            if article_id not in self.seen:
                self.seen[article_id] = path
                count += 1
        return count

    def claim(self, article: Article, hash_value: str, path: str) -> bool:
        """Whether `path` takes `article.id` now (else it is skipped, or decided by `settle`)."""
        article_id = article.id
        if article_id in self.seen:
            self.warnings.append(
                f"{path}: article id {article_id!r} already read from "
                f"{self.seen[article_id]}; this copy is skipped"
            )
            return False
        old = self.state.get(article_id)
        holder = old[0] if old is not None else path
        if holder != path:
            if holder in self.files and holder not in self.read:
                if article_id in self.deferred:
                    self._skip(article_id, path, self.deferred[article_id][2])
                else:
                    self.deferred[article_id] = (article, hash_value, path)
                return False
            if self._holder_keeps(holder):
                self._skip(article_id, path, holder)
                return False
        self.seen[article_id] = path
        return True

    def settle(self) -> Iterator[tuple[Article, str, str]]:
        """The deferred articles that take their id, once every file has been read."""
        for article_id, (article, hash_value, path) in self.deferred.items():
            holder = self.state[article_id][0]
            if article_id in self.seen:
                self._skip(article_id, path, self.seen[article_id])
            elif self._holder_keeps(holder):
                self._skip(article_id, path, holder)
            else:
                self.seen[article_id] = path
                yield article, hash_value, path

    def vanished(self) -> list[str]:
        """Ids no file holds any more: under the run's paths, not found again, not kept."""
        return [
            article_id for article_id, (path, _) in self.state.items()
            if article_id not in self.seen and path not in self.kept and under(path, self.roots)
        ]

    def _holder_keeps(self, holder: str) -> bool:
        """Whether the file that holds an id in the index still holds it."""
        if holder in self.files:
            return holder in self.kept  # read in this run: it did not list the id again
        return not under(holder, self.roots) and os.path.exists(holder)

    def _skip(self, article_id: str, path: str, holder: str) -> None:
        self.warnings.append(
            f"{path}: article id {article_id!r} is already indexed from {holder}; "
            "this copy is skipped (an id stays with the first file that holds it)"
        )
