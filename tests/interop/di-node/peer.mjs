// Independent ecdsa-sd-2023 peer for blauweknop's interop tests: Digital Bazaar's
// jsonld-signatures + @digitalbazaar/data-integrity + @digitalbazaar/ecdsa-sd-2023-cryptosuite
// (+ @digitalbazaar/ecdsa-multikey for keys). Exact versions in package.json.
//
// Reads one JSON command from stdin, writes one JSON answer to stdout:
//   {"ok": true, "result": ...}  or  {"ok": false, "error": {"name": ..., "message": ...}}
// A non-zero exit status means the harness itself broke (bad command, crash), never a
// verification failure.
//
// Every command carries `contexts_dir`: the directory of blauweknop's bundled context files
// (src/blauweknop/contexts/). The document loader serves ONLY those files (by URL, table
// below) and the issuer's verification method and controller document built from
// `verification_method`; any other URL throws, so nothing is ever fetched. (jsonld-signatures
// additionally answers the two security v1/v2 context URLs from its own in-memory copies
// before our loader is asked; those never touch the network either.)
//
// Commands ("op"):
//   base    {document, private_jwk, verification_method, mandatory_pointers, created?}
//             -> {signed, loaded}           ecdsa-sd-2023 base proof by the issuer key
//   derive  {signed, selective_pointers}
//             -> {derived, loaded}          reveal document with a derived proof
//   verify  {document, verification_method}
//             -> {base, verification_method, controller, nquads, loaded}
//                                           base proofs with the "confirm" suite, derived
//                                           proofs with the "verify" suite; refusal = ok:false
//   contexts {} -> {contexts: {url: sha256}}  what the loader serves (to compare with our pins)
//
// `verification_method` is {id, controller, publicKeyMultibase}. `loaded` lists every URL the
// loader was asked for, in order of first request.
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import * as ecdsaSd2023 from '@digitalbazaar/ecdsa-sd-2023-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import jsigs from 'jsonld-signatures';
import jsonld from 'jsonld';

const {
  createConfirmCryptosuite,
  createDiscloseCryptosuite,
  createSignCryptosuite,
  createVerifyCryptosuite,
} = ecdsaSd2023;
const {purposes: {AssertionProofPurpose}} = jsigs;

// The peer's own URL -> file table for the bundled contexts (the test compares the served
// bytes' hashes with blauweknop's pins).
const CONTEXT_FILES = {
  'https://www.w3.org/ns/credentials/v2': 'credentials-v2.jsonld',
  'https://w3id.org/security/data-integrity/v2': 'data-integrity-v2.jsonld',
  'https://w3id.org/security/multikey/v1': 'multikey-v1.jsonld',
  'https://www.w3.org/ns/credentials/status/v1': 'bitstring-status-list-v1.jsonld',
  'https://w3id.org/blauweknop/v1': 'blauweknop-v1.jsonld',
  // only for the W3C test vector credential
  'https://w3id.org/citizenship/v4rc1': 'citizenship-v4rc1.jsonld',
  'https://www.w3.org/ns/credentials/examples/v2': 'credentials-examples-v2.jsonld',
};
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';
// jsonld-signatures' ControllerProofPurpose reads a controller document whose first context
// is DID v1 as plain JSON (no framing, so that context is never loaded); any other controller
// document would be framed with the security v2 context.
const DID_V1 = 'https://www.w3.org/ns/did/v1';

function makeLoader(cmd) {
  if (typeof cmd.contexts_dir !== 'string') throw new Error('contexts_dir is required');
  const docs = new Map();
  for (const [url, file] of Object.entries(CONTEXT_FILES)) {
    docs.set(url, () => JSON.parse(readFileSync(join(cmd.contexts_dir, file), 'utf8')));
  }
  const vm = cmd.verification_method;
  if (vm) {
    const {id, controller, publicKeyMultibase} = vm;
    docs.set(id, () => ({
      '@context': MULTIKEY_V1, id, type: 'Multikey', controller, publicKeyMultibase,
    }));
    docs.set(controller, () => ({
      '@context': [DID_V1, MULTIKEY_V1],
      id: controller,
      verificationMethod: [{id, type: 'Multikey', controller, publicKeyMultibase}],
      assertionMethod: [id],
    }));
  }
  const loaded = [];
  const cache = new Map();
  const documentLoader = async (url) => {
    if (!loaded.includes(url)) loaded.push(url);
    const make = docs.get(url);
    if (!make) throw new Error(`document loader: ${url} is not served locally (no network)`);
    if (!cache.has(url)) cache.set(url, make());
    return {contextUrl: null, documentUrl: url, document: structuredClone(cache.get(url))};
  };
  return {documentLoader, loaded};
}

function proofHeader(doc) {
  const value = doc?.proof?.proofValue;
  if (typeof value !== 'string' || value[0] !== 'u') throw new Error('no ecdsa-sd-2023 proofValue');
  const raw = Buffer.from(value.slice(1), 'base64url');
  if (raw[0] !== 0xd9 || raw[1] !== 0x5d || raw[2] > 1) throw new Error('unknown proofValue header');
  return raw[2] === 0 ? 'base' : 'derived';
}

function describe(e) {
  // jsonld.js wraps a loader's error as details.cause; keep the chain readable
  const cause = e?.details?.cause ?? e?.cause;
  const text = `${e?.name ?? 'Error'}: ${e?.message ?? e}`;
  return cause ? `${text} (cause: ${describe(cause)})` : text;
}

function errorMessage(err) {
  // jsigs reports VerificationError{errors: [...]}, or an array of errors per proof
  const list = Array.isArray(err) ? err : err?.errors ?? [err];
  return list.map(describe).join('; ');
}

async function base(cmd) {
  const {documentLoader, loaded} = makeLoader(cmd);
  const vm = cmd.verification_method;
  const keyPair = await EcdsaMultikey.fromJwk({
    jwk: {...cmd.private_jwk, key_ops: ['sign']},
    secretKey: true,
    id: vm.id,
    controller: vm.controller,
  });
  if (keyPair.publicKeyMultibase !== vm.publicKeyMultibase) {
    throw new Error('private_jwk does not match verification_method.publicKeyMultibase');
  }
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(),
    // null: no `created`, as our add_base_proof_sd does without one
    date: cmd.created ?? null,
    cryptosuite: createSignCryptosuite({mandatoryPointers: cmd.mandatory_pointers}),
  });
  const signed = await jsigs.sign(structuredClone(cmd.document), {
    suite, purpose: new AssertionProofPurpose(), documentLoader,
  });
  return {signed, loaded};
}

async function derive(cmd) {
  const {documentLoader, loaded} = makeLoader(cmd);
  const suite = new DataIntegrityProof({
    cryptosuite: createDiscloseCryptosuite({selectivePointers: cmd.selective_pointers}),
  });
  const derived = await jsigs.derive(structuredClone(cmd.signed), {
    suite, purpose: new AssertionProofPurpose(), documentLoader,
  });
  return {derived, loaded};
}

async function verify(cmd) {
  const {documentLoader, loaded} = makeLoader(cmd);
  const kind = proofHeader(cmd.document);
  const cryptosuite = kind === 'base' ? createConfirmCryptosuite() : createVerifyCryptosuite();
  const suite = new DataIntegrityProof({cryptosuite});
  const res = await jsigs.verify(structuredClone(cmd.document), {
    suite, purpose: new AssertionProofPurpose(), documentLoader,
  });
  if (!res.verified) throw new Error(errorMessage(res.error));
  const [r] = res.results;
  // What this peer's JSON-LD processor reads from the verified document: its canonical
  // N-Quads (plain RDFC-1.0 blank node labels), for comparison with ours.
  const {proof: _proof, ...unsecured} = cmd.document;
  const nquads = await jsonld.canonize(unsecured, {
    algorithm: 'RDFC-1.0', format: 'application/n-quads', documentLoader, safe: true,
  });
  return {
    base: kind === 'base',
    verification_method: r.verificationMethod?.id ?? null,
    controller: r.purposeResult?.controller?.id ?? null,
    nquads,
    loaded,
  };
}

async function contexts(cmd) {
  const out = {};
  for (const [url, file] of Object.entries(CONTEXT_FILES)) {
    out[url] = createHash('sha256').update(readFileSync(join(cmd.contexts_dir, file))).digest('hex');
  }
  return {contexts: out};
}

const OPS = {base, derive, verify, contexts};

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
    out = {ok: true, result: await op(cmd)};
  } catch (e) {
    out = {ok: false, error: {name: e?.name ?? 'Error', message: describe(e)}};
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
