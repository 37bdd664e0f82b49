import type { CommandModule } from 'yargs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { BACKENDS, type BackendChoice } from '@pmamba/model/spec';
import { loadImage, loadRgb, npyToFloat32, readNpy, writeHeatmapOverlay, writeNpy } from '@pmamba/data';
import { IMAGE_EXTENSIONS, isImageName } from '@pmamba/protocol';
import { CliError } from '../errors.ts';

interface PredictArgs {
  weights: string;
  input: string[];
  out: string;
  'image-size': number;
  'level3-threshold'?: number;
  backend: BackendChoice;
  'batch-size': number;
}

/** Lists the image files of a folder (sorted), or the path itself. */
async function expandInputs(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch(() => { throw new CliError(`input ${p}: no such file or folder`, 'E_INPUT_MISSING'); });
    if (s.isDirectory()) {
      const names = (await readdir(p)).filter(isImageName).sort();
      if (names.length === 0) throw new CliError(`input folder ${p} holds no images (${IMAGE_EXTENSIONS.join(' ')})`, 'E_INPUT_EMPTY');
      files.push(...names.map((n) => join(p, n)));
    } else files.push(p);
  }
  return files;
}

async function readWeights(path: string) {
  const bytes = await readFile(path).catch(() => { throw new CliError(`weights ${path}: cannot read the file`, 'E_WEIGHTS_MISSING'); });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict',
  describe: 'anomaly maps and image scores for a .npy batch (N×3×H×W, normalised), image files or a folder',
  builder: (y) => y
    .option('weights', { type: 'string', demandOption: true, describe: 'model weights (.safetensors; pmamba checkpoint or reference state dict)' })
    .option('input', { type: 'string', array: true, demandOption: true, describe: 'batch.npy, image files, or a folder of images' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder: maps.npy, scores.json, heatmaps/' })
    .option('image-size', { type: 'number', default: 256, describe: 'side images are resized and cropped to (images only)' })
    .option('level3-threshold', { type: 'number', describe: 'reference pyramid mode: level 3 runs in maps wider than this' })
    .option('backend', { choices: ['auto', ...BACKENDS] as BackendChoice[], default: 'auto' as BackendChoice })
    .option('batch-size', { type: 'number', default: 8 }) as never,
  handler: async (args) => {
    const inputs = await expandInputs(args.input);
    const npyInput = inputs.length === 1 && extname(inputs[0]).toLowerCase() === '.npy';
    const bytes = await readWeights(args.weights);
    // TensorFlow.js loads here, not when the CLI starts: the other verbs never need it.
    const { inferAnomalyMaps, isEncoderOnly, loadCheckpoint, readSafetensors, useBackend } = await import('@pmamba/model');
    await useBackend(args.backend);
    if (isEncoderOnly(readSafetensors(bytes, args.weights).tensors)) {
      throw new CliError(`weights ${args.weights} hold only an encoder (torchvision/timm names), not a trained model`, 'E_WEIGHTS_ENCODER_ONLY');
    }
    const threshold = args['level3-threshold'];
    const { model, configFromFile } = loadCheckpoint(bytes, {
      source: args.weights,
      override: threshold === undefined ? undefined : (c) => {
        if (c.pyramid.mode !== 'reference') throw new CliError(`--level3-threshold applies to the reference pyramid mode; ${args.weights} uses levels ${c.pyramid.levels.join(',')}`, 'E_BAD_OPTION');
        return { ...c, pyramid: { mode: 'reference', level3Threshold: threshold } };
      },
    });
    if (!configFromFile) console.error(`pmamba: ${args.weights} has no pmamba metadata; reading it as the reference preset`);

    let images: Float32Array;
    let n: number;
    let size: number;
    if (npyInput) {
      const a = readNpy(inputs[0]);
      const [bn, c, h, w] = a.shape;
      if (a.shape.length !== 4 || c !== 3 || h !== w) {
        throw new CliError(`input ${inputs[0]}: expected N×3×S×S float32 (normalised, NCHW), got shape ${a.shape.join('×')}`, 'E_INPUT_SHAPE');
      }
      images = npyToFloat32(a.data);
      n = bn;
      size = h;
    } else {
      for (const f of inputs) {
        if (!isImageName(f)) throw new CliError(`input ${f}: not an image (${IMAGE_EXTENSIONS.join(' ')}) or a single .npy`, 'E_INPUT_TYPE');
      }
      size = args['image-size'];
      n = inputs.length;
      images = new Float32Array(n * 3 * size * size);
      for (let i = 0; i < n; i++) await loadImage(inputs[i], { size }, images, i * 3 * size * size);
    }
    const result = inferAnomalyMaps(model, images, n, size, { batchSize: args['batch-size'] });
    await mkdir(args.out, { recursive: true });
    writeNpy(join(args.out, 'maps.npy'), result.maps, [n, size, size]);
    await writeFile(join(args.out, 'scores.json'), JSON.stringify(Array.from(result.scores)) + '\n');
    if (!npyInput) {
      await mkdir(join(args.out, 'heatmaps'), { recursive: true });
      for (let i = 0; i < n; i++) {
        const rgb = await loadRgb(inputs[i], { size });
        const map = result.maps.subarray(i * size * size, (i + 1) * size * size);
        await writeHeatmapOverlay(join(args.out, 'heatmaps', `${basename(inputs[i], extname(inputs[i]))}.png`), rgb, map);
      }
    }
    model.dispose();
    console.log(`pmamba predict: ${n} image(s) → ${join(args.out, 'maps.npy')}, scores.json${npyInput ? '' : ', heatmaps/'}`);
  },
};
