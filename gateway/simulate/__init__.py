"""A simulated upstream speaking the OpenAI, Anthropic and vLLM wire formats, for tests and demos."""

from gateway.simulate.config import Fault, SimConfig
from gateway.simulate.history import REDACTED, RecordedRequest
from gateway.simulate.server import SimServer, build_sim_app, run_simulator, start_simulator

__all__ = [
    "REDACTED",
    "Fault",
    "RecordedRequest",
    "SimConfig",
    "SimServer",
    "build_sim_app",
    "run_simulator",
    "start_simulator",
]
