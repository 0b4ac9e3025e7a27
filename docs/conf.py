"""Sphinx configuration of payplane's documentation.

Built strictly in CI: ``sphinx-build -W --keep-going -n -b html docs docs/_build/html``.
Nothing is fetched from the web at build time (no intersphinx).
"""

from __future__ import annotations

import enum
import pkgutil
import re
from importlib.metadata import version as _version
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx import addnodes

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

project = "payplane"
author = "payplane maintainers"
copyright = "payplane maintainers"
release = _version("payplane")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

exclude_patterns = ["_build"]

# Definition lists describe settings and environment variables; nothing else is needed.
myst_enable_extensions = ["deflist"]
# Lets `[text](#a-heading)` links (the included CHANGELOG.md may use them) resolve.
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"payplane {release}"

# -- autodoc / napoleon ---------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
python_use_unqualified_type_names = True

napoleon_google_docstring = True
napoleon_numpy_docstring = False
# "Attributes:" sections become ``.. attribute::`` entries (so ``:attr:`` references
# resolve), typed from the class annotations.
napoleon_use_ivar = False
napoleon_attr_annotations = True

# -- nitpicky: names without an inventory ---------------------------------------------

nitpicky = True

# No intersphinx (nothing is fetched at build time), so the standard library and the
# third-party packages in our signatures (httpx, pluggy, attrs...) have no inventory to
# link to: their names are shown as plain text. (Builtins need no entry: the Python
# domain never reports them.)
_EXTERNAL_MODULES = (
    "collections.abc contextvars datetime decimal enum types typing os logging threading attrs"
    " httpx pluggy opentelemetry sqlalchemy stamina starlette"
)
nitpick_ignore_regex = [
    # ``decimal.Decimal``, ``collections.abc.Mapping``, ``httpx.Client``...
    (r"py:.*", rf"({'|'.join(map(re.escape, _EXTERNAL_MODULES.split()))})\..*"),
    # The type variables of the generic status classes and of flows are not documented
    # objects.
    (r"py:.*", r"(payplane\._status\.)?S"),
    (r"py:.*", r"(payplane\._(client|flow)\.)?T"),
]

# -- extensions of this site ------------------------------------------------------------

# Public classes live in private modules (``payplane._money.Money``) and are documented
# where users import them (``payplane.Money``). Evaluated type hints name the private
# home: point those references at the public name. A private name that is not exported
# stays unresolved and fails the nitpicky build.
_PRIVATE_HOME = re.compile(r"payplane(?:\._[a-z_]+)+\.(?P<public>[A-Za-z][\w.]*)")


def _resolve_private_home(
    app: Sphinx, env: BuildEnvironment, node: addnodes.pending_xref, contnode: nodes.Element
) -> nodes.Element | None:
    match = _PRIVATE_HOME.fullmatch(node.get("reftarget", ""))
    if node.get("refdomain") != "py" or match is None:
        return None
    public = f"payplane.{match['public']}"
    return env.get_domain("py").resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], public, node, contnode
    )


# Napoleon reads a one-line attribute docstring "A: B" as "type: description", which
# turns ``"""Paid out: final."""`` under an enum member into a type "Paid out". Enum
# members have no type to declare: keep their docstrings as written.
_ENUM_DOCS: dict[str, list[str]] = {}


def _remember_enum_doc(
    _app: Sphinx, what: str, name: str, _obj: object, _options: object, lines: list[str]
) -> None:
    # Sphinx hands over the member's value, not the member: look the member up.
    if what == "attribute" and isinstance(_resolve_name(name), enum.Enum):
        _ENUM_DOCS[name] = list(lines)


def _restore_enum_doc(
    _app: Sphinx, _what: str, name: str, _obj: object, _options: object, lines: list[str]
) -> None:
    if name in _ENUM_DOCS:
        lines[:] = _ENUM_DOCS.pop(name)


def _resolve_name(name: str) -> object:
    try:
        return pkgutil.resolve_name(name)
    except (ImportError, AttributeError, ValueError):
        return None


# attrs generates ``__init__`` from the very fields a class documents under
# "Attributes:", so a "Parameters" list beside them says everything twice: drop the
# parameters when each is documented as an attribute, keep them when they say more
# (exceptions). ``__init__`` returns None: no "Return type" under a class either.
def _tidy_class_fields(_app: Sphinx, domain: str, objtype: str, content: nodes.Element) -> None:
    # Runs after autodoc added ``:param x:``, ``:type x:`` and ``:rtype:`` fields for the
    # type hints, before Sphinx groups them into "Parameters".
    if domain != "py" or objtype not in {"class", "exception"}:
        return
    attributes = {
        signature["fullname"].rpartition(".")[2]
        for desc in content.findall(addnodes.desc)
        if desc.get("objtype") == "attribute"
        for signature in desc.findall(addnodes.desc_signature)
    }
    for field_list in [n for n in content.children if isinstance(n, nodes.field_list)]:
        fields = [(field, field[0].astext().split()) for field in field_list.children]
        params = {words[-1] for _, words in fields if words[0] in {"param", "type"}}
        repeated = bool(params) and params <= attributes
        for field, words in fields:
            if words == ["rtype"] or (repeated and words[0] in {"param", "type"}):
                field_list.remove(field)
        if not field_list.children:
            content.remove(field_list)


def _factory_default(
    _app: Sphinx,
    _what: str,
    _name: str,
    _obj: object,
    _options: object,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str, str | None] | None:
    # attrs shows a default made by a factory as its NOTHING sentinel; say <factory>,
    # as dataclasses do.
    if signature is None or "=NOTHING" not in signature:
        return None
    return signature.replace("=NOTHING", "=<factory>"), return_annotation


def setup(app: Sphinx) -> None:
    """Connect this site's event handlers."""
    app.connect("missing-reference", _resolve_private_home)
    # Napoleon rewrites docstrings at the default priority (500): remember before it,
    # restore after it.
    app.connect("autodoc-process-docstring", _remember_enum_doc, priority=400)
    app.connect("autodoc-process-docstring", _restore_enum_doc, priority=600)
    # After autodoc merged the type hints into the description (priority 500).
    app.connect("object-description-transform", _tidy_class_fields, priority=600)
    app.connect("autodoc-process-signature", _factory_default)
