"""A real OpenSSH server on 127.0.0.1 for the bastion tests (Debian's ``openssh-server``).

Each :class:`LoopbackSshd` has its own folder with generated host and user keys, its own
``sshd_config`` (key login only, TCP forwarding on, listening on a free 127.0.0.1 port)
and ``known_hosts``. ``kill()`` ends the listening daemon and every per-connection child
with SIGKILL (an abrupt bastion crash); ``start()`` brings it back on the same port with
the same host key. :class:`SilentServer` is a bastion that hangs: it accepts TCP
connections and never sends a byte.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"

#: The user key's passphrase: a secret the tests look for everywhere afterwards.
KEY_PASSPHRASE = "pp-K3y-Pa55phrase-q7W"


def sshd_available() -> bool:
    return Path(SSHD).is_file() and Path(SSH_KEYGEN).is_file()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def keygen(path: Path, passphrase: str = "") -> Path:
    """An ed25519 key pair at ``path`` / ``path.pub``."""
    # -a 2: few KDF rounds, so loading the passphrase-protected key takes milliseconds, not 0.2 s.
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-a", "2", "-N", passphrase, "-C", "usage-assets-test",
                    "-f", str(path)],
                   check=True, timeout=30)
    return path


def fingerprint_of(public_key_file: Path) -> str:
    """``SHA256:...`` as ``ssh-keygen -lf`` prints it."""
    out = subprocess.run([SSH_KEYGEN, "-lf", str(public_key_file)], check=True, capture_output=True, text=True,
                         timeout=30).stdout
    return out.split()[1]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class LoopbackSshd:
    """An sshd on ``127.0.0.1:port`` that accepts ``user_key`` for the current user."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.user = getpass.getuser()
        self.host_key = keygen(folder / "ssh_host_ed25519_key")
        self.user_key = keygen(folder / "user_key", KEY_PASSPHRASE)
        self.other_key = keygen(folder / "other_user_key")
        (folder / "authorized_keys").write_text((folder / "user_key.pub").read_text())
        host_public = (folder / "ssh_host_ed25519_key.pub").read_text().split()
        self.known_hosts = folder / "known_hosts"
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_public[0]} {host_public[1]}\n")
        self.host_key_fingerprint = fingerprint_of(folder / "ssh_host_ed25519_key.pub")
        self.config = folder / "sshd_config"
        self.config.write_text("\n".join([
            f"ListenAddress 127.0.0.1:{self.port}",
            f"HostKey {self.host_key}",
            f"PidFile {folder / 'sshd.pid'}",
            f"AuthorizedKeysFile {folder / 'authorized_keys'}",
            f"AllowUsers {self.user}",
            "AuthenticationMethods publickey",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            "StrictModes no",
            "AllowTcpForwarding yes",
            "PermitTTY no",
            "X11Forwarding no",
            "MaxStartups 100",
            "LogLevel VERBOSE",
            "",
        ]))
        self.log = folder / "sshd.log"
        self.process: subprocess.Popen | None = None

    def start(self, wait_s: float = 10.0) -> "LoopbackSshd":
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # privilege separation directory
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)], stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as probe:
                    if probe.recv(4).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"sshd did not listen on 127.0.0.1:{self.port}: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the daemon and all its connection processes (an abrupt crash)."""
        if self.process is None:
            return
        for pid in [*_descendants(self.process.pid), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()


class SilentServer:
    """A TCP server on ``127.0.0.1:port`` that accepts every connection and never writes
    (a bastion whose sshd hangs, or a firewall that completes the TCP handshake).
    Connections stay open until ``close()``."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for connection in [*self.connections, self._listener]:
            connection.close()

    def __enter__(self) -> "SilentServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
