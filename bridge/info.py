"""``bridge info``: a readable description of an app's API, like gradio_client's ``view_api``."""

from __future__ import annotations

from bridge.gradio.appinfo import AppInfo, ChatEndpoint
from bridge.gradio.params import Param

_KIND = {
    "chain": "ChatInterface UI chain (files, components and thoughts come back; the bridge keeps history)",
    "blocks": "Blocks endpoint with a Chatbot (the bridge supplies the history)",
    "public": "public endpoint (history, if any, lives in the app)",
}


def describe_app(app: AppInfo) -> str:
    """Multi-line text: version, the chat endpoint chosen, then every named endpoint."""
    lines = [f"Gradio app at {app.root} (gradio {app.version}, api prefix {app.api_prefix or '(none)'})"]
    if app.max_file_size is not None:
        lines.append(f"  max file size: {app.max_file_size:,} bytes")
    lines.append("")
    lines.extend(describe_chat(app.chat))
    lines.append("")
    lines.append(f"Named endpoints: {len(app.endpoints)}")
    for name, ep in sorted(app.endpoints.items()):
        lines.append(f"  {name}  (fn_index {ep.dep.id}{', streams' if ep.dep.generator else ''})")
        for p in ep.params:
            lines.append(_param_line(p))
        rets = ", ".join(f"{label or '(unnamed)'} [{kind}]" for label, kind in ep.returns) or "nothing"
        lines.append(f"    returns: {rets}")
    return "\n".join(lines) + "\n"


def describe_chat(chat: ChatEndpoint | None) -> list[str]:
    """Lines describing the chat endpoint and its settings."""
    if chat is None:
        return ["Chat endpoint: none found (pass --api-name to choose one)"]
    lines = [
        f"Chat endpoint: {chat.api_name or '(unnamed)'} via {_KIND[chat.kind]}",
        f"  input: {'text and files (multimodal)' if chat.multimodal else 'text'}; "
        f"{'streams' if chat.generator else 'answers at once'}",
    ]
    if chat.params:
        lines.append("  settings (--param NAME=VALUE):")
        lines.extend(_param_line(p) for p in chat.params)
    else:
        lines.append("  settings: none")
    return lines


def _param_line(p: Param) -> str:
    label = f" ({p.label})" if p.label and p.label.lower() != p.name.lower() else ""
    return f"    - {p.name}{label}: {p.describe()}"
