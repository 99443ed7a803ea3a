import type { ErrorObject, SchemaObject, ValidateFunction } from 'ajv';
import { createAjv } from '../registry/ajv.js';
import type { Diagnostic } from '../util/diagnostics.js';
import type { PositionedDocument } from './document.js';
import { translateErrors } from './schema-errors.js';
import { discriminateUnions } from '../registry/tagged-unions.js';

const compiled = new WeakMap<SchemaObject, ValidateFunction>();

function compile(schema: SchemaObject): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = createAjv().compile(discriminateUnions(schema));
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * Validates a positioned document against a JSON Schema (or a compiled validator), filling in defaults, and
 * returns every problem as a diagnostic at the offending node. Other YAML file kinds (sweeps, tables) use this too.
 */
export function validateDocument(doc: PositionedDocument, schema: SchemaObject | ValidateFunction): Diagnostic[] {
  const validate = typeof schema === 'function' ? schema : compile(schema);
  if (validate(doc.value)) return [];
  return translateErrors((validate.errors ?? []) as ErrorObject[], doc);
}
