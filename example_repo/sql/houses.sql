-- House price regression with features engineered in SQL.
CREATE TABLE raw_houses AS
SELECT * FROM read_csv('../data/houses.csv');

CREATE VIEW house_features AS
SELECT
    id,
    sqft,
    bedrooms,
    2026 - year_built AS age,
    distance_km,
    price,
    split
FROM raw_houses;

WITH training AS (
    SELECT * FROM house_features WHERE split = 'train'
)
SELECT sqft, bedrooms, age, distance_km, price
FROM training
TO TRAIN ghcr.io/sqlml-dagster/examples:0.1/sklearn.ensemble.GradientBoostingRegressor
WITH
    model.n_estimators = 200,
    model.max_depth = 3,
    model.learning_rate = 0.05
LABEL price
INTO house_price_gbr;

SELECT id, sqft, bedrooms, age, distance_km, price AS actual_price
FROM house_features
WHERE split = 'test'
TO PREDICT house_price_predictions.predicted_price
USING house_price_gbr;

-- The same prediction with a PyTorch network (models/house_net.py) and SQLFlow's COLUMN
-- clause: bedrooms one-hot, age bucketed; validated on the test rows while training.
SELECT sqft, bedrooms, age, distance_km, price
FROM house_features
WHERE split = 'train'
TO TRAIN house_net.HouseNet
WITH
    model.hidden = 32,
    train.epoch = 60,
    train.batch_size = 32,
    validation.select = "SELECT sqft, bedrooms, age, distance_km, price FROM house_features WHERE split = 'test'"
COLUMN sqft, distance_km, INDICATOR(CATEGORY_ID(bedrooms, 8)), INDICATOR(BUCKET(age, [10, 30, 50]))
LABEL price
INTO house_price_net;

SELECT id, sqft, bedrooms, age, distance_km, price AS actual_price
FROM house_features
WHERE split = 'test'
TO PREDICT house_net_predictions.predicted_price
USING house_price_net;
