"""The newcomer's path: README's two commands, and the uv bootstrap they run through.

`.ci/run` runs the README's commands verbatim under Debian's system Python (pip refuses
installs there, PEP 668); these tests pin what that relies on without the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("uv_bootstrap", ROOT / "tools" / "uv.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


uv_bootstrap = _load_bootstrap()


def _readme_command(name: str) -> str:
    """The command .ci/run extracts: the line after the marker's ```console fence."""
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^<!-- ci: {name} -->\n```console\n(.+)\n```$", text, re.MULTILINE)
    assert match is not None, f"README.md has no command under <!-- ci: {name} -->"
    return match.group(1)


@pytest.mark.parametrize("name", ["main-job", "tests"])
def test_readme_commands_need_only_python3(name: str) -> None:
    """Each README command starts with `python3 tools/uv.py`: no pip install anywhere."""
    command = _readme_command(name)
    assert command.startswith("python3 tools/uv.py ")
    assert "pip install" not in command


def test_ci_runs_the_readme_commands() -> None:
    """.ci/run takes both commands from README.md, so they cannot drift apart."""
    script = (ROOT / ".ci" / "run").read_text()
    assert "readme_command main-job" in script
    assert "readme_command tests" in script


def test_ci_extraction_gives_the_commands() -> None:
    """The sed pipeline of .ci/run yields exactly the README's command lines."""
    script = (ROOT / ".ci" / "run").read_text()
    function = script[script.index("readme_command() {") : script.index("}\n") + 2]
    for name in ("main-job", "tests"):
        out = subprocess.run(
            ["bash", "-c", f"{function}\nreadme_command {name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out == _readme_command(name) + "\n"


@pytest.mark.parametrize(
    ("system", "machine", "libc", "suffix"),
    [
        ("linux", "x86_64", "glibc", "manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        ("linux", "x86_64", "", "musllinux_1_1_x86_64.whl"),
        ("linux", "aarch64", "glibc", "musllinux_1_1_aarch64.whl"),
        ("darwin", "arm64", "", "macosx_11_0_arm64.whl"),
        ("darwin", "x86_64", "", "macosx_10_12_x86_64.whl"),
        ("win32", "AMD64", "", "win_amd64.whl"),
    ],
)
def test_a_pinned_wheel_fits_each_common_platform(
    monkeypatch: pytest.MonkeyPatch, system: str, machine: str, libc: str, suffix: str
) -> None:
    """Linux (glibc and musl), macOS and Windows on x86-64 and ARM have a pinned wheel."""
    monkeypatch.setattr(uv_bootstrap.sys, "platform", system)
    monkeypatch.setattr(uv_bootstrap.platform, "machine", lambda: machine)
    monkeypatch.setattr(uv_bootstrap.platform, "libc_ver", lambda: (libc, ""))
    name = uv_bootstrap.wheel_for_this_platform()
    assert name.endswith(suffix)
    assert name in uv_bootstrap.WHEELS


def test_an_unknown_platform_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pinned wheel: an error that points at uv's own installer, not a traceback."""
    monkeypatch.setattr(uv_bootstrap.sys, "platform", "sunos5")
    with pytest.raises(uv_bootstrap.UvError, match="install uv"):
        uv_bootstrap.wheel_for_this_platform()


def _fake_wheel(folder: Path, name: str, binary: bytes) -> Path:
    wheel = folder / name
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"uv-{uv_bootstrap.VERSION}.data/scripts/{uv_bootstrap.EXE}", binary)
    return wheel


def test_a_wheel_that_does_not_match_the_checksum_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A tampered (or substituted) download is never unpacked nor run."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    name = next(iter(uv_bootstrap.WHEELS))
    monkeypatch.setattr(
        uv_bootstrap, "download_with_pip", lambda into: _fake_wheel(into, name, b"evil")
    )
    with pytest.raises(uv_bootstrap.UvError, match="checksum"):
        uv_bootstrap.fetch_uv()
    assert not (tmp_path / "cache" / "payplane").exists() or not any(
        (tmp_path / "cache" / "payplane").rglob(uv_bootstrap.EXE)
    )


def test_a_matching_wheel_is_unpacked_into_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The binary lands, executable, in the per-user cache; the next run reuses it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    name = next(iter(uv_bootstrap.WHEELS))
    binary = b"#!/bin/sh\necho uv\n"
    wheel = _fake_wheel(tmp_path, name, binary)
    monkeypatch.setitem(uv_bootstrap.WHEELS, name, hashlib.sha256(wheel.read_bytes()).hexdigest())
    monkeypatch.setattr(
        uv_bootstrap, "download_with_pip", lambda into: Path(wheel.replace(into / name))
    )
    path = uv_bootstrap.fetch_uv()
    assert path == tmp_path / "cache" / "payplane" / f"uv-{uv_bootstrap.VERSION}" / uv_bootstrap.EXE
    assert path.read_bytes() == binary
    assert path.stat().st_mode & 0o111
    monkeypatch.setattr(uv_bootstrap, "installed_uv", lambda: None)
    monkeypatch.setattr(uv_bootstrap, "fetch_uv", lambda: pytest.fail("fetched twice"))
    assert uv_bootstrap.find_uv() == path


def test_the_bootstrap_uses_only_the_standard_library() -> None:
    """It must run on a bare python3: no import outside the standard library."""
    tree = (ROOT / "tools" / "uv.py").read_text()
    imported = set(re.findall(r"^(?:import|from) (\w+)", tree, re.MULTILINE))
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
