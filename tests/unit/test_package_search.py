"""Searching packages in the order a person asks for (the API's ``GET /packages`` and
the console's Packages page call the same use case)."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.access import (
    PackagePage,
    PackageQuery,
    PackageSort,
    QueryInvalid,
    date_sort_key,
    find_packages,
    package_query,
    title_sort_key,
)
from ingest.errors import InputError


class Recording:
    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def search_packages(self, query: PackageQuery, *, sort: PackageSort = PackageSort.IDENTIFIER,
                        cursor: str | None = None, limit: int = 50) -> PackagePage:
        self.asked.append({"query": query, "sort": sort, "cursor": cursor, "limit": limit})
        return PackagePage([], None)


@pytest.mark.parametrize(("name", "sort"), [(None, PackageSort.IDENTIFIER), ("", PackageSort.IDENTIFIER),
                                            ("title", PackageSort.TITLE), ("date", PackageSort.DATE),
                                            ("-date", PackageSort.DATE_LATEST),
                                            ("newest", PackageSort.NEWEST)])
def test_each_order_is_asked_of_the_catalog_by_its_name(name: str | None, sort: PackageSort) -> None:
    catalog = Recording()
    find_packages(catalog, PackageQuery(title="telegram"), sort=name, cursor="c", limit=20)
    assert catalog.asked == [{"query": PackageQuery(title="telegram"), "sort": sort, "cursor": "c",
                              "limit": 20}]


def test_an_unknown_order_or_page_size_is_refused_saying_what_is_allowed() -> None:
    with pytest.raises(InputError, match="identifier, title, date, -date, newest"):
        find_packages(Recording(), PackageQuery(), sort="size")
    with pytest.raises(InputError, match="between 1 and 500"):
        find_packages(Recording(), PackageQuery(), limit=0)


def test_dates_sort_by_their_start_and_titles_whatever_their_case() -> None:
    assert date_sort_key("1951-06/1951-08") == "1951-06" < date_sort_key("1951-06-21")
    assert date_sort_key(None) == "" and date_sort_key(1951) == ""
    assert sorted(["banana", "Apple", "cherry"], key=title_sort_key) == ["Apple", "banana", "cherry"]


def test_a_search_from_a_form_ignores_blank_fields() -> None:
    assert package_query(title="  telegram ", collection="", date_from="1951") == PackageQuery(
        title="telegram", date_from="1951")


def test_every_unusable_date_is_named_with_what_was_expected() -> None:
    with pytest.raises(QueryInvalid) as raised:
        package_query(date_from="June 1951", date_to="1951-13")
    assert set(raised.value.problems) == {"date_from", "date_to"}
    assert "1951-06-21" in raised.value.problems["date_from"]
    with pytest.raises(QueryInvalid) as backwards:
        package_query(date_from="1952", date_to="1951-12")
    assert "ends (1951-12) before it starts (1952)" in backwards.value.problems["date_to"]
    assert package_query(date_from="1951-06", date_to="1951-06") == PackageQuery(
        date_from="1951-06", date_to="1951-06")
