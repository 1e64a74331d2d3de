"""Finding an app's chat event chain in ``/config``, as the browser would run it.

A chain starts at a trigger the user fires by sending a message: a message box's ``submit`` or a
button's ``click``. Every dependency bound to that trigger runs, then, recursively, the
dependencies whose ``trigger_after`` is one that ran (``.then`` always, ``.success`` only when it
succeeded, ``.failure`` never here: the bridge reports a failure itself). A chain is a chat chain
when one of its steps reads the message box and one writes a Chatbot. ``gr.ChatInterface`` is one
such chain (PROTOCOL.md §13), a ``msg.submit(user, …).then(bot, …)`` Blocks app another, a single
``/respond`` endpoint taking and returning the Chatbot a third. Names and ids are never relied on.

Departures from the browser, each for a reason:
- Steps whose every output is display chrome nobody reads (the box's props, a button's
  visibility), or is overwritten by a later step before anything reads it (ChatInterface 5/6's
  step that shows the user's message, which the reply step rewrites whole), are not run: they
  cost a round trip each and change nothing the conversation keeps.
- A *seed* step (takes only the Chatbot, writes only States: ChatInterface 5/6's history sync) runs
  before the trigger with the stored history instead of after the reply, so a restarted app or a
  new session continues the conversation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from bridge.gradio.appinfo import MESSAGE_TYPES, AppInfo, ChatEndpoint, Dependency, Step, comp_type, param_for

# Components whose value a reply can show (extra outputs), as opposed to controls and chrome.
SHOWN_TYPES = frozenset(
    {
        "markdown",
        "code",
        "json",
        "html",
        "image",
        "file",
        "audio",
        "video",
        "gallery",
        "label",
        "textbox",
        "number",
        "plot",
        "dataframe",
        "highlightedtext",
    }
)


class ChainProblem(Exception):
    """Why an app's chain cannot be used as a chat (the message reads well after "because")."""


def find_chain(app: AppInfo, names: dict[int, str]) -> tuple[ChatEndpoint | None, str | None]:
    """The best chat chain of the app, or ``(None, why)`` when no trigger leads to one."""
    why: str | None = None
    for box, event, roots in _triggers(app):
        try:
            return chain_endpoint(app, names, roots, box, event), None
        except ChainProblem as exc:
            why = why or str(exc)
    return None, why


def chain_for(app: AppInfo, names: dict[int, str], dep: Dependency) -> ChatEndpoint:
    """The chain that runs when ``dep``'s trigger fires (``dep`` may be any step of it)."""
    root = dep
    while root.trigger_after is not None and root.trigger_after in app.dependencies:
        root = app.dependencies[root.trigger_after]
    box, event = next(
        (
            (t, ev)
            for t, ev in root.targets
            if t is not None and comp_type(app.components, t) in MESSAGE_TYPES
        ),
        (None, "call"),
    )
    if box is None:  # an endpoint called by name: the message is the first text input it takes
        box = next((c for c in root.inputs if comp_type(app.components, c) in MESSAGE_TYPES), None)
    if box is None:
        raise ChainProblem(f"/{dep.api_name} and the steps it starts take no text message")
    return chain_endpoint(app, names, [root], box, event)


def _triggers(app: AppInfo) -> list[tuple[int, str, list[Dependency]]]:
    """(box, event, root deps) for each message box's submit, then each button click, in id order."""
    by_target: dict[tuple[int, str], list[Dependency]] = {}
    for dep in app.dependencies.values():
        for target, event in dep.targets:
            if target is not None:
                by_target.setdefault((target, event), []).append(dep)
    boxes = sorted(c for c in app.components if comp_type(app.components, c) in MESSAGE_TYPES)
    found: list[tuple[int, str, list[Dependency]]] = []
    for box in boxes:
        if (box, "submit") in by_target:
            found.append((box, "submit", by_target[(box, "submit")]))
    for (target, event), roots in sorted(by_target.items()):
        if event == "click" and comp_type(app.components, target) == "button":
            for box in boxes:
                found.append((box, f"{_label(app, target)}.click", roots))
    return found


def chain_endpoint(
    app: AppInfo, names: dict[int, str], roots: list[Dependency], box: int, event: str
) -> ChatEndpoint:
    """The ChatEndpoint running ``roots`` and their children with ``box`` as the message box."""
    ordered = _walk(app, roots)
    backend = [d for d in ordered if d.backend_fn]
    writers = [d for d in backend if any(comp_type(app.components, c) == "chatbot" for c in d.outputs)]
    if not writers:
        raise ChainProblem("no step of its chain writes a Chatbot")
    chatbot = next(c for c in writers[0].outputs if comp_type(app.components, c) == "chatbot")
    if not any(box in d.inputs for d in backend):
        what = event if event != "submit" else f"{_label(app, box)}.submit"
        raise ChainProblem(f"the chain {what} starts writes a Chatbot but takes no message from a text box")
    seed = _seed_step(app, backend, writers, chatbot)
    kept: list[Dependency] = []  # decided from the end: a later step that is skipped overwrites nothing
    for dep in reversed(backend):
        if dep is not seed and _useful(app, dep, backend, kept, box, chatbot):
            kept.insert(0, dep)
    streaming = next((d for d in reversed(kept) if chatbot in d.outputs and d.generator), None)
    streaming = streaming or next(d for d in reversed(kept) if chatbot in d.outputs)
    read = {c for d in kept for c in d.inputs}
    written = {c for d in kept for c in d.outputs}
    kinds = {c: comp_type(app.components, c) for c in read | written | {box, chatbot}}
    settings = [c for c in sorted(read - written) if c not in (box, chatbot) and kinds[c] != "state"]
    defaults = tuple((c, _default(app, c)) for c in sorted(read | written) if kinds[c] != "state")
    shown = tuple(
        c
        for c in sorted(written - read)
        if c not in (box, chatbot) and kinds[c] in SHOWN_TYPES and _visible(app, c)
    )
    props = app.components.get(chatbot, {}).get("props") or {}
    fmt: Literal["messages", "tuples"] = "tuples" if props.get("type") == "tuples" else "messages"
    public = next((d for d in app.dependencies.values() if d.public and d.api_name), None)
    label = event if event != "submit" else f"{_label(app, box)}.submit"
    return ChatEndpoint(
        kind="chain",
        fn_index=streaming.id,
        api_name=("/" + public.api_name) if public and public.api_name else None,
        multimodal=kinds[box] == "multimodaltextbox",
        generator=streaming.generator,
        params=tuple(param_for(app.components, names, c, c, _default(app, c)) for c in settings),
        history_format=fmt,
        trigger=label,
        steps=tuple(_step(d) for d in kept),
        seed=_step(seed) if seed else None,
        box=box,
        chatbot=chatbot,
        defaults=defaults,
        shown=shown,
        carried=_carried(app, kept, seed),
        examples=_examples(app, chatbot, box),
    )


def _examples(app: AppInfo, chatbot: int, box: int) -> tuple[str, ...]:
    """The example messages: the Chatbot's ``examples`` (5/6), else a Dataset of the box (4.x)."""
    props = app.components.get(chatbot, {}).get("props") or {}
    found = [e.get("text") for e in props.get("examples") or () if isinstance(e, dict)]
    if not found:
        for comp in app.components.values():
            dprops = comp.get("props") or {}
            ids = list(dprops.get("component_ids") or ())
            if comp.get("type") == "dataset" and box in ids:
                at = ids.index(box)
                found = [
                    row[at] for row in dprops.get("samples") or () if isinstance(row, list) and len(row) > at
                ]
                break
    texts = [e.get("text") if isinstance(e, dict) else e for e in found]
    return tuple(t.strip() for t in texts if isinstance(t, str) and t.strip())


def _walk(app: AppInfo, roots: Iterable[Dependency]) -> list[Dependency]:
    """Roots and their ``.then``/``.success`` descendants, depth first, in id order."""
    out: list[Dependency] = []
    children: dict[int, list[Dependency]] = {}
    for dep in app.dependencies.values():
        if dep.trigger_after is not None and not dep.on_failure:
            children.setdefault(dep.trigger_after, []).append(dep)
    stack = sorted(roots, key=lambda d: d.id, reverse=True)
    while stack:
        dep = stack.pop()
        if dep in out:
            continue
        out.append(dep)
        stack.extend(sorted(children.get(dep.id, ()), key=lambda d: d.id, reverse=True))
    return out


def _seed_step(
    app: AppInfo, backend: list[Dependency], writers: list[Dependency], chatbot: int
) -> Dependency | None:
    last_writer = backend.index(writers[-1])
    for dep in backend[last_writer + 1 :]:
        if (
            dep.inputs == (chatbot,)
            and dep.outputs
            and all(comp_type(app.components, c) == "state" for c in dep.outputs)
        ):
            return dep
    return None


def _useful(
    app: AppInfo, dep: Dependency, chain: list[Dependency], later: list[Dependency], box: int, chatbot: int
) -> bool:
    """Whether running ``dep`` can change what the conversation keeps or shows (see the module doc);
    ``later`` are the steps after it that will run."""
    if not dep.outputs:
        return True  # a step with side effects only: run it, as the browser does
    for c in dep.outputs:
        kind = comp_type(app.components, c)
        if _overwritten(c, later):
            continue  # e.g. ChatInterface 5/6's history display, which the reply step rewrites whole
        if c == chatbot:
            return True
        if c == box:
            if any(box in d.inputs for d in later):
                return True
            continue
        readers = [d for d in chain if c in d.inputs and d is not dep]
        if readers or (kind in SHOWN_TYPES and kind != "state" and _visible(app, c)):
            return True
    return False


def _overwritten(cid: int, later: list[Dependency]) -> bool:
    """A later step writes ``cid`` before any step reads it: this step's value of it is never seen."""
    for dep in later:
        if cid in dep.inputs:
            return False
        if cid in dep.outputs:
            return True
    return False


def _carried(app: AppInfo, steps: list[Dependency], seed: Dependency | None) -> tuple[int, ...]:
    """States a step reads before any step of the turn writes them: kept in the app between turns."""
    written: set[int] = set(seed.outputs) if seed else set()
    carried: list[int] = []
    for dep in steps:
        for c in dep.inputs:
            if comp_type(app.components, c) == "state" and c not in written and c not in carried:
                carried.append(c)
        written.update(dep.outputs)
    return tuple(carried)


def _step(dep: Dependency) -> Step:
    return Step(
        id=dep.id,
        name=dep.api_name,
        inputs=dep.inputs,
        outputs=dep.outputs,
        queued=dep.queue,
        generator=dep.generator,
        after_success=dep.on_success,
        js=dep.js,
    )


def _default(app: AppInfo, cid: int) -> Any:
    return (app.components.get(cid, {}).get("props") or {}).get("value")


def _visible(app: AppInfo, cid: int) -> bool:
    return (app.components.get(cid, {}).get("props") or {}).get("visible", True) is not False


def _label(app: AppInfo, cid: int) -> str:
    props = app.components.get(cid, {}).get("props") or {}
    for key in ("label", "value", "elem_id"):
        text = props.get(key)
        if isinstance(text, str) and text and not text.startswith("__i18n__") and len(text) <= 40:
            return text.replace(" ", "_")
    return comp_type(app.components, cid) or f"component{cid}"
