// Independent OpenID4VP 1.0 peer for blauweknop's interop tests: @openid4vc/openid4vp
// (OpenWallet Foundation's oid4vc-ts) with jose for the JOSE callbacks.
//
// Reads one JSON command from stdin, writes one JSON answer to stdout:
//   {"ok": true, "result": ...}  or  {"ok": false, "error": {"name": ..., "message": ...}}
// A non-zero exit status means the harness itself broke, never a protocol refusal.
//
// Commands ("op"):
//   holder_resolve {uri}
//       their holder parses and resolves our wallet link (fetches request_uri, verifies the
//       JAR with the x5c leaf, checks the x509_hash client id) -> {request, client}
//   holder_respond {request, vp_token}
//       their holder creates the direct_post.jwt response (ECDH-ES JWE to the request's key)
//       and posts it to response_uri -> {status, body}
//   holder_dc_api_resolve {data, origin}
//       their holder resolves the `data` of a Digital Credentials API request (signed: a JAR
//       with expected_origins; unsigned: the parameters) for the page at `origin`
//       -> {request, client}
//   holder_dc_api_respond {request, origin, vp_token}
//       their holder creates the dc_api.jwt answer -> {response: {response: JWE}}
//   verifier_create {x5c, signer_jwk, response_uri, request_uri, dcql_query}
//       their verifier creates a signed x509_hash request (JAR) with a fresh ECDH-ES key
//       -> {uri, jar, request, enc_private_jwk}
//   verifier_validate {request, enc_private_jwk, form}
//       their verifier decrypts and validates the posted response -> {vp_token, state}
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import {
  Openid4vpClient,
  Openid4vpVerifier,
  calculateX509HashClientIdPrefixValue,
} from '@openid4vc/openid4vp';
import {
  CompactEncrypt,
  CompactSign,
  compactDecrypt,
  compactVerify,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  importX509,
} from 'jose';
import { setGlobalConfig } from '@openid4vc/utils';

// The tests run over http on loopback (127.0.0.1); the library refuses http by default.
setGlobalConfig({ allowInsecureUrls: true });

const enc = new TextEncoder();
const dec = new TextDecoder();
let signerJwk = null; // the private JWK for x5c signing (verifier_create)
let decryptionJwk = null; // the private JWK for response decryption (verifier_validate)

function pem(b64) {
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
}

async function leafKey(x5c, alg) {
  return importX509(pem(x5c[0]), alg);
}

const callbacks = {
  hash: (data, alg) => {
    const name = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }[alg] ?? 'sha256';
    return new Uint8Array(createHash(name).update(data).digest());
  },
  generateRandom: (n) => new Uint8Array(randomBytes(n)),
  fetch: (...args) => fetch(...args),
  getX509CertificateMetadata: (certificate) => {
    const cert = new X509Certificate(Buffer.from(certificate, 'base64'));
    const san = cert.subjectAltName ?? '';
    const parts = san.split(', ');
    return {
      sanDnsNames: parts.filter((p) => p.startsWith('DNS:')).map((p) => p.slice(4)),
      sanUriNames: parts.filter((p) => p.startsWith('URI:')).map((p) => p.slice(4)),
    };
  },
  signJwt: async (signer, { header, payload }) => {
    if (signer.method !== 'x5c') throw new Error(`signer ${signer.method} not supported here`);
    const key = await importJWK(signerJwk, signer.alg);
    const jwt = await new CompactSign(enc.encode(JSON.stringify(payload)))
      .setProtectedHeader({ ...header, alg: signer.alg, x5c: signer.x5c })
      .sign(key);
    const { d: _d, ...pub } = signerJwk;
    return { jwt, signerJwk: pub };
  },
  verifyJwt: async (signer, { compact }) => {
    try {
      if (signer.method === 'x5c') {
        const key = await leafKey(signer.x5c, signer.alg);
        await compactVerify(compact, key, { algorithms: ['ES256'] });
        return { verified: true, signerJwk: await exportJWK(key) };
      }
      if (signer.method === 'jwk') {
        const key = await importJWK(signer.publicJwk, signer.alg);
        await compactVerify(compact, key, { algorithms: [signer.alg] });
        return { verified: true, signerJwk: signer.publicJwk };
      }
      return { verified: false };
    } catch {
      return { verified: false };
    }
  },
  encryptJwe: async (encryptor, data) => {
    const key = await importJWK(encryptor.publicJwk, encryptor.alg);
    const header = { alg: encryptor.alg, enc: encryptor.enc };
    if (encryptor.publicJwk.kid) header.kid = encryptor.publicJwk.kid;
    const e = new CompactEncrypt(enc.encode(data)).setProtectedHeader(header);
    const kmp = {};
    if (encryptor.apu) kmp.apu = Buffer.from(encryptor.apu, 'base64url');
    if (encryptor.apv) kmp.apv = Buffer.from(encryptor.apv, 'base64url');
    e.setKeyManagementParameters(kmp);
    return { jwe: await e.encrypt(key), encryptionJwk: encryptor.publicJwk };
  },
  decryptJwe: async (jwe) => {
    try {
      const header = decodeProtectedHeader(jwe);
      const key = await importJWK(decryptionJwk, 'ECDH-ES');
      const { plaintext } = await compactDecrypt(jwe, key, {
        keyManagementAlgorithms: ['ECDH-ES'],
        contentEncryptionAlgorithms: ['A128GCM', 'A256GCM'],
      });
      const { d: _d, ...pub } = decryptionJwk;
      return { decrypted: true, decryptionJwk: { ...pub, kid: header.kid }, payload: dec.decode(plaintext) };
    } catch {
      return { decrypted: false };
    }
  },
};

const ops = {
  async holder_resolve({ uri }) {
    const client = new Openid4vpClient({ callbacks });
    const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: uri });
    const resolved = await client.resolveOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: parsed.params,
    });
    return {
      request: resolved.authorizationRequestPayload,
      client: resolved.client,
      version: resolved.version,
      jar_header: resolved.jar?.jwt?.header,
    };
  },
  async holder_respond({ request, vp_token }) {
    const client = new Openid4vpClient({ callbacks });
    const response = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: { vp_token },
      jarm: {
        encryption: { nonce: randomBytes(16).toString('base64url') },
        serverMetadata: {
          authorization_signing_alg_values_supported: ['ES256'],
          authorization_encryption_alg_values_supported: ['ECDH-ES'],
          authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
        },
      },
    });
    const submitted = await client.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: response.authorizationResponsePayload,
      jarm: response.jarm ? { responseJwt: response.jarm.responseJwt } : undefined,
    });
    const text = await submitted.response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return {
      status: submitted.response.status,
      body,
      response_mode: submitted.responseMode,
      jwe_header: response.jarm ? decodeProtectedHeader(response.jarm.responseJwt) : null,
    };
  },
  async holder_dc_api_resolve({ data, origin }) {
    const client = new Openid4vpClient({ callbacks });
    const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: data });
    const resolved = await client.resolveOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: parsed.params,
      origin,
    });
    return { request: resolved.authorizationRequestPayload, client: resolved.client };
  },
  async holder_dc_api_respond({ request, origin, vp_token }) {
    const client = new Openid4vpClient({ callbacks });
    const response = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: request,
      authorizationResponsePayload: { vp_token },
      origin,
      jarm: {
        encryption: { nonce: randomBytes(16).toString('base64url') },
        serverMetadata: {
          authorization_signing_alg_values_supported: ['ES256'],
          authorization_encryption_alg_values_supported: ['ECDH-ES'],
          authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
        },
      },
    });
    return { response: { response: response.jarm.responseJwt } };
  },
  async verifier_create({ x5c, signer_jwk, response_uri, request_uri, dcql_query }) {
    signerJwk = signer_jwk;
    const { publicKey, privateKey } = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
    const pub = { ...(await exportJWK(publicKey)), kid: 'peer-enc-1', use: 'enc', alg: 'ECDH-ES' };
    const priv = { ...(await exportJWK(privateKey)), kid: 'peer-enc-1' };
    const hash = await calculateX509HashClientIdPrefixValue({ x509Certificate: x5c[0], hash: callbacks.hash });
    const verifier = new Openid4vpVerifier({ callbacks });
    const now = Math.floor(Date.now() / 1000);
    const created = await verifier.createOpenId4vpAuthorizationRequest({
      authorizationRequestPayload: {
        response_type: 'vp_token',
        client_id: `x509_hash:${hash}`,
        response_mode: 'direct_post.jwt',
        response_uri,
        nonce: randomBytes(16).toString('base64url'),
        state: randomBytes(16).toString('base64url'),
        dcql_query,
        client_metadata: {
          jwks: { keys: [pub] },
          encrypted_response_enc_values_supported: ['A128GCM'],
          vp_formats_supported: { 'dc+sd-jwt': {} },
        },
      },
      jar: {
        requestUri: request_uri,
        jwtSigner: { method: 'x5c', x5c, alg: 'ES256' },
        expiresInSeconds: 300,
        additionalJwtPayload: { aud: 'https://self-issued.me/v2', iat: now },
      },
      scheme: 'haip-vp://',
    });
    return {
      uri: created.authorizationRequest,
      jar: created.jar?.authorizationRequestJwt,
      request: created.jar?.requestObjectJwt
        ? JSON.parse(Buffer.from(created.jar.authorizationRequestJwt.split('.')[1], 'base64url'))
        : created.authorizationRequestPayload,
      enc_private_jwk: priv,
    };
  },
  async verifier_validate({ request, enc_private_jwk, form }) {
    decryptionJwk = enc_private_jwk;
    const verifier = new Openid4vpVerifier({ callbacks });
    // Openid4vpVerifier.parseOpenid4vpAuthorizationResponse (0.4.6) does not hand its own
    // callbacks on, so they are passed here.
    const parsed = await verifier.parseOpenid4vpAuthorizationResponse({
      authorizationResponse: form,
      authorizationRequestPayload: request,
      callbacks,
    });
    return {
      vp_token: parsed.authorizationResponsePayload.vp_token,
      state: parsed.authorizationResponsePayload.state,
      expected_nonce: parsed.expectedNonce,
      dcql: parsed.type,
      jarm_header: parsed.jarm?.jarmHeader,
    };
  },
};

async function main() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const { op, ...args } = JSON.parse(input);
  if (!(op in ops)) {
    console.error(`unknown op ${op}`);
    process.exit(2);
  }
  try {
    const result = await ops[op](args);
    process.stdout.write(JSON.stringify({ ok: true, result }));
  } catch (e) {
    process.stdout.write(
      JSON.stringify({ ok: false, error: { name: e?.name ?? 'Error', message: String(e?.message ?? e), detail: e?.errorResponse ?? null } }),
    );
  }
}

main();
