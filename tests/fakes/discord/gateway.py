"""The gateway of the fake Discord (:mod:`tests.fakes.discord`): a Starlette websocket at ``/gateway``.

Per connection: HELLO (op 10), heartbeats (op 1 → op 11), IDENTIFY (op 2: token, ``intents`` and
``shard`` checked; READY then one GUILD_CREATE per guild the shard owns) or RESUME (op 6: a known
session and a ``seq`` it has sent → the missed dispatches, then RESUMED; anything else → op 9 with
``d: false``). ``compress=zlib-stream`` gets binary frames from one ``zlib.compressobj`` per connection,
each ending in a Z_SYNC_FLUSH; anything else (``zstd-stream`` included) gets plain text frames, which
discord.py always accepts. Sessions outlive their connection unless the client closes with 1000/1001,
as on Discord. Close codes used: 4001 unknown opcode, 4002 decode error, 4003 not authenticated, 4004
authentication failed, 4005 already authenticated, 4010 invalid shard, 4012 invalid API version, 4013
invalid intents, 4014 disallowed (privileged) intents. The fake sends no pings of its own (discord.py
keeps the connection alive with op 1) and offers no permessage-deflate (see :mod:`tests.fakes.server`).
Connections and sessions are in :mod:`~tests.fakes.discord.session`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from starlette.websockets import WebSocket

from tests.fakes.discord.session import BUFFER, PRIVILEGED, Connection, Received, Session
from tests.fakes.discord.world import World
from tests.fakes.server import Served


class Gateway(World):
    """Gateway state: ``sessions`` by id, live ``connections``, ``gateway_log`` of what clients sent,
    ``identifies`` (IDENTIFY ``d`` payloads) and ``resumes`` ((session_id, seq, replayed) or
    (session_id, seq, -1) when refused)."""

    def _init_gateway(self, heartbeat_interval: int, allowed_intents: int | None) -> None:
        self.heartbeat_interval, self.allowed_intents = heartbeat_interval, allowed_intents
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self.gateway_log: list[Received] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[tuple[str, int, int]] = []
        self.accept_connections = asyncio.Event()  # clear() holds new connections before HELLO
        self.accept_connections.set()
        self.served: Served | None = None  # set while served (serve_discord)

    def _notify(self) -> None:  # replaced by FakeDiscord
        pass

    @property
    def gateway_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/gateway"

    # --------------------------------------------------------------------------------------- serving
    async def _gateway(self, ws: WebSocket) -> None:
        await ws.accept()
        conn = Connection(ws)
        self.connections.append(conn)
        try:
            if conn.query.get("v", "10") != "10":
                return await conn.close(4012, "Invalid API version")
            if conn.query.get("encoding", "json") != "json":
                return await conn.close(4002, "Decode error")
            await self.accept_connections.wait()
            await conn.send(
                {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval}, "s": None, "t": None}
            )
            while conn.close_code is None:
                msg = await ws.receive()
                if (
                    msg["type"] == "websocket.disconnect"
                ):  # the client's close (or the fake's, sent elsewhere)
                    conn.close_code = conn.close_code or msg.get("code", 1005)
                    break
                if msg.get("text") is None:
                    return await conn.close(4002, "Decode error")
                try:
                    frame = json.loads(msg["text"])
                except ValueError:
                    return await conn.close(4002, "Decode error")
                await self._on_frame(conn, frame)
                self._notify()
        finally:
            self.connections.remove(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                if conn.close_code in (1000, 1001):  # a clean close ends the session, as on Discord
                    self.sessions.pop(session.id, None)
            conn.closed.set()
            self._notify()

    async def _on_frame(self, conn: Connection, frame: dict[str, Any]) -> None:
        op, d = frame.get("op"), frame.get("d")
        self.gateway_log.append(Received(conn.session.shard_id if conn.session else None, op, d))
        if op == 1:
            await conn.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            await self._identify(conn, d or {})
        elif op == 6:
            await self._resume(conn, d or {})
        elif conn.session is None:
            await conn.close(4003, "Not authenticated.")
        elif op == 8:
            await self._members_chunk(conn.session, d or {})
        elif op not in (3, 4):  # presence and voice state updates are only logged
            await conn.close(4001, "Unknown opcode.")

    def _identify_error(self, conn: Connection, d: dict[str, Any]) -> tuple[int, str] | None:
        shard, intents = d.get("shard", [0, 1]), d.get("intents")
        if conn.session is not None:
            return 4005, "Already authenticated."
        if d.get("token") != self.token:
            return 4004, "Authentication failed."
        if not isinstance(intents, int) or intents < 0:
            return 4013, "Invalid intent(s)."
        if self.allowed_intents is not None and intents & PRIVILEGED & ~self.allowed_intents:
            return 4014, "Disallowed intent(s)."
        if not (isinstance(shard, list) and len(shard) == 2 and 0 <= shard[0] < shard[1]):
            return 4010, "Invalid shard."
        return None

    async def _identify(self, conn: Connection, d: dict[str, Any]) -> None:
        self.identifies.append(d)
        if problem := self._identify_error(conn, d):
            await conn.close(*problem)
            return
        shard = d.get("shard", [0, 1])
        session = Session(secrets.token_hex(16), shard[0], shard[1], d["intents"], conn=conn)
        self.sessions[session.id] = session
        conn.session = session
        owned = [gid for gid in self.guilds if session.owns(gid)]
        ready = {
            "v": 10,
            "user": self.users[self.bot_id] | {"verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": gid, "unavailable": True} for gid in owned],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.app_id, "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        if "shard" in d:
            ready["shard"] = shard
        await self._send(session, "READY", ready)
        for gid in owned:
            await self._send(session, "GUILD_CREATE", self.guild_payload(gid))

    async def _resume(self, conn: Connection, d: dict[str, Any]) -> None:
        session = self.sessions.get(str(d.get("session_id")))
        seq = d.get("seq")
        oldest = session.sent[0]["s"] - 1 if session and session.sent else 0
        if (
            session is None
            or d.get("token") != self.token
            or not isinstance(seq, int)
            or not oldest <= seq <= session.seq
        ):
            self.resumes.append((str(d.get("session_id")), seq if isinstance(seq, int) else -1, -1))
            await conn.send({"op": 9, "d": False, "s": None, "t": None})
            return
        old = session.conn
        session.conn, conn.session = conn, session
        if old is not None and old is not conn:
            old.session = None
            await old.close(4009, "Session resumed elsewhere")
        missed = [f for f in session.sent if f["s"] > seq]
        self.resumes.append((session.id, seq, len(missed)))
        for frame in missed:
            await conn.send(frame)
        await self._send(session, "RESUMED", {"_trace": ["fake-discord"]})

    async def _members_chunk(self, session: Session, d: dict[str, Any]) -> None:
        gid = str(d.get("guild_id"))
        if gid not in self.members:
            return
        wanted = {str(u) for u in d.get("user_ids") or []}
        query = str(d.get("query") or "").lower()
        members = [
            self.member_payload(gid, uid)
            for uid in self.members[gid]
            if (uid in wanted if wanted else self.users[uid]["username"].startswith(query))
        ]
        chunk = {"guild_id": gid, "members": members, "chunk_index": 0, "chunk_count": 1, "not_found": []}
        await self._send(
            session, "GUILD_MEMBERS_CHUNK", chunk | ({"nonce": d["nonce"]} if d.get("nonce") else {})
        )

    async def _send(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.sent.append(frame)
        del session.sent[:-BUFFER]
        if session.conn is not None:
            await session.conn.send(frame)

    # ---------------------------------------------------------------------------------- test helpers
    async def dispatch(
        self, event: str, data: dict[str, Any], *, guild_id: str | None = None, intent: int | None = None
    ) -> int:
        """Send dispatch ``event`` to every session that owns ``guild_id`` (shard 0 for None) and asked for
        ``intent``; disconnected sessions keep it for RESUME. Returns the number of sessions."""
        targets = [
            s for s in self.sessions.values() if s.owns(guild_id) and (intent is None or s.intents & intent)
        ]
        for session in targets:
            await self._send(session, event, data)
        self._notify()
        return len(targets)

    def _matching(self, shard_id: int | None) -> list[Connection]:
        return [
            c for c in self.connections if c.session and (shard_id is None or c.session.shard_id == shard_id)
        ]

    async def reconnect(self, shard_id: int | None = None, *, timeout: float = 5.0) -> int:
        """Send op 7 RECONNECT to the identified connections (of one shard) and wait until the client has
        closed them; it then connects again and RESUMEs. Returns the number of connections."""
        conns = self._matching(shard_id)
        for conn in conns:
            await conn.send({"op": 7, "d": None, "s": None, "t": None})
        async with asyncio.timeout(timeout):
            for conn in conns:
                await conn.closed.wait()
        return len(conns)

    async def drop_connection(self, shard_id: int | None = None, *, code: int | None = 4000) -> int:
        """Close the identified connections (of one shard) from the server side with ``code``, or with
        ``code=None`` abort the TCP connection (the client sees 1006). Either way the client resumes."""
        conns = self._matching(shard_id)
        for conn in conns:
            if code is None:
                if self.served is not None:
                    self.served.abort(conn.client)
            else:
                await conn.close(code, "dropped by the fake")
        async with asyncio.timeout(5.0):
            for conn in conns:
                await conn.closed.wait()
        return len(conns)

    def forget_sessions(self) -> None:
        """Drop every session: the next RESUME is refused with op 9 and the client identifies again."""
        self.sessions.clear()

    async def _close_gateway(self) -> None:
        for conn in list(self.connections):
            await conn.close(1001, "server shutting down")
