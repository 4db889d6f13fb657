"""docker-compose.yml read as Compose reads it, without Docker: the helpers of
``tests/unit/test_compose.py`` and ``tests/integration/test_compose_layout.py``.

``interpolate`` follows the Compose specification's interpolation: ``$NAME``,
``${NAME}``, ``${NAME:-default}``, ``${NAME-default}``, ``${NAME:?message}``,
``${NAME?message}``, ``${NAME:+other}``, ``${NAME+other}``, nested inside the
default, message or other value, and ``$$`` for a literal ``$``. A required
variable that is missing raises ``MissingVariable``, as Compose refuses to start.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class MissingVariable(ValueError):
    """A ``${NAME:?message}`` (or ``?``) whose variable is unset (or empty)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"required variable {name} is missing a value: {message}")
        self.name = name
        self.message = message


@dataclass(frozen=True)
class Reference:
    """One ``${NAME<op><argument>}`` (or ``$NAME``) in a value; ``argument`` unexpanded."""

    name: str
    operator: str | None
    argument: str


def load(path: Path = COMPOSE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _scan(value: str) -> Iterator[tuple[str, str | Reference]]:
    """The pieces of ``value``: ("text", literal) and ("ref", Reference)."""
    i = 0
    while i < len(value):
        dollar = value.find("$", i)
        if dollar < 0:
            yield "text", value[i:]
            return
        yield "text", value[i:dollar]
        nxt = value[dollar + 1:dollar + 2]
        if nxt == "$":
            yield "text", "$"
            i = dollar + 2
        elif nxt == "{":
            name = _NAME.match(value, dollar + 2)
            if name is None:
                raise ValueError(f"invalid interpolation at {value[dollar:]!r}")
            j = name.end()
            operator = next((op for op in _OPERATORS if value.startswith(op, j)), None)
            j += len(operator) if operator else 0
            depth, start = 1, j
            while depth:
                if j >= len(value):
                    raise ValueError(f"unclosed interpolation in {value!r}")
                if value.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                if value[j] == "}":
                    depth -= 1
                j += 1
            argument = value[start:j - 1]
            if operator is None and argument:
                raise ValueError(f"invalid interpolation {value[dollar:j]!r}")
            yield "ref", Reference(name.group(), operator, argument)
            i = j
        else:
            name = _NAME.match(value, dollar + 1)
            if name is None:  # a lone $: kept as it is
                yield "text", "$"
                i = dollar + 1
            else:
                yield "ref", Reference(name.group(), None, "")
                i = name.end()


def references(value: str) -> Iterator[Reference]:
    """Every variable reference in ``value``, nested ones included."""
    for _, piece in _scan(value):
        if isinstance(piece, Reference):
            yield piece
            yield from references(piece.argument)


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """``value`` with every reference replaced as Compose does; MissingVariable for a
    required one that is missing."""
    out = []
    for _, piece in _scan(value):
        if isinstance(piece, str):
            out.append(piece)
            continue
        name, op, arg = piece.name, piece.operator, piece.argument
        is_set, current = name in env, env.get(name, "")
        if op is None:
            out.append(current)
        elif op in (":-", "-"):
            use_default = not current if op == ":-" else not is_set
            out.append(interpolate(arg, env) if use_default else current)
        elif op in (":?", "?"):
            if (not current) if op == ":?" else (not is_set):
                raise MissingVariable(name, interpolate(arg, env))
            out.append(current)
        else:  # ":+", "+"
            present = bool(current) if op == ":+" else is_set
            out.append(interpolate(arg, env) if present else "")
    return "".join(out)


def interpolate_tree(node: Any, env: Mapping[str, str]) -> Any:
    """Every string in a loaded YAML tree interpolated (keys are not, as in Compose)."""
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    return node


def all_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from all_strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from all_strings(value)


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's ``environment:`` as a mapping (still uninterpolated)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def env_files(service: dict[str, Any]) -> list[str]:
    files = service.get("env_file") or []
    if isinstance(files, str):
        files = [files]
    return [f if isinstance(f, str) else f["path"] for f in files]


def container_environment(service: dict[str, Any], project_dir: Path,
                          compose_env: Mapping[str, str]) -> dict[str, str]:
    """What a container of ``service`` gets: each ``env_file`` (relative to
    ``project_dir``) read as it is, then ``environment:`` interpolated with
    ``compose_env`` over it. MissingVariable for a required variable missing."""
    out: dict[str, str] = {}
    for name in env_files(service):
        values = dotenv_values(project_dir / name, interpolate=False)
        out.update({k: v or "" for k, v in values.items()})
    out.update({k: interpolate(v, compose_env) for k, v in environment(service).items()})
    return out


def argv(service: dict[str, Any]) -> list[str]:
    """What the container runs: entrypoint then command, each as a list."""
    out: list[str] = []
    for key in ("entrypoint", "command"):
        part = service.get(key)
        if part is None:
            continue
        out += shlex.split(part) if isinstance(part, str) else [str(p) for p in part]
    return out


def mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """target -> (source, read-only), for every mount of a service."""
    out = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            out[parts[1]] = (parts[0], len(parts) > 2 and "ro" in parts[2].split(","))
        else:
            out[volume["target"]] = (volume["source"], bool(volume.get("read_only")))
    return out
