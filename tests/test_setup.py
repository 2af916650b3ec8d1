"""`make test` sets up a fresh machine: on a machine without the optional tools it says what is
missing and why, and stops before running (or installing) anything, instead of skipping."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make")
# The base system only: no Chromium, LibreOffice, poppler, openssl on this PATH.
BASE_TOOLS = ("bash", "sh", "env", "id", "ls", "cat", "dirname", "python3")


def _bare_path(tmp_path: Path) -> str:
    bindir = tmp_path / "bin"
    if bindir.exists():
        return str(bindir)
    bindir.mkdir()
    for tool in BASE_TOOLS:
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    return str(bindir)


def _run(tmp_path, *args, **env):
    environ = {
        "PATH": _bare_path(tmp_path),
        "HOME": str(tmp_path),
        "DANVAN_SYSTEM_INSTALL": "0",  # as on a machine where we may not install
        **env,
    }
    return subprocess.run(
        [MAKE, "-C", str(ROOT), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _listed_packages() -> list[str]:
    lines = (ROOT / ".ci/system-packages.tsv").read_text("utf-8").splitlines()
    return [line.split("\t")[0] for line in lines if line and not line.startswith("#")]


def test_make_test_reports_what_is_missing_and_runs_nothing(tmp_path):
    venv = tmp_path / "fresh-venv"
    result = _run(tmp_path, "test", f"VENV={venv}")
    assert result.returncode != 0
    err = result.stderr
    for package in ("chromium", "libreoffice-writer-nogui", "poppler-utils", "openssl"):
        assert f"- {package}" in err, err
    assert "Playwright" in err and "PDF/A" in err  # why each one is needed
    assert "sudo apt-get update && sudo apt-get install -y" in err
    assert not venv.exists()  # stopped before installing or running anything
    assert "pytest" not in result.stdout


def test_under_ci_a_missing_package_fails_even_when_skips_are_allowed(tmp_path):
    result = _run(tmp_path, "system-deps", CI="true", ALLOW_SKIPS="1")
    assert result.returncode != 0 and "chromium" in result.stderr
    relaxed = _run(tmp_path, "system-deps", ALLOW_SKIPS="1")
    assert relaxed.returncode == 0 and "chromium" in relaxed.stderr


def test_ci_runs_make_test_and_nothing_else():
    run = (ROOT / ".ci/run").read_text("utf-8")
    commands = [line for line in run.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1] == "CI=true make test"
    assert "apt-get" not in run  # the package list lives in one place
    assert {"chromium", "postgresql", "libreoffice-writer-nogui"} <= set(_listed_packages())


def test_this_machine_has_everything(tmp_path):
    """With everything installed the check passes, so a local run skips nothing, like CI."""
    result = subprocess.run(
        ["bash", str(ROOT / ".ci/system-deps")],
        env={**os.environ, "DANVAN_SYSTEM_INSTALL": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
