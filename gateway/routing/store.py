"""Versioned routing policies in PostgreSQL, served from memory and hot-reloaded on every process.

Every activation appends a version (text as submitted, who, when) and moves the name's active pointer in
one transaction that locks the pointer row, so concurrent edits are caught. Each process polls the
pointers (0.5 s by default) and swaps in changed policies; `active()` is a dictionary read.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg.rows import dict_row

from gateway.routing.loading import Format, check_policy_text
from gateway.routing.policy import Policy
from gateway.routing.problems import PolicyError
from gateway.routing.source_lines import parse_json, parse_yaml
from gateway.storage.db import Database
from gateway.storage.poller import Poller

log = logging.getLogger("gateway.routing.store")

DEFAULT_POLICY = "default"
DEFAULT_SEED_PATH = Path(__file__).resolve().parent.parent.parent / "router_policies" / "default.yaml"
SEED_AUTHOR = "seed"
ANY_VERSION: Literal["*"] = "*"

IfMatch = int | Literal["*"] | None


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One stored version of a policy: the text as submitted and who stored it when."""

    name: str
    version: int
    text: str
    format: Format
    sha256: str
    created_by: str | None
    created_at: datetime
    note: str | None

    def public(self, *, active_version: int | None = None) -> dict[str, Any]:
        """As the admin API lists it (without the text)."""
        return {
            "object": "policy.version",
            "name": self.name,
            "version": self.version,
            "format": self.format,
            "sha256": self.sha256,
            "bytes": len(self.text.encode("utf-8")),
            "created_by": self.created_by,
            "created_at": int(self.created_at.timestamp()),
            "note": self.note,
            "active": active_version == self.version if active_version is not None else None,
        }


@dataclass(frozen=True, slots=True)
class PolicyHead:
    """A policy name and its active version."""

    name: str
    active_version: int
    updated_at: datetime
    updated_by: str | None

    def public(self) -> dict[str, Any]:
        return {
            "object": "policy",
            "name": self.name,
            "active_version": self.active_version,
            "updated_at": int(self.updated_at.timestamp()),
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    """An active version and its parsed Policy, whose `version` field carries the version number."""

    record: PolicyVersion
    policy: Policy


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of apply/rollback: the active version, whether it is new, and the policy's warnings."""

    record: PolicyVersion
    created: bool
    new_name: bool
    warnings: list[PolicyError]


class PolicyNotFound(LookupError):
    """No such policy name (or version)."""


class PolicyInvalid(ValueError):
    """The text is not a valid policy; `problems` holds every error and warning with path and line."""

    def __init__(self, problems: list[PolicyError]) -> None:
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(f"{len(errors)} error(s): {errors[0] if errors else ''}")
        self.problems = problems


class PreconditionRequired(Exception):
    """The policy exists and the caller did not say which version it edits."""

    def __init__(self, current: int) -> None:
        super().__init__(f"policy exists at version {current}; say which version you edit")
        self.current = current


class VersionMismatch(Exception):
    """The caller edits a version that is no longer active (or a policy that does not exist)."""

    def __init__(self, expected: IfMatch, current: int | None) -> None:
        super().__init__(f"expected version {expected}, active is {current}")
        self.expected = expected
        self.current = current


class ConcurrentEdit(Exception):
    """Another writer created the same policy at the same moment."""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def check_named_policy(
    text: str, *, fmt: Format, name: str | None = None
) -> tuple[Policy | None, list[PolicyError]]:
    """check_policy_text(), plus: the document's `name` must equal the name it is stored under."""
    policy, problems = check_policy_text(text, fmt=fmt)
    if policy is not None and name is not None and policy.name != name:
        source = parse_yaml(text) if fmt == "yaml" else parse_json(text)
        problems = [
            PolicyError(
                "name",
                f"the document's name {policy.name!r} differs from the policy it is stored as ({name!r})",
                line=source.line_of(("name",)),
            ),
            *problems,
        ]
        policy = None
    return policy, sorted(problems, key=lambda p: p.severity != "error")


def _record(row: dict[str, Any]) -> PolicyVersion:
    return PolicyVersion(
        name=row["name"],
        version=row["version"],
        text=row["text"],
        format=row["format"],
        sha256=row["sha256"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        note=row["note"],
    )


_VERSION_COLUMNS = "name, version, text, format, sha256, created_by, created_at, note"


class PolicyStore:
    """Policy versions in PostgreSQL; the active ones in memory, following the database within ~0.5 s."""

    def __init__(
        self,
        db: Database,
        *,
        seed_path: Path | str | None = DEFAULT_SEED_PATH,
        refresh_interval_s: float = 0.5,
    ) -> None:
        self._db = db
        self._seed_path = Path(seed_path) if seed_path is not None else None
        self._active: dict[str, LoadedPolicy] = {}
        self._unloadable: set[tuple[str, int]] = set()
        self._poller = Poller("policy-refresh", self.refresh, interval_s=refresh_interval_s)

    # ---- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Seed `default` when no version of it exists, load every active policy, start polling."""
        await self.seed()
        await self.refresh()
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

    async def seed(self) -> bool:
        """Store the seed file as version 1 of `default` unless some version exists; True if it did."""
        if self._seed_path is None or not self._seed_path.exists():
            return False
        text = self._seed_path.read_text(encoding="utf-8")
        fmt: Format = "json" if self._seed_path.suffix.lower() == ".json" else "yaml"
        policy, problems = check_named_policy(text, fmt=fmt, name=DEFAULT_POLICY)
        if policy is None:
            log.error("seed policy %s is invalid: %s", self._seed_path, "; ".join(map(str, problems)))
            return False
        note = f"seeded from {self._seed_path.name}"
        async with self._db.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO policy_versions (name, version, text, format, sha256, created_by, note)"
                " VALUES (%s, 1, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (DEFAULT_POLICY, text, fmt, sha256_hex(text), SEED_AUTHOR, note),
            )
            if cur.rowcount != 1:
                return False
            await conn.execute(
                "INSERT INTO policies (name, active_version, updated_by) VALUES (%s, 1, %s)"
                " ON CONFLICT DO NOTHING",
                (DEFAULT_POLICY, SEED_AUTHOR),
            )
        log.info("seeded policy %r from %s", DEFAULT_POLICY, self._seed_path)
        return True

    # ---- the hot path: memory only ---------------------------------------------------------------------

    def active(self, name: str = DEFAULT_POLICY) -> Policy:
        """The active Policy of `name` (its `version` field is the version number as a string)."""
        try:
            return self._active[name].policy
        except KeyError:
            raise PolicyNotFound(f"no active policy named {name!r}") from None

    def loaded(self, name: str = DEFAULT_POLICY) -> LoadedPolicy | None:
        """The active version's record and Policy, as this process serves them."""
        return self._active.get(name)

    def names(self) -> list[str]:
        return sorted(self._active)

    # ---- following the database ------------------------------------------------------------------------

    async def refresh(self) -> list[str]:
        """Load policies whose active version changed since the last look; returns their names."""
        async with self._db.pool.connection() as conn:
            cur = await conn.cursor(row_factory=dict_row).execute(
                "SELECT name, active_version, updated_at, updated_by FROM policies"
            )
            heads = [PolicyHead(**row) for row in await cur.fetchall()]
            stale = [
                h
                for h in heads
                if (loaded := self._active.get(h.name)) is None or loaded.record.version < h.active_version
            ]
            stale = [h for h in stale if (h.name, h.active_version) not in self._unloadable]
            records: list[PolicyVersion] = []
            if stale:
                cur = await conn.cursor(row_factory=dict_row).execute(
                    f"SELECT {_VERSION_COLUMNS} FROM policy_versions"
                    " WHERE (name, version) IN (SELECT * FROM unnest(%s::text[], %s::int[]))",
                    ([h.name for h in stale], [h.active_version for h in stale]),
                )
                records = [_record(row) for row in await cur.fetchall()]
            changed = [r.name for r in records if await self._load(r)]
            for head in stale:
                if head.name not in self._active and await self._serve_last_loadable(conn, head):
                    changed.append(head.name)
        return changed

    async def _serve_last_loadable(self, conn: AsyncConnection[Any], head: PolicyHead) -> bool:
        """Nothing served yet and the active version will not load (a fresh process): serve the newest
        earlier version that does, rather than no policy at all."""
        cur = await conn.cursor(row_factory=dict_row).execute(
            f"SELECT {_VERSION_COLUMNS} FROM policy_versions WHERE name = %s AND version < %s"
            " ORDER BY version DESC LIMIT 20",
            (head.name, head.active_version),
        )
        for row in await cur.fetchall():
            if await self._load(_record(row)):
                log.warning("policy %r: serving version %d instead", head.name, row["version"])
                return True
        return False

    async def _load(self, record: PolicyVersion) -> bool:
        """Parse a stored version off the event loop (a large policy takes milliseconds), then install it."""
        if not self._is_newer(record):
            return False
        policy, problems = await asyncio.to_thread(
            check_named_policy, record.text, fmt=record.format, name=record.name
        )
        return self._install(record, policy, problems)

    def _is_newer(self, record: PolicyVersion) -> bool:
        current = self._active.get(record.name)
        return current is None or current.record.version < record.version

    def _install(self, record: PolicyVersion, policy: Policy | None, problems: list[PolicyError]) -> bool:
        """Swap in a newer active version; an older one (a slower poll racing a write) is ignored."""
        if not self._is_newer(record):
            return False
        if policy is None:
            # Stored valid, invalid now (e.g. a stricter schema after an upgrade): keep serving the last one.
            self._unloadable.add((record.name, record.version))
            log.error(
                "policy %r version %d no longer loads; still serving the previous one: %s",
                record.name,
                record.version,
                "; ".join(map(str, problems)),
            )
            return False
        served = policy.model_copy(update={"version": str(record.version)})
        self._active[record.name] = LoadedPolicy(record=record, policy=served)
        log.info("policy %r version %d active", record.name, record.version)
        return True

    # ---- reading history -------------------------------------------------------------------------------

    async def heads(self) -> list[PolicyHead]:
        """Every policy name with its active version, from the database."""
        async with self._db.pool.connection() as conn:
            cur = await conn.cursor(row_factory=dict_row).execute(
                "SELECT name, active_version, updated_at, updated_by FROM policies ORDER BY name"
            )
            return [PolicyHead(**row) for row in await cur.fetchall()]

    async def head(self, name: str) -> PolicyHead | None:
        async with self._db.pool.connection() as conn:
            cur = await conn.cursor(row_factory=dict_row).execute(
                "SELECT name, active_version, updated_at, updated_by FROM policies WHERE name = %s", (name,)
            )
            row = await cur.fetchone()
        return PolicyHead(**row) if row else None

    async def current(self, name: str) -> PolicyVersion | None:
        """The active version of `name`, read from the database (not the in-memory copy)."""
        async with self._db.pool.connection() as conn:
            cur = await conn.cursor(row_factory=dict_row).execute(
                f"SELECT {', '.join('v.' + c for c in _VERSION_COLUMNS.split(', '))}"
                " FROM policies p JOIN policy_versions v ON v.name = p.name AND v.version = p.active_version"
                " WHERE p.name = %s",
                (name,),
            )
            row = await cur.fetchone()
        return _record(row) if row else None

    async def version(self, name: str, version: int) -> PolicyVersion | None:
        async with self._db.pool.connection() as conn:
            cur = await conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_VERSION_COLUMNS} FROM policy_versions WHERE name = %s AND version = %s",
                (name, version),
            )
            row = await cur.fetchone()
        return _record(row) if row else None

    async def versions(self, name: str, *, limit: int = 100) -> list[PolicyVersion]:
        """The newest `limit` versions of `name`, newest first."""
        async with self._db.pool.connection() as conn:
            cur = await conn.cursor(row_factory=dict_row).execute(
                f"SELECT {_VERSION_COLUMNS} FROM policy_versions WHERE name = %s"
                " ORDER BY version DESC LIMIT %s",
                (name, limit),
            )
            return [_record(row) for row in await cur.fetchall()]

    # ---- writing ---------------------------------------------------------------------------------------

    async def apply(
        self,
        name: str,
        text: str,
        *,
        fmt: Format,
        if_match: IfMatch,
        created_by: str | None,
        note: str | None = None,
    ) -> Applied:
        """Validate and activate `text` as a new version of `name`, atomically.

        if_match: the version the caller edits, "*" for any existing one, None to create a new name.
        Raises PolicyInvalid, PreconditionRequired, VersionMismatch or ConcurrentEdit; nothing is stored then.
        """
        policy, problems = await asyncio.to_thread(check_named_policy, text, fmt=fmt, name=name)
        if policy is None:
            raise PolicyInvalid(problems)
        warnings = [p for p in problems if p.severity == "warning"]
        digest = sha256_hex(text)
        try:
            async with self._db.pool.connection() as conn, conn.transaction():
                current = await self._lock_current(conn, name)
                _check_precondition(if_match, current.version if current else None)
                if current is not None and current.sha256 == digest and current.format == fmt:
                    record, created = current, False  # the same text again: nothing to store
                else:
                    record, created = (
                        await self._append(conn, name, text, fmt, digest, created_by, note, after=current),
                        True,
                    )
        except UniqueViolation:
            raise ConcurrentEdit(
                f"policy {name!r} was created by another writer at the same moment"
            ) from None
        self._install(record, policy, problems)
        return Applied(record=record, created=created, new_name=current is None, warnings=warnings)

    async def rollback(
        self, name: str, version: int, *, created_by: str | None, if_match: IfMatch = ANY_VERSION
    ) -> Applied:
        """Activate a copy of an old version as a new version (history stays append-only)."""
        old = await self.version(name, version)
        if old is None:
            raise PolicyNotFound(f"policy {name!r} has no version {version}")
        return await self.apply(
            name,
            old.text,
            fmt=old.format,
            if_match=if_match,
            created_by=created_by,
            note=f"rollback to version {version}",
        )

    @staticmethod
    async def _lock_current(conn: AsyncConnection[Any], name: str) -> PolicyVersion | None:
        """The active version, with its pointer row locked until the transaction ends."""
        # Lock first, then read the version in a second statement: in READ COMMITTED that statement sees
        # a pointer moved by a writer we waited for (a locking join would re-check only the pointer row).
        cur = await conn.execute("SELECT active_version FROM policies WHERE name = %s FOR UPDATE", (name,))
        pointer = await cur.fetchone()
        if pointer is None:
            return None
        cur2 = await conn.cursor(row_factory=dict_row).execute(
            f"SELECT {_VERSION_COLUMNS} FROM policy_versions WHERE name = %s AND version = %s",
            (name, pointer[0]),
        )
        row = await cur2.fetchone()
        assert row is not None  # the foreign key guarantees it
        return _record(row)

    @staticmethod
    async def _append(
        conn: AsyncConnection[Any],
        name: str,
        text: str,
        fmt: Format,
        digest: str,
        created_by: str | None,
        note: str | None,
        *,
        after: PolicyVersion | None,
    ) -> PolicyVersion:
        """Store the next version and point at it. `after` is the locked active version; None creates the
        name as version 1, so a concurrent creator collides on the primary key instead of appending."""
        cur = await conn.cursor(row_factory=dict_row).execute(
            "INSERT INTO policy_versions (name, version, text, format, sha256, created_by, note)"
            " SELECT %s, CASE WHEN %s THEN COALESCE(MAX(version), 0) + 1 ELSE 1 END, %s, %s, %s, %s, %s"
            " FROM policy_versions WHERE name = %s"
            f" RETURNING {_VERSION_COLUMNS}",
            (name, after is not None, text, fmt, digest, created_by, note, name),
        )
        row = await cur.fetchone()
        assert row is not None
        record = _record(row)
        if after is None:
            await conn.execute(
                "INSERT INTO policies (name, active_version, updated_by) VALUES (%s, %s, %s)",
                (name, record.version, created_by),
            )
        else:
            await conn.execute(
                "UPDATE policies SET active_version = %s, updated_at = clock_timestamp(), updated_by = %s"
                " WHERE name = %s",
                (record.version, created_by, name),
            )
        return record


def _check_precondition(if_match: IfMatch, current: int | None) -> None:
    if current is None:
        if if_match is not None:
            raise VersionMismatch(if_match, None)
        return
    if if_match is None:
        raise PreconditionRequired(current)
    if if_match != ANY_VERSION and if_match != current:
        raise VersionMismatch(if_match, current)
