"""Every path of the model store is joined here, and nowhere else: a model name that does
not follow the naming rule (:mod:`sqlml_dagster.contract.names`) or a path part that is not
one plain file or folder name is refused with :class:`BadName` before anything is read,
written or deleted. The compiler refuses such names first (SQLML117); this is the second
line, for every caller that did not come through it — ``sqlml models show ../x``, a
``DROP MODEL`` typed into ``sqlml sql``, a hand-written StepSpec's model name."""

from __future__ import annotations

import posixpath
import re

from ..contract.names import key_problem, printable
from .errors import BadName

#: One file or folder name below a model: a version number, ``checks``, ``<gate>.json``.
_COMPONENT = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}")


def check_model_name(model: str) -> str:
    """``model`` when it is a name the store keeps (``schema.model`` keys included)."""
    problem = key_problem(model)
    if problem is not None:
        raise BadName(
            f"'{printable(model)}' is not a model name: it {problem} "
            "(a model name never leaves the model store)"
        )
    return model


def store_path(root: str, model: str, *parts: str) -> str:
    """``<root>/<model>/<parts…>``, refusing anything that would resolve outside
    ``<root>/<model>``: a bad model name, a part with a separator, NUL, ``.`` or ``..``."""
    check_model_name(model)
    for part in parts:
        if part in (".", "..") or not _COMPONENT.fullmatch(part):
            raise BadName(f"'{printable(part)}' is not a file name inside model '{model}'")
    path = posixpath.join(root, model, *parts)
    base = posixpath.normpath(posixpath.join(root, model))
    if not (posixpath.normpath(path) + "/").startswith(base + "/"):  # pragma: no cover
        raise BadName(f"'{printable(model)}' would leave the model store")  # belt and braces
    return path
