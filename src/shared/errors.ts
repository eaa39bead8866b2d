// One error type for everything a user can get wrong. The message is written
// for the user; `details` names the file, JSON path or layer so the UI and the
// CLI can point at it.

export type ErrorCode = string;

export interface ErrorDetails {
  file?: string;
  path?: string;
  layer?: string;
  hint?: string;
}

export class QtuneError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'QtuneError';
  }
}

/** A plain, serialisable form of any error, for IPC, WebSocket and the CLI. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetails;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof QtuneError) return { code: err.code, message: err.message, details: err.details };
  if (err instanceof Error) return { code: 'internal', message: err.message };
  return { code: 'internal', message: String(err) };
}

export function isCancelled(err: unknown): boolean {
  return err instanceof QtuneError && err.code === 'cancelled';
}
