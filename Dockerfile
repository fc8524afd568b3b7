# The one image every liqmon service runs from; docker-compose.yml starts it once per
# service as `liqmon run <service>`. It needs only its base image and PyPI packages (no
# apt-get), so it builds the same from the official python image and from the offline
# stand-in the compose test makes (tests/compose/standins.py).

# Stage 1: liqmon as a wheel, so the final image carries no source tree or build files.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# Stage 2: the wheel and its dependencies, byte-compiled at install (every healthcheck
# is a fresh interpreter: it should not recompile liqmon each time).
FROM python:3.11-slim
LABEL org.opencontainers.image.title="liqmon"
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=wheel /dist /dist
RUN pip install --no-cache-dir /dist/*.whl \
 && rm -rf /dist \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin liqmon
USER 10001
WORKDIR /tmp
# `python -m liqmon.healthcheck` checks the service this container runs (see its module).
# Each probe is a fresh interpreter (~0.2 s of CPU), hence 15 s between probes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-m", "liqmon.healthcheck"]
CMD ["liqmon", "--help"]
