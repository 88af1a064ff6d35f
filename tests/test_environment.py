"""What `make install` puts in the virtualenv: one TensorFlow.

``tensorflow`` and ``tensorflow-cpu`` both install the package ``tensorflow/``; with both,
whichever pip wrote last wins file by file, and uninstalling one breaks the other. tf-keras
requires the ``tensorflow`` distribution, so the Makefile installs it without its
requirements beside ``tensorflow-cpu`` (pyproject.toml, extra ``keras``).
"""

from __future__ import annotations

from importlib import metadata


def test_one_tensorflow_distribution_is_installed() -> None:
    installed = set()
    for name in ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos"):
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        installed.add(name)
    assert len(installed) == 1, f"TensorFlow distributions installed together: {sorted(installed)}"
