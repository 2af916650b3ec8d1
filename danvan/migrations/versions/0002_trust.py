"""Trust: server-side sessions, atomic rate counters, hash chains, one open report per
campaign, append-only triggers that REPLACE cannot bypass

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 16:30:00

"""
from alembic import op
import sqlalchemy as sa

from danvan.models.base import UTCDateTime


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

APPEND_ONLY = ("event", "archived_document", "register_entry", "blob")
CHAINED = ("event", "register_entry", "archived_document")
# Unique keys an INSERT OR REPLACE could collide on (SQLite deletes the old row silently).
UNIQUE_KEYS = {
    "event": (("id",), ("seq",)),
    "archived_document": (("id",), ("report_id",), ("seq",)),
    "register_entry": (("id",), ("agency_id", "year", "number"), ("seq",)),
    "blob": (("sha256",),),
}
GENESIS = "0" * 64


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _drop_triggers():
    if _sqlite():
        for table in APPEND_ONLY:
            for verb in ("update", "delete", "replace"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        for verb in ("update", "delete", "replace"):
            op.execute(f"DROP TRIGGER IF EXISTS report_issued_no_{verb}")
    else:
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP TRIGGER IF EXISTS report_issued_frozen ON report")


def _create_triggers(with_replace: bool):
    if not _sqlite():
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION danvan_refuse_change()"
            )
        op.execute(
            "CREATE TRIGGER report_issued_frozen BEFORE UPDATE OR DELETE ON report "
            "FOR EACH ROW WHEN (OLD.state = 'issued') EXECUTE FUNCTION danvan_refuse_change()"
        )
        return
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'danvan: {table} is append-only'); END"
            )
        if with_replace:
            keys = [k for k in UNIQUE_KEYS[table] if table in CHAINED or "seq" not in k]
            cond = " OR ".join(
                "EXISTS (SELECT 1 FROM {t} WHERE {c})".format(
                    t=table, c=" AND ".join(f"{col} = NEW.{col}" for col in key)
                )
                for key in keys
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {cond} "
                f"BEGIN SELECT RAISE(ABORT, 'danvan: {table} is append-only'); END"
            )
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER report_issued_no_{verb.lower()} BEFORE {verb} ON report "
            "WHEN OLD.state = 'issued' "
            "BEGIN SELECT RAISE(ABORT, 'danvan: an issued report is append-only'); END"
        )
    if with_replace:
        op.execute(
            "CREATE TRIGGER report_issued_no_replace BEFORE INSERT ON report WHEN EXISTS "
            "(SELECT 1 FROM report WHERE id = NEW.id AND state = 'issued') "
            "BEGIN SELECT RAISE(ABORT, 'danvan: an issued report is append-only'); END"
        )


def _backfill_chains():
    """Seal the rows written before this revision, in id order."""
    from danvan import ledger
    from danvan.models import ArchivedDocument, Event, RegisterEntry

    bind = op.get_bind()
    for name, model in (("event", Event), ("register_entry", RegisterEntry),
                        ("archived_document", ArchivedDocument)):
        table = model.__table__
        # Columns a later revision adds are not there yet (and hash as absent while empty).
        present = {c["name"] for c in sa.inspect(bind).get_columns(name)}
        names = [n for n in ledger.content_columns(table) if n in present]
        prev, seq = GENESIS, 0
        rows = bind.execute(
            sa.select(*[table.c[n] for n in ["id", *names]]).order_by(table.c.id)
        ).mappings().all()
        for row in rows:
            seq += 1
            digest = ledger.row_hash(name, seq, prev, {n: row[n] for n in names})
            bind.execute(
                sa.update(table).where(table.c.id == row["id"]).values(
                    seq=seq, prev_hash=prev, row_hash=digest
                )
            )
            prev = digest
        bind.execute(
            sa.text("INSERT INTO chain_head (name, seq, last_hash) VALUES (:n, :s, :h)"),
            {"n": name, "s": seq, "h": prev},
        )


def _backfill_approvals():
    """Who approved each entry at which step, from the history written so far."""
    bind = op.get_bind()
    approvals: dict[int, dict[str, list[int]]] = {}
    rows = bind.execute(sa.text(
        "SELECT entry_id, from_state, actor_id, acting_for_id FROM event "
        "WHERE action = 'approve' AND entry_id IS NOT NULL ORDER BY id"
    ))
    for entry_id, state, actor_id, acting_for_id in rows:
        ids = approvals.setdefault(entry_id, {}).setdefault(state, [])
        for uid in (actor_id, acting_for_id):
            if uid is not None and uid not in ids:
                ids.append(uid)
    entry = sa.table('entry', sa.column('id'), sa.column('approvals', sa.JSON()))
    bind.execute(entry.update().values(approvals={}))
    for entry_id, value in approvals.items():
        bind.execute(entry.update().where(entry.c.id == entry_id).values(approvals=value))


def upgrade():
    # Login throttling moved to atomic counters (rate_counter); the per-attempt log goes.
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempt_username'))
        batch_op.drop_index(batch_op.f('ix_login_attempt_remote_addr'))
        batch_op.drop_index(batch_op.f('ix_login_attempt_created_at'))
    op.drop_table('login_attempt')
    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('remember', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_session_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_session_token_hash'))
    )
    op.create_index(op.f('ix_user_session_user_id'), 'user_session', ['user_id'], unique=False)
    op.create_table('rate_counter',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('window_start', UTCDateTime(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_counter'))
    )
    op.create_table('chain_head',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_chain_head'))
    )
    op.create_index(
        'uq_report_open_per_campaign', 'report', ['campaign_id'], unique=True,
        sqlite_where=sa.text("state IN ('draft', 'submitted')"),
        postgresql_where=sa.text("state IN ('draft', 'submitted')"),
    )

    op.add_column('entry', sa.Column('approvals', sa.JSON(), nullable=True))
    _backfill_approvals()
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.alter_column('approvals', existing_type=sa.JSON(), nullable=False)

    _drop_triggers()
    for table in CHAINED:
        op.add_column(table, sa.Column('seq', sa.Integer(), nullable=True))
        op.add_column(table, sa.Column('prev_hash', sa.String(length=64), nullable=True))
        op.add_column(table, sa.Column('row_hash', sa.String(length=64), nullable=True))
    _backfill_chains()
    for table in CHAINED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in ('seq', 'prev_hash', 'row_hash'):
                batch_op.alter_column(column, existing_type=sa.Integer() if column == 'seq'
                                      else sa.String(length=64), nullable=False)
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_seq'), ['seq'])
    _create_triggers(with_replace=True)


def downgrade():
    _drop_triggers()
    for table in CHAINED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_seq'), type_='unique')
            batch_op.drop_column('row_hash')
            batch_op.drop_column('prev_hash')
            batch_op.drop_column('seq')
    _create_triggers(with_replace=False)
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_column('approvals')
    op.drop_index('uq_report_open_per_campaign', table_name='report')
    op.drop_table('chain_head')
    op.drop_table('rate_counter')
    op.drop_index(op.f('ix_user_session_user_id'), table_name='user_session')
    op.drop_table('user_session')
    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt'))
    )
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempt_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempt_remote_addr'), ['remote_addr'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempt_username'), ['username'], unique=False)
