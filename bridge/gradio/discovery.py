"""Discovery: ``/config`` + ``{prefix}/info`` → :class:`AppInfo` with the chat endpoint chosen."""

from __future__ import annotations

import dataclasses
from typing import Any

from bridge.gradio.appinfo import AppInfo, Dependency, Endpoint, comp_type, param_for, parse_dependency
from bridge.gradio.chatfind import find_chat


def discover(
    root: str, config: dict[str, Any], info: dict[str, Any] | None, api_name: str | None = None
) -> AppInfo:
    """Build the :class:`AppInfo` of an app from its ``/config`` and ``/info`` documents."""
    version = str(config.get("version", "0"))
    try:
        major = int(version.split(".", maxsplit=1)[0])
    except ValueError:
        major = 0
    components = {int(c["id"]): c for c in config.get("components") or [] if "id" in c}
    deps = {d.id: d for d in (parse_dependency(r, i) for i, r in enumerate(config.get("dependencies") or []))}
    names = _param_names(deps, components, info)
    endpoints = _endpoints(deps, components, names, info)
    app = AppInfo(
        root=root.rstrip("/"),
        api_prefix=str(config.get("api_prefix") or "").rstrip("/"),
        version=version,
        major=major,
        mode=config.get("mode"),
        max_file_size=config.get("max_file_size") if isinstance(config.get("max_file_size"), int) else None,
        app_id=str(config["app_id"]) if config.get("app_id") is not None else None,
        components=components,
        dependencies=deps,
        endpoints=endpoints,
        chat=None,
    )
    chat, problem = find_chat(app, names, api_name)
    return dataclasses.replace(app, chat=chat, chat_problem=problem)


def _param_names(
    deps: dict[int, Dependency], components: dict[int, dict[str, Any]], info: dict[str, Any] | None
) -> dict[int, str]:
    """Map component id → the parameter name ``/info`` gives it (fn argument names)."""
    names: dict[int, str] = {}
    named = (info or {}).get("named_endpoints") or {}
    for dep in deps.values():
        if not dep.api_name:
            continue
        entry = named.get("/" + dep.api_name.lstrip("/"))
        if not entry:
            continue
        visible = [c for c in dep.inputs if comp_type(components, c) != "state"]
        for cid, p in zip(visible, entry.get("parameters") or [], strict=False):
            if p.get("parameter_name"):
                names.setdefault(cid, str(p["parameter_name"]))
    return names


def _endpoints(
    deps: dict[int, Dependency],
    components: dict[int, dict[str, Any]],
    names: dict[int, str],
    info: dict[str, Any] | None,
) -> dict[str, Endpoint]:
    named = (info or {}).get("named_endpoints") or {}
    out: dict[str, Endpoint] = {}
    for dep in deps.values():
        if not dep.public or not dep.api_name:
            continue
        key = "/" + dep.api_name.lstrip("/")
        entry = named.get(key) or {}
        defaults = [
            p.get("parameter_default") if p.get("parameter_has_default") else None
            for p in entry.get("parameters") or []
        ]
        params = []
        visible = [(slot, c) for slot, c in enumerate(dep.inputs) if comp_type(components, c) != "state"]
        for i, (slot, cid) in enumerate(visible):
            default = defaults[i] if i < len(defaults) else None
            params.append(param_for(components, names, cid, slot, default))
        returns = tuple(
            ((components.get(c, {}).get("props") or {}).get("label"), comp_type(components, c))
            for c in dep.outputs
            if comp_type(components, c) != "state"
        )
        out[key] = Endpoint(api_name=key, dep=dep, params=tuple(params), returns=returns)
    return out
