"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

What an operator would trip over: an image that drifts because it is not
pinned, a `strongroom` command or option the CLI does not have, a setting the
code never reads (or a value it refuses), a placeholder credential nobody
changed, a dependency on a service that does not exist, workers starting before
the catalog is migrated, an API published beyond the host, a healthcheck that
asks the wrong port, or a batch folder that a worker could write to.
tests/integration/test_compose_layout.py runs the same services as processes.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from strongroom.cli import main
from strongroom.settings import KNOWN_VARIABLES, Settings
from tests.compose_file import (
    COMPOSE,
    MissingVariable,
    all_strings,
    argv,
    env_files,
    environment,
    interpolate,
    interpolate_tree,
    mounts,
    references,
)

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
#: The secrets a .env must give; Compose refuses to start without any of them.
CREDENTIALS = {"POSTGRES_PASSWORD": "pg-secret-1", "AWS_ACCESS_KEY_ID": "key-id-1",
               "AWS_SECRET_ACCESS_KEY": "secret-key-1"}

CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
#: Services that run Strongroom itself, and what they must run.
STRONGROOM_SERVICES = {
    "init": ["init"],
    "api": ["serve"],
    "worker": ["worker"],
    "beat": ["beat"],
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with open(COMPOSE, encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def parse_with_cli(args: list[str]) -> list[str]:
    """Parse ``strongroom ARGS`` exactly as the CLI would, without running it.

    Returns the command path (e.g. ``["audit", "verify"]``). Raises
    click.UsageError for an unknown command or option, a bad option value or a
    missing argument.
    """
    path: list[str] = []
    try:
        ctx = main.make_context("strongroom", list(args))
        command: click.Command = main
        while isinstance(command, click.Group):
            rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
            if not rest:
                break
            name, command, remaining = command.resolve_command(ctx, rest)
            path.append(name)
            ctx = command.make_context(name, remaining, parent=ctx)
    except click.exceptions.Exit as done:  # --help or --version: parsed, then stops
        assert done.exit_code == 0
    return path


def image_is_pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag; the colon belonged to a registry port
        return False
    return tag != "latest"


# --------------------------------------------------------------------------- images


def test_every_image_is_pinned_to_a_version(services: dict[str, dict[str, Any]]) -> None:
    images = {name: s["image"] for name, s in services.items() if "image" in s}
    assert set(images) >= {"redis", "postgres", "seaweedfs"}
    unpinned = {name: image for name, image in images.items() if not image_is_pinned(image)}
    assert unpinned == {}
    assert all("build" in s or "image" in s for s in services.values())


@pytest.mark.parametrize("image, pinned", [
    ("redis:7.4.1", True),
    ("redis", False),
    ("redis:latest", False),
    ("registry.example:5000/redis", False),
    ("registry.example:5000/redis:7.4.1", True),
    ("redis@sha256:" + "0" * 64, True),
])
def test_pinning_rule_reads_image_references(image: str, pinned: bool) -> None:
    assert image_is_pinned(image) is pinned


def test_dockerfile_base_image_is_pinned_and_the_image_does_not_run_as_root() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    bases = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    assert bases and all(image_is_pinned(base) for base in bases)
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0")


def _locked_versions() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^ \\]+)", (ROOT / "requirements.lock").read_text(), re.M)
    return {canonicalize_name(name): version for name, version in pins}


def test_the_image_installs_every_dependency_from_the_lock_file_by_hash() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.lock" in text
    assert "pip install --no-deps ." in text  # the package itself adds nothing unlocked
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    blocks = [b for b in re.split(r"\n(?=[A-Za-z0-9_.-]+==)", lock) if "==" in b]
    assert blocks and all("--hash=sha256:" in block for block in blocks)


def test_the_lock_file_pins_every_dependency_within_its_bound() -> None:
    """A dependency added to pyproject.toml without re-locking would leave the image unbuildable."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    locked = _locked_versions()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {name}=={locked[name]}, outside {requirement.specifier}"
        )


# --------------------------------------------------------------------------- commands


def test_every_strongroom_command_is_one_the_cli_accepts(services: dict[str, dict[str, Any]]) -> None:
    parsed = {}
    for name, service in services.items():
        args = argv(service)
        if args and args[0] == "strongroom":
            try:
                parsed[name] = parse_with_cli(args[1:])
            except click.UsageError as exc:
                pytest.fail(f"service {name!r} runs {shlex.join(args)!r}: {exc.format_message()}")
    for name, path in STRONGROOM_SERVICES.items():
        assert parsed.get(name) == path, f"service {name!r} should run strongroom {' '.join(path)}"


def test_cli_check_refuses_what_the_cli_refuses() -> None:
    assert parse_with_cli(["audit", "verify"]) == ["audit", "verify"]
    assert parse_with_cli(["--help"]) == []
    with pytest.raises(click.UsageError):
        parse_with_cli(["no-such-command"])
    with pytest.raises(click.UsageError):
        parse_with_cli(["list", "--no-such-option"])


# --------------------------------------------------------------------------- settings


def test_every_strongroom_variable_is_one_strongroom_reads(services: dict[str, dict[str, Any]]) -> None:
    unknown = {
        (service_name, variable)
        for service_name, service in services.items()
        for variable in environment(service)
        if variable.startswith("STRONGROOM_") and variable not in KNOWN_VARIABLES
    }
    assert unknown == set()


@pytest.mark.parametrize("name", sorted(STRONGROOM_SERVICES) + ["cli"])
def test_strongroom_services_get_settings_the_code_accepts(
        services: dict[str, dict[str, Any]], name: str) -> None:
    env = {k: interpolate(v, CREDENTIALS) for k, v in environment(services[name]).items()}

    settings = Settings.from_env(env)

    assert settings.database_url == (
        "postgresql+psycopg://strongroom:pg-secret-1@postgres:5432/strongroom")
    assert settings.storage_url == "s3://strongroom-packages/packages"
    assert settings.s3_endpoint_url == "http://seaweedfs:8333"
    assert settings.broker_url == "redis://redis:6379/0"
    assert str(settings.staging) == "/var/lib/strongroom/staging"
    assert env["AWS_ACCESS_KEY_ID"] == "key-id-1" and env["AWS_SECRET_ACCESS_KEY"] == "secret-key-1"
    # every other setting comes from the same .env file, under the names .env.example gives
    assert env_files(services[name]) == [".env"]


def test_a_setting_in_dotenv_points_the_services_elsewhere_under_its_own_name(
        services: dict[str, dict[str, Any]]) -> None:
    elsewhere = {**CREDENTIALS,
                 "STRONGROOM_DATABASE_URL": "postgresql+psycopg://archive@db.example.org/catalog",
                 "STRONGROOM_STORAGE_URL": "s3://archive-packages/sr",
                 "STRONGROOM_S3_ENDPOINT_URL": "https://s3.example.org",
                 "STRONGROOM_BROKER_URL": "redis://queue.example.org:6379/2"}
    env = {k: interpolate(v, elsewhere) for k, v in environment(services["worker"]).items()}
    for name in ("STRONGROOM_DATABASE_URL", "STRONGROOM_STORAGE_URL",
                 "STRONGROOM_S3_ENDPOINT_URL", "STRONGROOM_BROKER_URL"):
        assert env[name] == elsewhere[name]


def test_every_variable_the_compose_file_reads_is_documented_in_the_example_file(
        compose: dict[str, Any]) -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    read = {ref.name for text in all_strings(compose) for ref in references(text)}
    assert set(CREDENTIALS) <= read
    undocumented = {name for name in read if f"#{name}=" not in example}
    assert undocumented == set()
    assert {name for name in read if name.startswith("STRONGROOM_")} <= set(KNOWN_VARIABLES)


def test_every_credential_is_required_and_none_has_a_placeholder(compose: dict[str, Any]) -> None:
    secret = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|TOKEN|CREDENTIAL", re.IGNORECASE)
    refs = [ref for text in all_strings(compose) for ref in references(text)]
    credentials = [ref for ref in refs if secret.search(ref.name)]
    assert {ref.name for ref in credentials} == set(CREDENTIALS)
    for ref in credentials:  # ${NAME:?explanation}: unset or empty, Compose refuses to start
        assert ref.operator == ":?" and ref.argument.strip(), ref
    assert not any("change-me" in text.lower() for text in all_strings(compose))


@pytest.mark.parametrize("missing", sorted(CREDENTIALS))
def test_the_compose_file_refuses_to_start_without_each_credential(
        compose: dict[str, Any], missing: str) -> None:
    given = {k: v for k, v in CREDENTIALS.items() if k != missing}
    with pytest.raises(MissingVariable) as refused:
        interpolate_tree(compose, given)
    assert refused.value.name == missing and ".env" in refused.value.message
    with pytest.raises(MissingVariable):
        interpolate_tree(compose, {**given, missing: ""})  # empty is refused too
    interpolate_tree(compose, CREDENTIALS)  # all three given: it loads


def test_seaweedfs_is_given_the_key_pair_strongroom_uses(
        compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    sources = [c["source"] for c in services["seaweedfs"].get("configs", [])]
    (content,) = [compose["configs"][source]["content"] for source in sources]
    worker = environment(services["worker"])
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert f"${{{variable}" in worker[variable]
        assert interpolate(worker[variable], CREDENTIALS) in interpolate(content, CREDENTIALS)


@pytest.mark.parametrize("text, env, expected", [
    ("${A}", {"A": "1"}, "1"),
    ("${A:-x}", {"A": ""}, "x"),
    ("${A-x}", {"A": ""}, ""),
    ("${A:-${B:-y}}/z", {}, "y/z"),
    ("${A:+on}", {"A": "1"}, "on"),
    ("$$A $A", {"A": "1"}, "$A 1"),
])
def test_interpolation_reads_values_as_compose_does(text: str, env: dict[str, str],
                                                    expected: str) -> None:
    assert interpolate(text, env) == expected


# --------------------------------------------------------------------------- docker compose itself


def _compose_works() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30,
                           check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _compose_works(), reason="no `docker compose` on this machine")
def test_docker_compose_config_refuses_the_file_without_dotenv_and_takes_it_with_one(
        tmp_path: Path) -> None:
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIALS}

    refused = subprocess.run(["docker", "compose", "config", "-q"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr + refused.stdout

    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in CREDENTIALS.items()),
                                   encoding="utf-8")
    taken = subprocess.run(["docker", "compose", "config", "-q"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert taken.returncode == 0, taken.stderr


# --------------------------------------------------------------------------- start-up order


def test_depends_on_names_existing_services_with_valid_conditions(
        services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {other: {"condition": "service_started"} for other in depends}
        for other, how in depends.items():
            assert other in services, f"{name} depends on unknown service {other}"
            condition = (how or {}).get("condition", "service_started")
            assert condition in CONDITIONS
            if condition == "service_healthy":
                assert "healthcheck" in services[other], f"{other} has no healthcheck"


def test_workers_start_only_after_init_has_migrated_and_created_the_bucket(
        services: dict[str, dict[str, Any]]) -> None:
    assert "healthcheck" in services["postgres"]
    for name in ("api", "worker", "beat", "cli"):
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["init"]["depends_on"]["seaweedfs"]["condition"] == "service_healthy"


# --------------------------------------------------------------------------- batches


def test_the_batch_folder_is_mounted_read_only_where_batches_are_read(
        services: dict[str, dict[str, Any]]) -> None:
    assert "cli" in services["cli"].get("profiles", [])
    for name in ("worker", "cli"):
        assert mounts(services[name])["/batches"][1] is True, name
    assert services["seaweedfs"].get("expose") == ["8333"]


# --------------------------------------------------------------------------- the API


def _published(service: dict[str, Any]) -> list[str]:
    return [str(p) for p in service.get("ports") or []]


def test_the_api_listens_on_every_address_inside_and_is_published_on_loopback_only(
        services: dict[str, dict[str, Any]]) -> None:
    command = argv(services["api"])
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert _published(services["api"]) == [f"127.0.0.1:{port}:{port}"]
    for name, service in services.items():  # nothing is published beyond the host
        for published in _published(service):
            assert published.startswith("127.0.0.1:"), (name, published)


def test_the_api_healthcheck_asks_a_health_route_on_the_port_it_serves(
        services: dict[str, dict[str, Any]]) -> None:
    from strongroom.api.routes_health import router

    command = argv(services["api"])
    port = command[command.index("--port") + 1]
    test = services["api"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    [url] = re.findall(r"https?://[^'\" ]+", " ".join(test))
    assert url.startswith(f"http://127.0.0.1:{port}/")
    path = "/" + url.split("/", 3)[3]
    assert path in ("/healthz", "/readyz")
    assert path in {route.path for route in router.routes}  # a route the API has, with no token
    assert services["api"]["depends_on"]["init"]["condition"] == "service_completed_successfully"


def test_the_api_and_the_workers_share_no_volume_batches_go_through_the_store(
        compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    staging = environment(services["api"])["STRONGROOM_STAGING_DIR"]
    # the api unpacks uploads in a volume of its own, where the setting points
    source, read_only = mounts(services["api"]).get(staging) or ("", True)
    assert source in compose["volumes"] and read_only is False
    # the workers mount nothing of the api's: they read staged batches from the store
    worker_sources = {source for source, _ in mounts(services["worker"]).values()}
    assert source not in worker_sources
    assert all(s not in compose["volumes"] for s in worker_sources), worker_sources


def test_the_image_gives_its_user_the_staging_folder_a_fresh_volume_starts_from(
        services: dict[str, dict[str, Any]]) -> None:
    """A named volume mounted on an empty path would belong to root: the uid-10001
    api could not unpack an upload there."""
    staging = environment(services["api"])["STRONGROOM_STAGING_DIR"]
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert f"mkdir -p {staging}" in text
    assert re.search(rf"chown strongroom: [^\n]*{re.escape(staging)}", text)

