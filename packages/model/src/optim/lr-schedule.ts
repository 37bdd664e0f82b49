/**
 * Step decay as torch's MultiStepLR: at counter t the rate is baseLr · gamma^(number of
 * milestones ≤ t). The counter is whatever the milestones are counted in, epochs or optimizer
 * steps (`perStep` converts epoch milestones for a step counter). The reference trains 1000
 * epochs with one milestone at 800 (lr × 0.1).
 *
 * ```ts
 * const schedule = new StepLr(0.005, [800]);
 * schedule.at(799); // 0.005
 * schedule.at(800); // 0.0005
 * ```
 */
export class StepLr {
  private readonly milestones: number[];

  /**
   * @param baseLr rate before the first milestone
   * @param milestones counter values (0-based) at which the rate is multiplied by gamma
   * @param gamma factor per milestone, default 0.1
   */
  constructor(readonly baseLr: number, milestones: readonly number[] = [], readonly gamma = 0.1) {
    if (!(baseLr > 0)) throw new RangeError(`StepLr: baseLr must be positive; got ${baseLr}`);
    if (milestones.some((m) => !Number.isFinite(m) || m < 0)) throw new RangeError(`StepLr: milestones must be non-negative counts; got [${milestones}]`);
    this.milestones = [...milestones].sort((a, b) => a - b);
  }

  /** Learning rate at counter t. */
  at(t: number): number {
    let k = 0;
    while (k < this.milestones.length && this.milestones[k] <= t) k++;
    return this.baseLr * this.gamma ** k;
  }

  /** The same schedule with milestones in epochs, driven by a step counter (epoch = ⌊step / stepsPerEpoch⌋). */
  perStep(stepsPerEpoch: number): StepLr {
    if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1) throw new RangeError(`StepLr.perStep: stepsPerEpoch must be a positive integer; got ${stepsPerEpoch}`);
    return new StepLr(this.baseLr, this.milestones.map((m) => m * stepsPerEpoch), this.gamma);
  }
}
