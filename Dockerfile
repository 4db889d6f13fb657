# The Strongroom image: the `strongroom` command and nothing else.
# docker-compose.yml runs it as `init`, `api`, `worker`, `beat` and the `cli` service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package needs: no tests, no virtualenv, no local data.
COPY pyproject.toml README.md requirements.lock ./
COPY ingest ./ingest
COPY storage ./storage
COPY workers ./workers
COPY strongroom ./strongroom
COPY schemas ./schemas
# Every dependency at the version and hash the lock file names (as reproducible as the
# compose file's pinned service images); then the package itself, adding nothing.
RUN pip install --require-hashes -r requirements.lock \
    && pip install --no-deps . \
    && pip check \
    && rm -rf /src \
    && useradd --system --uid 10001 --create-home --home-dir /home/strongroom strongroom \
    && mkdir -p /var/lib/strongroom/staging \
    && chown strongroom: /var/lib/strongroom /var/lib/strongroom/staging
# /var/lib/strongroom/staging: where the API unpacks uploads (STRONGROOM_STAGING_DIR in
# docker-compose.yml). A fresh named volume mounted there takes this owner, so the
# API and the workers, both uid 10001, can write and read it.

# Never run as root: a worker only reads batches and talks to the services.
USER strongroom
WORKDIR /home/strongroom
CMD ["strongroom", "--help"]
