"""The one cache: results, checkpoints and model stores, keyed by settings, seed and code.

Every cached file lives in a folder named by a hash of what produced it: the settings, the seed
and a *code version* computed from the code of the modules that compute it (see :func:`code_version`;
their comments, docstrings, layout and settings defaults are left out), so a change of any of them
computes anew while a rerun, or an edit of wording, loads.

Writes are atomic (a unique temporary file, then ``os.replace``) and every cached file has a
``<name>.sha256`` record beside it: a file that is missing its record, does not match it or
cannot be read is reported by name and treated as absent, so it is recomputed. Concurrent runs
take a lock per result folder (:func:`lock`): the second waits, then loads what the first saved.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import os
import pickle
import sys
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator

import pandas as pd
from filelock import FileLock

from .paths import results_dir

PACKAGE_DIR = Path(__file__).resolve().parent

#: Modules that never change a computed number (bookkeeping, display, command line); their source
#: is left out of code versions so that editing them does not invalidate results.
BOOKKEEPING = frozenset({"__init__", "__main__", "cache", "cli", "notebooks", "paths", "plotting", "profiles",
                         "progress", "provenance", "report", "run"})


class CorruptFileError(OSError):
    """A cached file is unreadable or does not match its recorded sha256."""


def settings_hash(settings: dict[str, Any]) -> str:
    """Stable 12-character hash of a JSON-serialisable settings dict."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@lru_cache(maxsize=None)
def _package_imports(module: str) -> frozenset[str]:
    """Modules of this package that ``module`` (a file stem) imports."""
    tree = ast.parse((PACKAGE_DIR / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.update([node.module] if node.module else [alias.name for alias in node.names])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("collapse_utils"):
            found.add(node.module.partition(".")[2] or "__init__")
    return frozenset(name.partition(".")[0] for name in found)


def code_version(*modules: str) -> str:
    """Hash of the code of ``modules`` (e.g. ``"collapse_utils.gmm"``) and of every module of the
    package they import, directly or not, except the :data:`BOOKKEEPING` ones. Comments, docstrings
    and layout are not code: editing them keeps the version, and the results cached under it. Nor are
    the default values of the settings classes' fields: like a profile, a default reaches the results
    only as a value in their key, so moving it keeps every result whose settings are unchanged."""
    todo = [name.rpartition(".")[2] for name in modules]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name in BOOKKEEPING:
            continue
        seen.add(name)
        todo.extend(_package_imports(name))
    digest = hashlib.sha256()
    for name in sorted(seen):
        digest.update(name.encode() + b"\0" + _code_text(name).encode())
    return digest.hexdigest()[:12]


def _code_text(module: str) -> str:
    """The module's code as Python prints it back from its syntax tree: no comments, docstrings or layout,
    and no default values of a settings class's fields (settings reach results by value, through the key)."""
    tree = ast.parse((PACKAGE_DIR / f"{module}.py").read_text())
    settings_classes = _settings_classes(module)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
        if isinstance(node, ast.ClassDef) and node.name in settings_classes:
            for statement in node.body:
                if isinstance(statement, ast.AnnAssign) and "ClassVar" not in ast.unparse(statement.annotation):
                    statement.value = None
    return ast.unparse(tree)


def _settings_classes(module: str) -> set[str]:
    """Names of the notebooks' settings classes (``profiles.SETTINGS_CLASSES``) defined in ``module``."""
    from .profiles import SETTINGS_CLASSES

    return {name for path, _, name in (spec.partition(":") for spec in SETTINGS_CLASSES.values())
            if path.rpartition(".")[2] == module}


def store_dir(namespace: str, key: dict[str, Any], code: tuple[str, ...]) -> Path:
    """Folder of a cached artifact: ``results/<namespace>/<hash of key and code version of code>``."""
    return results_dir() / namespace / settings_hash({**key, "code": code_version(*code)})


# --- atomic, verified files --------------------------------------------------------------------

def atomic_write_bytes(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a unique temporary file and a rename, never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def atomic_write_stream(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Atomically write what ``write(file)`` puts into a binary file (``np.save``, ``torch.save``...)."""
    buffer = io.BytesIO()
    write(buffer)
    atomic_write_bytes(path, buffer.getvalue())


def atomic_write_json(path: Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=str) + "\n").encode())


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def save_verified(path: Path, content: bytes) -> None:
    """Atomically write ``content`` and then its sha256 record."""
    atomic_write_bytes(path, content)
    atomic_write_bytes(_checksum_path(path), hashlib.sha256(content).hexdigest().encode())


def read_verified(path: Path) -> bytes:
    """Content of a file written by :func:`save_verified`; :class:`CorruptFileError` if it does not
    match its record, FileNotFoundError if it is absent."""
    content = path.read_bytes()
    try:
        expected = _checksum_path(path).read_text().strip()
    except FileNotFoundError:
        raise CorruptFileError(f"{path} has no checksum record (an interrupted write?)") from None
    if hashlib.sha256(content).hexdigest() != expected:
        raise CorruptFileError(f"{path} does not match its recorded sha256 (damaged or edited)")
    return content


def load_or_report(path: Path, decode: Callable[[bytes], Any]) -> Any | None:
    """``decode`` of the verified content of ``path``; None when it is absent, and None after a
    one-line report on stderr when it is damaged (the caller then recomputes it)."""
    try:
        return decode(read_verified(path))
    except FileNotFoundError:
        return None
    except Exception as error:  # damaged file or undecodable content: recompute
        reason = error if isinstance(error, CorruptFileError) else f"{path} cannot be read ({type(error).__name__})"
        print(f"cache: {reason}; recomputing it", file=sys.stderr)
        return None


SEAL = ".sha256.json"


def seal_folder(folder: Path) -> None:
    """Record the sha256 of every file in ``folder`` (for folders written by other libraries, such as a
    model's ``save_pretrained``); :func:`folder_intact` checks them."""
    record = {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
              for path in sorted(folder.iterdir()) if path.is_file() and path.name != SEAL}
    atomic_write_json(folder / SEAL, record)


def folder_intact(folder: Path) -> bool:
    """Whether ``folder`` holds every file its seal records, unchanged. False when it is absent, and False
    after a one-line report on stderr when it is damaged or unsealed (the caller then recomputes it)."""
    if not folder.exists():
        return False
    try:
        record = json.loads((folder / SEAL).read_text())
        bad = [name for name, digest in record.items() if not (folder / name).is_file()
               or hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest]
    except (OSError, ValueError):
        bad = [f"no readable {SEAL}"]
    if bad:
        print(f"cache: {folder} is damaged ({', '.join(bad)}); recomputing it", file=sys.stderr)
    return not bad


def save_pickle(path: Path, obj: Any) -> None:
    """Pickle ``obj`` to ``path`` atomically, with its checksum."""
    save_verified(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def load_pickle(path: Path) -> Any | None:
    """Object saved by :func:`save_pickle`, or None if it is absent or damaged (reported)."""
    return load_or_report(path, pickle.loads)


def save_frame(path: Path, frame: pd.DataFrame) -> None:
    """Write a frame as Parquet, atomically, with its checksum."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    save_verified(path, buffer.getvalue())


def load_frame(path: Path) -> pd.DataFrame | None:
    """Frame saved by :func:`save_frame`, or None if it is absent or damaged (reported)."""
    return load_or_report(path, lambda content: pd.read_parquet(io.BytesIO(content)))


@contextmanager
def lock(folder: Path) -> Iterator[None]:
    """Hold the lock of a result folder: concurrent runs of the same result wait for each other."""
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / ".lock"):
        yield


def clear(folder: Path, keep: Iterable[str] = ()) -> None:
    """Forget what is cached in ``folder``: result files and their records, checkpoints, stored models, at
    any depth, except lock files and the top-level files named in ``keep``. This is what ``--force``
    means, in one place for every experiment (results through :func:`cached_frame`, the VAE's model
    store, the classifier; the language model's chains can use it too). Lock files stay, so that a
    concurrent run waiting on one is not left holding a lock nobody else sees; hold the folder's
    :func:`lock` while clearing when other runs may be using it."""
    if not folder.exists():
        return
    kept = {folder / name for name in keep}
    for root, folders, files in os.walk(folder, topdown=False):
        for name in files:
            path = Path(root, name)
            if name != ".lock" and path not in kept:
                path.unlink(missing_ok=True)
        for name in folders:
            with contextlib.suppress(OSError):  # still holds a lock file
                Path(root, name).rmdir()


def cached_frame(path: Path, compute: Callable[[], pd.DataFrame], force: bool = False) -> tuple[pd.DataFrame, bool]:
    """Load the frame at ``path`` or compute and save it; returns (frame, loaded_from_cache).

    Holds the folder's lock, so a concurrent run of the same result waits and then loads it. ``force``
    first clears (:func:`clear`) the folder's checkpoints and other work in progress (its subfolders), then computes
    anew; the result and its records are replaced atomically once the new result exists, so a forced run
    that fails keeps them.
    """
    with lock(path.parent):
        if force:
            clear(path.parent, keep=[p.name for p in path.parent.iterdir() if p.is_file()])
        frame = None if force else load_frame(path)
        if frame is not None:
            return frame, True
        frame = compute()
        save_frame(path, frame)
        return frame, False
