/**
 * `pmamba dashboard [--port 3000] [--host 127.0.0.1] [--basic-auth USER:PASS] [--redis URL] [--prefix P]`:
 * bull-board over every pmamba queue of a prefix, read-only unless `--writable`, until Ctrl-C.
 * The password (of --basic-auth, PMAMBA_DASHBOARD_AUTH or the Redis URL) is never printed.
 */
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_REDIS_PREFIX } from '@pmamba/protocol';
import { CliError } from '../errors.ts';
import { resolveRedis } from '../redis.ts';

interface DashboardArgs {
  port: number;
  host: string;
  basicAuth?: string;
  redis?: string;
  prefix: string;
  writable: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const dashboardCommand: CommandModule<object, DashboardArgs> = {
  command: 'dashboard',
  describe: 'web dashboard (bull-board) of the queues and jobs of a Redis prefix',
  builder: (y) =>
    (y as Argv<object>)
      .option('port', { type: 'number', default: 3000, describe: 'port to listen on' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'interface to listen on (0.0.0.0: every one; then use --basic-auth)' })
      .option('basic-auth', { type: 'string', describe: 'USER:PASSWORD required of every request (default: PMAMBA_DASHBOARD_AUTH; the environment keeps it out of `ps`)' })
      .option('redis', { type: 'string', describe: 'Redis URL: redis[s]://HOST:PORT, or redis[s]+cluster://HOST:PORT,HOST:PORT for a cluster (default: REDIS_URL)' })
      .option('prefix', { type: 'string', default: DEFAULT_REDIS_PREFIX, describe: 'BullMQ key prefix (the coordinator\'s redis.prefix)' })
      .option('writable', { type: 'boolean', default: false, describe: 'allow retrying, removing and cleaning jobs and pausing queues (default: read-only)' }) as unknown as Argv<DashboardArgs>,
  handler: async (args) => {
    if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new CliError(`--port ${args.port}: expected a port number`, 'E_BAD_OPTION');
    // express and bull-board load with this command only.
    const { parseCredentials } = await import('../dashboard/basic-auth.ts');
    const { startDashboard, DASHBOARD_QUEUES } = await import('../dashboard/server.ts');
    const authSpec = args.basicAuth ?? process.env.PMAMBA_DASHBOARD_AUTH;
    const auth = authSpec ? parseCredentials(authSpec, args.basicAuth ? '--basic-auth' : 'PMAMBA_DASHBOARD_AUTH') : undefined;
    const redis = await resolveRedis([args.redis, process.env.REDIS_URL], { allowPrivate: false, prefix: args.prefix });
    const log = (line: string) => process.stderr.write(`pmamba dashboard: ${line}\n`);
    let dashboard;
    try {
      dashboard = await startDashboard({ connection: redis.connection, prefix: args.prefix, port: args.port, host: args.host, auth, writable: args.writable });
    } catch (err) {
      throw new CliError(`cannot listen on ${args.host}:${args.port} (${(err as Error).message}); choose another --port`, 'E_BAD_OPTION');
    }
    if (!auth && !LOOPBACK.has(args.host)) log(`warning: listening on ${args.host} without --basic-auth: anyone who reaches this port sees every job`);
    log(
      `${dashboard.url} — ${DASHBOARD_QUEUES.join(', ')} of prefix ${args.prefix} on ${redis.shownUrl}` +
        `${args.writable ? ' (writable)' : ' (read-only)'}${auth ? `, basic auth as ${auth.user}` : ''}; Ctrl-C stops it`,
    );
    await new Promise<void>((done) => {
      process.once('SIGINT', () => done());
      process.once('SIGTERM', () => done());
    });
    await dashboard.close();
    await redis.stop();
    log('stopped');
  },
};
