"""The query language: free words, "phrases", -exclusions and OR.

`a b OR "c d" OR e f` is one clause of three alternatives, each a name or
phrase whose words stand in a row; `-word` and `-"a phrase"` exclude;
parentheses delimit what an OR joins: `(Bình Lục OR Lý Nhân) lũ lụt`.

Users type whatever they like. Nothing here raises: unbalanced quotes, stray
operators and punctuation are read as plain text, and anything that carries no
searchable syllable simply disappears. The result is a list of clauses, each
a set of alternatives (OR) that are either all required or excluded. Runs of
consecutive free words stay together as one `Term`, because an accent-free
compound (`xay dung`) can only be recognised across the typed word boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer import analysis
from indexer.normalize import normalize

#: Longest query we look at; the rest of a 2,000-character paste is noise.
MAX_QUERY_CHARS = 500
#: At most this many syllables take part in matching.
MAX_SYLLABLES = 32

_TOKEN_RE = re.compile(r'(-?)"([^"]*)"|(\S+)')
#: A parenthesis opening or closing a group of words (not one inside a word).
_PAREN_RE = re.compile(r"(?:(?<=[\s(])|^)\((?=\S)|(?<=\S)\)(?=[\s)]|$)")
#: Directive type letters that users type after a number (`21 KL`, `37-QĐ`).
CODE_TYPES = frozenset({"kl", "nq", "qd", "ct", "hd", "kh", "tb", "qc", "cv", "bc", "qdi"})
#: A code typed in small letters without its hyphen (`21 kl/tw`, `37qđ/tw`): the
#: segmenter reads those only in capitals, as articles write them.
_LOWER_CODE_RE = re.compile(
    r"(?<![\w/])\d{1,3}\s?(?:kl|nq|qd|qđ|ct|hd|kh|tb|qc|cv|bc|đa|da)"
    r"(?:\s?/\s?[a-zđ]{2,8}){1,2}(?![\w/])"
)


@dataclass(frozen=True)
class Syllable:
    """One query syllable: as typed (normalised, lowercase) and folded."""

    text: str
    folded: str

    @property
    def accented(self) -> bool:
        return self.text != self.folded


@dataclass(frozen=True)
class Term:
    """Free words (a run) or a quoted phrase, with their syllables."""

    text: str
    phrase: bool
    syllables: tuple[Syllable, ...]


@dataclass
class Clause:
    alternatives: list[Term]
    negated: bool = False


@dataclass
class ParsedQuery:
    text: str
    clauses: list[Clause] = field(default_factory=list)

    @property
    def positive(self) -> list[Clause]:
        return [c for c in self.clauses if not c.negated]

    @property
    def negative(self) -> list[Clause]:
        return [c for c in self.clauses if c.negated]

    @property
    def is_empty(self) -> bool:
        return not self.positive

    @property
    def syllables(self) -> list[Syllable]:
        return [s for c in self.positive for t in c.alternatives for s in t.syllables]


def syllables_of(text: str) -> tuple[Syllable, ...]:
    """The searchable syllables of `text`: the index's folded syllables, with their accents."""
    return tuple(Syllable(syl.lowered, syl.folded) for syl in analysis.syllables(text))


#: Spellings of one place that articles and users mix (`TP.HCM` 42 articles,
#: `TPHCM` 72, `tp hcm` 96 in one sample): a query naming it one way searches all.
PLACE_VARIANTS: dict[str, tuple[str, ...]] = {
    "hcm": ("TP.HCM", "TP HCM", "TPHCM", "HCM", "TP. Hồ Chí Minh", "TP Hồ Chí Minh",
            "Thành phố Hồ Chí Minh", "Sài Gòn"),
}
#: The ways of PLACE_VARIANTS as typed, matched on the folded, lowercase query
#: (`Hồ Chí Minh` alone is also the man: only with `TP` or `thành phố`).
_VARIANT_RE = re.compile(
    r"(?<![\w.])(?:tp\.?\s*hcm|hcm|(?:tp\.?|thanh pho)\s*ho chi minh|sai gon)(?![\w])"
)


def _split_variants(item: tuple[str, str, bool]) -> list[tuple[str, str, bool]]:
    """A run of free words with a place variant in it, as (run, variant, run) items."""
    kind, value, _ = item
    if kind != "run":
        return [item]
    folded_value = analysis.folded(value)
    if len(folded_value) != len(value):
        return [item]
    out: list[tuple[str, str, bool]] = []
    pos = 0
    for match in _VARIANT_RE.finditer(folded_value):
        if value[pos:match.start()].strip():
            out.append(("run", value[pos:match.start()].strip(), False))
        out.append(("variant", "hcm", False))
        pos = match.end()
    if not out:
        return [item]
    if value[pos:].strip():
        out.append(("run", value[pos:].strip(), False))
    return out


def _strip_word(word: str) -> str:
    """A typed word without leading operators (`+`, stray `-`, `(`, `*`...)."""
    return word.lstrip("+-*(~^:!").rstrip("*):~^!,;?.")


def parse(q: str | None) -> ParsedQuery:
    """Parse user text into clauses; never raises."""
    text = normalize(str(q or ""))[:MAX_QUERY_CHARS].strip()
    text = text.replace("\x00", " ")
    text = _LOWER_CODE_RE.sub(lambda match: match.group().upper(), text)
    parsed = ParsedQuery(text=text)
    # Tokens: (kind, text, negated); kind is "word", "phrase" or "or".
    tokens: list[tuple[str, str, bool]] = []
    quotes = text.count('"')
    if quotes % 2:  # an unbalanced quote is just a character
        last = text.rfind('"')
        text = text[:last] + " " + text[last + 1 :]
    text = _PAREN_RE.sub(lambda m: f" {m.group()} ", text)
    for match in _TOKEN_RE.finditer(text):
        neg, phrase, word = match.groups()
        if word in ("(", ")"):
            tokens.append(("group", word, False))
        elif word is None:
            tokens.append(("phrase", phrase, bool(neg)))
        elif word == "OR":
            tokens.append(("or", word, False))
        else:
            negated = word.startswith("-") and len(word) > 1 and not word[1:2].isdigit()
            tokens.append(("word", _strip_word(word) if negated else word, negated))
    # Runs of free words are one item: `OR` joins whole names and phrases
    # (`Gò Công Tây OR Vĩnh Tường`), not the single words beside it.
    items: list[tuple[str, str, bool]] = []
    for kind, value, negated in tokens:
        if kind == "group":  # `(a OR b) c`: a parenthesis ends a run of words
            items.append(("group", value, False))
        elif kind == "word" and not negated and items and items[-1][0] == "run":
            items[-1] = ("run", f"{items[-1][1]} {value}", False)
        elif kind == "word" and not negated:
            items.append(("run", value, False))
        else:
            items.append((kind, value, negated))
    items = [piece for item in items for piece in _split_variants(item)]
    # Parentheses have done their work: they ended runs, so `OR` binds what they hold.
    items = [item for item in items if item[0] != "group"]
    # Group alternatives joined by OR; an OR without two sides is dropped.
    groups: list[tuple[list[tuple[str, str]], bool]] = []
    i = 0
    while i < len(items):
        kind, value, negated = items[i]
        i += 1
        if kind == "or":
            continue
        alternatives = [(kind, value)]
        while (
            not negated
            and i + 1 < len(items)
            and items[i][0] == "or"
            and items[i + 1][0] != "or"
            and not items[i + 1][2]
        ):
            alternatives.append(items[i + 1][:2])
            i += 2
        # A place named one of its ways is searched all of its ways.
        alternatives = [("phrase", spelling) for k, v in alternatives
                        for spelling in (PLACE_VARIANTS[v] if k == "variant" else (v,))
                        ] if any(k == "variant" for k, _ in alternatives) else alternatives
        if len(alternatives) > 1:  # each side of an OR is a name: its words in a row
            alternatives = [("phrase" if k == "run" else k, v) for k, v in alternatives]
        groups.append((alternatives, negated))
    budget = MAX_SYLLABLES
    run: list[str] = []

    def flush_run() -> None:
        nonlocal budget
        if run:
            _add(parsed, [("word", " ".join(run))], False, budget)
            budget -= len(parsed.clauses[-1].alternatives[0].syllables) if parsed.clauses else 0
            run.clear()

    for alternatives, negated in groups:
        if len(alternatives) == 1 and alternatives[0][0] == "run":
            run.append(alternatives[0][1])
            continue
        flush_run()
        before = len(parsed.clauses)
        _add(parsed, alternatives, negated, budget)
        if len(parsed.clauses) > before:  # alternatives: the longest counts
            budget -= max(len(t.syllables) for t in parsed.clauses[-1].alternatives)
    flush_run()
    return parsed


def _add(parsed: ParsedQuery, alternatives: list[tuple[str, str]], negated: bool,
         budget: int) -> None:
    if budget <= 0:
        return
    terms = []
    for kind, value in alternatives:
        syllables = syllables_of(value)[:budget]
        if syllables:
            terms.append(Term(value, kind == "phrase" and len(syllables) > 1, syllables))
    if terms:
        parsed.clauses.append(Clause(terms, negated))
