/** Running a command module as a process: exit status, flushing, and "am I the entry point?". */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** True when the module at `metaUrl` is the script node was started with. */
export function isEntryPoint(metaUrl: string): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(metaUrl);
  } catch {
    return false;
  }
}

/**
 * Run `entry(argv)` and exit with its status once output is flushed, so no stray handle
 * (a keep-alive socket, a timer) holds the process open after the work is done. A long-running
 * command (serve) only sets the exit code and lets the event loop drain by itself.
 */
export async function runAsProgram(entry: (argv: string[]) => Promise<number>, longRunning = false): Promise<void> {
  const code = await entry(process.argv.slice(2));
  process.exitCode = code;
  if (longRunning) return;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
