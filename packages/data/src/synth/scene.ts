/**
 * What a synthetic class renderer produces, before defects, lighting and sensor noise.
 */
import type { Rng } from '../rng.ts';
import type { Canvas } from './canvas.ts';

/** A clean rendering of one normal image. */
export interface Scene {
  canvas: Canvas;
  /** What shows where part of the object is missing (objects), or the backing behind a texture. */
  background: Canvas;
  /** 1 where defects may be placed: the object's body, or the whole texture. */
  foreground: Uint8Array;
  /** Objects: centre and outer radius in pixels (a missing piece is bitten from the rim). */
  object?: { cx: number; cy: number; radius: number };
}

/** A class of the synthetic data set. */
export interface ClassSpec {
  name: string;
  kind: 'texture' | 'object';
  /** Written as single-channel PNG, like MVTec's grid, screw and zipper. */
  grey: boolean;
  render(rng: Rng, size: number): Scene;
}
