"""payplane's pytest plugin: ``pytest --payplane-provider=ID`` runs the contract suite.

Registered under the ``pytest11`` entry point, so it loads in every pytest run of an
environment where payplane is installed. It must cost nothing there: without the
option it only adds the option, and it imports nothing but pytest until the option is
given (hypothesis, the registry and the suite load then).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

__all__ = ["OPTION", "pytest_addoption", "pytest_configure"]

OPTION = "--payplane-provider"
_DEST = "payplane_providers"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--payplane-provider=ID`` (repeatable)."""
    group = parser.getgroup("payplane", "payplane provider contract suite")
    group.addoption(
        OPTION,
        action="append",
        dest=_DEST,
        default=[],
        metavar="ID",
        help=(
            "run payplane's provider contract suite against the installed provider ID "
            "(repeatable); nothing else changes"
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    """With the option given, add the suite's tests to the collected ones."""
    ids: Sequence[str] = config.getoption(_DEST) or []
    if not ids:
        return
    try:
        import hypothesis  # noqa: F401, PLC0415 - only checks it is installed
    except ImportError:
        msg = f"{OPTION} needs hypothesis: install it beside pytest (pip install hypothesis)"
        raise pytest.UsageError(msg) from None
    config.pluginmanager.register(
        _ContractCollection(list(dict.fromkeys(ids))), "payplane-contract"
    )


class _ContractModule(pytest.Module):
    """A test module made in memory: one ``ProviderContract`` subclass per provider."""

    provider_id: str = ""

    def _getobj(self) -> ModuleType:
        from payplane.testing._contract import contract_class  # noqa: PLC0415

        module = ModuleType(f"payplane_contract_{self.provider_id}")
        module.__file__ = str(self.path)
        module.TestProviderContract = contract_class(self.provider_id)  # type: ignore[attr-defined]
        return module

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        # The class is collected whatever the project's python_classes setting says.
        return [pytest.Class.from_parent(self, name="TestProviderContract")]


class _ContractCollection:
    """Adds one contract module per provider to the session's collection."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(
        self, collector: pytest.Collector
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        if isinstance(collector, pytest.Session) and report.passed:
            report.result = [*report.result, *self._modules(collector)]
        return report

    def _modules(self, session: pytest.Session) -> list[pytest.Collector]:
        from payplane.testing import _contract  # noqa: PLC0415

        path = Path(_contract.__file__)
        modules: list[pytest.Collector] = []
        for provider_id in self.ids:
            name = f"payplane-contract[{provider_id}]"
            module: Any = _ContractModule.from_parent(session, path=path, name=name, nodeid=name)
            module.provider_id = provider_id
            modules.append(module)
        return modules
