/**
 * The quality experiments' table (experiment.ts, texture-teacher.ts): per class I-AUROC of the
 * map's max and of its top-1 % mean, P-AUROC, AU-PRO, mAD, and the image-level AUROC of each
 * scale's unblurred cosine map alone; then the class means.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadBatch, type DatasetIndex } from '@pmamba/data';
import { cosineDistance, imageScore, inferAnomalyMaps, type PyramidMamba } from '@pmamba/model';
import { auroc, computeAllMetrics, rankScores } from '@pmamba/metrics';

export interface EvaluationTableOptions {
  size: number;
  /** Blur σ of the anomaly map. */
  sigma: number;
  /** N×3×S×S CHW floats → NHWC tensor. */
  nhwc: (x: Float32Array, k: number) => tf.Tensor4D;
  /** Seconds since the experiment started, for the last line. */
  secs: () => string;
}

export async function printEvaluationTable(model: PyramidMamba, index: DatasetIndex, label: string, o: EvaluationTableOptions): Promise<void> {
  const { size } = o;
  const per = 3 * size * size;
  const rows: string[] = [];
  const means = [0, 0, 0, 0, 0];
  for (const cls of index.classes) {
    const test = await loadBatch(cls.test, { size });
    const n = test.samples.length;
    const out = inferAnomalyMaps(model, test.images, n, size, { sigma: o.sigma, batchSize: 8 });
    const m = computeAllMetrics({ scores: out.scores, labels: test.labels, maps: out.maps, masks: test.masks, shape: [n, size, size] }).metrics;
    // The other image score evaluation.imageScore offers: the mean of the map's top 1 %.
    const plane = size * size;
    const top = Float32Array.from({ length: n }, (_, i) => imageScore(out.maps.subarray(i * plane, (i + 1) * plane), 0.01));
    const vals = [m.i_auroc, auroc(rankScores(top, test.labels)), m.p_auroc, m.au_pro, m.mad];
    const maxes: number[][] = [[], [], []];
    for (let at = 0; at < n; at += 8) {
      const k = Math.min(8, n - at);
      const x = o.nhwc(test.images.slice(at * per, (at + k) * per), k);
      const { teacher, student } = model.forward(x);
      x.dispose();
      teacher.forEach((t, si) => {
        const d = cosineDistance(t, student[si]);
        const hw = t.shape[1] * t.shape[2];
        for (let i = 0; i < k; i++) maxes[si].push(Math.max(...d.subarray(i * hw, (i + 1) * hw)));
      });
      tf.dispose([teacher, student]);
    }
    const perScale = maxes.map((mx) => (100 * auroc(rankScores(Float32Array.from(mx), test.labels))).toFixed(1));
    vals.forEach((v, i) => (means[i] += v / index.classes.length));
    rows.push(`${cls.name.padEnd(14)} ${vals.map((v) => (100 * v).toFixed(1).padStart(6)).join(' ')}   scales ${perScale.join(' ')}`);
  }
  console.log(`\n[${label}] class          I-AUROC top1%  P-AUROC AU-PRO  mAD`);
  for (const r of rows) console.log(r);
  console.log(`${'mean'.padEnd(14)} ${means.map((v) => (100 * v).toFixed(1).padStart(6)).join(' ')}  (${o.secs()} s)`);
}
