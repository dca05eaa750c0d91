/**
 * The dashboard's stylesheet, served as `/assets/app.css` (the CSP allows no
 * inline style): a dark theme, cards, tables, badges by severity.
 *
 * @module
 */

/** The stylesheet's text. */
export const APP_CSS: string = `:root {
  --bg: #0b1120; --panel: #111a2e; --panel2: #16213a; --line: #23304a; --text: #e2e8f0;
  --muted: #8b98ad; --accent: #38bdf8; --accent2: #0ea5e9; --crit: #f43f5e; --high: #fb923c;
  --med: #facc15; --low: #38bdf8; --info: #94a3b8; --ok: #34d399; --radius: 10px;
  color-scheme: dark;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .tail, time { font-family: ui-monospace, "JetBrains Mono", "DejaVu Sans Mono", monospace; font-size: 12.5px; }
h1 { font-size: 20px; margin: 0; font-weight: 600; letter-spacing: -0.01em; }
h2 { font-size: 13px; margin: 0 0 10px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: 0.06em; }
.muted { color: var(--muted); }
small { color: var(--muted); margin-left: 4px; }
.top { display: flex; align-items: center; gap: 18px; padding: 0 22px; height: 54px;
  background: rgba(17, 26, 46, 0.92); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 10; }
.brand { color: var(--text); font-weight: 700; font-size: 16px; letter-spacing: 0.02em; white-space: nowrap; }
.logo { color: var(--accent); }
.top nav { display: flex; gap: 2px; flex: 1; overflow-x: auto; }
.top nav a, .top nav .soon { padding: 7px 11px; border-radius: 7px; color: var(--muted); white-space: nowrap; }
.top nav a:hover { background: var(--panel2); color: var(--text); text-decoration: none; }
.top nav a.active { background: var(--panel2); color: var(--text); box-shadow: inset 0 -2px 0 var(--accent); }
.top nav .soon { opacity: 0.45; cursor: default; }
.who { display: flex; align-items: center; gap: 10px; white-space: nowrap; color: var(--muted); }
.who a { color: var(--muted); }
main { padding: 22px; max-width: 1480px; margin: 0 auto; display: flex; flex-direction: column; gap: 18px; }
.head { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.spacer { flex: 1; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 16px 18px; }
.card.flush { padding: 0; overflow: hidden; }
.card.flush > h2 { padding: 14px 18px 0; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 14px; }
.stat { display: flex; flex-direction: column; gap: 4px; background: linear-gradient(160deg, var(--panel2), var(--panel));
  border: 1px solid var(--line); border-radius: var(--radius); padding: 14px 18px; color: var(--text); }
a.stat:hover { border-color: var(--accent2); text-decoration: none; }
.stat .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.06em; }
.stat .value { font-size: 30px; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat.critical .value { color: var(--crit); }
.stat .sub { font-size: 12px; color: var(--muted); }
.ok { color: var(--ok); } .stale { color: var(--med); } .silent { color: var(--crit); }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 18px; align-items: start; }
.grid3 { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 18px; align-items: start; }
.stack { display: flex; flex-direction: column; gap: 18px; }
.chart-head { display: flex; align-items: center; justify-content: space-between; }
.chart-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }
figure { margin: 0; min-width: 0; }
figcaption { color: var(--muted); font-size: 12px; margin-bottom: 6px; }
.chart { min-height: 240px; width: 100%; }
.chart.small { min-height: 180px; }
.seg { display: inline-flex; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.seg a { padding: 4px 12px; color: var(--muted); }
.seg a.active { background: var(--panel2); color: var(--text); }
.uplot { font-family: inherit; }
.u-legend { font-size: 12px; color: var(--muted); }
.u-legend th { text-transform: none; letter-spacing: 0; background: none; border: none; font-weight: 500; padding: 2px 4px; }
.u-legend td { border: none; padding: 2px 4px; }
.u-legend tr:hover { background: none; }
.u-legend .u-marker { border-radius: 3px; }
ol.toplist { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 7px; }
ol.toplist li { display: grid; grid-template-columns: 90px 1fr auto; gap: 10px; align-items: center; }
ol.toplist li > a, ol.toplist li > span:nth-child(2) { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
ol.toplist .num { color: var(--muted); font-variant-numeric: tabular-nums; }
meter { width: 90px; height: 8px; }
meter::-webkit-meter-bar { background: var(--panel2); border: none; border-radius: 4px; height: 8px; }
meter::-webkit-meter-optimum-value { background: linear-gradient(90deg, var(--accent2), var(--accent)); border-radius: 4px; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-weight: 600; font-size: 12px; color: var(--muted); text-transform: uppercase;
  letter-spacing: 0.05em; padding: 9px 12px; border-bottom: 1px solid var(--line); background: var(--panel); }
td { padding: 8px 12px; border-bottom: 1px solid rgba(35, 48, 74, 0.6); vertical-align: top; }
tbody tr:hover { background: rgba(56, 189, 248, 0.05); }
tbody tr.warn { background: rgba(250, 204, 21, 0.06); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bad { color: var(--crit); } td.good { color: var(--ok); }
.nowrap { white-space: nowrap; }
td.msg { max-width: 520px; overflow-wrap: anywhere; color: #cbd5e1; }
td.rule { font-weight: 500; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 11.5px; font-weight: 600;
  border: 1px solid transparent; white-space: nowrap; line-height: 18px; }
.sev-critical { background: rgba(244, 63, 94, 0.16); color: #fda4af; border-color: rgba(244, 63, 94, 0.4); }
.sev-high { background: rgba(251, 146, 60, 0.14); color: #fdba74; border-color: rgba(251, 146, 60, 0.35); }
.sev-medium { background: rgba(250, 204, 21, 0.12); color: #fde047; border-color: rgba(250, 204, 21, 0.3); }
.sev-low { background: rgba(56, 189, 248, 0.12); color: #7dd3fc; border-color: rgba(56, 189, 248, 0.3); }
.sev-info, .sev-other { background: rgba(148, 163, 184, 0.12); color: #cbd5e1; border-color: rgba(148, 163, 184, 0.25); }
.st-open { background: rgba(56, 189, 248, 0.1); color: #7dd3fc; }
.st-acknowledged { background: rgba(250, 204, 21, 0.12); color: #fde047; }
.st-closed { background: rgba(52, 211, 153, 0.12); color: #6ee7b7; }
.st-ok, .st-success, .st-accepted { background: rgba(52, 211, 153, 0.12); color: #6ee7b7; }
.st-stale { background: rgba(250, 204, 21, 0.12); color: #fde047; }
.st-silent, .st-failed, .st-failure, .st-invalid, .st-invaliduser { background: rgba(244, 63, 94, 0.14); color: #fda4af; }
.st-unknown { background: rgba(148, 163, 184, 0.12); color: #cbd5e1; }
.st-archived { background: rgba(167, 139, 250, 0.12); color: #c4b5fd; }
.tags { display: flex; gap: 6px; flex-wrap: wrap; }
.tag { background: var(--panel2); border: 1px solid var(--line); border-radius: 6px; padding: 0 7px; font-size: 12px; color: #cbd5e1; }
.cat { font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 5px; padding: 0 6px; }
.empty { color: var(--muted); padding: 14px 18px; margin: 0; }
.card .empty { padding: 4px 0; }
.card.flush .empty { padding: 14px 18px; }
.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; }
.filters label { display: flex; flex-direction: column; gap: 4px; font-size: 12px; color: var(--muted); }
.filters label.grow { flex: 1; min-width: 220px; }
.filters .actions { display: flex; gap: 8px; }
fieldset.cats { border: none; padding: 0; margin: 0; display: flex; gap: 10px; flex-wrap: wrap; align-items: center; }
fieldset.cats legend { font-size: 12px; color: var(--muted); margin-bottom: 4px; }
label.check { flex-direction: row !important; align-items: center; gap: 5px !important; color: var(--text) !important; font-size: 13px !important; }
input, select, textarea { background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 7px;
  padding: 7px 10px; font: inherit; }
input:focus, select:focus, textarea:focus { outline: 2px solid rgba(56, 189, 248, 0.5); border-color: var(--accent2); }
button, .button { background: var(--accent2); color: #04111f; border: 1px solid var(--accent2); border-radius: 7px;
  padding: 7px 14px; font: inherit; font-weight: 600; cursor: pointer; display: inline-flex; align-items: center; }
button:hover, .button:hover { filter: brightness(1.1); text-decoration: none; }
button.ghost, .button.ghost { background: transparent; color: var(--text); border-color: var(--line); font-weight: 500; }
button.link { background: none; border: none; color: var(--accent); padding: 0; font-weight: 500; }
.triage .actions button.st-acknowledged { background: var(--med); border-color: var(--med); color: #1a1400; }
.triage .actions button.st-closed { background: var(--ok); border-color: var(--ok); color: #02140d; }
.triage .actions button.st-open { background: transparent; color: var(--text); border-color: var(--line); }
.triage { display: flex; flex-direction: column; gap: 10px; margin-top: 12px; }
.triage label { display: flex; flex-direction: column; gap: 4px; color: var(--muted); font-size: 12px; }
.triage .actions { display: flex; gap: 8px; }
form.inline { display: flex; gap: 8px; }
form.inline.wrap { flex-wrap: wrap; align-items: flex-end; }
form.narrow { max-width: 420px; }
form.narrow label { display: flex; flex-direction: column; gap: 5px; color: var(--muted); font-size: 12px; }
.notice { background: rgba(56, 189, 248, 0.1); border: 1px solid rgba(56, 189, 248, 0.35); border-radius: 7px;
  padding: 8px 10px; margin: 0 0 12px; }
.js-only { display: none !important; }
.js .js-only { display: inline-flex !important; }
.pager { display: flex; justify-content: space-between; padding: 10px 14px; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0; }
dl.fields dt { color: var(--muted); }
dl.fields dt.raw-key { font-family: ui-monospace, monospace; font-size: 12px; }
dl.fields dd { margin: 0; overflow-wrap: anywhere; }
dl.fields .sep { border-top: 1px solid var(--line); margin-top: 8px; padding-top: 8px; font-size: 11px;
  text-transform: uppercase; letter-spacing: 0.06em; }
pre.raw { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; background: var(--bg); border: 1px solid var(--line);
  border-radius: 8px; padding: 12px; max-height: 420px; overflow: auto; }
ol.history { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 8px; }
ol.history .note { margin: 4px 0 0; color: #cbd5e1; white-space: pre-wrap; }
ol.timeline { list-style: none; margin: 0; padding: 0; max-height: 520px; overflow: auto; }
ol.timeline li { padding: 5px 0; border-bottom: 1px solid rgba(35, 48, 74, 0.6); display: flex; gap: 8px; align-items: baseline; }
ol.timeline .msg { overflow-wrap: anywhere; }
.live { font-size: 12px; padding: 2px 10px; border-radius: 999px; border: 1px solid var(--line); color: var(--muted); }
.live.on { color: var(--ok); border-color: rgba(52, 211, 153, 0.4); }
.live.on::before { content: "● "; }
.live.paused { color: var(--med); } .live.warn { color: var(--high); }
ol.tail { list-style: none; margin: 0; padding: 6px 0; max-height: 70vh; overflow: auto; min-height: 200px; }
ol.tail li { display: grid; grid-template-columns: 165px 80px 120px 80px 1fr; gap: 10px; padding: 3px 14px; align-items: baseline; }
ol.tail li:hover { background: rgba(56, 189, 248, 0.05); }
ol.tail .t { color: var(--muted); } ol.tail .h { color: #cbd5e1; overflow: hidden; text-overflow: ellipsis; }
ol.tail .x { overflow-wrap: anywhere; }
.login { min-height: 80vh; display: grid; place-items: center; }
.login form { width: 340px; display: flex; flex-direction: column; gap: 12px; padding: 28px; }
.login label { display: flex; flex-direction: column; gap: 5px; color: var(--muted); font-size: 12px; }
.login button { justify-content: center; margin-top: 6px; }
.error { background: rgba(244, 63, 94, 0.12); color: #fda4af; border: 1px solid rgba(244, 63, 94, 0.4);
  border-radius: 7px; padding: 8px 10px; margin: 0; }
@media (max-width: 900px) { .top { flex-wrap: wrap; height: auto; padding: 8px 12px; } main { padding: 12px; } .grid2, .chart-grid { grid-template-columns: 1fr; } }
`;
