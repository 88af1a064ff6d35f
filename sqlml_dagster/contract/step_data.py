"""The format of a step's data files — the SELECT's rows a step reads and the table it
writes back — and the rule that picks it by where the files live.

Why two formats: the rows cross from the warehouse to a step that may run in another
process or pod, and back. On a file system (the orchestrator's disk, or a shared volume
mounted into pods) an uncompressed Arrow IPC file costs almost nothing to write and
nothing to read — the step memory-maps it and its columns are the file's bytes. On an
object store every byte travels over the network, and Parquet's encoded, smaller file is
worth its encoding cost (``make bench``, docs/benchmarks.md). The orchestrator chooses
and writes the choice into the StepSpec (``data_format``): the runtime never guesses a
file's format from its bytes or its name.
"""

from __future__ import annotations

from typing import Literal

#: ``parquet``: Apache Parquet. ``arrow``: the Arrow IPC *file* format, uncompressed.
DataFormat = Literal["parquet", "arrow"]
DATA_FORMATS: tuple[DataFormat, ...] = ("parquet", "arrow")
#: ``auto`` picks by the data store's URL (:func:`data_format_for`); the others force one.
DataFormatSetting = Literal["auto", "parquet", "arrow"]
#: The file name suffix of each format, so a person looking at a step folder can tell.
SUFFIXES: dict[str, str] = {"parquet": ".parquet", "arrow": ".arrow"}


def is_local(url: str) -> bool:
    """A path on a file system this process (and a pod with the volume mounted) opens
    directly: no scheme, ``file://`` or ``local://``."""
    if "://" not in url:
        return True
    return url.split("://", 1)[0].lower() in ("file", "local")


def data_format_for(url: str, setting: str = "auto") -> DataFormat:
    """The format of step data under ``url``: Arrow IPC on a file system, Parquet on an
    object store (``s3://``, ``gs://``, ``az://``, ``memory://``…); a setting other than
    ``auto`` forces its format (e.g. ``parquet`` for step images older than the format)."""
    if setting == "auto":
        return "arrow" if is_local(url) else "parquet"
    return check_data_format(setting)


def check_data_format(value: object) -> DataFormat:
    """``value`` as a :data:`DataFormat`, or a ValueError naming the formats."""
    for known in DATA_FORMATS:
        if value == known:
            return known
    raise ValueError(
        f"unknown step data format {value!r}; expected one of {', '.join(DATA_FORMATS)}"
    )


def data_file_name(stem: str, data_format: DataFormat) -> str:
    """``input`` + ``arrow`` → ``input.arrow``."""
    return stem + SUFFIXES[data_format]
