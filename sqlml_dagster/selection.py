"""Dagster's asset selection syntax over a project's assets: ``sqlml materialize --select``
and a ``SqlMlProject``'s ``select``/``exclude``.

One language everywhere a user picks assets — the UI's selection box, ``dg launch
--assets``, ``dg list defs --assets`` and sqlml: ``iris_rf``, ``+iris_predictions``
(with what it reads), ``group:iris`` (one SQL file's assets), ``kind:pytorch``,
``tag:sqlml/kind=model``, ``owner:team:ml``, ``key:"ml/*"``, combined with ``and``, ``or``,
``not``. Parsed by Dagster's own ``AssetSelection.from_coercible`` over the comma-separated
parts, exactly as ``dg launch --assets`` parses its argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg
from dagster._core.definitions.asset_selection import DagsterInvalidAssetSelectionError
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

from .compiler import codes
from .quiet import dagster_internal_warnings_silenced

#: A plain dotted name (``ml.iris_rf``): the spelling of keys sqlml took before it spoke
#: Dagster's syntax, which spells that key ``ml/iris_rf``.
_DOTTED_NAME = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+$")

SYNTAX_HINT = (
    "Dagster's asset selection syntax: iris_rf, +iris_rf, group:iris, kind:pytorch, "
    "tag:sqlml/kind=model, joined with and / or / not"
)


class SelectionError(Exception):
    """A selection that does not parse (SQLML220) or selects nothing (SQLML221)."""

    def __init__(self, code: str, message: str, hint: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.hint = hint


def parse_selection(parts: Sequence[str] | str) -> dg.AssetSelection:
    """The selection ``parts`` spell (each may hold comma-separated selections; the union of
    all), as ``dg launch --assets`` reads its argument."""
    items = [parts] if isinstance(parts, str) else list(parts)
    pieces = [p.strip() for item in items for p in item.split(",") if p.strip()]
    if not pieces:
        raise SelectionError(codes.BAD_SELECTION, "the asset selection is empty", SYNTAX_HINT)
    pieces = [p.replace(".", "/") if _DOTTED_NAME.match(p) else p for p in pieces]
    with dagster_internal_warnings_silenced():
        try:
            return dg.AssetSelection.from_coercible(pieces)
        except DagsterInvalidAssetSelectionError:
            pass
    bad = next(p for p in pieces if not _parses(p))
    raise SelectionError(
        codes.BAD_SELECTION, f"'{bad}' is not an asset selection", SYNTAX_HINT
    ) from None


def _parses(piece: str) -> bool:
    with dagster_internal_warnings_silenced():
        try:
            dg.AssetSelection.from_string(piece)
        except DagsterInvalidAssetSelectionError:
            return False
    return True


def selected_keys(
    selection: dg.AssetSelection, graph: Any, spelled: str, *, allow_missing: bool = False
) -> set[dg.AssetKey]:
    """The keys ``selection`` picks in the asset graph (a name that is no asset is
    SQLML221, with Dagster's "did you mean", unless ``allow_missing``)."""
    with dagster_internal_warnings_silenced():
        try:
            return set(selection.resolve(graph, allow_missing=allow_missing))
        except dg.DagsterInvalidSubsetError as e:
            reason = " ".join(str(e).split("Make sure")[0].split())
            suggestion = str(e).split("did you mean one of the following?")
            hint = (
                "did you mean " + ", ".join(suggestion[1].split()) + "?"
                if len(suggestion) > 1
                else "`dg list defs` lists the assets and their groups, kinds and tags"
            )
            raise SelectionError(codes.EMPTY_SELECTION, f"{spelled}: {reason}", hint) from None


def select_assets(assets: Sequence[Any], select: str | None, exclude: str | None) -> list[Any]:
    """The project's assets that ``select`` picks and ``exclude`` does not — with the
    sources they read and the data checks on them. Dependencies on assets left out stay
    dependencies (Dagster shows them as external), as dagster-dbt does for models a
    ``select`` leaves out."""
    if not select and not exclude:
        return list(assets)
    sources = [a for a in assets if isinstance(a, dg.AssetSpec)]
    graph = AssetGraph.from_assets(  # the graph Definitions would build over these assets
        [
            *[a for a in assets if not isinstance(a, dg.AssetSpec)],
            *([dg.AssetsDefinition(specs=sources)] if sources else []),
        ]
    )
    produced = {key for asset in assets for key in _keys(asset)}
    keep = set(produced)
    if select and select.strip() != "*":
        keep &= selected_keys(parse_selection(select), graph, f"select '{select}'")
    if exclude:
        keep -= selected_keys(
            parse_selection(exclude), graph, f"exclude '{exclude}'", allow_missing=True
        )
    if not keep:
        spelled = " ".join(
            f"{name} '{value}'"
            for name, value in (("select", select), ("exclude", exclude))
            if value
        )
        raise SelectionError(
            codes.EMPTY_SELECTION,
            f"{spelled} leaves none of the project's {len(produced)} assets",
            "`dg list defs` lists the assets and their groups, kinds and tags",
        )
    read = {
        dep.asset_key
        for asset in assets
        for key in _keys(asset) & keep
        for dep in _deps(asset, key)
    }
    kept: list[Any] = []
    for asset in assets:
        if isinstance(asset, dg.AssetSpec):
            if asset.key in read:
                kept.append(asset)
        elif isinstance(asset, dg.AssetChecksDefinition):
            if {check.asset_key for check in asset.check_keys} <= keep:
                kept.append(asset)
        elif isinstance(asset, dg.AssetsDefinition) and set(asset.keys) <= keep:
            kept.append(asset)
    return kept


def _keys(asset: Any) -> set[dg.AssetKey]:
    """The keys an asset of the project materializes (none for a source or a check)."""
    if isinstance(asset, dg.AssetsDefinition) and not isinstance(asset, dg.AssetChecksDefinition):
        return set(asset.keys)
    return set()


def _deps(asset: dg.AssetsDefinition, key: dg.AssetKey) -> Iterable[dg.AssetDep]:
    return asset.specs_by_key[key].deps
