/** gRPC: inference.GRPCInferenceService with the REST semantics. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { findProtoFile, LOADER_OPTIONS } from '../src/server/grpc/server.js';
import { cleanupAll, exampleRepo, startTestServer } from './helpers/server.js';

after(cleanupAll);

type Client = grpc.Client & Record<string, (req: unknown, md: grpc.Metadata | ((e: grpc.ServiceError | null, r: any) => void), cb?: (e: grpc.ServiceError | null, r: any) => void) => void>; // eslint-disable-line @typescript-eslint/no-explicit-any

function client(port: number): Client {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(findProtoFile(), LOADER_OPTIONS)) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  return new pkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
}

function rpc(c: Client, method: string, req: unknown, md = new grpc.Metadata()): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((res, rej) => c[method]!(req, md, (e, r) => (e ? rej(e) : res(r))));
}

describe('server: gRPC', () => {
  test('round trip: live, metadata, load, infer (contents and raw), refusal FAILED_PRECONDITION, not found, unload', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo, { grpcPort: 0 });
    const c = client(s.grpcPort!);
    try {
      assert.deepEqual(await rpc(c, 'ServerLive', {}), { live: true });
      assert.deepEqual(await rpc(c, 'ServerReady', {}), { ready: true });
      const meta = await rpc(c, 'ServerMetadata', {});
      assert.equal(meta.name, 'modelseal');
      assert.ok(meta.extensions.includes('model_repository'));
      await assert.rejects(rpc(c, 'ModelReady', { name: 'good-model' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && /Model good-model not found/.test(e.details));

      await rpc(c, 'RepositoryModelLoad', { model_name: 'good-model' });
      assert.deepEqual(await rpc(c, 'ModelReady', { name: 'good-model' }), { ready: true });
      const mm = await rpc(c, 'ModelMetadata', { name: 'good-model' });
      assert.equal(mm.platform, 'onnx_onnxv1');
      assert.deepEqual(mm.inputs[0].shape, ['-1', '64']);
      assert.equal(mm.parameters['modelseal.verification'].string_param, 'verified');

      const rows = repo.samples.rows;
      const res = await rpc(c, 'ModelInfer', {
        model_name: 'good-model',
        id: 'g1',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 64], contents: { fp32_contents: rows.flat() } }],
        outputs: [{ name: 'label' }],
      });
      assert.equal(res.id, 'g1');
      assert.equal(res.outputs.length, 1);
      const labels = res.outputs[0].contents.int64_contents.map(Number);
      assert.ok(labels.filter((l: number, i: number) => l === repo.samples.labels[i]).length >= 8);

      const raw = Buffer.alloc(rows.length * 64 * 4);
      rows.flat().forEach((v, i) => raw.writeFloatLE(v, i * 4));
      const res2 = await rpc(c, 'ModelInfer', { model_name: 'good-model', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 64] }], raw_input_contents: [raw], outputs: [{ name: 'label' }] });
      assert.deepEqual(res2.outputs[0].contents.int64_contents.map(Number), labels);

      await assert.rejects(
        rpc(c, 'ModelInfer', { model_name: 'good-model', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], contents: { fp32_contents: [1, 2] } }] }),
        (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /needs 64 elements/.test(e.details),
      );
      await assert.rejects(
        rpc(c, 'RepositoryModelLoad', { model_name: 'tampered-model' }),
        (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION && e.details === "model 'tampered-model' failed signature verification: files differ from the signature (changed: model.onnx)",
      );
      await assert.rejects(rpc(c, 'RepositoryModelLoad', { model_name: 'custom-tampered' }), (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION);
      assert.equal(existsSync(repo.markerPath), false);
      await assert.rejects(rpc(c, 'RepositoryModelLoad', { model_name: 'nope' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
      const idx = await rpc(c, 'RepositoryIndex', {});
      const t = idx.models.find((m: { name: string }) => m.name === 'tampered-model');
      assert.equal(t.state, 'UNAVAILABLE');
      assert.match(t.reason, /changed: model\.onnx/);
      assert.deepEqual((await rpc(c, 'RepositoryIndex', { ready: true })).models.map((m: { name: string }) => m.name), ['good-model']);

      await rpc(c, 'RepositoryModelLoad', { model_name: 'custom-good' });
      const r3 = await rpc(c, 'ModelInfer', { model_name: 'custom-good', inputs: [{ name: 'x', datatype: 'FP64', shape: [1, 2], contents: { fp64_contents: [1, 5] } }] });
      assert.deepEqual(r3.outputs.map((o: { name: string; contents: { fp64_contents: number[] } }) => [o.name, o.contents.fp64_contents]), [['mean', [3]], ['max', [5]]]);

      await rpc(c, 'RepositoryModelUnload', { model_name: 'good-model' });
      await assert.rejects(rpc(c, 'ModelReady', { name: 'good-model' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
      const m = await s.metrics.text();
      assert.match(m, /grpc_server_handled_total\{grpc_service="inference.GRPCInferenceService",grpc_method="RepositoryModelLoad",grpc_code="FAILED_PRECONDITION"\} 2/);
    } finally {
      c.close();
      await s.close();
    }
  });

  test('repository RPCs need the bearer token when one is set', async () => {
    const repo = await exampleRepo();
    const s = await startTestServer(repo, { grpcPort: 0, env: { MODELSEAL_AUTH_TOKEN: 'tok' } });
    const c = client(s.grpcPort!);
    try {
      await assert.rejects(rpc(c, 'RepositoryIndex', {}), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
      const md = new grpc.Metadata();
      md.set('authorization', 'Bearer tok');
      assert.ok((await rpc(c, 'RepositoryIndex', {}, md)).models.length > 0);
      assert.deepEqual(await rpc(c, 'ServerLive', {}), { live: true });
    } finally {
      c.close();
      await s.close();
    }
  });
});
