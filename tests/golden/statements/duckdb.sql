-- Golden statements, DuckDB (the default dialect). Every statement here must parse
-- without errors; its IR is in duckdb.json (regenerate with UPDATE_GOLDEN=1).

-- SQLFlow: the canonical iris example -------------------------------------------------
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20]
LABEL class
INTO sqlflow_models.my_dnn_model;

SELECT * FROM iris.test TO PREDICT iris.predict.class USING sqlflow_models.my_dnn_model;

SELECT * FROM iris.test
TO EVALUATE sqlflow_models.my_dnn_model
WITH validation.metrics = "Accuracy"
LABEL class
INTO iris.evaluation_result;

SHOW TRAIN sqlflow_models.my_dnn_model;

-- SQLFlow: boston housing with XGBoost and explanations -------------------------------
SELECT * FROM boston.train
TO TRAIN xgboost.gbtree
WITH objective = "reg:squarederror", train.num_boost_round = 30,
     validation.select = "SELECT * FROM boston.test"
LABEL medv
INTO sqlflow_models.my_xgb_regression_model;

SELECT * FROM boston.test TO PREDICT boston.predict.medv USING sqlflow_models.my_xgb_regression_model;

SELECT * FROM boston.test
TO EXPLAIN sqlflow_models.my_xgb_regression_model
WITH summary.plot_type = "bar", summary.alpha = 1, summary.sort = True
USING TreeExplainer;

SELECT * FROM boston.test
TO EXPLAIN sqlflow_models.my_xgb_regression_model
USING TreeExplainer
INTO boston.explain_result;

SELECT * FROM boston.test TO EXPLAIN sqlflow_models.my_xgb_regression_model;

SELECT * FROM boston.train
TO TRAIN xgboost.gbtree
WITH objective = "reg:squarederror", eta = 0.1, max_depth = 5, train.num_boost_round = 30,
     validation.split = 0.2
LABEL medv
INTO my_xgb_model;

SELECT * FROM boston.test
TO EVALUATE my_xgb_model
WITH validation.metrics = "MAE,MSE,R2"
LABEL medv
INTO boston.evaluation;

-- SQLFlow model zoo: models from container images ---------------------------------------
SELECT * FROM iris.train
TO TRAIN sqlflow/sqlflow:latest/sqlflow_models.DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20], validation.select = "SELECT * FROM iris.test"
LABEL class
INTO sqlflow_models.my_dnn_model2;

SELECT * FROM iris.train
TO TRAIN your-registry.com/model_image/MyAwesomeClassifier
WITH model.n_classes = 3
LABEL class
INTO my_awesome_model;

SELECT * FROM iris.train
TO TRAIN registry.example.com:5000/team/models:1.2/my_models.MyClassifier
WITH resources.gpu = 2, resources.cpu = "4", resources.memory = "16Gi"
LABEL class
INTO team_classifier;

SELECT * FROM iris.train
TO TRAIN ghcr.io/org/img@sha256:0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a/pkg.Model
LABEL class
INTO pinned_image_model;

SELECT * FROM iris.train
TO TRAIN 123456789012.dkr.ecr.us-east-1.amazonaws.com/ml/train:v3/models.Net
WITH resources.node_selector = "gpu-type=a100", resources.tolerations = ["gpu=true:NoSchedule"]
LABEL class
INTO ecr_model;

SELECT * FROM iris.train TO TRAIN localhost:5000/m:dev/m.M LABEL class INTO local_registry_model;

-- SQLFlow: feature columns ------------------------------------------------------------
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20]
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO iris_dnn_columns;

SELECT * FROM census.train
TO TRAIN DNNClassifier
WITH model.n_classes = 2, model.hidden_units = [64, 32]
COLUMN NUMERIC(age, 1), NUMERIC(hours_per_week, 1),
       EMBEDDING(CATEGORY_ID(workclass, 16), 8, "sum"),
       EMBEDDING(CATEGORY_HASH(occupation, 100), 8, mean),
       INDICATOR(CATEGORY_ID(sex, 2))
LABEL label
INTO census_dnn;

SELECT * FROM census.train
TO TRAIN DNNLinearCombinedClassifier
WITH model.n_classes = 2, model.dnn_hidden_units = [100, 50]
COLUMN CROSS([education, occupation], 1000), CATEGORY_ID(gender, 2) FOR linear_feature_columns
COLUMN NUMERIC(age, 1), EMBEDDING(CATEGORY_ID(education, 16), 8, "sqrtn") FOR dnn_feature_columns
LABEL label
INTO census_wide_and_deep;

SELECT * FROM census.train
TO TRAIN DNNClassifier
COLUMN BUCKET(NUMERIC(age, 1), [18, 25, 30, 35, 40, 45, 50, 55, 60, 65])
LABEL label
INTO census_buckets;

SELECT * FROM census.train
TO TRAIN DNNClassifier
COLUMN CROSS([BUCKET(NUMERIC(age, 1), [25.5, 40.0]), CATEGORY_HASH(occupation, 50)], 500),
       INDICATOR(CATEGORY_HASH(native_country, 64))
LABEL label
INTO census_cross;

SELECT * FROM imdb.train
TO TRAIN sqlflow_models.StackedBiLSTMClassifier
WITH model.n_classes = 2, model.stack_units = [64, 32], train.epoch = 10
COLUMN EMBEDDING(SEQ_CATEGORY_ID(content, 5000, ","), 64, "mean")
LABEL class
INTO imdb_lstm;

SELECT * FROM features.dense
TO TRAIN DNNRegressor
COLUMN NUMERIC(DENSE(embedding, 4, COMMA), 4), NUMERIC(DENSE(matrix, [2, 3], ";"), [2, 3])
LABEL target
INTO dense_regressor;

SELECT * FROM features.sparse
TO TRAIN LinearClassifier
COLUMN CATEGORY_ID(SPARSE(tags, 1000, COMMA, int64), 1000), SPARSE(ids, 50, ",")
LABEL y
INTO sparse_linear;

SELECT * FROM t
TO TRAIN DNNClassifier
COLUMN EMBEDDING(CATEGORY_ID(c, 10), 4, "mean", "truncated_normal")
LABEL y
INTO embedding_initializer;

SELECT * FROM t
TO TRAIN DNNClassifier
COLUMN SPARSE(ids, 50, NULL, int32)
LABEL y
INTO sparse_default_delimiter;

SELECT * FROM t
TO TRAIN my_models.WideDeep
COLUMN a, b FOR wide
COLUMN EMBEDDING(c, 8), NUMERIC(d, [1]) FOR deep
LABEL y
INTO custom_column_arguments;

-- SQLFlow: clustering, no label -------------------------------------------------------
SELECT * FROM iris.train
TO TRAIN sqlflow_models.DeepEmbeddingClusterModel
WITH model.n_clusters = 5, model.pretrain_epochs = 10, train.batch_size = 10, train.verbose = 1
INTO sqlflow_models.my_clustering_model;

SELECT sepal_length, sepal_width FROM iris.train
TO TRAIN sklearn.cluster.KMeans
WITH model.n_clusters = 3, model.random_state = 0
INTO iris_kmeans;

-- SQLFlow: TO RUN ---------------------------------------------------------------------
SELECT * FROM fund.train
TO RUN sqlflow/runnable:v0.0.1
CMD "binning.py", "--dbname=fund", "--columns=nav,duration", "--bin_method=quantile"
INTO fund.binning_result;

SELECT time, value FROM metrics.daily TO RUN a_data_scientist/arima:1.0;

SELECT * FROM t TO RUN registry.example.com/tools/run:2.0 CMD 'export.py', '--format=parquet' INTO exported, exported_schema;

-- WITH: every value type and namespace ------------------------------------------------
SELECT * FROM t
TO TRAIN sklearn.ensemble.RandomForestClassifier
WITH model.n_estimators = 100, model.max_depth = 4, model.min_impurity_decrease = 0.0,
     model.ccp_alpha = 1e-3, model.max_features = 'sqrt', model.bootstrap = true,
     model.oob_score = FALSE, model.max_leaf_nodes = NULL, model.random_state = -7,
     model.class_weight = "balanced_subsample"
LABEL y
INTO rf_all_values;

SELECT * FROM t
TO TRAIN DNNClassifier
WITH model.hidden_units = [[10, 20], [], [1.5, -2]], model.activation = tf.nn.relu,
     model.optimizer = Adam, model.names = ['a', "b"], model.flags = [true, false, null]
LABEL y
INTO nested_lists;

SELECT * FROM t
TO TRAIN DNNClassifier
WITH train.epoch = 5, train.batch_size = 32, train.verbose = 2, train.seed = 42,
     validation.split = 0.1, validation.metrics = "Accuracy,AUC",
     resources.gpu = 1, resources.cpu = "500m", resources.memory = "2Gi",
     predict.batch_size = 128, explain.plot = false, summary.max_display = 10
LABEL y
INTO every_namespace;

SELECT * FROM t
TO TRAIN DNNClassifier
WITH model.text = 'it''s quoted', model.path = "a/b\c", model.empty = '', model.unicode = 'naïve ✓'
LABEL y
INTO string_escapes;

SELECT * FROM t
TO TRAIN sklearn.linear_model.LogisticRegression
WITH C = 0.5, penalty = "l2", max_iter = 200, fit_intercept = True
LABEL y
INTO bare_keys;

SELECT * FROM t
TO TRAIN sklearn.svm.SVC
WITH model.kernel = rbf, model.gamma = scale, model.C = +2.5
LABEL "Class Label"
INTO "Quoted-Model";

-- TO PREDICT --------------------------------------------------------------------------
SELECT * FROM t TO PREDICT out.score USING m;

SELECT * FROM t TO PREDICT db.out.score USING db.m;

SELECT * FROM t TO PREDICT out USING m;

SELECT * FROM t TO PREDICT out.y WITH predict.batch_size = 10, predict.probabilities = true USING m;

SELECT id, a, b FROM t WHERE d > DATE '2026-01-01' TO PREDICT scored.label USING team_classifier;

-- Queries of every shape before TO ----------------------------------------------------
WITH x AS (SELECT * FROM a JOIN b USING (id))
SELECT * FROM x WHERE id IN (SELECT id FROM c)
TO TRAIN sklearn.linear_model.Ridge LABEL y INTO ridge_cte;

SELECT a.id, a.x, b.y FROM raw.a AS a LEFT JOIN raw.b AS b ON a.id = b.id
TO TRAIN sklearn.linear_model.LinearRegression LABEL y INTO join_model;

SELECT x, y FROM (SELECT x, y, row_number() OVER (PARTITION BY g ORDER BY ts) AS rn FROM events) AS e
WHERE rn = 1
TO TRAIN sklearn.tree.DecisionTreeRegressor LABEL y INTO window_model;

SELECT * FROM read_parquet('data/train.parquet') TO TRAIN sklearn.svm.SVC LABEL y INTO file_model;

SELECT x, CAST(y AS INT) AS y FROM t UNION ALL SELECT x, y FROM u
TO TRAIN sklearn.naive_bayes.GaussianNB LABEL y INTO union_model;

SELECT g, avg(x) AS x, max(y) AS y FROM t GROUP BY g HAVING count(*) > 10 ORDER BY g LIMIT 1000
TO TRAIN sklearn.linear_model.Lasso WITH model.alpha = 0.1 LABEL y INTO grouped_model;

select a, b from t to train sklearn.ensemble.GradientBoostingClassifier
with model.n_estimators = 10 label y into lower_case_keywords;

SELECT * FROM t To Train sklearn.svm.SVC Label y Into mixed_case_keywords;

-- Rikai -------------------------------------------------------------------------------
CREATE MODEL my_resnet FLAVOR pytorch MODEL_TYPE resnet50 USING 's3://bucket/to/resnet.pth';

CREATE MODEL model_foo USING 'mlflow:///my_resnet_model';

CREATE MODEL resnet50 USING 'torchhub:///pytorch/vision:v0.9.1/resnet50';

CREATE MODEL pretrained_ssd FLAVOR pytorch MODEL_TYPE ssd;

CREATE OR REPLACE MODEL iris_skops FLAVOR sklearn USING 'models/iris.skops';

CREATE MODEL IF NOT EXISTS detector
FLAVOR pytorch
MODEL_TYPE rikai.contrib.yolov5.models.yolov5
OPTIONS (min_confidence = 0.3, device = "gpu", batch_size = 8, rikai.debug = true, scale = -1.5)
RETURNS ARRAY<STRUCT<box:box2d, score:float, label_id:int>>
USING 'file:///models/yolov5s.pt';

CREATE MODEL tagger RETURNS ARRAY<ARRAY<string>> USING 'gs://bucket/tagger.skops';

CREATE MODEL embedder FLAVOR tensorflow MODEL_TYPE feature_extractor OPTIONS (model_type = 'resnet') RETURNS array<float> USING 'tfhub:///google/imagenet/resnet_v2_50/feature_vector/5';

CREATE MODEL scorer OPTIONS () RETURNS double USING 'scorer.skops';

CREATE TABLE predictions AS SELECT id, ML_PREDICT(my_resnet, image) AS objects FROM imagenet;

CREATE TABLE scored AS
SELECT id, ML_PREDICT(iris_skops, sepal_length, sepal_width, petal_length, petal_width) AS class
FROM iris.test
WHERE ML_PREDICT(iris_skops, sepal_length, sepal_width, petal_length, petal_width) <> 'setosa';

INSERT INTO scored SELECT id, ml_predict(models.iris_skops, a, b * 2, c) FROM iris.more;

CREATE TABLE nested_predictions AS SELECT id, size(ML_PREDICT(detector, image)) AS n FROM images;

DESCRIBE MODEL my_resnet;

DESC MODEL my_resnet;

SHOW MODELS;

DROP MODEL my_resnet;

DROP MODEL IF EXISTS models.my_resnet;

-- Pinned model versions (model@N; model@latest is the default) ---------------------------
SELECT * FROM iris.test TO PREDICT iris.pinned.class USING iris_rf@3;

SELECT * FROM iris.test TO PREDICT iris.latest.class USING models.iris_rf@latest;

SELECT * FROM iris.test TO EVALUATE iris_rf@2 LABEL class INTO iris.eval_v2;

SELECT * FROM iris.test TO EXPLAIN iris_rf@1 USING TreeExplainer INTO iris.explain_v1;

-- Quality gates: thresholds on TO EVALUATE (check.<metric> <op> <number>) -----------------
SELECT * FROM iris.test
TO EVALUATE iris_rf
WITH validation.metrics = "Accuracy,F1", check.accuracy >= 0.9, check.AUC > 0.8,
     check.mean_squared_error <= 5, check.r2 < 1, check.f1 = 1, check.Recall == -0.5
LABEL class
INTO iris.gated_eval;

CREATE TABLE scored_pinned AS
SELECT id, ML_PREDICT(iris_rf@4, sepal_length, sepal_width) AS v4, ML_PREDICT(models.iris_rf, sepal_length, sepal_width) AS latest
FROM iris.test;

SELECT id, ML_PREDICT(embedder@2, text) AS embedding FROM docs TO TRAIN sklearn.cluster.KMeans WITH model.n_clusters = 3 INTO doc_clusters;

DESCRIBE MODEL iris_rf@2;

SHOW TRAIN iris_rf@latest;

-- Plain SQL ---------------------------------------------------------------------------
CREATE TABLE iris.train AS SELECT * FROM read_csv('data/iris.csv') WHERE id % 5 <> 0;

CREATE OR REPLACE VIEW features AS SELECT a, b, a * b AS ab FROM raw.events;

INSERT INTO iris.train SELECT * FROM iris.late_arrivals;

CREATE TABLE empty_table (a INT, b VARCHAR);

CREATE OR REPLACE TABLE dedup AS SELECT DISTINCT * FROM raw.events;

SET threads = 2;

CREATE MACRO plus_one(x) AS x + 1;
