/**
 * Parse and validate schemas/asyncapi.yaml with @asyncapi/parser (Spectral rules of the
 * AsyncAPI 3.0 spec) and the Avro schema parser, so the `./avro/*.avsc` payloads are
 * resolved from disk and checked as Avro.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { Parser, type AsyncAPIDocumentInterface, type Diagnostic } from '@asyncapi/parser';
import { ASYNCAPI_FILE } from './contract.js';

export interface ParsedAsyncApi {
  document: AsyncAPIDocumentInterface | undefined;
  /** Diagnostics of severity error (0) or warning (1). */
  problems: Diagnostic[];
}

export async function parseAsyncApi(text = readFileSync(ASYNCAPI_FILE, 'utf8')): Promise<ParsedAsyncApi> {
  const parser = new Parser();
  parser.registerSchemaParser(AvroSchemaParser());
  const { document, diagnostics } = await parser.parse(text, { source: fileURLToPath(ASYNCAPI_FILE) });
  return { document, problems: diagnostics.filter((d) => d.severity <= 1) };
}
