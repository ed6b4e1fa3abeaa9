"""Matching and scoring: BM25F over title and body, three views of each word.

A query becomes units (one per concept of the free words, one per phrase, one
per OR group). Each concept is scored as the best of
- its folded word (`xay_dung` in title_f/body_f: an accent-free compound
  scores like the word `xây_dựng`),
- its folded syllables (title_s/body_s, at a discount: the document segmented
  the words differently, or holds the syllable inside a longer word),
plus an accent bonus from the accented fields for spellings that agree with
the accents the user typed (`Đảng` before `đang`). Short queries need every
unit; long ones a minimum-should-match share, relaxed rather than returning
nothing, with a coordination factor. Adjacent concepts found next to each
other in the top candidates earn a proximity bonus.

All arrays are dense over the index's document numbers: at tens of thousands
of documents a vector operation costs microseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from indexer.analysis import folded
from indexer.backend import Generation

from .query import CODE_TYPES, Clause, ParsedQuery, Syllable, Term
from .snippets import Pattern
from .vocabulary import Vocabulary

K1 = 1.2
B = {"title": 0.5, "title_f": 0.5, "title_s": 0.5, "title_a": 0.5,
     "body": 0.75, "body_f": 0.75, "body_s": 0.75, "body_a": 0.75}
#: Score of an article the directive filter finds for a code it does not write as a code.
DIRECTIVE_SCORE = 1.0
#: Phrase checks over more candidates than this decode the whole posting list once
#: (unless the backend gathers the candidates' positions from a map, at any count).
DECODE_ALL_ABOVE = 300
#: Adjacent concept pairs checked for the proximity bonus (long questions have many).
MAX_PAIRS = 8
#: How many top candidates get the proximity and intended-form checks.
RERANK = 50
#: A short query's top candidates checked for its words written together (all
#: of them would cost half a second on common syllables at 40k articles).
RERANK_SHORT = 300
#: Queries of at most this many units need every unit; longer ones a share.
SHORT_QUERY = 3
#: A long query keeps at least its this many best-scored documents, however few
#: of its words they hold (relaxation never drops what plain BM25 would rank high).
KEEP_BEST = 100

#: Question and function words of Vietnamese questions, folded: what a reader
#: types around the content (`... như thế nào?`), rare in news text and so
#: heavy under idf, though they say nothing of what an article is about.
QUESTION_WORDS = frozenset({
    "gi", "nao", "sao", "dau", "ai", "may", "khong", "chua", "nhi", "a", "ha",
    "bao_nhieu", "the_nao", "nhu_the_nao", "ra_sao", "vi_sao", "tai_sao", "lam_sao",
    "o_dau", "khi_nao", "bao_gio", "co_phai", "phai_khong", "co_nen", "hay_khong",
    "bang_cach_nao", "la_gi", "nhu_nao", "the_nao_la",
})

#: Function words, folded: a partial match lacking them lacks nothing worth saying.
FUNCTION_WORDS = frozenset({
    "va", "la", "cua", "co", "o", "bi", "duoc", "cho", "voi", "cac", "nhung", "mot", "thi",
    "ma", "vi", "de", "tu", "den", "trong", "khi", "da", "se", "dang", "nay", "do", "nen",
    "neu", "hay", "hoac", "rat", "cung", "van", "con", "ra", "len", "tai", "theo", "ve",
})


@dataclass(frozen=True)
class Weights:
    """The ranking's free parameters, tuned by `bench/tune.py` on the tuning parts."""

    #: Title matches against body matches (BM25F field weight).
    title: float = 1.0
    #: A word of the query found as a word of the article (pyvi's segmentation).
    word: float = 1.0
    #: Each syllable of the query found in the article, as typed (BM25 over syllables).
    syllable: float = 0.6
    #: Exact spelling of a word typed with marks, on top of its folded match.
    accent: float = 1.0
    #: Exact spelling through longer words holding a typed syllable.
    accent_compound: float = 0.5
    #: Share of the score added when all adjacent concepts stand next to each other.
    proximity: float = 1.0
    #: Exponent of the coordination factor: the share of the query's weight held.
    coordination: float = 1.0
    #: Share of a long query's weight a document must hold (relaxed if none does).
    min_coverage: float = 0.5
    #: Weight of question and function words (QUESTION_WORDS) when the query has others.
    question_word: float = 0.1
    #: Score kept by a multi-syllable word whose syllables stand apart in the article.
    loose: float = 0.5


WEIGHTS = Weights()


@dataclass
class Concept:
    """One word of the query, as folded syllables with the accents typed."""

    folded: tuple[str, ...]
    typed: tuple[str | None, ...]
    codes: list[str] = field(default_factory=list)
    label: str = ""  # as typed (normalised, lowercase): what `unmatched` reports

    @property
    def key(self) -> str:
        return "_".join(self.folded)

    @property
    def accented(self) -> bool:
        return any(t is not None for t in self.typed)


@dataclass
class Unit:
    match: np.ndarray
    score: np.ndarray
    #: Weight in the query: below 1 for question words among other words.
    weight: float = 1.0
    #: Documents holding the unit in any spelling: a word typed with marks
    #: weighs in a query's coverage as much as typed without them.
    df: int = 0
    label: str = ""
    #: A word of several syllables: the documents holding it only as separate
    #: syllables are checked for them standing together.
    concept: Concept | None = None
    #: Documents holding the unit as a whole word (no adjacency check needed).
    whole: np.ndarray | None = None
    #: A question word (QUESTION_WORDS).
    question: bool = False
    #: A function word (FUNCTION_WORDS): never named as missing.
    function: bool = False


def concepts_of(syllables: tuple[Syllable, ...], vocab: Vocabulary) -> list[Concept]:
    """Segment a run of syllables into concepts against the index vocabulary."""
    out: list[Concept] = []
    pending: list[Syllable] = []

    def flush() -> None:
        if not pending:
            return
        folded = [s.folded for s in pending]
        for start, end in vocab.segment(folded):
            part = pending[start:end]
            concept = Concept(
                tuple(s.folded for s in part),
                tuple(s.text if s.accented and not _is_code(s.folded) else None for s in part),
                label=" ".join(s.text for s in part),
            )
            if len(part) == 1 and part[0].folded.isdigit():
                concept.codes = vocab.codes_for_number(part[0].folded)
            out.append(concept)
        pending.clear()

    i = 0
    while i < len(syllables):
        syl = syllables[i]
        nxt = syllables[i + 1] if i + 1 < len(syllables) else None
        if syl.folded.isdigit() and nxt is not None and nxt.folded in CODE_TYPES:
            codes = vocab.codes_for_number(syl.folded, nxt.folded)
            if codes:  # `21 KL`, `37-QĐ`: the directive codes themselves
                flush()
                out.append(Concept((syl.folded,), (None,), codes, f"{syl.text} {nxt.text}"))
                i += 2
                continue
        pending.append(syl)
        i += 1
    flush()
    return out


def _is_code(folded_syllable: str) -> bool:
    """A document code (`21-kl/tw`): matched on its folded form, `Đ` or `D` alike."""
    return folded_syllable[:1].isdigit() and "/" in folded_syllable


class Scorer:
    """Turns a parsed query into (matched mask, scores) over one Generation."""

    def __init__(self, view: Generation, vocab: Vocabulary, weights: Weights = WEIGHTS) -> None:
        self.view = view
        self.weights = weights
        self.vocab = vocab
        self.n = view.doc_count_all
        self._directives: dict[str, list[str]] | None = None
        #: `run` and `unmatched` of one search share its units (the engine's lock
        #: keeps one query at a time).
        self._last_units: tuple[ParsedQuery, list[Unit]] | None = None

    def directive_docs(self, folded_code: str) -> np.ndarray:
        """Documents whose `directive` facet holds a code folding to `folded_code`."""
        if self._directives is None:
            self._directives = {}
            for value in self.view.lexicon("directive"):
                self._directives.setdefault(folded(value), []).append(value)
        out = np.zeros(self.n, dtype=bool)
        for value in self._directives.get(folded_code, ()):
            ids, _ = self.view.postings("directive", value)
            out[ids] = True
        return out

    def idf(self, df: int) -> float:
        n = max(self.view.doc_count, df)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    # -- BM25 ------------------------------------------------------------------

    def field_scores(self, out: np.ndarray, fieldname: str, term: str, weight: float) -> None:
        """Add weight × BM25 of `term` in `fieldname` to `out`, in place."""
        ids, tfs = self.view.postings(fieldname, term)
        if not len(ids):
            return
        idf = self.idf(len(ids))
        lengths = self.view.lengths(fieldname)[ids]
        b = B[fieldname]
        norm = K1 * (1.0 - b + b * lengths / self.view.avg_length(fieldname))
        out[ids] += weight * idf * tfs * (K1 + 1.0) / (tfs + norm)

    def both(self, prefix: str, term: str, weight: float = 1.0) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        self.field_scores(out, f"title{prefix}", term, self.weights.title * weight)
        self.field_scores(out, f"body{prefix}", term, weight)
        return out

    # -- concepts --------------------------------------------------------------

    def concept(self, concept: Concept) -> Unit:
        """A word of the query: typed with marks, those spellings only; without, any.

        Its score adds the word's BM25 (the article segmented it the same way)
        and each syllable's (as typed: exact if marked, folded if not), so a
        question worded otherwise than the article still earns its syllables.
        It matches when the article holds the word or all of its syllables.
        """
        w = self.weights
        word = np.zeros(self.n, dtype=np.float32)
        if concept.accented:
            for spelling, _df in self.vocab.variants(concept.key, concept.typed):
                word += self.both("", spelling)
        elif concept.key in self.vocab.word_df:
            word += self.both("_f", concept.key)
        for code in concept.codes:
            word += self.both("_f", code)
        if len(concept.folded) == 1 and _is_code(concept.key):
            # What the directive filter finds: articles tagged with the code by
            # extraction, which may write it otherwise (`Kết luận số 21 của ...`).
            tagged = self.directive_docs(concept.key)
            if tagged.any():
                word += np.where(tagged & (word == 0), DIRECTIVE_SCORE, 0).astype(np.float32)
        syl_match = np.ones(self.n, dtype=bool)
        syl_score = np.zeros(self.n, dtype=np.float32)
        for f, t in zip(concept.folded, concept.typed, strict=True):
            s = self.both("_s", f) if t is None else self.both("_a", t)
            syl_match &= s > 0
            syl_score += s
        whole = word > 0
        match = whole | syl_match
        score = w.word * word + w.syllable * syl_score
        if concept.accented:
            score += self.accent_bonus(concept) * match
        df = max(self.vocab.word_df.get(concept.key, 0),
                 min(self.vocab.syllable_df.get(f, 0) for f in concept.folded))
        several = len(concept.folded) > 1
        return Unit(match, score.astype(np.float32), df=df if concept.accented else 0,
                    label=concept.label, concept=concept if several else None,
                    whole=whole if several else None, question=concept.key in QUESTION_WORDS,
                    function=concept.key in FUNCTION_WORDS)

    def accent_bonus(self, concept: Concept) -> np.ndarray:
        bonus = np.zeros(self.n, dtype=np.float32)
        for word, _df in self.vocab.variants(concept.key, concept.typed)[:4]:
            bonus += self.both("", word, self.weights.accent)
        if len(concept.folded) == 1 and concept.typed[0] is not None:
            for word, _df in self.vocab.compounds_with(concept.typed[0])[:4]:
                bonus += self.both("", word, self.weights.accent_compound)
        return bonus

    # -- phrases ---------------------------------------------------------------

    def phrase_docs(self, folded: tuple[str, ...], candidates: np.ndarray,
                    cache: dict | None = None,
                    typed: tuple[str | None, ...] | None = None) -> np.ndarray:
        """Boolean mask: documents among `candidates` holding the syllables in a row.

        `typed[i]`, when given, is the i-th syllable with its marks: it must
        stand there as typed (accented syllables view), not any form folding
        to it. `cache` keeps positions read for the same candidates across calls.
        """
        typed = typed if typed is not None else (None,) * len(folded)
        out = np.zeros(self.n, dtype=bool)
        key = "_".join(folded)
        whole_words: list[tuple[str, str]] = []
        if key in self.vocab.word_df:
            if any(t is not None for t in typed):
                whole_words = [(prefix, w) for w, _ in self.vocab.variants(key, typed)
                               for prefix in ("title", "body")]
            else:
                whole_words = [("title_f", key), ("body_f", key)]
        if whole_words:
            # Documents holding the whole phrase as one word need no position check.
            whole = np.zeros(self.n, dtype=bool)
            for fieldname, word in whole_words:
                ids, _ = self.view.postings(fieldname, word)
                whole[ids] = True
            out[candidates] = whole[candidates]
            candidates = candidates[~whole[candidates]]
        matcher = getattr(self.view, "phrase_match", None)
        for title_or_body in ("title", "body"):
            keys = tuple((f"{title_or_body}_s", f) if t is None else (f"{title_or_body}_a", t)
                         for f, t in zip(folded, typed, strict=True))
            docs = candidates
            for fieldname, term in set(keys):
                ids, _ = self.view.postings(fieldname, term)
                docs = np.intersect1d(docs, ids, assume_unique=True)
                if not len(docs):
                    break
            if not len(docs):
                continue
            if matcher is not None:  # the backend matches phrases where positions live
                out[matcher(keys, docs)] = True
                continue
            mapped = getattr(self.view, "positions_mapped", None)
            if len(docs) > DECODE_ALL_ABOVE and not (
                    mapped is not None and all(mapped(field) for field, _ in keys)):
                out[self.phrase_by_keys(keys, docs)] = True
                continue
            found: dict[tuple[str, str], np.ndarray] = {}
            for fieldname, term in set(keys):
                if cache is not None and (fieldname, term) in cache:
                    found[(fieldname, term)] = cache[(fieldname, term)]
                    continue
                # With a shared cache, read for all candidates once, not per phrase.
                wanted = cache["docs"] if cache is not None else docs
                found[(fieldname, term)] = self.view.position_keys_in(fieldname, term, wanted)
                if cache is not None:
                    cache[(fieldname, term)] = found[(fieldname, term)]
            starts = found[keys[0]]
            for i, k in enumerate(keys[1:], 1):
                starts = starts[_holds(found[k], starts + i)]
            hit = np.unique(starts >> 24).astype(np.int32)
            out[hit[_holds(docs, hit)]] = True
        return out

    def occurs(self, folded: tuple[str, ...], typed: tuple[str | None, ...]) -> bool:
        """True when some live document holds the syllables in a row (as typed, if accented)."""
        for syllable, form in zip(folded, typed, strict=True):
            if syllable not in self.vocab.syllable_df and form is None:
                return False
        live = np.nonzero(self.view.live)[0].astype(np.int32)
        return bool(self.phrase_docs(folded, live, typed=typed).any())

    def phrase_by_keys(self, keys: tuple[tuple[str, str], ...],
                       docs: np.ndarray) -> np.ndarray:
        """Docnums among `docs` with the (field, term) syllables in a row, through position keys.

        The folded and accented syllable views count the same units, so their
        positions line up and one phrase may mix them.
        """
        starts = self.view.position_keys(*keys[0])
        for i, (fieldname, syllable) in enumerate(keys[1:], 1):
            found_keys = self.view.position_keys(fieldname, syllable)
            starts = starts[np.isin(starts + i, found_keys, assume_unique=True)]
            if not len(starts):
                break
        found = np.unique(starts >> 24).astype(np.int32)
        return found[np.isin(found, docs, assume_unique=True)]

    def term_unit(self, term: Term) -> Unit:
        """A free-word run (all its concepts) or a phrase, as one unit."""
        concepts = concepts_of(term.syllables, self.vocab)
        units = [self.concept(c) for c in concepts]
        match = np.logical_and.reduce([u.match for u in units])
        score = np.sum([u.score for u in units], axis=0)
        if term.phrase:
            folded = tuple(s.folded for s in term.syllables)
            typed = tuple(c for concept in concepts for c in concept.typed)
            match = self.phrase_docs(folded, np.nonzero(match & self.view.live)[0].astype(np.int32),
                                     typed=typed)
        return Unit(match, np.where(match, score, 0).astype(np.float32), label=term.text)

    def clause_units(self, clause: Clause) -> list[Unit]:
        """Units of one clause: each concept of a lone free run, or one OR group."""
        if len(clause.alternatives) == 1 and not clause.alternatives[0].phrase:
            concepts = concepts_of(clause.alternatives[0].syllables, self.vocab)
            return [self.concept(c) for c in concepts]
        parts = [self.term_unit(t) for t in clause.alternatives]
        match = np.logical_or.reduce([u.match for u in parts])
        score = np.sum([u.score for u in parts], axis=0)
        return [Unit(match, score, label=" OR ".join(t.text for t in clause.alternatives))]

    # -- the query -------------------------------------------------------------

    def excluded(self, parsed: ParsedQuery) -> np.ndarray:
        """Documents holding any `-`excluded word or phrase of the query."""
        out = np.zeros(self.n, dtype=bool)
        for clause in parsed.negative:
            for term in clause.alternatives:
                out |= self.term_unit(term).match
        return out

    def units(self, parsed: ParsedQuery) -> list[Unit]:
        """The scored units of the query's positive clauses (the last query's kept).

        Question words (`gì`, `như thế nào`) weigh `weights.question_word`
        when the query holds other words: a question is about its content.
        """
        if self._last_units is not None and self._last_units[0] is parsed:
            return self._last_units[1]
        units: list[Unit] = []
        for clause in parsed.positive:
            units.extend(self.clause_units(clause))
        questions = [u.question for u in units]
        if not all(questions):
            for unit, question in zip(units, questions, strict=True):
                if question:
                    unit.weight = self.weights.question_word
                    unit.score = unit.score * unit.weight
        self._last_units = (parsed, units)
        return units

    def unmatched(self, parsed: ParsedQuery) -> list[str]:
        """The query's words, phrases or OR groups that no live document holds, as typed."""
        return list(dict.fromkeys(u.label for u in self.units(parsed)
                                  if not (u.match & self.view.live).any()))

    def missing(self, parsed: ParsedQuery, docnums: list[int]) -> list[list[str]]:
        """Per document, the query's content words it does not hold (a long query's
        partial match); words no document holds are `unmatched`, not missing."""
        named = [u for u in self.units(parsed) if u.weight >= 1.0 and not u.function
                 and (u.match & self.view.live).any()]
        return [list(dict.fromkeys(u.label for u in named if not u.match[d])) for d in docnums]

    def run(self, parsed: ParsedQuery, allowed: np.ndarray,
            min_coverage: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(matched mask, scores) for a non-empty query within `allowed` documents.

        Words no document holds are left out (`unmatched` names them); a
        query with none left matches nothing. Up to SHORT_QUERY words (not
        counting question words) every word is needed; a longer query needs
        `min_coverage` of its weight, relaxed rather than showing nothing,
        and always keeps its best-scored documents. Ranking is coordination
        first (the share of the query held, each word in its intended form),
        then BM25F over words and syllables, proximity and title.
        """
        w = self.weights
        units = [u for u in self.units(parsed) if (u.match & self.view.live).any()]
        allowed = allowed & ~self.excluded(parsed)
        if not units:
            return np.zeros(self.n, dtype=bool), np.zeros(self.n, dtype=np.float32)
        # Coverage: the share of the query's weight (rare words weigh more) a
        # document holds.
        weights = np.array([u.weight * self.idf(max(u.df, int(np.count_nonzero(
            u.match & self.view.live)))) for u in units], dtype=np.float32)
        weights /= max(float(weights.sum()), 1e-9)
        coverage = np.zeros(self.n, dtype=np.float32)
        for weight, unit in zip(weights, units, strict=True):
            coverage += weight * unit.match
        total = np.sum([u.score for u in units], axis=0).astype(np.float32)
        content = [u for u in units if u.weight >= 1.0] or units
        short = len(content) <= SHORT_QUERY
        if min_coverage is not None:
            matched = allowed & (coverage >= min_coverage - 1e-6)
        elif short:
            matched = allowed & np.logical_and.reduce([u.match for u in content])
        else:
            need = w.min_coverage
            matched = allowed & (coverage >= need - 1e-6)
            while not matched.any() and need > 0.05:
                need -= 0.1  # a long question: rank partial matches rather than show nothing
                matched = allowed & (coverage >= need - 1e-6)
            # The best-scored documents stay, whatever share of the words they hold.
            anything = np.nonzero(allowed & (total > 0))[0]
            if len(anything) > KEEP_BEST:
                anything = anything[np.argpartition(-total[anything], KEEP_BEST)[:KEEP_BEST]]
            matched[anything] = True
        scores = np.where(matched, total * coverage ** w.coordination, 0).astype(np.float32)
        self.intended_form(units, weights, matched, scores, every=short)
        self.proximity(parsed, matched, scores)
        return matched, scores

    def intended_form(self, units: list[Unit], weights: np.ndarray, matched: np.ndarray,
                      scores: np.ndarray, every: bool) -> None:
        """Lower, in place, documents holding a word's syllables apart, not together.

        `mai châu` found as `mai` … `châu` is not the place Mai Châu. For a
        short query its top RERANK_SHORT documents are checked and those holding
        a word only apart rank below all checked ones that hold every word
        together; for a long one the top RERANK lose that word's share
        (`weights.loose` of it kept).
        """
        several = [(wt, u) for wt, u in zip(weights, units, strict=True) if u.concept is not None]
        if not several:
            return
        docs = np.nonzero(matched)[0]
        limit = RERANK_SHORT if every else RERANK
        if len(docs) > limit:
            docs = docs[np.argpartition(-scores[docs], limit)[:limit]]
        docs = np.sort(docs).astype(np.int32)
        apart = np.zeros(self.n, dtype=bool)
        kept = np.ones(self.n, dtype=np.float32)
        for weight, unit in several:
            assert unit.concept is not None and unit.whole is not None
            loose = docs[unit.match[docs] & ~unit.whole[docs]]
            if not len(loose):
                continue
            together = self.phrase_docs(unit.concept.folded, loose, typed=unit.concept.typed)
            far = loose[~together[loose]]
            apart[far] = True
            kept[far] -= float(weight) * (1.0 - self.weights.loose)
        if not apart.any():
            return
        if every:
            close = docs[~apart[docs]]
            floor = float(scores[close].min()) if len(close) else 0.0
            top = float(scores[apart].max())
            if floor > 0 and top > 0:
                scores[apart] *= 0.5 * floor / top
        else:
            scores *= kept

    def proximity(self, parsed: ParsedQuery, matched: np.ndarray, scores: np.ndarray) -> None:
        """Raise, in place, the top candidates whose adjacent concepts stand together."""
        pairs: list[tuple[tuple[str, ...], tuple[str | None, ...]]] = []
        for clause in parsed.positive:
            for term in clause.alternatives:
                if term.phrase:
                    continue
                concepts = concepts_of(term.syllables, self.vocab)
                for a, b in zip(concepts, concepts[1:], strict=False):
                    pairs.append((a.folded + b.folded, a.typed + b.typed))
        if not pairs:
            return
        docs = np.nonzero(matched)[0]
        if len(docs) > RERANK:
            top = np.argpartition(-scores[docs], RERANK)[:RERANK]
            docs = docs[top]
        docs = np.sort(docs).astype(np.int32)
        found = np.zeros(self.n, dtype=np.float32)
        pairs = pairs[:MAX_PAIRS]
        cache: dict = {"docs": docs}
        for pair, typed in pairs:
            found += self.phrase_docs(pair, docs, cache, typed)
        scores *= 1.0 + self.weights.proximity * found / len(pairs)

    # -- highlighting ----------------------------------------------------------

    def patterns(self, parsed: ParsedQuery) -> list[Pattern]:
        """What to mark in titles and snippets for this query."""
        out: list[Pattern] = []
        for clause in parsed.positive:
            for term in clause.alternatives:
                if term.phrase:
                    out.append(Pattern(tuple(s.folded for s in term.syllables),
                                       tuple(s.text if s.accented and not _is_code(s.folded)
                                             else None for s in term.syllables), len(out)))
                    continue
                for concept in concepts_of(term.syllables, self.vocab):
                    key = len(out)
                    out.append(Pattern(concept.folded, concept.typed, key))
                    for code in concept.codes:
                        out.append(Pattern((code,), (None,), key))
                    if len(concept.folded) == 1 and _is_code(concept.key):
                        # `Kết luận số 21 của Ban Chấp hành`: the number, as tagged.
                        number = concept.key.split("-")[0].split("/")[0]
                        out.append(Pattern((number.lstrip("0") or number,), (None,), key,
                                           fallback=True))
        return out


def _holds(sorted_keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Boolean mask: which of `wanted` are in the sorted array `sorted_keys`."""
    if not len(sorted_keys):
        return np.zeros(len(wanted), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    return sorted_keys[at] == wanted
