"""Where a Xapian index lives: one or more shards, each local or served over TCP.

An index folder written by the Xapian backend holds `xapian.json`, which
names its shards in order. A shard is either a local database folder
(`{"path": "shard0"}`, relative to the index folder) or servers, as
`vnsearch cluster` starts them: `{"primary": "host:port", "writer":
"host:port", "replicas": ["host:port"]}`, two `xapian-tcpsrv` over the
primary database (read-only for searches; `--writable` for the indexer,
which takes Xapian's write lock per connection) and a read-only server per
replica, each replica a copy kept in sync by `xapian-replicate`.

Documents go to shard `shard_of(id)`: a stable hash of the article id, so
the same id always lands on the same shard; changing the number of shards
means a full re-index.

Meta data kept in every shard's Xapian metadata: the generation (bumped by
every commit), the next document sequence number and the schema version.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import xapian

STORE_FILE = "xapian.json"
#: Metadata keys kept in every shard.
GENERATION_KEY = "vnsearch_generation"
SEQ_KEY = "vnsearch_next_seq"
SCHEMA_KEY = "vnsearch_schema"
LOG = logging.getLogger("vnsearch.xapian")


class StoreError(Exception):
    """A store description that cannot be used (missing, malformed, unreachable)."""


@dataclass
class Shard:
    """One shard: a local database folder, or a primary server and its replicas."""

    path: str | None = None
    primary: str | None = None
    replicas: list[str] = field(default_factory=list)
    writer: str | None = None

    def describe(self) -> str:
        return self.path or f"xapian-tcpsrv {self.primary}"


@dataclass
class Store:
    """The shards of one index, as `xapian.json` names them."""

    folder: Path
    shards: list[Shard]

    @property
    def remote(self) -> bool:
        return any(shard.primary for shard in self.shards)

    def shard_path(self, shard: Shard) -> str:
        assert shard.path is not None
        return str((self.folder / shard.path).resolve())


def store_exists(index_dir: str | Path) -> bool:
    """True when `index_dir` is a Xapian index (it names its shards in `xapian.json`)."""
    return (Path(index_dir) / STORE_FILE).is_file()


def load_store(index_dir: str | Path) -> Store:
    """The store described in `index_dir`/xapian.json."""
    folder = Path(index_dir)
    try:
        raw = json.loads((folder / STORE_FILE).read_text("utf-8"))
        shards = [Shard(path=s.get("path"), primary=s.get("primary"),
                        replicas=list(s.get("replicas") or []), writer=s.get("writer"))
                  for s in raw["shards"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise StoreError(f"{folder / STORE_FILE} cannot be read ({err})") from None
    if not shards or any(bool(s.path) == bool(s.primary) for s in shards):
        raise StoreError(f"{folder / STORE_FILE}: each shard needs a path or a primary")
    return Store(folder, shards)


def write_store(index_dir: str | Path, shards: list[Shard]) -> Store:
    """Describe a store in `index_dir` (written whole, then renamed into place)."""
    folder = Path(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"backend": "xapian", "shards": [
        {"path": s.path} if s.path else
        {"primary": s.primary, "writer": s.writer or s.primary, "replicas": s.replicas}
        for s in shards]}
    tmp = folder / f".{STORE_FILE}.tmp"
    tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    tmp.replace(folder / STORE_FILE)
    return Store(folder, shards)


def local_store(index_dir: str | Path, shards: int = 1) -> Store:
    """The store of `index_dir`, described as `shards` local databases if not yet a store."""
    if store_exists(index_dir):
        return load_store(index_dir)
    store = Store(Path(index_dir), [Shard(path=f"shard{i}") for i in range(shards)])
    for shard in store.shards:
        xapian.WritableDatabase(store.shard_path(shard), xapian.DB_CREATE_OR_OPEN).close()
    return write_store(index_dir, store.shards)


def shard_of(article_id: str, count: int) -> int:
    """The shard an article id lives on: stable across runs, machines and Python versions."""
    digest = hashlib.blake2b(article_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise StoreError(f"bad shard address {address!r} (want host:port)") from None


#: Seconds to wait for a shard server before giving up on it.
CONNECT_TIMEOUT_MS = 2000


def open_shard_readers(store: Store, index: int) -> tuple[xapian.Database, str]:
    """A read-only database of shard `index`: its primary, else the first replica that answers.

    Returns the database and where it was opened (for logs). Raises
    `StoreError` when no copy of the shard answers.
    """
    shard = store.shards[index]
    if shard.path:
        path = store.shard_path(shard)
        try:
            return xapian.Database(path), path
        except xapian.Error as err:
            raise StoreError(f"shard {index} ({path}) cannot be opened: "
                             f"{err.get_msg()}") from None
    errors = []
    for i, address in enumerate([shard.primary or "", *shard.replicas]):
        host, port = split_address(address)
        try:
            db = xapian.remote_open(host, port, 10_000, CONNECT_TIMEOUT_MS)
            db.get_doccount()
        except xapian.Error as err:
            errors.append(f"{address}: {err.get_msg()}")
            continue
        if i:
            LOG.warning("shard %d: primary %s does not answer (%s); reading replica %s",
                        index, shard.primary, errors[0], address)
        return db, address
    raise StoreError(f"shard {index}: no copy answers ({'; '.join(errors)})")


def open_shard_writer(store: Store, index: int) -> xapian.WritableDatabase:
    """The writable database of shard `index` (local folder, or its primary's server)."""
    shard = store.shards[index]
    try:
        if shard.path:
            return xapian.WritableDatabase(store.shard_path(shard), xapian.DB_CREATE_OR_OPEN)
        host, port = split_address(shard.writer or shard.primary or "")
        return xapian.remote_open_writable(host, port, 0, CONNECT_TIMEOUT_MS)
    except xapian.DatabaseLockError:
        from .lock import IndexBusy

        raise IndexBusy(f"shard {index} ({shard.describe()}) is being updated by "
                        "another process") from None
    except xapian.Error as err:
        raise StoreError(f"shard {index} ({shard.describe()}) cannot be opened for "
                         f"writing: {err.get_msg()}") from None


def metadata_int(db: xapian.Database, key: str, default: int = 0) -> int:
    raw = db.get_metadata(key)
    try:
        return int(raw) if raw else default
    except ValueError:
        return default
