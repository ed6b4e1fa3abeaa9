"""The web site: `create_app` builds the Flask application (Flask's factory pattern).

`flask --app webapp run` and `vnsearch serve` both come through here. The
search engine is created once per app and shared by all requests; it reopens
the index by itself when the indexer commits, so the site never needs a
restart to see new articles.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, request
from flask_compress import Compress
from werkzeug.routing import PathConverter

#: Strict by design: every script and style is a static file of our own.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
#: Largest request body accepted, in bytes. Every route is a GET, which needs
#: none; waitress refuses a longer one with 413 before buffering it.
REQUEST_BODY_LIMIT = 64 * 1024
#: Static files named with their content's hash are cached for a year: a new
#: version has a new URL, so nobody ever sees a stale stylesheet or script.
STATIC_MAX_AGE = 365 * 24 * 3600
#: Responses worth compressing (gzip or brotli, whichever the browser takes).
COMPRESSED_TYPES = ["text/html", "text/css", "text/plain", "text/csv", "text/javascript",
                    "application/javascript", "application/json", "application/x-ndjson",
                    "application/atom+xml", "image/svg+xml"]


@lru_cache(maxsize=64)
def _content_hash(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def static_hash(folder: str, filename: str) -> str | None:
    """The first 12 hex digits of a static file's SHA-256 (None: no such file)."""
    path = Path(folder, filename)
    try:
        return _content_hash(str(path), path.stat().st_mtime_ns)
    except OSError:
        return None


def same_site_location(location: str) -> str:
    """A redirect target without scheme and host: it can only point into this site.

    Werkzeug builds its own redirects (e.g. for a missing trailing slash)
    from the request's Host header, which a client chooses freely.
    """
    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        return location
    path = "/" + parts.path.lstrip("/")  # `//host/x` would be another host again
    return urlunsplit(("", "", path, parts.query, parts.fragment))


class DocIdConverter(PathConverter):
    """An article id in a URL path: any text, slashes included, a leading one too.

    Ids are often a source's own path (`/2026/01/tin-moi`); Werkzeug's `path`
    refuses a leading slash.
    """

    regex = ".+?"
    part_isolating = False  # Werkzeug would infer True from a regex without "/"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. Config keys: INDEX_DIR (default `$VNSEARCH_INDEX` or `./index`)."""
    app = Flask(__name__)
    app.config.update(
        INDEX_DIR=os.environ.get("VNSEARCH_INDEX", "index"),
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=REQUEST_BODY_LIMIT,
        # Long URLs from huge queries are refused by our own checks, not by a 500.
        TEMPLATES_AUTO_RELOAD=False,
        COMPRESS_MIMETYPES=COMPRESSED_TYPES,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_MIN_SIZE=500,
        # Streamed responses (exports) stay streamed: compressing them would buffer them whole.
        COMPRESS_STREAMS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    # No blank lines from template tags: a results page is mostly loops.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if config:
        app.config.update(config)
    app.debug = False
    # A `//` in a path is taken as typed (a 404, or an id that holds it), not
    # merged into a redirect built from the Host header, which a client names.
    app.url_map.merge_slashes = False
    app.url_map.converters["docid"] = DocIdConverter

    from .api import api
    from .errors import register_error_handlers
    from .exports import exports
    from .feeds import feeds
    from .pages import pages

    app.register_blueprint(pages)
    app.register_blueprint(exports)
    app.register_blueprint(feeds)
    app.register_blueprint(api, url_prefix="/api")
    register_error_handlers(app)
    Compress(app)

    @app.url_defaults
    def hashed_static(endpoint: str, values: dict[str, Any]) -> None:
        """`/static/style.css?v=<content hash>`: the URL changes whenever the file does."""
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = static_hash(app.static_folder or "", values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def static_caching(response):  # type: ignore[no-untyped-def]
        """A year of caching for a static URL that names the current content, else revalidate."""
        if request.endpoint == "static" and response.status_code == 200:
            filename = (request.view_args or {}).get("filename", "")
            current = static_hash(app.static_folder or "", filename)
            if current and request.args.get("v") == current:
                response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
            else:
                response.headers["Cache-Control"] = "no-cache"
        return response

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        """CSP and friends on every response, HTML and JSON alike; redirects stay on site."""
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if "Location" in response.headers:
            response.headers["Location"] = same_site_location(response.headers["Location"])
        return response

    return app
