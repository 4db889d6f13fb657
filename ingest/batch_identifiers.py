"""Items of one batch that claim the same record identifier.

A record identifier names one package; two items of a batch that give the same
one would become two versions of one package, in whichever order the workers
happened to finish them (an attack trial saw the order change from run to run).
Neither item can be the right one by itself, so both are refused: the batch
gets an ``IDENTIFIER_DUPLICATE`` finding naming the items, and each of them the
same finding at ``/identifier`` when it is ingested (``item_duplicate``). A
later version of a record goes in a later batch.

Identifiers are compared by ``identifier_key`` (NFKC, case-folded, without
characters that show nothing), so ``café`` typed on two keyboards, or
``SG-PR-0021``, ``sg-pr-0021`` and ``ｓｇ-pr-0021``, are one identifier here. Across batches, a new package whose
identifier is an existing package's in another normalization form (NFC against
NFD: the same letters, other code points, so another package id) is refused
at its ingest, ``IDENTIFIER_NOT_AS_STORED`` (``stored_twin``): it would be a
second package that reads exactly like the first; one that differs from an
existing package's only in capitals, letter forms (fullwidth) or characters that
show nothing (U+200B), ``IDENTIFIER_READS_LIKE_ANOTHER`` (``identifier_key``);
one written as another package's id, ``IDENTIFIER_IS_A_PACKAGE_ID`` (a package
is looked up by its id or its identifier, and that id would name two). An
identifier that reads like that of a package deaccessioned as a whole, in any
of those forms, is refused with ``PACKAGE_DEACCESSIONED``
(``identifier_refusal``, which the dry run asks as well). Two such items of
other batches at work at once cannot both pass it: a new package's first claim
waits while a package whose identifier reads like it is being written
(``Catalog.reserve_version``), and is then refused by it.
The identifiers are read at submission, once per item, from its ``metadata.json`` (never through a link, at most
``MAX_METADATA_BYTES``) or its row of ``metadata.csv``; an item whose metadata
cannot be read is left to the ingest, which says why.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence
from pathlib import Path

from ingest.batch import ITEM_METADATA, BatchLayout
from ingest.batch_files import SHAPELESS, read_sheet
from ingest.errors import ContentRefused, Deaccessioned
from ingest.findings import Finding, in_words
from ingest.layout import canonical_package_id
from ingest.metadata import MAX_METADATA_BYTES, parse_metadata
from ingest.models import VersionRecord, identifier_key, package_id_for
from ingest.ports import IdentifierCatalog
from ingest.spreadsheet import METADATA_CSV, Sheet
from ingest.submitted import read_submitted
from ingest.tombstones import not_taken_back

CODE = "IDENTIFIER_DUPLICATE"


def duplicate_identifiers(layout: BatchLayout) -> list[Finding]:
    """One ``IDENTIFIER_DUPLICATE`` batch finding for each identifier that more
    than one item of the batch gives, naming the items in quotes (a trailing
    space is what tells two folders apart, often) and, for an identifier from
    ``metadata.csv``, its row. Raises nothing."""
    sheet, _ = read_sheet(layout.root, SHAPELESS)
    by_identifier: dict[str, list[tuple[str, int | None]]] = {}
    for name, folder in layout.items:
        given = _identifier(folder, name, sheet)
        if given is not None:
            identifier, row = given
            by_identifier.setdefault(identifier_key(identifier), []).append((name, row))
    return [Finding(CODE, found=identifier, params={
                "items": in_words([f"{name!r}" + (f" ({METADATA_CSV} row {row})" if row else "")
                                   for name, row in items]),
                "names": [name for name, _ in items],
                "rows": {name: row for name, row in items if row}})
            for identifier, items in sorted(by_identifier.items()) if len(items) > 1]


def item_duplicate(batch_findings: Sequence[Finding], name: str) -> Finding | None:
    """The finding that refuses item ``name`` for sharing its identifier with another
    item of its batch, or None: at ``/identifier`` of its metadata.json, or of
    its row of metadata.csv."""
    for finding in batch_findings:
        if finding.code == CODE and name in (finding.params.get("names") or ()):
            row = (finding.params.get("rows") or {}).get(name)
            params: dict[str, object] = {"items": finding.params.get("items", name)}
            if row:
                params.update(row=row, column="identifier")
            return Finding(CODE, path=METADATA_CSV if row else ITEM_METADATA,
                           pointer="/identifier", found=finding.found, params=params)
    return None


def stored_twin(catalog: IdentifierCatalog, identifier: str) -> tuple[str, str] | None:
    """(package id, identifier) of a stored package whose identifier is
    ``identifier`` in another Unicode normalization form (NFC or NFD), or
    written with other capitals, or whose package id ``identifier`` is (a record
    named as another package's id would make that package's id ambiguous
    wherever a package is looked up), or None. One lookup by package id, one per
    form that differs (none for an ASCII identifier), then one by the
    identifier's key."""
    named = catalog.latest_version(identifier)  # None for no live package of that id
    if named is not None and named.package_id == identifier:
        return identifier, named.identifier
    for form in ("NFC", "NFD"):
        other = unicodedata.normalize(form, identifier)
        if other == identifier:
            continue
        package_id = package_id_for(other)
        try:
            latest = catalog.latest_version(package_id)
        except Deaccessioned:
            continue  # withdrawn: nothing left that reads like the new one
        if latest is not None:
            return package_id, latest.identifier
    return next(((package_id, stored) for package_id, stored
                 in catalog.packages_with_identifier_key(identifier_key(identifier))
                 if stored != identifier), None)


def identifier_refusal(catalog: IdentifierCatalog, identifier: str,
                       latest: VersionRecord | None) -> Finding | None:
    """Why an item whose record gives ``identifier`` may not be ingested, or None;
    ``latest`` is the latest version of the package it names (None: it would be a
    new package, the only kind this refuses). The one rule that the ingest and the
    dry run (``submit --check``) both ask.

    A new package may not take an identifier that reads like a live package's
    identifier or id (``stored_twin``, ``twin_finding``), nor one that reads like
    the identifier of a package deaccessioned as a whole, in any form a live
    package's would be refused in (``PACKAGE_DEACCESSIONED``: two people decided
    that it leaves the archive; one submission, in whatever capitals, does not
    bring it back), nor one written as a package id could be
    (``IDENTIFIER_IN_PACKAGE_ID_FORM``). Raises CatalogUnavailable."""
    if latest is not None:
        return None
    twin = stored_twin(catalog, identifier)
    if twin is not None:  # the more telling: it names the package
        return twin_finding(twin, identifier)
    withdrawn = catalog.withdrawn_with_identifier_key(identifier_key(identifier))
    if withdrawn:
        return not_taken_back(withdrawn[0], identifier)
    if _in_package_id_form(identifier):
        return Finding("IDENTIFIER_IN_PACKAGE_ID_FORM", path=ITEM_METADATA, pointer="/identifier",
                       found=identifier)
    return None


def _in_package_id_form(identifier: str) -> bool:
    """A package id is a version-5 UUID written in lower case (``package_id_for``):
    an identifier written so may be the id another record's package will have
    (anyone can compute it), and every lookup by that id would then be ambiguous."""
    found = canonical_package_id(identifier)
    return found is not None and uuid.UUID(found).version == 5


def twin_finding(twin: tuple[str, str], identifier: str) -> Finding:
    """The finding that refuses a new package for ``stored_twin``'s answer."""
    package_id, stored = twin
    if package_id == identifier:
        return Finding("IDENTIFIER_IS_A_PACKAGE_ID", path=ITEM_METADATA, pointer="/identifier",
                       found=identifier, expected=stored, params={"package": package_id})
    if unicodedata.normalize("NFC", stored) == unicodedata.normalize("NFC", identifier):
        return Finding("IDENTIFIER_NOT_AS_STORED", path=ITEM_METADATA, pointer="/identifier",
                       found=identifier, expected=stored,
                       params={"package": package_id, "detail": _differs(identifier, stored)})
    return Finding("IDENTIFIER_READS_LIKE_ANOTHER", path=ITEM_METADATA, pointer="/identifier",
                   found=identifier, expected=stored,
                   params={"package": package_id, "detail": _how_it_differs(identifier, stored)})


def _how_it_differs(given: str, stored: str) -> str:
    """In words a person can check: other capitals, other letter forms (fullwidth,
    ligatures), characters that show nothing (named, with their code points)."""
    hidden = [f"U+{ord(c):04X} {unicodedata.name(c, 'an unnamed character')}"
              for c in dict.fromkeys(given) if unicodedata.category(c) == "Cf"]
    if hidden:
        return "it holds " + ", ".join(hidden) + ", which shows nothing"
    if unicodedata.normalize("NFKC", given) != given:
        return "other forms of its letters (fullwidth or compatibility characters)"
    return "other capitals"


def _differs(given: str, stored: str) -> str:
    """Where two identifiers that read alike differ, in code points a person can
    compare: "é written as U+0065 U+0301 here, as U+00E9 in the package"."""
    start = next((i for i, (a, b) in enumerate(zip(given, stored, strict=False)) if a != b),
                 min(len(given), len(stored)))
    while 0 < start < len(given) and unicodedata.combining(given[start]):
        start -= 1
    end_given, end_stored = len(given), len(stored)
    while (end_given > start and end_stored > start
           and given[end_given - 1] == stored[end_stored - 1]):
        end_given, end_stored = end_given - 1, end_stored - 1

    def points(text: str) -> str:
        return " ".join(f"U+{ord(c):04X}" for c in text)
    here, there = given[start:end_given], stored[start:end_stored]
    shown = unicodedata.normalize("NFC", here)
    return f"{shown!r} is {points(here)} here, {points(there)} in the package"


def _identifier(folder: Path, name: str, sheet: Sheet | None) -> tuple[str, int | None] | None:
    """The identifier the item gives, and the metadata.csv row it is in (None
    for a metadata.json); None when it gives none that can be read."""
    try:
        raw = read_submitted(folder, ITEM_METADATA, MAX_METADATA_BYTES + 1)
    except FileNotFoundError:
        rows = sheet.rows_for(name) if sheet is not None else []
        value = rows[0].record.get("identifier") if len(rows) == 1 else None
        return (value, rows[0].row) if isinstance(value, str) and value else None
    except (ContentRefused, OSError):
        return None
    record, problems = parse_metadata(raw)
    if record is None or problems:
        return None
    value = record.get("identifier")
    return (value, None) if isinstance(value, str) and value else None


__all__ = ["CODE", "duplicate_identifiers", "identifier_refusal", "item_duplicate", "stored_twin",
           "twin_finding"]
