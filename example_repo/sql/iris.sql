-- Iris species classification: the canonical SQLFlow example.
-- Relative file paths resolve against this file's folder.
-- Directives (`-- sqlml:` comments) tell Dagster who owns what and when it runs.
-- sqlml-file: owner = "team-ml@example.com", tags.domain = "botany"
CREATE TABLE raw_iris AS
SELECT * FROM read_csv('../data/iris.csv');

CREATE TABLE iris_train AS
SELECT * FROM raw_iris WHERE split = 'train';

-- Train a random forest on the four measurements; `class` is the label.
-- Retrained every night at 03:00 UTC by Dagster's automation (`dagster dev` runs it).
-- sqlml: schedule = "0 3 * * *", freshness = "2d"
SELECT sepal_length, sepal_width, petal_length, petal_width, class
FROM iris_train
TO TRAIN sklearn.ensemble.RandomForestClassifier
WITH model.n_estimators = 100, model.max_depth = 4
LABEL class
INTO iris_rf;

-- Predict the held-out rows: the result table keeps every selected column and
-- replaces `class` with the model's prediction. Refreshed whenever iris_rf gets a new version.
-- sqlml: on_new_model = eager
SELECT * FROM raw_iris WHERE split = 'test'
TO PREDICT iris_predictions.class
USING iris_rf;

-- Score the model on the held-out rows: one row of metrics per materialization,
-- recording which model version it measured. The check is a quality gate: a version
-- below it is not used by the predictions (docs/quality-gates.md).
-- sqlml: on_new_model = eager
SELECT sepal_length, sepal_width, petal_length, petal_width, class
FROM raw_iris WHERE split = 'test'
TO EVALUATE iris_rf
WITH validation.metrics = "Accuracy,F1,AUC", check.accuracy >= 0.9
LABEL class
INTO iris_evaluation;

-- Rikai's form: call the model inline, anywhere an expression may stand.
CREATE TABLE iris_disagreements AS
SELECT id, class AS actual,
       ML_PREDICT(iris_rf, sepal_length, sepal_width, petal_length, petal_width) AS predicted
FROM raw_iris
WHERE split = 'test'
  AND class <> ML_PREDICT(iris_rf, sepal_length, sepal_width, petal_length, petal_width);

-- A SQLFlow model-zoo model (models/sqlflow_dnn.py: Keras, SQLFlow's contract), trained
-- unchanged; per-epoch loss and validation accuracy appear on the asset.
SELECT sepal_length, sepal_width, petal_length, petal_width, class
FROM iris_train
TO TRAIN sqlflow_dnn.DNNClassifier
WITH
    model.n_classes = 3,
    model.hidden_units = [16, 16],
    train.epoch = 60,
    train.batch_size = 16,
    validation.split = 0.2
LABEL class
INTO iris_dnn;

-- Class probabilities beside the predicted class.
SELECT * FROM raw_iris WHERE split = 'test'
TO PREDICT iris_dnn_predictions.class
WITH predict.probabilities = true
USING iris_dnn;

-- Which measurements does the forest rely on? One row per feature, plus a plot.
SELECT sepal_length, sepal_width, petal_length, petal_width, class
FROM raw_iris WHERE split = 'test'
TO EXPLAIN iris_rf
INTO iris_rf_explanation;
