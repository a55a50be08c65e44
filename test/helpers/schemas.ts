/** The OMS JSON schemas (draft 2020-12) from ../shared, compiled once: every bundle we write must pass. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import { OMS_SCHEMAS } from './paths.js';

// ajv ships CommonJS; under node16 module resolution its default export arrives wrapped.
type AjvClass = typeof Ajv2020Module.default;
const Ajv2020 = ((Ajv2020Module as unknown as { default?: AjvClass }).default ?? Ajv2020Module) as AjvClass;

const ajv = new Ajv2020({ allErrors: true, strict: false });
const schemas = readdirSync(OMS_SCHEMAS).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(OMS_SCHEMAS, f), 'utf8')) as { $id?: string });
for (const s of schemas) ajv.addSchema(s);

function schemaId(fileName: string): string {
  const s = JSON.parse(readFileSync(join(OMS_SCHEMAS, fileName), 'utf8')) as { $id: string };
  return s.$id;
}

const bundleValidator = ajv.getSchema(schemaId('bundle.schema.json'))!;
const statementValidator = ajv.getSchema(schemaId('statement.schema.json'))!;

/** Asserts that a bundle (and its decoded statement) validate against the OMS schemas. */
export function validateBundle(bundle: unknown): void {
  assert.ok(bundleValidator(bundle), `bundle fails the OMS schema: ${ajv.errorsText(bundleValidator.errors)}`);
  const payload = (bundle as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload;
  const statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
  assert.ok(statementValidator(statement), `statement fails the OMS schema: ${ajv.errorsText(statementValidator.errors)}`);
}
