/**
 * Which files count as images, for every package: @pmamba/data's dataset readers and the CLI's
 * `predict` inputs alike. Each extension is one sharp (or data's own BMP decoder) can read.
 */
import { extname } from 'node:path';

/** File extensions treated as images (compared lower-case). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp'];

/** True for a file name with an image extension (case-insensitive). */
export function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}
