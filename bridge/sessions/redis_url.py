"""The ``redis://`` state URL: the parts the bridge reads itself, and what goes on to redis-py."""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import unquote, urlsplit

DEFAULT_PREFIX = "bridge:"
DEFAULT_PARTITIONS = 16  # how many processes can share one bot's messages at most
MAX_PARTITIONS = 1024
COORDINATION_POOL = 32  # connections: a blocking read per bot, pub/sub, leases, budget reservations


def consumer_name() -> str:
    """This process's name among the consumers of a shared inbox: ``$BRIDGE_REPLICA`` (a stable
    name, such as a Kubernetes pod's, lets a restarted replica take its partitions back at once)
    or host, process id and a random part (unique even for a reused process id)."""
    return os.environ.get("BRIDGE_REPLICA") or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def parse_url(url: str) -> tuple[str, dict[str, str], str, list[str]]:
    """``url`` → (URL for redis-py without our parameters, our parameters, display URL, secrets to hide).

    Our parameters are ``prefix``, ``partitions`` (of the shared inbox) and ``password``, the value
    of the variable ``password_env`` names.
    """
    parts = urlsplit(url.strip())
    ours = {"prefix": DEFAULT_PREFIX, "partitions": str(DEFAULT_PARTITIONS)}
    query = []
    for item in parts.query.split("&"):
        name, _, value = item.partition("=")
        if name in ("prefix", "password_env", "partitions"):
            ours[name] = unquote(value)
        elif item:
            query.append(item)
    if not ours["partitions"].isdigit() or not 1 <= int(ours["partitions"]) <= MAX_PARTITIONS:
        raise ValueError(f"the Redis URL's partitions must be a whole number from 1 to {MAX_PARTITIONS}")
    password = parts.password or ""
    if "password_env" in ours:
        name = ours.pop("password_env")
        if password:
            raise ValueError("the Redis URL has a password and password_env; keep only password_env")
        password = ours["password"] = os.environ.get(name, "")
        if not password:
            raise ValueError(f"the environment variable {name!r} (password_env) is not set or empty")
    secrets = sorted({s for s in (password, unquote(password)) if s}, key=len, reverse=True)
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port or 6379
    except ValueError:
        port_text = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        raise ValueError(f"the Redis URL's port {port_text!r} is not a number") from None
    db = parts.path.strip("/") or dict(q.partition("=")[::2] for q in query).get("db", "0")
    if not db.isdigit():  # redis-py would quietly use database 0
        raise ValueError(f"the Redis URL's database {db!r} is not a number")
    client_url = parts._replace(query="&".join(query)).geturl()
    return client_url, ours, f"{parts.scheme}://{host}:{port}/{db}", secrets


def without_pool_size(url: str) -> str:
    """``url`` without a ``max_connections`` query parameter (it sizes the store's own pool)."""
    parts = urlsplit(url)
    query = [q for q in parts.query.split("&") if q and q.partition("=")[0] != "max_connections"]
    return parts._replace(query="&".join(query)).geturl()
