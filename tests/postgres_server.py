"""A throwaway PostgreSQL server for the tests: Debian's binaries, a fresh data folder, loopback only.

`make test` installs Debian's `postgresql` package the way it installs Chromium; without it (or without a way to
run the server as a non-root user) the PostgreSQL tests are skipped with the reason. The server listens on
127.0.0.1 at a free port, with password authentication, and is stopped (and its folder removed) at the end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

USER, PASSWORD, DATABASE = "ganimate", "s3cret-pw", "gallery"


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl (Debian keeps them under /usr/lib/postgresql/VERSION/bin)."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """Start with `start()`, stop with `stop()`; `url` is the database URL with its password."""

    def __init__(self, root: Path) -> None:
        self.bin = binaries()
        self.root = Path(root)
        self.data, self.socket_dir = self.root / "data", self.root / "sock"
        self.port = _free_port()
        self.url = f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as the package's own user
            pwd.getpwnam("postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def why_not(self) -> str | None:
        """None when a server can be started here, else the reason (a skip message)."""
        if self.bin is None:
            return "PostgreSQL is not installed (make test installs it: apt-get install postgresql)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no postgres user to run the server as"
            if shutil.which("runuser") is None:
                return "running as root without runuser to start the server as postgres"
        return None

    def _run(self, *args: str, timeout: float = 60) -> None:
        env = {**os.environ, "PGPASSWORD": PASSWORD}
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=timeout, env=env)

    def start(self) -> str:
        for d in (self.data, self.socket_dir):
            d.mkdir(parents=True, exist_ok=True)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_user:
            for p in (self.root, self.data, self.socket_dir, pwfile):
                shutil.chown(p, "postgres", "postgres")
            os.chmod(self.root, 0o755)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            "--pwfile",
            str(pwfile),
            "-A",
            "scram-sha-256",
            "--no-sync",
            "-E",
            "UTF8",
        )
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
            timeout=90,
        )
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, DATABASE)
        return self.url

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        except (subprocess.SubprocessError, OSError):
            pass
