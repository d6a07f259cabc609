"""Every setting is documented: a described field, a README row, and the CLI shows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hostwatch.cli.app import app
from hostwatch.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_is_documented(name: str) -> None:
    assert Settings.model_fields[name].description, f"{name} has no description"
    assert f"`HOSTWATCH_{name.upper()}`" in README, f"HOSTWATCH_{name.upper()} missing in README"


def test_settings_command_lists_every_setting(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["settings"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in Settings.model_fields:
        assert f"HOSTWATCH_{name.upper()}" in result.output


def test_now_option_pins_the_clock_and_rejects_garbage(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    bad = CliRunner().invoke(app, ["--now", "yesterday-ish", "settings"])
    assert bad.exit_code != 0
    assert "not an ISO 8601 instant" in bad.output
    good = CliRunner().invoke(
        app, ["--now", "2024-03-01T10:00:00Z", "settings"], env={"COLUMNS": "250"}
    )
    assert good.exit_code == 0
    assert "2024-03-01 10:00:00+00:00" in good.output


def test_env_settings_and_toml_file(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "hw.toml"
    config.write_text('offline_after = 5\ncountry = "BE"\n')
    monkeypatch.setenv("HOSTWATCH_CONFIG", str(config))
    monkeypatch.setenv("HOSTWATCH_COUNTRY", "DE")
    monkeypatch.setenv("HOSTWATCH_ALLOW_NETWORKS", "127.0.0.0/8, ::1/128")
    settings = Settings()
    assert settings.offline_after == 5  # from the file
    assert settings.country == "DE"  # the environment wins over the file
    assert settings.allow_networks == ["127.0.0.0/8", "::1/128"]
    monkeypatch.setenv("HOSTWATCH_ALLOW_NETWORKS", "not-a-network")
    with pytest.raises(ValueError, match="not-a-network"):
        Settings()
