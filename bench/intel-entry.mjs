// Entry point that esbuild bundles for the network-intel benchmark: the decoded intel and its
// lookups (the allocation-free PrefixTable searches and the evidence-producing matchIp after
// parseIp, as a check request runs them), the bundled artifact text and its decoder.
import { BUNDLED_INTEL_ID, BUNDLED_INTEL_TEXT } from '../src/engine/data/network-intel';
import { bundledIntel, decodeIntel } from '../src/engine/intel';
import { formatIp, lookupWords, NO_PREFIX, parseIp } from '../src/engine/ip';

export { BUNDLED_INTEL_ID, BUNDLED_INTEL_TEXT, bundledIntel, decodeIntel, formatIp, lookupWords, NO_PREFIX, parseIp };
