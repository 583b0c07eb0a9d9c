import 'vitest';

export interface StackEnv {
  KAFKA_BROKERS: string;
  SCHEMA_REGISTRY_URL: string;
  DATABASE_URL: string;
  source: 'env' | 'testcontainers' | 'local-stack';
}

// What test/global-setup.ts provides to every integration test file.
declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackEnv;
  }
}
