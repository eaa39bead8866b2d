// One error type for everything a user can get wrong. The message is written
// for the user; `details` names the file, JSON path or layer so the UI and the
// CLI can point at it; `code` is one of ERROR_CODES, which callers may test
// (the type refuses a code that is not in the table).

/** Every error code qtune raises, snake_case, by area. */
export const ERROR_CODES = [
  // anything
  'internal', 'cancelled',
  // files and folders
  'file_not_found', 'file_not_readable', 'not_a_file', 'not_a_directory', 'dir_unreadable', 'outside_root', 'output_unwritable',
  'file_missing', 'file_too_large', 'not_json', 'json_invalid',
  // projects, runs, configs and tunings kept in a project
  'project_not_found', 'project_damaged', 'project_too_new', 'project_exists', 'project_in_use', 'project_link', 'path_outside_project', 'export_exists',
  'sample_missing', 'run_unknown', 'run_unfinished', 'run_damaged', 'config_unknown', 'config_unreadable', 'config_syntax', 'config_invalid',
  'tune_running', 'tune_exists', 'tune_resume', 'tune_nothing_to_resume', 'tune_damaged',
  // the RPC surface, jobs and workers, hosts
  'rpc_invalid', 'rpc_unknown', 'ipc_refused', 'job_unknown', 'job_unsupported', 'worker_start', 'worker_crashed', 'disconnected',
  'host_not_loopback', 'token_weak', 'token_on_command_line', 'cli_invalid',
  // ONNX models and the runtime
  'model_invalid', 'onnx_load', 'onnx_ir_version', 'onnx_domain', 'onnx_external_data', 'onnx_save', 'onnx_graph', 'onnx_tensor', 'onnx_shape', 'onnx_expose', 'onnx_upgrade', 'opset_too_old',
  'graph_invalid', 'inference_failed', 'input_type_unsupported', 'runtime_threads_invalid', 'execution_provider_unavailable', 'profile_missing',
  'benchmark_invalid',
  // data
  'data_invalid', 'data_empty', 'dataset_invalid', 'npy_invalid', 'array_invalid', 'image_invalid', 'preprocess_invalid', 'shape_mismatch',
  'inputs_mismatch', 'count_mismatch', 'batch_size_invalid', 'labels_invalid', 'labels_missing', 'labels_count_mismatch', 'calibration_data_too_small',
  // quantization
  'layer_not_found', 'layer_not_quantizable', 'fusion_unknown_layer', 'activation_not_float', 'empty_activation', 'nonfinite_activation',
  'nonfinite_weight', 'weight_not_float32', 'bias_not_float32', 'bias_overflow', 'bad_activation_quant', 'bad_bias_shape', 'bad_name', 'bad_record',
  'bad_target', 'bad_weight_axis', 'bad_weight_group', 'bad_weight_shape', 'provenance_invalid',
  // evaluation
  'eval_invalid', 'eval_no_predictions', 'custom_metric_invalid', 'custom_metric_untrusted', 'unknown_metric',
  // analysis
  'analyze_inference', 'analyze_inputs', 'analyze_no_common_tensors', 'analyze_qdq', 'analyze_shape', 'analyze_stats', 'analyze_variant',
  'analyze_weights', 'analyze_write', 'analyze_wrong_float', 'analyze_wrong_fused', 'analysis_invalid',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Codes as earlier versions spelt them (kebab-case), for errors that still arrive in the old spelling; no file
 * qtune writes holds an error code (a failed run keeps only its message), so nothing on disk needs migrating.
 */
export const RENAMED_ERROR_CODES = {
  'onnx-load': 'onnx_load', 'onnx-ir-version': 'onnx_ir_version', 'onnx-domain': 'onnx_domain', 'onnx-external-data': 'onnx_external_data', 'onnx-save': 'onnx_save', 'onnx-graph': 'onnx_graph', 'onnx-tensor': 'onnx_tensor', 'onnx-shape': 'onnx_shape',
  'onnx-expose': 'onnx_expose', 'onnx-upgrade': 'onnx_upgrade', 'ort-session': 'model_invalid', 'graph-invalid': 'graph_invalid',
  'unknown-metric': 'unknown_metric', 'analyze-inference': 'analyze_inference', 'analyze-inputs': 'analyze_inputs',
  'analyze-no-common-tensors': 'analyze_no_common_tensors', 'analyze-qdq': 'analyze_qdq', 'analyze-shape': 'analyze_shape',
  'analyze-stats': 'analyze_stats', 'analyze-variant': 'analyze_variant', 'analyze-weights': 'analyze_weights', 'analyze-write': 'analyze_write',
  'analyze-wrong-float': 'analyze_wrong_float', 'analyze-wrong-fused': 'analyze_wrong_fused',
} as const satisfies Record<string, ErrorCode>;

export type RenamedErrorCode = keyof typeof RENAMED_ERROR_CODES;

const KNOWN = new Set<string>(ERROR_CODES);

/** A code from outside (the wire, an older build) as one of ERROR_CODES: renamed codes map to their new name, unknown ones to 'internal'. */
export function toErrorCode(code: unknown): ErrorCode {
  if (typeof code !== 'string') return 'internal';
  if (KNOWN.has(code)) return code as ErrorCode;
  return (RENAMED_ERROR_CODES as Record<string, ErrorCode>)[code] ?? 'internal';
}

export interface ErrorDetails {
  file?: string;
  path?: string;
  layer?: string;
  hint?: string;
}

export class QtuneError extends Error {
  public readonly code: ErrorCode;

  constructor(
    code: ErrorCode | RenamedErrorCode,
    message: string,
    public readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.code = toErrorCode(code);
    this.name = 'QtuneError';
  }
}

/** What every cancelled piece of work says, wherever it stopped. */
export const CANCELLED_MESSAGE = 'cancelled by the user';

/** The error cancelled work ends with. */
export function cancelledError(): QtuneError {
  return new QtuneError('cancelled', CANCELLED_MESSAGE);
}

/** Stop here when the user cancelled. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError();
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

/** A serialised error back as an Error (what a job's waiter rejects with). */
export function deserializeError(err: SerializedError): QtuneError {
  return new QtuneError(toErrorCode(err.code), err.message, err.details ?? {});
}

/** Whether the error (a QtuneError, or a serialised one) says the work was cancelled. */
export function isCancelled(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'cancelled';
}
