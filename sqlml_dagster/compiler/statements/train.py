"""``<select> TO TRAIN <model> [WITH …] [COLUMN … [FOR <arg>]] [LABEL <col>] [USING <base>[@v]]
INTO <name>``: trains a model class (optionally from a container image) on the SELECT's
rows into a new version of the model ``<name>`` — from scratch, or continuing the weights
of a version of ``<base>`` (SQLFlow's warm start: ``USING`` between ``LABEL`` and ``INTO``).
``WITH`` values of ``model.*``/``train.*`` may be search spaces (``HPARAM_RANGE``,
``HPARAM_CANDIDATES``): the statement then trains ``train.num_trials`` trials and keeps
the best (``docs/deep-learning.md``, Trials)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from ...contract import AUTO, SKLEARN
from ...contract.distributed import NUM_WORKERS, workers_value_problem
from ...contract.lifecycle import Pin
from ...contract.trials import (
    MAX_PARALLEL_TRIALS,
    NUM_TRIALS,
    OBJECTIVE,
    SAMPLERS,
    TRIAL_KEYS,
    TRIAL_SAMPLER,
    HparamRange,
    SearchValue,
    is_booster_objective,
    is_search_value,
    objective_problem,
    search_space,
)
from .. import codes
from ..context import Abort, Common, ParseContext
from ..cursor import Cursor
from ..diagnostics import Span
from ..feature_columns import ColumnGroup, column_clause
from ..names import NAME_HINT, ModelRef, ObjectKind, QualifiedName
from ..params import OPTIONAL_CLAUSE, Param
from ..sql_writer import SqlWriter
from ..statement import MLStatement, WritesInto
from ..tables import tables_read

USAGE = (
    "TO TRAIN <model> [WITH …] [COLUMN … [FOR <arg>]] [LABEL <column>] [USING <base>[@v]] "
    "INTO <name>"
)


@dataclass(frozen=True)
class TrainStatement(WritesInto, MLStatement):
    """``<select> TO TRAIN <model> [WITH …] [LABEL <col>] INTO <name>``."""

    KIND: ClassVar[str] = "train"
    VERB: ClassVar[str] = "TRAIN"
    OBJECT_KIND: ClassVar[ObjectKind] = ObjectKind.MODEL

    model: ModelRef
    label: str | None
    into: QualifiedName
    into_span: Span
    columns: tuple[ColumnGroup, ...] = ()
    #: ``WITH validation.select = "SELECT …"`` parsed; its tables are in ``read_tables``.
    validation_select: exp.Query | None = field(default=None, compare=False, kw_only=True)
    #: ``USING base[@v]``: the model whose version this training starts from (warm start);
    #: ``warm_start_version`` ``None`` means ``@latest``.
    warm_start: QualifiedName | None = field(
        default=None, kw_only=True, metadata={OPTIONAL_CLAUSE: True}
    )
    warm_start_version: Pin = field(default=None, kw_only=True, metadata={OPTIONAL_CLAUSE: True})
    warm_start_span: Span | None = field(default=None, compare=False, kw_only=True)

    @property
    def model_ref(self) -> ModelRef:
        return self.model

    @property
    def continues_itself(self) -> bool:
        """``USING m INTO m``: continue the model's own latest version — no dependency on
        another asset (and no cycle)."""
        return self.warm_start is not None and self.warm_start.key == self.into.key

    def warm_start_base(self) -> tuple[QualifiedName, Span] | None:
        if self.warm_start is None or self.continues_itself:
            return None
        return (self.warm_start, self.warm_start_span or self.span)

    def uses_models(self) -> tuple[tuple[QualifiedName, Span], ...]:
        used = super().uses_models()
        base = self.warm_start_base()
        return used if base is None else (base, *used)

    def model_pins(self) -> tuple[tuple[QualifiedName, Pin], ...]:
        pins = super().model_pins()
        if self.warm_start is None:
            return pins
        return (*pins, (self.warm_start, self.warm_start_version))

    def search_space(self) -> dict[str, SearchValue]:
        """The searched keys (``model.max_depth`` → its range), empty without trials."""
        return search_space(self.params_by_namespace())

    def imported_references(self) -> tuple[tuple[str, Span], ...]:
        return ((self.model.reference, self.model.span or self.span),)

    @classmethod
    def parse_tail(cls, c: Cursor, common: Common) -> TrainStatement:
        model_ref = c.model_reference()
        params = c.with_clause(search=True) if c.at_word("WITH") else ()
        columns: list[ColumnGroup] = []
        while c.at_word("COLUMN"):
            group = column_clause(c)
            if any(g.argument == group.argument for g in columns):
                assert group.span is not None
                c.p.error(
                    codes.DUPLICATE_PARAM,
                    f"a second COLUMN clause for '{group.argument}'",
                    group.span.start,
                    group.span.end,
                    hint="list all columns of one model argument in one COLUMN clause, or name another with FOR <argument>",
                )
            columns.append(group)
        label = None
        if c.at_word("LABEL"):
            c.next()
            label = c.label()
        base = base_span = base_version = None
        if c.at_word("USING"):
            c.next()
            base, base_span, base_version = c.model_pin("the model to start from")
        c.expect_word("INTO", USAGE)
        into, into_span = c.qualified_name("a model name")
        c.expect_end()
        check_trials(c.p, params, model_ref)
        check_workers(c.p, params, model_ref)
        validation = _validation_select(c.p, params)
        if validation is not None:  # its tables are inputs of the model like the SELECT's
            read = common["read_tables"]
            common["read_tables"] = (
                *read,
                *(t for t in tables_read(validation) if t not in read),
            )
        return cls(
            **common,
            validation_select=validation,
            params=params,
            model=model_ref,
            label=label,
            into=into,
            into_span=into_span,
            columns=tuple(columns),
            warm_start=base,
            warm_start_version=base_version,
            warm_start_span=base_span,
        )

    def render_tail(self, w: SqlWriter) -> str:
        label = f" LABEL {w.identifier(self.label)}" if self.label else ""
        using = (
            f" USING {w.name(self.warm_start)}{w.pin(self.warm_start_version)}"
            if self.warm_start is not None
            else ""
        )
        return (
            w.model_ref(self.model)
            + w.params(self.params)
            + "".join(group.render_sql(w) for group in self.columns)
            + f"{label}{using} INTO {w.name(self.into)}"
        )


def check_trials(p: ParseContext, params: tuple[Param, ...], model: ModelRef) -> None:
    """The trial settings of one TO TRAIN, checked where they are written: the search
    settings need a search space to steer (SQLML131) and values of their kind (SQLML132),
    a grid needs values it can list, and the objective must be a metric this training
    reports (SQLML133)."""
    by_key = {param.key: param for param in params}
    # A search space where none may be is SQLML130 already (the cursor's): not one more.
    searched = [p for p in params if is_search_value(p.value) and p.key not in _SETTING_KEYS]
    settings = [
        by_key[key]
        for key in _SETTING_KEYS
        if key in by_key
        and key not in searched_keys(params)
        # SQLFlow's XGBoost statements say train.objective = "reg:linear": the booster's
        and not (key == "train.objective" and is_booster_objective(by_key[key].value))
    ]
    if not searched:
        for param in settings:
            p.error(
                codes.NO_SEARCH_SPACE,
                f"'{param.key}' but no parameter is searched",
                param.span.start,
                param.span.end,
                hint="give a model.* or train.* parameter a search space: "
                "model.max_depth = HPARAM_RANGE(2, 8) or HPARAM_CANDIDATES([50, 100])",
            )
        return
    for param in settings:
        problem = _trial_setting_problem(param, searched)
        if problem is not None:
            p.error(
                codes.BAD_TRIAL_SETTING,
                f"{param.key}: {problem}",
                param.span.start,
                param.span.end,
                hint="train.num_trials = 8, train.max_parallel_trials = 2, "
                f'train.trial_sampler = {" | ".join(SAMPLERS)}, train.objective = "val_accuracy"',
            )
    objective = by_key.get(f"train.{OBJECTIVE}")
    if objective is None or not isinstance(objective.value, str):
        return
    validation = bool(by_key.get("validation.select")) or _positive(by_key.get("validation.split"))
    flavor = model.flavor
    problem = objective_problem(
        objective.value,
        validation=validation,
        task=_known_task(model, by_key),
        deep_learning=None if flavor == AUTO else flavor != SKLEARN,
    )
    if problem is not None:
        p.error(
            codes.BAD_OBJECTIVE,
            f"train.objective: {problem}",
            objective.span.start,
            objective.span.end,
            hint="rank trials by a metric the training reports: val_accuracy or val_f1_macro "
            "(classification), val_r2, val_rmse or val_mae (regression), val_loss (networks)",
        )


def check_workers(p: ParseContext, params: tuple[Param, ...], model: ModelRef) -> None:
    """``train.num_workers``: a whole number of at least 1 (SQLML135). Above 1 on a model
    that trains in one process is ``sqlml check``'s error (SQLML440), not the compiler's:
    SQLFlow's own statements ask XGBoost for workers, and they compile (its step trains in
    one process and says so)."""
    for param in params:
        if param.key != f"train.{NUM_WORKERS}":
            continue
        problem = workers_value_problem(param.value)
        if problem is not None:
            p.error(
                codes.BAD_WORKERS,
                f"train.num_workers: {problem}",
                param.span.start,
                param.span.end,
                hint="train.num_workers = 2: the processes (pods on Kubernetes) training a "
                "PyTorch model together",
            )


#: The search's own settings as written: ``train.num_trials``…
_SETTING_KEYS = tuple(f"train.{key}" for key in TRIAL_KEYS)


def searched_keys(params: tuple[Param, ...]) -> set[str]:
    return {p.key for p in params if is_search_value(p.value)}


def _trial_setting_problem(param: Param, searched: list[Param]) -> str | None:
    """Why a search setting's value is not one of its kind (``None``: it is)."""
    value, key = param.value, param.path
    if key in (NUM_TRIALS, MAX_PARALLEL_TRIALS):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return f"a whole number of at least 1, found {value!r}"
    elif key == TRIAL_SAMPLER:
        if value not in SAMPLERS:
            return f"one of {', '.join(SAMPLERS)}, found {value!r}"
        if value == "grid":
            floats = [
                s.key for s in searched if isinstance(s.value, HparamRange) and not s.value.integer
            ]
            if floats:
                return (
                    f"a grid lists every value, and {floats[0]} is a range of real numbers: "
                    "give it HPARAM_CANDIDATES([…]) or use tpe or random"
                )
    elif key == OBJECTIVE and not isinstance(value, str):
        return f"a metric name in quotes, found {value!r}"
    return None


def _positive(param: Param | None) -> bool:
    return (
        param is not None
        and isinstance(param.value, (int, float))
        and not isinstance(param.value, bool)
        and param.value > 0
    )


def _known_task(model: ModelRef, by_key: dict[str, Param]) -> str | None:
    """The task when the statement tells it before anything runs: ``train.task``, a class
    named ``…Classifier``/``…Regressor`` (SQLFlow's built-ins, scikit-learn's ensembles), or
    ``model.n_classes``; ``None`` otherwise (the step guesses it from the label)."""
    written = by_key.get("train.task")
    if written is not None and written.value in ("classification", "regression"):
        return str(written.value)
    name = model.reference.rsplit(".", 1)[-1]
    if name.endswith("Classifier"):
        return "classification"
    if name.endswith("Regressor"):
        return "regression"
    if "model.n_classes" in by_key:
        return "classification"
    return None


def _validation_select(p: ParseContext, params: tuple[Param, ...]) -> exp.Query | None:
    """``WITH validation.select = "SELECT …"``: the query yielding validation rows,
    parsed in the file's dialect so its tables join the graph and its errors point here."""
    param = next((x for x in params if x.key == "validation.select"), None)
    if param is None:
        return None
    span = param.span
    if not isinstance(param.value, str) or not param.value.strip():
        p.error(
            codes.BAD_ARGUMENT,
            "validation.select must be a quoted SELECT",
            span.start,
            span.end,
            hint='write validation.select = "SELECT * FROM iris_validation"',
        )
        raise Abort
    try:
        tree = sqlglot.parse_one(param.value, dialect=p.dialect)
    except (ParseError, TokenError) as e:
        errors = getattr(e, "errors", None) or [{}]
        detail = errors[0].get("description") or str(e).splitlines()[0]
        p.error(
            codes.SQL_SYNTAX,
            f"validation.select is not valid SQL: {detail}",
            span.start,
            span.end,
            hint="validation.select holds a SELECT in the file's dialect, in quotes",
        )
        raise Abort from None
    if not isinstance(tree, exp.Query):
        p.error(
            codes.BAD_ARGUMENT,
            "validation.select must be a query (SELECT …)",
            span.start,
            span.end,
            hint='write validation.select = "SELECT * FROM iris_validation"',
        )
        raise Abort
    for table in tables_read(tree):  # positions inside the string are not the file's
        if table.problem is not None:
            p.error(codes.BAD_NAME, table.refusal, span.start, span.end, hint=NAME_HINT)
    return tree
