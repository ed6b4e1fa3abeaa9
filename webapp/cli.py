"""`vnsearch`: the command line, the product's front door.

Each command is a thin shell over the module that does the work:
extract → indexer.extract, index → indexer.build, search → webapp.search,
serve → webapp (application factory) under a production WSGI server.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

DEFAULT_CORPUS = "corpus"


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


@click.group()
def main() -> None:
    """Full-text search for Vietnamese news articles."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
def extract(files: tuple[str, ...], as_json: bool) -> None:
    """Print the article record(s) the indexer would store, without touching any index."""
    from indexer.extract import extract_command

    sys.exit(extract_command(files, as_json))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@index_option
@click.option("--rebuild", is_flag=True, help="Start the index over.")
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Processes (default: cores)."
)
def index(paths: tuple[str, ...], index_dir: str, rebuild: bool, workers: int | None) -> None:
    """Index folders and files (default corpus/), incrementally unless --rebuild."""
    try:  # pyvi unpacks its model into a temporary file: a full disk shows here first
        from indexer.build import index_command
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        click.echo(f"vnsearch index: cannot load the word segmenter: {err.strerror or err}"
                   f"{where}; free some space (or set TMPDIR) and run again; "
                   "the index was not changed", err=True)
        sys.exit(1)

    sys.exit(index_command(list(paths) or [DEFAULT_CORPUS], index_dir, rebuild, workers))


@main.command()
@click.argument("query")
@index_option
@click.option("--province", multiple=True)
@click.option("--district", multiple=True)
@click.option("--commune", multiple=True)
@click.option("--province-2025", "province_2025", multiple=True)
@click.option("--directive", multiple=True)
@click.option("--year", multiple=True)
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance")
@click.option("--page", type=click.IntRange(min=1), default=1)
@click.option("--per-page", type=click.IntRange(min=1, max=100), default=10)
@click.option("--json", "as_json", is_flag=True, help="Print exactly the JSON of /api/search.")
def search(query: str, index_dir: str, sort: str, page: int, per_page: int, as_json: bool,
           **facets: tuple[str, ...]) -> None:
    """Search the index."""
    from webapp.public import public_result
    from webapp.search import SearchEngine, format_results

    if not Path(index_dir).is_dir():
        raise click.ClickException(f"no index at {index_dir}: run `vnsearch index` first")
    engine = SearchEngine(index_dir)
    filters = {name: list(values) for name, values in facets.items() if values}
    result = public_result(
        engine.search(query, filters=filters, sort=sort, page=page, per_page=per_page))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        click.echo(format_results(result))


@main.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--connection-limit", type=click.IntRange(min=2), default=None,
              help="Open connections at once (default 1000, fewer if the process may not "
                   "open that many files).")
def serve(index_dir: str, host: str, port: int, threads: int,
          connection_limit: int | None) -> None:
    """Run the web site (builds the index from corpus/ first if there is none)."""
    from webapp.serve import serve_command

    sys.exit(serve_command(index_dir, host, port, threads, connection_limit))


if __name__ == "__main__":
    main()
