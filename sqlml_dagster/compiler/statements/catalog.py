"""Questions to (and changes of) the model catalog: Rikai's ``SHOW MODELS``,
``{DESC | DESCRIBE} MODEL <name>[@<version>]``, ``DROP MODEL [IF EXISTS] <name>`` and
SQLFlow's ``SHOW TRAIN <name>[@<version>]``. Interactive (``sqlml sql``, ``catalog.py``);
in a project file they are ignored with a warning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...contract.lifecycle import Pin
from .. import codes
from ..context import Common
from ..cursor import Cursor
from ..diagnostics import Diagnostic, Span
from ..names import QualifiedName
from ..sql_writer import SqlWriter
from ..statement import Statement


@dataclass(frozen=True)
class CatalogStatement(Statement):
    """A question to (or change of) the model catalog; interactive, not a project asset."""

    KEYWORDS: ClassVar[str] = ""

    def why_no_asset(self) -> Diagnostic | None:
        return self._ignored(
            codes.IGNORED_STATEMENT,
            f"{self.KEYWORDS} asks the model catalog and is ignored in project files",
            hint="catalog statements are interactive; a project file defines tables and models",
        )

    @classmethod
    def _after_keywords(cls, c: Cursor) -> Cursor:
        """The cursor past the statement's opening words (``DESC MODEL``, ``SHOW TRAIN``)."""
        c.i = len(cls.LEADING[0])
        return c


@dataclass(frozen=True)
class ShowModelsStatement(CatalogStatement):
    """``SHOW MODELS``."""

    KIND: ClassVar[str] = "show_models"
    KEYWORDS: ClassVar[str] = "SHOW MODELS"
    LEADING: ClassVar[tuple[tuple[str, ...], ...]] = (("SHOW", "MODELS"),)

    @classmethod
    def parse(cls, c: Cursor, common: Common) -> ShowModelsStatement:
        cls._after_keywords(c).expect_end(cls.KEYWORDS)
        return cls(**common)

    def render_sql(self, w: SqlWriter) -> str:
        return self.KEYWORDS


@dataclass(frozen=True)
class _ModelVersionQuestion(CatalogStatement):
    """``<KEYWORDS> <model>[@<version>]``: a question about one model (or version)."""

    model: QualifiedName
    model_span: Span
    version: Pin = None

    @classmethod
    def parse(cls, c: Cursor, common: Common) -> _ModelVersionQuestion:
        if cls._after_keywords(c).peek() is None:
            raise c.fail(None, "a model name", f"the form is: {cls.KEYWORDS} <model>")
        model, model_span, version = c.model_pin("a model name")
        c.expect_end(f"{cls.KEYWORDS} <model>")
        return cls(**common, model=model, model_span=model_span, version=version)

    def render_sql(self, w: SqlWriter) -> str:
        return f"{self.KEYWORDS} {w.name(self.model)}{w.pin(self.version)}"


@dataclass(frozen=True)
class DescribeModelStatement(_ModelVersionQuestion):
    """``{DESC | DESCRIBE} MODEL <name>[@<version>]``."""

    KIND: ClassVar[str] = "describe_model"
    KEYWORDS: ClassVar[str] = "DESCRIBE MODEL"
    LEADING: ClassVar[tuple[tuple[str, ...], ...]] = (("DESC", "MODEL"), ("DESCRIBE", "MODEL"))


@dataclass(frozen=True)
class ShowTrainStatement(_ModelVersionQuestion):
    """SQLFlow's ``SHOW TRAIN <model>[@<version>]``: the statement and params that trained it."""

    KIND: ClassVar[str] = "show_train"
    KEYWORDS: ClassVar[str] = "SHOW TRAIN"
    LEADING: ClassVar[tuple[tuple[str, ...], ...]] = (("SHOW", "TRAIN"),)


@dataclass(frozen=True)
class DropModelStatement(CatalogStatement):
    """``DROP MODEL [IF EXISTS] <name>``."""

    KIND: ClassVar[str] = "drop_model"
    KEYWORDS: ClassVar[str] = "DROP MODEL"
    LEADING: ClassVar[tuple[tuple[str, ...], ...]] = (("DROP", "MODEL"),)

    model: QualifiedName
    model_span: Span
    if_exists: bool = False

    @classmethod
    def parse(cls, c: Cursor, common: Common) -> DropModelStatement:
        if_exists = cls._after_keywords(c).at_words("IF", "EXISTS")
        if c.peek() is None:
            raise c.fail(None, "a model name", f"the form is: {cls.KEYWORDS} <model>")
        model, model_span = c.qualified_name("a model name")
        c.expect_end(f"{cls.KEYWORDS} <model>")
        return cls(**common, model=model, model_span=model_span, if_exists=if_exists)

    def render_sql(self, w: SqlWriter) -> str:
        exists = "IF EXISTS " if self.if_exists else ""
        return f"{self.KEYWORDS} {exists}{w.name(self.model)}"
