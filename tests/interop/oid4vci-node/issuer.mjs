// Independent OpenID4VCI issuer for blauweknop's interop tests: @openid4vc/openid4vci and
// @openid4vc/oauth2 0.4.6 (the libraries inside Credo) serve our wallet over HTTP on loopback.
//
// Run: node issuer.mjs CONFIG.json   (prints one line "READY <json>" on stdout when listening)
// CONFIG: {port, now?, configuration_id, configuration, credential, tx_code?}
//   configuration  the credential configuration object to publish (format, vct...)
//   credential     what the credential endpoint hands out (an SD-JWT VC string or a W3C
//                  credential object, issued by the test with our Issuer, bound to the wallet's
//                  holder key): this peer checks, with its own code, that the proof in the
//                  request is signed by that very key (cnf.jwk / credentialSubject.id did:jwk)
// READY json: {offer, credential_issuer}
// Everything protocol-side is the libraries': metadata, the offer, token request parsing and
// verification (pre-authorized code, tx_code, DPoP), signed DPoP-bound access tokens, the
// resource request check (DPoP + token), credential request parsing, jwt proof verification
// (nonce, aud, iat), the nonce and credential responses. Crypto is node:crypto.
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import {
  calculateJwkThumbprint,
  clientAuthenticationAnonymous,
  Oauth2AuthorizationServer,
  Oauth2ResourceServer,
  Oauth2ServerErrorResponseError,
  setGlobalConfig,
} from '@openid4vc/oauth2';
import { Openid4vciIssuer } from '@openid4vc/openid4vci';

setGlobalConfig({ allowInsecureUrls: true }); // loopback only

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
if (typeof config.now === 'number') {
  const RealDate = Date;
  const offset = config.now * 1000 - RealDate.now();
  globalThis.Date = class extends RealDate {
    constructor(...a) {
      if (a.length === 0) super(RealDate.now() + offset);
      else super(...a);
    }
    static now() {
      return RealDate.now() + offset;
    }
  };
}

const b64u = (b) => Buffer.from(b).toString('base64url');
const base = `http://127.0.0.1:${config.port}`;
const asKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const asJwk = (() => {
  const j = asKeys.publicKey.export({ format: 'jwk' });
  return { kty: j.kty, crv: j.crv, x: j.x, y: j.y, kid: 'as-1' };
})();

const callbacks = {
  hash: (data, alg) => {
    if (alg !== 'sha-256') throw new Error(`hash ${alg}`);
    return new Uint8Array(createHash('sha256').update(data).digest());
  },
  generateRandom: (n) => new Uint8Array(randomBytes(n)),
  clientAuthentication: clientAuthenticationAnonymous(),
  fetch: globalThis.fetch,
  signJwt: async (signer, { header, payload }) => {
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
    const sig = nodeSign('sha256', Buffer.from(input), {
      key: asKeys.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return { jwt: `${input}.${b64u(sig)}`, signerJwk: asJwk };
  },
  verifyJwt: async (signer, { compact }) => {
    const jwk = signer.method === 'jwk' ? signer.publicJwk : null;
    if (!jwk) return { verified: false };
    const [h, p, s] = compact.split('.');
    const { kty, crv, x, y } = jwk;
    const key = createPublicKey({ key: { kty, crv, x, y }, format: 'jwk' });
    const ok = nodeVerify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(s, 'base64url'));
    return ok ? { verified: true, signerJwk: jwk } : { verified: false };
  },
};

const authorizationServer = new Oauth2AuthorizationServer({ callbacks });
const resourceServer = new Oauth2ResourceServer({ callbacks });
const issuer = new Openid4vciIssuer({ callbacks });

const asMetadata = authorizationServer.createAuthorizationServerMetadata({
  issuer: base,
  token_endpoint: `${base}/token`,
  jwks_uri: `${base}/jwks`,
  dpop_signing_alg_values_supported: ['ES256'],
  'pre-authorized_grant_anonymous_access_supported': true,
});
const credentialIssuer = issuer.createCredentialIssuerMetadata({
  credential_issuer: base,
  credential_endpoint: `${base}/credential`,
  nonce_endpoint: `${base}/nonce`,
  credential_configurations_supported: { [config.configuration_id]: config.configuration },
});
const issuerMetadata = {
  credentialIssuer,
  authorizationServers: [asMetadata],
  originalDraftVersion: 'V1',
  knownCredentialConfigurations: issuer.getKnownCredentialConfigurationsSupported(credentialIssuer),
};

const preAuthorizedCode = b64u(randomBytes(32));
const nonces = new Map(); // c_nonce -> expiry (ms)
const grants = {
  'urn:ietf:params:oauth:grant-type:pre-authorized_code': {
    'pre-authorized_code': preAuthorizedCode,
    ...(config.tx_code ? { tx_code: { input_mode: 'numeric', length: config.tx_code.length } } : {}),
  },
};
const { credentialOffer } = await issuer.createCredentialOffer({
  issuerMetadata,
  grants,
  credentialConfigurationIds: [config.configuration_id],
  credentialOfferScheme: 'openid-credential-offer://',
});
let redeemed = false;

function boundJwk(credential) {
  if (typeof credential === 'string') {
    const payload = JSON.parse(Buffer.from(credential.split('~')[0].split('.')[1], 'base64url'));
    return payload.cnf.jwk;
  }
  const did = credential.credentialSubject.id; // did:jwk:<base64url JWK>
  return JSON.parse(Buffer.from(did.slice('did:jwk:'.length), 'base64url'));
}

function requestLike(req, url) {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v[0] : v);
  return { headers, method: req.method, url };
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function handle(req, res, raw) {
  const url = `${base}${req.url.split('?')[0]}`;
  const path = req.url.split('?')[0];
  if (req.method === 'GET' && path === '/.well-known/openid-credential-issuer') return send(res, 200, credentialIssuer);
  if (req.method === 'GET' && path === '/.well-known/oauth-authorization-server') return send(res, 200, asMetadata);
  if (req.method === 'GET' && path === '/jwks') return send(res, 200, { keys: [asJwk] });
  if (req.method === 'POST' && path === '/token') {
    const body = Object.fromEntries(new URLSearchParams(raw));
    const parsed = authorizationServer.parseAccessTokenRequest({ request: requestLike(req, url), accessTokenRequest: body });
    if (redeemed) return send(res, 400, { error: 'invalid_grant', error_description: 'code used' });
    const verified = await authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
      authorizationServerMetadata: asMetadata,
      grant: parsed.grant,
      accessTokenRequest: parsed.accessTokenRequest,
      request: requestLike(req, url),
      expectedPreAuthorizedCode: preAuthorizedCode,
      expectedTxCode: config.tx_code,
      dpop: { jwt: parsed.dpop?.jwt, required: true, allowedSigningAlgs: ['ES256'] },
    });
    redeemed = true;
    const token = await authorizationServer.createAccessTokenResponse({
      audience: base,
      authorizationServer: base,
      expiresInSeconds: 300,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: asJwk },
      subject: 'citizen',
      dpop: { jwk: verified.dpop.jwk },
    });
    return send(res, 200, token);
  }
  if (req.method === 'POST' && path === '/nonce') {
    const c_nonce = b64u(randomBytes(24));
    nonces.set(c_nonce, Date.now() + 300_000);
    return send(res, 200, issuer.createNonceResponse({ cNonce: c_nonce, cNonceExpiresIn: 300 }));
  }
  if (req.method === 'POST' && path === '/credential') {
    await resourceServer.verifyResourceRequest({
      request: requestLike(req, url),
      resourceServer: base,
      authorizationServers: [asMetadata],
      allowedAuthenticationSchemes: ['DPoP'],
    });
    const credentialRequest = issuer.parseCredentialRequest({ issuerMetadata, credentialRequest: JSON.parse(raw) });
    const jwts = credentialRequest.proofs?.jwt ?? [];
    if (jwts.length !== 1) return send(res, 400, { error: 'invalid_proof', error_description: 'one jwt proof' });
    const nonce = JSON.parse(Buffer.from(jwts[0].split('.')[1], 'base64url')).nonce;
    const expires = nonces.get(nonce);
    if (!expires) return send(res, 400, { error: 'invalid_nonce' });
    nonces.delete(nonce);
    const proof = await issuer.verifyCredentialRequestJwtProof({
      issuerMetadata,
      jwt: jwts[0],
      expectedNonce: nonce,
      nonceExpiresAt: new Date(expires),
    });
    const proven = await calculateJwkThumbprint({ jwk: proof.signer.publicJwk, hashAlgorithm: 'sha-256', hashCallback: callbacks.hash });
    const bound = await calculateJwkThumbprint({ jwk: boundJwk(config.credential), hashAlgorithm: 'sha-256', hashCallback: callbacks.hash });
    if (proven !== bound) return send(res, 400, { error: 'invalid_proof', error_description: 'not the holder key' });
    return send(res, 200, issuer.createCredentialResponse({
      credentialRequest,
      credentials: [{ credential: config.credential }],
    }));
  }
  return send(res, 404, { error: 'not_found' });
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((e) => {
      if (e instanceof Oauth2ServerErrorResponseError) {
        return send(res, e.status ?? 400, e.errorResponse);
      }
      if (e?.constructor?.name === 'Oauth2ResourceUnauthorizedError') {
        return send(res, 401, { error: 'invalid_token', error_description: e.message });
      }
      send(res, 400, { error: 'invalid_request', error_description: String(e?.message ?? e).slice(0, 300) });
    });
  });
});
server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`READY ${JSON.stringify({ offer: credentialOffer, credential_issuer: base })}\n`);
});
