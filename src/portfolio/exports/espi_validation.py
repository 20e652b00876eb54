"""Check a Green Button feed: each ESPI resource against the NAESB ESPI 4.0 schema, the Atom envelope by hand.

No Atom schema ships with Green Button (espi.xsd imports one that nobody publishes with it), so the envelope is
checked for what the samples and the ESPI links rely on: feed id/title/updated; every entry's id, title, updated,
content with one ESPI resource, self and up links; and related links that lead to another entry.
Needs ``xmlschema`` (loaded on first use, not at import).
"""

from __future__ import annotations

import functools
import warnings
from importlib.resources import files
from typing import Any

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
CHECKED_RESOURCES = frozenset({"UsagePoint", "MeterReading", "ReadingType", "IntervalBlock", "LocalTimeParameters"})
MAX_PROBLEMS = 50

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@functools.cache
def load_espi_schema() -> Any:
    """Load the shipped espi.xsd once per process; the missing atom.xsd import is expected, so its warning is muted."""
    import xmlschema

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xmlschema.XMLSchemaImportWarning)
        return xmlschema.XMLSchema(str(files("portfolio.exports") / "schema" / "espi.xsd"))


def validate_espi(xml_bytes: bytes) -> list[str]:
    """Problems found in a Green Button feed, at most 50; an empty list means it is valid."""
    try:
        root = etree.fromstring(xml_bytes, _PARSER)
    except etree.XMLSyntaxError as error:
        return [f"XML is not well-formed: {error}"]
    if root.tag != f"{{{ATOM}}}feed":
        return [f"root element is {root.tag}, not an Atom feed"]
    problems = [f"feed: missing {name}" for name in ("id", "title", "updated") if _atom_text(root, name) is None]
    entries = root.findall(f"{{{ATOM}}}entry")
    if not entries:
        problems.append("feed: no entries")
    targets = {href for entry in entries for href in _hrefs(entry, "self") + _hrefs(entry, "up")}
    schema = load_espi_schema()
    for number, entry in enumerate(entries, start=1):
        problems.extend(_entry_problems(entry, f"entry {number} (line {entry.sourceline})", targets, schema))
        if len(problems) >= MAX_PROBLEMS:
            return problems[:MAX_PROBLEMS]
    return problems


def _entry_problems(entry: etree._Element, where: str, targets: set[str], schema: Any) -> list[str]:
    problems = [f"{where}: missing {name}" for name in ("id", "title", "updated") if _atom_text(entry, name) is None]
    for rel in ("self", "up"):
        if len(_hrefs(entry, rel)) != 1:
            problems.append(f"{where}: needs exactly one link rel={rel}")
    problems.extend(
        f"{where}: related link {href} leads to no entry" for href in _hrefs(entry, "related") if href not in targets
    )
    content = entry.find(f"{{{ATOM}}}content")
    resources = [child for child in (content if content is not None else []) if isinstance(child.tag, str)]
    if len(resources) != 1 or etree.QName(resources[0]).namespace != ESPI:
        return [*problems, f"{where}: content must hold exactly one ESPI resource"]
    resource = resources[0]
    name = etree.QName(resource).localname
    if name in CHECKED_RESOURCES:
        problems.extend(f"{where}, {name}: {error.reason} at {error.path}" for error in schema.iter_errors(resource))
    return problems


def _atom_text(parent: etree._Element, name: str) -> str | None:
    element = parent.find(f"{{{ATOM}}}{name}")
    text = element.text.strip() if element is not None and element.text else ""
    return text or None


def _hrefs(entry: etree._Element, rel: str) -> list[str]:
    return [(link.get("href") or "").strip() for link in entry.findall(f"{{{ATOM}}}link") if link.get("rel") == rel]
