"""Hyper-parameter trials on the orchestrator: Optuna samples each trial's values, each
trial runs as a step of its own through the launcher (a process locally, a Job on
Kubernetes), at most ``train.max_parallel_trials`` at once, and the best by
``train.objective`` becomes the one version the statement publishes.

Why here and not in the step: a trial is a step like any other — its own StepSpec, its
own process or pod, its own GPU — so a search scales out the way single trainings do,
and the step image needs no Optuna. Why sampling is reproducible however long trials
take: trial ``k`` is sampled only after trials ``0 … k - max_parallel_trials`` have
finished and been told to the study, in trial order, so the sampler sees the same
history on every run of the same statement (random and grid sampling read no history
and sample every trial up front).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from ..contract.trials import (
    DEFAULT_MAX_PARALLEL_TRIALS,
    DEFAULT_NUM_TRIALS,
    DEFAULT_SAMPLER,
    HparamCandidates,
    HparamRange,
    SearchValue,
    default_objective,
    metric_direction,
    search_space,
)
from ..launchers import LaunchResult
from ..launchers.cancel import cancellable

#: Trial states as the manifest records them.
SUCCEEDED = "succeeded"
FAILED = "failed"


class TrialsFailed(Exception):
    """Every trial failed: no version; the message names each trial's failure."""


@dataclass(frozen=True)
class Search:
    """One statement's search: the space, how many trials, how many at once, how they
    are sampled and ranked, and the seed that makes it reproducible."""

    space: Mapping[str, SearchValue]
    num_trials: int
    max_parallel: int
    sampler: str
    objective: str | None
    seed: int

    @classmethod
    def of(cls, params: Mapping[str, Mapping[str, Any]]) -> Search | None:
        """The search a statement's params by namespace describe; ``None`` without one."""
        space = search_space(params)
        if not space:
            return None
        train = params.get("train", {})
        sampler = str(train.get("trial_sampler") or DEFAULT_SAMPLER)
        grid = grid_of(space) if sampler == "grid" else None
        points = len(list(itertools.product(*grid.values()))) if grid else None
        num_trials = int(train.get("num_trials") or points or DEFAULT_NUM_TRIALS)
        return cls(
            space=space,
            num_trials=min(num_trials, points) if points else num_trials,  # a grid has so many
            max_parallel=max(
                1, int(train.get("max_parallel_trials") or DEFAULT_MAX_PARALLEL_TRIALS)
            ),
            sampler=sampler,
            objective=train.get("objective"),
            seed=int(train.get("seed", 0) or 0),
        )


@dataclass(frozen=True)
class Trial:
    """One trial as the manifest records it."""

    number: int
    params: dict[str, Any]
    status: str
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    launched_as: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Outcome:
    """A finished search: every trial, the metric that ranked them, the best trial and
    what its step reported."""

    trials: list[Trial]
    objective: str
    best: int
    launched: LaunchResult


def grid_of(space: Mapping[str, SearchValue]) -> dict[str, list[Any]]:
    """Every value of each searched key, for the grid sampler (the compiler refuses a
    grid over a range of real numbers, SQLML132). Candidates are listed by index: Optuna
    takes only plain scalars, a candidate may be a list (``hidden_units``)."""
    grid: dict[str, list[Any]] = {}
    for key, value in space.items():
        if isinstance(value, HparamCandidates):
            grid[key] = list(range(len(value.values)))
        elif isinstance(value, HparamRange) and value.integer:
            grid[key] = list(range(int(value.low), int(value.high) + 1))
        else:
            raise ValueError(f"{key}: a grid needs candidates or a range of whole numbers")
    return grid


def run_search(
    search: Search,
    run_trial: Callable[[int, dict[str, Any]], LaunchResult],
    log: Callable[[str], None],
) -> Outcome:
    """Sample and run every trial, at most ``search.max_parallel`` at once, and pick the
    best. ``run_trial(number, values)`` launches one trial's step and raises when it
    fails; a failure is recorded and the others go on. Raises :class:`TrialsFailed` when
    no trial succeeded (or none reported the objective)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=_sampler(search))
    # The study maximizes the signed objective, so the direction need not be known before
    # the first trial reports which metrics there are (train.objective may be unwritten).
    window = search.max_parallel if search.sampler == "tpe" else search.num_trials
    asked: list[tuple[Any, dict[str, Any]]] = []
    futures: list[Future[tuple[LaunchResult | None, str | None, float]]] = []
    trials: list[Trial] = []
    results: dict[int, LaunchResult] = {}
    objective = search.objective
    log(
        f"hyper-parameter search: {search.num_trials} trial(s), {search.max_parallel} at a "
        f"time, {search.sampler} sampler over {', '.join(search.space)}"
    )

    def tell(number: int) -> None:
        nonlocal objective
        trial, values = asked[number]
        launched, error, seconds = futures[number].result()
        metrics = dict(getattr(launched.result, "metrics", {}) or {}) if launched else {}
        objective = objective or default_objective(metrics)
        score = metrics.get(objective) if objective else None
        if launched is not None and score is None:
            wanted = f"'{objective}'" if objective else "a validation loss or score"
            error = f"reported no {wanted} (it reported {', '.join(metrics) or 'nothing'})"
        if error is None and launched is not None and score is not None:
            sign = -1.0 if metric_direction(objective or "") == "minimize" else 1.0
            study.tell(trial, sign * float(score))
            results[number] = launched
            status = SUCCEEDED
            shown = f"{objective} = {score:.4g}"
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            status = FAILED
            shown = f"failed: {error}"
        trials.append(
            Trial(
                number=number,
                params=values,
                status=status,
                seconds=round(seconds, 3),
                metrics=metrics,
                error=error if status == FAILED else None,
                launched_as=launched.launched_as if launched is not None else None,
            )
        )
        log(f"trial {number} ({_shown(values)}): {shown} in {seconds:.1f}s")

    stopping = threading.Event()  # set when the search is cancelled: running trials stop

    def timed(number: int, values: dict[str, Any]) -> tuple[LaunchResult | None, str | None, float]:
        began = time.perf_counter()
        try:
            with cancellable(stopping):
                return run_trial(number, values), None, time.perf_counter() - began
        except Exception as e:  # a failed trial is recorded; the others go on
            return None, _reason(e), time.perf_counter() - began

    pool = ThreadPoolExecutor(max_workers=search.max_parallel, thread_name_prefix="sqlml-trial")
    try:
        for number in range(search.num_trials):
            while len(trials) <= number - window:  # what the sampler may know by now
                tell(len(trials))
            trial = study.ask()
            values = {key: _suggest(trial, key, value) for key, value in search.space.items()}
            asked.append((trial, values))
            futures.append(pool.submit(timed, number, values))
        while len(trials) < search.num_trials:
            tell(len(trials))
    except BaseException:  # cancelled: start no further trial, stop the running ones
        stopping.set()  # each launcher kills its trial's processes or deletes its Job
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if not results or objective is None:
        failures = "; ".join(f"trial {t.number}: {t.error}" for t in trials)
        raise TrialsFailed(f"all {len(trials)} trials failed — {failures}")
    best = _best(trials, objective)
    log(
        f"best: trial {best.number} ({_shown(best.params)}), {objective} = {best.metrics[objective]:.4g}"
    )
    return Outcome(
        trials=trials, objective=objective, best=best.number, launched=results[best.number]
    )


def _best(trials: list[Trial], objective: str) -> Trial:
    """The succeeded trial with the best objective; the earliest among equals."""
    succeeded = [t for t in trials if t.status == SUCCEEDED]
    sign = -1.0 if metric_direction(objective) == "minimize" else 1.0
    return max(succeeded, key=lambda t: (sign * t.metrics[objective], -t.number))


def _sampler(search: Search) -> Any:
    import optuna

    if search.sampler == "random":
        return optuna.samplers.RandomSampler(seed=search.seed)
    if search.sampler == "grid":

        class AskTellGrid(optuna.samplers.GridSampler):
            """Optuna's grid, asked and told: its ``after_trial`` stops an ``optimize``
            loop at the last point, which ask-and-tell has not; the search counts its
            trials itself (never more than the grid's points)."""

            def after_trial(self, *args: Any, **kwargs: Any) -> None:
                return None

        return AskTellGrid(grid_of(search.space), seed=search.seed)
    return optuna.samplers.TPESampler(seed=search.seed)


def _suggest(trial: Any, key: str, value: SearchValue) -> Any:
    """One trial's value of one searched key."""
    if isinstance(value, HparamCandidates):
        index = trial.suggest_categorical(key, list(range(len(value.values))))
        return value.values[index]
    if value.integer:
        return trial.suggest_int(key, int(value.low), int(value.high), log=value.log)
    return trial.suggest_float(key, float(value.low), float(value.high), log=value.log)


def _reason(error: BaseException) -> str:
    description = getattr(error, "description", None)
    return str(description or error) or type(error).__name__


def _shown(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {v!r}" for k, v in values.items())
