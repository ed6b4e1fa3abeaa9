"""Reading input files into text or records, with a clear reason when we can't.

Users hand us folders of whatever they have: scraped pages saved by old
Windows tools (Windows-1258, UTF-16), JSON exports, compressed dumps, saved
HTML. Every file is either read or rejected with a `ReadError` naming the
file and a human-readable reason, so one bad file never stops a run and never
turns into mojibake in the index.

Accepted encodings: UTF-8 (with or without BOM), UTF-16 with a BOM, and
Windows-1258 (checked with charset-normalizer, so a Shift-JIS or binary file
is not mistaken for it). Text is returned NFC-normalised.

Pages typed with the pre-Unicode Vietnamese fonts (TCVN3/ABC `.VnTime`, VNI,
VISCII) are recognised by their content and converted with viparse's tables;
the caller is told (`notes`) so that a user knows which files were converted.

Only regular files are opened: a FIFO or a device (`/dev/zero`) would block
or never end, so it is refused at once ("not a regular file").

Every kind of file has a size limit, so that no input, however made, can
take unbounded memory:

- a single-article file (.txt, `MAX_ARTICLE_BYTES`) or saved page (.html,
  `MAX_PAGE_BYTES`) is refused above its limit: a 50 MB "article" is a
  mistake (a dump saved with the wrong extension) whose analysis would take
  minutes;
- a saved page is refused with more than `MAX_PAGE_ELEMENTS` elements, and
  one with more than `MAX_COMPARED_ELEMENTS` is extracted in trafilatura's
  fast mode, so extraction time grows linearly with the page;
- a .json document is parsed whole, so it may have at most `MAX_JSON_BYTES`;
- JSON Lines (.jsonl, .jsonl.gz, .jsonl.xz) are streamed line by line from
  the (decompressing) file: a line longer than `MAX_LINE_BYTES` is skipped
  without being held in memory, and reading stops, with a warning, after
  `MAX_STREAM_BYTES` of text or `MAX_RECORDS` records, so a small
  compressed file that expands to gigabytes (a "compression bomb") costs
  bounded memory and time. The encoding of a JSON Lines file is decided on
  its first `_STREAM_SAMPLE` bytes; each line is then decoded on its own.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import lzma
import os
import stat
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

import charset_normalizer

ENCODING_REASON = "not valid UTF-8, UTF-16 or Windows-1258 text"
#: Largest .txt file, and largest article text, that is read as one article.
MAX_ARTICLE_BYTES = 4 * 1024 * 1024
#: Largest saved web page (.html): markup, scripts and inline images weigh more than text.
MAX_PAGE_BYTES = 16 * 1024 * 1024
#: Largest .json document: it is parsed whole (JSON Lines are streamed instead).
MAX_JSON_BYTES = 64 * 1024 * 1024
#: Longest line of a JSON Lines file; a longer one is skipped with a warning.
MAX_LINE_BYTES = 2 * MAX_ARTICLE_BYTES
#: Most text read from one JSON Lines file, after decompression.
MAX_STREAM_BYTES = 512 * 1024 * 1024
#: Most records (non-blank lines, .json list items) read from one file.
MAX_RECORDS = 200_000
#: Pages with more elements than this are extracted by trafilatura's main
#: extractor alone: its comparison with readability/justext takes time that
#: grows with the square of the number of paragraphs (1.6 MB of short
#: paragraphs: 41 s instead of 6 s).
MAX_COMPARED_ELEMENTS = 20_000
#: Most elements (counted as "<" characters) in a saved page: no article page
#: comes near, and extraction time grows with them.
MAX_PAGE_ELEMENTS = 100_000
#: viparse charmap name → the name users know the encoding by.
LEGACY_ENCODINGS = {"tcvn3": "TCVN3 (ABC)", "vni": "VNI", "viscii": "VISCII"}
#: Letters only Unicode Vietnamese has (no legacy font surface uses them).
_UNICODE_VIETNAMESE = frozenset(
    "ăđơưĂĐƠƯ" + "".join(chr(c) for c in range(0x1EA0, 0x1EFA))
)
#: Characters of a text sampled to recognise a legacy encoding.
_LEGACY_SAMPLE = 100_000
#: Bytes at the start of a JSON Lines file that decide its encoding.
_STREAM_SAMPLE = 1024 * 1024
#: Read size for the stream.
_CHUNK = 1024 * 1024
#: What a broken compressed stream raises, by module.
_CORRUPT = (gzip.BadGzipFile, lzma.LZMAError, zlib.error, EOFError)


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


def _legacy_charmap(surface: str) -> tuple[object, str] | None:
    """(viparse charmap, encoding name) when `surface` is Vietnamese typed in a legacy font.

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

    found = detect_encoding_by_content(sample, AUTO_DETECT_CHARMAPS).encoding
    if found is None or found not in CHARMAPS:
        return None
    return CHARMAPS[found], LEGACY_ENCODINGS.get(found, found.upper())


def _convert(surface: str, charmap: object) -> str:
    from viparse.normalize.tables import convert

    return convert(surface, charmap)  # type: ignore[arg-type]


def legacy_font_text(surface: str) -> tuple[str, str] | None:
    """(Unicode text, encoding name) when `surface` is Vietnamese typed in a legacy font."""
    found = _legacy_charmap(surface)
    if found is None:
        return None
    return _convert(surface, found[0]), found[1]


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


def _too_large(path: Path, size: int | None, limit: int, what: str) -> ReadError:
    found = f"{_megabytes(size)}; " if size is not None else ""
    return ReadError(
        path,
        f"file too large ({found}{what} may have at most "
        f"{_megabytes(limit)}): split it, or put its articles in a JSON Lines file",
    )


def check_size(path: Path, limit: int, what: str) -> None:
    """Refuse a file larger than `limit` before reading it."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # opening it gives the precise reason
    if size > limit:
        raise _too_large(path, size, limit, what)


def _os_error(path: Path, error: OSError) -> ReadError:
    if isinstance(error, IsADirectoryError):
        return ReadError(path, "is a folder")
    if isinstance(error, FileNotFoundError):
        return ReadError(path, "no such file")
    if isinstance(error, PermissionError):
        return ReadError(path, "permission denied")
    return ReadError(path, f"cannot read ({error.strerror or error})")


def open_regular(path: str | Path) -> BinaryIO:
    """`path` opened for reading if it is a regular file; ReadError otherwise.

    Opened without blocking, then checked on the open descriptor: a FIFO with
    no writer, a terminal or `/dev/zero` is refused at once instead of
    blocking or being read for ever, and a file swapped between a check and
    the open cannot slip through.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise _os_error(path, error) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ReadError(path, "is a folder")
        if not stat.S_ISREG(mode):
            raise ReadError(path, "not a regular file (a device, pipe or socket), skipped")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_limited(path: Path, limit: int, what: str) -> bytes:
    """A regular file's bytes, refused above `limit` (checked on what is read, not only stat)."""
    check_size(path, limit, what)
    try:
        with open_regular(path) as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise _os_error(path, error) from None
    if len(data) > limit:
        raise _too_large(path, None, limit, what)
    return data


def _open_stream(path: Path) -> BinaryIO:
    """The file's bytes as a stream, decompressing .gz/.xz as they are read."""
    raw = open_regular(path)
    name = path.name.lower()
    try:
        if name.endswith(".gz"):
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        if name.endswith(".xz"):
            return lzma.LZMAFile(raw, "rb")  # type: ignore[return-value]
    except BaseException:
        raw.close()
        raise
    return raw


def read_text(path: Path, notes: list[str] | None = None) -> str:
    """A plain-text page (.txt), decoded and NFC-normalised; refused above the size limit."""
    data = _read_limited(path, MAX_ARTICLE_BYTES, "a single-article .txt file")
    return decode_bytes(data, path, notes)


class JsonLine(NamedTuple):
    """One line of a JSON Lines file (one item of a .json list): a record or a problem."""

    number: int
    record: dict | None
    problem: str | None
    #: The last problem of a file cut short (a limit, a broken stream): always listed.
    final: bool = False


def _parse(text: str, number: int, where: str) -> JsonLine:
    try:
        item = json.loads(text)
    except json.JSONDecodeError as error:
        return JsonLine(number, None, f"invalid JSON on {where} {number}: {error.msg}")
    except RecursionError:
        return JsonLine(number, None, f"{where} {number}: JSON nested too deeply")
    except ValueError:  # Python refuses integers of more than 4,300 digits
        return JsonLine(number, None, f"{where} {number}: JSON number too long")
    if not isinstance(item, dict):
        return JsonLine(number, None, f"{where} {number}: not a JSON object")
    return JsonLine(number, item, None)


@dataclass
class _Decoder:
    """How every line of one JSON Lines file is turned into text."""

    encoding: str  # codec of each line's bytes; "utf-16" reads the stream as text
    charmap: object | None = None  # a legacy font encoding to convert from
    name: str = "UTF-8"  # for the "not valid … text" warning

    def line(self, data: bytes) -> str:
        text = data.decode(self.encoding)
        if self.charmap is not None:
            text = _convert(text, self.charmap)
        return unicodedata.normalize("NFC", text)


def _stream_decoder(path: Path, notes: list[str] | None) -> _Decoder:
    """The encoding of a JSON Lines file, decided on its first `_STREAM_SAMPLE` bytes."""
    sample = b""
    try:
        with _open_stream(path) as stream:
            while len(sample) < _STREAM_SAMPLE:  # a stream cut short still has a start
                chunk = stream.read(min(_CHUNK // 16, _STREAM_SAMPLE - len(sample)))
                if not chunk:
                    break
                sample += chunk
            whole = len(sample) < _STREAM_SAMPLE or not stream.read(1)
    except _CORRUPT as error:
        if not sample:
            raise ReadError(path, f"corrupt compressed file ({error})") from None
        whole = True
    except OSError as error:
        raise _os_error(path, error) from None
    if whole and not sample.strip():
        raise ReadError(path, "empty file")
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _Decoder("utf-16", name="UTF-16")
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:]
    decoder = _Decoder("utf-8")
    try:  # incremental: a character cut in two at the sample's end is no error
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        legacy = None if b"\x00" in sample else _legacy_charmap(sample.decode("latin-1"))
        if legacy is not None:
            decoder = _Decoder("latin-1", legacy[0], legacy[1])
            text = _convert(sample.decode("latin-1"), legacy[0])
        else:
            text = _legacy(sample, path)  # Windows-1258, or a ReadError saying what it is
            decoder = _Decoder("cp1258", name="Windows-1258")
    else:
        legacy = _legacy_charmap(text)  # legacy font text pasted into a UTF-8 file as is
        if legacy is not None:
            decoder = _Decoder("utf-8", legacy[0], legacy[1])
    if decoder.charmap is not None and notes is not None:
        notes.append(f"converted from the legacy {decoder.name} encoding")
    if _control_ratio(text) > 0.01:
        raise ReadError(path, "binary file")
    return decoder


def _read_lines(read: Callable[[int], bytes | str]) -> Iterator[tuple[bytes | str | None, int]]:
    """(line without its newline, or None when too long; bytes read so far) for each line.

    A line longer than `MAX_LINE_BYTES` is read past in chunks and never held whole.
    """
    total = 0
    while True:
        line = read(MAX_LINE_BYTES + 1)
        if not line:
            return
        total += len(line)
        newline = "\n" if isinstance(line, str) else b"\n"
        if line.endswith(newline) or len(line) <= MAX_LINE_BYTES:
            yield line.rstrip(newline), total
            continue
        while line and not line.endswith(newline):  # the rest of a line that is too long
            line = read(_CHUNK)
            total += len(line)
            if total > MAX_STREAM_BYTES:
                break
        yield None, total


def iter_jsonl(path: Path, notes: list[str] | None = None) -> Iterator[JsonLine]:
    """The lines of a .jsonl(.gz/.xz) file, streamed: a record or a problem each.

    Blank lines are skipped; after `MAX_RECORDS` records or `MAX_STREAM_BYTES`
    of text one last problem says the rest was not read. A compressed file
    that breaks off is read up to the break.
    """
    path = Path(path)
    decoder = _stream_decoder(path, notes)
    number = records = 0
    try:
        with _open_stream(path) as binary:
            stream: BinaryIO | io.TextIOBase = binary
            if decoder.encoding == "utf-16":
                stream = io.TextIOWrapper(binary, encoding="utf-16", errors="strict", newline="\n")
            lines = _read_lines(stream.readline)  # type: ignore[arg-type]
            for number, (line, total) in enumerate(lines, 1):  # noqa: B007
                if total > MAX_STREAM_BYTES:
                    why = f"more than {_megabytes(MAX_STREAM_BYTES)} of text"
                    break
                if line is None:
                    limit = _megabytes(MAX_LINE_BYTES)
                    yield JsonLine(number, None, f"line {number}: longer than {limit}, skipped")
                    continue
                if not line.strip():
                    continue
                if records == MAX_RECORDS:
                    why = f"more than {MAX_RECORDS:,} records"
                    break
                records += 1
                try:
                    text = unicodedata.normalize("NFC", line) if isinstance(line, str) \
                        else decoder.line(line)
                except UnicodeDecodeError:
                    yield JsonLine(number, None, f"line {number}: not valid {decoder.name} text")
                    continue
                yield _parse(text.lstrip("\ufeff"), number, "line")
            else:
                return
    except _CORRUPT as error:
        yield JsonLine(number + 1, None, f"corrupt compressed data after line {number} "
                       f"({error}); the rest of the file is not read", final=True)
        return
    except UnicodeDecodeError:
        yield JsonLine(number + 1, None, f"not valid UTF-16 text after line {number}; "
                       "the rest of the file is not read", final=True)
        return
    except OSError as error:
        raise _os_error(path, error) from None
    yield JsonLine(number, None, f"line {number}: {why} in one file, the rest is not read "
                   "(split the file)", final=True)


def iter_json(path: Path, notes: list[str] | None = None) -> Iterator[JsonLine]:
    """The items of a .json document (a list of records, or one record)."""
    path = Path(path)
    text = decode_bytes(_read_limited(path, MAX_JSON_BYTES, "a .json document"), path, notes)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReadError(path, f"invalid JSON on line {error.lineno}: {error.msg}") from None
    except RecursionError:
        raise ReadError(path, "JSON nested too deeply") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise ReadError(path, "JSON number too long") from None
    items = data if isinstance(data, list) else [data]
    for number, item in enumerate(items[:MAX_RECORDS], 1):
        if isinstance(item, dict):
            yield JsonLine(number, item, None)
        else:
            yield JsonLine(number, None, f"item {number}: not a JSON object")
    if len(items) > MAX_RECORDS:
        yield JsonLine(MAX_RECORDS, None, f"more than {MAX_RECORDS:,} records in one file, "
                       "the rest is not read (split the file)", final=True)


@dataclass
class HtmlPage:
    """What trafilatura finds in a saved web page."""

    title: str | None
    text: str
    date: str | None
    author: str | None
    #: The page's own address (its canonical link or og:url), as written there.
    url: str | None = None


def read_html(path: Path, notes: list[str] | None = None) -> HtmlPage:
    """Main text and metadata of a saved .html/.htm page (trafilatura, not hand scraping).

    A page with very many elements is extracted in trafilatura's fast mode
    (see `MAX_COMPARED_ELEMENTS`); when that finds no text, the page's plain
    text (trafilatura's baseline) is taken, so the time stays linear.
    """
    import trafilatura

    html = decode_bytes(_read_limited(path, MAX_PAGE_BYTES, "a saved web page"), path, notes)
    elements = html.count("<")
    if elements > MAX_PAGE_ELEMENTS:
        raise ReadError(path, f"too many HTML elements (about {elements:,}; a saved web page "
                        f"may have at most {MAX_PAGE_ELEMENTS:,}): not an article page")
    large = elements > MAX_COMPARED_ELEMENTS
    try:
        doc = trafilatura.bare_extraction(
            html, with_metadata=True, include_comments=False, include_tables=True,
            favor_precision=True, fast=large,
        )
        text = doc.text if doc is not None else None
        if large and not (text or "").strip():
            text = trafilatura.baseline(html)[1]
    except Exception as error:  # lxml and trafilatura raise many kinds on broken markup
        raise ReadError(path, f"unparsable HTML ({error})") from None
    if not text or not text.strip():
        raise ReadError(path, "no article text found in the HTML page")
    if len(text) > MAX_ARTICLE_BYTES // 4 and len(text.encode("utf-8")) > MAX_ARTICLE_BYTES:
        size = _megabytes(len(text.encode("utf-8")))
        raise ReadError(path, f"article text too large ({size}; an article may have at most "
                        f"{_megabytes(MAX_ARTICLE_BYTES)})")
    return HtmlPage(
        title=(doc.title or None) if doc is not None else None,
        text=unicodedata.normalize("NFC", text),
        date=(doc.date or None) if doc is not None else None,
        author=(doc.author or None) if doc is not None else None,
        url=(doc.url or None) if doc is not None else None,
    )
