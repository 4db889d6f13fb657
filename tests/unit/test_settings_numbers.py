"""Numbers in settings are what a person typed on an ordinary keyboard, and no
less than makes sense for each: a number of seconds such as 1e-300 (a lease
that lapses before it is renewed, a sweep that never sleeps), digits Python's
int() and float() take from other scripts ('١٢', Arabic-Indic twelve), and a
list of locations that names none (`STRONGROOM_REPLICAS=,`) were all taken
without a word. Each is refused, naming the variable and what it expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.settings import Settings, SettingsError

#: every setting read as a number of seconds (or minutes), with its least value
#: other than 0, and whether 0 is taken (it means "none" there)
DURATIONS = {
    "STRONGROOM_STUCK_AFTER": (1, False),
    "STRONGROOM_SWEEP_EVERY": (1, False),
    "STRONGROOM_WORKER_STALL_AFTER": (1, False),
    "STRONGROOM_RETRY_BACKOFF": (0.01, True),
    "STRONGROOM_ANCHOR_EVERY": (0.1, True),
    "STRONGROOM_API_UPLOAD_IDLE_TIMEOUT": (0.1, False),
    "STRONGROOM_API_HEADER_TIMEOUT": (1, False),
    "STRONGROOM_API_UPLOAD_TIMEOUT": (1, False),
    "STRONGROOM_SESSION_IDLE_MINUTES": (1, False),
}

WHOLE_NUMBERS = ["STRONGROOM_S3_PARTS_IN_FLIGHT", "STRONGROOM_CONCURRENCY",
                 "STRONGROOM_MAX_ATTEMPTS", "STRONGROOM_VISIBILITY_TIMEOUT",
                 "STRONGROOM_FIXITY_WINDOW_DAYS", "STRONGROOM_FIXITY_BYTES_PER_DAY",
                 "STRONGROOM_FIXITY_SHALLOW_INTERVAL_DAYS", "STRONGROOM_API_MAX_UPLOAD_BYTES",
                 "STRONGROOM_API_MAX_UNPACKED_BYTES", "STRONGROOM_API_MAX_FILES",
                 "STRONGROOM_API_PRESIGN_SECONDS", "STRONGROOM_WORKER_METRICS_PORT"]


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), **settings}


def _refusal(tmp_path: Path, **settings: str) -> str:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_env(tmp_path, **settings))
    return str(refused.value)


def test_1e_300_seconds_is_refused_for_stuck_after_naming_the_variable_and_its_least(
        tmp_path: Path) -> None:
    said = _refusal(tmp_path, STRONGROOM_STUCK_AFTER="1e-300")
    assert said.startswith("STRONGROOM_STUCK_AFTER must be a number of seconds")
    assert "at least 1" in said and "'1e-300'" in said


@pytest.mark.parametrize("name", sorted(DURATIONS))
def test_a_duration_below_its_least_is_refused_and_its_least_is_taken(
        tmp_path: Path, name: str) -> None:
    least, zero = DURATIONS[name]
    for below in ("1e-300", str(least / 2)):
        said = _refusal(tmp_path, **{name: below})
        assert said.startswith(f"{name} must be a number of ")
        assert f"at least {least:g}" in said and repr(below) in said
    taken = Settings.from_env(_env(tmp_path, **{name: f"{least:g}"}))
    assert f"{least:g}" in repr(taken)
    if zero:
        Settings.from_env(_env(tmp_path, **{name: "0"}))
    else:
        assert _refusal(tmp_path, **{name: "0"}).startswith(f"{name} must be a number of ")


@pytest.mark.parametrize("name", sorted(DURATIONS))
@pytest.mark.parametrize("value", ["١٢", "１２", "٣٠.٥", "1_0"])
def test_non_ascii_digits_are_refused_for_a_number_of_seconds(
        tmp_path: Path, name: str, value: str) -> None:
    said = _refusal(tmp_path, **{name: value})
    assert said.startswith(f"{name} must be a number of ") and repr(value) in said
    assert "digits 0-9" in said


@pytest.mark.parametrize("name", WHOLE_NUMBERS)
@pytest.mark.parametrize("value", ["١٢", "１２", "1_0"])
def test_non_ascii_digits_are_refused_for_a_whole_number(
        tmp_path: Path, name: str, value: str) -> None:
    said = _refusal(tmp_path, **{name: value})
    assert said.startswith(f"{name} must be a whole number from ") and repr(value) in said
    assert "digits 0-9" in said


def test_non_ascii_retention_days_are_refused(tmp_path: Path) -> None:
    said = _refusal(tmp_path, STRONGROOM_S3_OBJECT_LOCK="governance",
                    STRONGROOM_S3_RETENTION_DAYS="٣٦٥")
    assert said.startswith("STRONGROOM_S3_RETENTION_DAYS must be a whole number from 1")


def test_ascii_numbers_with_spaces_signs_and_exponents_are_still_taken(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(tmp_path, STRONGROOM_STUCK_AFTER=" 90.5 ",
                                      STRONGROOM_SWEEP_EVERY="1.5e1",
                                      STRONGROOM_RETRY_BACKOFF="0",
                                      STRONGROOM_MAX_ATTEMPTS=" 12",
                                      STRONGROOM_CONCURRENCY="+3"))
    assert (settings.stuck_after, settings.sweep_every, settings.retry_backoff,
            settings.max_attempts, settings.concurrency) == (90.5, 15.0, 0.0, 12, 3)


@pytest.mark.parametrize("value", [",", " , ", "file:///srv/copy-a,,file:///srv/copy-b",
                                   "file:///srv/copy-a,"])
def test_replicas_set_to_a_comma_is_refused_not_taken_for_none(tmp_path: Path, value: str) -> None:
    said = _refusal(tmp_path, STRONGROOM_REPLICAS=value)
    assert said.startswith("STRONGROOM_REPLICAS")
    assert "empty" in said and repr(value) in said


def test_replicas_unset_or_empty_is_none_and_a_list_is_taken(tmp_path: Path) -> None:
    assert Settings.from_env(_env(tmp_path)).replicas == ()
    assert Settings.from_env(_env(tmp_path, STRONGROOM_REPLICAS="")).replicas == ()
    assert Settings.from_env(_env(
        tmp_path, STRONGROOM_REPLICAS=" file:///srv/copy-a , file:///srv/copy-b")).replicas == (
        "file:///srv/copy-a", "file:///srv/copy-b")


def test_callback_hosts_set_to_a_comma_is_refused(tmp_path: Path) -> None:
    said = _refusal(tmp_path, STRONGROOM_API_CALLBACK_HOSTS="hooks.example.org,,")
    assert said.startswith("STRONGROOM_API_CALLBACK_HOSTS") and "empty" in said
