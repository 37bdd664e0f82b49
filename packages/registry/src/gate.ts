/**
 * The promotion gate. A new version becomes champion iff there is no champion yet, or it was
 * evaluated on the same data as the champion (equal evaluation-data fingerprints) and its
 * metric (mean over classes, higher is better) beats the champion's: new > champion and
 * new − champion ≥ margin. An undefined (null) metric on either side never promotes. Otherwise
 * the version stays a challenger, and the reason says why and how to promote it by hand.
 */
import { METRIC_NAMES, type GateDecision, type MetricName, type ModelVersion } from '@pmamba/protocol';
import { RegistryError } from './errors.ts';

export interface GateOptions {
  /** The metric compared. Default: mad. */
  metric?: MetricName;
  /** How much the new value must beat the champion's by, as a fraction (0.01 = 1 point). Default: 0. */
  margin?: number;
}

export type GateSettings = Required<GateOptions>;

export function gateSettings(options: GateOptions = {}): GateSettings {
  const metric = options.metric ?? 'mad';
  const margin = options.margin ?? 0;
  if (!METRIC_NAMES.includes(metric)) {
    throw new RegistryError('E_BAD_ARGUMENT', `gate metric ${JSON.stringify(metric)}: expected one of ${METRIC_NAMES.join(', ')}`);
  }
  if (!Number.isFinite(margin) || margin < 0 || margin > 1) {
    throw new RegistryError('E_BAD_ARGUMENT', `gate margin ${margin}: expected a fraction in [0, 1] (0.01 = 1 point)`);
  }
  return { metric, margin };
}

const percent = (v: number): string => `${(v * 100).toFixed(2)}%`;
const points = (v: number): string => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)} points`;
const short = (fp: string): string => `${fp.slice(0, 12)}…`;

/** What the gate needs of the new version. */
export type Candidate = Pick<ModelVersion, 'name' | 'number' | 'evaluationData' | 'metrics'>;

/** The gate's decision for `candidate` against the current champion (undefined: none). */
export function decideGate(candidate: Candidate, champion: ModelVersion | undefined, gate: GateSettings): GateDecision {
  const { metric, margin } = gate;
  const { name, number: n } = candidate;
  const base = { metric, margin };
  const byHand = `promote it by hand with: pmamba models promote ${name}@${n} --reason "…"`;
  if (champion === undefined) {
    return { ...base, promoted: true, reason: `first champion: ${name} had none` };
  }
  const c = champion.number;
  const challenger = (reason: string): GateDecision => ({ ...base, championBefore: c, promoted: false, reason });
  const mine = candidate.evaluationData;
  const theirs = champion.evaluationData;
  if (mine.fingerprint !== theirs.fingerprint) {
    return challenger(
      `evaluated on other data than champion v${c} (fingerprint ${short(mine.fingerprint)}, ${mine.images} images vs ` +
        `${short(theirs.fingerprint)}, ${theirs.images} images), so the metrics do not compare; stays a challenger — ${byHand}`,
    );
  }
  const value = candidate.metrics.mean[metric];
  const best = champion.metrics.mean[metric];
  if (value === null || best === null) {
    const which = value === null ? `v${n}` : `champion v${c}`;
    return challenger(`${metric} of ${which} is undefined (n/a), so the gate cannot compare; stays a challenger — ${byHand}`);
  }
  const delta = value - best;
  if (value > best && delta >= margin) {
    return { ...base, championBefore: c, promoted: true, reason: `${metric} ${percent(value)} beats champion v${c}'s ${percent(best)} by ${points(delta)} (margin ${points(margin)})` };
  }
  return challenger(
    `${metric} ${percent(value)} vs champion v${c}'s ${percent(best)} (${points(delta)}) does not beat it by the margin ${points(margin)}; stays a challenger`,
  );
}
