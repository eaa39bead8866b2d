// Ctrl+C cancels the running job cleanly (the engine stops between batches
// and leaves no partial output behind); a second Ctrl+C exits at once.

export function cancelOnInterrupt(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write('\nqtune: cancelling… (Ctrl+C again to quit at once)\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  return controller.signal;
}
