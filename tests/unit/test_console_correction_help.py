"""The package page says how a record is corrected, to those who may submit.

An archivist found no way in the console to correct a record: no action, no
advice; editing metadata/record.json in a downloaded bag was refused with two
digest mismatches. The page now says how, to roles that may submit."""

from __future__ import annotations

from pathlib import Path

from ingest.accounts import create_account
from tests.unit.api_support import Api
from tests.unit.test_console_fixity_wording import TELEGRAM, api  # noqa: F401 (a fixture)
from tests.unit.test_identities import PASSWORD, _signed_in


def test_the_package_page_says_how_to_correct_the_record_to_those_who_may_submit(
        api: Api, tmp_path: Path) -> None:  # noqa: F811
    create_account(api.services.catalog, "rita", "reader", PASSWORD, api.services.clock.now())

    admin_page = _signed_in(api, "ada").get(f"/console/packages/{TELEGRAM}").text
    assert "To correct this record" in admin_page and "version 2" in admin_page
    assert "metadata.json</code> beside its <code>bagit.txt" in admin_page
    reader_page = _signed_in(api, "rita").get(f"/console/packages/{TELEGRAM}").text
    assert "To correct this record" not in reader_page
