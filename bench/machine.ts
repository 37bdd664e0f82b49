import { availableParallelism, cpus, totalmem } from 'node:os';

/** One line naming the machine the numbers were measured on. */
export function machineLine(extra = ''): string {
  const cpu = cpus();
  return `machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} logical cores (availableParallelism ${availableParallelism()}), ` +
    `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}${extra ? `, ${extra}` : ''}`;
}
