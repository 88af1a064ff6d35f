"""A ``SqlMlProject``'s ``translation``: asset keys, groups, owners, tags and metadata from
YAML templates, as ``DbtProjectComponent`` (and Dagster's other integration components)
take them.

.. code-block:: yaml

    attributes:
      sql_dir: sql
      translation:
        key: "ml/{{ node.name }}"            # templated keys; deps follow
        owners: [team:ml]
        for_model:                            # per kind: table, view, model, prediction,
          group_name: models                  # evaluation, explanation, source
          tags: {tier: gold}

``translation`` is Dagster's own ``AssetSpecUpdateKwargs`` (``key``, ``key_prefix``,
``group_name``, ``description``, ``owners``, ``tags``, ``kinds``, ``metadata``,
``code_version``, ``automation_condition``, ``freshness_policy``, …) resolved with
Dagster's ``TranslatorResolvingInfo`` — tags and metadata merge into the translator's,
everything else replaces — against two template variables: ``node``
(:class:`TranslationData`: the statement's name, kind, file, model…) and ``spec`` (the
asset spec so far). ``for_<kind>`` applies after the shared part, to that kind only, the
convention of Dagster's Looker and Sigma components.

A key is also every *dependency's* key: :class:`TranslatedTranslator` works out the
translated key of every node and source of the project first (:meth:`for_project`), so a
table renamed by a template is still the dependency of the model trained on it.
"""

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, cast

import dagster as dg
from dagster.components import Resolvable, Resolver
from dagster.components.resolved.base import resolve_fields
from dagster.components.resolved.context import ResolutionContext
from dagster.components.resolved.core_models import AssetSpecUpdateKwargs
from dagster.components.utils.translation import TranslationFnResolver, TranslatorResolvingInfo
from dagster_shared.record import record

from .translator import SqlMlTranslator

if TYPE_CHECKING:
    from .compiler.ir import QualifiedName
    from .compiler.project import Node, Project, Source

#: The kinds a ``for_<kind>`` block can name: a node's ``ObjectKind`` or ``source``.
TRANSLATION_KINDS = (
    "table",
    "view",
    "model",
    "prediction",
    "evaluation",
    "explanation",
    "source",
)


@dataclass(frozen=True)
class TranslationData:
    """``node`` in a ``translation`` template: what one asset of the project is.

    ``{{ node.name }}`` (``iris_rf``), ``{{ node.schema }}`` (``ml`` for ``ml.iris_rf``, else
    empty), ``{{ node.kind }}`` (``table``, ``view``, ``model``, ``prediction``,
    ``evaluation``, ``explanation``, ``source``), ``{{ node.statement }}`` (the statement
    kind: ``sql``, ``train``, ``predict``, ``evaluate``, ``explain``, ``create_model``;
    empty for a source), ``{{ node.file }}`` and ``{{ node.line }}`` (where it is defined,
    or first read), ``{{ node.group }}`` (the file's group), ``{{ node.model }}`` (the model
    trained, registered or used), ``{{ node.flavor }}``, ``{{ node.model_reference }}``,
    ``{{ node.image }}``, ``{{ node.tags }}`` (``-- sqlml: tags.*``)."""

    name: str
    qualified_name: str
    schema: str
    kind: str
    statement: str
    file: str
    line: int
    group: str
    model: str = ""
    flavor: str = ""
    model_reference: str = ""
    image: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of_node(cls, node: "Node") -> "TranslationData":
        statement = node.statement
        ref = statement.model_ref
        scored = statement.scored_model
        model = node.name if ref is not None or node.kind.value == "model" else None
        if scored is not None:
            model = scored[0]
        return cls(
            name=node.name.name,
            qualified_name=str(node.name),
            schema=".".join(node.name.parts[:-1]),
            kind=node.kind.value,
            statement=statement.KIND,
            file=node.file,
            line=statement.span.line,
            group=node.group,
            model=str(model) if model is not None else "",
            flavor=(ref.flavor or "") if ref is not None else "",
            model_reference=ref.reference if ref is not None else "",
            image=(ref.image or "") if ref is not None else "",
            tags=dict(node.directives.tags),
        )

    @classmethod
    def of_source(cls, source: "Source") -> "TranslationData":
        return cls(
            name=source.name.name,
            qualified_name=str(source.name),
            schema=".".join(source.name.parts[:-1]),
            kind="source",
            statement="",
            file=source.first_read.file,
            line=source.first_read.line,
            group="sources",
        )


#: What a ``translation`` resolves to: the spec so far and the node → the spec to use.
TranslationFn = Callable[[dg.AssetSpec, TranslationData], dg.AssetSpec]

_KindTranslationFn = Annotated[
    TranslationFn,
    TranslationFnResolver[TranslationData](lambda data: {"node": data}),
]


@record
class SqlMlTranslationArgs(AssetSpecUpdateKwargs, Resolvable):
    """The ``translation`` attribute: Dagster's asset-spec updates for every asset, then
    ``for_<kind>`` updates for one kind of asset."""

    for_table: _KindTranslationFn | None = None
    for_view: _KindTranslationFn | None = None
    for_model: _KindTranslationFn | None = None
    for_prediction: _KindTranslationFn | None = None
    for_evaluation: _KindTranslationFn | None = None
    for_explanation: _KindTranslationFn | None = None
    for_source: _KindTranslationFn | None = None


def resolve_translation(context: ResolutionContext, model: Any) -> TranslationFn:
    """The translation function of a ``translation`` attribute: the shared updates (as
    Dagster's ``TranslationFnResolver`` resolves them, ``node`` and ``spec`` in scope),
    then the ``for_<kind>`` block of the asset's kind, resolved against the updated spec."""
    info = TranslatorResolvingInfo(
        asset_attributes=model, resolution_context=context, model_key="translation"
    )
    per_kind = isinstance(model, dg.Model | Mapping) and any(
        _field(model, f"for_{kind}") is not None for kind in TRANSLATION_KINDS
    )

    def translate(spec: dg.AssetSpec, data: TranslationData) -> dg.AssetSpec:
        updated = info.get_asset_spec(spec, {"node": data, "spec": spec})
        if not per_kind:
            return updated
        nested = resolve_fields(
            model=model,
            resolved_cls=SqlMlTranslationArgs,
            context=context.at_path("translation").with_scope(node=data, spec=updated),
        )
        for_kind = nested.get(f"for_{data.kind}")
        return for_kind(updated, data) if for_kind is not None else updated

    return translate


def _field(model: Any, name: str) -> Any:
    return model.get(name) if isinstance(model, Mapping) else getattr(model, name, None)


#: The ``translation`` attribute's annotation on a component.
ResolvedTranslation = Annotated[
    TranslationFn | None,
    Resolver(
        resolve_translation,
        model_field_type=str | SqlMlTranslationArgs.model(),
        description="Asset keys, groups, owners, tags and metadata from templates over "
        "'node' (name, kind, statement, file, group, model, flavor…) and 'spec': Dagster's "
        "asset attributes, plus for_table / for_view / for_model / for_prediction / "
        "for_evaluation / for_explanation / for_source blocks for one kind of asset.",
        examples=[
            {"key": "ml/{{ node.name }}", "for_model": {"group_name": "models"}},
        ],
    ),
]


class TranslationError(Exception):
    """A translation failed for one asset, or gave two assets one key (SQLML222)."""


class TranslatedTranslator(SqlMlTranslator):
    """A translator whose every spec goes through a ``translation`` last. Placed before the
    user's translator class in the MRO (as the YAML key prefix is), so it refines what
    that class answers; :meth:`for_project` learns every node's translated key first, so
    dependencies follow renamed keys."""

    translation: TranslationFn | None = None
    _keys: Mapping[str, dg.AssetKey] = {}
    #: While :meth:`for_project` collects the specs before translation.
    _untranslated: bool = False

    def for_project(self, project: "Project") -> SqlMlTranslator:
        translator = cast("TranslatedTranslator", copy.copy(super().for_project(project)))
        translator._keys = {}  # the user's class's keys and specs, to translate below
        translator._untranslated = True
        named: list[tuple[QualifiedName, dg.AssetSpec, TranslationData]] = [
            (node.name, translator.get_asset_spec(node, project), _data(node))
            for node in project.nodes
        ] + [
            (source.name, translator.get_source_spec(source), _data(source))
            for source in project.sources
        ]
        translator._untranslated = False
        keys: dict[str, dg.AssetKey] = {}
        owners: dict[dg.AssetKey, str] = {}
        for name, spec, data in named:
            key = translator._translate(spec, data).key
            if key in owners:
                raise TranslationError(
                    f"the translation gives {owners[key]} and {name} one asset key, "
                    f"{key.to_user_string()}: make the key template tell them apart"
                )
            owners[key] = str(name)
            keys[name.key] = key
        translator._keys = keys
        return translator

    def get_asset_key(self, name: "QualifiedName") -> dg.AssetKey:
        return self._keys.get(name.key) or super().get_asset_key(name)

    def get_asset_spec(self, node: "Node", project: "Project") -> dg.AssetSpec:
        spec = super().get_asset_spec(node, project)
        return spec if self._untranslated else self._translated(spec, node.name, _data(node))

    def get_source_spec(self, source: "Source") -> dg.AssetSpec:
        spec = super().get_source_spec(source)
        return spec if self._untranslated else self._translated(spec, source.name, _data(source))

    def _translated(
        self, spec: dg.AssetSpec, name: "QualifiedName", data: TranslationData
    ) -> dg.AssetSpec:
        """The translation of ``spec`` as it was before keys were translated (so a
        ``key_prefix`` applies once), carrying the key :meth:`for_project` worked out."""
        key = self._keys.get(name.key)
        if key is None:  # not through for_project: no renamed dependencies to follow
            return self._translate(spec, data)
        plain = spec.replace_attributes(key=super().get_asset_key(name))
        return self._translate(plain, data).replace_attributes(key=key)

    def _translate(self, spec: dg.AssetSpec, data: TranslationData) -> dg.AssetSpec:
        if self.translation is None:
            return spec
        try:
            return self.translation(spec, data)
        except Exception as e:  # a template's mistake, said for the asset
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise TranslationError(
                f"the translation of {data.qualified_name} ({data.file}:{data.line}) "
                f"failed: {reason}"
            ) from None


def _data(item: "Node | Source") -> TranslationData:
    from .compiler.project import Node

    return (
        TranslationData.of_node(item) if isinstance(item, Node) else TranslationData.of_source(item)
    )


def translated(translator: SqlMlTranslator, translation: TranslationFn) -> SqlMlTranslator:
    """``translator`` with ``translation`` applied to every spec it makes."""
    cls = type(translator)
    configured = type(f"{cls.__name__}Translated", (TranslatedTranslator, cls), {})()
    configured.__dict__.update(translator.__dict__)
    configured.translation = translation
    return configured
