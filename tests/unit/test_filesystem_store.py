"""The filesystem object store: the shared contract, plus what only a folder can get wrong."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ingest.errors import ObjectNotFound, StorageUnavailable
from storage.filesystem import FilesystemObjectStore
from storage.filesystem_paths import STAGING
from tests.contract_object_store import ObjectStoreContract, digest, keys, put, read


class TestFilesystemStoreContract(ObjectStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> FilesystemObjectStore:
        return FilesystemObjectStore(tmp_path / "objects")


@pytest.fixture
def store(tmp_path: Path) -> FilesystemObjectStore:
    return FilesystemObjectStore(tmp_path / "objects")


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())


def test_location_is_a_file_url_of_the_root(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "my objects")
    assert store.location == (tmp_path / "my objects").as_uri()
    assert store.location.startswith("file:///")
    assert (tmp_path / "my objects").is_dir()


def test_crash_mid_write_leaves_no_visible_object(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    program = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from storage.filesystem import FilesystemObjectStore
        store = FilesystemObjectStore(Path({str(root)!r}))
        writer = store.writer("pkg/v1/data/big.bin")
        writer.write(b"x" * 100_000)
        os._exit(9)  # the power goes out before commit
    """)
    done = subprocess.run([sys.executable, "-c", program], cwd=Path(__file__).parents[2])
    assert done.returncode == 9
    store = FilesystemObjectStore(root)
    assert keys(store) == []
    with pytest.raises(ObjectNotFound):
        store.stat("pkg/v1/data/big.bin")
    assert not (root / "pkg").exists()
    # The leftover staging file stays out of sight and out of the way.
    assert len(list((root / STAGING).iterdir())) == 1
    put(store, "pkg/v1/data/big.bin", b"whole")
    assert keys(store) == ["pkg/v1/data/big.bin"]


def test_writer_dropped_without_commit_leaves_no_visible_object(
        store: FilesystemObjectStore) -> None:
    writer = store.writer("pkg/v1/bagit.txt")
    writer.write(b"BagIt-Version: 1.0\n")
    del writer
    assert keys(store) == []
    with pytest.raises(ObjectNotFound):
        store.open("pkg/v1/bagit.txt")


UNSAFE_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "a/../../outside",
    "a/..",
    "./a",
    "a/./b",
    "a//b",
    "a/",
    "nul\x00byte",
    f"{STAGING}/object-x.part",
    "x" * 256,
]


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_key_is_refused_everywhere(store: FilesystemObjectStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.writer(key)
    with pytest.raises(ValueError):
        store.put_bytes(key, b"x", digest(b"x"))
    with pytest.raises(ValueError):
        store.open(key)
    with pytest.raises(ValueError):
        store.stat(key)
    with pytest.raises(ValueError):
        store.delete(key)


def test_key_through_a_link_out_of_the_root_touches_nothing_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"not yours")
    store = FilesystemObjectStore(tmp_path / "objects")
    (tmp_path / "objects" / "escape").symlink_to(outside)
    with pytest.raises(ObjectNotFound, match="symbolic link"):
        store.open("escape/secret")
    with pytest.raises(ObjectNotFound):
        store.stat("escape/secret")
    store.delete("escape/secret")  # not an object of the store: nothing to delete
    assert files_under(outside) == ["secret"]
    # A writer of the key takes the link away (damage in the store) and writes a real file.
    store.put_bytes("escape/planted", b"x", digest(b"x"))
    assert files_under(outside) == ["secret"]
    assert not (tmp_path / "objects" / "escape").is_symlink()
    assert store.open("escape/planted").read() == b"x"


def test_a_folder_linked_after_the_store_saw_it_is_not_read_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    store = FilesystemObjectStore(tmp_path / "objects")
    put(store, "pkg/v1/data/a.txt", b"ours")
    assert store.open("pkg/v1/data/a.txt").read() == b"ours"  # the folder is remembered now
    folder = tmp_path / "objects" / "pkg" / "v1" / "data"
    (outside / "a.txt").write_bytes(b"ours")
    for name in os.listdir(folder):
        os.unlink(folder / name)
    folder.rmdir()
    folder.symlink_to(outside, target_is_directory=True)
    with pytest.raises(ObjectNotFound):
        store.open("pkg/v1/data/a.txt")


def test_a_fifo_in_the_store_is_no_object_and_never_blocks_a_reader(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    put(store, "pkg/v1/data/a.txt", b"ours")
    stored = tmp_path / "objects" / "pkg" / "v1" / "data" / "a.txt"
    stored.unlink()
    os.mkfifo(stored)
    with pytest.raises(ObjectNotFound):
        store.open("pkg/v1/data/a.txt")


def test_list_does_not_follow_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"not yours")
    store = FilesystemObjectStore(tmp_path / "objects")
    put(store, "pkg/real", b"1")
    (tmp_path / "objects" / "pkg" / "linked-folder").symlink_to(outside)
    (tmp_path / "objects" / "pkg" / "linked-file").symlink_to(outside / "secret")
    (tmp_path / "objects" / "pkg" / "link-to-real").symlink_to(
        tmp_path / "objects" / "pkg" / "real")
    assert keys(store) == ["pkg/real"]
    with pytest.raises(ObjectNotFound):
        store.stat("pkg/link-to-real")
    with pytest.raises(ObjectNotFound):
        store.open("pkg/link-to-real")
    with pytest.raises(ObjectNotFound):
        store.stat("pkg/linked-file")


def test_nothing_is_written_outside_the_root(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path / "objects")
    put(store, "pkg/v1/data/a b/c.txt", b"1")
    writer = store.writer("pkg/v1/data/aborted")
    writer.write(b"2")
    writer.abort()
    for key in UNSAFE_KEYS:
        with pytest.raises(ValueError):
            store.put_bytes(key, b"x", digest(b"x"))
    store.delete("pkg/v1/data/a b/c.txt")
    assert [p.name for p in tmp_path.iterdir()] == ["objects"]
    assert files_under(tmp_path / "objects") == []


def test_delete_prunes_empty_folders_but_not_the_root(store: FilesystemObjectStore) -> None:
    put(store, "pkg/v1/data/deep/file", b"1")
    put(store, "pkg/v1/bagit.txt", b"2")
    store.delete("pkg/v1/data/deep/file")
    assert not (store.root / "pkg" / "v1" / "data").exists()
    assert (store.root / "pkg" / "v1" / "bagit.txt").is_file()
    store.delete("pkg/v1/bagit.txt")
    assert store.root.is_dir()
    assert [p.name for p in store.root.iterdir() if p.name != STAGING] == []


def test_staging_folder_is_never_listed(store: FilesystemObjectStore) -> None:
    writer = store.writer("pkg/x")
    writer.write(b"pending")
    put(store, ".stagingless", b"a legal name that only looks like it")
    assert keys(store) == [".stagingless"]
    assert keys(store, ".st") == [".stagingless"]
    writer.abort()


def test_object_and_folder_of_the_same_key_are_refused(store: FilesystemObjectStore) -> None:
    put(store, "a", b"object")
    with pytest.raises(ValueError):
        put(store, "a/b", b"below an object")
    put(store, "c/d", b"in a folder")
    with pytest.raises(ValueError):
        put(store, "c", b"over a folder")
    assert keys(store) == ["a", "c/d"]
    assert files_under(store.root / STAGING) == []


def test_disk_full_at_commit_is_storage_unavailable(
        store: FilesystemObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    writer = store.writer("pkg/v1/data/a")
    writer.write(b"bytes")
    monkeypatch.setattr(os, "link", no_space)     # a new key is linked into place
    monkeypatch.setattr(os, "replace", no_space)  # an existing one is replaced
    with pytest.raises(StorageUnavailable) as caught:
        writer.commit(digest(b"bytes"))
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.__cause__.errno == errno.ENOSPC
    monkeypatch.undo()
    assert keys(store) == []
    assert files_under(store.root / STAGING) == []  # the staging file is gone too


def test_read_error_is_storage_unavailable(
        store: FilesystemObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    put(store, "a", b"1")

    def io_error(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "open", io_error)
    with pytest.raises(StorageUnavailable):
        store.open("a")


def test_read_only_store_is_storage_unavailable(
        store: FilesystemObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def read_only(path: object, *args: object, **kwargs: object) -> int:
        if ".staging" in str(path):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(StorageUnavailable):
        store.writer("a")


def test_closed_writer_refuses_more_bytes(store: FilesystemObjectStore) -> None:
    writer = store.writer("a")
    writer.write(b"1")
    writer.commit(digest(b"1"))
    with pytest.raises(ValueError):
        writer.write(b"2")
    with pytest.raises(ValueError):
        writer.commit(digest(b"12"))
    writer.abort()  # after commit: harmless, and the object stays
    assert read(store, "a") == b"1"
