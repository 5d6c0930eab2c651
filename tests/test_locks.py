"""The lock files of requirements/ agree with pyproject.toml, make picks the right one per platform,
and .ci/check-locks (which CI runs against PyPI) tells a missing wheel and a wrong hash apart."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"


def _check_locks():
    loader = importlib.machinery.SourceFileLoader("check_locks", str(ROOT / ".ci" / "check-locks"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("check_locks", loader))
    sys.modules["check_locks"] = module
    loader.exec_module(module)
    return module


check_locks = _check_locks()


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    return {canonicalize_name(name): version for name, version in (d.replace(" ", "").split("==") for d in deps)}


@pytest.mark.parametrize("lock", ["pypi.lock", "linux-cpu.lock"])
def test_each_lock_pins_what_pyproject_pins_with_a_hash(lock):
    entries = check_locks.parse_lock(LOCKS / lock)
    assert all(hashes for _, _, _, hashes in entries)
    versions = {}
    for name, version, _, _ in entries:
        versions.setdefault(name, set()).add(version)
    for name, version in _pyproject_pins().items():
        if name == "torch" and lock == "linux-cpu.lock":
            assert "torch" not in versions and not any(n.startswith("nvidia-") for n in versions)
            continue
        assert versions.get(name) == {version}, (lock, name, version, versions.get(name))


def test_torch_cpu_lock_is_pyprojects_torch_cpu_build_for_three_pythons():
    [(name, version, marker, hashes)] = check_locks.parse_lock(LOCKS / "torch-cpu.lock")
    assert (name, version, marker) == ("torch", _pyproject_pins()["torch"] + "+cpu", None)
    assert len(hashes) >= 3 and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)


def _make_dry_run(*variables):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(["make", "-n", "-B", "--no-print-directory", ".venv/.installed", *variables],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout


def test_make_installs_the_cpu_lock_on_linux_x86_and_asks_the_cpu_index_only_for_torch():
    lines = _make_dry_run("PLATFORM=Linux-x86_64").splitlines()
    index_lines = [line for line in lines if "download.pytorch.org" in line]
    assert len(index_lines) == 1 and "-r requirements/torch-cpu.lock" in index_lines[0]
    assert any("--require-hashes --no-deps -r requirements/linux-cpu.lock" in line for line in lines)


@pytest.mark.parametrize("variables", [("PLATFORM=Darwin-arm64",), ("PLATFORM=Linux-aarch64",),
                                       ("PLATFORM=Linux-x86_64", "TORCH=pypi")])
def test_make_installs_the_pypi_lock_elsewhere(variables):
    out = _make_dry_run(*variables)
    assert "--require-hashes --no-deps -r requirements/pypi.lock" in out
    assert "download.pytorch.org" not in out and "linux-cpu.lock" not in out


def test_check_tells_a_missing_wheel_from_a_wrong_hash(tmp_path, monkeypatch):
    good, other = "a" * 64, "b" * 64
    files = {"demo": [{"filename": "demo-1.0-cp312-cp312-macosx_11_0_arm64.whl", "hashes": {"sha256": good}},
                      {"filename": "demo-1.0-cp312-cp312-win_amd64.whl", "hashes": {"sha256": other}},
                      {"filename": "demo-1.0-py3-none-any.whl", "hashes": {"sha256": good},
                       "requires-python": ">=3.13"}],
             "winonly": [{"filename": "winonly-2.0-py3-none-any.whl", "hashes": {"sha256": good}}]}
    monkeypatch.setattr(check_locks, "index_files", lambda index, name: files[name])
    monkeypatch.setattr(check_locks, "ROOT", tmp_path)
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "x.lock").write_text(
        f"demo==1.0 \\\n    --hash=sha256:{good}\n    # via x\n"
        f"winonly==2.0 ; sys_platform == 'win32' \\\n    --hash=sha256:{other}\n")
    assert check_locks.check("x.lock", check_locks.MACOS, "3.12.10") == (1, [])
    assert check_locks.check("x.lock", check_locks.WINDOWS, "3.12.10") == (2, [
        "demo==1.0: a wheel exists but its sha256 is not in the lock",
        "winonly==2.0: a wheel exists but its sha256 is not in the lock"])
    assert check_locks.check("x.lock", check_locks.LINUX_X86, "3.12.10") == (1, ["demo==1.0: no compatible wheel"])
    assert check_locks.check("x.lock", check_locks.LINUX_X86, "3.13.5") == (1, [])
