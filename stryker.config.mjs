// Mutation testing: `npm run test:mutation` (slow: about an hour at concurrency 2 from scratch; not
// part of `npm test` or CI). Stryker mutates the engine, the facts adapters, the token checks and
// the data plane's pure modules, and runs the
// binding-free unit tests in plain Node (vitest.mutation.config.ts): the Workers pool would start
// a workerd per mutant. Generated tables (src/engine/data) are left out: mutating data says
// nothing about the tests. Reports land in reports/mutation/ (HTML and JSON).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [
    'src/engine/**/*.ts',
    '!src/engine/data/**',
    'src/facts/**/*.ts',
    'src/http/auth.ts',
    // The data plane's pure parts: snapshots, named lists, the generic cache, simulate, and the
    // network intel (its builder and its isolate cache, tested with in-memory stores).
    'src/intel/**/*.ts',
    'src/store/intel-store.ts',
    'src/policy/snapshot.ts',
    'src/policy/lists.ts',
    'src/store/artifact-cache.ts',
    'src/simulate/**/*.ts',
    // The account memory's check-side logic (consult, cache, fail modes), tested with store doubles.
    'src/accounts/memory.ts',
    // Challenges: tokens, siteverify, settings and clearance grants (tested with stub fetchers).
    'src/challenge/**/*.ts',
  ],
  // Runs only the tests that cover a mutant (works with vitest 4 through the 9.6 runner).
  coverageAnalysis: 'perTest',
  // Code run while modules and describe blocks load (tzdata tables, the default policy, parsers a
  // describe block calls) is "static": Stryker would reload everything and run all ~850 tests for
  // each such mutant (~1,400 of ~3,500, two thirds of a 2.5 h run). With this on, a mutant also
  // covered by tests runs against those tests (activated at run time only); a mutant covered only
  // at load time is reported Ignored and left out of the score.
  ignoreStatic: true,
  // The machines have 2 cores.
  concurrency: 2,
  timeoutMS: 10_000,
  // Reuses the last run's results for mutants whose code and covering tests did not change.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  // Not needed to run the unit tests; keeps the sandbox copy small.
  ignorePatterns: ['.wrangler', '.xdg', 'dist', 'docs', 'bench'],
  reporters: ['progress-append-only', 'clear-text', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
};
