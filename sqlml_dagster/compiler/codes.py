"""Stable diagnostic codes. The text of a message may improve; a code never changes meaning.

Documented for users in ``docs/diagnostics.md``.
"""

from ..contract import distributed as _distributed
from ..contract import durations as _durations
from ..contract import explain as _explain
from ..contract import optimization as _optimization
from ..contract import programs as _programs

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
BAD_IMAGE = "SQLML107"
# SQLML108 — retired: TO EXPLAIN without INTO was parsed and not executed; it is an asset
# of its own now (SQLML142). Kept so the number is never given another meaning.
NOT_EXECUTED = "SQLML108"
UNKNOWN_FUNCTION = "SQLML109"
BAD_ARGUMENT = "SQLML110"
BAD_DIRECTIVE = "SQLML111"
MISPLACED_CHECK = "SQLML112"
BAD_CHECK = "SQLML113"
UNREAD_STATEMENT = "SQLML114"
FILE_OUTSIDE_PROJECT = "SQLML115"
PRIVILEGED_STATEMENT = "SQLML116"
BAD_NAME = "SQLML117"
UNTRANSPILABLE = "SQLML118"
# SQLFlow's TO RUN and TO MAXIMIZE / TO MINIMIZE
RUN_WITHOUT_PROGRAM = "SQLML125"
BAD_PROGRAM = "SQLML126"
BAD_OPTIMIZATION = "SQLML127"
BAD_OPTIMIZE_ATTRIBUTE = "SQLML128"
SOLVER_SUBSTITUTED = "SQLML129"
# 13x — hyper-parameter trials and warm starts of TO TRAIN (docs/deep-learning.md)
BAD_SEARCH_SPACE = "SQLML130"
NO_SEARCH_SPACE = "SQLML131"
BAD_TRIAL_SETTING = "SQLML132"
BAD_OBJECTIVE = "SQLML133"
BAD_WARM_START = "SQLML134"
# 135 — data-parallel training (train.num_workers, docs/deep-learning.md)
BAD_WORKERS = "SQLML135"
# 136-139 — Rikai's CREATE MODEL … RETURNS (contract/returns.py)
BAD_RETURNS = "SQLML136"
# 140-141 — TO RUN without INTO: the program run as an asset of its own
BAD_RUN_NAME = "SQLML140"
MISPLACED_ASSET_DIRECTIVE = "SQLML141"
# 142-143 — TO EXPLAIN without INTO: the explanation as an asset of its own (143 unused)
BAD_EXPLANATION_NAME = "SQLML142"
# 15x — a model's lifecycle: aliases, promotion policies, champion-relative gates
BAD_ALIAS = "SQLML150"
BAD_PROMOTION = "SQLML151"
UNKNOWN_PROMOTION_METRIC = "SQLML152"
BAD_CHAMPION_GATE = "SQLML153"

# 2xx — the project graph
DUPLICATE_PRODUCER = "SQLML201"
CYCLE = "SQLML202"
UNKNOWN_MODEL = "SQLML203"
NOT_A_TABLE = "SQLML204"
FOREIGN_MODIFICATION = "SQLML205"
OVERWRITES_INPUT = "SQLML206"
MODEL_IN_VIEW = "SQLML207"
IMAGE_NOT_ALLOWED = "SQLML208"
MODEL_NOT_ALLOWED = "SQLML209"
NAME_COLLISION = "SQLML210"
WARM_START_MISMATCH = "SQLML218"
# which assets a project's Definitions hold, and under which keys (a SqlMlProject's
# `select`/`exclude`/`translation`, `sqlml materialize --select`)
BAD_SELECTION = "SQLML220"
EMPTY_SELECTION = "SQLML221"
BAD_TRANSLATION = "SQLML222"
# 240-242 — what a project needs installed (sqlml_dagster/frameworks.py)
FRAMEWORK_NOT_INSTALLED = "SQLML240"
# 226-229 — a model's lifecycle across statements
METRIC_NOT_RECORDED = "SQLML226"
CHAMPION_NEVER_MOVES = "SQLML227"

# 3xx — the project's configuration (a SqlMlProject component's defs.yaml)
UNKNOWN_DIALECT = "SQLML301"
BAD_TRANSLATOR = "SQLML302"
UNREADABLE_COMPONENT = "SQLML303"

# 4xx — deep checks of `sqlml check` (sqlml_dagster/validate): model classes, WITH
# settings, and column names against the tables' schemas
UNKNOWN_MODEL_PARAM = "SQLML401"
MISSING_MODEL_PARAM = "SQLML402"
MODEL_NOT_IMPORTABLE = "SQLML403"
IMPORT_TIMEOUT = "SQLML404"
UNKNOWN_SETTING = "SQLML405"
BAD_RESOURCE = "SQLML406"
UNKNOWN_LABEL = "SQLML407"
UNKNOWN_FEATURE_COLUMN = "SQLML408"
MISSING_MODEL_FEATURES = "SQLML409"
BAD_SCHEMA_FILE = "SQLML410"
BAD_DURATION = "SQLML411"
NOT_A_MODEL = "SQLML412"
SETTING_NOT_READ = "SQLML413"
SETTING_IGNORED = "SQLML414"
# TO EXPLAIN's chart and per-row options (contract/explain.py)
UNKNOWN_PLOT_TYPE = "SQLML415"
BAD_EXPLAIN_OPTION = "SQLML416"
# TO MAXIMIZE / TO MINIMIZE against the SELECT's columns
UNKNOWN_PROGRAM_COLUMN = "SQLML417"
VARIABLE_NAMED_AS_COLUMN = "SQLML418"
UNKNOWN_METRIC = "SQLML435"
# 440-442 — data-parallel training against the model's flavor
WORKERS_NOT_DISTRIBUTED = "SQLML440"
UNKNOWN_CURVE = "SQLML436"

# 43x — a model's aliases when a step runs or the CLI moves one
ALIAS_NOT_FOUND = "SQLML430"
ALIAS_CONFLICT = "SQLML431"

# 5xx — a step that ran and failed (the one line `sqlml materialize` and Dagster show)
STEP_FAILED = "SQLML501"
WAREHOUSE_BUSY = "SQLML502"
READ_ONLY = "SQLML503"
DISK_FULL = "SQLML504"
SQL_REFUSED = "SQLML505"
SQL_FAILED = "SQLML506"
WAREHOUSE_UNREACHABLE = "SQLML507"
WAREHOUSE_AUTH = "SQLML508"
WAREHOUSE_MISSING = "SQLML509"
WAREHOUSE_DENIED = "SQLML510"
# 530-533 — a distributed training's processes (written by the step: runtime/dl/distributed.py)
RANK_FAILED = _distributed.RANK_FAILED  # SQLML530
CUSTOM_LOOP_NOT_DISTRIBUTED = _distributed.CUSTOM_LOOP  # SQLML531
NOT_DISTRIBUTABLE = _distributed.NOT_DISTRIBUTABLE  # SQLML532
# Written by the step itself into its error.json: the runtime imports no compiler, so the
# contract defines these three and this list of every code names them.
PROGRAM_FAILED = _programs.PROGRAM_FAILED  # SQLML525
NO_SOLUTION = _optimization.NO_SOLUTION  # SQLML526
OPTIMIZATION_DATA = _optimization.OPTIMIZATION_DATA  # SQLML527
STEP_TIMED_OUT = _durations.STEP_TIMED_OUT  # SQLML534
# 535-537 — ML_PREDICT while a table's query runs (ops/model_functions.py)
SCORING_WORKER_FAILED = "SQLML535"
RETURNS_NOT_FILLED = "SQLML536"
NO_PER_ROW_ATTRIBUTIONS = _explain.NO_PER_ROW  # SQLML538
EXPLAIN_OPTION_REFUSED = _explain.BAD_EXPLAIN_OPTION  # SQLML539
