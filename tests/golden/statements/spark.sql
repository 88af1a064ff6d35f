-- Golden statements, Spark SQL (Rikai's home dialect).
CREATE MODEL my_resnet FLAVOR pytorch MODEL_TYPE resnet50 USING 's3://bucket/to/resnet.pth';

CREATE TABLE detections AS
SELECT id, ML_PREDICT(my_resnet, image) AS pred FROM imagenet LATERAL VIEW explode(tags) t AS tag;

SELECT `user id`, features FROM db.clicks TABLESAMPLE (10 PERCENT)
TO TRAIN sklearn.linear_model.LogisticRegression WITH model.C = 1.0 LABEL clicked INTO click_model;

SHOW MODELS;

DESCRIBE MODEL my_resnet;
