// A real OpenID provider (oidc-provider, a certified implementation) for
// webtier's integration tests, plus a small test-only admin API under
// /_test/ on the same port. Started by tests/it/support/oidc.rs:
//
//   node provider.mjs --port PORT --config CONFIG.json
//
// PORT 0 picks a free port. Once listening it prints one line on stdout:
// `ready http://127.0.0.1:PORT` (the issuer). CONFIG.json (or the JSON in
// the OIDC_TEST_CONFIG environment variable):
//
//   {
//     "clients": [ oidc-provider client metadata, e.g.
//       { "client_id": "webtier", "client_secret": "s3cret",
//         "token_endpoint_auth_method": "client_secret_basic",
//         "redirect_uris": ["https://app.test:8443/auth/callback"],
//         "post_logout_redirect_uris": ["https://app.test:8443/"],
//         "grant_types": ["authorization_code", "refresh_token"] },
//       { "client_id": "robot", "client_secret": "x", "grant_types": ["client_credentials"],
//         "redirect_uris": [], "response_types": [], "scope": "read write admin" } ],
//     "ttl": { "IdToken": 60, "AccessToken": 60, "Session": 3600, "RefreshToken": 3600 },
//     "refresh_tokens": true,            // issue one on every code grant (no offline_access needed)
//     "resource_scopes": "read write admin",
//     "accounts": { "bob": { "email": "bob@other.org", "email_verified": true, "groups": ["admins"] } }
//                 (email_verified "omit": the ID token has no email_verified claim)
//   }
//
// A login name without an entry in "accounts" gets `<login>@example.com`
// (or the login itself when it contains an @), verified, and no groups.
//
// Admin API (JSON answers):
//   POST /_test/tamper?mode=M  the next ID token /token returns gets a defect:
//        nonce | audience | expired | unknown_key | same_kid_other_key | alg_none
//   POST /_test/rotate?keep_old=true|false  a new signing key (new kid) signs from now on
//   GET  /_test/counters       token-endpoint outcomes by grant_type, tampered tokens served
//   POST /_test/revoke?account=A  revokes A's grants (refresh tokens, access tokens, codes)
//   POST /_test/clients        (JSON array body) replaces the clients
//   GET  /_test/keys           the published kids, the signing one first

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: { port: { type: 'string' }, config: { type: 'string' } },
});
const port = Number(args.port ?? process.env.OIDC_TEST_PORT ?? 0);
const config = JSON.parse(
  args.config ? fs.readFileSync(args.config, 'utf8') : (process.env.OIDC_TEST_CONFIG ?? '{}'),
);

// ----------------------------------------------------------------- keys

// A fresh RS256 key per start (the library's built-in development key is
// public, so a token signed with it would prove nothing).
async function newKey(prefix = 'k') {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  const kid = `${prefix}-${crypto.randomBytes(6).toString('hex')}`;
  return { kid, privateKey, jwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

let keys = [await newKey()];

// ------------------------------------------------------------ test state

const state = {
  tamper: null, // the defect for the next ID token
  tampered: 0, // ID tokens served with a defect
  counters: {}, // grant_type -> { ok, error, errors: { code: n } }
  grantsByAccount: new Map(), // accountId -> Set(grantId)
};

const MODES = new Set(['nonce', 'audience', 'expired', 'unknown_key', 'same_kid_other_key', 'alg_none']);

async function tamperIdToken(idToken, mode) {
  const header = jose.decodeProtectedHeader(idToken);
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let signer = keys[0];
  switch (mode) {
    case 'nonce':
      claims.nonce = `not-${claims.nonce ?? 'set'}-${crypto.randomBytes(4).toString('hex')}`;
      break;
    case 'audience':
      claims.aud = 'another-client';
      delete claims.azp;
      break;
    case 'expired':
      claims.iat = now - 7200;
      claims.exp = now - 3600;
      break;
    case 'unknown_key':
      signer = await newKey('unknown');
      header.kid = signer.kid;
      break;
    case 'same_kid_other_key':
      signer = { ...(await newKey()), kid: header.kid };
      break;
    case 'alg_none':
      return new jose.UnsecuredJWT(claims).encode();
    default:
      throw new Error(`unknown tamper mode ${mode}`);
  }
  return new jose.SignJWT(claims).setProtectedHeader({ ...header, alg: 'RS256' }).sign(signer.privateKey);
}

function count(grantType, status, body) {
  const c = (state.counters[grantType] ??= { ok: 0, error: 0, errors: {} });
  if (status === 200) {
    c.ok += 1;
  } else {
    c.error += 1;
    const code = body?.error ?? String(status);
    c.errors[code] = (c.errors[code] ?? 0) + 1;
  }
}

// ------------------------------------------------------------- provider

const cookieKeys = [crypto.randomBytes(32).toString('hex')];
const ttl = config.ttl ?? {};
const accounts = config.accounts ?? {};
const resourceScopes = config.resource_scopes ?? 'read write admin';

function claimsOf(login) {
  const account = accounts[login] ?? {};
  const email = account.email ?? (login.includes('@') ? login : `${login}@example.com`);
  const claims = { sub: login, email, email_verified: account.email_verified ?? true };
  // "omit": no email_verified claim at all (as some providers send).
  if (account.email_verified === 'omit') delete claims.email_verified;
  if (account.groups) claims.groups = account.groups;
  return claims;
}

// The provider is rebuilt when the signing key rotates (its keystore is
// fixed at construction). Its storage (sessions, grants, codes, tokens) is
// the in-memory adapter's, shared by every instance of this process, and
// the cookie keys stay, so logins and sessions survive a rotation.
function build(issuer) {
  const provider = new Provider(issuer, {
    clients: config.clients ?? [],
    jwks: { keys: keys.map((k) => k.jwk) },
    cookies: { keys: cookieKeys },
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
    scopes: ['openid', 'offline_access', 'email', 'groups', ...resourceScopes.split(' ')],
    pkce: { required: () => true },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => claimsOf(sub) }),
    issueRefreshToken: config.refresh_tokens
      ? (_ctx, client) => client.grantTypeAllowed('refresh_token')
      : undefined,
    // A refresh token outlives the provider's session only with
    // offline_access by default; the tests ask for one by configuration.
    expiresWithSession: config.refresh_tokens ? () => false : undefined,
    ttl: {
      ...(ttl.IdToken ? { IdToken: ttl.IdToken } : {}),
      ...(ttl.AccessToken ? { AccessToken: ttl.AccessToken } : {}),
      ...(ttl.Session ? { Session: ttl.Session } : {}),
      ...(ttl.RefreshToken ? { RefreshToken: ttl.RefreshToken } : {}),
      ...(ttl.AccessToken ? { ClientCredentials: ttl.AccessToken } : {}),
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => false,
        // Any resource URL is a resource server: RFC 9068 JWT access
        // tokens for it, audience = the URL.
        getResourceServerInfo: (_ctx, resource) => ({
          scope: resourceScopes,
          audience: resource,
          accessTokenFormat: 'jwt',
          accessTokenTTL: ttl.AccessToken ?? 600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  provider.on('grant.saved', (grant) => {
    if (!grant.accountId) return;
    if (!state.grantsByAccount.has(grant.accountId)) state.grantsByAccount.set(grant.accountId, new Set());
    state.grantsByAccount.get(grant.accountId).add(grant.jti);
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token') return;
    const grantType = ctx.oidc?.params?.grant_type ?? 'unknown';
    count(grantType, ctx.status, ctx.body);
    console.log(`token grant_type=${grantType} status=${ctx.status}${ctx.body?.error ? ` error=${ctx.body.error}` : ''}`);
    if (ctx.status === 200 && ctx.body?.id_token && state.tamper) {
      const mode = state.tamper;
      state.tamper = null;
      ctx.body = { ...ctx.body, id_token: await tamperIdToken(ctx.body.id_token, mode) };
      state.tampered += 1;
      console.log(`token id_token tampered: ${mode}`);
    }
  });
  return { provider, handler: provider.callback() };
}

// ---------------------------------------------------------------- admin

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function admin(req, res, url) {
  const q = url.searchParams;
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'POST /_test/tamper': {
      const mode = q.get('mode');
      if (!MODES.has(mode)) return send(res, 400, { error: `mode must be one of ${[...MODES].join(', ')}` });
      state.tamper = mode;
      console.log(`admin: tamper ${mode}`);
      return send(res, 200, { pending: mode });
    }
    case 'POST /_test/rotate': {
      const fresh = await newKey();
      keys = q.get('keep_old') === 'false' ? [fresh] : [fresh, ...keys];
      current = build(issuer);
      console.log(`admin: rotate, keys ${keys.map((k) => k.kid).join(' ')}`);
      return send(res, 200, { kid: fresh.kid, kids: keys.map((k) => k.kid) });
    }
    case 'GET /_test/counters':
      return send(res, 200, { grants: state.counters, tampered: state.tampered, pending_tamper: state.tamper });
    case 'POST /_test/revoke': {
      const account = q.get('account');
      const grants = [...(state.grantsByAccount.get(account) ?? [])];
      const { provider } = current;
      for (const grantId of grants) {
        await Promise.all([
          provider.RefreshToken.revokeByGrantId(grantId),
          provider.AccessToken.revokeByGrantId(grantId),
          provider.AuthorizationCode.revokeByGrantId(grantId),
          provider.Grant.adapter.destroy(grantId),
        ]);
      }
      state.grantsByAccount.delete(account);
      console.log(`admin: revoked ${grants.length} grant(s) of ${account}`);
      return send(res, 200, { revoked: grants.length });
    }
    case 'POST /_test/clients': {
      // The tests learn the proxy's port (the redirect_uri's) after the
      // provider has started: they register the clients then.
      config.clients = JSON.parse(await readBody(req));
      current = build(issuer);
      console.log(`admin: clients ${config.clients.map((c) => c.client_id).join(' ')}`);
      return send(res, 200, { clients: config.clients.length });
    }
    case 'GET /_test/keys':
      return send(res, 200, { kids: keys.map((k) => k.kid) });
    default:
      return send(res, 404, { error: `no admin route ${route}` });
  }
}

// --------------------------------------------------------------- server

let issuer;
let current;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname.startsWith('/_test/')) {
    admin(req, res, url).catch((e) => send(res, 500, { error: String(e?.stack ?? e) }));
  } else if (current) {
    current.handler(req, res);
  } else {
    send(res, 503, { error: 'starting' });
  }
});
server.listen(port, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  current = build(issuer);
  console.log(`ready ${issuer}`);
});
