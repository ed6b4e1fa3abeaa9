"""The web site: `create_app` builds the Flask application (Flask's factory pattern).

`flask --app webapp run` and `vnsearch serve` both come through here. The
search engine is created once per app and shared by all requests; it reopens
the index by itself when the indexer commits, so the site never needs a
restart to see new articles.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask

#: Strict by design: every script and style is a static file of our own.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
#: Largest request body accepted, in bytes. Every route is a GET, which needs
#: none; waitress refuses a longer one with 413 before buffering it.
REQUEST_BODY_LIMIT = 64 * 1024


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


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. Config keys: INDEX_DIR (default `$VNSEARCH_INDEX` or `./index`)."""
    app = Flask(__name__)
    app.config.update(
        INDEX_DIR=os.environ.get("VNSEARCH_INDEX", "index"),
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=REQUEST_BODY_LIMIT,
        # Long URLs from huge queries are refused by our own checks, not by a 500.
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if config:
        app.config.update(config)
    app.debug = False
    # A `//` in a path is taken as typed (a 404, or an id that holds it), not
    # merged into a redirect built from the Host header, which a client names.
    app.url_map.merge_slashes = False

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
