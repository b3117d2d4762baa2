#!/usr/bin/env python3
"""One real OpenID login through the proxy, for bench/auth.sh.

    auth_login.py ORIGIN START_PATH LOGIN CA_PEM OUT_COOKIE \
        [ISSUER CLIENT_ID CLIENT_SECRET SCOPE RESOURCE OUT_TOKEN]

A browser without a browser, like tests/it/support/oidc.rs `Agent`: a
cookie jar, `Accept: text/html` on every request, redirects followed across
the proxy (ORIGIN, e.g. https://bench.test:8443, reached on 127.0.0.1 and
trusted through CA_PEM) and the provider (oidc-provider's dev
interactions: the login form, then the consent form, filled in and
posted). It ends on the protected page, which must be the upstream's 200.
Writes the `Cookie` header value of the proxy's session cookie(s) to
OUT_COOKIE.

With the second group of arguments it also takes a client-credentials
access token (RFC 9068 JWT) for RESOURCE with SCOPE from the machine client
and writes it to OUT_TOKEN. Prints what it did on stderr.
"""

import base64
import html
import http.cookiejar
import json
import re
import socket
import ssl
import sys
import urllib.parse
import urllib.request

origin, start_path, login, ca_pem, out_cookie = sys.argv[1:6]
site = urllib.parse.urlsplit(origin).hostname

# The site's name goes to the proxy on loopback; TLS still checks the
# certificate for the name (SNI and verification use the URL's host).
_getaddrinfo = socket.getaddrinfo


def _gai(host, *args, **kwargs):
    return _getaddrinfo("127.0.0.1" if host == site else host, *args, **kwargs)


socket.getaddrinfo = _gai

ctx = ssl.create_default_context(cafile=ca_pem)
jar = http.cookiejar.CookieJar()
hops = []


class Recorder(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        hops.append(f"{req.get_method()} {req.full_url} -> {code}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


opener = urllib.request.build_opener(
    urllib.request.HTTPCookieProcessor(jar),
    urllib.request.HTTPSHandler(context=ctx),
    Recorder(),
)
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def fetch(url, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, headers={"Accept": ACCEPT})
    try:
        resp = opener.open(req, timeout=30)
    except urllib.error.HTTPError as e:
        resp = e
    body = resp.read().decode("utf-8", "replace")
    hops.append(f"{req.get_method()} {resp.geturl()} -> {resp.status}")
    return resp.status, resp.geturl(), body


def provider_form(url, body):
    """The login or consent form of an oidc-provider interaction page."""
    if "/interaction/" not in urllib.parse.urlsplit(url).path:
        return None
    m = re.search(r"<form[^>]*action=\"([^\"]+)\"[^>]*>(.*?)</form>", body, re.S)
    if not m:
        return None
    action, inner = html.unescape(m.group(1)), m.group(2)
    fields = []
    for tag in re.findall(r"<input[^>]*>", inner):
        name = re.search(r"name=\"([^\"]*)\"", tag)
        if not name:
            continue
        name = html.unescape(name.group(1))
        value = re.search(r"value=\"([^\"]*)\"", tag)
        value = html.unescape(value.group(1)) if value else ""
        if name == "login":
            value = login
        elif name == "password":
            value = "any"
        fields.append((name, value))
    return urllib.parse.urljoin(url, action), fields


def fail(why):
    sys.stderr.write(f"auth_login.py: {why}\nhops:\n  " + "\n  ".join(hops) + "\n")
    sys.exit(1)


status, url, body = fetch(origin + start_path)
for _ in range(10):
    form = provider_form(url, body) if status == 200 else None
    if form is None:
        break
    status, url, body = fetch(*form)
if status != 200 or urllib.parse.urlsplit(url).path != start_path:
    fail(f"the login did not end on {start_path} with 200 (HTTP {status} at {url}): {body[:300]!r}")
ours = sorted(
    (c for c in jar if c.name.startswith("__Host-webtier-session")),
    key=lambda c: (len(c.name), c.name),
)
if not ours:
    fail("no session cookie in the jar: " + ", ".join(c.name for c in jar))
cookie = "; ".join(f"{c.name}={c.value}" for c in ours)
with open(out_cookie, "w") as f:
    f.write(cookie)
sys.stderr.write(
    f"login as {login}: {len(hops)} requests, ended {status} at {url}; "
    f"session cookie(s) {', '.join(c.name for c in ours)}, {len(cookie)} bytes in the Cookie header\n"
)

if len(sys.argv) > 6:
    issuer, client_id, secret, scope, resource, out_token = sys.argv[6:12]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    req = urllib.request.Request(
        issuer + "/token",
        data=urllib.parse.urlencode(
            {"grant_type": "client_credentials", "scope": scope, "resource": resource}
        ).encode(),
        headers={"Authorization": f"Basic {basic}"},
    )
    try:
        resp = urllib.request.urlopen(req, timeout=30)
    except urllib.error.HTTPError as e:
        fail(f"client credentials: HTTP {e.code} {e.read()[:300]!r}")
    token = json.load(resp)["access_token"]
    head = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    with open(out_token, "w") as f:
        f.write(token)
    sys.stderr.write(
        f"client-credentials token: {len(token)} bytes, header {head}, aud {claims.get('aud')}, "
        f"scope {claims.get('scope')!r}, sub {claims.get('sub')}, expires in {claims['exp'] - claims['iat']} s\n"
    )
