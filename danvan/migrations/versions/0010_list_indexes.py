"""Province-scale lists: indexes matching the lists' orderings, and the search index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:00:00

- entry (state, step_kind, updated_at, id): the inboxes (waiting at a kind of step, oldest
  first) and the header's count;
- entry (campaign_id, date_from, id) and entry (date_from, id): the entry lists, newest first;
- search over entry.search_text (the fold()ed text):
  - SQLite: ``entry_fts``, an external-content FTS5 table with the trigram tokenizer (substring
    matches, as LIKE '%word%'), kept in step by triggers on entry insert/update/delete;
  - PostgreSQL: a pg_trgm GIN index, which serves LIKE '%word%' itself (the extension is
    created here: the migration role must be allowed to, see README).
  Neither is in the models (danvan.search.SEARCH_INDEX_OBJECTS; env.py leaves them out of
  autogenerate). A later SQLite batch migration that rebuilds ``entry`` drops the triggers:
  recreate them there (``_create_fts_triggers``) and rebuild the index.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

FTS_TRIGGERS = {
    "entry_fts_insert": (
        "AFTER INSERT ON entry BEGIN "
        "INSERT INTO entry_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
    ),
    "entry_fts_delete": (
        "AFTER DELETE ON entry BEGIN "
        "INSERT INTO entry_fts(entry_fts, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    ),
    "entry_fts_update": (
        "AFTER UPDATE OF search_text ON entry BEGIN "
        "INSERT INTO entry_fts(entry_fts, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        "INSERT INTO entry_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
    ),
}


def _create_fts_triggers():
    for name, body in FTS_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade():
    op.create_index(
        'ix_entry_state_step_kind_updated', 'entry', ['state', 'step_kind', 'updated_at', 'id']
    )
    op.create_index('ix_entry_campaign_id_date_from', 'entry', ['campaign_id', 'date_from', 'id'])
    op.create_index('ix_entry_date_from', 'entry', ['date_from', 'id'])
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        op.execute(
            "CREATE VIRTUAL TABLE entry_fts USING fts5(search_text, content='entry', "
            "content_rowid='id', tokenize='trigram case_sensitive 1')"
        )
        _create_fts_triggers()
        op.execute("INSERT INTO entry_fts(entry_fts) VALUES ('rebuild')")
    elif dialect == 'postgresql':
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_entry_search_text_trgm ON entry USING gin (search_text gin_trgm_ops)"
        )


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        for name in FTS_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS entry_fts")
    elif dialect == 'postgresql':
        # The extension stays: other databases or objects may use it.
        op.execute("DROP INDEX IF EXISTS ix_entry_search_text_trgm")
    op.drop_index('ix_entry_date_from', table_name='entry')
    op.drop_index('ix_entry_campaign_id_date_from', table_name='entry')
    op.drop_index('ix_entry_state_step_kind_updated', table_name='entry')
