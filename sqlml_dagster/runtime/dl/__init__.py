"""What the deep-learning flavors (PyTorch, Keras) share: the training settings written in
``WITH train.* / validation.*``, the label's task and classes, and the data feed that turns
Parquet into encoded numpy batches — framework-neutral, so each flavor only turns arrays
into its own tensors.

A flavor's training step calls :func:`prepare` (one streaming pass fits the feature plan and
scans the label), trains on :class:`Feed` epochs, records a :class:`History`, and hands
what it trained to :func:`publish_training`; its predict step hands a :class:`DLPredictor`
to :func:`predict_step`.

The package, one idea a module, each importing only modules listed below it:

* :mod:`.publishing` — :class:`Trained` and :func:`publish_training`, the end of a training
  step: artifacts, ``signature.json`` and the ``TrainingResult``;
* :mod:`.preparation` — :class:`Prepared` and :func:`prepare`, the start of one;
* :mod:`.predict` — :func:`predict_step`, scoring a SELECT batch by batch into Parquet;
* :mod:`.predictor` — :class:`DLPredictor`, raw outputs to labels and probabilities;
* :mod:`.constructor` — :func:`model_kwargs`, ``WITH model.*`` checked against a constructor;
* :mod:`.checkpoints` — :class:`Checkpoints`, ``train.checkpoint_every``'s resumable state;
* :mod:`.early_stop` — :class:`EarlyStopping`, ``train.early_stop``'s rule;
* :mod:`.history` — :class:`History`, per-epoch progress;
* :mod:`.feed` — :class:`Feed` and :class:`Arrays`, Parquet to encoded minibatches;
* :mod:`.metrics` — :func:`scores`, class indices and probabilities of raw outputs;
* :mod:`.target` — :class:`Target`, the label's task and classes, and the scan that guesses them;
* :mod:`.settings` — :class:`TrainSettings`, ``train.*``, ``validation.*``, ``resources.gpu``.
"""

from . import checkpoints
from .checkpoints import Checkpoints
from .constructor import model_kwargs
from .early_stop import EarlyStopping
from .feed import Arrays, Feed, take, trimmed_bag
from .history import History
from .metrics import are_probabilities, scores
from .predict import predict_step
from .predictor import DLPredictor
from .preparation import Prepared, prepare
from .publishing import Trained, publish_training
from .settings import TrainSettings
from .target import Target

__all__ = [
    "Arrays",
    "Checkpoints",
    "DLPredictor",
    "EarlyStopping",
    "Feed",
    "History",
    "Prepared",
    "Target",
    "TrainSettings",
    "Trained",
    "are_probabilities",
    "checkpoints",
    "model_kwargs",
    "predict_step",
    "prepare",
    "publish_training",
    "scores",
    "take",
    "trimmed_bag",
]
