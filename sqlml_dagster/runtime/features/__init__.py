"""SQLFlow's ``COLUMN`` clause at run time: one encoder from Arrow data to numpy.

``TO TRAIN m COLUMN NUMERIC(x, 1), EMBEDDING(CATEGORY_ID(city, 100), 8, mean) LABEL y``
says how the selected columns become a model's inputs. The compiler hands each expression
over as JSON (``FeatureColumn.to_json()``); this package turns that into a
:class:`FeaturePlan`, fits what needs data (vocabularies, means and standard deviations) in
one streaming pass, and encodes any batch into numbers. The fitted plan is saved as JSON
beside the model, so prediction — in another process, on another machine, months later —
encodes exactly as training did. Only numpy and pyarrow are used here: the framework layers
(``flavors/_torch_features.py``, ``flavors/_keras_features.py``) are thin shells over the
same :class:`Encoded` arrays, so PyTorch and Keras models agree on what a feature means.

An encoded batch has two parts:

* ``dense`` — float32 ``[rows, dense_width]``: numeric columns (``NUMERIC``, ``DENSE``, bare
  columns; standardized when fitted with ``normalize``) and ``INDICATOR`` multi-hots;
* ``bags`` — one int64 ``[rows, L]`` array of ids per ``EMBEDDING``, padded with ``-1`` to
  the longest row of that batch (``L`` is at least 1), for ``EmbeddingBag``-style lookups.

What each function means here:

=======================================  ==================================================
``x`` / ``NUMERIC(x[, shape])``          floats; ``shape`` > 1 reads a list column or a
                                         ``,``-separated string of exactly that many numbers
``DENSE(x, shape[, delimiter])``         the same, with a delimiter of your choice
``CATEGORY_ID(x, n[, delimiter])``       integer column: the ids themselves, outside
                                         ``[0, n)`` ignored; string column: the ``n`` most
                                         frequent values of the training data (ties by
                                         value) get ids ``0..``, unseen values are ignored;
                                         with a delimiter a row holds several
``SEQ_CATEGORY_ID(x, n[, delimiter])``   the same; ids keep the order they are written in
                                         (so do ``CATEGORY_ID``'s)
``CATEGORY_HASH(x, n[, delimiter])``     blake2b of each value's UTF-8 text (integers as
                                         decimal text) mod ``n``: stable everywhere
``SPARSE(x, shape[, delimiter, dtype])`` delimited integer ids in ``[0, shape)``; others
                                         are ignored, a token that is no integer is an error
``BUCKET(x, [b1, b2, …])``               the bucket index ``0..len(boundaries)``, like
                                         ``tf.feature_column.bucketized_column``
``CROSS([a, b, …], n)``                  a hash of the combined values mod ``n``; a key is a
                                         column (string/integer) or any categorical above;
                                         keys with several ids per row cross every pair
``INDICATOR(categorical)``               a multi-hot of width ``n`` in ``dense``
``EMBEDDING(categorical, dim[, combiner  a bag of ids; the framework layer looks up ``dim``
[, initializer]])``                      wide vectors and combines them (``mean``, ``sum``
                                         or ``sqrtn``)
=======================================  ==================================================

A categorical written at the top level without ``INDICATOR`` or ``EMBEDDING`` is read as
``INDICATOR(…)``: there is only one sensible way to feed ids to a dense model, and SQLFlow
users write ``COLUMN CATEGORY_ID(c, 10)`` expecting it to work. Missing numbers (null, NaN,
±inf) become the training mean — 0 after standardization — or 0 when the plan does not
normalize; missing categorical values (null, empty tokens) contribute no id, and a missing
number in ``BUCKET`` falls in no bucket. Everything a user can get wrong in SQL is a
:class:`~sqlml_dagster.runtime.StepError` that names the column and the function.

The package, one idea a module, each importing only modules listed below it:

* :mod:`.plan` — :class:`FeaturePlan`, the entry point and its versioned JSON;
* :mod:`.builder` — the ``COLUMN`` clause's JSON checked against the schema, into nodes;
* :mod:`.encoders` — the nodes: what each function does to a batch, and their JSON;
* :mod:`.fitting` — the one streaming pass that learns vocabularies and moments;
* :mod:`.hashing` — stable 64-bit hashes for ``CATEGORY_HASH`` and ``CROSS``;
* :mod:`.arrow` — Arrow columns to numpy (tokens, numbers, ids, ragged rows);
* :mod:`.encoded` — :class:`Encoded` and :class:`Bag`, what the framework layers read.
"""

from .encoded import Bag, Encoded
from .plan import FeaturePlan

__all__ = ["Bag", "Encoded", "FeaturePlan"]
