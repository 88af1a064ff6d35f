"""Stable diagnostic codes. The text of a message may improve; a code never changes meaning.

Documented for users in ``docs/diagnostics.md``.
"""

# 0xx — files
UNREADABLE_FILE = "SQLML001"
NO_SQL_FILES = "SQLML002"

# 1xx — one statement
UNTERMINATED = "SQLML100"
SQL_SYNTAX = "SQLML101"
ML_SYNTAX = "SQLML102"
UNKNOWN_NAMESPACE = "SQLML103"
DUPLICATE_PARAM = "SQLML104"
UNSUPPORTED_STATEMENT = "SQLML105"
IGNORED_STATEMENT = "SQLML106"

# 2xx — the project graph
DUPLICATE_PRODUCER = "SQLML201"
CYCLE = "SQLML202"
UNKNOWN_MODEL = "SQLML203"
NOT_A_TABLE = "SQLML204"
FOREIGN_MODIFICATION = "SQLML205"
