"""The console adapter: a terminal as a chat platform (the reference adapter)."""
