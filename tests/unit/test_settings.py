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


@pytest.mark.parametrize("endpoint", ["127.0.0.1:18400", "seaweedfs:8333", "ftp://127.0.0.1:8333",
                                      "http://", "http://127.0.0.1:99999"])
def test_an_s3_endpoint_without_http_is_refused_naming_the_variable(
        tmp_path: Path, endpoint: str) -> None:
    env = _env(tmp_path, STRONGROOM_STORAGE_URL="s3://bucket/prefix",
               STRONGROOM_S3_ENDPOINT_URL=endpoint)

    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)

    assert str(refused.value).startswith("STRONGROOM_S3_ENDPOINT_URL")
    if "://" not in endpoint or endpoint.startswith("ftp"):
        assert str(refused.value) == (
            f"STRONGROOM_S3_ENDPOINT_URL must start with http:// or https:// "
            f"(e.g. http://127.0.0.1:8333), not {endpoint!r}")


def test_init_json_with_an_endpoint_without_http_answers_in_json_and_makes_nothing(
        tmp_path: Path) -> None:
    import json

    env = _env(tmp_path, STRONGROOM_STORAGE_URL="s3://bucket/prefix",
               STRONGROOM_S3_ENDPOINT_URL="127.0.0.1:18400")

    result = CliRunner().invoke(main, ["init", "--json"], env=env)

    assert result.exit_code == 2
    answer = json.loads(result.stdout)
    assert "STRONGROOM_S3_ENDPOINT_URL must start with http:// or https://" in json.dumps(answer)
    assert "Traceback" not in result.output
    assert not (tmp_path / "data").exists()
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exit_code == 1 and "settings  not ok" in result.output
    assert "STRONGROOM_S3_ENDPOINT_URL must start with http://" in result.output


@pytest.mark.parametrize(("name", "url"), [
    ("STRONGROOM_DATABASE_URL", "postgresqlx://db/catalog"),
    ("STRONGROOM_DATABASE_URL", "db.example.org/catalog"),
    ("STRONGROOM_BROKER_URL", "127.0.0.1:6379/0"),
    ("STRONGROOM_BROKER_URL", "amqp://127.0.0.1/"),
    ("STRONGROOM_STORAGE_URL", "/srv/objects"),
    ("STRONGROOM_STAGING_URL", "bucket/prefix"),
    ("STRONGROOM_REPLICAS", "gs://bucket/prefix"),
])
def test_every_url_setting_without_a_known_scheme_is_refused_naming_the_variable(
        tmp_path: Path, name: str, url: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_env(tmp_path, **{name: url}))

    assert str(refused.value).startswith(f"{name} must ")


def test_a_misspelt_broker_variable_stops_submit_and_doctor_naming_it_with_the_right_name(
        tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    (batch / "item").mkdir(parents=True)
    env = _env(tmp_path, STRONGROOM_BROKER_ULR="redis://127.0.0.1:1/0")

    submitted = CliRunner().invoke(main, ["submit", str(batch)], env=env)

    assert submitted.exit_code == 2
    assert ("STRONGROOM_BROKER_ULR is not a setting Strongroom knows: "
            "did you mean STRONGROOM_BROKER_URL?") in submitted.output
    assert not (tmp_path / "data").exists()  # nothing ingested here, in this process
    doctor = CliRunner().invoke(main, ["doctor"], env=env)
    assert doctor.exit_code == 1 and "settings  not ok" in doctor.output
    assert "did you mean STRONGROOM_BROKER_URL?" in doctor.output
    assert "every part can be reached" not in doctor.output


def test_a_misspelt_variable_in_the_dotenv_file_is_named_with_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRONGROOM_STUCK_AFTR", "")  # restored, whatever the file sets
    monkeypatch.delenv("STRONGROOM_STUCK_AFTR")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("STRONGROOM_STUCK_AFTR=30\n")

    with pytest.raises(SettingsError) as refused:
        Settings.from_env()

    assert str(refused.value) == (
        f"STRONGROOM_STUCK_AFTR (in {tmp_path / '.env'}) is not a setting Strongroom knows: "
        "did you mean STRONGROOM_STUCK_AFTER?")


def test_a_variable_like_no_setting_is_named_without_a_guess(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_env(tmp_path, STRONGROOM_FROBNICATE="1"))

    assert str(refused.value) == ("STRONGROOM_FROBNICATE is not a setting Strongroom knows: "
                                  "every setting is in .env.example")


def test_the_test_suites_own_variables_are_not_taken_for_misspelt_settings(tmp_path: Path) -> None:
    Settings.from_env(_env(tmp_path, STRONGROOM_TEST_REDIS_DB="9", STRONGROOM_BENCH_REDIS_DB="14",
                           STRONGROOM_REQUIRE_BROWSER="1"))


def test_every_strongroom_variable_the_code_docs_and_compose_file_name_is_known() -> None:
    import re

    from strongroom.settings import KNOWN_VARIABLES, NOT_SETTINGS

    root = Path(__file__).resolve().parents[2]
    texts = [p.read_text() for folder in ("strongroom", "ingest", "storage", "workers")
             for p in (root / folder).rglob("*.py")]
    texts += [(root / name).read_text()
              for name in (".env.example", "docker-compose.yml", "README.md", "Dockerfile")
              if (root / name).exists()]
    texts += [p.read_text() for p in (root / "docs").rglob("*.md")]
    texts += [p.read_text() for p in (root / "tests").rglob("*.py")
              if p.name not in ("test_settings.py", "test_doctor.py")]  # misspelt on purpose
    named = {name for text in texts
             for name in re.findall(r"\bSTRONGROOM_[A-Z0-9_]*[A-Z0-9]\b", text)}
    unknown = {name for name in named
               if name not in KNOWN_VARIABLES and not name.startswith(NOT_SETTINGS)}
    # prose that names a family of settings, and a constant of the compose tests
    assert unknown <= {"STRONGROOM_FIXITY", "STRONGROOM_API_HEADER", "STRONGROOM_SERVICES"}


@pytest.mark.parametrize(("primary", "replica"), [
    ("file:///srv/strongroom/objects", "file:///srv/strongroom/objects/"),
    ("file:///srv/strongroom/objects", "file:///srv/strongroom/./objects"),
    ("file:///srv/strongroom/objects", "file://localhost/srv/strongroom/objects"),
    ("s3://archive-packages/strongroom", "s3://archive-packages/strongroom/"),
    ("s3://archive-packages/strongroom", "s3://archive-packages//strongroom"),
])
def test_a_replica_spelt_otherwise_than_the_primary_but_the_same_location_is_refused(
        tmp_path: Path, primary: str, replica: str) -> None:
    # Both spellings are one location (the stores name it alike, and the catalog
    # notes copies by that name): taken as a replica, every version was
    # "replicated" onto itself and the archive counted two copies of one.
    from storage.locations import store_from_url

    if primary.startswith("file:"):
        same = {store_from_url(url, create=False).location for url in (primary, replica)}
        assert len(same) == 1
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_env(tmp_path, STRONGROOM_STORAGE_URL=primary,
                               STRONGROOM_REPLICAS=replica))
    assert "STRONGROOM_REPLICAS must name locations other than the primary" in str(refused.value)


@pytest.mark.parametrize("spelling", ["dotdot", "link"])
def test_a_replica_that_reaches_the_primary_folder_by_dotdot_or_a_link_is_refused(
        tmp_path: Path, spelling: str) -> None:
    # `/srv/a/../a` and a symbolic link to the primary's folder were other names
    # for one folder: accepted as a replica, every copy was written onto itself.
    primary = tmp_path / "objects"
    primary.mkdir()
    if spelling == "dotdot":
        replica = tmp_path / "objects" / ".." / "objects"
    else:
        replica = tmp_path / "mirror"
        replica.symlink_to(primary, target_is_directory=True)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_env(tmp_path, STRONGROOM_STORAGE_URL=primary.as_uri(),
                               STRONGROOM_REPLICAS=f"file://{replica}"))
    assert "STRONGROOM_REPLICAS must name locations other than the primary" in str(refused.value)
    assert "same folder" in str(refused.value)


def test_two_replicas_that_are_one_location_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(_env(tmp_path, STRONGROOM_REPLICAS="file:///srv/copy-a,file:///srv/copy-a/"))
    assert "once each" in str(refused.value)
