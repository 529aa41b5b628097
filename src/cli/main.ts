// The geogate CLI: `geogate <command> [options]`. Commands and their flags are declared here with
// commander (every command gets --help); the work is in commands/*. Usage errors exit 2, invalid
// input 1, HTTP failures 3 (see docs/cli.md). Runs on an injected CliIo: bin/geogate.mjs passes
// Node's, tests pass their own.
import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_ADMIN_URL, DEFAULT_TOKEN_ENV } from './admin-client';
import { listGetCommand, listPatchCommand, listPutCommand, pushCommand, rollbackCommand, versionsCommand } from './commands/admin';
import { checkCommand, type CheckOptions } from './commands/check';
import { intelPushCommand, intelStatusCommand, type IntelPushOptions } from './commands/intel';
import { diffCommand, validateCommand } from './commands/policy-local';
import { simulateCommand, type SimulateCommandOptions } from './commands/simulate';
import { createContext, type CliContext } from './context';
import { CliError, EXIT, type CliIo } from './io';
import { LIST_KINDS } from './list-items';

/** The CLI's version (package.json's). */
export const CLI_VERSION = '0.1.0';

const collect = (value: string, previous: string[]) => [...previous, value];

const EXIT_CODES_HELP = `
Exit codes: 0 ok, 1 invalid input (policy, request, list) or --fail-on-change tripped,
2 usage error (unknown command or flag, missing argument, unreadable file), 3 HTTP or network error.
Docs: docs/cli.md`;

/** Adds the flags shared by the admin API commands. */
function withAdminFlags(cmd: Command): Command {
  return cmd
    .option('--url <url>', `admin API base URL (default: $GEOGATE_URL, else ${DEFAULT_ADMIN_URL})`)
    .option('--token-env <name>', 'environment variable holding the admin token', DEFAULT_TOKEN_ENV)
    .option('--json', 'print the API response as JSON');
}

/**
 * Builds the command tree. Each action stores its exit code in `result`; commander's own errors
 * (unknown flags, missing arguments) surface as CommanderError.
 */
function buildProgram(ctx: CliContext, result: { code: number }): Command {
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      result.code = await fn(...args);
    };

  const program = new Command('geogate')
    .description('geogate: validate, diff, simulate and push access policies; explain a decision')
    .version(CLI_VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: (s, write) => write(ctx.paintErr('red', s)),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP);
  program.configureHelp({ showGlobalOptions: false, sortSubcommands: false });

  const policy = program.command('policy').description('validate, diff, push and roll back policy documents');
  policy
    .command('validate')
    .description("validate a policy file with the Worker's schema; print every issue with its JSON path, and warnings")
    .argument('<file>', 'policy JSON file ("default" for the built-in default)')
    .option('--json', 'print the result as JSON')
    .action(run((file: string, o: { json?: boolean }) => validateCommand(ctx, file, o)));
  policy
    .command('diff')
    .description('show what differs from policy A to policy B: rules added, removed and changed by id, settings by path')
    .argument('<a>', 'the old policy file ("default" for the built-in default)')
    .argument('<b>', 'the new policy file')
    .option('--json', 'print the diff as JSON')
    .action(run((a: string, b: string, o: { json?: boolean }) => diffCommand(ctx, a, b, o)));
  withAdminFlags(
    policy
      .command('push')
      .description('validate a policy file locally, then make it current (PUT /v1/policy with If-Match on the current ETag)')
      .argument('<file>', 'policy JSON file'),
  ).action(run((file: string, o: object) => pushCommand(ctx, file, o)));
  withAdminFlags(
    policy
      .command('versions')
      .description('list stored policy versions, newest first (* marks the current one)')
      .option('--limit <n>', 'versions per page')
      .option('--cursor <cursor>', 'the page after the one that printed this cursor'),
  ).action(run((o: object) => versionsCommand(ctx, o)));
  withAdminFlags(
    policy
      .command('rollback')
      .description('make an earlier stored version current (POST /v1/policy/rollback with If-Match)')
      .argument('<version>', 'a version listed by `geogate policy versions`'),
  ).action(run((version: string, o: object) => rollbackCommand(ctx, version, o)));

  program
    .command('simulate')
    .description('replay check requests (NDJSON; decision-log lines with a "request" field too) offline and summarise the decisions and what a policy change would change')
    .argument('<requests>', 'NDJSON file: one check request, or one object with a "request" member, per line')
    .option('--policy <file>', 'the policy to evaluate ("default" for the built-in default)', 'default')
    .option('--against <file>', 'compare with this policy: it is the "current", --policy the candidate')
    .option('--now <iso>', "evaluate every request at this instant (default: each log line's evaluatedAt, else now)")
    .option('--json', 'print the whole report (summary and every result) as JSON')
    .option('--show <n>', 'changed and invalid requests to list', '10')
    .option('--fail-on-change', 'exit 1 when any decision changes (for CI)')
    .action(run((file: string, o: SimulateCommandOptions) => simulateCommand(ctx, file, o)));

  program
    .command('check')
    .description('decide one request offline and explain every reason ("why was this blocked?")')
    .option('--request <file>', 'a /v1/check body (or a decision-log line) as JSON; the flags below override its fields')
    .option('--ip <ip>', "the end user's IP")
    .option('--country <cc>', "the IP's country (geo.country)")
    .option('--region <name>', 'geo.region')
    .option('--region-code <code>', 'geo.regionCode (ISO 3166-2, e.g. UA-43 or 43)')
    .option('--city <name>', 'geo.city')
    .option('--geo-tz <zone>', "the IP's time zone (geo.timezone)")
    .option('--asn <asn>', "the IP's network (geo.asn), e.g. 9009 or AS9009")
    .option('--as-org <name>', 'geo.asOrganization')
    .option('--client-tz <zone>', "the client's time zone claim (repeatable)", collect, [])
    .option('--utc-offset <minutes>', "the client's UTC offset claim, minutes east of UTC (repeatable)", collect, [])
    .option('--accept-language <value>', 'client.acceptLanguage')
    .option('--clock <iso>', "the client's clock (client.clock)")
    .option('--user-agent <ua>', 'client.userAgent')
    .option('--account <id>', 'account.id')
    .option('--org <id>', 'account.orgId')
    .option('--owner-country <cc>', "the account's ultimate owner country")
    .option('--surface <name>', 'surface, e.g. web or api')
    .option('--policy <file>', 'policy file ("default": the built-in default)', 'default')
    .option('--now <iso>', 'the instant to decide at (default: now)')
    .option('--json', 'print the whole decision as JSON')
    .action(run((o: CheckOptions) => checkCommand(ctx, o)));

  const lists = program.command('lists').description('read and change named lists through the admin API');
  withAdminFlags(lists.command('get').description('print a named list, one item per line (org-owner items as ORG=CC)').argument('<name>', 'list name')).action(
    run((name: string, o: object) => listGetCommand(ctx, name, o)),
  );
  withAdminFlags(
    lists
      .command('put')
      .description('create or replace a named list from a file (JSON array, {"items": [...]}, or one item per line)')
      .argument('<name>', 'list name')
      .argument('<file>', 'the items')
      .addOption(new Option('--kind <kind>', 'the list kind (may come from a JSON file instead)').choices(LIST_KINDS))
      .option('--description <text>', 'what the list is for'),
  ).action(run((name: string, file: string, o: object) => listPutCommand(ctx, name, file, o)));
  withAdminFlags(
    lists
      .command('patch')
      .description('add and remove items of a named list (the list is read first for its kind and ETag)')
      .argument('<name>', 'list name')
      .option('--add <items>', 'items to add, comma-separated (repeatable); org-owner items as ORG=CC', collect, [])
      .option('--remove <items>', 'items to remove, comma-separated (repeatable)', collect, []),
  ).action(run((name: string, o: { add: string[]; remove: string[] }) => listPatchCommand(ctx, name, o)));

  const intel = program.command('intel').description('publish the network intel (VPN and datacenter ranges) through the admin API');
  withAdminFlags(
    intel
      .command('push')
      .description('check the intel artifact, then make it current (PUT /v1/intel): the one `npm run intel:build` bundled, or --file')
      .option('--file <file>', 'an intel artifact built by `npm run intel:build` (default: the bundled one)')
      .option('--allow-shrink', 'publish it even when it covers less than half of the intel in force in some category (VPN or datacenter IPv4, IPv6 or ASNs)')
      .option('--allow-older', 'publish it even when its upstream data is older than that of the intel in force'),
  ).action(run((o: IntelPushOptions) => intelPushCommand(ctx, o)));
  withAdminFlags(intel.command('status').description('show the intel in force (GET /v1/intel)')).action(run((o: object) => intelStatusCommand(ctx, o)));

  return program;
}

/**
 * Runs the CLI once.
 * @param argv the arguments after the program name (`process.argv.slice(2)`)
 * @param io the host: streams, environment, files, fetch, clock
 * @returns the exit code
 * @example
 * process.exitCode = await main(process.argv.slice(2), nodeIo());
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = createContext(io);
  const result = { code: EXIT.OK as number };
  const program = buildProgram(ctx, result);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version "exit" with 0; a bare group (`geogate policy`) prints its help.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
      return EXIT.USAGE;
    }
    if (e instanceof CliError) {
      ctx.err(`${ctx.paintErr('red', 'error:')} ${e.message}`);
      return e.exitCode;
    }
    ctx.err(`${ctx.paintErr('red', 'internal error:')} ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 70;
  }
}
