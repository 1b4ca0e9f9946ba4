// A real OpenID Provider (panva/node-oidc-provider) for the template tests, on 127.0.0.1.
//
//   node provider.mjs <config.json>
//
// The config (written by tests/support/oidc.py) names the port, the signing algorithm, the
// resources (audiences) and their scopes, and the client-credentials clients. Access tokens are
// JWTs (RFC 9068, `typ: at+jwt`) because every resource is registered through the resource
// indicators feature with `accessTokenFormat: 'jwt'`; a token is only issued for a `resource`
// the config lists.
//
// oidc-provider reads its keys once, at construction. Rotation therefore builds a new Provider
// with a new key first and the previous keys after it (still published, as an IdP does during a
// rollover) and swaps it in behind the same listening socket: the issuer, port and clients stay,
// only the keys change. `POST /-/rotate` does that and answers the key ids (`?retire=1` also
// drops the previous keys, so tokens they signed carry a kid the JWKS no longer lists); it lives
// outside the provider's routes and is for tests only (the server listens on loopback).
// `GET /-/requests` answers how many requests each path has had, so a test can count the JWKS
// and discovery fetches a resource server made (its own requests to /-/ are not counted).
import { randomUUID, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const host = config.host ?? '127.0.0.1';
const issuer = `http://${host}:${config.port}`;
const alg = config.alg ?? 'RS256';
const ttlByClient = Object.fromEntries(
  config.clients.filter((c) => c.ttl).map((c) => [c.client_id, c.ttl]),
);

function newSigningKey() {
  const [type, options] = alg.startsWith('ES')
    ? ['ec', { namedCurve: 'P-256' }]
    : ['rsa', { modulusLength: 2048 }];
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg, use: 'sig' };
}

function resourceServer(_ctx, resource) {
  const scope = config.resources[resource];
  if (scope === undefined) throw new errors.InvalidTarget();
  return {
    scope,
    audience: resource,
    accessTokenFormat: 'jwt',
    accessTokenTTL: config.ttl ?? 300,
    jwt: { sign: { alg } },
  };
}

function build(keys) {
  const scopes = new Set(Object.values(config.resources).flatMap((s) => s.split(' ')));
  return new Provider(issuer, {
    clients: config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      scope: c.scope,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    })),
    jwks: { keys },
    // Clients default to RS256 ID tokens, which an ES256-only keystore cannot sign.
    clientDefaults: { id_token_signed_response_alg: alg },
    scopes: [...scopes],
    cookies: { keys: [randomUUID()] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // A token request without `resource` gets the configured default's JWT, not an opaque
        // token the resource server could not validate.
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? config.default_resource,
        useGrantedResource: () => true,
        getResourceServerInfo: resourceServer,
      },
    },
    ttl: {
      ClientCredentials: (_ctx, token, client) =>
        ttlByClient[client.clientId] ?? token.resourceServer?.accessTokenTTL ?? 300,
    },
  });
}

let keys = [newSigningKey()];
const requests = {};
let handler = build(keys).callback();

function rotate(res, retire) {
  keys = [newSigningKey(), ...(retire ? [] : keys)];
  handler = build(keys).callback();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kid: keys[0].kid, kids: keys.map((k) => k.kid) }));
}

createServer((req, res) => {
  const url = new URL(req.url, issuer);
  if (req.method === 'POST' && url.pathname === '/-/rotate') {
    return rotate(res, url.searchParams.get('retire') === '1');
  }
  if (req.method === 'GET' && url.pathname === '/-/requests') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(requests));
  }
  requests[url.pathname] = (requests[url.pathname] ?? 0) + 1;
  return handler(req, res);
}).listen(config.port, host, () => {
  console.log(`oidc-provider ${issuer} listening, signing key ${keys[0].kid} (${alg})`);
});
