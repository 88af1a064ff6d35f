-- Golden statements, Snowflake.
SELECT * FROM DB.SCHEMA.TRAIN QUALIFY ROW_NUMBER() OVER (PARTITION BY ID ORDER BY TS DESC) = 1
TO TRAIN sklearn.ensemble.ExtraTreesRegressor WITH model.n_estimators = 20 LABEL Y INTO DB.MODELS.ET;

SELECT t.value:price::NUMBER AS price, y FROM raw_json t
TO EVALUATE DB.MODELS.ET WITH validation.metrics = "MSE" LABEL y INTO DB.SCHEMA.ET_EVAL;
