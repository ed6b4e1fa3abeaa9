"""The site under gunicorn's pre-fork master with waitress in each worker process.

`vnsearch serve` (in `vnsearch/cli.py`) builds an index from the sample
corpus first when there is none (`needs_index`, `find_corpus`), so it works
straight after a clone and before any worker is forked, then runs
`run_site`: gunicorn's arbiter forks `--workers` processes that all accept
on the one listening socket, so queries run in parallel on every core (one
engine answers one query at a time), and replaces a worker that dies or
hangs. Before forking, the master builds the newest generation's vocabulary
once and freezes its objects out of the collector (`share_before_fork`): the
workers adopt it and share its pages instead of each building ~120 MB of
their own at 43k articles. Each worker serves its connections with waitress
(`WaitressWorker`), which keeps the bounds below per process; gunicorn's own
workers have no request-body limit and let idle sockets hold their threads.

The server's resources are bounded (see `ServerLimits`): open connections,
request line and headers, request bodies (the site only answers GET, so a
body is never needed) and how long an idle connection may hold a slot. At
the connection limit, connections that sit idle make room for new ones
instead of locking everyone else out.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from engine import holds_articles, index_exists

from . import REQUEST_BODY_LIMIT, create_app

#: The sample articles shipped with the repository.
DEFAULT_CORPUS = "corpus"
#: prctl(2) option: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1
#: Searched by each worker before it accepts a connection (any word will do).
WARM_UP_QUERY = "tin"
#: File descriptors kept free beside the connections: index segment files,
#: the listening sockets, waitress's wake-up pipe, logs.
FD_HEADROOM = 128


@dataclass(frozen=True)
class ServerLimits:
    """What one `vnsearch serve` process accepts, passed to waitress as is.

    - connection_limit: open connections at once. Waitress's default (100)
      leaves the 101st keep-alive browser unanswered until another one closes
      (bench/load.py with 200 clients); an idle connection costs only a socket.
      Lowered to the open-files limit of the process minus FD_HEADROOM.
    - channel_timeout / cleanup_interval: a connection with no traffic for
      `channel_timeout` seconds is closed, checked every `cleanup_interval`.
    - idle_grace: at the connection limit, connections idle for longer than
      this many seconds are closed at once to let new visitors in (a flood of
      idle sockets cannot lock the site until they time out).
    - max_request_header_size / max_request_body_size: bytes of request line
      plus headers, and of body. Longer is answered 431 / 413 before it is
      buffered anywhere.
    """

    connection_limit: int = 1000
    channel_timeout: int = 60
    cleanup_interval: int = 10
    idle_grace: float = 1.0
    max_request_header_size: int = 64 * 1024
    max_request_body_size: int = REQUEST_BODY_LIMIT

    def waitress_settings(self) -> dict[str, Any]:
        settings = asdict(self)
        del settings["idle_grace"]
        # poll() has no FD_SETSIZE (1024) ceiling, unlike waitress's default select().
        settings["asyncore_use_poll"] = True
        return settings


class BoundedServer(TcpWSGIServer):
    """Waitress's TCP server; at the connection limit idle connections make room.

    Waitress stops accepting at `connection_limit` until some connection
    closes, which idle sockets only do after `channel_timeout`. Here, when the
    limit is reached, every connection that has been idle (no request in
    progress, nothing received or sent) for `idle_grace` seconds is closed, as
    nginx reuses idle keep-alive connections when it runs out of them. A
    browser reopens a closed keep-alive connection by itself.
    """

    idle_grace = ServerLimits.idle_grace

    def readable(self) -> bool:
        if self.accepting and len(self._map) >= self.adj.connection_limit:
            # maintenance(now) closes channels idle since `now - channel_timeout`.
            self.maintenance(time.time() + self.adj.channel_timeout - self.idle_grace)
        return super().readable()


def make_server(app: Any, host: str, port: int, threads: int,
                limits: ServerLimits | None = None) -> BoundedServer | MultiSocketServer:
    """The listening server(s) for `host:port`, like `waitress.create_server` for TCP.

    Raises OSError when the address cannot be resolved or bound.
    """
    limits = limits or ServerLimits()
    try:
        adj = Adjustments(host=host, port=port, threads=threads, **limits.waitress_settings())
    except ValueError as err:  # waitress wraps getaddrinfo errors in ValueError
        raise OSError(str(err)) from err
    sock_map: dict[int, Any] = {}
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    servers = []
    try:
        for sockinfo in adj.listen:
            server = BoundedServer(app, sock_map, dispatcher=dispatcher, adj=adj,
                                   sockinfo=sockinfo)
            server.idle_grace = limits.idle_grace
            servers.append(server)
    except OSError:
        for server in servers:
            server.close()
        dispatcher.shutdown()
        raise
    if len(servers) == 1:
        return servers[0]
    listening = [(s.effective_host, s.effective_port) for s in servers]
    return MultiSocketServer(sock_map, adj, listening, dispatcher, servers[-1].log_info)


def listen_addresses(host: str, port: int) -> list[str]:
    """The IP addresses `host` resolves to, as waitress will bind them."""
    infos = socket.getaddrinfo(host or None, port, 0, socket.SOCK_STREAM, 0,
                               socket.AI_PASSIVE)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def is_loopback_only(host: str, port: int) -> bool:
    """True when every address `host` stands for is loopback (unreachable from the network)."""
    try:
        addresses = listen_addresses(host, port)
    except (OSError, UnicodeError):
        return True  # cannot be bound at all: the bind error says so
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def fd_room() -> int | None:
    """How many files this process may open, or None when unlimited or unknown."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def find_corpus() -> Path | None:
    """`./corpus` when run from the repository, else the one beside the package."""
    for candidate in (Path(DEFAULT_CORPUS), Path(__file__).resolve().parent.parent / "corpus"):
        if candidate.is_dir():
            return candidate
    return None


def needs_index(index_dir: str) -> bool:
    """True when there is no committed index holding an article (an empty one is no use)."""
    return not (index_exists(index_dir) and holds_articles(index_dir))


def prepare_index(index_dir: str) -> None:
    """Write the derived arrays the newest generation lacks, once, before workers fork.

    The indexer writes them at every commit; an index from a run killed
    between Whoosh's commit and them, or from an older vnsearch, gets them
    here, so every worker memory-maps one copy instead of decoding its own.
    """
    from indexer.generations import ensure_derived, open_newest_readable

    try:
        opened = open_newest_readable(index_dir)
    except OSError:
        return
    if opened.index is not None:
        ensure_derived(index_dir, [opened.index], prune=False)


def connection_limits(connection_limit: int | None = None) -> ServerLimits:
    """The server's limits, the connection limit lowered to what the process may open."""
    limits = ServerLimits()
    if connection_limit is not None:
        limits = replace(limits, connection_limit=connection_limit)
    room = fd_room()
    if room is not None and limits.connection_limit > room - FD_HEADROOM:
        # accept() failing for want of file descriptors would spin the server
        limits = replace(limits, connection_limit=max(1, room - FD_HEADROOM))
    return limits


def site_server(index_dir: str, host: str, port: int, threads: int,
                connection_limit: int | None = None) -> Any:
    """The site over `index_dir`, bound to host:port and ready to `run()` (OSError if not)."""
    logging.basicConfig()  # waitress reports refused and dropped connections through logging
    app = create_app({"INDEX_DIR": index_dir})
    return make_server(app, host, port, threads, connection_limits(connection_limit))


def server_urls(server: Any) -> list[str]:
    """The URLs a bound server answers on."""
    if isinstance(server, MultiSocketServer):
        listening = list(server.effective_listen)
    else:
        listening = [(server.effective_host, server.effective_port)]
    return [f"http://[{h}]:{p}/" if ":" in str(h) else f"http://{h}:{p}/" for h, p in listening]


# -- several worker processes behind one port ---------------------------------------


def default_workers() -> int:
    """Worker processes by default: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address `host` stands for (OSError when none binds).

    Bound here, before gunicorn starts, so that a busy port or an unknown
    host is one clear message and exit status, and `--port 0` picks one port
    that every worker shares.
    """
    try:
        infos = socket.getaddrinfo(host or None, port, 0, socket.SOCK_STREAM, 0,
                                   socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as err:
        raise OSError(str(err)) from err
    sockets: list[socket.socket] = []
    seen: set[tuple] = set()
    try:
        for family, socktype, proto, _name, address in infos:
            if family not in (socket.AF_INET, socket.AF_INET6) or address[:2] in seen:
                continue
            seen.add(address[:2])
            sock = socket.socket(family, socktype, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            chosen = sockets[0].getsockname()[1] if sockets and port == 0 else port
            sock.bind((address[0], chosen, *address[2:]))
            sock.listen(2048)
            sockets.append(sock)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise OSError(f"no address to listen on for {host!r}")
    return sockets


def socket_urls(sockets: list[socket.socket]) -> list[str]:
    """The URLs bound sockets answer on."""
    urls = []
    for sock in sockets:
        host, port = sock.getsockname()[:2]
        urls.append(f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/")
    return urls


class SiteApplication(BaseApplication):
    """gunicorn's application: the settings, and the Flask app each worker builds after fork.

    The app (and its engine, with the index's open files) is made in the
    worker, never in the master: file handles shared across fork would
    share their offsets. The engine opens the index and answers a first
    query before the worker accepts a connection, so no visitor waits while
    a new worker builds its tables (a worker not ready yet leaves its share
    of connections to the others).
    """

    def __init__(self, index_dir: str, sockets: list[socket.socket], workers: int,
                 threads: int, limits: ServerLimits,
                 on_ready: Callable[[], None] | None = None) -> None:
        self.index_dir = index_dir
        self.threads = threads
        self.limits = limits
        self.workers = workers
        # gunicorn takes over (and closes) the descriptors given as fd://N
        self.fds = [sock.detach() for sock in sockets]
        self.on_ready = on_ready
        super().__init__()

    def load_config(self) -> None:
        settings = {
            "bind": [f"fd://{fd}" for fd in self.fds],
            "workers": self.workers,
            "worker_class": f"{__name__}.WaitressWorker",
            # a worker whose main loop stops reporting for this long is replaced; it
            # also bounds a worker's start (opening a large index on a busy machine)
            "timeout": 300,
            "graceful_timeout": 10,
            "loglevel": "warning",
            "proc_name": "vnsearch-serve",
            "when_ready": lambda _arbiter: self.on_ready and self.on_ready(),
            # before each fork, the first ones and a replacement after a crash alike
            "pre_fork": lambda _arbiter, _worker: share_before_fork(self.index_dir),
        }
        for key, value in settings.items():
            self.cfg.set(key, value)  # type: ignore[union-attr]

    def load(self) -> Any:
        app = create_app({"INDEX_DIR": self.index_dir})
        from .shared_engine import get_engine

        with app.app_context():
            try:  # one query builds the generation's tables (vocabulary, facets, scorer)
                get_engine().search(WARM_UP_QUERY)
            except Exception:  # noqa: BLE001 - no index yet: requests answer 503 until there is
                pass
        return app


def die_with_parent() -> None:
    """Have the kernel kill this process when its parent dies (Linux; elsewhere a no-op).

    A `vnsearch serve` killed with SIGKILL cannot stop its workers, which
    would keep the port until they notice; a server restarted at once on the
    same port would find it taken.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class WaitressWorker(Worker):
    """A gunicorn worker that serves its share of connections with waitress.

    The worker's main loop polls the sockets for a second at a time, then
    tells the arbiter it is alive; requests run on waitress's threads. The
    connection limit, idle-connection eviction and header and body limits
    are `BoundedServer`'s, per worker process.
    """

    def init_process(self) -> None:
        die_with_parent()
        if os.getppid() != self.ppid:  # the arbiter died before that took effect
            sys.exit(0)
        super().init_process()

    def run(self) -> None:
        site: SiteApplication = self.app  # type: ignore[assignment]
        limits = site.limits
        adj = Adjustments(sockets=[s.sock for s in self.sockets], threads=site.threads,
                          **limits.waitress_settings())
        sock_map: dict[int, Any] = {}
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(adj.threads)
        servers = []
        for sock in adj.sockets:
            server = BoundedServer(self.wsgi, sock_map, True, sock, dispatcher=dispatcher,
                                   adj=adj, bind_socket=False,
                                   sockinfo=(sock.family, sock.type, sock.proto,
                                             sock.getsockname()))
            server.idle_grace = limits.idle_grace
            servers.append(server)
        try:
            while self.alive:
                self.notify()
                if self.ppid != os.getppid():  # the arbiter is gone
                    break
                wasyncore.loop(timeout=1.0, map=sock_map, use_poll=True, count=1)
        finally:
            dispatcher.shutdown(cancel_pending=True, timeout=5)
            wasyncore.close_all(sock_map)


#: glibc's malloc arenas a worker may create (`MALLOC_ARENA_MAX`): by default up
#: to 8 per core, and each of waitress's threads grows and keeps its own, which
#: at 43k articles made a worker ~60 MB bigger for no speed (bench/load.py).
MALLOC_ARENAS = 2
#: mallopt(3)'s parameter number for the arena limit.
M_ARENA_MAX = -8


def limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas for this process and the workers it forks.

    Left alone when the administrator set MALLOC_ARENA_MAX, and a no-op where
    the C library is not glibc.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):
        pass


def share_before_fork(index_dir: str) -> None:
    """Build what every worker would build alike once, here, for the workers to share.

    The newest generation's vocabulary (`engine.snapshot.prebuild_vocabulary`),
    rebuilt when a newer generation has been committed since; then every
    object the master holds (modules included) is frozen out of the
    collector's reach, so a worker's collections do not write to, and so
    copy, the pages it shares with the master.
    """
    from engine.snapshot import prebuild_vocabulary, prebuilt_is_current

    if not prebuilt_is_current(index_dir):
        try:
            prebuild_vocabulary(index_dir)
        except Exception as err:  # noqa: BLE001 - the workers then build their own
            logging.getLogger(__name__).warning("vocabulary not built before forking: %s",
                                                type(err).__name__)
    gc.collect()
    gc.freeze()


def run_site(index_dir: str, sockets: list[socket.socket], workers: int, threads: int,
             connection_limit: int | None = None,
             on_ready: Callable[[], None] | None = None) -> None:
    """Serve the site on `sockets` with `workers` processes until SIGTERM or SIGINT."""
    logging.basicConfig()  # waitress reports refused and dropped connections through logging
    limits = connection_limits(connection_limit)
    limit_malloc_arenas()
    SiteApplication(index_dir, sockets, workers, threads, limits, on_ready).run()
    sys.stdout.flush()
