"""An SSH tunnel to the telemetry database through a bastion host, with paramiko.

:class:`SshTunnel` logs in to the bastion with a private key (optionally protected by a
passphrase), verifies the bastion's host key, and forwards a local port on 127.0.0.1 to
the database's host and port as seen from the bastion (``direct-tcpip`` channels, one
per database connection). It is a context manager: leaving the ``with`` block, normally
or through any exception, closes the listening socket, every channel and the SSH
connection, and joins the forwarding threads. Its settings are
:class:`usage_assets.settings.BastionSettings` (``USAGE_BASTION_*``).

Host keys (a deliberate difference from ``dagster-ssh``, whose default auto-adds
unknown keys): the bastion's key must be in a known_hosts file, or match a pinned
SHA-256 fingerprint; an unknown or changed key stops the connection before any
credential is sent. Keepalives are sent every ``keepalive_s`` seconds so idle NAT and
firewall state does not silently drop a long query.

Every failure is a :class:`usage_assets.sources.errors.SourceError` saying what failed
and what to check next; the key passphrase never appears in it. paramiko's own error
lines (``Secsh channel N open FAILED``, the transport thread's tracebacks) describe
failures those errors already explain, so they are demoted to DEBUG
(:class:`_ExplainedElsewhere`) instead of reaching the terminal.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import select
import socket
import threading
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization

from usage_assets.settings import BastionSettings
from usage_assets.sources.errors import SourceError, library_detail

#: Seconds a forwarding thread waits in ``select`` before looking at the stop flag again.
_POLL_S = 0.25
#: Seconds ``close()`` waits for each thread; threads are daemons, so nothing hangs.
_JOIN_S = 2.0


class _ExplainedElsewhere(logging.Filter):
    """Demote paramiko's transport errors to DEBUG.

    paramiko logs a refused ``direct-tcpip`` channel (``Secsh channel 3 open FAILED:
    Connection refused``) and a dead handshake (``Exception (client): Error reading SSH
    protocol banner`` and a traceback, line by line) at ERROR; without logging set up,
    Python prints them on stderr. Each of them ends in a :class:`SourceError` that says the
    same in plain words, so they stay available at DEBUG for whoever enables it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def _demote_paramiko_transport_errors() -> None:
    transport_logger = logging.getLogger("paramiko.transport")
    if not any(isinstance(existing, _ExplainedElsewhere) for existing in transport_logger.filters):
        transport_logger.addFilter(_ExplainedElsewhere())


_demote_paramiko_transport_errors()


def fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:<base64, unpadded>`` of a public key, as ``ssh-keygen -lf`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _normal_fingerprint(text: str) -> str:
    text = text.strip()
    return text if text.startswith("SHA256:") else f"SHA256:{text}"


class _UnknownHostKey(paramiko.SSHException):
    def __init__(self, key: paramiko.PKey):
        super().__init__("unknown host key")
        self.key = key


class _RejectUnknownHostKey(paramiko.MissingHostKeyPolicy):
    """Reject a host key that is not in known_hosts, remembering it for the message."""

    def missing_host_key(self, client, hostname, key):
        raise _UnknownHostKey(key)


class _PinnedHostKey(paramiko.MissingHostKeyPolicy):
    """Accept exactly one host key, given by its SHA-256 fingerprint."""

    def __init__(self, expected: str):
        self.expected = _normal_fingerprint(expected)

    def missing_host_key(self, client, hostname, key):
        if fingerprint(key) != self.expected:
            raise _UnknownHostKey(key)


class SshTunnel:
    """Forward ``127.0.0.1:<local_port>`` to ``remote_host:remote_port`` via the bastion.

    Use as ``with SshTunnel(config, host, port) as tunnel: connect to
    ("127.0.0.1", tunnel.local_port)``; ``config`` names the bastion's host, user and key
    file. ``open()`` raises :class:`SourceError`
    (stage ``tunnel``, or ``config`` for a missing file) when the bastion cannot be
    reached (transient), rejects the key, presents an unknown or changed host key, or
    the private key cannot be read (not transient). ``forward_error`` holds the reason
    the bastion refused the latest channel to the database (its port closed or its name
    unknown as seen from the bastion), None once a channel opens, for explaining a
    database connection error; ``opening_channel`` is True while the bastion is still
    trying to connect to the database (a firewall that drops packets).
    """

    def __init__(self, config: BastionSettings, remote_host: str, remote_port: int):
        self.config = config
        self.remote_host = remote_host
        self.remote_port = int(remote_port)
        self.forward_error: str | None = None
        self.opening_channel = False
        self.host_key_fingerprint: str | None = None
        self._client: paramiko.SSHClient | None = None
        self._listener: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pairs: list[tuple[socket.socket, paramiko.Channel]] = []
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> "SshTunnel":
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def local_port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the tunnel is not open")
        return self._listener.getsockname()[1]

    def is_active(self) -> bool:
        """True while the SSH connection to the bastion is up."""
        transport = self._client.get_transport() if self._client else None
        return bool(transport and transport.is_active())

    def open(self) -> int:
        """Connect to the bastion and start forwarding; returns the local port."""
        try:
            self._client = self._connect()
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)
            listener.settimeout(_POLL_S)
            self._listener = listener
            self._start(self._accept_loop, "ssh-tunnel-accept")
            return self.local_port
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop forwarding and disconnect; safe to call more than once."""
        self._stop.set()
        if self._listener is not None:
            # shutdown() wakes a thread blocked in accept()/select() at once.
            _quietly(lambda: self._listener.shutdown(socket.SHUT_RDWR))
            _quietly(self._listener.close)
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for local, channel in pairs:
            _quietly(lambda: local.shutdown(socket.SHUT_RDWR))
            _quietly(channel.close)
            _quietly(local.close)
        if self._client is not None:
            _quietly(self._client.close)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(_JOIN_S)
        self._threads = []

    # -- connecting ------------------------------------------------------------------------

    def _passphrase(self) -> str | None:
        return self.config.key_passphrase.get_secret_value() if self.config.key_passphrase else None

    def load_key(self) -> paramiko.PKey:
        """The private key of ``USAGE_BASTION_KEY_FILE``, decrypted with the passphrase.

        Raises :class:`SourceError` (stage ``config``) when the file is missing, is not a
        private key, needs a passphrase that was not given, or the passphrase given does
        not decrypt it. Touches no network, so ``check-source`` can test it with the settings.
        """
        config = self.config
        path = Path(config.key_file).expanduser()
        if not path.is_file():
            raise SourceError(
                f"the SSH key file {path} does not exist",
                "Set USAGE_BASTION_KEY_FILE to the private key whose public half is in the bastion's "
                "authorized_keys.",
                stage="config",
            )
        secret = self._passphrase()
        passphrase = secret.encode() if secret else None
        try:
            try:
                return paramiko.PKey.from_path(path, password=passphrase)
            except TypeError:
                if passphrase is None:  # cryptography's way of saying "encrypted key, no passphrase"
                    raise paramiko.PasswordRequiredException("private key file is encrypted") from None
                # A passphrase set for a key that has none: the key alone is enough.
                return paramiko.PKey.from_path(path, password=None)
        except paramiko.PasswordRequiredException:
            raise SourceError(
                f"the SSH key {path} is protected by a passphrase and none was given",
                "Set USAGE_BASTION_KEY_PASSPHRASE (in .env or the environment).",
                stage="config",
            ) from None
        except (paramiko.SSHException, ValueError, TypeError, OSError) as error:
            if passphrase is not None and _passphrase_is_wrong(path, passphrase):
                raise SourceError(
                    f"the passphrase in USAGE_BASTION_KEY_PASSPHRASE did not decrypt the SSH key {path}",
                    "Set USAGE_BASTION_KEY_PASSPHRASE to that key's passphrase (`ssh-keygen -y -f "
                    f"{path}` asks for it and tests it), or USAGE_BASTION_KEY_FILE to the key it belongs to.",
                    stage="config",
                ) from None
            raise SourceError(
                f"the SSH key {path} could not be read ({library_detail(error, [self._passphrase()])})",
                "Check that it is a private key (not the .pub file) and that USAGE_BASTION_KEY_PASSPHRASE "
                "is its passphrase.",
                stage="config",
            ) from None

    def _connect(self) -> paramiko.SSHClient:
        config = self.config
        key = self.load_key()
        client = paramiko.SSHClient()
        if config.host_key_fingerprint:
            client.set_missing_host_key_policy(_PinnedHostKey(config.host_key_fingerprint))
        else:
            known_hosts = Path(config.known_hosts).expanduser()
            if not known_hosts.is_file():
                raise SourceError(
                    f"the known_hosts file {known_hosts} does not exist, so the bastion's host key "
                    "cannot be verified",
                    "Set USAGE_BASTION_KNOWN_HOSTS to a file holding the bastion's key (get it from its "
                    "administrator, or check `ssh-keyscan` output against a trusted fingerprint), or pin "
                    "the key with USAGE_BASTION_HOST_KEY_FINGERPRINT=SHA256:...",
                    stage="config",
                )
            # HostKeys.load, not SSHClient.load_host_keys: nothing is ever written back.
            client.get_host_keys().load(str(known_hosts))
            client.set_missing_host_key_policy(_RejectUnknownHostKey())
        try:
            client.connect(
                config.host,
                port=int(config.port),
                username=config.user,
                pkey=key,
                timeout=config.timeout_s,
                banner_timeout=config.timeout_s,
                auth_timeout=config.timeout_s,
                channel_timeout=config.timeout_s,
                allow_agent=False,
                look_for_keys=False,
            )
        except BaseException as error:
            _quietly(client.close)
            raise self._explain(error) from None
        transport = client.get_transport()
        self.host_key_fingerprint = fingerprint(transport.get_remote_server_key())
        if config.keepalive_s:
            transport.set_keepalive(int(config.keepalive_s))
        return client

    def _explain(self, error: BaseException) -> BaseException:
        config = self.config
        where = f"the bastion {config.host}:{config.port}"
        secrets = [self._passphrase()]
        if isinstance(error, _UnknownHostKey):
            presented = f"{error.key.get_name()} {fingerprint(error.key)}"
            if config.host_key_fingerprint:
                return SourceError(
                    f"{where} presented host key {presented}, not the pinned "
                    f"{_normal_fingerprint(config.host_key_fingerprint)}; nothing was sent to it",
                    "If the bastion was rebuilt, confirm the new fingerprint with its administrator and "
                    "update USAGE_BASTION_HOST_KEY_FINGERPRINT; otherwise treat it as a possible attack.",
                    stage="tunnel",
                )
            return SourceError(
                f"{where} presented host key {presented}, which is not in {config.known_hosts}; "
                "unknown host keys are rejected, nothing was sent to it",
                "Confirm that fingerprint with the bastion's administrator, then add the key to "
                "USAGE_BASTION_KNOWN_HOSTS or set USAGE_BASTION_HOST_KEY_FINGERPRINT to it.",
                stage="tunnel",
            )
        if isinstance(error, paramiko.BadHostKeyException):
            return SourceError(
                f"{where} presented host key {fingerprint(error.key)}, but known_hosts has "
                f"{fingerprint(error.expected_key)} for it; nothing was sent to it",
                "A changed host key means a rebuilt bastion or a machine in the middle. Confirm the new "
                "key with the bastion's administrator before replacing the line in known_hosts.",
                stage="tunnel",
            )
        if isinstance(error, paramiko.AuthenticationException):
            return SourceError(
                f"{where} rejected the SSH key for user {config.user!r}",
                "Check USAGE_BASTION_USER and that the public half of USAGE_BASTION_KEY_FILE is in that "
                "user's ~/.ssh/authorized_keys on the bastion.",
                stage="tunnel",
            )
        if isinstance(error, socket.gaierror):
            return SourceError(
                f"the bastion's host name {config.host!r} does not resolve",
                "Check USAGE_BASTION_HOST (and your DNS or VPN).",
                stage="tunnel",
            )
        if isinstance(error, (TimeoutError, socket.timeout)) or _handshake_never_finished(error):
            return SourceError(
                f"{where} did not answer within {config.timeout_s:g} s",
                "Check that the bastion is running, that your address may reach it (security group, "
                "VPN, firewall) and USAGE_BASTION_HOST/USAGE_BASTION_PORT.",
                stage="tunnel",
                transient=True,
            )
        refused = isinstance(error, paramiko.ssh_exception.NoValidConnectionsError) and all(
            isinstance(cause, ConnectionRefusedError) for cause in error.errors.values())
        if refused or isinstance(error, ConnectionRefusedError):
            return SourceError(
                f"{where} refused the connection",
                "Check USAGE_BASTION_PORT and that sshd runs on the bastion (it may be restarting).",
                stage="tunnel",
                transient=True,
            )
        if isinstance(error, (paramiko.SSHException, OSError, EOFError)):
            return SourceError(
                f"the SSH connection to {where} failed ({library_detail(error, secrets)})",
                "Check that USAGE_BASTION_HOST/USAGE_BASTION_PORT name an SSH server; try again later if "
                "the bastion was restarting.",
                stage="tunnel",
                transient=True,
            )
        return error

    # -- forwarding ------------------------------------------------------------------------

    def _start(self, target, name: str, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                local, peer = self._listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.opening_channel = True
            try:
                transport = self._client.get_transport()
                if transport is None or not transport.is_active():
                    raise paramiko.SSHException("the SSH connection to the bastion is closed")
                channel = transport.open_channel(
                    "direct-tcpip",
                    (self.remote_host, self.remote_port),
                    peer,
                    timeout=self.config.timeout_s,
                )
            except paramiko.ChannelException as error:
                # The bastion refused this channel: it could not connect to the database
                # (port closed, name not resolvable, forwarding not allowed there).
                self.forward_error = f"the bastion answered: {error.text}"
                _quietly(local.close)
                continue
            except Exception as error:  # noqa: BLE001 - reported through forward_error
                self.forward_error = library_detail(error, [self._passphrase()])
                _quietly(local.close)
                continue
            finally:
                self.opening_channel = False
            # Set after a refusal, cleared by the next channel that opens: it explains the
            # current connection error, not an old one.
            self.forward_error = None
            local.setblocking(True)
            with self._lock:
                if self._stop.is_set():
                    _quietly(channel.close)
                    _quietly(local.close)
                    return
                self._pairs.append((local, channel))
            self._start(self._pump, "ssh-tunnel-forward", local, channel)

    def _pump(self, local: socket.socket, channel: paramiko.Channel) -> None:
        """Copy bytes both ways until either side closes or the tunnel stops."""
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select([local, channel], [], [], _POLL_S)
                if local in readable:
                    data = local.recv(65536)
                    if not data:
                        break
                    channel.sendall(data)
                if channel in readable:
                    data = channel.recv(65536)
                    if not data:
                        break
                    local.sendall(data)
        except (OSError, EOFError, paramiko.SSHException, ValueError):
            pass
        finally:
            _quietly(channel.close)
            _quietly(local.close)
            with self._lock:
                if (local, channel) in self._pairs:
                    self._pairs.remove((local, channel))


def _handshake_never_finished(error: BaseException) -> bool:
    """True for paramiko's ways of saying the server accepted TCP but the SSH handshake
    did not finish in time: no key exchange before authentication (``start_client``
    returns silently when its timeout passes), or no banner within ``banner_timeout``
    ("Error reading SSH protocol banner" raised while handling a socket timeout; a server
    that hung up gives the same words while handling an EOFError)."""
    text = str(error)
    return isinstance(error, paramiko.SSHException) and (
        "No existing session" in text
        or ("Error reading SSH protocol banner" in text and isinstance(error.__context__, TimeoutError))
    )


def _passphrase_is_wrong(path: Path, passphrase: bytes) -> bool:
    """True when ``passphrase`` fails to decrypt the key at ``path`` (OpenSSH or PEM format).

    paramiko reports a wrong passphrase on an OpenSSH-format key as "Valid PEM but no
    BEGIN/END delimiters", the error of its PEM fall-back; cryptography's own loaders
    tell the cases apart: an OpenSSH key whose check numbers do not match after
    decryption ("broken checksum"), a PEM key that does not decrypt ("Incorrect password").
    """
    try:
        data = path.read_bytes()
        if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
            serialization.load_ssh_private_key(data, password=passphrase)
        else:
            serialization.load_pem_private_key(data, password=passphrase)
    except ValueError as error:
        text = str(error).lower()
        return "checksum" in text or "password" in text or "decrypt" in text
    except Exception:  # noqa: BLE001 - another problem, which the caller explains
        return False
    return False


def _quietly(close) -> None:
    try:
        close()
    except Exception:  # noqa: BLE001 - closing must never raise
        pass
