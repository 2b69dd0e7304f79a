/**
 * Fault injection for tests that kill a real engine process mid-way (run as children of the test): the process
 * dies as an out-of-memory kill or a Lambda timeout would end it, at a step chosen by wrapping its dependencies.
 */

/** Ends this process at once, with no chance to clean up or flush anything. */
export function die(): never {
  process.kill(process.pid, "SIGKILL");
  throw new Error("SIGKILL did not end the process");
}
