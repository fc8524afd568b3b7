# The one base image every liqmon service runs from: the `liqmon` package and its
# dependencies. Each service's own Dockerfile (services/*/Dockerfile) starts FROM it and
# only sets the command and the healthcheck.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 liqmon
USER liqmon
# A tiny healthcheck helper usable by every service: exits 0 when the URL answers 200.
ENV LIQMON_HEALTH_URL=""
