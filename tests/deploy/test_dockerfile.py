"""Dockerfile lint by parsing (no engine here), and its HEALTHCHECK run against a real gateway."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.config import Settings
from tests.deploy.deploy_files import REPO
from tests.support import Gateway, free_port

SECRET_WORDS = re.compile(r"KEY|PASSWORD|TOKEN|SECRET|CREDENTIAL", re.I)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions with line continuations joined and comments dropped."""
    joined, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        joined.append(pending + line)
        pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    parsed = []
    for line in joined:
        keyword, _, args = line.partition(" ")
        parsed.append(Instruction(keyword.upper(), args.strip()))
    return parsed


def stages(parsed: list[Instruction]) -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for ins in parsed:
        if ins.keyword == "FROM":
            found.append([])
        if found:
            found[-1].append(ins)
    return found


@pytest.fixture(scope="module")
def parsed() -> list[Instruction]:
    return instructions((REPO / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def final(parsed: list[Instruction]) -> list[Instruction]:
    return stages(parsed)[-1]


def first(stage: list[Instruction], keyword: str) -> Instruction:
    return next(ins for ins in stage if ins.keyword == keyword)


def test_parser_joins_continuations_and_skips_comments() -> None:
    text = "# c\nFROM a AS b\nRUN x \\\n  # inner comment\n  && y\nUSER 1\n"
    assert instructions(text) == [
        Instruction("FROM", "a AS b"),
        Instruction("RUN", "x && y"),
        Instruction("USER", "1"),
    ]
    with pytest.raises(AssertionError):
        instructions("RUN x \\\n")


def test_two_named_stages_and_the_final_one_copies_only_the_venv(parsed: list[Instruction]) -> None:
    froms = [ins.args for ins in parsed if ins.keyword == "FROM"]
    assert [f.split()[-1] for f in froms] == ["builder", "runtime"]
    assert all(f.startswith("${PYTHON_IMAGE}") for f in froms)
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", (REPO / "Dockerfile").read_text(), re.M)
    assert base and base.group(1).endswith("-slim-bookworm")
    copies = [i.args for i in stages(parsed)[-1] if i.keyword in {"COPY", "ADD"}]
    assert copies == ["--from=builder /opt/venv /opt/venv", "--from=builder /app /app"]


def test_builder_follows_the_install_order(parsed: list[Instruction]) -> None:
    runs = [ins.args for ins in stages(parsed)[0] if ins.keyword == "RUN"]
    torch = next(i for i, r in enumerate(runs) if "torch==" in r)
    litellm = next(i for i, r in enumerate(runs) if "--require-hashes" in r)
    package = next(i for i, r in enumerate(runs) if "-c constraints.txt -e ." in r)
    assert torch < litellm < package
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch]
    assert "--no-deps" in runs[litellm] and "requirements/litellm-hashes.txt" in runs[litellm]
    # The CPU index serves torch only: nothing else may be installed from it.
    assert sum("download.pytorch.org" in r for r in runs) == 1


def test_torch_pin_is_read_from_constraints() -> None:
    pins = re.findall(r"^torch==.*$", (REPO / "constraints.txt").read_text(), re.M)
    assert len(pins) == 1 and "+cpu" in pins[0]


def test_runs_as_a_non_root_user_before_cmd(final: list[Instruction]) -> None:
    keywords = [ins.keyword for ins in final]
    assert keywords[-1] == "CMD" and json.loads(final[-1].args) == ["gateway", "serve"]
    users = [ins.args for ins in final if ins.keyword == "USER"]
    assert users and keywords.index("USER") < keywords.index("CMD")
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_image_settings(final: list[Instruction]) -> None:
    env = " ".join(ins.args for ins in final if ins.keyword == "ENV")
    assert "GATEWAY_HOST=0.0.0.0" in env and "GATEWAY_PORT=8080" in env
    assert "LITELLM_LOCAL_MODEL_COST_MAP=True" in env and "HF_HUB_OFFLINE=1" in env
    assert first(final, "EXPOSE").args == "8080"
    assert first(final, "STOPSIGNAL").args == "SIGTERM"
    assert "/healthz" in first(final, "HEALTHCHECK").args


def test_policy_file_is_in_the_image(parsed: list[Instruction], final: list[Instruction]) -> None:
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(i.args for i in final if i.keyword == "ENV")))
    builder = stages(parsed)[0]
    workdir = Path(first(builder, "WORKDIR").args)
    assert first(final, "WORKDIR").args == str(workdir)
    policy = Path(env["GATEWAY_POLICY_FILE"]).relative_to(workdir)
    copies = [i.args.split() for i in builder if i.keyword == "COPY"]
    assert any(policy.is_relative_to(dest.rstrip("/")) for *_, dest in copies)
    assert (REPO / policy).is_file()


def test_package_directories_ship_whole_with_their_data_files(parsed: list[Instruction]) -> None:
    # The install is editable, so the image runs the code (and its lexicons, weights, migrations) from /app.
    copied = {i.args.split()[0].rstrip("/") for i in stages(parsed)[0] if i.keyword == "COPY"}
    data_files = [
        f
        for pkg in ("gateway", "rag")
        for f in (REPO / pkg).rglob("*")
        if f.is_file() and f.suffix not in {".py", ".pyc"} and "__pycache__" not in f.parts
    ]
    assert data_files, "the packages hold data files (e.g. gateway/classify/data)"
    for path in data_files:
        assert path.relative_to(REPO).parts[0] in copied, path


def test_embedding_model_is_exported_where_the_gateway_looks(final: list[Instruction]) -> None:
    # gateway.serving.embeddings caches the ONNX export in GATEWAY_DATA_DIR/models.
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(i.args for i in final if i.keyword == "ENV")))
    export = next(i.args for i in final if i.keyword == "RUN" and "build_embedder" in i.args)
    assert f"cache_dir='{env['GATEWAY_DATA_DIR']}/models'" in export
    default = Settings.model_fields["embedding_backend"].default
    assert f"build_embedder('{default}'" in export
    assert env.get("GATEWAY_EMBEDDING_BACKEND", default) == default


def test_no_secret_in_env_or_arg(parsed: list[Instruction]) -> None:
    for ins in parsed:
        if ins.keyword in {"ENV", "ARG"}:
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", ins.args) or [ins.args.split()[0]]:
                assert not SECRET_WORDS.search(name), f"{ins.keyword} {name} would bake a secret in"


def test_copied_sources_exist_and_pass_dockerignore(parsed: list[Instruction]) -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ".env" in patterns

    def included(path: str) -> bool:
        keep = True
        for pattern in patterns:
            negated = pattern.startswith("!")
            bare = pattern.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
                keep = negated
        return keep

    for ins in parsed:
        if ins.keyword == "COPY" and "--from=" not in ins.args:
            *sources, _ = ins.args.split()
            for source in sources:
                matches = list(REPO.glob(source.rstrip("/")))
                if not source.endswith("*"):
                    assert matches, f"COPY {source}: nothing to copy"
                for match in matches:
                    assert included(str(match.relative_to(REPO))), f"{source} is excluded by .dockerignore"
    assert not included(".env") and not included("gateway/__pycache__/x.pyc")


def healthcheck_command(final: list[Instruction]) -> list[str]:
    args = first(final, "HEALTHCHECK").args
    command = json.loads(args[args.index("CMD") + len("CMD") :].strip())
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def test_healthcheck_passes_on_a_live_gateway(final: list[Instruction], gateway: Gateway) -> None:
    port = gateway.url.rsplit(":", 1)[1]
    env = {**os.environ, "GATEWAY_PORT": port}
    result = subprocess.run(healthcheck_command(final), env=env, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_healthcheck_fails_when_nothing_listens(final: list[Instruction]) -> None:
    env = {**os.environ, "GATEWAY_PORT": str(free_port())}
    result = subprocess.run(healthcheck_command(final), env=env, capture_output=True, timeout=30)
    assert result.returncode != 0


def test_runtime_stage_does_not_copy_the_repo_wholesale(final: list[Instruction]) -> None:
    assert not any(ins.keyword in {"COPY", "ADD"} and ins.args.split()[0] == "." for ins in final)
    assert Path(REPO / "Dockerfile").read_text().count("FROM ") == 2
