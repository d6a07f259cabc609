"""Where a setting's value comes from: given values, then HOSTWATCH_*, then the TOML file.

hostwatch reads its sources itself (pydantic-settings cost every command 0.1 s to import); these
tests pin the rules a deployment relies on, beside tests/cli/test_settings_documented.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from hostwatch.settings import Settings, configure, get_settings, override


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "hw.toml"
    path.write_text('country = "BE"\noffline_after = 5\nstate_dir = "/srv/hw"\n')
    monkeypatch.setenv("HOSTWATCH_CONFIG", str(path))
    return path


def test_given_values_beat_the_environment_which_beats_the_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTWATCH_COUNTRY", "DE")
    monkeypatch.setenv("HOSTWATCH_OFFLINE_AFTER", "7")
    assert Settings().country == "DE"
    assert Settings().offline_after == 7  # a string from the environment, validated as an int
    assert Settings().state_dir == Path("/srv/hw")  # only in the file
    assert Settings(country="FR").country == "FR"
    try:
        assert configure(database_url="sqlite:///x.db").database_url == "sqlite:///x.db"
        assert get_settings().country == "DE"
    finally:
        override()  # no command-line overrides left for other tests in this process


def test_environment_names_match_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("hostwatch_country", "AT")
    assert Settings().country == "AT"


def test_a_missing_file_leaves_the_defaults(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOSTWATCH_CONFIG", str(tmp_path / "absent.toml"))
    assert Settings().country == Settings.model_fields["country"].default


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTWATCH_OFFLINE_AFTER", "0")
    with pytest.raises(ValueError, match="offline_after"):
        Settings()


def test_a_list_setting_without_its_own_splitter_reads_json(monkeypatch) -> None:
    class Tagged(Settings):
        tags: list[str] = Field(default_factory=list)

    monkeypatch.setenv("HOSTWATCH_TAGS", '["a", "b"]')
    assert Tagged().tags == ["a", "b"]
    monkeypatch.setenv("HOSTWATCH_ALLOW_NETWORKS", "10.0.0.0/8,192.0.2.0/24")  # NoDecode: split
    assert Tagged().allow_networks == ["10.0.0.0/8", "192.0.2.0/24"]


def test_settings_from_their_arguments_alone_ignore_environment_and_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Alone(Settings):
        read_sources = False

    monkeypatch.setenv("HOSTWATCH_COUNTRY", "DE")
    alone = Alone(offline_after=4)
    assert (alone.country, alone.offline_after, alone.state_dir) == ("NL", 4, Path(".hostwatch"))


def test_a_pydantic_settings_source_hook_is_refused_not_silently_ignored() -> None:
    with pytest.raises(TypeError, match="read_sources = False"):

        class Hooked(Settings):
            @classmethod
            def settings_customise_sources(cls, *sources):  # type: ignore[no-untyped-def]
                return sources[:1]
