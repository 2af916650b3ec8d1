"""A throw-away PostgreSQL cluster for the test run, from the machine's own binaries."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile


def find_bindir() -> str | None:
    """The newest /usr/lib/postgresql/*/bin with initdb, or the one on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return os.path.dirname(candidates[0])
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempPostgres:
    """initdb + pg_ctl start on a private socket; as the postgres user when running as root."""

    def __init__(self, bindir: str):
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="danvan-pg-")
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres")
            os.chmod(self.dir, 0o755)

    def _run(self, *args: str) -> None:
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        data = os.path.join(self.dir, "data")
        self._run(
            "initdb", "-D", data, "-A", "trust", "-U", "danvan", "-E", "UTF8", "--locale=C.UTF-8"
        )
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses='' -c fsync=off"
        self._run(
            "pg_ctl", "-D", data, "-o", opts, "-l", os.path.join(self.dir, "log"), "-w", "start"
        )
        return f"postgresql+psycopg://danvan@/postgres?host={self.dir}&port={self.port}"

    def create_login_role(self, role: str) -> str:
        """Create a login role that owns nothing; return the URL the application uses."""
        cmd = [
            os.path.join(self.bindir, "psql"),
            "-h",
            self.dir,
            "-p",
            str(self.port),
            "-U",
            "danvan",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"CREATE ROLE {role} LOGIN",
        ]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        return f"postgresql+psycopg://{role}@/postgres?host={self.dir}&port={self.port}"

    def stop(self) -> None:
        try:
            self._run(
                "pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "immediate", "-w", "stop"
            )
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
