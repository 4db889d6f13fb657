"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

What an operator would trip over: an image that drifts because it is not
pinned, a `strongroom` command or option the CLI does not have, a setting the
code never reads (or a value it refuses), a dependency on a service that does
not exist, workers starting before the catalog is migrated, or a batch folder
that a worker could write to.
"""

from __future__ import annotations

import re
import shlex
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

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
#: Services that run Strongroom itself, and what they must run.
STRONGROOM_SERVICES = {
    "init": ["init"],
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


_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")


def interpolated(value: str) -> str:
    """A value as Compose reads it when no variable is set: each default in place."""
    return _VARIABLE.sub(lambda m: m.group("default") if m.group("op") in (":-", "-") else "",
                         value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def argv(service: dict[str, Any]) -> list[str]:
    """What the container runs: entrypoint then command, each as a list."""
    out: list[str] = []
    for key in ("entrypoint", "command"):
        part = service.get(key)
        if part is None:
            continue
        out += shlex.split(part) if isinstance(part, str) else [str(p) for p in part]
    return out


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
    env = {k: interpolated(v) for k, v in environment(services[name]).items()}

    settings = Settings.from_env(env)

    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.storage_url == "s3://strongroom-packages/packages"
    assert settings.s3_endpoint_url == "http://seaweedfs:8333"
    assert settings.broker_url == "redis://redis:6379/0"
    assert env["STRONGROOM_SOURCE_ORGANIZATION"]
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]


def test_seaweedfs_is_given_the_key_pair_strongroom_uses(
        compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    sources = [c["source"] for c in services["seaweedfs"].get("configs", [])]
    (content,) = [compose["configs"][source]["content"] for source in sources]
    worker = environment(services["worker"])
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert f"${{{variable}" in worker[variable]
        assert interpolated(worker[variable]) in interpolated(content)


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
    for name in ("worker", "beat", "cli"):
        assert services[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["init"]["depends_on"]["seaweedfs"]["condition"] == "service_healthy"


# --------------------------------------------------------------------------- batches


def _mounts(service: dict[str, Any]) -> dict[str, bool]:
    """target -> read-only, for every mount of a service."""
    out = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            out[parts[1]] = len(parts) > 2 and "ro" in parts[2].split(",")
        else:
            out[volume["target"]] = bool(volume.get("read_only"))
    return out


def test_the_batch_folder_is_mounted_read_only_where_batches_are_read(
        services: dict[str, dict[str, Any]]) -> None:
    assert "cli" in services["cli"].get("profiles", [])
    for name in ("worker", "cli"):
        assert _mounts(services[name]).get("/batches") is True, name
    assert services["seaweedfs"].get("expose") == ["8333"]
