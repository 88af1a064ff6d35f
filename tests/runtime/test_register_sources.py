"""CREATE MODEL … USING beyond skops: PyTorch (TorchScript, state dicts), Keras 3, MLflow
registries and the torch hub cache — compile-time checks, run-time resolution and the
runtime's ``register`` steps, with the real frameworks and nothing from the network."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from sqlml_dagster.contract import USER_ERROR_EXIT_CODE  # noqa: E402
from sqlml_dagster.contract.spec import StepSpec  # noqa: E402
from sqlml_dagster.registries import torch_hub_dir  # noqa: E402
from sqlml_dagster.runtime import StepError, run_step  # noqa: E402
from sqlml_dagster.sources import (  # noqa: E402
    SourceError,
    check_source,
    default_flavor,
    resolve_source,
)
from tests.conftest import failure_reasons, materialize_all  # noqa: E402
from tests.runtime.nets import Net, Tied, Touch  # noqa: E402
from tests.runtime.recorder import Recorder  # noqa: E402

NET = "tests.runtime.nets.Net"


@pytest.fixture(autouse=True)
def nets_are_a_model_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the orchestrator tells a step whose project allows ``tests.runtime.nets``: the
    runtime imports MODEL_TYPE only from an allowed model package."""
    monkeypatch.setenv("SQLML_ALLOWED_MODEL_PACKAGES", "tests.runtime.nets")


def register(
    tmp_path: Path,
    source: str,
    flavor: str,
    model_reference: str = "",
    options: dict[str, Any] | None = None,
) -> tuple[Recorder, Path]:
    version = tmp_path / "store" / "m" / "1"
    version.mkdir(parents=True, exist_ok=True)
    spec = StepSpec(
        kind="register",
        step_id="r",
        model_name="m",
        model_reference=model_reference,
        flavor=flavor,
        params={"options": options or {}},
        input_uri=source,
        model_uri=str(version),
    )
    recorder = Recorder()
    run_step(spec, recorder)
    return recorder, version


def torchscript_file(path: Path, n_in: int = 3) -> Any:
    torch.manual_seed(0)
    model = torch.jit.script(Net(n_in=n_in))
    torch.jit.save(model, str(path))
    return model


# -- compile time: check_source is pure and says what to do --------------------------------


@pytest.mark.parametrize(
    ("uri", "flavor", "model_type"),
    [
        ("m.skops", None, None),
        ("models/net.pt", None, None),
        ("models/net.pts", "pytorch", None),
        ("s3://bucket/net", "pytorch", None),
        ("net.safetensors", None, "pkg.nets.Net"),
        ("clf.keras", None, None),
        ("mlflow://iris", None, None),
        ("mlflow://iris/3", None, None),
        ("mlflow:/iris/3", "sklearn", None),
        ("mlflow:///iris/Production", None, None),
        ("mlflow:///iris/", None, None),  # Rikai's docs write a trailing slash
        ("mlflow:///iris/3/", None, None),
        ("mlflow://iris@champion", None, None),
        ("torchhub://pytorch/vision/resnet18", None, None),
        ("torchhub:///pytorch/vision:v0.19.0/resnet18", "pytorch", None),
    ],
)
def test_registrable_sources(uri: str, flavor: str | None, model_type: str | None) -> None:
    assert check_source(uri, flavor, model_type) is None


def test_model_type_is_only_checked_when_the_caller_passes_it() -> None:
    assert check_source("net.safetensors", None) is None  # the runtime checks it then
    assert check_source("net.safetensors", "pytorch", None) is not None


@pytest.mark.parametrize(
    ("uri", "flavor", "model_type", "message", "hint"),
    [
        ("m.bin", None, None, "cannot tell which framework saved this file", "skops.io.dump"),
        ("m.pt", "xgboost", None, "cannot register FLAVOR xgboost", "torch.jit.save"),
        ("m.pt", "sklearn", None, "FLAVOR sklearn cannot register a .pt file", "skops"),
        ("m.pkl", "sklearn", None, "a pickle file runs arbitrary code", "skops.io.dump"),
        ("m.h5", None, None, "legacy Keras HDF5", "model.save('model.keras')"),
        ("net.safetensors", None, None, "write MODEL_TYPE 'package.module.Cla", "OPTIONS"),
        ("tfhub://google/resnet/5", None, None, "TensorFlow Hub (tfhub://)", "save it to"),
        ("hf://bert-base", None, None, "Hugging Face Hub", "download the model"),
        ("mlflow://", None, None, "is not an MLflow model URI", "mlflow://<model>@<alias>"),
        ("mlflow://a/1/2", None, None, "is not an MLflow model URI", "<version>"),
        ("torchhub://pytorch/vision", None, None, "not a torch hub model URI", "<entrypoint>"),
        ("torchhub://o/r/m", "keras", None, "FLAVOR keras cannot register a torch hub", ""),
    ],
)
def test_refused_sources_say_why_and_what_to_do(
    uri: str, flavor: str | None, model_type: str | None, message: str, hint: str
) -> None:
    problem = check_source(uri, flavor, model_type)
    assert problem is not None
    assert message in problem.message
    assert hint in problem.hint


def test_file_names_imply_a_flavor() -> None:
    assert default_flavor("a/b.SKOPS") == "sklearn"
    assert default_flavor("s3://b/net.safetensors") == "pytorch"
    assert default_flavor("model.keras") == "keras"
    assert default_flavor("torchhub://o/r/m") == "pytorch"
    assert default_flavor("mlflow://m") is None


def test_check_source_imports_no_framework() -> None:
    code = (
        "import sys; from sqlml_dagster.sources import check_source; "
        "check_source('mlflow://m/1', None); check_source('torchhub://o/r/m', None); "
        "check_source('m.keras', None); "
        "print(sorted(m for m in ('torch', 'mlflow', 'keras', 'tensorflow') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- PyTorch files ---------------------------------------------------------------------------


def test_torchscript_file_registers_as_model_pt(tmp_path: Path) -> None:
    source = tmp_path / "net.pt"
    model = torchscript_file(source)
    recorder, version = register(tmp_path, str(source), "pytorch")
    assert sorted(p.name for p in version.iterdir()) == ["model.pt", "signature.json"]
    assert (version / "model.pt").read_bytes() == source.read_bytes()
    payload = recorder.payload
    assert payload["flavor"] == "pytorch"
    assert payload["model_reference"] == "__torch__.tests.runtime.nets.Net"
    assert payload["artifacts"] == ["model.pt", "signature.json"]
    assert payload["features"] == []
    assert set(payload["frameworks"]) == {"python", "torch", "safetensors"}
    signature = json.loads((version / "signature.json").read_text())
    assert signature == payload["signature"]
    assert signature["format"] == "torchscript"
    assert signature["n_features"] == 3
    assert signature["inputs"] == [{"name": "x", "type": "Tensor"}]
    loaded = torch.jit.load(str(version / "model.pt"))
    x = torch.rand(5, 3)
    assert torch.equal(loaded(x), model(x))


def test_safetensors_state_dict_loads_into_model_type_with_options(tmp_path: Path) -> None:
    torch.manual_seed(1)
    net = Net(n_in=5, hidden=2)
    source = tmp_path / "net.safetensors"
    safetensors_torch.save_model(net, str(source))
    recorder, version = register(tmp_path, str(source), "pytorch", NET, {"n_in": 5, "hidden": 2})
    assert recorder.payload["model_reference"] == NET
    assert recorder.payload["params"] == {"n_in": 5, "hidden": 2}
    assert recorder.payload["artifacts"] == ["model.safetensors", "signature.json"]
    signature = json.loads((version / "signature.json").read_text())
    assert signature["format"] == "state_dict"
    assert signature["model_class"] == NET
    assert signature["options"] == {"n_in": 5, "hidden": 2}
    assert signature["n_features"] == 5
    assert signature["parameters"] == sum(p.numel() for p in net.parameters())
    # What a later predict does: rebuild the class from the signature, load the weights.
    rebuilt = Net(**signature["options"])
    safetensors_torch.load_model(rebuilt, str(version / "model.safetensors"))
    x = torch.rand(4, 5)
    assert torch.equal(rebuilt(x), net(x))


def test_torch_save_state_dict_is_read_weights_only_and_stored_as_safetensors(
    tmp_path: Path,
) -> None:
    torch.manual_seed(2)
    tied = Tied(n=3)
    source = tmp_path / "tied.pt"
    torch.save({"state_dict": tied.state_dict(), "epoch": 7}, source)  # a checkpoint
    recorder, version = register(tmp_path, str(source), "pytorch", "tests.runtime.nets.Tied")
    assert recorder.payload["artifacts"] == ["model.safetensors", "signature.json"]
    rebuilt = Tied(n=3)
    safetensors_torch.load_model(rebuilt, str(version / "model.safetensors"))
    x = torch.rand(2, 3)
    assert torch.equal(rebuilt(x), tied(x))


def test_a_state_dict_without_model_type_says_to_write_one(tmp_path: Path) -> None:
    source = tmp_path / "net.safetensors"
    safetensors_torch.save_model(Net(), str(source))
    with pytest.raises(
        StepError, match=r"is a state dict \(weights only, 4 tensors\): write MODEL_TYPE"
    ):
        register(tmp_path, str(source), "pytorch")


def test_a_pickled_object_is_refused_without_being_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    source = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(2), "payload": Touch(str(marker))}, source)
    with pytest.raises(StepError, match="not a state dict that loads safely") as info:
        register(tmp_path, str(source), "pytorch", NET)
    assert "Unsupported global" in str(info.value)
    assert not marker.exists()


def test_a_whole_pickled_module_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "whole.pt"
    torch.save(Net(), source)
    with pytest.raises(StepError, match=r"save model.state_dict\(\)"):
        register(tmp_path, str(source), "pytorch", NET)


def test_weights_that_do_not_fit_the_class_name_the_mismatch(tmp_path: Path) -> None:
    source = tmp_path / "net.safetensors"
    safetensors_torch.save_model(Net(n_in=5), str(source))
    with pytest.raises(StepError, match=r"do not fit tests.runtime.nets.Net\(n_in=3\)"):
        register(tmp_path, str(source), "pytorch", NET, {"n_in": 3})


@pytest.mark.parametrize(
    ("model_type", "options", "message"),
    [
        ("tests.runtime.nets.Nett", {}, "has no 'Nett'; did you mean tests.runtime.nets.Net"),
        ("Net", {}, "is not a dotted import path"),
        ("tests.runtime.nets.Touch", {}, "is a class that is not a model"),
        ("tests.runtime.Nets", {}, "is not in an allowed model package"),
        ("torch.hub.load", {}, "'torch.hub.load' is not in an allowed model package"),
        (NET, {"width": 3}, r"cannot construct tests.runtime.nets.Net\(width=3\)"),
    ],
)
def test_model_type_mistakes_are_step_errors(
    tmp_path: Path, model_type: str, options: dict[str, Any], message: str
) -> None:
    source = tmp_path / "net.safetensors"
    safetensors_torch.save_model(Net(), str(source))
    with pytest.raises(StepError, match=message):
        register(tmp_path, str(source), "pytorch", model_type, options)


@pytest.mark.slow
def test_torchscript_registers_through_the_step_entrypoint(tmp_path: Path) -> None:
    """Exactly as a launcher runs it: a subprocess reading the spec, result as JSON."""
    source = tmp_path / "net.pt"
    torchscript_file(source)
    resolved = resolve_source("net.pt", "pytorch", tmp_path)
    assert resolved.flavor == "pytorch" and resolved.uri == str(source)
    version = tmp_path / "v1"
    spec = StepSpec(
        kind="register",
        step_id="r",
        model_name="m",
        model_reference="",
        flavor=resolved.flavor,
        params={"options": {}},
        input_uri=resolved.uri,
        model_uri=f"file://{version}",
    )
    (tmp_path / "spec.json").write_text(spec.to_json())
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(tmp_path / "spec.json")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["result"]
    assert result["signature"]["format"] == "torchscript"
    assert (version / "model.pt").is_file()


@pytest.mark.slow
def test_a_file_that_is_not_a_model_fails_in_one_line_through_the_entrypoint(
    tmp_path: Path,
) -> None:
    (tmp_path / "net.pt").write_bytes(b"not a model at all")
    spec = StepSpec(
        kind="register",
        step_id="r",
        model_name="m",
        model_reference=NET,
        flavor="pytorch",
        input_uri=str(tmp_path / "net.pt"),
        model_uri=str(tmp_path / "v1"),
    )
    (tmp_path / "spec.json").write_text(spec.to_json())
    done = subprocess.run(
        [sys.executable, "-m", "sqlml_dagster.runtime", str(tmp_path / "spec.json")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == USER_ERROR_EXIT_CODE
    assert "Traceback" not in done.stderr
    error = json.loads((tmp_path / "error.json").read_text())["message"]
    assert "is not a state dict that loads safely" in error


# -- Keras -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras() -> Any:
    return pytest.importorskip("keras")


def test_keras_file_registers_with_its_input_shape(tmp_path: Path, keras: Any) -> None:
    model = keras.Sequential(
        [keras.Input((4,), name="features"), keras.layers.Dense(3, activation="softmax")]
    )
    source = tmp_path / "clf.keras"
    model.save(source)
    recorder, version = register(tmp_path, str(source), "keras")
    assert (version / "model.keras").read_bytes() == source.read_bytes()
    payload = recorder.payload
    assert payload["flavor"] == "keras"
    assert payload["model_reference"].endswith("Sequential")
    assert payload["artifacts"] == ["model.keras", "signature.json"]
    assert {"keras", "tensorflow", "python"} <= set(payload["frameworks"])
    signature = json.loads((version / "signature.json").read_text())
    assert signature["n_features"] == 4
    assert signature["inputs"][0]["shape"] == [None, 4]
    assert signature["outputs"][0]["shape"] == [None, 3]
    assert signature["parameters"] == 15
    reloaded = keras.saving.load_model(version / "model.keras")
    import numpy as np

    x = np.array([[0.1, 0.2, 0.3, 0.4]])
    assert reloaded.predict(x, verbose=0).tolist() == model.predict(x, verbose=0).tolist()


def test_keras_safe_mode_refuses_a_lambda(tmp_path: Path, keras: Any) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2)])
    source = tmp_path / "lambda.keras"
    model.save(source)
    with pytest.raises(StepError, match=r"cannot load .* with Keras in safe mode"):
        register(tmp_path, str(source), "keras")


def test_a_non_keras_file_named_keras_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.keras").write_bytes(b"hello")
    with pytest.raises(StepError, match=r"not a Keras 3 .keras file"):
        register(tmp_path, str(tmp_path / "m.keras"), "keras")


# -- torch hub (a fake repository in a temporary TORCH_HOME) ---------------------------------

HUBCONF = '''
import torch

dependencies = ["torch"]


class TinyNet(torch.nn.Module):
    def __init__(self, n_in=2):
        super().__init__()
        self.lin = torch.nn.Linear(n_in, 1)

    def forward(self, x):
        return self.lin(x)


def tiny(n_in=2, seed=0):
    """A tiny net; pretend weights come from hub/checkpoints."""
    torch.manual_seed(seed)
    return TinyNet(n_in)


def not_a_module():
    return 42
'''


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    yield home


def fake_hub_repo(torch_home: Path, folder: str = "acme_nets_main") -> Path:
    repo = torch_home / "hub" / folder
    repo.mkdir(parents=True)
    (repo / "hubconf.py").write_text(HUBCONF)
    return repo


def test_hub_dir_matches_torch(torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert str(torch_hub_dir()) == torch.hub.get_dir() == str(torch_home / "hub")
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(torch_home / "xdg"))
    assert str(torch_hub_dir()) == torch.hub.get_dir()


def test_torchhub_model_registers_from_the_cache(tmp_path: Path, torch_home: Path) -> None:
    repo = fake_hub_repo(torch_home)
    resolved = resolve_source("torchhub://acme/nets/tiny", None, tmp_path)
    assert resolved.flavor == "pytorch"
    assert resolved.uri == "torchhub://acme/nets:main/tiny"
    assert resolved.metadata["torchhub_dir"] == str(repo)
    recorder, version = register(tmp_path, resolved.uri, "pytorch", options={"n_in": 3, "seed": 4})
    signature = json.loads((version / "signature.json").read_text())
    assert signature["format"] == "torchhub"
    assert (signature["repo"], signature["ref"], signature["entrypoint"]) == (
        "acme/nets",
        "main",
        "tiny",
    )
    assert signature["options"] == {"n_in": 3, "seed": 4}
    assert signature["n_features"] == 3
    assert recorder.payload["model_reference"] == "torchhub://acme/nets:main/tiny"
    assert signature["model_class"] == "hubconf.py.TinyNet"
    # What a later predict does: the entrypoint from the cache, then the stored weights.
    rebuilt = torch.hub.load(str(repo), "tiny", source="local", n_in=3, seed=99)
    safetensors_torch.load_model(rebuilt, str(version / "model.safetensors"))
    torch.manual_seed(4)
    expected = torch.nn.Linear(3, 1)
    assert torch.equal(rebuilt.lin.weight, expected.weight)


def test_torchhub_fingerprint_follows_the_cached_code(tmp_path: Path, torch_home: Path) -> None:
    repo = fake_hub_repo(torch_home, "acme_nets_v1.0")
    first = resolve_source("torchhub:///acme/nets:v1.0/tiny", "pytorch", tmp_path)
    assert first.uri == "torchhub://acme/nets:v1.0/tiny"
    assert resolve_source("torchhub://acme/nets:v1.0/tiny", None, tmp_path) == first
    (repo / "hubconf.py").write_text(HUBCONF + "\n# changed\n")
    assert resolve_source("torchhub://acme/nets:v1.0/tiny", None, tmp_path) != first


def test_torchhub_without_the_cache_says_how_to_fill_it(tmp_path: Path, torch_home: Path) -> None:
    with pytest.raises(SourceError) as info:
        resolve_source("torchhub://pytorch/vision/resnet18", None, tmp_path)
    message = str(info.value)
    assert f"the torch hub cache {torch_home / 'hub'} lacks pytorch/vision" in message
    assert "pytorch_vision_main or pytorch_vision_master" in message
    assert "torch.hub.load('pytorch/vision', 'resnet18', trust_repo=True)" in message
    assert "TORCH_HOME" in message


def test_torchhub_entrypoint_mistakes_are_step_errors(tmp_path: Path, torch_home: Path) -> None:
    fake_hub_repo(torch_home)
    with pytest.raises(StepError, match=r"returned a int, not a torch\.nn\.Module"):
        register(tmp_path, "torchhub://acme/nets:main/not_a_module", "pytorch")
    with pytest.raises(StepError, match="entrypoint missing of acme/nets:main failed"):
        register(tmp_path, "torchhub://acme/nets:main/missing", "pytorch")
    with pytest.raises(StepError, match="lacks other/nets:main"):
        register(tmp_path, "torchhub://other/nets:main/tiny", "pytorch")


# -- MLflow (a sqlite registry and a local artifact folder in tmp_path) ----------------------


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.chdir(tmp_path)  # the default experiment keeps its artifacts in ./mlruns
    mlflow.set_tracking_uri(uri)
    yield mlflow
    mlflow.set_tracking_uri(None)


def log_sklearn(mlflow: Any, name: str, coef: float, fmt: str = "skops") -> Any:
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, coef, 2 * coef])
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=name,
            serialization_format=fmt,
            pip_requirements=[],
        )
    return model


@pytest.mark.slow
def test_mlflow_versions_aliases_and_stages_resolve(tmp_path: Path, mlflow_store: Any) -> None:
    log_sklearn(mlflow_store, "lin", 1.0)
    second = log_sklearn(mlflow_store, "lin", 2.0)
    client = mlflow_store.MlflowClient()
    client.set_registered_model_alias("lin", "champion", "1")
    latest = resolve_source("mlflow://lin", None, tmp_path)
    assert latest.flavor == "sklearn"
    assert latest.metadata["mlflow_version"] == 2
    assert latest.metadata["mlflow_flavor"] == "sklearn"
    assert latest.uri.endswith("model.skops")
    v1 = resolve_source("mlflow:///lin/1", None, tmp_path)
    assert v1.metadata["mlflow_version"] == 1
    assert v1.fingerprint != latest.fingerprint
    assert resolve_source("mlflow://lin/2", "sklearn", tmp_path).fingerprint == latest.fingerprint
    champion = resolve_source("mlflow://lin@champion", None, tmp_path)
    assert champion.fingerprint == v1.fingerprint
    assert champion.metadata["mlflow_alias"] == "champion"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.transition_model_version_stage("lin", "2", "Production")
    production = resolve_source("mlflow://lin/Production", None, tmp_path)
    assert production.metadata["mlflow_version"] == 2
    assert production.metadata["mlflow_stage"] == "Production"
    # The runtime registers the resolved file with the scikit-learn flavor, as any .skops.
    recorder, version = register(tmp_path, latest.uri, latest.flavor)
    assert recorder.payload["model_reference"] == "sklearn.linear_model._base.LinearRegression"
    assert (version / "model.skops").is_file()
    import skops.io as sio

    stored = sio.load(
        version / "model.skops", trusted=sio.get_untrusted_types(file=version / "model.skops")
    )
    assert stored.predict([[3.0]]) == pytest.approx(second.predict([[3.0]]))


@pytest.mark.slow
def test_mlflow_pickled_models_are_refused(tmp_path: Path, mlflow_store: Any) -> None:
    log_sklearn(mlflow_store, "pickled", 1.0, fmt="cloudpickle")
    with pytest.raises(SourceError) as info:
        resolve_source("mlflow://pickled", None, tmp_path)
    assert "MLflow model pickled v1 was logged with serialization_format='cloudpickle'" in str(
        info.value
    )
    assert "serialization_format='skops'" in str(info.value)


@pytest.mark.slow
def test_mlflow_keras_models_register_with_the_keras_flavor(
    tmp_path: Path, mlflow_store: Any, keras: Any
) -> None:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with mlflow_store.start_run():
        mlflow_store.tensorflow.log_model(
            model, name="model", registered_model_name="kmod", pip_requirements=[]
        )
    resolved = resolve_source("mlflow://kmod/1", None, tmp_path)
    assert resolved.flavor == "keras"
    assert resolved.uri.endswith("data/model.keras")
    with pytest.raises(SourceError, match="is a keras model, not FLAVOR sklearn"):
        resolve_source("mlflow://kmod/1", "sklearn", tmp_path)
    recorder, _ = register(tmp_path, resolved.uri, resolved.flavor)
    assert recorder.payload["signature"]["n_features"] == 3


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("mlflow://nothing", "MLflow cannot resolve mlflow://nothing: Registered Model"),
        ("mlflow://lin/7", "MLflow cannot resolve mlflow://lin/7"),
        ("mlflow://lin@nobody", "MLflow cannot resolve mlflow://lin@nobody"),
        ("mlflow://lin/Staging", "no version of MLflow model 'lin' is in stage Staging"),
    ],
)
@pytest.mark.slow
def test_mlflow_lookups_that_find_nothing(
    tmp_path: Path, mlflow_store: Any, uri: str, message: str
) -> None:
    log_sklearn(mlflow_store, "lin", 1.0)
    with pytest.raises(SourceError, match=message):
        resolve_source(uri, None, tmp_path)


def test_mlflow_needs_a_registry_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    with pytest.raises(SourceError, match="set MLFLOW_TRACKING_URI"):
        resolve_source("mlflow://lin", None, tmp_path)


# -- end to end through Dagster --------------------------------------------------------------


@pytest.mark.slow
def test_create_model_registers_a_torchscript_file_as_a_model_asset(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    source = tmp_path / "models" / "net.pt"
    source.parent.mkdir()
    torchscript_file(source, n_in=2)
    root = write_project(
        {
            "m.sql": """
                CREATE MODEL net FLAVOR pytorch OPTIONS (note = 'from the lab')
                USING '../models/net.pt';
            """
        }
    )
    state = tmp_path / "state"
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    version = state / "models" / "net" / "1"
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["flavor"] == "pytorch"
    assert manifest["model_reference"] == "__torch__.tests.runtime.nets.Net"
    assert manifest["source_uri"] == str(source)
    assert "signature" not in manifest  # one copy: signature.json, checksummed below
    signature = json.loads((version / "signature.json").read_text())
    assert signature["format"] == "torchscript"
    assert signature["n_features"] == 2
    assert set(manifest["artifacts"]) == {"model.pt", "signature.json"}
    assert manifest["frameworks"]["torch"] == torch.__version__
    loaded = torch.jit.load(io.BytesIO((version / "model.pt").read_bytes()))
    assert loaded(torch.rand(1, 2)).shape == (1, 1)


@pytest.mark.slow
def test_create_model_from_an_mlflow_registry_predicts_like_a_trained_model(
    write_project: Callable[[dict[str, str]], Path], tmp_path: Path, mlflow_store: Any
) -> None:
    import duckdb

    log_sklearn(mlflow_store, "lin", 1.0)
    model = log_sklearn(mlflow_store, "lin", 3.0)
    root = write_project(
        {
            "m.sql": """
                CREATE MODEL lin USING 'mlflow://lin';
                CREATE TABLE pts AS SELECT range * 1.0 AS a FROM range(3);
                SELECT a FROM pts TO PREDICT scored.y USING lin;
            """
        }
    )
    state = tmp_path / "state"
    result = materialize_all(root, state)
    assert result.success, failure_reasons(result)
    manifest = json.loads((state / "models" / "lin" / "1" / "manifest.json").read_text())
    assert manifest["flavor"] == "sklearn"
    assert manifest["source_uri"].endswith("model.skops")
    materialization = next(
        m
        for m in result.asset_materializations_for_node("sqlml__lin")
        if "source/mlflow_version" in m.metadata
    )
    assert materialization.metadata["source/mlflow_version"].value == 2
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        scored = con.execute("SELECT a, y FROM scored ORDER BY a").fetchall()
    assert [round(y, 6) for _, y in scored] == [
        round(float(model.predict([[float(a)]])[0]), 6) for a, _ in scored
    ]
