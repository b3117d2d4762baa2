"""The upstream application the tests put behind webtier: a small FastAPI
app, run under uvicorn as in production. Each instance reports its name
(WEBTIER_TEST_APP_NAME) so load-balancing tests can tell them apart."""

import asyncio
import os

from fastapi import FastAPI, Request, Response, WebSocket
from fastapi.responses import StreamingResponse

app = FastAPI()
NAME = os.environ.get("WEBTIER_TEST_APP_NAME", "app")
SEEN = {"requests": 0}


@app.middleware("http")
async def count(request: Request, call_next):
    SEEN["requests"] += 1
    return await call_next(request)


@app.get("/health")
def health():
    return {"status": "ok", "app": NAME}


@app.get("/seen")
def seen():
    """How many HTTP requests this instance has answered (this one included)."""
    return {"app": NAME, "requests": SEEN["requests"]}


@app.api_route("/echo/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
async def echo(path: str, request: Request):
    length = 0
    async for chunk in request.stream():
        length += len(chunk)
    return {
        "app": NAME,
        "method": request.method,
        "path": "/echo/" + path,
        "query": str(request.url.query),
        "headers": {k: v for k, v in request.headers.items()},
        "body_length": length,
    }


@app.get("/powered")
def powered():
    """Identity headers that the proxy must not pass on."""
    return Response(
        content="identity", headers={"X-Powered-By": "FastAPI", "X-Kept": "yes"}
    )


@app.get("/slow")
async def slow(ms: int = 1000):
    await asyncio.sleep(ms / 1000)
    return {"app": NAME, "slept_ms": ms}


@app.get("/stream")
async def stream(chunks: int = 10, size: int = 65536, delay_ms: int = 100):
    """A download that takes chunks * delay_ms to arrive."""

    async def body():
        for _ in range(chunks):
            yield b"x" * size
            await asyncio.sleep(delay_ms / 1000)

    return StreamingResponse(body(), media_type="application/octet-stream")


@app.websocket("/ws")
async def ws(socket: WebSocket):
    await socket.accept()
    while True:
        text = await socket.receive_text()
        await socket.send_text(f"{NAME}:{text}")
