"""The bundled demo: a streaming Gradio ChatInterface (``app.py``) and the terminal chat against it."""
