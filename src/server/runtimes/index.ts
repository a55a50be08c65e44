import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { ServerError } from '../errors.js';
import { loadJsRuntime, parseJsImplementation } from './js.js';
import { loadOnnxRuntime } from './onnx.js';
import type { ModelRuntime, RuntimeContext } from './types.js';

export type { ModelRuntime, RuntimeContext, RuntimeMetadata } from './types.js';

const ONNX_NAMES = new Set(['onnx', 'modelseal.onnx', 'modelseal.OnnxRuntime', 'mlserver_onnx.OnnxRuntime']);

/** A path from `parameters.uri`, inside the snapshot (422 otherwise, as MLServer's InvalidModelURI). */
function resolveUri(ctx: RuntimeContext, uri: string | undefined): string {
  const name = ctx.settings.name;
  if (uri === undefined || uri === '' || uri === '.' || uri === './') return ctx.folder;
  const clean = uri.replace(/^file:\/\//, '').replace(/^\.\//, '');
  if (clean.startsWith('/') || clean.includes('\\') || clean.split('/').some((p) => p === '..') || /^[a-z][\w+.-]*:/i.test(clean)) {
    throw new ServerError(422, `Invalid URI specified for model ${name} (${uri}): only paths inside the model folder are served`);
  }
  return join(ctx.folder, ...clean.split('/').filter(Boolean));
}

async function findOnnx(ctx: RuntimeContext): Promise<string> {
  const p = resolveUri(ctx, ctx.settings.parameters?.uri);
  const st = await lstat(p).catch(() => undefined);
  if (st?.isFile()) return p;
  if (st?.isDirectory()) {
    const f = join(p, 'model.onnx');
    if ((await lstat(f).catch(() => undefined))?.isFile()) return f;
  }
  throw new ServerError(422, `Invalid URI specified for model ${ctx.settings.name}: no ONNX file at '${ctx.settings.parameters?.uri ?? 'model.onnx'}'`);
}

/** Pick and load the runtime named by `implementation` (default: ONNX). Only called on a verified snapshot. */
export async function loadRuntime(ctx: RuntimeContext): Promise<ModelRuntime> {
  const impl = ctx.settings.implementation;
  if (impl === undefined || ONNX_NAMES.has(impl)) return loadOnnxRuntime(ctx, await findOnnx(ctx));
  const js = parseJsImplementation(impl);
  if (!js) throw new ServerError(400, `unknown implementation '${impl}' (use "onnx" or a module inside the model folder, e.g. "models.MyModel")`);
  return loadJsRuntime(ctx, js);
}
