"""The bundled demo: a streaming Gradio ChatInterface (``app.py``), which ``bridge demo`` chats with."""
