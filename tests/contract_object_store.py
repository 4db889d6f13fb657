"""The behaviour every object store must show, whatever its backend.

A backend's test module subclasses ``ObjectStoreContract`` (its name must start
with ``Test`` to be collected) and overrides the ``store`` fixture to return an
empty store; every test here then runs against it::

    class TestFilesystemStoreContract(ObjectStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            return FilesystemObjectStore(tmp_path / "objects")
"""

from __future__ import annotations

import hashlib

import pytest

from ingest.errors import ObjectNotFound, PresignUnsupported
from ingest.ports import ObjectInfo, ObjectStore


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(store: ObjectStore, key: str, data: bytes) -> ObjectInfo:
    return store.put_bytes(key, data, digest(data))


def read(store: ObjectStore, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()


def keys(store: ObjectStore, prefix: str = "") -> list[str]:
    return [info.key for info in store.list(prefix)]


#: Key names archives really produce: spaces, percent signs, newlines, accents,
#: scripts beyond Latin, characters URLs and shells treat specially.
ODD_KEYS = [
    "with space/file name.txt",
    "percent/100%25 done %.pdf",
    "newline/line one\nline two.txt",
    "accents/Zürich café – naïve.txt",
    "cyrillic/Телеграмма 1951.txt",
    "cjk/档案/文件.txt",
    "emoji/📜 scroll.txt",
    "special/a+b=c&d?e#f;g,h'i\"j(k)[l]{m}!~*@$.txt",
    "dots/..hidden/.file.",
    "backslash/a\\b.txt",
]


class ObjectStoreContract:
    """Tests every ``ingest.ports.ObjectStore`` must pass. Override ``store``."""

    @pytest.fixture
    def store(self) -> ObjectStore:
        raise NotImplementedError("a backend's test class returns an empty store here")

    # ------------------------------------------------------------- writing

    def test_committed_object_reads_back_byte_for_byte(self, store: ObjectStore) -> None:
        chunks = [b"BagIt-Version: 1.0\n", memoryview(b"x" * 70_000), b"", b"\x00\xff end"]
        data = b"".join(bytes(chunk) for chunk in chunks)
        writer = store.writer("pkg/v1/data/file.bin")
        for chunk in chunks:
            writer.write(chunk)
        info = writer.commit(digest(data))
        assert info.key == "pkg/v1/data/file.bin"
        assert info.size == len(data)
        assert read(store, "pkg/v1/data/file.bin") == data

    def test_large_object_written_in_many_chunks_is_whole(self, store: ObjectStore) -> None:
        chunk = bytes(range(256)) * 4096  # 1 MiB
        data = chunk * 6 + b"tail"
        writer = store.writer("big/object")
        for _ in range(6):
            writer.write(chunk)
        writer.write(b"tail")
        assert writer.commit(digest(data)).size == len(data)
        assert store.stat("big/object").size == len(data)
        assert digest(read(store, "big/object")) == digest(data)

    def test_object_is_invisible_before_commit(self, store: ObjectStore) -> None:
        writer = store.writer("pkg/v1/bagit.txt")
        writer.write(b"half of it")
        with pytest.raises(ObjectNotFound):
            store.stat("pkg/v1/bagit.txt")
        with pytest.raises(ObjectNotFound):
            store.open("pkg/v1/bagit.txt")
        assert keys(store) == []
        writer.commit(digest(b"half of it"))
        assert keys(store) == ["pkg/v1/bagit.txt"]

    def test_aborted_object_leaves_nothing(self, store: ObjectStore) -> None:
        writer = store.writer("pkg/v1/data/a.txt")
        writer.write(b"never to be seen")
        writer.abort()
        writer.abort()  # twice is harmless
        with pytest.raises(ObjectNotFound):
            store.stat("pkg/v1/data/a.txt")
        assert keys(store) == []

    def test_abort_before_any_write_leaves_nothing(self, store: ObjectStore) -> None:
        store.writer("pkg/v1/empty-abort").abort()
        assert keys(store) == []

    def test_replacement_becomes_visible_only_at_commit(self, store: ObjectStore) -> None:
        put(store, "k", b"old bytes")
        writer = store.writer("k")
        writer.write(b"new")
        assert read(store, "k") == b"old bytes"
        writer.commit(digest(b"new"))
        assert read(store, "k") == b"new"
        assert store.stat("k").size == 3
        assert keys(store) == ["k"]

    def test_aborted_replacement_keeps_the_old_object(self, store: ObjectStore) -> None:
        put(store, "k", b"old bytes")
        writer = store.writer("k")
        writer.write(b"new")
        writer.abort()
        assert read(store, "k") == b"old bytes"

    def test_put_bytes_stores_and_reports_size(self, store: ObjectStore) -> None:
        info = put(store, "pkg/v1/bag-info.txt", b"Bagging-Date: 2024-05-01\n")
        assert (info.key, info.size) == ("pkg/v1/bag-info.txt", 25)
        assert read(store, "pkg/v1/bag-info.txt") == b"Bagging-Date: 2024-05-01\n"

    def test_empty_object_exists_with_size_zero(self, store: ObjectStore) -> None:
        assert put(store, "pkg/v1/data/empty", b"").size == 0
        assert store.stat("pkg/v1/data/empty").size == 0
        assert read(store, "pkg/v1/data/empty") == b""
        assert [(i.key, i.size) for i in store.list("pkg/")] == [("pkg/v1/data/empty", 0)]
        writer = store.writer("pkg/v1/data/empty-streamed")
        assert writer.commit(digest(b"")).size == 0
        assert read(store, "pkg/v1/data/empty-streamed") == b""

    # ------------------------------------------------------------- reading

    def test_stat_reports_size_and_at_most_the_true_digest(self, store: ObjectStore) -> None:
        put(store, "a/b", b"12345")
        info = store.stat("a/b")
        assert (info.key, info.size) == ("a/b", 5)
        assert info.sha256 in (None, digest(b"12345"))

    def test_open_streams_in_pieces(self, store: ObjectStore) -> None:
        put(store, "stream", b"abcdefghij")
        with store.open("stream") as stream:
            assert stream.read(3) == b"abc"
            assert stream.read(3) == b"def"
            assert stream.read() == b"ghij"
            assert stream.read() == b""

    def test_missing_object_is_object_not_found(self, store: ObjectStore) -> None:
        put(store, "present/file", b"x")
        for key in ("absent", "present/absent", "present", "present/file/below"):
            with pytest.raises(ObjectNotFound):
                store.open(key)
            with pytest.raises(ObjectNotFound):
                store.stat(key)

    def test_probe_of_a_reachable_store_passes_and_writes_nothing(self, store: ObjectStore) -> None:
        put(store, "present/file", b"x")
        store.probe()
        assert [info.key for info in store.list("")] == ["present/file"]

    # ------------------------------------------------------------- listing

    def test_list_is_in_full_key_order(self, store: ObjectStore) -> None:
        # '-' and '.' sort before '/', so a folder-by-folder walk gets this wrong.
        names = ["a/b", "a-c", "a.b", "ab", "a/a/z", "a/b0", "B", "a0", "a/-"]
        for name in reversed(names):
            put(store, name, name.encode())
        assert keys(store) == sorted(names)
        assert [(i.key, i.size) for i in store.list("")] == [(n, len(n)) for n in sorted(names)]

    def test_list_keeps_only_the_prefix(self, store: ObjectStore) -> None:
        for name in ["pkg/v1/bagit.txt", "pkg/v1/data/a", "pkg/v10/bagit.txt",
                     "pkg/v2/bagit.txt", "pkgx/v1/bagit.txt", "other"]:
            put(store, name, b".")
        assert keys(store, "pkg/v1/") == ["pkg/v1/bagit.txt", "pkg/v1/data/a"]
        assert keys(store, "pkg/v1") == ["pkg/v1/bagit.txt", "pkg/v1/data/a",
                                         "pkg/v10/bagit.txt"]
        assert keys(store, "pkg") == ["pkg/v1/bagit.txt", "pkg/v1/data/a",
                                      "pkg/v10/bagit.txt", "pkg/v2/bagit.txt",
                                      "pkgx/v1/bagit.txt"]
        assert keys(store, "pkg/v1/data/a") == ["pkg/v1/data/a"]
        assert keys(store, "pkg/v3/") == []
        assert keys(store, "nothing") == []

    def test_list_of_an_empty_store_is_empty(self, store: ObjectStore) -> None:
        assert keys(store) == []
        assert keys(store, "pkg/") == []

    # ------------------------------------------------------------- deleting

    def test_delete_removes_only_that_object(self, store: ObjectStore) -> None:
        put(store, "pkg/v1/data/a", b"a")
        put(store, "pkg/v1/data/b", b"b")
        store.delete("pkg/v1/data/a")
        with pytest.raises(ObjectNotFound):
            store.stat("pkg/v1/data/a")
        assert keys(store) == ["pkg/v1/data/b"]
        store.delete("pkg/v1/data/b")
        assert keys(store) == []

    def test_deleting_an_absent_object_is_fine(self, store: ObjectStore) -> None:
        store.delete("never/was")
        put(store, "once", b"1")
        store.delete("once")
        store.delete("once")
        assert keys(store) == []

    def test_key_can_be_written_again_after_delete(self, store: ObjectStore) -> None:
        put(store, "deep/down/here", b"first")
        store.delete("deep/down/here")
        put(store, "deep/down/here", b"second")
        assert read(store, "deep/down/here") == b"second"

    # ------------------------------------------------------------- odd names

    @pytest.mark.parametrize("key", ODD_KEYS)
    def test_odd_key_round_trips(self, store: ObjectStore, key: str) -> None:
        data = key.encode("utf-8")
        assert put(store, key, data).key == key
        assert read(store, key) == data
        assert store.stat(key).size == len(data)
        assert keys(store) == [key]
        assert keys(store, key) == [key]
        store.delete(key)
        assert keys(store) == []

    def test_odd_keys_list_in_order(self, store: ObjectStore) -> None:
        for key in ODD_KEYS:
            put(store, key, b"x")
        assert keys(store) == sorted(ODD_KEYS)

    # ------------------------------------------------------------- capabilities

    def test_every_store_answers_what_it_can_do(self, store: ObjectStore) -> None:
        # Asked the same way of every store, never probed: readiness, the bucket,
        # a presigned URL or the refusal that says the store cannot make one.
        put(store, "pkg/v1/bagit.txt", b"kept")
        store.ensure_ready()
        store.ensure_ready()
        assert read(store, "pkg/v1/bagit.txt") == b"kept"
        assert store.bucket is None or isinstance(store.bucket, str)
        try:
            url = store.presigned_get("pkg/v1/bagit.txt", 60)
        except PresignUnsupported:
            assert store.bucket is None
        else:
            assert url.startswith(("http://", "https://"))
