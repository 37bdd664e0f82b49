/**
 * The memory cross-scan tasks live in: one shared WebAssembly memory, so that the scan pool's
 * workers and the WebAssembly kernels all address the same bytes without copies. A bump
 * allocator hands out zeroed, 16-byte-aligned arrays with 16 bytes of slack after each (the
 * SIMD kernels read up to 3 floats past a channel range) and is reset when the next task is
 * built: a task's outputs must be copied out before then (the tfjs op does, synchronously).
 * The memory grows on demand and, like any WebAssembly memory, is never returned to the system:
 * it stays as large as the largest task so far.
 *
 * @example
 * const arena = scanArena();
 * arena.reset();
 * const y = arena.f32(1024);
 */
import type { Allocator } from './cross-selective-scan-kernels.ts';
import { sharedWasmMemory, type WasmMemory } from './cross-selective-scan-wasm.ts';
import { ScanMemoryError } from '../../errors.ts';

const PAGE = 65536;
const ALIGN = 16;

export class ScanArena implements Allocator {
  readonly memory: WasmMemory = sharedWasmMemory(1);
  // Address 0 is never handed out: the kernels read a zero pointer as "absent".
  private top = ALIGN;

  /** Forgets every array handed out so far. */
  reset(): void {
    this.top = ALIGN;
  }

  /** Reserves `bytes` (growing the memory if needed) and returns the memory's buffer and their address. */
  private take(bytes: number): [SharedArrayBuffer, number] {
    const at = this.top;
    const end = at + bytes + ALIGN;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch (err) {
        throw new ScanMemoryError(`scan task memory: cannot grow to ${(end / 2 ** 30).toFixed(2)} GiB (${(err as Error).message}); ` +
          'a WebAssembly memory stops at 4 GiB: scan fewer images per batch');
      }
    }
    this.top = Math.ceil(end / ALIGN) * ALIGN;
    return [this.memory.buffer, at];
  }

  f32(length: number): Float32Array {
    return new Float32Array(...this.take(4 * length), length).fill(0);
  }

  f64(length: number): Float64Array {
    return new Float64Array(...this.take(8 * length), length).fill(0);
  }

  i32(length: number): Int32Array {
    return new Int32Array(...this.take(4 * length), length).fill(0);
  }

  copy(a: Float32Array): Float32Array {
    const c = new Float32Array(...this.take(4 * a.length), a.length);
    c.set(a);
    return c;
  }
}

let arena: ScanArena | null = null;

/** The process's task memory (created on first use). */
export function scanArena(): ScanArena {
  arena ??= new ScanArena();
  return arena;
}
