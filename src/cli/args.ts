/**
 * Command-line parsing on top of node:util parseArgs, with the reference's conventions:
 * `--private_key` is the same option as `--private-key`, repeatable options collect into arrays,
 * and `--no-X` switches a default-on flag off.
 */
import { parseArgs } from 'node:util';
import { fail } from '../errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** Shown in --help. */
  help: string;
  /** Shown in --help as the value's name. */
  value?: string;
}
export type OptionSpecs = Record<string, OptionSpec>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** `--private_key=x` → `--private-key=x`: the reference accepts both spellings. */
export function normalizeOptionSpelling(arg: string): string {
  if (!arg.startsWith('--') || arg === '--') return arg;
  const eq = arg.indexOf('=');
  const name = eq === -1 ? arg : arg.slice(0, eq);
  const rest = eq === -1 ? '' : arg.slice(eq);
  return name.replace(/_/g, '-') + rest;
}

export function parseCommandLine(argv: string[], specs: OptionSpecs): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [name, s] of Object.entries(specs)) options[name] = { type: s.type, ...(s.multiple ? { multiple: true } : {}) };
  try {
    const { values, positionals } = parseArgs({
      args: argv.map(normalizeOptionSpelling),
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    // parseArgs messages are clear but long; keep the first sentence.
    const msg = (e as Error).message.split('. ')[0]!.replace(/^Unknown option '(.*)'$/, 'unknown option $1');
    throw fail('USAGE', msg);
  }
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(p: Parsed, name: string): string[] {
  const v = p.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** A default-on flag with a `--no-` twin (e.g. --ignore-git-paths / --no-ignore-git-paths). */
export function onOff(p: Parsed, name: string, dflt: boolean): boolean {
  if (p.values[`no-${name}`] === true) return false;
  if (p.values[name] === true) return true;
  return dflt;
}

export function required(p: Parsed, name: string): string {
  const v = str(p, name);
  if (v === undefined || v === '') throw fail('USAGE', `missing required option --${name}`);
  return v;
}

export function positiveInt(value: string | undefined, name: string, allowZero = false): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw fail('USAGE', `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got '${value}'`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || (!allowZero && n === 0)) throw fail('USAGE', `--${name} must be a positive integer, got '${value}'`);
  return n;
}

export function helpFor(specs: OptionSpecs): string {
  const rows = Object.entries(specs)
    .filter(([name]) => !name.startsWith('no-'))
    .map(([name, s]) => {
      const left = `  --${name}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}${s.multiple ? ' (repeatable)' : ''}`;
      return `${left.padEnd(40)} ${s.help}`;
    });
  return rows.join('\n');
}
