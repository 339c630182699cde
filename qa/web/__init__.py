"""The web chat (Gradio): answers with confidence and numbered, expandable citations.

``render`` makes the reply's HTML, ``worker`` runs the engine (here or in a child
process), ``app`` builds the Gradio page and API.
"""

from qa.web.app import CSS, build_app, launch
from qa.web.render import render
from qa.web.worker import ChatProcess, LocalChat

__all__ = ["CSS", "ChatProcess", "LocalChat", "build_app", "launch", "render"]
