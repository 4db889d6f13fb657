"""Descriptive metadata from a spreadsheet: ``metadata.csv`` at the batch root.

Archives keep descriptions in spreadsheets. A batch may hold, instead of one
``metadata.json`` per item, one ``metadata.csv`` (UTF-8, with or without a byte
order mark, comma-separated, RFC 4180 quoting; semicolon-separated when its
header line holds ``;`` and no ``,``, as Excel saves CSV in many European
locales) with one row per item folder:

- the ``folder`` column names the item folder the row describes;
- every other column is a field of the batch's schema, by name (``title``);
  a field inside an object by its dotted name (``source.citation``,
  ``rights.statement``);
- a list field (``subjects``, ``places``, ``creators``) holds its values
  separated by ``|`` (so a value cannot hold a ``|`` itself);
- a list of people or bodies (``creators``, ``recipients``) writes each as
  ``Name``, ``Name (role)`` or ``Name [name as written] (role)``:
  ``I. V. Stalin [Filippov] (addressee)`` is
  ``{"name": "I. V. Stalin", "name_as_written": "Filippov", "role": "addressee"}``;
  a name may end in parentheses of its own (``Ministry of Foreign Affairs
  (USSR) (author)``), but not in a role word (``Anna (author) (editor)`` is
  one person given two roles: ``METADATA_CSV_TWO_ROLES``), and a name holding
  ``;`` is people run together (``METADATA_CSV_PEOPLE_NOT_SEPARATED``);
- an empty cell is no field.

Each row becomes a record that the schema then validates like a
``metadata.json``; a finding about it names the row (as a spreadsheet numbers
it: the header is row 1) and the column beside the JSON pointer. Rows are
numbered by records, so a quoted cell with a line break stays one row.

Pure: bytes in, records and findings out; nothing here reads a file.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ingest.findings import Finding
from ingest.hints import name_hint, not_utf8
from ingest.sheet_columns import FOLDER_COLUMN, LIST_SEPARATOR, resolve_node, template_columns

METADATA_CSV = "metadata.csv"
#: the findings of a sheet none of whose rows can be used
UNUSABLE = ("METADATA_CSV_UNREADABLE", "METADATA_CSV_NO_FOLDER_COLUMN", "METADATA_CSV_UNKNOWN_COLUMN")
#: how to save a sheet as this module reads it, in the words of Excel's "Save as"
SAVE_AS = "'CSV UTF-8 (Comma delimited)' (Excel: File > Save As)"
#: a spreadsheet of descriptions is small; anything larger is a mistake.
MAX_METADATA_CSV_BYTES = 64 * 1024 * 1024

_AGENT = re.compile(r"^(?P<name>.*?)(?:\s*\[(?P<written>[^\]]*)\])?(?:\s*\((?P<role>[^)]*)\))?$",
                    re.DOTALL)
#: a name's own last parentheses, which are a second role when they hold a role word
_NAME_ENDING = re.compile(r"\((?P<word>[^()]*)\)$")
#: words that are roles when a name ends in them in parentheses: the common parts
#: a person or body plays in a record, besides the schema's own examples of a role
ROLE_WORDS = frozenset({
    "addressee", "annotator", "artist", "author", "compiler", "contributor",
    "copy recipient", "correspondent", "creator", "donor", "editor", "illustrator",
    "interviewee", "interviewer", "owner", "photographer", "printer", "publisher",
    "recipient", "scribe", "secretary", "sender", "signatory", "transcriber",
    "translator", "witness",
})


@dataclass(frozen=True)
class SheetRow:
    """One row of metadata.csv: where it is, the record it makes, its columns."""

    row: int                    # as a spreadsheet numbers it: the header is row 1
    folder: str
    record: dict[str, Any]
    #: JSON pointer of each filled column's field -> the column's name
    columns: dict[str, str] = field(default_factory=dict)
    #: what the sheet's own way of writing values refuses in this row (people
    #: run together, two roles), located; the schema's findings come on top
    findings: tuple[Finding, ...] = ()

    def locate(self, finding: Finding) -> Finding:
        """The finding with this row and the column of its JSON pointer in its
        params, and ``metadata.csv`` as its path."""
        params: dict[str, Any] = {**finding.params, "row": self.row}
        column = self.column_of(finding.pointer)
        if column is not None:
            params["column"] = column
        if "detail" in params:
            where = f"row {self.row}" + (f", column {column!r}" if column is not None else "")
            params["detail"] = f"{where}: {params['detail']}"
        hint = finding.hint
        if (hint is None and params.get("keyword") == "type" and finding.expected == "type object"
                and isinstance(finding.found, str)):
            # A cell the sheet could not read as a person: how to write one.
            hint = (f"in {METADATA_CSV} a person or body is written Name, Name (role) or "
                    "Name [name as written] (role); several are separated by "
                    f"'{LIST_SEPARATOR}'")
        return replace(finding, path=METADATA_CSV, params=params, hint=hint)

    def column_of(self, pointer: str | None) -> str | None:
        """The column holding the field at ``pointer`` (or the field above it)."""
        if pointer is None:
            return None
        best: tuple[int, str] | None = None
        for at, column in self.columns.items():
            if (pointer == at or pointer.startswith(at + "/")) and (best is None or len(at) > best[0]):
                best = (len(at), column)
        if best is not None:
            return best[1]
        # a required field left out: its column is the pointer's first name, dotted
        return ".".join(part for part in pointer.split("/")[1:]) or None


@dataclass(frozen=True)
class Sheet:
    """What metadata.csv says: its rows by folder, and its problems (batch findings)."""

    #: by folder name, NFC-normalized (``row_key``)
    rows: dict[str, list[SheetRow]]
    findings: tuple[Finding, ...] = ()

    def rows_for(self, folder: str) -> list[SheetRow]:
        return self.rows.get(row_key(folder), [])


def row_key(folder: str) -> str:
    """A folder name as a row is matched to it: NFC-normalized, so that a row typed
    ``Zürich`` names the folder a Mac wrote as ``Zu`` + U+0308 (the two read alike
    and were told apart: "no row for this folder", "this row names no folder")."""
    return unicodedata.normalize("NFC", folder)


def parse_sheet(raw: bytes, schema: Mapping[str, Any]) -> Sheet:
    """Read metadata.csv's bytes into one record per row, shaped by ``schema``
    (a JSON Schema document: which fields are lists, and of what).

    Batch findings: ``METADATA_CSV_UNREADABLE`` (not UTF-8, not CSV, too
    large; no row is used), ``METADATA_CSV_NO_FOLDER_COLUMN`` (no row is used),
    ``METADATA_CSV_UNKNOWN_COLUMN`` (a column naming a field the schema refuses,
    once for the header rather than on every row, with the column most likely
    meant; no row is used)
    and ``METADATA_CSV_DUPLICATE_ROW`` (two rows for one folder: both are
    kept, the item is refused when it is ingested). Raises nothing.
    """
    def unreadable(detail: str, hint: str | None = None) -> Sheet:
        return Sheet({}, (Finding("METADATA_CSV_UNREADABLE", path=METADATA_CSV, hint=hint,
                                  params={"detail": detail}),))

    if len(raw) > MAX_METADATA_CSV_BYTES:
        return unreadable(f"it is larger than {MAX_METADATA_CSV_BYTES} bytes")
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return unreadable("it is UTF-16 text (what Excel saves as 'Unicode Text'), not UTF-8",
                          f"save it as {SAVE_AS}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        where, advice = not_utf8(raw, exc.start, SAVE_AS)
        return unreadable(f"it is not UTF-8: {where}", advice)
    # The header line ends at CR LF, LF, or CR alone (as old Mac sheets end lines).
    separator = _separator(re.split(r"\r\n|\r|\n", text, maxsplit=1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=separator)
    table: list[list[str]] = []
    while True:
        begins = reader.line_num + 1  # the line the next row starts on
        try:
            table.append(next(reader))
        except StopIteration:
            break
        except csv.Error as exc:
            # Where: a quote never closed runs to the end of the file, so the
            # line the row began on is the one to look at.
            hint = " (a quoted cell that is never closed?)" if "end of data" in str(exc) else ""
            if "field larger than field limit" in str(exc):
                return unreadable(f"a cell of the row that begins on line {begins} holds more "
                                  f"than {csv.field_size_limit():,} characters, more than a "
                                  "description holds (a quoted cell never closed takes in the "
                                  "rest of the file)")
            return unreadable(f"it is not CSV: the row that begins on line {begins}: "
                              f"{exc}{hint}")
    if not table:
        return unreadable("it is empty")
    header = [name.strip() for name in table[0]]
    if FOLDER_COLUMN not in header:
        tabs = len(header) == 1 and "\t" in header[0]
        return Sheet({}, (Finding("METADATA_CSV_NO_FOLDER_COLUMN", path=METADATA_CSV, hint=(
            f"the sheet separates its columns with tabs: save it as {SAVE_AS}" if tabs else None)),))
    named = [name for name in header if name]
    if len(set(named)) != len(named):
        twice = sorted({name for name in named if named.count(name) > 1})
        return unreadable(f"the header names {', '.join(map(repr, twice))} more than once")

    unknown = [Finding("METADATA_CSV_UNKNOWN_COLUMN", path=METADATA_CSV, found=column,
                       params={"row": 1, "column": column},
                       hint=name_hint(column, template_columns(schema)))
               for column in header if column not in ("", FOLDER_COLUMN) and _unknown(column, schema)]
    if unknown:
        return Sheet({}, tuple(unknown))
    # (Judged against a schema only: read without one, for identifiers alone, a
    # sheet is not refused for what the schema's reading names better.)
    within = sorted((outer, inner) for outer in named for inner in named
                    if inner.startswith(outer + ".")) if schema else []
    if within:
        outer, inner = within[0]
        return unreadable(f"the header names both {outer!r} and {inner!r}, a part of it: "
                          f"give the field whole in {outer!r} or by its parts, not both")

    rows: dict[str, list[SheetRow]] = {}
    for index, cells in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, as spreadsheets leave at the end
        if len(cells) > len(header):
            return unreadable(f"row {index} has {len(cells)} cells, the header {len(header)}"
                              + (" (the sheet separates its columns with ';': a cell holding "
                                 "';' goes in double quotes)" if separator == ";" else ""))
        unnamed = [number for number, (name, cell) in enumerate(zip(header, cells, strict=False), start=1)
                   if not name and cell.strip()]
        if unnamed:
            # Its text would be stored nowhere, and no one told.
            return unreadable(f"row {index} has text in column {unnamed[0]}, which the header "
                              "does not name: name the column as `strongroom template csv` "
                              "prints it, or empty its cells")
        values = dict(zip(header, cells, strict=False))
        values.pop("", None)
        folder = values.pop(FOLDER_COLUMN, "").strip()
        record, columns, problems = _record(values, schema)
        row = SheetRow(index, folder, record, columns)
        row = replace(row, findings=tuple(row.locate(f) for f in problems))
        rows.setdefault(row_key(folder), []).append(row)
    findings = [
        Finding("METADATA_CSV_DUPLICATE_ROW", path=folder,
                params={"rows": ", ".join(str(r.row) for r in found)})
        for folder, found in sorted(rows.items()) if len(found) > 1 and folder
    ]
    return Sheet(rows, tuple(findings))


def _unknown(column: str, schema: Mapping[str, Any]) -> bool:
    """Whether the schema refuses the field that ``column`` names: a dotted name
    of a field it does not define, inside an object it closes, or a part of a
    field that has no parts (``date.note``, ``title.en``: a text, a number or a
    list holds no named field, and such a cell was dropped without a word)."""
    node = resolve_node(schema, schema)
    for part in column.split("."):
        properties = node.get("properties", {})
        if isinstance(properties, dict) and part in properties:
            node = resolve_node(properties[part], schema)
            continue
        kind = node.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if kind is not None and "object" not in kinds:
            return True
        return node.get("additionalProperties") is False
    return False


def _separator(header: str) -> str:
    """``;`` when the header line uses it and no ``,`` (what Excel saves as CSV in
    locales whose decimal mark is a comma, "CSV UTF-8" included), else ``,``."""
    return ";" if ";" in header and "," not in header else ","


def unmatched_rows(sheet: Sheet, folders: Sequence[str]) -> list[Finding]:
    """A ``METADATA_CSV_ROW_UNMATCHED`` batch finding for each row naming no item folder."""
    present = {row_key(folder) for folder in folders}
    return [
        Finding("METADATA_CSV_ROW_UNMATCHED", path=METADATA_CSV, found=row.folder,
                params={"row": row.row, "column": FOLDER_COLUMN})
        for folder, found in sorted(sheet.rows.items()) if folder not in present
        for row in found
    ]


# --------------------------------------------------------------------------- internals


def _field(schema: Mapping[str, Any], path: Sequence[str]) -> dict[str, Any]:
    node = resolve_node(schema, schema)
    for part in path:
        node = resolve_node(node.get("properties", {}).get(part, {}), schema)
    return node


def _is_agent(node: Mapping[str, Any]) -> bool:
    return node.get("type") == "object" and "name" in node.get("properties", {})


def _record(values: Mapping[str, str], schema: Mapping[str, Any]
            ) -> tuple[dict[str, Any], dict[str, str], list[Finding]]:
    """The row's record, the column of each field's JSON pointer, and what the
    sheet's way of writing values refuses in it (by JSON pointer)."""
    record: dict[str, Any] = {}
    columns: dict[str, str] = {}
    problems: list[Finding] = []
    for column, cell in values.items():
        text = cell.strip()
        if not text or not column:
            continue
        path = column.split(".")
        pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)
        value = _value(text, _field(schema, path), schema, pointer, problems)
        target = record
        for part in path[:-1]:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                break
            target = nested
        else:
            target[path[-1]] = value
            columns[pointer] = column
    return record, columns, problems


def _value(text: str, node: Mapping[str, Any], root: Mapping[str, Any], pointer: str,
           problems: list[Finding]) -> Any:
    """The cell's ``text`` as the value of the schema ``node``; what the sheet's
    way of writing values refuses in it is added to ``problems``."""
    kind = node.get("type")
    if kind == "array":
        items = resolve_node(node.get("items", {}), root)
        parts = [part.strip() for part in text.split(LIST_SEPARATOR)]
        return [_value(part, items, root, f"{pointer}/{at}", problems) if part else part
                for at, part in enumerate(parts)]
    if _is_agent(node):
        match = _AGENT.match(text)
        assert match is not None  # the pattern matches any text
        agent = {"name": match["name"].strip()}
        if match["written"] is not None and match["written"].strip():
            agent["name_as_written"] = match["written"].strip()
        if match["role"] is not None and match["role"].strip():
            agent["role"] = match["role"].strip()
        if not _balanced(text) or any(mark in part for part in agent.values() for mark in "[]"):
            # Not "Name [as written] (role)": a bracket left unclosed or out of
            # place. Kept as the text it is, which the schema refuses (an agent is
            # an object) at this row and column, rather than stored as a name.
            # Parentheses closed in a name are a name's: "Ministry of Foreign
            # Affairs (USSR) (author)".
            return text
        problems += _agent_problems(text, agent, node, root, pointer)
        return agent
    # (At most 4,000 digits: Python reads no integer of over 4,300; a longer one is
    # kept as text, which the schema then refuses as no number, at this cell.)
    if kind == "integer" and re.fullmatch(r"-?[0-9]{1,4000}", text):
        return int(text)
    if kind == "number" and re.fullmatch(r"-?[0-9]{1,4000}(\.[0-9]+)?", text):
        if "." not in text:
            return int(text)
        number = float(text)
        return number if math.isfinite(number) else text  # past a float's range: text
    if kind == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _agent_problems(text: str, agent: Mapping[str, str], node: Mapping[str, Any],
                    root: Mapping[str, Any], pointer: str) -> list[Finding]:
    """People run together with ``;`` in one name, and a name ending in a role
    word in parentheses (a second role: the last parentheses are the role)."""
    problems = []
    if ";" in agent["name"]:
        problems.append(Finding("METADATA_CSV_PEOPLE_NOT_SEPARATED", pointer=pointer, found=text,
                                params={"separated": LIST_SEPARATOR.join(
                                    part.strip() for part in text.split(";"))}))
    ending = _NAME_ENDING.search(agent["name"])
    if ending and "role" in agent and ending["word"].strip().lower() in _role_words(node, root):
        problems.append(Finding("METADATA_CSV_TWO_ROLES", pointer=pointer, found=text,
                                params={"first": ending["word"].strip(), "second": agent["role"]}))
    return problems


def _role_words(node: Mapping[str, Any], root: Mapping[str, Any]) -> frozenset[str]:
    """``ROLE_WORDS`` and the schema's own examples of the agent's role."""
    role = resolve_node(node.get("properties", {}).get("role", {}), root)
    examples = role.get("examples")
    return ROLE_WORDS | {str(e).lower() for e in examples} if isinstance(examples, list) else ROLE_WORDS


def _balanced(text: str) -> bool:
    """Every ( and [ closed, in order, and nothing closed that was not opened."""
    pairs, opened = {")": "(", "]": "["}, []
    for char in text:
        if char in "([":
            opened.append(char)
        elif char in pairs and (not opened or opened.pop() != pairs[char]):
            return False
    return not opened


__all__ = [
    "FOLDER_COLUMN",
    "LIST_SEPARATOR",
    "MAX_METADATA_CSV_BYTES",
    "METADATA_CSV",
    "ROLE_WORDS",
    "UNUSABLE",
    "Sheet",
    "SheetRow",
    "parse_sheet",
    "unmatched_rows",
]
