"""Rate limits, concurrency and budgets per key, team and target, shared across replicas through Redis.

Call `admit` before a call and `settle` after it (always, errors included); see `base.Limiter`.
Semantics during a Redis outage are described in `failover`.
"""

from gateway.limits.base import Limiter
from gateway.limits.factory import build_limiter
from gateway.limits.failover import FailoverLimiter, LimiterHealth
from gateway.limits.headers import format_reset, ratelimit_headers
from gateway.limits.memory import MemoryLimiter
from gateway.limits.redis_limiter import RedisLimiter
from gateway.limits.results import Admission, BudgetState, LimitExceeded, LimitState
from gateway.limits.spec import BudgetSpec, LimitSpec

__all__ = [
    "Admission",
    "BudgetSpec",
    "BudgetState",
    "FailoverLimiter",
    "LimitExceeded",
    "LimitSpec",
    "LimitState",
    "Limiter",
    "LimiterHealth",
    "MemoryLimiter",
    "RedisLimiter",
    "build_limiter",
    "format_reset",
    "ratelimit_headers",
]
