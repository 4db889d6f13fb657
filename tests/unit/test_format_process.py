"""Formats matched in a process of their own give what matching in process
gives, for every kind of file, and an ingest goes on when that process cannot
answer: a file is never left unidentified, or wrongly identified, because the
process died."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from storage.fido_formats import FidoIdentifier, fido_identifier
from storage.format_process import IdentifierProcess
from tests.unit.test_format_prefilters import CORPUS


@pytest.fixture
def process() -> Iterator[IdentifierProcess]:
    identifier = IdentifierProcess(fido_identifier())
    yield identifier
    identifier.close()


def _answer(identifier: FidoIdentifier | IdentifierProcess, name: str, data: bytes) -> object:
    return identifier.identify(data[:131072], data[-131072:], name)


def test_the_process_finds_what_matching_in_process_finds_for_every_kind_of_file(
        process: IdentifierProcess) -> None:
    local = fido_identifier()
    process.warm_up()
    assert process._child is not None and process._child.poll() is None
    for name, data in CORPUS:
        assert _answer(process, name, data) == _answer(local, name, data), name
    assert process.tool == local.tool and process.signatures == local.signatures


def test_a_formats_process_killed_mid_ingest_leaves_every_later_file_identified_in_process(
        process: IdentifierProcess) -> None:
    local = fido_identifier()
    first_name, first = CORPUS[0]
    assert _answer(process, first_name, first) == _answer(local, first_name, first)
    os.kill(process._child.pid, signal.SIGKILL)
    process._child.wait(5)
    for name, data in CORPUS[:8]:
        assert _answer(process, name, data) == _answer(local, name, data), name
    assert process._given_up


def test_a_forked_child_never_writes_to_its_parents_formats_process(
        process: IdentifierProcess) -> None:
    process.warm_up()
    name, data = next((n, d) for n, d in CORPUS if n == "pdf")
    expected = _answer(fido_identifier(), name, data)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answered in process, the parent's pipe untouched
        ok = _answer(process, name, data) == expected and process._child is not None
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    # the parent's process still answers, in step
    for name, data in CORPUS[:6]:
        assert _answer(process, name, data) == _answer(fido_identifier(), name, data)
    assert not process._given_up
