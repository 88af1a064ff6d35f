"""The files of a model version folder that the runtime writes and the orchestrator
reads, and where a version folder may be."""

from __future__ import annotations

import posixpath

from .names import key_problem, printable

#: The model store's root (a path or URL, as the orchestrator resolved it), which the
#: orchestrator gives every step: the runtime writes and reads versions only under it.
STEP_MODEL_STORE_ENV = "SQLML_STEP_MODEL_STORE"

#: ``<version>/.trials/<n>``: the folder of trial ``n`` of a hyper-parameter search, inside
#: the reserved version (the store keeps the best one's files and removes the folder).
TRIALS_FOLDER = ".trials"

#: What the model reads and returns (task, classes, feature plan, saved format), written
#: by every flavor beside its model file — the one copy of a version's signature.
SIGNATURE_FILE = "signature.json"
#: Per-feature statistics of a version's training rows (counts, nulls, quantile bins, top
#: categories), written by the train step beside the model and read — JSON, never code —
#: by drift checks (``runtime/drift.py``, ``ModelVersion.feature_stats``).
FEATURE_STATS_FILE = "feature_stats.json"


def version_uri_problem(model_uri: str, model_name: str, store_root: str | None) -> str | None:
    """Why a StepSpec's ``model_uri`` is not a version folder of ``model_name`` inside the
    model store at ``store_root`` — ``<root>/<model>/<number>``, or a trial's folder in
    one, ``<root>/<model>/<number>/.trials/<n>`` — or ``None``. A spec
    written by hand (or altered in the data store) cannot point a step's writes outside
    the store. Without a root (a step run by hand), the name and the path's pieces are
    still checked."""
    problem = key_problem(model_name)
    if problem is not None:
        return f"the step's model name '{printable(model_name)}' is not a model name: it {problem}"
    if any(c in model_uri for c in "\x00\\") or any(
        part in (".", "..") for part in model_uri.split("/")
    ):
        return f"the step's model_uri '{printable(model_uri)}' is not a plain path"
    if store_root is None:
        return None
    expected = posixpath.normpath(_path_of(store_root).rstrip("/") + "/" + model_name)
    folder, _, number = posixpath.normpath(_path_of(model_uri).rstrip("/")).rpartition("/")
    version_folder, _, trials = folder.rpartition("/")
    if trials == TRIALS_FOLDER and number.isdigit():  # a trial inside a reserved version
        folder, _, number = version_folder.rpartition("/")
    if folder != expected or not number.isdigit():
        return (
            f"the step's model_uri '{printable(model_uri)}' is not a version folder of "
            f"'{model_name}' in the model store {store_root}"
        )
    return None


def _path_of(uri: str) -> str:
    """A local path or URL without ``file://`` (the same folder, spelled either way)."""
    return uri[len("file://") :] if uri.startswith("file://") else uri


def base_version_problem(uri: str, store_root: str | None) -> str | None:
    """Why a warm start's base (``StepSpec.warm_start_uri``) is not a version folder of
    some model inside the store — ``<root>/<model>/<number>`` — or ``None``."""
    folder = posixpath.normpath(_path_of(uri).rstrip("/")).rpartition("/")[0]
    model = folder.rpartition("/")[2]
    problem = version_uri_problem(uri, model, store_root)
    return None if problem is None else f"the warm start's base: {problem}"
