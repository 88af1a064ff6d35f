-- SQLFlow's TO RUN and TO MAXIMIZE / TO MINIMIZE statements, copied from its repository
-- (github.com/sql-machine-learning/sqlflow, commit 6c492098), each with where it comes
-- from. Read in SQLFlow's default dialect, MySQL; every one compiles without an error and
-- its IR is pinned in sqlflow_run_optimize.json (tests/compiler/test_upstream_golden.py).

-- go/ir/ir_generator_test.go, TestGenerateRunStmt
SELECT * FROM source_table
TO RUN a_data_scientist/ts_data_processor:1.0;

-- go/ir/ir_generator_test.go, TestGenerateRunStmt
SELECT * FROM source_table
TO RUN a_data_scientist/ts_data_processor:1.0
CMD "slide_window_to_row";

-- go/ir/ir_generator_test.go, TestGenerateRunStmt
SELECT * FROM source_table
TO RUN a_data_scientist/ts_data_processor:1.0
CMD "slide_window_to_row"
INTO output_table;

-- go/ir/ir_generator_test.go, TestGenerateRunStmt
SELECT * FROM source_table
TO RUN a_data_scientist/ts_data_processor:1.0
CMD "slide_window_to_row"
INTO output_table_1, output_table_2;

-- go/ir/ir_generator_test.go, TestGenerateRunStmt
SELECT * FROM source_table
TO RUN a_data_scientist/ts_data_processor:1.0
CMD "slide_window_to_row", "--param_a=value_a", "--param_b=value_b"
INTO output_table_1, output_table_2;

-- doc/design/to_run.md, "Run Any Program"
SELECT * FROM source_table ORDER BY creation_date
TO RUN a_data_scientist/ts_data_processor:1.0
CMD
  "slide_window_to_row",
  "--time_column=t",
  "--value_column=v",
  "--window_width=120"
INTO output_table;

-- doc/design/to_run.md, "Run Any Program" (a Python program)
SELECT * FROM source_table ORDER BY creation_date
TO RUN a_data_scientist/extract_ts_features:1.0
CMD
  "ts_feature_extractor.py",
  "--time_column=t",
  "--value_column=x",
  "--window_width=120"
INTO output_table;

-- doc/design/to_run.md, "The SELECT Prefix"
SELECT 1
TO RUN a_data_scientist/ts_data_processor:1.0
CMD
  "process_without_input_table",
  "--time_column=t",
  "--value_column=v",
  "--window_width=120"
INTO output_table;

-- doc/design/to_run.md, "The INTO Suffix"
SELECT * FROM source_table ORDER BY creation_date
TO RUN a_data_scientist/ts_data_processor:1.0
CMD
  "process_with_two_output_tables",
  "--time_column=t",
  "--value_column=v",
  "--window_width=120"
INTO output_table_1, output_table_2;

-- doc/design/to_run.md, "The INTO Suffix" (no output table: the run is an asset, program_run)
SELECT * FROM source_table ORDER BY creation_date
TO RUN a_data_scientist/ts_data_processor:1.0
CMD
  "process_without_output_table",
  "--time_column=t",
  "--value_column=v",
  "--window_width=120";

-- doc/design/to_run.md, "Run a Python Program"
SELECT * FROM input_table
TO RUN a_data_scientist/my_python_zoo
CMD
  "ts_feature_extractor.py",
  "--time_column=t",
  "--value_column=x",
  "--window_width=120"
INTO output_table;

-- doc/language_guide.md, "TO RUN Syntax"
SELECT * FROM iris.train
TO RUN sqlflow/runnable:v0.0.1
CMD "binning.py",
    "--dbname=iris",
    "--columns=sepal_length,sepal_width",
    "--bin_method=bucket,log_bucket",
    "--bin_num=10,5"
INTO train_binning_result;

-- go/cmd/sqlflowserver/e2e_workflow_test.go, caseWorkflowRunBinary
SELECT * FROM iris.train
TO RUN sqlflow/sqlflow:step
CMD "echo", "Hello World";

-- doc/tutorial/optimization_guide.md, Example 1 (woodcarving)
SELECT * FROM my_db.woodcarving -- the input data source
TO MAXIMIZE
    SUM((price - materials_cost - other_cost) * amount) -- the objective expression
CONSTRAINT
    SUM(finishing * amount) <= 100, -- finishing constraint, i.e, 2*x + 1*y <= 100
    SUM(carpentry * amount) <= 80, -- carpentry constraint, i.e., 1*x + 1*y <= 80
    amount <= max_num -- demand constraint, i.e., x <= 40, y <= 10000
WITH
    variables="amount(product)", -- amount = (x, y) is the value to be optimized, product is the column name of the variable
    var_type="NonNegativeIntegers" -- amount = (x, y) is inside the domain of non-negative integers
USING glpk -- use the GLPK solver to solve the linear optimization problem
INTO my_db.woodcarving_result_table;

-- doc/tutorial/optimization_guide.md, Example 2 (transportation, GROUP BY)
SELECT
    t.plants AS plants,
    t.markets AS markets,
    t.distance AS distance,
    p.capacity AS capacity,
    m.demand AS demand
FROM my_db.transportation AS t
LEFT JOIN my_db.plants AS p ON t.plants = p.plants
LEFT JOIN my_db.markets AS m ON t.markets = m.markets  -- the joined SQL statement
TO MINIMIZE
    SUM(amount * distance) -- the objective expression, minimize the total transportation distance
CONSTRAINT
    SUM(amount) <= capacity GROUP BY plants,
    SUM(amount) >= demand GROUP BY markets
WITH
    -- amount is the value to be optimized, "plants" and "markets" are the column names of the variables
    variables="amount(plants,markets)",
    var_type="NonNegativeIntegers" -- the amount value should be non-negative integers
USING glpk
INTO my_db.transportation_result_table;

-- doc/language_guide.md, "Optimization Syntax" (as written: no comma after GROUP BY c1)
SELECT c1, c2, c3 FROM my_db.my_table
TO MAXIMIZE SUM(x * c1)
CONSTRAINT
    SUM(x) <= c2 GROUP BY c1
    x <= 3
WITH
    variables="x(c3)",
    var_type="NonNegativeIntegers"
USING glpk
INTO my_db.my_result_table;

-- go/ir/ir_generator_test.go, TestGenerateOptimizeStmt (oneVarSQL)
SELECT * FROM alifin_jtest_dev.woodcarving
TO MAXIMIZE SUM((price - materials_cost - other_cost) * product)
CONSTRAINT SUM(finishing * product) <= 100,
           SUM(carpentry * product) <= 80,
           product <= max_num
WITH variables="product",
     var_type="NonNegativeIntegers"
USING glpk
INTO result_table;

-- go/ir/ir_generator_test.go, TestGenerateOptimizeStmt (oneVarSQLWithResultValueName)
SELECT * FROM alifin_jtest_dev.woodcarving
TO MAXIMIZE SUM((price - materials_cost - other_cost) * amount)
CONSTRAINT SUM(finishing * amount) <= 100,
           SUM(carpentry * amount) <= 80,
           amount <= max_num
WITH variables="amount(product)",
     var_type="NonNegativeIntegers"
USING glpk
INTO result_table_2;

-- go/ir/ir_generator_test.go, TestGenerateOptimizeStmt (twoVarSQL; the cluster solver's
-- data.*/worker.*/solver.* keys are warnings, SQLML129)
SELECT * FROM alifin_jtest_dev.zjl_shipment_test
TO MINIMIZE SUM(distance * shipment * 90 / 1000)
CONSTRAINT SUM(shipment) <= capacity GROUP BY plants,
           SUM(shipment) >= demand GROUP BY markets
WITH variables = "shipment(plants,markets)",
     var_type = "NonNegativeReals",
     data.enable_slice = True,
     data.batch_size = 1,
     worker.core = 16,
     worker.num = 4,
     worker.memory = 8192,
     solver.max_iter = 10
USING glpk
INTO shipment_result_table;

-- go/cmd/sqlflowserver/e2e_common_cases.go, caseTestOptimizeClauseWithBinaryVarType
SELECT * FROM optimize_test_db.woodcarving
TO MAXIMIZE SUM((price - materials_cost - other_cost) * amount)
CONSTRAINT SUM(finishing * amount) <= 100, SUM(carpentry * amount) <= 80, amount <= max_num
WITH
	variables="amount(product)",
	var_type="Binary"
USING glpk
INTO optimize_test_db.woodcarving_result;

-- go/cmd/sqlflowserver/e2e_common_cases.go, caseTestOptimizeClauseWithoutConstraint
SELECT * FROM optimize_test_db.woodcarving
TO MINIMIZE SUM((price - materials_cost - other_cost) * amount)
WITH
	variables="amount(product)",
	var_type="PositiveIntegers"
USING glpk
INTO optimize_test_db.woodcarving_result_2;

-- go/cmd/sqlflowserver/e2e_workflow_test.go, the woodcarving template with %[1]s = product
SELECT * FROM optimize_test_db.woodcarving
TO MAXIMIZE SUM((price - materials_cost - other_cost) * product)
CONSTRAINT SUM(finishing * product) <= 100, SUM(carpentry * product) <= 80, product <= max_num
WITH
	variables="product(product)",
	var_type="NonNegativeIntegers"
USING glpk
INTO optimize_test_db.woodcarving_result_3;

-- go/cmd/sqlflowserver/e2e_workflow_test.go, the transportation program
SELECT
	t.plants AS plants,
	t.markets AS markets,
	t.distance AS distance,
	p.capacity AS capacity,
	m.demand AS demand FROM optimize_test_db.transportation_table AS t
LEFT JOIN optimize_test_db.plants_table AS p ON t.plants = p.plants
LEFT JOIN optimize_test_db.markets_table AS m ON t.markets = m.markets
TO MINIMIZE SUM(shipment * distance * 90 / 1000)
CONSTRAINT SUM(shipment) <= capacity GROUP BY plants,
	SUM(shipment) >= demand GROUP BY markets
WITH variables="shipment(plants,markets)",
	var_type="NonNegativeIntegers"
INTO optimize_test_db.optimize_result_table;

-- doc/design/programming_solver.md (its spelling `variable=`; without the `[USING glpk]`
-- notation of the design, which is not SQL)
SELECT * FROM woodcarving
TO MAXIMIZE SUM((price - materials_cost - other_cost) * amount)
CONSTRAINT SUM(finishing * amount) <= 100,
           SUM(carpentry * amount) <= 80,
           amount <= max_num
WITH variable="amount(product)",
     var_type="Integers"
INTO design_result_table;
