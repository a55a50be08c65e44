/**
 * Structured logs: one JSON object per line (stderr by default), keys as MLServer's structured
 * logging: `time`, `name`, `level`, `message`, plus `model_name` / `model_version` and any extra field.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A JSON-lines logger writing to `write` (default: process.stderr). */
export function jsonLogger(options: { level?: LogLevel; name?: string; write?: (line: string) => void } = {}): Logger {
  const min = ORDER[options.level ?? 'info'];
  const name = options.name ?? 'modelseal.server';
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  return {
    log(level, message, fields) {
      if (ORDER[level] < min) return;
      const rec: Record<string, unknown> = { time: new Date().toISOString(), name, level: level.toUpperCase(), message };
      if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) rec[k] = v;
      let line: string;
      try {
        line = JSON.stringify(rec);
      } catch {
        line = JSON.stringify({ time: rec.time, name, level: rec.level, message });
      }
      write(line + '\n');
    },
  };
}

/** A logger that discards everything. */
export const silentLogger: Logger = { log() {} };

/** Collects records in memory (tests). */
export function memoryLogger(): Logger & { records: Array<{ level: LogLevel; message: string } & Record<string, unknown>> } {
  const records: Array<{ level: LogLevel; message: string } & Record<string, unknown>> = [];
  return {
    records,
    log(level, message, fields) {
      records.push({ ...(fields ?? {}), level, message });
    },
  };
}
