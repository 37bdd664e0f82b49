import type { CommandModule } from 'yargs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import {
  BACKENDS, IMAGE_SIZE_KEY, checkImageSize, parseModelConfig, readSafetensors, type BackendChoice, type ModelConfig,
} from '@pmamba/model/spec';
import { loadImage, loadRgb, npyToFloat32, readNpy, writeHeatmapOverlay, writeNpy, type NpyArray } from '@pmamba/data';
import { DEFAULT_STORE_URL, IMAGE_EXTENSIONS, isImageName } from '@pmamba/protocol';
import { readVersionWeights, resolveModel } from '@pmamba/registry';
import { openStore } from '@pmamba/store';
import { CliError, type CliErrorCode } from '../errors.ts';
import { outputStems, scoresCsv } from '../predict-outputs.ts';

interface PredictArgs {
  weights?: string;
  model?: string;
  store?: string;
  class?: string;
  input: string[];
  out: string;
  'image-size'?: number;
  'level3-threshold'?: number;
  backend: BackendChoice;
  'batch-size': number;
}

/** Today's side for weights that do not record theirs. */
const DEFAULT_IMAGE_SIZE = 256;
/** Beyond this one image's 3·S² floats (and the maps) outgrow memory long before the model runs. */
const MAX_IMAGE_SIZE = 4096;

/** Option values that are wrong whatever the weights: checked before anything is read. */
function checkOptions(args: PredictArgs): void {
  if ((args.weights === undefined) === (args.model === undefined)) {
    throw new CliError('give either --weights FILE or --model NAME[@N] (a registered model)', 'E_BAD_OPTION');
  }
  if (args.model === undefined && (args.store !== undefined || args.class !== undefined)) {
    throw new CliError('--store and --class apply to --model (a registered model), not to --weights', 'E_BAD_OPTION');
  }
  const bs = args['batch-size'];
  if (!Number.isInteger(bs) || bs < 1) throw new CliError(`--batch-size ${bs}: must be a positive integer`, 'E_BAD_OPTION');
  const size = args['image-size'];
  if (size !== undefined && !(Number.isInteger(size) && size > 0 && size % 32 === 0 && size <= MAX_IMAGE_SIZE)) {
    throw new CliError(`--image-size ${size}: must be a positive multiple of 32, at most ${MAX_IMAGE_SIZE}`, 'E_BAD_OPTION');
  }
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

/** The weights to run, what to call them in messages, and the side they were trained at if known. */
interface Weights { bytes: Uint8Array; source: string; trained?: { size: number; origin: string } }

/**
 * A registered version's weights (`--model NAME[@N]`) with its run's image size. A unified
 * version serves every class; a per-class version holds one model per class, picked by --class.
 */
async function registeredWeights(ref: string, storeUrl: string, className: string | undefined): Promise<Weights> {
  const store = await openStore(storeUrl);
  try {
    const version = await resolveModel(store, ref);
    const label = `${version.name}@${version.number}`;
    const models = Object.keys(version.weights);
    let model: string;
    if (version.config.training.mode === 'unified') {
      if (className !== undefined) throw new CliError(`--class ${className}: ${label} is a unified model, which serves every class; drop --class`, 'E_BAD_OPTION');
      model = models[0];
    } else {
      if (className === undefined || !models.includes(className)) {
        const given = className === undefined ? `${label} is a per-class model` : `--class ${className}: ${label} has no model of that class`;
        throw new CliError(`${given}; pick its class with --class (one of ${models.join(', ')})`, 'E_BAD_OPTION');
      }
      model = className;
    }
    const bytes = await readVersionWeights(store, version, model);
    const source = model === className ? `${label} (class ${model})` : label;
    console.error(`pmamba: running ${source}${ref.includes('@') ? '' : ', the champion,'} from ${storeUrl}`);
    return { bytes, source, trained: { size: version.config.dataset.imageSize, origin: `the run config of ${label}` } };
  } finally {
    await store.close();
  }
}

/** The side the weights were trained at, when training recorded it (older files do not). */
function trainedImageSize(metadata: Record<string, string>, weights: string): number | undefined {
  const raw = metadata[IMAGE_SIZE_KEY];
  if (raw === undefined) return undefined;
  const size = Number(raw);
  if (Number.isInteger(size) && size > 0) return size;
  console.error(`pmamba: warning: ${weights}: ${IMAGE_SIZE_KEY} is ${JSON.stringify(raw)}, not an image size; ignoring it`);
  return undefined;
}

/** Running at another side than training's works but shifts the maps and scores: say so once. */
function warnIfNotTrainedSize(weights: string, trained: number | undefined, size: number, why: string): void {
  if (trained !== undefined && size !== trained) {
    console.error(`pmamba: warning: ${weights}: model trained at ${trained}² is run at ${size}² (${why}); maps and scores may differ from training's`);
  }
}

/** [i, c, y, x] of the first NaN or ±Inf of an NCHW batch, with the value as the file holds it. */
function firstNonFinite(a: NpyArray, values: Float32Array): { at: number[]; value: string } | undefined {
  const [, c, h, w] = a.shape;
  for (let k = 0; k < values.length; k++) {
    if (Number.isFinite(values[k])) continue;
    const x = k % w;
    const y = Math.floor(k / w) % h;
    const ch = Math.floor(k / (w * h)) % c;
    const raw = String(a.data[k]);
    // A finite float64 beyond float32's range turns into ±Inf on the way in.
    return { at: [Math.floor(k / (w * h * c)), ch, y, x], value: Number.isFinite(Number(raw)) ? `${raw} (beyond float32)` : raw };
  }
  return undefined;
}

/** A .npy batch: N×3×S×S, every value finite (NaN would flow silently into every map). */
function readNpyBatch(path: string): { images: Float32Array; n: number; size: number } {
  const a = readNpy(path);
  const [n, c, h, w] = a.shape;
  if (a.shape.length !== 4 || c !== 3 || h !== w) {
    throw new CliError(`input ${path}: expected N×3×S×S float32 (normalised, NCHW), got shape ${a.shape.join('×')}`, 'E_INPUT_SHAPE');
  }
  const images = npyToFloat32(a.data);
  const bad = firstNonFinite(a, images);
  if (bad) {
    const [i, ch, y, x] = bad.at;
    throw new CliError(
      `input ${path}[${bad.at.join(', ')}] (image ${i}, channel ${ch}, y ${y}, x ${x}) is ${bad.value}; input values must be finite`,
      'E_NOT_FINITE',
    );
  }
  return { images, n, size: h };
}

/** The side images run at, where it came from (for messages) and the code a misfit gets. */
interface SizeChoice { size: number; origin: string; code: CliErrorCode }

/** --image-size, else the side the weights were trained at, else 256. */
function imageSizeFor(given: number | undefined, trained: { size: number; origin: string } | undefined): SizeChoice {
  const code = 'E_BAD_OPTION';
  if (given !== undefined) return { size: given, origin: `--image-size ${given}`, code };
  if (trained !== undefined) return { size: trained.size, origin: `image size ${trained.size} (recorded in ${trained.origin})`, code };
  return { size: DEFAULT_IMAGE_SIZE, origin: `image size ${DEFAULT_IMAGE_SIZE} (the default; pass --image-size)`, code };
}

/** The model's config can refuse the side (pyramid windows): refuse it before the model is built. */
function fitImageSize(config: ModelConfig, choice: SizeChoice, weights: string): ModelConfig {
  try {
    checkImageSize(config, choice.size);
  } catch (e) {
    throw new CliError(`${choice.origin} does not fit the model in ${weights}: ${(e as Error).message}`, choice.code);
  }
  return config;
}

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict',
  describe: 'anomaly maps and image scores for a .npy batch (N×3×H×W, normalised), image files or a folder',
  builder: (y) => y
    .option('weights', { type: 'string', describe: 'model weights (.safetensors; pmamba checkpoint or reference state dict)' })
    .option('model', { type: 'string', describe: 'a registered model instead of --weights: NAME (its champion) or NAME@N (pmamba models list)' })
    .option('store', { type: 'string', describe: `with --model: the artifact store that holds it [default: ${DEFAULT_STORE_URL}]` })
    .option('class', { type: 'string', describe: 'with --model of a per-class version: the class whose model runs' })
    .option('input', { type: 'string', array: true, demandOption: true, describe: 'batch.npy, image files, or a folder of images' })
    .option('out', { type: 'string', demandOption: true, describe: 'output folder: maps.npy, scores.json, scores.csv, heatmaps/' })
    // No yargs default: the weights' recorded training size is the default, known only once they are read.
    .option('image-size', { type: 'number', describe: `side images are resized and cropped to (images only) [default: the size the weights were trained at, else ${DEFAULT_IMAGE_SIZE}]` })
    .option('level3-threshold', { type: 'number', describe: 'reference pyramid mode: level 3 runs in maps wider than this' })
    .option('backend', { choices: ['auto', ...BACKENDS] as BackendChoice[], default: 'auto' as BackendChoice })
    .option('batch-size', { type: 'number', default: 8 }) as never,
  handler: async (args) => {
    checkOptions(args);
    const inputs = await expandInputs(args.input);
    const npyInput = inputs.length === 1 && extname(inputs[0]).toLowerCase() === '.npy';
    if (!npyInput) {
      for (const f of inputs) {
        if (!isImageName(f)) throw new CliError(`input ${f}: not an image (${IMAGE_EXTENSIONS.join(' ')}) or a single .npy`, 'E_INPUT_TYPE');
      }
    }
    const { bytes, source, trained: recorded }: Weights = args.model !== undefined
      ? await registeredWeights(args.model, args.store ?? DEFAULT_STORE_URL, args.class)
      : { bytes: await readWeights(args.weights!), source: args.weights! };
    const file = readSafetensors(bytes, source);
    const fromFile = trainedImageSize(file.metadata, source);
    // A registered version's run config states its side; a file's metadata may.
    const trained = recorded ?? (fromFile === undefined ? undefined : { size: fromFile, origin: 'the weights' });
    const batch = npyInput ? readNpyBatch(inputs[0]) : undefined;
    const choice: SizeChoice = batch
      ? { size: batch.size, origin: `input ${inputs[0]} (side ${batch.size})`, code: 'E_INPUT_SHAPE' }
      : imageSizeFor(args['image-size'], trained);
    warnIfNotTrainedSize(source, trained?.size, choice.size, batch ? `the side of ${inputs[0]}` : choice.origin);
    const size = choice.size;

    // TensorFlow.js loads here, not when the CLI starts: the other verbs never need it.
    const { describeFittedMap, inferAnomalyMaps, isEncoderOnly, loadCheckpoint, useBackend } = await import('@pmamba/model');
    await useBackend(args.backend);
    if (isEncoderOnly(file.tensors)) {
      throw new CliError(`weights ${source} hold only an encoder (torchvision/timm names), not a trained model`, 'E_WEIGHTS_ENCODER_ONLY');
    }
    const threshold = args['level3-threshold'];
    const { model, configFromFile, fittedMap } = loadCheckpoint(bytes, {
      source,
      // Runs before the model is built, so a side it cannot take fails fast.
      override: (c) => {
        if (threshold === undefined) return fitImageSize(c, choice, source);
        if (c.pyramid.mode !== 'reference') throw new CliError(`--level3-threshold applies to the reference pyramid mode; ${source} uses levels ${c.pyramid.levels.join(',')}`, 'E_BAD_OPTION');
        return fitImageSize(parseModelConfig({ ...c, pyramid: { mode: 'reference', level3Threshold: threshold } }), choice, source);
      },
    });
    if (!configFromFile) console.error(`pmamba: ${source} has no pmamba metadata; reading it as the reference preset`);

    const n = batch ? batch.n : inputs.length;
    let images = batch?.images;
    if (!images) {
      images = new Float32Array(n * 3 * size * size);
      for (let i = 0; i < n; i++) await loadImage(inputs[i], { size }, images, i * 3 * size * size);
    }
    // Weights a run fitted its anomaly map for (evaluation.anomalyMap: residual-gaussian or memory) carry the map.
    if (fittedMap) console.error(`pmamba: scoring with the anomaly map stored in ${source}: ${describeFittedMap(fittedMap)}`);
    const result = inferAnomalyMaps(model, images, n, size, { batchSize: args['batch-size'], ...fittedMap });
    model.dispose();
    await mkdir(args.out, { recursive: true });
    writeNpy(join(args.out, 'maps.npy'), result.maps, [n, size, size]);
    await writeFile(join(args.out, 'scores.json'), JSON.stringify(Array.from(result.scores)) + '\n');
    if (!npyInput) await writeHeatmaps(args.out, inputs, size, result.maps, result.scores);
    console.log(`pmamba predict: ${n} image(s) → ${join(args.out, 'maps.npy')}, scores.json${npyInput ? '' : ', scores.csv, heatmaps/'}`);
  },
};

/** One heatmap per input, named after its path (never overwriting another's), and scores.csv naming both. */
async function writeHeatmaps(out: string, inputs: string[], size: number, maps: Float32Array, scores: Float32Array): Promise<void> {
  await mkdir(join(out, 'heatmaps'), { recursive: true });
  const names = outputStems(inputs).map((s) => `${s}.png`);
  for (let i = 0; i < inputs.length; i++) {
    const rgb = await loadRgb(inputs[i], { size });
    await writeHeatmapOverlay(join(out, 'heatmaps', names[i]), rgb, maps.subarray(i * size * size, (i + 1) * size * size));
  }
  const rows = inputs.map((input, i) => ({ input, heatmap: `heatmaps/${names[i]}`, score: scores[i] }));
  await writeFile(join(out, 'scores.csv'), scoresCsv(rows));
}
