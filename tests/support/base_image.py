"""Stand-in container images for the image tests, built once and cached in the vfs store.

No container registry is reachable from the test machines, so the generated Dockerfile's
pinned defaults (``python:3.x-slim-trixie@sha256:...`` and ``ghcr.io/astral-sh/uv:...``)
cannot be pulled. The tests pass stand-ins through the same build ARGs instead:

* ``PYTHON_IMAGE``: Debian trixie (minbase) with Debian's python3.13, made with debootstrap
  and imported with buildah. Its tag carries a hash of the recipe below, so a changed recipe
  makes a new image and an unchanged one is reused across runs (the tests' vfs store persists
  on the machine, and CI runs on the same machine as the session that submitted it).
* ``UV_IMAGE``: a ``scratch`` image holding ``/uv`` and ``/uvx`` exactly where the official
  ``ghcr.io/astral-sh/uv`` image has them, taken from the pinned ``uv`` wheel of the
  ``image`` tool group, so the builder stage runs the same uv version as the default.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# A store of the tests' own (vfs: no overlay or fuse needed), so another tool's store on the
# machine, possibly with another graph driver, neither breaks nor sees these images.
STORAGE_ROOT = Path(
    os.environ.get("TEMPLATE_CONTAINERS_ROOT", "/var/lib/containers/fastapi-service-template")
)
STORAGE = [
    "--root",
    str(STORAGE_ROOT),
    "--runroot",
    "/run/containers/fastapi-service-template",
    "--storage-driver",
    "vfs",
]
BUILDAH = ["buildah", *STORAGE]


@dataclass(frozen=True)
class Recipe:
    """Everything that shapes the stand-in base: change any of it and the tag changes."""

    tool: str = "debootstrap"
    suite: str = "trixie"
    variant: str = "minbase"
    mirror: str = "http://deb.debian.org/debian"
    # python3 and ca-certificates as in python:3.13-slim, python3-venv for `python -m venv`.
    include: tuple[str, ...] = ("python3", "python3-venv", "ca-certificates")
    # Trimmed like the official slim images: no apt lists, docs, man pages or logs.
    prune: tuple[str, ...] = (
        "var/lib/apt/lists",
        "var/cache/apt",
        "var/cache/debconf/templates.dat-old",
        "usr/share/doc",
        "usr/share/man",
        "usr/share/info",
        "var/log",
    )
    env: tuple[str, ...] = (
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG=C.UTF-8",
    )
    cmd: tuple[str, ...] = ("python3",)
    python: str = "3.13"
    revision: int = 1

    @property
    def key(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    @property
    def image(self) -> str:
        return f"localhost/template-standin-python:{self.python}-{self.suite}-{self.key}"


BASE_RECIPE = Recipe()


def _sh(cmd: list[str], timeout: float = 900, **kwargs: object) -> str:
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(cmd)}` exited {proc.returncode}\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return str(proc.stdout)


def image_exists(name: str) -> bool:
    proc = subprocess.run(
        [*BUILDAH, "inspect", "--type", "image", "--format", "{{.FromImageID}}", name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode == 0


def image_size(name: str) -> int:
    """Uncompressed size in bytes of all layers of a local image (what `buildah images` shows)."""
    manifest = json.loads(
        _sh([*BUILDAH, "inspect", "--type", "image", "--format", "{{.Manifest}}", name])
    )
    return sum(int(layer["size"]) for layer in manifest["layers"])


class _Lock:
    """Serialise image creation across xdist workers and concurrent runs."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("w")

    def __enter__(self) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()


def ensure_base_image(cache: Path, recipe: Recipe = BASE_RECIPE) -> tuple[str, float]:
    """Return (image name, seconds spent creating it; 0.0 when it was cached)."""
    name = recipe.image
    if image_exists(name):
        return name, 0.0
    with _Lock(cache / "image" / ".base.lock"):
        if image_exists(name):
            return name, 0.0
        started = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix="standin-", dir=cache / "image"))
        rootfs = work / "rootfs"
        ctr = None
        try:
            _sh(
                [
                    "debootstrap",
                    f"--variant={recipe.variant}",
                    f"--include={','.join(recipe.include)}",
                    recipe.suite,
                    str(rootfs),
                    recipe.mirror,
                ],
                timeout=1800,
            )
            for rel in recipe.prune:
                target = rootfs / rel
                if target.is_dir():
                    for child in target.iterdir():
                        if child.is_dir() and not child.is_symlink():
                            shutil.rmtree(child)
                        else:
                            child.unlink()
                elif target.exists():
                    target.unlink()
            ctr = _sh([*BUILDAH, "from", "scratch"]).strip()
            mnt = Path(_sh([*BUILDAH, "mount", ctr]).strip())
            # tar keeps owners, modes, hard links and device nodes exactly.
            tar = subprocess.Popen(
                ["tar", "-C", str(rootfs), "-cf", "-", "."], stdout=subprocess.PIPE
            )
            _sh(["tar", "-C", str(mnt), "--numeric-owner", "-xpf", "-"], stdin=tar.stdout)
            if tar.wait(timeout=600) != 0:
                raise RuntimeError("tar of the debootstrap rootfs failed")
            _sh([*BUILDAH, "umount", ctr])
            config = [*BUILDAH, "config"]
            for env in recipe.env:
                config += ["--env", env]
            config += ["--cmd", json.dumps(list(recipe.cmd))]
            config += [
                "--label",
                "org.opencontainers.image.description="
                f"stand-in for python:{recipe.python}-slim-{recipe.suite}",
            ]
            _sh([*config, ctr])
            _sh([*BUILDAH, "commit", "--rm", ctr, name], timeout=900)
            ctr = None
        finally:
            if ctr:
                subprocess.run([*BUILDAH, "rm", ctr], capture_output=True, check=False)
            shutil.rmtree(work, ignore_errors=True)
        return name, time.monotonic() - started


def uv_image_name(uv_binary: Path) -> str:
    version = _sh([str(uv_binary), "--version"]).split()[1]
    digest = hashlib.sha256(uv_binary.read_bytes()).hexdigest()[:12]
    return f"localhost/template-standin-uv:{version}-{digest}"


def ensure_uv_image(cache: Path, uv_binary: Path) -> str:
    """A scratch image with /uv and /uvx, laid out like ghcr.io/astral-sh/uv."""
    name = uv_image_name(uv_binary)
    if image_exists(name):
        return name
    with _Lock(cache / "image" / ".uv.lock"):
        if image_exists(name):
            return name
        ctr = _sh([*BUILDAH, "from", "scratch"]).strip()
        try:
            _sh([*BUILDAH, "copy", "--chmod", "0755", ctr, str(uv_binary), "/uv"])
            _sh([*BUILDAH, "copy", "--chmod", "0755", ctr, str(uv_binary.with_name("uvx")), "/uvx"])
            _sh([*BUILDAH, "config", "--entrypoint", '["/uv"]', ctr])
            _sh([*BUILDAH, "commit", "--rm", ctr, name])
        except BaseException:
            subprocess.run([*BUILDAH, "rm", ctr], capture_output=True, check=False)
            raise
        return name


if __name__ == "__main__":  # build the stand-ins by hand: python tests/support/base_image.py
    here = Path(__file__).resolve().parents[2]
    cache_dir = Path(os.environ.get("TEMPLATE_CACHE", here / ".cache"))
    print(ensure_base_image(cache_dir))
