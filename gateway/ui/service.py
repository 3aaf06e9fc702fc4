"""The console's collaborators, built once in the app's lifespan and kept on `app.state.console`."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from starlette.types import ASGIApp

from gateway.accounting.reports import CostReports
from gateway.auth.keys import KeyRepository, hash_secret
from gateway.auth.service import AuthService
from gateway.storage.db import Database
from gateway.ui.forward import AdminForwarder
from gateway.ui.live import LiveView
from gateway.ui.sessions import Session, SessionStore, key_check_for
from gateway.ui.settings import ConsoleSettings

STATIC_DIR = Path(__file__).resolve().parent / "static"


@dataclass
class Console:
    settings: ConsoleSettings
    sessions: SessionStore
    forwarder: AdminForwarder
    live: LiveView
    auth: AuthService
    keys: KeyRepository
    cost_reports: CostReports
    master_check: bytes  # key_check_for() of the master key's hash
    static_dir: Path = STATIC_DIR

    async def still_admin(self, session: Session) -> bool:
        """The signed-in key may still use the console: the same key, not revoked or expired, still admin."""
        if session.key_id == "master":
            return hmac.compare_digest(session.key_check, self.master_check)
        record = await self.keys.get(session.key_id)
        if record is None or not record.active or not record.is_admin:
            return False
        if not hmac.compare_digest(session.key_check, key_check_for(record.key_hash)):
            return False
        return record.expires_at is None or record.expires_at > datetime.now(UTC)


def build_console(
    *,
    app: ASGIApp,
    db: Database,
    master_key: str,
    auth: AuthService,
    keys: KeyRepository,
    cost_reports: CostReports,
    settings: ConsoleSettings | None = None,
) -> Console:
    settings = settings or ConsoleSettings()
    return Console(
        settings=settings,
        sessions=SessionStore(
            db, idle_timeout_s=settings.idle_timeout_s, absolute_timeout_s=settings.absolute_timeout_s
        ),
        forwarder=AdminForwarder(app=app, master_key=master_key),
        live=LiveView(),
        auth=auth,
        keys=keys,
        cost_reports=cost_reports,
        master_check=key_check_for(hash_secret(master_key)),
    )
