"""Reading telemetry from DocumentDB/MongoDB, optionally through the SSH bastion.

:class:`TelemetryDatabase` opens one session (the SSH tunnel if configured, then a
pymongo client) per ``with`` block and closes both on every exit path. Connection
settings follow the reference's export (reference 3.2): TLS with a CA bundle, SCRAM
credentials checked against ``authSource`` (default ``admin``, as the collector Lambda),
``directConnection=true``, ``retryWrites=false``. Reads are per UTC day (reference 3.3
replaced by one query per collection and day, see
:func:`usage_assets.sources.documentdb.documents.day_filter`), with a projection, streamed in
batches of ``batch_size`` documents. Its settings are
:class:`usage_assets.settings.DatabaseSettings` (``USAGE_DOCDB_*``) and
:class:`usage_assets.settings.BastionSettings` (``USAGE_BASTION_*``).

Time limits, so nothing hangs: ``server_selection_timeout_s`` bounds finding and
connecting to the server (also the TCP connect), ``socket_timeout_s`` bounds each wait for
a reply when no query budget applies (e.g. a ping), and ``query_timeout_s`` is the budget
of one whole query, from the first request to the last batch (pymongo's client-side
operation timeout, which also sends ``maxTimeMS`` to the server).

Every failure is a :class:`usage_assets.sources.errors.SourceError` with plain words and
a next step; texts from pymongo are scrubbed of the password and never chained.

Through the tunnel, pymongo connects to ``127.0.0.1``, which is not the name in the
database's certificate. The certificate chain is still verified against the CA file, but
the host-name check is turned off for tunnelled connections (the SSH host-key check
already authenticates the path); see ``docs/differences.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pymongo
from pymongo import errors as mongo_errors
from pymongo import uri_parser

from usage_assets.settings import BastionSettings, DatabaseSettings
from usage_assets.sources import export_format as fmt
from usage_assets.sources.documentdb import documents as docs
from usage_assets.sources.documentdb.ssh_tunnel import SshTunnel
from usage_assets.sources.errors import SourceCheckStep, SourceError, library_detail

# MongoDB server error codes we explain (src/mongo/base/error_codes.yml).
_AUTHENTICATION_FAILED = 18
_UNAUTHORIZED = 13
_MAX_TIME_EXPIRED = 50


def parse_database_uri(uri: str) -> dict[str, Any]:
    """Split a ``mongodb://host[:port][/database][?options]`` URI into settings fields.

    Returns ``host``, ``port`` and, when present in the URI, ``database``, ``user`` and
    ``options``. Raises :class:`SourceError` (stage ``config``) for a URI that holds a
    password (it belongs in ``USAGE_DOCDB_PASSWORD``), a ``mongodb+srv://`` URI (cannot
    be tunnelled) or a malformed one. The URI itself is never quoted in the message.
    """
    if uri.startswith("mongodb+srv://"):
        raise SourceError(
            "USAGE_DOCDB_URI is a mongodb+srv:// URI, which needs DNS look-ups this pipeline does not do",
            "Use mongodb://HOST:PORT/DATABASE (or USAGE_DOCDB_HOST and USAGE_DOCDB_PORT).",
            stage="config",
        )
    try:
        parsed = uri_parser.parse_uri(uri, validate=True, warn=False)
    except (mongo_errors.InvalidURI, mongo_errors.ConfigurationError, ValueError) as error:
        raise SourceError(
            f"USAGE_DOCDB_URI is not a valid MongoDB URI ({type(error).__name__})",
            "Use the form mongodb://HOST:PORT/DATABASE?OPTIONS, without credentials.",
            stage="config",
        ) from None
    if parsed.get("password"):
        raise SourceError(
            "USAGE_DOCDB_URI contains a password",
            "Remove it from the URI and put it in USAGE_DOCDB_PASSWORD, where it is handled as a secret.",
            stage="config",
        )
    host, port = parsed["nodelist"][0]
    fields: dict[str, Any] = {"host": host, "port": int(port)}
    if parsed.get("database"):
        fields["database"] = parsed["database"]
    if parsed.get("username"):
        fields["user"] = parsed["username"]
    options = {key: value for key, value in dict(parsed.get("options") or {}).items()}
    if options:
        fields["options"] = options
    return fields


class TelemetryDatabase:
    """One session with the telemetry database: tunnel (optional) + pymongo client.

    ``with TelemetryDatabase(database_settings, bastion_settings) as db: db.fetch_day(day)``.
    ``config`` is ``database_settings`` with what its ``uri`` gives (host, port, database,
    user) applied; ``options`` holds the URI's other options, which win over the settings.
    A bastion without ``host`` (or None) means no tunnel. Constructing raises
    :class:`SourceError` (stage ``config``) when there is no database address, when the URI
    is unusable, or when a bastion host is set without its user or key file. Entering opens
    the tunnel (a :class:`SourceError` from :class:`SshTunnel` if that fails) and creates the
    client; the first query connects. Leaving closes the client, then the tunnel, whatever
    happened inside.
    """

    def __init__(self, database: DatabaseSettings, bastion: BastionSettings | None = None):
        fields = parse_database_uri(database.uri) if database.uri else {}
        self.options: dict[str, Any] = fields.pop("options", {})
        self.config = database.model_copy(update=fields)
        if not self.config.host:
            raise SourceError(
                "the documentdb source has no database address",
                "Set USAGE_DOCDB_HOST (the endpoint as seen from the bastion) or USAGE_DOCDB_URI.",
                stage="config",
            )
        self.bastion = bastion if bastion is not None and bastion.host else None
        if self.bastion is not None:
            missing = [name for name, value in (("USAGE_BASTION_USER", self.bastion.user),
                                                ("USAGE_BASTION_KEY_FILE", self.bastion.key_file)) if not value]
            if missing:
                raise SourceError(
                    f"USAGE_BASTION_HOST is set but {' and '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not",
                    "Set the bastion's login user and the private key file (see the README's DocumentDB section).",
                    stage="config",
                )
        self.tunnel: SshTunnel | None = None
        self._client: pymongo.MongoClient | None = None
        self._ready = False
        self._stack = ExitStack()

    # -- session -------------------------------------------------------------------------

    def __enter__(self) -> "TelemetryDatabase":
        try:
            self._check_files()
            if self.bastion is not None:
                self.tunnel = self._stack.enter_context(SshTunnel(self.bastion, self.config.host, self.config.port))
            self._client = self._stack.enter_context(self._new_client())
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._stack.close()

    def _secrets(self) -> list[str]:
        secrets = [self.config.password, self.bastion.key_passphrase if self.bastion else None]
        return [secret.get_secret_value() for secret in secrets if secret is not None]

    def preflight(self) -> None:
        """Check the settings that need no network: the CA bundle exists, a user comes with
        a password, the SSH key file decrypts with the passphrase. Raises
        :class:`SourceError` (stage ``config``)."""
        self._check_files()
        if self.bastion is not None:
            SshTunnel(self.bastion, self.config.host, self.config.port).load_key()

    def _check_files(self) -> None:
        ca_file = self.config.ca_file
        if self.config.tls and ca_file and not Path(ca_file).expanduser().is_file():
            raise SourceError(
                f"the CA bundle {ca_file} does not exist",
                "Set USAGE_DOCDB_CA_FILE to the certificate bundle that signed the database's TLS "
                "certificate (for DocumentDB: global-bundle.pem from AWS).",
                stage="config",
            )
        if self.config.user and not self.config.password:
            raise SourceError(
                f"USAGE_DOCDB_USER is set ({self.config.user!r}) but USAGE_DOCDB_PASSWORD is not",
                "Set USAGE_DOCDB_PASSWORD in .env or the environment (it is read when the run starts).",
                stage="config",
            )

    def _new_client(self) -> pymongo.MongoClient:
        config = self.config
        host, port = config.host, config.port
        if self.tunnel is not None:
            host, port = "127.0.0.1", self.tunnel.local_port
        options: dict[str, Any] = {
            "directConnection": config.direct_connection,
            "retryWrites": False,
            "tz_aware": True,
            "appname": "usage-assets",
            "serverSelectionTimeoutMS": int(config.server_selection_timeout_s * 1000),
            "connectTimeoutMS": int(config.server_selection_timeout_s * 1000),
            "socketTimeoutMS": int(config.socket_timeout_s * 1000),
            "tls": config.tls,
        }
        if config.tls:
            if config.ca_file:
                options["tlsCAFile"] = str(Path(config.ca_file).expanduser())
            if self.tunnel is not None:
                options["tlsAllowInvalidHostnames"] = True
        if config.user:
            options.update(
                username=config.user,
                password=config.password.get_secret_value() if config.password else None,
                authSource=config.auth_source,
                authMechanism=config.auth_mechanism,
            )
        options.update(self.options)
        try:
            return pymongo.MongoClient(host=host, port=int(port), connect=False, **options)
        except mongo_errors.PyMongoError as error:
            raise self._explain(error, "creating the database client") from None

    @property
    def client(self) -> pymongo.MongoClient:
        if self._client is None:
            raise RuntimeError("use TelemetryDatabase inside a with block")
        return self._client

    def _collection(self, event: str):
        return self.client[self.config.database][docs.COLLECTIONS[event]]

    # -- reads ---------------------------------------------------------------------------

    def _connected(self) -> None:
        """Connect (TLS, authentication) once per session, before any query.

        Outside the query budget on purpose: a wrong CA file or an unreachable server
        fails within ``server_selection_timeout_s``, not after a whole query budget.
        """
        if not self._ready:
            self.ping()
            self._ready = True

    def _stream(self, event: str, query: Mapping[str, Any], projection: Mapping[str, int]) -> Iterator[list[dict]]:
        """Batches of documents of one query, within the whole-query budget."""
        self._connected()
        collection = self._collection(event)
        batch: list[dict] = []
        with pymongo.timeout(self.config.query_timeout_s):
            cursor = collection.find(dict(query), dict(projection), batch_size=self.config.batch_size)
            try:
                for document in cursor:
                    batch.append(document)
                    if len(batch) >= self.config.batch_size:
                        yield batch
                        batch = []
            finally:
                cursor.close()
        if batch:
            yield batch

    def fetch_day(self, day: date) -> pl.DataFrame:
        """Every event of UTC ``day``, startup rows then heartbeat rows, export format.

        Reads both collections completely before returning, so a failure part-way
        (timeout, dropped connection) raises :class:`SourceError` and nothing of the day
        is used. Documents are converted batch by batch
        (:func:`telemetry_documents.split_day_documents`).
        """
        frames = []
        for event in docs.COLLECTIONS:
            during = f"reading {self._namespace(event)} for {day}"
            try:
                for batch in self._stream(event, docs.day_filter(day), docs.PROJECTION):
                    frames.append(docs.split_day_documents(batch, event, day))
            except mongo_errors.PyMongoError as error:
                raise self._explain(error, during) from None
        return pl.concat(frames) if frames else fmt.empty_export_frame()

    def count_day(self, day: date) -> dict[str, int]:
        """Events of UTC ``day`` per event type (``{"startup": n, "heartbeat": m}``).

        The same documents :meth:`fetch_day` returns: BSON-date ``ts`` counted by the
        server, string ``ts`` fetched (``ts`` only) and resolved like the fetch does.
        """
        counts = {}
        self._connected()
        for event in docs.COLLECTIONS:
            try:
                with pymongo.timeout(self.config.query_timeout_s):
                    dated = self._collection(event).count_documents(docs.date_ts_filter(day))
                strings = [
                    {"event": event, "ts": document.get("ts")}
                    for batch in self._stream(event, docs.string_ts_filter(day), {"_id": 0, "ts": 1})
                    for document in batch
                ]
            except mongo_errors.PyMongoError as error:
                raise self._explain(error, f"counting {self._namespace(event)} for {day}") from None
            counts[event] = dated + docs.keep_string_ts_rows(docs.rows_to_frame(strings), day).height
        return counts

    def first_day(self) -> date | None:
        """The UTC day of the oldest plausible BSON-date ``ts`` over both collections, or None.

        Plausible: at most :data:`export_format.COLLECTOR_RETENTION_DAYS` before the newest
        ``ts`` that is not in the future. The collector keeps a year of events, so an older
        ``ts`` comes from an install with a wrong clock and must not move the source's
        first day (it is never ingested).
        """
        newest = self._edge_ts({"$type": "date", "$lte": datetime.now(timezone.utc)}, -1)
        if newest is None:
            return None
        floor = newest - timedelta(days=fmt.COLLECTOR_RETENTION_DAYS)
        return self._edge_ts({"$type": "date", "$gte": floor}, 1).date()

    def _edge_ts(self, condition: dict[str, Any], direction: int) -> datetime | None:
        """The oldest (``direction`` 1) or newest (-1) BSON-date ``ts`` matching ``condition``
        over both collections, in UTC, or None.

        ``$match`` + ``$sort`` + ``$limit`` at the start of a pipeline can walk an index
        on ``ts`` and stop at the first document; a ``$group``/``$min`` would scan the
        whole collection.
        """
        edges: list[datetime] = []
        self._connected()
        for event in docs.COLLECTIONS:
            pipeline = [
                {"$match": {"ts": condition}},
                {"$sort": {"ts": direction}},
                {"$limit": 1},
                {"$project": {"_id": 0, "edge": "$ts"}},
            ]
            try:
                with pymongo.timeout(self.config.query_timeout_s):
                    result = list(self._collection(event).aggregate(pipeline))
            except mongo_errors.PyMongoError as error:
                which = "oldest" if direction == 1 else "newest"
                raise self._explain(error, f"finding the {which} event in {self._namespace(event)}") from None
            if result and isinstance(result[0].get("edge"), datetime):
                moment = result[0]["edge"]
                edges.append((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc))
        if not edges:
            return None
        return min(edges) if direction == 1 else max(edges)

    def ping(self) -> None:
        """Connect, complete TLS and authentication; raises :class:`SourceError`."""
        try:
            self.client[self.config.database].command("ping")
            # ping needs no privileges on every server; listing collections does.
            self.client[self.config.database].list_collection_names()
        except mongo_errors.PyMongoError as error:
            raise self._explain(error, f"connecting to {self.config.address}") from None

    def missing_collections(self) -> list[str]:
        """Names of the expected collections absent from the database."""
        try:
            present = set(self.client[self.config.database].list_collection_names())
        except mongo_errors.PyMongoError as error:
            raise self._explain(error, f"listing the collections of {self.config.database}") from None
        return [name for name in docs.COLLECTIONS.values() if name not in present]

    def diagnose(self) -> list[SourceCheckStep]:
        """Steps of ``check-source`` after the tunnel: connection, then collections (the
        day's counts are the resource's: :func:`usage_assets.defs.resources.telemetry.day_step`).

        Stops at the first failing step; never raises :class:`SourceError`.
        """
        steps = []
        try:
            self.ping()
            tls = "TLS verified against the CA file" if self.config.tls else "without TLS"
            who = f"authenticated as {self.config.user}" if self.config.user else "no credentials configured"
            steps.append(SourceCheckStep("database connection", True, f"{self.config.address}: {tls}, {who}"))
        except SourceError as error:
            return [*steps, SourceCheckStep("database connection", False, str(error))]
        try:
            missing = self.missing_collections()
        except SourceError as error:
            return [*steps, SourceCheckStep("collections", False, str(error))]
        if missing:
            steps.append(SourceCheckStep(
                "collections", False,
                f"{', '.join(missing)} not found in database {self.config.database!r}. Check "
                "USAGE_DOCDB_DATABASE (the collector writes to 'telemetry') and that the user may read it.",
            ))
            return steps
        steps.append(SourceCheckStep(
            "collections", True, ", ".join(f"{self.config.database}.{name}" for name in docs.COLLECTIONS.values())
        ))
        return steps

    # -- errors --------------------------------------------------------------------------

    def _namespace(self, event: str) -> str:
        return f"{self.config.database}.{docs.COLLECTIONS[event]}"

    def _explain(self, error: mongo_errors.PyMongoError, during: str) -> SourceError:
        """Turn a pymongo error into a :class:`SourceError` saying what to do next."""
        config = self.config
        detail = library_detail(error, self._secrets())
        text = str(error)
        code = getattr(error, "code", None)
        via = f" through the bastion {self.bastion.host}" if self.bastion else ""
        if isinstance(error, mongo_errors.OperationFailure) and code == _AUTHENTICATION_FAILED or (
            "Authentication failed" in text
        ):
            return SourceError(
                f"the database rejected the credentials of user {config.user!r} "
                f"(authSource {config.auth_source!r}, {config.auth_mechanism}) while {during}",
                "Check USAGE_DOCDB_USER and USAGE_DOCDB_PASSWORD, and USAGE_DOCDB_AUTH_SOURCE (DocumentDB "
                "users live in 'admin').",
                stage="auth",
            )
        if isinstance(error, mongo_errors.OperationFailure) and code == _UNAUTHORIZED:
            return SourceError(
                f"user {config.user!r} may not read {config.database} ({detail}) while {during}",
                "Grant the user the read role on that database, or check USAGE_DOCDB_DATABASE.",
                stage="auth",
            )
        if isinstance(error, mongo_errors.OperationFailure) and code == _MAX_TIME_EXPIRED:
            return self._timed_out(during)
        if isinstance(error, mongo_errors.OperationFailure):
            return SourceError(
                f"the database refused a command while {during} ({detail})",
                "Check the database user's permissions and the server's logs.",
                stage="query",
            )
        if isinstance(error, mongo_errors.ConfigurationError):
            return SourceError(
                f"the database settings are invalid ({detail})",
                "Check the USAGE_DOCDB_* variables (URI options, auth mechanism, CA file).",
                stage="config",
            )
        # Before the TLS test: through the tunnel, a database the bastion cannot reach shows
        # up in pymongo as a TLS handshake cut short (the bastion closes the forwarded
        # connection), which is not a CA problem.
        if self.tunnel is not None and not self.tunnel.is_active():
            return SourceError(
                f"the SSH tunnel to the bastion {self.bastion.host} closed while {during}; nothing was written",
                "If it persists after the retries, check the bastion (restarts, load, "
                "keepalive settings: USAGE_BASTION_KEEPALIVE_S).",
                stage="tunnel",
                transient=True,
            )
        # A channel still opening explains a timeout, not a certificate the server presented:
        # pymongo's monitor may be opening a new channel when this error arrives.
        still_opening = self.tunnel is not None and self.tunnel.opening_channel and not _certificate_rejected(text)
        if self.tunnel is not None and (self.tunnel.forward_error or still_opening):
            why = self.tunnel.forward_error or (
                f"the bastion was still trying to connect after {config.server_selection_timeout_s:g} s"
            )
            return SourceError(
                f"the bastion could not reach the database at {config.host}:{config.port} ({why}) while {during}",
                "Check USAGE_DOCDB_HOST/USAGE_DOCDB_PORT (the address as seen from the bastion: the name "
                "must resolve there), that the database is running, its security group, and that the "
                "bastion allows TCP forwarding.",
                stage="connect",
                transient=True,
            )
        if _looks_like_tls(text):
            return SourceError(
                f"the TLS handshake with {config.host}:{config.port}{via} failed while {during} ({detail})",
                "Check USAGE_DOCDB_CA_FILE (it must hold the CA that signed the server certificate; for "
                "DocumentDB global-bundle.pem) and USAGE_DOCDB_TLS (the server must use TLS too).",
                stage="tls",
            )
        if isinstance(error, mongo_errors.ServerSelectionTimeoutError):
            return SourceError(
                f"no answer from the database at {config.host}:{config.port}{via} within "
                f"{config.server_selection_timeout_s:g} s while {during} ({detail})",
                "Check USAGE_DOCDB_HOST/USAGE_DOCDB_PORT, that the database is running, and the network "
                "path.",
                stage="connect",
                transient=True,
            )
        if getattr(error, "timeout", False):
            return self._timed_out(during)
        if isinstance(error, mongo_errors.ConnectionFailure):
            return SourceError(
                f"the connection to the database dropped while {during}{via} ({detail}); "
                "nothing was written",
                "Run again later if the retries did not succeed; a later success writes the whole day.",
                stage="query",
                transient=True,
            )
        return SourceError(
            f"the database failed while {during} ({detail})",
            "Try again; if it persists, run `usage-report check-source` to see which step fails.",
            stage="query",
            transient=True,
        )

    def _timed_out(self, during: str) -> SourceError:
        config = self.config
        via = f" through the bastion {self.bastion.host}" if self.bastion else ""
        return SourceError(
            f"the query timed out while {during} (budget {config.query_timeout_s:g} s per query, "
            f"socket {config.socket_timeout_s:g} s){via}; nothing was written",
            "If it keeps timing out, raise USAGE_DOCDB_QUERY_TIMEOUT_S or "
            "check the database's load (an index on ts makes day queries cheap).",
            stage="query",
            transient=True,
        )


def _certificate_rejected(text: str) -> bool:
    """The TLS peer presented a certificate that was refused: the database was reached."""
    return "certificate verify failed" in text.lower()


def _looks_like_tls(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in ("ssl", "certificate", "tls", "wrong version number"))

