"""``sqlml materialize``: run a code location's assets headless, the way CI and scripts
do, and print what was trained, predicted and written — one run for the unpartitioned
assets, then one per partitions definition."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..compiler import codes
from ..frameworks import Framework, missing_frameworks, skipped_line
from ..quiet import dagster_internal_warnings_silenced
from ..selection import SelectionError, parse_selection, selected_keys
from .code_location import load_definitions
from .errors import CliError
from .plan import plan_of


def add_materialize_command(commands: Any) -> None:
    """``sqlml materialize`` and its options, on the ``sqlml`` parser's subcommands."""
    materialize = commands.add_parser(
        "materialize", help="materialize assets headless and print a summary"
    )
    materialize.add_argument(
        "-m",
        "--module",
        default=None,
        help="module holding the Definitions (a @dg.definitions function or a Definitions "
        "object), or a dg project's package; default: the dg project around the working "
        "directory",
    )
    materialize.add_argument(
        "--attribute", default=None, help="name of the Definitions object (default: found)"
    )
    materialize.add_argument(
        "--select",
        nargs="*",
        default=None,
        metavar="SELECTION",
        help="Dagster's asset selection syntax, as dg launch --assets takes it: iris_rf, "
        "+iris_rf, group:iris, kind:pytorch, tag:sqlml/kind=model (several, or "
        "comma-separated: any of them); default: all",
    )
    materialize.add_argument(
        "--log-level",
        default=None,
        help="Dagster console log level (default: none shown; with --verbose: INFO)",
    )
    materialize.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Dagster's log and the stack of a failure (default: one line per failure)",
    )
    materialize.add_argument(
        "--partition",
        default=None,
        metavar="KEY",
        help="the partition of partitioned assets to materialize, e.g. 2026-11-23 "
        "(default: the latest)",
    )
    materialize.add_argument(
        "--force",
        action="store_true",
        help="retrain models even when nothing changed (default: reuse the unchanged version)",
    )
    materialize.add_argument(
        "--changed",
        action="store_true",
        help="run only what changed since it was last built (sqlml plan's verdicts); "
        "skip and list the rest",
    )
    materialize.add_argument(
        "--skip-unavailable",
        action="store_true",
        help="leave out the models whose framework (torch, tensorflow, xgboost) is not "
        "installed here, and what is downstream of them, and say so in one line "
        "(make demo on a lean install)",
    )
    materialize.set_defaults(run=_materialize)


def _materialize(args: argparse.Namespace) -> int:
    import dagster as dg

    from ..compiler.diagnostics import SqlMlCompileError
    from ..ops.step import FORCE_TAG

    try:
        _, defs = load_definitions(args.module, args.attribute)
    except SqlMlCompileError as e:
        print(e, file=sys.stderr)
        return 1
    except CliError as e:
        print(f"sqlml: {e}", file=sys.stderr)
        return 2
    started = time.monotonic()
    specs = {spec.key: spec for spec in _asset_specs(defs)}
    assets = [a for a in (defs.assets or []) if isinstance(a, dg.AssetsDefinition)]
    selection = None
    if args.select is not None:
        try:
            selection = sorted(_selected(defs, args.select))
        except SelectionError as e:
            print(f"sqlml: {e} ({e.hint})", file=sys.stderr)
            return 2
    if args.skip_unavailable:
        selection, unavailable = _available_only(defs, assets, selection)
        if unavailable:
            print(f"sqlml: {skipped_line(unavailable)}", flush=True)
            if not selection:
                return 0
    skipped: list[Any] = []
    if args.changed:
        try:
            selection, skipped = _changed_only(defs, assets, selection, force=args.force)
        except CliError as e:
            print(f"sqlml: {e}", file=sys.stderr)
            return 2
        if not selection:
            print(_skipped_summary(skipped, time.monotonic() - started))
            return 0
    instance = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    log_level = (args.log_level or ("INFO" if args.verbose else "CRITICAL")).upper()
    runs = _partitioned_runs(assets, selection, args.partition)
    events: list[Any] = []
    checks: list[Any] = []
    failed = False
    for keys, partition in runs:
        result = dg.materialize(
            assets,
            resources=dict(defs.resources or {}),
            instance=instance,
            selection=keys,
            partition_key=partition,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            tags={FORCE_TAG: "true"} if args.force else None,
        )
        events += result.get_asset_materialization_events()
        checks += result.get_asset_check_evaluations()
        if not result.success:
            failed = True
            for event in result.all_events:
                if event.is_step_failure and event.step_failure_data is not None:
                    line = failure_line(event.step_failure_data, verbose=args.verbose)
                    print(f"FAILED {event.step_key} {line}", file=sys.stderr)
            break  # later runs read what this one failed to write
    elapsed = time.monotonic() - started
    print(_summary(events, specs, elapsed, defs))
    if skipped:
        print("\n" + "\n".join(_skipped_lines(skipped)))
    if checks:
        failing = [c for c in checks if not c.passed]
        line = f"\nchecks: {len(checks) - len(failing)} passed, {len(failing)} failed"
        if failing:
            line += (
                " ("
                + ", ".join(f"{c.asset_key.to_user_string()}:{c.check_name}" for c in failing)
                + ")"
            )
        print(line)
    return 1 if failed else 0


def _selected(defs: Any, select: Sequence[str]) -> set[Any]:
    """The materializable keys ``--select`` picks (Dagster's selection syntax)."""
    graph = defs.resolve_asset_graph()
    spelled = f"--select {' '.join(select)}"
    keys = selected_keys(parse_selection(select), graph, spelled) & set(
        graph.materializable_asset_keys
    )
    if not keys:
        raise SelectionError(
            codes.EMPTY_SELECTION,
            f"{spelled} selects no asset this project materializes",
            "`dg list defs` lists the assets and their groups, kinds and tags",
        )
    return keys


def _changed_only(
    defs: Any, assets: Sequence[Any], selection: list[Any] | None, *, force: bool
) -> tuple[list[Any], list[Any]]:
    """``--changed``: the selected assets that ``sqlml plan`` says change (a model that
    retrains or may, a table whose inputs changed), and the plans of those it skips. An
    asset no sqlml project plans (a user's own Python asset) runs as selected."""
    plan = plan_of(defs, force=force)
    unchanged = {key: a for a in plan.unchanged for key in a.asset_keys}
    wanted = selection or [key for asset in assets for key in asset.keys]
    skipped = list({id(unchanged[k]): unchanged[k] for k in wanted if k in unchanged}.values())
    return [k for k in wanted if k not in unchanged], skipped


def _available_only(
    defs: Any, assets: Sequence[Any], selection: list[Any] | None
) -> tuple[list[Any] | None, list[tuple[str, Any]]]:
    """``--skip-unavailable``: the selected assets less those whose model needs a framework
    this environment lacks (``frameworks.py``) and everything downstream of them; and the
    names left out, each with the framework it lacks. ``selection`` stays None (all) when
    nothing is missing."""
    import dagster as dg

    from ..contract.model_packages import find_models_dir
    from ..definitions import compiled_projects

    lacking: dict[Any, Framework] = {}
    for compiled in compiled_projects(defs):
        models_dir = find_models_dir(compiled.root)
        for node, framework in missing_frameworks(compiled.project.nodes, models_dir).items():
            for key in compiled.asset_keys.get(node, ()):
                lacking[key] = framework
    if not lacking:
        return selection, []
    graph = defs.resolve_asset_graph()
    left_out: dict[Any, Framework] = {}
    for key, framework in lacking.items():
        for below in dg.AssetSelection.assets(key).downstream().resolve(graph):
            left_out.setdefault(below, framework)
    wanted = selection or [key for asset in assets for key in asset.keys]
    skipped = [(k.to_user_string(), left_out[k]) for k in wanted if k in left_out]
    return [k for k in wanted if k not in left_out], skipped


def _skipped_summary(skipped: Sequence[Any], elapsed: float) -> str:
    return "\n".join(
        [
            f"sqlml: nothing changed; skipped {len(skipped)} asset(s) in {elapsed:.1f}s",
            "",
            *_skipped_lines(skipped),
        ]
    )


def _skipped_lines(skipped: Sequence[Any]) -> list[str]:
    """The assets ``--changed`` skipped, and why each counts as unchanged."""
    rows: list[tuple[str, ...]] = [
        (
            ", ".join(k.to_user_string() for k in a.asset_keys),
            f"v{a.version} reused" if a.version is not None else str(a.verdict),
        )
        for a in skipped
    ]
    return ["skipped (unchanged since their last build; --changed)", *_columns(rows)]


def _partitioned_runs(
    assets: Sequence[Any], selection: list[Any] | None, partition: str | None
) -> list[tuple[list[Any], str | None]]:
    """One run for the unpartitioned assets, then one per partitions definition for the
    partitioned ones (``-- sqlml: partition_by``): ``partition`` or the latest partition.
    Dagster runs one partition at a time; the unpartitioned run goes first since
    partitioned predictions read its tables and models."""
    chosen = set(selection) if selection else None
    plain: list[Any] = []
    by_definition: dict[Any, list[Any]] = {}
    for asset in assets:
        for key in asset.keys:
            if chosen is not None and key not in chosen:
                continue
            definition = asset.partitions_def
            if definition is None:
                plain.append(key)
            else:
                by_definition.setdefault(definition, []).append(key)
    runs: list[tuple[list[Any], str | None]] = [(plain, None)] if plain else []
    for definition, keys in by_definition.items():
        key = partition or definition.get_last_partition_key()
        if key is None:
            print(
                f"sqlml: {', '.join(k.to_user_string() for k in keys)}: no partition yet "
                "(partition_start lies ahead)",
                file=sys.stderr,
            )
            continue
        runs.append((keys, key))
    return runs


def _asset_specs(defs: Any) -> list[Any]:
    """Every asset spec of a user's Definitions. Resolving component-loaded Definitions,
    Dagster rebuilds their checks through a beta parameter of its own (``execution_type``):
    a warning nothing in the project can change, silenced for this call only."""
    with dagster_internal_warnings_silenced():
        return list(defs.resolve_all_asset_specs())


def _summary(events: Sequence[Any], specs: dict[Any, Any], elapsed: float, defs: Any) -> str:
    from ..ops.materializers.versions import VERSION_TAG

    models: list[tuple[str, ...]] = []
    predictions: list[tuple[str, ...]] = []  # and evaluations, explanations: model outputs
    tables: list[tuple[str, ...]] = []
    programs: list[tuple[str, ...]] = []  # TO RUN without INTO: the run is the asset
    for event in events:
        m = event.materialization
        metadata = {k: v.value for k, v in m.metadata.items()}
        name = m.asset_key.to_user_string()
        kind = specs[m.asset_key].tags.get("sqlml/kind") if m.asset_key in specs else None
        if kind == "model":
            metrics = " ".join(f"{k}={v:.4f}" for k, v in _model_metrics(metadata))
            version = m.tags.get(VERSION_TAG) or metadata.get("model_version")
            models.append(
                (
                    name,
                    f"v{version}",
                    "unchanged" if metadata.get("reused") else "trained",
                    str(metadata.get("model_reference", "")),
                    metrics,
                )
            )
        elif kind in ("prediction", "evaluation", "explanation", "explanation_plot"):
            count = f"{metadata.get('dagster/row_count')} rows"
            if kind == "explanation_plot":  # no table: its features, most important first
                ranked = list(metadata.get("importances") or {})
                count = f"{len(ranked)} features" + (f", top {ranked[0]}" if ranked else "")
            elif event.partition:
                count = (
                    f"{metadata.get('partition_rows')} rows in {event.partition}, {count} in all"
                )
            predictions.append(
                (
                    name,
                    count,
                    f"(model {metadata.get('model')} v{metadata.get('model_version')}"
                    + (", pinned)" if metadata.get("model_pinned") else ")"),
                )
            )
        elif kind == "program_run":
            programs.append(
                (
                    name,
                    f"exit {metadata.get('exit_code')} in {metadata.get('seconds')} s",
                    str(metadata.get("command", "")),
                )
            )
        else:
            tables.append((name, f"{metadata.get('dagster/row_count')} rows"))
    lines = [f"sqlml: materialized {len(events)} asset(s) in {elapsed:.1f}s"]
    for title, rows in (
        ("models", models),
        ("predictions", predictions),
        ("tables", tables),
        ("programs", programs),
    ):
        if rows:
            lines += ["", title, *_columns(rows)]
    warehouse = (defs.resources or {}).get("sqlml_warehouse")
    if warehouse is not None:
        where = str(getattr(warehouse, "location", ""))
        lines += ["", f"warehouse: {where if '://' in where else _short(where)}"]
    return "\n".join(lines)


def _model_metrics(metadata: dict[str, Any]) -> list[tuple[str, float]]:
    """A model materialization's metrics, held-out first: its plotted ``metric/*`` numbers,
    or — a reused version reports none — its metrics table's rows."""
    plotted = [(k.split("/", 1)[1], v) for k, v in metadata.items() if k.startswith("metric/")]
    if plotted:
        return plotted
    table = metadata.get("metrics")
    records = getattr(table, "records", None) or []
    return [
        (r.data["metric"], r.data["value"])
        for r in records
        if r.data.get("value") is not None and r.data.get("split") != "evaluation"
    ]


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _short(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def failure_line(failure: Any, *, verbose: bool) -> str:
    """``SQLML5xx: cause`` for a failed step, on one line: the code a fault was raised
    with (``ops/faults.py``), SQLML501 for a step's own reason, and for anything else the
    innermost exception's type and message (``--verbose`` prints the stack above)."""
    from ..compiler import codes

    user = failure.user_failure_data
    description = (user.description or "").strip() if user else ""
    if description:
        code, _, cause = description.partition(": ")
        if code.startswith("SQLML5") and code[5:].isdigit():
            return f"{code}: {cause}"
        return f"{codes.STEP_FAILED}: {' '.join(description.split())}"
    error = failure.error
    while error is not None and error.cause is not None:
        error = error.cause
    text = f"{error.cls_name}: {error.message.strip()}" if error is not None else "failed"
    first = text.splitlines()[0] if text else "failed"
    return f"internal error: {first}" + ("" if verbose else " (--verbose shows the stack)")
