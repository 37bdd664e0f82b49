/**
 * Escaping for everything the HTML report and SVG curves show: text, attribute values and
 * image addresses (only relative paths and http, https, file and data:image addresses pass).
 *
 * @example
 * escapeHtml('<b>"x"</b>'); // '&lt;b&gt;&quot;x&quot;&lt;/b&gt;'
 */
import { MetricsError } from './errors.ts';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML/SVG element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/**
 * Checks an image address for use in `src`/`href` and returns it escaped (plain paths are also
 * percent-encoded segment by segment, `\` read as `/`). Throws E_ARGUMENT for
 * other schemes (javascript:, vbscript:, data: other than images, …); `field` names the input.
 */
export function safeImageUrl(url: string, field: string): string {
  // Browsers ignore control characters and whitespace inside a scheme: strip them before looking.
  const probe = url.replace(/[\u0000-\u0020\u007f]/g, '').toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(probe)?.[1];
  const ok =
    scheme === undefined ||
    scheme === 'http' ||
    scheme === 'https' ||
    scheme === 'file' ||
    (scheme === 'data' && /^data:image\/(png|jpeg|gif|webp);/.test(probe));
  if (!ok || url.trim() === '') {
    throw new MetricsError(
      'E_ARGUMENT',
      `${field}: '${url}' is not an image path or http(s)/file/data:image address`,
      field,
    );
  }
  // A plain path is a file path: encode each segment, so spaces, '#' and '?' stay part of the name.
  const href = scheme === undefined ? url.split(/[\\/]/).map(encodeURIComponent).join('/') : url;
  return escapeHtml(href);
}
