"""Stored documents as the engine shows them: text, word offsets, the metadata record.

Bodies are read only around the query's syllables when that is enough for
marks and snippets; the word offsets stored at index time (`body_spans`)
spare a second segmentation.
"""

from __future__ import annotations

import json

from indexer.directives import directive_label
from indexer.schema import unpack_spans

from .snapshot import Snapshot
from .snippets import syllables_near, text_syllables, word_spans

#: Articles per field read to find how a completion is written (capitals).
CASE_DOCS = 3

def read_texts(snap: Snapshot, docnum: int, seen: dict) -> tuple[dict, list]:
    """Stored fields and [(title, syllables), (body, syllables)], once per query.

    `seen["texts"] = False` asks for the stored fields only (no syllables: nothing to mark).
    """
    if docnum not in seen:
        stored = snap.view.stored(docnum)
        title = stored.get("title") or ""
        body = stored.get("body") or ""
        if seen.get("texts") is False:
            seen[docnum] = (stored, [(title, []), (body, [])])
            return seen[docnum]
        wanted = seen.get("wanted")
        spans = word_offsets(stored, body)
        body_syls = (syllables_near(body, spans, wanted) if wanted
                     else text_syllables(body, spans))
        seen[docnum] = (stored, [(title, text_syllables(title, word_spans(title))),
                                 (body, body_syls)])
    return seen[docnum]

def case_texts(snap: Snapshot, term: str, wanted: frozenset[str]) -> list:
    """[(text, syllables)] of a few titles holding `term`, else of a few bodies."""
    for field in ("title", "body"):
        docs = snap.view.postings(field, term)[0][:CASE_DOCS].tolist()
        if not docs:
            continue
        texts = []
        for docnum in docs:
            stored = snap.view.stored(docnum)
            text = stored.get(field) or ""
            if field == "title":
                texts.append((text, text_syllables(text, word_spans(text))))
            elif all(w.isalnum() for w in wanted):
                texts.append((text, syllables_near(text, word_offsets(stored, text), wanted)))
            else:
                texts.append((text, text_syllables(text, word_offsets(stored, text))))
        return texts
    return []

def word_offsets(stored: dict, body: str) -> list[tuple[int, int]]:
    packed = stored.get("body_spans")
    if packed:
        try:
            spans = unpack_spans(packed)
            if not spans or spans[-1][1] <= len(body):
                return spans
        except (ValueError, TypeError):
            pass
    return word_spans(body)

def metadata(stored: dict) -> dict:
    try:
        record = json.loads(stored.get("record") or "{}")
    except (TypeError, ValueError):
        return {}
    for directive in record.get("directives") or []:
        if isinstance(directive, dict) and directive.get("code"):
            directive.setdefault("label", directive_label(directive["code"]))
    return record
