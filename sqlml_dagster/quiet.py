"""Quiet, useful logs: what Dagster and the frameworks print that says nothing to a user.

Two kinds of noise reach a user who did nothing wrong. Dagster warns that APIs are beta or
preview when *Dagster's own* code calls them (its component loader, its selection parser)
— :func:`dagster_internal_warnings_silenced` drops exactly those, by the module the
warning is raised from, so a user's own use of a beta API still warns. TensorFlow prints
C++ banners (oneDNN, CUDA stubs, absl) when it loads; the step runtime drops those
(``runtime/quiet.py``), and :func:`quiet_frameworks` sets the same environment defaults
(``contract.logs.FRAMEWORK_LOG_ENV``) for the processes the CLI starts.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, MutableMapping

from .contract.logs import FRAMEWORK_LOG_ENV

#: Modules whose beta/preview warnings are Dagster talking about itself.
DAGSTER_MODULES = r"dagster(\.|$)"


@contextlib.contextmanager
def dagster_internal_warnings_silenced() -> Iterator[None]:
    """Within the block, Dagster's ``BetaWarning``/``PreviewWarning`` raised from Dagster's
    own modules are ignored; the same warnings attributed to any other module still show."""
    from dagster import BetaWarning, PreviewWarning

    with warnings.catch_warnings():
        for category in (BetaWarning, PreviewWarning):
            warnings.filterwarnings("ignore", category=category, module=DAGSTER_MODULES)
        yield


#: Dagster's warnings about its own internals that come *after* our code returns, so no
#: block of ours can hold them: (start of the message, module raising it). Loading a
#: component, Dagster rebuilds our asset checks as plain assets definitions
#: (``Definitions.with_definition_metadata_update``); whenever the asset graph is read
#: later — in the code server ``dg dev`` starts, in every run worker — it turns them back
#: through a beta parameter of its own (``execution_type``) and warns (a BetaWarning).
LATER_DAGSTER_WARNINGS = (
    (
        r"Parameter `execution_type` of function `AssetsDefinition.__init__` is currently in beta",
        r"dagster\._core\.definitions\.repository_definition\.",
    ),
)


def silence_later_dagster_warnings() -> None:
    """Drop, for the whole process, exactly the warnings of :data:`LATER_DAGSTER_WARNINGS`:
    that message raised from that Dagster module — a user's own use of the same beta API,
    or any other warning, still shows. Matched by message and module, not by class, so
    that ``import sqlml_dagster`` sets it without importing Dagster (a step's runtime has
    none). A ``warnings.catch_warnings`` block undoes filters set inside it, and Dagster
    loads components inside one: so ``import sqlml_dagster``, the CLI and the example's
    definitions set it outside, and building definitions sets it again; adding the same
    filter twice keeps one."""
    for message, module in LATER_DAGSTER_WARNINGS:
        warnings.filterwarnings("ignore", message=message, module=module)


def quiet_frameworks(environ: MutableMapping[str, str] = os.environ) -> None:
    """The frameworks' log-level defaults in ``environ`` (a user's own setting stays), so
    that TensorFlow, when a step or a check imports it, keeps its INFO chatter to itself."""
    for name, value in FRAMEWORK_LOG_ENV.items():
        environ.setdefault(name, value)
