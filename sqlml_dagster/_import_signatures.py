"""The import process of ``sqlml check``: imports model classes, reports their signatures.

Run as ``python -m sqlml_dagster._import_signatures`` with the project's ``models/`` folder
on ``PYTHONPATH`` (as a local step has it). Reads one model reference per line on stdin,
as the parent learns them, until end of input, and writes one JSON line per reference as
soon as it is answered, so that a reference whose import hangs costs only itself when the
parent's timeout ends the process: ``{"reference": r, "signature": {...}}`` or
``{"reference": r, "error": "one line"}``.

Importing runs module code, so the parent asks only for references in the project's model
packages and tells this process which those are (``$SQLML_ALLOWED_MODEL_PACKAGES``, as a
step is told): a reference outside them is refused here too, before anything is imported.
What a reference names must be a model (``contract.model_kind``), or the answer says why it
is not (``{"not_model": …}``) and nothing is called. Whatever a module prints goes to
stderr, never into the answers. A failure is reported with its one-line reason, never a
traceback.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import os
import sys
from typing import Any, TextIO

from sqlml_dagster.contract import ConstructorSignature, is_estimator_class, prefer_tf_keras
from sqlml_dagster.contract.model_packages import ModelPackages, model_kind, not_a_model


def main() -> int:
    answers = _answers_channel()
    prefer_tf_keras()  # before any model module imports TensorFlow, as the runtime does
    packages = ModelPackages.from_env(os.environ)
    for line in sys.stdin:
        reference = line.strip()
        if reference:
            answer = resolve(reference, packages)
            answers.write(json.dumps({"reference": reference, **answer}) + "\n")
            answers.flush()
    return 0


def _answers_channel() -> TextIO:
    """A private copy of stdout for the answers; fd 1 itself now goes to stderr, so a
    module that prints while it is imported cannot corrupt them."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return answers


def resolve(reference: str, packages: ModelPackages) -> dict[str, Any]:
    """``{"signature": …}`` of the class or factory ``reference`` names, ``{"not_model":
    …}`` when it names something else, or ``{"error": …}``."""
    if not packages.permits(reference):
        return _error(packages.not_allowed(reference))
    module_name, _, name = reference.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as e:  # the same words as the runtime's (flavors/sklearn.py)
        return _error(
            f"the model package {module_name} does not compile: {e.msg} at "
            f"{e.filename}:{e.lineno}:{e.offset or 0}"
        )
    except (Exception, SystemExit) as e:  # importing runs user code: any failure is the answer
        return _error(f"cannot import {module_name} for model {reference}: {_one_line(e)}")
    found = getattr(module, name, None)
    if found is None:
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(name, names, n=1)
        suggestion = f"; did you mean {module_name}.{close[0]}?" if close else ""
        return _error(f"{module_name} has no '{name}'{suggestion}")
    if model_kind(found, module, name) is None:
        return {"not_model": not_a_model(reference, found)}
    try:
        if inspect.isclass(found) and is_estimator_class(found):
            signature = ConstructorSignature.of_estimator(found)
        else:
            signature = ConstructorSignature.of(found)
    except (Exception, SystemExit) as e:
        return _error(f"cannot read the parameters of {reference}: {_one_line(e)}")
    return {"signature": None if signature is None else signature.to_json()}


def _error(message: str) -> dict[str, Any]:
    return {"error": message}


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    detail = text[0] if text else ""
    if isinstance(error, ModuleNotFoundError):
        return detail or type(error).__name__
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
