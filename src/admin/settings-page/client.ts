/**
 * The settings page's script, /settings/assets/settings.js: browser/settings.ts, a
 * TypeScript module type-checked with the rest of the project (the DOM library is in
 * tsconfig's default lib for ES2022). After `npm run build`, tsc has emitted
 * browser/settings.js next to this module (the image runs dist/, without src/); in a
 * checkout run by tsx only the .ts exists, and it is transpiled once, at start-up, with
 * TypeScript's own transpileModule (a dev dependency, there wherever tsx is).
 */
import { readFile } from 'node:fs/promises';

export type BrowserModule = 'settings' | 'activity' | 'charts' | 'touchpoints';
const scripts = new Map<BrowserModule, Promise<string>>();

async function emitted(name: BrowserModule): Promise<string | undefined> {
  try {
    return await readFile(new URL(`./browser/${name}.js`, import.meta.url), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function transpiled(name: BrowserModule): Promise<string> {
  const source = await readFile(new URL(`./browser/${name}.ts`, import.meta.url), 'utf8');
  const { default: ts } = await import('typescript');
  return ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 } }).outputText;
}

/** The script's JavaScript, without a source-map reference (the map is not served). */
export function browserScript(name: BrowserModule): Promise<string> {
  let script = scripts.get(name);
  if (!script) {
    script = (async () => ((await emitted(name)) ?? (await transpiled(name))).replace(/^\/\/# sourceMappingURL=.*$/m, ''))();
    scripts.set(name, script);
  }
  return script;
}

export function settingsScript(): Promise<string> {
  return browserScript('settings');
}
