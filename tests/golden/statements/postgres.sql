-- Golden statements, PostgreSQL: "quoted identifiers", :: casts, dollar quotes.
SELECT "Sepal Length"::float AS sl, class FROM public.iris
TO TRAIN sklearn.neighbors.KNeighborsClassifier WITH model.n_neighbors = 5 LABEL class INTO knn;

SELECT * FROM public.iris WHERE note <> $$it's$$ TO PREDICT scored.class USING knn;

CREATE TABLE public.scored_pg AS SELECT id, ML_PREDICT(knn, sl) AS class FROM public.iris;
