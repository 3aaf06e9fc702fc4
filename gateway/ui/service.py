"""The console's collaborators, built once in the app's lifespan and kept on `app.state.console`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from starlette.types import ASGIApp

from gateway.accounting.reports import CostReports
from gateway.auth.keys import KeyRepository
from gateway.auth.service import AuthService
from gateway.storage.db import Database
from gateway.ui.forward import AdminForwarder
from gateway.ui.live import LiveView
from gateway.ui.sessions import Session, SessionStore
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
    static_dir: Path = STATIC_DIR

    async def still_admin(self, session: Session) -> bool:
        """The signed-in key may still use the console: not revoked, not expired, still admin."""
        if session.key_id == "master":
            return True
        record = await self.keys.get(session.key_id)
        if record is None or not record.active or not record.is_admin:
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
    )
