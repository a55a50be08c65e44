/**
 * JavaScript custom runtime (MLServer's `models.py` pattern): `implementation` names a module inside
 * the model folder. It is code, so it is imported only from the verified snapshot, after verification.
 *
 * The module exports a class (named by `implementation`, or the default export) with optional
 * `load()`, `predict(request)` returning `{ outputs: [...] }`, and optional `unload()`.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { badRequest } from '../errors.js';
import type { TensorMetadata } from '../settings.js';
import { checkResponseOutputs, type InferenceRequest } from '../tensors.js';
import type { ModelRuntime, RuntimeContext } from './types.js';

export interface JsImplementation {
  /** Relative POSIX path of the module inside the model folder. */
  module: string;
  /** Export name; undefined = default export. */
  exportName?: string;
}

/**
 * `models.MyModel` (MLServer style: module `models.js`, export `MyModel`), `models.js`,
 * `./lib/runtime.mjs:MyModel`. The module must stay inside the model folder.
 */
export function parseJsImplementation(impl: string): JsImplementation | undefined {
  let module: string;
  let exportName: string | undefined;
  const colon = impl.lastIndexOf(':');
  if (colon > 0) {
    module = impl.slice(0, colon);
    exportName = impl.slice(colon + 1);
  } else if (/\.(m?js)$/.test(impl)) {
    module = impl;
  } else {
    const m = /^([A-Za-z_][\w-]*)\.([A-Za-z_$][\w$]*)$/.exec(impl);
    if (!m) return undefined;
    module = `${m[1]}.js`;
    exportName = m[2];
  }
  module = module.replace(/^\.\//, '');
  if (!/\.(m?js)$/.test(module) || module.startsWith('/') || module.split('/').some((p) => p === '..' || p === '') || module.includes('\\')) return undefined;
  if (exportName !== undefined && !/^[A-Za-z_$][\w$]*$/.test(exportName)) return undefined;
  return { module, ...(exportName ? { exportName } : {}) };
}

interface CustomModel {
  load?(): unknown;
  predict(request: InferenceRequest): unknown;
  unload?(): unknown;
  metadata?(): { inputs?: TensorMetadata[]; outputs?: TensorMetadata[] } | undefined;
}

export async function loadJsRuntime(ctx: RuntimeContext, impl: JsImplementation): Promise<ModelRuntime> {
  const file = join(ctx.folder, ...impl.module.split('/'));
  const st = await lstat(file).catch(() => undefined);
  if (!st?.isFile()) throw new Error(`implementation module '${impl.module}' not found in the model folder`);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const Cls = (impl.exportName ? mod[impl.exportName] : mod.default) as (new (settings: unknown) => CustomModel) | undefined;
  if (typeof Cls !== 'function') throw new Error(`module '${impl.module}' has no exported class '${impl.exportName ?? 'default'}'`);
  const instance = new Cls(structuredClone(ctx.settings));
  if (typeof instance.predict !== 'function') throw new Error(`'${impl.exportName ?? 'default'}' has no predict() method`);
  if (typeof instance.load === 'function') {
    const ok = await instance.load();
    if (ok === false) throw new Error('the custom runtime reported that load() failed');
  }
  const declared = typeof instance.metadata === 'function' ? instance.metadata() ?? {} : {};
  const metadata = {
    platform: typeof ctx.settings.platform === 'string' ? ctx.settings.platform : 'modelseal_js',
    inputs: ctx.settings.inputs ?? declared.inputs ?? [],
    outputs: ctx.settings.outputs ?? declared.outputs ?? [],
  };
  return {
    kind: 'js',
    metadata: () => metadata,
    async predict(req) {
      let res: unknown;
      try {
        res = await instance.predict(req);
      } catch (e) {
        const status = (e as { status?: unknown }).status;
        if (status === 400 || status === undefined) throw badRequest(`inference failed: ${(e as Error)?.message ?? String(e)}`);
        throw e;
      }
      const r = res as { outputs?: unknown; parameters?: Record<string, unknown> };
      return { outputs: checkResponseOutputs(r?.outputs, 'custom runtime'), ...(r?.parameters ? { parameters: r.parameters } : {}) };
    },
    async unload() {
      if (typeof instance.unload === 'function') await instance.unload();
    },
  };
}
