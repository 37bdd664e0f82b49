import * as tf from '@tensorflow/tfjs-core';
import type { FeatureMaps } from '../model.ts';

/** The reference's L2 loss: λ · Σ over scales of mean squared error (λ = 5). */
export function reconstructionLoss(teacher: FeatureMaps, student: FeatureMaps, lambda = 5): tf.Scalar {
  return tf.tidy(() => tf.mul(lambda, tf.addN(teacher.map((t, i) => tf.mean(tf.squaredDifference(student[i], t))))) as tf.Scalar);
}
