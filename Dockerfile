# The sqlml-dagster runtime base image: what a Kubernetes Job runs for an ML step
# (`python -m sqlml_dagster.runtime SPEC_URI`). Build it, then build model images FROM it
# with your own model package (docs/kubernetes.md).
#
#   docker build -t sqlml-dagster-runtime:0.1.0 .
#
# GPU variant: start FROM an image with CUDA (e.g. nvidia/cuda:12.4.1-runtime-ubuntu22.04
# plus python3.11, or pytorch/pytorch:*-cuda*-runtime) and keep the same pip install; the
# launcher requests GPUs with `WITH resources.gpu = N` (resource name configurable).
#
# Deep-learning steps need their framework in the image: build with
#   --build-arg FRAMEWORKS="torch safetensors"                       (PyTorch, built-in DNNs)
#   --build-arg FRAMEWORKS="keras tf-keras tensorflow-cpu"           (Keras, SQLFlow zoo files)
#   --build-arg FRAMEWORKS="matplotlib shap"                         (EXPLAIN's plot and SHAP)
#   --build-arg FRAMEWORKS="pyomo highspy"                          (TO MAXIMIZE / TO MINIMIZE)
#   --build-arg FRAMEWORKS="xgboost-cpu"                             (SQLFlow's XGBoost estimators)
# and copy model packages into /models (on PYTHONPATH), e.g. in a derived image:
#   FROM sqlml-dagster-runtime:0.1.0
#   COPY models/ /models/
FROM python:3.11-slim

ARG FRAMEWORKS=""
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PYTHONPATH=/models

WORKDIR /opt/sqlml
COPY pyproject.toml README.md constraints.txt ./
COPY sqlml_dagster ./sqlml_dagster
# The runtime subset only (no Dagster webserver, no compiler deps at run time) plus s3fs
# for s3:// stores and the `serve` extra (starlette, uvicorn), so the same image serves a
# version (`python -m sqlml_dagster.serving`, `sqlml compile --k8s --serve`); constraints
# pin the same versions the test suite runs.
RUN pip install --no-deps . \
 && pip install -c constraints.txt "dagster-pipes" "pyarrow" "fsspec" "numpy" "scikit-learn" "skops" "s3fs" "starlette" "uvicorn" \
 && if [ -n "$FRAMEWORKS" ]; then pip install -c constraints.txt $FRAMEWORKS; fi \
 && mkdir -p /models \
 && groupadd --gid 10001 sqlml \
 && useradd --create-home --uid 10001 --gid 10001 sqlml

# A numeric, non-root user: the launcher's default runAsUser/runAsGroup (RUNTIME_UID), so
# step pods pass Pod Security `restricted` (runAsNonRoot needs a numeric id to verify).
USER 10001:10001
WORKDIR /home/sqlml
ENTRYPOINT []
CMD ["python", "-m", "sqlml_dagster.runtime", "--help"]
