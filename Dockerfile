# Florin image: one image for the API (`florin serve`, the default), the
# background worker (`florin worker`) and migrations (`florin migrate`).
#
#   docker build -t florin .
#   docker run --rm -p 8000:8000 \
#     -e FLORIN_ENV=production -e FLORIN_SECRET_KEY=... -e FLORIN_ENCRYPTION_KEY=... \
#     -e FLORIN_DATABASE_URL=postgresql+asyncpg://... -e FLORIN_REDIS_URL=redis://... \
#     florin
#
# compose.yaml runs the whole stack (Postgres, Redis, migrations, API, worker).

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: install Florin and its dependencies into a virtualenv ----------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/florin
ENV PATH=/opt/florin/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY worker ./worker
RUN pip install .

# `florin migrate` (app/migrate.py) reads alembic.ini and migrations/ from the
# directory that holds the installed `app` package, i.e. site-packages.
COPY alembic.ini ./
COPY migrations ./migrations
RUN site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    && cp alembic.ini "$site/" \
    && cp -r migrations "$site/" \
    && python -I -c 'import pathlib, app; root = pathlib.Path(app.__file__).resolve().parent.parent; assert (root / "alembic.ini").is_file() and (root / "migrations" / "env.py").is_file(), root'

# --- runtime ----------------------------------------------------------------
FROM ${PYTHON_IMAGE}

ENV PATH=/opt/florin/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FLORIN_HOST=0.0.0.0 \
    FLORIN_PORT=8000 \
    FLORIN_DATA_DIR=/var/lib/florin

RUN groupadd --system --gid 10001 florin \
    && useradd --system --uid 10001 --gid florin --home-dir /var/lib/florin \
        --no-create-home --shell /usr/sbin/nologin florin \
    && install -d -o florin -g florin -m 0750 /var/lib/florin

COPY --from=build /opt/florin /opt/florin

WORKDIR /var/lib/florin

USER 10001:10001

EXPOSE 8000

# Only meaningful for `florin serve`; compose.yaml disables it for the worker
# and the one-shot migration.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('FLORIN_PORT', '8000') + '/healthz', timeout=4)"]

CMD ["florin", "serve"]
