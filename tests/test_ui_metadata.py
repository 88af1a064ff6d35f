"""What the Dagster UI shows for sqlml assets: kinds that draw icons, descriptions with the
SQL, and what a model's materialization reports — version, where it lives, params,
metrics beside the previous version's, image, and the Kubernetes Job it ran as.

Kinds are checked against the icon table of the installed ``dagster-webserver`` bundle, so
a kind that would render as a bare word (``sklearn``) fails here rather than in a review
of a screenshot. Materializations are real: models train, Jobs run on a loopback cluster.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from sqlml_dagster import build_defs
from sqlml_dagster.launchers.kubernetes import KubernetesLauncher
from sqlml_dagster.ops.metadata import K8S_JOB_KEY, K8S_NAMESPACE_KEY, launch_metadata
from sqlml_dagster.translator import FLAVOR_KINDS, KUBERNETES_KIND, WAREHOUSE_KIND
from tests.conftest import failure_reasons
from tests.k8s.harness import KubernetesTestCluster, k8s_cluster

__all__ = ["k8s_cluster"]

KINDS_SQL = """
CREATE TABLE d AS SELECT range * 1.0 AS x, range % 2 AS y FROM range(40);
SELECT x, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier LABEL y INTO m_sklearn;
SELECT x, y FROM d TO TRAIN DNNClassifier WITH model.n_classes = 2 LABEL y INTO m_dnn;
SELECT x, y FROM d TO TRAIN keras.Sequential LABEL y INTO m_keras;
SELECT x, y FROM d TO TRAIN my_models.Net LABEL y INTO m_own;
CREATE MODEL m_pt USING 'weights/net.pt';
CREATE MODEL m_mlflow USING 'mlflow://churn/3';
SELECT x FROM d TO PREDICT p.y USING m_sklearn;
SELECT x, y FROM d TO EVALUATE m_sklearn LABEL y INTO e;
CREATE TABLE scored AS SELECT x, ML_PREDICT(m_sklearn, x) AS y FROM d;
"""

#: asset → kinds with the local launcher; with the Kubernetes launcher, the assets marked
#: True also carry ``kubernetes`` (their step runs as a Job; ML_PREDICT runs in DuckDB).
KINDS: list[tuple[str, set[str], bool]] = [
    ("d", {"sql", "duckdb"}, False),
    ("m_sklearn", {"sqlml", "scikitlearn"}, True),
    ("m_dnn", {"sqlml", "pytorch"}, True),  # SQLFlow's built-in estimators run on PyTorch
    ("m_keras", {"sqlml", "tensorflow"}, True),
    ("m_own", {"sqlml", "python"}, True),  # a user's class: the framework shows when it runs
    ("m_pt", {"sqlml", "pytorch"}, True),  # registered: the file's extension tells
    ("m_mlflow", {"sqlml", "mlflow"}, True),  # registered: the registry resolves the flavor
    ("p", {"sqlml", "duckdb"}, True),
    ("e", {"sqlml", "duckdb"}, True),
    ("scored", {"sql", "sqlml", "duckdb"}, False),
]


def specs_of(defs: dg.Definitions) -> dict[str, dg.AssetSpec]:
    return {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}


@pytest.fixture(scope="module")
def kinds_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kinds") / "sql"
    root.mkdir()
    (root / "m.sql").write_text(KINDS_SQL)
    models = root.parent / "models"  # my_models: the project's own model package
    models.mkdir()
    (models / "my_models.py").write_text("from torch import nn\n\n\nclass Net(nn.Module): ...\n")
    return root


@pytest.mark.parametrize(("key", "local", "launched"), KINDS)
@pytest.mark.parametrize("launcher", ["local", "kubernetes"])
def test_kinds_name_the_engine_the_framework_and_where_it_runs(
    kinds_project: Path, tmp_path: Path, key: str, local: set[str], launched: bool, launcher: str
) -> None:
    options: dict[str, Any] = {}
    if launcher == "kubernetes":  # building Definitions never reaches the cluster
        options["launcher"] = KubernetesLauncher(api_host="http://127.0.0.1:9")
    spec = specs_of(build_defs(kinds_project, state_dir=tmp_path, **options))[key]
    expected = local | ({KUBERNETES_KIND} if launcher == "kubernetes" and launched else set())
    assert spec.kinds == expected
    if launched:
        assert spec.metadata["sqlml/launcher"] == launcher


def test_the_callers_translator_is_not_changed_by_a_kubernetes_build(
    kinds_project: Path, tmp_path: Path
) -> None:
    from sqlml_dagster import SqlMlTranslator

    translator = SqlMlTranslator()
    launcher = KubernetesLauncher(api_host="http://127.0.0.1:9")
    build_defs(kinds_project, state_dir=tmp_path, launcher=launcher, translator=translator)
    assert specs_of(build_defs(kinds_project, state_dir=tmp_path, translator=translator))[
        "m_sklearn"
    ].kinds == {"sqlml", "scikitlearn"}


# -- every kind we emit draws an icon in the installed UI -----------------------------------


@cache
def webapp_icon_names() -> frozenset[str]:
    """The kind names the installed dagster-webserver draws an icon for: the keys of its
    ``{name:{icon:…}}`` table in the compiled JavaScript bundle."""
    import re

    webserver = pytest.importorskip("dagster_webserver")
    chunks = Path(webserver.__file__).parent / "webapp" / "build" / "_next" / "static" / "chunks"
    names: set[str] = set()
    for chunk in chunks.rglob("*.js"):
        names.update(re.findall(r"[{,]([a-z0-9]+):\{icon:", chunk.read_text(errors="replace")))
    return frozenset(names)


def ui_lookup(kind: str) -> str:
    """How the UI looks a kind up in its icon table: lower case without ``-_.`` or spaces."""
    return "".join(c for c in kind.lower() if c not in " _.-")


@pytest.mark.parametrize(
    "kind", sorted({"sql", WAREHOUSE_KIND, KUBERNETES_KIND, "mlflow", *FLAVOR_KINDS.values()})
)
def test_every_kind_we_emit_has_an_icon_in_the_ui(kind: str) -> None:
    assert ui_lookup(kind) in webapp_icon_names()


def test_the_icon_table_is_what_we_think_it_is() -> None:
    """Guards the bundle parsing above: names without an icon are absent from the table."""
    icons = webapp_icon_names()
    assert {"python", "pytorch", "tensorflow", "scikitlearn", "duckdb"} <= icons
    assert "sklearn" not in icons and "sqlml" not in icons


# -- descriptions --------------------------------------------------------------------------


def test_descriptions_show_the_statement_as_a_sql_code_block(
    kinds_project: Path, tmp_path: Path
) -> None:
    specs = specs_of(build_defs(kinds_project, state_dir=tmp_path))
    model = specs["m_sklearn"].description or ""
    assert model.startswith("Model `m_sklearn` from `sql/m.sql`:")
    assert "```sql\nSELECT x, y FROM d TO TRAIN sklearn.tree.DecisionTreeClassifier" in model
    assert model.endswith("```")
    for key, spec in specs.items():
        assert f"`{key}` from `sql/m.sql`:\n\n```sql\n" in (spec.description or ""), key


# -- a model's materialization -------------------------------------------------------------

TRAIN_SQL = """
CREATE TABLE d AS SELECT range * 1.0 AS x, CAST(range >= 20 AS INTEGER) AS y FROM range(40);
SELECT x, y FROM d
TO TRAIN registry.example.com/team/models:1.2/sklearn.tree.DecisionTreeClassifier
WITH model.max_depth = 3, train.seed = 7
LABEL y INTO parity;
SELECT x FROM d TO PREDICT parity_out.y USING parity;
"""


def materialize(root: Path, state: Path, force: bool = False, **options: Any) -> Any:
    defs = build_defs(root, state_dir=state, **options)
    result = dg.materialize(
        [a for a in defs.assets or [] if isinstance(a, dg.AssetsDefinition)],
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        tags={"sqlml/force": "true"} if force else None,
        raise_on_error=False,
    )
    assert result.success, failure_reasons(result)
    return result


def metadata_of(result: dg.ExecuteInProcessResult, key: str) -> dict[str, Any]:
    (materialization,) = result.asset_materializations_for_node(f"sqlml__{key}")
    return {k: v.value for k, v in materialization.metadata.items()}


@pytest.mark.slow
def test_a_model_materialization_shows_version_params_metrics_and_image(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = write_project({"m.sql": TRAIN_SQL})
    state = tmp_path / "state"
    first = metadata_of(materialize(root, state), "parity")
    version_uri = str(state / "models" / "parity" / "1")
    assert first["model_version"] == 1
    assert first["model_uri"] == first["dagster/uri"] == version_uri
    assert first["flavor"] == "sklearn"
    assert first["model_reference"] == "sklearn.tree.DecisionTreeClassifier"
    assert first["image"] == "registry.example.com/team/models:1.2"  # recorded, run locally
    params = {r.data["param"]: r.data["value"] for r in first["params"].records}
    assert params["model.max_depth"] == "3" and params["train.seed"] == "7"
    assert params["model.criterion"] == "gini"  # the estimator's default, as it trained
    assert list(first)[:3] == ["model_version", "metrics", "params"]  # the UI's order
    assert first["metric/accuracy"] == 1.0
    assert [r.data for r in first["metrics"].records] == [
        {"metric": "accuracy", "split": "training", "value": 1.0, "previous": None, "change": None},
        {"metric": "f1_macro", "split": "training", "value": 1.0, "previous": None, "change": None},
    ]
    assert "previous_version" not in first
    assert K8S_JOB_KEY not in first and "launched_as" not in first  # a local step

    second = metadata_of(materialize(root, state, force=True), "parity")
    assert second["model_version"] == 2 and second["previous_version"] == 1
    assert [r.data for r in second["metrics"].records] == [
        {"metric": "accuracy", "split": "training", "value": 1.0, "previous": 1.0, "change": 0.0},
        {"metric": "f1_macro", "split": "training", "value": 1.0, "previous": 1.0, "change": 0.0},
    ]


@pytest.mark.slow
def test_a_job_run_model_and_prediction_name_their_kubernetes_job(
    k8s_cluster: KubernetesTestCluster,
    write_project: Callable[[dict[str, str]], Path],
    tmp_path: Path,
) -> None:
    root = write_project({"m.sql": TRAIN_SQL})
    state = tmp_path / "state"
    launcher = KubernetesLauncher(
        api_host=k8s_cluster.host,
        namespace="default",
        python=sys.executable,
        shared_volume_claim="sqlml-state",
        shared_volume_path=str(state),
        watch_seconds=1,
    )
    result = materialize(root, state, launcher=launcher)
    jobs = {j["metadata"]["name"] for j in k8s_cluster.jobs("default")}
    for key, prefix in [("parity", "sqlml-train-"), ("parity_out", "sqlml-predict-")]:
        shown = metadata_of(result, key)
        assert shown[K8S_NAMESPACE_KEY] == "default"
        assert shown[K8S_JOB_KEY].startswith(prefix) and shown[K8S_JOB_KEY] in jobs
        assert shown["launched_as"] == f"job/default/{shown[K8S_JOB_KEY]}"
        assert shown["image_digest"].startswith("registry.example.com/team/models@sha256:")


@pytest.mark.parametrize(
    ("launched_as", "digest", "expected"),
    [
        ("local", None, {}),
        (None, None, {}),
        (
            "job/ml/sqlml-train-abc",
            "r/img@sha256:00",
            {
                "launched_as": "job/ml/sqlml-train-abc",
                K8S_JOB_KEY: "sqlml-train-abc",
                K8S_NAMESPACE_KEY: "ml",
                "image_digest": "r/img@sha256:00",
            },
        ),
        # a launcher of another kind: shown as it reports itself, not parsed as a Job
        ("slurm/4711", None, {"launched_as": "slurm/4711"}),
    ],
)
def test_launch_metadata(
    launched_as: str | None, digest: str | None, expected: dict[str, str]
) -> None:
    assert launch_metadata(launched_as, digest) == expected
