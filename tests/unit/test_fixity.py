"""One read pass gives the right digests, hands every byte on in order, and keeps memory flat."""

from __future__ import annotations

import hashlib
import io
import os
import random
import threading
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.errors import StorageUnavailable
from ingest.fixity import ALGORITHMS, CHUNK_SIZE, FIRST_CHUNK, Digests, digest_bytes, digest_stream

MiB = 1024 * 1024


def expected(data: bytes) -> Digests:
    return Digests(len(data), hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())


def random_bytes(size: int, seed: int = 1951) -> bytes:
    return random.Random(seed).randbytes(size)


class Collector:
    """A sink that keeps a copy of every chunk it is handed."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def __call__(self, chunk: memoryview) -> None:
        self.chunks.append(bytes(chunk))

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


class GeneratedStream(io.RawIOBase):
    """``total`` bytes of a repeating pattern, produced on demand and never held whole."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.pattern = bytes(range(256)) * 256  # 64 KiB

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left, len(self.pattern))
        buffer[:count] = self.pattern[:count]
        self.left -= count
        return count


class TrickleStream(io.RawIOBase):
    """A raw stream that returns at most ``step`` bytes per read, as sockets do."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data = memoryview(data)
        self.step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.step, len(self.data))
        buffer[:count] = self.data[:count]
        self.data = self.data[count:]
        return count


class ReadOnlyStream:
    """A stream with ``read`` and no ``readinto``."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self.inner.read(size)


SIZES = [
    0, 1, 2, 1023, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1,
    CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1,
    2 * CHUNK_SIZE - 1, 2 * CHUNK_SIZE, 2 * CHUNK_SIZE + 1,
    5 * MiB + 12345,
]


@pytest.mark.parametrize("size", SIZES)
def test_digests_equal_hashlib_at_every_size(size: int) -> None:
    data = random_bytes(size, seed=size)
    assert digest_stream(io.BytesIO(data)) == expected(data)


@pytest.mark.parametrize("size", SIZES)
def test_sink_receives_every_byte_in_order(size: int) -> None:
    data = random_bytes(size, seed=size)
    sink = Collector()
    assert digest_stream(io.BytesIO(data), sink) == expected(data)
    assert sink.data == data
    assert all(len(chunk) <= CHUNK_SIZE and chunk for chunk in sink.chunks)


def test_small_chunk_size_crosses_many_boundaries() -> None:
    data = random_bytes(100_003)
    sink = Collector()
    assert digest_stream(io.BytesIO(data), sink, chunk_size=4096) == expected(data)
    assert sink.data == data
    assert [len(c) for c in sink.chunks[:-1]] == [4096] * (len(sink.chunks) - 1)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=20_000), chunk_size=st.integers(min_value=1, max_value=5000))
def test_any_bytes_any_chunk_size_give_hashlib_digests(data: bytes, chunk_size: int) -> None:
    sink = Collector()
    assert digest_stream(io.BytesIO(data), sink, chunk_size=chunk_size) == expected(data)
    assert sink.data == data


def test_short_reads_are_gathered_into_full_chunks() -> None:
    data = random_bytes(3 * MiB + 7)
    sink = Collector()
    assert digest_stream(TrickleStream(data, step=16 * 1024), sink) == expected(data)
    assert sink.data == data
    # Full chunks after a small first one, so large files still get the parallel SHA-512.
    rest = len(data) - FIRST_CHUNK - 2 * CHUNK_SIZE
    assert [len(c) for c in sink.chunks] == [FIRST_CHUNK, CHUNK_SIZE, CHUNK_SIZE, rest]


def test_stream_without_readinto_is_read_with_read() -> None:
    data = random_bytes(2 * MiB + 3)
    sink = Collector()
    assert digest_stream(ReadOnlyStream(data), sink) == expected(data)  # type: ignore[arg-type]
    assert sink.data == data


def test_sink_error_propagates_unchanged() -> None:
    failure = StorageUnavailable("the store went away")
    calls = []

    def sink(chunk: memoryview) -> None:
        calls.append(len(chunk))
        if len(calls) == 2:
            raise failure

    with pytest.raises(StorageUnavailable) as raised:
        digest_stream(io.BytesIO(random_bytes(3 * MiB)), sink)
    assert raised.value is failure
    assert calls == [FIRST_CHUNK, CHUNK_SIZE]  # nothing read past the failure


def test_concurrent_callers_each_get_their_own_digests() -> None:
    payloads = [random_bytes(3 * MiB + i, seed=i) for i in range(6)]
    results: dict[int, Digests] = {}

    def work(index: int) -> None:
        results[index] = digest_stream(io.BytesIO(payloads[index]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: expected(p) for i, p in enumerate(payloads)}


def test_memory_stays_flat_for_a_256_mib_stream() -> None:
    total = 256 * MiB
    reference = GeneratedStream(total)
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    block = bytearray(CHUNK_SIZE)
    while count := reference.readinto(memoryview(block)):
        sha256.update(memoryview(block)[:count])
        sha512.update(memoryview(block)[:count])

    stream = GeneratedStream(total)
    tracemalloc.start()
    try:
        digests = digest_stream(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digests == Digests(total, sha256.hexdigest(), sha512.hexdigest())
    assert peak < 4 * MiB, f"peak {peak} bytes for a {total}-byte stream"


def test_digest_bytes_equals_hashlib() -> None:
    for data in (b"", b"BagIt-Version: 1.0\n", random_bytes(200_000)):
        assert digest_bytes(data) == expected(data)


def test_algorithms_are_the_ones_digests_carry() -> None:
    d = digest_bytes(b"x")
    assert ALGORITHMS == ("sha256", "sha512")
    assert all(len(getattr(d, alg)) == hashlib.new(alg).digest_size * 2 for alg in ALGORITHMS)


class _GatedStream(io.RawIOBase):
    """``size`` seeded bytes, read in step with the other streams: every read
    waits for every stream's same read, so all are running until all are done."""

    def __init__(self, size: int, seed: int, gate: threading.Barrier) -> None:
        self._data = random.Random(seed).randbytes(size)
        self._offset = 0
        self._gate = gate

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        self._gate.wait(timeout=10)
        count = min(len(buffer), len(self._data) - self._offset)
        buffer[:count] = self._data[self._offset:self._offset + count]
        self._offset += count
        return count


def _count_handovers(monkeypatch: pytest.MonkeyPatch, streams: int) -> tuple[int, bool]:
    import ingest.fixity as fixity

    real_pool = fixity._pool()
    handed: list[int] = []

    class CountingPool:
        def submit(self, fn, *args):  # type: ignore[no-untyped-def]
            handed.append(1)
            return real_pool.submit(fn, *args)

    monkeypatch.setattr(fixity, "_pool", lambda: CountingPool())
    # Only this test's streams count (not a stream another test left running).
    monkeypatch.setattr(fixity, "_streams", fixity._StreamCount())
    gate = threading.Barrier(streams)
    # A small first chunk, four full ones, and a last one too small to hand over:
    # every chunk that might be handed over is read while every stream still runs.
    size = FIRST_CHUNK + 4 * CHUNK_SIZE + 123
    results: dict[int, Digests] = {}

    def one(index: int) -> None:
        results[index] = digest_stream(_GatedStream(size, index, gate))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    right = all(results[i] == digest_bytes(random.Random(i).randbytes(size))
                for i in range(streams))
    return len(handed), right


def test_one_stream_hands_sha512_to_a_spare_core(monkeypatch: pytest.MonkeyPatch) -> None:
    handed, right = _count_handovers(monkeypatch, 1)
    assert right
    if (os.cpu_count() or 1) > 1:
        assert handed >= 4


def test_as_many_streams_as_cores_hash_sha512_in_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every core already has a stream: a hand-over would only add a thread switch.
    handed, right = _count_handovers(monkeypatch, os.cpu_count() or 1)
    assert right
    assert handed == 0


def test_a_small_file_is_read_into_a_small_buffer_not_a_fresh_megabyte() -> None:
    """Archives are mostly small files: a zeroed megabyte per file cost more than
    hashing an 8 KiB file; the full-size buffers come only for a larger file."""
    data = random_bytes(8 * 1024)
    sink = Collector()
    seen: list[int] = []

    class Watched(io.BytesIO):
        def readinto(self, buffer: Any) -> int:
            seen.append(len(buffer))
            return super().readinto(buffer)

    assert digest_stream(Watched(data), sink) == expected(data)
    assert max(seen) <= FIRST_CHUNK
