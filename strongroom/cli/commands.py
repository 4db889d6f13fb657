"""The commands of ``strongroom``, by name: the module that defines each, and its
one-line help as ``strongroom --help`` lists it.

``strongroom`` imports a command's module only when that command runs, so that
``verify`` does not load what ``serve``, ``worker`` or ``submit`` need; ``--help``
lists every command from this table without importing any. A test holds the
table to the commands the modules define (names, modules and help).
"""

from __future__ import annotations

#: name -> (module that defines the command, its help's first sentence)
COMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("strongroom.cli.audit", 'Read and verify the hash-chained audit log.'),
    "batches": ("strongroom.cli.batches",
              'List batches, newest first: id, when and by whom submitted, source, item counts.'),
    "beat": ("strongroom.cli.operations",
              'Run the scheduler: every STRONGROOM_SWEEP_EVERY seconds it has a worker send '
              'stuck items again (leases not renewed for STRONGROOM_STUCK_AFTER seconds, '
              'messages the broker lost), so they recover by themselves.'),
    "catalog": ("strongroom.cli.catalog", 'The catalog database itself.'),
    "deaccession": ("strongroom.cli.deaccession",
              'Remove a package, or one version, from every location: two people decide.'),
    "doctor": ("strongroom.cli.doctor",
              'Check the settings (naming every one that cannot be used) and reach each part on'
              ' its own: the catalog, every storage location and the broker (when one is '
              'configured).'),
    "fetch": ("strongroom.cli.packages",
              "Fetch a package version's bag, verifying every file on the way."),
    "fixity": ("strongroom.cli.fixity",
              'Fixity audits by policy: run the due checks, report coverage, reconcile.'),
    "formats": ("strongroom.cli.formats",
              'File formats of the payload, as identified at ingest (PRONOM).'),
    "init": ("strongroom.cli.operations",
              'Prepare the catalog (create its PostgreSQL database if it does not exist and the'
              ' role may, then migrate to the newest schema) and the object store (create the '
              'S3 bucket if it does not exist).'),
    "list": ("strongroom.cli.packages", 'List packages with their latest version.'),
    "locations": ("strongroom.cli.locations",
              'Storage locations: what each holds; fill a new one, retire an old one.'),
    "repair": ("strongroom.cli.repair",
              'Deep-verify every copy of a package and rebuild damaged copies from good bytes.'),
    "requeue": ("strongroom.cli.batches", "Send a batch's unfinished items to be ingested again."),
    "search": ("strongroom.cli.packages",
              'Search packages by title words, creator, collection, identifier, type and date, '
              "a page at a time (what the console's Packages page and GET /packages find)."),
    "serve": ("strongroom.cli.api", 'Serve the HTTP API (uvicorn).'),
    "show": ("strongroom.cli.packages",
              'Show a package (by id or record identifier): metadata, versions, files, fixity.'),
    "staging": ("strongroom.cli.staging",
              'Uploaded batches waiting in the staging folder (STRONGROOM_STAGING_DIR), and '
              'batches staged in the object store (the _staging/ prefix of '
              'STRONGROOM_STAGING_URL, by default of the primary location).'),
    "status": ("strongroom.cli.batches", "Show a batch's items and findings, from the catalog."),
    "submit": ("strongroom.cli.batches",
              'Ingest a batch folder: one item per child folder (metadata.json + payload).'),
    "template": ("strongroom.cli.template", "Forms to fill in: the metadata of a batch's items."),
    "token": ("strongroom.cli.api", "Create, list and revoke the HTTP API's bearer tokens."),
    "user": ("strongroom.cli.users",
              'Create, list and disable the accounts people sign in to the console with.'),
    "verify": ("strongroom.cli.packages",
              "Re-read and re-hash every stored byte and tag file of the packages' versions."),
    "worker": ("strongroom.cli.operations",
              'Run a Celery worker (prefork pool) on the ingest and fixity queues.'),
}
