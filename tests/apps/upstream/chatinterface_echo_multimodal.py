# Vendored unchanged from gradio-app/gradio demo/chatinterface_echo_multimodal/run.py at 375335e60e2b4504a57f3eef0eb6bca3c7bb765a (Apache-2.0).
# An app this project did not write: the acceptance check of the chain runner runs it as it is.
import gradio as gr

def echo_multimodal(message, history):
    response = []
    response.append("You wrote: '" + message["text"] + "' and uploaded:")
    if message.get("files"):
        for file in message["files"]:
            response.append(gr.File(value=file))
    return response

demo = gr.ChatInterface(
    echo_multimodal,
    multimodal=True,
    textbox=gr.MultimodalTextbox(file_count="multiple"),
    api_name="chat",
)

if __name__ == "__main__":
    demo.launch()
