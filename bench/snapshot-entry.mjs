// Entry point that esbuild bundles for the snapshot benchmark: the admin store's write path
// (list validation, then validate + compile + encode + hash of the snapshot) and an isolate's
// decode of the artifact.
import { parseListDocument } from '../src/policy/lists';
import { buildSnapshot, decodeSnapshot } from '../src/policy/snapshot';

export { buildSnapshot, decodeSnapshot, parseListDocument };
