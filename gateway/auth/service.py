"""Authentication: a hashed lookup in a memory cache that follows the database within a fraction of a second.

No request touches the database: the cache is loaded at start and refreshed incrementally in the background
(`GATEWAY_KEY_REFRESH_S`, 0.25 s by default), so a key revoked on any replica stops working everywhere
within about that interval, and a flood of bad keys costs nothing but a hash.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from gateway.auth.keys import ALL_SCOPES, KeyRecord, KeyRepository, hash_secret
from gateway.auth.principal import Principal
from gateway.errors import GatewayError
from gateway.storage.poller import Poller

log = logging.getLogger("gateway.auth")

MASTER_PRINCIPAL = Principal(
    key_id="master", name="master", team="admin", scopes=ALL_SCOPES, allowed_models=None, is_admin=True
)


def extract_secret(headers: Mapping[str, str]) -> str | None:
    """The presented key, from `Authorization: Bearer` or `x-api-key` (checked identically)."""
    bearer = None
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise GatewayError(401, "Authorization header must be 'Bearer <key>'", code="invalid_api_key")
        bearer = value.strip()
    api_key = headers.get("x-api-key")
    api_key = api_key.strip() if api_key else None
    if bearer and api_key and not hmac.compare_digest(bearer.encode(), api_key.encode()):
        raise GatewayError(401, "Authorization and x-api-key name different keys", code="invalid_api_key")
    return bearer or api_key


class AuthService:
    def __init__(self, repo: KeyRepository, *, master_key: str | None, refresh_interval_s: float) -> None:
        self._repo = repo
        self._master_hash = hash_secret(master_key) if master_key else None
        self._by_hash: dict[bytes, tuple[KeyRecord, Principal]] = {}
        self._by_id: dict[str, KeyRecord] = {}
        self._since: datetime | None = None
        self._poller = Poller("key-refresh", self.refresh, interval_s=refresh_interval_s)

    async def start(self) -> None:
        await self.refresh()
        self._poller.start()

    async def stop(self) -> None:
        await self._poller.stop()

    async def refresh(self) -> int:
        records, self._since = await self._repo.changed_since(self._since)
        for record in records:
            self.remember(record)
        return len(records)

    def remember(self, record: KeyRecord) -> None:
        old = self._by_id.get(record.id)
        if old is not None and old.key_hash != record.key_hash:
            self._by_hash.pop(old.key_hash, None)
        self._by_id[record.id] = record
        if record.active:
            try:
                principal = record.principal()
            except ValueError:
                log.error("key %s has invalid stored limits; refusing it until they are fixed", record.id)
                self._by_hash.pop(record.key_hash, None)
                return
            self._by_hash[record.key_hash] = (record, principal)
        else:
            self._by_hash.pop(record.key_hash, None)

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        return self.authenticate_sync(headers)

    def authenticate_sync(self, headers: Mapping[str, str]) -> Principal:
        secret = extract_secret(headers)
        if not secret:
            raise GatewayError(
                401,
                "No API key given: send 'Authorization: Bearer <key>' or 'x-api-key'",
                code="missing_api_key",
            )
        digest = hash_secret(secret)
        if self._master_hash is not None and hmac.compare_digest(digest, self._master_hash):
            return MASTER_PRINCIPAL
        entry = self._by_hash.get(digest)
        if entry is None or not hmac.compare_digest(entry[0].key_hash, digest):
            raise GatewayError(401, "Invalid API key", code="invalid_api_key")
        record, principal = entry
        if record.expires_at is not None and record.expires_at <= datetime.now(UTC):
            raise GatewayError(401, "API key expired", code="expired_api_key")
        return principal
