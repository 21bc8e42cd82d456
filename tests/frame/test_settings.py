"""Settings: environment variables, the SQLite default, and production refusing development secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xuyen.app import create_app
from xuyen.config import DEV_SECRET_KEY, InsecureProductionSettings, Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("XUYEN_DATABASE_URL", "XUYEN_ENV", "XUYEN_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_defaults_are_an_embedded_sqlite_file_and_vietnam(clean_env: None) -> None:
    settings = Settings()
    assert settings.database_url == "sqlite:///./xuyen.db"
    assert settings.is_sqlite
    assert settings.default_timezone == "Asia/Ho_Chi_Minh"
    assert settings.default_locale == "vi"
    assert settings.env == "development"


def test_environment_variables_and_dotenv_are_read(clean_env: None, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("XUYEN_PORT=9100\nXUYEN_DEFAULT_LOCALE=en\n")
    monkeypatch.setenv("XUYEN_DATABASE_URL", "postgresql://app@db.internal/xuyen")
    settings = Settings()
    assert settings.database_url == "postgresql://app@db.internal/xuyen"
    assert not settings.is_sqlite
    assert settings.port == 9100
    assert settings.default_locale == "en"


def test_invalid_values_are_refused_with_the_variable_named(clean_env: None,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_ENV", "staging-ish")
    with pytest.raises(ValueError, match="env"):
        Settings()


def test_production_refuses_the_development_secret_and_names_it(clean_env: None) -> None:
    settings = Settings(env="production")
    assert settings.insecure_defaults() == ["XUYEN_SECRET_KEY"]
    with pytest.raises(InsecureProductionSettings, match="XUYEN_SECRET_KEY"):
        settings.check_production_ready()
    with pytest.raises(InsecureProductionSettings):
        create_app(settings)


def test_production_refuses_a_short_secret(clean_env: None) -> None:
    with pytest.raises(InsecureProductionSettings):
        Settings(env="production", secret_key="short").check_production_ready()


def test_production_starts_with_a_real_secret(clean_env: None) -> None:
    settings = Settings(env="production", secret_key="x" * 48)
    settings.check_production_ready()
    assert settings.insecure_defaults() == []


def test_development_tolerates_the_development_secret(clean_env: None) -> None:
    Settings(env="development", secret_key=DEV_SECRET_KEY).check_production_ready()


@pytest.mark.parametrize("command", [["serve"], ["worker"], ["migrate"]])
def test_cli_refuses_to_run_production_with_development_secrets(command: list[str], tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "XUYEN_ENV": "production", "XUYEN_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    result = subprocess.run([sys.executable, "-m", "xuyen.cli", *command], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "XUYEN_SECRET_KEY" in result.stderr
