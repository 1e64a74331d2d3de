"""Choosing the chat endpoint of an app (see the order in :mod:`bridge.gradio.discovery`).

The ChatInterface chain is found from ``/config`` alone (PROTOCOL.md §13.2): the root dep R is a
backend dep triggered by a textbox ``submit`` that takes that textbox; following ``trigger_after``
through backend deps that output the chatbot gives R → A → G; S is G's backend child that takes
the chatbot and does not output it (5/6 only). Names and ids are never relied on.
"""

from __future__ import annotations

from typing import Literal

from bridge.errors import DiscoveryError
from bridge.gradio.appinfo import AppInfo, ChatEndpoint, Dependency, comp_type, param_for


def find_chat(app: AppInfo, names: dict[int, str], api_name: str | None) -> ChatEndpoint | None:
    """Return the endpoint to chat with; raise DiscoveryError when an explicit ``api_name`` is unknown."""
    if api_name:
        want = api_name.strip().lstrip("/")
        for dep in app.dependencies.values():
            if dep.backend_fn and dep.api_name == want:
                return _endpoint(app, names, dep)
        known = ", ".join(sorted(app.endpoints)) or "none"
        raise DiscoveryError(f"the app has no endpoint named /{want} (public endpoints: {known})")
    chain = _chain(app, names)
    if chain is not None:
        return chain
    candidates = [d for d in app.dependencies.values() if d.public and _message_slot(app, d) is not None]
    with_history = [d for d in candidates if _chatbot_in_out(app, d)]
    for group in (with_history, [d for d in candidates if d.api_name == "chat"], candidates):
        if len(group) == 1 or (group and group is not candidates):
            return _endpoint(app, names, group[0])
    return None


def _message_slot(app: AppInfo, dep: Dependency) -> int | None:
    for slot, cid in enumerate(dep.inputs):
        if comp_type(app.components, cid) in ("textbox", "multimodaltextbox"):
            return slot
    return None


def _chatbot_in_out(app: AppInfo, dep: Dependency) -> bool:
    ins = {c for c in dep.inputs if comp_type(app.components, c) == "chatbot"}
    return bool(ins & set(dep.outputs))


def _outputs_chatbot(app: AppInfo, dep: Dependency) -> bool:
    return any(comp_type(app.components, c) == "chatbot" for c in dep.outputs)


def _children(app: AppInfo, parent: Dependency) -> list[Dependency]:
    return [d for d in app.dependencies.values() if d.trigger_after == parent.id and d.backend_fn]


def _chain(app: AppInfo, names: dict[int, str]) -> ChatEndpoint | None:
    for root in app.dependencies.values():
        if not root.backend_fn:
            continue
        box = next(
            (
                t
                for t, ev in root.targets
                if ev == "submit"
                and t is not None
                and comp_type(app.components, t) in ("textbox", "multimodaltextbox")
            ),
            None,
        )
        if box is None or box not in root.inputs:
            continue
        steps: list[Dependency] = []
        current = root
        while True:
            nxt = next((c for c in _children(app, current) if _outputs_chatbot(app, c)), None)
            if nxt is None or nxt in steps:
                break
            steps.append(nxt)
            current = nxt
        if not steps:
            continue
        gen = steps[-1]
        chatbot = next(c for c in gen.outputs if comp_type(app.components, c) == "chatbot")
        sync = next(
            (c for c in _children(app, gen) if chatbot in c.inputs and not _outputs_chatbot(app, c)), None
        )
        append = steps[0] if len(steps) > 1 else None
        return _chain_endpoint(app, names, root, append, gen, sync, chatbot, box)
    return None


def _chain_endpoint(
    app: AppInfo,
    names: dict[int, str],
    root: Dependency,
    append: Dependency | None,
    gen: Dependency,
    sync: Dependency | None,
    chatbot: int,
    box: int,
) -> ChatEndpoint:
    slots: list[str] = []
    params = []
    for slot, cid in enumerate(gen.inputs):
        kind = comp_type(app.components, cid)
        if kind == "state":
            slots.append("state")
        elif cid == chatbot:
            slots.append("history")
        else:
            slots.append("param")
            params.append(param_for(app.components, names, cid, slot))
    props = app.components.get(chatbot, {}).get("props") or {}
    fmt: Literal["messages", "tuples"] = "tuples" if props.get("type") == "tuples" else "messages"
    public = next((d for d in app.dependencies.values() if d.public and d.api_name), None)
    queued = frozenset(d.id for d in (root, append, gen, sync) if d is not None and d.queue)
    return ChatEndpoint(
        kind="chain",
        fn_index=gen.id,
        api_name=("/" + public.api_name) if public and public.api_name else None,
        slots=tuple(slots),
        output_index=gen.outputs.index(chatbot),
        multimodal=comp_type(app.components, box) == "multimodaltextbox",
        generator=gen.generator,
        params=tuple(params),
        history_format=fmt,
        root_id=root.id,
        append_id=append.id if append else None,
        sync_id=sync.id if sync else None,
        queued=queued,
    )


def _endpoint(app: AppInfo, names: dict[int, str], dep: Dependency) -> ChatEndpoint:
    """A single-dep chat endpoint: ``blocks`` when it takes and returns a Chatbot, else ``public``."""
    msg = _message_slot(app, dep)
    if msg is None:
        raise DiscoveryError(
            f"endpoint /{dep.api_name} takes no text message, so it cannot be used as a chat"
        )
    key = "/" + (dep.api_name or "")
    endpoint = app.endpoints.get(key)
    defaults = {p.slot: p.default for p in endpoint.params} if endpoint else {}
    history = _chatbot_in_out(app, dep)
    slots: list[str] = []
    params = []
    chatbot_id: int | None = None
    for slot, cid in enumerate(dep.inputs):
        kind = comp_type(app.components, cid)
        if slot == msg:
            slots.append("message")
        elif kind == "state":
            slots.append("state")
        elif kind == "chatbot" and history:
            slots.append("history")
            chatbot_id = cid
        else:
            slots.append("param")
            params.append(param_for(app.components, names, cid, slot, defaults.get(slot)))
    if chatbot_id is not None:
        output_index = dep.outputs.index(chatbot_id)
        props = app.components.get(chatbot_id, {}).get("props") or {}
        fmt: Literal["messages", "tuples"] | None = "tuples" if props.get("type") == "tuples" else "messages"
    else:
        output_index = next(
            (i for i, c in enumerate(dep.outputs) if comp_type(app.components, c) != "state"), 0
        )
        fmt = None
    return ChatEndpoint(
        kind="blocks" if history else "public",
        fn_index=dep.id,
        api_name=key,
        slots=tuple(slots),
        output_index=output_index,
        multimodal=comp_type(app.components, dep.inputs[msg]) == "multimodaltextbox",
        generator=dep.generator,
        params=tuple(params),
        history_format=fmt,
        queued=frozenset({dep.id}) if dep.queue else frozenset(),
    )
