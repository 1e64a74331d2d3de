"""Telegram adapter: python-telegram-bot <-> the bridge contract; Markdown rendered as text + entities."""
