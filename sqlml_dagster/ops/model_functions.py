"""``ML_PREDICT(model, input, …)`` inside a table's query (Rikai's form).

The model runs where the query runs: each model version a statement names becomes a
vectorized (Arrow) function registered on the DuckDB connection, and the call is rewritten
to that function for this materialization only. A scikit-learn or XGBoost version is
loaded in the warehouse process (trusted types only); a PyTorch or Keras version is scored
by a worker process of its own (``ops/scoring_worker.py``, ``runtime/score_worker.py``),
because loading it would import its framework and the project's model code into the
process that holds the warehouse's credentials. Either way the values are ``TO PREDICT``'s.
``TO PREDICT`` is the form that runs as a step (a local process or a Kubernetes Job);
``ML_PREDICT`` suits models scored inline with other SQL.

Use :class:`ModelFunctions` as a context manager around the statements that call its
functions: leaving the block ends the workers, and a worker's failure becomes the step's
``dg.Failure`` (its one line, not the warehouse's wrapping of it).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

import dagster as dg
import numpy as np
import pyarrow as pa
from sqlglot import exp

from ..compiler import codes
from ..compiler.ir import QualifiedName
from ..compiler.parser import ML_PREDICT, PIN_META
from ..contract import FLAVORS, XGBOOST
from ..contract.lifecycle import Pin, pin_text
from ..contract.model_packages import ModelPackages
from ..runtime import StepError
from ..runtime.drift import DriftAccumulator
from ..runtime.score_worker import PREDICTION, PROBABILITIES
from ..store import ModelVersion
from ..store.models import CorruptVersion, verify_artifacts
from ..warehouses import SqlFunction
from .returns import Filler, ReturnsNotFilled, declared_returns
from .returns import arrow_type as returns_arrow_type
from .scoring_worker import ScoringFailed, ScoringWorker, WorkerSetup


class ModelResolver(Protocol):
    """Finds ``name@version`` (``None``: @latest; a string: an alias) or raises
    ``dg.Failure`` saying why: an asset step, or the ``sqlml run-sql`` session."""

    def model_version(self, name: QualifiedName, version: Pin = None) -> ModelVersion: ...


#: Flavors whose models are called in the warehouse process; others in a scoring worker.
IN_PROCESS_FLAVORS = tuple(name for name, f in FLAVORS.items() if f.in_process)


@dataclass
class ModelFunctions:
    """Statements with their ML_PREDICT calls rewritten, and the functions they now call."""

    rewritten: list[exp.Expr]
    functions: list[SqlFunction] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    #: With ``drift``: each called version (``m@3``) → the accumulator its function feeds
    #: with the rows it scores, or why it has none (no training statistics).
    drift: dict[str, DriftAccumulator | str] = field(default_factory=dict)
    #: The scoring workers of the versions that are not scored in this process (each
    #: started at its function's first call).
    workers: list[ScoringWorker] = field(default_factory=list)
    #: Why a function failed while the warehouse called it (one line each): a declared
    #: ``RETURNS`` type the model's values do not fill.
    failures: list[str] = field(default_factory=list)

    def __enter__(self) -> ModelFunctions:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """End every worker; a statement that failed because a worker did fails with the
        worker's own line (the warehouse wraps a function's exception in its own words)."""
        self.close(kill=error is not None)
        if isinstance(error, Exception) and not isinstance(error, dg.Failure):
            failed = next(
                (
                    f"{codes.SCORING_WORKER_FAILED}: ML_PREDICT: {w.failure}"
                    for w in self.workers
                    if w.failure
                ),
                self.failures[0] if self.failures else None,
            )
            if failed is not None:
                where = getattr(error, "location", "")
                where = f"{where}: " if isinstance(where, str) and where else ""
                raise dg.Failure(description=f"{where}{failed}") from None

    def close(self, *, kill: bool = False) -> None:
        """End the workers (killed where they do not leave in time, or at once with
        ``kill``: the statements failed or the run was cancelled); idempotent."""
        for worker in self.workers:
            worker.close(kill=kill)

    @classmethod
    def for_statements(
        cls,
        step: ModelResolver,
        statements: Sequence[exp.Expr],
        packages: ModelPackages | None = None,
        *,
        drift: bool = False,
        workers: WorkerSetup | None = None,
    ) -> ModelFunctions:
        """``packages``: whose classes a model file may hold besides the trusted types
        (None: ``$SQLML_ALLOWED_MODEL_PACKAGES``; ``runtime/flavors/trusted_types.py``).
        ``drift``: count the scored inputs into each version's training statistics
        (``-- sqlml: drift``), in the function, as the warehouse calls it. ``workers``:
        how a scoring worker starts (None: this interpreter, this process's environment)."""
        out = cls(rewritten=[])
        by_model: dict[tuple[str, int, int], SqlFunction] = {}
        for tree in statements:
            calls = [c for c in tree.find_all(exp.Anonymous) if str(c.this).upper() == ML_PREDICT]
            if not calls:
                out.rewritten.append(tree)
                continue
            tree = tree.copy()
            for call in [
                c for c in tree.find_all(exp.Anonymous) if str(c.this).upper() == ML_PREDICT
            ]:
                model_arg, *inputs = call.expressions
                name = QualifiedName(tuple(part.name for part in model_arg.parts))
                pinned: Pin = model_arg.meta.get(PIN_META)
                version = step.model_version(name, pinned)
                key = (name.key, version.version, len(inputs))
                if key not in by_model:
                    accumulator = None
                    if drift:
                        stats = version.feature_stats
                        if stats is None:
                            out.drift[version.ref] = (
                                f"{version.ref} has no training statistics: it was "
                                "registered from a file or trained by an older release; "
                                "retrain it to check drift"
                            )
                        else:
                            accumulator = DriftAccumulator(stats)
                            out.drift.setdefault(version.ref, accumulator)
                    try:
                        returned = declared_returns(version)
                    except ReturnsNotFilled as e:
                        raise dg.Failure(description=str(e)) from None
                    filler = Filler(returned, version.ref) if returned else None
                    worker = None
                    if version.manifest.flavor not in IN_PROCESS_FLAVORS:
                        worker = ScoringWorker(
                            version,
                            workers or WorkerSetup(),
                            probabilities=filler is not None and filler.needs_probabilities,
                        )
                        out.workers.append(worker)
                    by_model[key] = model_function(
                        version,
                        len(inputs),
                        f"__sqlml_predict_{len(by_model)}",
                        packages,
                        accumulator,
                        worker,
                        filler,
                        out.failures,
                    )
                    out.functions.append(by_model[key])
                    shown = name.key if pinned is None else f"{name.key}{pin_text(pinned)}"
                    out.versions[shown] = version.version
                call.replace(
                    exp.Anonymous(this=by_model[key].name, expressions=[i.copy() for i in inputs])
                )
            out.rewritten.append(tree)
        return out


def model_function(
    version: ModelVersion,
    inputs: int,
    function_name: str,
    packages: ModelPackages | None = None,
    drift: DriftAccumulator | None = None,
    worker: ScoringWorker | None = None,
    returns: Filler | None = None,
    failures: list[str] | None = None,
) -> SqlFunction:
    """Load one model version and wrap its ``predict`` as an Arrow function of ``inputs``
    DOUBLE arguments (features in the order the model was trained on); with ``worker``
    (a version of a flavor not loaded in this process), an Arrow function that sends each
    batch to the worker and returns its answer.

    A model trained with a ``COLUMN`` clause reads its source columns through the saved
    feature plan (vocabularies, buckets, hashes): its arguments take the types of those
    columns (``ML_PREDICT(m, city, x)`` with ``city`` a VARCHAR) and are encoded exactly as
    ``TO PREDICT`` encodes them, never fed to the estimator as raw numbers.

    The file is loaded as every step loads one (``runtime/flavors/trusted_types.py``):
    exact trusted types only, so a crafted file runs no code in the orchestrator, which
    holds the warehouse's credentials. ``drift`` counts every call's arguments (the
    model's features, in order) into the version's training buckets. ``returns``: the
    version's declared ``RETURNS`` type, which the function returns (a value that does not
    fit it fails, its reason kept in ``failures``)."""
    manifest, signature = version.manifest, version.signature
    label = f"{manifest.model} v{manifest.version}"
    expected = len(manifest.features) or signature.get("n_features")
    if expected and inputs != expected:
        named = f": {', '.join(manifest.features)}" if manifest.features else ""
        raise dg.Failure(
            description=f"ML_PREDICT({manifest.model}, …) passes {inputs} input(s) but {label} "
            f"was trained on {expected} feature(s){named}"
        )
    if worker is not None or manifest.flavor not in IN_PROCESS_FLAVORS:
        return _worker_function(
            version,
            inputs,
            function_name,
            drift,
            worker or ScoringWorker(version, WorkerSetup()),
            returns,
            failures if failures is not None else [],
        )
    from ..runtime.flavors.sklearn import load_estimator, saved_plan

    try:
        verify_artifacts(version.uri)
        if manifest.flavor == XGBOOST:  # XGBoost's own UBJSON, read by its C++ loader
            from ..runtime.flavors.xgboost import XGBoostPredictor, load_booster

            estimator = XGBoostPredictor(
                load_booster(version.uri), signature, list(manifest.features)
            )
        else:
            estimator = load_estimator(version.uri, packages)
        plan = saved_plan(signature)
    except (StepError, CorruptVersion) as e:
        raise dg.Failure(description=f"cannot load {label}: {e}") from None
    parameters: tuple[str, ...] = ("DOUBLE",) * inputs
    if plan is not None:
        types = {f["name"]: str(f.get("type")) for f in signature.get("features", [])}
        parameters = tuple(_sql_parameter(types.get(name, "double")) for name in manifest.features)
    return_type = _sql_type(signature) if returns is None else returns.returned.sql()
    arrow_type = _ARROW_TYPES.get(return_type, pa.float64())
    classes = signature.get("classes") or _plain(getattr(estimator, "classes_", None))
    if returns is not None and returns.needs_probabilities and not _has_proba(estimator):
        raise dg.Failure(description=str(returns.fill_problem_without_probabilities()))

    def declared(predicted: Any, proba: Callable[[], Any]) -> pa.Array:
        assert returns is not None
        matrix = np.asarray(proba(), dtype=np.float64) if returns.needs_probabilities else None
        try:
            return returns.fill(pa.array(np.asarray(predicted).tolist()), matrix, classes)
        except ReturnsNotFilled as e:
            if failures is not None:
                failures.append(str(e))
            raise

    def predict(*columns: pa.Array) -> pa.Array:
        if drift is not None:
            for name, column in zip(manifest.features, columns, strict=False):
                drift.add(name, column)
        if manifest.flavor == XGBOOST:  # reads the named columns through its own plan
            table = pa.table(list(columns), names=list(manifest.features))
            if returns is not None:
                return declared(estimator.predict(table), lambda: estimator.predict_proba(table))
            return pa.array(np.asarray(estimator.predict(table)).tolist(), type=arrow_type)
        if plan is not None:
            x = plan.encode(pa.table(list(columns), names=manifest.features)).dense
        else:
            x = np.column_stack(
                [np.asarray(c.to_numpy(zero_copy_only=False), dtype=float) for c in columns]
            )
        with warnings.catch_warnings():  # models fitted on named columns get positions here
            warnings.simplefilter("ignore", UserWarning)
            predicted: Any = estimator.predict(x)
            if returns is not None:
                return declared(predicted, lambda: estimator.predict_proba(x))
        return pa.array(np.asarray(predicted).tolist(), type=arrow_type)

    # DuckDB counts a function's parameters from its signature: give it exactly `inputs`.
    predict.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"x{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(inputs)]
    )
    function: Callable[..., pa.Array] = predict
    return SqlFunction(function_name, function, parameters, return_type)


def _worker_function(
    version: ModelVersion,
    inputs: int,
    function_name: str,
    drift: DriftAccumulator | None,
    worker: ScoringWorker,
    returns: Filler | None,
    failures: list[str],
) -> SqlFunction:
    """The Arrow function of a version scored by ``worker``: the arguments as a batch of
    the version's features, the worker's prediction cast to the declared return type.
    Nothing of the model is loaded here; the worker starts at the first call."""
    manifest, signature = version.manifest, version.signature
    if not manifest.features:
        raise dg.Failure(
            description=f"ML_PREDICT({manifest.model}, …): {version.ref} names no features "
            "(a model registered without feature names): its arguments could not be matched "
            "to its inputs — use SELECT … TO PREDICT … USING"
        )
    features = list(manifest.features)
    types = {
        str(f["name"]): str(f["type"])
        for f in signature.get("features") or []
        if isinstance(f, dict) and f.get("type")
    }
    stats = (version.feature_stats or {}).get("features") or {}
    parameters = tuple(
        _sql_parameter(types[name])
        if name in types
        else ("VARCHAR" if (stats.get(name) or {}).get("kind") == "categorical" else "DOUBLE")
        for name in features
    )
    return_type = _sql_type(signature) if returns is None else returns.returned.sql()
    arrow_type = (
        _ARROW_TYPES.get(return_type, pa.float64())
        if returns is None
        else returns_arrow_type(returns.returned)
    )

    def predict(*columns: pa.Array) -> pa.Array:
        if drift is not None:
            for name, column in zip(features, columns, strict=False):
                drift.add(name, column)
        table = pa.table(list(columns), names=features).combine_chunks()
        if table.num_rows == 0:
            return pa.array([], type=arrow_type)
        scored = worker.score(table.to_batches()[0])
        answer = scored.column(PREDICTION)
        if returns is not None:
            matrix = None
            if returns.needs_probabilities:
                listed = scored.column(PROBABILITIES)
                if listed.null_count == 0:
                    matrix = np.asarray(listed.to_pylist(), dtype=np.float64)
            try:
                return returns.fill(answer, matrix, worker.classes)
            except ReturnsNotFilled as e:
                failures.append(str(e))
                raise
        try:
            return answer.cast(arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            worker.failure = worker.failure or (
                f"{version.ref} predicted {answer.type} values, which are not {return_type}: {e}"
            )
            raise ScoringFailed(worker.failure) from None

    predict.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"x{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(inputs)]
    )
    function: Callable[..., pa.Array] = predict
    return SqlFunction(function_name, function, parameters, return_type)


_ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "BOOLEAN": pa.bool_()}


def _has_proba(estimator: Any) -> bool:
    """Whether the estimator gives class probabilities (an ``SVC`` without
    ``probability=True`` has the method but raises ``AttributeError`` on reading it)."""
    return hasattr(estimator, "predict_proba") and (
        getattr(estimator, "task", "classification") == "classification"
    )


def _plain(values: Any) -> list[Any] | None:
    return None if values is None else np.asarray(values).tolist()


def _sql_parameter(arrow_type: str) -> str:
    """The DuckDB type of an argument from the Arrow type its column had in training
    (``string``, ``int64``, ``list<item: double>``…): strings stay strings for
    vocabularies and hashes, integers stay integers for ids."""
    if arrow_type.startswith(("list<", "large_list<", "fixed_size_list<")):
        item = arrow_type[arrow_type.index(": ") + 2 : arrow_type.rindex(">")]
        return _sql_parameter(item) + "[]"
    if "string" in arrow_type or arrow_type == "utf8":
        return "VARCHAR"
    if arrow_type == "bool":
        return "BOOLEAN"
    if "int" in arrow_type:
        return "BIGINT"
    return "DOUBLE"


def _sql_type(signature: dict[str, Any]) -> str:
    label = signature.get("label") or {}
    if signature.get("task") != "classification":
        return "DOUBLE"
    return {"string": "VARCHAR", "large_string": "VARCHAR", "bool": "BOOLEAN"}.get(
        str(label.get("type")), "BIGINT" if "int" in str(label.get("type")) else "VARCHAR"
    )
