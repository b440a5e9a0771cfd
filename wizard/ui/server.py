"""Serving the page: loopback and a free port by default; on any other address only with the
token the URL carries (made here, printed once, never written anywhere).

The token is checked on every request, page and API alike: a request carries it as `?token=`
(the URL printed) or as the cookie the first such request sets, so the page's own calls pass.
"""

from __future__ import annotations

import ipaddress
import queue
import secrets
import socket
import threading
import webbrowser
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

TOKEN_COOKIE = "axolotl_wizard_token"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Address:
    host: str
    port: int
    token: str | None  # None on loopback: only this machine reaches it

    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        query = f"/?token={self.token}" if self.token else "/"
        return f"http://{shown}:{self.port}{query}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> tuple[socket.socket, Address]:
    """A listening socket on host:port (port 0: a free one the system picks), so the port the
    URL names is the one served, with no window for another program to take it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        from wizard.errors import WizardError

        raise WizardError(
            f"cannot listen on {host}:{port}: {err.strerror}",
            "pick another --port, or leave it out for a free one",
        ) from None
    sock.listen(128)
    token = None if is_loopback(host) else secrets.token_urlsafe(24)
    return sock, Address(host, sock.getsockname()[1], token)


Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]


class TokenGate:
    """ASGI middleware: a request without the token (query or cookie) is refused with 403."""

    def __init__(self, app: App, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        from starlette.requests import HTTPConnection
        from starlette.responses import PlainTextResponse

        request = HTTPConnection(scope)
        given = request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            if scope["type"] == "http":
                response = PlainTextResponse(
                    "a token is needed: open the URL the command printed", status_code=403
                )
                await response(scope, receive, send)
            return
        if request.query_params.get("token") and scope["type"] == "http":
            send = _with_cookie(send, self.token)
        await self.app(scope, receive, send)


def _with_cookie(send: Send, token: str) -> Send:
    cookie = f"{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/".encode()

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
        await send(message)

    return sending


class MainThread:
    """Work that must run on the main thread (writing a run folder holds off SIGINT and SIGTERM
    with signal handlers, which only the main thread may set), handed over by the page's
    handler threads while the server runs in a thread of its own."""

    def __init__(self) -> None:
        self.jobs: queue.Queue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = (
            queue.Queue()
        )

    def call(self, work: Callable[..., Any], *args: Any) -> Any:
        future: Future[Any] = Future()
        self.jobs.put((future, work, args))
        return future.result()

    def run_until(self, stopped: Callable[[], bool]) -> None:
        while not stopped():
            try:
                future, work, args = self.jobs.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                future.set_result(work(*args))
            except BaseException as err:  # the handler thread re-raises it
                future.set_exception(err)


def serve(
    blocks: Any, sock: socket.socket, address: Address, main: MainThread, open_browser: bool
) -> None:
    """Run the page until Ctrl-C: the server in a thread, the main thread doing `main`'s work."""
    import gradio as gr
    import uvicorn
    from fastapi import FastAPI

    app: Any = gr.mount_gradio_app(
        FastAPI(),
        blocks,
        path="",
        footer_links=[],
        server_name=address.host,
        server_port=address.port,
    )
    if address.token is not None:
        app = TokenGate(app, address.token)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    print(f"The page: {address.url()}", flush=True)
    if address.token is not None:
        print(
            "Anyone with this URL can use the page: it is printed once, and stored nowhere.",
            flush=True,
        )
    if open_browser:
        webbrowser.open(address.url())
    try:
        main.run_until(lambda: not thread.is_alive())
    finally:
        server.should_exit = True
        thread.join(timeout=10)
