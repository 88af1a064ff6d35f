-- Golden statements, Hive.
SELECT * FROM db.train DISTRIBUTE BY id SORT BY ts
TO TRAIN sklearn.linear_model.SGDClassifier WITH model.loss = "log_loss", model.alpha = 0.0001 LABEL y INTO sgd;

DROP MODEL IF EXISTS sgd;
