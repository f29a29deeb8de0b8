"""Baken in the browser: an anonymous web chat at `/`, over a WebSocket or plain HTTP, and a widget for other sites."""

from bot.channels.webchat.chat import CHANNEL, Peer, WebChat
from bot.channels.webchat.limits import WebchatLimits
from bot.channels.webchat.routes import WEBCHAT, add_webchat

__all__ = ["CHANNEL", "WEBCHAT", "Peer", "WebChat", "WebchatLimits", "add_webchat"]
