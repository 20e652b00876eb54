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

    def summary(self) -> str:
        statuses = ", ".join(f"{code}: {count}" for code, count in sorted(self.by_status.items()))
        files = f"; fuzzed files: {self.files['imported']} imported, {self.files['refused']} refused cleanly"
        return (
            f"adversarial suite: {self.calls} calls, {self.refused} refused (4xx), "
            f"{self.server_errors} server errors (5xx); by status {statuses}{files}"
        )


TALLY = Tally()
