"""STRONGROOM_S3_OBJECT_LOCK and STRONGROOM_S3_RETENTION_DAYS: parsed together,
refused apart, and handed to every S3 location the archive writes to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.locations import store_from_url
from storage.s3 import S3ObjectStore
from storage.s3_object_lock import ObjectLock
from strongroom.settings import Settings, SettingsError

BASE = {"STRONGROOM_DATA_DIR": "/tmp/strongroom-object-lock-settings"}


def parse(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_no_lock_by_default() -> None:
    settings = parse()
    assert settings.s3_object_lock is None and settings.s3_retention_days is None


@pytest.mark.parametrize("mode", ["governance", "COMPLIANCE", " Compliance "])
def test_a_mode_with_a_retention_is_taken_as_s3_spells_it(mode: str) -> None:
    settings = parse(STRONGROOM_S3_OBJECT_LOCK=mode, STRONGROOM_S3_RETENTION_DAYS="3650")
    assert settings.s3_object_lock == mode.strip().upper()
    assert settings.s3_retention_days == 3650


@pytest.mark.parametrize(("env", "says"), [
    ({"STRONGROOM_S3_OBJECT_LOCK": "compliance"}, "needs STRONGROOM_S3_RETENTION_DAYS"),
    ({"STRONGROOM_S3_OBJECT_LOCK": "legal-hold", "STRONGROOM_S3_RETENTION_DAYS": "1"},
     "must be governance or compliance"),
    ({"STRONGROOM_S3_RETENTION_DAYS": "30"}, "STRONGROOM_S3_OBJECT_LOCK is not"),
    ({"STRONGROOM_S3_OBJECT_LOCK": "governance", "STRONGROOM_S3_RETENTION_DAYS": "0"},
     "STRONGROOM_S3_RETENTION_DAYS must be a whole number from 1 to 36500, not '0'"),
    ({"STRONGROOM_S3_OBJECT_LOCK": "governance", "STRONGROOM_S3_RETENTION_DAYS": "ten years"},
     "STRONGROOM_S3_RETENTION_DAYS must be a whole number"),
])
def test_a_lock_setting_that_cannot_be_used_is_refused_naming_the_variable(
        env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        parse(**env)


def test_an_s3_location_gets_the_lock_and_a_folder_none() -> None:
    store = store_from_url("s3://archive/packages", s3_endpoint_url="http://127.0.0.1:9",
                           s3_object_lock="COMPLIANCE", s3_retention_days=30)
    assert isinstance(store, S3ObjectStore)
    assert store.object_lock == ObjectLock("COMPLIANCE", 30)
    written = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert store.lock_parameters() and ObjectLock("COMPLIANCE", 30).put_parameters(written) == {
        "ObjectLockMode": "COMPLIANCE",
        "ObjectLockRetainUntilDate": written + timedelta(days=30)}
    unlocked = store_from_url("s3://archive/packages", s3_endpoint_url="http://127.0.0.1:9")
    assert unlocked.lock_parameters() == {}  # type: ignore[attr-defined]


def test_every_object_lock_setting_is_documented() -> None:
    from pathlib import Path

    from strongroom.settings import KNOWN_VARIABLES

    example = (Path(__file__).parents[2] / ".env.example").read_text(encoding="utf-8")
    for name in ("STRONGROOM_S3_OBJECT_LOCK", "STRONGROOM_S3_RETENTION_DAYS"):
        assert name in KNOWN_VARIABLES
        assert f"#{name}=" in example


def test_the_locations_are_locked_and_batches_staged_in_the_primary_bucket_are_not(
        tmp_path: Path) -> None:
    from strongroom.bootstrap import build_services

    settings = Settings.from_env({
        "STRONGROOM_DATA_DIR": str(tmp_path), "STRONGROOM_STORAGE_URL": "s3://archive/packages",
        "STRONGROOM_REPLICAS": "s3://second-site/packages",
        "STRONGROOM_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "STRONGROOM_S3_OBJECT_LOCK": "compliance", "STRONGROOM_S3_RETENTION_DAYS": "3650"})
    services = build_services(settings)
    try:
        locked = ObjectLock("COMPLIANCE", 3650)
        assert [s.object_lock for s in services.locations] == [locked, locked]  # type: ignore[attr-defined]
        staging = services.staging_store
        assert staging.location == services.store.location
        assert staging.object_lock is None  # type: ignore[attr-defined]
    finally:
        services.catalog.engine.dispose()  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["file://relative/path", "file://archive-host/srv/objects",
                                 "file:relative/path"])
def test_a_file_location_that_is_not_an_absolute_path_is_refused_not_read_as_another_folder(
        url: str) -> None:
    # file://relative/path was taken as file:///path: host "relative" dropped.
    with pytest.raises(SettingsError, match="file:// needs an absolute path"):
        parse(STRONGROOM_STORAGE_URL=url)
    with pytest.raises(SettingsError, match="STRONGROOM_REPLICAS"):
        parse(STRONGROOM_REPLICAS=url)
    assert parse(STRONGROOM_STORAGE_URL="file:///srv/objects").storage_url == "file:///srv/objects"


@pytest.mark.parametrize("name, url", [
    ("STRONGROOM_DATABASE_URL", "postgresql+psycopg://postgres:pw@127.0.0.1:abc/archive"),
    ("STRONGROOM_BROKER_URL", "redis://127.0.0.1:99999/0"),
])
def test_a_port_that_is_no_port_is_a_settings_error_not_a_traceback(name: str, url: str) -> None:
    # Before: every command ended in "ValueError: invalid literal for int()".
    with pytest.raises(SettingsError, match=f"{name}: the port in .* is not a number") as refused:
        parse(**{name: url})
    assert ":pw@" not in str(refused.value)
