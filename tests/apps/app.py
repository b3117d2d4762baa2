"""The upstream application the tests put behind webtier: a small FastAPI
app, run under uvicorn as in production. Each instance reports its name
(WEBTIER_TEST_APP_NAME) so load-balancing tests can tell them apart."""

import asyncio
import gzip
import json
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


# ------------------------------------------------------------------------
# The response cache and compression tests (#19). Every endpoint below
# counts its requests per path (GET /counts shows them) and states its
# caching and content headers exactly, so that a test can tell what the
# proxy answered from its cache and what it asked the app.

COUNTS: dict = {}
RELEASES: dict = {}


def counted(request: Request) -> dict:
    """Counts this request to its path; returns the path's counters."""
    c = COUNTS.setdefault(
        request.url.path, {"requests": 0, "conditional": 0, "not_modified": 0}
    )
    c["requests"] += 1
    return c


def text_of(size: int) -> str:
    """`size` characters of numbered lines (tests/it/proxy/compress.rs
    builds the same text)."""
    out = []
    length, i = 0, 0
    while length < size:
        line = f"line {i:05} the quick brown fox jumps over the lazy dog\n"
        out.append(line)
        length += len(line)
        i += 1
    return "".join(out)[:size]


def noise_of(size: int) -> str:
    """`size` characters of hex that compress poorly, numbered lines
    (tests/it/proxy/compress.rs builds the same text)."""
    out = []
    length, i = 0, 0
    while length < size:
        words = "".join(
            f"{(i * 7919 + j * 104729 + 1) ** 3 % 4294967291:08x}" for j in range(8)
        )
        line = f"{i:06} {words}\n"
        out.append(line)
        length += len(line)
        i += 1
    return "".join(out)[:size]


def json_of(kb: int) -> bytes:
    """A JSON document of about `kb` KiB."""
    items, length, i = [], 2, 0
    while length < kb * 1024:
        item = {
            "id": i,
            "name": f"item {i}",
            "tags": ["alpha", "beta", "gamma"][: i % 3 + 1],
            "score": (i * 7919) % 1000 / 10,
            "active": i % 2 == 0,
        }
        items.append(item)
        length += len(json.dumps(item)) + 2
        i += 1
    return json.dumps({"items": items}).encode()


@app.get("/counts")
def counts():
    """Per path: requests, conditional requests, and those answered 304."""
    return COUNTS


@app.get("/cache/private/{name}")
def cache_private(name: str, request: Request):
    n = counted(request)["requests"]
    return Response(
        content=f"private {name} n={n}",
        media_type="text/plain",
        headers={"Cache-Control": "private, max-age=60"},
    )


@app.get("/cache/cookie/{name}")
def cache_cookie(name: str, request: Request):
    n = counted(request)["requests"]
    return Response(
        content=f"cookie {name} n={n}",
        media_type="text/plain",
        headers={
            "Cache-Control": "max-age=60",
            "Set-Cookie": f"sid={name}-{n}; Path=/; HttpOnly",
        },
    )


@app.get("/cache/lang/{name}")
def cache_lang(name: str, request: Request):
    n = counted(request)["requests"]
    lang = request.headers.get("accept-language", "none")
    return Response(
        content=f"{name} lang={lang} n={n}",
        media_type="text/plain",
        headers={"Cache-Control": "max-age=60", "Vary": "Accept-Language"},
    )


@app.get("/cache/etag/{name}")
def cache_etag(name: str, request: Request, cc: str = "max-age=2", cookie: str = ""):
    """A fixed body with a strong ETag; 304 to a matching If-None-Match
    (with `Set-Cookie: <cookie>` when given, as session middleware
    does)."""
    c = counted(request)
    etag = f'"{name}-v1"'
    headers = {"Cache-Control": cc, "ETag": etag}
    if cookie and request.headers.get("if-none-match") is not None:
        headers["Set-Cookie"] = cookie
    inm = request.headers.get("if-none-match")
    if inm is not None:
        c["conditional"] += 1
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        if etag in tags or "*" in tags:
            c["not_modified"] += 1
            return Response(status_code=304, headers=headers)
    return Response(
        content=f"etag {name} original", media_type="text/plain", headers=headers
    )


@app.get("/cache/{name:path}")
async def cache_any(
    name: str, request: Request, cc: str = "max-age=60", ms: int = 0, vary: str = ""
):
    """Any Cache-Control (`cc`), after `ms` milliseconds; the body names
    the path, how many requests it had, and the value of the header
    `vary` names (sent as `Vary`) when given."""
    n = counted(request)["requests"]
    if ms:
        await asyncio.sleep(ms / 1000)
    headers = {"Cache-Control": cc}
    content = f"/cache/{name} n={n}"
    if vary:
        headers["Vary"] = vary
        content += f" {vary}={request.headers.get(vary, '')}"
    return Response(content=content, media_type="text/plain", headers=headers)


@app.get("/compress/json/{name}")
def compress_json(name: str, request: Request, kb: int = 20, etag: str = "", cc: str = ""):
    counted(request)
    headers = {}
    if etag:
        headers["ETag"] = f'"{etag}"'
    if cc:
        headers["Cache-Control"] = cc
    return Response(content=json_of(kb), media_type="application/json", headers=headers)


@app.get("/compress/text/{name}")
def compress_text(
    name: str, request: Request, size: int = 20000, ct: str = "text/plain", cc: str = ""
):
    """`size` bytes of text_of() with Content-Type `ct`."""
    counted(request)
    headers = {"Content-Type": ct}
    if cc:
        headers["Cache-Control"] = cc
    return Response(content=text_of(size).encode(), headers=headers)


@app.get("/compress/gzipped/{name}")
def compress_gzipped(name: str, request: Request, size: int = 20000):
    """text_of(size), gzipped by the app itself."""
    counted(request)
    body = gzip.compress(text_of(size).encode(), mtime=0)
    return Response(
        content=body,
        media_type="text/plain",
        headers={"Content-Encoding": "gzip"},
    )


@app.get("/compress/range/{name}")
def compress_range(name: str, request: Request, size: int = 20000):
    """text_of(size); a single `Range: bytes=a-b` is answered 206."""
    counted(request)
    body = text_of(size).encode()
    spec = request.headers.get("range", "")
    if spec.startswith("bytes=") and "," not in spec:
        first, _, last = spec[len("bytes=") :].partition("-")
        start = int(first)
        end = min(int(last) if last else size - 1, size - 1)
        return Response(
            content=body[start : end + 1],
            status_code=206,
            media_type="text/plain",
            headers={
                "Content-Range": f"bytes {start}-{end}/{size}",
                "Accept-Ranges": "bytes",
            },
        )
    return Response(content=body, media_type="text/plain", headers={"Accept-Ranges": "bytes"})


def release_event(name: str) -> asyncio.Event:
    return RELEASES.setdefault(name, asyncio.Event())


@app.get("/compress/stream/{name}")
async def compress_stream(
    name: str, request: Request, size: int = 20000, first: int = 2048, noise: int = 0
):
    """text_of(size) (noise_of with noise=1) in two parts: the first
    `first` bytes at once, the rest once GET /compress/release/{name}
    came (or after 60 s)."""
    counted(request)
    body = (noise_of(size) if noise else text_of(size)).encode()
    event = release_event(name)

    async def parts():
        yield body[:first]
        try:
            await asyncio.wait_for(event.wait(), 60)
        except asyncio.TimeoutError:
            pass
        yield body[first:]

    return StreamingResponse(parts(), media_type="text/plain")


@app.get("/compress/release/{name}")
async def compress_release(name: str):
    release_event(name).set()
    return {"released": name}
