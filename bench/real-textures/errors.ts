/** Errors of the real-texture data set builder; `code` is stable, the message says what to do. */

export type RealTexturesErrorCode =
  | 'E_SOURCE_MISSING' // a source photo's Debian package is not installed
  | 'E_SOURCE_FORMAT' // the installed file is not what this builder expects
  | 'E_ARGUMENT'; // a command-line option has an invalid value

export class RealTexturesError extends Error {
  readonly code: RealTexturesErrorCode;

  constructor(code: RealTexturesErrorCode, message: string) {
    super(message);
    this.name = 'RealTexturesError';
    this.code = code;
  }
}
