import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'node:net';
import sharp from 'sharp';
import { stringify } from 'yaml';
import { CLI } from './support/tiny-run.ts';

// `pmamba train` without a Redis URL, as a new user runs it: a private redis-server and local
// workers. Ctrl-C in a terminal signals the whole foreground process group.
const procCmdlines = async (): Promise<string[]> => {
  const out: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      out.push((await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' '));
    } catch {
      // gone
    }
  }
  return out;
};

interface Running {
  lines: string[];
  exited: Promise<number | null>;
  pid: number;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

function runCli(args: string[], cwd: string): Running {
  const env = { ...process.env };
  delete env.REDIS_URL;
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (l: string) => void }[] = [];
  for (const s of [child.stdout, child.stderr]) {
    createInterface({ input: s! }).on('line', (l) => {
      lines.push(l);
      for (const w of waiters.filter((w) => w.pattern.test(l))) w.resolve(l);
    });
  }
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    lines,
    exited,
    pid: child.pid!,
    waitFor: (pattern, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => pattern.test(l));
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
        waiters.push({ pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(() => setTimeout(() => reject(new Error(`exited before a line matching ${pattern}:\n${lines.join('\n')}`)), 100));
      }),
  };
}

test('Ctrl-C: the private Redis survives to the end, the hint is printed, secrets stay off command lines; the hint resumes the run, and a class with black masks gets n/a', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmamba-interrupt-'));
  try {
    await writeFile(
      join(dir, 'run.yaml'),
      stringify({
        run: { id: 'interrupted' },
        dataset: { root: './data', imageSize: 32, synthetic: { classes: 2, size: 32, train: 4, test: 6, seed: 3 } },
        model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } },
        training: { rounds: 2, localSteps: 30, batchSize: 2, workers: 2, checkpointEverySteps: 5, seed: 5 },
        evaluation: { batchSize: 6, heatmaps: 1, blurSigma: 1 },
        store: { url: 'file://./artifacts' },
      }),
    );
    const first = runCli(['train', '-c', 'run.yaml', '--backend', 'wasm'], dir);
    const started = await first.waitFor(/started a private redis-server at/);
    const port = Number(/:(\d+) /.exec(started)![1]);
    assert.match(started, /redis:\/\/\*\*\*@127\.0\.0\.1:\d+ /, 'the logged URL masks the password');
    await first.waitFor(/round 1\/2: 2 train-shard job/);

    // The server wants the password, which is on no process's command line.
    assert.match(await redisReply(port, 'PING'), /^-NOAUTH/);
    const cmdlines = await procCmdlines();
    const workers = cmdlines.filter((c) => c.includes(CLI) && / worker /.test(c));
    assert.equal(workers.length, 2, 'two local workers run');
    assert.ok(workers.every((c) => !c.includes('redis://')), `no Redis URL on a worker's command line: ${workers.join('\n')}`);
    const password = await findPassword(port);
    assert.ok(password.length >= 32, 'a random password');
    assert.ok(cmdlines.every((c) => !c.includes(password)), 'the password is on no command line');

    process.kill(-first.pid, 'SIGINT'); // what a terminal's Ctrl-C does
    const code = await first.exited;
    assert.notEqual(code, 0);
    const text = first.lines.join('\n');
    assert.doesNotMatch(text, /ECONNREFUSED/, 'Redis outlived everything that used it');
    const hint = /`(pmamba train --resume interrupted [^`]*)`/.exec(text);
    assert.ok(hint, `a resume hint:\n${text}`);
    // The private server is gone with the command.
    await assert.rejects(redisReply(port, 'PING'), /ECONNREFUSED/);

    // The hint, as printed, finishes the run — here with every defect mask of one class made
    // black in between: that class's pixel metrics are n/a with the reason, and the report
    // still has every class.
    await blackenMasks(join(dir, 'data', 'disc', 'ground_truth'));
    const second = runCli([...hint[1].split(' ').slice(1), '--backend', 'wasm'], dir);
    assert.equal(await second.exited, 0, second.lines.join('\n'));
    const out = second.lines.join('\n');
    assert.match(out, /mean mAD: untrained/);
    assert.match(out, /\| carpet \|( \d+\.\d \|){8}/);
    assert.match(out, /\| disc \|( \d+\.\d \|){3}( n\/a \|){5}/);
    assert.match(out, /- n\/a — disc: pixel metrics \(p\\_auroc, p\\_ap, p\\_f1max, au\\_pro\) and mAD: all \d+ defect masks are empty \(black\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** The private server's password, read from a local worker's environment (where it is passed). */
async function findPassword(port: number): Promise<string> {
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const env = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
      const url = env.find((e) => e.startsWith('REDIS_URL=') && e.endsWith(`@127.0.0.1:${port}`));
      if (url) return new URL(url.slice('REDIS_URL='.length)).password;
    } catch {
      // gone, or not ours
    }
  }
  throw new Error(`no process has REDIS_URL for port ${port}`);
}


/** The first reply line of a raw RESP command on a fresh connection. */
function redisReply(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
    socket.once('data', (b) => {
      resolve(b.toString().split('\r\n')[0]);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** Overwrites every mask PNG under `dir` with an all-black one of the same size. */
async function blackenMasks(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.png')) continue;
    const path = join(entry.parentPath, entry.name);
    const { width, height } = await sharp(path).metadata();
    await sharp({ create: { width: width!, height: height!, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(`${path}.tmp.png`);
    await rename(`${path}.tmp.png`, path);
  }
}
