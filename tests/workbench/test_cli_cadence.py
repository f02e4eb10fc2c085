"""`workbench cadence`: each channel's rhythm and where it comes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workbench.conftest import World
from tests.workbench.test_cli_gaps import invoke, seeded


def test_cadence_is_inferred_from_the_history_and_says_so(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded(world)

    rows = invoke(world, tmp_path, capsys, "cadence", "--format", "json")

    assert rows == [
        {
            "workspace": "Acme Ltd",
            "connection": "Amazon US",
            "provider": "amazon",
            "cadence_days": 14.0,
            "source": "history",
        }
    ]


def test_a_new_connection_falls_back_to_the_provider_default(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.amazon_connection()

    [row] = invoke(world, tmp_path, capsys, "cadence", "--format", "json")

    assert (row["cadence_days"], row["source"]) == (14.0, "default")
