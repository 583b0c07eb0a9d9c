/** Regenerates .env.example from SETTINGS: `npm run env:example`. */
import { writeFileSync } from 'node:fs';
import { renderEnvExample } from '../src/config/index.js';

writeFileSync(new URL('../.env.example', import.meta.url), renderEnvExample());
console.log('.env.example written');
