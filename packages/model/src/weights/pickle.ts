/**
 * A restricted unpickler for the opcodes (protocols 2–5) torch.save emits. It imports nothing:
 * GLOBAL asks the caller for a stand-in (a function if it may be called) or lets the caller
 * throw, and REDUCE / NEWOBJ only ever call such stand-ins — a file cannot run code.
 * Python values become: str → string, int → number (bigint beyond 2^53), float → number,
 * bool / None → boolean / null, tuple and list → array, dict → Map, bytes → Uint8Array.
 */
import { PickleError } from '../errors.ts';

/** A callable stand-in receives the argument tuple. */
export type PickleCallable = (args: unknown[]) => unknown;

export interface PickleHooks {
  /** The stand-in for `module.name`; throws to refuse the global. */
  global(module: string, name: string): unknown;
  /** The object a persistent id (BINPERSID) refers to. */
  persistentLoad(pid: unknown): unknown;
}

const utf8 = new TextDecoder();
const latin1 = new TextDecoder('latin1');
const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** Two's-complement little-endian integer (LONG1 / LONG4). */
function long(b: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= -MAX && v <= MAX ? Number(v) : v;
}

/** Runs the pickle starting at `start`; `end` is the offset after its STOP. */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks, source: string, start = 0): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  const fail = (what: string) => new PickleError(`${source}: pickle ${what} (byte ${pos}); the file is corrupt or not a PyTorch checkpoint`);
  /** Advances over n bytes, returning where they start. */
  const take = (n: number) => {
    if (pos + n > bytes.length) throw fail('is truncated');
    pos += n;
    return pos - n;
  };
  const u32 = () => view.getUint32(take(4), true);
  const u64 = () => Number(view.getBigUint64(take(8), true));
  const chunk = (n: number) => bytes.subarray(take(n), pos);
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw fail('has an unterminated GLOBAL');
    return latin1.decode(chunk(end + 1 - pos)).slice(0, -1);
  };

  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const push = (v: unknown) => stack.push(v);
  const pop = () => {
    if (!stack.length) throw fail('pops an empty stack');
    return stack.pop();
  };
  const top = () => {
    if (!stack.length) throw fail('reads an empty stack');
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const items = stack;
    const below = marks.pop();
    if (!below) throw fail('has no MARK to pop to');
    stack = below;
    return items;
  };
  const get = (i: number) => {
    if (!memo.has(i)) throw fail(`reads memo entry ${i}, never stored`);
    return memo.get(i);
  };
  const dict = (): Map<unknown, unknown> => {
    const d = top();
    if (!(d instanceof Map)) throw fail('sets an item on a non-dict');
    return d;
  };
  const list = (): unknown[] => {
    const l = top();
    if (!Array.isArray(l)) throw fail('appends to a non-list');
    return l;
  };
  const call = (args: unknown, f: unknown) => {
    if (typeof f !== 'function') throw fail('calls an object that is not callable');
    if (!Array.isArray(args)) throw fail('calls with arguments that are not a tuple');
    push((f as PickleCallable)(args));
  };

  for (;;) {
    const op = bytes[take(1)];
    switch (op) {
      case 0x80: take(1); break; // PROTO
      case 0x95: take(8); break; // FRAME: only a read-ahead hint
      case 0x2e: return { value: pop(), end: pos }; // STOP
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4b: push(bytes[take(1)]); break; // BININT1
      case 0x4d: push(view.getUint16(take(2), true)); break; // BININT2
      case 0x4a: push(view.getInt32(take(4), true)); break; // BININT
      case 0x8a: push(long(chunk(bytes[take(1)]))); break; // LONG1
      case 0x8b: push(long(chunk(u32()))); break; // LONG4
      case 0x47: push(view.getFloat64(take(8), false)); break; // BINFLOAT (big-endian)
      case 0x8c: push(utf8.decode(chunk(bytes[take(1)]))); break; // SHORT_BINUNICODE
      case 0x58: push(utf8.decode(chunk(u32()))); break; // BINUNICODE
      case 0x8d: push(utf8.decode(chunk(u64()))); break; // BINUNICODE8
      case 0x43: push(chunk(bytes[take(1)]).slice()); break; // SHORT_BINBYTES
      case 0x42: push(chunk(u32()).slice()); break; // BINBYTES
      case 0x29: push([]); break; // EMPTY_TUPLE
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x85: push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); push([pop(), b, c]); break; } // TUPLE3
      case 0x74: push(popMark()); break; // TUPLE
      case 0x6c: push(popMark()); break; // LIST
      case 0x61: { const v = pop(); list().push(v); break; } // APPEND
      case 0x65: { const items = popMark(); const l = list(); for (const v of items) l.push(v); break; } // APPENDS
      case 0x64: { const items = popMark(); const d = new Map(); for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]); push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); dict().set(k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); const d = dict(); for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]); break; } // SETITEMS
      case 0x71: memo.set(bytes[take(1)], top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: push(get(bytes[take(1)])); break; // BINGET
      case 0x6a: push(get(u32())); break; // LONG_BINGET
      case 0x63: { const module = line(); push(hooks.global(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('has a STACK_GLOBAL whose names are not strings');
        push(hooks.global(module, name));
        break;
      }
      case 0x52: case 0x81: { const args = pop(); call(args, pop()); break; } // REDUCE, NEWOBJ
      case 0x62: // BUILD: sets instance attributes (an OrderedDict's `_metadata`), never dict items
        pop();
        if (!(top() instanceof Map)) throw fail('BUILDs an object other than a dict');
        break;
      case 0x51: push(hooks.persistentLoad(pop())); break; // BINPERSID
      default: throw fail(`uses opcode 0x${op.toString(16)}, which this reader does not support`);
    }
  }
}
