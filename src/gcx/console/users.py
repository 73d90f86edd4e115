"""Local console users: a name, a role and an Argon2id password hash (argon2-cffi).

A disabled user cannot log in and counts as absent to every request; disabling, removing or
giving a user a new password ends their sessions (:mod:`gcx.console.sessions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update

from gcx.console.db import ConsoleDb, now_iso
from gcx.console.sessions import SessionStore
from gcx.errors import ConfigError

Role = Literal["viewer", "operator"]
ROLES: tuple[Role, ...] = ("viewer", "operator")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verifying an unknown user costs the same as a known one (no timing oracle on names).
_DUMMY_HASH = _hasher.hash("gcx-console-no-such-user")


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    disabled: bool = False

    @property
    def can_change(self) -> bool:
        return self.role == "operator"


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ConfigError(
            f"user name {name!r} is not allowed: 1-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str) -> Role:
    if role == "viewer":
        return "viewer"
    if role == "operator":
        return "operator"
    raise ConfigError(f"role must be viewer or operator, got {role!r}")


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


class UserStore:
    def __init__(self, db: ConsoleDb) -> None:
        self.db = db

    def add(self, name: str, role: str, password: str, *, replace: bool = False) -> User:
        check_name(name)
        r = check_role(role)
        check_password(password)
        hashed = _hasher.hash(password)
        t = self.db.users
        with self.db.engine.begin() as conn:
            exists = conn.execute(select(t.c.name).where(t.c.name == name)).first() is not None
            if exists and not replace:
                raise ConfigError(f"user {name!r} already exists (use --replace to reset it)")
            if exists:
                conn.execute(update(t).where(t.c.name == name).values(role=r, password_hash=hashed))
            else:
                conn.execute(insert(t).values(name=name, role=r, password_hash=hashed, created_at=now_iso()))
        if exists:  # a new password: whoever was logged in with the old one is out
            SessionStore(self.db).end_user(name, "password changed")
        return User(name, r)

    def remove(self, name: str) -> bool:
        t = self.db.users
        with self.db.engine.begin() as conn:
            gone = bool(conn.execute(delete(t).where(t.c.name == name)).rowcount)
        SessionStore(self.db).end_user(name, "user removed")
        return gone

    def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable (ending their sessions) or enable a user; False when there is no such user."""
        t = self.db.users
        with self.db.engine.begin() as conn:
            found = bool(conn.execute(update(t).where(t.c.name == name).values(disabled=disabled)).rowcount)
        if found and disabled:
            SessionStore(self.db).end_user(name, "user disabled")
        return found

    def get(self, name: str) -> User | None:
        """The user, or None when there is none or it is disabled."""
        t = self.db.users
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(t.c.name, t.c.role).where(t.c.name == name, t.c.disabled.is_(False))
            ).first()
        return User(str(row[0]), check_role(str(row[1]))) if row else None

    def list(self) -> list[User]:
        t = self.db.users
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(t.c.name, t.c.role, t.c.disabled).order_by(t.c.name)).all()
        return [User(str(n), check_role(str(r)), bool(d)) for n, r, d in rows]

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password matches, else None (same work either way)."""
        t = self.db.users
        with self.db.engine.connect() as conn:
            row = conn.execute(
                select(t.c.role, t.c.password_hash, t.c.disabled).where(t.c.name == name)
            ).first()
        stored = str(row[1]) if row else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row[2]:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.db.engine.begin() as conn:
                conn.execute(update(t).where(t.c.name == name).values(password_hash=_hasher.hash(password)))
        return User(name, check_role(str(row[0])))
