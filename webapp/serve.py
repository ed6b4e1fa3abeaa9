"""The site under waitress, a production WSGI server (never Flask's debug server).

`vnsearch serve` (in `vnsearch/cli.py`) builds an index from the sample
corpus first when there is none (`needs_index`, `find_corpus`), so it works
straight after a clone, then runs `site_server`.

The server's resources are bounded (see `ServerLimits`): open connections,
request line and headers, request bodies (the site only answers GET, so a
body is never needed) and how long an idle connection may hold a slot. At
the connection limit, connections that sit idle make room for new ones
instead of locking everyone else out.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from waitress.adjustments import Adjustments
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from engine import holds_articles, index_exists

from . import REQUEST_BODY_LIMIT, create_app

#: The sample articles shipped with the repository.
DEFAULT_CORPUS = "corpus"
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
