"""What a fresh install costs: wall time, size on disk and number of packages of a new
virtual environment, for the install ``make demo`` makes and for the minimal installs of a
scikit-learn-only and a PyTorch-only project.

Each profile starts from nothing: ``python -m venv`` in a temporary folder, pip upgraded as
the Makefile does, then the install itself, from this checkout, with the pins of
``constraints.txt`` (torch: the CPU wheel ``torch==2.13.0``). Nothing is shared between
profiles, so the wall time includes every download (pip's cache is not warmed first; a
machine with a warm cache installs faster). The size is what ``du`` counts under the venv;
the packages are ``pip list`` (pip and sqlml-dagster included). Which of torch, tensorflow
and keras the venv can import is recorded too: the point of the minimal installs.

    python bench/bench_install.py                       # every profile
    python bench/bench_install.py --profile sklearn     # one of them
    python bench/bench_install.py --keep /tmp/venvs     # keep the venvs there (else removed)

Profiles (docs/benchmarks.md, "Install size"):

- ``demo``: ``make install VENV=…`` — what ``make demo`` installs before it runs;
- ``sklearn``: ``pip install '.[sklearn]'`` — the core, scikit-learn models only;
- ``pytorch``: ``pip install '.[pytorch]'`` — PyTorch models, no TensorFlow.

Figures are merged by name into ``bench-results.json`` (see bench_compiler.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_compiler import record

REPO = Path(__file__).resolve().parent.parent
CONSTRAINTS = REPO / "constraints.txt"
PROFILES = ("sklearn", "pytorch", "demo")
FRAMEWORKS = ("torch", "tensorflow", "keras")


def install_commands(profile: str, venv: Path) -> list[list[str]]:
    """The commands that make ``venv`` for ``profile``, in order."""
    python = str(venv / "bin" / "python")
    if profile == "demo":
        return [["make", "-C", str(REPO), "install", f"VENV={venv}"]]
    extra = {"sklearn": "sklearn", "pytorch": "pytorch"}[profile]
    return [
        [sys.executable, "-m", "venv", str(venv)],
        [python, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=24"],
        [python, "-m", "pip", "install", "--quiet", "-c", str(CONSTRAINTS), f"{REPO}[{extra}]"],
    ]


def measure(profile: str, venv: Path) -> dict[str, object]:
    """Install ``profile`` into a new ``venv`` and measure it."""
    shutil.rmtree(venv, ignore_errors=True)
    started = time.perf_counter()
    for command in install_commands(profile, venv):
        subprocess.run(command, check=True, cwd=REPO)
    seconds = time.perf_counter() - started
    python = str(venv / "bin" / "python")
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    )
    packages = json.loads(listed.stdout)
    size = subprocess.run(["du", "-sm", str(venv)], check=True, capture_output=True, text=True)
    probe = (
        "import importlib.util, json; "
        f"print(json.dumps([m for m in {FRAMEWORKS!r} if importlib.util.find_spec(m)]))"
    )
    found = subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True)
    return {
        "profile": profile,
        "wall_s": round(seconds, 1),
        "size_mib": int(size.stdout.split()[0]),
        "packages": len(packages),
        "frameworks": json.loads(found.stdout),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, action="append")
    parser.add_argument("--keep", type=Path, default=None, help="keep the venvs in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="sqlml-bench-install-"))
    figures: list[dict[str, object]] = []
    for profile in args.profile or PROFILES:
        result = measure(profile, folder / f"venv-{profile}")
        print(json.dumps(result), flush=True)
        frameworks = ",".join(result["frameworks"]) or "none"  # type: ignore[arg-type]
        for figure, unit in (("wall_s", "s"), ("size_mib", "MiB"), ("packages", "packages")):
            figures.append(
                {
                    "name": f"install_{profile}_{figure}",
                    "value": result[figure],
                    "unit": unit,
                    "baseline": None,
                    "ratio": None,
                    "frameworks": frameworks,
                }
            )
        if args.keep is None:
            shutil.rmtree(folder / f"venv-{profile}", ignore_errors=True)
    record(REPO / "bench-results.json", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
