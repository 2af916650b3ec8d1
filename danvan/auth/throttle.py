"""Login throttling on atomic database counters, shared by every worker and app server.

Each attempt is counted *before* its password is checked (one INSERT … ON CONFLICT DO UPDATE …
RETURNING per key, see danvan/ratelimit.py), so parallel tries cannot all read the same count:
the N-th attempt of a window gets N back and exactly ``max_failures`` passwords are checked.
Unknown and inactive accounts are checked against a dummy hash so that a failure takes the same
time whether or not the account exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

from danvan import ratelimit
from danvan.models import User

# An address may try this many times more than one account (an office behind one NAT address).
ADDRESS_FACTOR = 4


@dataclass(frozen=True)
class AttemptCount:
    """This attempt's position in the current window, for its account and its address."""

    by_user: int
    by_addr: int

    def throttled(self, max_failures: int) -> bool:
        """Whether the attempt is over the limit: its password is then not checked."""
        return self.by_user > max_failures or self.by_addr > max_failures * ADDRESS_FACTOR


def _user_key(username: str) -> str:
    return f"login:user:{username}"


def _addr_key(remote_addr: str) -> str:
    return f"login:addr:{remote_addr}"


def count_attempt(username: str, remote_addr: str, *, window_s: int) -> AttemptCount:
    """Count one login attempt for the account and the address (atomically); commit soon after."""
    return AttemptCount(
        by_user=ratelimit.hit(_user_key(username), window_s=window_s),
        by_addr=ratelimit.hit(_addr_key(remote_addr), window_s=window_s),
    )


def forget_failures(username: str, remote_addr: str, *, window_s: int) -> None:
    """After a successful login: clear the account's count, give the address its attempt back."""
    ratelimit.reset(_user_key(username))
    ratelimit.hit(_addr_key(remote_addr), window_s=window_s, amount=-1)


@cache
def _dummy_hash() -> str:
    # Same method and cost as real hashes (werkzeug's default), computed once per process.
    return generate_password_hash("danvan-dummy-password-for-unknown-accounts")


def check_login(user: User | None, password: str) -> bool:
    """The password check, in the same time for unknown, inactive and real accounts."""
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password)
        return False
    return user.check_password(password)
