"""What the migrations own and the models do not: left out of Alembic's autogenerate."""

from __future__ import annotations

from danvan import jobs, search


def include_object(object_, name, type_, reflected, compare_to) -> bool:
    """Alembic's include_object hook: not the search index's objects (FTS5 table, trigram
    index) nor the task queue's tables on PostgreSQL."""
    return search.include_object(object_, name, type_, reflected, compare_to) and (
        jobs.include_object(object_, name, type_, reflected, compare_to)
    )
