"""The ``redis://`` state URL: the parts the bridge reads itself, and what goes on to redis-py."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

DEFAULT_PREFIX = "bridge:"


def parse_url(url: str) -> tuple[str, dict[str, str], str, list[str]]:
    """``url`` → (URL for redis-py without our parameters, our parameters, display URL, secrets to hide).

    Our parameters are ``prefix`` and ``password``, the value of the variable ``password_env`` names.
    """
    parts = urlsplit(url.strip())
    ours = {"prefix": DEFAULT_PREFIX}
    query = []
    for item in parts.query.split("&"):
        name, _, value = item.partition("=")
        if name in ("prefix", "password_env"):
            ours[name] = unquote(value)
        elif item:
            query.append(item)
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
