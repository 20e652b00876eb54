"""Counts of the adversarial suite's calls, printed at the end of the run (calls, refused, 5xx)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from werkzeug.test import TestResponse


@dataclass
class Tally:
    calls: int = 0
    refused: int = 0  # 4xx: the request was turned away with a reason
    server_errors: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    files: Counter[str] = field(default_factory=Counter)  # fuzzed import files: "imported" or "refused"

    def record(self, response: TestResponse) -> TestResponse:
        self.calls += 1
        self.by_status[response.status_code] += 1
        if 400 <= response.status_code < 500:
            self.refused += 1
        elif response.status_code >= 500:
            self.server_errors += 1
        return response

    def as_dict(self) -> dict[str, object]:
        """Plain values a pytest-xdist worker can hand to the controller (``workeroutput``)."""
        return {
            "calls": self.calls,
            "refused": self.refused,
            "server_errors": self.server_errors,
            "by_status": dict(self.by_status),
            "files": dict(self.files),
        }

    def add(self, other: dict[str, object]) -> None:
        """Add a worker's counts (from :meth:`as_dict`) to this one."""
        self.calls += int(other["calls"])  # type: ignore[call-overload]
        self.refused += int(other["refused"])  # type: ignore[call-overload]
        self.server_errors += int(other["server_errors"])  # type: ignore[call-overload]
        self.by_status.update({int(k): int(v) for k, v in dict(other["by_status"]).items()})  # type: ignore[call-overload]
        self.files.update({str(k): int(v) for k, v in dict(other["files"]).items()})  # type: ignore[call-overload]

    def summary(self) -> str:
        statuses = ", ".join(f"{code}: {count}" for code, count in sorted(self.by_status.items()))
        files = f"; fuzzed files: {self.files['imported']} imported, {self.files['refused']} refused cleanly"
        return (
            f"adversarial suite: {self.calls} calls, {self.refused} refused (4xx), "
            f"{self.server_errors} server errors (5xx); by status {statuses}{files}"
        )


TALLY = Tally()
