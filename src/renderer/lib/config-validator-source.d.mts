export function generateValidatorSource(): string;
