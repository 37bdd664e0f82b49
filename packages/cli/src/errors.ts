/** A user-facing CLI error: the message names the file or option and what to do. */
export class CliError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}
