// Independent OpenID4VCI wallet for blauweknop's interop tests: @openid4vc/openid4vci 0.4.6
// (the library inside Credo) receives credentials from our issuer service over HTTP on loopback.
//
// Reads one JSON command from stdin, writes one JSON answer to stdout:
//   {"ok": true, "result": ...}  or  {"ok": false, "error": {"name": ..., "message": ...}}
// A non-zero exit status means the harness itself broke.
//
// Commands ("op"):
//   receive {offer, tx_code?, copies?, authorize_header?, now?}
//       -> {credential_issuer, configuration_id, format, credentials, holder_jwks,
//           token_type, notification_id}
//       Pre-authorized code grant when the offer has it, else the authorization code grant
//       (PAR + PKCE S256; the "browser" is a GET of the authorization URL with the given
//       header, following nothing: the 302's Location is the redirect). DPoP throughout, one
//       jwt proof per fresh ES256 key, then a credential_accepted notification.
//
// All protocol steps are the library's; only keys, hashing and JWT signing are node:crypto.
// `now` (Unix seconds) sets the peer's clock, as the tests set ours (proof and DPoP iat).
import { createHash, generateKeyPairSync, randomBytes, sign as nodeSign } from 'node:crypto';
import {
  clientAuthenticationAnonymous,
  clientAuthenticationNone,
  setGlobalConfig,
} from '@openid4vc/oauth2';
import { Openid4vciClient } from '@openid4vc/openid4vci';

// Loopback only: our test server speaks plain http on 127.0.0.1.
setGlobalConfig({ allowInsecureUrls: true });

function shiftClock(nowSeconds) {
  const RealDate = Date;
  const offset = nowSeconds * 1000 - RealDate.now();
  class ShiftedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...args);
    }
    static now() {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = ShiftedDate;
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');

function newKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
}

function callbacks(keys, clientAuth) {
  return {
    hash: (data, alg) => {
      if (alg !== 'sha-256') throw new Error(`hash ${alg} not supported`);
      return new Uint8Array(createHash('sha256').update(data).digest());
    },
    generateRandom: (n) => new Uint8Array(randomBytes(n)),
    clientAuthentication: clientAuth,
    signJwt: async (signer, { header, payload }) => {
      if (signer.method !== 'jwk') throw new Error(`signer ${signer.method} not supported`);
      const key = keys.get(JSON.stringify(signer.publicJwk));
      if (!key) throw new Error('unknown signer key');
      const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
      const sig = nodeSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
      return { jwt: `${input}.${b64u(sig)}`, signerJwk: signer.publicJwk };
    },
  };
}

async function receive({ offer, tx_code, copies = 1, authorize_header }) {
  const keys = new Map();
  const remember = (k) => {
    keys.set(JSON.stringify(k.publicJwk), k.privateKey);
    return k;
  };
  const dpopKey = remember(newKey());
  const dpopSigner = { method: 'jwk', alg: 'ES256', publicJwk: dpopKey.publicJwk };
  const clientId = 'interop-wallet';
  const client = new Openid4vciClient({
    callbacks: callbacks(keys, authorize_header ? clientAuthenticationNone({ clientId })
      : clientAuthenticationAnonymous()),
  });
  const credentialOffer = await client.resolveCredentialOffer(offer);
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  const configurationId = credentialOffer.credential_configuration_ids[0];
  let tokenResult;
  if (credentialOffer.grants?.['urn:ietf:params:oauth:grant-type:pre-authorized_code']) {
    tokenResult = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      txCode: tx_code,
      dpop: { signer: dpopSigner },
    });
  } else {
    const redirectUri = 'https://interop-wallet.example/cb';
    const auth = await client.initiateAuthorization({
      credentialOffer,
      issuerMetadata,
      clientId,
      redirectUri,
      scope: issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId]
        .scope,
    });
    const r = await fetch(auth.authorizationRequestUrl, {
      redirect: 'manual',
      headers: authorize_header,
    });
    const location = r.headers.get('location');
    if (!location) throw new Error(`authorization endpoint answered ${r.status}`);
    const response = client.parseAndVerifyAuthorizationResponseRedirectUrl({
      url: location,
      authorizationServerMetadata: issuerMetadata.authorizationServers[0],
    });
    if (response.error) throw new Error(`authorization refused: ${response.error}`);
    tokenResult = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
      credentialOffer,
      issuerMetadata,
      authorizationCode: response.code,
      pkceCodeVerifier: auth.pkce?.codeVerifier,
      redirectUri,
      dpop: { signer: dpopSigner },
    });
  }
  const { accessTokenResponse, dpop } = tokenResult;
  const { c_nonce } = await client.requestNonce({ issuerMetadata });
  const holders = Array.from({ length: copies }, () => remember(newKey()));
  const jwts = [];
  for (const h of holders) {
    const { jwt } = await client.createCredentialRequestJwtProof({
      issuerMetadata,
      credentialConfigurationId: configurationId,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: h.publicJwk },
      nonce: c_nonce,
    });
    jwts.push(jwt);
  }
  const got = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: configurationId,
    proofs: { jwt: jwts },
    dpop: { ...dpop, signer: dpopSigner },
  });
  const body = got.credentialResponse;
  if (body.notification_id) {
    await client.sendNotification({
      issuerMetadata,
      accessToken: accessTokenResponse.access_token,
      notification: { notificationId: body.notification_id, event: 'credential_accepted' },
      dpop: { ...(got.dpop ?? dpop), signer: dpopSigner },
    });
  }
  return {
    credential_issuer: credentialOffer.credential_issuer,
    configuration_id: configurationId,
    format: issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId]
      .format,
    credentials: body.credentials.map((c) => c.credential),
    holder_jwks: holders.map((h) => h.publicJwk),
    token_type: accessTokenResponse.token_type,
    notification_id: body.notification_id ?? null,
  };
}

const OPS = { receive };

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const cmd = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const op = OPS[cmd.op];
  if (!op) {
    process.stderr.write(`unknown op ${cmd.op}\n`);
    process.exit(2);
  }
  if (typeof cmd.now === 'number') shiftClock(cmd.now);
  try {
    const result = await op(cmd);
    process.stdout.write(JSON.stringify({ ok: true, result }));
  } catch (e) {
    const detail = e?.errorResponse ? ` ${JSON.stringify(e.errorResponse)}` : '';
    process.stdout.write(
      JSON.stringify({ ok: false, error: { name: e?.name ?? 'Error', message: `${e?.message}${detail}` } }),
    );
  }
}

main();
