"""A stand-in for DocumentDB: a real MongoDB wire-protocol server with test-chosen data.

No MongoDB or DocumentDB server can be installed on the test machines, so the tests run
pymongo against ``mockupdb`` (a MongoDB wire-protocol server library from PyPI). This
class answers the commands the documentdb source sends, the way DocumentDB does:

* TLS with a certificate signed by a test CA (generated here with ``cryptography``);
* SCRAM-SHA-1 authentication, server side (RFC 5802 with MongoDB's password digest):
  a wrong password fails with code 18, and data commands on a connection that has not
  authenticated fail with code 13, so the credentials are really checked;
* ``find``/``getMore`` with cursors and batches, ``aggregate``, ``listCollections``,
  ``ping``: the filters and pipelines are evaluated by ``mongomock`` over the documents
  the test stored, so the query semantics (date ranges, ``$type``, string ranges) are
  checked, not just the wire format.

Failure injection: ``stall_find_s`` delays the answer to ``find`` (a query that times
out); ``find_error = (code, message)`` answers ``find`` with that server error (e.g. 13,
a user who may not read the collection); ``on_get_more(n)`` runs before the n-th ``getMore`` answer (e.g. kill the bastion
mid-stream) and hangs up instead of answering when it returns True;
``hang_up_on_get_more`` always closes the connection instead of answering.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import mongomock
from bson import Binary
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mockupdb import MockupDB, bind_tcp_socket

#: The database password: a secret the tests look for everywhere afterwards.
DB_USER = "telemetry_reader"
DB_PASSWORD = "pw-Zq8xS3cr3t-docdb-M2"

SCRAM_ITERATIONS = 4096


# -- certificates -----------------------------------------------------------------------

def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(folder: Path, name: str = "usage-assets test CA") -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA; returns (PEM path, key, certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name)).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{name.replace(' ', '-')}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def make_server_cert(folder: Path, ca_key, ca_cert, dns_name: str = "docdb.cluster.internal") -> tuple[Path, Path]:
    """A server certificate for ``dns_name`` (deliberately not 127.0.0.1), signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(_name(dns_name)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


# -- SCRAM-SHA-1, server side -------------------------------------------------------------

def _scram_fields(message: bytes) -> dict[str, str]:
    return dict(part.split("=", 1) for part in message.decode().split(",") if "=" in part)


class _ScramServer:
    """One SCRAM-SHA-1 conversation (RFC 5802; MongoDB hashes the password as
    ``md5("user:mongo:password")`` first)."""

    def __init__(self, user: str, password: str):
        digest = hashlib.md5(f"{user}:mongo:{password}".encode()).hexdigest().encode()
        self.user = user
        self.salt = os.urandom(16)
        salted = hashlib.pbkdf2_hmac("sha1", digest, self.salt, SCRAM_ITERATIONS)
        self.stored_key = hashlib.sha1(hmac.digest(salted, b"Client Key", "sha1")).digest()
        self.server_key = hmac.digest(salted, b"Server Key", "sha1")
        self.client_first_bare = self.server_first = ""

    def first(self, payload: bytes) -> tuple[bytes, bool]:
        """Answer the client-first message; False when the user is unknown."""
        self.client_first_bare = payload.decode().split(",", 2)[2]
        fields = _scram_fields(self.client_first_bare.encode())
        nonce = fields["r"] + base64.b64encode(os.urandom(18)).decode()
        self.server_first = f"r={nonce},s={base64.b64encode(self.salt).decode()},i={SCRAM_ITERATIONS}"
        return self.server_first.encode(), fields.get("n") == self.user

    def final(self, payload: bytes) -> bytes | None:
        """Verify the client proof; the server signature, or None when the password is wrong."""
        text = payload.decode()
        without_proof, proof = text.rsplit(",p=", 1)
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        signature = hmac.digest(self.stored_key, auth_message, "sha1")
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature))
        if hashlib.sha1(client_key).digest() != self.stored_key:
            return None
        return b"v=" + base64.b64encode(hmac.digest(self.server_key, auth_message, "sha1"))


# -- the server -----------------------------------------------------------------------------

class _TlsMockupDB(MockupDB):
    """MockupDB on 127.0.0.1 with an optional server-side TLS context of our own."""

    def __init__(self, ssl_context=None, **kwargs):
        super().__init__(**kwargs)
        self._address = ("127.0.0.1", None)
        self._ssl_context = ssl_context

    def run(self):
        self._listening_sock, self._address = bind_tcp_socket(self._address)
        if self._ssl_context is not None:
            # Handshake in the connection's own thread, so a client that rejects the
            # certificate cannot stall the accept loop.
            self._listening_sock = self._ssl_context.wrap_socket(
                self._listening_sock, server_side=True, do_handshake_on_connect=False)
        self._accept_thread = threading.Thread(target=self._accept_quickly, daemon=True)
        self._accept_thread.start()
        return self.port

    def _serve(self, client, address):
        try:
            self._server_loop(client, address)
        except OSError:  # TLS refused by the client, or the peer vanished: just drop it
            client.close()

    def _accept_quickly(self):
        """Accept connections, each served by mockupdb's own per-connection loop.

        Polls every 50 ms (mockupdb's loop waits 1 s), so stop() returns at once.
        """
        self._listening_sock.settimeout(0.05)
        while not self._stopped:
            try:
                client, address = self._listening_sock.accept()
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:
                return
            client.settimeout(None)
            thread = threading.Thread(target=functools.partial(self._serve, client, address), daemon=True)
            self._server_threads[thread] = None
            self._server_socks[client] = None
            thread.start()


class FakeTelemetryDB:
    """A telemetry database holding the documents the test inserts (see module docstring).

    ``tls_dir``: folder for the CA and server certificate; None for a plain-TCP server.
    ``ca_file``: the CA bundle clients must trust.
    """

    def __init__(self, tls_dir: Path | None = None, user: str = DB_USER, password: str = DB_PASSWORD,
                 database: str = "telemetry"):
        import ssl

        self.user, self.password, self.database = user, password, database
        self.mongo = mongomock.MongoClient()
        self.ca_file: Path | None = None
        context = None
        if tls_dir is not None:
            tls_dir.mkdir(parents=True, exist_ok=True)
            self.ca_file, ca_key, ca_cert = make_ca(tls_dir)
            cert_path, key_path = make_server_cert(tls_dir, ca_key, ca_cert)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_path, key_path)
        self.server = _TlsMockupDB(ssl_context=context, auto_ismaster={
            "ismaster": True, "minWireVersion": 0, "maxWireVersion": 21, "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48_000_000, "maxWriteBatchSize": 100_000, "ok": 1,
        })
        self.server.autoresponds(self._handle)
        self._authenticated: set[int] = set()
        self._conversations: dict[int, _ScramServer] = {}
        self._cursors: dict[int, tuple[str, list[dict]]] = {}
        self._cursor_ids = itertools.count(1000)
        self.commands: list[dict] = []
        self.get_mores = 0
        self.stall_find_s = 0.0
        self.find_error: tuple[int, str] | None = None
        self.on_get_more: Callable[[int], None] | None = None
        self.hang_up_on_get_more = False
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> "FakeTelemetryDB":
        self.port = self.server.run()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.stop()

    def insert(self, collection: str, documents: Iterable[dict]) -> None:
        """Store documents (dates as naive UTC datetimes, like the server returns them)."""
        self.mongo[self.database][collection].insert_many([dict(doc) for doc in documents])

    def create_collections(self, *names: str) -> None:
        for name in names:
            self.mongo[self.database].create_collection(name)

    # -- request handling --------------------------------------------------------------

    def _handle(self, request) -> bool:
        document = request.doc
        name = next(iter(document), "").lower()
        if name in ("ismaster", "hello"):
            return False  # the auto-responder
        self.commands.append(dict(document))
        port = request.client_port
        if name == "saslstart":
            return self._sasl_start(request, port)
        if name == "saslcontinue":
            return self._sasl_continue(request, port)
        if name in ("ping", "endsessions", "buildinfo"):
            return request.ok()
        if port not in self._authenticated:
            return request.command_err(code=13, errmsg=f"command {name} requires authentication")
        database = document.get("$db", self.database)
        if name == "listcollections":
            names = self.mongo[database].list_collection_names()
            return request.ok(cursor={"id": 0, "ns": f"{database}.$cmd.listCollections",
                                      "firstBatch": [{"name": n, "type": "collection"} for n in names]})
        if name == "find":
            if self.find_error:
                return request.command_err(code=self.find_error[0], errmsg=self.find_error[1])
            if self.stall_find_s:
                time.sleep(self.stall_find_s)
            found = list(self.mongo[database][document["find"]].find(document.get("filter") or {},
                                                                     document.get("projection") or None))
            return self._first_batch(request, f"{database}.{document['find']}", found, document.get("batchSize"))
        if name == "aggregate":
            found = list(self.mongo[database][document["aggregate"]].aggregate(list(document["pipeline"])))
            return self._first_batch(request, f"{database}.{document['aggregate']}", found, None)
        if name == "getmore":
            self.get_mores += 1
            hang_up = self.on_get_more(self.get_mores) if self.on_get_more is not None else False
            if hang_up or self.hang_up_on_get_more:
                return request.hangup()
            cursor_id = int(document["getMore"])
            namespace, remaining = self._cursors.pop(cursor_id)
            size = document.get("batchSize") or 101
            batch, rest = remaining[:size], remaining[size:]
            if rest:
                self._cursors[cursor_id] = (namespace, rest)
            return request.ok(cursor={"id": cursor_id if rest else 0, "ns": namespace, "nextBatch": batch})
        if name == "killcursors":
            for cursor_id in document.get("cursors", []):
                self._cursors.pop(int(cursor_id), None)
            return request.ok(cursorsKilled=list(document.get("cursors", [])))
        return request.command_err(code=59, errmsg=f"no such command: {name}")

    def _first_batch(self, request, namespace: str, found: list[dict], batch_size) -> bool:
        size = batch_size or 101
        batch, rest = found[:size], found[size:]
        cursor_id = 0
        if rest:
            cursor_id = next(self._cursor_ids)
            self._cursors[cursor_id] = (namespace, rest)
        return request.ok(cursor={"id": cursor_id, "ns": namespace, "firstBatch": batch})

    def _sasl_start(self, request, port: int) -> bool:
        document = request.doc
        if document.get("mechanism") != "SCRAM-SHA-1":
            return request.command_err(code=18, errmsg="Authentication failed.")
        conversation = _ScramServer(self.user, self.password)
        payload, known_user = conversation.first(bytes(document["payload"]))
        if not known_user:
            return request.command_err(code=18, errmsg="Authentication failed.")
        self._conversations[port] = conversation
        return request.ok(conversationId=1, done=False, payload=Binary(payload))

    def _sasl_continue(self, request, port: int) -> bool:
        conversation = self._conversations.pop(port, None)
        if conversation is None:
            # An empty final exchange after success (clients that do not skip it).
            return request.ok(conversationId=1, done=True, payload=Binary(b""))
        signature = conversation.final(bytes(request.doc["payload"]))
        if signature is None:
            return request.command_err(code=18, errmsg="Authentication failed.")
        self._authenticated.add(port)
        return request.ok(conversationId=1, done=True, payload=Binary(signature))
