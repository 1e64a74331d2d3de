# Vendored unchanged from gradio-app/gradio demo/chatinterface_system_prompt/run.py at 375335e60e2b4504a57f3eef0eb6bca3c7bb765a (Apache-2.0).
# An app this project did not write: the acceptance check of the chain runner runs it as it is.
import gradio as gr
import time

def echo(message, history, system_prompt, tokens):
    response = f"System prompt: {system_prompt}\n Message: {message}."
    for i in range(min(len(response), int(tokens))):
        time.sleep(0.05)
        yield response[: i + 1]

demo = gr.ChatInterface(
    echo,
    additional_inputs=[
        gr.Textbox("You are helpful AI.", label="System Prompt"),
        gr.Slider(10, 100),
    ],
)

if __name__ == "__main__":
    demo.launch()
