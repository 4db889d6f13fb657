"""Any legal payload tree goes in and comes back out byte for byte, as a valid bag.

Hypothesis draws payload trees (names with spaces, ``%``, CR and LF, non-ASCII
text in NFC, hidden names, nesting up to four folders deep, empty files, random
bytes) and keeps those the batch rules accept. Each tree is submitted as a
one-item batch into a fresh SQLite catalog and filesystem store, ingested
in-process, then fetched as a folder and as a tar stream. Both must hold the
submitted payload exactly, and the fetched folder must validate with our own
verifier and, where it can read the names, with LOC bagit.

LOC bagit 1.9 misreads three kinds of legal names, so for those only our own
verifier judges the bag (each is a bug of bagit-python, not of the bag):

- ``%``: it does not decode ``%25`` in manifest paths (bagit-python#157);
- a path ending in whitespace: it strips manifest lines (bagit-python#143);
- more than two CRs or LFs in one path: it passes ``re.IGNORECASE`` to
  ``re.sub`` as the count, so decodes only the first two (bagit-python#189).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import bagit
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.clock import FixedClock
from ingest.local_targets import fetch_to_folder
from ingest.models import ItemStatus, package_id_for
from ingest.paths import check_relative_path, find_collisions
from ingest.record_schema import SchemaSet
from ingest.retrieval import write_tar
from ingest.services import Services
from ingest.submission import submit_batch
from ingest.verification import verify_bag
from storage.catalog import SqlCatalog
from storage.filesystem import FilesystemObjectStore
from workers.inprocess import run_items

IDENTIFIER = "roundtrip-record-1"
RECORD_TIME = datetime(2024, 5, 1, tzinfo=UTC)
RECORD = {
    "identifier": IDENTIFIER,
    "title": "A record of odd file names",
    "date": "1951-06-21",
    "type": "letter",
    "language": "en",
    "rights": {"statement": "May be copied freely.", "holder": "Strongroom contributors"},
}

# Characters the rules must accept, drawn often, plus the rest of Unicode
# (no surrogates: a str name must be encodable; no other controls: refused).
_SPECIAL = list(" %\r\n.-_~#'\"&()[]{}+=,;!@$^`éÅñßΩЖ日本語\u00a0\u3000\u2028\u200b\ufeff")
_NAME_CHAR = st.one_of(
    st.sampled_from(_SPECIAL),
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="/\\"),
)
_COMPONENT = st.text(_NAME_CHAR, min_size=1, max_size=12).map(
    lambda name: unicodedata.normalize("NFC", name))
_PATH = st.lists(_COMPONENT, min_size=1, max_size=4).map("/".join)


def is_legal_tree(payload: dict[str, bytes]) -> bool:
    """What a batch accepts: safe names, no collisions, no file that is also a folder."""
    paths = list(payload)
    if "metadata.json" in paths or any(check_relative_path(p) for p in paths):
        return False
    if find_collisions(paths + ["metadata.json"]):
        return False
    folders = {p.rsplit("/", 1)[0] for p in paths if "/" in p}
    every_folder = {"/".join(f.split("/")[: i + 1]) for f in folders for i in range(f.count("/") + 1)}
    return not (every_folder & set(paths))


PAYLOAD_TREES = st.dictionaries(_PATH, st.binary(max_size=4096), min_size=1, max_size=6).filter(
    is_legal_tree)


def loc_bagit_can_read(paths: list[str]) -> bool:
    """False for the names LOC bagit 1.9 misreads (see the module docstring)."""
    return not any("%" in p or p[-1].isspace() or p.count("\r") > 2 or p.count("\n") > 2
                   for p in paths)


def write_batch(root: Path, payload: dict[str, bytes]) -> Path:
    batch = root / "batch"
    item = batch / "item"
    item.mkdir(parents=True)
    (item / "metadata.json").write_text(json.dumps(RECORD), encoding="utf-8")
    for path, data in payload.items():
        target = item.joinpath(*path.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return batch


def files_below(folder: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            full = Path(dirpath) / name
            out[full.relative_to(folder).as_posix()] = full.read_bytes()
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=PAYLOAD_TREES)
@example(payload={
    "letter of 12 May.txt": b"spaces",
    "100% done/report.txt": b"percent",
    "line\nbreak\r\nname.txt": b"CR and LF",
    "empty.txt": b"",
    "Телеграмма/1951/06/21.txt": bytes(range(256)),
}).via("the names staff actually send")
@example(payload={
    # A macOS-style decomposed name: Linux keeps it as given, and so must we.
    unicodedata.normalize("NFD", "naïve résumé.txt"): b"NFD",
    "a\n\n\nb.txt": b"three LFs",
    "trailing space ": b"",
}).via("names LOC bagit misreads")
def test_any_legal_payload_tree_round_trips_byte_for_byte(payload: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        catalog = SqlCatalog.from_url("sqlite:///" + str(root / "catalog.sqlite"))
        try:
            # Every drawn file is payload: a name such as DESKTOP.INI is otherwise
            # skipped as a system file (its own tests), which this one is not about.
            services = Services(catalog=catalog, store=FilesystemObjectStore(root / "objects"),
                                clock=FixedClock(RECORD_TIME), schemas=SchemaSet.default(),
                                skip_system_files=())
            submitted = submit_batch(write_batch(root, payload), services)
            results = run_items([i.item_id for i in submitted.items], services, backoff=0)
            # Stored; names Windows cannot hold (a line break, ':') are only told.
            assert [r.status for r in results] == [ItemStatus.STORED]
            assert {f.code for f in results[0].findings} <= {"PATH_NOT_PORTABLE"}

            package_id = package_id_for(IDENTIFIER)
            bag = root / "fetched" / "bag"
            version, findings = fetch_to_folder(services, package_id, None, bag)
            assert findings == []
            assert files_below(bag / "data") == payload

            stream = io.BytesIO()
            _, tar_findings = write_tar(services, package_id, None, stream)
            assert tar_findings == []
            stream.seek(0)
            top = f"{package_id}_v{version.number}/"
            with tarfile.open(fileobj=stream, mode="r:") as tar:
                members = {m.name[len(top):]: tar.extractfile(m).read()
                           for m in tar.getmembers() if m.isfile()}
            assert {p[len("data/"):]: d for p, d in members.items() if p.startswith("data/")} \
                == payload
            assert files_below(bag) == members

            fetched = FilesystemObjectStore(root / "fetched")
            assert verify_bag(fetched, "bag/", expected=version.files) == []
            if loc_bagit_can_read(list(payload)):
                bagit.Bag(str(bag)).validate()
        finally:
            catalog.engine.dispose()

