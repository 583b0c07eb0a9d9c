/** `npm run docs:asyncapi`: regenerate schemas/asyncapi.yaml, validate it, render docs/asyncapi.html. */
import { writeFileSync } from 'node:fs';
import { ASYNCAPI_FILE, ASYNCAPI_HTML, renderAsyncApiYaml } from './contract.js';
import { renderAsyncApiHtml } from './html.js';
import { parseAsyncApi } from './parse.js';

writeFileSync(ASYNCAPI_FILE, renderAsyncApiYaml());
const { document, problems } = await parseAsyncApi();
for (const p of problems) console.error(`${p.severity === 0 ? 'error' : 'warning'} ${p.code} at ${p.path.join('.')}: ${p.message}`);
if (!document || problems.some((p) => p.severity === 0)) process.exit(1);
writeFileSync(ASYNCAPI_HTML, renderAsyncApiHtml(document));
console.log(`schemas/asyncapi.yaml and docs/asyncapi.html written (${document.channels().length} channels, valid)`);
