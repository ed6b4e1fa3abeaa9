"""From input files to article records: the first step of the indexer's flow.

    iter_input_files(paths)        folders expanded (sorted, supported types only)
    extract_file(path)             -> list[Article]; raises ReadError if unreadable
    extract_file_report(path)      -> (articles, warnings): same, plus one warning
                                      per skipped JSON line/record ("line 3: ...")
    extract_text(id, text, source) -> Article, for a scraped .txt page
    extract_record(record, source) -> Article, for one JSON record (ValueError if
                                      it lacks `id` or `body`)

One bad line in a JSONL dump costs only that line: its problem is reported as
a warning and the good records are kept. A file with no usable record, or that
cannot be decoded, raises `ReadError` (path + reason) so callers can list it
and go on. `source` is the path as given; the id of a .txt/.html article is
its file name without extension, JSON records carry their own `id`; both are
checked by `indexer.article.validate_id` (a file whose name is not a valid id
is reported and skipped, a record with a bad id is a skipped line).

The folder walk takes only what the user meant to hand over: regular files
(a FIFO or a device would block or never end), names that are valid UTF-8
without control characters (the path is stored and printed), and symbolic
links only when they lead inside one of the folders given (a link to
`/etc/passwd` or `/proc/self/environ` must not become a public article).
Whatever is skipped is reported with its reason.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from indexer.article import Article, forbidden_character, validate_id
from indexer.clean import clean_body, parse_page, tidy
from indexer.directives import find_directives
from indexer.localities import find_localities, sentence_starts, story_end
from indexer.readers import (
    MAX_ARTICLE_BYTES,
    ReadError,
    iter_json,
    iter_jsonl,
    read_html,
    read_text,
)
from indexer.terminal import display_path

SUPPORTED_SUFFIXES = (".txt", ".json", ".jsonl", ".jsonl.gz", ".jsonl.xz", ".html", ".htm")
#: Problems listed per file; more are counted in one last line (a bomb of bad lines
#: must not fill memory with warnings).
MAX_WARNINGS = 100

# Dates in JSON without their own offset are taken as Vietnam time (UTC+7).
_VIETNAM = timezone(timedelta(hours=7))
_SENTENCE_END_RE = re.compile(r"[.!?…\"”»)]$")
# A lead is the first sentences of the first paragraph, at least this long.
_LEAD_CHARS = 250
#: Longest web address kept for an article (longer ones are not real article links).
MAX_URL_CHARS = 2000
#: Longest outlet name taken from an input's `source` field.
MAX_OUTLET_CHARS = 100
#: Articles of a JSON file handed on at a time while it is read (`extract_file_report`).
STREAM_BATCH = 32


def web_address(value: object) -> str | None:
    """`value` as an article's web address: an http(s) URL with a host, else None.

    Anything else (a `javascript:` link, a relative path, text with spaces or
    control characters) is dropped rather than stored: the site links to it.
    """
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > MAX_URL_CHARS or any(
            ch.isspace() or unicodedata.category(ch).startswith("C") for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # a malformed IPv6 host or port
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return url


def outlet_name(url: str | None, source: object = None) -> str | None:
    """The outlet of an article: its address's domain without `www.`, else `source` as given."""
    host = urlsplit(url).hostname if url else None
    if not host and isinstance(source, str):
        named = tidy(source)[:MAX_OUTLET_CHARS].strip()
        if not named:
            return None
        host = named.lower() if "." in named and " " not in named else None
        if host is None:
            return named
    host = (host or "").rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host or None


def suffix_of(path: Path) -> str | None:
    """The supported suffix a file name ends with (case-insensitive), else None."""
    name = path.name.lower()
    for suffix in sorted(SUPPORTED_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return None


def _is_link_loop(path: Path) -> bool:
    """A symbolic link that leads back to itself (resolving it fails with ELOOP)."""
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop this way
        return True
    except OSError as error:
        return error.errno == errno.ELOOP
    return False


def _name_problem(path: str) -> str | None:
    """Why a path found in a folder cannot be taken as it is named, or None."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8, skipped (rename it)"
    bad = forbidden_character(path)
    if bad is not None:
        return f"file name contains {bad}, skipped (rename it)"
    return None


def _inside(real: str, roots: list[str]) -> bool:
    """`real` (a resolved path) is one of `roots` or inside one."""
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


_OUTSIDE = "symbolic link leads outside the indexed folder, skipped"
_NOT_REGULAR = "not a regular file (a device, pipe or socket), skipped"


def iter_input_files(
    paths: Iterable[str | Path], problems: list[tuple[str, str]] | None = None
) -> Iterator[Path]:
    """Files to read: folders walked recursively, files yielded as given.

    Inside folders only supported types are taken, in sorted order, hidden
    files and folders skipped, and each real folder visited once, so a
    symlink loop cannot make the walk endless. A symbolic link is followed
    only when it resolves inside one of the folders given (a path given
    itself may be a link: the user named it). Only regular files are
    yielded. What is skipped (a link out of the folders, back into its own
    folder, to itself or to nothing, a name that is not valid UTF-8 or holds
    a control character, a FIFO or device, an unreadable folder) is appended
    to `problems` as (path as shown to a user, reason), once per walk.
    """

    def report(where: str, reason: str) -> None:
        if problems is not None:
            problems.append((display_path(where), reason))

    def unreadable(error: OSError) -> None:
        report(str(error.filename), f"cannot read folder ({error.strerror})")

    given = [os.fspath(p) for p in paths]
    roots = [os.path.realpath(p) for p in given if os.path.isdir(p)]
    for raw in given:
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            report(raw, "file name is not valid UTF-8, skipped (rename it)")
            continue
        path = Path(raw)
        if not path.is_dir():
            try:
                mode = os.stat(path).st_mode
            except OSError:
                mode = stat.S_IFREG  # missing or unreadable: the reader says which
            if stat.S_ISREG(mode):
                yield path
            else:
                report(raw, _NOT_REGULAR)
            continue
        seen: set[str] = set()
        for root, dirs, files in os.walk(path, followlinks=True, onerror=unreadable):
            real = os.path.realpath(root)
            if real in seen:
                dirs[:] = []
                parent = os.path.realpath(os.path.dirname(root))
                if (parent + os.sep).startswith(real + os.sep):
                    report(root, f"symbolic link loop (leads back to {display_path(real)}), "
                           "skipped")
                continue
            seen.add(real)
            kept = []
            for name in sorted(dirs):
                folder = os.path.join(root, name)
                if name.startswith("."):
                    continue
                problem = _name_problem(name)
                if problem is None and os.path.islink(folder) and \
                        not _inside(os.path.realpath(folder), roots):
                    problem = _OUTSIDE
                if problem is not None:
                    report(folder, problem.replace("file name", "folder name"))
                    continue
                kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                file = os.path.join(root, name)
                if name.startswith(".") or not suffix_of(Path(name)):
                    continue
                problem = _name_problem(name)
                if problem is not None:
                    report(file, problem)
                    continue
                try:
                    target = os.path.realpath(file, strict=True)
                    mode = os.stat(target).st_mode
                except (OSError, RuntimeError):  # RuntimeError: a loop, Python < 3.13
                    reason = "symbolic link loop" if _is_link_loop(Path(file)) else \
                        "broken symbolic link"
                    report(file, f"{reason}, skipped")
                    continue
                if not _inside(target, roots):  # only a link can lead out
                    report(file, _OUTSIDE)
                    continue
                if stat.S_ISREG(mode):
                    yield Path(file)
                elif not stat.S_ISDIR(mode):
                    report(file, _NOT_REGULAR)


def _lead_index(paragraphs: list[str]) -> int | None:
    """The first real paragraph: a sentence, not a short photo caption."""
    for i, paragraph in enumerate(paragraphs):
        if len(paragraph) >= 120 or (_SENTENCE_END_RE.search(paragraph) and len(paragraph) >= 40):
            return i
    return 0 if paragraphs else None


def _enrich(article: Article, lead: str | None) -> Article:
    """Add localities and directives, found in title, summary/lead and body."""
    parts = [article.title]
    if article.summary:
        parts.append(article.summary)
    parts.append(article.body)
    text = "\n\n".join(p for p in parts if p)
    title_span = (0, len(article.title))
    lead_spans = []
    if lead:
        # a body in one paragraph: its first sentences are the lead
        starts = sentence_starts(lead)
        lead = lead[:next((s for s in starts if s >= _LEAD_CHARS), len(lead))].rstrip()
        start = text.find(lead, len(article.title))
        if start >= 0:
            lead_spans.append((start, start + len(lead)))
    # places in a teaser of another story appended to the body are not the article's
    article.localities = find_localities(text[:story_end(text)], lead_spans, title_span,
                                         article.date)
    article.directives = find_directives(text, article.localities)
    return article


def extract_text(id: str, text: str, source: str | None = None) -> Article:
    """The article in a scraped plain-text page (chrome removed, header date ignored)."""
    page = parse_page(text)
    article = Article(
        id=id, title=page.title, body="\n\n".join(page.paragraphs), date=page.date,
        author=page.author, source=source,
    )
    lead = _lead_index(page.paragraphs)
    return _enrich(article, page.paragraphs[lead] if lead is not None else None)


def parse_iso_date(value: object) -> str | None:
    """ISO 8601 date or datetime → `YYYY-MM-DD` (Vietnam time for datetimes); else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(_VIETNAM)
    return moment.date().isoformat()


def _text_field(record: dict, name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"field '{name}' is not text")
    value = tidy(value)
    return value or None


def record_id(record: dict) -> str:
    """The article id of a JSON record (see `validate_id`); ValueError when unusable."""
    raw_id = record.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise ValueError("missing required field 'id'")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise ValueError("field 'id' is not text")
    return validate_id(raw_id)


def extract_record(record: dict, source: str | None = None) -> Article:
    """The article in one JSON record (interface fields); ValueError when unusable."""
    article_id = record_id(record)
    body = record.get("body")
    if not isinstance(body, str) or not body.strip():
        raise ValueError("missing required field 'body'")
    if len(body) > MAX_ARTICLE_BYTES // 2 and len(body.encode("utf-8")) > MAX_ARTICLE_BYTES:
        size = len(body.encode("utf-8")) / (1024 * 1024)
        raise ValueError(
            f"body too large ({size:.1f} MB; an article may have at most "
            f"{MAX_ARTICLE_BYTES / (1024 * 1024):.1f} MB)"
        )
    date_value = record.get("date")
    date = parse_iso_date(date_value)
    if date_value not in (None, "") and date is None:
        raise ValueError(f"date {date_value!r} is not ISO 8601")
    paragraphs = clean_body(body)
    summary = _text_field(record, "summary")
    url = web_address(record.get("source_url")) or web_address(record.get("url"))
    article = Article(
        id=article_id,
        title=_text_field(record, "title") or "",
        body="\n\n".join(paragraphs),
        date=date,
        author=_text_field(record, "author"),
        source=source,
        summary=summary,
        source_url=url,
        outlet=outlet_name(url, record.get("source")),
    )
    lead_index = _lead_index(paragraphs)
    lead = summary or (paragraphs[lead_index] if lead_index is not None else None)
    return _enrich(article, lead)


def extract_file_report(
    path: Path, notes: list[str] | None = None, progress: Callable[[], None] | None = None,
    batches: Callable[[list[Article]], None] | None = None,
) -> tuple[list[Article], list[str]]:
    """Articles of one file and warnings about records skipped in it.

    `notes` receives what was done to the file that is not a failure (such as
    a conversion from a legacy Vietnamese font encoding). `progress` is called
    after each record of a JSON file, so a caller can tell a long dump being
    read from a file that is stuck. With `batches`, a JSON file's articles go
    to it every `STREAM_BATCH` as they are read (an indexing run starts
    writing them before the dump is read through); the list returned holds
    the rest.
    """
    path = Path(path)
    suffix = suffix_of(path)
    if suffix is None:
        if path.is_dir():
            raise ReadError(path, "is a folder")
        raise ReadError(path, f"unsupported file type ({path.suffix or 'no extension'})")
    source = str(path)
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise ReadError(path, "file name is not valid UTF-8 (rename it)") from None
    stem = path.name[: -len(suffix)]
    if suffix in (".txt", ".html", ".htm"):
        try:
            stem = validate_id(stem)
        except ValueError as error:
            raise ReadError(path, f"file name is not a valid article id: {error}") from None
    if suffix == ".txt":
        return [extract_text(stem, read_text(path, notes), source)], []
    if suffix in (".html", ".htm"):
        page = read_html(path, notes)
        paragraphs = clean_body(page.text)
        if page.title and paragraphs and tidy(paragraphs[0]).casefold() == page.title.casefold():
            paragraphs = paragraphs[1:]
        if not paragraphs:
            raise ReadError(path, "no article text found in the HTML page")
        url = web_address(page.url)
        article = Article(
            id=stem, title=tidy(page.title or ""), body="\n\n".join(paragraphs),
            date=parse_iso_date(page.date), author=tidy(page.author or "") or None,
            source=source, source_url=url, outlet=outlet_name(url),
        )
        lead = _lead_index(paragraphs)
        return [_enrich(article, paragraphs[lead] if lead is not None else None)], []
    lines = iter_json(path, notes) if suffix == ".json" else iter_jsonl(path, notes)
    articles: list[Article] = []
    ids: set[str] = set()
    warnings: list[str] = []
    unlisted = 0
    where = "item" if suffix == ".json" else "line"
    for line in lines:
        if progress is not None:
            progress()
        problem = line.problem or f"{where} {line.number}: unreadable"
        if line.record is not None:
            found = _record_article(line.record, source, ids)
            if isinstance(found, Article):
                ids.add(found.id)
                articles.append(found)
                if batches is not None and len(articles) >= STREAM_BATCH:
                    batches(articles)
                    articles = []
                continue
            problem = f"{where} {line.number}: {found}"
        if len(warnings) < MAX_WARNINGS or line.final:
            warnings.append(problem)
        else:
            unlisted += 1
    if not ids:
        raise ReadError(path, warnings[0] if warnings else "no records")
    if unlisted:
        warnings.insert(MAX_WARNINGS, f"{unlisted:,} more problems in this file are not listed")
    return articles, warnings


def _record_article(record: dict, source: str, ids: set[str]) -> Article | str:
    """The article of one record, or why it is skipped (a duplicate costs no extraction)."""
    try:
        article_id = record_id(record)
        if article_id in ids:
            return f"duplicate id {article_id!r}, first one kept"
        return extract_record(record, source)
    except ValueError as error:
        return str(error)


def extract_file(path: Path) -> list[Article]:
    """Articles of one file (skipped JSON lines dropped; see extract_file_report)."""
    return extract_file_report(path)[0]
