# Vendored unchanged from gradio-app/gradio demo/chatinterface_random_response/run.py at 375335e60e2b4504a57f3eef0eb6bca3c7bb765a (Apache-2.0).
# An app this project did not write: the acceptance check of the chain runner runs it as it is.
import random
import gradio as gr

def random_response(message, history):
    return random.choice(["Yes", "No"])

demo = gr.ChatInterface(random_response, autofocus=False, api_name="chat")

if __name__ == "__main__":
    demo.launch()
