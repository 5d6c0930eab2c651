"""Progress display: plain lines under papermill, bars elsewhere, silence when disabled."""

from __future__ import annotations

import pytest

from collapse_utils import progress
from collapse_utils.progress import LineProgress, progress_bar, progress_mode


def test_lines_mode_prints_one_plain_line_per_tenth(capsys, monkeypatch):
    monkeypatch.setenv("COLLAPSE_PROGRESS", "lines")
    bar = progress_bar(total=2050, desc="replace")
    assert isinstance(bar, LineProgress)
    for _ in range(2050):
        bar.update(1)
    bar.close()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        f"replace: {n}/2050 ({100 * n // 2050}%)" for n in (205, 410, 615, 820, 1025, 1230, 1435, 1640, 1845, 2050)]
    assert all("\r" not in line and "\x1b" not in line for line in lines)


def test_short_loops_print_every_step_and_resume_says_so(capsys, monkeypatch):
    monkeypatch.setenv("COLLAPSE_PROGRESS", "lines")
    bar = progress_bar(total=9, desc="generation", initial=3)
    for _ in range(6):
        bar.update(1)
    bar.close()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("generation: resuming at 3")
    assert [line.split(",")[0] for line in lines[1:]] == [f"generation: {n}/9 ({100 * n // 9}%)" for n in range(4, 10)]


def test_a_loop_resumed_at_its_end_prints_nothing(capsys, monkeypatch):
    monkeypatch.setenv("COLLAPSE_PROGRESS", "lines")
    progress_bar(total=9, desc="generation", initial=9).close()
    assert capsys.readouterr().out == ""


def test_iterable_and_heartbeat(capsys, monkeypatch):
    monkeypatch.setenv("COLLAPSE_PROGRESS", "lines")
    monkeypatch.setattr(progress, "HEARTBEAT_SECONDS", 0.0)
    assert list(progress_bar(iterable=range(30), desc="batches")) == list(range(30))
    assert len(capsys.readouterr().out.splitlines()) == 30  # every step is a minute apart here


def test_disabled_and_off_print_nothing(capsys, monkeypatch):
    monkeypatch.setenv("COLLAPSE_PROGRESS", "lines")
    with progress_bar(total=5, enabled=False) as bar:
        bar.update(5)
    monkeypatch.setenv("COLLAPSE_PROGRESS", "off")
    with progress_bar(total=5) as bar:
        bar.update(5)
    assert capsys.readouterr().out == ""


def test_mode_comes_from_the_environment_or_the_terminal(monkeypatch):
    monkeypatch.setenv("COLLAPSE_PROGRESS", "bar")
    assert progress_mode() == "bar"
    monkeypatch.delenv("COLLAPSE_PROGRESS")
    assert progress_mode() == "lines"  # pytest captures stderr: not a terminal, not a kernel
    import ipykernel  # noqa: F401  (imported beside a kernel is not running in one)

    assert not progress.in_kernel() and progress_mode() == "lines"
    monkeypatch.setenv("COLLAPSE_PROGRESS", "fancy")
    with pytest.raises(ValueError, match="COLLAPSE_PROGRESS must be one of bar, lines, off, got 'fancy'"):
        progress_mode()


@pytest.mark.notebook
def test_a_live_kernel_gets_bars_when_widgets_are_installed(monkeypatch):
    import importlib.util

    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("COLLAPSE_PROGRESS", raising=False)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from collapse_utils.progress import progress_bar, progress_mode\n"
        "print(progress_mode(), type(progress_bar(total=2)).__module__)")])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    mode, module = next(o["text"] for o in nb.cells[0].outputs if o["output_type"] == "stream").split()
    if importlib.util.find_spec("ipywidgets"):  # the lab extra: a live widget bar
        assert (mode, module) == ("bar", "tqdm.notebook")
    else:
        assert (mode, module) == ("lines", "collapse_utils.progress")
