-- Golden statements, BigQuery: backquoted project.dataset.table names, "strings".
SELECT * FROM `my-project.iris.train`
TO TRAIN sklearn.ensemble.RandomForestClassifier
WITH model.n_estimators = 50, model.criterion = "entropy"
LABEL class
INTO iris_rf;

SELECT * EXCEPT (id) FROM `my-project`.iris.test TO PREDICT iris_predictions.class USING iris_rf;

SELECT * FROM `my-project.iris.test` TO EVALUATE iris_rf WITH validation.metrics = "Accuracy" LABEL class INTO iris_eval;

CREATE OR REPLACE TABLE `my-project.iris.scored` AS
SELECT id, ML_PREDICT(iris_rf, sepal_length, petal_length) AS class FROM `my-project.iris.test`;

SHOW TRAIN iris_rf;

SHOW MODELS;
