"""Choosing the chat endpoint of an app: its event chain first, else a named endpoint.

Order: an explicit ``api_name`` (the chain it belongs to, else that endpoint alone); the chain a
message box's submit (or a send button) starts (:mod:`bridge.gradio.chain`); a public endpoint
that takes a message, preferring ``/chat``.
"""

from __future__ import annotations

from bridge.errors import DiscoveryError
from bridge.gradio.appinfo import AppInfo, ChatEndpoint, Dependency, comp_type, param_for
from bridge.gradio.chain import ChainProblem, chain_for, find_chain


def find_chat(
    app: AppInfo, names: dict[int, str], api_name: str | None
) -> tuple[ChatEndpoint | None, str | None]:
    """The endpoint to chat with, or ``(None, why not)``; DiscoveryError when ``api_name`` is unusable."""
    if api_name:
        want = api_name.strip().lstrip("/")
        dep = next((d for d in app.dependencies.values() if d.backend_fn and d.api_name == want), None)
        if dep is None:
            known = ", ".join(sorted(app.endpoints)) or "none"
            raise DiscoveryError(f"the app has no endpoint named /{want} (public endpoints: {known})")
        try:
            return chain_for(app, names, dep), None
        except ChainProblem as exc:
            why = str(exc)
        if _message_slot(app, dep) is None:
            raise DiscoveryError(f"/{want} cannot be used as a chat: {why}")
        return _public(app, names, dep), None
    chain, problem = find_chain(app, names)
    if chain is not None:
        return chain, None
    for dep in app.dependencies.values():
        if dep.public and _message_slot(app, dep) is not None and _chatbot_in_out(app, dep):
            try:
                return chain_for(app, names, dep), None
            except ChainProblem:
                continue
    candidates = [d for d in app.dependencies.values() if d.public and _message_slot(app, d) is not None]
    candidates = [d for d in candidates if _shown_output(app, d) is not None]
    named = [d for d in candidates if d.api_name == "chat"]
    if named or len(candidates) == 1:
        return _public(app, names, (named or candidates)[0]), None
    if candidates:
        listed = ", ".join(f"/{d.api_name}" for d in candidates)
        return None, f"several endpoints take a message ({listed}) and none is /chat; name one with api_name"
    return (
        None,
        problem or "no message box starts a chain that writes a Chatbot, and no endpoint takes a message",
    )


def _message_slot(app: AppInfo, dep: Dependency) -> int | None:
    for slot, cid in enumerate(dep.inputs):
        if comp_type(app.components, cid) in ("textbox", "multimodaltextbox"):
            return slot
    return None


def _chatbot_in_out(app: AppInfo, dep: Dependency) -> bool:
    ins = {c for c in dep.inputs if comp_type(app.components, c) == "chatbot"}
    return bool(ins & set(dep.outputs))


def _shown_output(app: AppInfo, dep: Dependency) -> int | None:
    """Position of the output that carries the answer: the first that is not a State."""
    return next((i for i, c in enumerate(dep.outputs) if comp_type(app.components, c) != "state"), None)


def _public(app: AppInfo, names: dict[int, str], dep: Dependency) -> ChatEndpoint:
    """A single named endpoint: the message in, the first non-State output is the reply."""
    msg = _message_slot(app, dep)
    output_index = _shown_output(app, dep)
    if msg is None or output_index is None:
        what = "takes no text message" if msg is None else "returns nothing to show"
        raise DiscoveryError(f"endpoint /{dep.api_name} {what}, so it cannot be used as a chat")
    endpoint = app.endpoints.get("/" + (dep.api_name or ""))
    defaults = {p.slot: p.default for p in endpoint.params} if endpoint else {}
    slots: list[str] = []
    params = []
    for slot, cid in enumerate(dep.inputs):
        if slot == msg:
            slots.append("message")
        elif comp_type(app.components, cid) == "state":
            slots.append("state")
        else:
            slots.append("param")
            params.append(param_for(app.components, names, cid, slot, defaults.get(slot)))
    return ChatEndpoint(
        kind="public",
        fn_index=dep.id,
        api_name="/" + (dep.api_name or ""),
        slots=tuple(slots),
        output_index=output_index,
        multimodal=comp_type(app.components, dep.inputs[msg]) == "multimodaltextbox",
        generator=dep.generator,
        params=tuple(params),
    )
