"""The supplier's customer list (CSV or XLSX) as typed records, refused whole with every problem's line.

A CRM export has one row per contact with the account columns repeated on each (a customer with no contact has
one row with the contact cells blank). Headers are matched ignoring case, spaces, hyphens and underscores, with
the usual aliases; the columns are documented in ``docs/customers.md``. Nothing here touches the database:
brokers and existing users are checked by :mod:`portfolio.services.customers`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from portfolio.ingest.excel import is_workbook, read_sheets
from portfolio.ingest.records import ImportFormatError
from portfolio.ingest.text import decode_text, quote

MAX_ROWS = 200_000
MAX_PROBLEMS = 50
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
CONTACT_KINDS = {"primary": "primary", "main": "primary", "billing": "billing", "general": "general"}
_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0", ""}

COLUMNS: dict[str, tuple[str, ...]] = {
    "account_number": ("accountnumber", "account", "accountno", "accountref", "accountreference"),
    "organisation_name": ("organisationname", "organizationname", "organisation", "organization", "companyname"),
    "micro_business": ("microbusiness", "micro"),
    "billing_portal_user": ("billingportaluser", "portaluser", "billingportal"),
    "contact_name": ("contactname",),
    "contact_email": ("contactemail", "email", "emailaddress"),
    "contact_type": ("contacttype", "type"),
    "broker": ("broker", "electedbroker"),
}
REQUIRED = tuple(c for c in COLUMNS if c != "broker")


class CustomerListError(ValueError):
    """A customer list that cannot be imported; ``problems`` name each line and what is wrong with it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems[:MAX_PROBLEMS]
        more = len(problems) - len(self.problems)
        super().__init__("; ".join(self.problems) + (f"; and {more} more problems" if more > 0 else ""))


@dataclass(frozen=True)
class ContactRecord:
    line: int
    name: str
    email: str | None  # lower-cased
    kind: str  # "primary", "billing" or "general"
    portal_user: bool


@dataclass(frozen=True)
class AccountRecord:
    """One organisation of the list, from its first line, with its contacts from every line that names it."""

    line: int
    account_number: str
    name: str
    micro_business: bool
    broker: str | None  # None: blank; the column may be absent altogether (``CustomerList.has_broker``)
    contacts: tuple[ContactRecord, ...]


@dataclass(frozen=True)
class CustomerList:
    accounts: tuple[AccountRecord, ...]
    has_broker: bool  # False when the file has no broker column: brokers are then left as they are


def _key(header: str) -> str:
    return re.sub(r"[\s_\-./]+", "", header.strip().lower())


def _rows(filename: str, data: bytes) -> list[tuple[int, list[str]]]:
    """(line, cells) of the first sheet or the CSV text; blank rows dropped."""
    kind = is_workbook(data)
    if kind is not None:
        sheets = read_sheets(filename, data, kind)
        cells = next((rows for _, rows in sheets if any(any(c.strip() for c in r) for r in rows)), [])
        numbered = list(enumerate(cells, start=1))
    else:
        text = decode_text(filename, data)
        if text.startswith("sep="):
            text = "\n" + text.split("\n", 1)[-1]
        first = next((line for line in text.split("\n", 50) if line.strip()), "")
        delimiter = max(",;\t", key=first.count)  # the header's separator (a comma when it has none)
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        numbered = []
        try:
            for row in reader:
                numbered.append((reader.line_num, row))
                if len(numbered) > MAX_ROWS + 1:
                    raise ImportFormatError(filename, f"more than {MAX_ROWS:,} rows")
        except csv.Error as error:
            raise ImportFormatError(filename, f"not a readable CSV file: {error}", f"line {reader.line_num}") from None
    return [(line, [str(c).strip() for c in row]) for line, row in numbered if any(str(c).strip() for c in row)]


def _flag(value: str, line: int, column: str, problems: list[str]) -> bool:
    text = value.strip().lower()
    if text in _YES:
        return True
    if text not in _NO:
        problems.append(f"line {line}: {column} must be yes or no, not {quote(value)}")
    return False


def parse_customer_list(filename: str, data: bytes) -> CustomerList:
    """Read and check the whole list; raise :class:`CustomerListError` naming every problem, or ImportFormatError."""
    rows = _rows(Path(filename).name, data)
    if not rows:
        raise CustomerListError(["the file is empty"])
    header_line, header = rows[0]
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        for column, aliases in COLUMNS.items():
            if _key(name) in aliases and column not in positions:
                positions[column] = index
    missing = [c.replace("_", " ") for c in REQUIRED if c not in positions]
    if missing:
        raise CustomerListError([f"line {header_line}: missing column(s): {', '.join(missing)}"])
    problems: list[str] = []
    accounts: dict[str, dict[str, object]] = {}
    contacts: dict[str, dict[tuple[str, str], ContactRecord]] = {}
    for line, cells in rows[1:]:
        cell = {c: (cells[i] if i < len(cells) else "") for c, i in positions.items()}
        account = cell["account_number"]
        if not account:
            problems.append(f"line {line}: the account number is blank")
            continue
        if len(account) > 64:
            problems.append(f"line {line}: account number {quote(account)} is longer than 64 characters")
            continue
        name = cell["organisation_name"]
        if not name or len(name) > 200:
            problems.append(f"line {line}: organisation name must have 1 to 200 characters")
        facts = {
            "name": name,
            "micro_business": _flag(cell["micro_business"], line, "micro business", problems),
            "broker": cell.get("broker", "").lower() or None,
        }
        known = accounts.setdefault(account, {"line": line, **facts})
        for field, value in facts.items():
            if known[field] != value and not (
                field == "name" and str(known[field]).casefold() == str(value).casefold()
            ):
                problems.append(
                    f"line {line}: account {quote(account)} has {field.replace('_', ' ')} {quote(value)}, but line "
                    f"{known['line']} says {quote(known[field])}"
                )
        if (cell.get("broker") or "") and len(cell["broker"]) > 320:
            problems.append(f"line {line}: broker is longer than 320 characters")
        contact = _contact(cell, line, problems)
        if contact is None:
            continue
        by_key = contacts.setdefault(account, {})
        key = (contact.email or "", contact.name.casefold() if not contact.email else "")
        earlier = by_key.get(key)
        if earlier is None:
            by_key[key] = contact
        elif (earlier.name, earlier.kind, earlier.portal_user) != (contact.name, contact.kind, contact.portal_user):
            problems.append(
                f"line {line}: contact {quote(contact.email or contact.name)} of account {quote(account)} differs "
                f"from line {earlier.line}"
            )
    owners: dict[str, str] = {}
    for account, by_key in contacts.items():
        for contact in by_key.values():
            if contact.portal_user and contact.email:
                other = owners.setdefault(contact.email, account)
                if other != account:
                    problems.append(
                        f"line {contact.line}: billing-portal user {contact.email} is also a portal user of account "
                        f"{quote(other)}; a user belongs to one organisation"
                    )
    if problems:
        raise CustomerListError(problems)
    if not accounts:
        raise CustomerListError([f"line {header_line}: the list has a header but no customers"])
    records = tuple(
        AccountRecord(
            line=int(str(facts["line"])),
            account_number=account,
            name=str(facts["name"]),
            micro_business=bool(facts["micro_business"]),
            broker=str(facts["broker"]) if facts["broker"] else None,
            contacts=tuple(contacts.get(account, {}).values()),
        )
        for account, facts in accounts.items()
    )
    return CustomerList(accounts=records, has_broker="broker" in positions)


def _contact(cell: dict[str, str], line: int, problems: list[str]) -> ContactRecord | None:
    """The row's contact, or None when its contact cells are blank (a customer listed without one)."""
    name, email, kind = cell["contact_name"], cell["contact_email"].lower(), cell["contact_type"].lower()
    portal = _flag(cell["billing_portal_user"], line, "billing portal user", problems)
    if not (name or email or kind):
        if portal:
            problems.append(f"line {line}: a billing-portal user needs a contact name or email")
        return None
    if email and (len(email) > 320 or not EMAIL.match(email)):
        problems.append(f"line {line}: {quote(cell['contact_email'])} is not an email address")
        return None
    if kind not in CONTACT_KINDS:
        problems.append(f"line {line}: contact type must be Primary, Billing or General, not {quote(kind)}")
        return None
    if len(name) > 200:
        problems.append(f"line {line}: contact name is longer than 200 characters")
        return None
    return ContactRecord(line=line, name=name, email=email or None, kind=CONTACT_KINDS[kind], portal_user=portal)
