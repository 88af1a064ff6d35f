-- Golden statements, MySQL.
SELECT * FROM `iris`.`train` WHERE `class` IS NOT NULL
TO TRAIN sklearn.svm.SVC WITH model.C = 2, model.kernel = "linear" LABEL `class` INTO iris_svc;

SELECT id, CONCAT(a, '-', b) AS ab FROM t LIMIT 10, 100 TO PREDICT out.y USING iris_svc;

SHOW TRAIN iris_svc;
