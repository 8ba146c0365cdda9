# syntax=docker/dockerfile:1
# One image for the API and the workers of Descent Lab.
#   API:    uvicorn backend.main:app --host 0.0.0.0 --port 8000     (the default command)
#   worker: python -m backend.worker
# torch comes from PyPI by default (its Linux wheels carry CUDA, for GPU workers). For a small
# CPU-only image:  docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu .
FROM python:3.11-slim-bookworm

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DESCENT_DATA_DIR=/data

RUN useradd --create-home --uid 1000 descent \
    && mkdir -p /data /app \
    && chown descent:descent /data /app
WORKDIR /app

# torch first: the largest layer, rebuilt only when its version or index changes
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --index-url "$TORCH_INDEX_URL" "torch==${TORCH_VERSION}"; \
    else \
        pip install "torch==${TORCH_VERSION}"; \
    fi

# then the other dependencies, read from pyproject.toml (cached until it changes)
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# the code last; installed in place so the API finds the static page beside the package
COPY backend ./backend
COPY frontend ./frontend
RUN pip install --no-deps -e . && chown -R descent:descent /app

USER descent
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"

CMD ["uvicorn", "backend.main:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
