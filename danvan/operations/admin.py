"""Administration: the agency, its units and the user accounts; every change is audit-logged.

Operations take ``actor`` (an administrator), flush and never commit. Users are never deleted:
their names stay in the history; an account that is no longer used is deactivated.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from sqlalchemy import func, select

from danvan import audit
from danvan.auth.sessions import end_all_sessions
from danvan.extensions import db
from danvan.models import Agency, Role, Unit, User, UserRole
from danvan.operations import Invalid, NotAllowed
from danvan.passwords import check_password_policy, normalize_password
from danvan.text import clean_line, fold

AGENCY_FIELDS = (
    "name",
    "full_name",
    "parent_name",
    "abbreviation",
    "place_name",
    "organ_id",
    "default_signer_id",
)
UNIT_FIELDS = ("name", "abbreviation", "is_office", "position", "active")
USER_FIELDS = (
    "username",
    "full_name",
    "email",
    "position_title",
    "unit_id",
    "active",
    "must_change_password",
    "roles",
)

# Mã định danh of QCVN 102:2016 (e.g. 000.00.31.H23).
ORGAN_ID = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
ORGAN_ID_MESSAGE = (
    "Mã định danh phải có dạng 000.00.31.H23 (theo QCVN 102:2016): ba chữ số, hai chữ số, "
    "hai chữ số và một chữ cái in hoa kèm hai chữ số, ngăn cách bằng dấu chấm."
)
USERNAME = re.compile(r"^[\w.@-]{3,80}$")
USERNAME_MESSAGE = (
    "Tên đăng nhập gồm 3 đến 80 ký tự: chữ, số và các dấu . _ - @, không có khoảng trắng "
    "(ví dụ nguyen.van.a)."
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
EMAIL_MESSAGE = "Địa chỉ thư điện tử không hợp lệ (ví dụ nguyenvana@hanam.gov.vn)."
ABBREVIATION = re.compile(r"^[\w.-]{1,20}$")
ABBREVIATION_MESSAGE = "Ký hiệu gồm chữ, số, dấu chấm hoặc gạch ngang, không có khoảng trắng."

SIGNER_ROLES = (Role.DIRECTOR, Role.DEPUTY_DIRECTOR)
# Roles that only make sense inside a unit, and those that belong to Văn phòng.
UNIT_ROLES = (Role.STAFF, Role.UNIT_HEAD)
OFFICE_ROLES = (Role.OFFICE, Role.OFFICE_CHIEF)

# Readable temporary passwords: no 0/O, 1/l/I.
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def require_admin(actor: User) -> None:
    """Refuse anyone but an administrator."""
    if actor is None or not actor.has_role(Role.ADMIN):
        raise NotAllowed("Chỉ Quản trị hệ thống mới được thực hiện thao tác này.")


def _line(value) -> str:
    return clean_line(value) if isinstance(value, str) else ""


def _required(fields: dict, labels: dict[str, str], errors: dict[str, str]) -> dict:
    """The text fields cleaned; a message for each required one left empty."""
    values = {}
    for name, label in labels.items():
        values[name] = _line(fields.get(name))
        if not values[name]:
            errors[name] = f"Vui lòng nhập {label}."
    return values


def _refuse(errors: dict[str, str], what: str) -> None:
    if errors:
        first = next(iter(errors.values()))
        raise Invalid(f"Chưa lưu được {what}: {first}", errors=errors)


def user_snapshot(user: User) -> dict:
    """What the log keeps of an account (never the password or its hash)."""
    data = audit.snapshot(user, USER_FIELDS)
    data["roles"] = sorted(r.value for r in user.roles)
    return data


def user_name(user: User) -> str:
    """How summaries name an account: "Nguyễn Văn A (nguyen.van.a)"."""
    return f"{user.full_name} ({user.username})"


# --- Agency -------------------------------------------------------------------------------


def update_agency(agency: Agency, *, actor: User, fields: dict) -> bool:
    """Change the agency's names, code, place, mã định danh and default signer; True if any."""
    require_admin(actor)
    errors: dict[str, str] = {}
    values = _required(
        fields,
        {
            "name": "tên cơ quan",
            "full_name": "tên đầy đủ",
            "parent_name": "cơ quan chủ quản",
            "abbreviation": "ký hiệu cơ quan",
            "place_name": "địa danh",
        },
        errors,
    )
    if values["abbreviation"] and not ABBREVIATION.match(values["abbreviation"]):
        errors["abbreviation"] = ABBREVIATION_MESSAGE
    organ_id = _line(fields.get("organ_id")).upper() or None
    if organ_id and not ORGAN_ID.match(organ_id):
        errors["organ_id"] = ORGAN_ID_MESSAGE
    signer_id = fields.get("default_signer_id") or None
    if signer_id is not None:
        signer = db.session.get(User, signer_id)
        if signer is None or not signer.active or not signer.has_role(*SIGNER_ROLES):
            errors["default_signer_id"] = (
                "Người ký mặc định phải là Giám đốc hoặc Phó Giám đốc đang hoạt động."
            )
    _refuse(errors, "thông tin cơ quan")
    before = audit.snapshot(agency, AGENCY_FIELDS)
    for name, value in {**values, "organ_id": organ_id, "default_signer_id": signer_id}.items():
        setattr(agency, name, value)
    after = audit.snapshot(agency, AGENCY_FIELDS)
    if not audit.changed(before, after):
        return False
    audit.record(
        actor, "agency", agency.id, "update", f"Sửa thông tin cơ quan {agency.full_name}",
        before=before, after=after,
    )  # fmt: skip
    db.session.flush()
    return True


# --- Units --------------------------------------------------------------------------------


def active_member_count(unit: Unit) -> int:
    """How many active accounts belong to the unit."""
    return db.session.scalar(
        select(func.count(User.id)).where(User.unit_id == unit.id, User.active.is_(True))
    )


def _unit_values(agency: Agency, fields: dict, unit: Unit | None) -> tuple[dict, dict]:
    errors: dict[str, str] = {}
    values = _required(fields, {"name": "tên đơn vị", "abbreviation": "ký hiệu đơn vị"}, errors)
    abbreviation = values["abbreviation"]
    if abbreviation and not ABBREVIATION.match(abbreviation):
        errors["abbreviation"] = ABBREVIATION_MESSAGE
    elif abbreviation:
        same = select(Unit).where(
            Unit.agency_id == agency.id, func.lower(Unit.abbreviation) == abbreviation.lower()
        )
        other = db.session.scalar(same.where(Unit.id != unit.id) if unit else same)
        if other is not None:
            errors["abbreviation"] = f"Ký hiệu {abbreviation} đã được dùng cho {other.name}."
    position = fields.get("position")
    values["position"] = int(position) if position is not None else (unit.position if unit else 0)
    values["is_office"] = bool(fields.get("is_office"))
    values["active"] = bool(fields.get("active", True))
    return values, errors


def _office_of(agency: Agency) -> Unit | None:
    return db.session.scalar(
        select(Unit).where(Unit.agency_id == agency.id, Unit.is_office.is_(True)).limit(1)
    )


def _move_office_flag(agency: Agency, to: Unit, actor: User) -> None:
    """Văn phòng is one unit: flagging another one takes the flag from the previous one."""
    previous = _office_of(agency)
    if previous is None or previous.id == to.id:
        return
    before = audit.snapshot(previous, UNIT_FIELDS)
    previous.is_office = False
    audit.record(
        actor, "unit", previous.id, "update",
        f"Bỏ đánh dấu Văn phòng của {previous.name} (chuyển sang {to.name})",
        before=before, after=audit.snapshot(previous, UNIT_FIELDS),
    )  # fmt: skip


def create_unit(agency: Agency, *, actor: User, fields: dict) -> Unit:
    """Add a unit (phòng, đơn vị) to the agency."""
    require_admin(actor)
    values, errors = _unit_values(agency, fields, None)
    if values["is_office"] and not values["active"]:
        errors["active"] = "Đơn vị Văn phòng phải đang hoạt động."
    _refuse(errors, "đơn vị")
    if "position" not in fields or fields.get("position") is None:
        top = db.session.scalar(select(func.max(Unit.position)).where(Unit.agency_id == agency.id))
        values["position"] = (top or 0) + 1
    unit = Unit(agency_id=agency.id, **{**values, "is_office": False})
    db.session.add(unit)
    db.session.flush()
    if values["is_office"]:
        _move_office_flag(agency, unit, actor)
        unit.is_office = True
    audit.record(
        actor, "unit", unit.id, "create", f"Tạo đơn vị {unit.name} ({unit.abbreviation})",
        after=audit.snapshot(unit, UNIT_FIELDS),
    )  # fmt: skip
    db.session.flush()
    return unit


def update_unit(unit: Unit, *, actor: User, fields: dict) -> bool:
    """Rename, reorder, flag as Văn phòng or (de)activate a unit; True if anything changed."""
    require_admin(actor)
    agency = db.session.get(Agency, unit.agency_id)
    values, errors = _unit_values(agency, fields, unit)
    if unit.is_office and not values["is_office"]:
        errors["is_office"] = (
            "Cơ quan phải có đúng một đơn vị Văn phòng: hãy đánh dấu Văn phòng cho đơn vị "
            "khác (cờ sẽ tự chuyển sang đó)."
        )
    if values["is_office"] and not values["active"]:
        errors["active"] = "Không thể ngừng hoạt động đơn vị Văn phòng."
    if unit.active and not values["active"]:
        members = active_member_count(unit)
        if members:
            errors["active"] = (
                f"Không thể ngừng hoạt động {unit.name}: đơn vị còn {members} người dùng đang "
                "hoạt động. Hãy chuyển họ sang đơn vị khác hoặc ngừng hoạt động tài khoản trước."
            )
    _refuse(errors, "đơn vị")
    before = audit.snapshot(unit, UNIT_FIELDS)
    if values["is_office"] and not unit.is_office:
        _move_office_flag(agency, unit, actor)
    for name, value in values.items():
        setattr(unit, name, value)
    after = audit.snapshot(unit, UNIT_FIELDS)
    diff = audit.changed(before, after)
    if not diff:
        return False
    action = "deactivate" if "active" in diff and not unit.active else "update"
    if set(diff) == {"active"}:
        verb = "Ngừng hoạt động" if not unit.active else "Kích hoạt lại"
        summary = f"{verb} đơn vị {unit.name}"
    else:
        summary = f"Sửa đơn vị {unit.name}"
    audit.record(actor, "unit", unit.id, action, summary, before=before, after=after)
    db.session.flush()
    return True


# --- Users --------------------------------------------------------------------------------


def normalize_username(username: str | None) -> str:
    """What the login form compares: NFC, no control characters, trimmed, lower case."""
    return (clean_line(username) or "").lower()


def generate_temporary_password(username: str | None = None) -> str:
    """A random password to read out or copy ("k7mq-x3tp-9hra"), meeting the policy."""
    while True:
        groups = ["".join(secrets.choice(_TEMP_ALPHABET) for _ in range(4)) for _ in range(3)]
        password = "-".join(groups)
        if not check_password_policy(password, username):
            return password


def _roles(values: Iterable) -> set[Role]:
    roles = set()
    for value in values or ():
        try:
            roles.add(Role(value))
        except ValueError:
            message = "Vai trò không hợp lệ."
            raise Invalid(message, errors={"roles": message}) from None
    return roles


def _check_profile(fields: dict, errors: dict[str, str]) -> dict:
    values = _required(fields, {"full_name": "họ tên"}, errors)
    values["email"] = _line(fields.get("email")) or None
    if values["email"] and not EMAIL.match(values["email"]):
        errors["email"] = EMAIL_MESSAGE
    values["position_title"] = _line(fields.get("position_title")) or None
    return values


def _check_unit_and_roles(unit: Unit | None, roles: set[Role], errors: dict[str, str]) -> None:
    if not roles:
        errors["roles"] = "Vui lòng chọn ít nhất một vai trò."
    if unit is None:
        needing = [r.label for r in UNIT_ROLES + OFFICE_ROLES if r in roles]
        if needing:
            errors["unit_id"] = f"Vai trò {', '.join(needing)} phải thuộc một đơn vị."
        return
    if not unit.active:
        errors["unit_id"] = f"{unit.name} đã ngừng hoạt động; hãy chọn đơn vị khác."
    elif not unit.is_office:
        office_roles = [r.label for r in OFFICE_ROLES if r in roles]
        if office_roles:
            errors["unit_id"] = f"Vai trò {', '.join(office_roles)} phải thuộc Văn phòng."


def _username_problem(username: str) -> str | None:
    if not USERNAME.match(username):
        return USERNAME_MESSAGE
    folded = fold(username)
    for (existing,) in db.session.execute(select(User.username)):
        if existing.lower() == username:
            return f"Tên đăng nhập {username} đã có."
        if fold(existing) == folded:
            return f"Đã có tên đăng nhập {existing} gần giống (chỉ khác dấu); hãy chọn tên khác."
    return None


def create_user(
    *,
    actor: User,
    fields: dict,
    roles: Iterable,
    unit: Unit | None = None,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Open an account; without a password a temporary one is made and returned (shown once).

    Either way the person must choose their own password at the first login."""
    require_admin(actor)
    errors: dict[str, str] = {}
    username = normalize_username(fields.get("username"))
    if not username:
        errors["username"] = "Vui lòng nhập tên đăng nhập."
    elif problem := _username_problem(username):
        errors["username"] = problem
    values = _check_profile(fields, errors)
    wanted = _roles(roles)
    _check_unit_and_roles(unit, wanted, errors)
    temporary = None
    if password:
        password = normalize_password(password)
        problems = check_password_policy(password, username)
        if problems:
            errors["password"] = " ".join(problems)
    else:
        password = temporary = generate_temporary_password(username)
    _refuse(errors, "tài khoản")
    user = User(
        username=username,
        unit_id=unit.id if unit else None,
        active=True,
        must_change_password=True,
        **values,
    )
    user.set_password(password)
    user.role_rows = [UserRole(role=r.value) for r in sorted(wanted, key=list(Role).index)]
    db.session.add(user)
    db.session.flush()
    audit.record(
        actor, "user", user.id, "create", f"Tạo tài khoản {user_name(user)}",
        after=user_snapshot(user),
    )  # fmt: skip
    db.session.flush()
    return user, temporary


def _check_signer_kept(
    user: User, keeps_signing: bool, errors: dict[str, str], key: str = "roles"
) -> None:
    if keeps_signing:
        return
    agency = db.session.scalar(select(Agency).where(Agency.default_signer_id == user.id).limit(1))
    if agency is not None:
        errors[key] = (
            f"{user.full_name} đang là người ký mặc định của cơ quan; hãy chọn người ký mặc "
            "định khác ở trang Cơ quan trước."
        )


def update_user(
    user: User, *, actor: User, fields: dict, roles: Iterable, unit: Unit | None
) -> bool:
    """Change an account's name, e-mail, position, unit, roles and active flag; True if any."""
    require_admin(actor)
    errors: dict[str, str] = {}
    values = _check_profile(fields, errors)
    wanted = _roles(roles)
    active = bool(fields.get("active", user.active))
    keeps_unit = unit is not None and unit.id == user.unit_id
    _check_unit_and_roles(unit, wanted, errors)
    if keeps_unit and "unit_id" in errors and not unit.active and not user.active:
        del errors["unit_id"]  # an inactive account may stay in an inactive unit
    if user.id == actor.id:
        if Role.ADMIN not in wanted:
            errors["roles"] = "Bạn không thể tự bỏ vai trò Quản trị hệ thống của chính mình."
        if not active:
            errors["active"] = "Bạn không thể tự ngừng hoạt động tài khoản của chính mình."
    _check_signer_kept(user, active, errors, "active")
    _check_signer_kept(user, bool(wanted & set(SIGNER_ROLES)), errors)
    _refuse(errors, "tài khoản")
    before = user_snapshot(user)
    for name, value in values.items():
        setattr(user, name, value)
    user.unit_id = unit.id if unit else None
    user.unit = unit
    current = {row.role: row for row in user.role_rows}
    user.role_rows = [
        current.get(r.value) or UserRole(role=r.value) for r in sorted(wanted, key=list(Role).index)
    ]
    ended = 0
    if user.active and not active:
        ended = end_all_sessions(user)
    user.active = active
    after = user_snapshot(user)
    if not audit.changed(before, after):
        return False
    summary = f"Sửa tài khoản {user_name(user)}"
    if before["active"] != after["active"]:
        summary += (
            f"; ngừng hoạt động, kết thúc {ended} phiên đăng nhập" if not active
            else "; kích hoạt lại"
        )  # fmt: skip
    action = "deactivate" if before["active"] and not active else "update"
    audit.record(actor, "user", user.id, action, summary, before=before, after=after)
    db.session.flush()
    return True


def reset_password(user: User, *, actor: User) -> str:
    """Give the account a temporary password (returned, shown once), end its sessions and make
    the person choose a new password at the next login."""
    require_admin(actor)
    if user.id == actor.id:
        raise Invalid("Hãy đổi mật khẩu của chính bạn ở trang Đổi mật khẩu.")
    if not user.active:
        raise Invalid(
            f"Tài khoản {user_name(user)} đã ngừng hoạt động; hãy kích hoạt lại trước khi đặt "
            "lại mật khẩu."
        )
    before = user_snapshot(user)
    temporary = generate_temporary_password(user.username)
    user.set_password(temporary)
    user.must_change_password = True
    ended = end_all_sessions(user)
    audit.record(
        actor, "user", user.id, "reset_password",
        f"Đặt lại mật khẩu tài khoản {user_name(user)}; kết thúc {ended} phiên đăng nhập",
        before=before, after=user_snapshot(user),
    )  # fmt: skip
    db.session.flush()
    return temporary


def deactivate_user(user: User, *, actor: User) -> int:
    """Lock the account and end all its sessions at once (it is never deleted); return how many
    sessions ended."""
    require_admin(actor)
    if user.id == actor.id:
        raise Invalid("Bạn không thể tự ngừng hoạt động tài khoản của chính mình.")
    if not user.active:
        raise Invalid(f"Tài khoản {user_name(user)} đã ngừng hoạt động từ trước.")
    errors: dict[str, str] = {}
    _check_signer_kept(user, False, errors, "active")
    if errors:
        raise Invalid(errors["active"], errors=errors)
    before = user_snapshot(user)
    user.active = False
    ended = end_all_sessions(user)
    audit.record(
        actor, "user", user.id, "deactivate",
        f"Ngừng hoạt động tài khoản {user_name(user)}; kết thúc {ended} phiên đăng nhập",
        before=before, after=user_snapshot(user),
    )  # fmt: skip
    db.session.flush()
    return ended
