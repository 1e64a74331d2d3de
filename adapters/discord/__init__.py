"""Discord adapter: discord.py <-> the bridge contract; slash commands, threads, Discord Markdown."""
