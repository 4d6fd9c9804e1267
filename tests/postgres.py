"""A throwaway PostgreSQL server from Debian's packages, on 127.0.0.1, for tests that need the team database."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    # initdb refuses to run as root; Debian's package creates the postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server on a free loopback port; yield its admin URL (trust auth); stop and delete it after."""
    binaries = _binaries()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL server binaries not found (apt-get install postgresql)")
    workdir = Path(tempfile.mkdtemp(prefix="brandpatrol-pg-"))
    data = workdir / "data"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
    try:
        subprocess.run(_as_postgres([str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
                                     "--encoding=UTF8", "--locale=C"]), check=True, capture_output=True)
        options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l",
                                     str(workdir / "log"), "start"]), check=True, capture_output=True)
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(_as_postgres([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                           check=False, capture_output=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def fresh_database(admin_url: str) -> str:
    """A new empty database on the server, so each test starts clean."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"
