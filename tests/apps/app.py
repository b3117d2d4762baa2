"""The upstream application the tests put behind webtier: a small FastAPI
app, run under uvicorn as in production. Each instance reports its name
(WEBTIER_TEST_APP_NAME) so load-balancing tests can tell them apart."""

import os

from fastapi import FastAPI, Request

app = FastAPI()
NAME = os.environ.get("WEBTIER_TEST_APP_NAME", "app")


@app.get("/health")
def health():
    return {"status": "ok", "app": NAME}


@app.api_route("/echo/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
async def echo(path: str, request: Request):
    body = await request.body()
    return {
        "app": NAME,
        "method": request.method,
        "path": "/echo/" + path,
        "query": str(request.url.query),
        "headers": {k: v for k, v in request.headers.items()},
        "body_length": len(body),
    }
