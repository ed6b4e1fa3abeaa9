"""Reading input files into text or records, with a clear reason when we can't.

Users hand us folders of whatever they have: scraped pages saved by old
Windows tools (Windows-1258, UTF-16), JSON exports, compressed dumps, saved
HTML. Every file is either read completely or rejected with a `ReadError`
naming the file and a human-readable reason, so one bad file never stops a
run and never turns into mojibake in the index.

Accepted encodings: UTF-8 (with or without BOM), UTF-16 with a BOM, and
Windows-1258 (checked with charset-normalizer, so a Shift-JIS or binary file
is not mistaken for it). Text is returned NFC-normalised.

Pages typed with the pre-Unicode Vietnamese fonts (TCVN3/ABC `.VnTime`, VNI,
VISCII) are recognised by their content and converted with viparse's tables;
the caller is told (`notes`) so that a user knows which files were converted.

A single-article file (.txt, .html) has a size limit: a 50 MB "article" is a
mistake (a dump saved with the wrong extension) whose analysis would take
minutes, so it is refused at once with its size and what to do instead.
"""

from __future__ import annotations

import gzip
import json
import lzma
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

ENCODING_REASON = "not valid UTF-8, UTF-16 or Windows-1258 text"
#: Largest .txt file, and largest article text, that is read as one article.
MAX_ARTICLE_BYTES = 4 * 1024 * 1024
#: Largest saved web page (.html): markup, scripts and inline images weigh more than text.
MAX_PAGE_BYTES = 32 * 1024 * 1024
#: viparse charmap name → the name users know the encoding by.
LEGACY_ENCODINGS = {"tcvn3": "TCVN3 (ABC)", "vni": "VNI", "viscii": "VISCII"}
#: Letters only Unicode Vietnamese has (no legacy font surface uses them).
_UNICODE_VIETNAMESE = frozenset(
    "ăđơưĂĐƠƯ" + "".join(chr(c) for c in range(0x1EA0, 0x1EFA))
)
#: Characters of a text sampled to recognise a legacy encoding.
_LEGACY_SAMPLE = 100_000


class ReadError(Exception):
    """A file that cannot be read; `reason` says why in words a user understands."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def _control_ratio(text: str) -> float:
    """Share of control characters other than whitespace: high for binary data."""
    if not text:
        return 0.0
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    return controls / len(text)


def legacy_font_text(surface: str) -> tuple[str, str] | None:
    """(Unicode text, encoding name) when `surface` is Vietnamese typed in a legacy font.

    Cheap on ordinary text: only a text with high Latin-1 letters and no
    Unicode-only Vietnamese letters is scored (viparse's content detector,
    which also refuses to "convert" Spanish or German).
    """
    sample = unicodedata.normalize("NFC", surface[:_LEGACY_SAMPLE])
    letters = sum(1 for ch in sample if ch.isalpha()) or 1
    if sum(1 for ch in sample if ch in _UNICODE_VIETNAMESE) > letters * 0.002:
        return None
    if sum(1 for ch in sample if "\u00a0" <= ch <= "\u00ff") < letters * 0.02:
        return None
    from viparse.normalize.detector import detect_encoding_by_content
    from viparse.normalize.encodings import AUTO_DETECT_CHARMAPS, CHARMAPS
    from viparse.normalize.tables import convert

    found = detect_encoding_by_content(sample, AUTO_DETECT_CHARMAPS).encoding
    if found is None or found not in CHARMAPS:
        return None
    return convert(surface, CHARMAPS[found]), LEGACY_ENCODINGS.get(found, found.upper())


def decode_bytes(data: bytes, path: str | Path, notes: list[str] | None = None) -> str:
    """Decode file content as UTF-8 / UTF-16 (BOM) / Windows-1258, NFC, or raise ReadError.

    Text in a legacy Vietnamese font encoding is converted; a line saying so
    is appended to `notes`.
    """
    if not data.strip():
        raise ReadError(path, "empty file")
    legacy = None
    if data.startswith(b"\xef\xbb\xbf"):
        text = _strict(data[3:], "utf-8", path)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _strict(data, "utf-16", path)
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            # Legacy font bytes read as Latin-1 give the surface viparse's tables expect.
            legacy = None if b"\x00" in data else legacy_font_text(data.decode("latin-1"))
            text = legacy[0] if legacy else _legacy(data, path)
    if legacy is None:
        legacy = legacy_font_text(text)  # also pasted into a UTF-8 file as is
        if legacy is not None:
            text = legacy[0]
    if legacy is not None and notes is not None:
        notes.append(f"converted from the legacy {legacy[1]} encoding")
    if _control_ratio(text) > 0.01:
        raise ReadError(path, "binary file")
    text = unicodedata.normalize("NFC", text.lstrip("\ufeff"))
    if not text.strip():
        raise ReadError(path, "empty file")
    return text


def _strict(data: bytes, encoding: str, path: str | Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ReadError(path, f"{ENCODING_REASON} (bad {encoding} at byte {error.start})") from None


def _legacy(data: bytes, path: str | Path) -> str:
    """Not UTF-8: accept Windows-1258 only when it decodes to plausible text."""
    if b"\x00" in data:
        guess = charset_normalizer.from_bytes(data[:65536]).best()
        if guess is not None and guess.encoding.startswith("utf_16"):
            raise ReadError(path, f"{ENCODING_REASON} (UTF-16 without a byte-order mark)")
        raise ReadError(path, "binary file")
    match = charset_normalizer.from_bytes(data, cp_isolation=["cp1258"]).best()
    if match is not None:
        try:
            return data.decode("cp1258")
        except UnicodeDecodeError:
            pass
    guess = charset_normalizer.from_bytes(data[:65536]).best()
    if guess is None:
        raise ReadError(path, "binary file")
    raise ReadError(path, f"{ENCODING_REASON} (looks like {guess.encoding})")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check_size(path: Path, limit: int, what: str) -> None:
    """Refuse a single-article file larger than `limit` before reading it."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # read_bytes gives the precise reason
    if size > limit:
        raise ReadError(
            path,
            f"file too large ({_megabytes(size)}; {what} may have at most "
            f"{_megabytes(limit)}): split it, or put its articles in a JSON Lines file",
        )


def read_bytes(path: Path) -> bytes:
    """File content, decompressed for .gz/.xz; unreadable or corrupt files raise ReadError."""
    try:
        name = path.name.lower()
        if name.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read()
        if name.endswith(".xz"):
            with lzma.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (gzip.BadGzipFile, lzma.LZMAError, EOFError) as error:
        raise ReadError(path, f"corrupt compressed file ({error})") from None
    except IsADirectoryError:
        raise ReadError(path, "is a folder") from None
    except FileNotFoundError:
        raise ReadError(path, "no such file") from None
    except PermissionError:
        raise ReadError(path, "permission denied") from None
    except OSError as error:
        raise ReadError(path, f"cannot read ({error.strerror or error})") from None


def read_text(path: Path, notes: list[str] | None = None) -> str:
    """A plain-text page (.txt), decoded and NFC-normalised; refused above the size limit."""
    check_size(path, MAX_ARTICLE_BYTES, "a single-article .txt file")
    return decode_bytes(read_bytes(path), path, notes)


def read_json_records(
    path: Path, notes: list[str] | None = None
) -> tuple[list[tuple[int, dict]], list[str]]:
    """Records of a .json (a list or one object) or .jsonl(.gz/.xz) file.

    Returns `(records, warnings)`: each record with its line number (its
    position in a .json list), and one warning per unusable line, so one bad
    line costs only itself. A file with no usable record at all raises.
    """
    text = decode_bytes(read_bytes(path), path, notes)
    name = path.name.lower()
    records: list[tuple[int, dict]] = []
    warnings: list[str] = []
    if name.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ReadError(path, f"invalid JSON on line {error.lineno}: {error.msg}") from None
        items = data if isinstance(data, list) else [data]
        for number, item in enumerate(items, 1):
            if isinstance(item, dict):
                records.append((number, item))
            else:
                warnings.append(f"item {number}: not a JSON object")
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                warnings.append(f"invalid JSON on line {number}: {error.msg}")
                continue
            if isinstance(item, dict):
                records.append((number, item))
            else:
                warnings.append(f"line {number}: not a JSON object")
    if not records:
        raise ReadError(path, warnings[0] if warnings else "no records")
    return records, warnings


@dataclass
class HtmlPage:
    """What trafilatura finds in a saved web page."""

    title: str | None
    text: str
    date: str | None
    author: str | None


def read_html(path: Path, notes: list[str] | None = None) -> HtmlPage:
    """Main text and metadata of a saved .html/.htm page (trafilatura, not hand scraping)."""
    import trafilatura

    check_size(path, MAX_PAGE_BYTES, "a saved web page")
    html = decode_bytes(read_bytes(path), path, notes)
    try:
        doc = trafilatura.bare_extraction(
            html, with_metadata=True, include_comments=False, include_tables=True,
            favor_precision=True,
        )
    except Exception as error:  # lxml and trafilatura raise many kinds on broken markup
        raise ReadError(path, f"unparsable HTML ({error})") from None
    if doc is None or not (doc.text or "").strip():
        raise ReadError(path, "no article text found in the HTML page")
    return HtmlPage(
        title=doc.title or None,
        text=unicodedata.normalize("NFC", doc.text),
        date=doc.date or None,
        author=doc.author or None,
    )
