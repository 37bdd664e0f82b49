// infra/ against the code: the compose file and every Kubernetes manifest parse; every `pmamba …`
// command line they (and the Dockerfiles' CMD, and docs/deploy.md's sh blocks) give names a real
// command and real flags (`pmamba <verbs> --help`); every environment variable they give pmamba is
// one that packages/*/src reads; the images' entry command runs as a plain process; the KEDA
// trigger reads the Redis keys BullMQ really keeps waiting jobs in (checked live on Redis:
// REDIS_URL or 127.0.0.1:6379); the S3 policy allows every call the store makes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { parse, parseAllDocuments } from 'yaml';
import { QUEUE_NAMES, parseRunConfig, redisConnectionFromUrl } from '@pmamba/protocol';
import { PROCESSORS } from '@pmamba/worker';
import { commandLines } from './support/markdown.ts';

const ROOT = join(import.meta.dirname, '..');
const run = promisify(execFile);
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Parsed YAML, checked field by field. */
type Json = Record<string, any>;

// ---- the files -----------------------------------------------------------------------------

const compose = parse(read('infra/compose.yaml'), { merge: true }) as Json;
const K8S_DIR = 'infra/k8s';
const k8sFiles = readdirSync(join(ROOT, K8S_DIR)).filter((f) => /\.ya?ml$/.test(f)).sort();
const k8sDocs: { file: string; doc: Json }[] = k8sFiles.flatMap((file) =>
  parseAllDocuments(read(`${K8S_DIR}/${file}`)).map((d) => {
    assert.deepEqual(d.errors, [], `${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { file, doc: d.toJS() as Json };
  }),
);
const dockerfiles = ['infra/docker/Dockerfile', 'infra/docker/Dockerfile.gpu'];
const deployDoc = read('docs/deploy.md');

const isPmambaImage = (image: unknown) => typeof image === 'string' && /(^|[/:{-])pmamba[:@]|PMAMBA_IMAGE|\$\{(GPU_)?IMAGE/.test(image);
const pmambaServices = Object.entries(compose.services as Record<string, Json>).filter(([, s]) => isPmambaImage(s.image));

/** Containers of the manifests' pod templates that run the pmamba image. */
function pmambaContainers(): { file: string; owner: Json; container: Json }[] {
  const out: { file: string; owner: Json; container: Json }[] = [];
  for (const { file, doc } of k8sDocs) {
    const pod = doc.spec?.template?.spec;
    for (const container of pod?.containers ?? []) if (isPmambaImage(container.image)) out.push({ file, owner: doc, container });
  }
  return out;
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/;

/** The pmamba arguments of a shell line (`[VAR=… ]npx pmamba …` or `pmamba …`), or undefined. */
function pmambaArgs(line: string): string[] | undefined {
  const tokens = line.split(/\s+/);
  while (tokens.length && ASSIGNMENT.test(tokens[0])) tokens.shift();
  if (tokens[0] === 'npx') tokens.shift();
  return tokens[0] === 'pmamba' ? tokens.slice(1) : undefined;
}

/** The exec-form JSON array of a Dockerfile instruction (the last one). */
function dockerInstruction(text: string, name: 'ENTRYPOINT' | 'CMD'): string[] {
  const found = [...text.matchAll(new RegExp(`^${name}\\s+(\\[.*\\])\\s*$`, 'gm'))];
  assert.ok(found.length > 0, `no ${name} in exec form`);
  return JSON.parse(found.at(-1)![1]) as string[];
}

/** Every pmamba argument list the infra files and docs/deploy.md give, with where it comes from. */
function allCommandLines(): { where: string; args: string[] }[] {
  const lines: { where: string; args: string[] }[] = [];
  for (const [name, s] of pmambaServices) {
    assert.ok(Array.isArray(s.command), `compose service ${name}: command must be a list`);
    lines.push({ where: `compose ${name}`, args: s.command });
  }
  for (const { file, container } of pmambaContainers()) {
    assert.ok(Array.isArray(container.args) && !container.command, `${file} ${container.name}: give pmamba's arguments as args (the image's ENTRYPOINT is pmamba)`);
    lines.push({ where: `${file} ${container.name}`, args: container.args });
  }
  // Alternatives given in comments, e.g. `# args: ["train", "--resume", …]`.
  for (const file of k8sFiles) {
    for (const m of read(`${K8S_DIR}/${file}`).matchAll(/#\s*args:\s*(\[.*\])\s*$/gm)) lines.push({ where: `${file} (comment)`, args: JSON.parse(m[1]) as string[] });
  }
  for (const file of dockerfiles) lines.push({ where: `${file} CMD`, args: dockerInstruction(read(file), 'CMD') });
  for (const line of commandLines(deployDoc)) {
    const args = pmambaArgs(line);
    if (args) lines.push({ where: `docs/deploy.md: ${line.slice(0, 80)}`, args });
  }
  return lines;
}

// ---- the CLI -------------------------------------------------------------------------------

const helps = new Map<string, Promise<string>>();
/** `pmamba <verbs> --help`, run once per command path. */
function help(verbs: readonly string[]): Promise<string> {
  const key = verbs.join(' ');
  let h = helps.get(key);
  if (!h) {
    h = run(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', ...verbs, '--help'], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0' },
      maxBuffer: 1 << 22,
    }).then(
      (r) => r.stdout,
      (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`,
    );
    helps.set(key, h);
  }
  return h;
}

/** The command path of an argument list: leading words that the CLI lists as (sub)commands. */
async function commandPath(args: readonly string[]): Promise<string[]> {
  const verbs: string[] = [];
  for (const token of args) {
    if (!/^[a-z][a-z-]*$/.test(token)) break;
    const listing = await help(verbs);
    if (!new RegExp(`^\\s+pmamba ${[...verbs, token].join(' ')}(\\s|$)`, 'm').test(listing)) break;
    verbs.push(token);
  }
  return verbs;
}

test('compose.yaml and every Kubernetes manifest parse as YAML', () => {
  assert.ok(compose.services, 'compose.yaml has services');
  assert.ok(k8sFiles.length >= 6, `found ${k8sFiles.length} manifests`);
  for (const { file, doc } of k8sDocs) {
    assert.ok(doc.apiVersion && doc.kind && doc.metadata?.name, `${file}: every document has apiVersion, kind and metadata.name`);
  }
  const kinds = k8sDocs.map(({ doc }) => doc.kind);
  for (const kind of ['Deployment', 'Job', 'ConfigMap', 'Secret', 'ScaledObject', 'TriggerAuthentication']) assert.ok(kinds.includes(kind), `a ${kind}`);
});

test('every pmamba command line of infra/ and docs/deploy.md names a command and flags the CLI has', { timeout: 180_000 }, async () => {
  const lines = allCommandLines();
  const names = lines.map((l) => l.where).join('\n');
  for (const where of ['compose worker', 'compose scheduler', 'compose dashboard', 'worker.yaml', 'coordinator-job.yaml', 'scheduler.yaml', 'Dockerfile CMD', 'docs/deploy.md']) {
    assert.ok(names.includes(where), `found no command line from ${where}`);
  }
  const problems: string[] = [];
  for (const { where, args } of lines) {
    const verbs = await commandPath(args);
    if (verbs.length === 0) {
      problems.push(`${where}: \`pmamba ${args.join(' ')}\` names no pmamba command`);
      continue;
    }
    const text = await help(verbs);
    if (!new RegExp(`^pmamba ${verbs.join(' ')}\\b`, 'm').test(text)) {
      problems.push(`${where}: pmamba ${verbs.join(' ')} --help does not show its usage:\n${text.slice(0, 300)}`);
      continue;
    }
    args.forEach((token, i) => {
      const flag = /^(--?[a-zA-Z][\w-]*)(=.*)?$/.exec(token)?.[1];
      if (!flag) return;
      if (!new RegExp(`(^|[\\s,])${flag}([\\s,]|$)`, 'm').test(text)) problems.push(`${where}: ${flag} is not an option of pmamba ${verbs.join(' ')}`);
      const value = args[i + 1];
      if (flag === '--backend' && value && !text.includes(`"${value}"`)) problems.push(`${where}: --backend ${value} is not a choice of pmamba ${verbs.join(' ')}`);
    });
  }
  assert.deepEqual(problems, []);
});

test('every environment variable infra/ gives pmamba is one that packages/*/src reads', () => {
  const given = new Map<string, string>(); // name → where
  const add = (name: string, where: string) => given.has(name) || given.set(name, where);
  for (const [name, s] of pmambaServices) for (const key of Object.keys(s.environment ?? {})) add(key, `compose ${name}`);
  const dataOf = (kind: string, name: string) => {
    const found = k8sDocs.find(({ doc }) => doc.kind === kind && doc.metadata.name === name);
    assert.ok(found, `envFrom names ${kind} ${name}, which no manifest defines`);
    return Object.keys({ ...found.doc.data, ...found.doc.stringData });
  };
  for (const { file, container } of pmambaContainers()) {
    for (const e of container.env ?? []) add(e.name, file);
    for (const from of container.envFrom ?? []) {
      if (from.secretRef) for (const key of dataOf('Secret', from.secretRef.name)) add(key, `${file} (Secret ${from.secretRef.name})`);
      if (from.configMapRef) for (const key of dataOf('ConfigMap', from.configMapRef.name)) add(key, `${file} (ConfigMap ${from.configMapRef.name})`);
    }
  }
  for (const file of dockerfiles) {
    for (const m of read(file).matchAll(/^ENV\s+((?:.*\\\n)*.*)$/gm)) for (const a of m[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)) add(a[1], file);
  }
  for (const line of commandLines(deployDoc)) {
    const tokens = line.split(/\s+/);
    if (tokens[0] === 'export') tokens.shift();
    for (const t of tokens) {
      const m = ASSIGNMENT.exec(t);
      if (!m) break;
      add(m[1], 'docs/deploy.md');
    }
  }
  for (const name of ['REDIS_URL', 'S3_ENDPOINT', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) assert.ok(given.has(name), `infra/ sets ${name}`);

  // The variables of pmamba's own families must be read by its code, word for word.
  const sources = readdirSync(join(ROOT, 'packages'))
    .map((p) => join(ROOT, 'packages', p, 'src'))
    .filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory());
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [readFileSync(p, 'utf8')] : [];
    });
  const code = sources.flatMap((dir) => walk(dir)).join('\n');
  const unread = [...given]
    .filter(([name]) => /^(PMAMBA_|REDIS_|S3_|AWS_)/.test(name))
    .filter(([name]) => !new RegExp(`\\b${name}\\b`).test(code))
    .map(([name, where]) => `${name} (${where})`);
  assert.deepEqual(unread, [], 'set by infra/ but read nowhere in packages/*/src');
});

test('every variable compose.yaml interpolates is in infra/.env.example', () => {
  const text = read('infra/compose.yaml');
  const example = new Set([...read('infra/.env.example').matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]));
  const used = new Set([...text.replace(/\$\$/g, '').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
  assert.deepEqual([...used].filter((v) => !example.has(v)), []);
  assert.ok(used.has('REDIS_PASSWORD') && used.has('DATA_DIR'));
});

test('compose: Redis persistence and eviction, the bucket, GPU reservations, the dataset mount', () => {
  const s = compose.services as Record<string, Json>;
  const redisCommand = [s.redis.command].flat().join(' ');
  for (const part of ['--appendonly yes', '--maxmemory-policy noeviction', '--requirepass']) assert.ok(redisCommand.includes(part), `redis: ${part}`);
  assert.match(s.redis.image, /^redis:7/);
  assert.ok(String(s['minio-setup'].command).includes('mc mb --ignore-existing local/pmamba'), 'minio-setup creates the bucket');
  assert.deepEqual(s['worker-gpu'].profiles, ['gpu']);
  const devices = s['worker-gpu'].deploy.resources.reservations.devices as Json[];
  assert.ok(devices.some((d) => d.driver === 'nvidia' && d.capabilities.includes('gpu')));
  assert.deepEqual(s.dashboard.command, ['dashboard', '--port', '3000', '--host', '0.0.0.0']);
  assert.equal(s.scheduler.command[0], 'scheduler');
  for (const [name, svc] of pmambaServices) {
    assert.match(String(svc.environment.REDIS_URL), /^redis:\/\/:\$\{REDIS_PASSWORD[^}]*\}@redis:6379$/, `${name}: REDIS_URL with the password`);
    const mount = (svc.volumes as Json[]).find((v) => v.type === 'bind');
    assert.ok(mount && String(mount.source).startsWith('${DATA_DIR') && String(mount.target).startsWith('${DATA_DIR'), `${name}: DATA_DIR at the same path`);
  }
});

test('Dockerfiles: deps stage with npm ci on every package manifest, non-root runtime, pmamba as entry point', () => {
  const packages = readdirSync(join(ROOT, 'packages')).filter((p) => statSync(join(ROOT, 'packages', p, 'package.json'), { throwIfNoEntry: false }));
  for (const file of dockerfiles) {
    const text = read(file);
    assert.match(text, /^FROM \S+ AS deps$/m, `${file}: a deps stage`);
    assert.match(text, /npm ci --omit=dev/, `${file}: npm ci`);
    for (const p of packages) assert.ok(text.includes(`COPY packages/${p}/package.json packages/${p}/`), `${file}: the deps stage copies packages/${p}/package.json`);
    const user = [...text.matchAll(/^USER\s+(\S+)/gm)].at(-1)?.[1];
    assert.ok(user && !/^(0|root)(:|$)/.test(user), `${file}: runs as a non-root user (USER ${user})`);
    const entry = dockerInstruction(text, 'ENTRYPOINT');
    assert.equal(entry.at(-1), '/app/packages/cli/bin/pmamba.mjs');
    assert.deepEqual(dockerInstruction(text, 'CMD'), ['worker']);
  }
  const gpu = read('infra/docker/Dockerfile.gpu');
  assert.match(gpu, /^ARG CUDA_IMAGE=nvidia\/cuda:11\.2\.2-cudnn8-runtime-ubuntu20\.04$/m);
  assert.match(gpu, /^ARG TFJS_NODE_BASE_URI=/m);
  const model = JSON.parse(read('packages/model/package.json')) as { peerDependencies: Record<string, string> };
  const tfjsNodeGpu = /npm i --no-save [^\n]*@tensorflow\/tfjs-node-gpu@(\S+)/.exec(gpu)?.[1];
  assert.equal(tfjsNodeGpu, model.peerDependencies['@tensorflow/tfjs-node-gpu'], 'the GPU image installs the version @pmamba/model asks for');
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string }> };
  assert.equal(lock.packages['node_modules/@tensorflow/tfjs-core']?.version, tfjsNodeGpu, 'tfjs-node-gpu at the locked tfjs-core version (one tfjs engine)');
  const ignore = read('.dockerignore').split('\n').map((l) => l.trim());
  for (const p of ['**/node_modules', 'artifacts', '.pmamba']) assert.ok(ignore.includes(p), `.dockerignore: ${p}`);
});

test("the images' entry command runs as a plain process", { timeout: 60_000 }, async () => {
  for (const file of dockerfiles) {
    const entry = dockerInstruction(read(file), 'ENTRYPOINT');
    // Drop the init (tini …--); the image's /app is the repository root.
    const command = entry.slice(entry.indexOf('--') + 1).map((a) => a.replace(/^\/app\//, ''));
    assert.deepEqual(command, ['node', 'packages/cli/bin/pmamba.mjs']);
    const top = await run(process.execPath, [...command.slice(1), '--help'], { cwd: ROOT });
    assert.match(top.stdout, /pmamba worker/);
    const withCmd = await run(process.execPath, [...command.slice(1), ...dockerInstruction(read(file), 'CMD'), '--help'], { cwd: ROOT });
    assert.match(withCmd.stdout, /^pmamba worker/m);
  }
});

test('Kubernetes: probes on the metrics port, grace periods, GPU limits, the run config', () => {
  const workers = k8sDocs.filter(({ doc }) => doc.kind === 'Deployment' && /worker/.test(doc.metadata.name));
  assert.equal(workers.length, 2, 'a wasm and a GPU worker Deployment');
  for (const { file, doc } of workers) {
    const pod = doc.spec.template.spec;
    const c = pod.containers[0];
    const port = Number(c.args[c.args.indexOf('--metrics-port') + 1]);
    assert.equal(port, 9464, `${file}: --metrics-port 9464`);
    for (const probe of [c.livenessProbe, c.readinessProbe]) {
      assert.equal(probe.httpGet.path, '/healthz');
      const named = c.ports.find((p: Json) => p.name === probe.httpGet.port);
      assert.equal(named ? named.containerPort : probe.httpGet.port, port, `${file}: probes on the metrics port`);
    }
    assert.ok(pod.terminationGracePeriodSeconds >= 120, `${file}: a grace period longer than a checkpoint`);
  }
  const gpu = workers.find(({ doc }) => /gpu/.test(doc.metadata.name))!.doc.spec.template.spec.containers[0];
  assert.equal(String(gpu.resources.limits['nvidia.com/gpu']), '1');
  assert.ok(gpu.args.includes('tensorflow-gpu'));

  const job = k8sDocs.find(({ doc }) => doc.kind === 'Job')!.doc.spec.template.spec.containers[0];
  assert.deepEqual(job.args, ['train', '-c', '/config/run.yaml', '--local-workers', '0']);
  const scheduler = k8sDocs.find(({ doc }) => doc.kind === 'Deployment' && /scheduler/.test(doc.metadata.name))!.doc;
  assert.equal(scheduler.spec.replicas, 1);
  assert.equal(scheduler.spec.template.spec.containers[0].args[0], 'scheduler');

  const cm = k8sDocs.find(({ doc }) => doc.kind === 'ConfigMap' && doc.data?.['run.yaml'])!.doc;
  const config = parseRunConfig(parse(cm.data['run.yaml']), 'infra/k8s/run-config.yaml');
  for (const { file, doc } of workers) {
    const args: string[] = doc.spec.template.spec.containers[0].args;
    assert.equal(args[args.indexOf('--store') + 1], config.store.url, `${file}: the run's store`);
    assert.equal(args[args.indexOf('--prefix') + 1], config.redis.prefix, `${file}: the run's prefix`);
  }
  assert.ok(config.dataset.root.startsWith('/data/'), 'the dataset on the shared volume');
});

// ---- KEDA and BullMQ's keys -------------------------------------------------------------------

const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const livePrefix = `pmamba-test-infra-${randomBytes(4).toString('hex')}`;
after(async () => {
  const client = new Redis(redisConnectionFromUrl(redisUrl));
  try {
    const keys = await client.keys(`${livePrefix}:*`);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
});

test('KEDA watches the lists and zsets BullMQ keeps the served queues\' jobs in', { timeout: 30_000 }, async () => {
  const scaled = k8sDocs.find(({ doc }) => doc.kind === 'ScaledObject')!.doc;
  const target = k8sDocs.find(({ doc }) => doc.kind === 'Deployment' && doc.metadata.name === scaled.spec.scaleTargetRef.name);
  assert.ok(target, `scaleTargetRef ${scaled.spec.scaleTargetRef.name} is a Deployment here`);
  const args: string[] = target.doc.spec.template.spec.containers[0].args;
  const prefix = args[args.indexOf('--prefix') + 1];
  const served = Object.keys(PROCESSORS);
  const keys = (scaled.spec.triggers as Json[]).filter((t) => t.type === 'redis').map((t) => String(t.metadata.listName));
  assert.ok(keys.includes(`${prefix}:${QUEUE_NAMES.trainShard}:wait`), 'the train queue\'s waiting jobs');
  for (const queue of served) assert.ok(keys.includes(`${prefix}:${queue}:wait`) && keys.includes(`${prefix}:${queue}:active`), `${queue}: wait and active`);
  const states = new Set<string>();
  for (const key of keys) {
    const [p, queue, state] = key.split(':');
    assert.equal(p, prefix, `${key}: the workers' prefix`);
    assert.ok(served.includes(queue), `${key}: a queue the workers serve`);
    states.add(state);
  }

  // Live: the type of each such key once BullMQ holds a job in that state.
  const connection = redisConnectionFromUrl(redisUrl);
  const queue = new Queue(QUEUE_NAMES.trainShard, { connection, prefix: livePrefix });
  const client = new Redis(connection);
  const worker = new Worker(QUEUE_NAMES.trainShard, null, { connection, prefix: livePrefix, autorun: false });
  try {
    await queue.add('a', { n: 1 });
    await queue.add('b', { n: 2 });
    await queue.add('c', { n: 3 }, { priority: 5 });
    await queue.add('d', { n: 4 }, { delay: 60_000 });
    const type = (state: string) => client.type(`${livePrefix}:${QUEUE_NAMES.trainShard}:${state}`);
    assert.equal(await type('wait'), 'list');
    assert.equal(await type('prioritized'), 'zset');
    assert.equal(await type('delayed'), 'zset');
    assert.equal(await client.llen(`${livePrefix}:${QUEUE_NAMES.trainShard}:wait`), 2, 'the waiting jobs, LLEN');
    const job = await worker.getNextJob('infra-test-token');
    assert.ok(job);
    assert.equal(await type('active'), 'list');
    const expected: Record<string, string> = { wait: 'list', active: 'list', prioritized: 'zset', delayed: 'zset' };
    for (const state of states) assert.ok(expected[state], `KEDA watches ${state}, whose key type is not checked here`);
  } finally {
    await worker.close(true);
    await queue.close();
    client.disconnect();
  }
});

test('the S3 policy allows every call the store makes', () => {
  const store = read('packages/store/src/s3-store.ts');
  const ACTIONS: Record<string, string[]> = {
    GetObjectCommand: ['s3:GetObject'],
    HeadObjectCommand: ['s3:GetObject'],
    PutObjectCommand: ['s3:PutObject'],
    DeleteObjectCommand: ['s3:DeleteObject'],
    paginateListObjectsV2: ['s3:ListBucket'],
    ListObjectsV2Command: ['s3:ListBucket'],
    Upload: ['s3:PutObject', 's3:AbortMultipartUpload'], // lib-storage: multipart upload, aborted on failure
  };
  const imports = [...store.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/(client-s3|lib-storage)'/g)].flatMap((m) =>
    m[1].split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('type ') && !/^(S3Client)$/.test(s)),
  );
  const calls = imports.filter((name) => /Command$|^paginate|^Upload$/.test(name));
  assert.ok(calls.includes('GetObjectCommand') && calls.includes('Upload'), `found the store's calls: ${calls.join(', ')}`);
  const policy = JSON.parse(read('infra/s3-policy.json')) as { Statement: { Effect: string; Action: string[]; Resource: string[] }[] };
  const allowed = new Set(policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action));
  for (const call of calls) {
    assert.ok(ACTIONS[call], `the store calls ${call}: add its IAM actions to infra/s3-policy.json and to this map`);
    for (const action of ACTIONS[call]) assert.ok(allowed.has(action), `${call} needs ${action}`);
  }
  const objects = policy.Statement.find((s) => s.Action.includes('s3:PutObject'))!;
  assert.deepEqual(objects.Resource, ['arn:aws:s3:::pmamba/runs/*'], 'objects under the store prefix of s3://pmamba/runs');
});
