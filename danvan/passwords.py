"""Password policy for setting a password (change, create-user, admin reset; never at login)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from danvan.text import clean_line, fold

MIN_LENGTH = 10
MAX_LENGTH = 128  # hashing a megabyte-long password is work an attacker should not get for free
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"

TOO_SHORT = f"Mật khẩu phải có ít nhất {MIN_LENGTH} ký tự."
TOO_LONG = f"Mật khẩu không được dài quá {MAX_LENGTH} ký tự."
TOO_COMMON = (
    "Mật khẩu này quá phổ biến, dễ bị đoán (kể cả khi thêm số hoặc năm vào cuối); "
    "hãy chọn mật khẩu khác, ví dụ một câu ngắn dễ nhớ."
)
HAS_USERNAME = "Mật khẩu không được trùng với hoặc chứa tên đăng nhập."

_KEYBOARD_RUNS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def normalize_password(password: str) -> str:
    """The password as the forms pass it on (NFC, no control characters, ends trimmed)."""
    return clean_line(password) or ""


def _squeeze(text: str) -> str:
    """Lower case, without accents, spaces or symbols: "Mật khẩu!" → "matkhau"."""
    return re.sub(r"[\W_]", "", fold(text))


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, squeezed, with their digit-free stems."""
    words = set()
    for line in COMMON_PASSWORDS_FILE.read_text("utf-8").splitlines():
        word = _squeeze(line) if not line.startswith("#") else ""
        if word:
            words.add(word)
            stem = _stem(word)
            if len(stem) >= 4:
                words.add(stem)
    return frozenset(words)


def _stem(word: str) -> str:
    """A squeezed password without the digits people put around a word: a year, a short number
    or a run ("2023matkhau123456" → "matkhau"); long random digits stay."""
    head, core, tail = re.fullmatch(r"([0-9]*)(.*?)([0-9]*)", word).groups()
    if not core:
        return word
    head = "" if len(head) <= 4 or _is_trivial(head) else head
    tail = "" if len(tail) <= 4 or _is_trivial(tail) else tail
    return head + core + tail


def _is_trivial(word: str) -> bool:
    """One or two characters repeated, or a run along the alphabet, digits or keyboard."""
    if len(set(word)) <= 2:
        return True
    runs = [run * 3 for run in _KEYBOARD_RUNS]
    return any(word in run or word in run[::-1] for run in runs)


def is_common(password: str) -> bool:
    """Whether the password is trivial or on the list (ignoring case, accents, an added year)."""
    word = _squeeze(password)
    if not word:
        return True
    stem = _stem(word)
    common = common_passwords()
    return _is_trivial(word) or _is_trivial(stem) or word in common or stem in common


def contains_username(password: str, username: str | None) -> bool:
    """Whether the password equals or contains the username (also without dots and accents)."""
    if not username:
        return False
    plain, name = password.casefold(), username.strip().casefold()
    if name and name in plain:
        return True
    squeezed = _squeeze(username)
    return len(squeezed) >= 3 and squeezed in _squeeze(password)


def check_password_policy(password: str, username: str | None = None) -> list[str]:
    """The Vietnamese reasons the password may not be set; empty when it may."""
    password = normalize_password(password)
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(TOO_SHORT)
    if len(password) > MAX_LENGTH:
        problems.append(TOO_LONG)
    if is_common(password):
        problems.append(TOO_COMMON)
    if contains_username(password, username):
        problems.append(HAS_USERNAME)
    return problems
