"""Console settings (GATEWAY_UI_*): session lifetimes, cookie security and extra allowed origins."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """How long console sessions live and how their cookie is sent."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_UI_", env_file=".env", extra="ignore")

    # A session ends after this long without a console call (sliding) ...
    idle_timeout_s: float = Field(default=1800.0, gt=0)
    # ... and this long after sign-in whatever happens (absolute).
    absolute_timeout_s: float = Field(default=8 * 3600.0, gt=0)
    # "auto": Secure when the request arrived over https (scheme or a trusted X-Forwarded-Proto).
    secure_cookie: Literal["auto", "always", "never"] = "auto"
    # Honour X-Forwarded-Proto/-Host from a TLS-terminating proxy when deciding Secure and the own origin.
    trust_forwarded: bool = False
    # Origins besides the gateway's own that may make state-changing console calls (e.g. a proxy's name).
    allowed_origins: list[str] = Field(default_factory=list)
