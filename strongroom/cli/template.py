"""``strongroom template``: blank forms staff fill in to describe a batch."""

from __future__ import annotations

import click

from strongroom.cli.base import _emit, command_errors, json_option, main


@main.group("template")
def template_group() -> None:
    """Forms to fill in: the metadata of a batch's items."""


@template_group.command("csv")
@click.option("--schema", "schema", default="archival-record/v1", show_default=True,
              help="The record schema the rows follow.")
@json_option
@command_errors
def template_csv(schema: str, as_json: bool) -> None:
    """Print a metadata.csv for SCHEMA: its header and one example row.

    Save it as metadata.csv at the batch root, one row per item folder (the
    'folder' column); lists separated by '|', fields inside an object by
    dotted names (source.citation), people as 'Name [as written] (role)'.
    """
    from ingest.record_schema import SchemaSet
    from ingest.sheet_columns import metadata_template

    text = metadata_template(SchemaSet.default(), schema)
    _emit(as_json, {"schema": schema, "csv": text}, lambda doc: click.echo(text, nl=False))
