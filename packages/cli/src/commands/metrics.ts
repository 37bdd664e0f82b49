/**
 * `pmamba metrics`: the seven benchmark metrics and mAD for image scores, labels, anomaly maps
 * and masks stored as .npy files (as numpy users have them).
 *
 *   pmamba metrics --scores s.npy --labels l.npy --maps m.npy --masks k.npy [--json] [--ader]
 *
 * maps and masks: (N, H, W) or (N, 1, H, W); a mask pixel is anomalous when > 0.5.
 * scores and labels: N values each; labels 0 (normal) or 1 (anomalous).
 */
import type { Argv, CommandModule } from 'yargs';
import { npyToFloat32, npyToFloat64, readNpy, type NpyArray } from '@pmamba/data';
import { computeAllMetrics, METRIC_LABELS, MetricsError, type AllMetricsResult } from '@pmamba/metrics';
import { METRIC_NAMES } from '@pmamba/protocol';

interface MetricsArgs {
  scores: string;
  labels: string;
  maps: string;
  masks: string;
  json: boolean;
  ader: boolean;
  fprLimit: number;
}

/** (N, H, W) from an (N, H, W) or (N, 1, H, W) array; anything else names the file. */
function mapShape(a: NpyArray, path: string): [number, number, number] {
  const s = a.shape;
  if (s.length === 3) return [s[0], s[1], s[2]];
  if (s.length === 4 && s[1] === 1) return [s[0], s[2], s[3]];
  throw new MetricsError('E_SHAPE', `${path}: shape (${s.join(', ')}) must be (N, H, W) or (N, 1, H, W)`, path);
}

/** Float32 maps; float64 input is rounded, with a warning when that changes values (ties may merge). */
function mapsAsFloat32(a: NpyArray, path: string): Float32Array {
  if (a.dtype === 'float32') return a.data as Float32Array;
  const out = npyToFloat32(a.data);
  if (a.dtype === 'float64') {
    const src = a.data as Float64Array;
    let changed = 0;
    for (let i = 0; i < src.length; i++) if (out[i] !== src[i]) changed++;
    if (changed > 0) {
      process.stderr.write(
        `pmamba metrics: warning: ${path} is float64; pixel metrics rank its values rounded to float32 ` +
          `(${changed} of ${src.length} values changed, which can merge near-ties). Save float32 maps for exact agreement.\n`,
      );
    }
  }
  return out;
}

/** Binary masks: a value > 0.5 is anomalous, as the reference evaluator reads them. */
function masksAsUint8(a: NpyArray): Uint8Array {
  const v = npyToFloat64(a.data);
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] > 0.5 ? 1 : 0;
  return out;
}

/** One score, label, map and mask per image: counts that disagree name every file and its count. */
function checkImageCounts(counts: { path: string; what: string; n: number }[]): void {
  const odd = counts.find((c) => c.n !== counts[0].n);
  if (!odd) return;
  const list = counts.map((c) => `${c.path} has ${c.n} ${c.what}`).join(', ');
  throw new MetricsError('E_SHAPE', `image counts disagree: ${list}; give one score, label, map and mask per image`, odd.path);
}

function humanReport(r: AllMetricsResult): string {
  const lines = METRIC_NAMES.map(
    (k) => `${METRIC_LABELS[k].padEnd(8)} ${r.metrics[k].toFixed(6)}  (${(r.metrics[k] * 100).toFixed(2)} %)`,
  );
  if (r.extra) {
    lines.push('evaluator approximations (not in mAD):');
    lines.push(`  P-F1max, 21-threshold grid  ${r.extra.p_f1max_ader_grid.toFixed(6)}`);
    lines.push(`  AU-PRO, 100 thresholds      ${r.extra.au_pro_ader_100.toFixed(6)}`);
  }
  return lines.join('\n') + '\n';
}

export const metricsCommand: CommandModule = {
  command: 'metrics',
  describe: 'I-AUROC, I-AP, I-F1max, P-AUROC, P-AP, P-F1max, AU-PRO and mAD from .npy files',
  builder: (y: Argv) =>
    y
      .option('scores', { type: 'string', demandOption: true, describe: 'image scores, shape (N,)' })
      .option('labels', { type: 'string', demandOption: true, describe: 'image labels 0/1, shape (N,)' })
      .option('maps', { type: 'string', demandOption: true, describe: 'anomaly maps, (N, H, W) or (N, 1, H, W)' })
      .option('masks', { type: 'string', demandOption: true, describe: 'ground-truth masks, same shape as maps (> 0.5 = anomalous)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON (keys i_auroc … mad, fractions in [0, 1])' })
      .option('ader', {
        type: 'boolean',
        default: false,
        describe: "also print the reference evaluator's approximations (P-F1max on 21 thresholds, AU-PRO on 100) under extra",
      })
      .option('fpr-limit', { type: 'number', default: 0.3, describe: 'FPR up to which AU-PRO integrates' }),
  handler: async (args) => {
    const argv = args as unknown as MetricsArgs; // the builder above declares and demands these options
    if (!(argv.fprLimit > 0 && argv.fprLimit <= 1)) {
      throw new MetricsError('E_ARGUMENT', `--fpr-limit must be in (0, 1], got ${argv.fprLimit}`, '--fpr-limit');
    }
    const scores = readNpy(argv.scores);
    const labels = readNpy(argv.labels);
    const maps = readNpy(argv.maps);
    const masks = readNpy(argv.masks);
    const shape = mapShape(maps, argv.maps);
    const maskShape = mapShape(masks, argv.masks);
    if (maskShape.some((d, i) => d !== shape[i])) {
      throw new MetricsError(
        'E_SHAPE',
        `${argv.masks}: shape (${masks.shape.join(', ')}) does not match ${argv.maps} (${maps.shape.join(', ')})`,
        argv.masks,
      );
    }
    // computeAllMetrics pairs scores with labels and maps with masks, but never scores with maps.
    checkImageCounts([
      { path: argv.scores, what: 'scores', n: scores.data.length },
      { path: argv.labels, what: 'labels', n: labels.data.length },
      { path: argv.maps, what: 'maps', n: shape[0] },
      { path: argv.masks, what: 'masks', n: maskShape[0] },
    ]);
    const result = computeAllMetrics(
      {
        scores: npyToFloat64(scores.data),
        labels: npyToFloat64(labels.data),
        maps: mapsAsFloat32(maps, argv.maps),
        masks: masksAsUint8(masks),
        shape,
      },
      {
        ader: argv.ader,
        fprLimit: argv.fprLimit,
        fields: { scores: argv.scores, labels: argv.labels, maps: argv.maps, masks: argv.masks },
      },
    );
    if (argv.json) {
      process.stdout.write(JSON.stringify(result.extra ? { ...result.metrics, extra: result.extra } : result.metrics, null, 1) + '\n');
    } else {
      process.stdout.write(humanReport(result));
    }
  },
};
