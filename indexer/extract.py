"""From input files to article records: the first step of the indexer's flow.

    iter_input_files(paths)        folders expanded (sorted, supported types only)
    extract_file(path)             -> list[Article]; raises ReadError if unreadable
    extract_file_report(path)      -> (articles, warnings): same, plus one warning
                                      per skipped JSON line/record ("line 3: ...")
    extract_text(id, text, source) -> Article, for a scraped .txt page
    extract_record(record, source) -> Article, for one JSON record (ValueError if
                                      it lacks `id` or `body`)
    extract_command(files, as_json)   the body of `vnsearch extract`

One bad line in a JSONL dump costs only that line: its problem is reported as
a warning and the good records are kept. A file with no usable record, or that
cannot be decoded, raises `ReadError` (path + reason) so callers can list it
and go on. `source` is the path as given; the id of a .txt/.html article is
its file name without extension, JSON records carry their own `id`.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from indexer.article import Article
from indexer.clean import clean_body, parse_page, tidy
from indexer.directives import find_directives
from indexer.localities import find_localities, sentence_starts, story_end
from indexer.readers import (
    MAX_ARTICLE_BYTES,
    ReadError,
    read_html,
    read_json_records,
    read_text,
)

SUPPORTED_SUFFIXES = (".txt", ".json", ".jsonl", ".jsonl.gz", ".jsonl.xz", ".html", ".htm")

# Dates in JSON without their own offset are taken as Vietnam time (UTC+7).
_VIETNAM = timezone(timedelta(hours=7))
_SENTENCE_END_RE = re.compile(r"[.!?…\"”»)]$")
# A lead is the first sentences of the first paragraph, at least this long.
_LEAD_CHARS = 250


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


def iter_input_files(
    paths: Iterable[str | Path], problems: list[tuple[str, str]] | None = None
) -> Iterator[Path]:
    """Files to read: folders walked recursively, files yielded as given.

    Inside folders only supported types are taken, in sorted order, hidden
    files and folders skipped, and each real folder visited once, so a
    symlink loop cannot make the walk endless. What cannot be walked (a link
    back into its own folder, a link to itself, a broken link, an unreadable
    folder) is appended to `problems` as (path, reason), once per walk.
    """

    def unreadable(error: OSError) -> None:
        if problems is not None:
            problems.append((str(error.filename), f"cannot read folder ({error.strerror})"))

    for given in paths:
        path = Path(given)
        if not path.is_dir():
            yield path
            continue
        seen: set[str] = set()
        for root, dirs, files in os.walk(path, followlinks=True, onerror=unreadable):
            real = os.path.realpath(root)
            if real in seen:
                dirs[:] = []
                parent = os.path.realpath(os.path.dirname(root))
                if problems is not None and (parent + os.sep).startswith(real + os.sep):
                    problems.append((root, f"symbolic link loop (leads back to {real}), skipped"))
                continue
            seen.add(real)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                file = Path(root) / name
                if name.startswith(".") or not suffix_of(file):
                    continue
                if file.is_file():
                    yield file
                elif problems is not None and file.is_symlink():
                    reason = "symbolic link loop" if _is_link_loop(file) else "broken symbolic link"
                    problems.append((str(file), f"{reason}, skipped"))


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


def extract_record(record: dict, source: str | None = None) -> Article:
    """The article in one JSON record (interface fields); ValueError when unusable."""
    raw_id = record.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise ValueError("missing required field 'id'")
    if not isinstance(raw_id, str | int):
        raise ValueError("field 'id' is not text")
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
    article = Article(
        id=str(raw_id).strip(),
        title=_text_field(record, "title") or "",
        body="\n\n".join(paragraphs),
        date=date,
        author=_text_field(record, "author"),
        source=source,
        summary=summary,
    )
    lead_index = _lead_index(paragraphs)
    lead = summary or (paragraphs[lead_index] if lead_index is not None else None)
    return _enrich(article, lead)


def extract_file_report(
    path: Path, notes: list[str] | None = None
) -> tuple[list[Article], list[str]]:
    """Articles of one file and warnings about records skipped in it.

    `notes` receives what was done to the file that is not a failure (such as
    a conversion from a legacy Vietnamese font encoding).
    """
    path = Path(path)
    suffix = suffix_of(path)
    if suffix is None:
        if path.is_dir():
            raise ReadError(path, "is a folder")
        raise ReadError(path, f"unsupported file type ({path.suffix or 'no extension'})")
    source = str(path)
    stem = path.name[: -len(suffix)]
    if suffix == ".txt":
        return [extract_text(stem, read_text(path, notes), source)], []
    if suffix in (".html", ".htm"):
        page = read_html(path, notes)
        paragraphs = clean_body(page.text)
        if page.title and paragraphs and tidy(paragraphs[0]).casefold() == page.title.casefold():
            paragraphs = paragraphs[1:]
        if not paragraphs:
            raise ReadError(path, "no article text found in the HTML page")
        article = Article(
            id=stem, title=page.title or "", body="\n\n".join(paragraphs),
            date=parse_iso_date(page.date), author=page.author, source=source,
        )
        lead = _lead_index(paragraphs)
        return [_enrich(article, paragraphs[lead] if lead is not None else None)], []
    records, warnings = read_json_records(path, notes)
    articles: list[Article] = []
    ids: set[str] = set()
    where = "item" if suffix == ".json" else "line"
    for number, record in records:
        try:
            article = extract_record(record, source)
        except ValueError as error:
            warnings.append(f"{where} {number}: {error}")
            continue
        if article.id in ids:
            warnings.append(f"{where} {number}: duplicate id {article.id!r}, first one kept")
            continue
        ids.add(article.id)
        articles.append(article)
    if not articles:
        raise ReadError(path, warnings[0] if warnings else "no records")
    return articles, warnings


def extract_file(path: Path) -> list[Article]:
    """Articles of one file (skipped JSON lines dropped; see extract_file_report)."""
    return extract_file_report(path)[0]


def format_record(article: Article) -> str:
    """A readable view of one record, for `vnsearch extract` without --json."""
    lines = [
        f"id:         {article.id}",
        f"title:      {article.title}",
        f"date:       {article.date or '-'}",
        f"author:     {article.author or '-'}",
        f"source:     {article.source or '-'}",
    ]
    for i, loc in enumerate(article.localities):
        names = ", ".join(n for n in (loc.commune, loc.district, loc.province) if n)
        label = "localities:" if i == 0 else ""
        lines.append(f"{label:<12}{names} (2025: {loc.province_2025}) [{loc.role}]")
    if not article.localities:
        lines.append("localities: -")
    for i, d in enumerate(article.directives):
        label = "directives:" if i == 0 else ""
        details = ", ".join(x for x in (d.type, d.issuer, d.date) if x)
        lines.append(f"{label:<12}{d.code} ({details})")
    if not article.directives:
        lines.append("directives: -")
    body = article.body if len(article.body) <= 400 else article.body[:400] + "…"
    lines.append("body:")
    lines.extend("  " + p for p in body.split("\n\n"))
    return "\n".join(lines)


def extract_command(files: Iterable[str], as_json: bool) -> int:
    """`vnsearch extract`: print records (JSON Lines with --json); problems on stderr.

    Returns the exit status: 0 when every file was read, 1 when any failed.
    """
    failed = 0
    first = True
    problems: list[tuple[str, str]] = []
    for path in iter_input_files(files, problems):
        for where, reason in problems:
            print(f"{where}: {reason}", file=sys.stderr)
            failed += 1
        problems.clear()
        notes: list[str] = []
        try:
            articles, warnings = extract_file_report(path, notes)
        except ReadError as error:
            print(f"{error.path}: {error.reason}", file=sys.stderr)
            failed += 1
            continue
        for note in notes:
            print(f"{path}: {note}", file=sys.stderr)
        for warning in warnings:
            print(f"{path}: {warning}", file=sys.stderr)
        for article in articles:
            if as_json:
                print(json.dumps(article.to_dict(), ensure_ascii=False))
            else:
                if not first:
                    print()
                print(format_record(article))
            first = False
    for where, reason in problems:  # found after the last file
        print(f"{where}: {reason}", file=sys.stderr)
        failed += 1
    return 1 if failed else 0
