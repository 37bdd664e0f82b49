/**
 * `model.teacher.weights` as a local file for planning (which checks it, and its
 * `model.teacher.sha256` pin): a path as it is; a URL downloaded once into ./.pmamba/weights/, verified
 * against the catalog's pin for that URL or the config's sha256 (an unpinned URL is refused:
 * a teacher decides what the detector sees, so its bytes must be the ones meant).
 */
import { basename, resolve } from 'node:path';
import type { RunConfig } from '@pmamba/protocol';
import { modelSection } from '@pmamba/protocol';
import { CliError } from './errors.ts';
import { WEIGHTS_CATALOG } from './weights/catalog.ts';
import { downloadVerified } from './weights/download.ts';
import { DownloadProgress } from './weights/download-progress.ts';

const WEIGHTS_CACHE = '.pmamba/weights';

export async function teacherWeightsFile(config: RunConfig, cwd = process.cwd()): Promise<string | undefined> {
  const { weights, sha256 } = modelSection(config.model).teacher;
  if (!weights) return undefined;
  if (!/^https?:\/\//i.test(weights)) return resolve(cwd, weights);
  const entry = WEIGHTS_CATALOG.find((e) => e.url === weights);
  const pin = sha256 ? { sha256 } : entry ? (entry.sha256 ? { sha256: entry.sha256 } : { sha256Prefix: entry.sha256Prefix! }) : undefined;
  if (!pin) {
    throw new CliError(
      `model.teacher.weights ${weights} is a URL pmamba has no hash for: set model.teacher.sha256 to the file's sha256, or download it yourself and give the path`,
      'E_BAD_OPTION',
    );
  }
  const name = entry?.fileName ?? (basename(new URL(weights).pathname) || 'teacher-weights');
  const progress = new DownloadProgress(name);
  const out = resolve(cwd, WEIGHTS_CACHE, name);
  const got = await downloadVerified({ ...pin, url: weights, out, bytes: sha256 ? undefined : entry?.bytes, onProgress: (e) => progress.handle(e) });
  return got.path;
}
