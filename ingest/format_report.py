"""How many files, and how many bytes, the archive holds in each format.

Counted over the payload files of each package's latest version (what the
collection holds now, each file once), from the formats identified at ingest
(``ingest.format_identification``). Files with no format on record (none was
identified, or the version was stored before formats were) are counted under
no PUID. One aggregate query: no package is read one at a time.
"""

from __future__ import annotations

import io
from typing import Any

from ingest.csv_cells import TextDictWriter
from ingest.ports import FormatCount, FormatTally


def format_report(catalog: FormatTally) -> dict[str, Any]:
    """The report as one document: a row per format, most files first, and totals.
    Raises CatalogUnavailable."""
    counts = sorted(catalog.format_tally(), key=lambda c: (-c.files, c.puid or "~", c.version))
    return {
        "scope": "payload files of each package's latest version",
        "formats": [_row(c) for c in counts],
        "files": sum(c.files for c in counts),
        "octets": sum(c.octets for c in counts),
        "unidentified_files": sum(c.files for c in counts if c.puid is None),
    }


def _row(count: FormatCount) -> dict[str, Any]:
    return {"puid": count.puid, "name": count.name, "version": count.version,
            "mime": count.mime, "files": count.files, "octets": count.octets}


#: the columns of ``strongroom formats report --csv``, in order
CSV_COLUMNS = ("puid", "name", "version", "mime", "files", "octets")


def format_report_csv(doc: dict[str, Any]) -> str:
    """The report (``format_report``) as CSV: a header, then a row per format;
    no format on record is an empty PUID. What ``strongroom formats report --csv`` prints."""
    out = io.StringIO()
    writer = TextDictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in doc["formats"]:
        writer.writerow({**row, "puid": row["puid"] or ""})
    return out.getvalue()


__all__ = ["CSV_COLUMNS", "format_report", "format_report_csv"]
