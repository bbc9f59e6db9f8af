"""How the binding finds libbotsession: BOTSESSION_LIBRARY, then pkg-config, then the system
loader, and what it says when none works. Each case imports the package in a fresh process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LIBRARY = os.environ.get("BOTSESSION_LIBRARY")
PKG_CONFIG_PATH = os.environ.get("BOTSESSION_TEST_PKG_CONFIG_PATH")


def import_with(env_changes: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("BOTSESSION_LIBRARY", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH")}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    code = "import botsession, sys; sys.stdout.write(botsession.library_version)"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not LIBRARY, reason="BOTSESSION_LIBRARY names the library under test")
def test_botsession_library_variable() -> None:
    result = import_with({"BOTSESSION_LIBRARY": LIBRARY})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "0.1.0"


@pytest.mark.skipif(not PKG_CONFIG_PATH, reason="make test sets BOTSESSION_TEST_PKG_CONFIG_PATH")
def test_pkg_config() -> None:
    result = import_with({"PKG_CONFIG_PATH": PKG_CONFIG_PATH})
    assert result.returncode == 0, result.stderr
    assert result.stdout == "0.1.0"


def test_a_wrong_botsession_library_says_so(tmp_path: Path) -> None:
    result = import_with({"BOTSESSION_LIBRARY": str(tmp_path / "missing.so")})
    assert result.returncode != 0
    assert "BOTSESSION_LIBRARY=" in result.stderr and "missing.so" in result.stderr


def test_nothing_found_lists_what_was_tried(tmp_path: Path) -> None:
    result = import_with({"PKG_CONFIG_PATH": str(tmp_path)})
    if result.returncode == 0:
        pytest.skip("libbotsession is installed system-wide here, so the system loader finds it")
    assert "cannot find libbotsession" in result.stderr
    assert "pkg-config botsession (not found)" in result.stderr
    assert "the system loader" in result.stderr
