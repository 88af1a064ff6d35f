"""Nothing in SQL text or a model file runs code a SQL-ML repo should not (issue 18: items
1, 2 and 7; ``docs/security.md``).

Three tables of attacks, each row asserting the exact refusal *and* that its payload did
not run (a marker file it would create is absent):

* **model files** — ``.skops`` files whose node tree names ``builtins.exec``,
  ``os.system``, a ``partial``, a bound method…, refused when ``CREATE MODEL`` registers
  them, when a PREDICT step loads them and when ``ML_PREDICT`` / ``sqlml run-sql`` loads
  them in the orchestrator, each naming the refused type; real scikit-learn models load;
* **model references** — ``TO TRAIN torch.hub.load``, ``os.system``, a plain function,
  a class that is not a model…: an error with its code and file:line:col from
  ``sqlml check``, and refused again by the runtime when a spec names them anyway;
* **what ``sqlml check`` imports** — never a module named only in SQL; the project's
  ``models/`` modules it imports are listed in the report.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from sqlml_dagster.cli import main
from sqlml_dagster.contract.spec import StepSpec
from sqlml_dagster.ops.model_functions import model_function
from sqlml_dagster.runtime import StepError, run_step
from sqlml_dagster.store import ModelStore, ModelVersion
from sqlml_dagster.store.records import ModelManifest

from .runtime.recorder import Recorder

# -- building .skops files node by node ---------------------------------------------------

Node = dict[str, Any]


def value(v: Any) -> Node:
    """A JSON value as skops stores one."""
    return {
        "__class__": type(v).__name__,
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(v),
        "is_json": True,
    }


def tuple_of(*items: Any) -> Node:
    return {
        "__class__": "tuple",
        "__module__": "builtins",
        "__loader__": "TupleNode",
        "content": [i if isinstance(i, dict) else value(i) for i in items],
    }


def call(module: str, name: str, *args: Any) -> Node:
    """``module.name(*args)`` as the file loads (skops' ConstructorFromReduceNode)."""
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": tuple_of(*args),
    }


def function(module: str, name: str) -> Node:
    return {"__class__": name, "__module__": module, "__loader__": "FunctionNode"}


def type_of(module: str, name: str) -> Node:
    return {"__class__": name, "__module__": module, "__loader__": "TypeNode"}


def partial(func: Node, *args: Any) -> Node:
    empty = {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode"}
    return {
        "__class__": "partial",
        "__module__": "functools",
        "__loader__": "PartialNode",
        "content": {
            "func": func,
            "args": tuple_of(*args),
            "kwds": {**empty, "content": {}, "key_types": _list([])},
            "namespace": value(None),
        },
    }


def method(module: str, cls: str, name: str) -> Node:
    """A bound method ``obj.name`` of an object of ``module.cls``."""
    return {
        "__class__": cls,
        "__module__": module,
        "__loader__": "MethodNode",
        "content": {
            "func": name,
            "obj": {"__class__": cls, "__module__": module, "__loader__": "ObjectNode"},
        },
    }


def _list(items: list[Node]) -> Node:
    return {
        "__class__": "list",
        "__module__": "builtins",
        "__loader__": "ListNode",
        "content": items,
    }


def fitted() -> LogisticRegression:
    x = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    return LogisticRegression().fit(x, np.array([0, 1, 1, 0]))


def skops_with(extra: Node) -> bytes:
    """A fitted LogisticRegression's skops file with one more attribute, ``extra``: what
    an attacker edits into a real model file."""
    data = sio.dumps(fitted())
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    attributes = schema["content"]
    attributes["content"]["payload"] = extra
    attributes["key_types"]["content"].append(attributes["key_types"]["content"][0])  # str
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            archive.writestr(
                name, json.dumps(schema) if name == "schema.json" else source.read(name)
            )
    return out.getvalue()


#: (what the file holds, given the marker path; the refused type as the error names it).
#: Rows marked "ran on main" executed their payload with the module-prefix trust.
PAYLOADS: list[Any] = [
    pytest.param(
        lambda m: call("builtins", "exec", f"open({m!r}, 'w').close()"),
        "builtins.exec (constructor call)",
        id="exec of a string (ran on main)",
    ),
    pytest.param(
        lambda m: call("builtins", "eval", f"open({m!r}, 'w').close()"),
        "builtins.eval (constructor call)",
        id="eval of a string (ran on main)",
    ),
    pytest.param(
        lambda m: call("numpy", "memmap", m, "uint8", "w+", 0, tuple_of(1)),
        "numpy.memmap (constructor call)",
        id="numpy.memmap creates a file (ran on main)",
    ),
    pytest.param(
        lambda m: call(
            "sklearn.utils._testing",
            "assert_run_python_script_without_output",
            f"open({m!r}, 'w').close()",
        ),
        "sklearn.utils._testing.assert_run_python_script_without_output (constructor call)",
        id="a scikit-learn helper that runs a script (ran on main)",
    ),
    pytest.param(
        lambda m: call("os", "system", f"touch {m}"),
        "os.system (constructor call)",
        id="os.system",
    ),
    pytest.param(
        lambda m: call("subprocess", "call", _list([value("touch"), value(m)])),
        "subprocess.call (constructor call)",
        id="subprocess.call",
    ),
    pytest.param(lambda m: function("builtins", "eval"), "builtins.eval (function)", id="eval"),
    pytest.param(lambda m: function("os", "system"), "os.system (function)", id="os.system fn"),
    pytest.param(
        lambda m: partial(function("builtins", "exec"), f"open({m!r}, 'w').close()"),
        "builtins.exec (function)",
        id="functools.partial of exec",
    ),
    pytest.param(
        lambda m: partial(function("os", "system"), f"touch {m}"),
        "functools.partial (partial)",
        id="functools.partial itself",
    ),
    pytest.param(
        lambda m: method("sklearn.linear_model._logistic", "LogisticRegression", "fit"),
        "sklearn.linear_model._logistic.LogisticRegression.fit (method)",
        id="a bound method",
    ),
    pytest.param(
        lambda m: type_of("builtins", "eval"), "builtins.eval (type)", id="eval as a type"
    ),
    pytest.param(
        lambda m: call("collections", "namedtuple", "T", "a"),
        "collections.namedtuple (constructor call)",
        id="collections.namedtuple (a function, not data)",
    ),
]


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "pwned"


# -- the three places a .skops file is loaded ----------------------------------------------


def register(path: Path, version: Path) -> Recorder:
    """``CREATE MODEL m USING 'path'``: the runtime's register step."""
    recorder = Recorder()
    spec = StepSpec(
        kind="register",
        step_id="r",
        model_name="m",
        model_reference="",
        flavor="sklearn",
        input_uri=str(path),
        model_uri=str(version),
    )
    run_step(spec, recorder)
    return recorder


def published(
    tmp_path: Path, data: bytes, reference: str = "sklearn.linear_model.LogisticRegression"
) -> ModelVersion:
    """A published version holding ``data`` as its model file: what a store an attacker
    could write to holds, checksums and all."""
    store = ModelStore(str(tmp_path / "store"))
    pending = store.reserve("m")
    folder = Path(pending.uri)
    (folder / "model.skops").write_bytes(data)
    signature = {
        "features": [{"name": "a", "type": "double"}, {"name": "b", "type": "double"}],
        "label": {"name": "y", "type": "int64"},
        "task": "classification",
    }
    (folder / "signature.json").write_text(json.dumps(signature))
    manifest = ModelManifest(
        model="m",
        version=pending.version,
        created_at="2026-01-01T00:00:00+00:00",
        flavor="sklearn",
        model_reference=reference,
        fingerprint="f",
        statement_fingerprint="s",
        training_data_fingerprint="d",
        features=["a", "b"],
    )
    return store.publish(pending, manifest)


def predict(tmp_path: Path, version: ModelVersion) -> Path:
    """A TO PREDICT step on ``version``."""
    data = tmp_path / "input.parquet"
    pq.write_table(pa.table({"a": [0.0, 1.0], "b": [1.0, 0.0]}), data)
    output = tmp_path / "predicted.parquet"
    spec = StepSpec(
        kind="predict",
        step_id="p",
        model_name="m",
        model_reference=version.manifest.model_reference,
        flavor="sklearn",
        input_uri=str(data),
        model_uri=version.uri,
        output_uri=str(output),
        prediction_column="y",
        features=["a", "b"],
    )
    run_step(spec, Recorder())
    return output


def run_sql(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sql: str
) -> tuple[int, str, str]:
    """``sqlml run-sql SQL`` on the store of :func:`published` and an empty warehouse."""
    import duckdb

    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    duckdb.connect(str(state / "warehouse.duckdb")).close()
    monkeypatch.setenv("SQLML_STATE_DIR", str(state))
    code = main(["run-sql", "--model-store", str(tmp_path / "store"), sql])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("payload", "refused"), PAYLOADS)
def test_create_model_refuses_a_skops_file_that_would_run_code(
    tmp_path: Path, marker: Path, payload: Callable[[str], Node], refused: str
) -> None:
    source = tmp_path / "model.skops"
    source.write_bytes(skops_with(payload(str(marker))))
    with pytest.raises(StepError) as error:
        register(source, tmp_path / "version")
    assert f"refusing to load {source}: it holds types sqlml does not trust:" in str(error.value)
    assert refused in str(error.value)
    assert not marker.exists()
    assert not (tmp_path / "version" / "model.skops").exists()


@pytest.mark.parametrize(("payload", "refused"), PAYLOADS)
def test_a_predict_step_refuses_a_skops_file_that_would_run_code(
    tmp_path: Path, marker: Path, payload: Callable[[str], Node], refused: str
) -> None:
    version = published(tmp_path, skops_with(payload(str(marker))))
    with pytest.raises(StepError, match=r"refusing to load .*model\.skops") as error:
        predict(tmp_path, version)
    assert refused in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize(("payload", "refused"), PAYLOADS)
def test_ml_predict_refuses_a_skops_file_that_would_run_code(
    tmp_path: Path,
    marker: Path,
    payload: Callable[[str], Node],
    refused: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In the orchestrator's process, which holds the warehouse's credentials: the
    asset's ML_PREDICT and ``sqlml run-sql`` (the same loader)."""
    version = published(tmp_path, skops_with(payload(str(marker))))
    with pytest.raises(dg.Failure) as failure:
        model_function(version, 2, "f")
    assert f"cannot load m v{version.version}: refusing to load" in str(failure.value.description)
    assert refused in str(failure.value.description)
    code, _, err = run_sql(capsys, tmp_path, monkeypatch, "SELECT ML_PREDICT(m, 1.0, 0.0) AS y")
    assert code == 1 and refused in err and "Traceback" not in err
    assert not marker.exists()


def test_a_class_of_another_package_is_refused_by_name(tmp_path: Path) -> None:
    """A model's own class loads only from the project's model packages (what the step is
    told: ``$SQLML_ALLOWED_MODEL_PACKAGES``)."""
    module = tmp_path / "house_models.py"
    module.write_text(
        "from sklearn.linear_model import LogisticRegression\n\n"
        "class House(LogisticRegression):\n    pass\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(tmp_path))
        from house_models import House  # type: ignore[import-not-found]

        estimator = House().fit(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 1]))
        version = published(tmp_path, sio.dumps(estimator), "house_models.House")
        with pytest.raises(StepError, match=r"house_models\.House \(object\)"):
            predict(tmp_path, version)
        patch.setenv("SQLML_ALLOWED_MODEL_PACKAGES", "house_models")
        expected = estimator.predict(np.array([[0.0, 1.0], [1.0, 0.0]])).tolist()
        assert pq.read_table(predict(tmp_path, version)).column("y").to_pylist() == expected
        sys.modules.pop("house_models", None)


# -- real models still load --------------------------------------------------------------


def _models() -> list[Any]:
    from sklearn import ensemble, neighbors, neural_network, pipeline, preprocessing, svm, tree
    from sklearn.impute import SimpleImputer

    return [
        pytest.param(lambda: ensemble.RandomForestClassifier(n_estimators=3), id="random forest"),
        pytest.param(lambda: ensemble.HistGradientBoostingClassifier(max_iter=3), id="hist gb"),
        pytest.param(lambda: ensemble.GradientBoostingClassifier(n_estimators=3), id="gb"),
        pytest.param(lambda: tree.DecisionTreeClassifier(), id="tree"),
        pytest.param(lambda: svm.SVC(), id="svc"),
        pytest.param(
            lambda: neighbors.KNeighborsClassifier(3, algorithm="ball_tree", metric="manhattan"),
            id="knn ball tree",
        ),
        pytest.param(lambda: neighbors.KNeighborsClassifier(3, algorithm="kd_tree"), id="knn"),
        pytest.param(lambda: neural_network.MLPClassifier(max_iter=5), id="mlp"),
        pytest.param(
            lambda: pipeline.make_pipeline(
                SimpleImputer(), preprocessing.StandardScaler(), LogisticRegression()
            ),
            id="pipeline",
        ),
    ]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make", _models())
@pytest.mark.slow
def test_real_scikit_learn_models_register_predict_and_ml_predict(
    tmp_path: Path, make: Callable[[], Any]
) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = (x[:, 0] > 0).astype(np.int64)
    estimator = make().fit(x, y)
    source = tmp_path / "model.skops"
    source.write_bytes(sio.dumps(estimator))
    assert register(source, tmp_path / "version").payload["kind"] == "register"
    version = published(tmp_path, source.read_bytes())
    expected = estimator.predict(np.array([[0.0, 1.0], [1.0, 0.0]])).tolist()
    assert pq.read_table(predict(tmp_path, version)).column("y").to_pylist() == expected
    function = model_function(version, 2, "f")
    assert function.function(pa.array([0.0, 1.0]), pa.array([1.0, 0.0])).to_pylist() == expected


@pytest.mark.slow
def test_an_xgboost_model_registers_and_predicts(tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    x = np.random.default_rng(0).normal(size=(40, 2))
    estimator = xgboost.XGBClassifier(n_estimators=3).fit(x, (x[:, 0] > 0).astype(int))
    source = tmp_path / "model.skops"
    source.write_bytes(sio.dumps(estimator))
    register(source, tmp_path / "version")
    version = published(tmp_path, source.read_bytes(), "xgboost.XGBClassifier")
    assert pq.read_table(predict(tmp_path, version)).num_rows == 2


# -- model references ---------------------------------------------------------------------


def project(tmp_path: Path, statement: str, models: dict[str, str] | None = None) -> Path:
    """``sql/p.sql`` holding one TRAIN statement, and ``models/`` modules."""
    (tmp_path / "sql").mkdir(exist_ok=True)
    (tmp_path / "sql" / "p.sql").write_text(statement + "\n")
    for name, text in (models or {}).items():
        (tmp_path / "models").mkdir(exist_ok=True)
        (tmp_path / "models" / name).write_text(textwrap.dedent(text).lstrip())
    return tmp_path / "sql"


def check(root: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """``sqlml check ROOT --format json``: exit code, report, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(root), "--format", "json", "--no-cache", *args])
    return code, json.loads(out.getvalue()), err.getvalue()


NETS = """
from torch import nn

from sqlml_dagster import model_factory

__sqlml_models__ = ("listed",)


class Net(nn.Module):
    def __init__(self, input_dim, hidden=4):
        super().__init__()
        self.layer = nn.Linear(input_dim, hidden)


class Helper:
    def __init__(self, path="x"):
        self.path = path


def helper(command="true"):
    return command


@model_factory
def make(input_dim, hidden=4):
    return Net(input_dim, hidden)


def listed(input_dim):
    return Net(input_dim)
"""

#: (reference with its WITH clause, the code sqlml check reports, words of its message).
REFUSED_REFERENCES = [
    pytest.param(
        "torch.utils.cpp_extension.load_inline WITH model.name = 'x', "
        "model.cpp_sources = 'int f() { return 0; }'",
        "SQLML209",
        "'torch.utils.cpp_extension.load_inline' is not in an allowed model package",
        id="compiles C++ from the SQL",
    ),
    pytest.param(
        "torch.hub.load WITH model.repo_or_dir = 'hub', model.model = 'm', model.source = 'local'",
        "SQLML209",
        "'torch.hub.load' is not in an allowed model package",
        id="runs a hubconf.py",
    ),
    pytest.param(
        "os.system WITH model.command = 'true'",
        "SQLML209",
        "'os.system' is not in an allowed model package",
        id="os.system",
    ),
    pytest.param(
        "builtins.eval WITH model.source = '1'",
        "SQLML209",
        "'builtins.eval' is not in an allowed model package",
        id="builtins.eval",
    ),
    pytest.param(
        "subprocess.run WITH model.args = 'true'",
        "SQLML209",
        "'subprocess.run' is not in an allowed model package",
        id="subprocess.run",
    ),
    pytest.param(
        "ghcr.io/acme/img:1/subprocess.run",
        "SQLML209",
        "'subprocess.run' is not in an allowed model package",
        id="from an allowed image too",
    ),
    pytest.param(
        "sklearn.utils.estimator_checks.check_estimator WITH model.estimator = 'x'",
        "SQLML412",
        "sklearn.utils.estimator_checks.check_estimator is a function not marked as a model factory",
        id="a function of an allowed package",
    ),
    pytest.param(
        "sklearn.utils.Bunch",
        "SQLML412",
        "sklearn.utils.Bunch is a class that is not a model",
        id="a class that is not a model",
    ),
    pytest.param(
        "nets.helper",
        "SQLML412",
        "nets.helper is a function not marked as a model factory",
        id="an unmarked function of models/",
    ),
    pytest.param(
        "nets.Helper",
        "SQLML412",
        "nets.Helper is a class that is not a model",
        id="a plain class of models/",
    ),
]


@pytest.mark.parametrize(("reference", "code", "words"), REFUSED_REFERENCES)
@pytest.mark.parametrize("imports", [True, False], ids=["imports", "no-import"])
def test_sqlml_check_refuses_a_reference_that_is_not_a_model(
    tmp_path: Path, reference: str, code: str, words: str, imports: bool
) -> None:
    root = project(
        tmp_path, f"SELECT a, y FROM t TO TRAIN {reference} LABEL y INTO m;", {"nets.py": NETS}
    )
    exit_code, report, _ = check(root, *(() if imports else ("--no-import",)))
    found = [(d["code"], d["file"], d["line"], d["column"]) for d in report["diagnostics"]]
    column = len("SELECT a, y FROM t TO TRAIN ") + 1 + reference.split(" ")[0].rfind("/") + 1
    assert (exit_code, found) == (1, [(code, "sql/p.sql", 1, column)])
    assert words in report["diagnostics"][0]["message"]
    assert "docs/security.md" in report["diagnostics"][0]["hint"]


ALLOWED_REFERENCES = [
    pytest.param(
        "sklearn.ensemble.RandomForestClassifier WITH model.n_estimators = 3", id="sklearn"
    ),
    pytest.param("nets.Net WITH model.hidden = 2", id="a models/ nn.Module"),
    pytest.param("nets.make WITH model.hidden = 2", id="a @model_factory"),
    pytest.param("nets.listed", id="a factory named in __sqlml_models__"),
    pytest.param("DNNClassifier WITH model.hidden_units = [4]", id="a built-in name"),
]


@pytest.mark.parametrize("reference", ALLOWED_REFERENCES)
def test_sqlml_check_accepts_model_classes_and_marked_factories(
    tmp_path: Path, reference: str
) -> None:
    root = project(
        tmp_path, f"SELECT a, y FROM t TO TRAIN {reference} LABEL y INTO m;", {"nets.py": NETS}
    )
    code, report, _ = check(root)
    assert (code, report["diagnostics"]) == (0, [])


def test_the_allowed_model_packages_setting_widens_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(
        tmp_path, "SELECT a, y FROM t TO TRAIN ghcr.io/acme/img:1/acme.Net LABEL y INTO m;"
    )
    assert check(root, "--no-import")[1]["diagnostics"][0]["code"] == "SQLML209"
    code, report, _ = check(root, "--no-import", "--allowed-model-package", "acme")
    assert (code, report["diagnostics"]) == (0, [])
    monkeypatch.setenv("SQLML_ALLOWED_MODEL_PACKAGES", "acme")
    assert check(root, "--no-import")[1]["diagnostics"] == []


def test_a_models_folder_named_like_the_standard_library_allows_nothing(tmp_path: Path) -> None:
    root = project(tmp_path, "SELECT a, y FROM t TO TRAIN os.system LABEL y INTO m;", {"os.py": ""})
    assert check(root, "--no-import")[1]["diagnostics"][0]["code"] == "SQLML209"


def spec_for(tmp_path: Path, reference: str, flavor: str, params: dict[str, Any]) -> StepSpec:
    data = tmp_path / "train.parquet"
    pq.write_table(pa.table({"a": [0.0, 1.0, 0.0, 1.0], "y": [0, 1, 0, 1]}), data)
    return StepSpec(
        kind="train",
        step_id="t",
        model_name="m",
        model_reference=reference,
        flavor=flavor,
        params={"model": params},
        input_uri=str(data),
        label="y",
        model_uri=str(tmp_path / "version"),
    )


#: A spec the compiler would never write (forged in the data store, or from an older
#: release): the runtime refuses it before importing or calling anything.
FORGED_SPECS = [
    pytest.param(
        "torch.hub.load",
        "pytorch",
        lambda hub: {"repo_or_dir": str(hub), "model": "m", "source": "local"},
        "'torch.hub.load' is not in an allowed model package",
        id="torch.hub.load runs hubconf.py (ran on main)",
    ),
    pytest.param(
        "torch.utils.cpp_extension.load_inline",
        "pytorch",
        lambda hub: {"name": "x", "cpp_sources": "int f() { return 0; }"},
        "'torch.utils.cpp_extension.load_inline' is not in an allowed model package",
        id="load_inline",
    ),
    pytest.param(
        "os.system",
        "auto",
        lambda hub: {"command": "true"},
        "'os.system' is not in an allowed model package",
        id="os.system",
    ),
    pytest.param(
        "sideeffects.Model",
        "auto",
        lambda hub: {},
        "'sideeffects.Model' is not in an allowed model package",
        id="a module that writes a file when imported",
    ),
    pytest.param(
        "keras.layers.TFSMLayer",
        "keras",
        lambda hub: {"filepath": str(hub), "call_endpoint": "serve"},
        "keras.layers.TFSMLayer is a class that is not a model",
        id="a Keras layer that loads a SavedModel program from a path",
    ),
    pytest.param(
        "sklearn.utils.estimator_checks.check_estimator",
        "sklearn",
        lambda hub: {},
        "sklearn.utils.estimator_checks.check_estimator is a function not marked as a model "
        "factory",
        id="a function of an allowed package",
    ),
]


@pytest.mark.parametrize(("reference", "flavor", "params", "words"), FORGED_SPECS)
@pytest.mark.slow
def test_the_runtime_refuses_a_reference_that_is_not_a_model(
    tmp_path: Path,
    marker: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference: str,
    flavor: str,
    params: Callable[[Path], dict[str, Any]],
    words: str,
) -> None:
    pytest.importorskip("torch")
    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "hubconf.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef m(): ...\n")
    (tmp_path / "sideeffects.py").write_text(f"open({str(marker)!r}, 'w').close()\nModel = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StepError) as error:
        run_step(spec_for(tmp_path, reference, flavor, params(hub)), Recorder())
    assert words in str(error.value)
    assert not marker.exists()
    assert "sideeffects" not in sys.modules


# -- what sqlml check imports ---------------------------------------------------------------


def test_sqlml_check_never_imports_a_module_named_only_in_sql(
    tmp_path: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sideeffects`` is importable (on PYTHONPATH) and writes a file when imported; the
    SQL names it, the project does not allow it: check reports SQLML209 without importing."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "sideeffects.py").write_text(f"open({str(marker)!r}, 'w').close()\nModel = 1\n")
    monkeypatch.setenv("PYTHONPATH", str(elsewhere))
    root = project(tmp_path, "SELECT a, y FROM t TO TRAIN sideeffects.Model LABEL y INTO m;")
    code, report, _ = check(root)
    assert (code, [d["code"] for d in report["diagnostics"]]) == (1, ["SQLML209"])
    assert report["imported"] == []
    assert not marker.exists()


def test_sqlml_check_lists_the_models_modules_it_imported(tmp_path: Path) -> None:
    """A models/ class that source cannot settle (a decorator) is imported — project code,
    in a child process — and the report says so."""
    root = project(
        tmp_path,
        "SELECT a, y FROM t TO TRAIN shapes.Conf WITH model.k = 2 LABEL y INTO m;",
        {
            "shapes.py": """
            from dataclasses import dataclass

            @dataclass
            class Conf:
                k: int = 1

                def fit(self, x, y): ...

                def get_params(self, deep=True):
                    return vars(self)
            """
        },
    )
    code, report, _ = check(root)
    assert (code, report["diagnostics"], report["imported"]) == (0, [], ["shapes"])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["check", str(root), "--no-cache"]) == 0
    assert "sqlml: imported to check model classes: shapes" in err.getvalue()


def test_a_components_allowed_model_packages_is_what_check_and_build_defs_allow(
    tmp_path: Path,
) -> None:
    """The operator's setting, from the defs.yaml that ``dg dev`` loads, is the one
    ``sqlml check`` applies; ``build_defs`` takes the same list."""
    from sqlml_dagster import build_defs
    from sqlml_dagster.compiler.diagnostics import SqlMlCompileError

    root = project(tmp_path, "SELECT a, y FROM t TO TRAIN acme.Net LABEL y INTO m;")
    with pytest.raises(SqlMlCompileError, match="SQLML209"):
        build_defs(root, state_dir=tmp_path / "state")
    assert build_defs(root, state_dir=tmp_path / "state", allowed_model_packages=["acme"])
    defs_yaml = "type: sqlml_dagster.SqlMlProject\nattributes:\n  sql_dir: sql\n"
    (tmp_path / "defs.yaml").write_text(defs_yaml)
    assert check(tmp_path, "--no-import")[1]["diagnostics"][0]["code"] == "SQLML209"
    (tmp_path / "defs.yaml").write_text(defs_yaml + "  allowed_model_packages: [acme]\n")
    assert check(tmp_path, "--no-import")[1]["diagnostics"] == []
