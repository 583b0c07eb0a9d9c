/**
 * The settings page's styles: one column that fits a 390 px phone, two-column facts from
 * tablet width up. Colours keep at least 4.5:1 contrast (WCAG 1.4.3) and every focusable
 * element gets a visible outline (2.4.7).
 */
export const SETTINGS_CSS = String.raw`
:root {
  --text: #1b1b1f;
  --muted: #4a4a52;
  --bg: #ffffff;
  --panel: #f4f5f7;
  --line: #c9ccd3;
  --accent: #0b57d0;
  --accent-dark: #0842a0;
  --error: #b3261e;
  --ok: #146c2e;
  /* Dark, so the focus ring has over 3:1 against white and the panels (WCAG 1.4.11). */
  --focus: #002e73;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  font-size: 100%;
  line-height: 1.5;
  color: var(--text);
  background: var(--bg);
}
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5rem 1rem; }
.skip:focus { left: .5rem; }
.top { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: .5rem 1rem; padding: 1rem; border-bottom: 1px solid var(--line); }
.top h1 { margin: 0; font-size: 1.5rem; }
.who { margin: 0; color: var(--muted); overflow-wrap: anywhere; }
main { max-width: 52rem; margin: 0 auto; padding: 0 1rem 3rem; }
section { margin-top: 1.5rem; padding: 1rem; background: var(--panel); border-radius: .5rem; }
h2 { margin: 0 0 .75rem; font-size: 1.25rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .5rem; }
h4 { font-size: 1rem; margin: .75rem 0 .25rem; }
.field { display: flex; flex-direction: column; gap: .25rem; margin-bottom: .9rem; min-width: 0; }
.row { display: flex; flex-wrap: wrap; gap: 0 1rem; }
.row .field { flex: 1 1 12rem; }
label { font-weight: 600; }
input, select, textarea {
  font: inherit; color: var(--text); background: var(--bg);
  border: 1px solid #767680; border-radius: .375rem; padding: .5rem .6rem; width: 100%; max-width: 100%;
}
input[aria-invalid="true"], textarea[aria-invalid="true"] { border: 2px solid var(--error); }
.hint { margin: 0; color: var(--muted); font-size: .9rem; }
.error { margin: 0; color: var(--error); font-weight: 600; }
.error::before { content: "⚠ "; }
button {
  font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 2px solid var(--accent);
  border-radius: .375rem; padding: .5rem 1rem; cursor: pointer; min-height: 2.75rem;
}
button:hover { background: var(--accent-dark); border-color: var(--accent-dark); }
button.secondary { color: var(--accent); background: var(--bg); }
button.link { color: var(--accent); background: none; border: none; padding: 0; min-height: 0; text-decoration: underline; }
button:disabled { color: #5b5b63; background: #dcdde1; border-color: #dcdde1; cursor: not-allowed; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .75rem; }
.facts { display: grid; grid-template-columns: 1fr; gap: .5rem; margin: 0; }
.facts div { background: var(--bg); border: 1px solid var(--line); border-radius: .375rem; padding: .5rem .75rem; min-width: 0; }
.facts dt { color: var(--muted); font-size: .9rem; }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.plain { list-style: none; padding: 0; margin: 0; }
.plain li { overflow-wrap: anywhere; padding: .25rem 0; }
.records { list-style: none; padding: 0; margin: .5rem 0; display: grid; gap: .5rem; }
.records li { background: var(--bg); border: 1px solid var(--line); border-radius: .375rem; padding: .5rem .75rem; overflow-wrap: anywhere; }
.records p { margin: 0 0 .4rem; }
.detail { margin-top: 1rem; padding: .75rem; background: var(--bg); border: 1px solid var(--line); border-radius: .375rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; font-size: .85rem; background: var(--panel); padding: .5rem; border-radius: .25rem; }
progress { width: 100%; height: 1.25rem; }
.progress { margin-top: .75rem; display: flex; flex-direction: column; gap: .25rem; }
/* In the flow, not sticky: a banner over the page would hide the focused control (WCAG 2.4.11). */
.announcer { margin: 0; padding: 0 1rem; background: #e8f0fe; color: var(--text); overflow-wrap: anywhere; }
.announcer:not(:empty) { padding: .5rem 1rem; border-bottom: 1px solid var(--line); }
.ok { color: var(--ok); }
.bad { color: var(--error); }
[hidden] { display: none !important; }
@media (min-width: 40rem) {
  .facts { grid-template-columns: repeat(2, minmax(0, 1fr)); }
}
@media (prefers-reduced-motion: reduce) { * { scroll-behavior: auto; } }
`;
