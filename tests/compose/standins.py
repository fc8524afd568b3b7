"""Offline stand-ins for the base images the Dockerfile and docker-compose.yml name.

CI machines reach package registries (Debian, PyPI) but no image registry, so the compose
test cannot pull `python:3.11-slim` or `redis:7.2-alpine`. This module builds images
under exactly those names from a Debian bookworm root file system (debootstrap: its
python3 is 3.11, and it ships redis-server), so the real Dockerfile and compose file run
unchanged:

- `python:3.11-slim`: a venv at /usr/local (so `python` and `pip` are on PATH as in the
  official image) and a wheelhouse of liqmon's dependencies downloaded on the host
  (`pip download`), with `PIP_NO_INDEX`/`PIP_FIND_LINKS` set, so `pip install .` inside
  the build needs no network.
- `redis:7.2-alpine`: Debian's redis-server (7.0) running as the `redis` user in /data.

An image already present under one of these names is used as it is unless it is a stale
stand-in (its `org.liqmon.standin` label differs from the inputs' key): real users keep
their real images. Everything built is cached between runs: the trimmed root file system
as a tarball in the cache directory (`LIQMON_CI_CACHE`, else /var/cache/liqmon-ci when
writable, else ~/.cache/liqmon-ci), the wheelhouse beside it, the images in Docker.

    python -m tests.compose.standins     # build what is missing, print what it did
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PYTHON_IMAGE = "python:3.11-slim"
REDIS_IMAGE = "redis:7.2-alpine"
LABEL = "org.liqmon.standin"
SUITE = "bookworm"
MIRROR = os.environ.get("LIQMON_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ("python3", "python3-venv", "redis-server", "redis-tools", "ca-certificates")
#: Trimmed from the root file system: documentation, translations and apt's own caches.
TRIM = (
    "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
    "var/cache/apt", "var/lib/apt/lists", "var/log",
)  # fmt: skip
#: Bump when the recipes below change, so cached stand-ins are rebuilt.
RECIPE_VERSION = "1"
NOT_FOUND = re.compile(r"No matching distribution found for (.+)")

PYTHON_DOCKERFILE = """\
FROM {rootfs}
RUN python3 -m venv /usr/local && mkdir -p /wheels
COPY wheels/ /wheels/
ENV LANG=C.UTF-8 PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels PIP_DISABLE_PIP_VERSION_CHECK=1
CMD ["python3"]
LABEL {label}={key}
"""

REDIS_DOCKERFILE = """\
FROM {rootfs}
RUN mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server"]
LABEL {label}={key}
"""


def log(message: str) -> None:
    sys.stderr.write(f"[standins] {message}\n")
    sys.stderr.flush()


def cache_dir() -> Path:
    if configured := os.environ.get("LIQMON_CI_CACHE"):
        path = Path(configured)
    elif os.access("/var/cache", os.W_OK):
        path = Path("/var/cache/liqmon-ci")
    else:
        path = Path.home() / ".cache" / "liqmon-ci"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run(*args: str | Path, **kwargs: Any) -> None:
    """Run a command; its chatter is shown only when it fails."""
    done = subprocess.run([str(a) for a in args], text=True, capture_output=True, **kwargs)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        done.check_returncode()


def image_label(image: str) -> str | None:
    """The image's stand-in label; "" for an image without one; None when it is absent."""
    found = subprocess.run(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            f'{{{{index .Config.Labels "{LABEL}"}}}}',
            image,
        ],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        return None
    return found.stdout.strip().replace("<no value>", "")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def rootfs_key() -> str:
    return _digest(RECIPE_VERSION, SUITE, MIRROR, *PACKAGES, *TRIM)


def wheelhouse(cache: Path, rootfs: str) -> Path:
    """liqmon's dependencies (and its build backend) as wheels for the stand-in's Python,
    keyed by pyproject.toml and the root file system."""
    key = _digest(RECIPE_VERSION, (REPO / "pyproject.toml").read_text(), rootfs)
    target = cache / f"wheelhouse-{key}"
    if (target / ".complete").exists():
        return target
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="wheelhouse-", dir=cache))
    tmp.chmod(0o755)
    requirements = tmp / "requirements.txt"
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    requirements.write_text("\n".join([*deps, "setuptools>=68", "wheel"]) + "\n")
    _download(tmp, "-r", str(requirements))
    # The host's pip evaluates markers for the host's Python, and the stand-in's may be
    # another 3.11 patch release (bookworm: 3.11.2, which needs e.g. async-timeout): ask
    # the stand-in's own pip, offline, what it still misses, until it misses nothing.
    for _ in range(5):
        missing = _missing_in(rootfs, tmp)
        if not missing:
            break
        _download(tmp, *missing)
    else:
        raise RuntimeError(f"wheelhouse still incomplete for the stand-in: {missing}")
    (tmp / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    for stale in cache.glob("wheelhouse-*/.complete"):  # earlier dependency sets
        if stale.parent != target:
            shutil.rmtree(stale.parent, ignore_errors=True)
    count = len(list(target.glob("*.whl")))
    log(f"wheelhouse {target.name}: {count} wheels in {time.monotonic() - began:.0f}s")
    return target


def _download(dest: Path, *requirements: str) -> None:
    # wheels only, for CPython 3.11 on x86-64 Linux (bookworm's python3)
    _run(
        sys.executable, "-m", "pip", "download", "--quiet", "--dest", dest,
        "--only-binary", ":all:", "--python-version", "3.11", "--implementation", "cp",
        "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
        "--platform", "linux_x86_64", *requirements,
    )  # fmt: skip


def _missing_in(rootfs: str, wheels: Path) -> list[str]:
    """Requirements the stand-in's pip cannot satisfy from `wheels` (no network)."""
    probe = subprocess.run(
        [
            "docker", "run", "--rm", "--network", "none", "-v", f"{wheels}:/wheels:ro",
            rootfs, "sh", "-c",
            "python3 -m venv /tmp/venv && /tmp/venv/bin/pip download --no-index"
            " --find-links /wheels --dest /tmp/dl -r /wheels/requirements.txt",
        ],
        capture_output=True, text=True,
    )  # fmt: skip
    if probe.returncode == 0:
        return []
    missing = [req.split(";")[0].strip() for req in NOT_FOUND.findall(probe.stderr)]
    if not missing:
        sys.stderr.write(probe.stdout + probe.stderr)
        probe.check_returncode()
    return missing


def rootfs_tarball(cache: Path) -> Path:
    """A trimmed Debian root file system with python3 and redis-server (debootstrap)."""
    tarball = cache / f"rootfs-{SUITE}-{rootfs_key()}.tar"
    if tarball.exists():
        return tarball
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed (apt-get install debootstrap)")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=cache) as tmp:
        root = Path(tmp) / "root"
        _run(
            "debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
            SUITE, root, MIRROR,
        )  # fmt: skip
        for part in TRIM:
            shutil.rmtree(root / part, ignore_errors=True)
            (root / part).mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial")
        _run(
            "tar", "--numeric-owner", "--exclude=./proc/*", "--exclude=./sys/*",
            "--exclude=./dev/*", "-C", root, "-cf", partial, ".",
        )  # fmt: skip
        partial.rename(tarball)
    for stale in cache.glob("rootfs-*.tar"):  # earlier recipes
        if stale != tarball:
            stale.unlink()
    log(f"root file system {tarball.name} in {time.monotonic() - began:.0f}s")
    return tarball


def rootfs_image(cache: Path) -> str:
    image = f"liqmon-standin/{SUITE}:{rootfs_key()}"
    if image_label(image) is None:
        tarball = rootfs_tarball(cache)
        _run("docker", "import", tarball, image)
        log(f"imported {image}")
    return image


def build(image: str, dockerfile: str, context: Path) -> None:
    (context / "Dockerfile").write_text(dockerfile)
    began = time.monotonic()
    _run("docker", "build", "--quiet", "--tag", image, context)
    log(f"built stand-in {image} in {time.monotonic() - began:.0f}s")


def ensure() -> list[str]:
    """Build every missing or stale stand-in; returns the names built (empty: all cached)."""
    # an image without the label is a real one (pulled by its owner): never replace it
    wanted = [image for image in (PYTHON_IMAGE, REDIS_IMAGE) if image_label(image) != ""]
    if not wanted:
        return []
    cache = cache_dir()
    rootfs = rootfs_image(cache)
    wheels = wheelhouse(cache, rootfs)
    recipes = {
        PYTHON_IMAGE: (PYTHON_DOCKERFILE, _digest(rootfs, wheels.name, PYTHON_DOCKERFILE)),
        REDIS_IMAGE: (REDIS_DOCKERFILE, _digest(rootfs, REDIS_DOCKERFILE)),
    }
    built = []
    for image in wanted:
        recipe, key = recipes[image]
        if image_label(image) == key:
            continue
        with tempfile.TemporaryDirectory(prefix="standin-") as tmp:
            context = Path(tmp)
            if image == PYTHON_IMAGE:
                shutil.copytree(wheels, context / "wheels")
            build(image, recipe.format(rootfs=rootfs, label=LABEL, key=key), context)
        built.append(image)
    # a rebuilt stand-in leaves its predecessor untagged
    _run("docker", "image", "prune", "--force", "--filter", f"label={LABEL}")
    return built


if __name__ == "__main__":
    began = time.monotonic()
    names = ensure()
    log(f"{', '.join(names) or 'nothing to build (cached)'}; {time.monotonic() - began:.1f}s")
