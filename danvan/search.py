"""Accent-insensitive search on an index, the same results on SQLite and PostgreSQL.

SQLite's full-text index over ``entry.search_text`` (migration 0010) is an external-content
FTS5 table with the trigram tokenizer, kept in step by triggers. Trigrams match substrings,
so a word matches exactly where ``LIKE '%word%'`` does; PostgreSQL's pg_trgm GIN index serves
that LIKE itself. Words shorter than three characters have no trigram and use LIKE on both.
``danvan.text.fold`` is the one normaliser of the stored text and of what is typed.
"""

from __future__ import annotations

from sqlalchemy import and_, literal_column, select, table

from danvan.extensions import db
from danvan.models import Entry
from danvan.text import fold, like_contains

ENTRY_FTS = "entry_fts"
TRIGRAM = 3
_fts = table(ENTRY_FTS, literal_column("rowid"))
# Schema objects the search index adds that the models do not declare (the autogenerate
# check skips them): the FTS5 table with its shadow tables, and the trigram index.
SEARCH_INDEX_OBJECTS = {
    "tables": (ENTRY_FTS,),
    "indexes": ("ix_entry_search_text_trgm",),
}


def is_search_index_object(name: str | None, type_: str) -> bool:
    """Whether a schema object is part of the search index (see SEARCH_INDEX_OBJECTS)."""
    if not name:
        return False
    if type_ == "table":
        return any(name == t or name.startswith(f"{t}_") for t in SEARCH_INDEX_OBJECTS["tables"])
    if type_ == "index":
        return name in SEARCH_INDEX_OBJECTS["indexes"]
    return False


def include_object(object_, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object hook: leave the search index's own objects out of autogenerate."""
    return not is_search_index_object(name, type_)


def fts_phrase(word: str) -> str:
    """``word`` as an FTS5 string: the whole word literally, quotes doubled."""
    return '"' + word.replace('"', '""') + '"'


def text_condition(text: str | None, *, narrow: bool = False):
    """SQL condition: every folded word of ``text`` occurs in ``Entry.search_text`` (None when
    there is no word). On SQLite the FTS5 trigram index answers the words of three characters
    or more; everywhere else (PostgreSQL, short words) it is LIKE '%word%'.

    ``narrow``: the query's other conditions already pick few rows on an index (an inbox: the
    entries waiting at one's steps), so the words are tested on those rows with LIKE instead
    of building every match of the whole table from the FTS index first (a common word such as
    "dan" matches all of them). The same rows either way: trigrams match where LIKE does."""
    words = fold(text).split()
    if not words:
        return None
    sqlite = db.engine.dialect.name == "sqlite" and not narrow
    long_words = [w for w in words if sqlite and len(w) >= TRIGRAM]
    conditions = [
        Entry.search_text.like(like_contains(w), escape="\\") for w in words if w not in long_words
    ]
    if long_words:
        match = " AND ".join(fts_phrase(w) for w in dict.fromkeys(long_words))
        matching = select(_fts.c.rowid).where(literal_column(ENTRY_FTS).op("MATCH")(match))
        conditions.insert(0, Entry.id.in_(matching))
    return and_(*conditions)
