"""The article record: what extraction produces and the indexer stores.

Field names follow `vnsearch extract --json` in the interface contract.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Locality:
    """One administrative unit an article is about or mentions (names without unit word)."""

    province: str
    district: str | None = None
    commune: str | None = None
    province_2025: str | None = None
    role: str = "mentioned"  # "subject" or "mentioned"
    # the commune, ward or special zone since 1 July 2025 and its official code
    commune_2025: str | None = None
    code_2025: str | None = None


@dataclass(frozen=True)
class Directive:
    """A Party document cited by an article, with its canonical code (`21-KL/TW`)."""

    code: str
    type: str | None = None
    issuer: str | None = None
    date: str | None = None
    title: str | None = None


@dataclass
class Article:
    id: str
    title: str
    body: str
    date: str | None = None
    author: str | None = None
    source: str | None = None
    summary: str | None = None
    localities: list[Locality] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The JSON record of the interface contract (summary only when present)."""
        record = asdict(self)
        if not record["summary"]:
            del record["summary"]
        return record
