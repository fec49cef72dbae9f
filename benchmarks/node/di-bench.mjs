// Benchmark driver for Digital Bazaar's ecdsa-sd-2023 stack (jsonld-signatures,
// @digitalbazaar/data-integrity, @digitalbazaar/ecdsa-sd-2023-cryptosuite, ecdsa-multikey,
// jsonld) on the credentials benchmarks/run.py makes.
//
//   node di-bench.mjs NODE_MODULES_DIR < command.json > result.json
//
// command: {contexts_dir, budget_ms, min_calls, cases: [{name, private_jwk,
//           verification_method: {id, controller, publicKeyMultibase}, document,
//           mandatory_pointers, created, signed, selective_pointers, derived}]}
// For each case: base (sign `document` with the issuer key and mandatory pointers), derive
// (from OUR base-signed `signed`, revealing `selective_pointers`) and verify (OUR derived
// credential `derived`: the full jsigs.verify with the assertionMethod purpose). The document
// loader serves only blauweknop's bundled context files and the issuer's verification method
// and controller document, as tests/interop/di-node/peer.mjs does; nothing is fetched.
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {importFrom, main, timeCalls} from './_harness.mjs';

const CONTEXT_FILES = {
  'https://www.w3.org/ns/credentials/v2': 'credentials-v2.jsonld',
  'https://w3id.org/security/data-integrity/v2': 'data-integrity-v2.jsonld',
  'https://w3id.org/security/multikey/v1': 'multikey-v1.jsonld',
  'https://www.w3.org/ns/credentials/status/v1': 'bitstring-status-list-v1.jsonld',
  'https://w3id.org/blauweknop/v1': 'blauweknop-v1.jsonld',
};
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
const DID_V1 = 'https://www.w3.org/ns/did/v1';

function makeLoader(contextsDir, vm) {
  const docs = new Map();
  for (const [url, file] of Object.entries(CONTEXT_FILES)) {
    docs.set(url, JSON.parse(readFileSync(join(contextsDir, file), 'utf8')));
  }
  const {id, controller, publicKeyMultibase} = vm;
  docs.set(id, {'@context': MULTIKEY_V1, id, type: 'Multikey', controller, publicKeyMultibase});
  docs.set(controller, {
    '@context': [DID_V1, MULTIKEY_V1],
    id: controller,
    verificationMethod: [{id, type: 'Multikey', controller, publicKeyMultibase}],
    assertionMethod: [id],
  });
  return async (url) => {
    const doc = docs.get(url);
    if (!doc) throw new Error(`document loader: ${url} is not served locally (no network)`);
    return {contextUrl: null, documentUrl: url, document: structuredClone(doc)};
  };
}

main(async (cmd, modulesDir) => {
  const load = (name) => importFrom(modulesDir, name);
  const sd = await load('@digitalbazaar/ecdsa-sd-2023-cryptosuite');
  const di = await load('@digitalbazaar/data-integrity');
  const mk = await load('@digitalbazaar/ecdsa-multikey');
  const js = await load('jsonld-signatures');
  const jsonldPkg = JSON.parse(readFileSync(join(modulesDir, 'jsonld', 'package.json'), 'utf8'));
  const {createSignCryptosuite, createDiscloseCryptosuite, createVerifyCryptosuite} = sd.module;
  const {DataIntegrityProof} = di.module;
  const jsigs = js.module.default ?? js.module;
  const {AssertionProofPurpose} = jsigs.purposes;
  const opts = {budgetMs: cmd.budget_ms ?? 2000, minCalls: cmd.min_calls ?? 20, warmup: 5};

  const cases = {};
  for (const c of cmd.cases) {
    const vm = c.verification_method;
    const documentLoader = makeLoader(cmd.contexts_dir, vm);
    const keyPair = await mk.module.fromJwk({
      jwk: {...c.private_jwk, key_ops: ['sign']}, secretKey: true, id: vm.id, controller: vm.controller,
    });
    if (keyPair.publicKeyMultibase !== vm.publicKeyMultibase) throw new Error('key mismatch');
    const signer = keyPair.signer();
    const base = () => jsigs.sign(structuredClone(c.document), {
      suite: new DataIntegrityProof({
        signer, date: c.created ?? null,
        cryptosuite: createSignCryptosuite({mandatoryPointers: c.mandatory_pointers}),
      }),
      purpose: new AssertionProofPurpose(), documentLoader,
    });
    const derive = () => jsigs.derive(structuredClone(c.signed), {
      suite: new DataIntegrityProof({
        cryptosuite: createDiscloseCryptosuite({selectivePointers: c.selective_pointers}),
      }),
      purpose: new AssertionProofPurpose(), documentLoader,
    });
    const verify = async () => {
      const res = await jsigs.verify(structuredClone(c.derived), {
        suite: new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()}),
        purpose: new AssertionProofPurpose(), documentLoader,
      });
      if (!res.verified) throw new Error(`peer refused our derived credential: ${res.error}`);
      return res;
    };
    await verify(); // sanity: the peer accepts what we derived
    cases[c.name] = {
      base: await timeCalls(base, opts),
      derive: await timeCalls(derive, opts),
      verify: await timeCalls(verify, opts),
    };
  }
  return {
    versions: {
      '@digitalbazaar/ecdsa-sd-2023-cryptosuite': sd.version,
      '@digitalbazaar/data-integrity': di.version,
      '@digitalbazaar/ecdsa-multikey': mk.version,
      'jsonld-signatures': js.version,
      jsonld: jsonldPkg.version,
    },
    cases,
  };
});
