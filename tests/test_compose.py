"""Static checks of the operator packaging: compose.yaml and the Dockerfile."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
FLORIN_SERVICES = ("migrate", "api", "worker")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _command(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def _depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):  # short form means service_started
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def _environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def test_services(services):
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker"}


def test_postgres(services):
    pg = services["postgres"]
    assert pg["image"] == "postgres:16"
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in pg["volumes"])
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    env = _environment(pg)
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == ("florin",) * 3


def test_redis(services):
    redis = services["redis"]
    assert redis["image"] == "redis:7"
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])


def test_named_volumes_are_declared(compose, services):
    for name in ("postgres", "redis"):
        for volume in services[name].get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], source


def test_florin_services_build_the_image(services):
    for name in FLORIN_SERVICES:
        assert services[name]["build"] == ".", name


def test_commands(services):
    assert _command(services["migrate"]) == ["florin", "migrate"]
    assert _command(services["api"]) == ["florin", "serve"]
    assert _command(services["worker"]) == ["florin", "worker"]


def test_replicas(services):
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    assert "deploy" not in services["migrate"]


def test_migrate_is_one_shot(services):
    migrate = services["migrate"]
    assert migrate["restart"] == "no"  # a string, not YAML's boolean false
    assert _depends_on(migrate) == {"postgres": "service_healthy"}
    assert "ports" not in migrate


def test_long_running_services_restart(services):
    for name in ("postgres", "redis", "api", "worker"):
        assert services[name]["restart"] == "unless-stopped", name


@pytest.mark.parametrize("name", ["api", "worker"])
def test_app_dependencies(services, name):
    deps = _depends_on(services[name])
    assert deps["migrate"] == "service_completed_successfully"
    assert deps["redis"] == "service_healthy"


def test_api_ports_allow_two_replicas(services):
    # Container port only: a fixed host port would clash between the replicas.
    assert [str(p) for p in services["api"]["ports"]] == ["8000"]
    assert "ports" not in services["worker"]


def test_non_http_services_disable_the_image_healthcheck(services):
    for name in ("migrate", "worker"):
        assert services[name]["healthcheck"] == {"disable": True}, name
    assert "healthcheck" not in services["api"]  # uses the Dockerfile's /healthz check


@pytest.mark.parametrize("name", FLORIN_SERVICES)
def test_florin_environment(services, name):
    env = _environment(services[name])
    assert env["FLORIN_ENV"] == "production"
    assert env["FLORIN_DATABASE_URL"] == "postgresql+asyncpg://florin:florin@postgres:5432/florin"
    assert env["FLORIN_REDIS_URL"] == "redis://redis:6379/0"
    # Required: compose refuses to start without it instead of using a default.
    assert env["FLORIN_SECRET_KEY"] == "${FLORIN_SECRET_KEY:?set FLORIN_SECRET_KEY}"
    # Passed through from the operator's environment only when set.
    assert "FLORIN_ALLOWED_ORIGINS" in env and env["FLORIN_ALLOWED_ORIGINS"] is None


def test_florin_services_share_one_environment(services):
    envs = [services[name]["environment"] for name in FLORIN_SERVICES]
    assert envs[0] is envs[1] is envs[2]  # one YAML anchor, not three copies


# --- Dockerfile ---------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


@pytest.fixture(scope="module")
def final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    last_from = max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM")
    return instructions[last_from:]


def _last(stage, keyword: str) -> str:
    values = [args for kw, args in stage if kw == keyword]
    assert values, f"no {keyword} in the final stage"
    return values[-1]


def test_dockerfile_base_image():
    instructions = _dockerfile_instructions()
    args = dict(args.split("=", 1) for kw, args in instructions if kw == "ARG" and "=" in args)
    for kw, value in instructions:
        if kw == "FROM":
            image = value.split()[0]
            if image.startswith("${"):
                image = args[image[2:-1]]
            assert image == "python:3.11-slim"


def test_dockerfile_installs_the_project_with_pip():
    runs = [args for kw, args in _dockerfile_instructions() if kw == "RUN"]
    assert any(re.search(r"\bpip install \.(\s|$)", run) for run in runs), runs


def test_dockerfile_cmd(final_stage):
    assert json.loads(_last(final_stage, "CMD")) == ["florin", "serve"]


def test_dockerfile_expose(final_stage):
    assert _last(final_stage, "EXPOSE").split() == ["8000"]


def test_dockerfile_runs_as_non_root(final_stage):
    user = _last(final_stage, "USER").split(":")[0]
    assert user not in ("root", "0", "")


def test_dockerfile_env(final_stage):
    env = " ".join(args for kw, args in final_stage if kw == "ENV")
    assert "FLORIN_HOST=0.0.0.0" in env.split()


def test_dockerfile_healthcheck(final_stage):
    check = _last(final_stage, "HEALTHCHECK")
    assert "urllib.request" in check
    assert "/healthz" in check
    assert "curl" not in check and "wget" not in check  # not in the slim image


def test_dockerfile_ships_migrations_next_to_the_installed_app():
    # app/migrate.py resolves alembic.ini and migrations/ relative to the installed `app` package.
    instructions = _dockerfile_instructions()
    copied = " ".join(args for kw, args in instructions if kw == "COPY")
    assert "alembic.ini" in copied and "migrations" in copied
    runs = " ".join(args for kw, args in instructions if kw == "RUN")
    assert "purelib" in runs and "python -I" in runs
