"""`vnsearch cluster`: Xapian shard servers and replicas on one machine, as processes.

For N shards and R replicas per shard, in a cluster folder:

- `shards/shard<i>`: the primary database of shard i, served twice by
  `xapian-tcpsrv`: read-only for searches, `--writable` for the indexer
  (a writable server takes Xapian's write lock per connection, which would
  turn searches away while the indexer writes);
- one `xapian-replicate-server` over `shards/`, which sends each replica the
  changesets of its primary (the writing side keeps them:
  `XAPIAN_MAX_CHANGESETS`);
- `replicas/shard<i>-<j>`: replica j of shard i, pulled by `xapian-replicate`
  every REPLICATE_INTERVAL seconds and served read-only by its own
  `xapian-tcpsrv` once its first copy has arrived;
- `xapian.json`: the store description (`indexer.xapian_store`), so the
  folder is an index folder: `vnsearch index/search/serve --index <folder>`.

Every server runs in a session of its own (`start_new_session`): Xapian's
servers signal their process group when told to stop, which must not reach
the process that started them. On several machines the same processes are
started by hand or by a service manager (README, "A Xapian cluster").
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import xapian

from .xapian_store import Shard, Store, write_store

LOG = logging.getLogger("vnsearch.cluster")
#: Seconds between a replica's pulls from its primary.
REPLICATE_INTERVAL = 1
#: Changesets a primary keeps for its replicas to catch up with.
MAX_CHANGESETS = "100"


class ClusterError(RuntimeError):
    """A server could not be started (a port in use, a missing program)."""


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct ports that are free now (for tests and a loopback cluster)."""
    sockets, ports = [], []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((host, 0))
            sockets.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return ports


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@dataclass
class Server:
    """One server process, and what it serves."""

    role: str
    shard: int
    port: int | None
    args: list[str]
    process: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return f"{self.role} of shard {self.shard}" if self.shard >= 0 else self.role


@dataclass
class Cluster:
    """The processes of a one-machine cluster under `folder`."""

    folder: Path
    shards: int
    replicas: int
    host: str
    ports: list[int]
    servers: list[Server] = field(default_factory=list)
    store: Store | None = None

    @staticmethod
    def ports_needed(shards: int, replicas: int) -> int:
        """The replication server, then per shard: reader, writer, one per replica."""
        return 1 + shards * (2 + replicas)

    def _port(self, shard: int, slot: int) -> int:
        return self.ports[1 + shard * (2 + self.replicas) + slot]

    def replica_path(self, shard: int, replica: int) -> Path:
        return self.folder / "replicas" / f"shard{shard}-{replica}"

    def start(self) -> Store:
        """Create the databases, start every server, describe the store; returns it."""
        if len(self.ports) < self.ports_needed(self.shards, self.replicas):
            raise ClusterError(f"{self.ports_needed(self.shards, self.replicas)} ports needed, "
                               f"{len(self.ports)} given")
        primaries = self.folder / "shards"
        primaries.mkdir(parents=True, exist_ok=True)
        (self.folder / "replicas").mkdir(exist_ok=True)
        shards: list[Shard] = []
        try:
            self._spawn(Server("replication server", -1, self.ports[0], [
                "xapian-replicate-server", "--interface", self.host,
                "--port", str(self.ports[0]), str(primaries)]))
            for i in range(self.shards):
                path = primaries / f"shard{i}"
                xapian.WritableDatabase(str(path), xapian.DB_CREATE_OR_OPEN).close()
                reader, writer = self._port(i, 0), self._port(i, 1)
                self._spawn(Server("primary", i, reader, self._tcpsrv(reader, path)))
                self._spawn(Server("writer", i, writer,
                                   self._tcpsrv(writer, path, "--writable")))
                replicas = []
                for j in range(self.replicas):
                    port = self._port(i, 2 + j)
                    self._spawn(Server("replication client", i, None, [
                        "xapian-replicate", "--host", self.host, "--port", str(self.ports[0]),
                        "--master", f"shard{i}", "--interval", str(REPLICATE_INTERVAL),
                        str(self.replica_path(i, j))]))
                    replicas.append(f"{self.host}:{port}")
                shards.append(Shard(primary=f"{self.host}:{reader}",
                                    writer=f"{self.host}:{writer}", replicas=replicas))
            for i in range(self.shards):
                for j in range(self.replicas):
                    self._start_replica_server(i, j)
        except BaseException:
            self.stop()
            raise
        self.store = write_store(self.folder, shards)
        return self.store

    def _tcpsrv(self, port: int, path: Path, *flags: str) -> list[str]:
        # no idle timeouts: the indexer's connection waits while articles are analysed,
        # and the web site keeps its connections between queries
        return ["xapian-tcpsrv", *flags, "--idle-timeout", "0", "--active-timeout", "0",
                "--interface", self.host, "--port", str(port), str(path)]

    def _start_replica_server(self, shard: int, replica: int) -> None:
        """Serve a replica once its first copy has arrived (an empty folder cannot be opened)."""
        path = self.replica_path(shard, replica)
        deadline = time.monotonic() + 30
        while not (path / "XAPIANDB").exists():
            if time.monotonic() > deadline:
                raise ClusterError(f"replica {replica} of shard {shard} never arrived in {path}")
            time.sleep(0.1)
        port = self._port(shard, 2 + replica)
        self._spawn(Server("replica", shard, port, self._tcpsrv(port, path)))

    def _spawn(self, server: Server) -> None:
        env = dict(os.environ, XAPIAN_MAX_CHANGESETS=MAX_CHANGESETS)
        log = open(self.folder / "servers.log", "ab")  # noqa: SIM115 - the child keeps it
        try:
            server.process = subprocess.Popen(server.args, stdout=log, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, env=env,
                                              start_new_session=True)
        except OSError as err:
            raise ClusterError(f"cannot start {server.args[0]}: {err.strerror}") from None
        finally:
            log.close()
        self.servers.append(server)
        if server.port is not None and not wait_for_port(self.host, server.port):
            raise ClusterError(f"{server.name} did not start on {self.host}:{server.port} "
                               f"(see {self.folder / 'servers.log'})")
        LOG.info("started %s (pid %d)%s", server.name, server.process.pid,
                 f" on {self.host}:{server.port}" if server.port else "")

    def find(self, role: str, shard: int) -> Server:
        return next(s for s in self.servers if s.role == role and s.shard == shard)

    def kill(self, server: Server, sig: int = signal.SIGKILL) -> None:
        """Stop one server and its process group (its forked connections too)."""
        if server.process is None or server.process.poll() is not None:
            return
        try:
            os.killpg(server.process.pid, sig)
        except ProcessLookupError:
            pass
        server.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop every server (SIGTERM, then SIGKILL for one that lingers)."""
        for server in reversed(self.servers):
            try:
                self.kill(server, signal.SIGTERM)
            except subprocess.TimeoutExpired:
                self.kill(server, signal.SIGKILL)

    def alive(self) -> list[Server]:
        return [s for s in self.servers if s.process is not None and s.process.poll() is None]
