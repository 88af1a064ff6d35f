-- Golden statements, Trino.
SELECT * FROM hive.default.events CROSS JOIN UNNEST(tags) AS t (tag)
TO TRAIN sklearn.cluster.MiniBatchKMeans WITH model.n_clusters = 8 INTO tag_clusters;

SELECT * FROM hive.default.events TO PREDICT hive.default.scored.cluster USING tag_clusters;
