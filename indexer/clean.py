"""Turning a scraped page into title, date, author and clean paragraphs.

Scraped pages carry site chrome (font-size buttons, "Xin chờ trong giây
lát...", ratings, "Tin liên quan" lists), image captions repeated twice or
marked with their credit ("Ảnh: TTXVN", "(Ảnh minh họa)"; also inside a body
whose line breaks were lost), the title repeated as an image caption, and
more than one date: a page-header "today" date is a trap, the article's own
date sits next to its title and usually carries a time. These rules are what
makes the facets trustworthy: a chrome line would be searchable, a header
date would sort the article into the wrong year, a caption would open the
article's lead and its snippets.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u3000]+")
# Control characters (an ESC from a JSON "\u001b", a form feed) mean nothing in an
# article and would act on a terminal: read as spaces. Lone surrogates (a JSON
# "\ud800") cannot be written as UTF-8: read as U+FFFD.
_CONTROLS_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_SURROGATES_RE = re.compile("[\ud800-\udfff]")

# Lines that are chrome wherever they appear (whole line, case-insensitive).
_CHROME_RE = re.compile(
    r"^(?:A-\s*A\s*A\+.*|(?:Tăng|Giảm) tương phản.*|Cỡ chữ.*|In bài(?: viết)?|Bản in|"
    r"Lưu bài(?: viết)?|Chia sẻ(?: bài viết)?:?|Nghe đọc bài.*|Trang chủ(?:\s*[>»/|].*)?|"
    r"Đăng nhập|Đăng ký|Facebook|Zalo|Twitter|E-?mail|Print|Quay lại|Về đầu trang|"
    r"Phiên bản di động|Xem phiên bản.*)$",
    re.IGNORECASE,
)

# Lines after which the rest of the page is footer: related news, comments, ratings.
_TAIL_RE = re.compile(
    r"^(?:Xin chờ trong giây lát.*|Tin liên quan:?|Tin cùng chuyên mục:?|Các tin (?:khác|đã đưa).*|"
    r"Tin khác:?|Bài viết liên quan:?|Tin bài liên quan:?|Tổng số điểm của bài viết.*|"
    r"Xếp hạng:.*|Click để đánh giá.*|Bạn đã không sử dụng Site.*|Phản hồi:?|"
    r"Ý kiến bạn đọc:?|Gửi (?:bình luận|phản hồi|ý kiến).*|Bình luận:?|Tin nổi bật.*|"
    r"Mới nhất:?|Đọc nhiều(?: nhất)?:?|Thư viện ảnh:?|Liên kết website:?|Từ khóa:.*|Tags?:.*|"
    r"Xem thêm:?|Tin mới(?: nhất)?:?|Phiên bản di động)$",
    re.IGNORECASE,
)

_DMY_RE = re.compile(r"(?<![\d/])(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})(?![\d/])")
_ISO_RE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_WORDS_RE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)
_TIME_RE = re.compile(r"(?<!\d)\d{1,2}\s*[:hH]\s*\d{2}(?!\d)")

_AUTHOR_LABEL_RE = re.compile(
    r"^(?:Tác giả(?: bài viết)?|Bài(?:,| và| &)? ảnh|Tin(?:,| và| &)? ảnh|Người viết|"
    r"Phóng viên|Bài viết)\s*:\s*(.+)$",
    re.IGNORECASE,
)
_NAME_WORD_RE = re.compile(r"^[^\W\d_][^\W\d_.]*\.?$")

# Photo and video captions. A caption marker is "Ảnh:", "Video:", "Clip:" (also "Ảnh minh
# họa", "Ảnh tư liệu"), maybe in brackets; never "Ảnh hưởng" (a word, not a caption).
_MARKER = (r"(?:Ảnh|Video|Clip|Nguồn ảnh|Nguồn video|Nguồn clip)"
           r"(?:\s+(?:minh\s+họa|minh\s+hoạ|tư\s+liệu|chụp\s+màn\s+hình|đồ\s+họa))?")
#: A line that is a caption by its start: "Ảnh: TTXVN", "(Ảnh minh họa)", "Video: ...".
_CAPTION_START_RE = re.compile(rf"^[(\[]?\s*{_MARKER}\s*(?::|[)\]]|$)", re.IGNORECASE)
#: A short line that ends with its credit: "Lễ khánh thành cầu. Ảnh: TTXVN", "... (Ảnh: Thu Hà)".
_CAPTION_END_RE = re.compile(
    rf"(?:^|[\s.,;–-])[(\[]?\s*{_MARKER}\s*:\s*[^:()\[\]\s]+(?:\s+[^:()\[\]\s]+){{0,4}}"
    r"[)\]]?\.?$")
#: Captions inside a paragraph (a body whose line breaks were lost): the marker with a
#: credit that visibly ends, in brackets or at a full stop, or one upper-case credit
#: (TTXVN, AFP) before the next sentence's capital.
_INLINE_CAPTION_RE = re.compile(
    rf"[(\[]\s*{_MARKER}\s*(?::\s*[^:()\[\]\n]{{1,50}})?[)\]]"
    rf"|(?<![\w(\[]){_MARKER}\s*:\s*(?:[^\s:.!?()][^:.!?()\n]{{0,48}}\.(?=\s|$)"
    r"|[A-ZĐ][A-ZĐ0-9/&-]{1,11}(?=\s+[A-ZĐÀ-Ỹ]))")
#: The end of the sentence before an inline caption's credit (the caption itself).
_SENTENCE_BREAK_RE = re.compile(r"[.!?…][\"”»)]?\s+")
#: Longest caption line, and longest caption sentence before an inline credit.
CAPTION_CHARS = 200
#: Most words of a credit written inside running text ("Ảnh: Getty Images.").
CREDIT_WORDS = 4
_ACRONYM_SUFFIX_RE = re.compile(r"\s*[-–(]\s*[A-ZĐ]{2,}[A-ZĐ0-9]*\)?\s*$")


@dataclass
class Page:
    """A scraped page split into its parts."""

    title: str
    date: str | None
    author: str | None
    paragraphs: list[str] = field(default_factory=list)


def tidy(line: str) -> str:
    """One line with spaces collapsed and trimmed, control characters read as spaces."""
    line = _SURROGATES_RE.sub("\ufffd", _CONTROLS_RE.sub(" ", line))
    return _SPACES_RE.sub(" ", line).strip()


def find_date(text: str) -> str | None:
    """The first valid calendar date written in `text`, as ISO, else None."""
    candidates = []
    for regex, order in ((_DMY_RE, "dmy"), (_ISO_RE, "ymd"), (_WORDS_RE, "dmy")):
        for match in regex.finditer(text):
            a, b, c = (int(g) for g in match.groups())
            day, month, year = (a, b, c) if order == "dmy" else (c, b, a)
            try:
                candidates.append((match.start(), date(year, month, day).isoformat()))
            except ValueError:
                continue
    if not candidates:
        return None
    return min(candidates)[1]


def _is_date_line(line: str) -> bool:
    """A short line whose point is a date (page or article timestamp), not a sentence."""
    return len(line) <= 70 and find_date(line) is not None and not line.endswith(".")


def _key(line: str) -> str:
    """Comparison form for spotting repeated lines: case and punctuation ignored."""
    text = unicodedata.normalize("NFC", line).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


def _looks_like_name(text: str) -> bool:
    """A byline: a few capitalised words, maybe several names joined by - , & or và."""
    parts = [p for p in re.split(r"\s*(?:[-–,&]|\bvà\b)\s*", text) if p]
    if not parts:
        return False
    for part in parts:
        words = part.split()
        if not 1 <= len(words) <= 5:
            return False
        for word in words:
            if not _NAME_WORD_RE.match(word) or not word[0].isupper():
                return False
    return True


def _author_from_line(line: str) -> str | None:
    """The author named by a byline line, without a trailing office acronym (BTGHU)."""
    labelled = _AUTHOR_LABEL_RE.match(line)
    text = labelled.group(1).strip() if labelled else line
    if len(text) > 80:
        return None
    text = _ACRONYM_SUFFIX_RE.sub("", text).strip()
    if labelled and text:
        return text
    if _looks_like_name(text) and len(text.split()) >= 2:
        return text
    return None


def parse_page(text: str) -> Page:
    """Title, article date, author and body paragraphs of a scraped plain-text page."""
    lines = [tidy(line) for line in text.splitlines()]
    lines = [line for line in lines if line and not _CHROME_RE.match(line)]

    # Title: the first line of a few words that is not a date, skipping breadcrumbs.
    title_index = None
    for i, line in enumerate(lines):
        if _TAIL_RE.match(line) or _is_date_line(line):
            continue
        if len(line.split()) >= 4:
            title_index = i
            break
    if title_index is None:
        return Page(title="", date=None, author=None, paragraphs=lines)
    title = lines[title_index]
    if title.endswith(".") and not title.endswith(".."):
        title = title[:-1].rstrip()

    # Dates next to the title: header lines before it, date lines right after it.
    body_start = title_index + 1
    while body_start < len(lines) and _is_date_line(lines[body_start]):
        body_start += 1
    header = [(i, lines[i]) for i in range(body_start) if i != title_index]
    article_date = _choose_date(header, title_index)

    body = lines[body_start:]
    for i, line in enumerate(body):
        if i > 0 and _TAIL_RE.match(line):
            body = body[:i]
            break
    seen = {_key(title)}
    paragraphs = []
    for line in body:
        if not (_TAIL_RE.match(line) or is_caption(line)):
            _add_new_parts(line, seen, paragraphs)

    author = None
    for back in range(1, min(3, len(paragraphs)) + 1):
        line = paragraphs[-back]
        found = _author_from_line(line)
        if found:
            author = found
            del paragraphs[-back]
            break
        if len(line) > 80:  # reached the article text: no byline at the end
            break
    return Page(title=title, date=article_date, author=author, paragraphs=paragraphs)


def _choose_date(header: list[tuple[int, str]], title_index: int) -> str | None:
    """The article date among header date lines; a lone page-header date is a trap.

    A date with a time is a publication stamp wherever it sits in the header;
    a date without time counts only right next to the title. Nearest wins.
    """
    best: tuple[int, str] | None = None
    for i, line in header:
        iso = find_date(line)
        if iso is None or not _is_date_line(line):
            continue
        distance = abs(i - title_index)
        if not _TIME_RE.search(line) and distance > 1:
            continue
        if best is None or distance < best[0]:
            best = (distance, iso)
    return best[1] if best else None


def is_caption(line: str) -> bool:
    """A photo or video caption standing as its own line: "Ảnh: TTXVN", "(Ảnh minh họa)",
    or a short line ending with its credit ("Đoàn công tác thăm xã. Ảnh: Minh Anh")."""
    text = unicodedata.normalize("NFC", line)
    if len(text) > CAPTION_CHARS:
        return False
    return bool(_CAPTION_START_RE.match(text) or _CAPTION_END_RE.search(text))


def _credit_like(marker: str) -> bool:
    """An inline credit outside brackets names someone: a capital or `@` first, a few words."""
    if marker[:1] in "([":
        return True
    credit = marker.partition(":")[2].strip().rstrip(".")
    return bool(credit) and (credit[0].isupper() or credit[0] == "@") and \
        len(credit.split()) <= CREDIT_WORDS


def split_captions(paragraph: str) -> list[str]:
    """A paragraph without the captions inside it, as the paragraphs around them.

    Scraped bodies whose line breaks were lost hold each caption in the running
    text: "... bị khởi tố. Ảnh: CACC Ngày 3/2, ...". The caption is the sentence
    before the credit (or the credit alone at the start); only credits that
    visibly end (brackets, a full stop, one upper-case name) are taken out.
    """
    if "Ảnh" not in paragraph and "Video" not in paragraph and "Clip" not in paragraph:
        return [paragraph]
    parts: list[str] = []
    pos = 0
    for match in _INLINE_CAPTION_RE.finditer(paragraph):
        if match.start() < pos or not _credit_like(match.group()):
            continue
        before = paragraph[pos : match.start()].rstrip()
        # the caption: the last sentence before the credit, when it is short
        breaks = list(_SENTENCE_BREAK_RE.finditer(before, 0, max(0, len(before) - 1)))
        start = breaks[-1].end() if breaks else 0
        if len(before) - start > CAPTION_CHARS:
            start = len(before)  # a long sentence is text: only the credit goes
        if before[:start].strip():
            parts.append(before[:start].strip())
        pos = match.end()
    rest = paragraph[pos:].strip()
    if rest:
        parts.append(rest)
    return parts


def clean_body(text: str) -> list[str]:
    """Paragraphs of a record body (JSON, HTML): tidy lines, no chrome, captions or repeats."""
    paragraphs = []
    seen: set[str] = set()
    for raw in text.splitlines():
        line = tidy(raw)
        if line and not (_CHROME_RE.match(line) or is_caption(line)):
            _add_new_parts(line, seen, paragraphs)
    return paragraphs


def _add_new_parts(line: str, seen: set[str], paragraphs: list[str]) -> None:
    """Append the line's parts (captions split off) not already seen: no repeated paragraph."""
    for part in split_captions(line):
        key = _key(part)
        if key not in seen:
            seen.add(key)
            paragraphs.append(part)
