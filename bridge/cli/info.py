"""``bridge info SRC``: a readable description of an app's API, like gradio_client's ``view_api``.

:func:`describe_chat` is also what ``bridge check`` prints for each Space.
"""

from __future__ import annotations

import argparse
import sys

from bridge.cli.common import Commands, add_source, credentials
from bridge.gradio.appinfo import AppInfo, ChatEndpoint
from bridge.gradio.client import GradioClient
from bridge.gradio.events import SpaceStatus
from bridge.gradio.params import Param


def add(commands: Commands) -> None:
    """Declare ``info`` on the ``bridge`` parser's sub-commands."""
    sp = commands.add_parser(
        "info", help="show an app's endpoints, parameters, types, defaults and constraints"
    )
    add_source(sp)
    sp.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    """Connect to the app and describe it on stdout (status lines, like waking a Space, on stderr)."""
    token, auth = credentials(args)
    async with await GradioClient.connect(
        args.src, hf_token=token, auth=auth, api_name=args.api_name, on_status=_status
    ) as client:
        sys.stdout.write(describe_app(client.app))
    return 0


def _status(event: SpaceStatus) -> None:
    sys.stderr.write(f"[{event.message}]\n")
    sys.stderr.flush()


def describe_app(app: AppInfo) -> str:
    """Multi-line text: version, the chat endpoint chosen, then every named endpoint."""
    lines = [f"Gradio app at {app.root} (gradio {app.version}, api prefix {app.api_prefix or '(none)'})"]
    if app.max_file_size is not None:
        lines.append(f"  max file size: {app.max_file_size:,} bytes")
    lines.append("")
    lines.extend(describe_chat(app.chat, app))
    lines.append("")
    lines.append(f"Named endpoints: {len(app.endpoints)}")
    for name, ep in sorted(app.endpoints.items()):
        lines.append(f"  {name}  (fn_index {ep.dep.id}{', streams' if ep.dep.generator else ''})")
        for p in ep.params:
            lines.append(_param_line(p))
        rets = ", ".join(f"{label or '(unnamed)'} [{kind}]" for label, kind in ep.returns) or "nothing"
        lines.append(f"    returns: {rets}")
    return "\n".join(lines) + "\n"


def describe_chat(chat: ChatEndpoint | None, app: AppInfo) -> list[str]:
    """Lines describing how the bridge chats with the app: the chain, the input, the settings."""
    if chat is None:
        why = app.chat_problem or "nothing in it takes a message"
        return [
            f"Chat: none — this app's event chain is not supported: {why} (pass --api-name to choose one)"
        ]
    if chat.kind == "chain":
        lines = [f"Chat: {chat.chain_text} (the app's event chain; the bridge keeps the history)"]
    else:
        lines = [f"Chat: {chat.api_name} (a single endpoint; the history, if any, lives in the app)"]
    lines.append(
        f"  input: {'text and files (multimodal)' if chat.multimodal else 'text'}; "
        f"{'streams' if chat.generator else 'answers at once'}"
    )
    if chat.params:
        lines.append("  settings (--param NAME=VALUE):")
        lines.extend(_param_line(p) for p in chat.params)
    else:
        lines.append("  settings: none")
    if chat.shown:
        shown = ", ".join(_component(app, c) for c in chat.shown)
        lines.append(f"  also shown after the reply: {shown}")
    if chat.carried:
        lines.append(
            f"  kept by the app between turns: {len(chat.carried)} gr.State value(s); they start over "
            "when the app restarts (the history does not)"
        )
    for step in (s for s in chat.steps if s.js):
        lines.append(
            f"  step {step.name or step.id} runs JavaScript in the browser first; the bridge cannot, "
            "so it sends that step's inputs as they are"
        )
    if chat.examples:
        lines.append("  examples: " + "; ".join(repr(e) for e in chat.examples))
    return lines


def _component(app: AppInfo, cid: int) -> str:
    comp = app.components.get(cid, {})
    label = (comp.get("props") or {}).get("label")
    kind = str(comp.get("type", "?"))
    return f"{label} [{kind}]" if isinstance(label, str) and label else f"[{kind}]"


def _param_line(p: Param) -> str:
    label = f" ({p.label})" if p.label and p.label.lower() != p.name.lower() else ""
    return f"    - {p.name}{label}: {p.describe()}"
