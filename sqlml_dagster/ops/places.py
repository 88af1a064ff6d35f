"""Where one step reads and writes, as its StepSpec names it: the step folder in the data
store and the model version folder (a reserved one, the one it scores, or a placeholder
in a dry run)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from ..contract.step_data import DataFormat, data_file_name
from ..store import ModelVersion

#: The version folder of a model a dry run would reserve, and the one ``@latest`` names.
PENDING_VERSION = "<version>"
LATEST_VERSION = "<latest>"


@dataclass(frozen=True)
class ScoredModel:
    """The model version a predict, evaluate or explain step loads: what its StepSpec
    takes from the version's manifest."""

    name: str
    uri: str
    reference: str
    flavor: str
    version: int | None = None
    features: list[str] | None = None
    image: str | None = None
    label: str | None = None
    #: classification / regression, from the version's signature (EVALUATE's defaults).
    task: str = ""

    @classmethod
    def of(cls, version: ModelVersion) -> ScoredModel:
        m = version.manifest
        return cls(
            name=m.model,
            uri=version.uri,
            reference=m.model_reference,
            flavor=m.flavor,
            version=m.version,
            features=m.features,
            image=m.image,
            label=m.label,
            task=str(version.signature.get("task", "")),
        )

    @classmethod
    def unresolved(cls, name: str, model_store: str, image: str | None = None) -> ScoredModel:
        """A dry run's stand-in: the version is resolved when the step runs; ``image`` is
        the one its versions are trained with (the training statement's, when the project
        trains it), which a real run takes from the version's manifest."""
        return cls(
            name=name,
            uri=posixpath.join(model_store, name, LATEST_VERSION),
            reference="<from the model version>",
            flavor="<from the model version>",
            image=image,
        )


@dataclass(frozen=True)
class StepInputs:
    """Where one step reads and writes: its folder in the data store and, by kind, the
    model version folder it fills (train, register), the version it scores (predict,
    evaluate, explain) or the model file it registers."""

    step_id: str
    step_uri: str
    #: train/register: the reserved version folder.
    model_uri: str = ""
    #: predict/evaluate/explain: the version to load.
    model: ScoredModel | None = None
    #: register: the model file, resolved (``CREATE MODEL … USING``), and its flavor.
    source_uri: str | None = None
    source_flavor: str | None = None
    #: The format of the step's data files, chosen by where the step folder lives
    #: (``contract/step_data.py``: Arrow IPC on a file system, Parquet on an object store).
    data_format: DataFormat = "parquet"

    def file(self, name: str) -> str:
        return posixpath.join(self.step_uri, name)

    def data_file(self, stem: str) -> str:
        """The step's data file ``stem`` (``input``, ``validation``, ``output``) in the
        step's format: ``input.arrow``, ``input.parquet``."""
        return self.file(data_file_name(stem, self.data_format))

    @property
    def input_uri(self) -> str:
        return self.data_file("input")

    @property
    def validation_uri(self) -> str:
        return self.data_file("validation")

    @property
    def output_uri(self) -> str:
        return self.data_file("output")
