from __future__ import annotations

from pathlib import Path

import pytest

from workbench.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented_in_the_readme(name: str) -> None:
    assert f"`WORKBENCH_{name.upper()}`" in README.read_text()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DB", "/tmp/x.duckdb")
    monkeypatch.setenv("WORKBENCH_BUSY_TIMEOUT", "5")
    settings = Settings()
    assert settings.db == Path("/tmp/x.duckdb")
    assert settings.busy_timeout == 5


def test_an_invalid_keyring_choice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_KEYRING", "plaintext")
    with pytest.raises(ValueError, match="keyring"):
        Settings()
