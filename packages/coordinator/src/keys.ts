/**
 * Store keys the coordinator adds to @pmamba/store's `keys`: the initial weights every model
 * starts from, and where evaluations other than the final one go.
 *
 *   runs/<run>/init.safetensors                         round 0's starting weights (from the seed)
 *   runs/<run>/eval/<class>/metrics.json                evaluation after the last round
 *   runs/<run>/report/report.<fmt>                      its benchmark table
 *   runs/<run>/eval-at/<r>/<class>/metrics.json         evaluation after r rounds (0: untrained)
 *   runs/<run>/eval-at/<r>/report/report.<fmt>          its benchmark table
 */
import { keys } from '@pmamba/store';

export const initWeightsKey = (runId: string): string => `${keys.runPrefix(runId)}init.safetensors`;

export interface EvaluationKeys {
  metricsKey(className: string): string;
  /** Key prefix of the report files, without the trailing '/'. */
  reportPrefix: string;
}

/** Where the evaluation of the weights after `atRound` rounds goes; the last round uses the store's standard keys. */
export function evaluationKeys(runId: string, atRound: number, lastRound: number): EvaluationKeys {
  const run = keys.runPrefix(runId);
  if (atRound === lastRound) return { metricsKey: (c) => keys.evalMetricsKey(runId, c), reportPrefix: `${run}report` };
  if (!Number.isSafeInteger(atRound) || atRound < 0) throw new RangeError(`evaluation round ${atRound} is not a round number`);
  const at = `${run}eval-at/${atRound}/`;
  // evalMetricsKey validates the class as one key segment; only the folder differs.
  return { metricsKey: (c) => at + keys.evalMetricsKey(runId, c).slice(`${run}eval/`.length), reportPrefix: `${at}report` };
}
