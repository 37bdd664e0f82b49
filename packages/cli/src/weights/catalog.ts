/**
 * ImageNet-pretrained teacher weights that `pmamba weights fetch` downloads, each pinned by
 * the sha256 (and size) of the public file. The torchvision files are the `IMAGENET1K_V1`
 * weights; torch hub names them `<arch>-<first 8 hex digits of the sha256>.pth`, and every
 * full hash below starts with its file's prefix. The full hashes and sizes were taken from
 * public checksum lists that recorded them (several independent ones agree for each
 * torchvision file); an entry for which none is published carries only `sha256Prefix`
 * and is reported as prefix-pinned.
 */
import type { EncoderArch } from '@pmamba/model/spec';

/** How a file is pinned: its full sha256, or (when no full hash is published) a prefix of it. */
export type WeightsPin = { sha256: string; sha256Prefix?: never } | { sha256Prefix: string; sha256?: never };

export type WeightsEntry = WeightsPin & {
  /** Catalog name (`pmamba weights fetch <name>`). */
  name: string;
  /** Public download location (the host may redirect). */
  url: string;
  /** File name under ./weights/ when --out is not given. */
  fileName: string;
  /** Exact size in bytes, when published. */
  bytes?: number;
  /** Serialization: a torch pickle archive or safetensors. */
  format: 'pth' | 'safetensors';
  /** The teacher architecture these weights fit (`model.encoder`). */
  arch: EncoderArch;
  description: string;
};

export const WEIGHTS_CATALOG: readonly WeightsEntry[] = [
  {
    name: 'resnet18',
    url: 'https://download.pytorch.org/models/resnet18-f37072fd.pth',
    fileName: 'resnet18-f37072fd.pth',
    sha256: 'f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec',
    bytes: 46_830_571,
    format: 'pth',
    arch: 'resnet18',
    description: 'torchvision ResNet18_Weights.IMAGENET1K_V1 (the small preset)',
  },
  {
    name: 'resnet34',
    url: 'https://download.pytorch.org/models/resnet34-b627a593.pth',
    fileName: 'resnet34-b627a593.pth',
    sha256: 'b627a593bcbe140c234610266fe4f8ae95ea42fc881d091c9b6052e6b1d0590f',
    bytes: 87_319_819,
    format: 'pth',
    arch: 'resnet34',
    description: 'torchvision ResNet34_Weights.IMAGENET1K_V1 (the reference preset)',
  },
  {
    name: 'resnet50',
    url: 'https://download.pytorch.org/models/resnet50-0676ba61.pth',
    fileName: 'resnet50-0676ba61.pth',
    sha256: '0676ba61b6795bbe1773cffd859882e5e297624d384b6993f7c9e683e722fb8a',
    bytes: 102_530_333,
    format: 'pth',
    arch: 'resnet50',
    description: 'torchvision ResNet50_Weights.IMAGENET1K_V1',
  },
  {
    name: 'wide_resnet50_2',
    url: 'https://download.pytorch.org/models/wide_resnet50_2-95faca4d.pth',
    fileName: 'wide_resnet50_2-95faca4d.pth',
    sha256: '95faca4d11227dddf8633dbb5ff6c8a9003c1aa5b8945c73834b8007b10950b8',
    bytes: 138_223_492,
    format: 'pth',
    arch: 'wide_resnet50_2',
    description: 'torchvision Wide_ResNet50_2_Weights.IMAGENET1K_V1',
  },
  {
    // The paper's teacher tag. Hugging Face redirects to its CDN. One public registry records
    // this hash (its other timm hashes match independent lists); no size was published.
    name: 'resnet34.a1_in1k',
    url: 'https://huggingface.co/timm/resnet34.a1_in1k/resolve/main/model.safetensors',
    fileName: 'resnet34.a1_in1k.safetensors',
    sha256: '829a220f9529d2b1ffdc8719d3273463001e0daf411eaf1916865d9db62c0ed2',
    format: 'safetensors',
    arch: 'resnet34',
    description: "timm resnet34.a1_in1k (ResNet Strikes Back A1 recipe), the paper's teacher tag",
  },
];

export const WEIGHTS_NAMES = WEIGHTS_CATALOG.map((e) => e.name);

export function findWeights(name: string): WeightsEntry | undefined {
  return WEIGHTS_CATALOG.find((e) => e.name === name);
}

/** `sha256 <hex>` or `sha256 prefix <hex> (prefix-pinned)`, for messages. */
export function describePin(pin: WeightsPin): string {
  return pin.sha256 !== undefined ? `sha256 ${pin.sha256}` : `sha256 starting with ${pin.sha256Prefix} (prefix-pinned)`;
}
