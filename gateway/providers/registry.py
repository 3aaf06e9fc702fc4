"""The configured targets: the `model` names a client may send, each bound to a provider and a price."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from gateway.accounting.prices import GpuHourPrice, Price, litellm_price
from gateway.config import Settings
from gateway.providers.anthropic import ANTHROPIC_VERSION, AnthropicProvider
from gateway.providers.base import Provider
from gateway.providers.http import UpstreamClient
from gateway.providers.openai_compat import OpenAICompatibleProvider

# Keys the in-process simulated upstreams accept; they guard nothing real.
SIM_KEYS = {"openai": "sim-openai-key", "anthropic": "sim-anthropic-key", "vllm": "sim-vllm-key"}


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    provider: Provider
    upstream_model: str
    price: Price | GpuHourPrice
    internal: bool
    context_window: int = 128_000
    capabilities: frozenset[str] = field(default_factory=frozenset)

    @property
    def simulated(self) -> bool:
        return self.provider.simulated


@dataclass(frozen=True, slots=True)
class UpstreamPlan:
    """Where each provider's calls go: a real base URL and key, or the simulated upstream."""

    openai: tuple[str, str | None, bool]
    anthropic: tuple[str, str | None, bool]
    vllm: tuple[str, str | None, bool]

    @property
    def needs_simulator(self) -> bool:
        return self.openai[2] or self.anthropic[2] or self.vllm[2]


def plan_upstreams(settings: Settings, sim_url: str | None) -> UpstreamPlan:
    def pick(
        kind: str, real_url: str | None, key: str | None, configured: bool
    ) -> tuple[str, str | None, bool]:
        simulate = settings.simulate == "always" or (settings.simulate == "auto" and not configured)
        if simulate:
            suffix = {"openai": "/openai/v1", "anthropic": "/anthropic", "vllm": "/vllm/v1"}[kind]
            return ((sim_url or "http://127.0.0.1:0") + suffix, SIM_KEYS[kind], True)
        return (real_url or "", key, False)

    return UpstreamPlan(
        openai=pick(
            "openai",
            settings.openai_base_url,
            settings.secret("openai_api_key"),
            bool(settings.openai_api_key),
        ),
        anthropic=pick(
            "anthropic",
            settings.anthropic_base_url,
            settings.secret("anthropic_api_key"),
            bool(settings.anthropic_api_key),
        ),
        vllm=pick(
            "vllm", settings.vllm_base_url, settings.secret("vllm_api_key"), bool(settings.vllm_base_url)
        ),
    )


def build_connections(settings: Settings, plan: UpstreamPlan) -> dict[str, Provider]:
    """One provider per kind a policy may name, each at the URL and key its settings give."""

    def client(url: str, headers: dict[str, str]) -> UpstreamClient:
        return UpstreamClient(
            url,
            headers=headers,
            connect_timeout_s=settings.upstream_connect_timeout_s,
            read_timeout_s=settings.upstream_timeout_s,
        )

    def bearer(key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"} if key else {}

    url, key, sim = plan.openai
    openai = OpenAICompatibleProvider(name="openai", client=client(url, bearer(key)), simulated=sim)
    url, key, sim = plan.anthropic
    anthropic = AnthropicProvider(
        name="anthropic",
        client=client(url, {"x-api-key": key or "", "anthropic-version": ANTHROPIC_VERSION}),
        simulated=sim,
    )
    url, key, sim = plan.vllm
    vllm = OpenAICompatibleProvider(name="vllm", kind="vllm", client=client(url, bearer(key)), simulated=sim)
    # "openai_compatible" targets are reached through the self-hosted (vLLM) connection.
    return {"openai": openai, "anthropic": anthropic, "vllm": vllm, "openai_compatible": vllm}


@dataclass(frozen=True, slots=True)
class EmbeddingTarget:
    name: str
    provider: Provider | None  # None: served by the local sentence-transformers model
    upstream_model: str
    price: Price
    dimensions: int | None = None

    @property
    def simulated(self) -> bool:
        return self.provider is not None and self.provider.simulated


def build_embedding_targets(
    settings: Settings, connections: dict[str, Provider]
) -> dict[str, EmbeddingTarget]:
    zero = Price(Decimal(0), Decimal(0))
    openai_provider = connections.get("openai")
    out = {
        settings.embedding_model: EmbeddingTarget(
            name=settings.embedding_model, provider=None, upstream_model=settings.embedding_model, price=zero
        )
    }
    if openai_provider is not None:
        name = "text-embedding-3-small"
        out[name] = EmbeddingTarget(
            name=name,
            provider=openai_provider,
            upstream_model=name,
            price=litellm_price(name, "openai") or zero,
        )
    return out
