/**
 * A fingerprint of a dataset's evaluation data: which test images (and masks) a score was
 * measured on, by content. Two runs whose fingerprints are equal were evaluated on the same
 * bytes, so their metrics compare; the model registry's champion gate relies on it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import type { DatasetIndex } from './dataset.ts';

export interface EvaluationData {
  /** sha256 over every test sample's class, id, label and the content hashes of its image and mask. */
  fingerprint: string;
  /** Test images it covers. */
  images: number;
}

async function fileSha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/**
 * Hashes every test image and mask of `index` (classes and samples in name order, so the
 * fingerprint does not depend on the order files were listed in). `exclude`: image paths left
 * out (bad files skipped under policy `skip` are not evaluated either).
 */
export async function evaluationDataOf(index: DatasetIndex, exclude: ReadonlySet<string> = new Set()): Promise<EvaluationData> {
  const lines: string[] = [];
  const classes = [...index.classes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const c of classes) {
    const samples = c.test.filter((s) => !exclude.has(s.image)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const s of samples) {
      const mask = s.mask ? `${relative(index.root, s.mask).split(sep).join('/')}\t${await fileSha256(s.mask)}` : '-\t-';
      lines.push(`${c.name}\t${s.id}\t${s.label}\t${await fileSha256(s.image)}\t${mask}\n`);
    }
  }
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line);
  return { fingerprint: hash.digest('hex'), images: lines.length };
}
