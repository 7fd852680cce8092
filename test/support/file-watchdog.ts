/**
 * Loaded with `--import` into every test file's process (`npm test`). A file that is still
 * running after TEST_FILE_TIMEOUT_MS (default 12 min) is ended with a report of what kept it
 * alive: a hook that never settles (node:test gives hooks no timeout) must fail its file, not
 * stall the whole suite until CI gives up.
 */
const DEFAULT_TIMEOUT_MS = 12 * 60_000;

if (process.env.NODE_TEST_CONTEXT?.startsWith('child')) {
  const limitMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? DEFAULT_TIMEOUT_MS);
  const timer = setTimeout(() => {
    process.stderr.write(
      `\nfile-watchdog: ${process.argv[1] ?? 'this test file'} still running after ${limitMs} ms; ` +
        `still open: ${process.getActiveResourcesInfo().join(', ')}\n`,
    );
    process.exit(1);
  }, limitMs);
  timer.unref();
}
