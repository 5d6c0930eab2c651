"""Faults a user meets at the command line (issue 16): concurrent runs into one folder, SIGTERM, and tests
that write only to temporary folders."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from collapse_utils import cli
from collapse_utils.paths import REPO_ROOT


@pytest.mark.parametrize("notebook, policies", [("02", "replace,keep_real:0"), ("03", "keep_real:0"),
                                                ("04", "replace,keep_real:0"), ("02", "keep_real:1.5")])
def test_a_policy_fraction_outside_0_1_is_one_line_and_starts_nothing(capsys, monkeypatch, notebook, policies):
    monkeypatch.setattr(cli, "run_notebook", lambda *a, **k: pytest.fail("a kernel was started"))
    assert cli.main(["run", notebook, "--profile", "smoke", "-p", f"policies={policies}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "expected a number in (0, 1]" in err and len(err.splitlines()) == 1 and "Traceback" not in err, err


def test_tests_write_runs_into_a_temporary_folder(isolated_outputs):
    assert cli.runs_dir() == isolated_outputs / "runs"
    assert not cli.runs_dir().is_relative_to(REPO_ROOT)


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets")
def test_kernels_talk_over_unix_sockets_in_a_folder_of_their_own(tmp_path):
    with open(tmp_path / "kernel.log", "w") as log:
        manager = cli._logging_kernel_manager(log, tmp_path)(kernel_name="python3")
    assert manager.transport == "ipc" and manager.ip == str(tmp_path / "kernel")
    with open(tmp_path / "kernel.log", "w") as log:
        assert cli._logging_kernel_manager(log)(kernel_name="python3").transport == "tcp"


def test_runs_into_one_folder_take_turns(tmp_path, capsys):
    with cli._one_run_at_a_time(tmp_path):
        probe = subprocess.run([sys.executable, "-c", "from filelock import FileLock, Timeout\n"
                                f"try:\n    FileLock({str(tmp_path / '.run.lock')!r}).acquire(timeout=0.2)\n"
                                "except Timeout:\n    print('busy')"], capture_output=True, text=True)
        assert probe.stdout.strip() == "busy"
    assert capsys.readouterr().err == ""  # it did not wait: nobody else held the folder


def _run(output, isolated_outputs):
    env = {**os.environ, "COLLAPSE_RUNS_DIR": str(isolated_outputs / "runs"), "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "collapse_utils", "run", "02", "--profile", "smoke",
                             "-p", "n_runs=50", "--output", str(output)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.notebook
def test_two_runs_of_one_notebook_into_one_folder_at_once_never_crash(isolated_outputs):
    output = isolated_outputs / "shared"
    for repetition in range(2):
        processes = [_run(output, isolated_outputs) for _ in range(2)]
        finished = [process.communicate(timeout=600) for process in processes]
        for process, (out, err) in zip(processes, finished):
            assert process.returncode == 0, (repetition, out[-2000:], err[-2000:])
            assert "Traceback" not in err and "Kernel died" not in err, err
        assert (output / "02_gaussian.ipynb").exists()
        waited = [err for _, err in finished if "another run is writing here; waiting" in err]
        assert len(waited) <= 1
