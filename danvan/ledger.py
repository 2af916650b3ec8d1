"""Hash chains over the record that must never change: history, register rows, archive rows.

Each sealed row stores its position in its chain (``seq``), the previous row's hash and the
SHA-256 of its own content together with that previous hash. Rows are sealed as they are
inserted (a mapper hook, so no caller can forget); the chain's head row is updated in the
same transaction, and locking it serialises appends on SQLite and PostgreSQL alike.
``check_chains`` recomputes every chain and names the first broken row, so an edit made even
by the database owner (triggers dropped, rows rewritten) is detected by ``verify-archive``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from danvan.extensions import db
from danvan.models import ArchivedDocument, AuditLog, ChainHead, Event, RegisterEntry

GENESIS = "0" * 64
CHAIN_COLUMNS = ("seq", "prev_hash", "row_hash")
# Chain name → model. The name is also the table name.
CHAINED = {
    "event": Event,
    "register_entry": RegisterEntry,
    "archived_document": ArchivedDocument,
    "audit_log": AuditLog,
}
# Columns added to a chained table after rows were sealed: left out of a row's hash while
# empty, so the rows sealed before the column existed still verify.
LATE_COLUMNS = {"event": frozenset({"from_step", "to_step"})}
_STATE_KEY = "danvan_chain_heads"


def content_columns(table) -> list[str]:
    """The columns a row's hash covers: all but the surrogate key and the chain's own."""
    return [c.name for c in table.columns if c.name != "id" and c.name not in CHAIN_COLUMNS]


def _canonical(value):
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_hash(chain: str, seq: int, prev_hash: str, values: dict) -> str:
    """SHA-256 over the chain name, position, previous hash and the row's content."""
    late = LATE_COLUMNS.get(chain, ())
    values = {k: v for k, v in values.items() if not (k in late and v is None)}
    payload = {
        "chain": chain,
        "seq": seq,
        "prev": prev_hash,
        "row": {k: _canonical(v) for k, v in sorted(values.items())},
    }
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _apply_defaults(target, table) -> None:
    """Python-side column defaults, filled now so that the hash covers the stored value."""
    for column in table.columns:
        if column.name in CHAIN_COLUMNS or column.name == "id" or column.default is None:
            continue
        key = column.key
        if getattr(target, key, None) is None and column.default.is_scalar:
            setattr(target, key, column.default.arg)
        elif getattr(target, key, None) is None and column.default.is_callable:
            setattr(target, key, column.default.arg(None))


def _head(session: Session, connection, chain: str) -> dict:
    """The chain head for this transaction, locked on first use (write lock on SQLite)."""
    heads = session.info.setdefault(_STATE_KEY, {})
    if chain not in heads:
        # The UPDATE takes the row lock (PostgreSQL) or the database write lock (SQLite)
        # before the head is read, so two transactions can never seal the same position.
        connection.execute(
            text("UPDATE chain_head SET seq = seq WHERE name = :name"), {"name": chain}
        )
        row = connection.execute(
            text("SELECT seq, last_hash FROM chain_head WHERE name = :name"), {"name": chain}
        ).one()
        heads[chain] = {"seq": row.seq, "last_hash": row.last_hash, "dirty": False}
    return heads[chain]


def _seal(mapper, connection, target) -> None:
    table = mapper.local_table
    session = Session.object_session(target)
    _apply_defaults(target, table)
    head = _head(session, connection, table.name)
    seq = head["seq"] + 1
    values = {
        name: getattr(target, mapper.get_property_by_column(table.c[name]).key)
        for name in content_columns(table)
    }
    target.seq = seq
    target.prev_hash = head["last_hash"]
    target.row_hash = row_hash(table.name, seq, head["last_hash"], values)
    head.update(seq=seq, last_hash=target.row_hash, dirty=True)


def _write_heads(session: Session, flush_context) -> None:
    for chain, head in session.info.get(_STATE_KEY, {}).items():
        if head["dirty"]:
            session.connection().execute(
                text("UPDATE chain_head SET seq = :seq, last_hash = :h WHERE name = :name"),
                {"seq": head["seq"], "h": head["last_hash"], "name": chain},
            )
            head["dirty"] = False


def _forget_heads(session: Session, *args) -> None:
    session.info.pop(_STATE_KEY, None)


def install() -> None:
    """Seal chained rows on insert (idempotent; called by the app factory)."""
    if getattr(install, "done", False):
        return
    for model in CHAINED.values():
        sa_event.listen(model, "before_insert", _seal)
    sa_event.listen(Session, "after_flush", _write_heads)
    for name in ("after_commit", "after_rollback", "after_soft_rollback"):
        sa_event.listen(Session, name, _forget_heads)
    install.done = True


@dataclass(frozen=True)
class ChainBreak:
    chain: str
    row_id: int | None
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"dòng id={self.row_id}, seq={self.seq}" if self.row_id is not None else "đầu chuỗi"
        return f"{CHAIN_LABELS[self.chain]} ({self.chain}), {where}: {self.problem}"


CHAIN_LABELS = {
    "event": "Lịch sử xử lý",
    "register_entry": "Sổ đăng ký văn bản đi",
    "archived_document": "Lưu trữ",
    "audit_log": "Nhật ký quản trị",
}


def check_chain(chain: str, connection=None) -> ChainBreak | None:
    """Recompute one chain from its first row; the first break found, or None when intact."""
    model = CHAINED[chain]
    table = model.__table__
    names = content_columns(table)
    connection = connection or db.session.connection()
    # Core, not the ORM: what is checked is what the database holds, read through the
    # column types only (so dates, times and JSON compare as they were sealed).
    rows = connection.execute(
        select(table)
        .order_by(table.c.seq.is_(None), table.c.seq, table.c.id)
        .execution_options(yield_per=1000)  # streamed: the history may be long
    ).mappings()
    expected_prev, expected_seq = GENESIS, 1
    for row in rows:
        if row["seq"] != expected_seq:
            return ChainBreak(chain, row["id"], row["seq"], f"số thứ tự phải là {expected_seq}")
        if row["prev_hash"] != expected_prev:
            return ChainBreak(chain, row["id"], row["seq"], "không nối với dòng trước")
        values = {name: row[name] for name in names}
        if row_hash(chain, row["seq"], row["prev_hash"], values) != row["row_hash"]:
            return ChainBreak(chain, row["id"], row["seq"], "nội dung đã bị sửa sau khi ghi")
        expected_prev, expected_seq = row["row_hash"], expected_seq + 1
    head = connection.execute(
        select(ChainHead.seq, ChainHead.last_hash).where(ChainHead.name == chain)
    ).one_or_none()
    if head is None or head.seq != expected_seq - 1 or head.last_hash != expected_prev:
        return ChainBreak(chain, None, None, "dòng cuối đã bị xóa hoặc đầu chuỗi bị sửa")
    return None


def check_chains(connection=None) -> list[ChainBreak]:
    """Every chain's first break (empty when the whole record is intact)."""
    return [b for chain in CHAINED if (b := check_chain(chain, connection)) is not None]
