// The worker's log lines: JSON lines off a terminal (or plain lines when asked), with the ids
// they are given, and never a secret — by field name, in a URL, or anywhere in the text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, knownSecrets, logFormat, maskUrlCredentials, scrub } from '../src/log.ts';

function capture() {
  const lines: string[] = [];
  return { lines, stream: { write: (t: string) => lines.push(...t.split('\n').filter(Boolean)) } };
}

describe('log format', () => {
  it('is json off a terminal and pretty on one, unless the option or PMAMBA_LOG_FORMAT says', () => {
    assert.equal(logFormat(undefined, {}, { isTTY: false }), 'json');
    assert.equal(logFormat(undefined, {}, { isTTY: true }), 'pretty');
    assert.equal(logFormat(undefined, { PMAMBA_LOG_FORMAT: 'pretty' }, { isTTY: false }), 'pretty');
    assert.equal(logFormat('json', { PMAMBA_LOG_FORMAT: 'pretty' }, { isTTY: true }), 'json');
    assert.throws(() => logFormat(undefined, { PMAMBA_LOG_FORMAT: 'xml' }, {}), /choose json or pretty/);
  });
});

describe('createLogger', () => {
  it('writes JSON lines carrying the fields and the message', async () => {
    const { lines, stream } = capture();
    const log = await createLogger({ name: 'pmamba worker', format: 'json', stream, base: { worker: 'w-1' } });
    log.info({ event: 'completed', run: 'run-1', round: 0, job: 'run-1.r0.w0', queue: 'train-shard' }, 'finished train-shard job run-1.r0.w0 in 1.0 s');
    const o = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(o.msg, 'finished train-shard job run-1.r0.w0 in 1.0 s');
    assert.deepEqual([o.run, o.round, o.job, o.worker, o.queue, o.level, o.name], ['run-1', 0, 'run-1.r0.w0', 'w-1', 'train-shard', 30, 'pmamba-worker']);
    assert.match(String(o.time), /^\d{4}-\d\d-\d\dT/);
  });

  it('writes the plain lines people read in pretty mode', async () => {
    const { lines, stream } = capture();
    const log = await createLogger({ name: 'pmamba worker', format: 'pretty', stream });
    log.info({ job: 'x' }, 'serving evaluate');
    log.error('evaluate job x failed: boom');
    assert.deepEqual(lines, ['pmamba worker: serving evaluate', 'pmamba worker: evaluate job x failed: boom']);
  });

  it('keeps secrets out: secret fields redacted, URL credentials masked, known values replaced', async () => {
    const secret = 'AKxyz/very+secret==';
    const password = 'r3dis-pässword';
    const secrets = knownSecrets({ AWS_SECRET_ACCESS_KEY: secret }, [`rediss://default:${encodeURIComponent(password)}@cache.example:6380`, 'not a url']);
    for (const format of ['json', 'pretty'] as const) {
      const { lines, stream } = capture();
      const log = await createLogger({ name: 'pmamba worker', format, stream, secrets });
      log.info({ connection: { host: 'h', password }, env: { AWS_SECRET_ACCESS_KEY: secret }, secretAccessKey: secret }, 'connecting');
      log.info(`using rediss://default:${encodeURIComponent(password)}@cache.example:6380 and key ${secret}`);
      log.error({ err: `WRONGPASS for ${password}` }, `cannot reach redis://:${password}@h`);
      const text = lines.join('\n');
      for (const s of [secret, password, encodeURIComponent(password)]) assert.ok(!text.includes(s), `${format}: ${s} in\n${text}`);
      if (format === 'json') {
        assert.match(text, /"password":"\[redacted\]"/);
        assert.match(text, /rediss:\/\/\*\*\*@cache\.example:6380/);
      }
    }
  });

  it('masks credentials up to the last @ of the authority', () => {
    assert.equal(maskUrlCredentials('at redis://:p@ss@h:1/0 and s3://b/k'), 'at redis://***@h:1/0 and s3://b/k');
    assert.equal(maskUrlCredentials('{"u":"rediss://u:pw@h","v":"x@y"}'), '{"u":"rediss://***@h","v":"x@y"}');
    assert.equal(scrub('a "quo\\"te" b', ['quo"te']), 'a "***" b');
    assert.deepEqual(knownSecrets({ REDIS_PASSWORD: 'abc' }), [], 'values too short to hide are left alone');
    // A cluster URL's host list is no URL host: its password is found all the same.
    assert.deepEqual(knownSecrets({}, ['redis+cluster://u:p%40ss-word@h1:7000,h2:7000']), ['p%40ss-word', 'p@ss-word']);
    assert.deepEqual(knownSecrets({}, ['rediss+cluster://just-a-user@h1:7000']), []);
    assert.equal(maskUrlCredentials('at redis+cluster://:pw@h1:1,h2:2 now'), 'at redis+cluster://***@h1:1,h2:2 now');
  });
});
