"""The text app again, launched by serve.py with auth=("alice", "wonderland").

Proves: password login (PROTOCOL.md §7): /config answers 401 before login, POST /login (form fields
username/password) sets the access-token cookies, and every later request works with them.
"""

from __future__ import annotations

import gradio as gr

from . import text

USERNAME = "alice"
PASSWORD = "wonderland"
AUTH = (USERNAME, PASSWORD)


def build() -> gr.Blocks:
    return text.build()
