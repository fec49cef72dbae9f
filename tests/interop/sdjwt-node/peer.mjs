// Independent SD-JWT VC peer for blauweknop's interop tests.
//
// Reads one JSON command from stdin, writes one JSON answer to stdout:
//   {"ok": true, "result": ...}  or  {"ok": false, "error": {"name": ..., "message": ...}}
// A non-zero exit status means the harness itself broke (bad command, crash), never a
// verification failure.
//
// Commands ("op"):
//   issue   {issuer_jwk, holder_jwk, claims, disclosure_frame, vct, iss, header?}
//             -> {sd_jwt}                   SD-JWT VC (typ dc+sd-jwt) with cnf.jwk = holder key
//   present {sd_jwt, presentation_frame, holder_jwk?, nonce?, aud?, iat?}
//             -> {presentation}             SD-JWT(+KB) with the framed disclosures
//   verify  {token, issuer_jwk, required_claim_keys?, nonce?, aud?, typ?, current_date?}
//             -> {payload, header, kb}      key binding is required when nonce is given
//   decode  {token}
//             -> {header, payload, claims, disclosures, kb, presentable_keys}   (no verification)
//   generate_key {alg: "ES256" | "EdDSA"}
//             -> {private_jwk, public_jwk}  as a Node.js wallet would export them
//
// SD-JWT processing is entirely @sd-jwt/*; ES256 crypto is @sd-jwt/crypto-nodejs. That package
// has no EdDSA, so Ed25519 signing/verification here uses node:crypto directly.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';

function algOf(jwk) {
  if (jwk?.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk?.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  throw new Error(`unsupported key ${jwk?.kty}/${jwk?.crv}`);
}

function publicPart(jwk) {
  const { d: _d, ...pub } = jwk;
  return pub;
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');

async function signerFor(jwk) {
  const alg = algOf(jwk);
  if (alg === 'ES256') return { alg, signer: await ES256.getSigner(jwk) };
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  return { alg, signer: async (data) => b64u(nodeSign(null, Buffer.from(data, 'utf8'), key)) };
}

async function verifierFor(jwk) {
  const alg = algOf(jwk);
  if (alg === 'ES256') return ES256.getVerifier(publicPart(jwk));
  const key = createPublicKey({ key: publicPart(jwk), format: 'jwk' });
  return async (data, sig) =>
    nodeVerify(null, Buffer.from(data, 'utf8'), key, Buffer.from(sig, 'base64url'));
}

async function issue(cmd) {
  const { alg, signer } = await signerFor(cmd.issuer_jwk);
  const sdjwt = new SDJwtVcInstance({
    signer,
    signAlg: alg,
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
  });
  const payload = {
    ...cmd.claims,
    iss: cmd.iss,
    vct: cmd.vct,
    cnf: { jwk: publicPart(cmd.holder_jwk) },
  };
  const sd_jwt = await sdjwt.issue(payload, cmd.disclosure_frame, { header: cmd.header ?? {} });
  return { sd_jwt };
}

async function present(cmd) {
  const config = { hasher: digest };
  let options;
  if (cmd.holder_jwk) {
    const { alg, signer } = await signerFor(cmd.holder_jwk);
    Object.assign(config, { kbSigner: signer, kbSignAlg: alg });
    const iat = cmd.iat ?? Math.floor(Date.now() / 1000);
    options = { kb: { payload: { iat, aud: cmd.aud, nonce: cmd.nonce } } };
  }
  const sdjwt = new SDJwtVcInstance(config);
  return { presentation: await sdjwt.present(cmd.sd_jwt, cmd.presentation_frame, options) };
}

async function verify(cmd) {
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    verifier: await verifierFor(cmd.issuer_jwk),
    kbVerifier: async (data, sig, payload) => {
      const jwk = payload?.cnf?.jwk;
      if (!jwk) throw new Error('SD-JWT has no cnf.jwk to check the KB-JWT against');
      return (await verifierFor(jwk))(data, sig);
    },
  });
  const res = await sdjwt.verify(cmd.token, {
    requiredClaimKeys: cmd.required_claim_keys,
    keyBindingNonce: cmd.nonce,
    currentDate: cmd.current_date,
  });
  // @sd-jwt/core checks the KB-JWT nonce and sd_hash but not aud, and not typ: those two are
  // the verifier's own job, as an application using the library would do them.
  if (cmd.aud !== undefined && res.kb?.payload?.aud !== cmd.aud) {
    throw new Error(`KB-JWT aud ${JSON.stringify(res.kb?.payload?.aud)} is not ${cmd.aud}`);
  }
  if (cmd.typ !== undefined && res.header?.typ !== cmd.typ) {
    throw new Error(`typ ${JSON.stringify(res.header?.typ)} is not ${cmd.typ}`);
  }
  return { payload: res.payload, header: res.header, kb: res.kb ?? null };
}

async function decode(cmd) {
  const inst = new SDJwtVcInstance({ hasher: digest });
  const sd = await inst.decode(cmd.token);
  return {
    header: sd.jwt.header,
    payload: sd.jwt.payload,
    claims: await inst.getClaims(cmd.token),
    disclosures: (sd.disclosures ?? []).map((d) => ({
      salt: d.salt,
      key: d.key ?? null,
      value: d.value,
      digest: d._digest ?? null,
      encoded: d.encode(),
    })),
    kb: sd.kbJwt ? { header: sd.kbJwt.header, payload: sd.kbJwt.payload } : null,
    presentable_keys: await inst.presentableKeys(cmd.token),
  };
}

async function generateKey(cmd) {
  if (cmd.alg === 'ES256') {
    const { privateKey, publicKey } = await ES256.generateKeyPair();
    return { private_jwk: privateKey, public_jwk: publicKey };
  }
  if (cmd.alg === 'EdDSA') {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return {
      private_jwk: privateKey.export({ format: 'jwk' }),
      public_jwk: publicKey.export({ format: 'jwk' }),
    };
  }
  throw new Error(`cannot generate a key for ${cmd.alg}`);
}

const OPS = { issue, present, verify, decode, generate_key: generateKey };

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const cmd = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const op = OPS[cmd.op];
  if (!op) {
    process.stderr.write(`unknown op ${JSON.stringify(cmd.op)}\n`);
    process.exit(2);
  }
  let out;
  try {
    out = { ok: true, result: await op(cmd) };
  } catch (e) {
    out = { ok: false, error: { name: e?.name ?? 'Error', message: String(e?.message ?? e) } };
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
