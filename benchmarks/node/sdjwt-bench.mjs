// Benchmark driver for @sd-jwt/sd-jwt-vc (+ @sd-jwt/crypto-nodejs for ES256), the
// OpenWallet Foundation SD-JWT VC implementation, on the credentials benchmarks/run.py makes.
//
//   node sdjwt-bench.mjs NODE_MODULES_DIR < command.json > result.json
//
// command: {holder_jwk (private), budget_ms, min_calls, signing_input, raw_jwk (private),
//           cases: [{name, issuer_jwk (private), payload, disclosure_frame, credential,
//                    presentation, presentation_frame, nonce, aud, iat, current_date}]}
// For each case: issue (payload + frame -> SD-JWT VC), present (our issued credential +
// frame -> SD-JWT+KB) and verify (our presentation: issuer signature, disclosures, KB-JWT
// with nonce, then aud and typ as an application does). Keys are imported once, as a
// long-running service would; the holder's key is imported from cnf.jwk and memoised per key
// (blauweknop keeps a small cache of parsed keys too). Raw crypto: one ES256 sign and verify
// of `signing_input` (by `raw_jwk`) with node:crypto KeyObjects and with WebCrypto (what
// crypto-nodejs uses).
import {createPrivateKey, createPublicKey, sign, verify, webcrypto} from 'node:crypto';
import {importFrom, main, timeCalls} from './_harness.mjs';

const publicPart = ({d: _d, ...pub}) => pub;

main(async (cmd, modulesDir) => {
  const vcMod = await importFrom(modulesDir, '@sd-jwt/sd-jwt-vc');
  const cryptoMod = await importFrom(modulesDir, '@sd-jwt/crypto-nodejs');
  const {SDJwtVcInstance} = vcMod.module;
  const {ES256, digest, generateSalt} = cryptoMod.module;
  const opts = {budgetMs: cmd.budget_ms ?? 1000, minCalls: cmd.min_calls ?? 200};

  const holderSigner = await ES256.getSigner(cmd.holder_jwk);
  const holderVerifiers = new Map();
  const kbVerifier = async (data, sig, payload) => {
    const jwk = payload?.cnf?.jwk;
    if (!jwk) throw new Error('no cnf.jwk');
    const id = `${jwk.kty}|${jwk.crv}|${jwk.x}|${jwk.y}`;
    let v = holderVerifiers.get(id);
    if (!v) holderVerifiers.set(id, (v = await ES256.getVerifier(jwk)));
    return v(data, sig);
  };
  const holder = new SDJwtVcInstance({hasher: digest, kbSigner: holderSigner, kbSignAlg: 'ES256'});

  const cases = {};
  for (const c of cmd.cases) {
    const issuer = new SDJwtVcInstance({
      signer: await ES256.getSigner(c.issuer_jwk), signAlg: 'ES256', hasher: digest,
      hashAlg: 'sha-256', saltGenerator: generateSalt,
    });
    const verifier = new SDJwtVcInstance({
      hasher: digest, verifier: await ES256.getVerifier(publicPart(c.issuer_jwk)), kbVerifier,
    });
    const holderPub = publicPart(cmd.holder_jwk);
    const issue = () => issuer.issue(
      {...c.payload, cnf: {jwk: holderPub}}, c.disclosure_frame, {header: {typ: 'dc+sd-jwt'}});
    const present = () => holder.present(c.credential, c.presentation_frame, {
      kb: {payload: {iat: c.iat, aud: c.aud, nonce: c.nonce}},
    });
    const check = async () => {
      const res = await verifier.verify(c.presentation, {keyBindingNonce: c.nonce, currentDate: c.current_date});
      if (res.kb?.payload?.aud !== c.aud) throw new Error('aud mismatch');
      if (res.header?.typ !== 'dc+sd-jwt') throw new Error('typ mismatch');
      return res;
    };
    // Sanity: the peer accepts our presentation and reveals what we reveal.
    const once = await check();
    const issued = await issue();
    cases[c.name] = {
      issue: await timeCalls(issue, opts),
      present: await timeCalls(present, opts),
      verify: await timeCalls(check, opts),
      disclosures_issued: issued.split('~').length - 2,
      verified_claims: Object.keys(once.payload).length,
    };
  }

  const data = Buffer.from(cmd.signing_input, 'utf8');
  const priv = createPrivateKey({key: cmd.raw_jwk, format: 'jwk'});
  const pub = createPublicKey({key: publicPart(cmd.raw_jwk), format: 'jwk'});
  const p1363 = {dsaEncoding: 'ieee-p1363'};
  const sig = sign('sha256', data, {key: priv, ...p1363});
  const algo = {name: 'ECDSA', namedCurve: 'P-256'};
  const wPriv = await webcrypto.subtle.importKey('jwk', cmd.raw_jwk, algo, false, ['sign']);
  const wPub = await webcrypto.subtle.importKey('jwk', publicPart(cmd.raw_jwk), algo, false, ['verify']);
  const ecdsa = {name: 'ECDSA', hash: 'SHA-256'};
  const raw = {
    sign: await timeCalls(() => sign('sha256', data, {key: priv, ...p1363}), opts),
    verify: await timeCalls(() => {
      if (!verify('sha256', data, {key: pub, ...p1363}, sig)) throw new Error('raw verify failed');
    }, opts),
    webcrypto_sign: await timeCalls(() => webcrypto.subtle.sign(ecdsa, wPriv, data), opts),
    webcrypto_verify: await timeCalls(() => webcrypto.subtle.verify(ecdsa, wPub, sig, data), opts),
  };
  return {
    versions: {'@sd-jwt/sd-jwt-vc': vcMod.version, '@sd-jwt/crypto-nodejs': cryptoMod.version},
    raw,
    cases,
  };
});
