"""Named operations on users and their bearer tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from epmjobs.errors import Conflict
from epmjobs.planning.application import name_key
from epmjobs.storage.database import Database
from epmjobs.storage.schema import tokens, user_grants, users


@dataclass(frozen=True)
class UserRecord:
    user_id: int
    username: str
    role: str
    password_hash: str | None


class UserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, username: str, role: str, password_hash: str | None, now: float) -> int:
        try:
            with self.db.transaction() as conn:
                return int(conn.execute(insert(users).values(
                    username=username, name_key=name_key(username), role=role,
                    password_hash=password_hash, created_at=now,
                ).returning(users.c.user_id)).scalar_one())
        except IntegrityError as exc:
            raise Conflict(f"A user named {username} already exists.") from exc

    def get(self, username: str) -> UserRecord | None:
        if "\x00" in username:  # no stored name holds a NUL (PostgreSQL refuses it)
            return None
        with self.db.reading() as conn:
            r = conn.execute(select(users).where(users.c.name_key == name_key(username))).first()
        return None if r is None else UserRecord(r.user_id, r.username, r.role, r.password_hash)

    def all(self) -> list[UserRecord]:
        with self.db.reading() as conn:
            rows = conn.execute(select(users).order_by(users.c.name_key)).all()
        return [UserRecord(r.user_id, r.username, r.role, r.password_hash) for r in rows]

    def count(self) -> int:
        with self.db.reading() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    def remove(self, username: str) -> bool:
        with self.db.transaction() as conn:
            result = conn.execute(delete(users).where(users.c.name_key == name_key(username)))
        return result.rowcount > 0

    def update(self, username: str, *, role: str | None = None,
               password_hash: str | None = None) -> bool:
        values: dict[str, str] = {}
        if role is not None:
            values["role"] = role
        if password_hash is not None:
            values["password_hash"] = password_hash
        if not values:
            return self.get(username) is not None
        with self.db.transaction() as conn:
            result = conn.execute(update(users).where(users.c.name_key == name_key(username))
                                  .values(**values))
        return result.rowcount > 0

    def add_token(self, user_id: int, token_hash: str, label: str, now: float,
                  expires_at: float | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(insert(tokens).values(token_hash=token_hash, user_id=user_id,
                                               label=label, created_at=now,
                                               expires_at=expires_at))

    def user_for_token(self, token_hash: str, now: float) -> UserRecord | None:
        with self.db.reading() as conn:
            r = conn.execute(
                select(users, tokens.c.expires_at)
                .select_from(tokens.join(users, users.c.user_id == tokens.c.user_id))
                .where(tokens.c.token_hash == token_hash)).first()
        if r is None or (r.expires_at is not None and r.expires_at < now):
            return None
        return UserRecord(r.user_id, r.username, r.role, r.password_hash)

    def grants(self, user_id: int) -> frozenset[str]:
        with self.db.reading() as conn:
            rows = conn.execute(select(user_grants.c.grant_name)
                                .where(user_grants.c.user_id == user_id)).all()
        return frozenset(r[0] for r in rows)

    def set_grant(self, user_id: int, grant: str, present: bool) -> None:
        with self.db.transaction() as conn:
            conn.execute(delete(user_grants).where(user_grants.c.user_id == user_id,
                                                   user_grants.c.grant_name == grant))
            if present:
                conn.execute(insert(user_grants).values(user_id=user_id, grant_name=grant))
