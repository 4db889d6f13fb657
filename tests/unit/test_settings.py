"""Settings refuse, naming the variable and saying what is expected, every value
Strongroom cannot use, before anything runs with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli import main
from strongroom.settings import Settings, SettingsError


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), **settings}


@pytest.mark.parametrize("name", ["STRONGROOM_STUCK_AFTER", "STRONGROOM_SWEEP_EVERY",
                                  "STRONGROOM_RETRY_BACKOFF", "STRONGROOM_ANCHOR_EVERY",
                                  "STRONGROOM_API_UPLOAD_IDLE_TIMEOUT",
                                  "STRONGROOM_API_HEADER_TIMEOUT", "STRONGROOM_API_UPLOAD_TIMEOUT",
                                  "STRONGROOM_SESSION_IDLE_MINUTES"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "NaN"])
def test_a_duration_of_nan_infinity_or_ages_is_refused_naming_the_variable(
        tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_env(tmp_path, **{name: value}))

    said = str(refused.value)
    assert said.startswith(f"{name} must be a number of ")
    assert "at most" in said and repr(value) in said


@pytest.mark.parametrize(("name", "value"), [
    ("STRONGROOM_MAX_ATTEMPTS", "100000"),  # the backoff 2**attempts overflows
    ("STRONGROOM_FIXITY_WINDOW_DAYS", "1000000000"),  # beyond any date
    ("STRONGROOM_FIXITY_SHALLOW_INTERVAL_DAYS", "1000000000"),
    ("STRONGROOM_VISIBILITY_TIMEOUT", "10000000000000000"),
    ("STRONGROOM_CONCURRENCY", "1" + "0" * 30),
])
def test_a_whole_number_beyond_any_use_is_refused_naming_the_variable(
        tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_env(tmp_path, **{name: value}))

    assert str(refused.value).startswith(f"{name} must be a whole number from ")


def test_doctor_does_not_call_settings_of_nan_seconds_ok(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["doctor"], env=_env(tmp_path, STRONGROOM_STUCK_AFTER="nan"))

    assert result.exit_code == 1
    assert "settings  not ok" in result.output
    assert "STRONGROOM_STUCK_AFTER must be a number of seconds" in result.output


def test_ordinary_durations_are_still_taken(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(tmp_path, STRONGROOM_STUCK_AFTER="90.5",
                                      STRONGROOM_RETRY_BACKOFF="0",
                                      STRONGROOM_MAX_ATTEMPTS="12"))

    assert (settings.stuck_after, settings.retry_backoff, settings.max_attempts) == (90.5, 0.0, 12)
