"""Reading a batch folder and the items in it, without changing anything.

A batch is a folder: each child folder is one item, and an optional
``batch.json`` describes the batch as a whole. An item folder holds
``metadata.json`` and payload files in any nesting.

Reading is strict and complete. Nothing is skipped silently: files the
operating system made (``.DS_Store``, ``Thumbs.db``, ``._*``, ``__MACOSX/``;
the ``skip`` patterns, see ``ingest.system_files``) are skipped with a
SYSTEM_FILE_SKIPPED warning, at the batch root and in items; any other hidden
entry at the batch root is reported as a stray file like any other, and a
hidden folder there is an item like any other (it will most likely be rejected
for lacking metadata, which staff then see), because an archive must not
quietly leave behind something that was handed in. Every problem in a folder is
collected before answering, so staff can fix a batch in one round.

Symbolic links are never followed: not at the batch root, not in an item, not
when reading ``metadata.json``. They are refused, because a link could pull in
files from outside the batch (``/etc/passwd``) or loop forever. Only the batch
or item folder named by the caller is taken as given, link or not. Nothing is
written and the working directory is never changed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest.batch_files import BATCH_METADATA, SHAPELESS, batch_fields_in, given_fields, sheet_in
from ingest.errors import BatchUnreadable, ContentRefused
from ingest.findings import Finding, condense_warnings
from ingest.paths import check_relative_path, display_path, find_collisions, find_unportable
from ingest.received_bag import BAG_DECLARATION, ReceivedBag, read_received_bag
from ingest.spreadsheet import METADATA_CSV, Sheet, unmatched_rows
from ingest.submitted import FileIdentity, identity_seen, kind_of_mode, read_submitted, unreadable
from ingest.system_files import system_file_rule

ITEM_METADATA = "metadata.json"
#: A received bag's tag files (manifests, bag-info.txt) are read into memory up to this size each.
MAX_TAG_FILE_BYTES = 64 * 1024 * 1024
#: ... and up to this size in all: past it the rest are not read.
MAX_TAG_TOTAL_BYTES = 2 * MAX_TAG_FILE_BYTES


@dataclass(frozen=True)
class BatchLayout:
    """What a batch folder holds: its fields, its item folders and its problems."""

    root: Path
    fields: dict[str, Any]
    items: tuple[tuple[str, Path], ...]  # (item folder name, absolute path), sorted by name
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class PayloadEntry:
    """One payload file of an item."""

    path: str      # relative to the item, '/'-separated, original name
    source: Path   # absolute
    size: int
    #: what the scan saw; the read refuses any other file (FILE_CHANGED)
    identity: FileIdentity | None = field(default=None, compare=False)
    #: the folder (relative to the item, ending in '/') that ``path`` is below:
    #: "data/" for the payload of a received bag, else ""
    within: str = ""
    #: the SHA-256 (hex) the file was staged with (``ingest.staged_batch``): the
    #: one read at ingest must give it; None for a file read from a folder
    staged_sha256: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ItemScan:
    """What an item folder holds: its metadata bytes, its payload and its problems."""

    metadata: bytes | None
    payload: tuple[PayloadEntry, ...]  # sorted by path
    findings: tuple[Finding, ...] = ()
    #: the item is a ready-made bag (``ingest.received_bag``): what it declares
    received: ReceivedBag | None = None


def read_batch(batch_dir: str | os.PathLike[str], given: Mapping[str, str] | None = None, *,
               skip: Sequence[str] = ()) -> BatchLayout:
    """List the items of a batch folder and read its ``batch.json``.

    ``given`` holds batch fields typed beside the folder (a form's collection
    and description): they are checked by the same schema as batch.json and
    take the place of the file's fields of the same name; an empty value is
    no field. A given field the schema refuses is ``BATCH_METADATA_INVALID``
    with its JSON pointer, and no given field is kept.

    Problems with the contents become findings and never stop the good items:
    ``BATCH_METADATA_INVALID`` (batch.json unusable; the batch goes on with no
    fields), ``BATCH_STRAY_FILE`` (any other file at the root, hidden or not),
    ``SYMLINK_REFUSED``, ``FILE_TYPE_REFUSED``, ``PATH_UNSAFE`` (an item folder
    whose name is refused, including one with a line break; it is not listed
    as an item), ``FILE_UNREADABLE`` and ``BATCH_EMPTY``, and the warning
    ``SYSTEM_FILE_SKIPPED`` for a file or folder that ``skip`` (glob patterns,
    ``ingest.system_files``) names: it is neither a stray file nor an item.
    Any other hidden folder is an item like any other. Raises ``BatchUnreadable`` if the folder does not
    exist, is not a folder, or cannot be listed.
    """
    root = Path(os.path.abspath(batch_dir))
    try:
        if not stat.S_ISDIR(os.stat(root).st_mode):
            raise BatchUnreadable(f"{root} is not a folder")
        with os.scandir(root) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except FileNotFoundError as exc:
        raise BatchUnreadable(f"{root} does not exist") from exc
    except OSError as exc:
        raise BatchUnreadable(f"{root} cannot be listed: {exc.strerror or exc}") from exc

    fields: dict[str, Any] = {}
    items: list[tuple[str, Path]] = []
    findings: list[Finding] = []
    sheet: Sheet | None = None
    for entry in entries:
        name = entry.name
        try:
            kind = _kind(entry)
        except OSError as exc:
            findings.append(unreadable(name, exc))
            continue
        if name == BATCH_METADATA:
            fields, problems = batch_fields_in(entry, kind)
            findings += problems
        elif name == METADATA_CSV and kind in ("file", "symlink"):
            sheet, problems = sheet_in(root, kind, SHAPELESS, identity_seen(entry))
            findings += problems
        elif name == METADATA_CSV:
            # A folder (or a pipe) by the sheet's name is not an item called
            # "metadata.csv": the batch's sheet that cannot be read.
            findings.append(Finding("FILE_TYPE_REFUSED", path=METADATA_CSV, found=kind))
        elif skipped := _skipped(name, name, kind, skip):
            findings.append(skipped)
        elif kind == "symlink":
            findings.append(Finding("SYMLINK_REFUSED", path=display_path(name)))
        elif kind == "folder":
            refused = _item_name_findings(name)
            if refused:
                findings += refused
            else:
                items.append((name, root / name))
        elif kind == "file":
            findings.append(Finding("BATCH_STRAY_FILE", path=display_path(name)))
        else:
            findings.append(Finding("FILE_TYPE_REFUSED", path=display_path(name), found=kind))
    if given:
        typed, problems = given_fields(given)
        fields = {**fields, **typed}
        findings += problems
    if sheet is not None:
        findings += sheet.findings
        findings += unmatched_rows(sheet, [name for name, _ in items])
    if not items:
        findings.append(Finding("BATCH_EMPTY"))
    return BatchLayout(root=root, fields=fields, items=tuple(items), findings=tuple(findings))


def scan_item(item_dir: Path, *, max_metadata_bytes: int = 1024 * 1024,
              within: Path | None = None, skip: Sequence[str] = ()) -> ItemScan:
    """Walk an item folder and sort what is in it into metadata, payload and problems.

    ``metadata.json`` at the item root is the metadata; every other regular
    file, at any depth, is payload (empty files included; empty folders leave
    no trace). The walk is iterative, so nesting depth is not limited by
    Python's recursion limit, and visits names in sorted order. Findings:
    ``METADATA_MISSING``, ``METADATA_TOO_LARGE`` (more than
    ``max_metadata_bytes``; the rest is never read), ``SYMLINK_REFUSED``,
    ``FILE_TYPE_REFUSED`` (found "named pipe", "socket", "device" or "folder"
    for a folder named metadata.json), ``FILE_UNREADABLE``, ``PATH_UNSAFE``,
    ``NAME_COLLISION`` and ``PAYLOAD_EMPTY`` (``ITEM_FOLDER_EMPTY`` instead of
    it and ``METADATA_MISSING`` for a folder with no file at all). Refused files
    are not payload.
    A file or folder that ``skip`` (glob patterns, ``ingest.system_files``)
    names is not payload: it gives the warning ``SYSTEM_FILE_SKIPPED`` (once for
    a folder, not for what it holds).
    An item with ``bagit.txt`` at its root is a received bag
    (``ingest.received_bag``): its payload is what is below ``data/`` (paths
    relative to data/, ``PayloadEntry.within`` "data/"), every other file is a
    tag file, read into memory and checked (``ItemScan.received``, its
    findings added), and the metadata is the bag's (metadata.json, its
    metadata/record.json, or mapped from bag-info.txt).
    Raises nothing for problems inside the folder. ``within`` is the batch
    folder holding the item: ``metadata.json`` is then read walking from it, so
    that an item folder swapped for a link is refused too.
    """
    walk = walk_item(item_dir, max_metadata_bytes=max_metadata_bytes, within=within, skip=skip)
    base = Path(os.path.abspath(within)) if within is not None else Path(os.path.abspath(item_dir))
    above = Path(os.path.abspath(item_dir)).name + "/" if within is not None else ""
    hidden = 0 if within is None else 1

    def read_tag(entry: PayloadEntry) -> bytes:
        return read_submitted(base, above + entry.path, MAX_TAG_FILE_BYTES, entry.identity,
                              hidden=hidden)
    return finish_scan(walk, read_tag)


@dataclass(frozen=True)
class ItemWalk:
    """What walking an item folder found, before a received bag is told apart:
    ``metadata.json`` (read), every payload file listed and the walk's problems.
    ``listed`` is False when the item folder itself could not be listed."""

    metadata: bytes | None
    metadata_seen: bool
    payload: tuple[PayloadEntry, ...]
    findings: tuple[Finding, ...]
    listed: bool = True


def walk_item(item_dir: Path, *, max_metadata_bytes: int = 1024 * 1024,
              within: Path | None = None, skip: Sequence[str] = ()) -> ItemWalk:
    """The walk of ``scan_item`` alone (its findings but those ``finish_scan``
    adds): what a submission stages of an item (``ingest.staged_batch``).
    Raises nothing for problems inside the folder."""
    root = Path(os.path.abspath(item_dir))
    base, hidden = (root, 0) if within is None else (Path(os.path.abspath(within)), 1)
    above = root.name + "/" if hidden else ""
    findings: list[Finding] = []
    payload: list[PayloadEntry] = []
    metadata: bytes | None = None
    metadata_seen = False

    # Each pending folder: its absolute path, its path relative to the item,
    # and whether its own name (or a folder above) was already refused, in
    # which case nothing below it becomes payload and only names that are bad
    # in themselves are reported again.
    pending: list[tuple[str, str, bool]] = [(str(root), "", False)]
    while pending:
        folder, folder_rel, refused_above = pending.pop()
        prefix = folder_rel + "/" if folder_rel else ""
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            if not folder_rel:
                # The item itself cannot be listed: nothing more can be said.
                return ItemWalk(None, False, (), (unreadable(".", exc),), listed=False)
            findings.append(unreadable(folder_rel, exc))
            continue

        if folder_rel and not entries and not refused_above:
            # BagIt keeps files, not folders: said, so that no one looks for it later.
            findings.append(Finding("EMPTY_FOLDER_SKIPPED", path=display_path(folder_rel)))
        subfolders: list[tuple[str, str, bool]] = []
        for entry in entries:
            rel = prefix + entry.name
            try:
                kind = _kind(entry)
            except OSError as exc:
                findings.append(unreadable(rel, exc))
                continue

            if not prefix and entry.name == ITEM_METADATA:
                metadata_seen = True
                metadata, problems = _item_metadata(entry, kind, max_metadata_bytes,
                                                    base, above, hidden)
                findings += problems
                continue

            if skipped := _skipped(rel, entry.name, kind, skip):
                findings.append(skipped)
                continue
            if kind == "symlink":
                findings.append(Finding("SYMLINK_REFUSED", path=display_path(rel)))
                continue
            if kind not in ("folder", "file"):
                findings.append(Finding("FILE_TYPE_REFUSED", path=display_path(rel), found=kind))
                continue

            unsafe = _name_findings(rel, entry.name, refused_above)
            findings += unsafe
            refused = refused_above or bool(unsafe)
            if kind == "folder":
                subfolders.append((entry.path, rel, refused))
                continue
            try:
                identity = FileIdentity.of(entry.stat(follow_symlinks=False))
                _check_readable(entry.path)
            except OSError as exc:
                findings.append(unreadable(rel, exc))
                continue
            if not refused:
                payload.append(PayloadEntry(path=rel, source=Path(entry.path), size=identity.size,
                                            identity=identity))
        # Reversed, so that the first name in sorted order is walked first.
        pending.extend(reversed(subfolders))

    payload.sort(key=lambda p: p.path)
    return ItemWalk(metadata, metadata_seen, tuple(payload), tuple(findings))


def finish_scan(walk: ItemWalk, read_tag: Callable[[PayloadEntry], bytes]) -> ItemScan:
    """The scan of an item from its walk: name collisions, a received bag told
    apart (its tag files read with ``read_tag``, which raises ContentRefused or
    OSError), METADATA_MISSING and PAYLOAD_EMPTY, or ITEM_FOLDER_EMPTY alone for
    a folder that holds neither. Raises nothing for bad input."""
    if not walk.listed:
        return ItemScan(None, (), walk.findings)
    payload = list(walk.payload)
    metadata = walk.metadata
    metadata_seen = walk.metadata_seen
    findings = list(walk.findings)
    names = [p.path for p in payload]
    if metadata is not None:
        # A payload "METADATA.JSON" beside metadata.json is one file wherever
        # case is ignored: copied through such a system, the item would have
        # lost its metadata or that payload file, so staff must choose.
        names.append(ITEM_METADATA)
    findings += find_collisions(names)
    # A name Windows cannot hold is kept (it is the record's), with a warning.
    findings += find_unportable(names)
    received: ReceivedBag | None = None
    if any(p.path == BAG_DECLARATION for p in payload):
        payload, received, problems = _received_bag(payload, metadata, read_tag)
        findings += problems
        metadata = received.metadata
        metadata_seen = metadata is not None
    refused = any(f.is_error and f.path not in (None, ITEM_METADATA) for f in walk.findings)
    if not metadata_seen and not payload and not refused:
        # Nothing at all: one finding for the folder, not one for each thing it lacks.
        findings.append(Finding("ITEM_FOLDER_EMPTY"))
        return ItemScan(metadata=None, payload=(), findings=tuple(findings))
    if not metadata_seen:
        hint = None if received is None else (
            "a bag is described by a metadata.json beside its bagit.txt, its"
            " metadata/record.json, or External-Identifier, Title and Bagging-Date in its"
            " bag-info.txt")
        findings.append(Finding("METADATA_MISSING", path=ITEM_METADATA, hint=hint))
    # "No payload file" only when there was none: an item whose files were all
    # refused is told why each was, not also that it is empty.
    if not payload and not refused:
        findings.append(Finding("PAYLOAD_EMPTY"))
    # Ten thousand skipped `._` files, or names Windows cannot hold, are one story each.
    return ItemScan(metadata=metadata, payload=tuple(payload),
                    findings=tuple(condense_warnings(findings)), received=received)


def _received_bag(payload: list[PayloadEntry], metadata: bytes | None,
                  read_tag: Callable[[PayloadEntry], bytes],
                  ) -> tuple[list[PayloadEntry], ReceivedBag, list[Finding]]:
    """Split a received bag's files into its payload (``data/``, paths made relative
    to it) and its tag files (read into memory), and check it as received."""
    data: list[PayloadEntry] = []
    tags: dict[str, bytes] = {}
    findings: list[Finding] = []
    outside: list[PayloadEntry] = []
    for entry in payload:
        if entry.path.startswith("data/"):
            data.append(replace(entry, path=entry.path.removeprefix("data/"), within="data/"))
        else:
            outside.append(entry)
    # The bag's own tag files (bagit.txt, bag-info.txt, the manifests) sit at its
    # root: read first, so that the budget in all goes to them before any other.
    outside.sort(key=lambda e: ("/" in e.path, e.path))
    held = 0
    unread: list[PayloadEntry] = []
    for entry in outside:
        if entry.size > MAX_TAG_FILE_BYTES:
            findings.append(Finding("RECEIVED_BAG_INVALID", path=display_path(entry.path), params={
                "detail": f"a tag file larger than {MAX_TAG_FILE_BYTES} bytes is not read"}))
            continue
        if held + entry.size > MAX_TAG_TOTAL_BYTES:
            unread.append(entry)
            continue
        held += entry.size
        try:
            tags[entry.path] = read_tag(entry)
        except ContentRefused as refused:
            findings.append(refused.finding)
        except OSError as exc:
            findings.append(unreadable(entry.path, exc))
    if unread:
        total = held + sum(e.size for e in unread)
        findings.append(Finding("RECEIVED_BAG_INVALID", path=display_path(unread[0].path), params={
            "detail": (f"the files outside data/ come to {total} bytes in all, more than the "
                       f"{MAX_TAG_TOTAL_BYTES} read of a bag's tag files: {len(unread)} of them "
                       f"were not read; put large files in data/, as payload")}))
    if metadata is not None:
        tags[ITEM_METADATA] = metadata
    bag = read_received_bag(tags, {e.path: e.size for e in data})
    return data, bag, findings + list(bag.findings)


# --------------------------------------------------------------------------- internals


def _item_name_findings(name: str) -> list[Finding]:
    """PATH_UNSAFE for an item folder name, which is stricter than a payload name.

    The item name is written into bag-info.txt (Internal-Sender-Identifier),
    a line-based file where CR and LF cannot be escaped, and is shown in
    listings; so line breaks, legal in payload names, are refused here.
    """
    findings = check_relative_path(name)
    if "\r" in name or "\n" in name:
        detail = "an item name cannot hold a line break"
        if findings:
            detail = findings[0].params["detail"] + "; " + detail
        findings = [Finding("PATH_UNSAFE", path=display_path(name), params={"detail": detail})]
    return findings


def _skipped(rel: str, name: str, kind: str, skip: Sequence[str]) -> Finding | None:
    """SYSTEM_FILE_SKIPPED when ``skip`` names this file or folder (never a link
    or a special file: those are refused as ever)."""
    if kind not in ("file", "folder"):
        return None
    rule = system_file_rule(name, is_folder=kind == "folder", patterns=skip)
    if rule is None:
        return None
    shown = display_path(rel) + ("/" if kind == "folder" else "")
    return Finding("SYSTEM_FILE_SKIPPED", path=shown, params={"rule": rule})


def _kind(entry: os.DirEntry[str]) -> str:
    """What an entry is, never looking through a symbolic link."""
    if entry.is_symlink():
        return "symlink"
    if entry.is_dir(follow_symlinks=False):
        return "folder"
    if entry.is_file(follow_symlinks=False):
        return "file"
    return kind_of_mode(entry.stat(follow_symlinks=False).st_mode)


def _name_findings(rel: str, name: str, refused_above: bool) -> list[Finding]:
    """PATH_UNSAFE for this entry, not repeating what a folder above already explains."""
    if not refused_above:
        return check_relative_path(rel)
    # A folder above is refused already; report only a name bad in itself.
    return [replace(f, path=display_path(rel)) for f in check_relative_path(name)]


def _check_readable(path: str) -> None:
    """Open and close a payload file, so a permission problem shows now, not mid-ingest."""
    os.close(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)))


def _item_metadata(entry: os.DirEntry[str], kind: str, limit: int, base: Path, above: str,
                   hidden: int) -> tuple[bytes | None, list[Finding]]:
    if kind == "symlink":
        return None, [Finding("SYMLINK_REFUSED", path=ITEM_METADATA)]
    if kind != "file":
        return None, [Finding("FILE_TYPE_REFUSED", path=ITEM_METADATA, found=kind)]
    try:
        raw = read_submitted(base, above + ITEM_METADATA, limit + 1, identity_seen(entry), hidden=hidden)
    except ContentRefused as refused:
        return None, [refused.finding]
    except OSError as exc:
        return None, [unreadable(ITEM_METADATA, exc)]
    if len(raw) > limit:
        return None, [Finding("METADATA_TOO_LARGE", path=ITEM_METADATA,
                              params={"detail": f"it is larger than {limit} bytes"})]
    return raw, []


__all__ = [
    "ITEM_METADATA",
    "MAX_TAG_FILE_BYTES",
    "MAX_TAG_TOTAL_BYTES",
    "BatchLayout",
    "ItemScan",
    "ItemWalk",
    "PayloadEntry",
    "finish_scan",
    "read_batch",
    "scan_item",
    "walk_item",
]
