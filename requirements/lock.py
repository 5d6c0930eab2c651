"""Re-resolve the lock files of requirements/ from pyproject.toml (`make lock`; needs the network).

uv resolves (`uv pip compile --universal`: one resolution for Linux, macOS and Windows and every
Python from 3.11 to 3.13, each platform's packages under environment markers, sha256 hashes of every
file); pip installs (`make`, or the Windows commands in docs/install.md), so users never need uv.

- pypi.lock: everything from PyPI, torch included: macOS arm64, Windows, Linux aarch64, and Linux
  x86-64 with an NVIDIA GPU (PyPI's Linux x86-64 torch is the CUDA build, with its nvidia-* packages).
- linux-cpu.lock: the same resolution without torch and its CUDA-only packages (nvidia-*, triton):
  Linux x86-64 without a GPU, together with
- torch-cpu.lock: torch's CPU build (torch==X+cpu), installed alone from PyTorch's CPU index, so
  that index is never asked for any other package.

Usage: python requirements/lock.py [--pyproject PATH] [--uv UV]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXTRAS = ("lm", "lab", "report", "dev")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_ONLY = re.compile(r"^(nvidia-[a-z0-9-]+|triton|cuda-[a-z0-9-]+)==", re.MULTILINE)


def compile_lock(uv: str, inputs: list[str], output: Path, *extra: str) -> None:
    command = [uv, "pip", "compile", *inputs, "--universal", "--python-version", "3.11",
               "--generate-hashes", "--quiet", "--output-file", str(output),
               "--custom-compile-command", "make lock", *extra]
    subprocess.run(command, check=True, cwd=HERE.parent)


def torch_pin(pyproject: Path) -> str:
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return next(d for d in deps if re.match(r"torch\s*==", d)).replace(" ", "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=HERE.parent / "pyproject.toml")
    parser.add_argument("--uv", default="uv")
    args = parser.parse_args(argv)
    extras = [flag for extra in EXTRAS for flag in ("--extra", extra)]
    pyproject = args.pyproject.resolve()
    source = [str(pyproject.relative_to(HERE.parent)) if pyproject.is_relative_to(HERE.parent)
              else str(pyproject), *extras]

    compile_lock(args.uv, source, HERE / "pypi.lock")
    cuda = sorted({m.group(1) for m in CUDA_ONLY.finditer((HERE / "pypi.lock").read_text())})
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as excludes:
        excludes.write("\n".join(cuda) + "\n")
        excludes.flush()
        compile_lock(args.uv, source, HERE / "linux-cpu.lock", "--excludes", excludes.name,
                     "--no-emit-package", "torch")

    with tempfile.NamedTemporaryFile("w", suffix=".in") as request:
        request.write(torch_pin(pyproject) + "+cpu\n")
        request.flush()
        try:
            compile_lock(args.uv, [request.name], HERE / "torch-cpu.lock", "--no-deps",
                         "--index-url", TORCH_CPU_INDEX)
        except subprocess.CalledProcessError:
            print(f"lock: {TORCH_CPU_INDEX} did not answer; requirements/torch-cpu.lock kept as it is "
                  "(check that it names the same torch version)", file=sys.stderr)
    for lock in ("pypi.lock", "linux-cpu.lock"):  # annotations name the file as seen from the root
        path = HERE / lock
        path.write_text(path.read_text().replace(f"({source[0]})", "(pyproject.toml)"))
    print(f"lock: wrote pypi.lock, linux-cpu.lock (without torch and {len(cuda)} CUDA-only packages)"
          " and torch-cpu.lock")
    return 0


if __name__ == "__main__":
    sys.exit(main())
