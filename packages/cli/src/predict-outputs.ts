/**
 * Names of `pmamba predict`'s per-image outputs. MVTec-style trees reuse file names in every
 * class (carpet/test/crack/000.png, grid/test/crack/000.png), so a name must come from the
 * input's path, not its base name alone, or one heatmap silently replaces another.
 */
import { dirname, extname, relative, resolve, sep } from 'node:path';
import { csvField } from '@pmamba/metrics';

/** Joins the folders of a relative path into one flat, readable file name. */
const FOLDER_JOIN = '__';

/** The deepest folder holding every file. */
export function commonParent(files: readonly string[]): string {
  let common = resolve(dirname(files[0])).split(sep);
  for (const f of files.slice(1)) {
    const parts = resolve(dirname(f)).split(sep);
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  // [''] is the POSIX root, ['C:'] a Windows drive: both need their separator back.
  return common.length <= 1 ? `${common[0] ?? ''}${sep}` : common.join(sep);
}

/**
 * One output stem per input, unique across the batch: the path relative to the inputs' common
 * folder with its folders joined by `__` (carpet__test__crack__000), so the images of a single
 * folder keep their own names. Stems that still collide keep their extension (a.png, a.jpg),
 * then take a counter (-2, -3, …). Compared case-insensitively, as macOS and Windows file systems do.
 */
export function outputStems(files: readonly string[]): string[] {
  if (files.length === 0) return [];
  const parent = commonParent(files);
  const rel = files.map((f) => relative(parent, resolve(f)).split(sep).join(FOLDER_JOIN));
  const bare = rel.map((r) => r.slice(0, r.length - extname(r).length));
  const counts = tally(bare);
  return numberRepeats(rel.map((r, i) => (counts.get(key(bare[i]))! > 1 ? r : bare[i])));
}

const key = (stem: string) => stem.toLowerCase();

function tally(stems: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of stems) counts.set(key(s), (counts.get(key(s)) ?? 0) + 1);
  return counts;
}

/** Repeats after the first get -2, -3, …, skipping names another input has as its own. */
function numberRepeats(stems: readonly string[]): string[] {
  const taken = new Set(stems.map(key));
  const seen = new Set<string>();
  return stems.map((s) => {
    if (!seen.has(key(s))) {
      seen.add(key(s));
      return s;
    }
    let k = 2;
    while (taken.has(key(`${s}-${k}`))) k++;
    taken.add(key(`${s}-${k}`));
    return `${s}-${k}`;
  });
}

/** `scores.csv`: each image's score beside the input it came from and its heatmap. */
export function scoresCsv(rows: readonly { input: string; heatmap: string; score: number }[]): string {
  const lines = rows.map((r) => [csvField(r.input), csvField(r.heatmap), String(r.score)].join(','));
  return ['input,heatmap,score', ...lines].join('\n') + '\n';
}
