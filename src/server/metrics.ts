/**
 * Prometheus metrics (prom-client), one registry per server so several servers can share a process.
 * Names follow MLServer where it has them (`model_infer_request_*`, `rest_server_*`); the
 * verification and load metrics are ours.
 */
import { Counter, Histogram, Registry, Summary } from 'prom-client';

export type VerificationResult = 'verified' | 'refused' | 'warned' | 'skipped';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly inferSuccess = new Counter({
    name: 'model_infer_request_success_total',
    help: 'Successful inference requests per model',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
  });
  readonly inferFailure = new Counter({
    name: 'model_infer_request_failure_total',
    help: 'Failed inference requests per model',
    labelNames: ['model', 'version'] as const,
    registers: [this.registry],
  });
  readonly inferDuration = new Summary({
    name: 'model_infer_request_duration',
    help: 'Inference latency in seconds per model',
    labelNames: ['model', 'version'] as const,
    percentiles: [0.5, 0.9, 0.99],
    registers: [this.registry],
  });
  readonly verifications = new Counter({
    name: 'modelseal_model_verifications_total',
    help: 'Signature verifications at model load, by outcome (verified, refused, warned, skipped)',
    labelNames: ['model', 'result'] as const,
    registers: [this.registry],
  });
  readonly loadDuration = new Histogram({
    name: 'modelseal_model_load_duration_seconds',
    help: 'Model load duration (snapshot + verification + runtime load) in seconds, by outcome',
    labelNames: ['model', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly restRequests = new Counter({
    name: 'rest_server_requests_total',
    help: 'REST requests by method, route and status code',
    labelNames: ['method', 'path', 'status_code'] as const,
    registers: [this.registry],
  });
  readonly restDuration = new Histogram({
    name: 'rest_server_request_duration_seconds',
    help: 'REST request duration in seconds',
    labelNames: ['method', 'path', 'status_code'] as const,
    registers: [this.registry],
  });
  readonly grpcHandled = new Counter({
    name: 'grpc_server_handled_total',
    help: 'gRPC calls completed, by method and status code',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'] as const,
    registers: [this.registry],
  });

  async text(): Promise<string> {
    return this.registry.metrics();
  }
  get contentType(): string {
    return this.registry.contentType;
  }
}
