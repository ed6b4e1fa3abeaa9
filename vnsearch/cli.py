"""`vnsearch`: the command line, the product's front door.

Every command's printing and exit status live here; the modules underneath
return data: extract → `indexer.extract`, index → `indexer.build`,
search → `engine.SearchEngine`, serve → `webapp` (the application factory)
under a production WSGI server (`webapp.serve`). Text that comes from input
files or queries is printed through `indexer.terminal.printable`, so an
escape sequence in a title cannot act on the terminal.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Iterable
from datetime import datetime
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING

import click

from indexer.terminal import display_path, json_line, printable

if TYPE_CHECKING:
    from indexer.article import Article

DEFAULT_CORPUS = "corpus"
EXIT_FAILED = 1
EXIT_BUSY = 75  # EX_TEMPFAIL: another indexer holds the index, try again later
EXIT_INTERRUPTED = 130


def default_index_dir() -> str:
    return os.environ.get("VNSEARCH_INDEX", "index")


index_option = click.option(
    "--index",
    "index_dir",
    default=default_index_dir,
    show_default="$VNSEARCH_INDEX or ./index",
    type=click.Path(file_okay=False),
    help="Index folder.",
)


backend_option = click.option(
    "--backend",
    type=click.Choice(["whoosh", "xapian"]),
    default=lambda: os.environ.get("VNSEARCH_BACKEND") or None,
    show_default="$VNSEARCH_BACKEND, else what the index folder holds (new ones: whoosh)",
    help="Index store: Whoosh files, or Xapian (a local database or the shards of "
         "`vnsearch cluster`).",
)


def resolve_backend(index_dir: str, requested: str | None) -> str:
    """The backend of an index folder; a request that contradicts an existing index fails."""
    from indexer.xapian_store import store_exists

    found = "xapian" if store_exists(index_dir) else (
        "whoosh" if Path(index_dir).is_dir() and any(Path(index_dir).glob("_MAIN_*.toc"))
        else None)
    if requested and found and requested != found:
        raise click.ClickException(
            f"{display_path(index_dir)} holds a {found} index, not {requested}: "
            "choose another --index folder (or drop --backend)")
    return found or requested or "whoosh"


@click.group()
def main() -> None:
    """Full-text search for Vietnamese news articles."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
def extract(files: tuple[str, ...], as_json: bool) -> None:
    """Print the article record(s) the indexer would store, without touching any index."""
    sys.exit(extract_command(files, as_json))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@index_option
@click.option("--rebuild", is_flag=True, help="Start the index over.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Processes (default: cores)."
)
@backend_option
def index(paths: tuple[str, ...], index_dir: str, rebuild: bool, workers: int | None,
          backend: str | None) -> None:
    """Index folders and files (default corpus/), incrementally unless --rebuild."""
    backend = resolve_backend(index_dir, backend)
    sys.exit(index_command(list(paths) or [DEFAULT_CORPUS], index_dir, rebuild, workers,
                           backend))


@main.command()
@click.argument("query")
@index_option
@click.option("--province", multiple=True)
@click.option("--district", multiple=True)
@click.option("--commune", multiple=True)
@click.option("--province-2025", "province_2025", multiple=True)
@click.option("--commune-2025", "commune_2025", multiple=True,
              help="A 2025 commune/ward: its code or its name (xã Bình Mỹ, Bình Mỹ (Ninh Bình)).")
@click.option("--directive", multiple=True)
@click.option("--year", multiple=True)
@click.option("--from", "date_from", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only articles dated on or after this day (YYYY-MM-DD).")
@click.option("--to", "date_to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only articles dated on or before this day (YYYY-MM-DD).")
@click.option("--outlet", multiple=True, help="An outlet (vnexpress.net), as the facet lists it.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance")
@click.option("--page", type=click.IntRange(min=1), default=1)
@click.option("--per-page", type=click.IntRange(min=1, max=100), default=10)
@click.option("--json", "as_json", is_flag=True, help="Print exactly the JSON of /api/search.")
@click.option("--facet-limit", type=click.IntRange(min=1), default=None,
              help="Values listed per facet and locality tree level (default: as /api/search).")
@click.option("--format", "export_format", type=click.Choice(["csv", "jsonl"]), default=None,
              help="Print every hit (all pages) as /export.csv or /export.jsonl does.")
@backend_option
def search(query: str, index_dir: str, sort: str, page: int, per_page: int, as_json: bool,
           facet_limit: int | None, date_from: datetime | None, date_to: datetime | None,
           export_format: str | None, backend: str | None,
           **facets: tuple[str, ...]) -> None:
    """Search the index."""
    from engine import SearchEngine
    from engine.engine import DEFAULT_FACET_LIMIT

    if not Path(index_dir).is_dir():
        raise click.ClickException(f"no index at {index_dir}: run `vnsearch index` first")
    from indexer.backend import IndexUnavailable

    resolve_backend(index_dir, backend)
    engine = SearchEngine(index_dir)
    filters = {name: list(values) for name, values in facets.items() if values}
    dates = {"date_from": date_from.date().isoformat() if date_from else None,
             "date_to": date_to.date().isoformat() if date_to else None}
    try:
        if export_format:
            from engine.export import csv_lines, iter_hits, jsonl_lines

            lines = csv_lines if export_format == "csv" else jsonl_lines
            out = click.get_binary_stream("stdout")
            for line in lines(iter_hits(engine, query, filters=filters, sort=sort, **dates)):
                out.write(line.encode("utf-8"))
            out.flush()
            return
        result = engine.search(query, filters=filters, sort=sort, page=page, per_page=per_page,
                               facet_limit=facet_limit or DEFAULT_FACET_LIMIT, **dates)
    except IndexUnavailable as err:
        raise click.ClickException(f"the index cannot answer now ({err}); try again") from None
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(format_results(result))


@main.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Server processes answering queries in parallel (default: the core count).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1),
              help="Connection threads per server process.")
@click.option("--connection-limit", type=click.IntRange(min=2), default=None,
              help="Open connections at once per server process (default 1000, fewer if "
                   "the process may not open that many files).")
@backend_option
def serve(index_dir: str, host: str, port: int, workers: int | None, threads: int,
          connection_limit: int | None, backend: str | None) -> None:
    """Run the web site (builds the index from corpus/ first if there is none)."""
    backend = resolve_backend(index_dir, backend)
    sys.exit(serve_command(index_dir, host, port, threads, connection_limit, workers, backend))


@main.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--shards", type=click.IntRange(min=1, max=64), default=2, show_default=True)
@click.option("--replicas", type=click.IntRange(min=0, max=8), default=1, show_default=True,
              help="Read-only copies per shard, kept in sync by xapian-replicate.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to serve on.")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=0,
              help="First of consecutive ports (1 + shards x (2 + replicas)); 0: any free ones.")
def cluster(folder: str, shards: int, replicas: int, host: str, port: int) -> None:
    """Run Xapian shard servers and replicas on this machine until interrupted.

    FOLDER becomes an index folder: `vnsearch index/search/serve --index FOLDER`.
    """
    sys.exit(cluster_command(folder, shards, replicas, host, port))


# -- the commands' bodies: printing and exit statuses ---------------------------


def cluster_command(folder: str, shards: int, replicas: int, host: str, port: int) -> int:
    """`vnsearch cluster`: start the servers, print where they listen, stop them on a signal."""
    import signal
    import threading

    from indexer.xapian_cluster import Cluster, ClusterError, free_ports
    from indexer.xapian_store import load_store, store_exists

    if (store_exists(folder) and not load_store(folder).remote) \
            or any(Path(folder).glob("_MAIN_*.toc")):
        _err(f"vnsearch cluster: {display_path(folder)} holds a local index; "
             "choose an empty folder (moving to a cluster is a full re-index)")
        return 2
    if store_exists(folder) and len(load_store(folder).shards) != shards:
        _err(f"vnsearch cluster: {display_path(folder)} holds "
             f"{len(load_store(folder).shards)} shards, not {shards}: an id's shard would "
             "change; resharding is a full re-index into a new folder")
        return 2
    needed = Cluster.ports_needed(shards, replicas)
    ports = free_ports(needed, host) if port == 0 else list(range(port, port + needed))
    if ports[-1] > 65535:
        _err(f"vnsearch cluster: {needed} ports from {port} pass 65535")
        return 2
    running = Cluster(Path(folder), shards, replicas, host, ports)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        store = running.start()
    except ClusterError as err:
        _err(f"vnsearch cluster: {printable(err)}")
        return EXIT_FAILED
    for i, shard in enumerate(store.shards):
        print(f"shard {i}: primary {shard.primary}, writer {shard.writer}, "
              f"replicas {', '.join(shard.replicas) or 'none'}")
    print(f"index folder: {display_path(folder)} (Ctrl-C stops the servers)", flush=True)
    try:
        while not stop.wait(1.0):
            for server in running.servers:
                if server.process is not None and server.process.poll() is not None \
                        and not getattr(server, "reported", False):
                    server.reported = True  # type: ignore[attr-defined]
                    _err(f"vnsearch cluster: {server.name} exited "
                         f"(status {server.process.returncode})")
    finally:
        running.stop()
    return 0



def index_command(paths: list[str], index_dir: str, rebuild: bool, workers: int | None,
                  backend: str = "whoosh") -> int:
    """`vnsearch index`: the summary line on stdout, problems on stderr; the exit status."""
    try:  # loads the word segmenter's model files
        from indexer.build import build_index
        from indexer.lock import IndexBusy
        from indexer.writers import IndexingError
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        _err(f"vnsearch index: cannot load the word segmenter: {err.strerror or err}"
             f"{where}; the index was not changed")
        return EXIT_FAILED
    builder = build_index
    store_errors: tuple[type[Exception], ...] = ()
    if backend == "xapian":
        from indexer.xapian_store import StoreError
        from indexer.xapian_writing import build_index as builder

        store_errors = (StoreError,)
    try:
        summary = builder(paths, index_dir, rebuild=rebuild, workers=workers)
    except store_errors as err:
        _err(f"vnsearch index: {printable(err)}; the index was not changed")
        return EXIT_FAILED
    except IndexBusy as err:
        _err(f"vnsearch index: {printable(err)}")
        return EXIT_BUSY
    except IndexingError as err:
        _err(f"vnsearch index: {printable(err)}; the index was not changed")
        return EXIT_FAILED
    except OSError as err:  # full disk (ENOSPC), file size limit (EFBIG), permissions
        hint = " (free some space and run again)" if err.errno == errno.ENOSPC else ""
        where = f" ({display_path(err.filename)})" if err.filename else ""
        _err(f"vnsearch index: cannot write the index in {display_path(index_dir)}: "
             f"{err.strerror or err}{where}{hint}; the index was not changed")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("vnsearch index: interrupted; the index was not changed")
        return EXIT_INTERRUPTED
    for warning in summary.warnings:
        _err(f"vnsearch index: {printable(warning)}")
    for where, reason in summary.failures:
        _err(f"failed: {display_path(where)}: {printable(reason)}")
    print(summary.line())
    return 0


def serve_command(index_dir: str, host: str, port: int, threads: int,
                  connection_limit: int | None = None, workers: int | None = None,
                  backend: str = "whoosh") -> int:
    """`vnsearch serve`: index the sample corpus if there is no index, then serve.

    The index is built here, before the server forks its workers, so they
    all open the same committed index.
    """
    from webapp.serve import (
        bind_sockets,
        default_workers,
        find_corpus,
        is_loopback_only,
        needs_index,
        prepare_index,
        run_site,
        socket_urls,
    )

    if not is_loopback_only(host, port):
        _err(f"vnsearch serve: WARNING: listening on {host}, the site is open to the "
             "network: anyone who can reach this machine can use it. Serve on 127.0.0.1 "
             "behind a reverse proxy instead (README, Operating).")
    if needs_index(index_dir):
        corpus = find_corpus()
        if corpus is None:
            _err(f"vnsearch serve: no index at {index_dir} and no corpus/ folder to build one;"
                 " run `vnsearch index PATH` first")
            return 2
        _err(f"No articles indexed at {index_dir}: indexing {corpus}/ …")
        status = index_command([str(corpus)], index_dir, False, None, backend)
        if status != 0 or needs_index(index_dir):
            _err("vnsearch serve: building the index failed")
            return status or EXIT_FAILED
    if backend == "whoosh":
        prepare_index(index_dir)
    try:
        sockets = bind_sockets(host, port)
    except OSError as exc:
        _err(f"vnsearch serve: cannot listen on {host}:{port}: {exc}")
        return EXIT_FAILED
    workers = workers or default_workers()
    urls = ", ".join(socket_urls(sockets))
    plural = "es" if workers > 1 else ""
    run_site(index_dir, sockets, workers, threads, connection_limit,
             on_ready=lambda: _err(f"Serving {index_dir} on {urls} with {workers} "
                                   f"process{plural} (Ctrl+C to stop)"))
    return 0


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)




def extract_command(files: Iterable[str], as_json: bool) -> int:
    """`vnsearch extract`: print records (JSON Lines with --json); problems on stderr.

    Returns the exit status: 0 when every file was read, 1 when any failed.
    """
    from indexer.extract import extract_file_report, iter_input_files
    from indexer.readers import ReadError

    failed = 0
    first = True
    problems: list[tuple[str, str]] = []
    for path in iter_input_files(files, problems):
        for where, reason in problems:
            print(f"{where}: {reason}", file=sys.stderr)
            failed += 1
        problems.clear()
        notes: list[str] = []
        shown = display_path(path)
        try:
            articles, warnings = extract_file_report(path, notes)
        except ReadError as error:
            print(f"{display_path(error.path)}: {printable(error.reason)}", file=sys.stderr)
            failed += 1
            continue
        for note in notes:
            print(f"{shown}: {printable(note)}", file=sys.stderr)
        for warning in warnings:
            print(f"{shown}: {printable(warning)}", file=sys.stderr)
        for article in articles:
            if as_json:
                print(json_line(article.to_dict()))
            else:
                if not first:
                    print()
                print(format_record(article))
            first = False
    for where, reason in problems:  # found after the last file
        print(f"{where}: {reason}", file=sys.stderr)
        failed += 1
    return 1 if failed else 0


def format_record(article: Article) -> str:
    """A readable view of one record, for `vnsearch extract` without --json."""
    lines = [
        f"id:         {printable(article.id)}",
        f"title:      {printable(article.title)}",
        f"date:       {printable(article.date or '-')}",
        f"author:     {printable(article.author or '-')}",
        f"source:     {display_path(article.source) if article.source else '-'}",
        f"url:        {printable(article.source_url or '-')}",
        f"outlet:     {printable(article.outlet or '-')}",
    ]
    for i, loc in enumerate(article.localities):
        names = printable(", ".join(n for n in (loc.commune, loc.district, loc.province) if n))
        label = "localities:" if i == 0 else ""
        lines.append(f"{label:<12}{names} (2025: {printable(loc.province_2025)}) [{loc.role}]")
    if not article.localities:
        lines.append("localities: -")
    for i, d in enumerate(article.directives):
        label = "directives:" if i == 0 else ""
        details = printable(", ".join(x for x in (d.type, d.issuer, d.date) if x))
        lines.append(f"{label:<12}{printable(d.code)} ({details})")
    if not article.directives:
        lines.append("directives: -")
    body = article.body if len(article.body) <= 400 else article.body[:400] + "…"
    lines.append("body:")
    lines.extend("  " + printable(p) for p in body.split("\n\n"))
    return "\n".join(lines)


def format_results(result: dict) -> str:
    """Plain text for the terminal: totals, suggestion, hits with snippets, facets.

    Everything that comes from the articles or the query goes through
    `printable`: a title holding escape sequences (an index written before
    the indexer cleaned them, or a query typed with them) must not recolour
    the terminal, rename its window or hide text.
    """
    lines: list[str] = []
    total = result.get("total", 0)
    query = result.get("query", "")
    header = f"{total} kết quả cho «{printable(query)}»" if query else f"{total} kết quả"
    if result.get("pages"):
        header += f" (trang {result.get('page')}/{result.get('pages')})"
    lines.append(header)
    if result.get("unmatched"):
        missing = ", ".join(printable(word) for word in result["unmatched"])
        lines.append(f"Không tìm thấy: {missing}")
    if result.get("suggestion"):
        lines.append(f"Có phải bạn muốn tìm: {printable(result['suggestion'])}")
    lines.extend(printable(line) for line in result.get("relations") or [])
    start = (result.get("page", 1) - 1) * result.get("per_page", 10)
    for i, hit in enumerate(result.get("hits", []), start + 1):
        lines.append("")
        date = hit.get("date") or "không rõ ngày"
        title, doc_id = printable(hit.get("title")), printable(hit.get("id"))
        lines.append(f"{i}. {title}  [{printable(date)}]  {doc_id}")
        lines.append(f"   {printable(_plain(hit.get('snippet', '')))}")
        if hit.get("missing"):
            lines.append(f"   Không có: {', '.join(printable(w) for w in hit['missing'])}")
    facets = result.get("facets") or {}
    names = {"province": "Tỉnh", "district": "Huyện", "commune": "Xã",
             "province_2025": "Tỉnh (2025)", "commune_2025": "Xã (2025)",
             "directive": "Văn bản", "year": "Năm", "outlet": "Nguồn"}
    shown = False
    for name in names:
        entries = facets.get(name) or []
        if entries:
            if not shown:
                lines.append("")
                shown = True
            values = ", ".join(
                f"{printable(e.get('label') or e['value'])} ({e['count']})" for e in entries[:8]
            )
            lines.append(f"{names.get(name, name)}: {values}")
    return "\n".join(lines)


def _plain(html: str) -> str:
    return unescape(html.replace("<mark>", "[").replace("</mark>", "]"))
