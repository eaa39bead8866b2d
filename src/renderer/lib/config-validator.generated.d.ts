// Types of the precompiled validator (config-validator.generated.js).
export interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
export interface CompiledValidator {
  (data: unknown): boolean;
  errors?: AjvError[] | null;
}
export const validate: CompiledValidator;
export default validate;
