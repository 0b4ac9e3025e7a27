"""Real discovery: a provider distribution built and installed into a throwaway venv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import payplane

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = '''
"""Entry-point module of a provider built by the test."""
import payplane
from payplane.hookspecs import hookimpl


@hookimpl
def payplane_providers():
    return [
        payplane.ProviderSpec(
            id="tmp_psp",
            display_name="Temporary PSP",
            capabilities={payplane.Capability.POSTBACKS},
            currencies={"USD"},
            api_version=payplane.PLUGIN_API_VERSION,
            settings="tmp_psp_impl:Settings",
            factory="tmp_psp_impl:Provider",
        ),
        payplane.ProviderSpec(
            id="tmp_psp_future",
            display_name="From the future",
            capabilities=set(),
            currencies={"USD"},
            api_version=payplane.PLUGIN_API_VERSION + 1,
            settings="tmp_psp_impl:Settings",
            factory="tmp_psp_impl:Provider",
        ),
    ]
'''

IMPL = """
raise RuntimeError("listing providers must not import the implementation")
"""

BROKEN = """
raise ImportError("this plugin is broken on purpose")
"""

PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "tmp-psp"
version = "1.2.3"
dependencies = []

[project.entry-points."payplane.providers"]
tmp_psp = "tmp_psp_plugin"
tmp_broken = "tmp_psp_broken"

[tool.hatch.build.targets.wheel]
include = ["tmp_psp_plugin.py", "tmp_psp_impl.py", "tmp_psp_broken.py"]
"""

PROBE = """
import json, sys, warnings
import payplane
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    registry = payplane.Registry()
    specs = registry.providers()
print(json.dumps({
    "providers": sorted(specs),
    "capabilities": sorted(c.value for c in specs["tmp_psp"].capabilities),
    "problems": [[p.name, p.distribution, p.reason] for p in registry.problems],
    "warnings": [str(w.message) for w in caught],
    "impl_imported": "tmp_psp_impl" in sys.modules,
}))
"""


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway venv with payplane (from this checkout) and the built provider."""
    work = tmp_path_factory.mktemp("entrypoints")
    dist = work / "tmp-psp"
    dist.mkdir()
    (dist / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
    (dist / "tmp_psp_plugin.py").write_text(PLUGIN)
    (dist / "tmp_psp_impl.py").write_text(IMPL)
    (dist / "tmp_psp_broken.py").write_text(BROKEN)
    venv = work / "venv"
    env = os.environ | {"UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(venv)}
    env.pop("UV_PROJECT_ENVIRONMENT", None)
    uv = [sys.executable, "-m", "uv"]
    subprocess.run(
        [*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", str(python), str(ROOT / "core"), str(dist)],
        check=True,
        env=env,
    )
    return python


def test_built_distribution_is_discovered(venv_python: Path) -> None:
    """The entry point in the installed metadata is found and loaded, cheaply."""
    out = subprocess.run(
        [str(venv_python), "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        cwd=venv_python.parent,
    )
    report = json.loads(out.stdout)
    assert report["providers"] == ["tmp_psp"]
    assert report["capabilities"] == ["postbacks"]
    assert report["impl_imported"] is False
    problems = {name: (dist, reason) for name, dist, reason in report["problems"]}
    assert problems["tmp_broken"][0] == "tmp-psp 1.2.3"
    assert "broken on purpose" in problems["tmp_broken"][1]
    assert f"plugin API version {payplane.PLUGIN_API_VERSION + 1}" in problems["tmp_psp"][1]
    assert len(report["warnings"]) == 2


def test_strict_mode_raises_on_broken_plugin(venv_python: Path) -> None:
    """In strict mode the broken plugin stops loading with PluginLoadError."""
    code = "import payplane; payplane.Registry(strict=True).providers()"
    out = subprocess.run(
        [str(venv_python), "-c", code], capture_output=True, text=True, check=False
    )
    assert out.returncode == 1
    assert "PluginLoadError" in out.stderr


def test_block_list_skips_plugin(venv_python: Path) -> None:
    """A blocked entry point is not even imported: no problem recorded for it."""
    code = (
        "import payplane, json; r = payplane.Registry(blocked={'tmp_broken'});"
        "print(json.dumps([p.name for p in r.problems]))"
    )
    out = subprocess.run(
        [str(venv_python), "-W", "ignore", "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == ["tmp_psp"]
