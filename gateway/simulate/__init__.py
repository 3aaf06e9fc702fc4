"""A simulated upstream speaking the OpenAI, Anthropic and vLLM wire formats, for tests and demos.

Not a provider: every response carries `x-simulated: true` and every log line says SIMULATED.

    sim = await start_simulator(config=SimConfig(openai_api_key="sk-test"))   # port 0 = any free port
    AsyncOpenAI(base_url=sim.url + "/openai/v1", api_key="sk-test")
    AsyncAnthropic(base_url=sim.url + "/anthropic", api_key=...)              # x-api-key or Bearer
    AsyncOpenAI(base_url=sim.url + "/vllm/v1", api_key=...)                   # model must be served_model
    await sim.close()

Control API (no auth; bind to loopback): GET|POST /sim/config (JSON merge of SimConfig fields),
GET|POST|DELETE /sim/faults (one Fault, a list, or {"faults": [...]}), GET|DELETE /sim/requests.

In-band markers, read from the last user message (or the last string input of an embeddings call):
[[sim:429]] [[sim:429=RETRY_AFTER_S]] [[sim:500]] [[sim:503]] [[sim:529]] [[sim:timeout]]
[[sim:drop_midstream]] [[sim:drop_midstream=K]] [[sim:malformed]] [[sim:latency=MS]] [[sim:tps=N]]
[[sim:tokens=N]]; any of them may end in @openai|@anthropic|@vllm (only that provider) and *N (only
the first N requests carrying this exact text). Markers are stripped from the echoed reply.
"""

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
