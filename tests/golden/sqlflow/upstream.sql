-- SQLFlow's statements, as its repository writes them (github.com/sql-machine-learning/sqlflow @ 6c492098320875427b08ad82ce3f874c0b6aaa7a),
-- extracted by scripts/sqlflow_corpus.py; each one's source file is above it.
-- Every statement here compiles without an error (tests/compiler/test_sqlflow_corpus.py).

-- README.md
SELECT *
FROM iris.train
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20]
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- README.md
SELECT *
FROM iris.test
TO PREDICT iris.predict.class
USING sqlflow_models.my_dnn_model;

-- doc/contribute_models.md
SELECT * FROM iris.train
TO TRAIN MyAwesomeClassifier
WITH model.n_classes=3
LABEL class
INTO models_db.awesome_model;

-- doc/contribute_models.md
SELECT * FROM iris.train
    TO TRAIN your-registry.com/your_group/model_image:v0.1/MyAwesomeClassifier
    WITH model.n_classes=3
    LABEL class
    INTO models_db.awesome_model;

-- doc/design/ant_xgboost.md
select 
    c1, c2, c3, c4
from kaggle_credit_fraud_development_data
TO PREDICT kaggle_credit_fraud_development_data.class
USING sqlflow_models.xgboost_model_table;

-- doc/design/clustermodel.md
SELECT *
FROM input_table
TO PREDICT output_table.group_id
USING my_cluster_model;

-- doc/design/contribute_models_new.md
SELECT * FROM iris
TO TRAIN MyKerasModel
LABEL class
INTO my_iris_model;

-- doc/design/diag_attribute_error.md
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH
  model.n_classes = 2,
  model.hidden_units = [128, 64]
LABEL class
INTO my_model;

-- doc/design/diag_attribute_error.md
SELECT * FROM iris.test
TO PREDICT iris.pred.class
USING my_model;

-- doc/design/elasticdl_on_sqlflow.md
SELECT
    c1, c2, c3, c4, c5 as class
FROM training_data
TO TRAIN ElasticDLKerasClassifier
WITH
  optimizer = "optimizer",
  loss = "loss",
  eval_metrics = "eval_metrics_fn",
  num_classes = 10
COLUMN
  c1,
  DENSE(c2, 10),
  BUCKET(c3, [0, 10, 100]),
  c4
LABEL class
INTO trained_elasticdl_keras_classifier;

-- doc/design/elasticdl_on_sqlflow.md
SELECT
    c1, c2, c3, c4
FROM prediction_data
TO PREDICT prediction_results_table
WITH
  num_classes = 10
USING trained_elasticdl_keras_classifier;

-- doc/design/explainer.md
SELECT * FROM train_table
TO TRAIN xgboost.Estimator
WITH
    train.objective = "reg:linear"
COLUMN x
LABEL y
INTO my_model;

-- doc/design/explainer.md
SELECT * FROM train_table
TO EXPLAIN my_model
WITH
  plots = force 
USING TreeExplainer;

-- doc/design/feature_derivation.md
SELECT * FROM creditcardfraud
TO TRAIN DNNClassifier
LABEL class
INTO my_model_name;

-- doc/design/feature_derivation.md
SELECT * FROM training_table
TO TRAIN DNNClassifier
COLUMN EMBEDDING(c, 128, "sum"),
       EMBEDDING(SPARSE(d, [1000000]), 512, "sum")
LABEL label
INTO my_model_name;

-- doc/design/feature_derivation.md
SELECT a, b, c, d, label FROM training_table
TO TRAIN DNNClassifier
COLUMN a, b,
       EMBEDDING(DENSE(c, [64]), 128, "sum"),
       EMBEDDING(SPARSE(d, [1000000]), 512, "sum")
LABEL label
INTO my_model_file;

-- doc/design/get_model_metadata_in_prediction_codegen.md
SELECT * FROM my_db.test_table
TO PREDICT my_db.test_table_prediction.class
USING my_model;

-- doc/design/get_model_metadata_in_prediction_codegen.md
SELECT * FROM my_db.test_table
  TO PREDICT my_db.test_table_prediction.class
  USING my_model;

-- doc/design/model_zoo.md
SELECT * FROM employee WHERE onboard_year >= 2019 
TO PREDICT employee.predicted_salary
USING my_first_model;

-- doc/design/numeric_column_clause.md
SELECT c1, c2, label FROM train_table
TO TRAIN DNNRegressor
COLUMN NUMERIC(c1), NUMERIC(SPARSE(c2)) -- This line is the numeric column clause
LABEL label
INTO result_table;

-- doc/design/numeric_column_clause.md
SELECT c1, c2, label FROM train_table
        TO TRAIN DNNRegressor
        LABEL label
        INTO result_table;

-- doc/design/numeric_column_clause.md
SELECT c1, c2, label FROM train_table
        TO TRAIN DNNRegressor
        COLUMN c1, c2
        LABEL label
        INTO result_table;

-- doc/design/numeric_column_clause.md
SELECT c1, c2, label FROM train_table
        TO TRAIN DNNRegressor
        COLUMN NUMERIC(c1), NUMERIC(DENSE(c2))
        LABEL label
        INTO result_table;

-- doc/design/numeric_column_clause.md
SELECT c1, c2, label FROM train_table
TO TRAIN DNNRegressor
LABEL label
INTO result_table;

-- doc/design/numeric_column_clause.md
SELECT c1, c2, label FROM train_table
TO TRAIN DNNRegressor
COLUMN c1, c2
LABEL label
INTO result_table;

-- doc/design/numeric_column_clause.md
SELECT c1, c2, label FROM train_table
TO TRAIN DNNRegressor
COLUMN DENSE(c1), DENSE(c2)
LABEL label
INTO result_table;

-- doc/design/show_train_stmt.md
SELECT * FROM train to TRAIN xgboost.gbtree with learning_rate=0.4,
 objective=multi:softmax, num_class=3 LABEL class INTO test;

-- doc/design/sparse_transformer.md
SELECT * FROM train_table
TO TRAIN xgboost.gbtree
WITH
    objective="reg:squarederror",
    train.num_boost_round = 30
COLUMN SPARSE(column_name, 10000)
LABEL label
INTO result_table;

-- doc/design/sql_program_dependency_analyze.md
SELECT * FROM training_data
TO TRAIN DNNClassifier
WITH model.n_classes=2, model.hidden_units=[4096,1024,256]
LABEL 'label'
INTO my_dnn_model;

-- doc/design/sql_program_dependency_analyze.md
SELECT * FROM training_data
TO TRAIN xgboost.gbtree
WITH objective="binary:logistic"
LABEL 'label'
INTO my_xgb_model;

-- doc/design/sql_program_dependency_analyze.md
SELECT * FROM training_data ORDER BY RAND() LIMIT 10000
TO EXPLAIN my_dnn_model;

-- doc/design/sql_program_dependency_analyze.md
SELECT * FROM training_data ORDER BY RAND() LIMIT 10000
TO EXPLAIN my_xgb_model;

-- doc/design/sqlflow_parser.md
SELECT * FROM my_training_table
TO TRAIN MyDNNRegressor
LABEL class
INTO my_model_table;

-- doc/design/sqlflow_parser.md
SELECT * FROM my_test_table
TO PREDICT my_predict_table
USING my_model_table;

-- doc/design/syntax.md
SELECT * FROM kaggle_credit_fraud_development_data
TO PREDICT kaggle_credit_fraud_development_data.class
USING sqlflow_models.my_model_table;

-- doc/design/xgboost_feature_column.md
SELECT string_column1, int_column2, class FROM xgboost.gbtree
TO TRAIN XGBoostModel
COLUMN INDICATOR(CATEGORY_HASH(string_column1, 10)), int_column2
LABEL class 
INTO sqlflow_xgboost_model.my_model;

-- doc/design/xgboost_on_sqlflow.md
SELECT * FROM train_table
TO TRAIN xgboost.gbtree
WITH
    objective=multi:softmax,
    train.num_boost_round=2,
    max_depth=2,
    eta=1
LABEL class
INTO my_xgb_model;

-- doc/design/xgboost_on_sqlflow.md
SELECT * FROM test_table
TO PREDICT pred_table.result
USING my_xgb_model;

-- doc/export_model.md
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH model.n_classes=3,model.hidden_units=[10,20]
INTO sqlflow_models.my_dnn_model;

-- doc/language_guide.md
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH model.hidden_units = [10, 10], model.n_classes = 3, train.epoch= 10
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/language_guide.md
SELECT *
FROM boston.train
TO EXPLAIN sqlflow_models.my_xgb_regression_model
WITH
    summary.sort=True
USING TreeExplainer;

-- doc/model_parameter.md
SELECT * FROM boston.train
TO TRAIN xgboost.xgbregressor
WITH
    objective ="reg:squarederror",
    train.num_boost_round = 30,
    validation.select = "SELECT * FROM boston.val LIMIT 8"
LABEL medv
INTO sqlflow_models.my_xgb_regression_model;

-- doc/model_parameter.md
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH
    model.n_classes = 3, model.hidden_units = [10, 20],
    validation.select = "SELECT * FROM iris.test"
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/run/cli.md
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH model.n_classes=3, model.hidden_units=[128,64],
    validation.select="SELECT * FROM iris.test"
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/run/workflow_mode.md
SELECT * FROM iris.train
TO TRAIN DNNClassifier WITH
  model.hidden_units=[10,10],
  model.n_classes=3
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/run/workflow_mode.md
SELECT * FROM iris.test
TO PREDICT iris.predict.class
USING sqlflow_models.my_dnn_model;

-- doc/sqlflow.org_cn/models.md
SELECT * FROM train_table
	TO TRAIN xgboost.gbtree
	WITH objective="binary:logistic", validation.select="SELECT * FROM val_table"
	LABEL class
	INTO my_xgb_classification_model;

-- doc/sqlflow.org_cn/models.md
SELECT * FROM train_table
	TO TRAIN xgboost.gbtree
	WITH objective="multi:softmax", num_class=3, validation.select="SELECT * FROM val_table"
	LABEL class
	INTO my_xgb_classification_model;

-- doc/sqlflow.org_cn/models.md
SELECT * FROM train_table
	TO TRAIN xgboost.gbtree
	WITH objective="reg:squarederror", validation.select="SELECT * FROM val_table"
	LABEL target
	INTO my_xgb_regression_model;

-- doc/sqlflow.org_cn/quickstart.cn.md
SELECT * FROM boston.train
TO TRAIN xgboost.gbtree
WITH
      objective="reg:squarederror",
      train.num_boost_round = 30
LABEL medv
INTO sqlflow_models.my_xgb_regression_model;

-- doc/sqlflow.org_cn/quickstart.cn.md
SELECT * FROM boston.test
TO PREDICT boston.predict.medv
USING sqlflow_models.my_xgb_regression_model;

-- doc/sqlflow.org_cn/quickstart.cn.md
SELECT *
FROM boston.train
TO EXPLAIN sqlflow_models.my_xgb_regression_model
WITH
        summary.plot_type="dot",
        summary.alpha=1,
        summary.sort=True
USING TreeExplainer;

-- doc/sqlflow.org_cn/titanic_survival_prediction.cn.md
SELECT * FROM titanic.train
TO TRAIN DNNClassifier WITH
  model.n_classes=2,
  model.hidden_units=[100, 100]
LABEL survived
INTO titanic.my_titanic_model;

-- doc/sqlflow.org_cn/titanic_survival_prediction.cn.md
SELECT * FROM alifin_jtest_dev.sqlflow_titanic_train
TO TRAIN DNNClassifier WITH
  model.n_classes=2,
  model.hidden_units=[100, 100],
  validation.select='select * from titanic.train'
LABEL survived
INTO my_titanic_model;

-- doc/sqlflow.org_cn/titanic_survival_prediction.cn.md
SELECT * FROM titanic.train
TO TRAIN DNNClassifier WITH
  model.hidden_units=[200, 200, 200],
  validation.select='select * from titanic.train'
LABEL survived
INTO titanic.my_titanic_model;

-- doc/sqlflow.org_cn/titanic_survival_prediction.cn.md
SELECT * FROM titanic.train
TO TRAIN DNNClassifier WITH
  model.hidden_units=[200, 200, 200],
  optimizer.learning_rate=0.01,
  validation.select='select * from titanic.train'
LABEL survived
INTO titanic.my_titanic_model;

-- doc/sqlflow.org_cn/titanic_survival_prediction.cn.md
SELECT * FROM titanic.test
TO PREDICT titanic.sqlflow_titanic_predict.survived
USING titanic.my_titanic_model;

-- doc/sqlflow.org_cn/titanic_survival_prediction.cn.md
SELECT * FROM titanic.test
TO EXPLAIN titanic.my_titanic_model;

-- doc/sqlflow.org_cn/titanic_survival_prediction.cn.md
SELECT * FROM titanic.test
TO EXPLAIN titanic.my_titanic_model WITH summary.plot_type=dot;

-- doc/sqlflow.org_cn/tutorials/fraud-dnn.cn.md
SELECT * FROM creditcard.train limit 780
TO TRAIN DNNClassifier
WITH train.batch_size=128,
    model.n_classes=2,
    model.batch_norm=True,
    model.hidden_units=[64, 32],
    optimizer.learning_rate=0.1,
    train.epoch=20,
    validation.select="select * from creditcard.train limit 780, 200"
LABEL class
INTO creditcard.my_fraud_dnn_model;

-- doc/sqlflow.org_cn/tutorials/fraud-dnn.cn.md
SELECT * from creditcard.train limit 780, 1000
TO PREDICT creditcard.predict.class
USING creditcard.my_fraud_dnn_model;

-- doc/sqlflow.org_cn/tutorials/fraud-dnn.cn.md
SELECT * FROM creditcard.train WHERE class=1 limit 10
TO EXPLAIN creditcard.my_fraud_dnn_model
WITH summary.plot_type="bar";

-- doc/talk/201812/automl.sql
SELECT *
FROM iris.train
TO TRAIN Classifier
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/talk/201812/train.sql
SELECT *
FROM iris.train
TO TRAIN DNNClassifier
WITH
  n_classes = 3,
  hidden_units = [10, 20]
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/talk/201905/automl.sql
SELECT *
FROM iris.train
TO TRAIN Classifier
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/talk/201905/train_failed_on_verifer.sql
SELECT *
FROM iris.train
TO TRAIN DNNClassifier
COLUMN sepal_length, sepal_width, petal_length, petal_witdh
LABEL calss            -- error: cannot find field calss
INTO sqlflow_models.my_dnn_model;

-- doc/talk/201905/train_failed_on_verifer.sql
SELECT *
FROM iris.train
TO TRAIN DNNClassifier
COLUMN sepal_length, sepal_width, petal_length
LABEL petal_witdh      -- error: DNNClassifer's label should of type INT, received FLOAT
INTO sqlflow_models.my_dnn_model;

-- doc/talk/201905/verifer.sql
SELECT *
FROM iris.train
TO TRAIN DNNClassifier
COLUMN sepal_length, sepal_width, petal_length, petal_witdh
LABEL calss
INTO sqlflow_models.my_dnn_model;

-- doc/talk/201905/verifer.sql
SELECT *
FROM iris.train
TO TRAIN DNNClassifier
COLUMN sepal_length, sepal_width, petal_length
LABEL petal_witdh
INTO sqlflow_models.my_dnn_model;

-- doc/talk/201906/pred.sql
SELECT * FROM creditcardfraud
TO PREDICT creditcardfraud.predict.class
USING my_dnn_model;

-- doc/talk/201906/train_simple.sql
SELECT * FROM survey 
TO TRAIN DNNRegressor 
LABEL income
INTO my_model;

-- doc/tutorial/apsara2019/activepower_clustering/README.md
SELECT * FROM activepower.train
TO TRAIN sqlflow_models.DeepEmbeddingClusterModel
WITH
  model.n_clusters=3,
  model.pretrain_epochs=10,
  model.train_max_iters=800,
  model.train_lr=0.01,
  model.pretrain_lr=1,
  train.batch_size=256
COLUMN m1,m2,m3,m4,m5,m6,m7,m8,m9,m10,m11,m12,m13,m14,m15,m16,m17,m18,m19,m20,m21,m22,m23,m24,m25,m26,m27,m28,m29,m30,m31,m32,m33,m34,m35,m36,m37,m38,m39,m40,m41,m42,m43,m44,m45,m46,m47,m48
INTO sqlflow_models.my_customized_model;

-- doc/tutorial/apsara2019/activepower_clustering/README.md
SELECT * 
FROM activepower.train
TO PREDICT activepower.predict.class
USING sqlflow_models.my_customized_model;

-- doc/tutorial/apsara2019/carprice_xgboost/README.md
SELECT *
FROM carprice.train
TO TRAIN xgboost.gbtree
WITH
    objective="reg:squarederror",
    train.num_boost_round = 300,
    eta = 0.1
COLUMN engine_hp, engine_cylinders, number_of_doors, highway_mpg, city_mpg, popularity, market_category_nums, category_factory_tuner, category_luxury, category_high_performance, category_performance, category_flex_fuel, category_hatchback, category_hybrid, category_diesel, category_exotic, category_crossover, make_audi, make_bmw, make_buick, make_cadillac, make_chevrolet, make_chrysler, make_dodge, make_fiat, make_ford, make_gmc, make_genesis, make_hummer, make_honda, make_hyundai, make_infiniti, make_kia, make_land_rover, make_lexus, make_lincoln, make_lotus, make_mazda, make_mercedes_benz, make_mitsubishi, make_nissan, make_oldsmobile, make_plymouth, make_pontiac, make_porsche, make_saab, make_scion, make_subaru, make_suzuki, make_toyota, make_volkswagen, make_volvo, engine_fuel_type_electric, engine_fuel_type_flex_fuel, engine_fuel_type_premium_unleaded_recommended, engine_fuel_type_premium_unleaded_required, engine_fuel_type_regular_unleaded, transmission_type_automatic, transmission_type_direct_drive, transmission_type_manual, transmission_type_unknown, driven_wheels_four_wheel_drive, driven_wheels_front_wheel_drive, driven_wheels_rear_wheel_drive, vehicle_size_large, vehicle_size_midsize, vehicle_style_2dr_suv, vehicle_style_4dr_hatchback, vehicle_style_4dr_suv, vehicle_style_cargo_minivan, vehicle_style_cargo_van, vehicle_style_convertible, vehicle_style_convertible_suv, vehicle_style_coupe, vehicle_style_crew_cab_pickup, vehicle_style_extended_cab_pickup, vehicle_style_passenger_minivan, vehicle_style_passenger_van, vehicle_style_regular_cab_pickup, vehicle_style_sedan, vehicle_style_wagon
LABEL msrp
INTO sqlflow_models.my_xgb_regression_model;

-- doc/tutorial/apsara2019/carprice_xgboost/README.md
SELECT * FROM carprice.test
TO PREDICT carprice.predict.msrp
USING sqlflow_models.my_xgb_regression_model;

-- doc/tutorial/apsara2019/carprice_xgboost/README.md
SELECT *
FROM carprice.train
TO EXPLAIN sqlflow_models.my_xgb_regression_model
WITH
    summary.plot_type="dot",
    summary.alpha=1,
    summary.sort=True,
    summary.max_display=20
USING TreeExplainer;

-- doc/tutorial/apsara2019/carprice_xgboost/README.md
SELECT *
FROM carprice.train
TO EXPLAIN sqlflow_models.my_xgb_regression_model
WITH
    summary.plot_type="bar",
    summary.alpha=1,
    summary.sort=True,
    summary.max_display=20
USING TreeExplainer;

-- doc/tutorial/apsara2019/titanic_dnn/README.md
SELECT *
FROM titanic.train
TO TRAIN DNNClassifier
WITH
  model.n_classes = 2,
  model.hidden_units = [10, 40, 10],
  train.epoch = 200,
  train.batch_size = 64
COLUMN pclass_1, pclass_2, pclass_3, sex_female, sex_male, embarked_c, embarked_q, embarked_s, title_master, title_misc, title_miss, title_mr, title_mrs, nosibsp, noparch, nullcabin, cabinalpha, family, isalone, ismother, age, realfare
LABEL survived
INTO sqlflow_models.my_dnn_model;

-- doc/tutorial/apsara2019/titanic_dnn/README.md
SELECT *
FROM titanic.test
TO PREDICT titanic.predict.survived
USING sqlflow_models.my_dnn_model;

-- doc/tutorial/cora-gcn.md
SELECT cora.node.id, features, label as class, cora.edge.from_node_id, cora.edge.to_node_id FROM cora.node
LEFT JOIN cora.edge ON (cora.node.id = cora.edge.from_node_id OR cora.node.id = cora.edge.to_node_id)
ORDER BY cora.node.id
TO TRAIN sqlflow_models.GCN
WITH model.nhid=16, model.nclass=7, 
     model.epochs=200, model.train_ratio=0.15, 
     model.eval_ratio=0.2, validation.metrics="CategoricalAccuracy"
COLUMN DENSE(features)
LABEL class
INTO sqlflow_models.gcn_model;

-- doc/tutorial/cora-gcn.md
SELECT id FROM cora.node TO PREDICT cora.predict.class USING sqlflow_models.gcn_model;

-- doc/tutorial/energe_lstmbasedtimeseries.md
SELECT col_1, col_2, col_3, col_4, col_5, col_6, col_7, col_8, col_9,col_10,
concat(col_11,',', col_12,',', col_13,',', energy) as class 
FROM energy.train
TO TRAIN sqlflow_models.RNNBasedTimeSeriesModel 
WITH
  model.n_in=10,
  model.stack_units = [500, 500],
  model.n_out=4,
  model.model_type="lstm",
  validation.select = "SELECT col_1, col_2, col_3, col_4, col_5, col_6, col_7, col_8, 
  col_9,col_10,concat(col_11,\",\", col_12,\",\",col_13,\",\", energy) as class 
  FROM energy.val",
  train.batch_size=10,
  train.verbose=1,
  train.epoch=30,
  validation.metrics= "MeanAbsoluteError,MeanSquaredError"
LABEL class
INTO sqlflow_models.my_lstmts_model;

-- doc/tutorial/energe_lstmbasedtimeseries.md
SELECT col_1, col_2, col_3, col_4, col_5, col_6, col_7, col_8, col_9,col_10,
concat(col_11,',', col_12,',', col_13,',', energy) as class 
FROM energy.test
TO PREDICT energy.predict_lstmts_test.class USING sqlflow_models.my_lstmts_model;

-- doc/tutorial/fraud-dnn.md
SELECT * from creditcard.creditcard
TO TRAIN DNNClassifier
WITH model.n_classes=2, model.hidden_units=[128,32], train.epoch=100
COLUMN time,v1,v2,v3,v4,v5,v6,v7,v8,v9,v10,v11,v12,v13,v14,v15,v16,v17,v18,v19,v20,v21,v22,v23,v24,v25,v26,v27,v28,amount
LABEL class
INTO creditcard.creditcard_deep_model;

-- doc/tutorial/fraud-dnn.md
SELECT * from creditcard.creditcard
WHERE class=1
TO PREDICT creditcard.predict.class
USING creditcard.creditcard_deep_model;

-- doc/tutorial/housing-explain.md
SELECT * FROM boston.train
TO TRAIN xgboost.gbtree
WITH
    objective="reg:squarederror",
    train.num_boost_round = 30
COLUMN crim, zn, indus, chas, nox, rm, age, dis, rad, tax, ptratio, b, lstat
LABEL medv
INTO sqlflow_models.my_xgb_regression_model;

-- doc/tutorial/housing-explain.md
SELECT *
FROM boston.train
TO EXPLAIN sqlflow_models.my_xgb_regression_model
WITH
    summary.plot_type="dot",
    summary.alpha=1,
    summary.sort=True
USING TreeExplainer;

-- doc/tutorial/housing-explain.md
SELECT *
FROM boston.train
TO EXPLAIN sqlflow_models.my_xgb_regression_model
WITH
    summary.plot_type="bar",
    summary.alpha=1,
    summary.sort=True
USING TreeExplainer;

-- doc/tutorial/imdb-stackedbilstm.md
SELECT content, class FROM imdb.train
    TO TRAIN DNNClassifier
    WITH
    model.n_classes = 2,
    model.hidden_units = [128, 64]
    LABEL class
    INTO sqlflow_models.my_text_model_en;

-- doc/tutorial/imdb-stackedbilstm.md
SELECT *
    FROM imdb.test
    TO PREDICT imdb.predict.class
    USING sqlflow_models.my_text_model_en;

-- doc/tutorial/imdb-stackedbilstm.md
SELECT content, class
    FROM imdb.train limit 100
    TO TRAIN sqlflow_models.StackedBiLSTMClassifier
    WITH
    model.n_classes = 2,
    model.stack_units = [64,32],
    model.hidden_size = 64,
    train.epoch = 10,
    train.batch_size = 64
    column EMBEDDING(SEQ_CATEGORY_ID(content, 16000), 128, sum)
    LABEL class
    INTO sqlflow_models.my_custom_model;

-- doc/tutorial/imdb-stackedbilstm.md
SELECT news_title, class_id
    FROM toutiao.train_processed
    TO TRAIN DNNClassifier
    WITH
    model.n_classes = 17,
    model.hidden_units = [128, 512]
    LABEL class_id
    INTO sqlflow_models.my_text_model;

-- doc/tutorial/imdb-stackedbilstm.md
SELECT *
    FROM toutiao.test_processed
    TO PREDICT toutiao.predict.class_id
    USING sqlflow_models.my_text_model;

-- doc/tutorial/iris-dnn.cn.md
SELECT * FROM iris.train TO TRAIN DNNClassifier WITH
  model.n_classes = 3,
  model.hidden_units = [10, 10],
  train.epoch = 10
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/tutorial/iris-dnn.cn.md
SELECT * FROM iris.train TO TRAIN DNNClassifier WITH
  model.n_classes = 3,
  model.hidden_units = [100, 100],
  train.epoch = 10
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/tutorial/iris-dnn.cn.md
SELECT * FROM iris.train TO TRAIN DNNClassifier WITH
  model.n_classes = 3,
  model.hidden_units = [100, 100],
  optimizer.learning_rate=0.1,
  train.epoch = 10
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/tutorial/iris-dnn.cn.md
SELECT * FROM iris.train TO TRAIN sqlflow_models.AutoClassifier WITH
  model.n_classes = 3, train.epoch = 10
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/tutorial/iris-dnn.cn.md
SELECT * FROM iris.test TO PREDICT iris.predict.class USING sqlflow_models.my_dnn_model;

-- doc/tutorial/iris-dnn.md
SELECT * FROM iris.train TO TRAIN sqlflow_models.AutoClassifier WITH
  model.n_classes = 3,
  train.epoch = 10
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- doc/tutorial/score_card.md
SELECT * FROM scorecard.train
TO TRAIN sqlflow_models.ScoreCard
LABEL serious_dlqin2yrs
INTO sqlflow_models.my_scorecard_model;

-- doc/walkthrough.md
SELECT * FROM a_table TO TRAIN DNNClassifier WITH learning_rate=0.01 INTO sqlflow_models.my_model;

-- doc/walkthrough.md
SELECT * FROM b_table TO PREDICT b_table.predicted_label USING sqlflow_models.my_model;

-- go/cmd/sqlflow/main_test.go
select * from train to train DNNClassifier
WITH model.hidden_units=[10,10], model.n_classes=3, validation.select="select * from test"
label class
INTO sqlflow_models.repl_dnn_model;

-- go/cmd/sqlflow/main_test.go
select * from iris.train to train DNNClassifier
WITH model.hidden_units=[10,10], model.n_classes=3, validation.select="select * from iris.test"
label class
INTO sqlflow_models.repl_dnn_model;

-- go/cmd/sqlflow/main_test.go
SELECT * FROM iris.train TO TRAIN DNNClassifier WITH
				model.hidden_units=[10,20],
				model.n_classes=3
			LABEL class INTO sqlflow_models.my_model;

-- go/cmd/sqlflow/main_test.go
SELECT * FROM iris.train TO TRAIN DNNClassifier WITH
				model.hidden_units=[10,20],
				model.n_classes=3
             LABEL class INTO sqlflow_models.my_model;

-- go/cmd/sqlflow/main_test.go
SELECT
           *
		   FROM
		   iris.train
		   TO
		   TRAIN
		   DNNClassifier
		   WITH
		   model.hidden_units=[10,20],
		   model.n_classes=3
		   LABEL
		   class
		   INTO
		   sqlflow_models.my_model;

-- go/cmd/sqlflow/main_test.go
SELECT * FROM iris.train TO TRAIN DNNClassifier WITH
    model.hidden_units=[10,20],
    model.n_classes=3
LABEL class INTO sqlflow_models.my_model;

-- go/cmd/sqlflow/main_test.go
select * from train to train DNNClassifier WITH model.hidden_units=[10,10], model.n_classes=3, validation.select="select * from test" label class INTO sqlflow_models.repl_dnn_model;

-- go/cmd/sqlflow/main_test.go
select * from train to train xgboost.gbtree WITH objective=reg:squarederror, validation.select="select * from test" label class INTO sqlflow_models.repl_xgb_model;

-- go/cmd/sqlflow/main_test.go
select * from train to explain sqlflow_models.repl_xgb_model;

-- go/cmd/sqlflow/model_zoo_client_test.go
SELECT * FROM iris.train WHERE class < 2
		 TO TRAIN test/my_repo:v1.0/DNNClassifier
		 WITH model.hidden_units=[10,10], model.n_classes=3
		 LABEL class INTO iris.my_model;

-- go/cmd/sqlflowserver/e2e_alisa_test.go
SELECT * FROM tx
	TO TRAIN xgboost.gbtree
	WITH
		objective="multi:softprob",
		train.num_boost_round = 30,
		eta = 0.4,
		num_class = 3
	LABEL class
	INTO tx;

-- go/cmd/sqlflowserver/e2e_alisa_test.go
SELECT * FROM tx
	TO PREDICT tx.class
	USING tx;

-- go/cmd/sqlflowserver/e2e_alisa_test.go
SELECT * FROM tx
	TO EXPLAIN tx
	WITH label_col=class
	USING TreeExplainer
	INTO my_xgb_explain_result;

-- go/cmd/sqlflowserver/e2e_alps_test.go
SELECT * FROM tx.sqlflow_test_iris_train
TO TRAIN DNNClassifier
WITH
	model.n_classes = 3,
	model.hidden_units = [10, 20],
	train.batch_size = 10,
	validation.select = "SELECT * FROM tx.sqlflow_test_iris_test"
LABEL class
INTO model_table;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM iris.train WHERE class<>2
TO TRAIN DNNClassifier
WITH
	model.n_classes = 2,
	model.hidden_units = [10, 10],
	train.batch_size = 4,
	validation.select = "SELECT * FROM iris.test WHERE class<>2",
	validation.metrics = "Accuracy,AUC",
	model.optimizer=RMSprop
LABEL class
INTO sqlflow_models.mytest_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM iris.train WHERE class<>2
TO TRAIN sqlflow_models.DNNClassifier
WITH
	model.n_classes = 2,
	model.hidden_units = [10, 10],
	train.batch_size = 1,
	validation.select = "SELECT * FROM iris.test WHERE class<>2",
	validation.metrics = "Accuracy,AUC,Precision,Recall",
	model.optimizer=RMSprop, optimizer.learning_rate=0.1
LABEL class
INTO sqlflow_models.mytest_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM housing.train
TO TRAIN DNNRegressor
WITH
	model.hidden_units = [10, 10],
	train.batch_size = 4,
	validation.select = "SELECT * FROM housing.test",
	validation.metrics = "MeanAbsoluteError,MeanAbsolutePercentageError,MeanSquaredError"
LABEL target
INTO sqlflow_models.myreg_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM iris.train
TO TRAIN DNNLinearCombinedClassifier
WITH model.n_classes = 3, model.dnn_hidden_units = [10, 20], train.batch_size = 10, train.epoch = 2,
model.dnn_optimizer=RMSprop, dnn_optimizer.learning_rate=0.01
COLUMN sepal_length, sepal_width FOR linear_feature_columns
COLUMN petal_length, petal_width FOR dnn_feature_columns
LABEL class
INTO sqlflow_models.my_dnn_linear_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM iris.train
TO TRAIN sqlflow_models.DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20],
	 validation.select="select * from iris.test", validation.steps=2,
	 train.batch_size = 10, train.epoch=2
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM iris.train
TO TRAIN sqlflow_models.dnnclassifier_functional_model
WITH model.n_classes = 3, validation.metrics="CategoricalAccuracy"
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM iris.train
TO TRAIN sqlflow_models.AutoClassifier WITH model.n_classes = 3
LABEL class INTO sqlflow_models.my_adanet_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM iris.test LIMIT 10 TO EXPLAIN sqlflow_models.my_adanet_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT *
FROM housing.train
TO TRAIN LinearRegressor
WITH 
  model.label_dimension = 1, 
  train.batch_size = 16,
  train.epoch = 10
COLUMN f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f11,f12,f13
LABEL target
INTO sqlflow_models.my_regression_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT *
FROM housing.test
TO PREDICT housing.predict.result
USING sqlflow_models.my_regression_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM housing.train
TO TRAIN xgboost.gbtree
WITH
	objective="reg:squarederror",
	scale_pos_weight=2,
	train.num_boost_round = 30,
	validation.select="SELECT * FROM housing.train LIMIT 20"
LABEL target
INTO sqlflow_models.my_xgb_regression_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM housing.train
TO EVALUATE sqlflow_models.my_xgb_regression_model
WITH validation.metrics="mean_absolute_error,mean_squared_error"
LABEL target
INTO sqlflow_models.my_xgb_regression_model_eval_result;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT *
FROM housing.test
TO PREDICT housing.xgb_predict.target
USING sqlflow_models.my_xgb_regression_model;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM iris.train TO TRAIN xgboost.gbtree
	WITH objective="reg:squarederror"
	LABEL class 
	INTO sqlflow_models.my_xgb_model_for_show_train;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM tx
	TO TRAIN DNNClassifier
	WITH
		model.n_classes = 3,
		model.hidden_units = [10, 20],
		validation.select = "SELECT * FROM tx LIMIT 30"
	COLUMN sepal_length, sepal_width, petal_length, petal_width
	LABEL class
	INTO tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM tx
TO PREDICT tx.class
USING tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT tx FROM tx TO PREDICT tx.tx_new USING tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT tx FROM tx TO EVALUATE tx WITH validation.metrics="accuracy_score" LABEL tx INTO tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT sepal_width, sepal_length, petal_width, petal_length, class FROM tx
	TO TRAIN tx
	WITH
		model.n_classes = 3,
		model.hidden_units = [10],
		validation.select = "SELECT * FROM tx"
	LABEL class
	INTO tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT sepal_width, sepal_length, petal_width, petal_length, class FROM tx
	TO TRAIN tx
	WITH 
		model.n_classes = 3,
		model.hidden_units = [10],
		validation.select = "SELECT * FROM tx"
	LABEL class
	USING tx
	INTO tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM tx TO PREDICT tx.tf_inc_train_pred.class USING tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT c1, label_col FROM tx.tx
	TO TRAIN xgboost.gbtree
	WITH
		num_class = 3,
		objective = "multi:softprob",
		train.num_boost_round = 20
	COLUMN SPARSE(c1tx)
	LABEL label_col
	INTO tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT c1, label_col FROM t1.t2 TO PREDICT t1.t3.t4 USING t5;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT c1, label_col FROM t1.t2 
TO EVALUATE t3 WITH validation.metrics="mean_squared_error" LABEL label_col INTO t1.t4;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT c1, label_col FROM t1.t2
TO EXPLAIN t3
WITH label_col=label_col
USING XGBoostExplainer
INTO t1.sparse_xgb_explain_result;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT c3, class FROM t1
TO TRAIN xgboost.gbtree
WITH objective="binary:logistic", 
    validation.select="SELECT c3, class FROM t1", 
    train.num_boost_round=100,
    eta=0.3,
    max_depth=5
column DENSE(c3, 4)
LABEL class
INTO t2;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT c3 FROM t1 TO PREDICT t3.class USING t2;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT c3, class FROM t1
TO EVALUATE t2
WITH
	validation.metrics="accuracy_score,f1_score"
LABEL class
INTO t4;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM tx.weighted_key_value_train
TO TRAIN DNNClassifier
WITH model.hidden_units=[64,32], train.batch_size=2
COLUMN EMBEDDING(
	WEIGHTED_CATEGORY(CATEGORY_HASH(SPARSE(feature, 10, ",", "int", ":", "float"), 10)),
	32
)
LABEL label_col
INTO tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT * FROM t1.weighted_key_value_train
TO PREDICT t1.weighted_key_value_pred_result.label_col
USING t2;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT 
sepal_length, sepal_width, petal_length, petal_width 
FROM tx
TO TRAIN sqlflow_models.OneClassSVM
WITH model.kernel = "rbf"
INTO tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT sepal_length, sepal_width, petal_length
FROM tx
TO TRAIN sqlflow_models.OneClassSVM
WITH model.kernel = "rbf"
INTO tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT sepal_length, sepal_width, petal_length, petal_width
FROM tx
TO PREDICT tx.label
USING tx;

-- go/cmd/sqlflowserver/e2e_common_cases.go
SELECT c1, label_col FROM tx.tx TO EXPLAIN tx WITH summary.plot_type=bar;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM tx
TO TRAIN sqlflow_models.CustomClassifier
LABEL class
INTO sqlflow_models.custom_loop_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM tx
TO PREDICT sqlflow_models.custom_loop_model_pred_result.class
USING sqlflow_models.custom_loop_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM tx
TO EVALUATE sqlflow_models.custom_loop_model
WITH validation.metrics="Accuracy"
LABEL class
INTO sqlflow_models.custom_loop_model_eval_result;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM boston.train_ext
TO TRAIN xgboost.gbtree
WITH
	objective="reg:squarederror",
	train.num_boost_round = 30
LABEL medv
INTO sqlflow_models.my_xgb_regression_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train
TO TRAIN xgboost.gbtree
WITH
	objective="multi:softmax",
	num_class=3
LABEL class
INTO sqlflow_models.my_xgb_multi_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.test
TO PREDICT iris.xgb_pred_result.class
USING sqlflow_models.my_xgb_multi_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train WHERE class < 2
TO TRAIN xgboost.gbtree
WITH
	objective="binary:logistic"
LABEL class
INTO sqlflow_models.my_xgb_multi_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.test WHERE class < 2
TO PREDICT iris.xgb_pred_result.class
USING sqlflow_models.my_xgb_multi_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM scorecard.train
TO TRAIN sqlflow_models.ScoreCard
LABEL serious_dlqin2yrs 
INTO sqlflow_models.my_scorecard_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train LIMIT 0 TO TRAIN xgboost.gbtree
WITH objective="reg:squarederror"
LABEL class 
INTO sqlflow_models.my_xgb_regression_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train WHERE class=2 TO TRAIN xgboost.gbtree
WITH objective="reg:squarederror"
LABEL target
INTO sqlflow_models.my_xgb_regression_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM housing.train
TO TRAIN DNNRegressora WITH
    model.hidden_units = [10, 20],
    validation.select = "SELECT * FROM tx "
COLUMN INDICATOR(CATEGORY_ID("a.*", 1000))
LABEL target
INTO housing.dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM housing.train
TO TRAIN DNNRegressor WITH
    model.hidden_units = [10, 20],
    validation.select = "SELECT * FROM tx "
COLUMN INDICATOR(CATEGORY_ID("[*", 1000))
LABEL target
INTO housing.dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train
TO TRAIN DNNClassifier WITH
	model.n_classes = 3,
	model.hidden_units = [10, 20],
	validation.select = "SELECT * FROM tx LIMIT 30"
COLUMN typo, sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO iris.dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20]
LABEL class
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT c1, c2, c3, c4, c5, class from feature_derivation_case.train
TO TRAIN DNNClassifier
WITH model.n_classes=3, model.hidden_units=[10,10]
COLUMN EMBEDDING(c3, 32, sum), EMBEDDING(SPARSE(c5, 64, COMMA), 32)
LABEL class
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT c1, c2, c3, c4, c5, class from feature_derivation_case.train
TO TRAIN DNNClassifier
WITH model.n_classes=3, model.hidden_units=[10,10]
COLUMN INDICATOR(c3), EMBEDDING(SPARSE(c5, 64, COMMA), 32, sum)
LABEL class
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT news_title, class_id
FROM text_cn.train_processed
TO TRAIN DNNClassifier
WITH model.n_classes = 17, model.hidden_units = [10, 20]
COLUMN EMBEDDING(CATEGORY_ID(SPARSE(news_title,16000,COMMA), 16000),128,mean)
LABEL class_id
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT news_title, class_id
FROM text_cn.train_processed
TO TRAIN DNNClassifier
WITH model.n_classes = 17, model.hidden_units = [10, 20]
COLUMN EMBEDDING(SPARSE(news_title,16000,COMMA),128,mean)
LABEL class_id
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM housing.train
TO TRAIN xgboost.gbtree
WITH objective="reg:squarederror",
	 train.num_boost_round=30
LABEL target
INTO sqlflow_models.my_xgb_regression_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM housing.test
TO PREDICT housing.predict.target
USING sqlflow_models.my_xgb_regression_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train TO TRAIN DNNClassifier WITH
  model.n_classes = 3,
  train.epoch = 10
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM tx
TO TRAIN sqlflow_models.dnnclassifier_functional_model
WITH model.n_classes = 3, validation.metrics="CategoricalAccuracy"
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO tx;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT sepal_length, sepal_width, petal_length, concat(petal_width,',',class) as class FROM iris.train 
TO TRAIN sqlflow_models.RNNBasedTimeSeriesModel WITH
	model.n_in=3,
	model.stack_units = [10, 10],
	model.n_out=2,
	model.model_type="lstm",
	validation.metrics= "MeanAbsoluteError,MeanSquaredError"
LABEL class
INTO sqlflow_models.my_dnn_regts_model_2;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT sepal_length, sepal_width, petal_length, concat(petal_width,',',class) as class FROM iris.test 
TO PREDICT iris.predict_ts_2.class USING sqlflow_models.my_dnn_regts_model_2;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train TO TRAIN xgboost.gbtree
WITH objective="multi:softprob",
	 num_class=3,
	 validation.select="SELECT * FROM iris.test",
	 eval_metric=accuracy_score
LABEL class
INTO sqlflow_models.my_xgb_multi_class_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.test
TO EVALUATE sqlflow_models.my_xgb_multi_class_model
WITH validation.metrics="accuracy_score"
LABEL class
INTO sqlflow_models.my_xgb_regression_model_eval_result;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM housing.train TO TRAIN xgboost.gbtree
WITH objective="reg:squarederror",
	 train.num_boost_round = 30,
	 train.batch_size=20
COLUMN f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f11,f12,f13
LABEL target
INTO sqlflow_models.my_xgb_regression_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM housing.train
TO EXPLAIN sqlflow_models.my_xgb_regression_model
WITH summary.plot_type="bar",
     summary.alpha=1,
     summary.sort=True
USING TreeExplainer;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train WHERE class in (0, 1) TO TRAIN xgboost.gbtree
WITH objective="binary:logistic", eval_metric=auc, train.disk_cache=True
LABEL class
INTO sqlflow_models.my_xgb_binary_classification_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train WHERE class<>2
TO TRAIN DNNClassifier
WITH
	model.n_classes = 2,
	model.hidden_units = [10, 20],
	validation.select = "SELECT * FROM iris.test WHERE class <>2 LIMIT 30"
LABEL class
INTO sqlflow_models.dnn_binary_classfier;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.test WHERE class<>2
TO EVALUATE sqlflow_models.dnn_binary_classfier
WITH validation.metrics = "Accuracy,AUC"
LABEL class
INTO iris.evaluation_result;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT f9, target FROM housing.train
TO TRAIN DNNRegressor WITH model.hidden_units = [10, 20]
COLUMN EMBEDDING(CATEGORY_ID(f9, 1000), 2, "sum")
LABEL target
INTO housing.dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT f9, target FROM housing.test
TO PREDICT housing.predict.class USING housing.dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT f9, f10, target FROM housing.train
TO TRAIN DNNLinearCombinedRegressor WITH
		model.dnn_hidden_units = [10, 20]
COLUMN EMBEDDING(CATEGORY_ID(f9, 25), 2, "sum") for dnn_feature_columns
COLUMN INDICATOR(CATEGORY_ID(f10, 712)) for linear_feature_columns
LABEL target
INTO housing.dnnlinear_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT f9, f10, target FROM housing.test
TO PREDICT housing.predict.class USING housing.dnnlinear_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM housing.train
TO TRAIN DNNRegressor WITH
    model.hidden_units = [10, 20],
    validation.select = "SELECT * FROM housing.test"
COLUMN INDICATOR(CATEGORY_ID("f10|f9|f4", 1000))
LABEL target
INTO housing.dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM housing.test
TO PREDICT housing.predict.class
USING housing.dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20],
	 train.batch_size = 10, train.epoch = 6,
	 train.max_steps = 200,
	 train.save_checkpoints_steps=10,
	 train.log_every_n_iter=20,
	 validation.start_delay_secs=10, validation.throttle_secs=10
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT news_title, class_id
FROM text_cn.train
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20]
COLUMN EMBEDDING(SPARSE(news_title,16000,COMMA),128,mean)
LABEL class_id
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT news_title, class_id
FROM text_cn.train_processed
TO TRAIN DNNClassifier
WITH model.n_classes = 17, model.hidden_units = [10, 20]
COLUMN EMBEDDING(CATEGORY_ID(news_title,16000,COMMA),128,mean)
LABEL class_id
INTO sqlflow_models.my_dnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT news_title, class_id
FROM text_cn.train_processed
TO TRAIN sqlflow_models.StackedRNNClassifier
WITH model.n_classes = 17, model.stack_units = [16], model.model_type = "lstm", model.bidirectional = True,
	 train.epoch = 1, train.batch_size = 32
COLUMN EMBEDDING(SEQ_CATEGORY_ID(news_title,1600,COMMA),128,mean)
LABEL class_id
INTO sqlflow_models.my_rnn_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train WHERE class!=2
TO TRAIN BoostedTreesClassifier
WITH
	model.n_batches_per_layer=1,
	model.center_bias=True,
	train.batch_size=100,
	train.epoch=10,
	validation.select="SELECT * FROM iris.test where class!=2"
LABEL class
INTO sqlflow_models.boostedtrees_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.test WHERE class!=2
TO EXPLAIN sqlflow_models.boostedtrees_model
INTO iris.explain_result;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT time, t1 FROM fund.train
TO TRAIN sqlflow_models.ARIMAWithSTLDecomposition
WITH
  model.order=[7, 0, 2],
  model.period=[7, 30],
  model.date_format="t2",
  model.forecast_start='2014-09-01',
  model.forecast_end='2014-09-30'
LABEL t1
INTO fund.t1_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT * FROM iris.train 
TO TRAIN DNNClassifier 
WITH 
	model.n_classes = 3, 
	model.hidden_units=[10, 20] 
COLUMN EMBEDDING(CROSS([petal_width, petal_length], 10), 128, 'sum')
LABEL class 
INTO iris.cross_tf_e2e_test_model;

-- go/cmd/sqlflowserver/e2e_mysql_test.go
SELECT petal_width, petal_length, class FROM iris.train 
TO TRAIN DNNClassifier 
WITH 
	model.n_classes = 3, 
	model.hidden_units=[10, 20] 
COLUMN EMBEDDING(CROSS([petal_width, petal_length], 10), 128, 'sqrtn')
LABEL class 
INTO iris.cross_tf_e2e_test_model;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT cast(sepal_length as int) sepal_length, class
FROM alifin_jtest_dev.sqlflow_test_iris_train
TO TRAIN DNNClassifier WITH
		model.hidden_units = [10, 20], model.n_classes=3
COLUMN EMBEDDING(CATEGORY_ID(sepal_length, 1000), 2, "sum")
LABEL class
INTO e2etest_predict_categorical_feature;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT cast(sepal_length as int) sepal_length, class FROM alifin_jtest_dev.sqlflow_test_iris_test
TO PREDICT alifin_jtest_dev.pred_catcol.class USING e2etest_predict_categorical_feature;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT cast(sepal_length as int) sepal_length, cast(sepal_width as int) sepal_width, class
FROM alifin_jtest_dev.sqlflow_test_iris_train
TO TRAIN DNNLinearCombinedClassifier WITH
		model.dnn_hidden_units = [10, 20], model.n_classes=3
COLUMN EMBEDDING(CATEGORY_ID(sepal_length, 20), 2, "sum") for dnn_feature_columns
COLUMN EMBEDDING(CATEGORY_ID(sepal_width, 20), 2, "sum") for linear_feature_columns
LABEL class
INTO e2etest_predict_categorical_feature2;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT cast(sepal_length as int) sepal_length, cast(sepal_width as int) sepal_width, class FROM alifin_jtest_dev.sqlflow_test_iris_test
TO PREDICT alifin_jtest_dev.pred_catcol2.class USING e2etest_predict_categorical_feature2;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO TRAIN DNNClassifier
WITH
	model.n_classes = 3,
	model.hidden_units = [10, 20],
	train.num_workers=2,
	train.num_ps=2,
	train.save_checkpoints_steps=20,
	train.epoch=10,
	train.batch_size=4,
	train.verbose=1
LABEL class
INTO e2etest_dnn_model_distributed;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO TRAIN DNNClassifier
WITH
	model.n_classes = 3,
	model.hidden_units = [10, 20],
	train.num_workers=2,
	train.num_ps=2,
	train.save_checkpoints_steps=20,
	train.epoch=10,
	train.batch_size=4,
	train.verbose=1,
	validation.select="select * from tx"
LABEL class
INTO e2etest_dnn_model_distributed;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO TRAIN sqlflow_models.dnnclassifier_functional_model
WITH
	model.n_classes=3,
	train.num_workers=2,
	train.num_ps=2,
	train.epoch=10,
	train.batch_size=4,
	train.verbose=1,
	validation.select="select * from tx",
	validation.metrics="CategoricalAccuracy"
LABEL class
INTO e2etest_keras_dnn_model_distributed;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT sepal_length, sepal_width, class FROM tx
TO TRAIN DNNClassifier
WITH model.hidden_units=[64,32], model.n_classes=3, train.batch_size=4
LABEL class 
INTO e2etest_selected_cols_model;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
	TO PREDICT tx.e2etest_selected_cols_pred.target
	USING e2etest_selected_cols_model;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
	TO TRAIN xgboost.gbtree
	WITH
		objective="multi:softprob",
		train.num_boost_round = 30,
		train.num_workers = 2,
		eta = 0.4,
		num_class = 3,
		train.batch_size=10,
		validation.select="select * from tx"
	LABEL class
	INTO e2etest_xgb_classi_model;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx WHERE class < 2
TO TRAIN BoostedTreesClassifier
WITH
	model.center_bias=True,
	model.n_batches_per_layer=70,
	train.num_workers=2,
	train.num_ps=1,
	train.epoch=10,
	validation.select="select * from tx"
LABEL class
INTO e2etest_tfbt_model_distributed;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
	TO TRAIN kmeans 
	WITH
		center_count=3,
		idx_table_name=tx,
		excluded_columns=class
	INTO tx;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
	TO PREDICT tx.cluster_index
	USING tx;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO TRAIN randomforests
WITH tree_num = 3
LABEL class
INTO my_rf_model;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO PREDICT tx.class
USING my_rf_model;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO EXPLAIN my_rf_model
WITH label_column = class
USING TreeExplainer
INTO tx.rf_model_explain;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20],
optimizer.learning_rate=0.01, model.optimizer="AdagradOptimizer"
LABEL class
INTO e2etest_pai_dnn;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO EVALUATE e2etest_pai_dnn
WITH validation.metrics="Accuracy,Recall"
LABEL class
INTO tx.e2etest_pai_dnn_evaluate_result;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO PREDICT tx.pai_dnn_predict.class
USING e2etest_pai_dnn;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO EXPLAIN e2etest_pai_dnn
WITH label_col=class
USING TreeExplainer
INTO tx.pai_dnn_explain_result;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT class, CONCAT(sepal_length, ",", sepal_width, ",", petal_length, ",", petal_width) AS f1
FROM tx
TO TRAIN DNNClassifier
WITH model.hidden_units=[64,32], model.n_classes=3, train.batch_size=32
COLUMN DENSE(f1, 4)
LABEL class
INTO e2etest_dense_input;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT class, sepal_length, sepal_width, petal_length, petal_width
FROM tx
TO TRAIN DNNClassifier WITH model.hidden_units=[64,32], model.n_classes=3, train.batch_size=32
COLUMN DENSE(sepal_length)
LABEL class
INTO e2etest_dense_input_without_indicating_shape;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO TRAIN xgboost.gbtree
WITH
	objective="multi:softmax",
	train.num_boost_round = 30,
	eta = 0.4,
	num_class = 3,
	train.batch_size=10,
	validation.select="select * from tx"
LABEL class
INTO e2etest_xgb_classi_model;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO TRAIN xgboost.gbtree
WITH
	objective="multi:softmax",
	train.num_boost_round = 30,
	eta = 0.4,
	num_class = 3,
	validation.select="select * from tx"
LABEL class
INTO e2etest_xgb_classi_model;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO PREDICT tx.pai_xgb_predict.class
WITH
	predict.num_workers=2
USING e2etest_xgb_classi_model;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO EVALUATE e2etest_xgb_classi_model
WITH validation.metrics="accuracy_score"
LABEL class
INTO tx.e2etest_xgb_evaluate_result;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx.sqlflow_titanic_train
TO TRAIN xgboost.gbtree
WITH objective="binary:logistic"
LABEL survived
INTO e2etest_xgb_titanic;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx.sqlflow_titanic_train
TO EXPLAIN e2etest_xgb_titanic
WITH label_col=survived
INTO tx.e2etest_titanic_explain_result;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO TRAIN sqlflow_models.DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20], validation.select="select * from tx", validation.steps=2
LABEL class
INTO e2etest_keras_dnn;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM tx
TO PREDICT tx.keras_predict.class
USING e2etest_keras_dnn;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM alifin_jtest_dev.weighted_key_value_train
TO TRAIN DNNClassifier
WITH model.n_classes = 2, model.hidden_units = [64,32],train.batch_size=128,train.epoch=2
COLUMN EMBEDDING(WEIGHTED_CATEGORY(CATEGORY_HASH(SPARSE(feature, 128, ",", "int", ":", "float"), 128)), 32)
LABEL label_col
INTO e2etest_weighted_emb;

-- go/cmd/sqlflowserver/e2e_pai_maxcompute_test.go
SELECT * FROM alifin_jtest_dev.weighted_key_value_train
TO PREDICT alifin_jtest_dev.weighted_emb.label_col
USING e2etest_weighted_emb;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT *
FROM tx
TO TRAIN DNNClassifier
WITH
	model.no_exists_param = 3,
	model.hidden_units = [10, 20]
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO tx;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM tx
TO TRAIN DNNClassifier
WITH
	model.n_classes = 3,
	model.hidden_units = [10, 20],
	validation.select = "SELECT * FROM tx"
LABEL class
INTO tx;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM tx
TO EVALUATE tx
WITH validation.metrics="Accuracy"
LABEL class
INTO tx.sqlflow_iris_eval_result;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM tx
TO TRAIN tx/DNNClassifier
WITH
	model.n_classes = 3,
	model.hidden_units = [64, 32],
	validation.select = "SELECT * FROM tx"
LABEL class
INTO test_workflow_model;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM tx
	TO TRAIN DNNClassifier
	WITH
		model.n_classes = 3,
		model.hidden_units = [10, 20],
		train.num_workers=2,
		train.num_ps=2,
		train.save_checkpoints_steps=20,
		train.epoch=2,
		train.batch_size=4,
		train.verbose=2,
		validation.select="select * from tx"
	COLUMN sepal_length, sepal_width, petal_length, petal_width
	LABEL class
	INTO tx;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM tx TO PREDICT tx.class USING tx;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM t1
TO TRAIN xgboost.gbtree
WITH objective="multi:softmax",num_class=3
LABEL class
INTO t2;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM t1
TO TRAIN xgboost.gbtree
WITH objective="multi:softmax",num_class=3
COLUMN sepal_length, DENSE(sepal_width)
LABEL class
INTO t2;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM t2
TO PREDICT t1.test_result_table.class
USING t3;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM t2
TO EVALUATE t3
WITH
	validation.metrics="accuracy_score"
LABEL class
INTO t1.evaluate_result_table;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM t2
TO EXPLAIN t3
WITH
	summary.plot_type = bar,
	label_col = class
INTO t1.explain_result_table;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM t2
TO EXPLAIN t3
WITH
	summary.plot_type = bar,
	label_col = class
USING XGBoostExplainer
INTO t1.explain_result_table;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM t1
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20]
LABEL class
INTO t2;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM t1
TO TRAIN sqlflow_models.DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20]
LABEL class
INTO t2;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM t2
TO EVALUATE t3
WITH validation.metrics="Accuracy"
LABEL class
INTO t1.evaluate_result_table;

-- go/cmd/sqlflowserver/e2e_workflow_test.go
SELECT * FROM t2
TO EXPLAIN t3
WITH label_col=class
INTO t1.explain_result_table;

-- go/codegen/experimental/codegen_test.go
SELECT * FROM iris.train TO TRAIN xgboost.gbtree WITH objective="multi:softmax",num_class=3 LABEL class INTO sqlflow_models.xgb_classification;

-- go/codegen/experimental/codegen_test.go
SELECT * FROM iris.train TO TRAIN xgboost.gbtree WITH objective="multi:softmax",num_class=3 COLUMN petal_length LABEL class INTO sqlflow_models.xgb_classification;

-- go/ir/derivation_test.go
select c1, c2, c3, c4, c5, c6, class from feature_derivation_case.train
TO TRAIN DNNClassifier
WITH model.n_classes=2
COLUMN EMBEDDING(c3, 128, sum), EMBEDDING(SPARSE(c5, 10000, COMMA), 128, sum), INDICATOR(c3)
LABEL class INTO model_table;

-- go/ir/derivation_test.go
select c1, c2, c3, c4, c5, class from feature_derivation_case.train
TO TRAIN DNNClassifier
WITH model.n_classes=2
COLUMN c1, c2, CROSS([c4, c5], 128), CROSS([c1, c2], 256)
LABEL class INTO model_table;

-- go/ir/derivation_test.go
select * from iris.train
TO TRAIN DNNClassifier
WITH model.n_classes=3, model.hidden_units=[10,10]
LABEL class INTO model_table;

-- go/ir/ir_generator_test.go
SELECT c1, c2, c3, c4 FROM my_table
	TO TRAIN DNNClassifier
	WITH
		model.n_classes=2,
		train.optimizer="adam",
		model.hidden_units=[128,64],
		validation.select="SELECT c1, c2, c3, c4 FROM my_table LIMIT 10"
	COLUMN c1,DENSE(c2, [128, 32]),CATEGORY_ID(c3, 512),
		SEQ_CATEGORY_ID(c3, 512),
		CROSS([c1,c2], 64),
		BUCKET(DENSE(c1, [100]), 100),
		EMBEDDING(CATEGORY_ID(c3, 512), 128, mean),
		DENSE(c1, 64, COMMA),
		CATEGORY_ID(SPARSE(c2, 10000, COMMA), 128),
		SEQ_CATEGORY_ID(SPARSE(c2, 10000, COMMA), 128),
		EMBEDDING(c1, 128, sum),
		EMBEDDING(SPARSE(c2, 10000, COMMA, "int"), 128, sum),
		INDICATOR(CATEGORY_ID(c3, 512)),
		INDICATOR(c1),
		INDICATOR(SPARSE(c2, 10000, COMMA, "int")),
		WEIGHTED_CATEGORY(CATEGORY_ID(SPARSE(c2, 10000, "-", "int", ":", "float"), 128)),
		EMBEDDING(SPARSE(c2, 10000, "-", "int", ":", "float"), 128, sum)
	LABEL c4
	INTO mymodel;

-- go/ir/ir_generator_test.go
SELECT c1, c2, c3, c4
	FROM my_table
	TO TRAIN a_data_scientist/regressors:v0.2/MyDNNRegressor
	WITH
		model.n_classes=2,
		train.optimizer="adam"
	LABEL c4
	INTO mymodel;

-- go/ir/ir_generator_test.go
SELECT * FROM iris.test
TO PREDICT iris.predict.class
USING sqlflow_models.mymodel;

-- go/ir/ir_generator_test.go
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH model.n_classes=3, model.hidden_units=[10,20]
LABEL class
INTO sqlflow_models.mymodel;

-- go/ir/ir_generator_test.go
SELECT * FROM iris.train
TO TRAIN xgboost.gbtree
WITH
  objective="multi:softprob",
  train.num_boost_round = 30,
  eta = 0.4,
  num_class = 3
LABEL class
INTO sqlflow_models.my_xgboost_model;

-- go/ir/ir_generator_test.go
SELECT *
	FROM iris.train
	TO EXPLAIN sqlflow_models.my_xgboost_model
	WITH
	    summary.plot_type="bar",
	    summary.alpha=1,
	    summary.sort=True
	USING TreeExplainer;

-- go/ir/ir_generator_test.go
SELECT *
	FROM iris.train
	TO EXPLAIN sqlflow_models.my_xgboost_model
	WITH
	    summary.plot_type="bar",
	    summary.alpha=1,
	    summary.sort=True
	USING TreeExplainer
	INTO db.explain_result;

-- go/ir/ir_generator_test.go
SELECT * FROM iris.train TO EXPLAIN sqlflow_models.my_xgboost_model;

-- go/ir/mock_ir.go
SELECT * FROM iris_train
TO TRAIN DNNClassifier WITH
	train.batch_size=4,
	train.epoch=3,
	model.hidden_units=[10,20],
	model.n_classes=3
LABEL class
INTO my_dnn_model;

-- go/modelzooserver/using_model_test.go
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH
	model.n_classes = 3,
	model.hidden_units = [10, 20],
	validation.select = "SELECT * FROM iris.test"
LABEL class
INTO sqlflow_models.modelzoo_model_iris;

-- go/parser/external/README.md
SELECT * FROM training_data TO TRAIN DNNClassifier LABEL kind INTO my_model;

-- go/parser/external/README.md
SELECT * FROM testing_data TO PREDICT testing_data.predicted_kind USING my_model;

-- go/parser/lexer_test.go
SELECT * FROM train_table
TO TRAIN my_model
WITH
  param = value
COLUMN a, b
LABEL c
INTO model_table;

-- go/parser/lexer_test.go
SELECT * FROM train_table
TO PREDICT result_table
WITH
  param = value
USING model_table;

-- go/parser/lexer_test.go
SELECT * FROM train_table
TO EXPLAIN my_model
WITH
  plots = force
USING TreeExplainer;

-- go/parser/sqlflow_parser_test.go
select * from (select 1 limit 1) a union select * from (select 1) b to explain model;

-- go/parser/sqlflow_parser_test.go
SELECT * FROM jtest_dev.sqlflow_fraud_detection
TO TRAIN DNNClassifier WITH
    train.batch_size=2048,
    model.batch_norm=True,
    model.hidden_units=[200, 100, 50]
LABEL class
INTO sqlflow_fraud_detection_model;

-- go/parser/sqlflow_parser_test.go
SELECT * FROM jtest_dev.sqlflow_fraud_detection_pred
TO PREDICT jtest_dev.sqlflow_fraud_detection_predict.class
USING sqlflow_fraud_detection_model;

-- go/parser/sqlflow_parser_test.go
SELECT * FROM jtest_dev.sqlflow_fraud_detection_pred
TO EXPLAIN sqlflow_fraud_detection_model;

-- go/parser/sqlflow_parser_test.go
SELECT * FROM iris.train
TO TRAIN DNNClassifier  -- comment 1
WITH -- comment 2
	model.hidden_units=[16, 32], -- comment 3
	model.n_classes=3 /* comment
4 */
LABEL class --
INTO my_dnn_classifier;

-- go/sql/convergence_test.go
SELECT * FROM sanity_check.train
TO TRAIN DNNClassifier
WITH
	model.n_classes = 5,
	model.hidden_units = [42, 13],
	model.optimizer = "Adam",
	train.epoch = 100,
	validation.select="SELECT * FROM sanity_check.train"
LABEL class
INTO sqlflow_models.my_dnn_model;

-- go/sql/convergence_test.go
SELECT * FROM sanity_check.train
TO PREDICT sanity_check.predict.class
USING sqlflow_models.my_dnn_model;

-- go/sql/executor_ir_test.go
SELECT * FROM iris.train
liMIT 10
TO TRAIN xgboost.gbtree
WITH
    objective="multi:softprob",
    train.num_boost_round = 30,
    eta = 0.4,
    num_class = 3
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_xgboost_model;

-- go/sql/executor_ir_test.go
SELECT * FROM iris.train
TO TRAIN DNNClassifier
WITH
  model.n_classes = 3,
  model.hidden_units = [10, 20]
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_dnn_model;

-- go/sql/executor_ir_test.go
SELECT (sepal_length - 4.4) / 3.5 as sepal_length, (sepal_width - 2.0) / 2.2 as sepal_width, (petal_length - 1) / 5.9 as petal_length, (petal_width - 0.1) / 2.4 as petal_width
FROM iris.train
TO TRAIN sqlflow_models.DeepEmbeddingClusterModel
WITH
  model.pretrain_dims = [10,10,3],
  model.n_clusters = 3,
  model.pretrain_epochs=5,
  train.batch_size=10,
  train.verbose=1
INTO sqlflow_models.my_clustering_model;

-- go/sql/executor_ir_test.go
SELECT (sepal_length - 4.4) / 3.5 as sepal_length, (sepal_width - 2.0) / 2.2 as sepal_width, (petal_length - 1) / 5.9 as petal_length, (petal_width - 0.1) / 2.4 as petal_width
FROM iris.test
TO PREDICT iris.predict.class
USING sqlflow_models.my_clustering_model;

-- go/sql/executor_ir_test.go
SELECT *
FROM iris.train
TO TRAIN xgboost.gbtree
WITH
    objective="multi:softprob",
    train.num_boost_round = 30,
    eta = 0.4,
    num_class = 3
COLUMN sepal_length, sepal_width, petal_length, petal_width
LABEL class
INTO sqlflow_models.my_xgboost_model;

-- go/sql/executor_ir_test.go
SELECT * FROM iris.train
TO EXPLAIN sqlflow_models.my_xgboost_model
USING TreeExplainer;

-- go/sql/executor_ir_test.go
SELECT *
FROM iris.test
TO PREDICT iris.predict.class
USING sqlflow_models.my_xgboost_model;

-- go/sql/executor_ir_test.go
SELECT *
FROM housing.train
TO TRAIN xgboost.gbtree
WITH
	objective="reg:squarederror",
	train.num_boost_round = 30,
	validation.select="SELECT * FROM housing.train LIMIT 20"
COLUMN f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f11,f12,f13
LABEL target
INTO sqlflow_models.my_xgb_regression_model;

-- go/sql/executor_ir_test.go
SELECT sepal_length as sl, sepal_width as sw, class FROM iris.train
TO TRAIN xgboost.gbtree
WITH
    objective="multi:softprob",
    train.num_boost_round = 30,
    eta = 0.4,
    num_class = 3
LABEL class
INTO sqlflow_models.my_xgboost_model_by_program;

-- go/sql/executor_ir_test.go
SELECT sepal_length as sl, sepal_width as sw FROM iris.test
TO PREDICT iris.predict.class
USING sqlflow_models.my_xgboost_model_by_program;

-- go/sql/executor_ir_test.go
SELECT sepal_length as sl, sepal_width as sw, class FROM iris.train
TO EXPLAIN sqlflow_models.my_xgboost_model_by_program
USING TreeExplainer;

-- go/sql/executor_ir_test.go
SELECT * FROM iris.train_dense
TO TRAIN DNNClassifier
WITH
model.n_classes = 3,
model.hidden_units = [10, 20],
train.epoch = 200,
train.batch_size = 10,
train.verbose = 1
COLUMN DENSE(dense, 4, COMMA)
LABEL class
INTO sqlflow_models.my_dense_dnn_model;

-- go/sql/executor_ir_test.go
SELECT * FROM iris.test_dense
TO PREDICT iris.predict_dense.class
USING sqlflow_models.my_dense_dnn_model;

-- go/sql/executor_ir_test.go
select 1 to predict d.t.f using m;

-- go/sql/executor_ir_test.go
SELECT c1, c2, c3, c4 FROM my_table
	TO TRAIN DNNClassifier
	WITH
		model.n_classes=2,
		model.optimizer="adam",
		model.hidden_units=[128,64]
	LABEL c4
	INTO mymodel;

-- go/sql/executor_ir_test.go
SELECT * FROM t1 TO TRAIN DNNClassifier WITH model.stddev=0.1 LABEL c INTO m;

-- go/step/step_test.go
SELECT * FROM iris.train WHERE class!=2
	TO TRAIN DNNClassifier
	WITH
		model.n_classes = 2,
		model.hidden_units = [10, 10],
		train.batch_size = 4,
		validation.select = "SELECT * FROM iris.test WHERE class!=2",
		validation.metrics = "Accuracy,AUC"
	LABEL class
	INTO sqlflow_models.mytest_model;

-- go/verifier/verifier_test.go
SELECT gender, tenure, TotalCharges
FROM churn.train LIMIT 10
TO TRAIN DNNClassifier
WITH
  n_classes = 3,
  hidden_units = [10, 20]
COLUMN gender, tenure, totalcharges
LABEL class
INTO sqlflow_models.my_dnn_model;

-- go/verifier/verifier_test.go
SELECT gender, tenure, TotalCharges
FROM churn.train LIMIT 10
TO PREDICT iris.predict.class
USING sqlflow_models.my_dnn_model;

-- go/verifier/verifier_test.go
SELECT gender, tenure
FROM churn.train LIMIT 10
TO PREDICT iris.predict.class
USING sqlflow_models.my_dnn_model;

-- python/runtime/local/submitter_test.py
SELECT * FROM iris.train
        TO TRAIN xgboost.gbtree
        WITH
            objective="multi:softmax",
            num_boost_round=20,
            num_class=3,
            validation.select="SELECT * FROM iris.test"
        INTO iris.xgboost_train_model_test;

-- python/runtime/local/submitter_test.py
SELECT * FROM iris.test
            TO PREDICT iris.xgboost_pred_result.pred_val
            USING iris.xgboost_train_model_test;

-- python/runtime/local/submitter_test.py
SELECT * FROM iris.test
            TO EXPLAIN iris.xgboost_train_model_test
            INTO iris.xgboost_explain_result;

-- python/runtime/model/metadata_test.py
SELECT c1, c2, class FROM my_db.train_table
        TO TRAIN my_docker_image:latest/DNNClassifier
        WITH
            model.n_classes = 3,
            model.hidden_units = [16, 32],
            validation.select="SELECT c1, c2, class FROM my_db.val_table"
        INTO my_db.my_dnn_model;

-- python/runtime/pai/submitter_test.py
SELECT * FROM alifin_jtest_dev.sqlflow_iris_test
TO PREDICT alifin_jtest_dev.pai_dnn_predict.class
USING e2etest_pai_dnn;

-- python/runtime/pai/submitter_test.py
SELECT * FROM alifin_jtest_dev.sqlflow_test_iris_train
TO TRAIN DNNClassifier
WITH model.n_classes = 3, model.hidden_units = [10, 20]
LABEL class
INTO e2etest_pai_dnn;

-- python/runtime/pai/submitter_test.py
SELECT * FROM alifin_jtest_dev.sqlflow_iris_test
TO EXPLAIN e2etest_pai_dnn
WITH label_col=class
INTO alifin_jtest_dev.pai_dnn_explain_result;

-- python/runtime/pai/submitter_test.py
SELECT * FROM alifin_jtest_dev.sqlflow_iris_test
TO PREDICT alifin_jtest_dev.pai_xgb_predict.class
USING e2etest_xgb_classify_model;

-- python/runtime/pai/submitter_test.py
SELECT * FROM alifin_jtest_dev.sqlflow_iris_test
TO EXPLAIN e2etest_xgb_classify_model
WITH label_col=class
INTO alifin_jtest_dev.e2etest_xgb_explain_result;

-- python/runtime/pai/submitter_test.py
SELECT * FROM alifin_jtest_dev.sqlflow_iris_train
TO TRAIN KMeans
WITH model.excluded_columns="class",
     model.idx_table_name="alifin_jtest_dev.e2e_test_kmeans_output_idx"
INTO e2e_test_kmeans;

-- python/runtime/pai/submitter_test.py
SELECT * FROM alifin_jtest_dev.sqlflow_iris_train
TO TRAIN RandomForests
WITH model.tree_num=3
LABEL class
INTO e2e_test_random_forest;

-- python/runtime/pai/submitter_test.py
SELECT * FROM alifin_jtest_dev.sqlflow_iris_test
TO PREDICT alifin_jtest_dev.pai_rf_predict.class
USING e2e_test_random_forest_wuyi;

-- python/runtime/pai/submitter_test.py
SELECT * FROM alifin_jtest_dev.sqlflow_iris_train
TO EXPLAIN e2e_test_random_forest_wuyi
WITH label_col=class
INTO alifin_jtest_dev.e2etest_random_forest_explain_result;

-- python/runtime/step/tensorflow/local_test_base.py
SELECT * FROM iris.train
        TO TRAIN tx
        WITH
            model.hidden_units=[32,64],
            model.n_classes=3,
            validation.select="SELECT * FROM iris.test"
        LABEL class
        INTO iris.tensorflow_train_model_test;

-- python/runtime/step/xgboost/xgboost_local_test.py
SELECT * FROM iris.train
        TO TRAIN xgboost.gbtree
        WITH
            objective="multi:softprob",
            num_boost_round=20,
            num_class=3,
            validation.select="SELECT * FROM iris.test"
        LABEL class
        INTO iris.xgboost_train_model_test;

-- Found upstream but not compiled here (prose fragments, design proposals the
-- grammar never accepted, and the gaps docs/language.md lists):
--   doc/design/ant_xgboost.md: 'select ': expected INTO, found 'objective'
--   doc/design/clustermodel.md: 'SELECT * FROM input_table': expected INTO, found 'model'
--   doc/design/database_abstraction_layer.md: 'SELECT statement of SQL to have the TRAIN and PREDICT clauses.  For mo': syntax error: Invalid expression / Unexpected token near 'SQL'
--   doc/design/database_abstraction_layer.md: 'SELECT ': expected INTO but the statement ends
--   doc/design/elasticdl_on_sqlflow.md: 'SELECT': unknown attribute namespace 'runtime'
--   doc/design/feature_derivation.md: 'SELECT *` then we can': syntax error: Invalid expression / Unexpected token near 'then'
--   doc/design/feature_derivation.md: 'SELECT * FROM creditcardfraud': unknown feature column 'YOUR_NORMALIZE_FUNC'
--   doc/design/katib_on_sqlflow.md: 'SELECT * FROM train_data_table': unterminated string, quoted identifier or comment
--   doc/design/katib_on_sqlflow.md: 'SELECT * FROM c TO TRAIN data_scientist/xgboost:v0.5/katib.xgboost.gbt': unterminated string, quoted identifier or comment
--   doc/design/logs.md: 'SELECT * FROM TO TRAIN .."`': unterminated string, quoted identifier or comment
--   doc/design/model_zoo.md: 'SELECT * FROM employee WHERE onboard_year < 2019': unknown feature column 'scale'
--   doc/design/model_zoo.md: 'SELECT * FROM employee WHERE onboard_year < 2019': expected '=' after the attribute name, found 'salary'
--   doc/design/model_zoo.md: 'SELECT * FROM employee WHERE onboard_year < 2019': expected INTO, found '/'
--   doc/design/model_zoo_pai.md: 'SELECT statement as described in [Model Zoo Background](model_zoo.md#B': syntax error: Invalid expression / Unexpected token near 'in'
--   doc/design/numeric_column_clause.md: 'SELECT c1, c2, label FROM train_table': expected INTO, found 'COLUMN'
--   doc/design/numeric_column_clause.md: 'SELECT c1, c2, label FROM train_table': expected INTO, found 'COLUMN'
--   doc/design/numeric_column_clause.md: 'SELECT c1, c2, label FROM train_table': expected INTO, found 'COLUMN'
--   doc/design/numeric_column_clause.md: 'SELECT c1, c2, label FROM train_table': expected INTO, found 'COLUMN'
--   doc/design/numeric_column_clause.md: 'SELECT c1, c2, label FROM train_table': expected INTO, found 'COLUMN'
--   doc/design/numeric_column_clause.md: 'SELECT c1, c2, label FROM train_table': expected INTO, found 'COLUMN'
--   doc/design/numeric_column_clause.md: 'SELECT c1, c2, label FROM train_table': expected INTO, found 'COLUMN'
--   doc/design/numeric_column_clause.md: 'SELECT c1, c2, label FROM train_table': expected INTO, found 'COLUMN'
--   doc/design/numeric_column_clause.md: 'SELECT c1, c2, label FROM train_table': expected INTO, found 'COLUMN'
--   doc/design/sqlflow_parser.md: 'select 1 to train': expected a model reference such as sklearn.ensemble.RandomForestClassifier but the stateme
--   doc/design/submitter.md: 'SELECT *': syntax error: Required keyword: 'expression' missing for <class 'sqlglot.expressions.core.
--   doc/design/syntax.md: 'SELECT * FROM kaggle_credit_fraud_training_data': CROSS takes at most 2 arguments
--   doc/design/training_and_validation.md: 'select results.': syntax error: Required keyword: 'this' missing for <class 'sqlglot.expressions.core.Column
--   doc/design/training_and_validation.md: 'SELECT * FROM temp_table WHERE sqlflow_random < 0.8`, which fetches ro': syntax error: Invalid expression / Unexpected token near '`'
--   doc/design/xgboost_on_sqlflow.md: 'SELECT statement and retrieve the training/test data. It saves the dat': syntax error: Invalid expression / Unexpected token near 'training'
--   doc/language_guide.md: 'select statement syntax is the same as the select statement syntax in ': syntax error: Invalid expression / Unexpected token near 'is'
--   doc/language_guide.md: 'SELECT statement before TO EVALUATE must generate the same data schema': unterminated string, quoted identifier or comment
--   doc/language_guide.md: 'SELECT statement before TO EVALUATE must generate the same data schema': unterminated string, quoted identifier or comment
--   doc/sqlflow.org_cn/titanic_survival_prediction.cn.md: 'SELECT`开始，以`TO`为界，之后就是SQLFlow的扩展SQL语法。在上面的例子中，`TO TRAIN`表示这是一条训练语句，`DN': syntax error: Invalid expression / Unexpected token near '`'
--   doc/sqlflow.org_cn/tutorials/fraud-dnn.cn.md: 'SELECT`开始，以`TO`为界，`TO`之后就是SQLFlow的扩展SQL语法。在上面的例子中，`TO TRAIN`表示这是一条训练语句': syntax error: Invalid expression / Unexpected token near '`'
--   doc/talk/201812/preprocess.sql: 'SELECT *': unknown feature column 'norm'
--   doc/talk/201905/feature_column.sql: 'SELECT * FROM employee': unknown feature column 'categorical_column_with_hash_bucket'
--   doc/talk/201906/train_cross.sql: 'SELECT * FROM survey ': CROSS's keys must be a list of columns such as [a, b], found 'gender'
--   doc/talk/201906/train_detailed.sql: 'SELECT * FROM survey ': unknown feature column 'bucketize'
--   doc/tutorial/cora-gcn.md: 'select all the possible bidirectional edges from the dataset. Without ': syntax error: Invalid expression / Unexpected token near 'bidirectional'
--   doc/tutorial/cora-gcn.md: 'SELECT cora.node.id, features, label as class, cora.edge.from_node_id,': syntax error: Invalid expression / Unexpected token near 'WITH'
--   doc/walkthrough.md: 'SELECT part in the extended-syntax statement to MySQL via ODBC, and': syntax error: Invalid expression / Unexpected token near '-'
--   doc/walkthrough.md: 'SELECT part in the extended-syntax statement to MySQL via ODBC, and': syntax error: Invalid expression / Unexpected token near '-'
--   go/cmd/sqlflow/main_test.go: 'SELECT * FROM train TO TRAIN xgboost.gbtree WITH objective=': statement ends too early
--   go/cmd/sqlflow/main_test.go: 'SELECT * FROM train TO TRAIN notxgboost.gbtree WITH objective=': statement ends too early
--   go/cmd/sqlflowserver/e2e_alps_test.go: 'SELECT deep_id, user_space_stat, user_behavior_stat, space_stat, l': unknown attribute namespace 'engine'
--   go/cmd/sqlflowserver/e2e_alps_test.go: 'SELECT dense, deep, item, test_sparse_with_fm.label': unknown attribute namespace 'eval'
--   go/cmd/sqlflowserver/e2e_common_cases.go: 'SELECT tx FROM tx TO TRAIN xgboost.gbtree': expected INTO, found 'tx'
--   go/cmd/sqlflowserver/e2e_common_cases.go: 'SELECT tx FROM tx TO EXPLAIN tx WITH summary.plot_type=bar tx': expected the end of the statement, found 'tx'
--   go/cmd/sqlflowserver/e2e_common_cases.go: 'SELECT ': expected USING, found 'tx'
--   go/executor/pai.go: 'select * from xx to train"': unterminated string, quoted identifier or comment
--   go/ir/ir_generator_test.go: 'SELECT petal_length, class': BUCKET needs its boundaries argument
--   go/modelzooserver/using_model_test.go: 'SELECT * FROM iris.train': expected the end of the statement, found ':'
--   go/parser/external/README.md: 'SELECT statement for data cleaning and augmentation, (s)he could add a': syntax error: Invalid expression / Unexpected token near 'for'
--   go/parser/external/README.md: 'SELECT statement for data cleaning and augmentation, (s)he could add a': unterminated string, quoted identifier or comment
--   go/parser/external/README.md: 'SELECT statement. We then try right part with SQLFlow parser.': syntax error: Invalid expression / Unexpected token near 'then'
--   go/parser/external/parser_test.go: 'select * from train TO train': expected a model reference such as sklearn.ensemble.RandomForestClassifier but the stateme
--   go/parser/external/tidb_parser_test.go: 'SELECT * FROM t1 TO TRAIN DNNClassifier': expected INTO but the statement ends
--   go/parser/external/tidb_parser_test.go: 'SELECT * FROM t1 TO TO TRAIN DNNClassifier': expected INTO but the statement ends
--   go/parser/external/tidb_parser_test.go: 'SELECT * FROM t1 t2 TO TRAIN DNNClassifier': expected INTO but the statement ends
--   go/parser/external/tidb_parser_test.go: 'SELECT * FROM t1 t2, t3 TO TRAIN DNNClassifier': expected INTO but the statement ends
--   go/parser/external/tidb_parser_test.go: 'SELECT * FROM t1 t2, t3 t4 TO TRAIN DNNClassifier': expected INTO but the statement ends
--   go/parser/external/tidb_parser_test.go: 'SELECT * FROM (SELECT * FROM t1) t2 TO TRAIN DNNClassifier': expected INTO but the statement ends
--   go/parser/sqlflow_parser.go: "select should followed by 'to train/predict/explain'": syntax error: Invalid expression / Unexpected token near 'by'
--   go/parser/sqlflow_parser_test.go: 'SELECT * FROM jtest_dev.sqlflow_fraud_detection': not one SQLFlow statement
--   go/parser/sqlflow_parser_test.go: 'SELECT * FROM a -- I am a comment': expected '=' after the attribute name, found 'c'
--   go/parser/sqlflow_parser_test.go: 'SELECT * FROM a ': expected '=' after the attribute name, found 'c'
--   go/parser/sqlflow_parser_test.go: "SELECT '--' FROM a -- I am a comment": expected '=' after the attribute name, found 'c'
--   go/parser/sqlflow_parser_test.go: "SELECT '--' FROM a ": expected '=' after the attribute name, found 'c'
--   go/parser/sqlflow_parser_test.go: 'SELECT "abc -- FROM a -- I am a comment': not one SQLFlow statement
--   go/sqlflowserver/sqlflowserver_test.go: 'SELECT * FROM some_table TO TRAIN SomeModel': expected INTO but the statement ends
--   go/workflow/couler/codegen_test.go: 'SELECT * FROM iris.train TO TRAIN\tDNNClassifier': unterminated string, quoted identifier or comment
--   go/workflow/couler/codegen_test.go: 'SELECT *': expected INTO, found 'eta'
--   python/runtime/local/submitter.py: 'select: string': syntax error: Required keyword: 'this' missing for <class 'sqlglot.expressions.core.Alias'
--   python/runtime/local/submitter_test.py: 'SELECT * FROM iris.test': expected LABEL, found 'INTO'
--   python/runtime/pai/submitter_evaluate.py: 'select: string': unterminated string, quoted identifier or comment
--   python/runtime/pai/submitter_test.py: 'SELECT * FROM iris.train': expected INTO, found 'validatioin'
--   python/runtime/pai/submitter_test.py: 'SELECT * FROM alifin_jtest_dev.sqlflow_iris_test': expected LABEL, found 'INTO'
--   python/runtime/pai/submitter_train.py: 'select: string': syntax error: Required keyword: 'this' missing for <class 'sqlglot.expressions.core.Alias'
--   python/runtime/step/create_result_table.py: 'select (str): the input data to predict.': syntax error: Invalid expression / Unexpected token near 'input'
--   python/runtime/step/tensorflow/explain.py: 'select (str): the input data to predict.': syntax error: Invalid expression / Unexpected token near 'input'
--   python/test_magic_elasticdl.py: 'SELECT * FROM iris.train': unknown attribute namespace 'eval'
