/**
 * `pmamba weights fetch <name>`: downloads ImageNet-pretrained teacher weights from their public
 * location and keeps them only if their sha256 matches the catalog's pin.
 * `pmamba weights list`: the catalog.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { WEIGHTS_CATALOG, WEIGHTS_NAMES, describePin, findWeights, type WeightsEntry } from '../weights/catalog.ts';
import { downloadVerified, type DownloadResult } from '../weights/download.ts';
import { DownloadProgress } from '../weights/download-progress.ts';

interface FetchArgs {
  name: string;
  out?: string;
  url?: string;
  sha256?: string;
  retries: number;
}

const defaultOut = (e: WeightsEntry) => join('weights', e.fileName);

/** A path as the user would type it: relative when under the current folder, quoted for YAML if needed. */
function shownPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  const p = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
  return /[\s:#'"]/.test(p) ? JSON.stringify(p) : p;
}

const fetchCommand: CommandModule<object, FetchArgs> = {
  command: 'fetch <name>',
  describe: 'download pinned ImageNet-pretrained teacher weights and verify their sha256',
  builder: (y) =>
    (y as Argv<object>)
      .positional('name', { choices: WEIGHTS_NAMES, demandOption: true, describe: 'catalog name (pmamba weights list)' })
      .option('out', {
        type: 'string',
        describe:
          'target file (default ./weights/<file name>, e.g. ./weights/resnet34-b627a593.pth). A cut or interrupted ' +
          'download waits in <out>.part; running the same command again resumes it',
      })
      .option('url', { type: 'string', describe: "fetch from this URL instead (a site mirror); the catalog's sha256 and size still apply" })
      .option('sha256', {
        type: 'string',
        describe: "with --url: pin the mirror's file by this full sha256 (64 hex digits) instead of the catalog's, for a mirror of another file",
      })
      .option('retries', { type: 'number', default: 5, describe: 'retries after a cut or stalled connection, each resuming where the last stopped' })
      .implies('sha256', 'url')
      .epilog(
        'The file is written to <out> only after its sha256 matched; a mismatch deletes the download and exits non-zero. ' +
          'An existing <out> with the pinned hash is kept and nothing is fetched.',
      ) as unknown as Argv<FetchArgs>,
  handler: async (args) => {
    const entry = findWeights(args.name)!; // yargs restricts name to the catalog
    const out = resolve(args.out ?? defaultOut(entry));
    const pin = args.sha256 !== undefined ? { sha256: args.sha256 } : entry.sha256 !== undefined ? { sha256: entry.sha256 } : { sha256Prefix: entry.sha256Prefix! };
    const progress = new DownloadProgress(entry.name);
    const stop = new AbortController();
    // Ctrl-C stops cleanly so the .part is kept and the message says how to resume.
    const onSigint = () => stop.abort();
    process.once('SIGINT', onSigint);
    let result: DownloadResult;
    try {
      result = await downloadVerified({
        ...pin,
        url: args.url ?? entry.url,
        out,
        // A custom --sha256 pins another file, whose size the catalog does not know.
        ...(args.sha256 === undefined && entry.bytes !== undefined ? { bytes: entry.bytes } : {}),
        retries: args.retries,
        signal: stop.signal,
        onProgress: (e) => progress.handle(e),
      });
    } finally {
      progress.stop();
      process.off('SIGINT', onSigint);
    }
    const pinNote = result.prefixOnly
      ? `only its first ${entry.sha256Prefix!.length} hex digits are pinned (prefix-pinned: no full hash is published for this file)`
      : args.sha256 !== undefined
        ? 'matches --sha256'
        : 'matches the catalog pin';
    const path = shownPath(result.path);
    process.stdout.write(
      (result.status === 'present' ? `${entry.name}: already there: ${result.path} (sha256 checked; nothing downloaded)\n` : `${entry.name}: saved ${result.path}\n`) +
        `  size    ${result.bytes} bytes (${(result.bytes / 1024 / 1024).toFixed(1)} MB)\n` +
        `  sha256  ${result.sha256} (${pinNote})\n` +
        `  format  ${entry.format}, teacher ${entry.arch}\n` +
        'use it as the frozen teacher:\n' +
        `  config:  model.teacher.weights: ${path}   (with model.encoder: ${entry.arch})\n` +
        `  flag:    --teacher-weights ${path}\n`,
    );
  },
};

const listCommand: CommandModule<object, { json: boolean }> = {
  command: 'list',
  describe: 'the weights catalog: names, teacher architectures, URLs and pinned hashes',
  builder: (y) => (y as Argv<object>).option('json', { type: 'boolean', default: false, describe: 'print the catalog as JSON' }) as unknown as Argv<{ json: boolean }>,
  handler: (args) => {
    if (args.json) {
      process.stdout.write(JSON.stringify(WEIGHTS_CATALOG.map((e) => ({ ...e, defaultOut: defaultOut(e) })), null, 2) + '\n');
      return;
    }
    const lines = WEIGHTS_CATALOG.map((e) =>
      [
        `${e.name}  (teacher ${e.arch}, ${e.format}${e.bytes === undefined ? '' : `, ${e.bytes} bytes`})`,
        `  ${e.description}`,
        `  ${e.url}`,
        `  ${describePin(e)}`,
        `  default --out ./${defaultOut(e)}`,
      ].join('\n'),
    );
    process.stdout.write(lines.join('\n\n') + '\n');
  },
};

/** `pmamba weights …`: pinned teacher weights. */
export const weightsCommand: CommandModule = {
  command: 'weights',
  describe: 'download ImageNet-pretrained teacher weights, pinned by sha256 (fetch, list)',
  builder: (y) => y.command(fetchCommand).command(listCommand).demandCommand(1, 'name a weights command: fetch or list'),
  handler: () => undefined,
};
