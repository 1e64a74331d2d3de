"""The app model discovery produces: dependencies, endpoints, the chosen chat endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.gradio.params import Param, param_from_component

MESSAGE_TYPES = ("textbox", "multimodaltextbox")


@dataclass(frozen=True, slots=True)
class Dependency:
    """One backend event of the app (``fn_index`` = ``id``)."""

    id: int
    api_name: str | None
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    backend_fn: bool
    queue: bool
    generator: bool
    public: bool
    trigger_after: int | None
    targets: tuple[tuple[int | None, str], ...]
    cancels: tuple[int, ...]
    on_success: bool = False  # ``.success``: runs only when its parent succeeded
    on_failure: bool = False  # ``.failure``: runs only when its parent failed
    js: bool = False  # runs JavaScript in the browser (before its Python function, if any)


@dataclass(frozen=True, slots=True)
class Step:
    """One backend step of a chat chain, run in order with inputs from the component values."""

    id: int
    name: str | None
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    queued: bool
    generator: bool
    after_success: bool = False
    js: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A named endpoint as ``bridge info`` shows it: its non-State parameters and returns."""

    api_name: str
    dep: Dependency
    params: tuple[Param, ...]
    returns: tuple[tuple[str | None, str], ...]


@dataclass(frozen=True, slots=True)
class ChatEndpoint:
    """How to run one chat turn against this app (see :mod:`bridge.gradio.chain`).

    ``chain``: the app's event chain. ``steps`` run in order; each takes its inputs from the
    conversation's component values (``box`` = the message, ``chatbot`` = the history, ``params``
    = settings, keyed by component id in ``Param.slot``; ``defaults`` are the initial values) and
    writes its outputs back. ``fn_index`` is the step that streams the Chatbot. ``seed`` writes the
    stored history into the app's State before the turn. ``shown`` are extra outputs to show
    after the reply; ``carried`` are States the app keeps between turns (lost when it restarts).

    ``public``: one named endpoint whose history, if any, lives in the app. ``slots`` names what
    goes in each input position of ``fn_index``: ``"message"``, ``"state"`` (always ``null``) or
    ``"param"``; the reply is output ``output_index``.
    """

    kind: Literal["chain", "public"]
    fn_index: int
    api_name: str | None
    multimodal: bool
    generator: bool
    params: tuple[Param, ...]
    history_format: Literal["messages", "tuples"] | None = None
    slots: tuple[str, ...] = ()
    output_index: int = 0
    trigger: str = ""
    steps: tuple[Step, ...] = ()
    seed: Step | None = None
    box: int | None = None
    chatbot: int | None = None
    defaults: tuple[tuple[int, Any], ...] = ()
    shown: tuple[int, ...] = ()
    carried: tuple[int, ...] = ()
    examples: tuple[str, ...] = field(default_factory=tuple)

    @property
    def chain_text(self) -> str:
        """The chain as ``bridge info`` names it: ``Message.submit → user → bot``."""
        names = [s.name or f"step{s.id}" for s in self.steps]
        return " → ".join([self.trigger, *names]) if self.kind == "chain" else (self.api_name or "")


@dataclass(frozen=True, slots=True)
class AppInfo:
    """What the bridge knows about a connected app."""

    root: str
    api_prefix: str
    version: str
    major: int
    mode: str | None
    max_file_size: int | None
    app_id: str | None
    components: dict[int, dict[str, Any]]
    dependencies: dict[int, Dependency]
    endpoints: dict[str, Endpoint]
    chat: ChatEndpoint | None
    chat_problem: str | None = None  # why no chat endpoint was found, when none was

    def api_url(self, path: str) -> str:
        """Absolute URL of an API route (``/queue/join`` → ``{root}{prefix}/queue/join``)."""
        return f"{self.root}{self.api_prefix}{path}"


def parse_dependency(raw: dict[str, Any], index: int) -> Dependency:
    """Read one entry of ``/config``'s ``dependencies`` (4.x ``show_api`` or 6.x ``api_visibility``)."""
    vis = raw.get("api_visibility")
    public = vis == "public" if vis is not None else bool(raw.get("show_api", True))
    types = raw.get("types") or {}
    name = raw.get("api_name")
    return Dependency(
        id=int(raw.get("id", index)),
        api_name=str(name) if name not in (None, False) else None,
        inputs=tuple(raw.get("inputs") or ()),
        outputs=tuple(raw.get("outputs") or ()),
        backend_fn=bool(raw.get("backend_fn", True)),
        queue=raw.get("queue") is not False,
        generator=bool(types.get("generator")),
        public=public and bool(raw.get("backend_fn", True)) and name not in (None, False),
        trigger_after=raw.get("trigger_after"),
        targets=tuple((t[0], str(t[1])) for t in raw.get("targets") or () if len(t) == 2),
        cancels=tuple(raw.get("cancels") or ()),
        on_success=bool(raw.get("trigger_only_on_success")),
        on_failure=bool(raw.get("trigger_only_on_failure")),
        js=bool(raw.get("js")),
    )


def comp_type(components: dict[int, dict[str, Any]], cid: int) -> str:
    """The lower-case component type of id ``cid`` (``"state"``, ``"chatbot"``, …)."""
    return str(components.get(cid, {}).get("type", "")).lower()


def param_for(
    components: dict[int, dict[str, Any]], names: dict[int, str], cid: int, slot: int, default: Any = None
) -> Param:
    """The Param for input component ``cid`` at position ``slot``."""
    comp = components.get(cid, {})
    props = comp.get("props") or {}
    label = props.get("label")
    fallback = label if isinstance(label, str) and label and not label.startswith("__i18n__") else None
    name = names.get(cid) or _slug_name(fallback) or f"input_{cid}"
    return param_from_component(name, slot, comp_type(components, cid), props, default)


def _slug_name(label: str | None) -> str | None:
    if not label:
        return None
    slug = "".join(ch if ch.isalnum() else "_" for ch in label.lower()).strip("_")
    return slug or None
