// Svelte state for component tests, so props read from it react as in the app.
export function reactive<T extends object>(value: T): T {
  const state = $state(value);
  return state;
}
