import type { Logger } from '../logging.js';
import type { ModelSettings, TensorMetadata } from '../settings.js';
import type { InferenceRequest, ResponseOutput } from '../tensors.js';

export interface RuntimeContext {
  /** The verified private snapshot of the model folder: the only place a runtime may read. */
  folder: string;
  /** model-settings.json as read from the verified snapshot. */
  settings: ModelSettings;
  logger: Logger;
  /**
   * Re-check bytes a runtime is about to use against the verified manifest (relative POSIX name).
   * Throws if they differ; returns false when no check is possible (e.g. verification was off).
   */
  checkBytes(name: string, bytes: Uint8Array): boolean;
}

export interface RuntimeMetadata {
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface ModelRuntime {
  readonly kind: string;
  metadata(): RuntimeMetadata;
  predict(request: InferenceRequest): Promise<{ outputs: ResponseOutput[]; parameters?: Record<string, unknown> }>;
  unload(): Promise<void>;
}
