/**
 * A minimal ONNX writer: just the ModelProto subset the digits example needs, written from the
 * public field numbers in onnx/onnx.proto (proto2 syntax, as upstream) and encoded with protobufjs.
 * Not a general ONNX library: no external data, sparse tensors, functions or training info.
 */
import protobuf from 'protobufjs';

const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10;
  }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  optional string doc_string = 13;
  optional AttributeType type = 20;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; UINT16 = 4; INT16 = 5; INT32 = 6; INT64 = 7;
    STRING = 8; BOOL = 9; FLOAT16 = 10; DOUBLE = 11; UINT32 = 12; UINT64 = 13;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');

/** TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;
/** AttributeProto.AttributeType values used here. */
export const AttributeType = { FLOAT: 1, INT: 2 } as const;

/** A dimension: a fixed size, or a symbolic name (e.g. the batch dimension). */
export type Dim = number | string;

export interface TensorValueInfo {
  name: string;
  elemType: number;
  shape: Dim[];
}

export interface Initializer {
  name: string;
  dims: number[];
  /** Float32 values, stored little-endian in raw_data. */
  data: Float32Array;
}

export interface Node {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  /** Integer attributes (AttributeType.INT). */
  ints?: Record<string, number>;
}

export interface ModelSpec {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion?: string;
  docString?: string;
  graphName: string;
  inputs: TensorValueInfo[];
  outputs: TensorValueInfo[];
  initializers: Initializer[];
  nodes: Node[];
}

function valueInfo(v: TensorValueInfo): object {
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: v.elemType,
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function float32LE(data: Float32Array): Buffer {
  const out = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i]!, i * 4);
  return out;
}

/** Encodes a ModelProto. Same spec in, same bytes out (no timestamps, map ordering or randomness). */
export function encodeModel(spec: ModelSpec): Buffer {
  const message = {
    ir_version: spec.irVersion,
    opset_import: [{ domain: '', version: spec.opset }],
    producer_name: spec.producerName,
    ...(spec.producerVersion !== undefined ? { producer_version: spec.producerVersion } : {}),
    ...(spec.docString !== undefined ? { doc_string: spec.docString } : {}),
    graph: {
      name: spec.graphName,
      node: spec.nodes.map((n) => ({
        name: n.name,
        op_type: n.opType,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.ints ?? {}).map(([name, i]) => ({ name, type: AttributeType.INT, i })),
      })),
      initializer: spec.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        data_type: DataType.FLOAT,
        raw_data: float32LE(t.data),
      })),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
    },
  };
  const err = ModelProto.verify(message);
  if (err) throw new Error(`invalid ONNX ModelProto: ${err}`);
  return Buffer.from(ModelProto.encode(ModelProto.fromObject(message)).finish());
}

/** Decodes a ModelProto into a plain object (for inspection and tests). */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, bytes: Buffer, defaults: false });
}
