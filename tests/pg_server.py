"""A throwaway PostgreSQL server started from the machine's own binaries for the test session.

PostgreSQL refuses to run as root, so as root the data folder is handed to the unprivileged
``postgres`` user and every server command runs through ``runuser``; as anyone else it runs directly.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def find_pg_bin() -> Path:
    """Locate initdb/pg_ctl on PATH or in Debian's versioned folders."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise PostgresUnavailable("initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    bin_dir: Path
    as_user: str | None

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://portfolio@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://portfolio@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(command)} failed: {result.stderr.strip() or result.stdout.strip()}")

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = find_pg_bin()
        as_user = None
        root = Path(tempfile.mkdtemp(prefix="portfolio-pg-"))
        if os.geteuid() == 0:
            as_user = "postgres"
            shutil.chown(root, user=as_user)
        server = cls(data_dir=root / "data", port=_free_port(), bin_dir=bin_dir, as_user=as_user)
        server._run("initdb", "-D", str(server.data_dir), "-U", "portfolio", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-p {server.port} -k {root} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        server._run("pg_ctl", "-D", str(server.data_dir), "-o", options, "-l", str(root / "server.log"), "-w", "start")
        return server

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)
