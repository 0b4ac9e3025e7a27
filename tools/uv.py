#!/usr/bin/env python3
"""Run the uv this project pins, fetching it once when it is not installed.

    python3 tools/uv.py run --frozen --no-default-groups payplane demo

Needs only Python 3 and its standard library: it works where ``pip install`` is refused
(PEP 668's "externally-managed-environment" on Debian 12, Ubuntu 24.04 and Homebrew's
Python), and creates no environment of its own. In order, it uses:

1. ``uv`` on ``PATH`` when it is the pinned version;
2. the pinned uv cached by an earlier run (``$XDG_CACHE_HOME/payplane/uv-<version>``,
   by default ``~/.cache/payplane/...``; ``%LOCALAPPDATA%`` on Windows);
3. otherwise it downloads uv's wheel for this platform from the package index (with
   ``pip download`` when pip is there, so pip's index configuration applies; else from
   ``$PIP_INDEX_URL`` or https://pypi.org/simple with the standard library), checks it
   against the SHA-256 pinned below, and keeps the ``uv`` binary from it in that cache.

Then it runs uv with the arguments given, with uv's folder first on ``PATH`` so that
tools uv starts (nox) find the same uv. Nothing is installed anywhere else.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

VERSION = "0.13.8"

# SHA-256 of each wheel of uv VERSION, as PyPI lists them (its simple index, PEP 691).
WHEELS = {
    "uv-0.13.8-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": (
        "e18a57b8b352eb7c8feb317b9f6f533c8f0ad9673fd6cf34bbe3cf1a9f6a8984"
    ),
    "uv-0.13.8-py3-none-musllinux_1_1_x86_64.whl": (
        "29451c60f5e8b07403e0a175d5229efc36b0289b34143ff4aaa499a5dd52553a"
    ),
    "uv-0.13.8-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl": (
        "0b3e8b1a4f5e405e31e2ff33de8af4744831e9f7338539671efbd8c3c94e791d"
    ),
    "uv-0.13.8-py3-none-manylinux_2_28_aarch64.whl": (
        "5337c30bb893b4f9ce0ceb921ba2da0d13f649da644f40ad3bef84083bef0203"
    ),
    "uv-0.13.8-py3-none-macosx_10_12_x86_64.whl": (
        "b7124ca1956ec2e476a1003ea5715a15f0266afaec37f4dc9c6972ba8183e6d1"
    ),
    "uv-0.13.8-py3-none-macosx_11_0_arm64.whl": (
        "62b6943c7fd64fac6854f780bea6e0359e5a5bc3241f83ee357bb38276afac49"
    ),
    "uv-0.13.8-py3-none-win_amd64.whl": (
        "cfbc13020a64cdf2f116d2936824c38edbf41e5c07f1ea291baf02e31ebf3ed0"
    ),
    "uv-0.13.8-py3-none-win_arm64.whl": (
        "b4184029b1b7c54409b9cd4372c73a36ef9c2d1d7cf3b0aca59c8b1932f041dc"
    ),
}

EXE = "uv.exe" if os.name == "nt" else "uv"


class UvError(Exception):
    """uv could not be found nor fetched; the message says what to do."""


def cache_dir() -> Path:
    """Where the fetched uv is kept, per user (shared by every clone)."""
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "payplane" / f"uv-{VERSION}"


def installed_uv() -> Path | None:
    """The ``uv`` on PATH when it is the pinned version."""
    found = shutil.which("uv")
    if found is None:
        return None
    try:
        out = subprocess.run(
            [found, "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(found) if out.split()[1:2] == [VERSION] else None


def wheel_for_this_platform() -> str:
    """The name of uv's wheel for this machine.

    Raises:
        UvError: no pinned wheel fits this platform.
    """
    system, machine = sys.platform, platform.machine().lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if system.startswith("linux"):
        musl = platform.libc_ver()[0] != "glibc"
        if arch == "x86_64":
            tag = "musllinux_1_1_x86_64" if musl else "manylinux_2_17_x86_64.manylinux2014_x86_64"
        elif arch == "aarch64":
            tag = "manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64"
        else:
            tag = ""
    elif system == "darwin":
        tag = {"x86_64": "macosx_10_12_x86_64", "aarch64": "macosx_11_0_arm64"}.get(arch, "")
    elif system == "win32":
        tag = {"x86_64": "win_amd64", "aarch64": "win_arm64"}.get(arch, "")
    else:
        tag = ""
    name = f"uv-{VERSION}-py3-none-{tag}.whl"
    if not tag or name not in WHEELS:
        msg = (
            f"no pinned uv {VERSION} wheel for {system} {machine}: install uv {VERSION} "
            "yourself (https://docs.astral.sh/uv/getting-started/installation/) and run "
            "uv with the same arguments"
        )
        raise UvError(msg)
    return name


def download_with_pip(into: Path) -> Path | None:
    """``pip download`` uv's wheel (pip's own index settings apply); None without pip."""
    if importlib.util.find_spec("pip") is None:
        return None
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(into),
        f"uv=={VERSION}",
    ]
    if subprocess.run(command, check=False).returncode != 0:
        return None
    wheels = sorted(into.glob(f"uv-{VERSION}-*.whl"))
    return wheels[0] if wheels else None


def download_with_urllib(into: Path) -> Path:
    """Download uv's wheel for this platform from the index with the standard library.

    Raises:
        UvError: the index does not list it, or it cannot be fetched.
    """
    name = wheel_for_this_platform()
    index = (os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple").rstrip("/")
    request = urllib.request.Request(  # noqa: S310 - an https index by default
        f"{index}/uv/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            files = json.load(answer)["files"]
        url = next(f["url"] for f in files if f["filename"] == name)
        target = into / name
        with urllib.request.urlopen(url, timeout=300) as answer, target.open("wb") as out:  # noqa: S310
            shutil.copyfileobj(answer, out)
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        msg = f"could not download {name} from {index}: {exc}"
        raise UvError(msg) from exc
    return target


def fetch_uv() -> Path:
    """Download, check and unpack the pinned uv into the cache; return the binary.

    Raises:
        UvError: it cannot be downloaded, or its checksum does not match.
    """
    destination = cache_dir()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"tools/uv.py: fetching uv {VERSION} into {destination}", file=sys.stderr)
        wheel = download_with_pip(folder) or download_with_urllib(folder)
        expected = WHEELS.get(wheel.name)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if expected is None or digest != expected:
            msg = f"{wheel.name} does not match the pinned checksum: not using it"
            raise UvError(msg)
        with zipfile.ZipFile(wheel) as archive:
            member = f"uv-{VERSION}.data/scripts/{EXE}"
            data = archive.read(member)
        destination.mkdir(parents=True, exist_ok=True)
        partial = destination / f".{EXE}.partial"
        partial.write_bytes(data)
        partial.chmod(0o755)
        partial.replace(destination / EXE)  # atomic: a concurrent run sees all or nothing
    return destination / EXE


def find_uv() -> Path:
    """The pinned uv: on PATH, cached, or fetched now."""
    cached = cache_dir() / EXE
    return installed_uv() or (cached if cached.is_file() else fetch_uv())


def main(argv: list[str]) -> int:
    """Run uv with *argv*; return its exit code."""
    try:
        uv = find_uv()
    except UvError as exc:
        print(f"tools/uv.py: error: {exc}", file=sys.stderr)
        return 2
    os.environ["PATH"] = str(uv.parent) + os.pathsep + os.environ.get("PATH", "")
    if os.name != "nt":
        os.execv(uv, [str(uv), *argv])  # noqa: S606 - replaces this process with uv
    return subprocess.run([str(uv), *argv], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
