"""Pick the limiter from the settings: Redis (with in-process failover) when a URL is given, else memory."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway.limits.base import DEFAULT_LEASE_S, Limiter
from gateway.limits.failover import FailoverLimiter
from gateway.limits.memory import MemoryLimiter
from gateway.limits.redis_limiter import DEFAULT_PREFIX, RedisLimiter


def redis_client(url: str, *, timeout_s: float = 0.5, max_connections: int = 64) -> Redis:
    """A client that fails fast: a limiter waiting seconds on a dead Redis would stall every request."""
    # A blocking pool makes a burst wait for a free connection; the default pool raises instead.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=2.0,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        # One immediate retry replaces a pooled connection that died with a restarted Redis.
        retry=Retry(NoBackoff(), 1),
    )
    return Redis.from_pool(pool)


def build_limiter(
    redis_url: str | None,
    *,
    lease_s: float = DEFAULT_LEASE_S,
    retry_interval_s: float = 1.0,
    prefix: str = DEFAULT_PREFIX,
) -> Limiter:
    """The limiter for this process. Nothing connects until the first call."""
    if not redis_url:
        return MemoryLimiter(lease_s=lease_s)
    primary = RedisLimiter(redis_client(redis_url), lease_s=lease_s, prefix=prefix)
    return FailoverLimiter(primary, MemoryLimiter(lease_s=lease_s), retry_interval_s=retry_interval_s)
