"""The approval chain as data, administration, delegation for any leader, plan drafts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 20:00:00

- entry: one waiting state 'pending' plus the position in the entry's own chain (copied from
  the campaign at submission); 'pending_unit' / 'pending_office' rows are converted. Who
  approved at which step moves from a JSON map to rows (entry_approval) the inbox SQL reads.
- campaign: status (draft/active/closed); chains become lists of step dicts.
- audit_log: the administration log, append-only and hash-chained like the history.
- content items and observances can be archived; units deactivated; users made to change
  their password; delegations carry who made them and can be revoked; the agency gets its
  mã định danh and a default signer.
History rows are never rewritten: the old state names keep their labels (workflow.py).
"""
import json

from alembic import op
import sqlalchemy as sa

from danvan.models.base import UTCDateTime


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
OLD_STATES = {"pending_unit": "unit_head", "pending_office": "office"}


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _load(value):
    if value is None or isinstance(value, (list, dict)):
        return value
    return json.loads(value)


def _new_chain(value):
    """A stored chain in the new form (list of {"kind": …})."""
    items = _load(value) or ["unit_head", "office"]
    return [{"kind": item} if isinstance(item, str) else item for item in items]


def _position(chain, kind):
    kinds = [step["kind"] for step in chain]
    return kinds.index(kind) if kind in kinds else len(kinds) - 1


def _audit_triggers():
    if _sqlite():
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'danvan: audit_log is append-only'); END"
            )
        op.execute(
            "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log WHEN "
            "EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) OR "
            "EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq) "
            "BEGIN SELECT RAISE(ABORT, 'danvan: audit_log is append-only'); END"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION danvan_refuse_change()"
        )


def upgrade():
    bind = op.get_bind()
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_audit_log_actor_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_log_seq'))
    )
    op.create_index(op.f('ix_audit_log_actor_id'), 'audit_log', ['actor_id'], unique=False)
    op.create_index(op.f('ix_audit_log_created_at'), 'audit_log', ['created_at'], unique=False)
    bind.execute(
        sa.text("INSERT INTO chain_head (name, seq, last_hash) VALUES ('audit_log', 0, :h)"),
        {"h": GENESIS},
    )
    _audit_triggers()

    op.create_table('entry_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_entry_approval_entry_id_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_entry_approval_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_approval')),
    sa.UniqueConstraint('entry_id', 'step', 'user_id', name=op.f('uq_entry_approval_entry_id'))
    )
    op.create_index(op.f('ix_entry_approval_entry_id'), 'entry_approval', ['entry_id'], unique=False)
    op.create_index(op.f('ix_entry_approval_user_id'), 'entry_approval', ['user_id'], unique=False)

    # Append-only history: new nullable columns only (see ledger.LATE_COLUMNS); a downgrade
    # leaves them in place.
    present = {c["name"] for c in sa.inspect(bind).get_columns('event')}
    for column in ('from_step', 'to_step'):
        if column not in present:
            op.add_column('event', sa.Column(column, sa.Integer(), nullable=True))

    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), server_default='active', nullable=False))
        batch_op.create_check_constraint('status', "status IN ('draft', 'active', 'closed')")
    campaign = sa.table('campaign', sa.column('id'), sa.column('chain', sa.JSON()))
    chains = {}
    for cid, chain in bind.execute(sa.select(campaign.c.id, campaign.c.chain)).all():
        chains[cid] = _new_chain(chain)
        bind.execute(campaign.update().where(campaign.c.id == cid).values(chain=chains[cid]))

    for table in ('content_item', 'observance'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('archived', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organ_id', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('default_signer_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_agency_default_signer_id_user', 'user', ['default_signer_id'], ['id'])
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.alter_column('unit_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_delegation_created_by_id_user'), 'user', ['created_by_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_delegation_head_id'), ['head_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delegation_delegate_id'), ['delegate_id'], unique=False)

    # Entries: read what the conversion needs, reshape the table, write it back.
    rows = bind.execute(sa.text(
        "SELECT id, campaign_id, state, returned_step, approvals FROM entry"
    )).all()
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_constraint('state', type_='check')
        batch_op.drop_column('approvals')
        batch_op.drop_column('returned_step')
        batch_op.add_column(sa.Column('chain', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('step_kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('step_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('returned_step', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_entry_step_user_id_user'), 'user', ['step_user_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_entry_step_kind'), ['step_kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_entry_step_user_id'), ['step_user_id'], unique=False)
    entry = sa.table(
        'entry', sa.column('id'), sa.column('state'), sa.column('chain', sa.JSON()),
        sa.column('step'), sa.column('step_kind'), sa.column('returned_step'),
    )
    approval = sa.table('entry_approval', sa.column('entry_id'), sa.column('step'),
                        sa.column('user_id'))
    for entry_id, campaign_id, state, returned, approvals in rows:
        chain = chains.get(campaign_id) or _new_chain(None)
        values = {}
        if state not in ('draft',):
            values['chain'] = chain
        if state in OLD_STATES:
            position = _position(chain, OLD_STATES[state])
            values.update(state='pending', step=position, step_kind=chain[position]['kind'])
        if returned in OLD_STATES.values():
            values['returned_step'] = _position(chain, returned)
        if values:
            bind.execute(entry.update().where(entry.c.id == entry_id).values(**values))
        seen = set()
        for old_state, ids in (_load(approvals) or {}).items():
            position = _position(chain, OLD_STATES.get(old_state, 'office'))
            for uid in ids:
                if (position, uid) not in seen:
                    seen.add((position, uid))
                    bind.execute(approval.insert().values(entry_id=entry_id, step=position,
                                                          user_id=uid))
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'state', "state IN ('draft', 'pending', 'approved', 'signed', 'returned', 'withdrawn')"
        )
        batch_op.create_check_constraint('step', "(state = 'pending') = (step IS NOT NULL)")


def downgrade():
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, state, step, step_kind, chain, returned_step FROM entry"
    )).all()
    approvals = {}
    for entry_id, step, user_id in bind.execute(sa.text(
        "SELECT entry_id, step, user_id FROM entry_approval ORDER BY id"
    )):
        approvals.setdefault(entry_id, []).append((step, user_id))
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_constraint('step', type_='check')
        batch_op.drop_constraint('state', type_='check')
        batch_op.drop_index(batch_op.f('ix_entry_step_user_id'))
        batch_op.drop_index(batch_op.f('ix_entry_step_kind'))
        batch_op.drop_constraint(batch_op.f('fk_entry_step_user_id_user'), type_='foreignkey')
        batch_op.drop_column('returned_step')
        batch_op.drop_column('step_user_id')
        batch_op.drop_column('step_kind')
        batch_op.drop_column('step')
        batch_op.drop_column('chain')
        batch_op.add_column(sa.Column('returned_step', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('approvals', sa.JSON(), nullable=True))
    entry = sa.table('entry', sa.column('id'), sa.column('state'),
                     sa.column('returned_step'), sa.column('approvals', sa.JSON()))
    old_by_kind = {"unit_head": "pending_unit"}
    for entry_id, state, step, kind, chain, returned in rows:
        chain = _load(chain) or []
        values = {'approvals': {}}
        if state == 'pending':
            values['state'] = old_by_kind.get(kind, 'pending_office')
        if returned is not None and returned < len(chain):
            values['returned_step'] = ('unit_head' if chain[returned]['kind'] == 'unit_head'
                                       else 'office')
        for position, uid in approvals.get(entry_id, []):
            key = 'pending_unit' if position < len(chain) and chain[position]['kind'] == 'unit_head' else 'pending_office'
            values['approvals'].setdefault(key, []).append(uid)
        bind.execute(entry.update().where(entry.c.id == entry_id).values(**values))
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.alter_column('approvals', existing_type=sa.JSON(), nullable=False)
        batch_op.create_check_constraint(
            'state', "state IN ('draft', 'pending_unit', 'pending_office', 'approved', 'signed', "
            "'returned', 'withdrawn')"
        )

    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delegation_delegate_id'))
        batch_op.drop_index(batch_op.f('ix_delegation_head_id'))
        batch_op.drop_constraint(batch_op.f('fk_delegation_created_by_id_user'), type_='foreignkey')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('created_at')
        batch_op.drop_column('created_by_id')
    bind.execute(sa.text("DELETE FROM delegation WHERE unit_id IS NULL"))
    with op.batch_alter_table('delegation', schema=None) as batch_op:
        batch_op.alter_column('unit_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_constraint('fk_agency_default_signer_id_user', type_='foreignkey')
        batch_op.drop_column('default_signer_id')
        batch_op.drop_column('organ_id')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('active')
    for table in ('content_item', 'observance'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('archived')
    campaign = sa.table('campaign', sa.column('id'), sa.column('chain', sa.JSON()))
    for cid, chain in bind.execute(sa.select(campaign.c.id, campaign.c.chain)).all():
        kinds = [s['kind'] for s in _new_chain(chain) if s['kind'] in ('unit_head', 'office')]
        bind.execute(campaign.update().where(campaign.c.id == cid).values(chain=kinds))
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_constraint('status', type_='check')
        batch_op.drop_column('status')

    # The history is append-only: its step columns and their values stay (unused below this
    # revision), so that upgrading again finds every sealed row as it was.

    op.drop_index(op.f('ix_entry_approval_user_id'), table_name='entry_approval')
    op.drop_index(op.f('ix_entry_approval_entry_id'), table_name='entry_approval')
    op.drop_table('entry_approval')
    if _sqlite():
        for verb in ("update", "delete", "replace"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{verb}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.drop_index(op.f('ix_audit_log_created_at'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_actor_id'), table_name='audit_log')
    op.drop_table('audit_log')
    bind.execute(sa.text("DELETE FROM chain_head WHERE name = 'audit_log'"))
